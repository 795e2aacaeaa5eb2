/*
 * libFuzzer target for the mh unit.  The first input byte selects the mode:
 *   even: the rest is a bare Mobility Header message: decode it; whatever
 *         decodes must encode, decode again and compare equal.
 *   odd:  the rest is a whole IPv6 packet: walk it, then parse it as an MH
 *         packet; a packet that parses must rebuild (same addresses, HAO and
 *         RH2) and parse again to the same message.
 * Any mismatch abort()s.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "m6ike/mh.h"

static void fuzz_message(const uint8_t *data, size_t size) {
  m6ike_mh_msg a, b;
  uint8_t out[4096];
  char text[512];
  int n = m6ike_mh_decode(&a, data, size);
  if (n < 0) {
    return;
  }
  if ((size_t)n > size || n % 8 != 0) {
    abort();
  }
  m6ike_mh_format(&a, text, sizeof(text));
  int m = m6ike_mh_encode(out, sizeof(out), &a);
  if (m < 0 || m != m6ike_mh_encoded_len(&a)) {
    abort();
  }
  if (m6ike_mh_decode(&b, out, (size_t)m) != m) {
    abort();
  }
  if (!m6ike_mh_msg_equal(&a, &b) || b.opts.unknown_count != 0) {
    abort();
  }
}

static void fuzz_packet(const uint8_t *data, size_t size) {
  m6ike_ip6_info info, info2;
  m6ike_mh_msg a, b;
  uint8_t out[4096];
  if (m6ike_ip6_walk(&info, data, size) == 0) {
    if (info.upper_off > size || info.upper_len > size - info.upper_off ||
        info.ext_count > M6IKE_IP6_MAX_EXT) {
      abort();
    }
  }
  if (m6ike_mh_parse_packet(&info, &a, data, size) != 0) {
    return;
  }
  int n = m6ike_mh_build_packet(out, sizeof(out), &info.src, &info.dst,
                                info.has_hao ? &info.hao : NULL,
                                info.has_rh2 ? &info.rh2_addr : NULL, &a);
  if (n < 0) {
    abort();
  }
  if (m6ike_mh_parse_packet(&info2, &b, out, (size_t)n) != 0 ||
      !m6ike_mh_msg_equal(&a, &b)) {
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) {
    return 0;
  }
  if (data[0] & 1) {
    fuzz_packet(data + 1, size - 1);
  } else {
    fuzz_message(data + 1, size - 1);
  }
  return 0;
}
