/*
 * mh: the RFC 6275 Mobility Header, the Home Address destination option,
 * the Type 2 Routing Header, and a walker over an IPv6 header chain.
 *
 * Wire layout of the Mobility Header (RFC 6275 §6.1.1):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Payload Proto |  Header Len   |   MH Type     |   Reserved    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |           Checksum            |                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
 *   .                       Message Data                            .
 *
 * Header Len counts 8-octet units after the first 8 octets.
 */
#ifndef M6IKE_MH_H
#define M6IKE_MH_H

#include "m6ike/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define M6IKE_IPPROTO_MH 135
#define M6IKE_IPPROTO_NONE 59

/* MH types (RFC 6275 §6.1.2 .. §6.1.9). */
typedef enum m6ike_mh_type {
  M6IKE_MH_BRR = 0,  /* Binding Refresh Request */
  M6IKE_MH_HOTI = 1, /* Home Test Init */
  M6IKE_MH_COTI = 2, /* Care-of Test Init */
  M6IKE_MH_HOT = 3,  /* Home Test */
  M6IKE_MH_COT = 4,  /* Care-of Test */
  M6IKE_MH_BU = 5,   /* Binding Update */
  M6IKE_MH_BA = 6,   /* Binding Acknowledgement */
  M6IKE_MH_BE = 7    /* Binding Error */
} m6ike_mh_type;

/* BU flags (RFC 6275 §6.1.7; K from RFC 6275 / RFC 4877). */
#define M6IKE_BU_FLAG_A 0x8000u /* Acknowledge */
#define M6IKE_BU_FLAG_H 0x4000u /* Home Registration */
#define M6IKE_BU_FLAG_L 0x2000u /* Link-Local Address Compatibility */
#define M6IKE_BU_FLAG_K 0x1000u /* Key Management Mobility Capability */
/* BA flags (RFC 6275 §6.1.8). */
#define M6IKE_BA_FLAG_K 0x80u

/* Binding Acknowledgement status codes (RFC 6275 §6.1.8). */
typedef enum m6ike_ba_status {
  M6IKE_BA_ACCEPTED = 0,
  M6IKE_BA_ACCEPTED_PREFIX_DISCOVERY = 1,
  M6IKE_BA_REASON_UNSPECIFIED = 128,
  M6IKE_BA_ADMIN_PROHIBITED = 129,
  M6IKE_BA_INSUFFICIENT_RESOURCES = 130,
  M6IKE_BA_HOME_REG_NOT_SUPPORTED = 131,
  M6IKE_BA_NOT_HOME_SUBNET = 132,
  M6IKE_BA_NOT_HA_FOR_THIS_MN = 133,
  M6IKE_BA_DAD_FAILED = 134,
  M6IKE_BA_SEQ_OUT_OF_WINDOW = 135,
  M6IKE_BA_EXPIRED_HOME_NONCE = 136,
  M6IKE_BA_EXPIRED_COA_NONCE = 137,
  M6IKE_BA_EXPIRED_NONCES = 138,
  M6IKE_BA_REG_TYPE_CHANGE_DISALLOWED = 139
} m6ike_ba_status;

/* Binding Error status (RFC 6275 §6.1.9). */
#define M6IKE_BE_UNKNOWN_HAO 1
#define M6IKE_BE_UNRECOGNIZED_MH 2

/* Mobility option types (RFC 6275 §6.2). */
typedef enum m6ike_mh_opt_type {
  M6IKE_MHOPT_PAD1 = 0,
  M6IKE_MHOPT_PADN = 1,
  M6IKE_MHOPT_BRA = 2,         /* Binding Refresh Advice, 2n */
  M6IKE_MHOPT_ALT_COA = 3,     /* Alternate Care-of Address, 8n+6 */
  M6IKE_MHOPT_NONCE_IDX = 4,   /* Nonce Indices, 2n */
  M6IKE_MHOPT_BIND_AUTH = 5    /* Binding Authorization Data, 8n+2 */
} m6ike_mh_opt_type;

/* Lifetimes on the wire are in units of 4 seconds. */
#define M6IKE_MH_LIFETIME_UNIT_S 4

/* The mobility options a message carries, decoded.  Pad1/PadN are
 * consumed; unknown options are skipped (RFC 6275 §6.2.1) and counted. */
typedef struct m6ike_mh_opts {
  unsigned has_bra : 1, has_alt_coa : 1, has_nonce_idx : 1, has_bind_auth : 1;
  uint16_t refresh_interval;      /* BRA, units of 4 s */
  m6ike_addr6 alt_coa;            /* Alternate CoA */
  uint16_t home_nonce_index;      /* Nonce Indices */
  uint16_t careof_nonce_index;
  uint8_t authenticator[12];      /* Binding Authorization Data */
  uint8_t unknown_count;          /* unrecognised options skipped */
} m6ike_mh_opts;

typedef struct m6ike_mh_bu {
  uint16_t seq;
  uint16_t flags;    /* M6IKE_BU_FLAG_* */
  uint16_t lifetime; /* units of 4 s; 0 = de-register */
} m6ike_mh_bu;

typedef struct m6ike_mh_ba {
  uint8_t status; /* m6ike_ba_status */
  uint8_t flags;  /* M6IKE_BA_FLAG_K */
  uint16_t seq;
  uint16_t lifetime; /* units of 4 s */
} m6ike_mh_ba;

typedef struct m6ike_mh_be {
  uint8_t status;           /* M6IKE_BE_* */
  m6ike_addr6 home_address; /* may be unspecified */
} m6ike_mh_be;

typedef struct m6ike_mh_test_init { /* HoTI, CoTI */
  uint8_t cookie[8];
} m6ike_mh_test_init;

typedef struct m6ike_mh_test { /* HoT, CoT */
  uint16_t nonce_index;
  uint8_t cookie[8];
  uint8_t keygen_token[8];
} m6ike_mh_test;

typedef struct m6ike_mh_msg {
  uint8_t type;          /* m6ike_mh_type */
  uint8_t payload_proto; /* must be 59 on the wire */
  uint16_t checksum;     /* as on the wire */
  union {
    m6ike_mh_bu bu;
    m6ike_mh_ba ba;
    m6ike_mh_be be;
    m6ike_mh_test_init ti;
    m6ike_mh_test t;
  } u;
  m6ike_mh_opts opts;
} m6ike_mh_msg;

/* mh error codes. */
enum {
  M6IKE_ERR_MH_TRUNCATED = -201,     /* buffer shorter than a field needs, or
                                        than Header Len says */
  M6IKE_ERR_MH_BAD_LENGTH = -202,    /* Header Len below the type's minimum, or
                                        (in a packet) not filling the payload */
  M6IKE_ERR_MH_BAD_PROTO = -203,     /* Payload Proto is not 59 */
  M6IKE_ERR_MH_UNKNOWN_TYPE = -204,  /* MH Type > 7 (answer with BE status 2) */
  M6IKE_ERR_MH_BAD_OPTION = -205,    /* option overruns or has a wrong length */
  M6IKE_ERR_MH_BAD_CHECKSUM = -206,  /* checksum does not verify */
  M6IKE_ERR_MH_NOT_MH = -207,        /* packet's upper layer is not 135 */
  M6IKE_ERR_IP6_TRUNCATED = -210,    /* IPv6 header or extension truncated */
  M6IKE_ERR_IP6_BAD_VERSION = -211,  /* IP version is not 6 */
  M6IKE_ERR_IP6_BAD_EXT = -212,      /* malformed extension header */
  M6IKE_ERR_IP6_BAD_HAO = -213,      /* malformed Home Address option */
  M6IKE_ERR_IP6_BAD_RH2 = -214,      /* malformed Type 2 Routing Header */
  M6IKE_ERR_IP6_TOO_MANY_EXT = -215, /* extension chain longer than the limit */
  M6IKE_ERR_IP6_FRAGMENT = -216      /* a fragment: reassemble before parsing */
};

const char *m6ike_mh_strerror_(int code); /* used by m6ike_strerror */

/*
 * Decodes one Mobility Header message from buf[0..len).  Returns the number
 * of bytes the message occupies ((Header Len + 1) * 8) or a negative
 * M6IKE_ERR_MH_* code.  Does not verify the checksum (see
 * m6ike_mh_checksum_verify).  Never reads outside buf.  Bytes after the
 * message are not looked at.
 *
 * Codes, in the order they are checked:
 *   M6IKE_ERR_INVALID_ARGUMENT  dest NULL, or buf NULL with len > 0
 *   M6IKE_ERR_MH_TRUNCATED      len < 8, or len < (Header Len + 1) * 8
 *   M6IKE_ERR_MH_BAD_PROTO      Payload Proto != 59
 *   M6IKE_ERR_MH_UNKNOWN_TYPE   MH Type > 7; dest->type, payload_proto and
 *                               checksum are filled so the caller can answer
 *                               with a Binding Error (status 2)
 *   M6IKE_ERR_MH_BAD_LENGTH     Header Len below the type's minimum
 *                               (BRR 0, HoTI/CoTI 1, HoT/CoT 2, BU/BA 1, BE 2)
 *   M6IKE_ERR_MH_BAD_OPTION     an option overruns the message, a known
 *                               option has the wrong length (BRA 2, Alt-CoA
 *                               16, Nonce Indices 4, Binding Auth Data 12),
 *                               or a non-padding option follows Binding
 *                               Authorization Data (RFC 6275 §6.2.7)
 * Option alignment is not checked on receipt (RFC 6275 asks senders to
 * align; Postel for receivers).  Options are decoded in any message type;
 * whether RFC 6275 allows them there is m6ike_mh_opt_allowed()'s question.
 * Reserved bits of the BU/BA flag fields are kept as received.
 */
int m6ike_mh_decode(m6ike_mh_msg *dest, const uint8_t *buf, size_t len);

/*
 * Encodes msg with its options (aligned as RFC 6275 §6.2 requires, padded
 * to a multiple of 8 octets) into buf.  The checksum field is written as
 * zero; call m6ike_mh_checksum_set afterwards.  Payload Proto is always
 * written as 59 whatever msg->payload_proto says.  Options are written in
 * the order BRA, Alternate CoA, Nonce Indices, Binding Authorization Data
 * (last, as §6.2.7 requires), each preceded by the Pad1/PadN its
 * alignment needs.  Returns the length or M6IKE_ERR_NOBUF /
 * M6IKE_ERR_INVALID_ARGUMENT (NULL argument or unknown type).
 */
int m6ike_mh_encode(uint8_t *buf, size_t cap, const m6ike_mh_msg *msg);

/* Length m6ike_mh_encode would produce, or M6IKE_ERR_INVALID_ARGUMENT. */
int m6ike_mh_encoded_len(const m6ike_mh_msg *msg);

/*
 * The MH checksum over the IPv6 pseudo-header (RFC 2460 §8.1 with next
 * header 135).  src is the home address when a Home Address option is
 * present (RFC 6275 §6.1.1), dst the final destination.  The checksum
 * field mh[4..6) counts as zero whatever it holds, so this is the value to
 * write there.
 */
uint16_t m6ike_mh_checksum(const m6ike_addr6 *src, const m6ike_addr6 *dst,
                           const uint8_t *mh, size_t len);
/* Writes the checksum into mh[4..6).  mh must hold >= 6 bytes. */
void m6ike_mh_checksum_set(const m6ike_addr6 *src, const m6ike_addr6 *dst,
                           uint8_t *mh, size_t len);
/* 0 if it verifies, M6IKE_ERR_MH_BAD_CHECKSUM otherwise. */
int m6ike_mh_checksum_verify(const m6ike_addr6 *src, const m6ike_addr6 *dst,
                             const uint8_t *mh, size_t len);

/*
 * Non-zero if two decoded messages are equal in every field that travels
 * on the wire, ignoring checksum, payload_proto and opts.unknown_count
 * (none of which m6ike_mh_encode reproduces), and ignoring the values of
 * options whose has_* bit is clear.
 */
int m6ike_mh_msg_equal(const m6ike_mh_msg *a, const m6ike_mh_msg *b);

/*
 * Non-zero if RFC 6275 §6.1.2-§6.1.9 defines mobility option opt_type for
 * MH type mh_type (BRA in BA; Alt-CoA and Nonce Indices in BU; Binding
 * Authorization Data in BU and BA; Pad1/PadN anywhere).
 */
int m6ike_mh_opt_allowed(uint8_t mh_type, uint8_t opt_type);

/* Short name of an MH type ("BU", "HoTI", ...) or "MH?" if unknown. */
const char *m6ike_mh_type_name(uint8_t mh_type);

/* Human-readable one-line summary, e.g. "BU seq=3 flags=AHK lifetime=420s",
 * for logs and examples.  Returns buf. */
char *m6ike_mh_format(const m6ike_mh_msg *msg, char *buf, size_t cap);

/* ---- IPv6 extension headers --------------------------------------- */

#define M6IKE_IP6_HDR_LEN 40
#define M6IKE_IPPROTO_HOPOPTS 0
#define M6IKE_IPPROTO_ROUTING 43
#define M6IKE_IPPROTO_FRAGMENT 44
#define M6IKE_IPPROTO_ESP 50
#define M6IKE_IPPROTO_AH 51
#define M6IKE_IPPROTO_ICMPV6 58
#define M6IKE_IPPROTO_DSTOPTS 60
#define M6IKE_IPPROTO_IPV6 41
#define M6IKE_IP6OPT_HOME_ADDRESS 201 /* RFC 6275 §6.3 */

/*
 * Encodes a Destination Options header holding one Home Address option
 * (padded so the address is 8n+6 aligned, RFC 6275 §6.3): 24 bytes.
 * Returns the length or M6IKE_ERR_NOBUF.
 */
int m6ike_hao_encode(uint8_t *buf, size_t cap, uint8_t next_header,
                     const m6ike_addr6 *home_address);

/* Encodes a Type 2 Routing Header (RFC 6275 §6.4), Segments Left 1:
 * 24 bytes.  Returns the length or M6IKE_ERR_NOBUF. */
int m6ike_rh2_encode(uint8_t *buf, size_t cap, uint8_t next_header,
                     const m6ike_addr6 *home_address);

/* What the walker found in an IPv6 packet. */
typedef struct m6ike_ip6_info {
  m6ike_addr6 src, dst;       /* from the fixed header */
  uint8_t hop_limit;
  uint16_t payload_len;       /* from the fixed header */
  uint8_t upper_proto;        /* first non-extension next header */
  size_t upper_off;           /* offset of the upper-layer header */
  size_t upper_len;           /* bytes from upper_off to the end of payload */
  unsigned has_hao : 1, has_rh2 : 1, is_fragment : 1;
  m6ike_addr6 hao;            /* Home Address option, if has_hao */
  m6ike_addr6 rh2_addr;       /* Type 2 RH address, if has_rh2 */
  uint8_t rh2_segments_left;
  unsigned ext_count;         /* extension headers walked */
} m6ike_ip6_info;

#define M6IKE_IP6_MAX_EXT 16

/*
 * Walks an IPv6 packet: fixed header, then Hop-by-Hop, Routing, Fragment,
 * Destination Options and AH headers, until an upper-layer protocol (which
 * includes ESP, 50, whose payload is opaque).  Decodes the Home Address
 * option and the Type 2 Routing Header on the way.  At most 16 extension
 * headers.  Returns 0 or a negative M6IKE_ERR_IP6_* code.
 *
 * Bytes of pkt after 40 + Payload Length are ignored (link padding).  A
 * Fragment header sets is_fragment; if its offset is non-zero the walk
 * stops there (upper_proto is the fragment's Next Header, upper_off the
 * byte after the Fragment header) because the upper layer is not in this
 * fragment.  Options in Hop-by-Hop and Destination Options headers are
 * walked (Pad1, PadN, Home Address; others skipped, their action bits are
 * not enforced).
 *
 * Codes:
 *   M6IKE_ERR_INVALID_ARGUMENT  info NULL, or pkt NULL with len > 0
 *   M6IKE_ERR_IP6_TRUNCATED     len < 40, Payload Length beyond len, or an
 *                               extension header beyond the payload
 *   M6IKE_ERR_IP6_BAD_VERSION   version field != 6
 *   M6IKE_ERR_IP6_BAD_EXT       Hop-by-Hop not first; an option overruns its
 *                               header; AH shorter than 12 octets or not a
 *                               multiple of 8
 *   M6IKE_ERR_IP6_BAD_HAO       Home Address option length != 16, or a
 *                               second one
 *   M6IKE_ERR_IP6_BAD_RH2       Type 2 RH with Hdr Ext Len != 2, Segments
 *                               Left not 0 or 1, or a second one
 *   M6IKE_ERR_IP6_TOO_MANY_EXT  more than M6IKE_IP6_MAX_EXT headers
 */
int m6ike_ip6_walk(m6ike_ip6_info *info, const uint8_t *pkt, size_t len);

/*
 * The addresses an upper layer's checksum pseudo-header uses for a walked
 * packet as it appears on the wire: the source is the Home Address option's
 * address if there is one (the receiver swaps it in, RFC 6275 §9.3.1), the
 * destination is the final one: the Type 2 RH address while Segments Left
 * is 1, else the fixed header's destination.
 */
void m6ike_ip6_pseudo_addrs(const m6ike_ip6_info *info, m6ike_addr6 *src,
                            m6ike_addr6 *dst);

/*
 * Builds a whole IPv6 packet carrying an MH message: fixed header (src,
 * dst, hop limit 64), then a Type 2 Routing Header if rh2_addr is non-NULL
 * (HA -> MN's CoA, routed to the HoA), a Destination Options header with a
 * Home Address option if hao is non-NULL (MN's CoA -> HA), then the MH
 * message with its checksum computed over the pseudo-header RFC 6275 §6.1.1
 * names (home address as source, HoA as final destination).  Returns the
 * length or M6IKE_ERR_INVALID_ARGUMENT (NULL src/dst/msg, unknown type) or
 * M6IKE_ERR_NOBUF.
 */
int m6ike_mh_build_packet(uint8_t *buf, size_t cap, const m6ike_addr6 *src,
                          const m6ike_addr6 *dst, const m6ike_addr6 *hao,
                          const m6ike_addr6 *rh2_addr,
                          const m6ike_mh_msg *msg);

/*
 * Parses a whole IPv6 packet carrying an MH message: walks the chain,
 * requires upper_proto 135, decodes the message and verifies its checksum
 * with the pseudo-header addresses RFC 6275 names.  Fills *info too.
 * Returns 0 or: any m6ike_ip6_walk code; M6IKE_ERR_IP6_FRAGMENT;
 * M6IKE_ERR_MH_NOT_MH; any m6ike_mh_decode code; M6IKE_ERR_MH_BAD_LENGTH
 * if the message does not end where the IPv6 payload ends;
 * M6IKE_ERR_MH_BAD_CHECKSUM.
 */
int m6ike_mh_parse_packet(m6ike_ip6_info *info, m6ike_mh_msg *msg,
                          const uint8_t *pkt, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* M6IKE_MH_H */
