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
expect 2 "--rekey-time: bad value 'soon'" "${base[@]}" --rekey-time soon
expect 2 "--lifetime: bad value '-1'" "${base[@]}" --lifetime -1
expect 2 "--ike-rekey-time: bad value ''" "${base[@]}" --ike-rekey-time ''
expect 2 "--lifetime must be longer than --rekey-time" "${base[@]}" --rekey-time 10 --lifetime 5
expect 2 "--tun: bad value 'a/b'" "${base[@]}" --tun a/b
expect 2 "--tun: bad value 'a-name-longer-than-15'" "${base[@]}" --tun a-name-longer-than-15
expect 2 "--tun needs --mode tunnel" "${base[@]}" --tun m6i0 --mode transport
expect 2 "--control needs a value" "${base[@]}" --control
# --control on something that is not a FIFO: named, exit 1 (a runtime error)
expect 1 "--control: '$tmp/psk' exists and is not a FIFO" "${base[@]}" --port 40500 --control "$tmp/psk"
grep -q -- '--control FIFO' <("$iked" --help) || { echo "FAIL: --help does not describe --control"; fails=$((fails + 1)); }
grep -q 'SIGUSR1 rekey the CHILD_SA' <("$iked" --help) || { echo "FAIL: --help does not describe the signals"; fails=$((fails + 1)); }

# Stay mode with a --control FIFO and no peer: status answers, requests
# without an SA are refused by name, stop exits 0 and removes the FIFO.
fifo="$tmp/ctl"
"$iked" --local ::1 --port 40501 --id a.example --psk-file "$tmp/psk" --control "$fifo" \
  >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 50); do [[ -p $fifo ]] && break; sleep 0.1; done
printf 'status\nrekey-child\nfrobnicate\nstop\n' >"$fifo"
status=0
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid" || status=$?
if [[ $status -ne 0 || -e $fifo ]] ||
   ! grep -qx 'STATUS engine_ike_sas=0 engine_child_sas=0 ike_sas=0 child_sas=0 sad=0' "$tmp/out" ||
   ! grep -q 'rekey-child: no CHILD_SA' "$tmp/err" ||
   ! grep -q "unknown request 'frobnicate'" "$tmp/err"; then
  echo "FAIL: --control: status $status, out: $(cat "$tmp/out"), err: $(cat "$tmp/err")"
  fails=$((fails + 1))
fi
# SIGTERM without SAs: exit 0 at once.
"$iked" --local ::1 --port 40502 --id a.example --psk-file "$tmp/psk" >/dev/null 2>&1 &
pid=$!
sleep 0.3
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
[[ $status -eq 0 ]] || { echo "FAIL: SIGTERM in stay mode: exit $status"; fails=$((fails + 1)); }

if [[ $fails -eq 0 ]]; then
  echo "iked-cli: all checks passed"
  exit 0
fi
echo "iked-cli: $fails check(s) failed"
exit 1
