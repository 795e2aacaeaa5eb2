#!/usr/bin/env bash
# scenario/mip6ike-sweep.sh: a sweep over a scenario (what `./mip6ike
# sweep` runs; doc/SCENARIOS.md "Sweeps").
#
#   mip6ike-sweep.sh BUILD_DIR SCENARIO.ini [--vary key=v1,v2,...]...
#       [--set key=value]... [--seeds N] [-j N] [--host ns3|emu]
#       [--out DIR] [--slurm [--no-submit]]
#
# Every combination of the scenario's [sweep] dimensions and the --vary
# ones (a --vary of a [sweep] key replaces it) x seeds 1..N (RngRun =
# experiment.rng_run + seed - 1) runs once, in DIR/<key=value,...>/seed-K/
# (summary.csv, timeline.csv, args.txt, log.txt).  A run is written into
# DIR/<combination>/.seed-K.tmp.PID and renamed to seed-K only when it
# exited 0 with a complete summary.csv, so a rerun of the same command
# skips finished runs and redoes the rest; a failed run is kept as
# seed-K.failed.  Runs go N at a time through GNU parallel (xargs -P
# without it); progress with an ETA on stderr; at the end all finished
# runs are aggregated (analysis/mip6ike-aggregate) into DIR/table.csv,
# which is printed.  --slurm writes DIR/sweep.sbatch (a job array, one
# task per combination x seed) and DIR/aggregate.sbatch (after the array)
# and submits both with sbatch (--no-submit: write only).
#
# Internal entry points (the parallel jobs and the Slurm tasks use them):
#   mip6ike-sweep.sh --run-one DIR COMBINATION SEED
#   mip6ike-sweep.sh --aggregate DIR
#
# Environment: M6S_PROG (name in messages), M6S_CHECK_ONLY=1 (check the
# command line's syntax and stop: the driver does this before building),
# M6S_PROGRESS_INTERVAL (seconds between progress updates, default 1).
# Errors: one line on stderr, exit 2 (bad command line or scenario).
# shellcheck disable=SC2153 # BUILD HOST SEEDS RNG0 SETS KEYS COMBOS: sweep.conf
set -euo pipefail
SELF="$(readlink -f "${BASH_SOURCE[0]}")"
HERE="$(dirname "$SELF")"
ROOT="$(cd "$HERE/.." && pwd)"
PROG="${M6S_PROG:-mip6ike-sweep.sh}"

usage_error() {
  echo "$PROG: $1" >&2
  exit 2
}

die() {
  echo "$PROG: error: $*" >&2
  exit 1
}

is_count() {
  [[ "$1" =~ ^[0-9]+$ ]] && [[ "$1" -ge 1 ]]
}

# ------------------------------------------------------------ one run

# complete FILE: a summary.csv with the contract's header, at least one
# row, every row as many fields as the header, a final newline.
complete() {
  local f="$1"
  [[ -s "$f" ]] || return 1
  [[ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" == '\n' ]] || return 1
  awk -F, 'NR == 1 { if ($0 !~ /^scheme,host,rate_kbps,seed,/) exit 1; nf = NF; next }
    NF != nf { exit 1 } END { exit !(NR >= 2) }' "$f"
}

load_conf() {
  local out="$1"
  [[ -f "$out/sweep.conf" ]] || die "$out/sweep.conf missing: not a sweep directory"
  # shellcheck source=/dev/null
  source "$out/sweep.conf"
}

# run_one DIR COMBINATION SEED
run_one() {
  local out="$1" combo="$2" seed="$3"
  load_conf "$out"
  local parent="$out/$combo" final="$out/$combo/seed-$seed"
  if complete "$final/summary.csv"; then
    return 0
  fi
  mkdir -p "$parent"
  # Leftovers of an interrupted or failed attempt.
  rm -rf "$final" "$parent/seed-$seed.failed" "$parent/.seed-$seed.tmp."*
  local tmp="$parent/.seed-$seed.tmp.$$"
  mkdir "$tmp"
  local sets=() kv rc=0 t0 t1
  for kv in "${SETS[@]}"; do sets+=(--set "$kv"); done
  if [[ "$combo" != default ]]; then
    local -a parts
    IFS=, read -r -a parts <<<"$combo"
    for kv in "${parts[@]}"; do sets+=(--set "$kv"); done
  fi
  sets+=(--set "experiment.rng_run=$((RNG0 + seed - 1))" --set "output.dir=")
  t0="$(date +%s.%N)"
  if ! "$SCEN_EXE" "$out/scenario.ini" "${sets[@]}" --args "$HOST" >"$tmp/args.txt" 2>"$tmp/log.txt"; then
    rc=2
  else
    local -a args
    mapfile -t args <"$tmp/args.txt"
    if [[ "$HOST" == ns3 ]]; then
      local exe="$BUILD/examples/mip6ike-${args[0]}"
      "$exe" "${args[@]:1}" --out="$tmp" >>"$tmp/log.txt" 2>&1 </dev/null || rc=$?
    else
      # The emulation runner's interface: SCENARIO --set key=value ...
      "$ROOT/emu/run/emu-run.sh" "$BUILD" "${args[@]}" --out "$tmp" >>"$tmp/log.txt" 2>&1 </dev/null || rc=$?
    fi
  fi
  t1="$(date +%s.%N)"
  local secs
  secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
  # The ns-3 examples exit 3 when a handover never recovered: a result
  # (an empty recovery_s), not a failed run.
  if [[ $rc -eq 0 || ($rc -eq 3 && "$HOST" == ns3) ]] && complete "$tmp/summary.csv"; then
    echo "$rc" >"$tmp/exit-status"
    mv -T "$tmp" "$final"
    echo "$(date +%s) ok $combo seed-$seed ${secs}s${rc/#0/}" | sed 's/s3$/s (no recovery)/' >>"$out/runs.log"
    return 0
  fi
  [[ $rc -ne 0 ]] || rc=1
  mv -T "$tmp" "$parent/seed-$seed.failed"
  echo "$(date +%s) failed($rc) $combo seed-$seed ${secs}s" >>"$out/runs.log"
  return "$rc"
}

# ------------------------------------------------------------ aggregate

# aggregate DIR: DIR/table.csv over every finished run; prints it.
aggregate() {
  local out="$1"
  load_conf "$out"
  local agg="$BUILD/analysis/mip6ike-aggregate"
  [[ -x "$agg" ]] || die "${agg} not built (libgsl-dev): no table.csv"
  local args=() key combo k kv n=0
  # Keys the summary has as columns group by themselves; the others are
  # tags (values outside A-Z a-z 0-9 _ - . become _).
  for key in "${KEYS[@]}"; do
    case "$key" in experiment.scheme | traffic.rate_kbps) ;; *) args+=(--by "$key") ;; esac
  done
  for combo in "${COMBOS[@]}"; do
    local dirs=()
    for ((k = 1; k <= SEEDS; k++)); do
      complete "$out/$combo/seed-$k/summary.csv" && dirs+=("$out/$combo/seed-$k")
    done
    [[ ${#dirs[@]} -gt 0 ]] || continue
    if [[ "$combo" != default ]]; then
      local -a parts
      IFS=, read -r -a parts <<<"$combo"
      for kv in "${parts[@]}"; do
        case "${kv%%=*}" in experiment.scheme | traffic.rate_kbps) continue ;; esac
        args+=(--tag "${kv%%=*}=$(tr -c 'A-Za-z0-9_.\n-' _ <<<"${kv#*=}")")
      done
    fi
    args+=("${dirs[@]}")
    n=$((n + ${#dirs[@]}))
  done
  [[ $n -gt 0 ]] || die "no finished runs in $out to aggregate"
  "$agg" -o "$out/table.csv" "${args[@]}" || die "mip6ike-aggregate failed"
  echo "table of $n runs: $out/table.csv"
  if command -v column >/dev/null 2>&1; then
    column -s, -t <"$out/table.csv"
  else
    cat "$out/table.csv"
  fi
}

# ------------------------------------------------------------ progress

fmt_secs() {
  local s="${1%.*}"
  if [[ $s -ge 3600 ]]; then
    printf '%d:%02d:%02d' $((s / 3600)) $((s % 3600 / 60)) $((s % 60))
  else
    printf '%d:%02d' $((s / 60)) $((s % 60))
  fi
}

# progress DONE TOTAL BEFORE ELAPSED: one status line (done counts the runs
# finished before this invocation; the ETA comes from this one's pace).
progress_line() {
  local done="$1" total="$2" before="$3" elapsed="$4" eta="--:--"
  local now=$((done - before)) left=$((total - done))
  if [[ $now -gt 0 ]]; then
    eta="$(fmt_secs $((elapsed * left / now)))"
  fi
  [[ $left -eq 0 ]] && eta="0:00"
  local width=30 fill=0
  [[ $total -gt 0 ]] && fill=$((done * width / total))
  local bar
  bar="$(printf '%*s' "$fill" '' | tr ' ' '#')$(printf '%*s' $((width - fill)) '' | tr ' ' '.')"
  printf '[%s] %d/%d runs  elapsed %s  ETA %s' "$bar" "$done" "$total" "$(fmt_secs "$elapsed")" "$eta"
}

# ------------------------------------------------------------ the sweep

# conf_array NAME VALUES...: "NAME=( v1 v2 )" (quoted; none: "NAME=( )").
conf_array() {
  local name="$1"
  shift
  printf '%s=(' "$name"
  [[ $# -eq 0 ]] || printf ' %q' "$@"
  printf ' )\n'
}

resolve_key() { # NAME -> section.key (short names: the unique key ending so)
  local name="$1" keys
  keys="$("$SCEN_EXE" --keys | cut -f1)"
  if grep -qxF -- "$name" <<<"$keys"; then
    echo "$name"
    return 0
  fi
  local cands
  cands="$(awk -F. -v n="$name" '$2 == n || index($2, n "_") == 1' <<<"$keys")"
  if [[ -z "$cands" || "$name" == *.* ]]; then
    return 1
  fi
  if [[ "$(wc -l <<<"$cands")" -gt 1 ]]; then
    echo "ambiguous: $(tr '\n' ' ' <<<"$cands")"
    return 3
  fi
  echo "$cands"
}

sweep() {
  [[ $# -ge 2 ]] || usage_error "missing SCENARIO (a scenarios/*.ini file)"
  BUILD="$1"
  local scen="$2"
  shift 2
  case "$scen" in -*) usage_error "missing SCENARIO before '$scen'" ;; esac
  local varies=() sets=() seeds="" jobs="" host=ns3 out="" slurm=0 submit=1
  while [[ $# -gt 0 ]]; do
    case "$1" in
    --vary | --set | --seeds | -j | --host | --out)
      [[ $# -ge 2 && -n "$2" ]] || usage_error "$1 needs a value"
      case "$1" in
      --vary) varies+=("$2") ;;
      --set) sets+=("$2") ;;
      --seeds) seeds="$2" ;;
      -j) jobs="$2" ;;
      --host) host="$2" ;;
      --out) out="$2" ;;
      esac
      shift
      ;;
    --vary=* | --set=* | --seeds=* | --host=* | --out=*)
      local o="${1%%=*}" v="${1#*=}"
      [[ -n "$v" ]] || usage_error "$o needs a value"
      case "$o" in
      --vary) varies+=("$v") ;; --set) sets+=("$v") ;; --seeds) seeds="$v" ;;
      --host) host="$v" ;; --out) out="$v" ;;
      esac
      ;;
    -j[0-9]*) jobs="${1#-j}" ;;
    --slurm) slurm=1 ;;
    --no-submit) submit=0 ;;
    *) usage_error "unknown option '$1'" ;;
    esac
    shift
  done
  [[ -z "$seeds" ]] || is_count "$seeds" || usage_error "--seeds wants a whole number >= 1, not '$seeds'"
  [[ -z "$jobs" ]] || is_count "$jobs" || usage_error "-j wants a whole number >= 1, not '$jobs'"
  case "$host" in ns3 | emu) ;; *) usage_error "--host: unknown host '$host' (ns3 or emu)" ;; esac
  [[ $submit -eq 1 || $slurm -eq 1 ]] || usage_error "--no-submit goes with --slurm"
  local v
  for v in "${varies[@]}"; do
    [[ "$v" == *=* && "${v%%=*}" != "" ]] || usage_error "--vary $v: expected key=v1,v2,..."
    [[ -n "${v#*=}" ]] || usage_error "--vary ${v%%=*}: no values"
  done
  for v in "${sets[@]}"; do
    [[ "$v" == *=* ]] || usage_error "--set $v: expected key=value"
  done
  [[ -f "$scen" ]] || usage_error "SCENARIO '$scen': no such file"
  [[ "${M6S_CHECK_ONLY:-0}" == 1 ]] && return 0

  SCEN_EXE="$BUILD/scenario/mip6ike-scenario"
  [[ -x "$SCEN_EXE" ]] || die "$SCEN_EXE not built (libinih-dev)"
  local setargs=()
  for v in "${sets[@]}"; do setargs+=(--set "$v"); done
  "$SCEN_EXE" "$scen" "${setargs[@]}" --check || exit 2

  # Dimensions: the file's [sweep], then --vary (replacing a same key).
  local -a keys=() vals=()
  local line key
  while read -r line; do
    [[ -n "$line" ]] || continue
    key="${line%% *}"
    keys+=("$key")
    vals+=("$(tr ' ' ',' <<<"${line#* }")")
  done < <("$SCEN_EXE" "$scen" "${setargs[@]}" --sweep)
  local i found rc
  for v in "${varies[@]}"; do
    rc=0
    key="$(resolve_key "${v%%=*}")" || rc=$?
    if [[ $rc -eq 3 ]]; then
      usage_error "--vary ${v%%=*}: $key"
    elif [[ $rc -ne 0 ]]; then
      usage_error "--vary ${v%%=*}: unknown key (see mip6ike-scenario --keys)"
    fi
    local list="${v#*=}" x seen=","
    local -a xs
    IFS=, read -r -a xs <<<"$list,"
    for x in "${xs[@]}"; do
      x="${x#"${x%%[![:space:]]*}"}"
      x="${x%"${x##*[![:space:]]}"}"
      [[ -n "$x" ]] || usage_error "--vary $key: empty value in '$list'"
      [[ "$x" =~ ^[A-Za-z0-9_.:+-]+$ ]] ||
        usage_error "--vary $key: value '$x' has characters a run directory name cannot carry (A-Z a-z 0-9 _ . : + - only)"
      [[ "$seen" != *",$x,"* ]] || usage_error "--vary $key: value '$x' given twice"
      seen="$seen$x,"
      local err
      if ! err="$("$SCEN_EXE" "$scen" "${setargs[@]}" --set "$key=$x" --check 2>&1)"; then
        err="${err//--set $key:/--vary $key:}"
        echo "$PROG: ${err%%$'\n'*}" >&2
        exit 2
      fi
    done
    seen="${seen#,}"
    seen="${seen%,}"
    found=0
    for i in "${!keys[@]}"; do
      if [[ "${keys[$i]}" == "$key" ]]; then
        vals[i]="$seen"
        found=1
      fi
    done
    [[ $found -eq 1 ]] || keys+=("$key") vals+=("$seen")
  done
  [[ -n "$seeds" ]] || seeds="$("$SCEN_EXE" "$scen" "${setargs[@]}" --get experiment.seeds)"
  local rng0
  rng0="$("$SCEN_EXE" "$scen" "${setargs[@]}" --get experiment.rng_run)"

  # Combinations, the first dimension outermost.
  local -a combos=("")
  for i in "${!keys[@]}"; do
    local -a next=() xs2
    IFS=, read -r -a xs2 <<<"${vals[$i]}"
    local c
    for c in "${combos[@]}"; do
      for x in "${xs2[@]}"; do
        next+=("${c:+$c,}${keys[$i]}=$x")
      done
    done
    combos=("${next[@]}")
  done
  [[ ${#keys[@]} -gt 0 ]] || combos=(default)
  # Every combination must give the host a command line (rules between
  # keys the single values could not check).
  for c in "${combos[@]}"; do
    local cs=()
    if [[ "$c" != default ]]; then
      local -a parts
      IFS=, read -r -a parts <<<"$c"
      for x in "${parts[@]}"; do cs+=(--set "$x"); done
    fi
    local err first
    if ! err="$("$SCEN_EXE" "$scen" "${setargs[@]}" "${cs[@]}" --args "$host" 2>&1 >/dev/null)"; then
      echo "$PROG: combination $c: ${err%%$'\n'*}" >&2
      exit 2
    fi
    first="$("$SCEN_EXE" "$scen" "${setargs[@]}" "${cs[@]}" --args "$host" | head -n 1)"
    if [[ "$host" == ns3 && "$first" == scale ]]; then
      echo "$PROG: combination $c: experiment.example: the ns-3 scale example writes no summary.csv (a sweep runs handover or bootstrap)" >&2
      exit 2
    fi
  done

  if [[ -z "$out" ]]; then
    out="$ROOT/traces/sweep/$("$SCEN_EXE" "$scen" "${setargs[@]}" --get experiment.name)"
  fi
  mkdir -p "$out" || die "cannot create $out"
  out="$(cd "$out" && pwd)"
  [[ -n "$jobs" ]] || jobs="$(nproc 2>/dev/null || echo 2)"
  if [[ "$host" == emu ]]; then
    [[ "$(id -u)" -eq 0 ]] || die "--host emu needs root (network namespaces)"
  fi

  # The sweep's definition; a rerun must define the same sweep.
  local conf sum
  sum="$(sha256sum "$scen" | cut -d' ' -f1)"
  conf="$(
    echo "# written by mip6ike-sweep.sh; sourced by its runs"
    printf 'BUILD=%q\nSCEN_EXE=%q\nHOST=%q\nSEEDS=%q\nRNG0=%q\nSCEN_SHA256=%q\n' \
      "$(cd "$BUILD" && pwd)" "$(readlink -f "$SCEN_EXE")" "$host" "$seeds" "$rng0" "$sum"
    conf_array SETS "${sets[@]}"
    conf_array KEYS "${keys[@]}"
    conf_array COMBOS "${combos[@]}"
  )"
  if [[ -f "$out/sweep.conf" ]]; then
    [[ "$(cat "$out/sweep.conf")" == "$conf" ]] ||
      usage_error "--out $out holds a different sweep (its sweep.conf differs from this command's): use another --out or remove it"
  else
    cp "$scen" "$out/scenario.ini"
    echo "$conf" >"$out/sweep.conf"
  fi
  local total=$((${#combos[@]} * seeds))
  local dims="${#keys[@]} dimension(s)"
  [[ ${#keys[@]} -gt 0 ]] && dims="$(for i in "${!keys[@]}"; do printf '%s=%s ' "${keys[$i]}" "${vals[$i]}"; done)"
  echo "sweep: $scen, host $host: ${#combos[@]} combination(s) ($dims) x $seeds seed(s) = $total runs, into $out"
  if [[ "$host" == emu ]]; then
    echo "sweep: --host emu runs emu/run/emu-run.sh with \`mip6ike-scenario --args emu\` (the mapping \`./mip6ike emu SCENARIO.ini\` uses; the runner's default arch=three, the paper's three daemons per node)"
  fi

  if [[ $slurm -eq 1 ]]; then
    write_slurm "$out" "$total"
    if [[ $submit -eq 0 ]]; then
      echo "sweep: wrote $out/sweep.sbatch and $out/aggregate.sbatch (--no-submit)"
      return 0
    fi
    command -v sbatch >/dev/null 2>&1 || die "sbatch not found (Debian: slurm-client); the scripts are in $out"
    local jid ajid
    jid="$(sbatch --parsable "$out/sweep.sbatch")" || die "sbatch $out/sweep.sbatch failed"
    jid="${jid%%;*}"
    ajid="$(sbatch --parsable --dependency="afterany:$jid" "$out/aggregate.sbatch")" ||
      die "sbatch $out/aggregate.sbatch failed"
    ajid="${ajid%%;*}"
    echo "sweep: submitted job array $jid ($total tasks) and aggregation job $ajid (after it): table in $out/table.csv"
    echo "$jid $ajid" >"$out/slurm.jobs"
    return 0
  fi

  # One sweep at a time in DIR (the lock is held until the runs end).
  exec 9>"$out/.lock"
  flock -n 9 || usage_error "another sweep is running in $out"

  # This invocation's work: the runs not finished yet.
  local todo="$out/todo.txt" before=0 k
  : >"$todo"
  for c in "${combos[@]}"; do
    for ((k = 1; k <= seeds; k++)); do
      if complete "$out/$c/seed-$k/summary.csv"; then
        before=$((before + 1))
      else
        printf '%s\n%s\n' "$c" "$k" >>"$todo"
      fi
    done
  done
  local left=$((total - before))
  echo "sweep: $before of $total runs finished already; running $left, $jobs at a time"
  touch "$out/runs.log"
  local log0
  log0="$(wc -l <"$out/runs.log")"
  local runner_pid="" t0 tty=0 interval="${M6S_PROGRESS_INTERVAL:-1}"
  [[ -t 2 ]] && tty=1
  t0="$(date +%s)"
  SW_OUT="$out" SW_TOTAL="$total" SW_BEFORE="$before" SW_LOG0="$log0" SW_RUNNER=""
  if [[ $left -gt 0 ]]; then
    if command -v parallel >/dev/null 2>&1; then
      setsid parallel --will-cite -j "$jobs" -N 2 --halt never \
        "$SELF" --run-one "$out" '{1}' '{2}' :::: "$todo" >"$out/parallel.log" 2>&1 </dev/null &
    else
      setsid xargs -d '\n' -n 2 -P "$jobs" "$SELF" --run-one "$out" <"$todo" >"$out/parallel.log" 2>&1 &
    fi
    runner_pid=$!
    SW_RUNNER="$runner_pid"
    trap 'interrupted' INT TERM
  fi
  local last=-1 done=$before
  while [[ -n "$runner_pid" ]] && kill -0 "$runner_pid" 2>/dev/null; do
    done=$((before + $(wc -l <"$out/runs.log") - log0))
    if [[ $tty -eq 1 ]]; then
      printf '\r%s' "$(progress_line "$done" "$total" "$before" $(($(date +%s) - t0)))" >&2
    elif [[ $done -ne $last ]]; then
      echo "sweep: $(progress_line "$done" "$total" "$before" $(($(date +%s) - t0)))" >&2
    fi
    last=$done
    sleep "$interval"
  done
  local failed=0
  if [[ -n "$runner_pid" ]]; then
    wait "$runner_pid" || true
    trap - INT TERM
    done=$((before + $(wc -l <"$out/runs.log") - log0))
    failed="$(tail -n +$((log0 + 1)) "$out/runs.log" | grep -c ' failed(' || true)"
    done=$((done - failed))
  fi
  [[ $tty -eq 1 ]] && printf '\r%s\n' "$(progress_line "$done" "$total" "$before" $(($(date +%s) - t0)))" >&2
  [[ $tty -eq 1 ]] || echo "sweep: $(progress_line "$done" "$total" "$before" $(($(date +%s) - t0)))" >&2
  echo "sweep: $((left - failed)) run(s) done now, $before before, $failed failed, in $(fmt_secs $(($(date +%s) - t0)))"
  if [[ $done -gt 0 ]]; then
    aggregate "$out"
  else
    echo "sweep: no finished runs: no table.csv"
  fi
  if [[ $failed -gt 0 ]]; then
    echo "sweep: $failed run(s) failed: see $out/*/seed-*.failed/log.txt; rerun the same command to retry them"
    return 1
  fi
}

interrupted() {
  trap - INT TERM
  [[ -n "${SW_RUNNER:-}" ]] && kill -TERM -- "-$SW_RUNNER" 2>/dev/null
  wait "$SW_RUNNER" 2>/dev/null || true
  local n=$((SW_BEFORE + $(wc -l <"$SW_OUT/runs.log") - SW_LOG0))
  echo >&2
  echo "$PROG: interrupted: $n of $SW_TOTAL runs finished; rerun the same command to run the rest" >&2
  exit 130
}

# ------------------------------------------------------------ Slurm

write_slurm() {
  local out="$1" total="$2"
  mkdir -p "$out/slurm"
  # SLURM_ARRAY_TASK_ID = combination index x SEEDS + (seed - 1).
  {
    echo "#!/bin/bash"
    echo "# mip6ike sweep as a Slurm job array: task i runs combination"
    echo "# COMBOS[i / SEEDS] with seed i % SEEDS + 1 (RngRun = RNG0 + seed - 1)."
    echo "#SBATCH --job-name=mip6ike-sweep"
    echo "#SBATCH --array=0-$((total - 1))"
    echo "#SBATCH --ntasks=1"
    echo "#SBATCH --cpus-per-task=1"
    echo "#SBATCH --output=$out/slurm/task-%A_%a.out"
    echo "set -euo pipefail"
    echo "OUT=$(printf '%q' "$out")"
    echo "source \"\$OUT/sweep.conf\""
    echo "i=\${SLURM_ARRAY_TASK_ID:?not a Slurm array task}"
    echo "combo=\"\${COMBOS[i / SEEDS]}\""
    echo "seed=\$((i % SEEDS + 1))"
    echo "echo \"task \$i: \$combo seed-\$seed (RngRun \$((RNG0 + seed - 1)))\""
    echo "exec $(printf '%q' "$SELF") --run-one \"\$OUT\" \"\$combo\" \"\$seed\""
  } >"$out/sweep.sbatch"
  {
    echo "#!/bin/bash"
    echo "# mip6ike sweep: table.csv over the finished runs (after the array)."
    echo "#SBATCH --job-name=mip6ike-sweep-table"
    echo "#SBATCH --ntasks=1"
    echo "#SBATCH --output=$out/slurm/aggregate-%j.out"
    echo "exec $(printf '%q' "$SELF") --aggregate $(printf '%q' "$out")"
  } >"$out/aggregate.sbatch"
  chmod +x "$out/sweep.sbatch" "$out/aggregate.sbatch"
}

case "${1-}" in
--run-one)
  [[ $# -eq 4 ]] || usage_error "--run-one DIR COMBINATION SEED"
  run_one "$2" "$3" "$4"
  ;;
--aggregate)
  [[ $# -eq 2 ]] || usage_error "--aggregate DIR"
  aggregate "$2"
  ;;
*) sweep "$@" ;;
esac
