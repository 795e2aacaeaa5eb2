#!/usr/bin/env python3
# usage: ike-mh-esp-inject.py HA MESSAGE (inject-test.sh): sends garbage
# to a home agent from another node: IKE datagrams on UDP 500 and 4500,
# malformed or unprotected Mobility Headers, ESP too short or with unknown
# SPIs; every one must be dropped and counted.  Prints MESSAGE when done.
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
print(sys.argv[2])
