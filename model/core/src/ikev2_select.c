/*
 * ikev2: proposals (RFC 7296 §2.7, §3.3) and traffic selectors (§2.9,
 * §3.13) — what to offer, what to accept, and how to narrow.
 */
#include <string.h>

#include "ikev2_int.h"

static void add_transforms(m6ike_ikev2_builder *b, uint8_t proto,
                           const m6ike_ikev2_algs *a) {
  m6ike_ikev2_sa_transform(b, M6IKE_IKEV2_TRANS_ENCR, a->encr,
                           a->encr_keylen ? (int32_t)a->encr_keylen : -1);
  if (proto == M6IKE_IKEV2_PROTO_IKE) {
    m6ike_ikev2_sa_transform(b, M6IKE_IKEV2_TRANS_PRF, a->prf, -1);
  }
  if (a->integ) {
    m6ike_ikev2_sa_transform(b, M6IKE_IKEV2_TRANS_INTEG, a->integ, -1);
  }
  if (a->dh) {
    m6ike_ikev2_sa_transform(b, M6IKE_IKEV2_TRANS_DH, a->dh, -1);
  }
  if (proto != M6IKE_IKEV2_PROTO_IKE) {
    m6ike_ikev2_sa_transform(b, M6IKE_IKEV2_TRANS_ESN, a->esn, -1);
  }
}

int ike_add_sa_offer(m6ike_ikev2_builder *b, uint8_t proto,
                     const m6ike_ikev2_algs *algs, size_t n,
                     const uint8_t *spi, uint8_t spi_size) {
  m6ike_ikev2_sa_begin(b);
  for (size_t i = 0; i < n; i++) {
    m6ike_ikev2_sa_proposal(b, 0, proto, spi, spi_size);
    add_transforms(b, proto, &algs[i]);
  }
  return m6ike_ikev2_sa_end(b);
}

int ike_add_sa_choice(m6ike_ikev2_builder *b, uint8_t proto, uint8_t num,
                      const m6ike_ikev2_algs *alg, const uint8_t *spi,
                      uint8_t spi_size) {
  m6ike_ikev2_sa_begin(b);
  m6ike_ikev2_sa_proposal(b, num, proto, spi, spi_size);
  add_transforms(b, proto, alg);
  return m6ike_ikev2_sa_end(b);
}

/* The transforms of one received proposal, by type. */
#define SET_MAX 16
typedef struct xf_set {
  uint16_t id[6][SET_MAX];
  int32_t keylen[6][SET_MAX];
  size_t n[6];
  int unknown; /* a transform type we do not know: unacceptable */
} xf_set;

static void read_set(const m6ike_ikev2_proposal *p, xf_set *s) {
  m6ike_ikev2_transform t;
  size_t pos = 0;
  memset(s, 0, sizeof *s);
  while (m6ike_ikev2_proposal_next_transform(p, &pos, &t)) {
    if (t.type < 1 || t.type > 5) {
      s->unknown = 1;
      continue;
    }
    if (s->n[t.type] < SET_MAX) {
      s->id[t.type][s->n[t.type]] = t.id;
      s->keylen[t.type][s->n[t.type]] = t.key_len;
      s->n[t.type]++;
    }
  }
}

static int in_set(const xf_set *s, int type, uint16_t id, int32_t keylen,
                  int absent_ok) {
  if (s->n[type] == 0) {
    return absent_ok;
  }
  for (size_t i = 0; i < s->n[type]; i++) {
    if (s->id[type][i] == id && s->keylen[type][i] == keylen) {
      return 1;
    }
  }
  return 0;
}

/* 1 if local algs a is in the received set (dh: compare against dh). */
static int matches(const xf_set *s, uint8_t proto, const m6ike_ikev2_algs *a,
                   uint16_t dh) {
  if (s->unknown) {
    return 0;
  }
  if (!in_set(s, M6IKE_IKEV2_TRANS_ENCR, a->encr,
              a->encr_keylen ? (int32_t)a->encr_keylen : -1, 0)) {
    return 0;
  }
  if (proto == M6IKE_IKEV2_PROTO_IKE) {
    if (!in_set(s, M6IKE_IKEV2_TRANS_PRF, a->prf, -1, 0) || dh == 0 ||
        !in_set(s, M6IKE_IKEV2_TRANS_DH, dh, -1, 0)) {
      return 0;
    }
  } else {
    if (s->n[M6IKE_IKEV2_TRANS_PRF]) {
      return 0;
    }
    if (!in_set(s, M6IKE_IKEV2_TRANS_DH, dh, -1, dh == 0) ||
        !in_set(s, M6IKE_IKEV2_TRANS_ESN, a->esn, -1, a->esn == 0)) {
      return 0;
    }
  }
  return in_set(s, M6IKE_IKEV2_TRANS_INTEG, a->integ, -1, a->integ == 0);
}

int ike_choose_proposal(const m6ike_ikev2_payload *pl, uint8_t proto,
                        const m6ike_ikev2_algs *local, size_t n,
                        uint16_t want_dh, m6ike_ikev2_algs *chosen,
                        uint8_t *num, uint8_t spi[8], uint8_t *spi_size) {
  m6ike_ikev2_sa sa;
  m6ike_ikev2_proposal p;
  size_t pos = 0;
  int rc = m6ike_ikev2_decode_sa(pl, &sa);
  uint16_t other_dh = 0;
  xf_set s;
  if (rc < 0) {
    return rc;
  }
  while (m6ike_ikev2_sa_next_proposal(&sa, &pos, &p)) {
    if (p.proto != proto || p.spi_size > 8) {
      continue;
    }
    read_set(&p, &s);
    for (size_t i = 0; i < n; i++) {
      uint16_t dh = local[i].dh;
      m6ike_ikev2_algs ignore_dh;
      if (want_dh == IKE_DH_IGNORE) {
        /* IKE_AUTH: no KE; a DH transform in the offer is ignored. */
        s.n[M6IKE_IKEV2_TRANS_DH] = 0;
        ignore_dh = local[i];
        ignore_dh.dh = 0;
        if (matches(&s, proto, &ignore_dh, 0)) {
          *chosen = ignore_dh;
          goto found;
        }
        continue;
      }
      if (dh == want_dh && matches(&s, proto, &local[i], dh)) {
        *chosen = local[i];
        goto found;
      }
      /* Acceptable but with another group: remember the first. */
      if (other_dh == 0 && dh != 0 && want_dh != 0 &&
          matches(&s, proto, &local[i], dh)) {
        other_dh = dh;
      }
    }
    continue;
  found:
    *num = p.num;
    *spi_size = p.spi_size;
    if (p.spi_size) {
      memcpy(spi, p.spi, p.spi_size);
    }
    return 0;
  }
  if (other_dh) {
    memset(chosen, 0, sizeof *chosen);
    chosen->dh = other_dh;
    return M6IKE_ERR_IKEV2_INVALID_KE;
  }
  return M6IKE_ERR_IKEV2_NO_PROPOSAL;
}

int ike_check_choice(const m6ike_ikev2_payload *pl, uint8_t proto,
                     const m6ike_ikev2_algs *local, size_t n,
                     m6ike_ikev2_algs *chosen, uint8_t spi[8],
                     uint8_t *spi_size) {
  m6ike_ikev2_sa sa;
  m6ike_ikev2_proposal p;
  size_t pos = 0;
  xf_set s;
  int rc = m6ike_ikev2_decode_sa(pl, &sa);
  if (rc < 0) {
    return rc;
  }
  if (sa.n_proposals != 1 || !m6ike_ikev2_sa_next_proposal(&sa, &pos, &p) ||
      p.proto != proto || p.spi_size > 8) {
    return M6IKE_ERR_IKEV2_NO_PROPOSAL;
  }
  read_set(&p, &s);
  for (int t = 1; t <= 5; t++) {
    if (s.n[t] > 1) {
      return M6IKE_ERR_IKEV2_NO_PROPOSAL; /* a choice has one of each */
    }
  }
  for (size_t i = 0; i < n; i++) {
    uint16_t dh = s.n[M6IKE_IKEV2_TRANS_DH] ? s.id[M6IKE_IKEV2_TRANS_DH][0]
                                            : 0;
    if (dh != local[i].dh) {
      continue;
    }
    if (matches(&s, proto, &local[i], dh)) {
      *chosen = local[i];
      *spi_size = p.spi_size;
      if (p.spi_size) {
        memcpy(spi, p.spi, p.spi_size);
      }
      return 0;
    }
  }
  return M6IKE_ERR_IKEV2_NO_PROPOSAL;
}

/* ---- traffic selectors --------------------------------------------------- */

int ike_read_ts(const m6ike_ikev2_payload *pl, m6ike_ikev2_ts *out,
                size_t max) {
  m6ike_ikev2_ts_payload tp;
  m6ike_ikev2_ts t;
  size_t pos = 0, n = 0;
  int rc = m6ike_ikev2_decode_ts(pl, &tp);
  if (rc < 0) {
    return rc;
  }
  while (m6ike_ikev2_ts_next(&tp, &pos, &t)) {
    if (t.ts_type != M6IKE_IKEV2_TS_IPV6_ADDR_RANGE) {
      continue; /* IPv6 only */
    }
    if (n < max) {
      out[n++] = t;
    }
  }
  return (int)n;
}

static int intersect(const m6ike_ikev2_ts *a, const m6ike_ikev2_ts *b,
                     m6ike_ikev2_ts *o) {
  memset(o, 0, sizeof *o);
  o->ts_type = M6IKE_IKEV2_TS_IPV6_ADDR_RANGE;
  if (a->ip_proto && b->ip_proto && a->ip_proto != b->ip_proto) {
    return 0;
  }
  o->ip_proto = a->ip_proto ? a->ip_proto : b->ip_proto;
  o->start_port = a->start_port > b->start_port ? a->start_port
                                                : b->start_port;
  o->end_port = a->end_port < b->end_port ? a->end_port : b->end_port;
  if (o->start_port > o->end_port) {
    return 0;
  }
  memcpy(o->start_addr,
         memcmp(a->start_addr, b->start_addr, 16) > 0 ? a->start_addr
                                                      : b->start_addr,
         16);
  memcpy(o->end_addr,
         memcmp(a->end_addr, b->end_addr, 16) < 0 ? a->end_addr : b->end_addr,
         16);
  return memcmp(o->start_addr, o->end_addr, 16) <= 0;
}

size_t ike_narrow_ts(const m6ike_ikev2_ts *proposed, size_t np,
                     const m6ike_ikev2_ts *allowed, size_t na,
                     m6ike_ikev2_ts *out, size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < np; i++) {
    for (size_t j = 0; j < na; j++) {
      m6ike_ikev2_ts t;
      if (n < max && intersect(&proposed[i], &allowed[j], &t)) {
        int dup = 0;
        for (size_t k = 0; k < n; k++) {
          dup |= memcmp(&out[k], &t, sizeof t) == 0;
        }
        if (!dup) {
          out[n++] = t;
        }
      }
    }
  }
  return n;
}

static int inside(const m6ike_ikev2_ts *a, const m6ike_ikev2_ts *b) {
  return (b->ip_proto == 0 || a->ip_proto == b->ip_proto) &&
         a->start_port >= b->start_port && a->end_port <= b->end_port &&
         memcmp(a->start_addr, b->start_addr, 16) >= 0 &&
         memcmp(a->end_addr, b->end_addr, 16) <= 0;
}

int ike_ts_subset(const m6ike_ikev2_ts *a, size_t na, const m6ike_ikev2_ts *b,
                  size_t nb) {
  for (size_t i = 0; i < na; i++) {
    int ok = 0;
    for (size_t j = 0; j < nb && !ok; j++) {
      ok = inside(&a[i], &b[j]);
    }
    if (!ok) {
      return 0;
    }
  }
  return 1;
}

int ike_offered_group(const ike_sa *sa, uint16_t group) {
  for (size_t i = 0; i < sa->peer.n_ike; i++) {
    if (sa->peer.ike[i].dh == group) {
      return 1;
    }
  }
  return 0;
}
