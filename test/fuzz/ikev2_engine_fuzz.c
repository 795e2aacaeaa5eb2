/*
 * libFuzzer target for the IKEv2 engine (not the codec: see ikev2_fuzz.c).
 *
 * The first input octet picks a mode:
 *   0  raw datagrams to a fresh responder (IKE_SA_INIT handling, COOKIE,
 *      stateless errors, unknown SPIs);
 *   1  raw datagrams to both ends of an established pair, with the real
 *      IKE SPIs patched in (SA lookup, message-ID window, SK layout and
 *      integrity checks);
 *   2  authentic requests to the responder of an established pair: the
 *      rest of the input is a list of inner payloads {type, flags, len16,
 *      body}, encrypted with the initiator's real keys, so the decrypted
 *      content reaches the tasks (INFORMATIONAL, CREATE_CHILD_SA, ...);
 *   3  the same as an authentic response to the initiator's liveness
 *      check in flight.
 * Datagrams: {len16, bytes}.  After each one both engines are drained
 * into each other and their timers run.  The NULL crypto backend keeps
 * runs fast and deterministic.  Invariants: no crash, no leak (ASan), and
 * an engine never holds more IKE SAs than it created or accepted.
 * (No round trip: the engine is not a codec.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ikev2_int.h"
#include "m6ike/ikev2.h"

typedef struct node {
  m6ike_ikev2 *ike;
  uint64_t rng;
} node;

static int frand(uint8_t *d, size_t n, void *ud) {
  node *x = ud;
  for (size_t i = 0; i < n; i++) {
    x->rng = x->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    d[i] = (uint8_t)(x->rng >> 56);
  }
  return 0;
}

static m6ike_addr6 A6(const char *t) {
  m6ike_addr6 a;
  memset(&a, 0, sizeof a);
  if (m6ike_addr6_parse(&a, t) != 0) {
    abort();
  }
  return a;
}

static void peer(m6ike_ikev2_peer_cfg *p, const char *lid, const char *rid) {
  memset(p, 0, sizeof *p);
  p->local_id.type = M6IKE_IKEV2_ID_FQDN;
  p->local_id.len = (uint8_t)strlen(lid);
  memcpy(p->local_id.data, lid, p->local_id.len);
  p->remote_id.type = M6IKE_IKEV2_ID_FQDN;
  p->remote_id.len = (uint8_t)strlen(rid);
  memcpy(p->remote_id.data, rid, p->remote_id.len);
  p->auth_method = M6IKE_IKEV2_AUTH_PSK;
  p->psk_len = 6;
  memcpy(p->psk, "secret", 6);
  p->ike[0].encr = M6IKE_ENCR_AES_GCM_16;
  p->ike[0].encr_keylen = 128;
  p->ike[0].prf = M6IKE_PRF_HMAC_SHA2_256;
  p->ike[0].dh = M6IKE_DH_CURVE25519;
  p->n_ike = 1;
}

static void child(m6ike_ikev2_child_cfg *c) {
  m6ike_addr6 any = A6("::");
  memset(c, 0, sizeof *c);
  c->mode = M6IKE_IKEV2_MODE_TUNNEL;
  m6ike_ikev2_ts_set_prefix6(&c->ts_local[0], &any, 0);
  m6ike_ikev2_ts_set_prefix6(&c->ts_remote[0], &any, 0);
  c->n_ts_local = c->n_ts_remote = 1;
  c->esp[0].encr = M6IKE_ENCR_AES_GCM_16;
  c->esp[0].encr_keylen = 128;
  c->esp[0].dh = M6IKE_DH_CURVE25519;
  c->n_esp = 1;
}

static m6ike_tstamp now;

/* Moves every queued datagram to the other engine (both ways) a few
 * rounds, then runs the timers. */
static void pump(node *a, node *b) {
  static uint8_t buf[70000];
  for (int round = 0; round < 8; round++) {
    int moved = 0;
    node *from[2] = {a, b}, *to[2] = {b, a};
    for (int k = 0; k < 2; k++) {
      m6ike_ikev2_path p;
      int n;
      if (from[k] == NULL || to[k] == NULL) {
        continue;
      }
      while ((n = m6ike_ikev2_write_pkt(from[k]->ike, &p, buf, sizeof buf,
                                        now)) > 0) {
        m6ike_ikev2_path q = {p.remote, p.local, p.remote_port, p.local_port};
        m6ike_ikev2_read_pkt(to[k]->ike, &q, buf, (size_t)n, now);
        moved = 1;
      }
    }
    if (!moved) {
      break;
    }
  }
  now += 10 * M6IKE_MILLISECONDS;
  m6ike_ikev2_handle_expiry(a->ike, now);
  if (b) {
    m6ike_ikev2_handle_expiry(b->ike, now);
  }
}

static void drain(node *n) {
  uint8_t buf[2048];
  m6ike_ikev2_path p;
  while (m6ike_ikev2_write_pkt(n->ike, &p, buf, sizeof buf, now) > 0) {
  }
}

/* An encrypted message on sa from its owner: inner payloads from data. */
static int build_sk(ike_sa *sa, uint8_t exchange, int response, uint32_t mid,
                    const uint8_t *d, size_t n, uint8_t *out, size_t cap) {
  m6ike_ikev2_hdr h;
  m6ike_ikev2_builder b;
  m6ike_ikev2_sk_region r;
  int len;
  memset(&h, 0, sizeof h);
  h.ispi = sa->spi_i;
  h.rspi = sa->spi_r;
  h.exchange = exchange;
  h.flags = (uint8_t)((sa->initiator ? M6IKE_IKEV2_FLAG_I : 0) |
                      (response ? M6IKE_IKEV2_FLAG_R : 0));
  h.msg_id = mid;
  m6ike_ikev2_builder_begin(&b, out, cap, &h);
  if (ike_sk_begin(sa, &b) < 0) {
    return -1;
  }
  while (n >= 4) {
    size_t l = (size_t)d[2] << 8 | d[3];
    if (l > n - 4) {
      l = n - 4;
    }
    m6ike_ikev2_add_raw(&b, d[0], d[1] & 1, d + 4, l);
    d += 4 + l;
    n -= 4 + l;
  }
  if (ike_sk_end(sa, &b, &r) < 0) {
    return -1;
  }
  len = m6ike_ikev2_builder_finish(&b);
  if (len < 0 || ike_sk_protect(sa, out, (size_t)len, &r) < 0) {
    return -1;
  }
  return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint8_t msg[70000];
  node a = {NULL, 1}, b = {NULL, 2};
  m6ike_ikev2_callbacks ca, cb;
  m6ike_ikev2_peer_cfg pa, pb;
  m6ike_ikev2_child_cfg c;
  m6ike_ikev2_config cfg;
  uint8_t mode;
  if (size < 1) {
    return 0;
  }
  mode = data[0] & 3;
  data++;
  size--;
  now = 0;
  memset(&ca, 0, sizeof ca);
  ca.rand = frand;
  cb = ca;
  ca.user_data = &a;
  cb.user_data = &b;
  m6ike_ikev2_config_default(&cfg);
  cfg.cookie_threshold = 2;
  if (m6ike_ikev2_new(&a.ike, &cfg, &ca, m6ike_crypto_null(), NULL) != 0 ||
      m6ike_ikev2_new(&b.ike, &cfg, &cb, m6ike_crypto_null(), NULL) != 0) {
    abort();
  }
  peer(&pa, "mn", "ha");
  pa.path.local = A6("2001:db8:2::1");
  pa.path.remote = A6("2001:db8:1::1");
  peer(&pb, "ha", "mn");
  child(&c);
  if (m6ike_ikev2_add_peer(b.ike, &pb, &c, 1) != 0) {
    abort();
  }
  if (mode != 0) {
    if (m6ike_ikev2_initiate(a.ike, &pa, &c, now, NULL) != 0) {
      abort();
    }
    for (int i = 0; i < 6; i++) {
      pump(&a, &b);
    }
    if (a.ike->all == NULL || b.ike->all == NULL ||
        a.ike->all->state != M6IKE_IKEV2_SA_ESTABLISHED) {
      abort(); /* the fixed handshake must work */
    }
  }
  if (mode <= 1) {
    m6ike_ikev2_path p = {pa.path.remote, pa.path.local, 500, 500};
    while (size >= 2) {
      size_t l = (size_t)data[0] << 8 | data[1];
      int to_a = (l & 0x8000) != 0;
      l &= 0x7fff;
      data += 2;
      size -= 2;
      if (l > size) {
        l = size;
      }
      memcpy(msg, data, l);
      if (mode == 1 && l >= 16) {
        ike_sa *s = b.ike->all;
        m6ike_ikev2_hdr h;
        h.ispi = s->spi_i;
        h.rspi = s->spi_r;
        for (int i = 0; i < 8; i++) {
          msg[i] = (uint8_t)(h.ispi >> (56 - 8 * i));
          msg[8 + i] = (uint8_t)(h.rspi >> (56 - 8 * i));
        }
      }
      if (to_a && mode == 1) {
        m6ike_ikev2_path q = {pa.path.local, pa.path.remote, 500, 500};
        m6ike_ikev2_read_pkt(a.ike, &q, msg, l, now);
      } else {
        m6ike_ikev2_read_pkt(b.ike, &p, msg, l, now);
      }
      data += l;
      size -= l;
      if (mode == 1) {
        pump(&a, &b);
      } else {
        drain(&b);
        now += M6IKE_MILLISECONDS;
        m6ike_ikev2_handle_expiry(b.ike, now);
      }
    }
  } else if (mode == 2 && size >= 1) {
    ike_sa *sa = a.ike->all, *sb = b.ike->all;
    int len = build_sk(sa, (uint8_t)(M6IKE_IKEV2_IKE_AUTH + (data[0] % 3)), 0,
                       sb->mid_in, data + 1, size - 1, msg, sizeof msg);
    if (len > 0) {
      m6ike_ikev2_path p = {pa.path.remote, pa.path.local, 500, 500};
      m6ike_ikev2_read_pkt(b.ike, &p, msg, (size_t)len, now);
      for (int i = 0; i < 4; i++) {
        pump(&a, &b);
      }
    }
  } else if (mode == 3 && size >= 1) {
    ike_sa *sa = a.ike->all, *sb = b.ike->all;
    uint32_t mid = sa->mid_out;
    int len;
    if (m6ike_ikev2_liveness(a.ike, sa->id, now) != 0) {
      abort();
    }
    drain(&a); /* the request is "lost": we answer it ourselves */
    len = build_sk(sb, M6IKE_IKEV2_INFORMATIONAL + (data[0] & 1 ? 0 : -1),
                   1, mid, data + 1, size - 1, msg, sizeof msg);
    if (len > 0) {
      m6ike_ikev2_path p = {pa.path.local, pa.path.remote, 500, 500};
      m6ike_ikev2_read_pkt(a.ike, &p, msg, (size_t)len, now);
      for (int i = 0; i < 4; i++) {
        pump(&a, &b);
      }
    }
  }
  if (m6ike_ikev2_count(a.ike) > 2 || m6ike_ikev2_count(b.ike) > 64) {
    abort();
  }
  m6ike_ikev2_del(a.ike);
  m6ike_ikev2_del(b.ike);
  return 0;
}
