#!/usr/bin/env bash
# test/interop/fake_iked.sh: a stand-in for mip6ike-iked with its command
# line (issue 3, section 3) that runs charon underneath, so the iked side of
# the harness (iked.sh, iked_charon_test.sh) is exercised before the real
# daemon exists: interop.harness-fake-iked.  It prints the two --once lines
# in the format the harness reads (README.md, "iked output").
# Runs inside the namespace run_iked chose; needs root.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=netns.sh
source "$here/netns.sh"
# shellcheck source=charon.sh
source "$here/charon.sh"
# shellcheck source=cases.sh
source "$here/cases.sh"

fail() {
  echo "fake-iked: $*" >&2
  exit 1
}

declare -A o=([mode]=tunnel [timeout]=20)
initiate=0 once=0
while [[ $# -gt 0 ]]; do
  case "$1" in
  --initiate) initiate=1 ;;
  --once) once=1 ;;
  --local | --remote | --id | --remote-id | --psk-file | --cert | --key | --ca | \
    --ike-proposal | --esp-proposal | --mode | --ts-local | --ts-remote | --keylog | --timeout)
    [[ $# -ge 2 ]] || fail "$1 needs a value"
    o[${1#--}]="$2"
    shift
    ;;
  *) fail "unknown option $1" ;;
  esac
  shift
done
[[ $once == 1 ]] || fail "only --once is modelled"
# Which side are we on?  The namespace that holds --local.
side=A
[[ "${o[local]}" == "$M6I_IKE_B" ]] && side=B

m6i_tmp_init
conf=(conn="$M6I_CONN" child="$M6I_CHILD" local_addr="${o[local]}" remote_addr="${o[remote]}"
  local_id="${o[id]}" remote_id="${o[remote-id]}" local_ts="${o[ts-local]}" remote_ts="${o[ts-remote]}"
  ike_proposal="${o[ike-proposal]}" esp_proposal="${o[esp-proposal]}" mode="${o[mode]}")
if [[ -n "${o[psk-file]:-}" ]]; then
  conf+=(auth=psk "psk=$(cat "${o[psk-file]}")")
else
  conf+=(auth=pubkey "cert=${o[cert]}" "key=${o[key]}" "cacert=${o[ca]}")
fi
m6i_charon_new fake "$side" keys=yes
m6i_conn_write fake "${conf[@]}"
m6i_charon_start fake
m6i_swanctl fake --load-all >/dev/null || fail "swanctl --load-all"
if [[ $initiate == 1 ]]; then
  m6i_swanctl fake --initiate --child "$M6I_CHILD" --timeout "${o[timeout]}" >/dev/null 2>&1 ||
    fail "IKE_SA/CHILD_SA not established: $(grep -E '\[IKE\].*(fail|error|no )' "$(m6i_charon_dir fake)/charon.log" | tail -n 3)"
fi
M6I_EXPECT_WAIT="${o[timeout]}"
child="$(m6i_wait_for "${o[timeout]}" m6i_child_spis fake "$M6I_CONN" "$M6I_CHILD" state=INSTALLED)" ||
  fail "no CHILD_SA within ${o[timeout]} s"
flat="$(m6i_charon_dir fake)/sas.flat"
ike_f() { m6i_sa_select "$flat" "$M6I_CONN" "" "$1" state=ESTABLISHED; }
ch_f() { m6i_sa_select "$flat" "$M6I_CONN" "$M6I_CHILD" "$1" state=INSTALLED; }
integ="$(ike_f integ-alg)"
echo "IKE_SA ispi=$(ike_f initiator-spi) rspi=$(ike_f responder-spi)" \
  "ike=$(ike_f encr-alg)-$(ike_f encr-keysize)${integ:+/$integ}/$(ike_f prf-alg)/$(ike_f dh-group)" \
  "local=$(ike_f local-host)[$(ike_f local-port)] remote=$(ike_f remote-host)[$(ike_f remote-port)]"
integ="$(ch_f integ-alg)"
echo "CHILD_SA spi_in=${child% *} spi_out=${child#* }" \
  "esp=$(ch_f encr-alg)-$(ch_f encr-keysize)${integ:+/$integ} mode=$(ch_f mode | tr '[:upper:]' '[:lower:]')" \
  "encap=$(ch_f encap) ts_local=$(ch_f local-ts) ts_remote=$(ch_f remote-ts)"
# --keylog DIR: the IKE_SA's keys in Wireshark's ikev2_decryption_table
# format, from charon's level-4 log (hex fields unquoted: tshark 4.0 rejects
# quoted ones).
if [[ -n "${o[keylog]:-}" ]]; then
  mkdir -p "${o[keylog]}"
  case "$(ike_f encr-alg)-$(ike_f encr-keysize)" in
  AES_GCM_16-128) encr='"AES-GCM-128 with 16 octet ICV [RFC5282]"' ;;
  AES_CBC-128) encr='"AES-CBC-128 [RFC3602]"' ;;
  *) encr="" ;;
  esac
  case "$(ike_f integ-alg)" in
  "") integ='"NONE [RFC4306]"' ai="" ar="" ;;
  HMAC_SHA2_256_128)
    integ='"HMAC_SHA2_256_128 [RFC4868]"'
    ai="$(m6i_charon_key fake "Sk_ai secret")" ar="$(m6i_charon_key fake "Sk_ar secret")"
    ;;
  *) encr="" ;;
  esac
  if [[ -n "$encr" ]]; then
    echo "$(ike_f initiator-spi),$(ike_f responder-spi),$(m6i_charon_key fake "Sk_ei secret"),$(m6i_charon_key fake "Sk_er secret"),$encr,$ai,$ar,$integ" \
      >"${o[keylog]}/ikev2_decryption_table"
  fi
fi

# Exit like a --once daemon that leaves its SAs in place (no DELETE): charon
# would send one on SIGTERM, so it is killed.  M6I_FAKE_IKED_DELETE=1: exit
# like one that deletes them (the harness then checks charon's log).
if [[ "${M6I_FAKE_IKED_DELETE:-0}" == 1 ]]; then
  m6i_charon_stop fake || true
else
  kill -KILL "$(m6i_charon_pid fake)" 2>/dev/null || true
fi
