#!/usr/bin/env bash
# analysis/compare-run.sh: one scenario file in both hosts, side by side
# (what `./mip6ike compare` runs once it has built the targets).
#
#   compare-run.sh BUILD_DIR SCENARIO.ini [--seeds N] [-j N] [--out DIR]
#                  [--arch one|three] [--set section.key=value ...]
#
# --arch: the emulation's node software.  one (the default): one
# mip6ike-noded per node, the same in-process agent the ns-3 model runs,
# so that what differs is the kernel and the links, not the software;
# three: the main paper's three daemons per node (mipd, iked, ipsecd),
# which add their own inter-process timing (emu/README.md: with
# renegotiate, whether the first BU meets the new SAs is a race between
# ipsecd's MH and PF_KEY sockets).
#
# Schemes: the scenario's sweep over experiment.scheme if it has one, else
# experiment.scheme (a --set experiment.scheme=S runs S only).  Seeds:
# experiment.rng_run .. + N - 1 (N = --seeds, default experiment.seeds),
# the same numbers in both hosts (ns-3: --RngRun; emu: recorded, the
# kernel's timing is its own randomness).  For each (scheme, seed):
#   DIR/ns3-S-K  the ns-3 handover example with `mip6ike-scenario --args ns3`
#                (N at a time with -j);
#   DIR/emu-S-K  emu/run/emu-run.sh with the scenario file (root), one
#                after the other.
# Then DIR/compare.csv and the table (analysis/compare.py), DIR/table.csv
# (mip6ike-aggregate) and DIR/sim-vs-emu.png/.pdf (plot.py hosts).
# Default DIR: traces/compare/NAME.  Exit 2 on a bad argument, 1 on a
# failed run or a scheme one host has no row for.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PROG="${M6C_PROG:-analysis/compare-run.sh}"
usage_error() { echo "$PROG: $1" >&2; exit 2; }
die() { echo "$PROG: error: $*" >&2; exit 1; }
say() { echo "==> $*"; }

[[ $# -ge 2 ]] || usage_error "usage: compare-run.sh BUILD_DIR SCENARIO.ini [--seeds N] [-j N] [--out DIR] [--set k=v ...]"
BUILD="$1" scen="$2"
shift 2
[[ -f "$scen" ]] || usage_error "no scenario file '$scen'"
seeds="" out="" jobs=1 sets=() scheme_set="" arch=one
while [[ $# -gt 0 ]]; do
  case "$1" in
  -j)
    [[ "${2-}" =~ ^[1-9][0-9]*$ ]] || usage_error "-j wants a whole number >= 1"
    jobs="$2"
    shift
    ;;
  --seeds)
    [[ "${2-}" =~ ^[1-9][0-9]*$ ]] || usage_error "--seeds wants a whole number >= 1, not '${2-}'"
    seeds="$2"
    shift
    ;;
  --out)
    [[ $# -ge 2 ]] || usage_error "--out needs a directory"
    out="$2"
    shift
    ;;
  --arch)
    [[ "${2-}" == one || "${2-}" == three ]] || usage_error "--arch wants one or three, not '${2-}'"
    arch="$2"
    shift
    ;;
  --set)
    [[ $# -ge 2 && "$2" == *.*=* ]] || usage_error "--set needs section.key=value"
    sets+=(--set "$2")
    [[ "$2" == experiment.scheme=* ]] && scheme_set="${2#*=}"
    shift
    ;;
  *) usage_error "unknown option '$1'" ;;
  esac
  shift
done
tool="$BUILD/scenario/mip6ike-scenario"
exe="$BUILD/examples/mip6ike-handover"
for b in "$tool" "$exe"; do
  [[ -x "$b" ]] || die "$b not built"
done
# The scenario as both hosts see it: each must accept it as written.
err="$("$tool" "$scen" "${sets[@]}" --args ns3 2>&1 >/dev/null)" || die "ns-3 cannot run it: $err"
err="$(M6E_CHECK_ONLY=1 M6E_PROG="$PROG" "$ROOT/emu/run/emu-run.sh" "$BUILD" "$scen" "${sets[@]}" 2>&1)" ||
  die "the emulation cannot run it: $err"
[[ "$(id -u)" -eq 0 ]] || die "the emulation needs root (network namespaces, veth, TUN)"

schemes=()
if [[ -n "$scheme_set" ]]; then
  schemes=("$scheme_set")
else
  read -r -a schemes <<<"$("$tool" "$scen" "${sets[@]}" --sweep | sed -n 's/^experiment\.scheme //p')"
  [[ ${#schemes[@]} -gt 0 ]] || schemes=("$("$tool" "$scen" "${sets[@]}" --get experiment.scheme)")
fi
[[ -n "$seeds" ]] || seeds="$("$tool" "$scen" "${sets[@]}" --get experiment.seeds)"
first="$("$tool" "$scen" "${sets[@]}" --get experiment.rng_run)"
start="$("$tool" "$scen" "${sets[@]}" --get traffic.start_s)"
name="$(basename "$scen" .ini)"
[[ -n "$out" ]] || out="$ROOT/traces/compare/$name"
mkdir -p "$out" || die "cannot create $out"
out="$(cd "$out" && pwd)"
say "compare: $name: schemes ${schemes[*]} x seeds $first..$((first + seeds - 1)), ns-3 then the emulation, into $out"

dirs=() pids=() failed=0
for s in "${schemes[@]}"; do
  for ((k = first; k < first + seeds; k++)); do
    dir="$out/ns3-$s-$k"
    rm -rf "$dir" && mkdir -p "$dir"
    args="$("$tool" "$scen" "${sets[@]}" --set "experiment.scheme=$s" --set "experiment.rng_run=$k" \
      --set "output.dir=$dir" --set output.verbose=false --args ns3)" || die "mip6ike-scenario --args ns3 failed"
    mapfile -t argv <<<"$args"
    if [[ ${#pids[@]} -ge $jobs ]]; then
      wait "${pids[0]}" || failed=$((failed + 1))
      pids=("${pids[@]:1}")
    fi
    "$exe" "${argv[@]:1}" >"$dir/log.txt" 2>&1 </dev/null &
    pids+=("$!")
    dirs+=("$dir")
  done
done
for p in "${pids[@]}"; do
  wait "$p" || failed=$((failed + 1))
done
[[ $failed -eq 0 ]] || die "$failed ns-3 run(s) failed (see $out/ns3-*/log.txt)"
say "compare: ns-3 done (${#dirs[@]} runs)"
for s in "${schemes[@]}"; do
  for ((k = first; k < first + seeds; k++)); do
    dir="$out/emu-$s-$k"
    rm -rf "$dir"
    say "compare: emu $s seed $k"
    M6E_PROG="$PROG" "$ROOT/emu/run/emu-run.sh" "$BUILD" "$scen" "${sets[@]}" \
      --set "experiment.scheme=$s" --set "experiment.rng_run=$k" --set "arch=$arch" --out "$dir" >"$out/emu-$s-$k.log" 2>&1 ||
      die "the emulation run $s seed $k failed (see $out/emu-$s-$k.log and $dir/run.log)"
    dirs+=("$dir")
  done
done
echo
rc=0
/usr/bin/python3 "$HERE/compare.py" -o "$out/compare.csv" --start "$start" "${dirs[@]}" || rc=$?
echo "wrote $out/compare.csv"
agg="$BUILD/analysis/mip6ike-aggregate"
if [[ -x "$agg" ]] && "$agg" -o "$out/table.csv" "${dirs[@]}"; then
  if /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
    /usr/bin/python3 "$HERE/plot.py" hosts -o "$out/sim-vs-emu" \
      --title "$name: ns-3 against the emulation" "$out/table.csv" ||
      say "compare: the sim-vs-emu plot failed"
  else
    say "compare: /usr/bin/python3 has no matplotlib (python3-matplotlib): no plot"
  fi
else
  say "compare: no table.csv ($agg missing or failed): no plot"
fi
exit "$rc"
