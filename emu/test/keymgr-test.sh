#!/usr/bin/env bash
# ctest emu.daemons-keymgr: the key-management daemon over PF_KEY, without
# the mobility daemon.  Two namespaces (MN, HA) on one veth, an ipsecd in
# each; the MSRD written by mip6ike-msrd-shm (the MN's entry: HoA, CoA,
# HA), an iked in key-manager mode in each (--pfkey, --msrd-shm).  As the
# mobility side would, mip6ike-pfkey-manual sends ACQUIRE + Reference(MPI)
# on the MN's bus:
#   bootstrap: IKE_SA_INIT + IKE_AUTH + CREATE_CHILD_SA between the icked
#     daemons, and each side's SAs installed with SADB_ADD through its
#     ipsecd (accepted by the kernel side, 4 per node);
#   direct update: the writer moves the CoA in the MSRD, a second ACQUIRE
#     with the same MPI: one INFORMATIONAL exchange (2 messages), no new
#     IKE_SA_INIT, and SADB_UPDATE (SA-move) on both nodes.
# Then all daemons exit cleanly and nothing is left.
# usage: keymgr-test.sh BUILD_DIR
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="$1"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
m6e_test_require "$BUILD" emu/mip6ike-ipsecd emu/mip6ike-iked emu/mip6ike-pfkey-manual emu/mip6ike-msrd-shm
probe="$("$BUILD/emu/mip6ike-iked" --pfkey /nonexistent --msrd-shm /x 2>&1 || true)"
if [[ "$probe" == *"no m6ike_keymgr"* ]]; then
  echo "SKIP: mip6ike-iked built without the core's m6ike_keymgr (wip/split)"
  exit 77
fi
m6e_test_state
HA=2001:db8:1::1 HOA=2001:db8:1::100 COA=2001:db8:a1::5 COA2=2001:db8:a2::7
m6e_veth_pair kmn "$COA/64" kha "$HA/64"
ip -n "$(m6e_ns kmn)" -6 route add "$HA/128" dev v0
ip -n "$(m6e_ns kha)" -6 route add 2001:db8:a1::/64 dev v0
ip -n "$(m6e_ns kha)" -6 route add 2001:db8:a2::/64 dev v0
coproc W { "$BUILD/emu/mip6ike-msrd-shm" writer "/m6e-$M6E_RUN-kmn-msrd" "$HOA" "$COA" "$HA"; }
read -r -t 5 word mpi <&"${W[0]}" || m6e_die "MSRD writer did not start"
# the HA's MSRD (its iked only attaches it): a second writer fed by a fifo
mkfifo "$OUT/wh"
"$BUILD/emu/mip6ike-msrd-shm" writer "/m6e-$M6E_RUN-kha-msrd" "$HOA" "$COA" "$HA" <"$OUT/wh" >"$OUT/wh.out" &
exec {WH}>"$OUT/wh"
m6e_wait_for 5 grep -qs MPI "$OUT/wh.out" || m6e_die "HA MSRD writer did not start"
com=(--scheme msrd --ha "$HA" --home-prefix 2001:db8:1::/64 --psk "key manager test")
for n in kha kmn; do
  mkdir -p "$OUT/$n"
  m6e_in $n "$BUILD/emu/mip6ike-ipsecd" --socket "$OUT/$n/pfkey" --mh "$OUT/$n/mh" --tun mip6 \
    --msrd "/m6e-$M6E_RUN-$n-msrd" --events "$OUT/$n-ipsecd.events" 2>>"$OUT/err" &
  m6e_wait_for 5 grep -qs READY "$OUT/$n-ipsecd.events" || m6e_die "$n: ipsecd did not start"
  role=(--role ha)
  [[ $n == kmn ]] && role=(--role mn --hoa "$HOA")
  m6e_in $n "$BUILD/emu/mip6ike-iked" "${role[@]}" "${com[@]}" --pfkey "$OUT/$n/pfkey" \
    --msrd-shm "/m6e-$M6E_RUN-$n-msrd" --events "$OUT/$n-iked.events" \
    --keylog-ike "$OUT/$n-ikev2_decryption_table" --keylog-esp "$OUT/$n-esp_sa" 2>>"$OUT/err" &
  m6e_wait_for 5 grep -qs READY "$OUT/$n-iked.events" || m6e_die "$n: iked did not start: $(cat "$OUT/err")"
done
adds() { grep -c "PFKEY ep=.* type=3 .*result=[0-9]" "$OUT/$1-ipsecd.events" || true; }
upds() { grep -c "PFKEY ep=.* type=2 .*result=[0-9]" "$OUT/$1-ipsecd.events" || true; }
lastc() { grep ' IKE_COUNTS ' "$OUT/kmn-iked.events" | tail -1 | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# bootstrap
"$BUILD/emu/mip6ike-pfkey-manual" acquire "$OUT/kmn/pfkey" "$COA" "$HA" "$mpi" || m6e_die "ACQUIRE refused"
m6e_wait_for 10 bash -c "[[ \$(grep -c 'type=3 .*result=[0-9]' '$OUT/kha-ipsecd.events') -ge 4 && \$(grep -c 'type=3 .*result=[0-9]' '$OUT/kmn-ipsecd.events') -ge 4 ]]" ||
  m6e_die "bootstrap: SAs not ADDed (MN $(adds kmn), HA $(adds kha)); $(tail -5 "$OUT/kmn-iked.events")"
sleep 0.2
echo "bootstrap: ADDs MN $(adds kmn) HA $(adds kha); IKE msgs=$(lastc msgs) ike_sa_init=$(lastc ike_sa_init) ike_auth=$(lastc ike_auth) create_child_sa=$(lastc create_child_sa)"
[[ "$(lastc ike_sa_init)" == 2 && "$(lastc ike_auth)" == 2 ]] || m6e_die "bootstrap: IKE_SA_INIT/IKE_AUTH expected once each way"
i0="$(lastc informational)" s0="$(lastc ike_sa_init)"
# direct update
ip -n "$(m6e_ns kmn)" -6 addr add "$COA2/64" dev v0 nodad
echo "coa $COA2" >&"${W[1]}"
read -r -t 5 word rv <&"${W[0]}" || m6e_die "MSRD update"
"$BUILD/emu/mip6ike-pfkey-manual" acquire "$OUT/kmn/pfkey" "$COA2" "$HA" "$mpi" || m6e_die "second ACQUIRE refused"
m6e_wait_for 5 bash -c "[[ \$(grep -c 'type=2 .*result=[0-9]' '$OUT/kha-ipsecd.events') -ge 1 && \$(grep -c 'type=2 .*result=[0-9]' '$OUT/kmn-ipsecd.events') -ge 1 ]]" ||
  m6e_die "direct update: no SADB_UPDATE (MN $(upds kmn), HA $(upds kha)); $(tail -5 "$OUT/kmn-iked.events")"
sleep 0.3
echo "direct update: UPDATEs MN $(upds kmn) HA $(upds kha); INFORMATIONAL +$(($(lastc informational) - i0)), IKE_SA_INIT +$(($(lastc ike_sa_init) - s0))"
[[ $(($(lastc informational) - i0)) == 2 && "$(lastc ike_sa_init)" == "$s0" ]] || m6e_die "direct update: 2 INFORMATIONAL and no IKE_SA_INIT expected"
for n in kmn kha; do
  for d in mip6ike-iked mip6ike-ipsecd; do
    kill -TERM $(m6e_daemon_pid $n $d) 2>/dev/null || true
  done
done
for f in kmn-iked kha-iked kmn-ipsecd kha-ipsecd; do
  m6e_wait_for 5 grep -q ' EXIT' "$OUT/$f.events" || m6e_die "$f: no clean exit"
done
grep ' STATS ' "$OUT/kmn-iked.events" | cut -d' ' -f2-
[[ -s "$OUT/kmn-ikev2_decryption_table" && -s "$OUT/kmn-esp_sa" ]] || m6e_die "no key logs"
if grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$OUT/err"; then m6e_die "sanitizer report"; fi
exec {W[1]}>&- {WH}>&-
wait
run="$M6E_RUN"
m6e_teardown
trap - EXIT
[[ -z "$(m6e_leftovers "$run")" ]] || m6e_die "left behind: $(m6e_leftovers "$run")"
echo PASS
