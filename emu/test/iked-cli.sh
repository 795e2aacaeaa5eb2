#!/usr/bin/env bash
# mip6ike-iked's command line: bad arguments exit 2 with one line naming
# the option and the value; --help exits 0.
set -u
iked=$1
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo secret >"$tmp/psk"
base=(--local ::1 --id a.example --psk-file "$tmp/psk")

expect() { # expect STATUS REGEX ARGS...
  local want=$1 re=$2
  shift 2
  local err status
  err=$("$iked" "$@" 2>&1 >/dev/null)
  status=$?
  if [[ $status -ne $want ]] || ! grep -Eq -- "$re" <<<"$err" ||
     [[ $want -eq 2 && $(wc -l <<<"$err") -ne 1 ]]; then
    echo "FAIL: $* -> status $status, stderr: $err"
    fails=$((fails + 1))
  fi
}

expect 0 '' --help
expect 2 "unknown option '--frob'" "${base[@]}" --frob
expect 2 "--local: bad value '2001::g'" --local 2001::g --id a --psk-file "$tmp/psk"
expect 2 "--local is required" --id a --psk-file "$tmp/psk"
expect 2 "--initiate needs --remote" "${base[@]}" --initiate
expect 2 "--ike-proposal: bad value 'aes129-sha256-x25519' \('aes129': unknown algorithm\)" \
  "${base[@]}" --ike-proposal aes129-sha256-x25519
expect 2 "--esp-proposal: bad value 'aes128gcm16-sha1'" "${base[@]}" --esp-proposal aes128gcm16-sha1
expect 2 "--ike-proposal: bad value 'aes128-sha256' .*DH group" "${base[@]}" --ike-proposal aes128-sha256
expect 2 "--mode: bad value 'bridge'" "${base[@]}" --mode bridge
expect 2 "--ts-local: bad value '2001:db8::/129'" "${base[@]}" --ts-local 2001:db8::/129
expect 2 "--timeout: bad value 'soon'" "${base[@]}" --timeout soon
expect 2 "--psk-file: cannot open '/nonexistent'" --local ::1 --id a --psk-file /nonexistent
expect 2 "--cert, --key and --ca go together" "${base[@]}" --cert x.pem
expect 2 "--key: cannot open '/nonexistent'" --local ::1 --id a --cert /dev/null --key /nonexistent --ca /dev/null
expect 2 "--psk-file or --cert/--key/--ca is required" --local ::1 --id a
expect 2 "--port: bad value '0'" "${base[@]}" --port 0
expect 2 "--remote needs a value" "${base[@]}" --remote

if [[ $fails -eq 0 ]]; then
  echo "iked-cli: all checks passed"
  exit 0
fi
echo "iked-cli: $fails check(s) failed"
exit 1
