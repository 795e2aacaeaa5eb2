#!/usr/bin/env bash
# ctest emu.inject: malformed input to a running HA daemon (mip6ike-noded)
# from the CN's namespace -- garbage IKE datagrams on UDP 500 and 4500, a
# truncated and a garbage Mobility Header, an unprotected BU-like MH, ESP
# with an unknown SPI, a truncated ESP header -- is dropped, counted and
# logged; the daemon stays up and exits cleanly; nothing is left behind.
# usage: inject-test.sh BUILD_DIR
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="$1"
# shellcheck source=../topo/topo.sh
source "$HERE/../topo/topo.sh"
m6e_require || exit $?
[[ -x "$BUILD/emu/mip6ike-noded" ]] || { echo "SKIP: $BUILD/emu/mip6ike-noded not built"; exit 77; }
m6e_init
OUT="$M6E_STATE"
m6e_build 0
m6e_in ha "$BUILD/emu/mip6ike-noded" --role ha --home-if h0 --scheme msrd --ha "$M6E_HA" \
  --home-prefix "$M6E_HOME_PREFIX/64" --psk k --tun mip6 --events "$OUT/ha.events" 2>"$OUT/ha.err" &
m6e_wait_for 5 grep -qs READY "$OUT/ha.events" || m6e_die "HA daemon did not start"
m6e_in cn python3 - "$M6E_HA" <<'PY'
import socket, sys, os
ha = sys.argv[1]
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for port in (500, 4500):
    for payload in (b"", b"\x00" * 3, os.urandom(28), b"\xff" * 600, os.urandom(2000)):
        u.sendto(payload, (ha, port))
def raw(proto, payloads):
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, proto)
    for p in payloads:
        s.sendto(p, (ha, 0))
# Mobility Header: truncated, garbage, and a well-formed-looking BU that
# is not under ESP (RFC 4877: dropped)
raw(135, [b"\x3b\x00\x05\x00\x00\x00", os.urandom(7), os.urandom(64),
          bytes([59, 1, 5, 0, 0, 0, 0, 1, 0x80, 0, 0, 10])])
# ESP: too short for a header, unknown SPIs
raw(50, [b"\x00\x00", os.urandom(8), os.urandom(100), b"\x00\x00\x01\x00" + os.urandom(60)])
print("injected")
PY
sleep 0.5
pids="$(ip netns pids "$(m6e_ns ha)")"
[[ -n "$pids" ]] || m6e_die "the HA daemon died: $(cat "$OUT/ha.err")"
for p in $pids; do kill -TERM "$p"; done
m6e_wait_for 5 grep -q EXIT "$OUT/ha.events" || m6e_die "the HA daemon did not exit cleanly"
drops="$(grep -c ' DROP ' "$OUT/ha.events" || true)"
stats="$(grep ' STATS ' "$OUT/ha.events")"
echo "$stats" | cut -d' ' -f2-
echo "DROP events: $drops"
[[ "$drops" -ge 8 ]] || m6e_die "expected the MH and ESP injections as DROP events"
get() { echo "$stats" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
[[ "$(get ike_dropped)" -ge 1 ]] || m6e_die "IKE garbage not counted"
[[ "$(get drop_no_sa)" -ge 2 ]] || m6e_die "ESP with unknown SPIs not counted"
if grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$OUT/ha.err"; then m6e_die "sanitizer report"; fi
run="$M6E_RUN"
m6e_teardown
trap - EXIT
[[ -z "$(m6e_leftovers "$run")" ]] || m6e_die "left behind"
echo PASS
