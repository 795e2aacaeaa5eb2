/*
 * libFuzzer target for ESP decapsulation (m6ike_ipsec_input) against a
 * fixed SAD, with the NULL crypto backend (no OpenSSL): NULL encryption
 * with HMAC-SHA2-256-128, AES-GCM-16, 3DES/HMAC-SHA1 with ESN and AES-CBC/
 * HMAC-SHA2-256 with a 32-packet window, in tunnel and transport mode.
 *
 * First input octet, bit 0:
 *   1  the rest is a received packet: decapsulated; every call must move
 *      exactly one of the counters (accepted, bypassed, or one drop
 *      reason); an accepted packet's inner packet must survive a round
 *      trip through a fresh sender/receiver pair on the same SA;
 *   0  the rest is an inner packet (octet 1 picks the SA): protected by a
 *      sender and decapsulated by a receiver; whatever the sender accepts
 *      must come back identical.
 * Any violation calls abort().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "m6ike/crypto.h"
#include "m6ike/ipsec.h"
#include "m6ike/mh.h"

#define NSA 4

static const uint8_t k_enc[36] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                  13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
                                  24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34,
                                  35, 36};
static const uint8_t k_auth[32] = {0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46,
                                   0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d,
                                   0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54,
                                   0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b,
                                   0x5c, 0x5d, 0x5e, 0x5f};

/* 2001:db8:2::5 (CoA), 2001:db8:1::1 (HA), 2001:db8:1::5 (HoA) */
static const uint8_t a_coa[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0,
                                  0,    0,    0,    0,    0, 0, 0, 5};
static const uint8_t a_ha[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0,
                                 0,    0,    0,    0,    0, 0, 0, 1};
static const uint8_t a_hoa[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0,
                                  0,    0,    0,    0,    0, 0, 0, 5};

static int rand_cb(uint8_t *d, size_t n, void *ud) {
  uint32_t *s = ud;
  for (size_t i = 0; i < n; i++) {
    *s = *s * 1103515245u + 12345u;
    d[i] = (uint8_t)(*s >> 16);
  }
  return 0;
}

static void sa_params(int i, m6ike_ipsec_sa_params *p) {
  memset(p, 0, sizeof(*p));
  p->spi = 0x1001 + (uint32_t)i;
  p->reqid = (uint32_t)i + 1;
  memcpy(p->dst.b, a_ha, 16);
  p->auth_key = k_auth;
  p->enc_key = k_enc;
  switch (i) {
  case 0:
    p->mode = M6IKE_IPSEC_MODE_TUNNEL;
    memcpy(p->src.b, a_coa, 16);
    p->enc_alg = M6IKE_ENCR_NULL;
    p->auth_alg = M6IKE_INTEG_HMAC_SHA2_256_128;
    p->auth_key_len = 32;
    break;
  case 1:
    p->mode = M6IKE_IPSEC_MODE_TUNNEL;
    memcpy(p->src.b, a_coa, 16);
    p->enc_alg = M6IKE_ENCR_AES_GCM_16;
    p->auth_alg = M6IKE_INTEG_NONE;
    p->enc_key_len = 20;
    break;
  case 2:
    p->mode = M6IKE_IPSEC_MODE_TRANSPORT;
    memcpy(p->src.b, a_hoa, 16);
    p->enc_alg = M6IKE_ENCR_3DES;
    p->auth_alg = M6IKE_INTEG_HMAC_SHA1_96;
    p->enc_key_len = 24;
    p->auth_key_len = 20;
    p->esn = 1;
    break;
  default:
    p->mode = M6IKE_IPSEC_MODE_TRANSPORT;
    memcpy(p->src.b, a_hoa, 16);
    p->enc_alg = M6IKE_ENCR_AES_CBC;
    p->auth_alg = M6IKE_INTEG_HMAC_SHA2_256_128;
    p->enc_key_len = 16;
    p->auth_key_len = 32;
    p->replay_window = 32;
    break;
  }
}

static m6ike_ipsec *make(uint32_t *seed, m6ike_ipsec_config *cfg, int sender,
                         int only) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->crypto = m6ike_crypto_null();
  cfg->rand = rand_cb;
  cfg->rand_user_data = seed;
  m6ike_ipsec *x;
  if (m6ike_ipsec_new(&x, cfg, NULL) != 0) {
    abort();
  }
  for (int i = 0; i < NSA; i++) {
    if (only >= 0 && i != only) {
      continue;
    }
    m6ike_ipsec_sa_params p;
    sa_params(i, &p);
    if (m6ike_ipsec_sa_add(x, &p, 0) != 0) {
      abort();
    }
    if (sender) {
      /* protect everything with this SA */
      m6ike_ipsec_policy pol;
      memset(&pol, 0, sizeof(pol));
      m6ike_ipsec_selector_any(&pol.sel);
      pol.dir = M6IKE_IPSEC_DIR_OUTBOUND;
      pol.action = M6IKE_IPSEC_ACTION_PROTECT;
      pol.mode = p.mode;
      pol.reqid = p.reqid;
      if (p.mode == M6IKE_IPSEC_MODE_TUNNEL) {
        pol.tun_src = p.src;
        pol.tun_dst = p.dst;
      }
      if (m6ike_ipsec_policy_add(x, &pol, NULL) != 0) {
        abort();
      }
    }
  }
  return x;
}

static uint64_t moved(const m6ike_ipsec_stats *s) {
  return s->packets_in + s->bypass_in + s->dropped_icv + s->dropped_replay +
         s->dropped_no_sa + s->dropped_policy + s->dropped_malformed +
         s->dropped_expired + s->dummy_in;
}

static uint8_t buf1[70000], buf2[70000 + M6IKE_IPSEC_MAX_OVERHEAD],
    buf3[70000];

/* Protects pkt with SA i and decapsulates it again; must round-trip. */
static void round_trip(int i, const uint8_t *pkt, size_t len) {
  uint32_t s1 = 1, s2 = 2;
  m6ike_ipsec_config c1, c2;
  m6ike_ipsec *tx = make(&s1, &c1, 1, i), *rx = make(&s2, &c2, 0, i);
  int n = m6ike_ipsec_output(tx, pkt, len, buf2, sizeof(buf2), 0);
  if (n > 0) {
    /* The transport SAs protect HoA -> HA only: other packets find no SA
     * (ACQUIRE) and never get here. */
    int m = m6ike_ipsec_input(rx, buf2, (size_t)n, buf3, sizeof(buf3), 0);
    m6ike_ip6_info info;
    if (m6ike_ip6_walk(&info, pkt, len) != 0) {
      abort();
    }
    size_t want = 40 + (size_t)info.payload_len;
    if (m == M6IKE_ERR_IPSEC_DUMMY && i >= 2 &&
        info.upper_proto == M6IKE_IPPROTO_NONE) {
      /* transport mode: an upper layer of 59 is a dummy packet (RFC 4303
       * 2.6) to the receiver */
    } else if (m < 0) {
      abort();
    } else if ((size_t)m != want || memcmp(buf3, pkt, want) != 0) {
      abort();
    }
  }
  m6ike_ipsec_del(tx);
  m6ike_ipsec_del(rx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2 || size > 65600) {
    return 0;
  }
  if (data[0] & 1) {
    uint32_t seed = 7;
    m6ike_ipsec_config cfg;
    m6ike_ipsec *x = make(&seed, &cfg, 0, -1);
    m6ike_ipsec_stats before, after;
    m6ike_ipsec_get_stats(x, &before);
    int n = m6ike_ipsec_input(x, data + 1, size - 1, buf1, sizeof(buf1), 0);
    m6ike_ipsec_get_stats(x, &after);
    if (moved(&after) != moved(&before) + 1) {
      abort();
    }
    if (n > 0) {
      /* the SA it came in on: the ESP header's SPI */
      m6ike_ip6_info info;
      if (m6ike_ip6_walk(&info, data + 1, size - 1) != 0) {
        abort();
      }
      if (info.upper_proto == M6IKE_IPPROTO_ESP) {
        const uint8_t *e = data + 1 + info.upper_off;
        uint32_t spi = (uint32_t)e[0] << 24 | (uint32_t)e[1] << 16 |
                       (uint32_t)e[2] << 8 | e[3];
        int i = (int)(spi - 0x1001);
        if (i < 0 || i >= NSA) {
          abort();
        }
        round_trip(i, buf1, (size_t)n);
      }
    }
    m6ike_ipsec_del(x);
  } else {
    round_trip(data[1] % NSA, data + 2, size - 2);
  }
  return 0;
}
