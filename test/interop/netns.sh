# shellcheck shell=bash
# test/interop/netns.sh: two network namespaces joined by a veth pair, for
# running IKEv2 peers (charon, mip6ike-iked) against each other.
#
#   m6i-a-PID                                   m6i-b-PID
#   lo   2001:db8:a::1/128 (traffic selector)   lo   2001:db8:b::1/128
#   m6i-va 2001:db8:ffff::a/64 ----- veth ----- m6i-vb 2001:db8:ffff::b/64
#
# Addresses are from the documentation prefix 2001:db8::/32 and exist only
# inside these namespaces.  The IKE endpoints are on the veth; the traffic
# selector addresses sit on each namespace's loopback, because kernel-libipsec
# installs the route to the remote selector with a source address taken from
# the local one, and selectors equal to the IKE endpoints would capture
# IKE's own packets in the tunnel.
#
# Usage (sourced):
#   m6i_require_root_netns || exit $?   # 77 with a reason when impossible
#   m6i_tmp_init                        # M6I_TMP, removed at exit
#   m6i_netns_setup                     # removes leftovers first
#   m6i_in A ping -c1 ...               # run in namespace A or B
# Cleanup: everything registered with m6i_defer runs, newest first, from
# the EXIT trap that m6i_tmp_init installs (also on INT/TERM/HUP).

# shellcheck disable=SC2034 # the names below are used by the scripts that source this
# The namespaces are named after the test script's pid: other checkouts on
# the same machine (sibling worktrees) run this harness at the same time,
# and with fixed names one run removed the other's namespaces as
# "leftovers" (README.md, practicality 10).  Exported: programs started
# in them (fake_iked.sh) source this file again.
M6I_NS_A="${M6I_NS_A:-m6i-a-$$}"
M6I_NS_B="${M6I_NS_B:-m6i-b-$$}"
export M6I_NS_A M6I_NS_B
M6I_DEV_A="m6i-va"
M6I_DEV_B="m6i-vb"
M6I_PREFIXLEN=64
M6I_IKE_A="2001:db8:ffff::a"
M6I_IKE_B="2001:db8:ffff::b"
M6I_TS_A="2001:db8:a::1"
M6I_TS_B="2001:db8:b::1"
M6I_TSNET_A="2001:db8:a::/64"
M6I_TSNET_B="2001:db8:b::/64"

M6I_SKIP=77
M6I_DEFERRED=()

m6i_log() { printf '[%s] %s\n' "$(date +%T.%3N)" "$*" >&2; }
m6i_die() {
  m6i_log "FAIL: $*"
  exit 1
}
m6i_skip() {
  echo "SKIP: $*"
  exit "$M6I_SKIP"
}

# m6i_defer CMD...: run CMD at exit (newest first).  Words are kept as a
# single string, so pass only simple words (paths, names, pids).
m6i_defer() { M6I_DEFERRED+=("$*"); }

m6i_run_deferred() {
  local i
  for ((i = ${#M6I_DEFERRED[@]} - 1; i >= 0; i--)); do
    eval "${M6I_DEFERRED[$i]}" >/dev/null 2>&1 || true
  done
  M6I_DEFERRED=()
}

# m6i_tmp_init: a private temporary directory and the cleanup trap.
# M6I_KEEP=1 keeps the directory (logs, configs, captures) for inspection.
m6i_tmp_init() {
  M6I_TMP="$(mktemp -d "${TMPDIR:-/tmp}/m6i-interop.XXXXXX")"
  chmod 755 "$M6I_TMP"
  if [[ "${M6I_KEEP:-0}" == 1 ]]; then
    m6i_log "keeping $M6I_TMP"
  else
    m6i_defer rm -rf "$M6I_TMP"
  fi
  trap 'm6i_run_deferred' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
}

# m6i_require_root_netns: returns 77 (and says why) where the harness
# cannot run: not root, no ip(8), no network namespaces, no TUN device.
m6i_require_root_netns() {
  if [[ "$(id -u)" -ne 0 ]]; then
    echo "SKIP: needs root (network namespaces, veth, TUN)"
    return "$M6I_SKIP"
  fi
  if ! command -v ip >/dev/null 2>&1; then
    echo "SKIP: ip(8) not found (Debian package iproute2)"
    return "$M6I_SKIP"
  fi
  if ! command -v unshare >/dev/null 2>&1 || ! command -v nsenter >/dev/null 2>&1; then
    echo "SKIP: unshare/nsenter not found (util-linux)"
    return "$M6I_SKIP"
  fi
  local probe="m6i-probe-$$"
  if ! ip netns add "$probe" >/dev/null 2>&1; then
    echo "SKIP: cannot create a network namespace (ip netns add failed)"
    return "$M6I_SKIP"
  fi
  ip netns del "$probe" >/dev/null 2>&1 || true
  if [[ ! -c /dev/net/tun ]]; then
    echo "SKIP: /dev/net/tun missing (kernel-libipsec needs a TUN device)"
    return "$M6I_SKIP"
  fi
  return 0
}

# m6i_ns A|B: the namespace's name.
m6i_ns() {
  case "$1" in
  A | a) echo "$M6I_NS_A" ;;
  B | b) echo "$M6I_NS_B" ;;
  *) echo "$1" ;;
  esac
}

# m6i_in A|B CMD...: run CMD in namespace A or B.
m6i_in() {
  local ns
  ns="$(m6i_ns "$1")"
  shift
  ip netns exec "$ns" "$@"
}

# m6i_netns_kill NS: end the processes left in NS by an earlier run of this
# harness (by pid, as ip-netns-pids lists them), then delete NS.
m6i_netns_kill() {
  local ns="$1" pids pid n
  [[ -e "/run/netns/$ns" ]] || return 0
  for n in 1 2 3 4 5 6 7 8 9 10; do
    pids="$(ip netns pids "$ns" 2>/dev/null || true)"
    [[ -z "$pids" ]] && break
    for pid in $pids; do
      if [[ $n -lt 6 ]]; then kill -TERM "$pid" 2>/dev/null || true; else kill -KILL "$pid" 2>/dev/null || true; fi
    done
    sleep 0.2
  done
  ip netns del "$ns" 2>/dev/null || true
}

m6i_netns_teardown() {
  m6i_netns_kill "$M6I_NS_A"
  m6i_netns_kill "$M6I_NS_B"
}

# m6i_reap_dead_ns GLOB...: the namespaces /run/netns/GLOB whose name ends
# in -PID of a process that is gone (a killed run's): their processes are
# ended and they are deleted; those of runs still going are left alone.
# Each one reaped is printed on stdout.  Shared with emu/topo/topo.sh.
m6i_reap_dead_ns() {
  local g f ns pid
  for g in "$@"; do
    for f in /run/netns/$g; do
      [[ -e "$f" ]] || continue
      ns="${f##*/}" pid="${f##*-}"
      [[ "$pid" =~ ^[0-9]+$ ]] || continue
      kill -0 "$pid" 2>/dev/null && continue
      m6i_netns_kill "$ns"
      echo "$ns"
    done
  done
}

# m6i_netns_reap: remove the namespaces of killed runs (m6i-[ab]-PID whose
# PID is gone).
m6i_netns_reap() {
  m6i_reap_dead_ns 'm6i-a-*' 'm6i-b-*' >/dev/null
}

# m6i_netns_setup: remove leftovers of killed runs, then build the pair.
m6i_netns_setup() {
  m6i_netns_reap
  m6i_netns_teardown
  m6i_defer m6i_netns_teardown
  ip netns add "$M6I_NS_A" || m6i_die "ip netns add $M6I_NS_A"
  ip netns add "$M6I_NS_B" || m6i_die "ip netns add $M6I_NS_B"
  ip link add "$M6I_DEV_A" netns "$M6I_NS_A" type veth peer name "$M6I_DEV_B" netns "$M6I_NS_B" ||
    m6i_die "cannot create the veth pair"
  local side ns dev ike ts
  for side in A B; do
    ns="$(m6i_ns "$side")"
    if [[ $side == A ]]; then
      dev="$M6I_DEV_A" ike="$M6I_IKE_A" ts="$M6I_TS_A"
    else
      dev="$M6I_DEV_B" ike="$M6I_IKE_B" ts="$M6I_TS_B"
    fi
    ip -n "$ns" link set lo up
    ip -n "$ns" -6 addr add "$ts/128" dev lo nodad
    ip -n "$ns" -6 addr add "$ike/$M6I_PREFIXLEN" dev "$dev" nodad
    ip -n "$ns" link set "$dev" up
  done
  # Wait for the veth to come up on both ends (carrier).
  local i
  for i in $(seq 1 50); do
    if m6i_in A ping -6 -c1 -W1 -q "$M6I_IKE_B" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  m6i_die "no connectivity $M6I_IKE_A -> $M6I_IKE_B over the veth"
}

# m6i_wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
m6i_wait_for() {
  local secs="$1" end
  shift
  end=$(($(date +%s%N) + secs * 1000000000))
  while (($(date +%s%N) < end)); do
    "$@" && return 0
    sleep 0.1
  done
  "$@"
}

# m6i_capture_start FILE: tshark capture of UDP 500/4500 on A's veth, and
# IPv6 fragments (an IKE_AUTH carrying a certificate exceeds the MTU).
# Sets M6I_CAPTURE_PID.  Needs tshark; returns 1 if absent.
m6i_capture_start() {
  local file="$1"
  command -v tshark >/dev/null 2>&1 || return 1
  # Not m6i_in: a function run with & is a bash subshell, and SIGTERM to
  # $! would end that subshell and leave tshark running (m6i_capture_stop
  # then waited 5 s for dumpcap).  ip netns exec execs tshark.
  ip netns exec "$(m6i_ns A)" tshark -q -i "$M6I_DEV_A" \
    -f 'udp port 500 or udp port 4500 or ip6 proto 44' -w "$file" >"$file.log" 2>&1 &
  M6I_CAPTURE_PID=$!
  M6I_CAPTURE_FILE="$file"
  m6i_defer kill -TERM "$M6I_CAPTURE_PID"
  # tshark prints "Capturing on" before dumpcap runs; "Capture started."
  # comes when dumpcap has opened the interface, set the filter and opened
  # the file (under load, packets sent between the two were missed).
  m6i_wait_for 10 grep -q 'Capture started' "$file.log"
}

m6i_capture_stop() {
  [[ -n "${M6I_CAPTURE_PID:-}" ]] || return 0
  # libpcap (TPACKET_V3) hands dumpcap whole blocks, retired after a
  # timeout (dumpcap asks for 250 ms); a stop drops a block not yet retired,
  # so the last exchange of a short capture was lost now and then.
  sleep 0.6
  kill -TERM "$M6I_CAPTURE_PID" 2>/dev/null || true
  wait "$M6I_CAPTURE_PID" 2>/dev/null || true
  # tshark writes through a dumpcap child, which may still be flushing the
  # last packets when tshark has exited (seen with sub-second captures).
  local i
  for ((i = 0; i < 50; i++)); do
    pgrep -f "dumpcap.*${M6I_CAPTURE_FILE:-/nonexistent}" >/dev/null || break
    sleep 0.1
  done
  M6I_CAPTURE_PID=""
}
