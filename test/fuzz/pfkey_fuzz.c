/*
 * libFuzzer target for the PF_KEY decoder.  Each input is decoded strict,
 * lenient and lenient-legacy; whatever decodes is re-encoded through the
 * builder (m6ike_pfkey_rebuild), decoded again, and must give the same
 * header, the same extensions present, and a byte-identical re-encoding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "m6ike/pfkey.h"

static uint8_t out1[600000], out2[600000];

static void check(const uint8_t *data, size_t size, unsigned flags) {
  m6ike_pfkey_msg m1, m2;
  int rc = m6ike_pfkey_decode(&m1, data, size, flags);
  if (rc < 0) {
    return;
  }
  if ((size_t)rc != size) {
    abort();
  }
  char line[512];
  (void)m6ike_pfkey_format(&m1, line, sizeof(line));
  (void)m6ike_pfkey_check_required(&m1);
  int n1 = m6ike_pfkey_rebuild(&m1, out1, sizeof(out1));
  if (n1 < 0) {
    abort();
  }
  /* The rebuilt message holds only known extensions: strict must accept. */
  if (m6ike_pfkey_decode(&m2, out1, (size_t)n1, M6IKE_PFKEY_DEC_STRICT) !=
      n1) {
    abort();
  }
  if (m1.hdr.type != m2.hdr.type || m1.hdr.satype != m2.hdr.satype ||
      m1.hdr.seq != m2.hdr.seq || m1.hdr.pid != m2.hdr.pid ||
      m1.hdr.msg_errno != m2.hdr.msg_errno || m1.n_ext != m2.n_ext ||
      m2.n_skipped != 0) {
    abort();
  }
  for (unsigned t = 1; t <= M6IKE_SADB_EXT_MAX; t++) {
    if (m6ike_pfkey_has(&m1, t) != m6ike_pfkey_has(&m2, t)) {
      abort();
    }
  }
  m6ike_pfkey_reference r1, r2;
  int h1 = m6ike_pfkey_get_reference(&m1, &r1);
  int h2 = m6ike_pfkey_get_reference(&m2, &r2);
  if (h1 != h2 || (h1 == 0 && r1.mpi != r2.mpi)) {
    abort();
  }
  /* the private SA-selector (97) and SA-move (98) extensions */
  m6ike_pfkey_sa_sel s1, s2;
  h1 = m6ike_pfkey_get_sa_sel(&m1, &s1);
  h2 = m6ike_pfkey_get_sa_sel(&m2, &s2);
  if (h1 != h2 || (h1 == 0 && memcmp(&s1, &s2, sizeof(s1)) != 0)) {
    abort();
  }
  m6ike_pfkey_sa_move v1, v2;
  h1 = m6ike_pfkey_get_sa_move(&m1, &v1);
  h2 = m6ike_pfkey_get_sa_move(&m2, &v2);
  if (h1 != h2 || (h1 == 0 && memcmp(&v1, &v2, sizeof(v1)) != 0)) {
    abort();
  }
  int n2 = m6ike_pfkey_rebuild(&m2, out2, sizeof(out2));
  if (n2 != n1 || memcmp(out1, out2, (size_t)n1) != 0) {
    abort();
  }
  /* Element accessors over the variable parts. */
  m6ike_pfkey_policy pol;
  if (m6ike_pfkey_get_policy(&m1, &pol) == 0) {
    for (size_t i = 0; i < pol.n_requests; i++) {
      m6ike_pfkey_ipsecrequest rq;
      if (m6ike_pfkey_policy_request(&pol, i, &rq) != 0) {
        abort();
      }
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check(data, size, M6IKE_PFKEY_DEC_STRICT);
  check(data, size, M6IKE_PFKEY_DEC_LENIENT);
  check(data, size, M6IKE_PFKEY_DEC_LENIENT | M6IKE_PFKEY_DEC_LEGACY);
  return 0;
}
