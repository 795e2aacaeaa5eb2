#!/usr/bin/env bash
# ctest sweep.bench-emu-cli: the emulation benchmarks' scripts
# (bench/emu/esp-throughput.sh, recovery-floor.sh) refuse bad arguments
# with one line naming them, exit 2, before touching anything; good ones
# pass the check (M6B_CHECK_ONLY=1); run by a non-root user they say they
# need root and exit 0 without figures.  (The figures themselves are
# benchmarks: ./mip6ike bench --only emu-esp | emu-recovery.)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
esp="$root/bench/emu/esp-throughput.sh"
rec="$root/bench/emu/recovery-floor.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
pass=0 fails=0
# "script|args|text the one stderr line must contain"
cases=(
  "$esp||missing BUILD_DIR"
  "$esp|--seconds 3|missing BUILD_DIR"
  "$esp|b --seconds 0|--seconds wants a whole number >= 1, not '0'"
  "$esp|b --seconds|--seconds needs a number"
  "$esp|b --len 2000|--len 2000: at most 1400"
  "$esp|b --len x|--len wants a whole number >= 1, not 'x'"
  "$esp|b --frob|unknown option '--frob'"
  "$esp|b --rounds 0|--rounds wants a whole number >= 1, not '0'"
  "$rec||missing BUILD_DIR"
  "$rec|b --runs 0|--runs wants a whole number >= 1, not '0'"
  "$rec|b --runs|--runs needs a value"
  "$rec|b --rate -3|--rate wants kbit/s >= 1, not '-3'"
  "$rec|b --schemes msrd,nope|--schemes: unknown scheme 'nope'"
  "$rec|b --schemes msrd,,static|--schemes: an empty name in 'msrd,,static'"
  "$rec|b --frob|unknown option '--frob'"
)
for c in "${cases[@]}"; do
  IFS='|' read -r script argstr want <<<"$c"
  read -r -a args <<<"$argstr"
  rc=0
  M6B_PROG=bench "$script" "${args[@]}" >"$tmp/out" 2>"$tmp/err" || rc=$?
  if [[ $rc -eq 2 && "$(wc -l <"$tmp/err")" -eq 1 && ! -s "$tmp/out" ]] && grep -qF -- "$want" "$tmp/err"; then
    pass=$((pass + 1))
  else
    echo "FAIL: $(basename "$script") $argstr: exit $rc, stderr '$(cat "$tmp/err")', stdout '$(head -c 200 "$tmp/out")' (want '$want')"
    fails=$((fails + 1))
  fi
done
for c in "$esp|b --seconds 2 --len 1000 --no-tcp" "$rec|b --runs 2 --rate 500 --schemes msrd"; do
  IFS='|' read -r script argstr <<<"$c"
  read -r -a args <<<"$argstr"
  if M6B_CHECK_ONLY=1 "$script" "${args[@]}" >"$tmp/out" 2>&1; then
    pass=$((pass + 1))
  else
    echo "FAIL: $(basename "$script") $argstr refused: $(cat "$tmp/out")"
    fails=$((fails + 1))
  fi
done
if [[ "$(id -u)" -eq 0 ]] && command -v setpriv >/dev/null 2>&1; then
  for script in "$esp" "$rec"; do
    out="$(cd / && setpriv --reuid=65534 --regid=65534 --clear-groups "$script" /nonexistent 2>&1)"
    rc=$?
    if [[ $rc -eq 0 && "$out" == *"skipped: needs root"* ]]; then
      pass=$((pass + 1))
    else
      echo "FAIL: $(basename "$script") as nobody: exit $rc, '$out'"
      fails=$((fails + 1))
    fi
  done
elif [[ "$(id -u)" -ne 0 ]]; then
  for script in "$esp" "$rec"; do
    out="$("$script" /nonexistent 2>&1)"
    if [[ $? -eq 0 && "$out" == *"skipped: needs root"* ]]; then
      pass=$((pass + 1))
    else
      echo "FAIL: $(basename "$script") not root: '$out'"
      fails=$((fails + 1))
    fi
  done
fi
echo "$pass passed, $fails failed"
[[ $fails -eq 0 ]]
