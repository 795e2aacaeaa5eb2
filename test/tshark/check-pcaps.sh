#!/usr/bin/env bash
# The pcaps and key logs of an ns-3 handover run decode in tshark:
# BU/BA with the Home Address option and the Type 2 Routing Header (after
# ESP decryption with the esp_sa key log), IKEv2 (IKE_SA_INIT, and IKE_AUTH
# decrypted with the ikev2_decryption_table key log, showing the HoA in
# TSi), ESP with the tunnelled CBR payload inside.
#
#   check-pcaps.sh HANDOVER_EXE
#
# Exits 77 (ctest SKIP_RETURN_CODE) with a message when tshark is absent.
set -uo pipefail
exe="$1"
if ! command -v tshark >/dev/null 2>&1; then
  echo "tshark not installed: pcap decoding check skipped (./mip6ike test installs it)"
  exit 77
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
out="$tmp/out"
mkdir -p "$out"
if ! "$exe" --scheme=msrd --rate=100 --out="$out" --duration=7 --verbose=0 >"$tmp/run.log" 2>&1; then
  echo "FAIL: the handover run failed:"
  cat "$tmp/run.log"
  exit 1
fi
# The HA's backbone devices (node 0; device 0 is the loopback, 1 the home
# link, 2 and 3 the point-to-point links to AR1 and AR2) see IKE, BU/BA and
# the tunnel, before and after the handover.
pcaps=("$out/handover-0-2.pcap" "$out/handover-0-3.pcap")
for pcap in "${pcaps[@]}"; do
  [[ -s "$pcap" ]] || { echo "FAIL: no $pcap"; ls "$out"; exit 1; }
done
# Wireshark reads its key tables from its personal configuration directory.
cfg="$tmp/xdg/wireshark"
mkdir -p "$cfg"
cat "$out"/*-ikev2_decryption_table 2>/dev/null | sort -u >"$cfg/ikev2_decryption_table"
cat "$out"/*-esp_sa 2>/dev/null | sort -u >"$cfg/esp_sa"
[[ -s "$cfg/ikev2_decryption_table" ]] || { echo "FAIL: no ikev2_decryption_table key log in $out"; ls "$out"; exit 1; }
[[ -s "$cfg/esp_sa" ]] || { echo "FAIL: no esp_sa key log in $out"; ls "$out"; exit 1; }

fails=0
count() { # count FILTER: frames matching it in the pcaps
  local pcap n=0 c
  for pcap in "${pcaps[@]}"; do
    c="$(XDG_CONFIG_HOME="$tmp/xdg" HOME="$tmp" tshark -r "$pcap" -n \
      -o esp.enable_encryption_decode:TRUE -o esp.enable_authentication_check:TRUE \
      -Y "$1" 2>>"$tmp/tshark.err" | wc -l)"
    n=$((n + c))
  done
  echo "$n"
}
check() { # check WHAT FILTER
  local n
  n="$(count "$2")"
  if [[ "$n" -gt 0 ]]; then
    echo "ok   $1: $n frame(s) ($2)"
  else
    echo "FAIL $1: no frame matches '$2'"
    cat "$tmp/tshark.err"
    fails=$((fails + 1))
  fi
}
check "IKE_SA_INIT" 'isakmp.exchangetype == 34'
check "IKE_AUTH" 'isakmp.exchangetype == 35'
check "IKE_AUTH decrypted: HoA in a traffic selector" 'isakmp.ts.start_ipv6 == 2001::5'
check "ESP" 'esp'
check "BU with Home Address option (decrypted)" 'mip6.mhtype == 5 && ipv6.opt.mipv6.home_address == 2001::5'
check "BA with Type 2 Routing Header (decrypted)" 'mip6.mhtype == 6 && ipv6.routing.type == 2'
check "ESP ICV verified" 'esp.icv_good == 1'
check "after the handover: ESP from the new CoA decrypted" 'esp && ipv6.src == 2003::/16 && mip6.mhtype == 5'
check "tunnelled CBR payload (decrypted)" 'esp && udp.dstport == 9000'
echo "$fails failed"
[[ $fails -eq 0 ]]
