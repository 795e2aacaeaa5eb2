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
# [tunnel], once=yes|no [yes], timeout [20], keylog=DIR, control=FIFO, tun=DEV,
# extra="--more options",
# out=NAME [iked-SIDE], and cert/key/cacert (files) for auth=pubkey.
# Output goes to $M6I_TMP/NAME.out (M6I_IKED_OUT).
# An initiator with once=yes runs in the foreground: the return value is
# iked's exit code.  A responder, or any iked with once=no, runs in the
# background: M6I_IKED_PID is iked's own pid (ip netns exec execs it), for
# signals; wait for it with m6i_iked_wait.
run_iked() {
  local side="$1" kv k v
  shift
  local -A o=([role]=initiator [auth]=psk [ike_proposal]=aes128gcm16-prfsha256-x25519
    [esp_proposal]=aes128gcm16 [mode]=tunnel [once]=yes [timeout]=20 [keylog]=""
    [cert]="" [key]="" [cacert]="" [control]="" [tun]="" [out]="iked-$side" [extra]="")
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
  [[ -n "${o[control]}" ]] && args+=(--control "${o[control]}")
  [[ -n "${o[tun]}" ]] && args+=(--tun "${o[tun]}")
  # shellcheck disable=SC2206 # extra: more options, split on spaces
  [[ -n "${o[extra]}" ]] && args+=(${o[extra]})
  local out="$M6I_TMP/${o[out]}.out"
  M6I_IKED_OUT="$out"
  m6i_log "  iked ($side): ${args[*]}"
  if [[ "${o[role]}" == initiator && "${o[once]}" == yes ]]; then
    local rc=0
    m6i_in "$side" "$M6I_IKED" "${args[@]}" >"$out" 2>&1 </dev/null || rc=$?
    return "$rc"
  fi
  # not m6i_in: a function run with & is a subshell, and $! would be bash's
  ip netns exec "$(m6i_ns "$side")" "$M6I_IKED" "${args[@]}" >"$out" 2>&1 </dev/null &
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
    "${M6I_IKED_OUT:-$M6I_TMP/iked-$1.out}"
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

# m6i_keylog_check_esp DIR CAPTURE N: with iked's esp_sa (every CHILD_SA,
# both directions) the capture's ESP-in-UDP decrypts to exactly N ICMPv6
# echo requests from A's selector address and N replies from B's.
m6i_keylog_check_esp() {
  local dir="$1" cap="$2" n="$3" req rep
  [[ -s "$dir/esp_sa" ]] || m6i_die "iked wrote no $dir/esp_sa"
  req="$(WIRESHARK_CONFIG_DIR="$dir" tshark -r "$cap" -o esp.enable_encryption_decode:TRUE \
    -Y "esp && icmpv6.type == 128 && ipv6.src == $M6I_TS_A" 2>/dev/null | grep -c . || true)"
  rep="$(WIRESHARK_CONFIG_DIR="$dir" tshark -r "$cap" -o esp.enable_encryption_decode:TRUE \
    -Y "esp && icmpv6.type == 129 && ipv6.src == $M6I_TS_B" 2>/dev/null | grep -c . || true)"
  [[ "$req $rep" == "$n $n" ]] ||
    m6i_die "iked's esp_sa decrypts $req echo requests and $rep replies in the capture, want $n each"
  m6i_log "  iked's esp_sa decrypts the ESP-in-UDP: $req echo requests, $rep replies"
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

# ------------------------------------------------ iked <-> charon: lifecycle

# Without --once iked stays up and prints one line per event (emu/README.md):
#   IKE_SA [rekeyed] ispi= rspi= [old_ispi= old_rspi=] ... ike_sas= child_sas= sad=
#   IKE_SA retired|deleted ispi= rspi= reason= ike_sas= child_sas= sad=
#   CHILD_SA [rekeyed] spi_in= spi_out= [old_spi_in= old_spi_out=] ... (counts)
#   CHILD_SA retired|deleted spi_in= spi_out= reason= (counts)
#   STATUS engine_ike_sas= engine_child_sas= (counts) ... STATUS end
# ("retired": the old SA of a rekey; the counts are what is left after the
# event: tracked IKE_SAs and CHILD_SAs, and ESP SAs in the userspace SAD).

m6i_ms() { echo "$((($(date +%s%N) - $1) / 1000000)) ms"; } # T0_NS

# m6i_iked_mark: later m6i_iked_await calls look only at lines printed after
# this point.
m6i_iked_mark() { M6I_IKED_MARK="$({ wc -l <"$M6I_IKED_OUT"; } 2>/dev/null || echo 0)"; }

# m6i_iked_await SECS ERE: wait for a line after the mark matching ERE; it
# is left in M6I_IKED_LINE.  Fails the test with iked's output if none.
m6i_iked_line_after() {
  M6I_IKED_LINE="$(tail -n +"$((M6I_IKED_MARK + 1))" "$M6I_IKED_OUT" 2>/dev/null | grep -E -m1 -- "$1")"
}
m6i_iked_await() {
  m6i_wait_for "$1" m6i_iked_line_after "$2" && return 0
  m6i_log "iked output since the mark:"
  tail -n +"$((M6I_IKED_MARK + 1))" "$M6I_IKED_OUT" >&2
  m6i_die "iked printed no line matching '$2' within $1 s"
}

# m6i_kv KEY: the value of KEY= in M6I_IKED_LINE.
m6i_kv() { tr ' ' '\n' <<<"$M6I_IKED_LINE" | sed -n "s/^$1=//p" | head -n 1; }

# m6i_iked_req REQUEST: ask the running iked (M6I_IKED_PID) for rekey-child,
# rekey-ike, delete-child, status or stop: by signal when M6I_IKED_VIA is
# signal (status always goes through the FIFO), else a line on its
# --control FIFO M6I_IKED_CTL.
m6i_iked_req() {
  local sig=""
  if [[ "${M6I_IKED_VIA:-control}" == signal ]]; then
    case "$1" in
    rekey-child) sig=USR1 ;; rekey-ike) sig=USR2 ;; delete-child) sig=HUP ;; stop) sig=TERM ;;
    esac
  fi
  if [[ -n "$sig" ]]; then
    kill -"$sig" "$M6I_IKED_PID" || m6i_die "iked (pid $M6I_IKED_PID) is gone"
  else
    # shellcheck disable=SC2016 # expanded by the inner bash
    timeout 3 bash -c 'printf "%s\n" "$1" >"$2"' m6i-ctl "$1" "$M6I_IKED_CTL" ||
      m6i_die "cannot write '$1' to iked's control FIFO $M6I_IKED_CTL"
  fi
}

# m6i_life_ok IKE_ALGS_VAR ESP_ALGS_VAR: charon (bob) has exactly one IKE_SA
# (ESTABLISHED, these algorithms, iked's current SPIs M6I_K_ISPI/M6I_K_RSPI)
# and exactly one CHILD_SA (INSTALLED, these algorithms, SPIs crossed with
# iked's M6I_K_SIN/M6I_K_SOUT): the old SAs of a rekey are gone.
m6i_life_ok() {
  local -n la="$1" le="$2"
  local ike ch
  [[ "$(m6i_count_sas bob "$M6I_CONN")" -eq 1 && "$(m6i_count_sas bob "$M6I_CONN" "$M6I_CHILD")" -eq 1 ]] || return 1
  ike="$(m6i_ike_spis bob "$M6I_CONN" state=ESTABLISHED "${la[@]}")" || return 1
  ch="$(m6i_child_spis bob "$M6I_CONN" "$M6I_CHILD" state=INSTALLED "${le[@]}")" || return 1
  [[ "$ike" == "${M6I_K_ISPI,,} ${M6I_K_RSPI,,}" && "$ch" == "${M6I_K_SOUT,,} ${M6I_K_SIN,,}" ]]
}
m6i_life_check() {
  local t0
  if ! m6i_wait_for 5 m6i_life_ok "$2" "$3"; then
    m6i_swanctl bob --list-sas >&2 || true
    m6i_die "$1: charon does not show exactly iked's SAs (IKE $M6I_K_ISPI $M6I_K_RSPI, ESP in/out $M6I_K_SIN $M6I_K_SOUT)"
  fi
  t0="$(date +%s%N)"
  local before after
  before="$(m6i_child_packets)"
  m6i_ping_tunnel
  M6I_PINGS=$((M6I_PINGS + 1))
  after="$(m6i_child_packets)"
  # the three echo requests and replies went through this CHILD_SA
  [[ "$((${after% *} - ${before% *})) $((${after#* } - ${before#* }))" == "3 3" ]] ||
    m6i_die "$1: charon's CHILD_SA counted packets in/out $before before the ping, $after after (want +3 +3)"
  m6i_log "  $1: IKE_SA $M6I_K_ISPI $M6I_K_RSPI, CHILD_SA iked in/out $M6I_K_SIN $M6I_K_SOUT; the only SAs on both sides; ping through it ($(m6i_ms "$t0"))"
}

# m6i_child_packets: "packets-in packets-out" of bob's CHILD_SA whose
# inbound SPI is iked's outbound one.
m6i_child_packets() {
  local flat
  flat="$(m6i_charon_dir bob)/sas.flat"
  m6i_sas bob >"$flat" || return 1
  echo "$(m6i_sa_select "$flat" "$M6I_CONN" "$M6I_CHILD" packets-in "spi-in=${M6I_K_SOUT,,}" | grep . || echo 0)" \
    "$(m6i_sa_select "$flat" "$M6I_CONN" "$M6I_CHILD" packets-out "spi-in=${M6I_K_SOUT,,}" | grep . || echo 0)"
}

# m6i_life_child_up: the CHILD_SA line after the mark (a new pair).
m6i_life_child_up() {
  m6i_iked_await 10 '^CHILD_SA spi_in='
  M6I_K_SIN="$(m6i_kv spi_in)" M6I_K_SOUT="$(m6i_kv spi_out)"
}
m6i_life_established() { # after the mark: IKE_SA and CHILD_SA up
  m6i_iked_await 10 '^IKE_SA ispi='
  M6I_K_ISPI="$(m6i_kv ispi)" M6I_K_RSPI="$(m6i_kv rspi)"
  m6i_life_child_up
}

# m6i_life_rekey WHO KIND IKE_ALGS_VAR ESP_ALGS_VAR: WHO (iked or charon)
# rekeys the CHILD_SA (KIND child) or the IKE_SA (KIND ike); iked must
# report the successor and retire the old SA (leaving one), charon must
# show only the new one; a CHILD_SA keeps its SPIs over an IKE_SA rekey.
m6i_life_rekey() {
  local who="$1" kind="$2" t0 tag old_a old_b k_a k_b
  t0="$(date +%s%N)"
  if [[ "$kind" == child ]]; then
    tag=CHILD_SA k_a=spi_in k_b=spi_out old_a="$M6I_K_SIN" old_b="$M6I_K_SOUT"
  else
    tag=IKE_SA k_a=ispi k_b=rspi old_a="$M6I_K_ISPI" old_b="$M6I_K_RSPI"
  fi
  m6i_iked_mark
  if [[ "$who" == iked ]]; then
    m6i_iked_req "rekey-$kind"
  else
    m6i_swanctl bob --rekey "--$([[ $kind == child ]] && echo child || echo ike)" \
      "$([[ $kind == child ]] && echo "$M6I_CHILD" || echo "$M6I_CONN")" >/dev/null ||
      m6i_die "bob: swanctl --rekey --$kind failed"
  fi
  m6i_iked_await 10 "^$tag rekeyed "
  [[ "$(m6i_kv "old_$k_a") $(m6i_kv "old_$k_b")" == "$old_a $old_b" ]] ||
    m6i_die "iked rekeyed another $tag than $old_a $old_b: $M6I_IKED_LINE"
  if [[ "$kind" == child ]]; then
    M6I_K_SIN="$(m6i_kv spi_in)" M6I_K_SOUT="$(m6i_kv spi_out)"
    if [[ -n "${M6I_A_PFS:-}" ]]; then
      # PFS: iked's new pair names the group, charon's shows it
      [[ "$(m6i_kv esp)" == *-x25519 ]] || m6i_die "rekeyed CHILD_SA without PFS: $M6I_IKED_LINE"
      m6i_expect_child bob "$M6I_CONN" "$M6I_CHILD" "spi-in=${M6I_K_SOUT,,}" "dh-group=$M6I_A_PFS" >/dev/null
    fi
  else
    M6I_K_ISPI="$(m6i_kv ispi)" M6I_K_RSPI="$(m6i_kv rspi)"
  fi
  m6i_iked_await 10 "^$tag retired $k_a=$old_a $k_b=$old_b .* ike_sas=1 child_sas=1 sad=2\$"
  m6i_life_check "$kind rekeyed by $who ($(m6i_ms "$t0"))" "$3" "$4"
}

# m6i_iked_status_is COUNTS: iked's status request shows COUNTS (e.g.
# "engine_ike_sas=1 engine_child_sas=1 ike_sas=1 child_sas=1 sad=2").
m6i_iked_status_is() {
  m6i_iked_mark
  m6i_iked_req status
  m6i_iked_await 5 '^STATUS end'
  m6i_iked_line_after '^STATUS engine_'
  [[ "$M6I_IKED_LINE" == "STATUS $1" ]] || m6i_die "iked status: '$M6I_IKED_LINE', expected 'STATUS $1'"
}

m6i_no_child_bob() { [[ "$(m6i_count_sas bob "$M6I_CONN" "$M6I_CHILD")" -eq 0 ]]; }

# m6i_life_delete_child WHO: WHO deletes the CHILD_SA; it is gone on both
# sides and the IKE_SA stays.
m6i_life_delete_child() {
  local who="$1" t0
  t0="$(date +%s%N)"
  m6i_iked_mark
  if [[ "$who" == iked ]]; then
    m6i_iked_req delete-child
  else
    m6i_swanctl bob --terminate --child "$M6I_CHILD" --timeout 5 >/dev/null ||
      m6i_die "bob: swanctl --terminate --child failed"
  fi
  m6i_iked_await 10 "^CHILD_SA deleted spi_in=$M6I_K_SIN spi_out=$M6I_K_SOUT .* ike_sas=1 child_sas=0 sad=0\$"
  m6i_wait_for 5 m6i_no_child_bob || m6i_die "bob still has a CHILD_SA after $who deleted it"
  [[ "$(m6i_ike_spis bob "$M6I_CONN" state=ESTABLISHED)" == "${M6I_K_ISPI,,} ${M6I_K_RSPI,,}" ]] ||
    m6i_die "bob lost the IKE_SA when $who deleted the CHILD_SA"
  m6i_log "  CHILD_SA deleted by $who ($(m6i_ms "$t0")): gone on both sides, the IKE_SA stays"
}

# m6i_life_delete_ike WHO: WHO deletes the IKE_SA (iked: on SIGTERM, then
# it must exit 0); nothing is left on either side.
m6i_life_delete_ike() {
  local who="$1" t0 rc=0
  t0="$(date +%s%N)"
  m6i_iked_mark
  if [[ "$who" == iked ]]; then
    kill -TERM "$M6I_IKED_PID"
  else
    m6i_swanctl bob --terminate --ike "$M6I_CONN" --timeout 5 >/dev/null ||
      m6i_die "bob: swanctl --terminate --ike failed"
  fi
  m6i_iked_await 10 "^IKE_SA deleted ispi=$M6I_K_ISPI rspi=$M6I_K_RSPI reason=delete ike_sas=0 child_sas=0 sad=0\$"
  m6i_expect_no_sas bob "$M6I_CONN"
  if [[ "$who" == iked ]]; then
    m6i_iked_wait || rc=$?
    [[ $rc -eq 0 ]] || m6i_die "iked exited $rc after SIGTERM: $(tail -n 5 "$M6I_IKED_OUT")"
    m6i_log "  IKE_SA deleted by iked on SIGTERM ($(m6i_ms "$t0")): none left on either side; iked exited 0"
  else
    kill -0 "$M6I_IKED_PID" 2>/dev/null || m6i_die "iked exited when charon deleted the IKE_SA"
    m6i_iked_status_is "engine_ike_sas=0 engine_child_sas=0 ike_sas=0 child_sas=0 sad=0"
    m6i_log "  IKE_SA deleted by charon ($(m6i_ms "$t0")): none left on either side; iked still up"
  fi
}

# m6i_life_start ROLE OPTS...: establish: iked (ROLE) starts without --once;
# as responder, charon initiates (up to three tries).
m6i_life_start() {
  local role="$1" try
  shift
  run_iked A "role=$role" once=no timeout=90 "control=$M6I_IKED_CTL" "tun=$M6I_IKED_TUN" "$@"
  M6I_IKED_MARK=0 # a new output file
  # iked's data path: the remote selector is routed to its TUN device,
  # from A's selector address (as charon's route on B: src 2001:db8:b::1)
  m6i_wait_for 5 m6i_in A ip link show dev "$M6I_IKED_TUN" >/dev/null 2>&1 ||
    m6i_die "iked did not create its TUN device $M6I_IKED_TUN: $(tail -n 5 "$M6I_IKED_OUT")"
  m6i_in A ip -6 route replace "$M6I_TSNET_B" dev "$M6I_IKED_TUN" src "$M6I_TS_A" ||
    m6i_die "cannot route $M6I_TSNET_B to $M6I_IKED_TUN"
  if [[ "$role" == responder ]]; then
    m6i_wait_for 10 m6i_udp_bound A 500 || m6i_die "iked responder did not bind UDP port 500"
    m6i_life_bob_initiates
  fi
  m6i_life_established
}

m6i_life_bob_initiates() {
  local try
  for try in 1 2 3; do
    m6i_swanctl bob --initiate --child "$M6I_CHILD" --timeout 15 >"$M6I_TMP/initiate.out" 2>&1 && return 0
    [[ $try -lt 3 ]] || m6i_die "bob: initiate against iked failed: $(cat "$M6I_TMP/initiate.out")"
    kill -0 "$M6I_IKED_PID" 2>/dev/null || m6i_die "iked exited: $(tail -n 20 "$M6I_IKED_OUT")"
    sleep 0.5
  done
}

# m6i_case_iked_life ROLE AUTH: iked (A) in ROLE against charon bob (B),
# staying up: establish, rekey the CHILD_SA by iked then by charon, rekey
# the IKE_SA by iked then by charon, delete the CHILD_SA by iked, charon
# creates one again and deletes it, charon deletes the IKE_SA, establish
# again (a new iked initiator, or charon initiating against the same iked
# responder), iked deletes the IKE_SA on SIGTERM.  Requests reach iked by
# its --control FIFO as initiator, by signals as responder.
m6i_case_iked_life() {
  local role="$1" auth="$2" t0 rc=0
  t0="$(date +%s%N)"
  m6i_iked_auth "$auth"
  local ike_algs="$M6I_A_IKE_ALGS" esp_algs="$M6I_A_ESP_ALGS"
  m6i_log "case iked-$role-life-$auth: iked ($role, A) vs charon (B), $M6I_A_IKEP / $M6I_A_ESPP"
  m6i_charon_peer bob B "${M6I_A_CHARON[@]}" "ike_proposal=$M6I_A_IKEP" "esp_proposal=$M6I_A_ESPP"
  local cap=""
  if command -v tshark >/dev/null 2>&1; then
    cap="$M6I_TMP/iked-$role-life-$auth.pcapng"
    m6i_capture_start "$cap" || m6i_die "tshark capture did not start"
  fi
  local kl="$M6I_TMP/keylog-$role-life-$auth"
  mkdir -p "$kl"
  M6I_IKED_CTL="$M6I_TMP/iked-$role-$auth.ctl"
  M6I_IKED_TUN=m6i-tun M6I_PINGS=0
  M6I_IKED_VIA=control
  [[ "$role" == responder ]] && M6I_IKED_VIA=signal
  local opts=("${M6I_A_IKED[@]}" "ike_proposal=$M6I_A_IKEP" "esp_proposal=$M6I_A_ESPP" "keylog=$kl")

  m6i_life_start "$role" "${opts[@]}" "out=iked-$role-life-$auth"
  m6i_life_check "established ($(m6i_ms "$t0") after charon's start)" "$ike_algs" "$esp_algs"
  m6i_life_rekey iked child "$ike_algs" "$esp_algs"
  m6i_life_rekey charon child "$ike_algs" "$esp_algs"
  m6i_life_rekey iked ike "$ike_algs" "$esp_algs"
  m6i_life_rekey charon ike "$ike_algs" "$esp_algs"
  m6i_iked_status_is "engine_ike_sas=1 engine_child_sas=1 ike_sas=1 child_sas=1 sad=2"
  m6i_life_delete_child iked
  m6i_iked_mark
  m6i_swanctl bob --initiate --child "$M6I_CHILD" --timeout 10 >"$M6I_TMP/initiate.out" 2>&1 ||
    m6i_die "bob: a new CHILD_SA on the IKE_SA failed: $(cat "$M6I_TMP/initiate.out")"
  m6i_life_child_up
  m6i_life_check "CHILD_SA created again by charon (CREATE_CHILD_SA)" "$ike_algs" "$esp_algs"
  m6i_life_delete_child charon
  m6i_life_delete_ike charon

  # An IKE_SA again, for iked to delete.
  if [[ "$role" == initiator ]]; then
    m6i_iked_req stop
    m6i_iked_wait || rc=$?
    [[ $rc -eq 0 ]] || m6i_die "iked without SAs exited $rc on stop"
    m6i_life_start initiator "${opts[@]}" "out=iked-$role-life-$auth-2"
  else
    m6i_iked_mark
    m6i_life_bob_initiates
    m6i_life_established
  fi
  m6i_life_check "established again" "$ike_algs" "$esp_algs"
  m6i_life_delete_ike iked

  if [[ -n "$cap" ]]; then
    sleep 0.2
    m6i_capture_stop
    m6i_capture_check_ike "$cap" 34 35 36 37
    M6I_LAST_CAPTURE="$cap"
    m6i_keylog_check "$kl" "$cap"
    m6i_keylog_check_esp "$kl" "$cap" "$((3 * M6I_PINGS))"
  fi
  m6i_charon_stop bob || m6i_die "bob did not stop cleanly"
  m6i_log "case iked-$role-life-$auth: ok ($(m6i_elapsed "$t0"))"
}

# m6i_iked_auth AUTH: proposals and credentials of a case (psk, psk-pfs,
# psk-modp, cert): M6I_A_IKEP/M6I_A_ESPP, the names of the algorithm arrays
# charon must show (M6I_A_IKE_ALGS/M6I_A_ESP_ALGS), and the options for
# charon (M6I_A_CHARON) and run_iked (M6I_A_IKED).
m6i_iked_auth() {
  M6I_A_PFS="" # charon's dh-group of a rekeyed CHILD_SA, if PFS
  case "$1" in
  psk)
    M6I_A_IKEP=aes128gcm16-prfsha256-x25519 M6I_A_ESPP=aes128gcm16
    M6I_A_IKE_ALGS=M6I_GCM_IKE M6I_A_ESP_ALGS=M6I_GCM_ESP
    M6I_A_CHARON=(auth=psk "psk=$M6I_PSK") M6I_A_IKED=(auth=psk)
    ;;
  psk-pfs)
    # CHILD_SA rekeys with a new X25519 exchange (RFC 7296 §1.3.3); the
    # first CHILD_SA, made in IKE_AUTH, has none
    M6I_A_IKEP=aes128gcm16-prfsha256-x25519 M6I_A_ESPP=aes128gcm16-x25519
    M6I_A_IKE_ALGS=M6I_GCM_IKE M6I_A_ESP_ALGS=M6I_GCM_ESP
    M6I_A_CHARON=(auth=psk "psk=$M6I_PSK") M6I_A_IKED=(auth=psk)
    M6I_A_PFS=CURVE_25519
    ;;
  psk-modp | cert)
    M6I_A_IKEP=aes128-sha256-modp2048 M6I_A_ESPP=aes128-sha256
    M6I_A_IKE_ALGS=M6I_CBC_IKE M6I_A_ESP_ALGS=M6I_CBC_ESP
    M6I_A_CHARON=(auth=psk "psk=$M6I_PSK") M6I_A_IKED=(auth=psk)
    if [[ "$1" == cert ]]; then
      [[ -f "$M6I_TMP/pki/ca.crt" ]] || {
        m6i_pki_init rsa
        m6i_pki_issue alice "$M6I_ID_A" rsa
        m6i_pki_issue bob "$M6I_ID_B" rsa
      }
      # shellcheck disable=SC2207
      # send_cert=always: our engine does not send CERTREQ yet, and charon
      # sends its certificate only when asked (ifasked).
      M6I_A_CHARON=($(m6i_cert_opts bob) send_cert=always)
      M6I_A_IKED=(auth=pubkey "cert=$M6I_TMP/pki/alice.crt" "key=$M6I_TMP/pki/alice.key" "cacert=$M6I_TMP/pki/ca.crt")
    fi
    ;;
  *) m6i_die "unknown auth $1" ;;
  esac
}

# m6i_case_iked_timers ROLE: iked's own lifetimes (there is no kernel to
# send PF_KEY EXPIREs): with --rekey-time 1 --ike-rekey-time 1.5 it rekeys
# the CHILD_SA and the IKE_SA by itself; then a second run with
# --lifetime 1 (no rekey) deletes the CHILD_SA after a second.  PSK,
# X25519 / AES-GCM; no capture, no data path.
m6i_case_iked_timers() {
  local role="$1" t0 rc=0
  t0="$(date +%s%N)"
  m6i_iked_auth psk
  m6i_log "case iked-$role-timers: iked ($role, A) vs charon (B), --rekey-time, --ike-rekey-time, --lifetime"
  m6i_charon_peer bob B "${M6I_A_CHARON[@]}" "ike_proposal=$M6I_A_IKEP" "esp_proposal=$M6I_A_ESPP"
  M6I_IKED_CTL="$M6I_TMP/iked-$role-timers.ctl" M6I_IKED_VIA=control M6I_IKED_TUN=m6i-tun
  local opts=("${M6I_A_IKED[@]}" "ike_proposal=$M6I_A_IKEP" "esp_proposal=$M6I_A_ESPP")
  m6i_life_start "$role" "${opts[@]}" "out=iked-$role-timers" "extra=--rekey-time 1 --ike-rekey-time 1.5"
  local old_in="$M6I_K_SIN" old_i="$M6I_K_ISPI"
  m6i_iked_await 5 "^CHILD_SA rekeyed .*old_spi_in=$old_in "
  m6i_iked_await 5 "^IKE_SA rekeyed .*old_ispi=$old_i "
  m6i_iked_req stop
  m6i_iked_wait || rc=$?
  [[ $rc -eq 0 ]] || m6i_die "iked exited $rc on stop"
  m6i_expect_no_sas bob "$M6I_CONN"
  m6i_log "  iked rekeyed the CHILD_SA and the IKE_SA on its timers ($(m6i_ms "$t0"))"

  t0="$(date +%s%N)"
  [[ "$role" == responder ]] && m6i_wait_for 5 m6i_no_udp_500 A
  m6i_life_start "$role" "${opts[@]}" "out=iked-$role-timers-2" "extra=--lifetime 1"
  m6i_iked_mark
  m6i_iked_await 5 "^CHILD_SA deleted spi_in=$M6I_K_SIN spi_out=$M6I_K_SOUT reason=delete ike_sas=1 child_sas=0 sad=0\$"
  m6i_wait_for 5 m6i_no_child_bob || m6i_die "bob still has the CHILD_SA iked's --lifetime deleted"
  kill -TERM "$M6I_IKED_PID"
  m6i_iked_wait || rc=$?
  [[ $rc -eq 0 ]] || m6i_die "iked exited $rc on SIGTERM"
  m6i_expect_no_sas bob "$M6I_CONN"
  m6i_charon_stop bob || m6i_die "bob did not stop cleanly"
  m6i_log "  iked deleted the CHILD_SA at its --lifetime ($(m6i_ms "$t0"))"
  m6i_log "case iked-$role-timers: ok"
}

m6i_no_udp_500() { ! m6i_udp_bound "$1" 500; }
