# shellcheck shell=bash
# bench/emu/lib.sh: the shared prologue of the emulation benchmarks,
# sourced after `set -euo pipefail` with PROG (the name in usage errors)
# and BENCH (the name in "skipped" lines) set.  Sets ROOT and gives:
#   usage_error MSG      "PROG: MSG" to stderr, exit 2;
#   m6b_build_dir ARGS   BUILD = the first argument (not an option), else a
#                        usage error; the caller shifts it;
#   skip WHY             "bench BENCH: skipped: WHY", exit 0;
#   m6b_require_root     skip unless root.
# shellcheck disable=SC2034 # ROOT, BUILD: read by the scripts
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

usage_error() {
  echo "$PROG: $1" >&2
  exit 2
}

m6b_build_dir() {
  [[ $# -ge 1 && "$1" != -* ]] || usage_error "missing BUILD_DIR"
  # shellcheck disable=SC2034
  BUILD="$1"
}

skip() {
  echo "bench $BENCH: skipped: $*"
  exit 0
}

m6b_require_root() {
  [[ "$(id -u)" -eq 0 ]] || skip "needs root (network namespaces, veth, TUN)"
}
