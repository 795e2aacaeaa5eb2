#!/usr/bin/env bash
# An existing but unwritable --out directory: one line on stderr naming
# --out, exit status 2.  Skipped (77) as root, who may write anywhere.
#
#   check-unwritable-out.sh EXE
set -uo pipefail
if [[ "$(id -u)" -eq 0 ]]; then
  echo "running as root: every directory is writable, check skipped"
  exit 77
fi
tmp="$(mktemp -d)"
trap 'chmod 700 "$tmp/ro"; rm -rf "$tmp"' EXIT
mkdir "$tmp/ro"
chmod 500 "$tmp/ro"
rc=0
"$1" --out="$tmp/ro" >"$tmp/out" 2>"$tmp/err" || rc=$?
[[ $rc -eq 2 ]] || { echo "FAIL: exit $rc, not 2"; cat "$tmp/err"; exit 1; }
[[ "$(wc -l <"$tmp/err")" -eq 1 ]] || { echo "FAIL: not one line on stderr"; cat "$tmp/err"; exit 1; }
grep -q -- "--out: directory '.*' is not writable" "$tmp/err" || { echo "FAIL: $(cat "$tmp/err")"; exit 1; }
echo "ok"
