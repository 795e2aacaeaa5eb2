#!/usr/bin/env bash
# ctest analysis.plots: mip6ike-aggregate, plot.py (all four plots) and
# table1.py on the synthetic fixtures beside this script (they only test
# the code).  Skips (77) when Debian's /usr/bin/python3 has no matplotlib.
#   plots_test.sh AGGREGATE_BIN OUTDIR
set -euo pipefail
AGG="$1"
OUT="$2"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ANA="$HERE/../../analysis"
PY=/usr/bin/python3
if ! "$PY" -c 'import matplotlib' 2>/dev/null; then
  echo "SKIP: $PY has no matplotlib (Debian: python3-matplotlib)"
  exit 77
fi
rm -rf "$OUT"
mkdir -p "$OUT"
F="$HERE"
"$AGG" -o "$OUT/table.csv" "$F"/synthetic-ns3-msrd "$F"/synthetic-ns3-renegotiate \
  "$F"/synthetic-emu-msrd "$F"/synthetic-emu-renegotiate
grep -q '^msrd,ns3,100,recovery_s,3,' "$OUT/table.csv"
"$PY" "$ANA/plot.py" fig8 -o "$OUT/fig8" --handover-at 5 \
  "$F"/synthetic-ns3-msrd "renegotiate=$F/synthetic-ns3-renegotiate/timeline.csv"
"$PY" "$ANA/plot.py" table1 -o "$OUT/table1" "$OUT/table.csv"
"$PY" "$ANA/plot.py" breakdown -o "$OUT/breakdown" --rate 100 \
  "$F"/synthetic-ns3-msrd "$F"/synthetic-ns3-renegotiate/summary.csv
"$PY" "$ANA/plot.py" hosts -o "$OUT/hosts" "$OUT/table.csv"
for p in fig8 table1 breakdown hosts; do
  for e in png pdf; do
    [[ -s "$OUT/$p.$e" ]] || { echo "FAIL: $OUT/$p.$e missing or empty"; exit 1; }
  done
done
"$PY" "$ANA/table1.py" "$OUT/table.csv" | tee "$OUT/table1.txt"
grep -q '100 kbit/s' "$OUT/table1.txt"
"$PY" "$ANA/table1.py" --csv --host emu "$OUT/table.csv" | grep -q '^1000,renegotiate,2.62,3,'
# Bad input: one line naming file and line, exit 2.
printf 'scheme,host\n' >"$OUT/bad.csv"
rc=0
"$PY" "$ANA/plot.py" table1 -o "$OUT/x" "$OUT/bad.csv" 2>"$OUT/err" || rc=$?
[[ $rc -eq 2 ]] && grep -q 'bad.csv:1: header' "$OUT/err"
rc=0
"$AGG" -o "$OUT/x.csv" "$OUT/bad.csv" 2>"$OUT/err" || rc=$?
[[ $rc -eq 2 ]] && grep -q 'bad.csv:1: header' "$OUT/err"
echo "analysis.plots: ok"
