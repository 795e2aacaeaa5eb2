#!/usr/bin/env bash
# ctest emu.iked-msrd-readonly: the key-management daemon cannot write the
# MSRD.  A writer (mip6ike-msrd-shm, as mipd creates it: O_EXCL, 0644,
# read-write mapping) creates /m6e-<pid>-mn-msrd; the real mip6ike-iked
# attaches it exactly as its key-manager mode does (--msrd-shm) and, with
# --selftest-write-msrd, tries to write it three ways: mprotect to
# PROT_WRITE, a writable mmap of a read-only descriptor, a store through
# its mapping.  Each must be refused by the kernel (EACCES, EACCES,
# SIGSEGV); the entry is unchanged afterwards.
# usage: iked-msrd-readonly-test.sh IKED MSRD_SHM_TOOL
set -euo pipefail
IKED="$1" TOOL="$2"
NAME="/m6e-$$-mn-msrd"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fail() { echo "FAIL: $*"; exit 1; }
m6e_msrd_writer "$TOOL" "$NAME"
[[ "$word" == MPI ]] || fail "writer said '$word $mpi'"
before="$("$TOOL" reader "$NAME" "$mpi")"
out="$("$IKED" --msrd-shm "$NAME" --selftest-write-msrd)" || fail "iked could write the MSRD: $out"
echo "$out"
for how in "mprotect: Permission denied" "mmap-write: Permission denied" "store: Segmentation fault"; do
  grep -q "^REFUSED $how" <<<"$out" || fail "not refused as expected: $how"
done
grep -q "SELFTEST msrd_write_refused=3 of 3" <<<"$out" || fail "self-test summary"
after="$("$TOOL" reader "$NAME" "$mpi")"
[[ "$before" == "$after" ]] || fail "the MSRD changed: $before -> $after"
exec {W[1]}>&-
wait "$wpid" || fail "writer exit"
echo PASS
