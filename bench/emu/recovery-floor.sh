#!/usr/bin/env bash
# bench/emu/recovery-floor.sh: handover recovery time in the Linux
# emulation (emu/run/emu-run.sh, what `./mip6ike emu handover` runs) on
# zero-delay links, against its floor: the movement detection time of the
# same run (L2 handover start -> the first RA route on the new link) plus
# one MN-HA round trip, measured with ping6 from the MN's new CoA to the
# HA in the same run, right after the handover (while the namespaces are
# up).  Prints, per scheme, recovery, floor and the overhead above it,
# and the overhead's parts (address configuration after the RA, BU -> BA,
# BA -> first payload), in the bench format; with --runs N, means.
#
#   recovery-floor.sh BUILD_DIR [--schemes msrd,renegotiate] [--runs N]
#                     [--rate KBPS]
#
# ./mip6ike bench --only emu-recovery runs it.  Needs root; otherwise it
# says why and exits 0 without figures (exit 2: bad arguments).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROG="${M6B_PROG:-recovery-floor.sh}" BENCH=emu-recovery
# shellcheck source=lib.sh
source "$HERE/lib.sh"
m6b_build_dir "$@"
shift
SCHEMES=msrd,renegotiate RUNS=1 RATE=1000
while [[ $# -gt 0 ]]; do
  case "$1" in
  --schemes | --runs | --rate)
    [[ $# -ge 2 ]] || usage_error "$1 needs a value"
    case "$1" in
    --schemes) SCHEMES="$2" ;;
    --runs)
      [[ "$2" =~ ^[0-9]+$ && "$2" -ge 1 ]] || usage_error "--runs wants a whole number >= 1, not '$2'"
      RUNS="$2"
      ;;
    --rate)
      [[ "$2" =~ ^[0-9]+$ && "$2" -ge 1 ]] || usage_error "--rate wants kbit/s >= 1, not '$2'"
      RATE="$2"
      ;;
    esac
    shift
    ;;
  *) usage_error "unknown option '$1'" ;;
  esac
  shift
done
IFS=, read -r -a scheme_list <<<"$SCHEMES"
[[ ${#scheme_list[@]} -gt 0 ]] || usage_error "--schemes is empty"
for s in "${scheme_list[@]}"; do
  [[ -n "$s" ]] || usage_error "--schemes: an empty name in '$SCHEMES'"
  case "$s" in
  msrd | renegotiate | migrate | migrate-kmaddress | mobike | static) ;;
  *) usage_error "--schemes: unknown scheme '$s'" ;;
  esac
done
[[ "${M6B_CHECK_ONLY:-0}" == 1 ]] && exit 0

m6b_require_root
for b in mip6ike-noded mip6ike-cbr mip6ike-ipsecd mip6ike-mipd mip6ike-iked; do
  [[ -x "$BUILD/emu/$b" ]] || skip "$BUILD/emu/$b not built"
done

TMP="$(mktemp -d /tmp/m6b-recovery.XXXXXX)"
RUNNER=""
cleanup() {
  [[ -n "$RUNNER" ]] && kill -TERM "$RUNNER" 2>/dev/null && wait "$RUNNER" 2>/dev/null
  [[ "${M6B_KEEP:-0}" == 1 ]] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

HA_ADDR="2001:db8:1::1" # emu/topo/topo.sh M6E_HA

# col FILE NAME: the first data row's value of column NAME of a summary.csv.
col() {
  awk -F, -v n="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == n) c = i; next }
    NR == 2 { print $c; exit }' "$1"
}

# one SCHEME K: one emulated handover; appends "recovery movement rtt
# ra_coa bu_ba ba_resume coa_bu" (s, rtt ms) to $TMP/SCHEME.
one() {
  local s="$1" k="$2" out="$TMP/$1-$2"
  "$ROOT/emu/run/emu-run.sh" "$BUILD" handover --set "scheme=$s" --set "rate_kbps=$RATE" \
    --set delay_ms=0 --set loss=0 --set dad_transmits=0 --set handover_at=2 --set duration=7 --set "seed=$k" \
    --out "$out" >"$out.log" 2>&1 &
  RUNNER=$!
  # The runner's namespaces are named after its pid (emu/topo/topo.sh).
  local ns="m6e-mn-$RUNNER" line="" i coa rtt=""
  for ((i = 0; i < 1200; i++)); do
    line="$(grep -E ' HANDOVER index=1 .*ba_received=[0-9]' "$out/mn.events" 2>/dev/null | head -n 1 || true)"
    [[ -n "$line" ]] && break
    kill -0 "$RUNNER" 2>/dev/null || break
    sleep 0.05
  done
  if [[ -n "$line" ]]; then
    coa="$(sed -E 's/.* coa=([^ ]+).*/\1/' <<<"$line")"
    # 20 echo requests from the new CoA to the HA, 10 ms apart: the round
    # trip BU/BA take, outside the tunnel.
    rtt="$(ip netns exec "$ns" ping -6 -c 20 -i 0.01 -W 1 -q -I "$coa" "$HA_ADDR" 2>/dev/null |
      sed -nE 's|^rtt min/avg/max/mdev = [0-9.]+/([0-9.]+)/.*|\1|p' || true)"
  fi
  local rc=0
  wait "$RUNNER" || rc=$?
  RUNNER=""
  [[ $rc -eq 0 && -s "$out/summary.csv" ]] || {
    echo "bench emu-recovery: $s run $k failed (exit $rc): $(tail -n 3 "$out.log" | tr '\n' ' ')" >&2
    return 1
  }
  [[ -n "$rtt" ]] || {
    echo "bench emu-recovery: $s run $k: no MN-HA ping after the handover" >&2
    return 1
  }
  local l2 mv coa_s bu ba res rec
  l2="$(col "$out/summary.csv" l2_s)" mv="$(col "$out/summary.csv" movement_detected_s)"
  coa_s="$(col "$out/summary.csv" coa_ready_s)" bu="$(col "$out/summary.csv" bu_sent_s)"
  ba="$(col "$out/summary.csv" ba_received_s)" res="$(col "$out/summary.csv" traffic_resumed_s)"
  rec="$(col "$out/summary.csv" recovery_s)"
  [[ -n "$rec" && -n "$mv" ]] || {
    echo "bench emu-recovery: $s run $k: no recovery in $out/summary.csv" >&2
    return 1
  }
  echo "$rec $(awk -v a="$mv" -v b="$l2" 'BEGIN { print a - b }') $rtt $(awk -v c="$coa_s" -v m="$mv" 'BEGIN { print c - m }') $(awk -v b="$bu" -v a="$ba" 'BEGIN { print a - b }') $(awk -v r="$res" -v a="$ba" 'BEGIN { print r - a }') $(awk -v b="$bu" -v c="$coa_s" 'BEGIN { print b - c }')" >>"$TMP/$s"
}

fig() { printf '%-48s %12.1f %s\n' "$1" "$2" "$3"; }
echo "emu-recovery: emu/run/emu-run.sh handover, zero-delay links, ${RATE} kbit/s CBR, L2 gap 0.05 s, no DAD (as the paper), $RUNS run(s) per scheme; floor = movement detection + one MN-HA ping6 round trip (same run)"
failed=0
for s in "${scheme_list[@]}"; do
  : >"$TMP/$s"
  for ((k = 1; k <= RUNS; k++)); do
    one "$s" "$k" || failed=$((failed + 1))
  done
  [[ -s "$TMP/$s" ]] || continue
  # means over the runs: recovery, movement, rtt(ms), coa, bu->ba, ba->resume
  read -r n rec mv rtt coa buba resume coabu <<<"$(awk '{ n++; for (i = 1; i <= 7; i++) s[i] += $i }
    END { printf "%d %.6f %.6f %.6f %.6f %.6f %.6f %.6f\n", n, s[1]/n, s[2]/n, s[3]/n, s[4]/n, s[5]/n, s[6]/n, s[7]/n }' "$TMP/$s")"
  floor="$(awk -v m="$mv" -v r="$rtt" 'BEGIN { printf "%.6f", m + r / 1000 }')"
  fig "emu-recovery $s: recovery (n=$n)" "$(awk -v x="$rec" 'BEGIN { print x * 1000 }')" "ms"
  fig "emu-recovery $s: floor (movement+RTT)" "$(awk -v x="$floor" 'BEGIN { print x * 1000 }')" "ms"
  fig "emu-recovery $s: movement detection" "$(awk -v x="$mv" 'BEGIN { print x * 1000 }')" "ms"
  fig "emu-recovery $s: MN-HA RTT (ping6)" "$(awk -v x="$rtt" 'BEGIN { print x * 1000 }')" "us"
  fig "emu-recovery $s: overhead (recovery-floor)" "$(awk -v a="$rec" -v f="$floor" 'BEGIN { print (a - f) * 1000 }')" "ms"
  fig "emu-recovery $s: recovery/floor" "$(awk -v a="$rec" -v f="$floor" 'BEGIN { print (f > 0) ? 100 * a / f : 0 }')" "%"
  fig "emu-recovery $s: RA -> CoA ready" "$(awk -v x="$coa" 'BEGIN { print x * 1000 }')" "ms"
  fig "emu-recovery $s: CoA ready -> BU sent" "$(awk -v x="$coabu" 'BEGIN { print x * 1000 }')" "ms"
  fig "emu-recovery $s: BU -> BA" "$(awk -v x="$buba" 'BEGIN { print x * 1000 }')" "ms"
  fig "emu-recovery $s: BA -> first payload" "$(awk -v x="$resume" 'BEGIN { print x * 1000 }')" "ms"
done
[[ $failed -eq 0 ]] || echo "emu-recovery: $failed run(s) failed (M6B_KEEP=1 keeps $TMP)"
