#!/usr/bin/env bash
# interop.iked-*-vs-charon: mip6ike-iked in namespace A (netns.sh) against
# strongSwan's charon in B (README.md: the matrix and how to run it).
#   iked_charon_test.sh ROLE IKED [CASE...]
#     ROLE  initiator (iked initiates, charon responds), responder, or both
#     IKED  path of the mip6ike-iked binary (build/emu/mip6ike-iked)
#     CASE  psk, psk-modp, cert (default: psk cert), life-psk,
#           life-psk-pfs, life-psk-modp, life-cert, timers
#   psk:      PSK, aes128gcm16-prfsha256-x25519 / aes128gcm16
#   psk-modp: PSK, aes128-sha256-modp2048 / aes128-sha256
#   cert:     X.509 (test CA, RSA-2048), aes128-sha256-modp2048 / aes128-sha256
#   psk-pfs:  as psk with ESP aes128gcm16-x25519 (PFS in CHILD_SA rekeys)
# psk, psk-modp, cert: iked runs with --once: it exits 0 once the CHILD_SA
# is up, printing the SPIs, which must match charon's --list-sas.
# life-*: iked stays up; the same establishment, then CHILD_SA and IKE_SA
# rekeys by each side and deletes by each side, a ping through every
# CHILD_SA (m6i_case_iked_life).  timers: iked's --rekey-time,
# --ike-rekey-time and --lifetime (m6i_case_iked_timers).
# Exit 0 pass, 1 fail, 77 skip.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=netns.sh
source "$here/netns.sh"
# shellcheck source=charon.sh
source "$here/charon.sh"
# shellcheck source=cases.sh
source "$here/cases.sh"
# shellcheck source=iked.sh
source "$here/iked.sh"

main() {
  local role="${1:-}" t0 a
  [[ "$role" == initiator || "$role" == responder || "$role" == both ]] ||
    m6i_die "usage: $0 initiator|responder|both IKED [psk] [cert]"
  M6I_IKED="${2:-$M6I_IKED}"
  shift 2 || true
  local auths=("$@")
  [[ ${#auths[@]} -gt 0 ]] || auths=(psk cert)
  t0="$(date +%s%N)"
  m6i_require_root_netns || exit $?
  local missing
  missing="$(m6i_charon_missing)"
  [[ -z "$missing" ]] || m6i_skip "strongSwan is not installed ($missing); ./mip6ike build or test installs them"
  missing="$(m6i_iked_missing "$M6I_IKED")"
  [[ -z "$missing" ]] || m6i_skip "$missing"
  m6i_tmp_init
  m6i_netns_setup
  local roles=("$role") r
  [[ "$role" == both ]] && roles=(initiator responder)
  for r in "${roles[@]}"; do
    for a in "${auths[@]}"; do
      case "$a" in
      psk | psk-modp | cert) m6i_case_iked "$r" "$a" ;;
      life-psk | life-psk-modp | life-cert | life-psk-pfs) m6i_case_iked_life "$r" "${a#life-}" ;;
      timers) m6i_case_iked_timers "$r" ;;
      *) m6i_die "unknown case $a (psk, psk-modp, cert, life-psk, life-psk-pfs, life-psk-modp, life-cert, timers)" ;;
      esac
    done
  done
  m6i_log "PASS: interop.iked-$role-vs-charon ($(m6i_elapsed "$t0"))"
}

main "$@"
