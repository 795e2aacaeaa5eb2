#!/usr/bin/env bash
# ctest emu.mipd-inject: malformed input straight at mip6ike-mipd (HA),
# with a stand-in for ipsecd (test/mipd-inject.py) on both of mipd's
# sockets: MH socket records that break the framing (short, unknown kind,
# reserved octets set, length not the IPv6 packet's, a SENT with a
# packet), garbage and truncated Mobility Headers marked as having come
# under ESP (so they reach the core's MH parser), an unprotected one, and
# garbage PF_KEY messages.  mipd must count them (STATS mh_malformed,
# drop_mh, drop_unprotected, pfkey_bad), log them (DROP ... / PFKEY ...),
# stay up, and exit cleanly, removing its shm segment.
# usage: mipd-inject-test.sh BUILD_DIR
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="$1"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
m6e_test_require "$BUILD" emu/mip6ike-mipd
m6e_test_state
ns="$(m6e_ns mi)"
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" tuntap add mode tun name mip6
ip -n "$ns" link set mip6 up
shm="/m6e-$M6E_RUN-mi-msrd"
python3 "$HERE/mipd-inject.py" "$OUT/pfkey" "$OUT/mh" >"$OUT/inject.out" 2>&1 &
py=$!
m6e_wait_for 5 test -S "$OUT/mh" || m6e_die "stand-in did not start"
m6e_in mi "$BUILD/emu/mip6ike-mipd" --role ha --scheme msrd --ha 2001:db8:1::1 --home-prefix 2001:db8:1::/64 \
  --home-if lo --pfkey "$OUT/pfkey" --mh "$OUT/mh" --msrd-shm "$shm" --tun mip6 \
  --events "$OUT/mipd.events" 2>"$OUT/mipd.err" &
m6e_wait_for 10 grep -qs '^sent' "$OUT/inject.out" || { cat "$OUT/inject.out"; m6e_die "the stand-in failed"; }
cat "$OUT/inject.out"
pid=""
for p in $(ip netns pids "$ns"); do [[ "$(cat "/proc/$p/comm")" == mip6ike-mipd ]] && pid=$p; done
[[ -n "$pid" ]] || m6e_die "mipd died: $(cat "$OUT/mipd.err")"
kill -TERM "$pid"
m6e_wait_for 5 grep -q ' EXIT' "$OUT/mipd.events" || m6e_die "mipd did not exit cleanly"
wait "$py" || m6e_die "the stand-in: $(cat "$OUT/inject.out")"
st="$(grep ' STATS ' "$OUT/mipd.events")"
echo "$st" | cut -d' ' -f2-
get() { echo "$st" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
[[ "$(get mh_malformed)" -ge 5 ]] || m6e_die "malformed MH socket records not counted"
[[ "$(get drop_mh)" -ge 3 ]] || m6e_die "malformed Mobility Headers not counted"
[[ "$(get drop_unprotected)" -ge 1 ]] || m6e_die "unprotected MH not counted"
[[ "$(get pfkey_bad)" -ge 2 ]] || m6e_die "garbage PF_KEY not counted"
[[ "$(grep -c 'DROP where=mh_sock' "$OUT/mipd.events")" -ge 5 ]] || m6e_die "bad records not logged"
[[ "$(grep -c 'DROP where=mh_in' "$OUT/mipd.events")" -ge 4 ]] || m6e_die "bad MH not logged"
[[ ! -e "/dev/shm$shm" ]] || m6e_die "mipd left its MSRD segment"
if grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$OUT/mipd.err"; then m6e_die "sanitizer report"; fi
run="$M6E_RUN"
m6e_teardown
trap - EXIT
[[ -z "$(m6e_leftovers "$run")" ]] || m6e_die "left behind"
echo PASS
