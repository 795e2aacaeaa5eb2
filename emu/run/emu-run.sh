#!/usr/bin/env bash
# emu/run/emu-run.sh: one emulated experiment (what `./mip6ike emu` runs).
#
#   emu-run.sh BUILD_DIR SCENARIO [--set key=value ...] [--out DIR]
#
# SCENARIO: `handover` (bootstrap at foreign net 1, then one move to
# foreign net 2 with the CBR flow CN -> MN HoA running), or a scenario
# file (scenarios/*.ini, a path, or NAME for scenarios/NAME.ini): its
# settings come from `mip6ike-scenario FILE --args emu` (doc/SCENARIOS.md,
# "Hosts"); a `--set section.key=value` overrides a scenario key, a
# `--set key=value` without a dot one of the settings below (after the
# file's).  Settings:
#   scheme=msrd        msrd renegotiate migrate migrate-kmaddress mobike static
#   rate_kbps=100      CBR payload rate
#   packet_size=500    CBR UDP payload, octets
#   delay_ms=0         one-way delay of every wired link (netem, each way;
#                      refused where the kernel has no sch_netem; up to
#                      0.02 ms is within a veth hop's own latency and is
#                      not shaped, with a note)
#   rate_mbit=0        rate of the wired links (netem, or tbf; 0 = unlimited)
#   loss=0             netem loss %, wired links (needs sch_netem)
#   handover_at=3      seconds after the experiment start (the flow's start)
#   duration=8         seconds of flow
#   seed=1             recorded (key material and SLAAC come from the kernel)
#   ra_min=0.05 ra_max=0.1   radvd's RA intervals (s)
#   l2_gap=0.05        seconds between leaving AR1's link and joining AR2's
#   dad_transmits=1    the MN's DAD probes (kernel default 1; 0 = no DAD,
#                      and accept_dad=0: no random wait either)
#   rs_delay=0         the MN's router_solicitation_delay (whole s; the
#                      kernel's 1 also bounds a random wait before DAD
#                      of every new address, even with dad_transmits=0)
#   rs_count=-1        the MN's router_solicitations (-1: the kernel's,
#                      until an RA answers; 0: none, the new link shows
#                      only by the ARs' periodic RAs)
#   ar_dad=0           the access routers' DAD of their access-link
#                      addresses (1 = the kernel's: their link-local, the
#                      RA's source, waits 0-1 s + 1 s after the MN's link
#                      comes up)
#   link_index=distinct  the MN's veths' ifindexes: distinct from their
#                      peers' (link-watch reports the new link at once)
#                      or kernel (may be equal: up to 1 s late)
#   ar_link=bridge     the ARs' access interface: bridge (up from the
#                      start, the MN's veth is a port of it) or veth (the
#                      veth's far end, up only when the MN joins: radvd's
#                      1 s re-setup of it can make the CoA 1 s late)
#   arch=three         three: the main paper's architecture,
#                      mip6ike-ipsecd -> mip6ike-mipd -> mip6ike-iked per
#                      node; one: one mip6ike-noded per node (the
#                      single-process variant) (PF_KEY on /run/mip6ike-emu/<pid>/<node>/pfkey,
#                      MH on .../mh, the MSRD in /dev/shm/m6e-<pid>-<node>-msrd)
#   ba_loss=0          the first N Binding Acks of the handover are lost
#                      (dropped at the HA's egress by nftables: the MN's
#                      RFC 6275 retransmission shows in bu_count and in
#                      ba_received_s)
#   access_delay_ms=0 access_rate_mbit=0 access_loss=0
#                      the same for the MN's access links (both ends)
#   dad_retrans_ms=1000  the MN's RetransTimer (DAD wait; sysctl
#                      retrans_time_ms)
#   ike_proposal=aes128-sha256-x25519 esp_proposal=aes128gcm16
#                      the daemons' proposals (strongSwan syntax)
#   ike_id=fqdn        IKE identities: fqdn (HA fqdn:ha.example, MN
#                      email:mn@example) or address (each node's address,
#                      no check of the HA's: the ns-3 agent's default, what
#                      a scenario file gives)
#   lifetime=0         the MN's requested binding lifetime, 4-s units
#                      (0 = the agent's 105); it refreshes at 90 %
#   reregister_after=0 the MN's mobility side (noded / mipd) declares the HA
#                      lost after N unanswered refresh retransmissions and
#                      registers anew with a new IKE SA (the core's
#                      ha_lost_after, agent.h HA LOST; 0 = never)
#   liveness=0         IKE liveness check after S s without IKE traffic
#                      (noded / iked, both nodes; the core's liveness_s;
#                      0 = off)
#   ha_restart_at=0    fault: SIGKILL the HA's daemons at this time (s from
#                      the flow's start, after the handover; 0 = never) and
#                      start them again ha_down s later (default 0.5).
#                      arch=three: ipsecd, mipd and iked are killed; their
#                      sockets and MSRD segment stay behind as after a
#                      crash; the restarted ipsecd re-binds the sockets,
#                      mipd removes the stale segment (its writer lock is
#                      free) and creates it anew
# --note TEXT prints TEXT (what mip6ike-scenario reports as not applied).
# Writes into --out (default emu-out/SCENARIO-SCHEME): summary.csv,
# timeline.csv, packets.csv, mn.events, ha.events, pcaps in traces/,
# keylogs (ikev2_decryption_table, esp_sa), run.log.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROG="${M6E_PROG:-./mip6ike emu}"

# shellcheck source=../topo/topo.sh
source "$HERE/../topo/topo.sh"

usage_error() {
  echo "$PROG: $1" >&2
  exit 2
}

[[ $# -ge 2 ]] || usage_error "missing SCENARIO (e.g. handover)"
BUILD="$1"
SCENARIO="$2"
shift 2
SCEN_FILE=""
if [[ "$SCENARIO" != handover ]]; then
  if [[ -f "$SCENARIO" ]]; then
    SCEN_FILE="$SCENARIO"
  elif [[ "$SCENARIO" != */* && -f "$HERE/../../scenarios/$SCENARIO.ini" ]]; then
    SCEN_FILE="$HERE/../../scenarios/$SCENARIO.ini"
  else
    usage_error "unknown scenario '$SCENARIO' (handover, a scenario file, or NAME of scenarios/NAME.ini)"
  fi
fi
if [[ -n "$SCEN_FILE" ]]; then
  # The scenario's settings first, then the command line's: scenario
  # overrides (section.key=value) go to mip6ike-scenario, the runner's own
  # keys after the file's.
  SCEN_TOOL="$BUILD/scenario/mip6ike-scenario"
  [[ -x "$SCEN_TOOL" ]] || { echo "$PROG: $SCEN_TOOL not built (needs libinih-dev)" >&2; exit 1; }
  scen_sets=() rest=()
  while [[ $# -gt 0 ]]; do
    if [[ "$1" == --set && $# -ge 2 && "${2%%=*}" == *.* ]]; then
      scen_sets+=(--set "$2")
      shift 2
    else
      rest+=("$1")
      shift
    fi
  done
  scen_args="$("$SCEN_TOOL" "$SCEN_FILE" "${scen_sets[@]}" --args emu 2>&1)" ||
    usage_error "$scen_args"
  mapfile -t scen_argv <<<"$scen_args"
  [[ "${scen_argv[0]}" == handover ]] || usage_error "$SCEN_FILE: unexpected --args emu output '${scen_argv[0]}'"
  set -- "${scen_argv[@]:1}" "${rest[@]}"
  SCENARIO="$(basename "$SCEN_FILE" .ini)"
fi

declare -A S=([scheme]=msrd [rate_kbps]=100 [packet_size]=500 [delay_ms]=0 [rate_mbit]=0 [loss]=0
  [access_delay_ms]=0 [access_rate_mbit]=0 [access_loss]=0
  [handover_at]=3 [duration]=8 [seed]=1 [ra_min]=0.05 [ra_max]=0.1
  [l2_gap]=0.05 [dad_transmits]=1 [dad_retrans_ms]=1000 [ba_loss]=0
  [rs_delay]=0 [rs_count]=-1 [ar_dad]=0 [link_index]=distinct [ar_link]=bridge
  [ike_proposal]=aes128-sha256-x25519 [esp_proposal]=aes128gcm16 [ike_id]=fqdn
  [lifetime]=0 [reregister_after]=0 [liveness]=0 [ha_restart_at]=0 [ha_down]=0.5 [arch]=three)
OUT=""
NOTES=()
while [[ $# -gt 0 ]]; do
  case "$1" in
  --note)
    [[ $# -ge 2 ]] || usage_error "--note needs a text"
    NOTES+=("$2")
    shift 2
    ;;
  --set)
    [[ $# -ge 2 ]] || usage_error "--set needs key=value"
    kv="$2"
    [[ "$kv" == *=* ]] || usage_error "--set $kv: expected key=value"
    k="${kv%%=*}" v="${kv#*=}"
    [[ -v "S[$k]" ]] || usage_error "--set $k: unknown setting"
    S[$k]="$v"
    shift 2
    ;;
  --out)
    [[ $# -ge 2 ]] || usage_error "--out needs a directory"
    OUT="$2"
    shift 2
    ;;
  *) usage_error "unknown option '$1'" ;;
  esac
done
isnum() { [[ "$1" =~ ^[0-9]+([.][0-9]+)?$ ]]; }
case "${S[scheme]}" in
msrd | renegotiate | migrate | migrate-kmaddress | mobike | static) ;;
*) usage_error "--set scheme=${S[scheme]}: unknown scheme" ;;
esac
case "${S[arch]}" in
one | three) ;;
*) usage_error "--set arch=${S[arch]}: must be one or three" ;;
esac
for k in rate_kbps packet_size delay_ms rate_mbit loss access_delay_ms access_rate_mbit access_loss \
  handover_at duration seed ra_min ra_max l2_gap dad_transmits dad_retrans_ms ba_loss \
  lifetime reregister_after liveness ha_restart_at ha_down; do
  isnum "${S[$k]}" || usage_error "--set $k=${S[$k]}: not a non-negative number"
done
for k in ike_proposal esp_proposal; do
  [[ "${S[$k]}" =~ ^[a-z0-9_-]+$ ]] || usage_error "--set $k=${S[$k]}: not a proposal (strongSwan syntax, e.g. aes128-sha256-x25519)"
done
[[ "${S[lifetime]}" =~ ^[0-9]+$ && "${S[lifetime]}" -le 65535 ]] || usage_error "--set lifetime=${S[lifetime]}: 4-s units, 0..65535"
[[ "${S[reregister_after]}" =~ ^[0-9]+$ ]] || usage_error "--set reregister_after=${S[reregister_after]}: must be a whole number"
[[ "${S[liveness]}" =~ ^[0-9]+$ ]] || usage_error "--set liveness=${S[liveness]}: must be a whole number of seconds"
if awk -v r="${S[ha_restart_at]}" 'BEGIN{exit !(r > 0)}'; then
  awk -v r="${S[ha_restart_at]}" -v a="${S[handover_at]}" -v d="${S[duration]}" -v g="${S[l2_gap]}" \
    'BEGIN{exit !(r > a + g && r < d)}' ||
    usage_error "--set ha_restart_at=${S[ha_restart_at]}: must be after the handover (handover_at + l2_gap) and before duration=${S[duration]}"
fi
[[ "${S[rs_delay]}" =~ ^[0-9]+$ ]] || usage_error "--set rs_delay=${S[rs_delay]}: whole seconds (router_solicitation_delay)"
[[ "${S[rs_count]}" =~ ^(-1|[0-9]+)$ ]] || usage_error "--set rs_count=${S[rs_count]}: -1 (the kernel's) or a count"
[[ "${S[ar_dad]}" =~ ^[01]$ ]] || usage_error "--set ar_dad=${S[ar_dad]}: 0 or 1"
case "${S[link_index]}" in
distinct | kernel) ;;
*) usage_error "--set link_index=${S[link_index]}: distinct or kernel" ;;
esac
case "${S[ar_link]}" in
bridge | veth) ;;
*) usage_error "--set ar_link=${S[ar_link]}: bridge or veth" ;;
esac
case "${S[ike_id]}" in
fqdn | address) ;;
*) usage_error "--set ike_id=${S[ike_id]}: fqdn or address" ;;
esac
[[ "${S[packet_size]}" =~ ^[0-9]+$ && "${S[packet_size]}" -ge 16 && "${S[packet_size]}" -le 1400 ]] ||
  usage_error "--set packet_size=${S[packet_size]}: must be a whole number 16..1400"
[[ "${S[dad_retrans_ms]}" =~ ^[0-9]+$ && "${S[dad_retrans_ms]}" -ge 1 ]] ||
  usage_error "--set dad_retrans_ms=${S[dad_retrans_ms]}: must be a whole number >= 1"
# Delays up to 0.02 ms are what a veth hop between namespaces already
# costs: not shaped (the simulated xu2008 links are 0.01 ms).
for k in delay_ms access_delay_ms; do
  if awk -v d="${S[$k]}" 'BEGIN{exit !(d > 0 && d <= 0.02)}'; then
    NOTES+=("not applied in emu: $k=${S[$k]} (within a veth hop's own latency: not shaped)")
    S[$k]=0
  fi
done
awk -v r="${S[rate_kbps]}" 'BEGIN{exit !(r > 0)}' || usage_error "--set rate_kbps=${S[rate_kbps]}: must be > 0"
awk -v a="${S[handover_at]}" -v d="${S[duration]}" 'BEGIN{exit !(a < d)}' ||
  usage_error "--set handover_at=${S[handover_at]}: must be before duration=${S[duration]}"
awk -v a="${S[ra_min]}" -v b="${S[ra_max]}" 'BEGIN{exit !(a < b && a >= 0.03)}' ||
  usage_error "--set ra_min=${S[ra_min]}: must be >= 0.03 and < ra_max=${S[ra_max]}"
if awk -v d="${S[delay_ms]}" -v l="${S[loss]}" -v e="${S[access_delay_ms]}" -v m="${S[access_loss]}" \
  'BEGIN{exit !(d > 0 || l > 0 || e > 0 || m > 0)}' &&
  [[ "$(id -u)" -eq 0 ]] && ! m6e_netem_ok; then
  usage_error "--set delay_ms/loss/access_delay_ms/access_loss (${S[delay_ms]}/${S[loss]}/${S[access_delay_ms]}/${S[access_loss]}): this kernel has no sch_netem (tc netem); only the rates (tbf) are possible"
fi
[[ "${S[ba_loss]}" =~ ^[0-9]+$ ]] || usage_error "--set ba_loss=${S[ba_loss]}: must be a whole number"
if [[ "${S[ba_loss]}" -gt 0 && "$(id -u)" -eq 0 ]] && ! command -v nft >/dev/null 2>&1; then
  usage_error "--set ba_loss: needs nft(8) (Debian package nftables)"
fi
[[ -n "$OUT" ]] || OUT="emu-out/$SCENARIO-${S[scheme]}"
[[ "${M6E_CHECK_ONLY:-0}" == 1 ]] && exit 0
if [[ "$(id -u)" -ne 0 ]]; then
  echo "$PROG: needs root (network namespaces, veth, TUN); run it with sudo" >&2
  exit 1
fi
bins=(mip6ike-cbr mip6ike-pcap)
if [[ "${S[arch]}" == three ]]; then bins+=(mip6ike-ipsecd mip6ike-mipd mip6ike-iked); else bins+=(mip6ike-noded); fi
for b in "${bins[@]}"; do
  [[ -x "$BUILD/emu/$b" ]] || { echo "$PROG: $BUILD/emu/$b not built" >&2; exit 1; }
done
mkdir -p "$OUT/traces" || usage_error "--out $OUT: cannot create the directory"
OUT="$(cd "$OUT" && pwd)"
rm -f "$OUT"/*.events "$OUT"/*.csv "$OUT"/ike-by-handover "$OUT"/traces/* "$OUT"/*ikev2_decryption_table "$OUT"/*esp_sa "$OUT"/run.log

m6e_init
exec 3>&2 2>>"$OUT/run.log"
say() { echo "$*" >&3; m6e_log "$*"; }

NODED="$BUILD/emu/mip6ike-noded"
IPSECD="$BUILD/emu/mip6ike-ipsecd"
MIPD="$BUILD/emu/mip6ike-mipd"
IKED="$BUILD/emu/mip6ike-iked"
CBR="$BUILD/emu/mip6ike-cbr"
PCAP="$BUILD/emu/mip6ike-pcap"
PSK="mip6ike emulation key"

for n in "${NOTES[@]}"; do say "emu: $n"; done
M6E_RS_DELAY="${S[rs_delay]}" M6E_AR_DAD="${S[ar_dad]}" M6E_LINK_INDEX="${S[link_index]}"
M6E_AR_LINK="${S[ar_link]}" M6E_RS_COUNT="${S[rs_count]}"
m6e_build "${S[dad_transmits]}" "${S[dad_retrans_ms]}"
# Link shaping: netem when the kernel has it (delay, loss, rate); this
# project's CI kernel lacks sch_netem, so there only a rate (tbf) is
# possible and a delay or loss asked for is refused (m6e_netem_ok).
q="$(m6e_link_qdisc "${S[delay_ms]}" "${S[loss]}" "${S[rate_mbit]}")"
[[ -z "$q" ]] || m6e_qdisc "$q" "${M6E_WIRED_LINKS[@]}"
# The MN's access links, both ends.
q="$(m6e_link_qdisc "${S[access_delay_ms]}" "${S[access_loss]}" "${S[access_rate_mbit]}")"
[[ -z "$q" ]] || m6e_qdisc "$q" "${M6E_ACCESS_LINKS[@]}"
# The kernel knows neither ESP nor Mobile IPv6: packets whose first next
# header is ESP, destination options (the HAO) or routing (RH2) are the
# daemons' (they read them from a packet socket, which sees them before
# netfilter); nftables drops them at prerouting so that the kernel's stack
# does not answer them with ICMP errors.  Without nft(8) the errors are
# only noise in the capture.
nft_drop() { # NODE
  command -v nft >/dev/null 2>&1 || return 0
  m6e_in "$1" nft -f - <<NFT
table ip6 m6e {
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    ip6 nexthdr { 50, 60, 43 } drop
  }
}
NFT
}
nft_drop ha
nft_drop mn

# Captures (libpcap) on the HA's home link and the MN's two access links.
m6e_in ha "$PCAP" -i h0 -w "$OUT/traces/ha-h0.pcap" >>"$OUT/run.log" 2>&1 &
m6e_in mn "$PCAP" -i any -w "$OUT/traces/mn-any.pcap" >>"$OUT/run.log" 2>&1 &
m6e_in cn "$PCAP" -i c0 -w "$OUT/traces/cn-c0.pcap" >>"$OUT/run.log" 2>&1 &

common=(--scheme "${S[scheme]}" --ha "$M6E_HA" --home-prefix "$M6E_HOME_PREFIX/$M6E_HOME_PLEN")
# The IKE side's options: noded (arch=one) and iked (arch=three) take them.
ike_opts=(--ike-proposal "${S[ike_proposal]}" --esp-proposal "${S[esp_proposal]}")
if [[ "${S[ike_id]}" == address ]]; then
  ike_opts+=(--local-id address --remote-id address)
fi
[[ "${S[liveness]}" -gt 0 ]] && ike_opts+=(--liveness "${S[liveness]}")
# The MN's mobility options: noded (arch=one) and mipd (arch=three).
mn_extra=()
[[ "${S[lifetime]}" -gt 0 ]] && mn_extra+=(--lifetime "${S[lifetime]}")
[[ "${S[reregister_after]}" -gt 0 ]] && mn_extra+=(--reregister-after "${S[reregister_after]}")
# nready FILE: how many READY lines a daemon's event file has (a restarted
# daemon appends a second one).
nready() { awk '$2 == "READY" { n++ } END { print n + 0 }' "$1" 2>/dev/null || echo 0; }
# Key logs in Wireshark's file names (WIRESHARK_CONFIG_DIR=$OUT): the
# MN's cover every SA of the run; the HA's (ha-*) are the same keys seen
# from the other end.
if [[ "${S[arch]}" == one ]]; then
  ha_start() {
    # Not m6e_in (a function: & would fork a subshell whose pid is not the
    # daemon's); ip netns exec execs the daemon, so $! is its pid.
    ip netns exec "$(m6e_ns ha)" "$NODED" --role ha --home-if h0 --mn "$M6E_HOA" --events "$OUT/ha.events" "${common[@]}" \
      --psk "$PSK" --tun mip6 "${ike_opts[@]}" --keylog-ike "$OUT/ha-ikev2_decryption_table" --keylog-esp "$OUT/ha-esp_sa" 2>>"$OUT/run.log" &
    HA_PID=$!
  }
  ha_start
  m6e_wait_for 5 grep -q READY "$OUT/ha.events" 2>/dev/null || {
    grep -q 'proposal' "$OUT/run.log" && say "emu: the daemons refused a proposal: $(grep -m1 proposal "$OUT/run.log")"
    m6e_die "HA daemon did not start"
  }
  m6e_radvd_start "${S[ra_min]}" "${S[ra_max]}"
  m6e_in mn "$NODED" --role mn --hoa "$M6E_HOA" --events "$OUT/mn.events" "${common[@]}" "${mn_extra[@]}" \
    --psk "$PSK" --tun mip6 "${ike_opts[@]}" --keylog-ike "$OUT/ikev2_decryption_table" --keylog-esp "$OUT/esp_sa" 2>>"$OUT/run.log" &
  m6e_wait_for 5 grep -q READY "$OUT/mn.events" 2>/dev/null || m6e_die "MN daemon did not start"
else
  # The three daemons of a node, in the order each needs the previous
  # one: ipsecd (TUN, PF_KEY and MH sockets), mipd (creates the MSRD,
  # connects both sockets), iked (maps the MSRD read-only, connects to
  # PF_KEY).  Event files: NODE.events (mipd: the summary's source),
  # NODE-ipsecd.events, NODE-iked.events.
  start_node() { # NODE KEYLOG_PREFIX ROLE_ARGS...
    local n="$1" kp="$2" dir="$M6E_STATE/$1" shm="/m6e-$M6E_RUN-$1-msrd" r
    shift 2
    mkdir -p "$dir"
    chmod 700 "$dir"
    r="$(nready "$OUT/$n-ipsecd.events")"
    m6e_in "$n" "$IPSECD" --socket "$dir/pfkey" --mh "$dir/mh" --tun mip6 --msrd "$shm" \
      "${ipsecd_role[@]}" --events "$OUT/$n-ipsecd.events" 2>>"$OUT/run.log" &
    m6e_wait_for 5 eval '[[ "$(nready "$OUT/$n-ipsecd.events")" -gt $r ]]' || m6e_die "$n: ipsecd did not start"
    r="$(nready "$OUT/$n.events")"
    m6e_in "$n" "$MIPD" "$@" "${common[@]}" --pfkey "$dir/pfkey" --mh "$dir/mh" --msrd-shm "$shm" \
      --tun mip6 --events "$OUT/$n.events" 2>>"$OUT/run.log" &
    m6e_wait_for 5 eval '[[ "$(nready "$OUT/$n.events")" -gt $r ]]' || m6e_die "$n: mipd did not start"
    local ikargs=() a skip=0
    for a in "$@"; do # iked takes mipd's role arguments but the home link
      if [[ $skip == 1 ]]; then skip=0; continue; fi
      # (the home link and the mobility side's binding options are mipd's)
      case "$a" in --home-if | --lifetime | --reregister-after) skip=1; continue ;; esac
      ikargs+=("$a")
    done
    r="$(nready "$OUT/$n-iked.events")"
    m6e_in "$n" "$IKED" "${ikargs[@]}" "${common[@]}" --pfkey "$dir/pfkey" --msrd-shm "$shm" --psk "$PSK" "${ike_opts[@]}" \
      --events "$OUT/$n-iked.events" --keylog-ike "$OUT/${kp}ikev2_decryption_table" \
      --keylog-esp "$OUT/${kp}esp_sa" 2>>"$OUT/run.log" &
    m6e_wait_for 5 eval '[[ "$(nready "$OUT/$n-iked.events")" -gt $r ]]' || m6e_die "$n: iked did not start"
  }
  ha_start() {
    ipsecd_role=(--role ha)
    start_node ha ha- --role ha --home-if h0 --mn "$M6E_HOA"
  }
  ha_start
  # The MN's daemons before the routers advertise: the first CoA (and the
  # ACQUIRE it causes) must find the key manager registered on the bus.
  ipsecd_role=(--role mn --hoa "$M6E_HOA")
  start_node mn "" --role mn --hoa "$M6E_HOA" "${mn_extra[@]}"
  m6e_radvd_start "${S[ra_min]}" "${S[ra_max]}"
fi
# Traffic from the HoA leaves through the tunnel (reverse tunnelling).
ip -n "$(m6e_ns mn)" -6 rule add from "$M6E_HOA" lookup 100
ip -n "$(m6e_ns mn)" -6 route add default dev mip6 table 100

bootstrapped() { grep -q "HANDOVER index=0 .*complete=1" "$OUT/mn.events"; }
say "emu: bootstrap (scheme ${S[scheme]}) ..."
m6e_wait_for 30 bootstrapped || m6e_die "no bootstrap (see $OUT/mn.events)"
grep -q "BA_RECEIVED .*status=0" "$OUT/mn.events" || m6e_die "bootstrap BA status not 0"
if [[ "${S[arch]}" == three ]]; then
  # The live MSRD, attached as the key manager attaches it: every way to
  # write it is refused (run.log: REFUSED lines and the SELFTEST summary).
  m6e_in mn "$IKED" --msrd-shm "/m6e-$M6E_RUN-mn-msrd" --selftest-write-msrd >>"$OUT/run.log" 2>&1 ||
    m6e_die "the MN's MSRD was writable through the key manager's mapping"
fi

if [[ "${S[ba_loss]}" -gt 0 ]]; then
  # The BA leaves the HA as IPv6 | RH2 (next header 43) | ESP to the new
  # CoA.  nft's quota counts octets: with a BA of BA_LEN octets, "until
  # N * BA_LEN + BA_LEN/2" matches (drops) exactly the first N.
  # BA_LEN is read from the bootstrap's BA in the HA's capture (the
  # handover's has the same size); 116 without tshark (aes128gcm16).
  ba_len=""
  if command -v tshark >/dev/null 2>&1; then
    ba_len="$(tshark -r "$OUT/traces/ha-h0.pcap" -Y 'ipv6.nxt == 43 && ipv6.src == '"$M6E_HA" \
      -T fields -e ipv6.plen 2>/dev/null | tail -1)"
    [[ -n "$ba_len" ]] && ba_len=$((ba_len + 40))
  fi
  ba_len="${ba_len:-116}"
  m6e_in ha nft -f - <<NFT
table ip6 m6e_fault {
  chain out {
    type filter hook output priority 0; policy accept;
    ip6 nexthdr 43 ip6 daddr $M6E_NET2/64 quota until $((S[ba_loss] * ba_len + ba_len / 2)) bytes counter drop
  }
}
NFT
fi
T0="$(date +%s.%N)"
m6e_in mn "$CBR" recv --bind "$M6E_HOA" --start "$T0" --duration "${S[duration]}" \
  --timeline "$OUT/timeline.csv" --packets "$OUT/packets.csv" 2>>"$OUT/run.log" &
rx=$!
sleep 0.2
m6e_in cn "$CBR" send --dst "$M6E_HOA" --rate-kbps "${S[rate_kbps]}" --size "${S[packet_size]}" \
  --duration "$(awk -v d="${S[duration]}" 'BEGIN{print d - 0.3}')" >>"$OUT/run.log" 2>&1 &
tx=$!
sleep "$(awk -v a="${S[handover_at]}" -v t0="$T0" -v now="$(date +%s.%N)" 'BEGIN{s = t0 + a - now; print (s > 0 ? s : 0)}')"
L2="$(m6e_move "${S[l2_gap]}")"
say "emu: L2 handover at $(awk -v a="$L2" -v t="$T0" 'BEGIN{printf "%.3f", a - t}') s"
if awk -v r="${S[ha_restart_at]}" 'BEGIN{exit !(r > 0)}'; then
  # Fault (issue 5 section 5): the HA's daemon dies with its state (binding
  # cache, SAs, IKE SAs) and comes back empty.
  sleep "$(awk -v a="${S[ha_restart_at]}" -v t0="$T0" -v now="$(date +%s.%N)" 'BEGIN{s = t0 + a - now; print (s > 0 ? s : 0)}')"
  if [[ "${S[arch]}" == one ]]; then
    kill -KILL "$HA_PID"
    wait "$HA_PID" 2>/dev/null || true
  else
    # The HA's three daemons at once, as a crash of the node's software
    # would take them; sockets and the MSRD segment are left behind.
    ha_pids=()
    for p in $(ip netns pids "$(m6e_ns ha)"); do
      if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -Eq 'mip6ike-(ipsecd|mipd|iked)'; then ha_pids+=("$p"); fi
    done
    [[ ${#ha_pids[@]} -eq 3 ]] || m6e_die "expected the HA's 3 daemons, found ${#ha_pids[@]}"
    kill -KILL "${ha_pids[@]}"
    for p in "${ha_pids[@]}"; do
      while kill -0 "$p" 2>/dev/null; do sleep 0.01; done
    done
  fi
  KILLED="$(date +%s.%N)"
  echo "$KILLED HA_KILLED flow_time=$(awk -v a="$KILLED" -v t="$T0" 'BEGIN{printf "%.6f", a - t}')" >>"$OUT/ha.events"
  say "emu: HA daemon killed (SIGKILL) at $(awk -v a="$KILLED" -v t="$T0" 'BEGIN{printf "%.3f", a - t}') s"
  sleep "${S[ha_down]}"
  ha_start
  ha_ready_again() { [[ "$(nready "$OUT/ha.events")" -ge 2 ]]; }
  m6e_wait_for 5 ha_ready_again || m6e_die "the HA daemon did not start again"
  say "emu: HA daemon started again at $(awk -v t="$T0" -v now="$(date +%s.%N)" 'BEGIN{printf "%.3f", now - t}') s"
fi
wait "$tx" || true
wait "$rx" || true
# The daemons' final records: the mobility and key-management sides
# first (mipd prints the last HANDOVER record), then the IPsec "kernel".
stop_daemons() { # REGEX
  local n p
  for n in mn ha; do
    for p in $(ip netns pids "$(m6e_ns "$n")"); do
      if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -Eq "$1"; then kill -TERM "$p" 2>/dev/null || true; fi
    done
  done
}
stop_daemons 'mip6ike-(noded|mipd|iked)'
m6e_wait_for 5 grep -q EXIT "$OUT/mn.events" || true
if [[ "${S[arch]}" == three ]]; then
  m6e_wait_for 5 grep -q EXIT "$OUT/mn-iked.events" || true
  stop_daemons 'mip6ike-ipsecd'
  m6e_wait_for 5 grep -q EXIT "$OUT/mn-ipsecd.events" || true
fi
sleep 0.7 # the capture's last block
m6e_teardown
trap - EXIT

# Three daemons: the key manager's IKE counts are in iked's IKE_COUNTS
# lines (mobility.h HANDOVER RECORD); each handover's share (from its
# set_coa to the next) is appended to mn.events as HANDOVER_IKE lines,
# which summary.awk prefers to the mobility side's zeros.
if [[ "${S[arch]}" == three ]]; then
  awk -f "$HERE/ike-windows.awk" "$OUT/mn.events" "$OUT/mn-iked.events" >>"$OUT/mn.events"
fi
awk -v t0="$T0" -v l2="$L2" -v scheme="${S[scheme]}" -v rate="${S[rate_kbps]}" \
  -v seed="${S[seed]}" -v pk="$OUT/packets.csv" -f "$HERE/summary.awk" \
  "$OUT/mn.events" >"$OUT/summary.csv"
cat "$OUT/summary.csv" >&3
