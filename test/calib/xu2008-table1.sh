#!/bin/bash
# ctest calib.xu2008-table1: the main paper's Table I under --profile=xu2008.
# Runs the handover example for msrd and renegotiate at 40, 100 and
# 1000 kbit/s over SEEDS seeds and fails unless every cell's mean recovery
# time is within +-10 % of the paper's (Xu et al., Table I).  One profile
# for every cell: doc/CALIBRATION.md.
#   xu2008-table1.sh HANDOVER_EXE [SEEDS]
set -u
exe="$1"
seeds="${2:-3}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
declare -A paper=([msrd:40]=1.62 [msrd:100]=1.66 [msrd:1000]=1.65
  [renegotiate:40]=2.99 [renegotiate:100]=2.71 [renegotiate:1000]=2.62)
fail=0
printf '%-12s %6s %8s %6s %8s\n' scheme rate sim paper error
for s in msrd renegotiate; do
  for r in 40 100 1000; do
    pids=()
    for ((k = 1; k <= seeds; k++)); do
      d="$dir/$s-$r-$k"
      mkdir -p "$d"
      "$exe" --profile=xu2008 --scheme="$s" --rate="$r" --RngRun="$k" --out="$d" \
        --pcap=0 --verbose=0 >"$d/log.txt" 2>&1 &
      pids+=("$!")
    done
    for p in "${pids[@]}"; do
      if ! wait "$p"; then
        echo "FAIL: a $s run at $r kbit/s exited non-zero"
        cat "$dir/$s-$r-"*/log.txt
        fail=1
      fi
    done
    grep -q "profile xu2008" "$dir/$s-$r-1/log.txt" || {
      echo "FAIL: $s/$r did not run with profile xu2008"
      fail=1
    }
    line="$(awk -F, -v p="${paper[$s:$r]}" '
      FNR == 1 { for (i = 1; i <= NF; i++) if ($i == "recovery_s") c = i; next }
      $c != "" { n++; t += $c } $c == "" { lost++ }
      END { if (n == 0) { print "none"; exit }
        m = t / n; e = (m - p) / p * 100
        printf "%.3f %.1f %d %d\n", m, e, n, lost }' "$dir/$s-$r-"*/summary.csv)"
    if [[ "$line" == none ]]; then
      echo "FAIL: $s at $r kbit/s: traffic never resumed"
      fail=1
      continue
    fi
    read -r m e n lost <<<"$line"
    printf '%-12s %6s %8s %6s %7s%%\n' "$s" "$r" "$m" "${paper[$s:$r]}" "$e"
    if [[ "$lost" -gt 0 ]] || ! awk -v e="$e" 'BEGIN { exit !(e >= -10 && e <= 10) }'; then
      echo "FAIL: $s at $r kbit/s: $m s is not within 10 % of the paper's ${paper[$s:$r]} s ($n runs, $lost without recovery)"
      fail=1
    fi
  done
done
[[ $fail -eq 0 ]] && echo "Table I reproduced within +-10 % in every cell"
exit $fail
