#!/usr/bin/env bash
# ctest sweep.ns3: a real ns-3 sweep, 2 schemes x 2 seeds of the Table I
# scenario (9 simulated seconds, no pcaps, no --set overrides): four run directories named
# <key=value>/seed-K with a complete summary.csv (RngRun = seed), the
# timeline, the run's arguments and log; progress lines with an ETA on
# stderr (not a tty: plain lines); table.csv with n = 2 and a numeric
# 95 % CI per scheme, printed at the end.
#   ns3_test.sh BUILD_DIR
set -uo pipefail
build="$1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
rc=0
# The Table I file with a short run and no pcaps, and no --set (the sweep
# then has no overrides to pass on).
sed -e 's/^duration_s = .*/duration_s = 9/' -e 's/^pcap = .*/pcap = false\nverbose = false/' \
  -e '/^traffic.rate_kbps = /d' "$root/scenarios/xu2008-table1.ini" >"$tmp/t1.ini"
"$root/scenario/mip6ike-sweep.sh" "$build" "$tmp/t1.ini" --vary scheme=msrd,renegotiate \
  --seeds 2 -j 2 --out "$tmp/out" >"$tmp/stdout" 2>"$tmp/stderr" || rc=$?
[[ $rc -eq 0 ]] || fail "sweep exited $rc: $(tail -n 5 "$tmp/stderr")"
n=0
for s in msrd renegotiate; do
  for k in 1 2; do
    d="$tmp/out/experiment.scheme=$s/seed-$k"
    for f in summary.csv timeline.csv args.txt log.txt; do
      [[ -s "$d/$f" ]] || fail "$d/$f missing"
    done
    grep -qx -- "--RngRun=$k" "$d/args.txt" || fail "$d: not RngRun $k"
    grep -qx -- "--scheme=$s" "$d/args.txt" || fail "$d: not --scheme=$s"
    awk -F, -v s="$s" -v k="$k" 'NR == 2 && $1 == s && $4 == k && $13 > 0 { ok = 1 } END { exit !ok }' \
      "$d/summary.csv" || fail "$d/summary.csv: no recovery row for $s seed $k"
    n=$((n + 1))
  done
done
[[ "$(find "$tmp/out" -mindepth 2 -maxdepth 2 -name 'seed-*' | wc -l)" -eq 4 ]] ||
  fail "not exactly 4 run directories: $(find "$tmp/out" -mindepth 2 -maxdepth 2)"
[[ "$(wc -l <"$tmp/out/runs.log")" -eq 4 ]] || fail "runs.log: not 4 runs"
for s in msrd renegotiate; do
  awk -F, -v s="$s" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $c["scheme"] == s && $c["column"] == "recovery_s" && $c["n"] == 2 &&
    $c["ci95"] ~ /^[0-9.e+-]+$/ && $c["mean"] > 1 { ok = 1 } END { exit !ok }' \
    "$tmp/out/table.csv" || fail "table.csv: no recovery_s row with n=2 and a CI for $s"
done
grep -q 'recovery_s' "$tmp/stdout" || fail "the table was not printed"
grep -Eq '^sweep: \[[#.]+\] [0-9]/4 runs  elapsed [0-9]+:[0-9]{2}  ETA ' "$tmp/stderr" ||
  fail "no progress lines on stderr: $(head -c 300 "$tmp/stderr")"
grep -Eq '4/4 runs .* ETA 0:00' "$tmp/stderr" || fail "no final 4/4 progress line"
cat "$tmp/stderr"
grep recovery_s "$tmp/out/table.csv"
echo "$fails failure(s)"
[[ $fails -eq 0 ]]
