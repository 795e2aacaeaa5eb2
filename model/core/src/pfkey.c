/* pfkey: RFC 2367 PF_KEY v2 codec (Linux layout) + the Reference ext. */
#include "m6ike/pfkey.h"
#include "m6ike/pfkey_wire.h"

#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "m6ike/pfkey_bus.h"

#define ALIGN8(n) (((n) + 7u) & ~(size_t)7u)
#define MAX_MSG_OCTETS ((size_t)0xffff * 8u)
#define SEEN_REFERENCE ((uint64_t)1 << 63)
#define SEEN_SA_SEL ((uint64_t)1 << 62)
#define SEEN_SA_MOVE ((uint64_t)1 << 61)

const char *m6ike_pfkey_strerror_(int code) {
  switch (code) {
  case M6IKE_ERR_PFKEY_TRUNCATED:
    return "pfkey: message truncated (shorter than the 16-octet sadb_msg or "
           "than sadb_msg_len*8)";
  case M6IKE_ERR_PFKEY_OVERLONG:
    return "pfkey: buffer longer than sadb_msg_len*8";
  case M6IKE_ERR_PFKEY_MISALIGNED:
    return "pfkey: length not a multiple of 8 octets (message or "
           "sadb_x_ipsecrequest_len)";
  case M6IKE_ERR_PFKEY_VERSION:
    return "pfkey: sadb_msg_version is not PF_KEY_V2";
  case M6IKE_ERR_PFKEY_MSG_TYPE:
    return "pfkey: sadb_msg_type is reserved (0) or unknown (> 24)";
  case M6IKE_ERR_PFKEY_MSG_LEN:
    return "pfkey: sadb_msg_len smaller than the header (2 units)";
  case M6IKE_ERR_PFKEY_EXT_SHORT:
    return "pfkey: extension length is 0 or shorter than its fixed part";
  case M6IKE_ERR_PFKEY_EXT_OVERRUN:
    return "pfkey: extension runs past the end of the message";
  case M6IKE_ERR_PFKEY_EXT_LONG:
    return "pfkey: fixed-size extension longer than its size";
  case M6IKE_ERR_PFKEY_DUPLICATE:
    return "pfkey: extension type present twice";
  case M6IKE_ERR_PFKEY_UNKNOWN_EXT:
    return "pfkey: unknown extension type (strict decode)";
  case M6IKE_ERR_PFKEY_RESERVED_EXT:
    return "pfkey: extension type 0 (SADB_EXT_RESERVED)";
  case M6IKE_ERR_PFKEY_ADDRESS:
    return "pfkey: sockaddr family unknown, its length inconsistent with the "
           "extension length, or prefixlen too large";
  case M6IKE_ERR_PFKEY_IPSECREQUEST:
    return "pfkey: sadb_x_ipsecrequest_len or its endpoint addresses "
           "inconsistent with the policy extension";
  case M6IKE_ERR_PFKEY_INCONSISTENT:
    return "pfkey: a count field (key bits, sens/integ len, ctx len, combs) "
           "disagrees with the extension length";
  case M6IKE_ERR_PFKEY_REFERENCE:
    return "pfkey: Reference extension is not exactly 16 octets";
  case M6IKE_ERR_PFKEY_SA_SEL_LEN:
    return "pfkey: SA-selector extension (97) is not exactly 56 octets";
  case M6IKE_ERR_PFKEY_SA_SEL_FLAGS:
    return "pfkey: SA-selector extension: a flag other than ESN/SELECTOR";
  case M6IKE_ERR_PFKEY_SA_SEL_RESERVED:
    return "pfkey: SA-selector or SA-move extension: reserved field not "
           "zero";
  case M6IKE_ERR_PFKEY_SA_SEL_PREFIX:
    return "pfkey: SA-selector extension: prefix length > 128, or selector "
           "fields set without the SELECTOR flag";
  case M6IKE_ERR_PFKEY_SA_SEL_RANGE:
    return "pfkey: SA-selector extension: a port or MH type range has "
           "lo > hi";
  case M6IKE_ERR_PFKEY_SA_MOVE_LEN:
    return "pfkey: SA-move extension (98) is not exactly 40 octets";
  case M6IKE_ERR_PFKEY_MISSING_EXT:
    return "pfkey: an extension required for this message type is absent";
  case M6IKE_ERR_PFKEY_BUILDER_STATE:
    return "pfkey: builder used out of order (after finish, ipsecrequest "
           "without policy, or message too long)";
  case M6IKE_ERR_PFKEY_ERRNO:
    return "pfkey: message is an error reply (sadb_msg_errno set)";
  case M6IKE_ERR_PFKEY_RESERVED_FIELD:
    return "pfkey: sadb_msg_reserved is not zero";
  default: {
    const char *w = m6ike_pfkey_wire_strerror_(code);
    return w ? w : m6ike_pfkey_bus_strerror_(code);
  }
  }
}

/* ---- extension table ---------------------------------------------------- */

/* Fixed part of each known extension, and whether that is its whole size. */
static const struct {
  uint16_t min;
  uint8_t exact;
} ext_info[M6IKE_SADB_EXT_MAX + 1] = {
    [M6IKE_SADB_EXT_SA] = {16, 1},
    [M6IKE_SADB_EXT_LIFETIME_CURRENT] = {32, 1},
    [M6IKE_SADB_EXT_LIFETIME_HARD] = {32, 1},
    [M6IKE_SADB_EXT_LIFETIME_SOFT] = {32, 1},
    [M6IKE_SADB_EXT_ADDRESS_SRC] = {8, 0},
    [M6IKE_SADB_EXT_ADDRESS_DST] = {8, 0},
    [M6IKE_SADB_EXT_ADDRESS_PROXY] = {8, 0},
    [M6IKE_SADB_EXT_KEY_AUTH] = {8, 0},
    [M6IKE_SADB_EXT_KEY_ENCRYPT] = {8, 0},
    [M6IKE_SADB_EXT_IDENTITY_SRC] = {16, 0},
    [M6IKE_SADB_EXT_IDENTITY_DST] = {16, 0},
    [M6IKE_SADB_EXT_SENSITIVITY] = {16, 0},
    [M6IKE_SADB_EXT_PROPOSAL] = {8, 0},
    [M6IKE_SADB_EXT_SUPPORTED_AUTH] = {8, 0},
    [M6IKE_SADB_EXT_SUPPORTED_ENCRYPT] = {8, 0},
    [M6IKE_SADB_EXT_SPIRANGE] = {16, 1},
    [M6IKE_SADB_X_EXT_KMPRIVATE] = {8, 0},
    [M6IKE_SADB_X_EXT_POLICY] = {16, 0},
    [M6IKE_SADB_X_EXT_SA2] = {16, 1},
    [M6IKE_SADB_X_EXT_NAT_T_TYPE] = {8, 1},
    [M6IKE_SADB_X_EXT_NAT_T_SPORT] = {8, 1},
    [M6IKE_SADB_X_EXT_NAT_T_DPORT] = {8, 1},
    [M6IKE_SADB_X_EXT_NAT_T_OA] = {8, 0},
    [M6IKE_SADB_X_EXT_SEC_CTX] = {8, 0},
    [M6IKE_SADB_X_EXT_KMADDRESS] = {8, 0},
    [M6IKE_SADB_X_EXT_FILTER] = {40, 1},
};

/* ---- sockaddr ------------------------------------------------------------ */

static size_t sockaddr_len(uint16_t family) {
  switch (family) {
  case M6IKE_PFKEY_AF_INET:
    return 16;
  case M6IKE_PFKEY_AF_INET6:
    return 28;
  default:
    return 0;
  }
}

/* Parses one sockaddr from p (avail octets); returns its length or 0. */
static size_t get_sockaddr(const uint8_t *p, size_t avail,
                           m6ike_pfkey_sockaddr *sa) {
  uint16_t fam;
  if (avail < 2) {
    return 0;
  }
  m6ike_get_u16h(p, &fam);
  size_t n = sockaddr_len(fam);
  if (n == 0 || avail < n) {
    return 0;
  }
  memset(sa, 0, sizeof(*sa));
  sa->family = fam;
  m6ike_get_u16be(p + 2, &sa->port);
  if (fam == M6IKE_PFKEY_AF_INET) {
    memcpy(sa->addr, p + 4, 4);
  } else {
    m6ike_get_u32be(p + 4, &sa->flowinfo);
    memcpy(sa->addr, p + 8, 16);
    m6ike_get_u32h(p + 24, &sa->scope_id);
  }
  return n;
}

static uint8_t *put_sockaddr(uint8_t *p, const m6ike_pfkey_sockaddr *sa) {
  uint8_t *q = m6ike_put_u16h(p, sa->family);
  q = m6ike_put_u16be(q, sa->port);
  if (sa->family == M6IKE_PFKEY_AF_INET) {
    q = m6ike_put_bytes(q, sa->addr, 4);
    return m6ike_put_zero(q, 8);
  }
  q = m6ike_put_u32be(q, sa->flowinfo);
  q = m6ike_put_bytes(q, sa->addr, 16);
  return m6ike_put_u32h(q, sa->scope_id);
}

/* A pair of same-family sockaddrs filling exactly len octets (with
 * padding to 8).  Returns 0 or -1. */
static int get_sockaddr_pair(const uint8_t *p, size_t len,
                             m6ike_pfkey_sockaddr *a,
                             m6ike_pfkey_sockaddr *b) {
  size_t n = get_sockaddr(p, len, a);
  if (n == 0 || ALIGN8(2 * n) != len) {
    return -1;
  }
  size_t m = get_sockaddr(p + n, len - n, b);
  if (m != n || b->family != a->family) {
    return -1;
  }
  return 0;
}

/* ---- per-extension parsing (shared by decode and the getters) --------- */

static int parse_address(const uint8_t *p, size_t len,
                         m6ike_pfkey_address *out) {
  m6ike_pfkey_address a;
  a.proto = p[4];
  a.prefixlen = p[5];
  size_t n = get_sockaddr(p + 8, len - 8, &a.sa);
  if (n == 0 || 8 + ALIGN8(n) != len) {
    return M6IKE_ERR_PFKEY_ADDRESS;
  }
  if (a.prefixlen > (a.sa.family == M6IKE_PFKEY_AF_INET ? 32 : 128)) {
    return M6IKE_ERR_PFKEY_ADDRESS;
  }
  if (out) {
    *out = a;
  }
  return 0;
}

static int parse_key(const uint8_t *p, size_t len, m6ike_pfkey_key *out) {
  uint16_t bits;
  m6ike_get_u16h(p + 4, &bits);
  if (8 + ALIGN8(((size_t)bits + 7) / 8) != len) {
    return M6IKE_ERR_PFKEY_INCONSISTENT;
  }
  if (out) {
    out->bits = bits;
    out->data = p + 8;
  }
  return 0;
}

static int parse_sens(const uint8_t *p, size_t len, m6ike_pfkey_sens *out) {
  if (16 + 8 * ((size_t)p[9] + p[11]) != len) {
    return M6IKE_ERR_PFKEY_INCONSISTENT;
  }
  if (out) {
    m6ike_get_u32h(p + 4, &out->dpd);
    out->sens_level = p[8];
    out->sens_len = p[9];
    out->integ_level = p[10];
    out->integ_len = p[11];
    out->bitmaps = p + 16;
  }
  return 0;
}

static int parse_policy(const uint8_t *p, size_t len, m6ike_pfkey_policy *out) {
  size_t off = 16, n = 0;
  while (off < len) {
    size_t rem = len - off;
    uint16_t rl;
    if (rem < 16) {
      return M6IKE_ERR_PFKEY_IPSECREQUEST;
    }
    m6ike_get_u16h(p + off, &rl);
    if (rl < 16 || rl > rem) {
      return M6IKE_ERR_PFKEY_IPSECREQUEST;
    }
    if (rl % 8 != 0) {
      return M6IKE_ERR_PFKEY_MISALIGNED;
    }
    if (rl > 16) {
      m6ike_pfkey_sockaddr a, b;
      if (get_sockaddr_pair(p + off + 16, rl - 16u, &a, &b) != 0) {
        return M6IKE_ERR_PFKEY_IPSECREQUEST;
      }
    }
    off += rl;
    n++;
  }
  if (out) {
    m6ike_get_u16h(p + 4, &out->type);
    out->dir = p[6];
    m6ike_get_u32h(p + 8, &out->id);
    m6ike_get_u32h(p + 12, &out->priority);
    out->n_requests = n;
    out->reqs = p + 16;
    out->reqs_len = len - 16;
  }
  return 0;
}

static int parse_sec_ctx(const uint8_t *p, size_t len,
                         m6ike_pfkey_sec_ctx *out) {
  uint16_t cl;
  m6ike_get_u16h(p + 6, &cl);
  if (ALIGN8(8 + (size_t)cl) != len) {
    return M6IKE_ERR_PFKEY_INCONSISTENT;
  }
  if (out) {
    out->alg = p[4];
    out->doi = p[5];
    out->ctx_len = cl;
    out->ctx = p + 8;
  }
  return 0;
}

static int parse_kmaddress(const uint8_t *p, size_t len,
                           m6ike_pfkey_kmaddress *out) {
  m6ike_pfkey_kmaddress k;
  if (get_sockaddr_pair(p + 8, len - 8, &k.local, &k.remote) != 0) {
    return M6IKE_ERR_PFKEY_ADDRESS;
  }
  if (out) {
    *out = k;
  }
  return 0;
}

/* Validates the variable part of a known extension of length len. */
static int validate_ext(unsigned type, const uint8_t *p, size_t len) {
  switch (type) {
  case M6IKE_SADB_EXT_ADDRESS_SRC:
  case M6IKE_SADB_EXT_ADDRESS_DST:
  case M6IKE_SADB_EXT_ADDRESS_PROXY:
  case M6IKE_SADB_X_EXT_NAT_T_OA:
    return parse_address(p, len, NULL);
  case M6IKE_SADB_EXT_KEY_AUTH:
  case M6IKE_SADB_EXT_KEY_ENCRYPT:
    return parse_key(p, len, NULL);
  case M6IKE_SADB_EXT_SENSITIVITY:
    return parse_sens(p, len, NULL);
  case M6IKE_SADB_EXT_PROPOSAL:
    return (len - 8) % M6IKE_PFKEY_COMB_LEN ? M6IKE_ERR_PFKEY_INCONSISTENT : 0;
  case M6IKE_SADB_X_EXT_POLICY:
    return parse_policy(p, len, NULL);
  case M6IKE_SADB_X_EXT_SEC_CTX:
    return parse_sec_ctx(p, len, NULL);
  case M6IKE_SADB_X_EXT_KMADDRESS:
    return parse_kmaddress(p, len, NULL);
  default:
    return 0;
  }
}

/* ---- decode --------------------------------------------------------------- */

/* The private SA-selector extension's checks (pfkey.h): 0 or a code. */
static int check_sa_sel(const uint8_t *p, size_t elen) {
  uint32_t flags;
  uint16_t r16, slo, shi, dlo, dhi;
  if (elen != M6IKE_PFKEY_SA_SEL_LEN) {
    return M6IKE_ERR_PFKEY_SA_SEL_LEN;
  }
  m6ike_get_u32h(p + 4, &flags);
  if (flags & ~(M6IKE_PFKEY_SA_SEL_ESN | M6IKE_PFKEY_SA_SEL_SELECTOR)) {
    return M6IKE_ERR_PFKEY_SA_SEL_FLAGS;
  }
  m6ike_get_u16h(p + 14, &r16);
  if (p[11] != 0 || r16 != 0) {
    return M6IKE_ERR_PFKEY_SA_SEL_RESERVED;
  }
  if (!(flags & M6IKE_PFKEY_SA_SEL_SELECTOR)) {
    for (size_t i = 8; i < elen; i++) {
      if (p[i] != 0) {
        return M6IKE_ERR_PFKEY_SA_SEL_PREFIX;
      }
    }
    return 0;
  }
  if (p[9] > 128 || p[10] > 128) {
    return M6IKE_ERR_PFKEY_SA_SEL_PREFIX;
  }
  m6ike_get_u16be(p + 16, &slo);
  m6ike_get_u16be(p + 18, &shi);
  m6ike_get_u16be(p + 20, &dlo);
  m6ike_get_u16be(p + 22, &dhi);
  if (p[12] > p[13] || slo > shi || dlo > dhi) {
    return M6IKE_ERR_PFKEY_SA_SEL_RANGE;
  }
  return 0;
}

static int check_sa_move(const uint8_t *p, size_t elen) {
  uint32_t r;
  if (elen != M6IKE_PFKEY_SA_MOVE_LEN) {
    return M6IKE_ERR_PFKEY_SA_MOVE_LEN;
  }
  m6ike_get_u32h(p + 4, &r);
  return r != 0 ? M6IKE_ERR_PFKEY_SA_SEL_RESERVED : 0;
}

int m6ike_pfkey_decode(m6ike_pfkey_msg *msg, const uint8_t *buf, size_t len,
                       unsigned flags) {
  if (msg == NULL || buf == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  memset(msg, 0, sizeof(*msg));
  if (len < M6IKE_PFKEY_HDR_LEN) {
    return M6IKE_ERR_PFKEY_TRUNCATED;
  }
  if (len % 8 != 0) {
    return M6IKE_ERR_PFKEY_MISALIGNED;
  }
  m6ike_pfkey_hdr *h = &msg->hdr;
  h->version = buf[0];
  h->type = buf[1];
  h->msg_errno = buf[2];
  h->satype = buf[3];
  m6ike_get_u16h(buf + 4, &h->len);
  m6ike_get_u16h(buf + 6, &h->reserved);
  m6ike_get_u32h(buf + 8, &h->seq);
  m6ike_get_u32h(buf + 12, &h->pid);
  if (h->version != M6IKE_PF_KEY_V2) {
    return M6IKE_ERR_PFKEY_VERSION;
  }
  if (h->type == M6IKE_SADB_RESERVED || h->type > M6IKE_SADB_MAX) {
    return M6IKE_ERR_PFKEY_MSG_TYPE;
  }
  if (h->reserved != 0) {
    return M6IKE_ERR_PFKEY_RESERVED_FIELD;
  }
  if (h->len < 2) {
    return M6IKE_ERR_PFKEY_MSG_LEN;
  }
  size_t total = (size_t)h->len * 8;
  if (total > len) {
    return M6IKE_ERR_PFKEY_TRUNCATED;
  }
  if (total < len) {
    return M6IKE_ERR_PFKEY_OVERLONG;
  }
  msg->buf = buf;
  msg->len = len;
  size_t off = M6IKE_PFKEY_HDR_LEN;
  while (off < total) {
    /* total and off are multiples of 8, so at least 8 octets remain. */
    const uint8_t *p = buf + off;
    uint16_t el, et;
    m6ike_get_u16h(p, &el);
    m6ike_get_u16h(p + 2, &et);
    size_t elen = (size_t)el * 8;
    if (elen == 0) {
      return M6IKE_ERR_PFKEY_EXT_SHORT;
    }
    if (elen > total - off) {
      return M6IKE_ERR_PFKEY_EXT_OVERRUN;
    }
    if (et == M6IKE_SADB_EXT_RESERVED) {
      return M6IKE_ERR_PFKEY_RESERVED_EXT;
    }
    if (et <= M6IKE_SADB_EXT_MAX) {
      if (elen < ext_info[et].min) {
        return M6IKE_ERR_PFKEY_EXT_SHORT;
      }
      if (ext_info[et].exact && elen != ext_info[et].min) {
        return M6IKE_ERR_PFKEY_EXT_LONG;
      }
      if (msg->ext[et].off != 0) {
        return M6IKE_ERR_PFKEY_DUPLICATE;
      }
      int rc = validate_ext(et, p, elen);
      if (rc < 0) {
        return rc;
      }
      msg->ext[et].off = (uint32_t)off;
      msg->ext[et].len = (uint32_t)elen;
      msg->n_ext++;
    } else if (et == M6IKE_SADB_X_EXT_M6IKE_REFERENCE &&
               !(flags & M6IKE_PFKEY_DEC_LEGACY)) {
      if (elen != M6IKE_PFKEY_REFERENCE_LEN) {
        return M6IKE_ERR_PFKEY_REFERENCE;
      }
      if (msg->reference.off != 0) {
        return M6IKE_ERR_PFKEY_DUPLICATE;
      }
      msg->reference.off = (uint32_t)off;
      msg->reference.len = (uint32_t)elen;
      msg->n_ext++;
    } else if ((et == M6IKE_SADB_X_EXT_M6IKE_SA_SEL ||
                et == M6IKE_SADB_X_EXT_M6IKE_SA_MOVE) &&
               !(flags & M6IKE_PFKEY_DEC_LEGACY)) {
      int sel = et == M6IKE_SADB_X_EXT_M6IKE_SA_SEL;
      m6ike_pfkey_ext_loc *loc = sel ? &msg->sa_sel : &msg->sa_move;
      int rc = sel ? check_sa_sel(p, elen) : check_sa_move(p, elen);
      if (rc < 0) {
        return rc;
      }
      if (loc->off != 0) {
        return M6IKE_ERR_PFKEY_DUPLICATE;
      }
      loc->off = (uint32_t)off;
      loc->len = (uint32_t)elen;
      msg->n_ext++;
    } else if (flags & M6IKE_PFKEY_DEC_LENIENT) {
      msg->n_skipped++;
    } else {
      return M6IKE_ERR_PFKEY_UNKNOWN_EXT;
    }
    off += elen;
  }
  return (int)len;
}

/* ---- getters ---------------------------------------------------------------- */

static const uint8_t *ext_at(const m6ike_pfkey_msg *msg, unsigned type,
                             size_t *len) {
  const m6ike_pfkey_ext_loc *loc;
  if (msg == NULL) {
    return NULL;
  }
  if (type == M6IKE_SADB_X_EXT_M6IKE_REFERENCE) {
    loc = &msg->reference;
  } else if (type == M6IKE_SADB_X_EXT_M6IKE_SA_SEL) {
    loc = &msg->sa_sel;
  } else if (type == M6IKE_SADB_X_EXT_M6IKE_SA_MOVE) {
    loc = &msg->sa_move;
  } else if (type >= 1 && type <= M6IKE_SADB_EXT_MAX) {
    loc = &msg->ext[type];
  } else {
    return NULL;
  }
  if (loc->off == 0) {
    return NULL;
  }
  *len = loc->len;
  return msg->buf + loc->off;
}

int m6ike_pfkey_has(const m6ike_pfkey_msg *msg, unsigned ext_type) {
  size_t len;
  return ext_at(msg, ext_type, &len) != NULL;
}

#define GET_EXT(type)                                                          \
  size_t len;                                                                  \
  const uint8_t *p = ext_at(msg, (type), &len);                                \
  if (p == NULL || out == NULL) {                                              \
    return out == NULL ? M6IKE_ERR_INVALID_ARGUMENT : M6IKE_ERR_NOT_FOUND;     \
  }                                                                            \
  (void)len

int m6ike_pfkey_get_sa(const m6ike_pfkey_msg *msg, m6ike_pfkey_sa *out) {
  GET_EXT(M6IKE_SADB_EXT_SA);
  m6ike_get_u32be(p + 4, &out->spi);
  out->replay = p[8];
  out->state = p[9];
  out->auth = p[10];
  out->encrypt = p[11];
  m6ike_get_u32h(p + 12, &out->flags);
  return 0;
}

int m6ike_pfkey_get_lifetime(const m6ike_pfkey_msg *msg, unsigned ext_type,
                             m6ike_pfkey_lifetime *out) {
  if (ext_type < M6IKE_SADB_EXT_LIFETIME_CURRENT ||
      ext_type > M6IKE_SADB_EXT_LIFETIME_SOFT) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  GET_EXT(ext_type);
  m6ike_get_u32h(p + 4, &out->allocations);
  m6ike_get_u64h(p + 8, &out->bytes);
  m6ike_get_u64h(p + 16, &out->addtime);
  m6ike_get_u64h(p + 24, &out->usetime);
  return 0;
}

int m6ike_pfkey_get_address(const m6ike_pfkey_msg *msg, unsigned ext_type,
                            m6ike_pfkey_address *out) {
  if (!(ext_type >= M6IKE_SADB_EXT_ADDRESS_SRC &&
        ext_type <= M6IKE_SADB_EXT_ADDRESS_PROXY) &&
      ext_type != M6IKE_SADB_X_EXT_NAT_T_OA) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  GET_EXT(ext_type);
  return parse_address(p, len, out);
}

int m6ike_pfkey_get_key(const m6ike_pfkey_msg *msg, unsigned ext_type,
                        m6ike_pfkey_key *out) {
  if (ext_type != M6IKE_SADB_EXT_KEY_AUTH &&
      ext_type != M6IKE_SADB_EXT_KEY_ENCRYPT) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  GET_EXT(ext_type);
  return parse_key(p, len, out);
}

int m6ike_pfkey_get_ident(const m6ike_pfkey_msg *msg, unsigned ext_type,
                          m6ike_pfkey_ident *out) {
  if (ext_type != M6IKE_SADB_EXT_IDENTITY_SRC &&
      ext_type != M6IKE_SADB_EXT_IDENTITY_DST) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  GET_EXT(ext_type);
  m6ike_get_u16h(p + 4, &out->type);
  m6ike_get_u64h(p + 8, &out->id);
  out->str = p + 16;
  out->str_len = len - 16;
  return 0;
}

int m6ike_pfkey_get_sens(const m6ike_pfkey_msg *msg, m6ike_pfkey_sens *out) {
  GET_EXT(M6IKE_SADB_EXT_SENSITIVITY);
  return parse_sens(p, len, out);
}

int m6ike_pfkey_get_prop(const m6ike_pfkey_msg *msg, m6ike_pfkey_prop *out) {
  GET_EXT(M6IKE_SADB_EXT_PROPOSAL);
  out->replay = p[4];
  out->n_combs = (len - 8) / M6IKE_PFKEY_COMB_LEN;
  out->combs = p + 8;
  return 0;
}

int m6ike_pfkey_get_supported(const m6ike_pfkey_msg *msg, unsigned ext_type,
                              m6ike_pfkey_supported *out) {
  if (ext_type != M6IKE_SADB_EXT_SUPPORTED_AUTH &&
      ext_type != M6IKE_SADB_EXT_SUPPORTED_ENCRYPT) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  GET_EXT(ext_type);
  out->n_algs = (len - 8) / 8;
  out->algs = p + 8;
  return 0;
}

int m6ike_pfkey_get_spirange(const m6ike_pfkey_msg *msg,
                             m6ike_pfkey_spirange *out) {
  GET_EXT(M6IKE_SADB_EXT_SPIRANGE);
  m6ike_get_u32h(p + 4, &out->min);
  m6ike_get_u32h(p + 8, &out->max);
  return 0;
}

int m6ike_pfkey_get_kmprivate(const m6ike_pfkey_msg *msg,
                              m6ike_pfkey_kmprivate *out) {
  GET_EXT(M6IKE_SADB_X_EXT_KMPRIVATE);
  out->data = p + 8;
  out->data_len = len - 8;
  return 0;
}

int m6ike_pfkey_get_policy(const m6ike_pfkey_msg *msg,
                           m6ike_pfkey_policy *out) {
  GET_EXT(M6IKE_SADB_X_EXT_POLICY);
  return parse_policy(p, len, out);
}

int m6ike_pfkey_get_sa2(const m6ike_pfkey_msg *msg, m6ike_pfkey_sa2 *out) {
  GET_EXT(M6IKE_SADB_X_EXT_SA2);
  out->mode = p[4];
  m6ike_get_u32h(p + 8, &out->sequence);
  m6ike_get_u32h(p + 12, &out->reqid);
  return 0;
}

int m6ike_pfkey_get_nat_t_type(const m6ike_pfkey_msg *msg, uint8_t *out) {
  GET_EXT(M6IKE_SADB_X_EXT_NAT_T_TYPE);
  *out = p[4];
  return 0;
}

int m6ike_pfkey_get_nat_t_port(const m6ike_pfkey_msg *msg, unsigned ext_type,
                               uint16_t *out) {
  if (ext_type != M6IKE_SADB_X_EXT_NAT_T_SPORT &&
      ext_type != M6IKE_SADB_X_EXT_NAT_T_DPORT) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  GET_EXT(ext_type);
  m6ike_get_u16be(p + 4, out);
  return 0;
}

int m6ike_pfkey_get_sec_ctx(const m6ike_pfkey_msg *msg,
                            m6ike_pfkey_sec_ctx *out) {
  GET_EXT(M6IKE_SADB_X_EXT_SEC_CTX);
  return parse_sec_ctx(p, len, out);
}

int m6ike_pfkey_get_kmaddress(const m6ike_pfkey_msg *msg,
                              m6ike_pfkey_kmaddress *out) {
  GET_EXT(M6IKE_SADB_X_EXT_KMADDRESS);
  return parse_kmaddress(p, len, out);
}

int m6ike_pfkey_get_filter(const m6ike_pfkey_msg *msg,
                           m6ike_pfkey_filter *out) {
  GET_EXT(M6IKE_SADB_X_EXT_FILTER);
  memcpy(out->saddr, p + 4, 16);
  memcpy(out->daddr, p + 20, 16);
  m6ike_get_u16h(p + 36, &out->family);
  out->splen = p[38];
  out->dplen = p[39];
  return 0;
}

int m6ike_pfkey_get_reference(const m6ike_pfkey_msg *msg,
                              m6ike_pfkey_reference *out) {
  GET_EXT(M6IKE_SADB_X_EXT_M6IKE_REFERENCE);
  m6ike_get_u32h(p + 4, &out->mpi);
  m6ike_get_u32h(p + 8, &out->reserved);
  return 0;
}

int m6ike_pfkey_get_sa_sel(const m6ike_pfkey_msg *msg,
                           m6ike_pfkey_sa_sel *out) {
  GET_EXT(M6IKE_SADB_X_EXT_M6IKE_SA_SEL);
  memset(out, 0, sizeof(*out));
  m6ike_get_u32h(p + 4, &out->flags);
  out->proto = p[8];
  out->src_plen = p[9];
  out->dst_plen = p[10];
  out->mh_type_lo = p[12];
  out->mh_type_hi = p[13];
  m6ike_get_u16be(p + 16, &out->sport_lo);
  m6ike_get_u16be(p + 18, &out->sport_hi);
  m6ike_get_u16be(p + 20, &out->dport_lo);
  m6ike_get_u16be(p + 22, &out->dport_hi);
  memcpy(out->src, p + 24, 16);
  memcpy(out->dst, p + 40, 16);
  return 0;
}

int m6ike_pfkey_get_sa_move(const m6ike_pfkey_msg *msg,
                            m6ike_pfkey_sa_move *out) {
  GET_EXT(M6IKE_SADB_X_EXT_M6IKE_SA_MOVE);
  memcpy(out->new_src, p + 8, 16);
  memcpy(out->new_dst, p + 24, 16);
  return 0;
}

int m6ike_pfkey_prop_comb(const m6ike_pfkey_prop *prop, size_t i,
                          m6ike_pfkey_comb *out) {
  if (prop == NULL || out == NULL || i >= prop->n_combs) {
    return M6IKE_ERR_NOT_FOUND;
  }
  const uint8_t *p = prop->combs + i * M6IKE_PFKEY_COMB_LEN;
  out->auth = p[0];
  out->encrypt = p[1];
  m6ike_get_u16h(p + 2, &out->flags);
  m6ike_get_u16h(p + 4, &out->auth_minbits);
  m6ike_get_u16h(p + 6, &out->auth_maxbits);
  m6ike_get_u16h(p + 8, &out->encrypt_minbits);
  m6ike_get_u16h(p + 10, &out->encrypt_maxbits);
  /* p + 12: reserved */
  m6ike_get_u32h(p + 16, &out->soft_allocations);
  m6ike_get_u32h(p + 20, &out->hard_allocations);
  m6ike_get_u64h(p + 24, &out->soft_bytes);
  m6ike_get_u64h(p + 32, &out->hard_bytes);
  m6ike_get_u64h(p + 40, &out->soft_addtime);
  m6ike_get_u64h(p + 48, &out->hard_addtime);
  m6ike_get_u64h(p + 56, &out->soft_usetime);
  m6ike_get_u64h(p + 64, &out->hard_usetime);
  return 0;
}

int m6ike_pfkey_supported_alg(const m6ike_pfkey_supported *sup, size_t i,
                              m6ike_pfkey_alg *out) {
  if (sup == NULL || out == NULL || i >= sup->n_algs) {
    return M6IKE_ERR_NOT_FOUND;
  }
  const uint8_t *p = sup->algs + i * 8;
  out->id = p[0];
  out->ivlen = p[1];
  m6ike_get_u16h(p + 2, &out->minbits);
  m6ike_get_u16h(p + 4, &out->maxbits);
  return 0;
}

int m6ike_pfkey_policy_request(const m6ike_pfkey_policy *pol, size_t i,
                               m6ike_pfkey_ipsecrequest *out) {
  if (pol == NULL || out == NULL || i >= pol->n_requests) {
    return M6IKE_ERR_NOT_FOUND;
  }
  size_t off = 0;
  uint16_t rl;
  for (;;) {
    m6ike_get_u16h(pol->reqs + off, &rl);
    if (i == 0) {
      break;
    }
    off += rl;
    i--;
  }
  const uint8_t *p = pol->reqs + off;
  memset(out, 0, sizeof(*out));
  out->len = rl;
  m6ike_get_u16h(p + 2, &out->proto);
  out->mode = p[4];
  out->level = p[5];
  m6ike_get_u32h(p + 8, &out->reqid);
  if (rl > 16) {
    out->has_addrs = 1;
    (void)get_sockaddr_pair(p + 16, rl - 16u, &out->src, &out->dst);
  }
  return 0;
}

int m6ike_pfkey_check_required(const m6ike_pfkey_msg *msg) {
  static const uint8_t acquire[] = {M6IKE_SADB_EXT_ADDRESS_SRC,
                                    M6IKE_SADB_EXT_ADDRESS_DST,
                                    M6IKE_SADB_EXT_PROPOSAL, 0};
  static const uint8_t sa_addr[] = {M6IKE_SADB_EXT_SA,
                                    M6IKE_SADB_EXT_ADDRESS_SRC,
                                    M6IKE_SADB_EXT_ADDRESS_DST, 0};
  static const uint8_t spd[] = {M6IKE_SADB_EXT_ADDRESS_SRC,
                                M6IKE_SADB_EXT_ADDRESS_DST,
                                M6IKE_SADB_X_EXT_POLICY, 0};
  static const uint8_t getspi[] = {M6IKE_SADB_EXT_ADDRESS_SRC,
                                   M6IKE_SADB_EXT_ADDRESS_DST,
                                   M6IKE_SADB_EXT_SPIRANGE, 0};
  static const uint8_t policy[] = {M6IKE_SADB_X_EXT_POLICY, 0};
  static const uint8_t expire[] = {M6IKE_SADB_EXT_SA, 0};
  const uint8_t *req = NULL;
  if (msg == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  switch (msg->hdr.type) {
  case M6IKE_SADB_ACQUIRE:
    req = acquire;
    break;
  case M6IKE_SADB_UPDATE:
  case M6IKE_SADB_ADD:
  case M6IKE_SADB_DELETE:
  case M6IKE_SADB_GET:
    req = sa_addr;
    break;
  case M6IKE_SADB_GETSPI:
    req = getspi;
    break;
  case M6IKE_SADB_EXPIRE:
    req = expire;
    break;
  case M6IKE_SADB_X_SPDUPDATE:
  case M6IKE_SADB_X_SPDADD:
  case M6IKE_SADB_X_SPDDELETE:
  case M6IKE_SADB_X_MIGRATE:
    req = spd;
    break;
  case M6IKE_SADB_X_SPDGET:
  case M6IKE_SADB_X_SPDDELETE2:
    req = policy;
    break;
  default:
    return 0;
  }
  for (; *req; req++) {
    if (msg->ext[*req].off == 0) {
      return M6IKE_ERR_PFKEY_MISSING_EXT;
    }
  }
  return 0;
}

/* ---- builder ------------------------------------------------------------------ */

static int fail(m6ike_pfkey_builder *b, int code) {
  if (b->err == 0) {
    b->err = code;
  }
  return b->err;
}

static void close_policy(m6ike_pfkey_builder *b) {
  if (b->policy_off) {
    size_t elen = b->len - b->policy_off;
    m6ike_put_u16h(b->buf + b->policy_off, (uint16_t)(elen / 8));
    b->policy_off = 0;
  }
}

/* Starts an extension of elen octets (multiple of 8, zero-filled). */
static uint8_t *ext_begin(m6ike_pfkey_builder *b, unsigned type, size_t elen) {
  if (b->err) {
    return NULL;
  }
  if (b->finished) {
    fail(b, M6IKE_ERR_PFKEY_BUILDER_STATE);
    return NULL;
  }
  uint64_t bit = type == M6IKE_SADB_X_EXT_M6IKE_REFERENCE ? SEEN_REFERENCE
                 : type == M6IKE_SADB_X_EXT_M6IKE_SA_SEL   ? SEEN_SA_SEL
                 : type == M6IKE_SADB_X_EXT_M6IKE_SA_MOVE  ? SEEN_SA_MOVE
                                                          : (uint64_t)1
                                                                << (type & 63);
  if (b->seen & bit) {
    fail(b, M6IKE_ERR_PFKEY_DUPLICATE);
    return NULL;
  }
  close_policy(b);
  if (elen > MAX_MSG_OCTETS || b->len + elen > MAX_MSG_OCTETS) {
    fail(b, M6IKE_ERR_PFKEY_BUILDER_STATE);
    return NULL;
  }
  if (elen > b->cap - b->len) {
    fail(b, M6IKE_ERR_NOBUF);
    return NULL;
  }
  uint8_t *p = b->buf + b->len;
  memset(p, 0, elen);
  m6ike_put_u16h(p, (uint16_t)(elen / 8));
  m6ike_put_u16h(p + 2, (uint16_t)type);
  b->seen |= bit;
  b->len += elen;
  return p;
}

static int bad_arg(m6ike_pfkey_builder *b) {
  return fail(b, M6IKE_ERR_INVALID_ARGUMENT);
}

#define RESULT(b) ((b)->err)

int m6ike_pfkey_builder_begin(m6ike_pfkey_builder *b, uint8_t *buf,
                              size_t cap, uint8_t type, uint8_t satype,
                              uint32_t seq, uint32_t pid) {
  if (b == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  memset(b, 0, sizeof(*b));
  b->buf = buf;
  b->cap = buf ? cap : 0;
  if (buf == NULL) {
    return fail(b, M6IKE_ERR_INVALID_ARGUMENT);
  }
  if (cap < M6IKE_PFKEY_HDR_LEN) {
    return fail(b, M6IKE_ERR_NOBUF);
  }
  uint8_t *p = buf;
  p = m6ike_put_u8(p, M6IKE_PF_KEY_V2);
  p = m6ike_put_u8(p, type);
  p = m6ike_put_u8(p, 0);
  p = m6ike_put_u8(p, satype);
  p = m6ike_put_u16h(p, 2);
  p = m6ike_put_u16h(p, 0);
  p = m6ike_put_u32h(p, seq);
  m6ike_put_u32h(p, pid);
  b->len = M6IKE_PFKEY_HDR_LEN;
  return 0;
}

void m6ike_pfkey_builder_set_errno(m6ike_pfkey_builder *b, uint8_t e) {
  if (b && b->buf && b->len >= M6IKE_PFKEY_HDR_LEN) {
    b->buf[2] = e;
  }
}

int m6ike_pfkey_add_sa(m6ike_pfkey_builder *b, const m6ike_pfkey_sa *sa) {
  if (sa == NULL) {
    return bad_arg(b);
  }
  uint8_t *p = ext_begin(b, M6IKE_SADB_EXT_SA, 16);
  if (p) {
    m6ike_put_u32be(p + 4, sa->spi);
    p[8] = sa->replay;
    p[9] = sa->state;
    p[10] = sa->auth;
    p[11] = sa->encrypt;
    m6ike_put_u32h(p + 12, sa->flags);
  }
  return RESULT(b);
}

int m6ike_pfkey_add_lifetime(m6ike_pfkey_builder *b, unsigned ext_type,
                             const m6ike_pfkey_lifetime *lt) {
  if (lt == NULL || ext_type < M6IKE_SADB_EXT_LIFETIME_CURRENT ||
      ext_type > M6IKE_SADB_EXT_LIFETIME_SOFT) {
    return bad_arg(b);
  }
  uint8_t *p = ext_begin(b, ext_type, 32);
  if (p) {
    m6ike_put_u32h(p + 4, lt->allocations);
    m6ike_put_u64h(p + 8, lt->bytes);
    m6ike_put_u64h(p + 16, lt->addtime);
    m6ike_put_u64h(p + 24, lt->usetime);
  }
  return RESULT(b);
}

int m6ike_pfkey_add_address(m6ike_pfkey_builder *b, unsigned ext_type,
                            uint8_t proto, uint8_t prefixlen,
                            const m6ike_pfkey_sockaddr *sa) {
  if (sa == NULL ||
      (!(ext_type >= M6IKE_SADB_EXT_ADDRESS_SRC &&
         ext_type <= M6IKE_SADB_EXT_ADDRESS_PROXY) &&
       ext_type != M6IKE_SADB_X_EXT_NAT_T_OA)) {
    return bad_arg(b);
  }
  size_t n = sockaddr_len(sa->family);
  if (n == 0 ||
      prefixlen > (sa->family == M6IKE_PFKEY_AF_INET ? 32u : 128u)) {
    return bad_arg(b);
  }
  uint8_t *p = ext_begin(b, ext_type, 8 + ALIGN8(n));
  if (p) {
    p[4] = proto;
    p[5] = prefixlen;
    put_sockaddr(p + 8, sa);
  }
  return RESULT(b);
}

int m6ike_pfkey_add_key(m6ike_pfkey_builder *b, unsigned ext_type,
                        uint16_t bits, const uint8_t *key) {
  size_t n = ((size_t)bits + 7) / 8;
  if ((n && key == NULL) || (ext_type != M6IKE_SADB_EXT_KEY_AUTH &&
                             ext_type != M6IKE_SADB_EXT_KEY_ENCRYPT)) {
    return bad_arg(b);
  }
  uint8_t *p = ext_begin(b, ext_type, 8 + ALIGN8(n));
  if (p) {
    m6ike_put_u16h(p + 4, bits);
    m6ike_put_bytes(p + 8, key, n);
  }
  return RESULT(b);
}

int m6ike_pfkey_add_ident(m6ike_pfkey_builder *b, unsigned ext_type,
                          uint16_t id_type, uint64_t id, const uint8_t *str,
                          size_t str_len) {
  if ((str_len && str == NULL) || str_len > MAX_MSG_OCTETS ||
      (ext_type != M6IKE_SADB_EXT_IDENTITY_SRC &&
       ext_type != M6IKE_SADB_EXT_IDENTITY_DST)) {
    return bad_arg(b);
  }
  uint8_t *p = ext_begin(b, ext_type, 16 + ALIGN8(str_len));
  if (p) {
    m6ike_put_u16h(p + 4, id_type);
    m6ike_put_u64h(p + 8, id);
    m6ike_put_bytes(p + 16, str, str_len);
  }
  return RESULT(b);
}

int m6ike_pfkey_add_sens(m6ike_pfkey_builder *b, const m6ike_pfkey_sens *s) {
  if (s == NULL) {
    return bad_arg(b);
  }
  size_t n = 8 * ((size_t)s->sens_len + s->integ_len);
  if (n && s->bitmaps == NULL) {
    return bad_arg(b);
  }
  uint8_t *p = ext_begin(b, M6IKE_SADB_EXT_SENSITIVITY, 16 + n);
  if (p) {
    m6ike_put_u32h(p + 4, s->dpd);
    p[8] = s->sens_level;
    p[9] = s->sens_len;
    p[10] = s->integ_level;
    p[11] = s->integ_len;
    m6ike_put_bytes(p + 16, s->bitmaps, n);
  }
  return RESULT(b);
}

int m6ike_pfkey_add_proposal(m6ike_pfkey_builder *b, uint8_t replay,
                             const m6ike_pfkey_comb *combs, size_t n) {
  if ((n && combs == NULL) || n > MAX_MSG_OCTETS / M6IKE_PFKEY_COMB_LEN) {
    return bad_arg(b);
  }
  uint8_t *p = ext_begin(b, M6IKE_SADB_EXT_PROPOSAL,
                         8 + n * M6IKE_PFKEY_COMB_LEN);
  if (p) {
    p[4] = replay;
    uint8_t *q = p + 8;
    for (size_t i = 0; i < n; i++) {
      const m6ike_pfkey_comb *c = &combs[i];
      q[0] = c->auth;
      q[1] = c->encrypt;
      m6ike_put_u16h(q + 2, c->flags);
      m6ike_put_u16h(q + 4, c->auth_minbits);
      m6ike_put_u16h(q + 6, c->auth_maxbits);
      m6ike_put_u16h(q + 8, c->encrypt_minbits);
      m6ike_put_u16h(q + 10, c->encrypt_maxbits);
      m6ike_put_u32h(q + 16, c->soft_allocations);
      m6ike_put_u32h(q + 20, c->hard_allocations);
      m6ike_put_u64h(q + 24, c->soft_bytes);
      m6ike_put_u64h(q + 32, c->hard_bytes);
      m6ike_put_u64h(q + 40, c->soft_addtime);
      m6ike_put_u64h(q + 48, c->hard_addtime);
      m6ike_put_u64h(q + 56, c->soft_usetime);
      m6ike_put_u64h(q + 64, c->hard_usetime);
      q += M6IKE_PFKEY_COMB_LEN;
    }
  }
  return RESULT(b);
}

int m6ike_pfkey_add_supported(m6ike_pfkey_builder *b, unsigned ext_type,
                              const m6ike_pfkey_alg *algs, size_t n) {
  if ((n && algs == NULL) || n > MAX_MSG_OCTETS / 8 ||
      (ext_type != M6IKE_SADB_EXT_SUPPORTED_AUTH &&
       ext_type != M6IKE_SADB_EXT_SUPPORTED_ENCRYPT)) {
    return bad_arg(b);
  }
  uint8_t *p = ext_begin(b, ext_type, 8 + 8 * n);
  if (p) {
    for (size_t i = 0; i < n; i++) {
      uint8_t *q = p + 8 + 8 * i;
      q[0] = algs[i].id;
      q[1] = algs[i].ivlen;
      m6ike_put_u16h(q + 2, algs[i].minbits);
      m6ike_put_u16h(q + 4, algs[i].maxbits);
    }
  }
  return RESULT(b);
}

int m6ike_pfkey_add_spirange(m6ike_pfkey_builder *b, uint32_t min,
                             uint32_t max) {
  uint8_t *p = ext_begin(b, M6IKE_SADB_EXT_SPIRANGE, 16);
  if (p) {
    m6ike_put_u32h(p + 4, min);
    m6ike_put_u32h(p + 8, max);
  }
  return RESULT(b);
}

int m6ike_pfkey_add_kmprivate(m6ike_pfkey_builder *b, const uint8_t *data,
                              size_t len) {
  if ((len && data == NULL) || len > MAX_MSG_OCTETS) {
    return bad_arg(b);
  }
  uint8_t *p = ext_begin(b, M6IKE_SADB_X_EXT_KMPRIVATE, 8 + ALIGN8(len));
  if (p) {
    m6ike_put_bytes(p + 8, data, len);
  }
  return RESULT(b);
}

int m6ike_pfkey_add_policy(m6ike_pfkey_builder *b, uint16_t type, uint8_t dir,
                           uint32_t id, uint32_t priority) {
  uint8_t *p = ext_begin(b, M6IKE_SADB_X_EXT_POLICY, 16);
  if (p) {
    m6ike_put_u16h(p + 4, type);
    p[6] = dir;
    m6ike_put_u32h(p + 8, id);
    m6ike_put_u32h(p + 12, priority);
    b->policy_off = (size_t)(p - b->buf);
  }
  return RESULT(b);
}

int m6ike_pfkey_add_ipsecrequest(m6ike_pfkey_builder *b, uint16_t proto,
                                 uint8_t mode, uint8_t level, uint32_t reqid,
                                 const m6ike_pfkey_sockaddr *src,
                                 const m6ike_pfkey_sockaddr *dst) {
  if (b->err) {
    return b->err;
  }
  if (b->finished || b->policy_off == 0) {
    return fail(b, M6IKE_ERR_PFKEY_BUILDER_STATE);
  }
  size_t n = 0;
  if (src || dst) {
    if (src == NULL || dst == NULL || src->family != dst->family ||
        (n = sockaddr_len(src->family)) == 0) {
      return bad_arg(b);
    }
  }
  size_t rl = 16 + ALIGN8(2 * n);
  if (b->len - b->policy_off + rl > MAX_MSG_OCTETS ||
      b->len + rl > MAX_MSG_OCTETS) {
    return fail(b, M6IKE_ERR_PFKEY_BUILDER_STATE);
  }
  if (rl > b->cap - b->len) {
    return fail(b, M6IKE_ERR_NOBUF);
  }
  uint8_t *p = b->buf + b->len;
  memset(p, 0, rl);
  m6ike_put_u16h(p, (uint16_t)rl);
  m6ike_put_u16h(p + 2, proto);
  p[4] = mode;
  p[5] = level;
  m6ike_put_u32h(p + 8, reqid);
  if (n) {
    put_sockaddr(put_sockaddr(p + 16, src), dst);
  }
  b->len += rl;
  return 0;
}

int m6ike_pfkey_add_sa2(m6ike_pfkey_builder *b, uint8_t mode,
                        uint32_t sequence, uint32_t reqid) {
  uint8_t *p = ext_begin(b, M6IKE_SADB_X_EXT_SA2, 16);
  if (p) {
    p[4] = mode;
    m6ike_put_u32h(p + 8, sequence);
    m6ike_put_u32h(p + 12, reqid);
  }
  return RESULT(b);
}

int m6ike_pfkey_add_nat_t_type(m6ike_pfkey_builder *b, uint8_t type) {
  uint8_t *p = ext_begin(b, M6IKE_SADB_X_EXT_NAT_T_TYPE, 8);
  if (p) {
    p[4] = type;
  }
  return RESULT(b);
}

int m6ike_pfkey_add_nat_t_port(m6ike_pfkey_builder *b, unsigned ext_type,
                               uint16_t port) {
  if (ext_type != M6IKE_SADB_X_EXT_NAT_T_SPORT &&
      ext_type != M6IKE_SADB_X_EXT_NAT_T_DPORT) {
    return bad_arg(b);
  }
  uint8_t *p = ext_begin(b, ext_type, 8);
  if (p) {
    m6ike_put_u16be(p + 4, port);
  }
  return RESULT(b);
}

int m6ike_pfkey_add_sec_ctx(m6ike_pfkey_builder *b, uint8_t alg, uint8_t doi,
                            const uint8_t *ctx, uint16_t ctx_len) {
  if (ctx_len && ctx == NULL) {
    return bad_arg(b);
  }
  uint8_t *p = ext_begin(b, M6IKE_SADB_X_EXT_SEC_CTX, ALIGN8(8 + (size_t)ctx_len));
  if (p) {
    p[4] = alg;
    p[5] = doi;
    m6ike_put_u16h(p + 6, ctx_len);
    m6ike_put_bytes(p + 8, ctx, ctx_len);
  }
  return RESULT(b);
}

int m6ike_pfkey_add_kmaddress(m6ike_pfkey_builder *b,
                              const m6ike_pfkey_sockaddr *local,
                              const m6ike_pfkey_sockaddr *remote) {
  size_t n;
  if (local == NULL || remote == NULL || local->family != remote->family ||
      (n = sockaddr_len(local->family)) == 0) {
    return bad_arg(b);
  }
  uint8_t *p = ext_begin(b, M6IKE_SADB_X_EXT_KMADDRESS, 8 + ALIGN8(2 * n));
  if (p) {
    put_sockaddr(put_sockaddr(p + 8, local), remote);
  }
  return RESULT(b);
}

int m6ike_pfkey_add_filter(m6ike_pfkey_builder *b,
                           const m6ike_pfkey_filter *f) {
  if (f == NULL) {
    return bad_arg(b);
  }
  uint8_t *p = ext_begin(b, M6IKE_SADB_X_EXT_FILTER, 40);
  if (p) {
    memcpy(p + 4, f->saddr, 16);
    memcpy(p + 20, f->daddr, 16);
    m6ike_put_u16h(p + 36, f->family);
    p[38] = f->splen;
    p[39] = f->dplen;
  }
  return RESULT(b);
}

int m6ike_pfkey_add_reference(m6ike_pfkey_builder *b, uint32_t mpi) {
  uint8_t *p = ext_begin(b, M6IKE_SADB_X_EXT_M6IKE_REFERENCE,
                         M6IKE_PFKEY_REFERENCE_LEN);
  if (p) {
    m6ike_put_u32h(p + 4, mpi);
  }
  return RESULT(b);
}

int m6ike_pfkey_add_sa_sel(m6ike_pfkey_builder *b,
                           const m6ike_pfkey_sa_sel *v) {
  if (b == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (v == NULL) {
    return bad_arg(b);
  }
  uint8_t tmp[M6IKE_PFKEY_SA_SEL_LEN];
  memset(tmp, 0, sizeof(tmp));
  m6ike_put_u32h(tmp + 4, v->flags);
  if (v->flags & M6IKE_PFKEY_SA_SEL_SELECTOR) {
    tmp[8] = v->proto;
    tmp[9] = v->src_plen;
    tmp[10] = v->dst_plen;
    tmp[12] = v->mh_type_lo;
    tmp[13] = v->mh_type_hi;
    m6ike_put_u16be(tmp + 16, v->sport_lo);
    m6ike_put_u16be(tmp + 18, v->sport_hi);
    m6ike_put_u16be(tmp + 20, v->dport_lo);
    m6ike_put_u16be(tmp + 22, v->dport_hi);
    memcpy(tmp + 24, v->src, 16);
    memcpy(tmp + 40, v->dst, 16);
  }
  if (check_sa_sel(tmp, sizeof(tmp)) < 0) {
    return bad_arg(b);
  }
  uint8_t *p = ext_begin(b, M6IKE_SADB_X_EXT_M6IKE_SA_SEL,
                         M6IKE_PFKEY_SA_SEL_LEN);
  if (p) {
    memcpy(p + 4, tmp + 4, sizeof(tmp) - 4);
  }
  return RESULT(b);
}

int m6ike_pfkey_add_sa_move(m6ike_pfkey_builder *b,
                            const m6ike_pfkey_sa_move *mv) {
  if (b == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (mv == NULL) {
    return bad_arg(b);
  }
  uint8_t *p = ext_begin(b, M6IKE_SADB_X_EXT_M6IKE_SA_MOVE,
                         M6IKE_PFKEY_SA_MOVE_LEN);
  if (p) {
    memcpy(p + 8, mv->new_src, 16);
    memcpy(p + 24, mv->new_dst, 16);
  }
  return RESULT(b);
}

int m6ike_pfkey_builder_finish(m6ike_pfkey_builder *b) {
  if (b == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (b->err) {
    return b->err;
  }
  if (b->finished) {
    return fail(b, M6IKE_ERR_PFKEY_BUILDER_STATE);
  }
  close_policy(b);
  m6ike_put_u16h(b->buf + 4, (uint16_t)(b->len / 8));
  b->finished = 1;
  return (int)b->len;
}

/* ---- rebuild ---------------------------------------------------------------- */

int m6ike_pfkey_rebuild(const m6ike_pfkey_msg *msg, uint8_t *buf, size_t cap) {
  m6ike_pfkey_builder b;
  if (msg == NULL || msg->buf == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  const m6ike_pfkey_hdr *h = &msg->hdr;
  int rc = m6ike_pfkey_builder_begin(&b, buf, cap, h->type, h->satype, h->seq,
                                     h->pid);
  if (rc < 0) {
    return rc;
  }
  m6ike_pfkey_builder_set_errno(&b, h->msg_errno);
  /* The known extensions in their original order (insertion sort by
   * offset; at most 26 entries). */
  unsigned order[M6IKE_SADB_EXT_MAX + 1];
  size_t n_order = 0;
  for (unsigned t = 1; t <= M6IKE_SADB_EXT_MAX; t++) {
    if (msg->ext[t].off == 0) {
      continue;
    }
    size_t j = n_order++;
    while (j > 0 && msg->ext[order[j - 1]].off > msg->ext[t].off) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = t;
  }
  for (size_t k = 0; k < n_order; k++) {
    const unsigned t = order[k];
    switch (t) {
    case M6IKE_SADB_EXT_SA: {
      m6ike_pfkey_sa v = {0};
      m6ike_pfkey_get_sa(msg, &v);
      m6ike_pfkey_add_sa(&b, &v);
    } break;
    case M6IKE_SADB_EXT_LIFETIME_CURRENT:
    case M6IKE_SADB_EXT_LIFETIME_HARD:
    case M6IKE_SADB_EXT_LIFETIME_SOFT: {
      m6ike_pfkey_lifetime v = {0};
      m6ike_pfkey_get_lifetime(msg, t, &v);
      m6ike_pfkey_add_lifetime(&b, t, &v);
    } break;
    case M6IKE_SADB_EXT_ADDRESS_SRC:
    case M6IKE_SADB_EXT_ADDRESS_DST:
    case M6IKE_SADB_EXT_ADDRESS_PROXY:
    case M6IKE_SADB_X_EXT_NAT_T_OA: {
      m6ike_pfkey_address v = {0};
      m6ike_pfkey_get_address(msg, t, &v);
      m6ike_pfkey_add_address(&b, t, v.proto, v.prefixlen, &v.sa);
    } break;
    case M6IKE_SADB_EXT_KEY_AUTH:
    case M6IKE_SADB_EXT_KEY_ENCRYPT: {
      m6ike_pfkey_key v = {0};
      m6ike_pfkey_get_key(msg, t, &v);
      m6ike_pfkey_add_key(&b, t, v.bits, v.data);
    } break;
    case M6IKE_SADB_EXT_IDENTITY_SRC:
    case M6IKE_SADB_EXT_IDENTITY_DST: {
      m6ike_pfkey_ident v = {0};
      m6ike_pfkey_get_ident(msg, t, &v);
      m6ike_pfkey_add_ident(&b, t, v.type, v.id, v.str, v.str_len);
    } break;
    case M6IKE_SADB_EXT_SENSITIVITY: {
      m6ike_pfkey_sens v = {0};
      m6ike_pfkey_get_sens(msg, &v);
      m6ike_pfkey_add_sens(&b, &v);
    } break;
    case M6IKE_SADB_EXT_PROPOSAL: {
      m6ike_pfkey_prop v = {0};
      m6ike_pfkey_get_prop(msg, &v);
      /* The combs are copied as a block; their reserved words zeroed. */
      uint8_t *p = ext_begin(&b, t, 8 + v.n_combs * M6IKE_PFKEY_COMB_LEN);
      if (p) {
        p[4] = v.replay;
        memcpy(p + 8, v.combs, v.n_combs * M6IKE_PFKEY_COMB_LEN);
        for (size_t i = 0; i < v.n_combs; i++) {
          memset(p + 8 + i * M6IKE_PFKEY_COMB_LEN + 12, 0, 4); /* reserved */
        }
      }
    } break;
    case M6IKE_SADB_EXT_SUPPORTED_AUTH:
    case M6IKE_SADB_EXT_SUPPORTED_ENCRYPT: {
      m6ike_pfkey_supported v = {0};
      m6ike_pfkey_get_supported(msg, t, &v);
      uint8_t *p = ext_begin(&b, t, 8 + 8 * v.n_algs);
      for (size_t i = 0; p && i < v.n_algs; i++) {
        m6ike_pfkey_alg a = {0};
        m6ike_pfkey_supported_alg(&v, i, &a);
        uint8_t *q = p + 8 + 8 * i;
        q[0] = a.id;
        q[1] = a.ivlen;
        m6ike_put_u16h(q + 2, a.minbits);
        m6ike_put_u16h(q + 4, a.maxbits);
      }
    } break;
    case M6IKE_SADB_EXT_SPIRANGE: {
      m6ike_pfkey_spirange v = {0};
      m6ike_pfkey_get_spirange(msg, &v);
      m6ike_pfkey_add_spirange(&b, v.min, v.max);
    } break;
    case M6IKE_SADB_X_EXT_KMPRIVATE: {
      m6ike_pfkey_kmprivate v = {0};
      m6ike_pfkey_get_kmprivate(msg, &v);
      m6ike_pfkey_add_kmprivate(&b, v.data, v.data_len);
    } break;
    case M6IKE_SADB_X_EXT_POLICY: {
      m6ike_pfkey_policy v = {0};
      m6ike_pfkey_get_policy(msg, &v);
      m6ike_pfkey_add_policy(&b, v.type, v.dir, v.id, v.priority);
      for (size_t i = 0; i < v.n_requests; i++) {
        m6ike_pfkey_ipsecrequest r = {0};
        m6ike_pfkey_policy_request(&v, i, &r);
        m6ike_pfkey_add_ipsecrequest(&b, r.proto, r.mode, r.level, r.reqid,
                                     r.has_addrs ? &r.src : NULL,
                                     r.has_addrs ? &r.dst : NULL);
      }
    } break;
    case M6IKE_SADB_X_EXT_SA2: {
      m6ike_pfkey_sa2 v = {0};
      m6ike_pfkey_get_sa2(msg, &v);
      m6ike_pfkey_add_sa2(&b, v.mode, v.sequence, v.reqid);
    } break;
    case M6IKE_SADB_X_EXT_NAT_T_TYPE: {
      uint8_t v = 0;
      m6ike_pfkey_get_nat_t_type(msg, &v);
      m6ike_pfkey_add_nat_t_type(&b, v);
    } break;
    case M6IKE_SADB_X_EXT_NAT_T_SPORT:
    case M6IKE_SADB_X_EXT_NAT_T_DPORT: {
      uint16_t v = 0;
      m6ike_pfkey_get_nat_t_port(msg, t, &v);
      m6ike_pfkey_add_nat_t_port(&b, t, v);
    } break;
    case M6IKE_SADB_X_EXT_SEC_CTX: {
      m6ike_pfkey_sec_ctx v = {0};
      m6ike_pfkey_get_sec_ctx(msg, &v);
      m6ike_pfkey_add_sec_ctx(&b, v.alg, v.doi, v.ctx, v.ctx_len);
    } break;
    case M6IKE_SADB_X_EXT_KMADDRESS: {
      m6ike_pfkey_kmaddress v = {0};
      m6ike_pfkey_get_kmaddress(msg, &v);
      m6ike_pfkey_add_kmaddress(&b, &v.local, &v.remote);
    } break;
    case M6IKE_SADB_X_EXT_FILTER: {
      m6ike_pfkey_filter v = {0};
      m6ike_pfkey_get_filter(msg, &v);
      m6ike_pfkey_add_filter(&b, &v);
    } break;
    default:
      break;
    }
  }
  m6ike_pfkey_reference r = {0};
  if (m6ike_pfkey_get_reference(msg, &r) == 0) {
    m6ike_pfkey_add_reference(&b, r.mpi);
  }
  m6ike_pfkey_sa_sel sel;
  if (m6ike_pfkey_get_sa_sel(msg, &sel) == 0) {
    m6ike_pfkey_add_sa_sel(&b, &sel);
  }
  m6ike_pfkey_sa_move mv;
  if (m6ike_pfkey_get_sa_move(msg, &mv) == 0) {
    m6ike_pfkey_add_sa_move(&b, &mv);
  }
  return m6ike_pfkey_builder_finish(&b);
}

/* ---- helpers and names ------------------------------------------------------ */

m6ike_pfkey_sockaddr m6ike_pfkey_sockaddr6(const m6ike_addr6 *a,
                                           uint16_t port) {
  m6ike_pfkey_sockaddr sa;
  memset(&sa, 0, sizeof(sa));
  sa.family = M6IKE_PFKEY_AF_INET6;
  sa.port = port;
  if (a) {
    memcpy(sa.addr, a->b, 16);
  }
  return sa;
}

m6ike_pfkey_sockaddr m6ike_pfkey_sockaddr4(const uint8_t a[4], uint16_t port) {
  m6ike_pfkey_sockaddr sa;
  memset(&sa, 0, sizeof(sa));
  sa.family = M6IKE_PFKEY_AF_INET;
  sa.port = port;
  if (a) {
    memcpy(sa.addr, a, 4);
  }
  return sa;
}

const char *m6ike_pfkey_msg_type_name(unsigned type) {
  static const char *const names[] = {
      "RESERVED",   "GETSPI",      "UPDATE",        "ADD",
      "DELETE",     "GET",         "ACQUIRE",       "REGISTER",
      "EXPIRE",     "FLUSH",       "DUMP",          "X_PROMISC",
      "X_PCHANGE",  "X_SPDUPDATE", "X_SPDADD",      "X_SPDDELETE",
      "X_SPDGET",   "X_SPDACQUIRE", "X_SPDDUMP",    "X_SPDFLUSH",
      "X_SPDSETIDX", "X_SPDEXPIRE", "X_SPDDELETE2", "X_NAT_T_NEW_MAPPING",
      "X_MIGRATE"};
  return type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}

const char *m6ike_pfkey_satype_name(unsigned satype) {
  switch (satype) {
  case M6IKE_SADB_SATYPE_UNSPEC:
    return "unspec";
  case M6IKE_SADB_SATYPE_AH:
    return "ah";
  case M6IKE_SADB_SATYPE_ESP:
    return "esp";
  case M6IKE_SADB_SATYPE_RSVP:
    return "rsvp";
  case M6IKE_SADB_SATYPE_OSPFV2:
    return "ospfv2";
  case M6IKE_SADB_SATYPE_RIPV2:
    return "ripv2";
  case M6IKE_SADB_SATYPE_MIP:
    return "mip";
  case M6IKE_SADB_X_SATYPE_IPCOMP:
    return "ipcomp";
  default:
    return "?";
  }
}

const char *m6ike_pfkey_ext_type_name(unsigned t) {
  static const char *const names[] = {
      "RESERVED",        "SA",           "LIFETIME_CURRENT",
      "LIFETIME_HARD",   "LIFETIME_SOFT", "ADDRESS_SRC",
      "ADDRESS_DST",     "ADDRESS_PROXY", "KEY_AUTH",
      "KEY_ENCRYPT",     "IDENTITY_SRC", "IDENTITY_DST",
      "SENSITIVITY",     "PROPOSAL",     "SUPPORTED_AUTH",
      "SUPPORTED_ENCRYPT", "SPIRANGE",   "X_KMPRIVATE",
      "X_POLICY",        "X_SA2",        "X_NAT_T_TYPE",
      "X_NAT_T_SPORT",   "X_NAT_T_DPORT", "X_NAT_T_OA",
      "X_SEC_CTX",       "X_KMADDRESS",  "X_FILTER"};
  if (t == M6IKE_SADB_X_EXT_M6IKE_REFERENCE) {
    return "X_M6IKE_REFERENCE";
  }
  if (t == M6IKE_SADB_X_EXT_M6IKE_SA_SEL) {
    return "X_M6IKE_SA_SEL";
  }
  if (t == M6IKE_SADB_X_EXT_M6IKE_SA_MOVE) {
    return "X_M6IKE_SA_MOVE";
  }
  return t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

/* snprintf-style appender. */
typedef struct {
  char *buf;
  size_t cap, need;
} fmt_out;

static void fmt_str(fmt_out *o, const char *s) {
  size_t n = strlen(s);
  if (o->need < o->cap) {
    size_t room = o->cap - o->need - 1;
    size_t k = n < room ? n : room;
    memcpy(o->buf + o->need, s, k);
    o->buf[o->need + k] = '\0';
  }
  o->need += n;
}

static void fmt_sockaddr(char *out, size_t cap, const m6ike_pfkey_sockaddr *sa) {
  if (sa->family == M6IKE_PFKEY_AF_INET) {
    snprintf(out, cap, "%u.%u.%u.%u", sa->addr[0], sa->addr[1], sa->addr[2],
             sa->addr[3]);
  } else {
    m6ike_addr6 a;
    char t[M6IKE_ADDR6_STRLEN];
    memcpy(a.b, sa->addr, 16);
    snprintf(out, cap, "%s", m6ike_addr6_format(&a, t));
  }
}

int m6ike_pfkey_format(const m6ike_pfkey_msg *msg, char *buf, size_t cap) {
  if (msg == NULL || (buf == NULL && cap)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  fmt_out o = {buf, cap, 0};
  char t[192], a[64], c[64];
  if (cap) {
    buf[0] = '\0';
  }
  snprintf(t, sizeof(t), "%s satype=%s seq=%u pid=%u",
           m6ike_pfkey_msg_type_name(msg->hdr.type),
           m6ike_pfkey_satype_name(msg->hdr.satype), (unsigned)msg->hdr.seq,
           (unsigned)msg->hdr.pid);
  fmt_str(&o, t);
  if (msg->hdr.msg_errno) {
    snprintf(t, sizeof(t), " errno=%u", msg->hdr.msg_errno);
    fmt_str(&o, t);
  }
  m6ike_pfkey_sa sa;
  if (m6ike_pfkey_get_sa(msg, &sa) == 0) {
    snprintf(t, sizeof(t), " spi=0x%08x", (unsigned)sa.spi);
    fmt_str(&o, t);
  }
  static const struct {
    unsigned type;
    const char *name;
  } addrs[] = {{M6IKE_SADB_EXT_ADDRESS_SRC, "src"},
               {M6IKE_SADB_EXT_ADDRESS_DST, "dst"},
               {M6IKE_SADB_EXT_ADDRESS_PROXY, "proxy"}};
  for (size_t i = 0; i < 3; i++) {
    m6ike_pfkey_address ad;
    if (m6ike_pfkey_get_address(msg, addrs[i].type, &ad) == 0) {
      fmt_sockaddr(a, sizeof(a), &ad.sa);
      snprintf(t, sizeof(t), " %s=%s/%u", addrs[i].name, a, ad.prefixlen);
      fmt_str(&o, t);
    }
  }
  m6ike_pfkey_kmaddress km;
  if (m6ike_pfkey_get_kmaddress(msg, &km) == 0) {
    fmt_sockaddr(a, sizeof(a), &km.local);
    fmt_sockaddr(c, sizeof(c), &km.remote);
    snprintf(t, sizeof(t), " km=%s->%s", a, c);
    fmt_str(&o, t);
  }
  m6ike_pfkey_policy pol;
  if (m6ike_pfkey_get_policy(msg, &pol) == 0) {
    snprintf(t, sizeof(t), " policy.dir=%u reqs=%u", pol.dir,
             (unsigned)pol.n_requests);
    fmt_str(&o, t);
  }
  m6ike_pfkey_reference ref;
  if (m6ike_pfkey_get_reference(msg, &ref) == 0) {
    snprintf(t, sizeof(t), " ref.mpi=%u", (unsigned)ref.mpi);
    fmt_str(&o, t);
  }
  m6ike_pfkey_sa_sel ssel;
  if (m6ike_pfkey_get_sa_sel(msg, &ssel) == 0) {
    snprintf(t, sizeof(t), " sa_sel.flags=%u", (unsigned)ssel.flags);
    fmt_str(&o, t);
  }
  if (m6ike_pfkey_has(msg, M6IKE_SADB_X_EXT_M6IKE_SA_MOVE)) {
    fmt_str(&o, " sa_move");
  }
  if (msg->n_skipped) {
    snprintf(t, sizeof(t), " skipped=%u", msg->n_skipped);
    fmt_str(&o, t);
  }
  return o.need > (size_t)0x7fffffff ? 0x7fffffff : (int)o.need;
}
