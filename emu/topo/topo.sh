# shellcheck shell=bash
# shellcheck disable=SC2034 # addresses and names used by the scripts that source this
# emu/topo/topo.sh: the main paper's Fig. 6 testbed in network namespaces
# (sourced by the experiment runner and the emu tests).
#
#          CN 2001:db8:c::2                 HA 2001:db8:1::1 (home link
#            | c0                             | h0   2001:db8:1::/64, the
#            |                                |      MN's HoA ::100)
#            +------------- R (core) ---------+
#                         a1 /   \ a2
#          2001:db8:f1::/64 /     \ 2001:db8:f2::/64
#                        AR1       AR2         (radvd on acc)
#     foreign net 1     | acc       | acc     foreign net 2
#     2001:db8:a1::/64  |           |         2001:db8:a2::/64
#                      mn1         mn2
#                       \____ MN ___/
#
# The MN has one veth to each access router; only one is up at a time.
# Each AR's acc is a bridge that stays up (M6E_AR_LINK below) and the
# MN's veth is one of its ports.  A move (m6e_move) sets the old one down (the kernel drops its addresses
# and routes, as when a link is lost), waits the L2 gap, and sets the new
# one up: the kernel solicits, radvd answers, SLAAC + DAD give the new
# care-of address, which the MN's daemon sees on netlink.
#
# Names: namespaces m6e-<node>-<RUNPID> (RUNPID = the runner's pid), so
# parallel runs do not collide.  The run's state directory
# /run/mip6ike-emu/<RUNPID>/ records what was made; m6e_reap removes the
# leftovers of runs whose pid is dead (a kill -9ed one), m6e_teardown this
# run's: processes in the namespaces (TERM then KILL), namespaces (and with
# them veths, bridges, tun devices, qdiscs), shared memory /dev/shm/m6e-<RUNPID>-*,
# the state directory.
#
# Usage:
#   source emu/topo/topo.sh
#   m6e_init                 # checks root/netns, reaps, installs the traps
#   m6e_build                # namespaces, links, addresses, routes
#   m6e_radvd_start MIN MAX  # RA intervals in seconds (MIN < MAX)
#   m6e_qdisc "netem delay 10ms loss 1%" "${M6E_WIRED_LINKS[@]}"
#   m6e_in NODE CMD...       # run CMD in a node's namespace
#   m6e_move 0.1             # MN: AR1 -> AR2 with a 0.1 s L2 gap
# Everything is removed from the EXIT trap (also after INT/TERM/HUP).

# The namespace teardown and the reaping of dead runs' namespaces are the
# interop harness's (one copy of that code).
# shellcheck source=../../test/interop/netns.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../test/interop/netns.sh"

M6E_RUN="${M6E_RUN:-$$}"
M6E_STATE_ROOT="${M6E_STATE_ROOT:-/run/mip6ike-emu}"
M6E_STATE="$M6E_STATE_ROOT/$M6E_RUN"
M6E_NODES=(mn ha cn r ar1 ar2)
M6E_SKIP=77

# Addresses (documentation prefix; they exist only in the namespaces).
M6E_HOME_PREFIX="2001:db8:1::"
M6E_HOME_PLEN=64
M6E_HA="2001:db8:1::1"
M6E_HOA="2001:db8:1::100"
M6E_R_HOME="2001:db8:1::ff"
M6E_CN="2001:db8:c::2"
M6E_R_CN="2001:db8:c::1"
M6E_AR1_UP="2001:db8:f1::2"
M6E_AR2_UP="2001:db8:f2::2"
M6E_NET1="2001:db8:a1::"
M6E_NET2="2001:db8:a2::"
M6E_AR1_ACC="2001:db8:a1::1"
M6E_AR2_ACC="2001:db8:a2::1"

m6e_log() { printf '[%s] %s\n' "$(date +%T.%3N)" "$*" >&2; }
m6e_die() {
  m6e_log "FAIL: $*"
  exit 1
}

m6e_ns() { echo "m6e-$1-$M6E_RUN"; }
m6e_in() {
  local ns
  ns="$(m6e_ns "$1")"
  shift
  ip netns exec "$ns" "$@"
}

# m6e_require: 77 and a reason where this cannot run.
m6e_require() {
  if [[ "$(id -u)" -ne 0 ]]; then
    echo "SKIP: needs root (network namespaces, veth, TUN)"
    return "$M6E_SKIP"
  fi
  local c
  for c in ip tc; do
    command -v "$c" >/dev/null 2>&1 || {
      echo "SKIP: $c not found (Debian package iproute2)"
      return "$M6E_SKIP"
    }
  done
  local probe="m6e-probe-$$"
  if ! ip netns add "$probe" >/dev/null 2>&1; then
    echo "SKIP: cannot create a network namespace (ip netns add failed)"
    return "$M6E_SKIP"
  fi
  ip netns del "$probe" >/dev/null 2>&1 || true
  if [[ ! -c /dev/net/tun ]]; then
    echo "SKIP: /dev/net/tun missing"
    return "$M6E_SKIP"
  fi
  return 0
}

# m6e_kill_ns NS: processes in NS (TERM, then KILL), then NS itself.
m6e_kill_ns() { m6i_netns_kill "$1"; }

# m6e_teardown_run RUNPID: everything of run RUNPID.
m6e_teardown_run() {
  local run="$1" f
  for f in /run/netns/m6e-*-"$run"; do
    [[ -e "$f" ]] && m6e_kill_ns "${f##*/}"
  done
  rm -f /dev/shm/m6e-"$run"-* 2>/dev/null || true
  rm -rf "${M6E_STATE_ROOT:?}/$run"
}

# m6e_reap: leftovers of runs whose pid is gone: their namespaces
# (m6e-*-PID, reaped by netns.sh's m6i_reap_dead_ns), then their state
# directories and shared memory.
m6e_reap() {
  local f run runs=()
  for f in $(m6i_reap_dead_ns 'm6e-*'); do
    runs+=("${f##*-}")
  done
  for f in "$M6E_STATE_ROOT"/*; do
    [[ -e "$f" ]] && runs+=("${f##*/}")
  done
  for f in /dev/shm/m6e-*; do
    [[ -e "$f" ]] || continue
    f="${f#/dev/shm/m6e-}"
    runs+=("${f%%-*}")
  done
  [[ ${#runs[@]} -gt 0 ]] || return 0
  for run in $(printf '%s\n' "${runs[@]}" | sort -u); do
    [[ "$run" =~ ^[0-9]+$ ]] || continue
    [[ "$run" == "$M6E_RUN" ]] && continue
    kill -0 "$run" 2>/dev/null && continue
    m6e_log "reaping the leftovers of dead run $run"
    m6e_teardown_run "$run"
  done
}

m6e_teardown() {
  m6e_teardown_run "$M6E_RUN"
}

# m6e_init: checks, reap, state directory, traps.
m6e_init() {
  m6e_require || exit $?
  m6e_reap
  mkdir -p "$M6E_STATE"
  echo "$$" >"$M6E_STATE/pid"
  trap 'm6e_teardown' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
}

m6e_sysctl() { # NODE key=value...
  local node="$1"
  shift
  m6e_in "$node" sysctl -q -w "$@" >/dev/null
}

# m6e_link NODE_A DEV_A NODE_B DEV_B [INDEX_A]: a veth pair between two
# namespaces (INDEX_A: DEV_A's ifindex, default the kernel's choice).
m6e_link() {
  local idx=()
  [[ -n "${5:-}" ]] && idx=(index "$5")
  ip link add "$2" "${idx[@]}" netns "$(m6e_ns "$1")" type veth peer name "$4" netns "$(m6e_ns "$3")" ||
    m6e_die "veth $1/$2 - $3/$4"
}

# Movement detection: what the kernel adds between the MN's link switch
# and its new care-of address besides the RA interval and DAD proper
# (measured and explained in doc/SCENARIOS.md, "Movement detection in the
# emulation").  Set before m6e_build; the defaults remove the testbed's
# artefacts, the values in brackets are the kernel's (the old behaviour).
#  M6E_RS_DELAY=0      the MN's router_solicitation_delay, whole seconds
#                      [1]: also the bound of the random wait before DAD
#                      starts on each new address (link-local, SLAAC)
#  M6E_AR_DAD=0        the access routers' DAD of their own access-link
#                      addresses [1]: their link-local (an RA's source)
#                      is made when the MN's veth brings the link up
#  M6E_LINK_INDEX=distinct  the MN's veths get ifindexes (101, 102) that
#                      differ from their peers' [kernel]: link-watch
#                      handles an up event at once only for a device
#                      whose ifindex differs from its iflink (for a veth,
#                      the peer's index in the other namespace); an equal
#                      one waits for link-watch's once-a-second slot
#  M6E_AR_LINK=bridge  each AR's access interface acc is a bridge that is
#                      up (with a carrier and its link-local address)
#                      from the start, as an access point's router is;
#                      the MN's veth is a port of it, so joining the link
#                      changes only the port [veth: acc is the veth's far
#                      end and first comes up when the MN joins; radvd
#                      then re-reads acc and holds its next RA for 1 s
#                      (its IFACE_SETUP_DELAY), and an RS that reaches it
#                      before acc's link-local exists is dropped: ~1 run
#                      in 20 under load found the CoA 1 s late]
#  M6E_RS_COUNT=-1     the MN's router_solicitations [-1, the kernel's:
#                      until an RA comes]; 0: no RS, only the ARs'
#                      periodic RAs reveal the new link
M6E_RS_DELAY="${M6E_RS_DELAY:-0}"
M6E_RS_COUNT="${M6E_RS_COUNT:--1}"
M6E_AR_DAD="${M6E_AR_DAD:-0}"
M6E_LINK_INDEX="${M6E_LINK_INDEX:-distinct}"
M6E_AR_LINK="${M6E_AR_LINK:-bridge}"

# m6e_access_link AR MNDEV [MNINDEX]: the MN's veth MNDEV to AR's access
# link acc, as M6E_AR_LINK says.  bridge: acc is a bridge (no STP, no
# forward delay, no multicast snooping: RS and RA are flooded; a fixed
# MAC, so ports coming and going never change acc's address) kept up by
# a stub veth pair inside AR's namespace; the MN's veth ends in port pmn.
# The ports carry no IPv6 of their own.
m6e_access_link() {
  local ar="$1" dev="$2" index="${3:-}" ns mac
  ns="$(m6e_ns "$ar")"
  if [[ "$M6E_AR_LINK" == veth ]]; then
    m6e_link mn "$dev" "$ar" acc "$index"
    return
  fi
  [[ "$M6E_AR_LINK" == bridge ]] || m6e_die "M6E_AR_LINK=$M6E_AR_LINK: bridge or veth"
  mac="02:00:00:00:a0:0${ar#ar}"
  ip -n "$ns" link add acc address "$mac" type bridge stp_state 0 forward_delay 0 mcast_snooping 0 ||
    m6e_die "bridge acc on $ar: this kernel has no bridge driver (CONFIG_BRIDGE); the runner's --set ar_link=veth (M6E_AR_LINK=veth) does without it"
  ip link add stub0 netns "$ns" type veth peer name stub1 netns "$ns" || m6e_die "stub veth on $ar"
  m6e_link mn "$dev" "$ar" pmn "$index"
  local p
  for p in stub0 stub1 pmn; do
    m6e_sysctl "$ar" net.ipv6.conf.$p.disable_ipv6=1
  done
  ip -n "$ns" link set stub0 master acc || m6e_die "stub0 into $ar's bridge"
  ip -n "$ns" link set pmn master acc || m6e_die "pmn into $ar's bridge"
  for p in stub0 stub1 pmn; do m6e_up "$ar" "$p"; done
}

m6e_addr() { # NODE DEV ADDR/PLEN
  ip -n "$(m6e_ns "$1")" -6 addr add "$3" dev "$2" nodad || m6e_die "address $3 on $1/$2"
}

m6e_up() { ip -n "$(m6e_ns "$1")" link set "$2" up; }

# m6e_build [DAD_TRANSMITS [RETRANS_MS]]: the namespaces and links of the
# figure above.  DAD_TRANSMITS (default 1, the kernel's; 0 also sets
# accept_dad 0) and RETRANS_MS (RFC 4861 RetransTimer, the DAD wait;
# default 1000, the kernel's) apply to the MN's access links.
m6e_build() {
  local dad="${1:-1}" retrans="${2:-1000}" n
  for n in "${M6E_NODES[@]}"; do
    ip netns add "$(m6e_ns "$n")" || m6e_die "ip netns add $(m6e_ns "$n")"
    m6e_ns "$n" >>"$M6E_STATE/namespaces"
    ip -n "$(m6e_ns "$n")" link set lo up
  done
  for n in r ha ar1 ar2; do
    m6e_sysctl "$n" net.ipv6.conf.all.forwarding=1
  done
  # The MN takes the defaults a host has (accept_ra, autoconf) and its
  # access links get DAD as asked.
  m6e_sysctl mn net.ipv6.conf.default.dad_transmits="$dad"
  m6e_sysctl mn net.ipv6.conf.default.accept_ra=1 net.ipv6.conf.default.autoconf=1

  m6e_link cn c0 r c0
  m6e_link ha h0 r h0
  m6e_link ar1 up0 r a1
  m6e_link ar2 up0 r a2
  local i1="" i2=""
  [[ "$M6E_LINK_INDEX" == distinct ]] && i1=101 i2=102
  m6e_access_link ar1 mn1 "$i1"
  m6e_access_link ar2 mn2 "$i2"
  # (a new namespace has no net.ipv6.neigh.default: per device)
  m6e_sysctl mn net.ipv6.neigh.mn1.retrans_time_ms="$retrans" net.ipv6.neigh.mn2.retrans_time_ms="$retrans"
  # No DAD (0 probes) is no DAD at all: accept_dad=0, otherwise the kernel
  # still waits its random delay before finding it has nothing to send.
  local d ad=1
  [[ "$dad" == 0 ]] && ad=0
  for d in mn1 mn2; do
    m6e_sysctl mn net.ipv6.conf.$d.router_solicitation_delay="$M6E_RS_DELAY" net.ipv6.conf.$d.accept_dad="$ad" \
      net.ipv6.conf.$d.router_solicitations="$M6E_RS_COUNT"
  done
  m6e_sysctl ar1 net.ipv6.conf.acc.accept_dad="$M6E_AR_DAD"
  m6e_sysctl ar2 net.ipv6.conf.acc.accept_dad="$M6E_AR_DAD"

  m6e_addr cn c0 "$M6E_CN/64"
  m6e_addr r c0 "$M6E_R_CN/64"
  m6e_addr ha h0 "$M6E_HA/$M6E_HOME_PLEN"
  m6e_addr r h0 "$M6E_R_HOME/$M6E_HOME_PLEN"
  m6e_addr r a1 "2001:db8:f1::1/64"
  m6e_addr ar1 up0 "$M6E_AR1_UP/64"
  m6e_addr r a2 "2001:db8:f2::1/64"
  m6e_addr ar2 up0 "$M6E_AR2_UP/64"
  m6e_addr ar1 acc "$M6E_AR1_ACC/64"
  m6e_addr ar2 acc "$M6E_AR2_ACC/64"
  m6e_sysctl ha net.ipv6.conf.h0.proxy_ndp=1 net.ipv6.conf.all.proxy_ndp=1

  m6e_up cn c0
  m6e_up ha h0
  for n in c0 h0 a1 a2; do m6e_up r "$n"; done
  for n in ar1 ar2; do
    m6e_up "$n" up0
    m6e_up "$n" acc
  done
  ip -n "$(m6e_ns cn)" -6 route add default via "$M6E_R_CN"
  ip -n "$(m6e_ns ha)" -6 route add default via "$M6E_R_HOME"
  ip -n "$(m6e_ns ar1)" -6 route add default via 2001:db8:f1::1
  ip -n "$(m6e_ns ar2)" -6 route add default via 2001:db8:f2::1
  ip -n "$(m6e_ns r)" -6 route add "$M6E_NET1/64" via "$M6E_AR1_UP"
  ip -n "$(m6e_ns r)" -6 route add "$M6E_NET2/64" via "$M6E_AR2_UP"
  # The MN starts on AR1's link.
  m6e_up mn mn1
  local _
  for _ in $(seq 1 50); do
    m6e_in cn ping -6 -c1 -W1 -q "$M6E_HA" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  m6e_die "no connectivity CN -> HA"
}

# m6e_radvd_start MIN MAX: radvd on both access routers (RA intervals in
# seconds; below radvd's 3/4 s floor the Mobile IPv6 router advertisement
# options of RFC 6275 §7 lift it, as radvd requires).
m6e_radvd_start() {
  local min="$1" max="$2" n net conf mip=""
  command -v radvd >/dev/null 2>&1 || m6e_die "radvd not found (Debian package radvd)"
  if awk -v m="$max" 'BEGIN{exit !(m < 4)}'; then
    mip="AdvIntervalOpt on; AdvHomeAgentFlag off; MinDelayBetweenRAs 0.05;"
  fi
  for n in ar1 ar2; do
    net="$M6E_NET1"
    [[ $n == ar2 ]] && net="$M6E_NET2"
    conf="$M6E_STATE/radvd-$n.conf"
    cat >"$conf" <<RADVD
interface acc {
  AdvSendAdvert on;
  MinRtrAdvInterval $min;
  MaxRtrAdvInterval $max;
  $mip
  prefix $net/64 {
    AdvOnLink on;
    AdvAutonomous on;
    AdvRouterAddr on;
  };
};
RADVD
    chmod 644 "$conf"
    m6e_in "$n" radvd -n -C "$conf" -p "$M6E_STATE/radvd-$n.pid" -m logfile -l "$M6E_STATE/radvd-$n.log" &
    echo $! >>"$M6E_STATE/pids"
  done
}

# m6e_qdisc "QDISC ARGS" "NODE DEV"...: QDISC ARGS (e.g. "netem delay 10ms
# rate 10mbit loss 1%" or "tbf rate 100mbit burst 32kbit latency 100ms") as
# the root egress qdisc of each NODE's DEV.
m6e_qdisc() {
  local q="$1" d
  shift
  for d in "$@"; do
    # shellcheck disable=SC2086 # the qdisc arguments are words
    ip netns exec "$(m6e_ns "${d% *}")" tc qdisc replace dev "${d#* }" root $q ||
      m6e_die "tc qdisc $q on ${d% *}/${d#* }"
  done
}

# Both directions of every wired link (core, home, CN, the AR uplinks),
# and the MN's access links, both ends (the ARs' acc, the MN's mn1, mn2).
M6E_WIRED_LINKS=("cn c0" "ha h0" "ar1 up0" "ar2 up0" "r c0" "r h0" "r a1" "r a2")
M6E_ACCESS_LINKS=("ar1 acc" "ar2 acc" "mn mn1" "mn mn2")

# m6e_link_qdisc DELAY_MS LOSS_PCT RATE_MBIT: the qdisc arguments for a link
# with that delay, loss and rate: netem when there is a delay or a loss,
# else a token bucket when there is a rate, else nothing (empty).
m6e_link_qdisc() {
  if awk -v d="$1" -v l="$2" 'BEGIN{exit !(d > 0 || l > 0)}'; then
    local q="netem delay ${1}ms"
    awk -v r="$3" 'BEGIN{exit !(r > 0)}' && q+=" rate ${3}mbit"
    awk -v l="$2" 'BEGIN{exit !(l > 0)}' && q+=" loss ${2}%"
    echo "$q"
  elif awk -v r="$3" 'BEGIN{exit !(r > 0)}'; then
    echo "tbf rate ${3}mbit burst 32kbit latency 100ms"
  fi
}

# m6e_netem_ok: whether this kernel has sch_netem (tried on a dummy
# namespace's loopback).
m6e_netem_ok() {
  local ns="m6e-probe-$$" ok=1
  ip netns add "$ns" 2>/dev/null || return 1
  ip netns exec "$ns" tc qdisc add dev lo root netem delay 1ms 2>/dev/null && ok=0
  ip netns del "$ns" 2>/dev/null
  return $ok
}


# m6e_mn_global DEV: the MN's non-tentative global address on DEV (empty
# if none yet).
m6e_mn_global() {
  ip -n "$(m6e_ns mn)" -6 -o addr show dev "$1" scope global 2>/dev/null |
    { grep -v tentative || true; } | awk '{print $4}' | cut -d/ -f1 | head -1
}

# m6e_move GAP: the MN leaves AR1's link (mn1 down), and GAP seconds later
# joins AR2's (mn2 up).  Prints the wall-clock time (s, CLOCK_REALTIME
# with ns) of the L2 loss on stdout.
m6e_move() {
  local gap="${1:-0}" t
  t="$(date +%s.%N)"
  ip -n "$(m6e_ns mn)" link set mn1 down
  sleep "$gap"
  ip -n "$(m6e_ns mn)" link set mn2 up
  echo "$t"
}

# m6e_wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
m6e_wait_for() {
  local secs="$1" end
  shift
  end=$(($(date +%s%N) + secs * 1000000000))
  while (($(date +%s%N) < end)); do
    "$@" && return 0
    sleep 0.1
  done
  "$@"
}

# m6e_leftovers RUNPID: prints what of run RUNPID still exists (empty when
# clean).
m6e_leftovers() {
  local run="$1"
  ip netns list 2>/dev/null | grep -- "-$run\b" || true
  local f
  for f in /dev/shm/m6e-"$run"-*; do
    [[ -e "$f" ]] && echo "$f"
  done
  [[ -e "$M6E_STATE_ROOT/$run" ]] && echo "$M6E_STATE_ROOT/$run"
  return 0
}

# m6e_has_global DEV: true when the MN has a usable global address on DEV.
m6e_has_global() { [[ -n "$(m6e_mn_global "$1")" ]]; }
