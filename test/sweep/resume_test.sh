#!/usr/bin/env bash
# ctest sweep.resume: a second sweep into a directory in use is refused; a
# sweep killed mid-way (SIGTERM to ./mip6ike sweep,
# as Ctrl-C would) leaves only finished runs as seed-K; rerunning the same
# command runs only the missing ones (runs.log counts the runs each
# invocation executed), redoes a half-done one (a seed-K whose summary.csv
# lost its rows, a stale .seed-K.tmp.PID), and ends with a table.csv equal
# to a clean, uninterrupted sweep's.
#   resume_test.sh BUILD_DIR
set -uo pipefail
build="$1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tmp="$(mktemp -d)"
pid=""
trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# sweep OUT: 2 rates x 4 seeds, one run at a time
# shellcheck disable=SC2054 # the commas are --vary lists
cmd=("$root/scenario/mip6ike-sweep.sh" "$build" "$root/scenarios/xu2008-table1.ini"
  --vary rate=100,1000 --set sweep.experiment.scheme= --seeds 4 -j 1
  --set experiment.duration_s=8 --set output.pcap=false --set output.verbose=false)
sweep() { "${cmd[@]}" --out "$1"; }
total=8
# 1. interrupted after at least two runs finished
M6S_PROGRESS_INTERVAL=0.05 "${cmd[@]}" --out "$tmp/a" >"$tmp/a.out" 2>"$tmp/a.err" &
pid=$!
for _ in $(seq 400); do
  [[ -f "$tmp/a/runs.log" && "$(wc -l <"$tmp/a/runs.log")" -ge 2 ]] && break
  sleep 0.02
done
# a second sweep into the same directory meanwhile is refused
rc=0
"${cmd[@]}" --out "$tmp/a" >"$tmp/lock.out" 2>&1 || rc=$?
if [[ $rc -ne 2 ]] || ! grep -q "another sweep is running in $tmp/a" "$tmp/lock.out"; then
  fail "a concurrent sweep in the same directory: exit $rc, $(tail -n 1 "$tmp/lock.out")"
fi
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
[[ $rc -eq 130 ]] || fail "interrupted sweep exited $rc, not 130"
grep -q 'interrupted: [0-9]* of 8 runs finished; rerun' "$tmp/a.err" || fail "no 'interrupted' line: $(tail -n 2 "$tmp/a.err")"
first="$(wc -l <"$tmp/a/runs.log")"
finished="$(find "$tmp/a" -mindepth 2 -maxdepth 2 -name 'seed-*' ! -name '*.failed' | wc -l)"
[[ $first -ge 2 && $first -lt $total ]] || fail "the kill came too late or too early: $first runs finished"
[[ $finished -eq $first ]] || fail "$finished run directories for $first finished runs"
sleep 0.5
[[ "$(wc -l <"$tmp/a/runs.log")" -eq $first ]] || fail "runs went on after the sweep was killed"
pgrep -f "mip6ike-sweep.sh --run-one $tmp/a" >/dev/null && fail "run processes left behind"
# 2. make one finished run half-done again, and leave a stale temp dir
half="$(find "$tmp/a" -mindepth 2 -maxdepth 2 -name 'seed-*' | head -n 1)"
head -n 1 "$half/summary.csv" >"$half/summary.csv.x" && mv "$half/summary.csv.x" "$half/summary.csv"
mkdir -p "$(dirname "$half")/.$(basename "$half").tmp.1"
# 3. rerun: only the missing runs (and the half-done one)
rc=0
sweep "$tmp/a" >"$tmp/b.out" 2>"$tmp/b.err" || rc=$?
[[ $rc -eq 0 ]] || fail "rerun exited $rc: $(tail -n 3 "$tmp/b.err")"
again=$(($(wc -l <"$tmp/a/runs.log") - first))
want=$((total - first + 1))
[[ $again -eq $want ]] || fail "the rerun executed $again runs, not $want (8 - $first finished + 1 half-done)"
grep -q "$((first - 1)) of 8 runs finished already; running $want" "$tmp/b.out" || fail "rerun did not say what it skips: $(head -n 2 "$tmp/b.out")"
for d in "$tmp"/a/*/; do
  for k in 1 2 3 4; do
    n="$(grep -c " ${d%/}/seed-$k \| $(basename "$d") seed-$k " "$tmp/a/runs.log")"
    [[ "$(basename "$half")" == "seed-$k" && "$d" == "$(dirname "$half")/" ]] && continue
    [[ $n -eq 1 ]] || fail "$(basename "$d") seed-$k ran $n times"
  done
done
[[ -z "$(find "$tmp/a" -name '.seed-*')" ]] || fail "temp dirs left: $(find "$tmp/a" -name '.seed-*')"
# 4. the same table as an uninterrupted sweep
sweep "$tmp/c" >"$tmp/c.out" 2>"$tmp/c.err" || fail "clean sweep failed"
cmp "$tmp/a/table.csv" "$tmp/c/table.csv" || fail "resumed table.csv differs from the clean one"
# 5. a third run has nothing to do
sweep "$tmp/a" >"$tmp/d.out" 2>&1 || fail "third run failed"
grep -q "8 of 8 runs finished already; running 0" "$tmp/d.out" || fail "third run: $(head -n 2 "$tmp/d.out")"
echo "killed after $first runs; the rerun ran $again; tables equal"
echo "$fails failure(s)"
[[ $fails -eq 0 ]]
