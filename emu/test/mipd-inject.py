#!/usr/bin/env python3
"""Stand-in for mip6ike-ipsecd on mipd's two sockets (emu.mipd-inject):
accepts mipd's PF_KEY connection (answers nothing) and its MH connection,
then sends malformed records and Mobility Headers.  usage: PFKEY MH"""
import os
import socket
import struct
import sys
import time

pf_path, mh_path = sys.argv[1], sys.argv[2]
def listener(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.bind(path)
    s.listen(1)
    s.settimeout(5)
    return s
pl, ml = listener(pf_path), listener(mh_path)
pf, _ = pl.accept()
hello = pf.recv(64)
assert hello[:4] == b"M6PK" and hello[5] == 2, "mipd's HELLO must ask for MOBILITY"
mh, _ = ml.accept()
time.sleep(0.2)
HA, SRC = bytes.fromhex("20010db8000000000000000000000001"), bytes.fromhex("20010db8000000c00000000000000002")

def ip6(payload, nh=135):
    return struct.pack(">IHBB", 0x60000000, len(payload), nh, 64) + SRC + HA + payload

def rec(kind, flags, status, pkt=b"", reserved=b"\0\0"):
    return bytes([kind, flags]) + reserved + struct.pack("=i", status) + pkt

n = 0
def send(r):
    global n
    mh.send(r)
    n += 1
# framing: short, unknown kind, reserved set, length mismatch, SENT with a packet
send(b"\x02\x01\x00")
send(rec(9, 0, 0, ip6(b"\x3b\x00\x05\x00\x00\x00\x00\x00")))
send(rec(2, 1, 0, ip6(b"\x3b\x00\x05\x00\x00\x00\x00\x00"), reserved=b"\x01\x00"))
send(rec(2, 1, 0, ip6(b"\x3b\x00\x05\x00\x00\x00\x00\x00")[:-3]))
send(rec(3, 0, 0, ip6(b"")))
send(rec(1, 0, 0, ip6(b"\x3b\x00\x05\x00\x00\x00\x00\x00")))  # SEND: wrong direction
# Mobility Headers "after ESP": truncated, garbage, wrong length field, BU too short
send(rec(2, 1, 0, ip6(b"\x3b\x00")))
send(rec(2, 1, 0, ip6(os.urandom(24))))
send(rec(2, 1, 0, ip6(bytes([59, 9, 5, 0]) + b"\0" * 4)))
send(rec(2, 1, 0, ip6(bytes([59, 0, 5, 0, 0, 0, 0, 0]))))
# an unprotected BU-like MH
send(rec(2, 0, 0, ip6(bytes([59, 1, 5, 0, 0, 0, 0, 1, 0x80, 0, 0, 10, 0, 0, 0, 0]))))
# garbage PF_KEY on the endpoint
pf.send(os.urandom(5))
pf.send(struct.pack("=BBBBHHII", 3, 7, 0, 3, 2, 0, 1, 0))
pf.send(struct.pack("=BBBBHHII", 2, 99, 0, 3, 2, 0, 1, 0))
time.sleep(0.5)
print("sent %d MH socket records and 3 PF_KEY messages" % n, flush=True)
# stay, as ipsecd would, until mipd goes away (it stops when ipsecd does)
mh.settimeout(15)
try:
    while mh.recv(70000):
        pass
except socket.timeout:
    sys.exit("mipd did not close its MH socket")
