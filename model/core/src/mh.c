/*
 * mh: the RFC 6275 Mobility Header codec, the Home Address destination
 * option, the Type 2 Routing Header and an IPv6 extension-chain walker.
 * Sans-I/O: bytes in, structs out, and back.
 */
#include "m6ike/mh.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"

/* ---- error strings ---------------------------------------------------- */

const char *m6ike_mh_strerror_(int code) {
  switch (code) {
  case M6IKE_ERR_MH_TRUNCATED:
    return "mobility header truncated: buffer shorter than Header Len "
           "or a fixed field needs";
  case M6IKE_ERR_MH_BAD_LENGTH:
    return "mobility header Header Len too small for its MH Type, or not "
           "matching the IPv6 payload";
  case M6IKE_ERR_MH_BAD_PROTO:
    return "mobility header Payload Proto is not 59 (IPPROTO_NONE)";
  case M6IKE_ERR_MH_UNKNOWN_TYPE:
    return "mobility header MH Type unknown (> 7)";
  case M6IKE_ERR_MH_BAD_OPTION:
    return "mobility option overruns the message, has a wrong Option "
           "Length, or follows Binding Authorization Data";
  case M6IKE_ERR_MH_BAD_CHECKSUM:
    return "mobility header checksum does not verify";
  case M6IKE_ERR_MH_NOT_MH:
    return "IPv6 packet's upper-layer protocol is not the Mobility Header "
           "(135)";
  case M6IKE_ERR_IP6_TRUNCATED:
    return "IPv6 packet truncated: fixed header, Payload Length or an "
           "extension header beyond the buffer";
  case M6IKE_ERR_IP6_BAD_VERSION:
    return "IPv6 header version field is not 6";
  case M6IKE_ERR_IP6_BAD_EXT:
    return "malformed IPv6 extension header (misplaced Hop-by-Hop, option "
           "overrun, or bad AH Payload Len)";
  case M6IKE_ERR_IP6_BAD_HAO:
    return "malformed Home Address option (Option Length not 16, or "
           "repeated)";
  case M6IKE_ERR_IP6_BAD_RH2:
    return "malformed Type 2 Routing Header (Hdr Ext Len not 2, Segments "
           "Left not 0/1, or repeated)";
  case M6IKE_ERR_IP6_TOO_MANY_EXT:
    return "IPv6 extension header chain longer than 16 headers";
  case M6IKE_ERR_IP6_FRAGMENT:
    return "IPv6 packet is a fragment: reassemble before parsing its "
           "upper layer";
  default:
    return NULL;
  }
}

/* ---- Mobility Header -------------------------------------------------- */

#define MH_HDR_LEN 6 /* Payload Proto .. Checksum */

/* Octets each message type needs before its options (RFC 6275 §6.1.2-9). */
static const uint8_t mh_fixed_len[8] = {
    8,  /* BRR: 6 + Reserved 2 */
    16, /* HoTI: 6 + Reserved 2 + cookie 8 */
    16, /* CoTI */
    24, /* HoT: 6 + nonce index 2 + cookie 8 + keygen token 8 */
    24, /* CoT */
    12, /* BU: 6 + seq 2 + flags 2 + lifetime 2 */
    12, /* BA: 6 + status 1 + flags 1 + seq 2 + lifetime 2 */
    24, /* BE: 6 + status 1 + reserved 1 + home address 16 */
};

/* Minimum Header Len per type: the fixed part rounded up to 8 octets. */
static unsigned mh_min_hlen(uint8_t type) {
  return (unsigned)(mh_fixed_len[type] + 7) / 8 - 1;
}

/* Known option lengths (excluding type and length octets); 0 = not fixed. */
static int mhopt_known_len(uint8_t t) {
  switch (t) {
  case M6IKE_MHOPT_BRA:
    return 2;
  case M6IKE_MHOPT_ALT_COA:
    return 16;
  case M6IKE_MHOPT_NONCE_IDX:
    return 4;
  case M6IKE_MHOPT_BIND_AUTH:
    return 12;
  default:
    return -1;
  }
}

static int mh_decode_opts(m6ike_mh_opts *o, const uint8_t *p, size_t off,
                          size_t end) {
  int seen_auth = 0;
  while (off < end) {
    uint8_t t = p[off];
    if (t == M6IKE_MHOPT_PAD1) {
      off++;
      continue;
    }
    if (end - off < 2) {
      return M6IKE_ERR_MH_BAD_OPTION;
    }
    size_t olen = p[off + 1];
    if (end - off - 2 < olen) {
      return M6IKE_ERR_MH_BAD_OPTION;
    }
    const uint8_t *v = p + off + 2;
    if (t != M6IKE_MHOPT_PADN && seen_auth) {
      return M6IKE_ERR_MH_BAD_OPTION; /* §6.2.7: BAD must be last */
    }
    int want = mhopt_known_len(t);
    if (want >= 0 && (size_t)want != olen) {
      return M6IKE_ERR_MH_BAD_OPTION;
    }
    switch (t) {
    case M6IKE_MHOPT_PADN:
      break;
    case M6IKE_MHOPT_BRA:
      o->has_bra = 1;
      m6ike_get_u16be(v, &o->refresh_interval);
      break;
    case M6IKE_MHOPT_ALT_COA:
      o->has_alt_coa = 1;
      memcpy(o->alt_coa.b, v, 16);
      break;
    case M6IKE_MHOPT_NONCE_IDX:
      o->has_nonce_idx = 1;
      v = m6ike_get_u16be(v, &o->home_nonce_index);
      m6ike_get_u16be(v, &o->careof_nonce_index);
      break;
    case M6IKE_MHOPT_BIND_AUTH:
      o->has_bind_auth = 1;
      memcpy(o->authenticator, v, 12);
      seen_auth = 1;
      break;
    default:
      if (o->unknown_count < UINT8_MAX) {
        o->unknown_count++;
      }
      break;
    }
    off += 2 + olen;
  }
  return 0;
}

int m6ike_mh_decode(m6ike_mh_msg *dest, const uint8_t *buf, size_t len) {
  if (dest == NULL || (buf == NULL && len > 0)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  memset(dest, 0, sizeof(*dest));
  if (len < 8) {
    return M6IKE_ERR_MH_TRUNCATED;
  }
  size_t total = ((size_t)buf[1] + 1) * 8;
  if (len < total) {
    return M6IKE_ERR_MH_TRUNCATED;
  }
  dest->payload_proto = buf[0];
  dest->type = buf[2];
  m6ike_get_u16be(buf + 4, &dest->checksum);
  if (buf[0] != M6IKE_IPPROTO_NONE) {
    return M6IKE_ERR_MH_BAD_PROTO;
  }
  if (buf[2] > M6IKE_MH_BE) {
    return M6IKE_ERR_MH_UNKNOWN_TYPE;
  }
  if (buf[1] < mh_min_hlen(buf[2])) {
    return M6IKE_ERR_MH_BAD_LENGTH;
  }
  const uint8_t *p = buf + MH_HDR_LEN;
  switch (dest->type) {
  case M6IKE_MH_BRR:
    break; /* Reserved */
  case M6IKE_MH_HOTI:
  case M6IKE_MH_COTI:
    memcpy(dest->u.ti.cookie, p + 2, 8);
    break;
  case M6IKE_MH_HOT:
  case M6IKE_MH_COT:
    p = m6ike_get_u16be(p, &dest->u.t.nonce_index);
    p = m6ike_get_bytes(p, dest->u.t.cookie, 8);
    m6ike_get_bytes(p, dest->u.t.keygen_token, 8);
    break;
  case M6IKE_MH_BU:
    p = m6ike_get_u16be(p, &dest->u.bu.seq);
    p = m6ike_get_u16be(p, &dest->u.bu.flags);
    m6ike_get_u16be(p, &dest->u.bu.lifetime);
    break;
  case M6IKE_MH_BA:
    p = m6ike_get_u8(p, &dest->u.ba.status);
    p = m6ike_get_u8(p, &dest->u.ba.flags);
    p = m6ike_get_u16be(p, &dest->u.ba.seq);
    m6ike_get_u16be(p, &dest->u.ba.lifetime);
    break;
  default: /* M6IKE_MH_BE */
    dest->u.be.status = p[0];
    memcpy(dest->u.be.home_address.b, p + 2, 16);
    break;
  }
  int rc = mh_decode_opts(&dest->opts, buf, mh_fixed_len[dest->type], total);
  if (rc < 0) {
    return rc;
  }
  return (int)total;
}

/* Octets of padding to put at off so the next option lands at xn+y. */
static size_t pad_for(size_t off, size_t x, size_t y) {
  return (y + x - off % x) % x;
}

/* Writes n octets of padding (Pad1 or PadN with zero data) at p. */
static uint8_t *put_pad(uint8_t *p, size_t n) {
  if (n == 1) {
    return m6ike_put_u8(p, M6IKE_MHOPT_PAD1);
  }
  if (n >= 2) {
    p = m6ike_put_u8(p, M6IKE_MHOPT_PADN);
    p = m6ike_put_u8(p, (uint8_t)(n - 2));
    p = m6ike_put_zero(p, n - 2);
  }
  return p;
}

/*
 * Lays out the options of msg after its fixed part.  With out == NULL only
 * computes the length.  Returns the total (8n) message length.
 */
static size_t mh_layout(const m6ike_mh_msg *msg, uint8_t *out) {
  const m6ike_mh_opts *o = &msg->opts;
  size_t off = mh_fixed_len[msg->type];
  size_t pad;
#define MH_PAD(x, y)                                                          \
  do {                                                                        \
    pad = pad_for(off, (x), (y));                                             \
    if (out) {                                                                \
      put_pad(out + off, pad);                                                \
    }                                                                         \
    off += pad;                                                               \
  } while (0)
  if (o->has_bra) {
    MH_PAD(2, 0);
    if (out) {
      uint8_t *p = out + off;
      p = m6ike_put_u8(p, M6IKE_MHOPT_BRA);
      p = m6ike_put_u8(p, 2);
      m6ike_put_u16be(p, o->refresh_interval);
    }
    off += 4;
  }
  if (o->has_alt_coa) {
    MH_PAD(8, 6);
    if (out) {
      uint8_t *p = out + off;
      p = m6ike_put_u8(p, M6IKE_MHOPT_ALT_COA);
      p = m6ike_put_u8(p, 16);
      m6ike_put_bytes(p, o->alt_coa.b, 16);
    }
    off += 18;
  }
  if (o->has_nonce_idx) {
    MH_PAD(2, 0);
    if (out) {
      uint8_t *p = out + off;
      p = m6ike_put_u8(p, M6IKE_MHOPT_NONCE_IDX);
      p = m6ike_put_u8(p, 4);
      p = m6ike_put_u16be(p, o->home_nonce_index);
      m6ike_put_u16be(p, o->careof_nonce_index);
    }
    off += 6;
  }
  if (o->has_bind_auth) {
    MH_PAD(8, 2);
    if (out) {
      uint8_t *p = out + off;
      p = m6ike_put_u8(p, M6IKE_MHOPT_BIND_AUTH);
      p = m6ike_put_u8(p, 12);
      m6ike_put_bytes(p, o->authenticator, 12);
    }
    off += 14;
  }
  MH_PAD(8, 0);
#undef MH_PAD
  return off;
}

int m6ike_mh_encoded_len(const m6ike_mh_msg *msg) {
  if (msg == NULL || msg->type > M6IKE_MH_BE) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  return (int)mh_layout(msg, NULL);
}

int m6ike_mh_encode(uint8_t *buf, size_t cap, const m6ike_mh_msg *msg) {
  int n = m6ike_mh_encoded_len(msg);
  if (n < 0) {
    return n;
  }
  if (buf == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (cap < (size_t)n) {
    return M6IKE_ERR_NOBUF;
  }
  uint8_t *p = buf;
  p = m6ike_put_u8(p, M6IKE_IPPROTO_NONE);
  p = m6ike_put_u8(p, (uint8_t)(n / 8 - 1));
  p = m6ike_put_u8(p, msg->type);
  p = m6ike_put_u8(p, 0);
  p = m6ike_put_u16be(p, 0);
  switch (msg->type) {
  case M6IKE_MH_BRR:
    m6ike_put_u16be(p, 0);
    break;
  case M6IKE_MH_HOTI:
  case M6IKE_MH_COTI:
    p = m6ike_put_u16be(p, 0);
    m6ike_put_bytes(p, msg->u.ti.cookie, 8);
    break;
  case M6IKE_MH_HOT:
  case M6IKE_MH_COT:
    p = m6ike_put_u16be(p, msg->u.t.nonce_index);
    p = m6ike_put_bytes(p, msg->u.t.cookie, 8);
    m6ike_put_bytes(p, msg->u.t.keygen_token, 8);
    break;
  case M6IKE_MH_BU:
    p = m6ike_put_u16be(p, msg->u.bu.seq);
    p = m6ike_put_u16be(p, msg->u.bu.flags);
    m6ike_put_u16be(p, msg->u.bu.lifetime);
    break;
  case M6IKE_MH_BA:
    p = m6ike_put_u8(p, msg->u.ba.status);
    p = m6ike_put_u8(p, msg->u.ba.flags);
    p = m6ike_put_u16be(p, msg->u.ba.seq);
    m6ike_put_u16be(p, msg->u.ba.lifetime);
    break;
  default: /* M6IKE_MH_BE */
    p = m6ike_put_u8(p, msg->u.be.status);
    p = m6ike_put_u8(p, 0);
    m6ike_put_bytes(p, msg->u.be.home_address.b, 16);
    break;
  }
  mh_layout(msg, buf);
  return n;
}

int m6ike_mh_msg_equal(const m6ike_mh_msg *a, const m6ike_mh_msg *b) {
  if (a->type != b->type) {
    return 0;
  }
  switch (a->type) {
  case M6IKE_MH_BRR:
    break;
  case M6IKE_MH_HOTI:
  case M6IKE_MH_COTI:
    if (memcmp(a->u.ti.cookie, b->u.ti.cookie, 8) != 0) {
      return 0;
    }
    break;
  case M6IKE_MH_HOT:
  case M6IKE_MH_COT:
    if (a->u.t.nonce_index != b->u.t.nonce_index ||
        memcmp(a->u.t.cookie, b->u.t.cookie, 8) != 0 ||
        memcmp(a->u.t.keygen_token, b->u.t.keygen_token, 8) != 0) {
      return 0;
    }
    break;
  case M6IKE_MH_BU:
    if (a->u.bu.seq != b->u.bu.seq || a->u.bu.flags != b->u.bu.flags ||
        a->u.bu.lifetime != b->u.bu.lifetime) {
      return 0;
    }
    break;
  case M6IKE_MH_BA:
    if (a->u.ba.status != b->u.ba.status || a->u.ba.flags != b->u.ba.flags ||
        a->u.ba.seq != b->u.ba.seq || a->u.ba.lifetime != b->u.ba.lifetime) {
      return 0;
    }
    break;
  case M6IKE_MH_BE:
    if (a->u.be.status != b->u.be.status ||
        !m6ike_addr6_equal(&a->u.be.home_address, &b->u.be.home_address)) {
      return 0;
    }
    break;
  default:
    return 0;
  }
  const m6ike_mh_opts *x = &a->opts, *y = &b->opts;
  if (x->has_bra != y->has_bra || x->has_alt_coa != y->has_alt_coa ||
      x->has_nonce_idx != y->has_nonce_idx ||
      x->has_bind_auth != y->has_bind_auth) {
    return 0;
  }
  if (x->has_bra && x->refresh_interval != y->refresh_interval) {
    return 0;
  }
  if (x->has_alt_coa && !m6ike_addr6_equal(&x->alt_coa, &y->alt_coa)) {
    return 0;
  }
  if (x->has_nonce_idx && (x->home_nonce_index != y->home_nonce_index ||
                           x->careof_nonce_index != y->careof_nonce_index)) {
    return 0;
  }
  if (x->has_bind_auth &&
      memcmp(x->authenticator, y->authenticator, 12) != 0) {
    return 0;
  }
  return 1;
}

int m6ike_mh_opt_allowed(uint8_t mh_type, uint8_t opt_type) {
  switch (opt_type) {
  case M6IKE_MHOPT_PAD1:
  case M6IKE_MHOPT_PADN:
    return mh_type <= M6IKE_MH_BE;
  case M6IKE_MHOPT_BRA:
    return mh_type == M6IKE_MH_BA;
  case M6IKE_MHOPT_ALT_COA:
  case M6IKE_MHOPT_NONCE_IDX:
    return mh_type == M6IKE_MH_BU;
  case M6IKE_MHOPT_BIND_AUTH:
    return mh_type == M6IKE_MH_BU || mh_type == M6IKE_MH_BA;
  default:
    return 0;
  }
}

/* ---- checksum --------------------------------------------------------- */

/* Adds buf to a 32-bit one's complement accumulator (16-bit words). */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n) {
  while (n >= 2) {
    sum += (uint32_t)p[0] << 8 | p[1];
    p += 2;
    n -= 2;
  }
  if (n) {
    sum += (uint32_t)p[0] << 8;
  }
  /* Fold now and then so very long inputs cannot overflow. */
  sum = (sum & 0xffffu) + (sum >> 16);
  return sum;
}

static uint16_t csum_fold(uint32_t sum) {
  while (sum >> 16) {
    sum = (sum & 0xffffu) + (sum >> 16);
  }
  return (uint16_t)sum;
}

/* One's complement sum over the pseudo-header and mh (not complemented);
 * with skip_field, octets 4..5 (the checksum) count as zero. */
static uint16_t mh_sum(const m6ike_addr6 *src, const m6ike_addr6 *dst,
                       const uint8_t *mh, size_t len, int skip_field) {
  uint8_t tail[8];
  uint32_t sum = 0;
  sum = csum_add(sum, src->b, 16);
  sum = csum_add(sum, dst->b, 16);
  m6ike_put_u32be(tail, (uint32_t)len);
  m6ike_put_u32be(tail + 4, M6IKE_IPPROTO_MH);
  sum = csum_add(sum, tail, 8);
  if (skip_field && len >= 6) {
    sum = csum_add(sum, mh, 4);
    mh += 6;
    len -= 6;
  }
  /* Chunk the payload so csum_add's partial fold keeps sum < 2^32. */
  while (len > 0) {
    size_t n = len > 0x8000 ? 0x8000 : len;
    sum = csum_add(sum, mh, n);
    mh += n;
    len -= n;
  }
  return csum_fold(sum);
}

uint16_t m6ike_mh_checksum(const m6ike_addr6 *src, const m6ike_addr6 *dst,
                           const uint8_t *mh, size_t len) {
  return (uint16_t)~mh_sum(src, dst, mh, len, 1);
}

void m6ike_mh_checksum_set(const m6ike_addr6 *src, const m6ike_addr6 *dst,
                           uint8_t *mh, size_t len) {
  m6ike_put_u16be(mh + 4, m6ike_mh_checksum(src, dst, mh, len));
}

int m6ike_mh_checksum_verify(const m6ike_addr6 *src, const m6ike_addr6 *dst,
                             const uint8_t *mh, size_t len) {
  return mh_sum(src, dst, mh, len, 0) == 0xffffu ? 0
                                                 : M6IKE_ERR_MH_BAD_CHECKSUM;
}

/* ---- formatting -------------------------------------------------------- */

const char *m6ike_mh_type_name(uint8_t t) {
  static const char *const names[8] = {"BRR", "HoTI", "CoTI", "HoT",
                                       "CoT", "BU",   "BA",   "BE"};
  return t <= M6IKE_MH_BE ? names[t] : "MH?";
}

static const char *ba_status_name(uint8_t s) {
  switch (s) {
  case M6IKE_BA_ACCEPTED:
    return "accepted";
  case M6IKE_BA_ACCEPTED_PREFIX_DISCOVERY:
    return "accepted, prefix discovery necessary";
  case M6IKE_BA_REASON_UNSPECIFIED:
    return "reason unspecified";
  case M6IKE_BA_ADMIN_PROHIBITED:
    return "administratively prohibited";
  case M6IKE_BA_INSUFFICIENT_RESOURCES:
    return "insufficient resources";
  case M6IKE_BA_HOME_REG_NOT_SUPPORTED:
    return "home registration not supported";
  case M6IKE_BA_NOT_HOME_SUBNET:
    return "not home subnet";
  case M6IKE_BA_NOT_HA_FOR_THIS_MN:
    return "not home agent for this mobile node";
  case M6IKE_BA_DAD_FAILED:
    return "duplicate address detection failed";
  case M6IKE_BA_SEQ_OUT_OF_WINDOW:
    return "sequence number out of window";
  case M6IKE_BA_EXPIRED_HOME_NONCE:
    return "expired home nonce index";
  case M6IKE_BA_EXPIRED_COA_NONCE:
    return "expired care-of nonce index";
  case M6IKE_BA_EXPIRED_NONCES:
    return "expired nonces";
  case M6IKE_BA_REG_TYPE_CHANGE_DISALLOWED:
    return "registration type change disallowed";
  default:
    return "unknown";
  }
}

/* Appends to buf at *used, never past cap; keeps buf NUL-terminated. */
static void fmt_add(char *buf, size_t cap, size_t *used, const char *fmt,
                    ...) {
  if (*used >= cap) {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf + *used, cap - *used, fmt, ap);
  va_end(ap);
  if (n < 0) {
    return;
  }
  *used += (size_t)n;
  if (*used >= cap) {
    *used = cap;
  }
}

static void fmt_hex(char *buf, size_t cap, size_t *used, const uint8_t *b,
                    size_t n) {
  for (size_t i = 0; i < n; i++) {
    fmt_add(buf, cap, used, "%02x", b[i]);
  }
}

char *m6ike_mh_format(const m6ike_mh_msg *msg, char *buf, size_t cap) {
  size_t used = 0;
  char a[M6IKE_ADDR6_STRLEN];
  if (buf == NULL || cap == 0) {
    return buf;
  }
  buf[0] = '\0';
  if (msg == NULL) {
    return buf;
  }
  fmt_add(buf, cap, &used, "%s", m6ike_mh_type_name(msg->type));
  switch (msg->type) {
  case M6IKE_MH_HOTI:
  case M6IKE_MH_COTI:
    fmt_add(buf, cap, &used, " cookie=");
    fmt_hex(buf, cap, &used, msg->u.ti.cookie, 8);
    break;
  case M6IKE_MH_HOT:
  case M6IKE_MH_COT:
    fmt_add(buf, cap, &used, " nonce_idx=%u cookie=", msg->u.t.nonce_index);
    fmt_hex(buf, cap, &used, msg->u.t.cookie, 8);
    fmt_add(buf, cap, &used, " token=");
    fmt_hex(buf, cap, &used, msg->u.t.keygen_token, 8);
    break;
  case M6IKE_MH_BU: {
    uint16_t f = msg->u.bu.flags;
    fmt_add(buf, cap, &used, " seq=%u flags=%s%s%s%s%s lifetime=%lus",
            msg->u.bu.seq, (f & M6IKE_BU_FLAG_A) ? "A" : "",
            (f & M6IKE_BU_FLAG_H) ? "H" : "", (f & M6IKE_BU_FLAG_L) ? "L" : "",
            (f & M6IKE_BU_FLAG_K) ? "K" : "",
            (f & (M6IKE_BU_FLAG_A | M6IKE_BU_FLAG_H | M6IKE_BU_FLAG_L |
                  M6IKE_BU_FLAG_K))
                ? ""
                : "-",
            (unsigned long)msg->u.bu.lifetime * M6IKE_MH_LIFETIME_UNIT_S);
    break;
  }
  case M6IKE_MH_BA:
    fmt_add(buf, cap, &used, " status=%u(%s) seq=%u lifetime=%lus%s",
            msg->u.ba.status, ba_status_name(msg->u.ba.status),
            msg->u.ba.seq,
            (unsigned long)msg->u.ba.lifetime * M6IKE_MH_LIFETIME_UNIT_S,
            (msg->u.ba.flags & M6IKE_BA_FLAG_K) ? " K" : "");
    break;
  case M6IKE_MH_BE:
    fmt_add(buf, cap, &used, " status=%u hoa=%s", msg->u.be.status,
            m6ike_addr6_format(&msg->u.be.home_address, a));
    break;
  default:
    break;
  }
  const m6ike_mh_opts *o = &msg->opts;
  if (o->has_bra) {
    fmt_add(buf, cap, &used, " refresh=%lus",
            (unsigned long)o->refresh_interval * M6IKE_MH_LIFETIME_UNIT_S);
  }
  if (o->has_alt_coa) {
    fmt_add(buf, cap, &used, " alt-coa=%s",
            m6ike_addr6_format(&o->alt_coa, a));
  }
  if (o->has_nonce_idx) {
    fmt_add(buf, cap, &used, " nonces=%u/%u", o->home_nonce_index,
            o->careof_nonce_index);
  }
  if (o->has_bind_auth) {
    fmt_add(buf, cap, &used, " auth=");
    fmt_hex(buf, cap, &used, o->authenticator, 12);
  }
  if (o->unknown_count) {
    fmt_add(buf, cap, &used, " unknown-opts=%u", o->unknown_count);
  }
  return buf;
}

/* ---- Home Address option, Type 2 Routing Header ----------------------- */

#define HAO_HDR_LEN 24
#define RH2_LEN 24

int m6ike_hao_encode(uint8_t *buf, size_t cap, uint8_t next_header,
                     const m6ike_addr6 *home_address) {
  if (buf == NULL || home_address == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (cap < HAO_HDR_LEN) {
    return M6IKE_ERR_NOBUF;
  }
  /*
   * 0: Next Header, Hdr Ext Len 2; 2: PadN (2 data octets);
   * 6: Option Type 201, Option Length 16 (8n+6); 8: home address.
   */
  uint8_t *p = buf;
  p = m6ike_put_u8(p, next_header);
  p = m6ike_put_u8(p, HAO_HDR_LEN / 8 - 1);
  p = put_pad(p, 4);
  p = m6ike_put_u8(p, M6IKE_IP6OPT_HOME_ADDRESS);
  p = m6ike_put_u8(p, 16);
  m6ike_put_bytes(p, home_address->b, 16);
  return HAO_HDR_LEN;
}

int m6ike_rh2_encode(uint8_t *buf, size_t cap, uint8_t next_header,
                     const m6ike_addr6 *home_address) {
  if (buf == NULL || home_address == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (cap < RH2_LEN) {
    return M6IKE_ERR_NOBUF;
  }
  uint8_t *p = buf;
  p = m6ike_put_u8(p, next_header);
  p = m6ike_put_u8(p, RH2_LEN / 8 - 1);
  p = m6ike_put_u8(p, 2); /* Routing Type */
  p = m6ike_put_u8(p, 1); /* Segments Left */
  p = m6ike_put_u32be(p, 0);
  m6ike_put_bytes(p, home_address->b, 16);
  return RH2_LEN;
}

/* ---- the walker -------------------------------------------------------- */

/* Walks the options of a HbH (is_dst 0) or DstOpts (is_dst 1) header. */
static int walk_opts(m6ike_ip6_info *info, const uint8_t *h, size_t hlen,
                     int is_dst) {
  size_t off = 2;
  while (off < hlen) {
    uint8_t t = h[off];
    if (t == 0) { /* Pad1 */
      off++;
      continue;
    }
    if (hlen - off < 2) {
      return M6IKE_ERR_IP6_BAD_EXT;
    }
    size_t olen = h[off + 1];
    if (hlen - off - 2 < olen) {
      return M6IKE_ERR_IP6_BAD_EXT;
    }
    if (is_dst && t == M6IKE_IP6OPT_HOME_ADDRESS) {
      if (olen != 16 || info->has_hao) {
        return M6IKE_ERR_IP6_BAD_HAO;
      }
      info->has_hao = 1;
      memcpy(info->hao.b, h + off + 2, 16);
    }
    off += 2 + olen;
  }
  return 0;
}

int m6ike_ip6_walk(m6ike_ip6_info *info, const uint8_t *pkt, size_t len) {
  if (info == NULL || (pkt == NULL && len > 0)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  memset(info, 0, sizeof(*info));
  if (len < M6IKE_IP6_HDR_LEN) {
    return M6IKE_ERR_IP6_TRUNCATED;
  }
  if ((pkt[0] >> 4) != 6) {
    return M6IKE_ERR_IP6_BAD_VERSION;
  }
  m6ike_get_u16be(pkt + 4, &info->payload_len);
  info->hop_limit = pkt[7];
  memcpy(info->src.b, pkt + 8, 16);
  memcpy(info->dst.b, pkt + 24, 16);
  size_t end = M6IKE_IP6_HDR_LEN + (size_t)info->payload_len;
  if (end > len) {
    return M6IKE_ERR_IP6_TRUNCATED;
  }
  uint8_t nh = pkt[6];
  size_t off = M6IKE_IP6_HDR_LEN;
  for (;;) {
    size_t hlen;
    int rc;
    switch (nh) {
    case M6IKE_IPPROTO_HOPOPTS:
    case M6IKE_IPPROTO_ROUTING:
    case M6IKE_IPPROTO_DSTOPTS:
    case M6IKE_IPPROTO_AH:
    case M6IKE_IPPROTO_FRAGMENT:
      break;
    default:
      goto upper;
    }
    if (info->ext_count >= M6IKE_IP6_MAX_EXT) {
      return M6IKE_ERR_IP6_TOO_MANY_EXT;
    }
    if (end - off < 2) {
      return M6IKE_ERR_IP6_TRUNCATED;
    }
    const uint8_t *h = pkt + off;
    if (nh == M6IKE_IPPROTO_FRAGMENT) {
      hlen = 8;
    } else if (nh == M6IKE_IPPROTO_AH) {
      hlen = ((size_t)h[1] + 2) * 4;
    } else {
      hlen = ((size_t)h[1] + 1) * 8;
    }
    if (end - off < hlen) {
      return M6IKE_ERR_IP6_TRUNCATED;
    }
    info->ext_count++;
    switch (nh) {
    case M6IKE_IPPROTO_HOPOPTS:
      if (off != M6IKE_IP6_HDR_LEN) {
        return M6IKE_ERR_IP6_BAD_EXT; /* RFC 8200 §4.1: only first */
      }
      /* fallthrough */
    case M6IKE_IPPROTO_DSTOPTS:
      rc = walk_opts(info, h, hlen, nh == M6IKE_IPPROTO_DSTOPTS);
      if (rc < 0) {
        return rc;
      }
      break;
    case M6IKE_IPPROTO_ROUTING:
      if (h[2] == 2) {
        if (h[1] != 2 || h[3] > 1 || info->has_rh2) {
          return M6IKE_ERR_IP6_BAD_RH2;
        }
        info->has_rh2 = 1;
        info->rh2_segments_left = h[3];
        memcpy(info->rh2_addr.b, h + 8, 16);
      }
      break;
    case M6IKE_IPPROTO_AH:
      /* RFC 4302: 12 fixed octets at least; 8-octet multiple in IPv6. */
      if (hlen < 12 || hlen % 8 != 0) {
        return M6IKE_ERR_IP6_BAD_EXT;
      }
      break;
    default: { /* Fragment */
      uint16_t fo;
      m6ike_get_u16be(h + 2, &fo);
      info->is_fragment = 1;
      if ((fo >> 3) != 0) {
        nh = h[0];
        off += hlen;
        goto upper;
      }
      break;
    }
    }
    nh = h[0];
    off += hlen;
  }
upper:
  info->upper_proto = nh;
  info->upper_off = off;
  info->upper_len = end - off;
  return 0;
}

void m6ike_ip6_pseudo_addrs(const m6ike_ip6_info *info, m6ike_addr6 *src,
                            m6ike_addr6 *dst) {
  *src = info->has_hao ? info->hao : info->src;
  *dst = (info->has_rh2 && info->rh2_segments_left == 1) ? info->rh2_addr
                                                          : info->dst;
}

/* ---- whole packets ----------------------------------------------------- */

int m6ike_mh_build_packet(uint8_t *buf, size_t cap, const m6ike_addr6 *src,
                          const m6ike_addr6 *dst, const m6ike_addr6 *hao,
                          const m6ike_addr6 *rh2_addr,
                          const m6ike_mh_msg *msg) {
  if (buf == NULL || src == NULL || dst == NULL || msg == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  int mlen = m6ike_mh_encoded_len(msg);
  if (mlen < 0) {
    return mlen;
  }
  size_t total = M6IKE_IP6_HDR_LEN + (rh2_addr ? RH2_LEN : 0) +
                 (hao ? HAO_HDR_LEN : 0) + (size_t)mlen;
  if (cap < total) {
    return M6IKE_ERR_NOBUF;
  }
  /* RFC 8200 §4.1 order: Routing, then Destination Options, then MH. */
  uint8_t first = rh2_addr  ? M6IKE_IPPROTO_ROUTING
                  : hao     ? M6IKE_IPPROTO_DSTOPTS
                            : M6IKE_IPPROTO_MH;
  uint8_t *p = buf;
  p = m6ike_put_u32be(p, 6u << 28);
  p = m6ike_put_u16be(p, (uint16_t)(total - M6IKE_IP6_HDR_LEN));
  p = m6ike_put_u8(p, first);
  p = m6ike_put_u8(p, 64);
  p = m6ike_put_bytes(p, src->b, 16);
  p = m6ike_put_bytes(p, dst->b, 16);
  if (rh2_addr) {
    p += m6ike_rh2_encode(p, RH2_LEN,
                          hao ? M6IKE_IPPROTO_DSTOPTS : M6IKE_IPPROTO_MH,
                          rh2_addr);
  }
  if (hao) {
    p += m6ike_hao_encode(p, HAO_HDR_LEN, M6IKE_IPPROTO_MH, hao);
  }
  m6ike_mh_encode(p, (size_t)mlen, msg);
  m6ike_mh_checksum_set(hao ? hao : src, rh2_addr ? rh2_addr : dst, p,
                        (size_t)mlen);
  return (int)total;
}

int m6ike_mh_parse_packet(m6ike_ip6_info *info, m6ike_mh_msg *msg,
                          const uint8_t *pkt, size_t len) {
  if (info == NULL || msg == NULL || (pkt == NULL && len > 0)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  memset(msg, 0, sizeof(*msg));
  int rc = m6ike_ip6_walk(info, pkt, len);
  if (rc < 0) {
    return rc;
  }
  if (info->is_fragment) {
    return M6IKE_ERR_IP6_FRAGMENT;
  }
  if (info->upper_proto != M6IKE_IPPROTO_MH) {
    return M6IKE_ERR_MH_NOT_MH;
  }
  const uint8_t *mh = pkt + info->upper_off;
  rc = m6ike_mh_decode(msg, mh, info->upper_len);
  if (rc < 0) {
    return rc;
  }
  if ((size_t)rc != info->upper_len) {
    return M6IKE_ERR_MH_BAD_LENGTH;
  }
  m6ike_addr6 s, d;
  m6ike_ip6_pseudo_addrs(info, &s, &d);
  return m6ike_mh_checksum_verify(&s, &d, mh, info->upper_len);
}
