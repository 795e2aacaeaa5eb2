# shellcheck shell=bash
# emu/test/lib.sh: the shared prologue of the emulation's tests, sourced
# after `set -euo pipefail` (also by test/compare).  Brings in
# emu/topo/topo.sh (m6e_require, m6e_die, m6e_wait_for, m6e_in, ...) and:
#   m6e_test_require BUILD [--radvd] PATH...
#       root, iproute2, namespaces, TUN (m6e_require), each BUILD/PATH
#       built, radvd installed (--radvd); else a SKIP line and exit 77.
#   m6e_test_out PREFIX
#       OUT = a new directory /tmp/PREFIX.XXXXXX, removed at exit (kept
#       when KEEP is set).
#   m6e_test_state
#       a run of its own (topo.sh's m6e_init: torn down at exit) and
#       OUT = its state directory.
#   fail MSG...
#       for the runner's tests: "FAIL: MSG", the tail of OUT/run.log and
#       of OUT/mn.events (lines matching M6E_FAIL_HIDE left out, cut to
#       M6E_FAIL_COLS columns, the last M6E_FAIL_LINES), exit 1.
#   m6e_daemon_pid NODE COMM
#       the pids of the processes named COMM in NODE's namespace (m6e_in
#       runs in a subshell: $! is not the daemon).
#   m6e_veth_pair NODE1 ADDR1 NODE2 ADDR2
#       two namespaces (lo up) joined by veth v0, with ADDR/PLEN each.
#   m6e_msrd_writer TOOL NAME
#       mip6ike-msrd-shm's writer as coproc W on the segment NAME (HoA
#       2001:db8:1::100, CoA 2001:db8:a1::5, HA 2001:db8:1::1), killed
#       and the segment removed at exit; word and mpi = its first line.
# shellcheck source=../topo/topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../topo/topo.sh"

m6e_test_require() {
  local build="$1" radvd=0 p
  shift
  if [[ "${1:-}" == --radvd ]]; then
    radvd=1
    shift
  fi
  m6e_require || exit $?
  for p in "$@"; do
    [[ -x "$build/$p" ]] || { echo "SKIP: $build/$p not built"; exit 77; }
  done
  if [[ $radvd -eq 1 ]]; then
    command -v radvd >/dev/null || { echo "SKIP: radvd not installed"; exit 77; }
  fi
  return 0
}

m6e_test_out() {
  OUT="$(mktemp -d "/tmp/$1.XXXXXX")"
  trap '[[ -n "${KEEP:-}" ]] || rm -rf "$OUT"' EXIT
}

m6e_test_state() {
  m6e_init
  OUT="$M6E_STATE"
}

M6E_FAIL_HIDE=' LOG ' M6E_FAIL_COLS=200 M6E_FAIL_LINES=30
fail() {
  echo "FAIL: $*"
  echo "---- run.log"; tail -20 "$OUT/run.log" 2>/dev/null || true
  echo "---- mn.events"
  grep -Ev "$M6E_FAIL_HIDE" "$OUT/mn.events" 2>/dev/null | cut -c1-"$M6E_FAIL_COLS" | tail -"$M6E_FAIL_LINES" || true
  exit 1
}

m6e_daemon_pid() {
  local p
  for p in $(ip netns pids "$(m6e_ns "$1")"); do
    [[ "$(cat "/proc/$p/comm" 2>/dev/null)" == "$2" ]] && echo "$p"
  done
  return 0
}

m6e_veth_pair() {
  local n
  for n in "$1" "$3"; do
    ip netns add "$(m6e_ns "$n")"
    ip -n "$(m6e_ns "$n")" link set lo up
  done
  m6e_link "$1" v0 "$3" v0
  m6e_addr "$1" v0 "$2"
  m6e_addr "$3" v0 "$4"
  m6e_up "$1" v0
  m6e_up "$3" v0
}

m6e_msrd_writer() {
  coproc W { "$1" writer "$2" 2001:db8:1::100 2001:db8:a1::5 2001:db8:1::1; }
  wpid="$W_PID"
  M6E_MSRD_NAME="$2"
  trap 'kill "$wpid" 2>/dev/null || true; rm -f "/dev/shm${M6E_MSRD_NAME}"' EXIT
  # shellcheck disable=SC2034 # word, mpi: read by the test
  read -r -t 5 word mpi <&"${W[0]}" || fail "writer did not start"
}
