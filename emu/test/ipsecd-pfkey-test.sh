#!/usr/bin/env bash
# ctest emu.ipsecd-pfkey: mip6ike-ipsecd's PF_KEY bus over a Unix-domain
# SOCK_SEQPACKET socket, driven by a client speaking raw RFC 2367 bytes:
#   KEY_MANAGER: HELLO, SADB_REGISTER(ESP)  -> REGISTER reply, errno 0
#   MOBILITY:    HELLO, SADB_REGISTER(ESP)  -> refused: errno set (only a
#                key manager registers)
#   no HELLO:    a sadb_msg first           -> the connection is closed
#   the socket is mode 0600 and removed when the daemon stops;
#   then pfkey-inject.py's malformed messages: refused (error reply or
#   connection closed), counted in STATS, logged, the daemon still serves
#   a REGISTER and exits cleanly.
set -euo pipefail
D="$1"
TMP="$(mktemp -d /tmp/m6e-ipsecd.XXXXXX)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$TMP"' EXIT
"$D" --socket "$TMP/pfkey" --events "$TMP/events" &
pid=$!
for _ in $(seq 1 50); do [[ -S "$TMP/pfkey" ]] && break; sleep 0.05; done
[[ -S "$TMP/pfkey" ]] || { echo "FAIL: no socket"; exit 1; }
[[ "$(stat -c %a "$TMP/pfkey")" == 600 ]] || { echo "FAIL: socket mode $(stat -c %a "$TMP/pfkey")"; exit 1; }
python3 - "$TMP/pfkey" <<'PY'
import socket, struct, sys
path = sys.argv[1]
def conn(role):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(3)
    s.connect(path)
    if role:
        s.send(b"M6PK" + struct.pack(">BBHII", 1, role, 0, 4242, 0))
    return s
def register(seq):
    # sadb_msg: version 2, type REGISTER (7), errno 0, satype ESP (3),
    # len 2 (x 8 octets), reserved, seq, pid -- host order (RFC 2367)
    return struct.pack("=BBBBHHII", 2, 7, 0, 3, 2, 0, seq, 4242)
km = conn(1)
km.send(register(1))
r = km.recv(65536)
v, t, err, sat, ln = struct.unpack("=BBBBH", r[:6])
assert (v, t, err, sat) == (2, 7, 0, 3), ("KM REGISTER reply", v, t, err, sat)
assert ln * 8 == len(r), "reply length"
print("key manager: REGISTER answered, %d octets" % len(r))
mob = conn(2)
mob.send(register(2))
r = mob.recv(65536)
v, t, err = struct.unpack("=BBB", r[:3])
assert t == 7 and err != 0, ("MOBILITY REGISTER must be refused", t, err)
print("mobility: REGISTER refused, errno %d" % err)
bad = conn(0)
bad.send(register(3))
assert bad.recv(65536) == b"", "a peer without HELLO must be disconnected"
print("no HELLO: disconnected")
PY
# Malformed PF_KEY from every angle (framing, HELLO, decode, role,
# sender errno, random headers): each answered as a kernel would, counted
# and logged; the daemon keeps serving.
python3 "$(dirname "$0")/pfkey-inject.py" "$TMP/pfkey" || { echo "FAIL: injection"; exit 1; }
kill -0 "$pid" || { echo "FAIL: ipsecd died"; exit 1; }
kill -TERM "$pid"
wait "$pid"
stats="$(grep ' STATS ' "$TMP/events")"
get() { echo "$stats" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
echo "ipsecd: pfkey_refused=$(get pfkey_refused) pfkey_framing=$(get pfkey_framing) bus_refused_decode=$(get bus_refused_decode)"
[[ "$(get pfkey_framing)" -ge 9 ]] || { echo "FAIL: framing errors not counted"; exit 1; }
[[ "$(get pfkey_refused)" -ge 58 ]] || { echo "FAIL: refused messages not counted"; exit 1; }
[[ "$(grep -c 'REFUSED' "$TMP/events")" -ge 9 && "$(grep -c 'result=-' "$TMP/events")" -ge 58 ]] ||
  { echo "FAIL: refusals not logged"; exit 1; }
grep -q ' EXIT' "$TMP/events" || { echo "FAIL: no clean exit"; exit 1; }
[[ ! -e "$TMP/pfkey" ]] || { echo "FAIL: socket left behind"; exit 1; }
grep -q "CONNECT ep=1 role=key_manager" "$TMP/events" || { echo "FAIL: no CONNECT logged"; exit 1; }
grep -q "REFUSED" "$TMP/events" || { echo "FAIL: the bad peer was not logged"; exit 1; }
echo PASS
