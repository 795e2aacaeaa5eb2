#!/usr/bin/env bash
# ctest emu.topo: the Fig. 6 testbed comes up (CN <-> HA, MN <-> AR over
# SLAAC from radvd), the MN moves to AR2's link and gets a new address
# there, and nothing is left behind afterwards -- also after a run that
# was killed with SIGKILL.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../topo/topo.sh
source "$HERE/../topo/topo.sh"
m6e_require || exit $?

if [[ "${1:-}" == --child ]]; then
  # The run that the parent kills with SIGKILL once it is built.
  m6e_init
  m6e_build 0
  m6e_radvd_start 0.5 1
  touch "/dev/shm/m6e-$M6E_RUN-msrd"
  echo built
  sleep 60
  exit 0
fi

# 1. A run killed with SIGKILL leaves everything behind ...
"$0" --child >"/tmp/m6e-topo-child.$$" 2>&1 &
child=$!
m6e_wait_for 20 grep -q built "/tmp/m6e-topo-child.$$" || m6e_die "child run did not build"
kill -KILL "$child"
wait "$child" 2>/dev/null || true
rm -f "/tmp/m6e-topo-child.$$"
[[ -n "$(m6e_leftovers "$child")" ]] || m6e_die "the killed run left nothing to reap (test is void)"
# ... which the next run reaps (its processes are in its namespaces).
m6e_init
[[ -z "$(m6e_leftovers "$child")" ]] || m6e_die "leftovers of killed run $child: $(m6e_leftovers "$child")"
for p in $(pgrep -x radvd || true); do
  if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "/$child/"; then
    m6e_die "radvd of run $child still alive"
  fi
done
echo "reaped the killed run $child"

# 2. This run's testbed.
m6e_build 1
m6e_radvd_start 0.5 1
m6e_in cn ping -6 -c1 -W2 -q "$M6E_HA" >/dev/null || m6e_die "CN -> HA"
m6e_in ha ping -6 -c1 -W2 -q "$M6E_CN" >/dev/null || m6e_die "HA -> CN"
echo "CN <-> HA ok"
# Link shaping: the qdisc a link's delay, loss and rate ask for, put on
# every wired and access link (the ARs' acc is a bridge: tbf works there).
[[ -z "$(m6e_link_qdisc 0 0 0)" ]] || m6e_die "m6e_link_qdisc 0 0 0: not empty"
[[ "$(m6e_link_qdisc 0 0 20)" == "tbf rate 20mbit burst 32kbit latency 100ms" ]] ||
  m6e_die "m6e_link_qdisc 0 0 20: $(m6e_link_qdisc 0 0 20)"
[[ "$(m6e_link_qdisc 5 1 20)" == "netem delay 5ms rate 20mbit loss 1%" ]] ||
  m6e_die "m6e_link_qdisc 5 1 20: $(m6e_link_qdisc 5 1 20)"
m6e_qdisc "$(m6e_link_qdisc 0 0 200)" "${M6E_WIRED_LINKS[@]}" "${M6E_ACCESS_LINKS[@]}"
for d in "${M6E_WIRED_LINKS[@]}" "${M6E_ACCESS_LINKS[@]}"; do
  ip netns exec "$(m6e_ns "${d% *}")" tc qdisc show dev "${d#* }" root | grep -q "tbf .*rate 200Mbit" ||
    m6e_die "no 200 Mbit/s tbf on ${d% *}/${d#* }"
done
echo "tbf on ${#M6E_WIRED_LINKS[@]} wired and ${#M6E_ACCESS_LINKS[@]} access interfaces"
m6e_wait_for 15 m6e_has_global mn1 || m6e_die "no SLAAC address on mn1"
coa1="$(m6e_mn_global mn1)"
[[ "$coa1" == 2001:db8:a1:* ]] || m6e_die "mn1 address $coa1 not from AR1's prefix"
m6e_in mn ping -6 -c1 -W2 -q "$M6E_AR1_ACC" >/dev/null || m6e_die "MN -> AR1"
m6e_in mn ping -6 -c1 -W2 -q -I "$coa1" "$M6E_CN" >/dev/null || m6e_die "MN (CoA $coa1) -> CN"
echo "SLAAC on foreign net 1: $coa1; MN <-> AR1, MN -> CN ok"

t="$(m6e_move 0.1)"
m6e_wait_for 15 m6e_has_global mn2 || m6e_die "no SLAAC address on mn2 after the move"
coa2="$(m6e_mn_global mn2)"
t2="$(date +%s.%N)"
[[ "$coa2" == 2001:db8:a2:* ]] || m6e_die "mn2 address $coa2 not from AR2's prefix"
[[ -z "$(m6e_mn_global mn1)" ]] || m6e_die "old address still on mn1"
m6e_in mn ping -6 -c1 -W2 -q "$M6E_AR2_ACC" >/dev/null || m6e_die "MN -> AR2"
m6e_in mn ping -6 -c1 -W2 -q -I "$coa2" "$M6E_CN" >/dev/null || m6e_die "MN (CoA $coa2) -> CN"
printf 'moved: %s -> %s, new address usable %.2f s after the L2 loss\n' "$coa1" "$coa2" "$(echo "$t2 - $t" | bc -l)"

# 3. Teardown leaves nothing.
run="$M6E_RUN"
m6e_teardown
trap - EXIT
left="$(m6e_leftovers "$run")"
[[ -z "$left" ]] || m6e_die "left behind: $left"
ip link show | grep -q -- "-$run" && m6e_die "links of run $run left"
echo "nothing left behind"
echo PASS
