#!/usr/bin/env bash
# interop.charon-charon: proves the interop harness with strongSwan's charon
# on both sides of the veth (netns.sh, charon.sh), before mip6ike-iked
# takes one side (iked_charon_test.sh).  Exit 0 pass, 1 fail, 77 skip.
#
# case psk: PSK, IKE aes128gcm16-prfsha256-x25519, ESP aes128gcm16
#   alice (namespace A) initiates, bob (B) responds
#   IKE_SA_INIT { SA KE Ni N(NATD) }  -->   (charon fakes NAT-D: kernel-
#              <-- { SA KE Nr N(NATD) }      libipsec needs UDP encapsulation)
#   IKE_AUTH { IDi AUTH SA TSi TSr }  -->   (port 4500 from here on)
#              <-- { IDr AUTH SA TSi TSr }
#   ping 2001:db8:a::1 -> 2001:db8:b::1 through ESP-in-UDP
#   CREATE_CHILD_SA (rekey CHILD_SA) from alice, then from bob
#   CREATE_CHILD_SA (rekey IKE_SA)   from alice, then from bob
#   INFORMATIONAL { D(ESP) } from bob; INFORMATIONAL { D(IKE) } from alice
# case cert: X.509 (test CA, RSA-2048), IKE aes128-sha256-modp2048,
#   ESP aes128-sha256; bob's timers rekey the CHILD_SA (3 s) and the IKE_SA
#   (5 s) on their own (responder-initiated rekeying); bob deletes the IKE_SA.
# Both: tshark on alice's veth must decode every exchange (-Y isakmp).
#
# M6I_KEEP=1 keeps the temporary directory (configs, charon logs, pcaps).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=netns.sh
source "$here/netns.sh"
# shellcheck source=charon.sh
source "$here/charon.sh"
# shellcheck source=cases.sh
source "$here/cases.sh"

main() {
  local t0 rc=0
  t0="$(date +%s%N)"
  m6i_require_root_netns || exit $?
  local missing
  missing="$(m6i_charon_missing)"
  [[ -z "$missing" ]] || m6i_skip "strongSwan is not installed ($missing); ./mip6ike build or test installs them"
  m6i_tmp_init
  m6i_netns_setup
  m6i_case_charon_psk_x25519_gcm
  m6i_case_charon_cert_modp_cbc
  m6i_log "PASS: interop.charon-charon ($(m6i_elapsed "$t0"))"
  return "$rc"
}

main "$@"
