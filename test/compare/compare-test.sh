#!/usr/bin/env bash
# ctest compare.emu-ns3: scenarios/emu-compare.ini in ns-3 and in the Linux
# emulation (analysis/compare-run.sh, what `./mip6ike compare` runs), one
# seed, both schemes, then checks the output and that the numbers are sane:
#  - compare.csv: header, one row per scheme and column, one run per host;
#  - the hosts agree on what the protocols send: IKE messages (msrd 2 =
#    one INFORMATIONAL exchange, renegotiate 6 = IKE_SA_INIT + IKE_AUTH +
#    CREATE_CHILD_SA) and their octets;
#  - in both hosts msrd's BA comes right after the new CoA (< 0.1 s) and
#    renegotiate's after the binding update list's 1 s retransmission
#    (0.9..1.5 s): the schemes' difference is the protocols', not the host's;
#  - every time after the L2 handover is positive and the flow came back;
#  - the table was printed, table.csv and sim-vs-emu.png/.pdf written.
# usage: compare-test.sh BUILD_DIR
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD="$1"
# shellcheck source=../../emu/test/lib.sh
source "$ROOT/emu/test/lib.sh"
m6e_test_require "$BUILD" --radvd emu/mip6ike-noded emu/mip6ike-cbr emu/mip6ike-pcap \
  scenario/mip6ike-scenario examples/mip6ike-handover
m6e_test_out m6c-test
fail() {
  echo "FAIL: $*"
  cat "$OUT/compare.csv" 2>/dev/null || true
  exit 1
}

"$ROOT/analysis/compare-run.sh" "$BUILD" "$ROOT/scenarios/emu-compare.ini" --seeds 1 --out "$OUT" | tee "$OUT/stdout" || fail "compare-run.sh exited non-zero"

grep -q '^msrd (runs: ns3 1, emu 1)$' "$OUT/stdout" || fail "no msrd table with one run per host"
grep -q '^renegotiate (runs: ns3 1, emu 1)$' "$OUT/stdout" || fail "no renegotiate table with one run per host"
[[ "$(head -1 "$OUT/compare.csv")" == "scheme,column,ns3_mean,emu_mean,diff,diff_pct,ns3_n,emu_n" ]] ||
  fail "compare.csv header"
[[ "$(wc -l <"$OUT/compare.csv")" -eq 25 ]] || fail "compare.csv: 2 schemes x 12 columns expected"
# cell SCHEME COLUMN FIELD(3 ns3, 4 emu, 5 diff, 7/8 n)
cell() { awk -F, -v s="$1" -v c="$2" -v f="$3" '$1 == s && $2 == c { print $f }' "$OUT/compare.csv"; }
for s in msrd renegotiate; do
  for c in l2_s movement_detected_after_l2_s coa_ready_after_l2_s bu_sent_after_l2_s \
    ba_received_after_l2_s sa_ready_after_l2_s traffic_resumed_after_l2_s recovery_s ike_msgs ike_bytes; do
    [[ "$(cell $s $c 7)" == 1 && "$(cell $s $c 8)" == 1 ]] || fail "$s $c: not one value per host"
  done
  for c in movement_detected_after_l2_s coa_ready_after_l2_s ba_received_after_l2_s traffic_resumed_after_l2_s recovery_s; do
    for f in 3 4; do
      awk -v x="$(cell $s $c $f)" 'BEGIN{exit !(x > 0 && x < 8)}' || fail "$s $c field $f out of (0, 8) s: $(cell $s $c $f)"
    done
  done
  awk -v a="$(cell $s l2_s 3)" -v b="$(cell $s l2_s 4)" 'BEGIN{d = a - b; exit !(d < 0.1 && d > -0.1)}' ||
    fail "$s: the hosts' L2 handovers are not at the same scenario time"
  # The protocols' messages: the same in both hosts.
  [[ "$(cell $s ike_msgs 5)" == 0.000000 ]] || fail "$s: IKE messages differ: ns3 $(cell $s ike_msgs 3) emu $(cell $s ike_msgs 4)"
  [[ "$(cell $s ike_bytes 5)" == 0.000000 ]] || fail "$s: IKE octets differ: ns3 $(cell $s ike_bytes 3) emu $(cell $s ike_bytes 4)"
  # BA after the CoA: the scheme's, in both hosts.
  for f in 3 4; do
    ba_after_coa="$(cell $s ba_received_after_coa_s $f)"
    case "$s" in
    msrd) awk -v d="$ba_after_coa" 'BEGIN{exit !(d >= 0 && d < 0.1)}' || fail "msrd field $f: BA $ba_after_coa s after the CoA (< 0.1 expected)" ;;
    renegotiate) awk -v d="$ba_after_coa" 'BEGIN{exit !(d >= 0.9 && d < 1.5)}' || fail "renegotiate field $f: BA $ba_after_coa s after the CoA (0.9..1.5 expected)" ;;
    esac
  done
done
[[ "$(cell msrd ike_msgs 3)" == 2.000000 ]] || fail "msrd: 2 IKE messages expected, got $(cell msrd ike_msgs 3)"
[[ "$(cell renegotiate ike_msgs 3)" == 6.000000 ]] || fail "renegotiate: 6 IKE messages expected, got $(cell renegotiate ike_msgs 3)"
if [[ -x "$BUILD/analysis/mip6ike-aggregate" ]] && /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
  [[ -s "$OUT/table.csv" ]] || fail "no table.csv"
  [[ "$(head -c 4 "$OUT/sim-vs-emu.png" | tail -c 3)" == PNG ]] || fail "sim-vs-emu.png is not a PNG"
  [[ "$(head -c 4 "$OUT/sim-vs-emu.pdf")" == %PDF ]] || fail "sim-vs-emu.pdf is not a PDF"
else
  echo "note: no mip6ike-aggregate or matplotlib: plot not checked"
fi
[[ -z "$(ip netns list | grep -E "^m6e-.*-[0-9]+" | while read -r ns _; do pid="${ns##*-}"; kill -0 "$pid" 2>/dev/null || echo "$ns"; done)" ]] ||
  fail "namespaces of finished runs left behind"
echo "PASS: compare.emu-ns3"
