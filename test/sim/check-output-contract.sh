#!/usr/bin/env bash
# The output contract (issue 4 §3) of the handover example: summary.csv
# with exactly the contract's header and one row per handover (host ns3,
# every time filled, recovery_s = traffic_resumed_s - l2_s), timeline.csv
# with 10 ms bins, pcaps and key logs in --out.
#
#   check-output-contract.sh HANDOVER_EXE
set -uo pipefail
exe="$1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}
if ! "$exe" --scheme=msrd --rate=100 --handovers=2 --handoverSpacing=3 --out="$tmp" \
  --nullCipher=1 --RngRun=3 >"$tmp/run.log" 2>&1; then
  cat "$tmp/run.log"
  fail "the run exited non-zero"
fi
want='scheme,host,rate_kbps,seed,handover,l2_s,movement_detected_s,coa_ready_s,bu_sent_s,ba_received_s,sa_ready_s,traffic_resumed_s,recovery_s,ike_msgs,ike_bytes'
[[ "$(head -n 1 "$tmp/summary.csv")" == "$want" ]] || fail "summary.csv header: $(head -n 1 "$tmp/summary.csv")"
rows="$(tail -n +2 "$tmp/summary.csv" | wc -l)"
[[ "$rows" -eq 2 ]] || fail "summary.csv has $rows rows, not 2"
awk -F, 'NR > 1 {
  if ($1 != "msrd" || $2 != "ns3" || $3 != "100" || $4 != "3" || $5 != NR - 1) { print "FAIL: row " NR ": " $0; bad = 1 }
  for (i = 6; i <= 15; i++) if ($i == "") { print "FAIL: row " NR " column " i " empty: " $0; bad = 1 }
  d = $12 - $6 - $13; if (d < -0.000002 || d > 0.000002) { print "FAIL: recovery_s != traffic_resumed_s - l2_s: " $0; bad = 1 }
  if (!($6 <= $7 && $7 <= $8 && $8 <= $9 && $9 <= $10 && $6 < $12)) { print "FAIL: times out of order: " $0; bad = 1 }
} END { exit bad }' "$tmp/summary.csv" || fails=$((fails + 1))
[[ "$(head -n 1 "$tmp/timeline.csv")" == "time_s,rx_bytes" ]] || fail "timeline.csv header"
awk -F, 'NR == 2 && $1 != "0.00" { bad = 1 } NR == 3 && $1 != "0.01" { bad = 1 } END { exit bad }' "$tmp/timeline.csv" ||
  fail "timeline.csv bins are not 10 ms from 0"
bytes="$(awk -F, 'NR > 1 { s += $2 } END { print s + 0 }' "$tmp/timeline.csv")"
[[ "$bytes" -gt 0 ]] || fail "timeline.csv: no payload received"
ls "$tmp"/handover-*.pcap >/dev/null 2>&1 || fail "no pcaps"
ls "$tmp"/*-ikev2_decryption_table >/dev/null 2>&1 || fail "no IKE key log"
ls "$tmp"/*-esp_sa >/dev/null 2>&1 || fail "no ESP key log"
grep -q "recovery time (handover 1): [0-9.]* s" "$tmp/run.log" || fail "no recovery time printed"
echo "$fails failed"
[[ $fails -eq 0 ]]
