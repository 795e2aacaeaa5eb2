#!/bin/bash
# ctest scenario.table1-args-ns3: scenarios/xu2008-table1.ini, turned into
# the handover example's options by `mip6ike-scenario --args ns3`,
# reproduces Table I like `./mip6ike run` (--profile=xu2008) does: msrd and
# renegotiate at 1000 kbit/s, seed 1, recovery within +-10 % of the paper.
#   scenario-table1-args.sh SCENARIO_EXE HANDOVER_EXE INI
set -u
scen="$1" exe="$2" ini="$3"
if [ ! -x "$exe" ]; then echo "skip: no $exe"; exit 0; fi
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
declare -A paper=([msrd]=1.65 [renegotiate]=2.62)
fail=0
for s in msrd renegotiate; do
  mkdir -p "$dir/$s"
  # first line is the host's program name, then one option per line
  mapfile -t args < <("$scen" "$ini" --set experiment.scheme=$s \
    --set traffic.rate_kbps=1000 --set experiment.rng_run=1 \
    --set output.pcap=false --args ns3 | tail -n +2) || { echo "$s: scenario failed"; exit 1; }
  [ "${#args[@]}" -gt 0 ] || { echo "$s: no arguments"; exit 1; }
  "$exe" "${args[@]}" --verbose=false --out="$dir/$s" >"$dir/$s.log" 2>&1 ||
    { echo "$s: handover failed"; cat "$dir/$s.log"; exit 1; }
  rec="$(awk -F, 'NR==1{for(i=1;i<=NF;i++) if($i=="recovery_s") c=i; next} {print $c; exit}' "$dir/$s/summary.csv")"
  ok="$(awk -v m="$rec" -v p="${paper[$s]}" 'BEGIN{e=(m-p)/p*100; printf "%.1f %d", e, (e<=10 && e>=-10)}')"
  printf '%-12s sim %s paper %s error %s %%\n' "$s" "$rec" "${paper[$s]}" "${ok% *}"
  [ "${ok#* }" = 1 ] || { echo "FAIL: $s outside +-10 %"; fail=1; }
done
exit $fail
