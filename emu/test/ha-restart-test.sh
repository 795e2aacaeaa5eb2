#!/usr/bin/env bash
# ctest emu.ha-restart[-three][-renegotiate] (issue 5 section 5): the HA's
# daemon (arch=one: noded; arch=three: ipsecd, mipd and iked, their
# sockets and MSRD segment left behind as a crash leaves them) is killed
# (SIGKILL) mid-flow, after the handover, and started again with nothing
# (no binding, no SAs, no IKE SA); the MN must re-register and IKE recover.
#
# What the protocols give the MN here: its ESP to the HA now meets SPIs the
# HA does not know (dropped), and IKE to the old IKE SA gets at most an
# unprotected INVALID_IKE_SPI (RFC 7296 section 2.21.4: not to be acted
# on).  The signal it can trust is RFC 6275's: its binding refresh (due at
# 90 % of the granted lifetime, here 4 s) is not acknowledged.  The
# runner gives the MN a 4 s binding lifetime and --reregister-after 2 (the
# core's ha_lost_after, agent.h HA LOST): after 2 unanswered refresh
# retransmissions (1 s, then 2 s: RFC 6275 section 11.8's back-off) the
# MN's mobility side reports HA_LOST and registers anew from the CoA with
# a new MSRD entry; its key manager forgets the old IKE SA and bootstraps a
# new one (IKE_SA_INIT + IKE_AUTH), then a first home registration.
# Checks:
#  - the HA was killed and came back (two READY lines);
#  - MN: HA_LOST after the kill, a new IKE SA (2 IKE_SA_INIT + 2 IKE_AUTH
#    in the record that follows, complete) and a BA with status 0; HA: a
#    binding created after its restart; arch=three: the restarted mipd
#    removed the stale MSRD segment;
#  - the flow stopped while the HA had no state and resumed after the
#    re-registration; prints the recovery time (kill -> first datagram).
#  - nothing of the run is left.
# usage: ha-restart-test.sh BUILD_DIR [SCHEME [one|three [extra runner args...]]]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="$1" SCHEME="${2:-msrd}" ARCH="${3:-one}"
shift $(($# >= 3 ? 3 : $#))
case "$ARCH" in one) daemons=(emu/mip6ike-noded) ;; three) daemons=(emu/mip6ike-ipsecd emu/mip6ike-mipd emu/mip6ike-iked) ;;
*) echo "usage: $0 BUILD_DIR [SCHEME [one|three ...]]"; exit 2 ;; esac
# shellcheck source=lib.sh
source "$HERE/lib.sh"
m6e_test_require "$BUILD" --radvd "${daemons[@]}" emu/mip6ike-cbr emu/mip6ike-pcap
m6e_test_out m6e-test
M6E_FAIL_HIDE=' (LOG|DROP) ' M6E_FAIL_COLS=160 M6E_FAIL_LINES=25

"$HERE/../run/emu-run.sh" "$BUILD" handover --set scheme="$SCHEME" --set rate_kbps=200 \
  --set handover_at=1 --set dad_transmits=0 --set duration=15 \
  --set arch="$ARCH" --set lifetime=1 --set reregister_after=2 --set ha_restart_at=5 "$@" --out "$OUT" &
run=$!
wait "$run" || fail "emu-run.sh exited $?"

# No sanitizer report from the daemons (an ASan build's run.log): the MN's
# daemons recovered inside the core.
if grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$OUT/run.log"; then fail "sanitizer report"; fi
# The fault happened.
killed="$(awk '$2 == "HA_KILLED" { print $1 }' "$OUT/ha.events")"
killed_rel="$(awk '$2 == "HA_KILLED" { sub("flow_time=", "", $3); print $3 }' "$OUT/ha.events")"
[[ -n "$killed" && -n "$killed_rel" ]] || fail "the HA was not killed"
[[ "$(awk '$2 == "READY"' "$OUT/ha.events" | wc -l)" -eq 2 ]] || fail "the HA daemon did not start twice"
if [[ "$ARCH" == three ]]; then
  grep -q ' MSRD_STALE_REMOVED ' "$OUT/ha.events" || fail "the restarted mipd did not remove the crashed one's MSRD segment"
fi
back="$(awk '$2 == "READY" { t = $1 } END { print t }' "$OUT/ha.events")"
# Before the kill: the handover was complete.
awk -v k="$killed" '$2 == "HANDOVER" && $3 == "index=1" && $0 ~ /complete=1/ && $1 < k { ok = 1 } END { exit !ok }' \
  "$OUT/mn.events" || fail "the handover was not complete before the kill"
# The MN noticed and bootstrapped again.
lost="$(awk -v k="$killed" '$2 == "HA_LOST" && $1 > k { print $1; exit }' "$OUT/mn.events")"
[[ -n "$lost" ]] || fail "the MN did not notice that the HA lost its state (no HA_LOST)"
reboot="$lost"
ba="$(awk -v r="$reboot" '$2 == "BA_RECEIVED" && $1 > r && /status=0/ { print $1; exit }' "$OUT/mn.events")"
[[ -n "$ba" ]] || fail "no BA with status 0 after the re-bootstrap"
# the record the core started at HA_LOST (its index follows the handover's)
idx="$(awk -v r="$reboot" '$2 == "COA_SET" && $1 >= r { print 1; exit }' "$OUT/mn.events")"
[[ -n "$idx" ]] || fail "no new registration (COA_SET) after HA_LOST"
rec="$(awk -v r="$reboot" '$2 == "HANDOVER" && $1 > r && $3 != "index=0" && $3 != "index=1" { l = $0 } END { print l }' "$OUT/mn.events")"
[[ "$rec" == *complete=1* ]] || fail "the new registration's record is not complete: $rec"
if [[ "$SCHEME" != static ]]; then
  ri="${rec#*index=}"; ri="${ri%% *}"
  ike="$rec"
  if [[ "$ARCH" == three ]]; then # the key manager's counts: HANDOVER_IKE
    ike="$(awk -v i="index=$ri" '$2 == "HANDOVER_IKE" && $3 == i' "$OUT/mn.events" | tail -1)"
  fi
  [[ "$ike" == *" ike_sa_init=2 "* && "$ike" == *" ike_auth=2 "* ]] ||
    fail "no new IKE SA (IKE_SA_INIT + IKE_AUTH) in the re-registration: $ike"
fi
awk -v b="$back" '$2 == "BINDING_UPDATED" && $1 > b && /status=0/ { ok = 1 } END { exit !ok }' "$OUT/ha.events" ||
  fail "the restarted HA created no binding"
# The flow: stopped while the HA had no state, back after the BA.
t0="$(awk -v a="$killed" -v r="$killed_rel" 'BEGIN { printf "%.9f", a - r }')"
during="$(awk -F, -v t0="$t0" -v k="$killed" -v r="$reboot" 'NR > 1 && $1 + t0 > k + 0.05 && $1 + t0 < r { n++ } END { print n + 0 }' "$OUT/packets.csv")"
[[ "$during" -eq 0 ]] || fail "$during datagrams arrived while the HA had no binding (the fault did not bite)"
resumed="$(awk -F, -v t0="$t0" -v r="$reboot" 'NR > 1 && $1 + t0 > r { printf "%.9f", $1 + t0; exit }' "$OUT/packets.csv")"
[[ -n "$resumed" ]] || fail "the flow did not resume after the re-registration"
awk -v k="$killed" -v x="$resumed" 'BEGIN { exit !(x - k > 0 && x - k < 10) }' || fail "recovery out of (0, 10) s"
awk -v arch="$ARCH" -v k="$killed" -v b="$back" -v l="$lost" -v ba="$ba" -v x="$resumed" 'BEGIN {
  printf "ha-restart (" arch "): HA killed at 0; back +%.3f s; MN noticed (2 unanswered refresh retransmissions) +%.3f s; new IKE SA and BA +%.3f s; traffic resumed +%.3f s = recovery time\n",
    b - k, l - k, ba - k, x - k }'
[[ -z "$(m6e_leftovers "$run")" ]] || fail "the run left: $(m6e_leftovers "$run")"
echo "PASS: emu.ha-restart ($SCHEME, arch=$ARCH)"
