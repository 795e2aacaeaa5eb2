#!/usr/bin/env bash
# bench/emu/esp-throughput.sh: userspace ESP throughput, mip6ike-iked's
# --tun data path against strongSwan's (charon with kernel-libipsec), in
# one run, on the same veth pair between two network namespaces
# (test/interop/netns.sh), same proposals (IKE aes128gcm16-prfsha256-x25519,
# ESP aes128gcm16 in UDP 4500, tunnel mode, PSK).  For each pair the
# traffic is iperf3 between the two selector addresses (loopbacks), which
# only the tunnel joins: UDP at an unlimited offered rate (the figure is
# what the receiver got: Mbit/s of payload, datagrams/s) and TCP.  Prints
# the figures in the bench format and the ratios iked / charon.
#
#   esp-throughput.sh BUILD_DIR [--seconds N] [--len OCTETS] [--no-tcp]
#                     [--rounds N]   (default 5 s, 1200, TCP on, 2 rounds:
#                     iked, charon, iked, charon; means printed)
#
# ./mip6ike bench --only emu-esp runs it.  Needs root (namespaces, TUN),
# iperf3 and strongSwan (the interop harness's packages); otherwise it
# says why and exits 0 without figures (exit 2: bad arguments).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROG="${M6B_PROG:-esp-throughput.sh}" BENCH=emu-esp
# shellcheck source=lib.sh
source "$HERE/lib.sh"
m6b_build_dir "$@"
shift
SECS=5 LEN=1200 TCP=1 ROUNDS=2
while [[ $# -gt 0 ]]; do
  case "$1" in
  --seconds | --len | --rounds)
    [[ $# -ge 2 ]] || usage_error "$1 needs a number"
    [[ "$2" =~ ^[0-9]+$ && "$2" -ge 1 ]] || usage_error "$1 wants a whole number >= 1, not '$2'"
    case "$1" in --seconds) SECS="$2" ;; --len) LEN="$2" ;; *) ROUNDS="$2" ;; esac
    shift
    ;;
  --no-tcp) TCP=0 ;;
  *) usage_error "unknown option '$1'" ;;
  esac
  shift
done
[[ $LEN -le 1400 ]] || usage_error "--len $LEN: at most 1400 octets (the tunnel's MTU)"
[[ "${M6B_CHECK_ONLY:-0}" == 1 ]] && exit 0

m6b_require_root
IKED="$BUILD/emu/mip6ike-iked"
[[ -x "$IKED" ]] || skip "$IKED not built"
command -v iperf3 >/dev/null 2>&1 || skip "iperf3 not installed"

# shellcheck disable=SC1091 # test/interop/netns.sh
source "$ROOT/test/interop/netns.sh"
# shellcheck disable=SC1091 # test/interop/charon.sh
source "$ROOT/test/interop/charon.sh"
# shellcheck disable=SC1091 # test/interop/cases.sh
source "$ROOT/test/interop/cases.sh"
# shellcheck disable=SC1091 # test/interop/iked.sh
source "$ROOT/test/interop/iked.sh"
# shellcheck disable=SC2034 # read by iked.sh
M6I_IKED="$IKED"
if ! out="$(m6i_require_root_netns)"; then skip "${out#SKIP: }"; fi
missing="$(m6i_charon_missing)"
[[ -z "$missing" ]] || skip "strongSwan missing: $missing"

m6i_tmp_init
m6i_netns_setup
IKEP=aes128gcm16-prfsha256-x25519
ESPP=aes128gcm16

# json_num FILE EXPR: a number from iperf3's JSON (python3: no jq needed).
json_num() {
  python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
v = d
for k in sys.argv[2].split("."):
    v = v[k]
print(v)' "$1" "$2"
}

# measure NAME: iperf3 UDP (and TCP) A -> B through whatever tunnel is up.
# Sets R_MBPS R_PPS R_LOSS R_TCP.
measure() {
  local name="$1" j="$M6I_TMP/$1"
  m6i_in B iperf3 -s -1 -B "$M6I_TS_B" -p 5201 >"$j-srv.log" 2>&1 &
  local srv=$!
  m6i_wait_for 5 bash -c "ip netns exec $(m6i_ns B) ss -Hltn 'sport = :5201' | grep -q ." ||
    m6i_die "$name: iperf3 server did not start"
  m6i_in A iperf3 -c "$M6I_TS_B" -B "$M6I_TS_A" -p 5201 -u -b 0 -l "$LEN" -t "$SECS" -J \
    >"$j-udp.json" 2>"$j-udp.err" || m6i_die "$name: iperf3 UDP failed: $(tail -c 300 "$j-udp.json")"
  wait "$srv" || true
  local bps pk lost secs
  bps="$(json_num "$j-udp.json" end.sum.bits_per_second)"
  pk="$(json_num "$j-udp.json" end.sum.packets)"
  lost="$(json_num "$j-udp.json" end.sum.lost_packets)"
  secs="$(json_num "$j-udp.json" end.sum.seconds)"
  # bits_per_second of the UDP sum is what the sender sent; the receiver
  # got (packets - lost) datagrams of LEN octets.
  R_PPS="$(awk -v p="$pk" -v l="$lost" -v s="$secs" 'BEGIN { printf "%.1f", (p - l) / s }')"
  R_MBPS="$(awk -v pps="$R_PPS" -v len="$LEN" 'BEGIN { printf "%.1f", pps * len * 8 / 1e6 }')"
  R_LOSS="$(awk -v p="$pk" -v l="$lost" 'BEGIN { printf "%.1f", p ? 100 * l / p : 0 }')"
  R_SENT="$(awk -v b="$bps" 'BEGIN { printf "%.1f", b / 1e6 }')"
  R_TCP=0
  if [[ $TCP -eq 1 ]]; then
    m6i_in B iperf3 -s -1 -B "$M6I_TS_B" -p 5202 >"$j-srv2.log" 2>&1 &
    srv=$!
    m6i_wait_for 5 bash -c "ip netns exec $(m6i_ns B) ss -Hltn 'sport = :5202' | grep -q ." ||
      m6i_die "$name: iperf3 server did not start"
    m6i_in A iperf3 -c "$M6I_TS_B" -B "$M6I_TS_A" -p 5202 -t "$SECS" -J \
      >"$j-tcp.json" 2>"$j-tcp.err" || m6i_die "$name: iperf3 TCP failed: $(tail -c 300 "$j-tcp.json")"
    wait "$srv" || true
    R_TCP="$(awk -v b="$(json_num "$j-tcp.json" end.sum_received.bits_per_second)" 'BEGIN { printf "%.1f", b / 1e6 }')"
  fi
}

# iked_round R: iked <-> iked, measured; appends to $M6I_TMP/iked.res.
iked_round() {
  local r="$1" pa pb
  m6i_log "emu-esp: round $r: iked <-> iked ($IKEP / $ESPP, --tun)"
  run_iked B role=responder once=no timeout=120 tun=m6b-tun "out=iked-b$r" \
    "ike_proposal=$IKEP" "esp_proposal=$ESPP"
  pb=$M6I_IKED_PID
  m6i_wait_for 10 m6i_udp_bound B 500 || m6i_die "iked responder did not bind UDP 500"
  run_iked A role=initiator once=no timeout=120 tun=m6b-tun "out=iked-a$r" \
    "ike_proposal=$IKEP" "esp_proposal=$ESPP"
  pa=$M6I_IKED_PID
  m6i_wait_for 10 grep -q '^CHILD_SA ' "$M6I_TMP/iked-a$r.out" ||
    m6i_die "iked: no CHILD_SA: $(tail -n 5 "$M6I_TMP/iked-a$r.out" "$M6I_TMP/iked-b$r.out")"
  m6i_in A ip -6 route replace "$M6I_TSNET_B" dev m6b-tun src "$M6I_TS_A"
  m6i_in B ip -6 route replace "$M6I_TSNET_A" dev m6b-tun src "$M6I_TS_B"
  m6i_in A ping -6 -c2 -i0.1 -W2 -q -I "$M6I_TS_A" "$M6I_TS_B" >/dev/null ||
    m6i_die "iked: no ping through the tunnel"
  measure "iked$r"
  echo "$R_MBPS $R_PPS $R_LOSS $R_SENT $R_TCP" >>"$M6I_TMP/iked.res"
  kill -TERM "$pa" "$pb" 2>/dev/null || true
  wait "$pa" 2>/dev/null || true
  wait "$pb" 2>/dev/null || true
  m6i_in A ip link del m6b-tun 2>/dev/null || true
  m6i_in B ip link del m6b-tun 2>/dev/null || true
}

# charon_round R: charon <-> charon (kernel-libipsec); $M6I_TMP/charon.res.
charon_round() {
  local r="$1"
  m6i_log "emu-esp: round $r: charon <-> charon ($IKEP / $ESPP, kernel-libipsec)"
  local common=(auth=psk "psk=$M6I_PSK" "ike_proposal=$IKEP" "esp_proposal=$ESPP")
  m6i_charon_peer "alice$r" A "${common[@]}"
  m6i_charon_peer "bob$r" B "${common[@]}"
  m6i_swanctl "alice$r" --initiate --child "$M6I_CHILD" --timeout 10 >"$M6I_TMP/initiate.out" 2>&1 ||
    m6i_die "alice: initiate failed: $(cat "$M6I_TMP/initiate.out")"
  m6i_check_pair "alice$r" "bob$r" M6I_GCM_IKE M6I_GCM_ESP >/dev/null 2>&1
  m6i_ping_tunnel
  measure "charon$r"
  echo "$R_MBPS $R_PPS $R_LOSS $R_SENT $R_TCP" >>"$M6I_TMP/charon.res"
  m6i_charon_stop "alice$r" || true
  m6i_charon_stop "bob$r" || true
}

# Alternate the two, ROUNDS times, so that a change in the machine's load
# (other builds) hits both alike; the figures are means over the rounds.
for ((r = 1; r <= ROUNDS; r++)); do
  iked_round "$r"
  charon_round "$r"
done
mean() { awk -v c="$2" '{ s += $c; n++ } END { printf "%.1f", n ? s / n : 0 }' "$1"; }
spread() { awk -v c="$2" 'NR == 1 || $c < lo { lo = $c } NR == 1 || $c > hi { hi = $c } END { printf "%.0f-%.0f", lo, hi }' "$1"; }
I_MBPS="$(mean "$M6I_TMP/iked.res" 1)" I_PPS="$(mean "$M6I_TMP/iked.res" 2)"
I_LOSS="$(mean "$M6I_TMP/iked.res" 3)" I_SENT="$(mean "$M6I_TMP/iked.res" 4)" I_TCP="$(mean "$M6I_TMP/iked.res" 5)"
C_MBPS="$(mean "$M6I_TMP/charon.res" 1)" C_PPS="$(mean "$M6I_TMP/charon.res" 2)"
C_LOSS="$(mean "$M6I_TMP/charon.res" 3)" C_SENT="$(mean "$M6I_TMP/charon.res" 4)" C_TCP="$(mean "$M6I_TMP/charon.res" 5)"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0) ? 100 * a / b : 0 }'; }
fig() { printf '%-48s %12.1f %s\n' "$1" "$2" "$3"; }
echo "emu-esp: $ESPP tunnel in UDP 4500, one veth, UDP $LEN-octet datagrams for ${SECS}s at an unlimited offered rate (received), TCP for ${SECS}s; means of $ROUNDS alternating round(s)"
fig "esp userspace iked<->iked UDP" "$I_MBPS" "Mbit/s"
fig "esp userspace iked<->iked UDP" "$I_PPS" "packets/s"
fig "esp userspace charon<->charon UDP (libipsec)" "$C_MBPS" "Mbit/s"
fig "esp userspace charon<->charon UDP (libipsec)" "$C_PPS" "packets/s"
fig "esp userspace UDP iked/charon" "$(ratio "$I_MBPS" "$C_MBPS")" "%"
if [[ $TCP -eq 1 ]]; then
  fig "esp userspace iked<->iked TCP" "$I_TCP" "Mbit/s"
  fig "esp userspace charon<->charon TCP (libipsec)" "$C_TCP" "Mbit/s"
  fig "esp userspace TCP iked/charon" "$(ratio "$I_TCP" "$C_TCP")" "%"
fi
echo "emu-esp: UDP offered/lost: iked ${I_SENT} Mbit/s sent, ${I_LOSS}% lost; charon ${C_SENT} Mbit/s sent, ${C_LOSS}% lost"
echo "emu-esp: per-round range (Mbit/s): iked UDP $(spread "$M6I_TMP/iked.res" 1), charon UDP $(spread "$M6I_TMP/charon.res" 1), iked TCP $(spread "$M6I_TMP/iked.res" 5), charon TCP $(spread "$M6I_TMP/charon.res" 5); load average $(cut -d' ' -f1-3 /proc/loadavg)"
