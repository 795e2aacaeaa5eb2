#!/usr/bin/env bash
# ctest emu.inject: malformed input to a running HA daemon (mip6ike-noded)
# from the CN's namespace -- garbage IKE datagrams on UDP 500 and 4500, a
# truncated and a garbage Mobility Header, an unprotected BU-like MH, ESP
# with an unknown SPI, a truncated ESP header -- is dropped, counted and
# logged; the daemon stays up and exits cleanly; nothing is left behind.
# Then the same node as three daemons (when mip6ike-mipd is built):
# mip6ike-ipsecd, mip6ike-mipd and mip6ike-iked on the HA; garbage IKE
# (iked: DROP where=ike), garbage / truncated / unprotected Mobility
# Headers (ipsecd hands plaintext MH no policy claims to mipd, which drops
# it: RFC 4877; truncated ones ipsecd drops itself), ESP with unknown SPIs
# (ipsecd), and pfkey-inject.py's malformed PF_KEY on ipsecd's socket;
# every daemon counts (STATS), logs (DROP / REFUSED / result<0), stays up
# and exits cleanly.
# usage: inject-test.sh BUILD_DIR
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="$1"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
m6e_test_require "$BUILD" emu/mip6ike-noded
m6e_test_state
m6e_build 0
m6e_in ha "$BUILD/emu/mip6ike-noded" --role ha --home-if h0 --scheme msrd --ha "$M6E_HA" \
  --home-prefix "$M6E_HOME_PREFIX/64" --psk k --tun mip6 --events "$OUT/ha.events" 2>"$OUT/ha.err" &
m6e_wait_for 5 grep -qs READY "$OUT/ha.events" || m6e_die "HA daemon did not start"
m6e_in cn python3 "$HERE/ike-mh-esp-inject.py" "$M6E_HA" injected
sleep 0.5
pids="$(ip netns pids "$(m6e_ns ha)")"
[[ -n "$pids" ]] || m6e_die "the HA daemon died: $(cat "$OUT/ha.err")"
for p in $pids; do kill -TERM "$p"; done
m6e_wait_for 5 grep -q EXIT "$OUT/ha.events" || m6e_die "the HA daemon did not exit cleanly"
# EXIT is its last line, not its end: the TUN mip6 the three daemons'
# ipsecd creates below is noded's until the process is gone (slow under
# ASan's leak check on a loaded machine).
ha_empty() { [[ -z "$(ip netns pids "$(m6e_ns ha)")" ]]; }
m6e_wait_for 5 ha_empty || m6e_die "the HA daemon did not go away after EXIT"
drops="$(grep -c ' DROP ' "$OUT/ha.events" || true)"
stats="$(grep ' STATS ' "$OUT/ha.events")"
echo "$stats" | cut -d' ' -f2-
echo "DROP events: $drops"
[[ "$drops" -ge 8 ]] || m6e_die "expected the MH and ESP injections as DROP events"
get() { echo "$stats" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
[[ "$(get ike_dropped)" -ge 1 ]] || m6e_die "IKE garbage not counted"
[[ "$(get drop_no_sa)" -ge 2 ]] || m6e_die "ESP with unknown SPIs not counted"
if grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$OUT/ha.err"; then m6e_die "sanitizer report"; fi

if [[ -x "$BUILD/emu/mip6ike-mipd" && -x "$BUILD/emu/mip6ike-ipsecd" ]]; then
  echo "--- three daemons"
  dir="$M6E_STATE/ha" shm="/m6e-$M6E_RUN-ha-msrd"
  mkdir -p "$dir"
  com=(--scheme msrd --ha "$M6E_HA" --home-prefix "$M6E_HOME_PREFIX/64")
  m6e_in ha "$BUILD/emu/mip6ike-ipsecd" --socket "$dir/pfkey" --mh "$dir/mh" --tun mip6 --role ha \
    --msrd "$shm" --events "$OUT/ha-ipsecd.events" 2>"$OUT/ha3.err" &
  m6e_wait_for 5 grep -qs READY "$OUT/ha-ipsecd.events" || m6e_die "ipsecd did not start: $(cat "$OUT/ha3.err")"
  m6e_in ha "$BUILD/emu/mip6ike-mipd" --role ha --home-if h0 "${com[@]}" --pfkey "$dir/pfkey" --mh "$dir/mh" \
    --msrd-shm "$shm" --tun mip6 --events "$OUT/ha-mipd.events" 2>>"$OUT/ha3.err" &
  m6e_wait_for 5 grep -qs READY "$OUT/ha-mipd.events" || m6e_die "mipd did not start: $(cat "$OUT/ha3.err")"
  m6e_in ha "$BUILD/emu/mip6ike-iked" --role ha "${com[@]}" --pfkey "$dir/pfkey" --msrd-shm "$shm" --psk k \
    --events "$OUT/ha-iked.events" 2>>"$OUT/ha3.err" &
  m6e_wait_for 5 grep -qs READY "$OUT/ha-iked.events" || m6e_die "iked did not start: $(cat "$OUT/ha3.err")"
  m6e_in cn python3 "$HERE/ike-mh-esp-inject.py" "$M6E_HA" "injected (IKE, MH, ESP)"
  python3 "$HERE/pfkey-inject.py" "$dir/pfkey" >"$OUT/pfkey-inject.out" || { cat "$OUT/pfkey-inject.out"; m6e_die "PF_KEY injection"; }
  echo "injected (PF_KEY: $(grep -c '^ok' "$OUT/pfkey-inject.out") cases)"
  sleep 0.5
  # the daemons by name among the namespace's processes
  daemon_pid() { m6e_daemon_pid ha "mip6ike-$1"; }
  for d in ipsecd mipd iked; do
    [[ -n "$(daemon_pid $d)" ]] || m6e_die "$d died: $(cat "$OUT/ha3.err")"
  done
  for d in iked mipd ipsecd; do
    kill -TERM "$(daemon_pid $d)" 2>/dev/null || true
    m6e_wait_for 5 grep -q ' EXIT' "$OUT/ha-$d.events" || m6e_die "$d did not exit cleanly"
  done
  g3() { grep ' STATS ' "$OUT/ha-$1.events" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
  for d in ipsecd mipd iked; do echo "$d: $(grep ' STATS ' "$OUT/ha-$d.events" | cut -d' ' -f3-)"; done
  [[ "$(g3 iked ike_dropped)" -ge 5 ]] || m6e_die "iked: IKE garbage not counted"
  [[ "$(grep -c 'DROP where=ike' "$OUT/ha-iked.events")" -ge 5 ]] || m6e_die "iked: IKE garbage not logged"
  [[ "$(g3 mipd drop_unprotected)" -ge 2 ]] || m6e_die "mipd: unprotected MH not counted"
  [[ "$(grep -c 'DROP where=mh_in' "$OUT/ha-mipd.events")" -ge 2 ]] || m6e_die "mipd: unprotected MH not logged"
  [[ "$(g3 ipsecd drop_no_sa)" -ge 2 ]] || m6e_die "ipsecd: ESP with unknown SPIs not counted"
  [[ "$(g3 ipsecd pfkey_refused)" -ge 58 && "$(g3 ipsecd pfkey_framing)" -ge 9 ]] || m6e_die "ipsecd: PF_KEY refusals not counted"
  [[ "$(grep -c 'DROP where=esp_in' "$OUT/ha-ipsecd.events")" -ge 2 ]] || m6e_die "ipsecd: ESP drops not logged"
  if grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$OUT/ha3.err"; then m6e_die "sanitizer report"; fi
  [[ ! -e "/dev/shm$shm" && ! -e "$dir/pfkey" && ! -e "$dir/mh" ]] || m6e_die "daemons left their shm or sockets"
else
  echo "three-daemon part skipped: $BUILD/emu/mip6ike-mipd not built (the core's m6ike_mobility)"
fi
run="$M6E_RUN"
m6e_teardown
trap - EXIT
[[ -z "$(m6e_leftovers "$run")" ]] || m6e_die "left behind"
echo PASS
