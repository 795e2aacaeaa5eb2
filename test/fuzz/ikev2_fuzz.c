/*
 * libFuzzer target for the IKEv2 message codec (m6ike/ikev2_msg.h).
 *
 * The input is one IKE message.  It is parsed; every payload view goes
 * through its typed decoder; the exchange table check and the log-line
 * formatter run on it.  An SK payload is read with a null cipher (no IV,
 * no ICV, block size 1: the body is the plaintext, padding included), so
 * its inner payloads are parsed and decoded too.
 *
 * Whatever decodes completely is re-generated through the builder from
 * the decoded structs (typed add_* calls, incremental SA, add_raw for
 * unknown payloads).  The result must parse and decode, carry the same
 * header and the same payloads with the same decoded contents (fields,
 * SPIs, data, every proposal/transform/attribute/selector/configuration
 * attribute), and a second re-generation must give the same bytes.  Any
 * mismatch abort()s.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "m6ike/ikev2_msg.h"

#define CHECK(c)                                                            \
  do {                                                                      \
    if (!(c)) {                                                             \
      abort();                                                              \
    }                                                                       \
  } while (0)

static int same_bytes(const uint8_t *a, size_t an, const uint8_t *b,
                      size_t bn) {
  return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* Parses buf and, with the null cipher, its SK content; decodes all.
 * Returns 0 if the whole message decoded. */
static int load(m6ike_ikev2_msg *m, const uint8_t *buf, size_t len) {
  char line[512];
  int rc = m6ike_ikev2_parse(m, buf, len, 0);
  if (rc < 0) {
    if (rc != M6IKE_ERR_IKEV2_HDR_TRUNCATED) {
      m6ike_ikev2_format(m, line, sizeof(line));
    }
    CHECK(m6ike_ikev2_err_to_notify(rc) != 0 ||
          rc == M6IKE_ERR_IKEV2_HDR_TRUNCATED ||
          rc == M6IKE_ERR_IKEV2_MSG_LENGTH ||
          rc == M6IKE_ERR_IKEV2_MSG_TRUNCATED);
    return rc;
  }
  CHECK((size_t)rc == len && m->count == m->outer_count &&
        m->count <= M6IKE_IKEV2_MAX_PAYLOADS);
  for (unsigned i = 0; i < m->count; i++) {
    CHECK(m->pl[i].body >= buf && m->pl[i].body + m->pl[i].body_len <=
                                      buf + len);
  }
  (void)m6ike_ikev2_check_exchange(m);
  if (m->sk >= 0) {
    m6ike_ikev2_sk_region r;
    size_t inner;
    if (m6ike_ikev2_sk_layout(m, 0, 0, 1, &r) != 0 ||
        m6ike_ikev2_sk_strip_padding(buf + r.plain_off, r.plain_len,
                                     &inner) != 0) {
      return -1;
    }
    CHECK(r.icv_off + r.icv_len == len);
    rc = m6ike_ikev2_parse_inner(m, buf + r.plain_off, inner);
    if (rc < 0) {
      CHECK(m->count == m->outer_count);
      return rc;
    }
    (void)m6ike_ikev2_check_exchange(m);
  }
  m6ike_ikev2_format(m, line, sizeof(line));
  CHECK(strlen(line) < sizeof(line));
  return m6ike_ikev2_decode_all(m);
}

/* Re-generates one decoded payload. */
static void emit(m6ike_ikev2_builder *b, const m6ike_ikev2_payload *v) {
  switch (v->type) {
  case M6IKE_IKEV2_PL_SA: {
    m6ike_ikev2_sa sa;
    m6ike_ikev2_proposal p;
    size_t pp = 0;
    CHECK(m6ike_ikev2_decode_sa(v, &sa) == 0);
    m6ike_ikev2_sa_begin(b);
    while (m6ike_ikev2_sa_next_proposal(&sa, &pp, &p)) {
      m6ike_ikev2_transform t;
      size_t tp = 0;
      m6ike_ikev2_sa_proposal(b, p.num, p.proto, p.spi, p.spi_size);
      while (m6ike_ikev2_proposal_next_transform(&p, &tp, &t)) {
        m6ike_ikev2_attr a;
        size_t ap = 0;
        m6ike_ikev2_sa_transform(b, t.type, t.id, -1);
        while (m6ike_ikev2_transform_next_attr(&t, &ap, &a)) {
          m6ike_ikev2_sa_attr(b, &a);
        }
      }
    }
    m6ike_ikev2_sa_end(b);
    break;
  }
  case M6IKE_IKEV2_PL_KE: {
    m6ike_ikev2_ke x;
    CHECK(m6ike_ikev2_decode_ke(v, &x) == 0);
    m6ike_ikev2_add_ke(b, &x);
    break;
  }
  case M6IKE_IKEV2_PL_IDI:
  case M6IKE_IKEV2_PL_IDR: {
    m6ike_ikev2_id x;
    CHECK(m6ike_ikev2_decode_id(v, &x) == 0);
    m6ike_ikev2_add_id(b, v->type, &x);
    break;
  }
  case M6IKE_IKEV2_PL_CERT: {
    m6ike_ikev2_cert x;
    CHECK(m6ike_ikev2_decode_cert(v, &x) == 0);
    m6ike_ikev2_add_cert(b, &x);
    break;
  }
  case M6IKE_IKEV2_PL_CERTREQ: {
    m6ike_ikev2_cert x;
    CHECK(m6ike_ikev2_decode_certreq(v, &x) == 0);
    m6ike_ikev2_add_certreq(b, &x);
    break;
  }
  case M6IKE_IKEV2_PL_AUTH: {
    m6ike_ikev2_auth x;
    CHECK(m6ike_ikev2_decode_auth(v, &x) == 0);
    m6ike_ikev2_add_auth(b, &x);
    break;
  }
  case M6IKE_IKEV2_PL_NONCE: {
    m6ike_ikev2_blob x;
    CHECK(m6ike_ikev2_decode_nonce(v, &x) == 0);
    m6ike_ikev2_add_nonce(b, x.data, x.len);
    break;
  }
  case M6IKE_IKEV2_PL_NOTIFY: {
    m6ike_ikev2_notify x;
    CHECK(m6ike_ikev2_decode_notify(v, &x) == 0);
    m6ike_ikev2_add_notify(b, &x);
    break;
  }
  case M6IKE_IKEV2_PL_DELETE: {
    m6ike_ikev2_delete x;
    CHECK(m6ike_ikev2_decode_delete(v, &x) == 0);
    m6ike_ikev2_add_delete(b, &x);
    break;
  }
  case M6IKE_IKEV2_PL_VENDOR:
    m6ike_ikev2_add_vendor(b, v->body, v->body_len);
    break;
  case M6IKE_IKEV2_PL_EAP: {
    m6ike_ikev2_blob x;
    CHECK(m6ike_ikev2_decode_eap(v, &x) == 0);
    m6ike_ikev2_add_eap(b, x.data, x.len);
    break;
  }
  case M6IKE_IKEV2_PL_TSI:
  case M6IKE_IKEV2_PL_TSR: {
    m6ike_ikev2_ts_payload tp;
    m6ike_ikev2_ts ts[255];
    size_t pos = 0, n = 0;
    CHECK(m6ike_ikev2_decode_ts(v, &tp) == 0);
    while (n < 255 && m6ike_ikev2_ts_next(&tp, &pos, &ts[n])) {
      n++;
    }
    CHECK(n == tp.num_ts && pos == tp.len);
    m6ike_ikev2_add_ts(b, v->type, ts, n);
    break;
  }
  case M6IKE_IKEV2_PL_CP: {
    m6ike_ikev2_cp cp;
    CHECK(m6ike_ikev2_decode_cp(v, &cp) == 0);
    m6ike_ikev2_cp_attr *a =
        (m6ike_ikev2_cp_attr *)malloc(sizeof(*a) * (cp.n_attrs + 1));
    CHECK(a != NULL);
    size_t pos = 0, n = 0;
    while (m6ike_ikev2_cp_next(&cp, &pos, &a[n])) {
      n++;
    }
    CHECK(n == cp.n_attrs && pos == cp.len);
    m6ike_ikev2_add_cp(b, cp.cfg_type, a, n);
    free(a);
    break;
  }
  default: /* unknown (non-critical) */
    m6ike_ikev2_add_raw(b, v->type, 0, v->body, v->body_len);
    break;
  }
}

/* Re-generates the whole message into out; returns its length or < 0. */
static int regenerate(const m6ike_ikev2_msg *m, uint8_t *out, size_t cap) {
  m6ike_ikev2_builder b;
  CHECK(m6ike_ikev2_builder_begin(&b, out, cap, &m->hdr) == 0);
  for (unsigned i = 0; i < m->outer_count; i++) {
    if (m->pl[i].type == M6IKE_IKEV2_PL_SK) {
      m6ike_ikev2_sk_region r;
      CHECK(m6ike_ikev2_sk_begin(&b, 0) > 0);
      for (unsigned j = m->outer_count; j < m->count; j++) {
        emit(&b, &m->pl[j]);
      }
      m6ike_ikev2_sk_end(&b, 1, 0, &r);
    } else {
      emit(&b, &m->pl[i]);
    }
  }
  return m6ike_ikev2_builder_finish(&b);
}

/* Compares two decoded payloads of the same type field by field. */
static void compare(const m6ike_ikev2_payload *x,
                    const m6ike_ikev2_payload *y) {
  CHECK(x->type == y->type && x->known == y->known &&
        x->inner == y->inner);
  switch (x->type) {
  case M6IKE_IKEV2_PL_SA: {
    m6ike_ikev2_sa a, b;
    m6ike_ikev2_proposal pa, pb;
    size_t qa = 0, qb = 0;
    CHECK(m6ike_ikev2_decode_sa(x, &a) == 0 &&
          m6ike_ikev2_decode_sa(y, &b) == 0);
    CHECK(a.n_proposals == b.n_proposals);
    while (m6ike_ikev2_sa_next_proposal(&a, &qa, &pa)) {
      m6ike_ikev2_transform ta, tb;
      size_t ra = 0, rb = 0;
      CHECK(m6ike_ikev2_sa_next_proposal(&b, &qb, &pb));
      CHECK(pa.num == pb.num && pa.proto == pb.proto &&
            pa.n_transforms == pb.n_transforms &&
            same_bytes(pa.spi, pa.spi_size, pb.spi, pb.spi_size));
      while (m6ike_ikev2_proposal_next_transform(&pa, &ra, &ta)) {
        m6ike_ikev2_attr aa, ab;
        size_t sa_ = 0, sb = 0;
        CHECK(m6ike_ikev2_proposal_next_transform(&pb, &rb, &tb));
        CHECK(ta.type == tb.type && ta.id == tb.id &&
              ta.key_len == tb.key_len);
        while (m6ike_ikev2_transform_next_attr(&ta, &sa_, &aa)) {
          CHECK(m6ike_ikev2_transform_next_attr(&tb, &sb, &ab));
          CHECK(aa.type == ab.type && aa.tv == ab.tv &&
                aa.value == ab.value &&
                same_bytes(aa.data, aa.len, ab.data, ab.len));
        }
        CHECK(!m6ike_ikev2_transform_next_attr(&tb, &sb, &ab));
      }
      CHECK(!m6ike_ikev2_proposal_next_transform(&pb, &rb, &tb));
    }
    CHECK(!m6ike_ikev2_sa_next_proposal(&b, &qb, &pb));
    break;
  }
  case M6IKE_IKEV2_PL_KE: {
    m6ike_ikev2_ke a, b;
    CHECK(m6ike_ikev2_decode_ke(x, &a) == 0 &&
          m6ike_ikev2_decode_ke(y, &b) == 0);
    CHECK(a.group == b.group && same_bytes(a.data, a.len, b.data, b.len));
    break;
  }
  case M6IKE_IKEV2_PL_IDI:
  case M6IKE_IKEV2_PL_IDR: {
    m6ike_ikev2_id a, b;
    CHECK(m6ike_ikev2_decode_id(x, &a) == 0 &&
          m6ike_ikev2_decode_id(y, &b) == 0);
    CHECK(a.id_type == b.id_type && same_bytes(a.data, a.len, b.data, b.len));
    break;
  }
  case M6IKE_IKEV2_PL_CERT:
  case M6IKE_IKEV2_PL_CERTREQ: {
    m6ike_ikev2_cert a, b;
    if (x->type == M6IKE_IKEV2_PL_CERT) {
      CHECK(m6ike_ikev2_decode_cert(x, &a) == 0 &&
            m6ike_ikev2_decode_cert(y, &b) == 0);
    } else {
      CHECK(m6ike_ikev2_decode_certreq(x, &a) == 0 &&
            m6ike_ikev2_decode_certreq(y, &b) == 0);
    }
    CHECK(a.encoding == b.encoding &&
          same_bytes(a.data, a.len, b.data, b.len));
    break;
  }
  case M6IKE_IKEV2_PL_AUTH: {
    m6ike_ikev2_auth a, b;
    CHECK(m6ike_ikev2_decode_auth(x, &a) == 0 &&
          m6ike_ikev2_decode_auth(y, &b) == 0);
    CHECK(a.method == b.method && same_bytes(a.data, a.len, b.data, b.len));
    break;
  }
  case M6IKE_IKEV2_PL_NOTIFY: {
    m6ike_ikev2_notify a, b;
    CHECK(m6ike_ikev2_decode_notify(x, &a) == 0 &&
          m6ike_ikev2_decode_notify(y, &b) == 0);
    CHECK(a.proto == b.proto && a.type == b.type &&
          same_bytes(a.spi, a.spi_size, b.spi, b.spi_size) &&
          same_bytes(a.data, a.len, b.data, b.len) &&
          a.ke_group == b.ke_group && a.mpi == b.mpi &&
          a.spi32 == b.spi32 && memcmp(&a.addr6, &b.addr6, 16) == 0 &&
          memcmp(a.addr4, b.addr4, 4) == 0);
    break;
  }
  case M6IKE_IKEV2_PL_DELETE: {
    m6ike_ikev2_delete a, b;
    CHECK(m6ike_ikev2_decode_delete(x, &a) == 0 &&
          m6ike_ikev2_decode_delete(y, &b) == 0);
    CHECK(a.proto == b.proto && a.num_spi == b.num_spi &&
          same_bytes(a.spis, (size_t)a.num_spi * a.spi_size, b.spis,
                     (size_t)b.num_spi * b.spi_size));
    for (unsigned i = 0; i < a.num_spi; i++) {
      CHECK(m6ike_ikev2_delete_spi32(&a, i) ==
            m6ike_ikev2_delete_spi32(&b, i));
    }
    break;
  }
  case M6IKE_IKEV2_PL_TSI:
  case M6IKE_IKEV2_PL_TSR: {
    m6ike_ikev2_ts_payload a, b;
    m6ike_ikev2_ts ta, tb;
    size_t qa = 0, qb = 0;
    CHECK(m6ike_ikev2_decode_ts(x, &a) == 0 &&
          m6ike_ikev2_decode_ts(y, &b) == 0);
    CHECK(a.num_ts == b.num_ts);
    while (m6ike_ikev2_ts_next(&a, &qa, &ta)) {
      uint8_t ma, mb;
      CHECK(m6ike_ikev2_ts_next(&b, &qb, &tb));
      CHECK(memcmp(&ta, &tb, sizeof(ta)) == 0);
      CHECK(m6ike_ikev2_ts_get_mh(&ta, &ma) == m6ike_ikev2_ts_get_mh(&tb, &mb));
    }
    CHECK(!m6ike_ikev2_ts_next(&b, &qb, &tb));
    break;
  }
  case M6IKE_IKEV2_PL_CP: {
    m6ike_ikev2_cp a, b;
    m6ike_ikev2_cp_attr ca, cb;
    size_t qa = 0, qb = 0;
    CHECK(m6ike_ikev2_decode_cp(x, &a) == 0 &&
          m6ike_ikev2_decode_cp(y, &b) == 0);
    CHECK(a.cfg_type == b.cfg_type && a.n_attrs == b.n_attrs);
    while (m6ike_ikev2_cp_next(&a, &qa, &ca)) {
      CHECK(m6ike_ikev2_cp_next(&b, &qb, &cb));
      CHECK(ca.type == cb.type &&
            same_bytes(ca.value, ca.len, cb.value, cb.len));
    }
    CHECK(!m6ike_ikev2_cp_next(&b, &qb, &cb));
    break;
  }
  case M6IKE_IKEV2_PL_SK:
    break; /* compared through the inner payloads */
  default: /* Nonce, V, EAP, unknown: the body */
    CHECK(same_bytes(x->body, x->body_len, y->body, y->body_len));
    break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  m6ike_ikev2_msg a, b;
  if (load(&a, data, size) != 0) {
    return 0;
  }
  size_t cap = size + 64;
  uint8_t *out1 = (uint8_t *)malloc(cap), *out2 = (uint8_t *)malloc(cap);
  CHECK(out1 != NULL && out2 != NULL);
  int n1 = regenerate(&a, out1, cap);
  /* never longer than the input: same bodies, SK padding dropped */
  CHECK(n1 > 0 && (size_t)n1 <= size);
  CHECK(load(&b, out1, (size_t)n1) == 0);
  CHECK(a.hdr.ispi == b.hdr.ispi && a.hdr.rspi == b.hdr.rspi &&
        a.hdr.exchange == b.hdr.exchange && a.hdr.flags == b.hdr.flags &&
        a.hdr.msg_id == b.hdr.msg_id && a.hdr.minor == b.hdr.minor &&
        a.hdr.next_payload == b.hdr.next_payload);
  CHECK(a.count == b.count && a.outer_count == b.outer_count &&
        a.sk == b.sk && a.inner_parsed == b.inner_parsed);
  for (unsigned i = 0; i < a.count; i++) {
    compare(&a.pl[i], &b.pl[i]);
  }
  int n2 = regenerate(&b, out2, cap);
  CHECK(n2 == n1 && memcmp(out1, out2, (size_t)n1) == 0);
  free(out1);
  free(out2);
  return 0;
}
