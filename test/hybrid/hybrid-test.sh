#!/usr/bin/env bash
# test/hybrid/hybrid-test.sh: the hybrid experiment (ctest hybrid.<scheme>,
# root): the simulated Fig. 6 testbed (examples/mip6ike-hybrid.cc: HA, CN,
# routers, access networks in ns-3, real time) and a REAL mobile node
# (emu's mip6ike-noded --role mn) in a network namespace, joined through
# two TAP devices that the ns-3 program creates inside that namespace.
#
#   hybrid-test.sh HYBRID_BIN EMU_BIN_DIR [SCHEME] [--out DIR]
#
# Steps: namespace m6h-mn-<pid> (nftables drops ESP/HAO/RH2 at prerouting
# for noded, as emu-run.sh does); the ns-3 program starts and opens acc1
# (foreign 1, AR1) and acc2 (foreign 2, AR2) in it; acc1 up; noded (MN,
# HoA 2001::5, HA 2001::1) bootstraps over AR1: SLAAC from ns-3's Radvd,
# IKEv2 with the simulated HA, BU/BA under ESP; the CN's CBR flow (ns-3)
# reaches the HoA through the tunnel (mip6ike-cbr recv on the HoA); at
# MOVE_AT simulated seconds the MN moves (acc1 down, L2_GAP, acc2 up) and
# hands over with the simulated HA.
#
# SCHEME: msrd (default) or renegotiate (the HA and the MN use the same).
# Checks: the program ran in real time (lag line, exit 0); bootstrap and
# handover BAs with status 0 on the real MN, the handover record complete
# (msrd: 2 INFORMATIONAL messages, no new IKE SA; renegotiate: IKE_SA_INIT
# and IKE_AUTH again); the IKE SA up on both sides (MN: IKE_COMPLETED
# status 0 and SA_READY; HA: IKE_AUTH in its IKE log, ESP SAs installed);
# the HA's binding cache moved to a 2003:: CoA; CBR datagrams received at
# the real MN after the move (summary.csv's traffic_resumed_s); the pcaps
# decode in tshark (ESP and IKEv2 on AR2's link, and the BU and BA inside
# ESP decrypted with the real MN's key logs) when tshark is there;
# nothing left afterwards (namespace, TAPs, processes).
#
# Output (--out DIR, else a temporary directory removed at exit):
# summary.csv (the ns-3/emu header, host = hybrid, seconds of simulated
# time = seconds since the simulation started), timeline.csv, packets.csv,
# mn.events, hybrid.out (the ns-3 program's output), ha-events.csv, pcaps
# hybrid-<node>-<dev>.pcap, key logs (MN: ikev2_decryption_table, esp_sa;
# HA: ha-*).
#
# HYBRID_BREAK=psk|move|hoplimit|port breaks the path on purpose (the MN's
# PSK differs; acc2 never comes up; the example's RA hop-limit fix off; the
# receiver listens on another port than the CN sends to): the test must
# then fail.  Exit 77 when not root or a tool is missing.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
[[ $# -ge 2 ]] || { echo "usage: $0 HYBRID_BIN EMU_BIN_DIR [SCHEME] [--out DIR]" >&2; exit 2; }
HYB="$1" EMU="$2"
shift 2
SCHEME=msrd
if [[ $# -gt 0 && "$1" != --* ]]; then SCHEME="$1"; shift; fi
OUT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
  --out) OUT="$2"; shift 2 ;;
  *) echo "$0: unknown option '$1'" >&2; exit 2 ;;
  esac
done
BREAK="${HYBRID_BREAK:-}"

DURATION=${HYBRID_DURATION:-16}   # simulated = real seconds
MOVE_AT=${HYBRID_MOVE_AT:-9}      # simulated second of the L2 handover
L2_GAP=0.05
RATE=100
PSK="mip6ike-hybrid-key"
HOA=2001::5
HA=2001::1

if [[ "$(id -u)" -ne 0 ]]; then echo "SKIP: needs root (netns, TAP devices)"; exit 77; fi
for c in ip awk; do command -v "$c" >/dev/null || { echo "SKIP: $c missing"; exit 77; }; done
[[ -c /dev/net/tun ]] || { echo "SKIP: /dev/net/tun missing"; exit 77; }
[[ -x "$HYB" ]] || { echo "SKIP: $HYB not built"; exit 77; }
for b in mip6ike-noded mip6ike-cbr; do
  [[ -x "$EMU/$b" ]] || { echo "SKIP: $EMU/$b not built"; exit 77; }
done

RUN=$$
NS="m6h-mn-$RUN"
PIDS=()
KEEP_OUT=1
if [[ -z "$OUT" ]]; then
  OUT="$(mktemp -d /tmp/m6h-test.XXXXXX)"
  KEEP_OUT=0
fi
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
rm -f "$OUT"/*.pcap "$OUT"/*.events "$OUT"/*.csv "$OUT"/hybrid.out "$OUT"/*ikev2_decryption_table "$OUT"/*esp_sa

log() { printf '[%s] %s\n' "$(date +%T.%3N)" "$*" >&2; }

# Leftovers of hybrid runs whose process is gone (a SIGKILLed test).
for f in /run/netns/m6h-mn-*; do
  [[ -e "$f" ]] || continue
  pid="${f##*-}"
  [[ "$pid" =~ ^[0-9]+$ ]] || continue
  kill -0 "$pid" 2>/dev/null && continue
  log "removing the namespace of dead run $pid"
  for p in $(ip netns pids "${f##*/}" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
  ip netns del "${f##*/}" 2>/dev/null || true
done

# Everything this run started, by pid; then the namespace (the TAPs die
# with the ns-3 process that holds them, the tun device with noded).
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 1 20); do
    local alive=0
    for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [[ $alive == 0 ]] && break
    sleep 0.1
  done
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  if [[ -e "/run/netns/$NS" ]]; then
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
  fi
}
on_exit() {
  cleanup
  [[ $KEEP_OUT == 0 ]] && rm -rf "$OUT"
  return 0
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  echo "FAIL: $*"
  echo "---- hybrid.out (ns-3)"; grep -v '^$' "$OUT/hybrid.out" 2>/dev/null | tail -25 || true
  echo "---- mn.events (real MN)"; grep -v ' LOG ' "$OUT/mn.events" 2>/dev/null | cut -c1-220 | tail -25 || true
  exit 1
}

wait_for() { # SECONDS CMD...
  local end=$(($(date +%s%N) + $1 * 1000000000))
  shift
  while (($(date +%s%N) < end)); do
    "$@" && return 0
    sleep 0.05
  done
  "$@"
}
inns() { ip netns exec "$NS" "$@"; }

# 1. The MN's namespace: a Linux host's defaults (accept_ra, autoconf,
#    DAD 1 probe).  The kernel has neither ESP nor Mobile IPv6: noded reads
#    those packets from a packet socket, and nftables keeps the kernel from
#    answering the HAO / RH2 with ICMP errors.
ip netns add "$NS"
ip -n "$NS" link set lo up
if command -v nft >/dev/null 2>&1; then
  inns nft -f - <<'NFT'
table ip6 m6h {
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    ip6 nexthdr { 50, 60, 43 } drop
  }
}
NFT
fi

# 2. The simulation, which creates acc1/acc2 in the namespace.
extra=()
[[ "$BREAK" == hoplimit ]] && extra+=(--fixRaHopLimit=0)
"$HYB" --netns="$NS" --tap1=acc1 --tap2=acc2 --out="$OUT" --scheme="$SCHEME" \
  --duration="$DURATION" --rate="$RATE" --psk="$PSK" "${extra[@]}" >"$OUT/hybrid.out" 2>&1 &
SIM=$!
PIDS+=("$SIM")
wait_for 10 grep -q "wall clock at t=0" "$OUT/hybrid.out" || fail "the ns-3 program did not start"
grep -q "taps ready" "$OUT/hybrid.out" || fail "no TAP devices"
T0="$(sed -n 's/.*wall clock at t=0: //p' "$OUT/hybrid.out")"
ip -n "$NS" link set acc1 up

# 3. The real MN: noded, reverse tunnelling of the HoA's traffic, and the
#    CBR receiver on the HoA.
mnpsk="$PSK"
[[ "$BREAK" == psk ]] && mnpsk="not the HA's key"
inns "$EMU/mip6ike-noded" --role mn --scheme "$SCHEME" --hoa "$HOA" --ha "$HA" \
  --home-prefix 2001::/64 --psk "$mnpsk" --tun mip6 --events "$OUT/mn.events" \
  --keylog-ike "$OUT/ikev2_decryption_table" --keylog-esp "$OUT/esp_sa" 2>"$OUT/noded.err" &
PIDS+=($!)
wait_for 5 grep -q READY "$OUT/mn.events" 2>/dev/null || fail "noded did not start"
ip -n "$NS" -6 rule add from "$HOA" lookup 100
ip -n "$NS" -6 route add default dev mip6 table 100
rest="$(awk -v d="$DURATION" -v t0="$T0" -v now="$(date +%s.%N)" 'BEGIN{print d - (now - t0)}')"
rxport=9000
[[ "$BREAK" == port ]] && rxport=9001
inns "$EMU/mip6ike-cbr" recv --bind "$HOA" --port "$rxport" --start "$T0" --duration "$rest" \
  --timeline "$OUT/timeline.csv" --packets "$OUT/packets.csv" 2>>"$OUT/noded.err" &
PIDS+=($!)

log "hybrid: bootstrap of the real MN with the simulated HA ($SCHEME)"
bootstrapped() { grep -q "HANDOVER index=0 .*complete=1" "$OUT/mn.events"; }
wait_for $((MOVE_AT - 1)) bootstrapped || fail "no bootstrap before the move"

# 4. The move at MOVE_AT simulated seconds.
sleep "$(awk -v a="$MOVE_AT" -v t0="$T0" -v now="$(date +%s.%N)" 'BEGIN{s = t0 + a - now; print (s > 0 ? s : 0)}')"
L2="$(date +%s.%N)"
ip -n "$NS" link set acc1 down
sleep "$L2_GAP"
[[ "$BREAK" == move ]] || ip -n "$NS" link set acc2 up
log "hybrid: L2 handover at $(awk -v a="$L2" -v t="$T0" 'BEGIN{printf "%.3f", a - t}') s"

# 5. The end of the simulation, then the MN's final record.
rc=0
wait "$SIM" || rc=$?
for p in "${PIDS[@]:1}"; do kill -TERM "$p" 2>/dev/null || true; done
wait_for 5 grep -q EXIT "$OUT/mn.events" || true
cleanup
awk -v t0="$T0" -v l2="$L2" -v scheme="$SCHEME" -v rate="$RATE" -v seed=1 \
  -v pk="$OUT/packets.csv" -f "$ROOT/emu/run/summary.awk" "$OUT/mn.events" |
  sed 's/^\([^,]*\),emu,/\1,hybrid,/' >"$OUT/summary.csv"

echo "---- ns-3 side (simulated seconds = seconds since t=0)"
grep -E "HA |end:|lag" "$OUT/hybrid.out" || true
echo "---- summary.csv"
cat "$OUT/summary.csv"

# 6. Checks.
[[ $rc == 0 ]] || fail "the ns-3 program exited $rc"
# No sanitizer report (an ASan tree's binaries).
if grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$OUT/hybrid.out" "$OUT/noded.err"; then
  fail "sanitizer report"
fi
grep -q "largest real-time lag" "$OUT/hybrid.out" || fail "no lag line"
rel() { awk -v a="$1" -v t="$T0" 'BEGIN{printf "%.3f", a - t}'; }
nba="$(grep -c 'BA_RECEIVED .*status=0' "$OUT/mn.events" || true)"
[[ "$nba" -ge 2 ]] || fail "the real MN got $nba BAs with status 0 (bootstrap + handover expected)"
grep -q 'IKE_COMPLETED .*status=0' "$OUT/mn.events" || fail "no IKE SA on the real MN"
grep -q 'SA_READY' "$OUT/mn.events" || fail "no SA_READY on the real MN"
# The HA's side of IKE: its IKE_AUTH response left, and the CHILD_SAs it
# negotiated were installed.
grep -q 'IKE_AUTH' "$OUT/ha-ike.log" || fail "no IKE_AUTH in the simulated HA's IKE log"
[[ "$(grep -c 'HA        ESP SA .* installed' "$OUT/hybrid.out")" -ge 2 ]] || fail "no ESP SAs installed on the simulated HA"
grep -q 'binding cache: 2001::5 -> 2003::' "$OUT/hybrid.out" || fail "the HA's binding did not move to foreign 2 (2003::/64)"
h1="$(grep 'HANDOVER index=1 ' "$OUT/mn.events" | tail -1)"
[[ "$h1" == *complete=1* ]] || fail "handover record incomplete: ${h1:-none}"
get() { echo "$h1" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
if [[ "$SCHEME" == msrd ]]; then
  [[ "$(get ike_sa_init)" == 0 && "$(get informational)" == 2 ]] ||
    fail "msrd: the handover should be one INFORMATIONAL exchange, not: $h1"
elif [[ "$SCHEME" == renegotiate ]]; then
  [[ "$(get ike_sa_init)" -ge 2 && "$(get ike_auth)" -ge 2 ]] ||
    fail "renegotiate: a new IKE SA (IKE_SA_INIT, IKE_AUTH) expected at the handover, not: $h1"
fi
row="$(sed -n 2p "$OUT/summary.csv")"
resumed="$(echo "$row" | cut -d, -f12)"
[[ -n "$resumed" ]] || fail "no CBR datagram reached the real MN after the move"
awk -v r="$resumed" -v l="$(rel "$L2")" 'BEGIN{exit !(r > l)}' || fail "traffic_resumed_s $resumed before the move"
boot_ba="$(grep 'BA_RECEIVED .*status=0' "$OUT/mn.events" | head -1 | cut -d' ' -f1)"
boot_sa="$(grep 'SA_READY' "$OUT/mn.events" | head -1 | cut -d' ' -f1)"
first_rx="$(awk -F, 'NR == 2 {print $1}' "$OUT/packets.csv")"
if command -v tshark >/dev/null 2>&1; then
  ar2="$OUT/hybrid-ar2-2.pcap"
  [[ -s "$ar2" ]] || fail "no pcap of AR2's access link"
  protos="$(tshark -r "$ar2" -T fields -e frame.protocols 2>/dev/null | sort -u | tr '\n' ' ')"
  [[ "$protos" == *esp* && "$protos" == *isakmp* ]] || fail "AR2's pcap lacks ESP/IKEv2: $protos"
  # Decrypted with the real MN's key logs (Wireshark's file names in
  # $OUT): the handover's BU (HAO) and BA (RH2) inside ESP.
  mh="$(WIRESHARK_CONFIG_DIR="$OUT" tshark -o esp.enable_encryption_decode:TRUE -r "$ar2" \
    -Y mipv6 -T fields -e mip6.mhtype 2>/dev/null | sort -u | tr '\n' ' ')"
  [[ "$mh" == *5* && "$mh" == *6* ]] || fail "no decrypted BU (5) and BA (6) on AR2's link: '$mh'"
fi
# Nothing left: the namespace (and with it acc1, acc2, mip6), the processes.
[[ ! -e "/run/netns/$NS" ]] || fail "namespace $NS left behind"
for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && fail "process $p left behind"; done
echo "---- outcome (seconds since the simulation's t=0)"
echo "bootstrap: IKE SA up (SA_READY) $(rel "$boot_sa") s, BA $(rel "$boot_ba") s; first CBR datagram at the real MN $first_rx s"
echo "handover: L2 $(rel "$L2") s, BA $(echo "$row" | cut -d, -f10) s, SA ready $(echo "$row" | cut -d, -f11) s, traffic resumed at the real MN $resumed s (recovery $(echo "$row" | cut -d, -f13) s)"
echo "PASS: hybrid $SCHEME (real MN in $NS, simulated HA/CN/ARs)"
