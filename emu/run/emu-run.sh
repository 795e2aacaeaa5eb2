#!/usr/bin/env bash
# emu/run/emu-run.sh: one emulated experiment (what `./mip6ike emu` runs).
#
#   emu-run.sh BUILD_DIR SCENARIO [--set key=value ...] [--out DIR]
#
# SCENARIO: `handover` (bootstrap at foreign net 1, then one move to
# foreign net 2 with the CBR flow CN -> MN HoA running).  Settings:
#   scheme=msrd        msrd renegotiate migrate migrate-kmaddress mobike static
#   rate_kbps=100      CBR payload rate (500-octet datagrams)
#   delay_ms=0         one-way delay of every wired link (netem, each way;
#                      refused where the kernel has no sch_netem)
#   rate_mbit=0        rate of the wired links (netem, or tbf; 0 = unlimited)
#   loss=0             netem loss %, wired links (needs sch_netem)
#   handover_at=3      seconds after the experiment start (the flow's start)
#   duration=8         seconds of flow
#   seed=1             recorded (key material and SLAAC come from the kernel)
#   ra_min=0.05 ra_max=0.1   radvd's RA intervals (s)
#   l2_gap=0.05        seconds between leaving AR1's link and joining AR2's
#   dad_transmits=1    the MN's DAD probes (kernel default 1; 0 = no DAD)
#   arch=three         three: the main paper's architecture,
#                      mip6ike-ipsecd -> mip6ike-mipd -> mip6ike-iked per
#                      node; one: one mip6ike-noded per node (the
#                      single-process variant) (PF_KEY on /run/mip6ike-emu/<pid>/<node>/pfkey,
#                      MH on .../mh, the MSRD in /dev/shm/m6e-<pid>-<node>-msrd)
#   ba_loss=0          the first N Binding Acks of the handover are lost
#                      (dropped at the HA's egress by nftables: the MN's
#                      RFC 6275 retransmission shows in bu_count and in
#                      ba_received_s)
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
[[ "$SCENARIO" == handover ]] || usage_error "unknown scenario '$SCENARIO' (known: handover)"

declare -A S=([scheme]=msrd [rate_kbps]=100 [delay_ms]=0 [rate_mbit]=0 [loss]=0
  [handover_at]=3 [duration]=8 [seed]=1 [ra_min]=0.05 [ra_max]=0.1
  [l2_gap]=0.05 [dad_transmits]=1 [ba_loss]=0 [arch]=three)
OUT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
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
for k in rate_kbps delay_ms rate_mbit loss handover_at duration seed ra_min ra_max l2_gap dad_transmits ba_loss; do
  isnum "${S[$k]}" || usage_error "--set $k=${S[$k]}: not a non-negative number"
done
awk -v r="${S[rate_kbps]}" 'BEGIN{exit !(r > 0)}' || usage_error "--set rate_kbps=${S[rate_kbps]}: must be > 0"
awk -v a="${S[handover_at]}" -v d="${S[duration]}" 'BEGIN{exit !(a < d)}' ||
  usage_error "--set handover_at=${S[handover_at]}: must be before duration=${S[duration]}"
awk -v a="${S[ra_min]}" -v b="${S[ra_max]}" 'BEGIN{exit !(a < b && a >= 0.03)}' ||
  usage_error "--set ra_min=${S[ra_min]}: must be >= 0.03 and < ra_max=${S[ra_max]}"
if awk -v d="${S[delay_ms]}" -v l="${S[loss]}" 'BEGIN{exit !(d > 0 || l > 0)}' &&
  [[ "$(id -u)" -eq 0 ]] && ! m6e_netem_ok; then
  usage_error "--set delay_ms/loss: this kernel has no sch_netem (tc netem); only rate_mbit (tbf) is possible"
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

m6e_build "${S[dad_transmits]}"
# Link shaping: netem when the kernel has it (delay, loss, rate); this
# project's CI kernel lacks sch_netem, so there only a rate (tbf) is
# possible and a delay or loss asked for is refused (m6e_netem_ok).
if awk -v d="${S[delay_ms]}" -v l="${S[loss]}" 'BEGIN{exit !(d > 0 || l > 0)}'; then
  netem="delay ${S[delay_ms]}ms"
  awk -v r="${S[rate_mbit]}" 'BEGIN{exit !(r > 0)}' && netem+=" rate ${S[rate_mbit]}mbit"
  awk -v l="${S[loss]}" 'BEGIN{exit !(l > 0)}' && netem+=" loss ${S[loss]}%"
  m6e_shape_all "$netem"
elif awk -v r="${S[rate_mbit]}" 'BEGIN{exit !(r > 0)}'; then
  m6e_shape_all_tbf "${S[rate_mbit]}"
fi
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
# Key logs in Wireshark's file names (WIRESHARK_CONFIG_DIR=$OUT): the
# MN's cover every SA of the run; the HA's (ha-*) are the same keys seen
# from the other end.
if [[ "${S[arch]}" == one ]]; then
  m6e_in ha "$NODED" --role ha --home-if h0 --mn "$M6E_HOA" --events "$OUT/ha.events" "${common[@]}" \
    --psk "$PSK" --tun mip6 \
    --keylog-ike "$OUT/ha-ikev2_decryption_table" --keylog-esp "$OUT/ha-esp_sa" 2>>"$OUT/run.log" &
  m6e_wait_for 5 grep -q READY "$OUT/ha.events" 2>/dev/null || m6e_die "HA daemon did not start"
  m6e_radvd_start "${S[ra_min]}" "${S[ra_max]}"
  m6e_in mn "$NODED" --role mn --hoa "$M6E_HOA" --events "$OUT/mn.events" "${common[@]}" \
    --psk "$PSK" --tun mip6 \
    --keylog-ike "$OUT/ikev2_decryption_table" --keylog-esp "$OUT/esp_sa" 2>>"$OUT/run.log" &
  m6e_wait_for 5 grep -q READY "$OUT/mn.events" 2>/dev/null || m6e_die "MN daemon did not start"
else
  # The three daemons of a node, in the order each needs the previous
  # one: ipsecd (TUN, PF_KEY and MH sockets), mipd (creates the MSRD,
  # connects both sockets), iked (maps the MSRD read-only, connects to
  # PF_KEY).  Event files: NODE.events (mipd: the summary's source),
  # NODE-ipsecd.events, NODE-iked.events.
  start_node() { # NODE KEYLOG_PREFIX ROLE_ARGS...
    local n="$1" kp="$2" dir="$M6E_STATE/$1" shm="/m6e-$M6E_RUN-$1-msrd"
    shift 2
    mkdir -p "$dir"
    chmod 700 "$dir"
    m6e_in "$n" "$IPSECD" --socket "$dir/pfkey" --mh "$dir/mh" --tun mip6 --msrd "$shm" \
      "${ipsecd_role[@]}" --events "$OUT/$n-ipsecd.events" 2>>"$OUT/run.log" &
    m6e_wait_for 5 grep -q READY "$OUT/$n-ipsecd.events" 2>/dev/null || m6e_die "$n: ipsecd did not start"
    m6e_in "$n" "$MIPD" "$@" "${common[@]}" --pfkey "$dir/pfkey" --mh "$dir/mh" --msrd-shm "$shm" \
      --tun mip6 --events "$OUT/$n.events" 2>>"$OUT/run.log" &
    m6e_wait_for 5 grep -q READY "$OUT/$n.events" 2>/dev/null || m6e_die "$n: mipd did not start"
    local ikargs=() a skip=0
    for a in "$@"; do # iked takes mipd's role arguments but the home link
      if [[ $skip == 1 ]]; then skip=0; continue; fi
      if [[ "$a" == --home-if ]]; then skip=1; continue; fi
      ikargs+=("$a")
    done
    m6e_in "$n" "$IKED" "${ikargs[@]}" "${common[@]}" --pfkey "$dir/pfkey" --msrd-shm "$shm" --psk "$PSK" \
      --events "$OUT/$n-iked.events" --keylog-ike "$OUT/${kp}ikev2_decryption_table" \
      --keylog-esp "$OUT/${kp}esp_sa" 2>>"$OUT/run.log" &
    m6e_wait_for 5 grep -q READY "$OUT/$n-iked.events" 2>/dev/null || m6e_die "$n: iked did not start"
  }
  ipsecd_role=(--role ha)
  start_node ha ha- --role ha --home-if h0 --mn "$M6E_HOA"
  # The MN's daemons before the routers advertise: the first CoA (and the
  # ACQUIRE it causes) must find the key manager registered on the bus.
  ipsecd_role=(--role mn --hoa "$M6E_HOA")
  start_node mn "" --role mn --hoa "$M6E_HOA"
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
m6e_in cn "$CBR" send --dst "$M6E_HOA" --rate-kbps "${S[rate_kbps]}" \
  --duration "$(awk -v d="${S[duration]}" 'BEGIN{print d - 0.3}')" >>"$OUT/run.log" 2>&1 &
tx=$!
sleep "$(awk -v a="${S[handover_at]}" -v t0="$T0" -v now="$(date +%s.%N)" 'BEGIN{s = t0 + a - now; print (s > 0 ? s : 0)}')"
L2="$(m6e_move "${S[l2_gap]}")"
say "emu: L2 handover at $(awk -v a="$L2" -v t="$T0" 'BEGIN{printf "%.3f", a - t}') s"
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
