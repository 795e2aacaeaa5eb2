#!/usr/bin/env bash
# Checks ./mip6ike's command line: help works; every bad command or option
# exits 2 with exactly one line on stderr that names the bad argument; and,
# when shellcheck is installed, the driver and .ci/run are shellcheck-clean.
# These cases never reach the install or build steps.
set -uo pipefail # no -e: each check records its own status
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
drv="$root/mip6ike"
fails=0
pass=0
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

check() { # check NAME CONDITION-RESULT
  if [[ "$2" == 0 ]]; then
    pass=$((pass + 1))
  else
    echo "FAIL: $1" >&2
    fails=$((fails + 1))
  fi
}

rc=0
"$drv" help >"$tmp/out" 2>"$tmp/err" || rc=$?
check "help exits 0" "$rc"
for w in help build test sim run bench compare --fast --fuzz-seconds --only --seeds --with-10k MIP6IKE_NO_INSTALL; do
  grep -q -- "$w" "$tmp/out"
  check "help mentions $w" $?
done

grep -q -- "sweep SCENARIO" "$tmp/out"
check "help mentions sweep" $?

# bad-arg cases: "args...|word the message must name"
cases=(
  "frobnicate|frobnicate"
  "--frobnicate|--frobnicate"
  "test --bogus|--bogus"
  "test -j zero|zero"
  "test --fuzz-seconds x|x"
  "build --fast|--fast"
  "run stray|stray"
  "bench --only|--only"
  "bench --nope|--nope"
  "help extra|extra"
  "sim|NAME"
  "sim bogus|bogus"
  "sim handover stray|stray"
  "sim handover -j 0|0"
  "run --seeds 0|0"
  "run --seeds|--seeds"
  "run --rates 40,abc|abc"
  "run --rates -5|-5"
  "run --schemes msrd,nope|nope"
  "run --profile nope|nope"
  "run --profile|--profile"
  "hybrid bogus|bogus"
  "hybrid --out|--out"
  "bench --frob|--frob"
  "sweep|SCENARIO"
  "sweep /nonexistent/x.ini|/nonexistent/x.ini"
  "sweep $root/scenarios/xu2008-table1.ini --vary|--vary"
  "sweep $root/scenarios/xu2008-table1.ini --vary rate|rate"
  "sweep $root/scenarios/xu2008-table1.ini --vary rate=|rate"
  "sweep $root/scenarios/xu2008-table1.ini --seeds 0|0"
  "sweep $root/scenarios/xu2008-table1.ini -j x|x"
  "sweep $root/scenarios/xu2008-table1.ini --host sim|sim"
  "sweep $root/scenarios/xu2008-table1.ini --no-submit|--no-submit"
  "sweep $root/scenarios/xu2008-table1.ini --frob|--frob"
  "emu nope-scenario|nope-scenario"
  "compare|SCENARIO"
  "compare nope.ini|nope.ini"
  "compare emu-compare --seeds 0|0"
  "compare emu-compare --bogus|--bogus"
  "compare emu-compare --set x|--set"
  "compare emu-compare --arch two|two"
  "|command"
)
for c in "${cases[@]}"; do
  read -r -a args <<<"${c%%|*}"
  want="${c#*|}"
  rc=0
  MIP6IKE_NO_INSTALL=1 "$drv" "${args[@]}" >"$tmp/out" 2>"$tmp/err" || rc=$?
  [[ $rc -eq 2 ]]
  check "'${c%%|*}' exits 2 (got $rc)" $?
  [[ "$(wc -l <"$tmp/err")" -eq 1 && ! -s "$tmp/out" ]]
  check "'${c%%|*}' prints one line on stderr only" $?
  grep -q -- "'$want'\|$want" "$tmp/err"
  check "'${c%%|*}' names '$want'" $?
done

if command -v shellcheck >/dev/null 2>&1; then
  shellcheck "$drv" "$root/.ci/run" "$0"
  check "shellcheck" $?
else
  echo "shellcheck not installed: lint skipped"
fi

echo "$pass passed, $fails failed"
[[ $fails -eq 0 ]]
