/*
 * ikev2_msg: IKEv2 (RFC 7296) message codec.  See m6ike/ikev2_msg.h.
 *
 * Table-driven: every fixed part (the IKE header, the generic payload
 * header, each payload's fixed fields and the SA/TS/CP substructures) is a
 * field table, next to the RFC's diagram, that drives both decoding
 * (fields_get) and encoding (fields_put).  Variable parts (the "tail")
 * are pointer + length pairs named by the payload descriptor.  The
 * exchange table at the end lists which payloads each exchange and
 * direction may and must carry.
 */
#include "m6ike/ikev2_msg.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"

/* ====================================================================== */
/* Field tables                                                           */
/* ====================================================================== */

enum fkind {
  F_UINT,  /* big-endian unsigned of `size` octets into a uintN_t */
  F_RSV,   /* reserved: zero on send, ignored on receipt */
  F_HI4,   /* high nibble of one octet (uint8_t) */
  F_LO4,   /* low nibble of one octet (uint8_t) */
  F_HIBIT, /* most significant bit of the octet (uint8_t 0/1) */
  F_U15    /* low 15 bits of a 16-bit field (uint16_t) */
};

typedef struct fdesc {
  uint8_t off, size, kind;
  uint16_t dst; /* offsetof in the decoded struct */
} fdesc;

#define FLD(o, s, k, T, m) {(o), (s), (k), (uint16_t)offsetof(T, m)}
#define RSV(o, s) {(o), (s), F_RSV, 0}
#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

static void fields_get(const fdesc *f, size_t n, const uint8_t *p,
                       void *out) {
  uint8_t *o = (uint8_t *)out;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *q = p + f[i].off;
    uint8_t *d = o + f[i].dst;
    switch (f[i].kind) {
    case F_UINT:
      if (f[i].size == 1) {
        *d = *q;
      } else if (f[i].size == 2) {
        uint16_t v;
        m6ike_get_u16be(q, &v);
        memcpy(d, &v, 2);
      } else if (f[i].size == 4) {
        uint32_t v;
        m6ike_get_u32be(q, &v);
        memcpy(d, &v, 4);
      } else {
        uint64_t v;
        m6ike_get_u64be(q, &v);
        memcpy(d, &v, 8);
      }
      break;
    case F_HI4:
      *d = (uint8_t)(*q >> 4);
      break;
    case F_LO4:
      *d = (uint8_t)(*q & 0x0f);
      break;
    case F_HIBIT:
      *d = (uint8_t)(*q >> 7);
      break;
    case F_U15: {
      uint16_t v;
      m6ike_get_u16be(q, &v);
      v &= 0x7fff;
      memcpy(d, &v, 2);
      break;
    }
    default: /* F_RSV */
      break;
    }
  }
}

/* Zeroes `fixed` octets at p, then ORs every field in. */
static void fields_put(const fdesc *f, size_t n, size_t fixed, uint8_t *p,
                       const void *in) {
  const uint8_t *s = (const uint8_t *)in;
  memset(p, 0, fixed);
  for (size_t i = 0; i < n; i++) {
    uint8_t *q = p + f[i].off;
    const uint8_t *v = s + f[i].dst;
    switch (f[i].kind) {
    case F_UINT:
      if (f[i].size == 1) {
        *q = *v;
      } else if (f[i].size == 2) {
        uint16_t x;
        memcpy(&x, v, 2);
        m6ike_put_u16be(q, x);
      } else if (f[i].size == 4) {
        uint32_t x;
        memcpy(&x, v, 4);
        m6ike_put_u32be(q, x);
      } else {
        uint64_t x;
        memcpy(&x, v, 8);
        m6ike_put_u64be(q, x);
      }
      break;
    case F_HI4:
      *q |= (uint8_t)(*v << 4);
      break;
    case F_LO4:
      *q |= (uint8_t)(*v & 0x0f);
      break;
    case F_HIBIT:
      *q |= (uint8_t)(*v ? 0x80 : 0);
      break;
    case F_U15: {
      uint16_t x;
      memcpy(&x, v, 2);
      q[0] |= (uint8_t)((x >> 8) & 0x7f);
      q[1] |= (uint8_t)x;
      break;
    }
    default:
      break;
    }
  }
}

/*
 * IKE header (RFC 7296 §3.1)
 *                       1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                       IKE SA Initiator's SPI                  |
 *  |                                                               |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                       IKE SA Responder's SPI                  |
 *  |                                                               |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                          Message ID                           |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                            Length                             |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
static const fdesc IKE_HDR_F[] = {
    FLD(0, 8, F_UINT, m6ike_ikev2_hdr, ispi),
    FLD(8, 8, F_UINT, m6ike_ikev2_hdr, rspi),
    FLD(16, 1, F_UINT, m6ike_ikev2_hdr, next_payload),
    FLD(17, 1, F_HI4, m6ike_ikev2_hdr, major),
    FLD(17, 1, F_LO4, m6ike_ikev2_hdr, minor),
    FLD(18, 1, F_UINT, m6ike_ikev2_hdr, exchange),
    FLD(19, 1, F_UINT, m6ike_ikev2_hdr, flags),
    FLD(20, 4, F_UINT, m6ike_ikev2_hdr, msg_id),
    FLD(24, 4, F_UINT, m6ike_ikev2_hdr, length),
};

/*
 * Generic payload header (§3.2)
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | Next Payload  |C|  RESERVED   |         Payload Length        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
typedef struct gen_hdr {
  uint8_t next, critical;
  uint16_t len;
} gen_hdr;
static const fdesc GEN_HDR_F[] = {
    FLD(0, 1, F_UINT, gen_hdr, next),
    FLD(1, 1, F_HIBIT, gen_hdr, critical),
    FLD(2, 2, F_UINT, gen_hdr, len),
};

/*
 * Proposal substructure (§3.3.1)
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | Last Substruc |   RESERVED    |         Proposal Length       |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  ~                        SPI (variable)                         ~
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  ~                        <Transforms>                           ~
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
typedef struct prop_raw {
  uint8_t last;
  uint16_t len;
  m6ike_ikev2_proposal p;
} prop_raw;
#define PROP_FIXED 8
#define PROP_LAST 0
#define PROP_MORE 2
static const fdesc PROP_F[] = {
    FLD(0, 1, F_UINT, prop_raw, last),
    RSV(1, 1),
    FLD(2, 2, F_UINT, prop_raw, len),
    FLD(4, 1, F_UINT, prop_raw, p.num),
    FLD(5, 1, F_UINT, prop_raw, p.proto),
    FLD(6, 1, F_UINT, prop_raw, p.spi_size),
    FLD(7, 1, F_UINT, prop_raw, p.n_transforms),
};

/*
 * Transform substructure (§3.3.2)
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | Last Substruc |   RESERVED    |        Transform Length       |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |Transform Type |   RESERVED    |          Transform ID         |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  ~                      Transform Attributes                     ~
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
typedef struct xf_raw {
  uint8_t last;
  uint16_t len;
  m6ike_ikev2_transform t;
} xf_raw;
#define XF_FIXED 8
#define XF_LAST 0
#define XF_MORE 3
static const fdesc XF_F[] = {
    FLD(0, 1, F_UINT, xf_raw, last),
    RSV(1, 1),
    FLD(2, 2, F_UINT, xf_raw, len),
    FLD(4, 1, F_UINT, xf_raw, t.type),
    RSV(5, 1),
    FLD(6, 2, F_UINT, xf_raw, t.id),
};

/*
 * Transform attribute (§3.3.5)
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |A|       Attribute Type        |    AF=0  Attribute Length     |
 *  |F|                             |    AF=1  Attribute Value      |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                   AF=0  Attribute Value                       |
 *  |                   AF=1  Not Transmitted                       |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
typedef struct attr_raw {
  uint8_t af;
  uint16_t type;
  uint16_t lv; /* length (AF=0) or value (AF=1) */
} attr_raw;
#define ATTR_FIXED 4
static const fdesc ATTR_F[] = {
    FLD(0, 1, F_HIBIT, attr_raw, af),
    FLD(0, 2, F_U15, attr_raw, type),
    FLD(2, 2, F_UINT, attr_raw, lv),
};

/*
 * Key Exchange payload body (§3.4)
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |   Diffie-Hellman Group Num    |           RESERVED            |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  ~                       Key Exchange Data                       ~
 */
static const fdesc KE_F[] = {
    FLD(0, 2, F_UINT, m6ike_ikev2_ke, group),
    RSV(2, 2),
};

/*
 * Identification payload body (§3.5)
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |   ID Type     |                 RESERVED                      |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  ~                   Identification Data                         ~
 */
static const fdesc ID_F[] = {
    FLD(0, 1, F_UINT, m6ike_ikev2_id, id_type),
    RSV(1, 3),
};

/*
 * Certificate / Certificate Request payload body (§3.6, §3.7)
 *  +-+-+-+-+-+-+-+-+
 *  | Cert Encoding |  then Certificate Data / Certification Authority
 *  +-+-+-+-+-+-+-+-+
 */
static const fdesc CERT_F[] = {
    FLD(0, 1, F_UINT, m6ike_ikev2_cert, encoding),
};

/*
 * Authentication payload body (§3.8)
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | Auth Method   |                RESERVED                       |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  ~                      Authentication Data                      ~
 */
static const fdesc AUTH_F[] = {
    FLD(0, 1, F_UINT, m6ike_ikev2_auth, method),
    RSV(1, 3),
};

/*
 * Notify payload body (§3.10)
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  Protocol ID  |   SPI Size    |      Notify Message Type      |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  ~                Security Parameter Index (SPI)                 ~
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  ~                       Notification Data                       ~
 */
static const fdesc NOTIFY_F[] = {
    FLD(0, 1, F_UINT, m6ike_ikev2_notify, proto),
    FLD(1, 1, F_UINT, m6ike_ikev2_notify, spi_size),
    FLD(2, 2, F_UINT, m6ike_ikev2_notify, type),
};

/*
 * Delete payload body (§3.11)
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | Protocol ID   |   SPI Size    |          Num of SPIs          |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  ~               Security Parameter Index(es) (SPI)              ~
 */
static const fdesc DELETE_F[] = {
    FLD(0, 1, F_UINT, m6ike_ikev2_delete, proto),
    FLD(1, 1, F_UINT, m6ike_ikev2_delete, spi_size),
    FLD(2, 2, F_UINT, m6ike_ikev2_delete, num_spi),
};

/*
 * Traffic Selector payload body (§3.13)
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | Number of TSs |                 RESERVED                      |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  ~                       <Traffic Selectors>                     ~
 */
static const fdesc TSP_F[] = {
    FLD(0, 1, F_UINT, m6ike_ikev2_ts_payload, num_ts),
    RSV(1, 3),
};

/*
 * Traffic selector (§3.13.1)
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |   TS Type     |IP Protocol ID*|       Selector Length         |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |           Start Port*         |           End Port*           |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  ~                         Starting Address*                     ~
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  ~                         Ending Address*                       ~
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Addresses are 4 octets each for TS_IPV4_ADDR_RANGE (length 16), 16 for
 * TS_IPV6_ADDR_RANGE (length 40).
 */
typedef struct ts_raw {
  m6ike_ikev2_ts ts;
  uint16_t sel_len;
} ts_raw;
#define TS_FIXED 8
static const fdesc TS_F[] = {
    FLD(0, 1, F_UINT, ts_raw, ts.ts_type),
    FLD(1, 1, F_UINT, ts_raw, ts.ip_proto),
    FLD(2, 2, F_UINT, ts_raw, sel_len),
    FLD(4, 2, F_UINT, ts_raw, ts.start_port),
    FLD(6, 2, F_UINT, ts_raw, ts.end_port),
};

/*
 * Configuration payload body (§3.15)
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |   CFG Type    |                    RESERVED                   |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  ~                   Configuration Attributes                    ~
 */
static const fdesc CP_F[] = {
    FLD(0, 1, F_UINT, m6ike_ikev2_cp, cfg_type),
    RSV(1, 3),
};

/*
 * Configuration attribute (§3.15.1)
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |R|         Attribute Type      |            Length             |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  ~                             Value                             ~
 */
#define CPA_FIXED 4
static const fdesc CPA_F[] = {
    FLD(0, 2, F_U15, m6ike_ikev2_cp_attr, type),
    FLD(2, 2, F_UINT, m6ike_ikev2_cp_attr, len),
};

/*
 * Payload descriptors: fixed part, its field table, and where the tail
 * (data pointer, size_t length) goes in the decoded struct.  SA, SK and
 * opaque payloads have no fixed part.
 */
#define NO_TAIL 0xffff
typedef struct pdesc {
  uint8_t type;
  const char *name;
  uint8_t fixed;
  const fdesc *f;
  uint8_t nf;
  uint16_t data_dst, len_dst;
} pdesc;

#define PD(t, nm, fx, F, T, dm, lm)                                         \
  {(t), (nm), (fx), (F), (uint8_t)NFIELDS(F), (uint16_t)offsetof(T, dm),   \
   (uint16_t)offsetof(T, lm)}
#define PD_BLOB(t, nm)                                                      \
  {(t), (nm), 0, NULL, 0, (uint16_t)offsetof(m6ike_ikev2_blob, data),      \
   (uint16_t)offsetof(m6ike_ikev2_blob, len)}

static const pdesc PAYLOADS[] = {
    {M6IKE_IKEV2_PL_SA, "SA", 0, NULL, 0, (uint16_t)offsetof(m6ike_ikev2_sa, props),
     (uint16_t)offsetof(m6ike_ikev2_sa, len)},
    PD(M6IKE_IKEV2_PL_KE, "KE", 4, KE_F, m6ike_ikev2_ke, data, len),
    PD(M6IKE_IKEV2_PL_IDI, "IDi", 4, ID_F, m6ike_ikev2_id, data, len),
    PD(M6IKE_IKEV2_PL_IDR, "IDr", 4, ID_F, m6ike_ikev2_id, data, len),
    PD(M6IKE_IKEV2_PL_CERT, "CERT", 1, CERT_F, m6ike_ikev2_cert, data, len),
    PD(M6IKE_IKEV2_PL_CERTREQ, "CERTREQ", 1, CERT_F, m6ike_ikev2_cert, data,
       len),
    PD(M6IKE_IKEV2_PL_AUTH, "AUTH", 4, AUTH_F, m6ike_ikev2_auth, data, len),
    PD_BLOB(M6IKE_IKEV2_PL_NONCE, "No"),
    PD(M6IKE_IKEV2_PL_NOTIFY, "N", 4, NOTIFY_F, m6ike_ikev2_notify, data,
       len),
    {M6IKE_IKEV2_PL_DELETE, "D", 4, DELETE_F, (uint8_t)NFIELDS(DELETE_F),
     (uint16_t)offsetof(m6ike_ikev2_delete, spis), NO_TAIL},
    PD_BLOB(M6IKE_IKEV2_PL_VENDOR, "V"),
    PD(M6IKE_IKEV2_PL_TSI, "TSi", 4, TSP_F, m6ike_ikev2_ts_payload, sel, len),
    PD(M6IKE_IKEV2_PL_TSR, "TSr", 4, TSP_F, m6ike_ikev2_ts_payload, sel, len),
    PD_BLOB(M6IKE_IKEV2_PL_SK, "SK"),
    PD(M6IKE_IKEV2_PL_CP, "CP", 4, CP_F, m6ike_ikev2_cp, attrs, len),
    PD_BLOB(M6IKE_IKEV2_PL_EAP, "EAP"),
};

static const pdesc *pdesc_of(uint8_t type) {
  if (type < M6IKE_IKEV2_PL_SA || type > M6IKE_IKEV2_PL_EAP) {
    return NULL;
  }
  return &PAYLOADS[type - M6IKE_IKEV2_PL_SA];
}

/* Decodes a view's fixed part and tail per its descriptor. */
static int dec_fixed(const m6ike_ikev2_payload *pl, uint8_t type,
                     void *out) {
  const pdesc *d = pdesc_of(type);
  if (pl == NULL || out == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (pl->type != type || d == NULL) {
    return M6IKE_ERR_IKEV2_WRONG_TYPE;
  }
  if (pl->body_len < d->fixed) {
    return M6IKE_ERR_IKEV2_BODY_SHORT;
  }
  fields_get(d->f, d->nf, pl->body, out);
  if (d->data_dst != NO_TAIL) {
    const uint8_t *tail = pl->body + d->fixed;
    memcpy((uint8_t *)out + d->data_dst, &tail, sizeof(tail));
  }
  if (d->len_dst != NO_TAIL) {
    size_t n = pl->body_len - d->fixed;
    memcpy((uint8_t *)out + d->len_dst, &n, sizeof(n));
  }
  return 0;
}

/* ====================================================================== */
/* Header and payload chain                                               */
/* ====================================================================== */

int m6ike_ikev2_hdr_decode(m6ike_ikev2_hdr *hdr, const uint8_t *buf,
                           size_t len) {
  if (hdr == NULL || (buf == NULL && len > 0)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (len < M6IKE_IKEV2_HDR_LEN) {
    return M6IKE_ERR_IKEV2_HDR_TRUNCATED;
  }
  fields_get(IKE_HDR_F, NFIELDS(IKE_HDR_F), buf, hdr);
  return M6IKE_IKEV2_HDR_LEN;
}

int m6ike_ikev2_hdr_encode(uint8_t *buf, size_t cap,
                           const m6ike_ikev2_hdr *hdr) {
  if (hdr == NULL || (buf == NULL && cap > 0)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (cap < M6IKE_IKEV2_HDR_LEN) {
    return M6IKE_ERR_NOBUF;
  }
  fields_put(IKE_HDR_F, NFIELDS(IKE_HDR_F), M6IKE_IKEV2_HDR_LEN, buf, hdr);
  return M6IKE_IKEV2_HDR_LEN;
}

static int is_known(uint8_t type) {
  return type >= M6IKE_IKEV2_PL_SA && type <= M6IKE_IKEV2_PL_EAP;
}

/*
 * Walks a payload chain in base[off, end) starting with type `np`,
 * appending views to msg.  Inner chains may not contain SK; an outer SK
 * ends the chain and must end the message.
 */
static int walk(m6ike_ikev2_msg *msg, const uint8_t *base, size_t off,
                size_t end, uint8_t np, int inner) {
  while (np != M6IKE_IKEV2_PL_NONE) {
    gen_hdr g;
    msg->err_offset = off;
    if (end - off < M6IKE_IKEV2_PL_HDR_LEN) {
      msg->err_type = np;
      return M6IKE_ERR_IKEV2_PL_TRUNCATED;
    }
    fields_get(GEN_HDR_F, NFIELDS(GEN_HDR_F), base + off, &g);
    if (g.len < M6IKE_IKEV2_PL_HDR_LEN) {
      msg->err_type = np;
      return M6IKE_ERR_IKEV2_PL_LENGTH;
    }
    if (g.len > end - off) {
      msg->err_type = np;
      return M6IKE_ERR_IKEV2_PL_OVERRUN;
    }
    if (!is_known(np) && g.critical) {
      msg->err_type = np;
      return M6IKE_ERR_IKEV2_UNSUPPORTED_CRITICAL;
    }
    if (np == M6IKE_IKEV2_PL_SK && inner) {
      msg->err_type = np;
      return M6IKE_ERR_IKEV2_SK_NESTED;
    }
    if (msg->count >= M6IKE_IKEV2_MAX_PAYLOADS) {
      msg->err_type = np;
      return M6IKE_ERR_IKEV2_TOO_MANY_PAYLOADS;
    }
    m6ike_ikev2_payload *v = &msg->pl[msg->count];
    v->type = np;
    v->next = g.next;
    v->critical = g.critical;
    v->inner = (uint8_t)(inner != 0);
    v->known = (uint8_t)is_known(np);
    v->hdr = base + off;
    v->body = base + off + M6IKE_IKEV2_PL_HDR_LEN;
    v->body_len = (size_t)g.len - M6IKE_IKEV2_PL_HDR_LEN;
    if (np == M6IKE_IKEV2_PL_SK) {
      if (g.len != end - off) {
        msg->err_type = np;
        return M6IKE_ERR_IKEV2_SK_NOT_LAST;
      }
      msg->sk = (int)msg->count;
      msg->count++;
      return 0;
    }
    msg->count++;
    off += g.len;
    np = g.next;
  }
  if (off != end) {
    msg->err_offset = off;
    msg->err_type = 0;
    return M6IKE_ERR_IKEV2_TRAILING;
  }
  return 0;
}

int m6ike_ikev2_parse(m6ike_ikev2_msg *msg, const uint8_t *buf, size_t len,
                      unsigned flags) {
  if (msg == NULL || (buf == NULL && len > 0)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  msg->buf = buf;
  msg->len = len;
  msg->count = 0;
  msg->outer_count = 0;
  msg->sk = -1;
  msg->inner_parsed = 0;
  msg->err_type = 0;
  msg->err_offset = 0;
  int rc = m6ike_ikev2_hdr_decode(&msg->hdr, buf, len);
  if (rc < 0) {
    return rc;
  }
  if (msg->hdr.major != M6IKE_IKEV2_MAJOR) {
    return M6IKE_ERR_IKEV2_MAJOR_VERSION;
  }
  if (msg->hdr.length < M6IKE_IKEV2_HDR_LEN ||
      msg->hdr.length > 0x7fffffffu) { /* the return value is an int */
    return M6IKE_ERR_IKEV2_MSG_LENGTH;
  }
  if (msg->hdr.length > len) {
    return M6IKE_ERR_IKEV2_MSG_TRUNCATED;
  }
  if (msg->hdr.length < len && !(flags & M6IKE_IKEV2_PARSE_ALLOW_TRAILING)) {
    return M6IKE_ERR_IKEV2_MSG_LENGTH;
  }
  msg->len = msg->hdr.length;
  rc = walk(msg, buf, M6IKE_IKEV2_HDR_LEN, msg->len, msg->hdr.next_payload,
            0);
  msg->outer_count = msg->count;
  if (rc < 0) {
    return rc;
  }
  return (int)msg->len;
}

int m6ike_ikev2_parse_inner(m6ike_ikev2_msg *msg, const uint8_t *plain,
                            size_t len) {
  if (msg == NULL || (plain == NULL && len > 0)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (msg->sk < 0 || msg->inner_parsed) {
    return M6IKE_ERR_INVALID_STATE;
  }
  static const uint8_t empty[1] = {0};
  int rc = walk(msg, plain ? plain : empty, 0, len, msg->pl[msg->sk].next,
                1);
  if (rc < 0) {
    msg->count = msg->outer_count;
    return rc;
  }
  msg->inner_parsed = 1;
  return 0;
}

int m6ike_ikev2_sk_layout(const m6ike_ikev2_msg *msg, size_t iv_len,
                          size_t icv_len, size_t block_size,
                          m6ike_ikev2_sk_region *out) {
  if (msg == NULL || out == NULL || block_size == 0) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (msg->sk < 0) {
    return M6IKE_ERR_INVALID_STATE;
  }
  const m6ike_ikev2_payload *v = &msg->pl[msg->sk];
  if (v->body_len < iv_len || v->body_len - iv_len < icv_len ||
      v->body_len - iv_len - icv_len < 1) {
    return M6IKE_ERR_IKEV2_SK_SHORT;
  }
  size_t ct = v->body_len - iv_len - icv_len;
  if (ct % block_size != 0) {
    return M6IKE_ERR_IKEV2_SK_SHORT;
  }
  out->payload_off = (size_t)(v->hdr - msg->buf);
  out->iv_off = out->payload_off + M6IKE_IKEV2_PL_HDR_LEN;
  out->iv_len = iv_len;
  out->plain_off = out->iv_off + iv_len;
  out->plain_len = ct;
  out->icv_off = out->plain_off + ct;
  out->icv_len = icv_len;
  return 0;
}

int m6ike_ikev2_sk_strip_padding(const uint8_t *plain, size_t len,
                                 size_t *inner_len) {
  if ((plain == NULL && len > 0) || inner_len == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (len == 0 || (size_t)plain[len - 1] + 1 > len) {
    return M6IKE_ERR_IKEV2_SK_PADDING;
  }
  *inner_len = len - plain[len - 1] - 1;
  return 0;
}

int m6ike_ikev2_find(const m6ike_ikev2_msg *msg, uint8_t type,
                     unsigned from) {
  if (msg == NULL) {
    return -1;
  }
  for (unsigned i = from; i < msg->count; i++) {
    if (msg->pl[i].type == type) {
      return (int)i;
    }
  }
  return -1;
}

/* ====================================================================== */
/* Typed decoders                                                         */
/* ====================================================================== */

/* Validates one transform's attributes; returns the Key Length or -1. */
static int check_attrs(const uint8_t *p, size_t len, int32_t *key_len) {
  size_t pos = 0;
  *key_len = -1;
  while (pos < len) {
    attr_raw a;
    if (len - pos < ATTR_FIXED) {
      return M6IKE_ERR_IKEV2_ATTRIBUTE;
    }
    fields_get(ATTR_F, NFIELDS(ATTR_F), p + pos, &a);
    size_t alen = ATTR_FIXED + (a.af ? 0 : (size_t)a.lv);
    if (alen > len - pos) {
      return M6IKE_ERR_IKEV2_ATTRIBUTE;
    }
    if (a.type == M6IKE_IKEV2_ATTR_KEY_LENGTH) {
      if (!a.af || *key_len >= 0) {
        return M6IKE_ERR_IKEV2_ATTRIBUTE; /* must be TV, at most once */
      }
      *key_len = a.lv;
    }
    pos += alen;
  }
  return 0;
}

/* Validates the transforms of a proposal; returns their count in *n. */
static int check_transforms(const uint8_t *p, size_t len, unsigned *n) {
  size_t pos = 0;
  *n = 0;
  while (pos < len) {
    xf_raw x;
    if (len - pos < XF_FIXED) {
      return M6IKE_ERR_IKEV2_TRANSFORM;
    }
    fields_get(XF_F, NFIELDS(XF_F), p + pos, &x);
    if (x.len < XF_FIXED || x.len > len - pos) {
      return M6IKE_ERR_IKEV2_TRANSFORM;
    }
    int final = pos + x.len == len;
    if ((x.last == XF_LAST) != final ||
        (x.last != XF_LAST && x.last != XF_MORE)) {
      return M6IKE_ERR_IKEV2_TRANSFORM;
    }
    int32_t kl;
    int rc = check_attrs(p + pos + XF_FIXED, x.len - XF_FIXED, &kl);
    if (rc < 0) {
      return rc;
    }
    (*n)++;
    pos += x.len;
  }
  return 0;
}

int m6ike_ikev2_decode_sa(const m6ike_ikev2_payload *pl,
                          m6ike_ikev2_sa *out) {
  int rc = dec_fixed(pl, M6IKE_IKEV2_PL_SA, out);
  if (rc < 0) {
    return rc;
  }
  out->n_proposals = 0;
  const uint8_t *p = out->props;
  size_t len = out->len, pos = 0;
  unsigned prev = 0;
  if (len == 0) {
    return M6IKE_ERR_IKEV2_PROPOSAL; /* at least one proposal */
  }
  while (pos < len) {
    prop_raw r;
    if (len - pos < PROP_FIXED) {
      return M6IKE_ERR_IKEV2_PROPOSAL;
    }
    fields_get(PROP_F, NFIELDS(PROP_F), p + pos, &r);
    if (r.len < PROP_FIXED + (size_t)r.p.spi_size || r.len > len - pos) {
      return M6IKE_ERR_IKEV2_PROPOSAL;
    }
    int final = pos + r.len == len;
    if ((r.last == PROP_LAST) != final ||
        (r.last != PROP_LAST && r.last != PROP_MORE)) {
      return M6IKE_ERR_IKEV2_PROPOSAL;
    }
    if (r.p.proto == M6IKE_IKEV2_PROTO_NONE) {
      return M6IKE_ERR_IKEV2_PROPOSAL;
    }
    if (r.p.proto == M6IKE_IKEV2_PROTO_IKE && r.p.spi_size != 0 &&
        r.p.spi_size != 8) {
      return M6IKE_ERR_IKEV2_PROPOSAL;
    }
    if ((r.p.proto == M6IKE_IKEV2_PROTO_AH ||
         r.p.proto == M6IKE_IKEV2_PROTO_ESP) &&
        r.p.spi_size != 4) {
      return M6IKE_ERR_IKEV2_PROPOSAL;
    }
    if (r.p.num == 0 || (out->n_proposals > 0 && r.p.num != prev + 1)) {
      return M6IKE_ERR_IKEV2_PROPOSAL_NUM;
    }
    prev = r.p.num;
    size_t xoff = pos + PROP_FIXED + r.p.spi_size;
    unsigned n;
    rc = check_transforms(p + xoff, r.len - PROP_FIXED - r.p.spi_size, &n);
    if (rc < 0) {
      return rc;
    }
    if (n == 0 || n != r.p.n_transforms) {
      return M6IKE_ERR_IKEV2_PROPOSAL;
    }
    out->n_proposals++;
    pos += r.len;
  }
  return 0;
}

int m6ike_ikev2_sa_next_proposal(const m6ike_ikev2_sa *sa, size_t *pos,
                                 m6ike_ikev2_proposal *out) {
  prop_raw r;
  if (sa == NULL || pos == NULL || out == NULL || *pos >= sa->len ||
      sa->len - *pos < PROP_FIXED) {
    return 0;
  }
  fields_get(PROP_F, NFIELDS(PROP_F), sa->props + *pos, &r);
  if (r.len < PROP_FIXED + (size_t)r.p.spi_size || r.len > sa->len - *pos) {
    return 0; /* not decoded by decode_sa */
  }
  *out = r.p;
  out->spi = sa->props + *pos + PROP_FIXED;
  out->xf = out->spi + r.p.spi_size;
  out->xf_len = r.len - PROP_FIXED - r.p.spi_size;
  *pos += r.len;
  return 1;
}

int m6ike_ikev2_proposal_next_transform(const m6ike_ikev2_proposal *p,
                                        size_t *pos,
                                        m6ike_ikev2_transform *out) {
  xf_raw x;
  if (p == NULL || pos == NULL || out == NULL || *pos >= p->xf_len ||
      p->xf_len - *pos < XF_FIXED) {
    return 0;
  }
  fields_get(XF_F, NFIELDS(XF_F), p->xf + *pos, &x);
  if (x.len < XF_FIXED || x.len > p->xf_len - *pos) {
    return 0;
  }
  *out = x.t;
  out->attrs = p->xf + *pos + XF_FIXED;
  out->attrs_len = x.len - XF_FIXED;
  if (check_attrs(out->attrs, out->attrs_len, &out->key_len) < 0) {
    out->key_len = -1;
  }
  *pos += x.len;
  return 1;
}

int m6ike_ikev2_transform_next_attr(const m6ike_ikev2_transform *t,
                                    size_t *pos, m6ike_ikev2_attr *out) {
  attr_raw a;
  if (t == NULL || pos == NULL || out == NULL || *pos >= t->attrs_len ||
      t->attrs_len - *pos < ATTR_FIXED) {
    return 0;
  }
  fields_get(ATTR_F, NFIELDS(ATTR_F), t->attrs + *pos, &a);
  size_t alen = ATTR_FIXED + (a.af ? 0 : (size_t)a.lv);
  if (alen > t->attrs_len - *pos) {
    return 0;
  }
  out->type = a.type;
  out->tv = a.af;
  out->value = a.af ? a.lv : 0;
  out->len = a.af ? 0 : a.lv;
  out->data = t->attrs + *pos + ATTR_FIXED;
  *pos += alen;
  return 1;
}

/* Key Exchange Data length of a DH group, 0 if not known here. */
static size_t ke_len_of(uint16_t group) {
  switch (group) {
  case M6IKE_IKEV2_DH_MODP768:
    return 96;
  case M6IKE_IKEV2_DH_MODP1024:
    return 128;
  case M6IKE_IKEV2_DH_MODP1536:
    return 192;
  case M6IKE_IKEV2_DH_MODP2048:
    return 256;
  case M6IKE_IKEV2_DH_MODP3072:
    return 384;
  case M6IKE_IKEV2_DH_MODP4096:
    return 512;
  case 17: /* MODP 6144 */
    return 768;
  case 18: /* MODP 8192 */
    return 1024;
  case M6IKE_IKEV2_DH_ECP256:
    return 64;
  case M6IKE_IKEV2_DH_ECP384:
    return 96;
  case M6IKE_IKEV2_DH_ECP521:
    return 132;
  case M6IKE_IKEV2_DH_CURVE25519:
    return 32;
  case M6IKE_IKEV2_DH_CURVE448:
    return 56;
  default:
    return 0;
  }
}

int m6ike_ikev2_decode_ke(const m6ike_ikev2_payload *pl,
                          m6ike_ikev2_ke *out) {
  int rc = dec_fixed(pl, M6IKE_IKEV2_PL_KE, out);
  if (rc < 0) {
    return rc;
  }
  size_t want = ke_len_of(out->group);
  return (want == 0 || out->len == want) ? 0 : M6IKE_ERR_IKEV2_KE;
}

int m6ike_ikev2_decode_id(const m6ike_ikev2_payload *pl,
                          m6ike_ikev2_id *out) {
  if (pl == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (pl->type != M6IKE_IKEV2_PL_IDI && pl->type != M6IKE_IKEV2_PL_IDR) {
    return M6IKE_ERR_IKEV2_WRONG_TYPE;
  }
  int rc = dec_fixed(pl, pl->type, out);
  if (rc < 0) {
    return rc;
  }
  switch (out->id_type) {
  case M6IKE_IKEV2_ID_IPV4_ADDR:
    return out->len == 4 ? 0 : M6IKE_ERR_IKEV2_ID;
  case M6IKE_IKEV2_ID_IPV6_ADDR:
    return out->len == 16 ? 0 : M6IKE_ERR_IKEV2_ID;
  default:
    return out->len >= 1 ? 0 : M6IKE_ERR_IKEV2_ID;
  }
}

int m6ike_ikev2_decode_cert(const m6ike_ikev2_payload *pl,
                            m6ike_ikev2_cert *out) {
  return dec_fixed(pl, M6IKE_IKEV2_PL_CERT, out);
}

int m6ike_ikev2_decode_certreq(const m6ike_ikev2_payload *pl,
                               m6ike_ikev2_cert *out) {
  int rc = dec_fixed(pl, M6IKE_IKEV2_PL_CERTREQ, out);
  if (rc < 0) {
    return rc;
  }
  if (out->encoding == M6IKE_IKEV2_CERT_X509_SIG && out->len % 20 != 0) {
    return M6IKE_ERR_IKEV2_CERT; /* a list of SHA-1 hashes */
  }
  return 0;
}

int m6ike_ikev2_decode_auth(const m6ike_ikev2_payload *pl,
                            m6ike_ikev2_auth *out) {
  return dec_fixed(pl, M6IKE_IKEV2_PL_AUTH, out);
}

int m6ike_ikev2_decode_nonce(const m6ike_ikev2_payload *pl,
                             m6ike_ikev2_blob *out) {
  int rc = dec_fixed(pl, M6IKE_IKEV2_PL_NONCE, out);
  if (rc < 0) {
    return rc;
  }
  return (out->len >= 16 && out->len <= 256) ? 0 : M6IKE_ERR_IKEV2_NONCE;
}

int m6ike_ikev2_decode_notify(const m6ike_ikev2_payload *pl,
                              m6ike_ikev2_notify *out) {
  int rc = dec_fixed(pl, M6IKE_IKEV2_PL_NOTIFY, out);
  if (rc < 0) {
    return rc;
  }
  if (out->spi_size > out->len) {
    return M6IKE_ERR_IKEV2_NOTIFY;
  }
  out->spi = out->data;
  out->data += out->spi_size;
  out->len -= out->spi_size;
  out->ke_group = 0;
  out->mpi = 0;
  out->spi32 = 0;
  memset(&out->addr6, 0, sizeof(out->addr6));
  memset(out->addr4, 0, sizeof(out->addr4));
  if (out->spi_size == 4) {
    m6ike_get_u32be(out->spi, &out->spi32);
  }
  size_t n = out->len;
  switch (out->type) {
  case M6IKE_IKEV2_N_INVALID_KE_PAYLOAD:
    if (n != 2) {
      return M6IKE_ERR_IKEV2_NOTIFY;
    }
    m6ike_get_u16be(out->data, &out->ke_group);
    break;
  case M6IKE_IKEV2_N_NAT_DETECTION_SOURCE_IP:
  case M6IKE_IKEV2_N_NAT_DETECTION_DESTINATION_IP:
    if (n != M6IKE_IKEV2_NAT_D_LEN) {
      return M6IKE_ERR_IKEV2_NOTIFY;
    }
    break;
  case M6IKE_IKEV2_N_COOKIE:
    if (n < 1 || n > 64) {
      return M6IKE_ERR_IKEV2_NOTIFY;
    }
    break;
  case M6IKE_IKEV2_N_COOKIE2:
    if (n < 8 || n > 64) {
      return M6IKE_ERR_IKEV2_NOTIFY;
    }
    break;
  case M6IKE_IKEV2_N_ADDITIONAL_IP4_ADDRESS:
    if (n != 4) {
      return M6IKE_ERR_IKEV2_NOTIFY;
    }
    memcpy(out->addr4, out->data, 4);
    break;
  case M6IKE_IKEV2_N_ADDITIONAL_IP6_ADDRESS:
    if (n != 16) {
      return M6IKE_ERR_IKEV2_NOTIFY;
    }
    memcpy(out->addr6.b, out->data, 16);
    break;
  case M6IKE_IKEV2_N_M6IKE_SA_ADDRESS_UPDATE:
    if (n != M6IKE_IKEV2_M6IKE_UPDATE_LEN) {
      return M6IKE_ERR_IKEV2_NOTIFY;
    }
    m6ike_get_u32be(out->data, &out->mpi);
    memcpy(out->addr6.b, out->data + 4, 16);
    break;
  case M6IKE_IKEV2_N_REKEY_SA:
    if (out->spi_size != 4 || (out->proto != M6IKE_IKEV2_PROTO_AH &&
                               out->proto != M6IKE_IKEV2_PROTO_ESP)) {
      return M6IKE_ERR_IKEV2_NOTIFY;
    }
    break;
  default:
    break;
  }
  return 0;
}

int m6ike_ikev2_decode_delete(const m6ike_ikev2_payload *pl,
                              m6ike_ikev2_delete *out) {
  int rc = dec_fixed(pl, M6IKE_IKEV2_PL_DELETE, out);
  if (rc < 0) {
    return rc;
  }
  size_t tail = pl->body_len - 4;
  switch (out->proto) {
  case M6IKE_IKEV2_PROTO_IKE:
    if (out->spi_size != 0 || out->num_spi != 0) {
      return M6IKE_ERR_IKEV2_DELETE;
    }
    break;
  case M6IKE_IKEV2_PROTO_AH:
  case M6IKE_IKEV2_PROTO_ESP:
    if (out->spi_size != 4) {
      return M6IKE_ERR_IKEV2_DELETE;
    }
    break;
  default:
    return M6IKE_ERR_IKEV2_DELETE;
  }
  if (tail != (size_t)out->num_spi * out->spi_size) {
    return M6IKE_ERR_IKEV2_DELETE;
  }
  return 0;
}

uint32_t m6ike_ikev2_delete_spi32(const m6ike_ikev2_delete *d, unsigned i) {
  uint32_t v = 0;
  if (d != NULL && d->spi_size == 4 && i < d->num_spi) {
    m6ike_get_u32be(d->spis + 4 * (size_t)i, &v);
  }
  return v;
}

static size_t ts_addr_len(uint8_t ts_type) {
  return ts_type == M6IKE_IKEV2_TS_IPV4_ADDR_RANGE   ? 4
         : ts_type == M6IKE_IKEV2_TS_IPV6_ADDR_RANGE ? 16
                                                     : 0;
}

int m6ike_ikev2_decode_ts(const m6ike_ikev2_payload *pl,
                          m6ike_ikev2_ts_payload *out) {
  if (pl == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (pl->type != M6IKE_IKEV2_PL_TSI && pl->type != M6IKE_IKEV2_PL_TSR) {
    return M6IKE_ERR_IKEV2_WRONG_TYPE;
  }
  int rc = dec_fixed(pl, pl->type, out);
  if (rc < 0) {
    return rc;
  }
  if (out->num_ts == 0) {
    return M6IKE_ERR_IKEV2_TS;
  }
  size_t pos = 0;
  unsigned n = 0;
  while (pos < out->len) {
    ts_raw r;
    if (out->len - pos < TS_FIXED) {
      return M6IKE_ERR_IKEV2_TS;
    }
    fields_get(TS_F, NFIELDS(TS_F), out->sel + pos, &r);
    size_t al = ts_addr_len(r.ts.ts_type);
    if (al == 0 || r.sel_len != TS_FIXED + 2 * al ||
        r.sel_len > out->len - pos) {
      return M6IKE_ERR_IKEV2_TS;
    }
    pos += r.sel_len;
    n++;
  }
  return n == out->num_ts ? 0 : M6IKE_ERR_IKEV2_TS;
}

int m6ike_ikev2_ts_next(const m6ike_ikev2_ts_payload *tsp, size_t *pos,
                        m6ike_ikev2_ts *out) {
  ts_raw r;
  if (tsp == NULL || pos == NULL || out == NULL || *pos >= tsp->len ||
      tsp->len - *pos < TS_FIXED) {
    return 0;
  }
  memset(&r, 0, sizeof(r));
  fields_get(TS_F, NFIELDS(TS_F), tsp->sel + *pos, &r);
  size_t al = ts_addr_len(r.ts.ts_type);
  if (al == 0 || r.sel_len != TS_FIXED + 2 * al ||
      r.sel_len > tsp->len - *pos) {
    return 0;
  }
  memcpy(r.ts.start_addr, tsp->sel + *pos + TS_FIXED, al);
  memcpy(r.ts.end_addr, tsp->sel + *pos + TS_FIXED + al, al);
  *out = r.ts;
  *pos += r.sel_len;
  return 1;
}

/* Allowed value lengths of the known configuration attributes: a bit
 * mask of {0, 4, 8, 16, 17, 21} or 0 = any. */
static int cp_len_ok(uint16_t type, uint16_t len) {
  switch (type) {
  case M6IKE_IKEV2_CP_INTERNAL_IP4_ADDRESS:
  case M6IKE_IKEV2_CP_INTERNAL_IP4_NETMASK:
  case M6IKE_IKEV2_CP_INTERNAL_IP4_DNS:
  case M6IKE_IKEV2_CP_INTERNAL_IP4_NBNS:
  case M6IKE_IKEV2_CP_INTERNAL_IP4_DHCP:
    return len == 0 || len == 4;
  case M6IKE_IKEV2_CP_INTERNAL_IP6_ADDRESS:
  case M6IKE_IKEV2_CP_INTERNAL_IP6_SUBNET:
    return len == 0 || len == M6IKE_IKEV2_CP_IP6_ADDRESS_LEN;
  case M6IKE_IKEV2_CP_INTERNAL_IP6_DNS:
  case M6IKE_IKEV2_CP_INTERNAL_IP6_DHCP:
    return len == 0 || len == 16;
  case M6IKE_IKEV2_CP_INTERNAL_IP4_SUBNET:
    return len == 0 || len == 8;
  case M6IKE_IKEV2_CP_SUPPORTED_ATTRIBUTES:
    return len % 2 == 0;
  case M6IKE_IKEV2_CP_MIP6_HOME_PREFIX:
    return len == 0 || len == M6IKE_IKEV2_CP_MIP6_HOME_PREFIX_LEN;
  default:
    return 1;
  }
}

int m6ike_ikev2_decode_cp(const m6ike_ikev2_payload *pl,
                          m6ike_ikev2_cp *out) {
  int rc = dec_fixed(pl, M6IKE_IKEV2_PL_CP, out);
  if (rc < 0) {
    return rc;
  }
  size_t pos = 0;
  out->n_attrs = 0;
  while (pos < out->len) {
    m6ike_ikev2_cp_attr a;
    if (out->len - pos < CPA_FIXED) {
      return M6IKE_ERR_IKEV2_CP;
    }
    fields_get(CPA_F, NFIELDS(CPA_F), out->attrs + pos, &a);
    if (a.len > out->len - pos - CPA_FIXED || !cp_len_ok(a.type, a.len)) {
      return M6IKE_ERR_IKEV2_CP;
    }
    pos += CPA_FIXED + (size_t)a.len;
    out->n_attrs++;
  }
  return 0;
}

int m6ike_ikev2_cp_next(const m6ike_ikev2_cp *cp, size_t *pos,
                        m6ike_ikev2_cp_attr *out) {
  if (cp == NULL || pos == NULL || out == NULL || *pos >= cp->len ||
      cp->len - *pos < CPA_FIXED) {
    return 0;
  }
  fields_get(CPA_F, NFIELDS(CPA_F), cp->attrs + *pos, out);
  if (out->len > cp->len - *pos - CPA_FIXED) {
    return 0;
  }
  out->value = cp->attrs + *pos + CPA_FIXED;
  *pos += CPA_FIXED + (size_t)out->len;
  return 1;
}

int m6ike_ikev2_decode_eap(const m6ike_ikev2_payload *pl,
                           m6ike_ikev2_blob *out) {
  int rc = dec_fixed(pl, M6IKE_IKEV2_PL_EAP, out);
  if (rc < 0) {
    return rc;
  }
  if (out->len < 4) {
    return M6IKE_ERR_IKEV2_EAP;
  }
  uint16_t l;
  m6ike_get_u16be(out->data + 2, &l); /* EAP: Code, Identifier, Length */
  return l == out->len ? 0 : M6IKE_ERR_IKEV2_EAP;
}

int m6ike_ikev2_decode_blob(const m6ike_ikev2_payload *pl,
                            m6ike_ikev2_blob *out) {
  if (pl == NULL || out == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  out->data = pl->body;
  out->len = pl->body_len;
  return 0;
}

int m6ike_ikev2_decode_payload(const m6ike_ikev2_payload *pl) {
  union {
    m6ike_ikev2_sa sa;
    m6ike_ikev2_ke ke;
    m6ike_ikev2_id id;
    m6ike_ikev2_cert cert;
    m6ike_ikev2_auth auth;
    m6ike_ikev2_blob blob;
    m6ike_ikev2_notify n;
    m6ike_ikev2_delete d;
    m6ike_ikev2_ts_payload ts;
    m6ike_ikev2_cp cp;
  } u;
  if (pl == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  switch (pl->type) {
  case M6IKE_IKEV2_PL_SA:
    return m6ike_ikev2_decode_sa(pl, &u.sa);
  case M6IKE_IKEV2_PL_KE:
    return m6ike_ikev2_decode_ke(pl, &u.ke);
  case M6IKE_IKEV2_PL_IDI:
  case M6IKE_IKEV2_PL_IDR:
    return m6ike_ikev2_decode_id(pl, &u.id);
  case M6IKE_IKEV2_PL_CERT:
    return m6ike_ikev2_decode_cert(pl, &u.cert);
  case M6IKE_IKEV2_PL_CERTREQ:
    return m6ike_ikev2_decode_certreq(pl, &u.cert);
  case M6IKE_IKEV2_PL_AUTH:
    return m6ike_ikev2_decode_auth(pl, &u.auth);
  case M6IKE_IKEV2_PL_NONCE:
    return m6ike_ikev2_decode_nonce(pl, &u.blob);
  case M6IKE_IKEV2_PL_NOTIFY:
    return m6ike_ikev2_decode_notify(pl, &u.n);
  case M6IKE_IKEV2_PL_DELETE:
    return m6ike_ikev2_decode_delete(pl, &u.d);
  case M6IKE_IKEV2_PL_TSI:
  case M6IKE_IKEV2_PL_TSR:
    return m6ike_ikev2_decode_ts(pl, &u.ts);
  case M6IKE_IKEV2_PL_CP:
    return m6ike_ikev2_decode_cp(pl, &u.cp);
  case M6IKE_IKEV2_PL_EAP:
    return m6ike_ikev2_decode_eap(pl, &u.blob);
  default: /* V, SK, unknown: opaque */
    return 0;
  }
}

int m6ike_ikev2_decode_all(m6ike_ikev2_msg *msg) {
  if (msg == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  for (unsigned i = 0; i < msg->count; i++) {
    int rc = m6ike_ikev2_decode_payload(&msg->pl[i]);
    if (rc < 0) {
      msg->err_type = msg->pl[i].type;
      msg->err_offset = msg->pl[i].inner
                            ? 0
                            : (size_t)(msg->pl[i].hdr - msg->buf);
      return rc;
    }
  }
  return 0;
}

int m6ike_ikev2_find_notify(const m6ike_ikev2_msg *msg, uint16_t type,
                            m6ike_ikev2_notify *out) {
  if (msg == NULL || out == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  for (unsigned i = 0; i < msg->count; i++) {
    const m6ike_ikev2_payload *v = &msg->pl[i];
    if (v->type != M6IKE_IKEV2_PL_NOTIFY || v->body_len < 4) {
      continue;
    }
    uint16_t t;
    m6ike_get_u16be(v->body + 2, &t);
    if (t == type) {
      int rc = m6ike_ikev2_decode_notify(v, out);
      return rc < 0 ? rc : (int)i;
    }
  }
  return M6IKE_ERR_NOT_FOUND;
}

/* ====================================================================== */
/* RFC 4877 selectors and configuration attributes                        */
/* ====================================================================== */

void m6ike_ikev2_ts_set6(m6ike_ikev2_ts *ts, const m6ike_addr6 *start,
                         const m6ike_addr6 *end, uint8_t ip_proto,
                         uint16_t start_port, uint16_t end_port) {
  memset(ts, 0, sizeof(*ts));
  ts->ts_type = M6IKE_IKEV2_TS_IPV6_ADDR_RANGE;
  ts->ip_proto = ip_proto;
  ts->start_port = start_port;
  ts->end_port = end_port;
  memcpy(ts->start_addr, start->b, 16);
  memcpy(ts->end_addr, end->b, 16);
}

void m6ike_ikev2_ts_set_prefix6(m6ike_ikev2_ts *ts, const m6ike_addr6 *pfx,
                                unsigned plen) {
  m6ike_addr6 lo = *pfx, hi = *pfx;
  if (plen > 128) {
    plen = 128;
  }
  for (unsigned i = 0; i < 16; i++) {
    unsigned bits = plen > i * 8 ? plen - i * 8 : 0;
    uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
    lo.b[i] &= mask;
    hi.b[i] = (uint8_t)(lo.b[i] | (uint8_t)~mask);
  }
  m6ike_ikev2_ts_set6(ts, &lo, &hi, 0, 0, 0xffff);
}

void m6ike_ikev2_ts_mh_ports(m6ike_ikev2_ts *ts, uint8_t mh_type) {
  ts->start_port = (uint16_t)(mh_type << 8);
  ts->end_port = (uint16_t)(mh_type << 8 | 0xff);
}

void m6ike_ikev2_ts_set_mh(m6ike_ikev2_ts *ts, const m6ike_addr6 *addr,
                           uint8_t mh_type) {
  m6ike_ikev2_ts_set6(ts, addr, addr, M6IKE_IKEV2_IPPROTO_MH, 0, 0);
  m6ike_ikev2_ts_mh_ports(ts, mh_type);
}

int m6ike_ikev2_ts_get_mh(const m6ike_ikev2_ts *ts, uint8_t *mh_type) {
  if (ts == NULL || ts->ip_proto != M6IKE_IKEV2_IPPROTO_MH) {
    return 0;
  }
  if ((ts->start_port >> 8) != (ts->end_port >> 8) ||
      (ts->start_port & 0xff) != 0 ||
      ((ts->end_port & 0xff) != 0xff && (ts->end_port & 0xff) != 0)) {
    return 0;
  }
  if (mh_type != NULL) {
    *mh_type = (uint8_t)(ts->start_port >> 8);
  }
  return 1;
}

void m6ike_ikev2_cp_encode_ip6(uint8_t out[17], const m6ike_addr6 *addr,
                               uint8_t plen) {
  memcpy(out, addr->b, 16);
  out[16] = plen;
}

int m6ike_ikev2_cp_decode_ip6(const m6ike_ikev2_cp_attr *a, m6ike_addr6 *addr,
                              uint8_t *plen) {
  if (a == NULL || addr == NULL || plen == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if ((a->type != M6IKE_IKEV2_CP_INTERNAL_IP6_ADDRESS &&
       a->type != M6IKE_IKEV2_CP_INTERNAL_IP6_SUBNET) ||
      a->len != M6IKE_IKEV2_CP_IP6_ADDRESS_LEN) {
    return M6IKE_ERR_IKEV2_CP;
  }
  memcpy(addr->b, a->value, 16);
  *plen = a->value[16];
  return 0;
}

/*
 * MIP6_HOME_PREFIX value (RFC 5026 §4.2.1):
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                     Prefix Lifetime                           |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                     Home Prefix (16 octets)                   |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | Prefix Length |
 *  +-+-+-+-+-+-+-+-+
 */
void m6ike_ikev2_cp_encode_home_prefix(uint8_t out[21], uint32_t lifetime,
                                       const m6ike_addr6 *prefix,
                                       uint8_t plen) {
  uint8_t *p = m6ike_put_u32be(out, lifetime);
  p = m6ike_put_bytes(p, prefix->b, 16);
  *p = plen;
}

int m6ike_ikev2_cp_decode_home_prefix(const m6ike_ikev2_cp_attr *a,
                                      uint32_t *lifetime,
                                      m6ike_addr6 *prefix, uint8_t *plen) {
  if (a == NULL || lifetime == NULL || prefix == NULL || plen == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (a->type != M6IKE_IKEV2_CP_MIP6_HOME_PREFIX ||
      a->len != M6IKE_IKEV2_CP_MIP6_HOME_PREFIX_LEN) {
    return M6IKE_ERR_IKEV2_CP;
  }
  const uint8_t *p = m6ike_get_u32be(a->value, lifetime);
  p = m6ike_get_bytes(p, prefix->b, 16);
  *plen = *p;
  return 0;
}

/* ====================================================================== */
/* Exchange table                                                         */
/* ====================================================================== */

#define BIT(t) ((uint32_t)1 << ((t)-32))
#define ANY 0 /* no upper bound on the count */

typedef struct allow_t {
  uint8_t type;
  uint8_t max; /* ANY = unbounded */
} allow_t;

typedef struct exch_rule {
  uint8_t exchange;
  uint8_t response;
  uint8_t encrypted;    /* all payloads inside SK */
  const allow_t *allow; /* the payloads it may carry */
  uint8_t n_allow;
  const uint32_t *forms; /* one of these sets must be present */
  uint8_t n_forms;
  uint8_t sa_ts_group;  /* SA, TSi, TSr: all three or none */
  uint8_t error_only;   /* an error Notify (or COOKIE) excuses the forms */
  uint8_t child_rule;   /* CREATE_CHILD_SA: TSi/TSr pair; none -> KE */
} exch_rule;

/* IKE_SA_INIT request:  HDR, SA, KEi, Ni, [N+], [V+]          (§1.2)
 * IKE_SA_INIT response: HDR, SA, KEr, Nr, [CERTREQ], [N+], [V+] */
static const allow_t INIT_REQ[] = {
    {M6IKE_IKEV2_PL_SA, 1}, {M6IKE_IKEV2_PL_KE, 1},
    {M6IKE_IKEV2_PL_NONCE, 1}, {M6IKE_IKEV2_PL_NOTIFY, ANY},
    {M6IKE_IKEV2_PL_VENDOR, ANY}};
static const allow_t INIT_RESP[] = {
    {M6IKE_IKEV2_PL_SA, 1},          {M6IKE_IKEV2_PL_KE, 1},
    {M6IKE_IKEV2_PL_NONCE, 1},       {M6IKE_IKEV2_PL_CERTREQ, ANY},
    {M6IKE_IKEV2_PL_NOTIFY, ANY},    {M6IKE_IKEV2_PL_VENDOR, ANY}};
static const uint32_t INIT_FORMS[] = {
    BIT(M6IKE_IKEV2_PL_SA) | BIT(M6IKE_IKEV2_PL_KE) |
    BIT(M6IKE_IKEV2_PL_NONCE)};

/* IKE_AUTH request:  SK {IDi, [CERT+], [CERTREQ+], [IDr], AUTH, [CP],
 *                        [N+], SA, TSi, TSr, [V+]}   (+ EAP, §2.16)
 * IKE_AUTH response: SK {IDr, [CERT+], AUTH, [CP], [N+], SA, TSi, TSr,
 *                        [V+]}                       (+ EAP) */
static const allow_t AUTH_REQ[] = {
    {M6IKE_IKEV2_PL_IDI, 1},       {M6IKE_IKEV2_PL_CERT, ANY},
    {M6IKE_IKEV2_PL_CERTREQ, ANY}, {M6IKE_IKEV2_PL_IDR, 1},
    {M6IKE_IKEV2_PL_AUTH, 1},      {M6IKE_IKEV2_PL_CP, 1},
    {M6IKE_IKEV2_PL_NOTIFY, ANY},  {M6IKE_IKEV2_PL_SA, 1},
    {M6IKE_IKEV2_PL_TSI, 1},       {M6IKE_IKEV2_PL_TSR, 1},
    {M6IKE_IKEV2_PL_VENDOR, ANY},  {M6IKE_IKEV2_PL_EAP, 1}};
static const uint32_t AUTH_REQ_FORMS[] = {
    BIT(M6IKE_IKEV2_PL_IDI) | BIT(M6IKE_IKEV2_PL_AUTH),
    BIT(M6IKE_IKEV2_PL_IDI), /* EAP: the first request has no AUTH */
    BIT(M6IKE_IKEV2_PL_EAP), BIT(M6IKE_IKEV2_PL_AUTH)};
static const allow_t AUTH_RESP[] = {
    {M6IKE_IKEV2_PL_IDR, 1},      {M6IKE_IKEV2_PL_CERT, ANY},
    {M6IKE_IKEV2_PL_AUTH, 1},     {M6IKE_IKEV2_PL_CP, 1},
    {M6IKE_IKEV2_PL_NOTIFY, ANY}, {M6IKE_IKEV2_PL_SA, 1},
    {M6IKE_IKEV2_PL_TSI, 1},      {M6IKE_IKEV2_PL_TSR, 1},
    {M6IKE_IKEV2_PL_VENDOR, ANY}, {M6IKE_IKEV2_PL_EAP, 1}};
static const uint32_t AUTH_RESP_FORMS[] = {
    BIT(M6IKE_IKEV2_PL_IDR) | BIT(M6IKE_IKEV2_PL_AUTH),
    BIT(M6IKE_IKEV2_PL_EAP), BIT(M6IKE_IKEV2_PL_AUTH)};

/* CREATE_CHILD_SA request:  SK {[N+], SA, Ni, [KEi], [TSi, TSr]}  (§1.3)
 * CREATE_CHILD_SA response: SK {[N+], SA, Nr, [KEr], [TSi, TSr]} */
static const allow_t CHILD_MSG[] = {
    {M6IKE_IKEV2_PL_NOTIFY, ANY}, {M6IKE_IKEV2_PL_SA, 1},
    {M6IKE_IKEV2_PL_NONCE, 1},    {M6IKE_IKEV2_PL_KE, 1},
    {M6IKE_IKEV2_PL_TSI, 1},      {M6IKE_IKEV2_PL_TSR, 1}};
static const uint32_t CHILD_FORMS[] = {BIT(M6IKE_IKEV2_PL_SA) |
                                       BIT(M6IKE_IKEV2_PL_NONCE)};

/* INFORMATIONAL: SK {[N+], [D+], [CP+]}                            (§1.4) */
static const allow_t INFO_MSG[] = {{M6IKE_IKEV2_PL_NOTIFY, ANY},
                                   {M6IKE_IKEV2_PL_DELETE, ANY},
                                   {M6IKE_IKEV2_PL_CP, ANY}};

#define RULE(x, r, enc, A, F, g, e, c)                                      \
  {(x), (r), (enc), (A), (uint8_t)NFIELDS(A), (F), (uint8_t)NFIELDS(F), (g), \
   (e), (c)}

static const exch_rule RULES[] = {
    RULE(M6IKE_IKEV2_IKE_SA_INIT, 0, 0, INIT_REQ, INIT_FORMS, 0, 0, 0),
    RULE(M6IKE_IKEV2_IKE_SA_INIT, 1, 0, INIT_RESP, INIT_FORMS, 0, 1, 0),
    RULE(M6IKE_IKEV2_IKE_AUTH, 0, 1, AUTH_REQ, AUTH_REQ_FORMS, 1, 0, 0),
    RULE(M6IKE_IKEV2_IKE_AUTH, 1, 1, AUTH_RESP, AUTH_RESP_FORMS, 1, 1, 0),
    RULE(M6IKE_IKEV2_CREATE_CHILD_SA, 0, 1, CHILD_MSG, CHILD_FORMS, 0, 0, 1),
    RULE(M6IKE_IKEV2_CREATE_CHILD_SA, 1, 1, CHILD_MSG, CHILD_FORMS, 0, 1, 1),
    {M6IKE_IKEV2_INFORMATIONAL, 0, 1, INFO_MSG, (uint8_t)NFIELDS(INFO_MSG),
     NULL, 0, 0, 0, 0},
    {M6IKE_IKEV2_INFORMATIONAL, 1, 1, INFO_MSG, (uint8_t)NFIELDS(INFO_MSG),
     NULL, 0, 0, 0, 0},
};

static const exch_rule *rule_of(uint8_t exchange, int response) {
  for (size_t i = 0; i < NFIELDS(RULES); i++) {
    if (RULES[i].exchange == exchange &&
        RULES[i].response == (response != 0)) {
      return &RULES[i];
    }
  }
  return NULL;
}

static const allow_t *rule_allows(const exch_rule *r, uint8_t type) {
  for (size_t i = 0; i < r->n_allow; i++) {
    if (r->allow[i].type == type) {
      return &r->allow[i];
    }
  }
  return NULL;
}

int m6ike_ikev2_exchange_allows(uint8_t exchange, int response,
                                uint8_t type) {
  const exch_rule *r = rule_of(exchange, response);
  return r != NULL && rule_allows(r, type) != NULL;
}

/* Checks views [from, to) against rule r. */
static int check_set(m6ike_ikev2_msg *msg, const exch_rule *r, unsigned from,
                     unsigned to) {
  unsigned counts[17] = {0};
  uint32_t present = 0;
  int error_notify = 0;
  for (unsigned i = from; i < to; i++) {
    const m6ike_ikev2_payload *v = &msg->pl[i];
    if (!v->known) {
      continue; /* non-critical unknown: ignored (§2.5) */
    }
    const allow_t *a = rule_allows(r, v->type);
    msg->err_type = v->type;
    if (a == NULL) {
      return M6IKE_ERR_IKEV2_PL_NOT_ALLOWED;
    }
    unsigned c = ++counts[v->type - 32];
    if (a->max != ANY && c > a->max) {
      return M6IKE_ERR_IKEV2_PL_REPEATED;
    }
    present |= BIT(v->type);
    if (v->type == M6IKE_IKEV2_PL_NOTIFY && v->body_len >= 4) {
      uint16_t t;
      m6ike_get_u16be(v->body + 2, &t);
      if (t < M6IKE_IKEV2_N_STATUS_MIN ||
          (t == M6IKE_IKEV2_N_COOKIE &&
           r->exchange == M6IKE_IKEV2_IKE_SA_INIT)) {
        error_notify = 1;
      }
    }
    if (v->type == M6IKE_IKEV2_PL_SA) {
      m6ike_ikev2_sa sa;
      int rc = m6ike_ikev2_decode_sa(v, &sa);
      if (rc < 0) {
        return rc;
      }
      m6ike_ikev2_proposal p;
      size_t pos = 0;
      m6ike_ikev2_sa_next_proposal(&sa, &pos, &p);
      if (!r->response && p.num != 1) {
        return M6IKE_ERR_IKEV2_PROPOSAL_NUM; /* an offer starts at 1 */
      }
      if (r->response && sa.n_proposals != 1) {
        return M6IKE_ERR_IKEV2_PROPOSAL; /* a reply chooses one */
      }
    }
  }
  msg->err_type = 0;
  if (r->response && r->error_only && error_notify) {
    return 0;
  }
  if (r->n_forms > 0) {
    uint32_t missing = 0;
    int ok = 0;
    for (size_t i = 0; i < r->n_forms && !ok; i++) {
      if ((present & r->forms[i]) == r->forms[i]) {
        ok = 1;
      } else if (i == 0) {
        missing = r->forms[i] & ~present;
      }
    }
    if (!ok) {
      for (uint8_t t = M6IKE_IKEV2_PL_SA; t <= M6IKE_IKEV2_PL_EAP; t++) {
        if (missing & BIT(t)) {
          msg->err_type = t;
          break;
        }
      }
      return M6IKE_ERR_IKEV2_PL_MISSING;
    }
  }
  uint32_t trio = BIT(M6IKE_IKEV2_PL_SA) | BIT(M6IKE_IKEV2_PL_TSI) |
                  BIT(M6IKE_IKEV2_PL_TSR);
  uint32_t pair = BIT(M6IKE_IKEV2_PL_TSI) | BIT(M6IKE_IKEV2_PL_TSR);
  uint32_t group = r->sa_ts_group ? trio : r->child_rule ? pair : 0;
  if (group && (present & group) != 0 && (present & group) != group) {
    uint32_t missing = group & ~present;
    for (uint8_t t = M6IKE_IKEV2_PL_SA; t <= M6IKE_IKEV2_PL_TSR; t++) {
      if (missing & BIT(t)) {
        msg->err_type = t;
        break;
      }
    }
    return M6IKE_ERR_IKEV2_PL_MISSING;
  }
  if (r->child_rule && !(present & pair) &&
      !(present & BIT(M6IKE_IKEV2_PL_KE))) {
    msg->err_type = M6IKE_IKEV2_PL_KE; /* IKE SA rekey needs KE */
    return M6IKE_ERR_IKEV2_PL_MISSING;
  }
  return 0;
}

int m6ike_ikev2_check_exchange(m6ike_ikev2_msg *msg) {
  if (msg == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  msg->err_type = 0;
  const exch_rule *r =
      rule_of(msg->hdr.exchange, (msg->hdr.flags & M6IKE_IKEV2_FLAG_R) != 0);
  if (r == NULL) {
    return M6IKE_ERR_IKEV2_UNKNOWN_EXCHANGE;
  }
  if (!r->encrypted) {
    if (msg->sk >= 0) {
      msg->err_type = M6IKE_IKEV2_PL_SK;
      return M6IKE_ERR_IKEV2_PL_NOT_ALLOWED;
    }
    return check_set(msg, r, 0, msg->outer_count);
  }
  if (msg->sk < 0) {
    msg->err_type = M6IKE_IKEV2_PL_SK;
    return M6IKE_ERR_IKEV2_NOT_ENCRYPTED;
  }
  for (unsigned i = 0; i < msg->outer_count; i++) {
    if (msg->pl[i].known && msg->pl[i].type != M6IKE_IKEV2_PL_SK) {
      msg->err_type = msg->pl[i].type;
      return M6IKE_ERR_IKEV2_NOT_ENCRYPTED;
    }
  }
  if (!msg->inner_parsed) {
    return 1;
  }
  return check_set(msg, r, msg->outer_count, msg->count);
}

uint16_t m6ike_ikev2_err_to_notify(int code) {
  switch (code) {
  case M6IKE_ERR_IKEV2_MAJOR_VERSION:
    return M6IKE_IKEV2_N_INVALID_MAJOR_VERSION;
  case M6IKE_ERR_IKEV2_UNSUPPORTED_CRITICAL:
    return M6IKE_IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD;
  case M6IKE_ERR_IKEV2_PL_TRUNCATED:
  case M6IKE_ERR_IKEV2_PL_LENGTH:
  case M6IKE_ERR_IKEV2_PL_OVERRUN:
  case M6IKE_ERR_IKEV2_TRAILING:
  case M6IKE_ERR_IKEV2_TOO_MANY_PAYLOADS:
  case M6IKE_ERR_IKEV2_SK_NOT_LAST:
  case M6IKE_ERR_IKEV2_SK_NESTED:
  case M6IKE_ERR_IKEV2_BODY_SHORT:
  case M6IKE_ERR_IKEV2_PROPOSAL:
  case M6IKE_ERR_IKEV2_PROPOSAL_NUM:
  case M6IKE_ERR_IKEV2_TRANSFORM:
  case M6IKE_ERR_IKEV2_ATTRIBUTE:
  case M6IKE_ERR_IKEV2_TS:
  case M6IKE_ERR_IKEV2_ID:
  case M6IKE_ERR_IKEV2_NOTIFY:
  case M6IKE_ERR_IKEV2_DELETE:
  case M6IKE_ERR_IKEV2_CP:
  case M6IKE_ERR_IKEV2_NONCE:
  case M6IKE_ERR_IKEV2_CERT:
  case M6IKE_ERR_IKEV2_EAP:
  case M6IKE_ERR_IKEV2_PL_NOT_ALLOWED:
  case M6IKE_ERR_IKEV2_PL_MISSING:
  case M6IKE_ERR_IKEV2_PL_REPEATED:
  case M6IKE_ERR_IKEV2_NOT_ENCRYPTED:
  case M6IKE_ERR_IKEV2_SK_PADDING:
  case M6IKE_ERR_IKEV2_KE:
    return M6IKE_IKEV2_N_INVALID_SYNTAX;
  default: /* HDR_TRUNCATED, MSG_LENGTH, MSG_TRUNCATED, UNKNOWN_EXCHANGE,
              SK_SHORT (fails integrity: drop), builder and caller codes */
    return 0;
  }
}

/* ====================================================================== */
/* Builder                                                                */
/* ====================================================================== */

#define NONE_OFF ((size_t)-1)

static int bfail(m6ike_ikev2_builder *b, int code) {
  if (b->err == 0) {
    b->err = code;
  }
  return b->err;
}

static int room(m6ike_ikev2_builder *b, size_t n) {
  if (b->cap - b->len < n) {
    return bfail(b, M6IKE_ERR_NOBUF);
  }
  return 0;
}

int m6ike_ikev2_builder_begin(m6ike_ikev2_builder *b, uint8_t *buf,
                              size_t cap, const m6ike_ikev2_hdr *hdr) {
  if (b == NULL || buf == NULL || hdr == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  memset(b, 0, sizeof(*b));
  b->buf = buf;
  b->cap = cap;
  b->open_off = b->prop_off = b->xf_off = b->sk_off = NONE_OFF;
  if (cap < M6IKE_IKEV2_HDR_LEN) {
    return bfail(b, M6IKE_ERR_NOBUF);
  }
  m6ike_ikev2_hdr h = *hdr;
  if (h.major == 0) {
    h.major = M6IKE_IKEV2_MAJOR;
  }
  h.next_payload = 0;
  h.length = 0;
  fields_put(IKE_HDR_F, NFIELDS(IKE_HDR_F), M6IKE_IKEV2_HDR_LEN, buf, &h);
  b->len = M6IKE_IKEV2_HDR_LEN;
  b->np_off = 16;
  return 0;
}

/* Common state check of every add: returns 0 or the sticky error. */
static int can_add(m6ike_ikev2_builder *b) {
  if (b == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (b->err) {
    return b->err;
  }
  if (b->finished || b->sk_state == 2 || b->open_off != NONE_OFF) {
    return bfail(b, M6IKE_ERR_IKEV2_BUILDER_STATE);
  }
  return 0;
}

/* Opens a payload: chains its type, writes the generic header with
 * Length 0.  Returns 0 or an error; *start = offset of the header. */
static int pl_open(m6ike_ikev2_builder *b, uint8_t type, int critical,
                   size_t *start) {
  int rc = can_add(b);
  if (rc) {
    return rc;
  }
  if ((rc = room(b, M6IKE_IKEV2_PL_HDR_LEN)) != 0) {
    return rc;
  }
  gen_hdr g = {0, (uint8_t)(critical != 0), 0};
  b->buf[b->np_off] = type;
  *start = b->len;
  fields_put(GEN_HDR_F, NFIELDS(GEN_HDR_F), M6IKE_IKEV2_PL_HDR_LEN,
             b->buf + b->len, &g);
  b->np_off = b->len; /* Next Payload is the first octet */
  b->len += M6IKE_IKEV2_PL_HDR_LEN;
  return 0;
}

static int pl_close(m6ike_ikev2_builder *b, size_t start) {
  size_t n = b->len - start;
  if (n > 0xffff) {
    return bfail(b, M6IKE_ERR_IKEV2_TOO_LONG);
  }
  m6ike_put_u16be(b->buf + start + 2, (uint16_t)n);
  return 0;
}

static int put(m6ike_ikev2_builder *b, const void *src, size_t n) {
  if (n > 0 && src == NULL) {
    return bfail(b, M6IKE_ERR_INVALID_ARGUMENT);
  }
  int rc = room(b, n);
  if (rc) {
    return rc;
  }
  m6ike_put_bytes(b->buf + b->len, src, n);
  b->len += n;
  return 0;
}

/* A whole payload: fixed part from `in` per the descriptor, then up to two
 * tail segments. */
static int add_desc(m6ike_ikev2_builder *b, uint8_t type, const void *in,
                    const uint8_t *t1, size_t n1, const uint8_t *t2,
                    size_t n2) {
  const pdesc *d = pdesc_of(type);
  size_t start;
  int rc = pl_open(b, type, 0, &start);
  if (rc) {
    return rc;
  }
  if (d->fixed > 0) {
    if ((rc = room(b, d->fixed)) != 0) {
      return rc;
    }
    fields_put(d->f, d->nf, d->fixed, b->buf + b->len, in);
    b->len += d->fixed;
  }
  if ((rc = put(b, t1, n1)) != 0 || (rc = put(b, t2, n2)) != 0) {
    return rc;
  }
  return pl_close(b, start);
}

int m6ike_ikev2_add_ke(m6ike_ikev2_builder *b, const m6ike_ikev2_ke *ke) {
  if (ke == NULL) {
    return b ? bfail(b, M6IKE_ERR_INVALID_ARGUMENT)
             : M6IKE_ERR_INVALID_ARGUMENT;
  }
  return add_desc(b, M6IKE_IKEV2_PL_KE, ke, ke->data, ke->len, NULL, 0);
}

int m6ike_ikev2_add_id(m6ike_ikev2_builder *b, uint8_t type,
                       const m6ike_ikev2_id *id) {
  if (b == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (id == NULL ||
      (type != M6IKE_IKEV2_PL_IDI && type != M6IKE_IKEV2_PL_IDR)) {
    return bfail(b, M6IKE_ERR_INVALID_ARGUMENT);
  }
  return add_desc(b, type, id, id->data, id->len, NULL, 0);
}

int m6ike_ikev2_add_cert(m6ike_ikev2_builder *b, const m6ike_ikev2_cert *c) {
  if (b == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (c == NULL) {
    return bfail(b, M6IKE_ERR_INVALID_ARGUMENT);
  }
  return add_desc(b, M6IKE_IKEV2_PL_CERT, c, c->data, c->len, NULL, 0);
}

int m6ike_ikev2_add_certreq(m6ike_ikev2_builder *b,
                            const m6ike_ikev2_cert *c) {
  if (b == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (c == NULL) {
    return bfail(b, M6IKE_ERR_INVALID_ARGUMENT);
  }
  return add_desc(b, M6IKE_IKEV2_PL_CERTREQ, c, c->data, c->len, NULL, 0);
}

int m6ike_ikev2_add_auth(m6ike_ikev2_builder *b, const m6ike_ikev2_auth *a) {
  if (b == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (a == NULL) {
    return bfail(b, M6IKE_ERR_INVALID_ARGUMENT);
  }
  return add_desc(b, M6IKE_IKEV2_PL_AUTH, a, a->data, a->len, NULL, 0);
}

int m6ike_ikev2_add_nonce(m6ike_ikev2_builder *b, const uint8_t *nonce,
                          size_t len) {
  return add_desc(b, M6IKE_IKEV2_PL_NONCE, NULL, nonce, len, NULL, 0);
}

int m6ike_ikev2_add_notify(m6ike_ikev2_builder *b,
                           const m6ike_ikev2_notify *n) {
  if (b == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (n == NULL) {
    return bfail(b, M6IKE_ERR_INVALID_ARGUMENT);
  }
  return add_desc(b, M6IKE_IKEV2_PL_NOTIFY, n, n->spi, n->spi_size, n->data,
                  n->len);
}

int m6ike_ikev2_add_notify_data(m6ike_ikev2_builder *b, uint16_t type,
                                const uint8_t *data, size_t len) {
  m6ike_ikev2_notify n;
  memset(&n, 0, sizeof(n));
  n.type = type;
  n.data = data;
  n.len = len;
  return m6ike_ikev2_add_notify(b, &n);
}

int m6ike_ikev2_add_notify_invalid_ke(m6ike_ikev2_builder *b,
                                      uint16_t group) {
  uint8_t d[2];
  m6ike_put_u16be(d, group);
  return m6ike_ikev2_add_notify_data(b, M6IKE_IKEV2_N_INVALID_KE_PAYLOAD, d,
                                     2);
}

int m6ike_ikev2_add_notify_rekey_sa(m6ike_ikev2_builder *b, uint8_t proto,
                                    uint32_t spi) {
  uint8_t s[4];
  m6ike_ikev2_notify n;
  memset(&n, 0, sizeof(n));
  m6ike_put_u32be(s, spi);
  n.proto = proto;
  n.spi_size = 4;
  n.spi = s;
  n.type = M6IKE_IKEV2_N_REKEY_SA;
  return m6ike_ikev2_add_notify(b, &n);
}

int m6ike_ikev2_add_notify_m6ike_update(m6ike_ikev2_builder *b, uint32_t mpi,
                                        const m6ike_addr6 *coa) {
  uint8_t d[M6IKE_IKEV2_M6IKE_UPDATE_LEN];
  if (coa == NULL) {
    return b ? bfail(b, M6IKE_ERR_INVALID_ARGUMENT)
             : M6IKE_ERR_INVALID_ARGUMENT;
  }
  m6ike_put_bytes(m6ike_put_u32be(d, mpi), coa->b, 16);
  return m6ike_ikev2_add_notify_data(
      b, M6IKE_IKEV2_N_M6IKE_SA_ADDRESS_UPDATE, d, sizeof(d));
}

int m6ike_ikev2_add_delete(m6ike_ikev2_builder *b,
                           const m6ike_ikev2_delete *d) {
  if (b == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (d == NULL) {
    return bfail(b, M6IKE_ERR_INVALID_ARGUMENT);
  }
  return add_desc(b, M6IKE_IKEV2_PL_DELETE, d, d->spis,
                  (size_t)d->num_spi * d->spi_size, NULL, 0);
}

int m6ike_ikev2_add_vendor(m6ike_ikev2_builder *b, const uint8_t *vid,
                           size_t len) {
  return add_desc(b, M6IKE_IKEV2_PL_VENDOR, NULL, vid, len, NULL, 0);
}

int m6ike_ikev2_add_eap(m6ike_ikev2_builder *b, const uint8_t *eap,
                        size_t len) {
  return add_desc(b, M6IKE_IKEV2_PL_EAP, NULL, eap, len, NULL, 0);
}

int m6ike_ikev2_add_raw(m6ike_ikev2_builder *b, uint8_t type, int critical,
                        const uint8_t *body, size_t len) {
  size_t start;
  int rc;
  if (b != NULL && (type == M6IKE_IKEV2_PL_NONE || type == M6IKE_IKEV2_PL_SK)) {
    return bfail(b, M6IKE_ERR_INVALID_ARGUMENT);
  }
  if ((rc = pl_open(b, type, critical, &start)) != 0 ||
      (rc = put(b, body, len)) != 0) {
    return rc;
  }
  return pl_close(b, start);
}

int m6ike_ikev2_add_ts(m6ike_ikev2_builder *b, uint8_t type,
                       const m6ike_ikev2_ts *ts, size_t n) {
  if (b == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if ((type != M6IKE_IKEV2_PL_TSI && type != M6IKE_IKEV2_PL_TSR) ||
      ts == NULL || n == 0) {
    return bfail(b, M6IKE_ERR_INVALID_ARGUMENT);
  }
  if (n > 255) {
    return bfail(b, M6IKE_ERR_IKEV2_TOO_LONG);
  }
  for (size_t i = 0; i < n; i++) {
    if (ts_addr_len(ts[i].ts_type) == 0) {
      return bfail(b, M6IKE_ERR_INVALID_ARGUMENT);
    }
  }
  m6ike_ikev2_ts_payload tp = {(uint8_t)n, NULL, 0};
  int rc = add_desc(b, type, &tp, NULL, 0, NULL, 0);
  if (rc) {
    return rc;
  }
  /* add_desc closed the payload; reopen its length after the selectors */
  size_t start = b->np_off;
  for (size_t i = 0; i < n; i++) {
    size_t al = ts_addr_len(ts[i].ts_type);
    ts_raw r;
    r.ts = ts[i];
    r.sel_len = (uint16_t)(TS_FIXED + 2 * al);
    if ((rc = room(b, r.sel_len)) != 0) {
      return rc;
    }
    fields_put(TS_F, NFIELDS(TS_F), TS_FIXED, b->buf + b->len, &r);
    memcpy(b->buf + b->len + TS_FIXED, ts[i].start_addr, al);
    memcpy(b->buf + b->len + TS_FIXED + al, ts[i].end_addr, al);
    b->len += r.sel_len;
  }
  return pl_close(b, start);
}

int m6ike_ikev2_add_cp(m6ike_ikev2_builder *b, uint8_t cfg_type,
                       const m6ike_ikev2_cp_attr *attrs, size_t n) {
  if (b == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (attrs == NULL && n > 0) {
    return bfail(b, M6IKE_ERR_INVALID_ARGUMENT);
  }
  for (size_t i = 0; i < n; i++) {
    if (attrs[i].type > 0x7fff || (attrs[i].len > 0 && !attrs[i].value)) {
      return bfail(b, M6IKE_ERR_INVALID_ARGUMENT);
    }
  }
  m6ike_ikev2_cp cp = {cfg_type, 0, NULL, 0};
  int rc = add_desc(b, M6IKE_IKEV2_PL_CP, &cp, NULL, 0, NULL, 0);
  if (rc) {
    return rc;
  }
  size_t start = b->np_off;
  for (size_t i = 0; i < n; i++) {
    if ((rc = room(b, CPA_FIXED)) != 0) {
      return rc;
    }
    fields_put(CPA_F, NFIELDS(CPA_F), CPA_FIXED, b->buf + b->len, &attrs[i]);
    b->len += CPA_FIXED;
    if ((rc = put(b, attrs[i].value, attrs[i].len)) != 0) {
      return rc;
    }
  }
  return pl_close(b, start);
}

/* --- SA ---------------------------------------------------------------- */

static int xf_close(m6ike_ikev2_builder *b, int more) {
  if (b->xf_off == NONE_OFF) {
    return 0;
  }
  size_t n = b->len - b->xf_off;
  if (n > 0xffff) {
    return bfail(b, M6IKE_ERR_IKEV2_TOO_LONG);
  }
  b->buf[b->xf_off] = more ? XF_MORE : XF_LAST;
  m6ike_put_u16be(b->buf + b->xf_off + 2, (uint16_t)n);
  b->xf_off = NONE_OFF;
  return 0;
}

static int prop_close(m6ike_ikev2_builder *b, int more) {
  int rc = xf_close(b, 0);
  if (rc || b->prop_off == NONE_OFF) {
    return rc;
  }
  size_t n = b->len - b->prop_off;
  if (n > 0xffff) {
    return bfail(b, M6IKE_ERR_IKEV2_TOO_LONG);
  }
  b->buf[b->prop_off] = more ? PROP_MORE : PROP_LAST;
  m6ike_put_u16be(b->buf + b->prop_off + 2, (uint16_t)n);
  b->prop_off = NONE_OFF;
  return 0;
}

int m6ike_ikev2_sa_begin(m6ike_ikev2_builder *b) {
  size_t start;
  int rc = pl_open(b, M6IKE_IKEV2_PL_SA, 0, &start);
  if (rc) {
    return rc;
  }
  b->open_off = start;
  b->prop_num = 0;
  return 0;
}

int m6ike_ikev2_sa_proposal(m6ike_ikev2_builder *b, uint8_t num,
                            uint8_t proto, const uint8_t *spi,
                            uint8_t spi_size) {
  if (b == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (b->err) {
    return b->err;
  }
  if (b->open_off == NONE_OFF) {
    return bfail(b, M6IKE_ERR_IKEV2_BUILDER_STATE);
  }
  int rc = prop_close(b, 1);
  if (rc || (rc = room(b, PROP_FIXED)) != 0) {
    return rc;
  }
  prop_raw r;
  memset(&r, 0, sizeof(r));
  r.p.num = num ? num : (uint8_t)(b->prop_num + 1);
  r.p.proto = proto;
  r.p.spi_size = spi_size;
  b->prop_off = b->len;
  fields_put(PROP_F, NFIELDS(PROP_F), PROP_FIXED, b->buf + b->len, &r);
  b->len += PROP_FIXED;
  b->prop_num = r.p.num;
  return put(b, spi, spi_size);
}

int m6ike_ikev2_sa_transform(m6ike_ikev2_builder *b, uint8_t type,
                             uint16_t id, int32_t key_len) {
  if (b == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (b->err) {
    return b->err;
  }
  if (b->prop_off == NONE_OFF) {
    return bfail(b, M6IKE_ERR_IKEV2_BUILDER_STATE);
  }
  if (key_len > 0xffff) {
    return bfail(b, M6IKE_ERR_INVALID_ARGUMENT);
  }
  uint8_t *count = &b->buf[b->prop_off + 7];
  if (*count == 255) {
    return bfail(b, M6IKE_ERR_IKEV2_TOO_LONG);
  }
  int rc = xf_close(b, 1);
  if (rc || (rc = room(b, XF_FIXED)) != 0) {
    return rc;
  }
  xf_raw x;
  memset(&x, 0, sizeof(x));
  x.t.type = type;
  x.t.id = id;
  b->xf_off = b->len;
  fields_put(XF_F, NFIELDS(XF_F), XF_FIXED, b->buf + b->len, &x);
  b->len += XF_FIXED;
  (*count)++;
  if (key_len >= 0) {
    m6ike_ikev2_attr a = {M6IKE_IKEV2_ATTR_KEY_LENGTH, 1, (uint16_t)key_len,
                          NULL, 0};
    return m6ike_ikev2_sa_attr(b, &a);
  }
  return 0;
}

int m6ike_ikev2_sa_attr(m6ike_ikev2_builder *b, const m6ike_ikev2_attr *a) {
  if (b == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (b->err) {
    return b->err;
  }
  if (b->xf_off == NONE_OFF) {
    return bfail(b, M6IKE_ERR_IKEV2_BUILDER_STATE);
  }
  if (a == NULL || a->type > 0x7fff || (!a->tv && a->len && !a->data)) {
    return bfail(b, M6IKE_ERR_INVALID_ARGUMENT);
  }
  attr_raw r = {(uint8_t)(a->tv != 0), a->type, a->tv ? a->value : a->len};
  int rc = room(b, ATTR_FIXED);
  if (rc) {
    return rc;
  }
  fields_put(ATTR_F, NFIELDS(ATTR_F), ATTR_FIXED, b->buf + b->len, &r);
  b->len += ATTR_FIXED;
  return a->tv ? 0 : put(b, a->data, a->len);
}

int m6ike_ikev2_sa_end(m6ike_ikev2_builder *b) {
  if (b == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (b->err) {
    return b->err;
  }
  if (b->open_off == NONE_OFF || b->prop_num == 0) {
    return bfail(b, M6IKE_ERR_IKEV2_BUILDER_STATE);
  }
  int rc = prop_close(b, 0);
  if (rc) {
    return rc;
  }
  size_t start = b->open_off;
  b->open_off = NONE_OFF;
  return pl_close(b, start);
}

int m6ike_ikev2_add_sa(m6ike_ikev2_builder *b,
                       const m6ike_ikev2_prop_spec *props, size_t n,
                       uint8_t first_num) {
  if (b == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (props == NULL || n == 0 || first_num == 0) {
    return bfail(b, M6IKE_ERR_INVALID_ARGUMENT);
  }
  if (n > 255 || (size_t)first_num + n - 1 > 255) {
    return bfail(b, M6IKE_ERR_IKEV2_TOO_LONG);
  }
  int rc = m6ike_ikev2_sa_begin(b);
  for (size_t i = 0; i < n && rc == 0; i++) {
    if (props[i].xf == NULL && props[i].n_xf > 0) {
      return bfail(b, M6IKE_ERR_INVALID_ARGUMENT);
    }
    rc = m6ike_ikev2_sa_proposal(b, (uint8_t)(first_num + i), props[i].proto,
                                 props[i].spi, props[i].spi_size);
    for (size_t j = 0; j < props[i].n_xf && rc == 0; j++) {
      rc = m6ike_ikev2_sa_transform(b, props[i].xf[j].type, props[i].xf[j].id,
                                    props[i].xf[j].key_len);
    }
  }
  return rc ? rc : m6ike_ikev2_sa_end(b);
}

/* --- SK ---------------------------------------------------------------- */

int m6ike_ikev2_sk_begin(m6ike_ikev2_builder *b, size_t iv_len) {
  if (b == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (b->err) {
    return b->err;
  }
  if (b->sk_state != 0) {
    return bfail(b, M6IKE_ERR_IKEV2_BUILDER_STATE);
  }
  if (iv_len > 255) {
    return bfail(b, M6IKE_ERR_IKEV2_TOO_LONG);
  }
  size_t start;
  int rc = pl_open(b, M6IKE_IKEV2_PL_SK, 0, &start);
  if (rc || (rc = room(b, iv_len)) != 0) {
    return rc;
  }
  m6ike_put_zero(b->buf + b->len, iv_len);
  b->len += iv_len;
  b->sk_off = start;
  b->sk_iv_len = iv_len;
  b->sk_inner = b->len;
  b->sk_state = 1;
  b->np_off = start; /* the SK's Next Payload names the first inner one */
  return (int)b->len;
}

int m6ike_ikev2_sk_end(m6ike_ikev2_builder *b, size_t block_size,
                       size_t icv_len, m6ike_ikev2_sk_region *out) {
  if (b == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (b->err) {
    return b->err;
  }
  if (b->sk_state != 1 || b->open_off != NONE_OFF || b->finished) {
    return bfail(b, M6IKE_ERR_IKEV2_BUILDER_STATE);
  }
  if (block_size == 0 || block_size > 255 || out == NULL) {
    return bfail(b, M6IKE_ERR_INVALID_ARGUMENT);
  }
  if (icv_len > 255) {
    return bfail(b, M6IKE_ERR_IKEV2_TOO_LONG);
  }
  size_t inner = b->len - b->sk_inner;
  size_t pad = (block_size - (inner + 1) % block_size) % block_size;
  int rc = room(b, pad + 1 + icv_len);
  if (rc) {
    return rc;
  }
  m6ike_put_zero(b->buf + b->len, pad);
  b->buf[b->len + pad] = (uint8_t)pad;
  m6ike_put_zero(b->buf + b->len + pad + 1, icv_len);
  b->len += pad + 1 + icv_len;
  if ((rc = pl_close(b, b->sk_off)) != 0) {
    return rc;
  }
  out->payload_off = b->sk_off;
  out->iv_off = b->sk_off + M6IKE_IKEV2_PL_HDR_LEN;
  out->iv_len = b->sk_iv_len;
  out->plain_off = b->sk_inner;
  out->plain_len = inner + pad + 1;
  out->icv_off = out->plain_off + out->plain_len;
  out->icv_len = icv_len;
  b->sk_state = 2;
  return 0;
}

int m6ike_ikev2_builder_finish(m6ike_ikev2_builder *b) {
  if (b == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (b->err) {
    return b->err;
  }
  if (b->open_off != NONE_OFF || b->sk_state == 1) {
    return bfail(b, M6IKE_ERR_IKEV2_BUILDER_STATE);
  }
  if (b->len > 0x7fffffff) {
    return bfail(b, M6IKE_ERR_IKEV2_TOO_LONG);
  }
  m6ike_put_u32be(b->buf + 24, (uint32_t)b->len);
  b->finished = 1;
  return (int)b->len;
}

/* ====================================================================== */
/* Names, format, errors                                                  */
/* ====================================================================== */

const char *m6ike_ikev2_exchange_name(uint8_t exchange) {
  switch (exchange) {
  case M6IKE_IKEV2_IKE_SA_INIT:
    return "IKE_SA_INIT";
  case M6IKE_IKEV2_IKE_AUTH:
    return "IKE_AUTH";
  case M6IKE_IKEV2_CREATE_CHILD_SA:
    return "CREATE_CHILD_SA";
  case M6IKE_IKEV2_INFORMATIONAL:
    return "INFORMATIONAL";
  default:
    return NULL;
  }
}

const char *m6ike_ikev2_payload_name(uint8_t type) {
  const pdesc *d = pdesc_of(type);
  return d ? d->name : NULL;
}

typedef struct notify_name {
  uint16_t type;
  const char *name, *short_name;
} notify_name;

static const notify_name NOTIFY_NAMES[] = {
    {1, "UNSUPPORTED_CRITICAL_PAYLOAD", "UNSUPPORTED_CRIT"},
    {4, "INVALID_IKE_SPI", "INVAL_IKE_SPI"},
    {5, "INVALID_MAJOR_VERSION", "INVAL_MAJOR"},
    {7, "INVALID_SYNTAX", "INVAL_SYN"},
    {9, "INVALID_MESSAGE_ID", "INVAL_MID"},
    {11, "INVALID_SPI", "INVAL_SPI"},
    {14, "NO_PROPOSAL_CHOSEN", "NO_PROP"},
    {17, "INVALID_KE_PAYLOAD", "INVAL_KE"},
    {24, "AUTHENTICATION_FAILED", "AUTH_FAILED"},
    {34, "SINGLE_PAIR_REQUIRED", "SINGLE_PAIR"},
    {35, "NO_ADDITIONAL_SAS", "NO_ADD_SAS"},
    {36, "INTERNAL_ADDRESS_FAILURE", "INT_ADDR_FAIL"},
    {37, "FAILED_CP_REQUIRED", "FAIL_CP_REQ"},
    {38, "TS_UNACCEPTABLE", "TS_UNACCEPT"},
    {39, "INVALID_SELECTORS", "INVAL_SEL"},
    {40, "UNACCEPTABLE_ADDRESSES", "UNACCEPT_ADDR"},
    {41, "UNEXPECTED_NAT_DETECTED", "UNEXPECT_NAT"},
    {43, "TEMPORARY_FAILURE", "TEMP_FAIL"},
    {44, "CHILD_SA_NOT_FOUND", "NO_CHILD_SA"},
    {16384, "INITIAL_CONTACT", "INIT_CONTACT"},
    {16385, "SET_WINDOW_SIZE", "SET_WINSIZE"},
    {16386, "ADDITIONAL_TS_POSSIBLE", "ADD_TS_POSS"},
    {16387, "IPCOMP_SUPPORTED", "IPCOMP_SUP"},
    {16388, "NAT_DETECTION_SOURCE_IP", "NAT_D_S"},
    {16389, "NAT_DETECTION_DESTINATION_IP", "NAT_D_D"},
    {16390, "COOKIE", "COOKIE"},
    {16391, "USE_TRANSPORT_MODE", "USE_TRANSP"},
    {16392, "HTTP_CERT_LOOKUP_SUPPORTED", "HTTP_CERT_LOOK"},
    {16393, "REKEY_SA", "REKEY_SA"},
    {16394, "ESP_TFC_PADDING_NOT_SUPPORTED", "ESP_TFC_PAD_N"},
    {16395, "NON_FIRST_FRAGMENTS_ALSO", "NON_FIRST_FRAG"},
    {16396, "MOBIKE_SUPPORTED", "MOBIKE_SUP"},
    {16397, "ADDITIONAL_IP4_ADDRESS", "ADD_4_ADDR"},
    {16398, "ADDITIONAL_IP6_ADDRESS", "ADD_6_ADDR"},
    {16399, "NO_ADDITIONAL_ADDRESSES", "NO_ADD_ADDR"},
    {16400, "UPDATE_SA_ADDRESSES", "UPD_SA_ADDR"},
    {16401, "COOKIE2", "COOKIE2"},
    {16402, "NO_NATS_ALLOWED", "NO_NATS"},
    {16430, "IKEV2_FRAGMENTATION_SUPPORTED", "FRAG_SUP"},
    {16431, "SIGNATURE_HASH_ALGORITHMS", "HASH_ALG"},
    {40961, "M6IKE_SA_ADDRESS_UPDATE", "M6IKE_UPD"},
};

static const notify_name *notify_lookup(uint16_t type) {
  for (size_t i = 0; i < NFIELDS(NOTIFY_NAMES); i++) {
    if (NOTIFY_NAMES[i].type == type) {
      return &NOTIFY_NAMES[i];
    }
  }
  return NULL;
}

const char *m6ike_ikev2_notify_name(uint16_t type) {
  const notify_name *n = notify_lookup(type);
  return n ? n->name : NULL;
}

const char *m6ike_ikev2_notify_short_name(uint16_t type) {
  const notify_name *n = notify_lookup(type);
  return n ? n->short_name : NULL;
}

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

static void fmt_payload(char *buf, size_t cap, size_t *used,
                        const m6ike_ikev2_payload *v, int response,
                        int first) {
  const char *sep = first ? "" : " ";
  if (v->type == M6IKE_IKEV2_PL_NONCE) {
    fmt_add(buf, cap, used, "%s%s", sep, response ? "Nr" : "Ni");
  } else if (v->type == M6IKE_IKEV2_PL_NOTIFY) {
    uint16_t t = 0;
    if (v->body_len >= 4) {
      m6ike_get_u16be(v->body + 2, &t);
    }
    const char *nm = m6ike_ikev2_notify_short_name(t);
    if (nm) {
      fmt_add(buf, cap, used, "%sN(%s)", sep, nm);
    } else {
      fmt_add(buf, cap, used, "%sN(%u)", sep, (unsigned)t);
    }
  } else if (v->known) {
    fmt_add(buf, cap, used, "%s%s", sep, m6ike_ikev2_payload_name(v->type));
  } else {
    fmt_add(buf, cap, used, "%sPL(%u)", sep, (unsigned)v->type);
  }
}

char *m6ike_ikev2_format(const m6ike_ikev2_msg *msg, char *buf, size_t cap) {
  size_t used = 0;
  if (buf == NULL || cap == 0) {
    return buf;
  }
  buf[0] = '\0';
  if (msg == NULL) {
    return buf;
  }
  int resp = (msg->hdr.flags & M6IKE_IKEV2_FLAG_R) != 0;
  const char *x = m6ike_ikev2_exchange_name(msg->hdr.exchange);
  if (x) {
    fmt_add(buf, cap, &used, "%s", x);
  } else {
    fmt_add(buf, cap, &used, "EXCHANGE(%u)", (unsigned)msg->hdr.exchange);
  }
  fmt_add(buf, cap, &used, " %s mid=%lu [", resp ? "response" : "request",
          (unsigned long)msg->hdr.msg_id);
  for (unsigned i = 0; i < msg->outer_count && i < msg->count; i++) {
    const m6ike_ikev2_payload *v = &msg->pl[i];
    fmt_payload(buf, cap, &used, v, resp, i == 0);
    if (v->type == M6IKE_IKEV2_PL_SK && msg->inner_parsed) {
      fmt_add(buf, cap, &used, "{");
      for (unsigned j = msg->outer_count; j < msg->count; j++) {
        fmt_payload(buf, cap, &used, &msg->pl[j], resp,
                    j == msg->outer_count);
      }
      fmt_add(buf, cap, &used, "}");
    }
  }
  fmt_add(buf, cap, &used, "]");
  return buf;
}

const char *m6ike_ikev2_msg_strerror_(int code) {
  switch (code) {
  case M6IKE_ERR_IKEV2_HDR_TRUNCATED:
    return "IKEv2 message shorter than the 28-octet IKE header";
  case M6IKE_ERR_IKEV2_MAJOR_VERSION:
    return "IKEv2 header MjVer is not 2";
  case M6IKE_ERR_IKEV2_MSG_LENGTH:
    return "IKEv2 header Length below 28 or not equal to the datagram length";
  case M6IKE_ERR_IKEV2_MSG_TRUNCATED:
    return "IKEv2 header Length exceeds the buffer (message truncated)";
  case M6IKE_ERR_IKEV2_PL_TRUNCATED:
    return "IKEv2 payload header cut off by the end of the message";
  case M6IKE_ERR_IKEV2_PL_LENGTH:
    return "IKEv2 generic payload header Payload Length below 4";
  case M6IKE_ERR_IKEV2_PL_OVERRUN:
    return "IKEv2 Payload Length runs past the end of the message";
  case M6IKE_ERR_IKEV2_TRAILING:
    return "IKEv2 octets after the last payload (Next Payload 0)";
  case M6IKE_ERR_IKEV2_UNSUPPORTED_CRITICAL:
    return "IKEv2 unknown payload type with the Critical bit set";
  case M6IKE_ERR_IKEV2_TOO_MANY_PAYLOADS:
    return "IKEv2 message has more payloads than M6IKE_IKEV2_MAX_PAYLOADS";
  case M6IKE_ERR_IKEV2_SK_NOT_LAST:
    return "IKEv2 Encrypted (SK) payload is not the last payload";
  case M6IKE_ERR_IKEV2_SK_NESTED:
    return "IKEv2 Encrypted (SK) payload inside an Encrypted payload";
  case M6IKE_ERR_IKEV2_BODY_SHORT:
    return "IKEv2 payload body shorter than its fixed fields";
  case M6IKE_ERR_IKEV2_PROPOSAL:
    return "IKEv2 SA proposal invalid: Proposal Length, Last Substruc, "
           "Protocol ID, SPI Size, Num Transforms, or proposal count";
  case M6IKE_ERR_IKEV2_PROPOSAL_NUM:
    return "IKEv2 SA Proposal Num not 1 or not consecutive";
  case M6IKE_ERR_IKEV2_TRANSFORM:
    return "IKEv2 transform invalid: Transform Length or Last Substruc";
  case M6IKE_ERR_IKEV2_ATTRIBUTE:
    return "IKEv2 transform attribute invalid: length past the transform, "
           "Key Length not in TV format or repeated";
  case M6IKE_ERR_IKEV2_TS:
    return "IKEv2 traffic selectors invalid: Number of TSs, TS Type or "
           "Selector Length";
  case M6IKE_ERR_IKEV2_ID:
    return "IKEv2 Identification Data length wrong for its ID Type";
  case M6IKE_ERR_IKEV2_NOTIFY:
    return "IKEv2 Notify SPI Size past the body, or Notification Data "
           "length wrong for its type";
  case M6IKE_ERR_IKEV2_DELETE:
    return "IKEv2 Delete Protocol ID, SPI Size or Num of SPIs inconsistent";
  case M6IKE_ERR_IKEV2_CP:
    return "IKEv2 configuration attribute Length past the payload or wrong "
           "for its type";
  case M6IKE_ERR_IKEV2_NONCE:
    return "IKEv2 Nonce Data not 16..256 octets";
  case M6IKE_ERR_IKEV2_CERT:
    return "IKEv2 CERTREQ Certification Authority not a list of 20-octet "
           "hashes";
  case M6IKE_ERR_IKEV2_EAP:
    return "IKEv2 EAP message Length does not match the payload";
  case M6IKE_ERR_IKEV2_WRONG_TYPE:
    return "IKEv2 typed decoder called on a payload of another type";
  case M6IKE_ERR_IKEV2_UNKNOWN_EXCHANGE:
    return "IKEv2 Exchange Type unknown (not 34..37)";
  case M6IKE_ERR_IKEV2_PL_NOT_ALLOWED:
    return "IKEv2 payload type not allowed in this exchange and direction";
  case M6IKE_ERR_IKEV2_PL_MISSING:
    return "IKEv2 payload required by this exchange is missing";
  case M6IKE_ERR_IKEV2_PL_REPEATED:
    return "IKEv2 payload appears more often than this exchange allows";
  case M6IKE_ERR_IKEV2_NOT_ENCRYPTED:
    return "IKEv2 exchange requires its payloads inside the SK payload";
  case M6IKE_ERR_IKEV2_SK_SHORT:
    return "IKEv2 SK payload shorter than IV + ICV, or ciphertext not a "
           "multiple of the block size";
  case M6IKE_ERR_IKEV2_SK_PADDING:
    return "IKEv2 SK Pad Length exceeds the plaintext";
  case M6IKE_ERR_IKEV2_BUILDER_STATE:
    return "IKEv2 builder call out of order (SA/SK open or closed, or "
           "message finished)";
  case M6IKE_ERR_IKEV2_TOO_LONG:
    return "IKEv2 builder: a length or count overflows its field";
  case M6IKE_ERR_IKEV2_KE:
    return "IKEv2 Key Exchange Data length wrong for its DH Group Num";
  default:
    return NULL;
  }
}
