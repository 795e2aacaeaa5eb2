#!/usr/bin/env bash
# ctest emu.ipsecd-datapath: mip6ike-ipsecd's userspace ESP data path,
# without the mobility and key-management daemons.  Two namespaces A and B
# joined by a veth; an ipsecd in each (TUN device, raw/packet sockets,
# PF_KEY socket); mip6ike-pfkey-manual installs, through PF_KEY, the
# tunnel policies (MOBILITY role) and the SAs (KEY_MANAGER role) of an
# ESP tunnel between the veth addresses for the inner prefixes on the TUN
# devices.  A ping from A's inner address to B's must come back, and both
# ipsecds must count ESP out and in and packets into the TUN; then a
# packet no policy protects is not sent (drop_bypass); nothing is left.
# usage: ipsecd-datapath-test.sh BUILD_DIR
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="$1"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
m6e_test_require "$BUILD" emu/mip6ike-ipsecd emu/mip6ike-pfkey-manual
m6e_test_state
A=2001:db8:ff::1 B=2001:db8:ff::2
m6e_veth_pair dpa "$A/64" dpb "$B/64"
for n in dpa dpb; do
  m6e_in $n nft -f - <<NFT 2>/dev/null || true
table ip6 m6e { chain pre { type filter hook prerouting priority -300; policy accept; ip6 nexthdr 50 drop; } }
NFT
  mkdir -p "$OUT/$n"
  m6e_in $n "$BUILD/emu/mip6ike-ipsecd" --socket "$OUT/$n/pfkey" --mh "$OUT/$n/mh" --tun mip6 --role ha \
    --events "$OUT/$n.events" 2>"$OUT/$n.err" &
  m6e_wait_for 5 grep -qs READY "$OUT/$n.events" || m6e_die "$n: ipsecd did not start: $(cat "$OUT/$n.err")"
done
ip -n "$(m6e_ns dpa)" -6 addr add 2001:db8:aa::1/128 dev mip6 nodad
ip -n "$(m6e_ns dpb)" -6 addr add 2001:db8:bb::1/128 dev mip6 nodad
ip -n "$(m6e_ns dpa)" -6 route add 2001:db8:bb::/64 dev mip6 src 2001:db8:aa::1
ip -n "$(m6e_ns dpb)" -6 route add 2001:db8:aa::/64 dev mip6 src 2001:db8:bb::1
"$BUILD/emu/mip6ike-pfkey-manual" "$OUT/dpa/pfkey" $A $B 2001:db8:aa::/64 2001:db8:bb::/64 1001 2002 ||
  m6e_die "PF_KEY setup of A"
"$BUILD/emu/mip6ike-pfkey-manual" "$OUT/dpb/pfkey" $B $A 2001:db8:bb::/64 2001:db8:aa::/64 2002 1001 ||
  m6e_die "PF_KEY setup of B"
m6e_in dpa ping -6 -c 3 -i 0.2 -W 2 -I 2001:db8:aa::1 2001:db8:bb::1 || m6e_die "no ping through the ESP tunnel"
# no policy for this destination: the packet must not leave the tunnel
ip -n "$(m6e_ns dpa)" -6 route add 2001:db8:cc::/64 dev mip6 src 2001:db8:aa::1
m6e_in dpa ping -6 -c 1 -W 1 -I 2001:db8:aa::1 2001:db8:cc::1 >/dev/null 2>&1 || true
for n in dpa dpb; do
  kill -TERM "$(m6e_daemon_pid $n mip6ike-ipsecd)"
  m6e_wait_for 5 grep -q ' EXIT' "$OUT/$n.events" || m6e_die "$n: no clean exit"
done
get() { grep ' STATS ' "$OUT/$1.events" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
for n in dpa dpb; do
  echo "$n: tun_in=$(get $n tun_in) esp_out=$(get $n esp_out) esp_in=$(get $n esp_in) tun_out=$(get $n tun_out) drop_bypass=$(get $n drop_bypass) pfkey_msgs=$(get $n pfkey_msgs) pfkey_refused=$(get $n pfkey_refused)"
  [[ "$(get $n esp_out)" -ge 3 && "$(get $n esp_in)" -ge 3 && "$(get $n tun_out)" -ge 3 ]] || m6e_die "$n: ESP not counted both ways"
  [[ "$(get $n pfkey_refused)" == 0 ]] || m6e_die "$n: PF_KEY refusals"
done
[[ "$(get dpa drop_bypass)" -ge 1 ]] || m6e_die "an unprotected packet left the tunnel"
if grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$OUT"/*.err; then m6e_die "sanitizer report"; fi
run="$M6E_RUN"
m6e_teardown
trap - EXIT
[[ -z "$(m6e_leftovers "$run")" ]] || m6e_die "left behind: $(m6e_leftovers "$run")"
echo PASS
