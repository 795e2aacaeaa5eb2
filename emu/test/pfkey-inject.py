#!/usr/bin/env python3
"""Malformed PF_KEY traffic on mip6ike-ipsecd's socket (emu.inject and
emu.ipsecd-pfkey).  Each case opens its own connection; prints one line per
case and finally checks that a well-formed REGISTER from a fresh key
manager is still answered (the daemon survived and still works).

usage: pfkey-inject.py SOCKET [MPI_UNKNOWN]
Exit 0 when every case was answered as a kernel would (error reply with
sadb_msg_errno, or the connection closed for a framing error)."""
import os
import socket
import struct
import sys

path = sys.argv[1]
HELLO = lambda role: b"M6PK" + struct.pack(">BBHII", 1, role, 0, os.getpid(), 0)
KM, MOB = 1, 2


def conn(role=None):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(3)
    s.connect(path)
    if role:
        s.send(HELLO(role))
    return s


def hdr(mtype, length_units, satype=3, version=2, errno=0, seq=1):
    return struct.pack("=BBBBHHII", version, mtype, errno, satype, length_units, 0, seq, os.getpid())


def answer(s):
    try:
        return s.recv(65536)
    except socket.timeout:
        return None


failed = 0


def expect_errno(name, s, msg):
    global failed
    s.send(msg)
    r = answer(s)
    if r and len(r) >= 16 and r[2] != 0:
        print("ok   %-40s error reply errno %d" % (name, r[2]))
    else:
        print("FAIL %-40s got %r" % (name, r))
        failed += 1


def expect_closed(name, s, rec):
    global failed
    s.send(rec)
    r = answer(s)
    if r == b"":
        print("ok   %-40s connection closed" % name)
    else:
        print("FAIL %-40s got %r" % (name, r))
        failed += 1


# framing errors: the connection is closed
expect_closed("no HELLO", conn(), hdr(7, 2))
expect_closed("sadb_msg_version 3", conn(KM), hdr(7, 2, version=3))
expect_closed("sadb_msg_len 1", conn(KM), hdr(7, 1))
expect_closed("record longer than sadb_msg_len", conn(KM), hdr(7, 2) + b"\0" * 8)
expect_closed("record shorter than sadb_msg_len", conn(KM), hdr(7, 4))
expect_closed("HELLO bad magic", conn(), b"M6PX" + HELLO(KM)[4:])
expect_closed("HELLO role 7", conn(), b"M6PK" + struct.pack(">BBHII", 1, 7, 0, 1, 0))
expect_closed("second HELLO", conn(KM), HELLO(KM))
expect_closed("garbage", conn(KM), os.urandom(13))
# message errors: an error reply, the connection stays
km = conn(KM)
expect_errno("unknown message type 99", km, hdr(99, 2))
# ADD whose extension claims 32 octets in a 24-octet message
expect_errno("extension overruns the message", km, hdr(3, 3) + struct.pack("=HH", 4, 1) + b"\0" * 4)
expect_errno("extension length 0", km, hdr(3, 3) + struct.pack("=HH", 0, 1) + b"\0" * 4)
expect_errno("sender sets sadb_msg_errno", km, hdr(7, 2, errno=5))
expect_errno("ADD without SA/address extensions", km, hdr(3, 2))
mob = conn(MOB)
expect_errno("REGISTER from the mobility role", mob, hdr(7, 2))
expect_errno("ADD from the mobility role", mob, hdr(3, 2))
expect_errno("ACQUIRE without addresses", mob, hdr(6, 2))
for i in range(50):
    mob.send(hdr(os.urandom(1)[0], 2, satype=os.urandom(1)[0]))
    answer(mob)
print("ok   50 random headers sent on one connection")
# the daemon still works
k2 = conn(KM)
k2.send(hdr(7, 2))
r = answer(k2)
if r and r[1] == 7 and r[2] == 0:
    print("ok   REGISTER still answered (%d octets)" % len(r))
else:
    print("FAIL REGISTER after the injections: %r" % (r,))
    failed += 1
sys.exit(1 if failed else 0)
