#!/usr/bin/env bash
# ctest sweep.cli: scenario/mip6ike-sweep.sh refuses bad sweeps before it
# runs anything: one line on stderr naming the key (FILE:LINE: key: why for
# the file, --vary key: why for a value), exit 2, no run directory made.
#   cli_test.sh BUILD_DIR
set -uo pipefail
build="$1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
sw="$root/scenario/mip6ike-sweep.sh"
ini="$root/scenarios/xu2008-table1.ini"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
printf '[traffic]\nrate_kbps = 40\nbogus = 1\n' >"$tmp/bad.ini"
printf '[experiment]\nduration_s = 9\n[sweep]\ntraffic.rate_kbps = 40, 100\n' >"$tmp/ok.ini"
pass=0 fails=0
# "args|text the one stderr line must contain"
cases=(
  "$tmp/bad.ini|$tmp/bad.ini:3: traffic.bogus: unknown key"
  "$ini --vary traffic.nope=1,2|--vary traffic.nope: unknown key"
  "$ini --vary nope=1|--vary nope: unknown key"
  "$ini --vary rate=-5,40|--vary traffic.rate_kbps: -5 is out of range"
  "$ini --vary scheme=msrd,bogus|--vary experiment.scheme: 'bogus' is not one of"
  "$ini --vary rate=40,40|--vary traffic.rate_kbps: value '40' given twice"
  "$ini --vary rate=40,,100|--vary traffic.rate_kbps: empty value"
  "$ini --vary rate|--vary rate: expected key=v1,v2"
  "$ini --vary rate_|--vary rate_: expected key=v1,v2"
  "$ini --vary handover_at_s=0.5|--vary mn.handover_at_s: the first handover (0.5 s) must come after"
  "$ini --vary delay=1|--vary delay: unknown key"
  "$ini --vary output.dir=a/b|--vary output.dir: value 'a/b' has characters"
  "$ini --set traffic.rate_kbps=x|--set traffic.rate_kbps: 'x' is not a decimal number"
  "$ini --seeds 0|--seeds wants a whole number >= 1, not '0'"
  "$ini -j -1|-j wants a whole number >= 1, not '-1'"
  "$ini --host sim|--host: unknown host 'sim'"
  "$ini --frob|unknown option '--frob'"
  "$ini --no-submit|--no-submit goes with --slurm"
  "$root/scenarios/scale-100.ini|combination default: experiment.example: the ns-3 scale example writes no summary.csv"
  "$tmp/none.ini|SCENARIO '$tmp/none.ini': no such file"
  "$tmp/ok.ini --vary handover_at_s=3,6 --vary traffic.start_s=2,4|combination traffic.rate_kbps=40,mn.handover_at_s=3,traffic.start_s=4: "
)
for c in "${cases[@]}"; do
  read -r -a args <<<"${c%%|*}"
  want="${c#*|}"
  rc=0
  M6S_PROG=sweep "$sw" "$build" "${args[@]}" --out "$tmp/out" >"$tmp/stdout" 2>"$tmp/err" || rc=$?
  if [[ $rc -eq 2 && "$(wc -l <"$tmp/err")" -eq 1 && ! -s "$tmp/stdout" && ! -e "$tmp/out" ]] &&
    grep -qF -- "$want" "$tmp/err"; then
    pass=$((pass + 1))
  else
    echo "FAIL: '${c%%|*}': exit $rc, stderr: $(cat "$tmp/err"), stdout: $(head -c 200 "$tmp/stdout") (want '$want')"
    fails=$((fails + 1))
  fi
done
echo "$pass passed, $fails failed"
[[ $fails -eq 0 ]]
