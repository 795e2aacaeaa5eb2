# shellcheck shell=bash
# shellcheck disable=SC2034,SC2153,SC2317 # names shared with the sourcing scripts; predicates run via m6i_wait_for
# test/interop/cases.sh: the interop test cases, written against "a peer on
# side A" and "a peer on side B" so that either may be charon or
# mip6ike-iked (iked.sh).  Sourced after netns.sh and charon.sh.

M6I_ID_A="a.m6i.example"
M6I_ID_B="b.m6i.example"
M6I_PSK="m6i-interop-test-psk-0123456789abcdef"
M6I_CONN=m6i
M6I_CHILD=net

# Algorithm names as charon's --list-sas --pretty shows them.
M6I_GCM_IKE=(encr-alg=AES_GCM_16 encr-keysize=128 prf-alg=PRF_HMAC_SHA2_256 dh-group=CURVE_25519)
M6I_GCM_ESP=(protocol=ESP mode=TUNNEL encap=yes encr-alg=AES_GCM_16 encr-keysize=128)
M6I_CBC_IKE=(encr-alg=AES_CBC encr-keysize=128 integ-alg=HMAC_SHA2_256_128 prf-alg=PRF_HMAC_SHA2_256 dh-group=MODP_2048)
M6I_CBC_ESP=(protocol=ESP mode=TUNNEL encap=yes encr-alg=AES_CBC encr-keysize=128 integ-alg=HMAC_SHA2_256_128)

m6i_elapsed() { # T0_NS -> "12.3 s"
  local ms=$((($(date +%s%N) - $1) / 1000000))
  printf '%d.%d s' $((ms / 1000)) $((ms % 1000 / 100))
}

# m6i_side_opts A|B: m6i_conn_write keys for the peer on that side.
m6i_side_opts() {
  if [[ "$1" == A ]]; then
    echo "local_addr=$M6I_IKE_A remote_addr=$M6I_IKE_B local_id=$M6I_ID_A remote_id=$M6I_ID_B local_ts=$M6I_TSNET_A remote_ts=$M6I_TSNET_B"
  else
    echo "local_addr=$M6I_IKE_B remote_addr=$M6I_IKE_A local_id=$M6I_ID_B remote_id=$M6I_ID_A local_ts=$M6I_TSNET_B remote_ts=$M6I_TSNET_A"
  fi
}

# m6i_charon_peer NAME A|B key=value...: configure, start and load a charon
# on that side (the keys go to m6i_conn_write, after the side's own).
# keys=yes is passed to m6i_charon_new instead.
m6i_charon_peer() {
  local name="$1" side="$2" kv rest=() keys=no
  shift 2
  for kv in "$@"; do
    case "$kv" in
    keys=*) keys="${kv#*=}" ;;
    *) rest+=("$kv") ;;
    esac
  done
  m6i_charon_new "$name" "$side" "keys=$keys"
  # shellcheck disable=SC2046 # the side's options are single words
  m6i_conn_write "$name" conn="$M6I_CONN" child="$M6I_CHILD" $(m6i_side_opts "$side") "${rest[@]}"
  m6i_charon_start "$name"
  m6i_swanctl "$name" --load-all >"$(m6i_charon_dir "$name")/load.out" 2>&1 ||
    m6i_die "$name: swanctl --load-all: $(cat "$(m6i_charon_dir "$name")/load.out")"
}

# m6i_cert_opts NAME: m6i_conn_write keys for certificate authentication
# with the certificate issued to NAME (m6i_pki_issue).
m6i_cert_opts() {
  echo "auth=pubkey cert=$M6I_TMP/pki/$1.crt key=$M6I_TMP/pki/$1.key cacert=$M6I_TMP/pki/ca.crt"
}

# m6i_ping_tunnel: three pings from A's selector address to B's, which only
# pass through the ESP tunnel (no other route to 2001:db8:b::/64).
m6i_ping_tunnel() {
  m6i_in A ping -6 -c3 -i0.05 -W2 -q -I "$M6I_TS_A" "$M6I_TS_B" >"$M6I_TMP/ping.out" 2>&1 ||
    m6i_die "ping through the tunnel failed: $(cat "$M6I_TMP/ping.out")"
  grep -q ' 0% packet loss' "$M6I_TMP/ping.out" ||
    m6i_die "ping through the tunnel lost packets: $(grep loss "$M6I_TMP/ping.out")"
}

# m6i_check_pair CA CB IKE_ALGS_VAR ESP_ALGS_VAR: both charons have one
# ESTABLISHED IKE_SA and one INSTALLED CHILD_SA with these algorithms, the
# same IKE SPIs and crossed ESP SPIs.  Sets M6I_IKE_SPIS, M6I_CHILD_SPIS (A's).
# The two sides are read one after the other, so while timers rekey they
# may disagree for a moment: the whole check is retried for 5 s.
m6i_check_pair() {
  if m6i_wait_for 5 m6i_pair_ok "$@"; then
    m6i_log "  IKE_SA $M6I_IKE_SPIS ESTABLISHED, CHILD_SA in/out $M6I_CHILD_SPIS INSTALLED on both"
    return 0
  fi
  M6I_PAIR_VERBOSE=1 m6i_pair_ok "$@"
  m6i_die "the two sides' SAs do not match"
}

m6i_pair_ok() {
  local ca="$1" cb="$2"
  local -n ike_algs="$3" esp_algs="$4"
  local ike_a ike_b ch_a ch_b why=""
  if ! ike_a="$(m6i_ike_spis "$ca" "$M6I_CONN" state=ESTABLISHED "${ike_algs[@]}")"; then
    why="$ca: no single ESTABLISHED IKE_SA with ${ike_algs[*]}"
  elif ! ike_b="$(m6i_ike_spis "$cb" "$M6I_CONN" state=ESTABLISHED "${ike_algs[@]}")"; then
    why="$cb: no single ESTABLISHED IKE_SA with ${ike_algs[*]}"
  elif [[ "$ike_a" != "$ike_b" ]]; then
    why="IKE SPIs differ: $ca $ike_a, $cb $ike_b"
  elif ! ch_a="$(m6i_child_spis "$ca" "$M6I_CONN" "$M6I_CHILD" state=INSTALLED "${esp_algs[@]}")"; then
    why="$ca: no single INSTALLED CHILD_SA with ${esp_algs[*]}"
  elif ! ch_b="$(m6i_child_spis "$cb" "$M6I_CONN" "$M6I_CHILD" state=INSTALLED "${esp_algs[@]}")"; then
    why="$cb: no single INSTALLED CHILD_SA with ${esp_algs[*]}"
  elif [[ "${ch_a% *} ${ch_a#* }" != "${ch_b#* } ${ch_b% *}" ]]; then
    why="ESP SPIs do not cross: $ca in/out $ch_a, $cb in/out $ch_b"
  fi
  if [[ -n "$why" ]]; then
    if [[ "${M6I_PAIR_VERBOSE:-0}" == 1 ]]; then
      m6i_log "$why"
      m6i_swanctl "$ca" --list-sas >&2 || true
      m6i_swanctl "$cb" --list-sas >&2 || true
    fi
    return 1
  fi
  M6I_IKE_SPIS="$ike_a" M6I_CHILD_SPIS="$ch_a"
}

# m6i_wait_rekeyed CA CB KIND OLD SECS: wait until A's IKE SPIs (KIND=ike)
# or CHILD_SA SPIs (KIND=child) differ from OLD, with exactly one SA.
m6i_wait_rekeyed() {
  local ca="$1" kind="$3" old="$4" secs="$5"
  m6i_rekeyed() {
    local now
    if [[ "$kind" == ike ]]; then
      now="$(m6i_ike_spis "$ca" "$M6I_CONN" state=ESTABLISHED)" || return 1
    else
      now="$(m6i_child_spis "$ca" "$M6I_CONN" "$M6I_CHILD" state=INSTALLED)" || return 1
    fi
    [[ "$now" != "$old" ]]
  }
  m6i_wait_for "$secs" m6i_rekeyed || {
    m6i_swanctl "$ca" --list-sas >&2 || true
    m6i_die "$ca: $kind SA not rekeyed within $secs s (old SPIs $old)"
  }
}

# m6i_capture_check FILE EXCHTYPE...: the capture decodes as ISAKMP and has
# each IKEv2 exchange type (34 IKE_SA_INIT, 35 IKE_AUTH, 36 CREATE_CHILD_SA,
# 37 INFORMATIONAL), and has UDP-encapsulated ESP.
m6i_capture_check() {
  local f="$1" t types nesp
  shift
  [[ -s "$f" ]] || m6i_die "capture $f is empty"
  types="$(tshark -r "$f" -Y isakmp -T fields -e isakmp.exchangetype 2>"$f.err" | sort -u | tr '\n' ' ')" ||
    m6i_die "tshark cannot read $f: $(cat "$f.err")"
  for t in "$@"; do
    [[ " $types " == *" $t "* ]] || m6i_die "capture: no IKEv2 exchange type $t decoded (saw: $types)"
  done
  nesp="$(tshark -r "$f" -Y esp 2>/dev/null | grep -c . || true)"
  [[ "$nesp" -gt 0 ]] || m6i_die "capture: no ESP packets decoded"
  m6i_log "  capture: exchange types $types; $nesp ESP-in-UDP packets"
}

# m6i_capture_decrypt FILE ISPI RSPI SK_EI SK_ER ESP_SPI ESP_KEY: with the
# keys of the first IKE_SA (AES-GCM-16-128, no integrity key) the capture's
# IKE_AUTH must decrypt to both identities, and with the key of the ESP SA
# ESP_SPI (AES-GCM-16-128 key + salt, A -> B) to ICMPv6 echo requests from
# A's selector address.
m6i_capture_decrypt() {
  local f="$1" ispi="$2" rspi="$3" ei="$4" er="$5" spi="$6" key="$7" ids n
  [[ ${#ei} -eq 40 && ${#er} -eq 40 && ${#key} -eq 40 ]] ||
    m6i_die "decrypt: keys not found in charon's log (Sk_ei '$ei', Sk_er '$er', ESP '$key')"
  ids="$(tshark -r "$f" \
    -o "uat:ikev2_decryption_table:$ispi,$rspi,$ei,$er,\"AES-GCM-128 with 16 octet ICV [RFC5282]\",,,\"NONE [RFC4306]\"" \
    -Y "isakmp.exchangetype == 35" -T fields -e isakmp.id.data.fqdn 2>/dev/null | tr '\n' ' ')"
  [[ "$ids" == *"$M6I_ID_A"* && "$ids" == *"$M6I_ID_B"* ]] ||
    m6i_die "decrypt: IKE_AUTH did not decrypt to $M6I_ID_A and $M6I_ID_B (got: $ids)"
  n="$(tshark -r "$f" -o esp.enable_encryption_decode:TRUE \
    -o "uat:esp_sa:\"IPv6\",\"$M6I_IKE_A\",\"$M6I_IKE_B\",\"0x$spi\",\"AES-GCM with 16 octet ICV [RFC4106]\",\"0x$key\",\"NULL\",\"\"" \
    -Y "esp.spi == 0x$spi && icmpv6.type == 128 && ipv6.src == $M6I_TS_A" 2>/dev/null | grep -c . || true)"
  [[ "$n" -ge 3 ]] || m6i_die "decrypt: ESP SA 0x$spi did not decrypt to 3 echo requests (got $n)"
  m6i_log "  decrypted with charon's logged keys: IKE_AUTH (IDs $ids), $n ICMPv6 echo requests in ESP 0x$spi"
}

# ------------------------------------------------------------ charon <-> charon

m6i_case_charon_psk_x25519_gcm() {
  local t0 old
  t0="$(date +%s%N)"
  m6i_log "case psk: PSK, aes128gcm16-prfsha256-x25519 / aes128gcm16"
  local common=(auth=psk "psk=$M6I_PSK" ike_proposal=aes128gcm16-prfsha256-x25519 esp_proposal=aes128gcm16)
  # alice logs her keys (level 4) so that the capture can be decrypted.
  m6i_charon_peer alice A "${common[@]}" keys=yes
  m6i_charon_peer bob B "${common[@]}"
  local cap=""
  if command -v tshark >/dev/null 2>&1; then
    cap="$M6I_TMP/psk.pcapng"
    m6i_capture_start "$cap" || m6i_die "tshark capture did not start: $(cat "$cap.log")"
  fi

  m6i_swanctl alice --initiate --child "$M6I_CHILD" --timeout 10 >"$M6I_TMP/initiate.out" 2>&1 ||
    m6i_die "alice: initiate failed: $(cat "$M6I_TMP/initiate.out")"
  m6i_check_pair alice bob M6I_GCM_IKE M6I_GCM_ESP
  local first_ike="$M6I_IKE_SPIS" first_out="${M6I_CHILD_SPIS#* }"
  m6i_ping_tunnel
  m6i_expect_child alice "$M6I_CONN" "$M6I_CHILD" packets-out=3 packets-in=3 >/dev/null

  m6i_log "  rekey CHILD_SA from alice (initiator), then from bob"
  old="$M6I_CHILD_SPIS"
  m6i_swanctl alice --rekey --child "$M6I_CHILD" >/dev/null
  m6i_wait_rekeyed alice bob child "$old" 5
  m6i_check_pair alice bob M6I_GCM_IKE M6I_GCM_ESP
  old="$M6I_CHILD_SPIS"
  m6i_swanctl bob --rekey --child "$M6I_CHILD" >/dev/null
  m6i_wait_rekeyed alice bob child "$old" 5
  m6i_check_pair alice bob M6I_GCM_IKE M6I_GCM_ESP
  m6i_ping_tunnel

  m6i_log "  rekey IKE_SA from alice, then from bob"
  old="$M6I_IKE_SPIS"
  m6i_swanctl alice --rekey --ike "$M6I_CONN" >/dev/null
  m6i_wait_rekeyed alice bob ike "$old" 5
  m6i_check_pair alice bob M6I_GCM_IKE M6I_GCM_ESP
  old="$M6I_IKE_SPIS"
  m6i_swanctl bob --rekey --ike "$M6I_CONN" >/dev/null
  m6i_wait_rekeyed alice bob ike "$old" 5
  m6i_check_pair alice bob M6I_GCM_IKE M6I_GCM_ESP
  m6i_ping_tunnel

  m6i_log "  delete the CHILD_SA from bob, then the IKE_SA from alice"
  m6i_swanctl bob --terminate --child "$M6I_CHILD" --timeout 5 >/dev/null
  m6i_wait_for 5 m6i_no_child alice || m6i_die "alice still has a CHILD_SA after bob deleted it"
  m6i_wait_for 5 m6i_no_child bob || m6i_die "bob still has a CHILD_SA after deleting it"
  m6i_expect_ike alice "$M6I_CONN" state=ESTABLISHED >/dev/null
  m6i_swanctl alice --terminate --ike "$M6I_CONN" --timeout 5 >/dev/null
  m6i_expect_no_sas alice "$M6I_CONN"
  m6i_expect_no_sas bob "$M6I_CONN"

  if [[ -n "$cap" ]]; then
    sleep 0.2
    m6i_capture_stop
    m6i_capture_check "$cap" 34 35 36 37
    # alice initiated: "encryption initiator key" protects alice -> bob.
    m6i_capture_decrypt "$cap" "${first_ike% *}" "${first_ike#* }" \
      "$(m6i_charon_key alice "Sk_ei secret")" "$(m6i_charon_key alice "Sk_er secret")" \
      "$first_out" "$(m6i_charon_key alice "encryption initiator key")"
  fi
  m6i_charon_stop alice || m6i_die "alice did not stop cleanly"
  m6i_charon_stop bob || m6i_die "bob did not stop cleanly"
  m6i_log "case psk: ok ($(m6i_elapsed "$t0"))"
}

m6i_no_child() { [[ "$(m6i_count_sas "$1" "$M6I_CONN" "$M6I_CHILD")" -eq 0 ]]; }

m6i_case_charon_cert_modp_cbc() {
  local t0 old
  t0="$(date +%s%N)"
  m6i_log "case cert: X.509 (RSA), aes128-sha256-modp2048 / aes128-sha256"
  m6i_pki_init rsa
  m6i_pki_issue alice "$M6I_ID_A" rsa
  m6i_pki_issue bob "$M6I_ID_B" rsa
  local common=(ike_proposal=aes128-sha256-modp2048 esp_proposal=aes128-sha256)
  # shellcheck disable=SC2046
  m6i_charon_peer alice A "${common[@]}" $(m6i_cert_opts alice)
  # bob's timers: CHILD_SA rekey after 3 s, IKE_SA after 5 s, no jitter.
  # shellcheck disable=SC2046
  m6i_charon_peer bob B "${common[@]}" $(m6i_cert_opts bob) \
    child_rekey_time=3s child_life_time=20s child_rand_time=0 ike_rekey_time=5s ike_rand_time=0
  local cap=""
  if command -v tshark >/dev/null 2>&1; then
    cap="$M6I_TMP/cert.pcapng"
    m6i_capture_start "$cap" || m6i_die "tshark capture did not start: $(cat "$cap.log")"
  fi

  m6i_swanctl alice --initiate --child "$M6I_CHILD" --timeout 10 >"$M6I_TMP/initiate.out" 2>&1 ||
    m6i_die "alice: initiate failed: $(cat "$M6I_TMP/initiate.out")"
  m6i_check_pair alice bob M6I_CBC_IKE M6I_CBC_ESP
  m6i_expect_ike alice "$M6I_CONN" "local-id=$M6I_ID_A" "remote-id=$M6I_ID_B" >/dev/null
  m6i_ping_tunnel

  m6i_log "  waiting for bob's timed CHILD_SA rekey (3 s) and IKE_SA rekey (5 s)"
  old="$M6I_CHILD_SPIS"
  m6i_wait_rekeyed alice bob child "$old" 6
  m6i_check_pair alice bob M6I_CBC_IKE M6I_CBC_ESP
  old="$M6I_IKE_SPIS"
  m6i_wait_rekeyed alice bob ike "$old" 6
  m6i_check_pair alice bob M6I_CBC_IKE M6I_CBC_ESP
  m6i_ping_tunnel

  m6i_log "  delete the IKE_SA from bob"
  m6i_swanctl bob --terminate --ike "$M6I_CONN" --timeout 5 >/dev/null
  m6i_expect_no_sas alice "$M6I_CONN"
  m6i_expect_no_sas bob "$M6I_CONN"

  if [[ -n "$cap" ]]; then
    sleep 0.2
    m6i_capture_stop
    m6i_capture_check "$cap" 34 35 36 37
  fi
  m6i_charon_stop alice || m6i_die "alice did not stop cleanly"
  m6i_charon_stop bob || m6i_die "bob did not stop cleanly"
  m6i_log "case cert: ok ($(m6i_elapsed "$t0"))"
}
