#!/usr/bin/env bash
# ctest scenario.cli: mip6ike-scenario's exit codes and one-line errors.
#   cli_test.sh MIP6IKE_SCENARIO_BIN SCENARIOS_DIR
set -uo pipefail
S="$1"
D="$2"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# expect STATUS STDERR_LINE ARGS...
expect() {
  local want="$1" msg="$2" rc=0
  shift 2
  "$S" "$@" >"$T/out" 2>"$T/err" || rc=$?
  [[ $rc -eq $want ]] || fail "$* -> exit $rc, want $want ($(cat "$T/err"))"
  if [[ -n "$msg" ]]; then
    [[ "$(cat "$T/err")" == "$msg" ]] || fail "$* -> stderr '$(cat "$T/err")', want '$msg'"
  fi
}

printf '[traffic]\nrate_kbps = 40\n\n[mn]\ncount = 0\n' >"$T/bad.ini"
expect 2 "$T/bad.ini:5: mn.count: 0 is out of range 1..100000" "$T/bad.ini" --dump
expect 2 "--set traffic.rate_kbps: 'x' is not a decimal number" "$D/xu2008-table1.ini" --set traffic.rate_kbps=x
expect 2 "--set traffic.speed: unknown key" "$D/xu2008-table1.ini" --set traffic.speed=1
expect 2 "$T/none.ini: cannot open: No such file or directory" "$T/none.ini"
expect 2 "mip6ike-scenario: unknown argument '--bogus' (see --help)" "$D/xu2008-table1.ini" --bogus
expect 2 "mip6ike-scenario: --args: unknown host 'omnet' (ns3 or emu)" "$D/xu2008-table1.ini" --args omnet
expect 2 "mip6ike-scenario: --get mn.nope: unknown key (see --keys)" "$D/xu2008-table1.ini" --get mn.nope
expect 0 "" "$D/xu2008-table1.ini" --get traffic.rate_kbps --set traffic.rate_kbps=1e3
[[ "$(cat "$T/out")" == 1000 ]] || fail "--get after --set: $(cat "$T/out")"
# --args: nothing on stdout when a key cannot be expressed.
expect 2 "--set topology.l2: the emulation runner (emu/run/emu-run.sh) switches wired (veth) access links: csma only, not wifi" "$D/xu2008-table1.ini" --args emu --set topology.l2=wifi
[[ ! -s "$T/out" ]] || fail "--args emu printed arguments before failing"
expect 0 "" "$D/xu2008-table1.ini" --args ns3 --set experiment.scheme=renegotiate
[[ "$(head -n 1 "$T/out")" == handover ]] || fail "--args ns3: first line $(head -n 1 "$T/out")"
grep -qx -- '--scheme=renegotiate' "$T/out" || fail "--args ns3: no --scheme=renegotiate"
# The dump reloads to itself, also from standard input.
expect 0 "" "$D/xu2008-fig8.ini" --dump
cp "$T/out" "$T/dump1"
"$S" - --dump <"$T/dump1" >"$T/dump2" || fail "reloading the dump"
cmp -s "$T/dump1" "$T/dump2" || fail "dump of the dump differs"
expect 0 "" "$D/xu2008-table1.ini" --sweep
[[ "$(cat "$T/out")" == $'traffic.rate_kbps 40 100 1000\nexperiment.scheme msrd renegotiate' ]] ||
  fail "--sweep: $(cat "$T/out")"
expect 0 "" --keys
[[ "$(wc -l <"$T/out")" -gt 40 ]] || fail "--keys"
echo "scenario.cli: ok"
