#!/usr/bin/env bash
# ctest emu.interrupt: Ctrl-C (SIGINT to the runner's process group) in
# the middle of an experiment -- daemons, radvd, captures and the flow
# running -- ends it with status 130 and leaves nothing behind
# (namespaces, state directory, shared memory, processes).
# With ARCH three, the same with the three daemons per node: also their
# sockets (/run/mip6ike-emu/<pid>/) and shm segments must be gone.
# usage: interrupt-test.sh BUILD_DIR [three]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="$1" ARCH="${2:-one}" # the test's default: the single-process variant
# shellcheck source=lib.sh
source "$HERE/lib.sh"
bins=(emu/mip6ike-noded emu/mip6ike-cbr emu/mip6ike-pcap)
[[ "$ARCH" == three ]] && bins=(emu/mip6ike-ipsecd emu/mip6ike-mipd emu/mip6ike-iked emu/mip6ike-cbr emu/mip6ike-pcap)
m6e_test_require "$BUILD" "${bins[@]}"
m6e_test_out m6e-int
set -m # the runner in its own process group, SIGINT not ignored
"$HERE/../run/emu-run.sh" "$BUILD" handover --set duration=20 --set arch="$ARCH" --out "$OUT" >/dev/null 2>&1 &
run=$!
set +m
m6e_wait_for 30 grep -qs "emu: L2 handover" "$OUT/run.log" || { kill -KILL -- -"$run"; echo "FAIL: no handover"; exit 1; }
kill -INT -- -"$run"
rc=0
wait "$run" || rc=$?
[[ $rc -eq 130 ]] || { echo "FAIL: runner exited $rc after SIGINT, expected 130"; exit 1; }
left="$(m6e_leftovers "$run")"
[[ -z "$left" ]] || { echo "FAIL: left behind: $left"; exit 1; }
if pgrep -f "$OUT" >/dev/null; then echo "FAIL: processes left: $(pgrep -af "$OUT")"; exit 1; fi
echo "interrupted during the flow: exit 130, nothing left behind"
echo PASS
