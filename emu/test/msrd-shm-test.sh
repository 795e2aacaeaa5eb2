#!/usr/bin/env bash
# ctest emu.msrd-shm: the MSRD in POSIX shared memory across processes.
# A writer process creates /m6e-<pid>-mn-msrd and inserts the MN's entry;
# a reader process (another program run) attaches read-only and finds it
# by MPI; after the writer changes the CoA the reader sees the new CoA and
# a newer generation; a reader that tries to write is refused three ways
# (mprotect, a writable mmap, a store); the segment is gone afterwards.
set -euo pipefail
TOOL="$1"
NAME="/m6e-$$-mn-msrd"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fail() { echo "FAIL: $*"; exit 1; }
m6e_msrd_writer "$TOOL" "$NAME"
[[ "$word" == MPI && "$mpi" =~ ^[0-9]+$ ]] || fail "writer said '$word $mpi'"
r1="$("$TOOL" reader "$NAME" "$mpi")" || fail "reader: $r1"
echo "$r1"
[[ "$r1" == *"hoa=2001:db8:1::100 coa=2001:db8:a1::5"* ]] || fail "reader saw $r1"
echo "coa 2001:db8:a2::7" >&"${W[1]}"
read -r -t 5 word rv <&"${W[0]}" || fail "writer did not update"
[[ "$word $rv" == "UPDATED 0" ]] || fail "update: $word $rv"
r2="$("$TOOL" reader "$NAME" "$mpi")" || fail "reader: $r2"
echo "$r2"
[[ "$r2" == *"coa=2001:db8:a2::7"* ]] || fail "reader did not see the new CoA"
g1="${r1##*gen=}" g2="${r2##*gen=}"
((g2 > g1)) || fail "generation did not advance ($g1 -> $g2)"
t="$("$TOOL" tamper "$NAME")" || fail "a reader could write the MSRD: $t"
echo "$t"
exec {W[1]}>&-
wait "$wpid" || fail "writer exit"
[[ ! -e "/dev/shm$NAME" ]] || fail "segment left behind"
echo PASS
