# shellcheck shell=bash
# test/interop/iked.sh: mip6ike-iked (emu/, issue 3 section 3) as one of the
# two peers of netns.sh, with the command line of the issue:
#   mip6ike-iked --local ADDR --remote ADDR --id ID --remote-id ID
#     --psk-file FILE | --cert FILE --key FILE --ca FILE
#     --ike-proposal P --esp-proposal P --mode tunnel
#     --ts-local PREFIX --ts-remote PREFIX [--initiate] [--keylog DIR]
#     --once --timeout SECONDS
# With --once it exits 0 once the first CHILD_SA is up, after printing one
# line for the IKE_SA and one for the CHILD_SA.  This harness reads them as
# key=value words after a leading tag (README.md, "iked output"):
#   IKE_SA ispi=<16 hex> rspi=<16 hex> ike=<proposal> ...
#   CHILD_SA spi_in=<8 hex> spi_out=<8 hex> esp=<proposal> mode=tunnel ...
# Sourced after netns.sh, charon.sh and cases.sh.

M6I_IKED="${M6I_IKED:-}"

# m6i_iked_missing BIN: prints why BIN cannot be used, empty if it can.
m6i_iked_missing() {
  if [[ -z "$1" ]]; then
    echo "no mip6ike-iked path given"
  elif [[ ! -x "$1" ]]; then
    echo "$1 not built (emu/mip6ike-iked)"
  fi
}

# run_iked SIDE key=value...: run mip6ike-iked in namespace SIDE (A or B) as
# the peer of a charon on the other side.  Keys: role=initiator|responder
# [initiator], auth=psk|pubkey [psk], ike_proposal, esp_proposal, mode
# [tunnel], once=yes|no [yes], timeout [20], keylog=DIR, and cert/key/cacert
# (files) for auth=pubkey.  Output goes to $M6I_TMP/iked-SIDE.out.
# An initiator runs in the foreground: the return value is iked's exit
# code.  A responder runs in the background: M6I_IKED_PID is set (wait for
# it with m6i_iked_wait).
run_iked() {
  local side="$1" kv k v
  shift
  local -A o=([role]=initiator [auth]=psk [ike_proposal]=aes128gcm16-prfsha256-x25519
    [esp_proposal]=aes128gcm16 [mode]=tunnel [once]=yes [timeout]=20 [keylog]=""
    [cert]="" [key]="" [cacert]="")
  for kv in "$@"; do
    k="${kv%%=*}" v="${kv#*=}"
    [[ -v "o[$k]" ]] || m6i_die "run_iked: unknown key $k"
    o[$k]="$v"
  done
  local -A s=()
  for kv in $(m6i_side_opts "$side"); do s[${kv%%=*}]="${kv#*=}"; done
  local args=(--local "${s[local_addr]}" --remote "${s[remote_addr]}"
    --id "${s[local_id]}" --remote-id "${s[remote_id]}"
    --ike-proposal "${o[ike_proposal]}" --esp-proposal "${o[esp_proposal]}"
    --mode "${o[mode]}" --ts-local "${s[local_ts]}" --ts-remote "${s[remote_ts]}"
    --timeout "${o[timeout]}")
  case "${o[auth]}" in
  psk)
    printf '%s' "$M6I_PSK" >"$M6I_TMP/psk-$side"
    chmod 600 "$M6I_TMP/psk-$side"
    args+=(--psk-file "$M6I_TMP/psk-$side")
    ;;
  pubkey) args+=(--cert "${o[cert]}" --key "${o[key]}" --ca "${o[cacert]}") ;;
  *) m6i_die "run_iked: auth=${o[auth]}" ;;
  esac
  [[ "${o[role]}" == initiator ]] && args+=(--initiate)
  [[ "${o[once]}" == yes ]] && args+=(--once)
  [[ -n "${o[keylog]}" ]] && args+=(--keylog "${o[keylog]}")
  local out="$M6I_TMP/iked-$side.out"
  m6i_log "  iked ($side): ${args[*]}"
  if [[ "${o[role]}" == initiator ]]; then
    local rc=0
    m6i_in "$side" "$M6I_IKED" "${args[@]}" >"$out" 2>&1 </dev/null || rc=$?
    return "$rc"
  fi
  m6i_in "$side" "$M6I_IKED" "${args[@]}" >"$out" 2>&1 </dev/null &
  M6I_IKED_PID=$!
  m6i_defer kill -TERM "$M6I_IKED_PID"
}

# m6i_udp_bound SIDE PORT: something listens on UDP PORT in namespace SIDE.
m6i_udp_bound() { [[ -n "$(m6i_in "$1" ss -Hlun "sport = :$2" 2>/dev/null)" ]]; }

# m6i_iked_wait: wait for the background (responder) iked; its exit code.
m6i_iked_wait() {
  local rc=0
  wait "$M6I_IKED_PID" || rc=$?
  M6I_IKED_PID=""
  return "$rc"
}

# m6i_iked_field SIDE TAG KEY: the value of KEY= on iked's TAG line
# (TAG is IKE_SA or CHILD_SA); empty if absent.
m6i_iked_field() {
  awk -v tag="$2" -v key="$3" '
    $1 == tag { for (i = 2; i <= NF; i++) if (index($i, key "=") == 1) { print substr($i, length(key) + 2); exit } }' \
    "$M6I_TMP/iked-$1.out"
}

# m6i_check_iked_vs_charon SIDE CHARON IKE_ALGS_VAR ESP_ALGS_VAR: charon
# has one ESTABLISHED IKE_SA and one INSTALLED CHILD_SA with these
# algorithms, and iked's printed SPIs are the same ones (IKE) and crossed
# (ESP).
m6i_check_iked_vs_charon() {
  local side="$1" charon="$2"
  local -n ike_algs="$3" esp_algs="$4"
  local ike ch ispi rspi sin sout how="swanctl --list-sas"
  ispi="$(m6i_iked_field "$side" IKE_SA ispi)" rspi="$(m6i_iked_field "$side" IKE_SA rspi)"
  sin="$(m6i_iked_field "$side" CHILD_SA spi_in)" sout="$(m6i_iked_field "$side" CHILD_SA spi_out)"
  [[ -n "$ispi" && -n "$rspi" && -n "$sin" && -n "$sout" ]] ||
    m6i_die "iked printed no IKE_SA/CHILD_SA lines with SPIs: $(cat "$M6I_TMP/iked-$side.out")"
  if [[ "$(m6i_count_sas "$charon" "$M6I_CONN")" -gt 0 ]]; then
    ike="$(m6i_expect_ike "$charon" "$M6I_CONN" state=ESTABLISHED "${ike_algs[@]}")"
    ch="$(m6i_expect_child "$charon" "$M6I_CONN" "$M6I_CHILD" state=INSTALLED "${esp_algs[@]}")"
  else
    # iked deleted the IKE_SA when it exited: check what charon logged.
    how="charon's log (iked deleted the SAs on exit)"
    m6i_charon_log_sas "$charon" || m6i_die "$charon has no SAs and logged none"
    ike="$M6I_LOG_IKE_SPIS" ch="$M6I_LOG_CHILD_SPIS"
  fi
  [[ "${ispi,,} ${rspi,,}" == "$ike" ]] ||
    m6i_die "IKE SPIs differ: iked $ispi $rspi, $charon $ike"
  [[ "${sin,,} ${sout,,}" == "${ch#* } ${ch% *}" ]] ||
    m6i_die "ESP SPIs do not cross: iked in/out $sin $sout, $charon in/out $ch"
  m6i_log "  IKE_SA $ike, CHILD_SA (charon in/out) $ch, from $how; iked agrees"
}

# m6i_charon_log_sas NAME: the SAs charon NAME logged as established, for
# when they are gone from --list-sas: M6I_LOG_CHILD_SPIS "in out" from the
# log; M6I_LOG_IKE_SPIS "ispi rspi" from the IKE_AUTH exchange in the capture
# M6I_LAST_CAPTURE (charon does not log IKE SPIs at these levels).
m6i_charon_log_sas() {
  local log line
  log="$(m6i_charon_dir "$1")/charon.log"
  line="$(grep -E 'CHILD_SA [^ ]+ established with SPIs' "$log" | tail -n 1)" || return 1
  M6I_LOG_CHILD_SPIS="$(sed -E 's/.*SPIs ([0-9a-f]{8})_i ([0-9a-f]{8})_o.*/\1 \2/' <<<"$line")"
  [[ -n "${M6I_LAST_CAPTURE:-}" && -s "$M6I_LAST_CAPTURE" ]] ||
    m6i_die "iked deleted its SAs on exit and there is no capture to check the IKE SPIs"
  M6I_LOG_IKE_SPIS="$(tshark -r "$M6I_LAST_CAPTURE" -Y 'isakmp.exchangetype == 35' \
    -T fields -e isakmp.ispi -e isakmp.rspi 2>/dev/null | tail -n 1 | tr '\t' ' ')"
}

# ------------------------------------------------------------ iked <-> charon

# m6i_case_iked ROLE AUTH: iked in ROLE on side A against charon "bob" on
# side B; AUTH psk (X25519/AES-GCM), psk-modp (PSK with MODP-2048/AES-CBC-
# SHA256) or cert (MODP-2048/AES-CBC-SHA256).
m6i_case_iked() {
  local role="$1" auth="$2" t0 rc=0
  t0="$(date +%s%N)"
  local ikep espp ike_algs esp_algs charon_auth=() iked_auth=()
  if [[ "$auth" == psk ]]; then
    ikep=aes128gcm16-prfsha256-x25519 espp=aes128gcm16 ike_algs=M6I_GCM_IKE esp_algs=M6I_GCM_ESP
    charon_auth=(auth=psk "psk=$M6I_PSK") iked_auth=(auth=psk)
  elif [[ "$auth" == psk-modp ]]; then
    ikep=aes128-sha256-modp2048 espp=aes128-sha256 ike_algs=M6I_CBC_IKE esp_algs=M6I_CBC_ESP
    charon_auth=(auth=psk "psk=$M6I_PSK") iked_auth=(auth=psk)
  else
    ikep=aes128-sha256-modp2048 espp=aes128-sha256 ike_algs=M6I_CBC_IKE esp_algs=M6I_CBC_ESP
    [[ -f "$M6I_TMP/pki/ca.crt" ]] || {
      m6i_pki_init rsa
      m6i_pki_issue alice "$M6I_ID_A" rsa
      m6i_pki_issue bob "$M6I_ID_B" rsa
    }
    # shellcheck disable=SC2207
    # send_cert=always: our engine does not send CERTREQ yet, and charon
    # sends its certificate only when asked (ifasked).
    charon_auth=($(m6i_cert_opts bob) send_cert=always)
    iked_auth=(auth=pubkey "cert=$M6I_TMP/pki/alice.crt" "key=$M6I_TMP/pki/alice.key" "cacert=$M6I_TMP/pki/ca.crt")
  fi
  m6i_log "case iked-$role-$auth: iked ($role, A) vs charon (B), $ikep / $espp"
  m6i_charon_peer bob B "${charon_auth[@]}" "ike_proposal=$ikep" "esp_proposal=$espp"
  local cap=""
  if command -v tshark >/dev/null 2>&1; then
    cap="$M6I_TMP/iked-$role-$auth.pcapng"
    m6i_capture_start "$cap" || m6i_die "tshark capture did not start"
  fi
  mkdir -p "$M6I_TMP/keylog-$role-$auth"
  local iked_opts=("role=$role" "${iked_auth[@]}" "ike_proposal=$ikep" "esp_proposal=$espp"
    once=yes timeout=20 "keylog=$M6I_TMP/keylog-$role-$auth")
  if [[ "$role" == initiator ]]; then
    run_iked A "${iked_opts[@]}" || rc=$?
    [[ $rc -eq 0 ]] || m6i_die "iked initiator exited $rc: $(tail -n 20 "$M6I_TMP/iked-A.out")"
  else
    run_iked A "${iked_opts[@]}"
    # The CLI has no readiness signal: wait for iked's UDP port 500.
    m6i_wait_for 10 m6i_udp_bound A 500 || m6i_die "iked responder did not bind UDP port 500"
    # A bound port is not a loaded configuration (fake_iked.sh binds first,
    # then loads): up to three tries, half a second apart.
    local try
    for try in 1 2 3; do
      if m6i_swanctl bob --initiate --child "$M6I_CHILD" --timeout 15 >"$M6I_TMP/initiate.out" 2>&1; then
        break
      fi
      [[ $try -lt 3 ]] || m6i_die "bob: initiate against iked failed: $(cat "$M6I_TMP/initiate.out")"
      kill -0 "$M6I_IKED_PID" 2>/dev/null || m6i_die "iked responder exited: $(tail -n 20 "$M6I_TMP/iked-A.out")"
      sleep 0.5
    done
    m6i_iked_wait || rc=$?
    [[ $rc -eq 0 ]] || m6i_die "iked responder exited $rc: $(tail -n 20 "$M6I_TMP/iked-A.out")"
  fi
  M6I_LAST_CAPTURE=""
  if [[ -n "$cap" ]]; then
    sleep 0.2
    m6i_capture_stop
    m6i_capture_check_ike "$cap" 34 35
    M6I_LAST_CAPTURE="$cap"
  fi
  m6i_check_iked_vs_charon A bob "$ike_algs" "$esp_algs"
  [[ -z "$cap" ]] || m6i_keylog_check "$M6I_TMP/keylog-$role-$auth" "$cap"
  m6i_charon_stop bob || m6i_die "bob did not stop cleanly"
  m6i_log "case iked-$role-$auth: ok ($(m6i_elapsed "$t0"))"
}

# m6i_keylog_check DIR CAPTURE: iked's --keylog output decrypts the
# capture: with DIR as tshark's configuration directory (its
# ikev2_decryption_table), IKE_AUTH must show both identities.  Without the
# file this is only logged, unless M6I_REQUIRE_KEYLOG=1.
m6i_keylog_check() {
  local dir="$1" cap="$2" ids
  if [[ ! -s "$dir/ikev2_decryption_table" ]]; then
    [[ "${M6I_REQUIRE_KEYLOG:-0}" != 1 ]] || m6i_die "iked wrote no $dir/ikev2_decryption_table"
    m6i_log "  iked wrote no ikev2_decryption_table: decryption not checked"
    return 0
  fi
  ids="$(WIRESHARK_CONFIG_DIR="$dir" tshark -r "$cap" -Y "isakmp.exchangetype == 35" \
    -T fields -e isakmp.id.data.fqdn 2>"$dir/tshark.err" | tr '\n' ' ')"
  [[ "$ids" == *"$M6I_ID_A"* && "$ids" == *"$M6I_ID_B"* ]] ||
    m6i_die "iked's keylog does not decrypt IKE_AUTH (got '$ids'; $(head -c 300 "$dir/tshark.err"))"
  m6i_log "  iked's keylog decrypts IKE_AUTH (IDs $ids)"
}

# m6i_capture_check_ike FILE EXCHTYPE...: like m6i_capture_check without
# requiring ESP (a --once run carries no traffic).
m6i_capture_check_ike() {
  local f="$1" t types
  shift
  types="$(tshark -r "$f" -Y isakmp -T fields -e isakmp.exchangetype 2>/dev/null | sort -u | tr '\n' ' ')"
  for t in "$@"; do
    [[ " $types " == *" $t "* ]] || m6i_die "capture: no IKEv2 exchange type $t decoded (saw: $types)"
  done
  m6i_log "  capture: exchange types $types"
}
