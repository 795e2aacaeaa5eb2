/*
 * pfkey: an RFC 2367 PF_KEY v2 codec with the KAME/Linux extensions and the
 * main paper's Reference extension (SADB_ACQUIRE carrying the MPI).
 *
 * Byte layout is that of Linux's include/uapi/linux/pfkeyv2.h and ipsec.h:
 * integer fields in HOST byte order, except the SPI, the ports and the IPv6
 * flow label, which are in network order as on the wire of the IP stack.
 * Every length field counts 8-octet units, except sadb_x_ipsecrequest_len
 * which counts octets.
 *
 *   sadb_msg (16 octets)
 *   +---------------+---------------+---------------+---------------+
 *   |    version    |     type      |     errno     |    satype     |
 *   +---------------+---------------+---------------+---------------+
 *   |              len              |            reserved           |
 *   +---------------+---------------+---------------+---------------+
 *   |                              seq                              |
 *   +---------------+---------------+---------------+---------------+
 *   |                              pid                              |
 *   +---------------+---------------+---------------+---------------+
 *   then extensions, each starting with { u16 len (8-octet units),
 *   u16 type } and padded to a multiple of 8 octets.
 *
 * A socket address inside an address extension is laid out as Linux does:
 *   sockaddr_in  (16): family u16 host, port be16, addr 4, zero 8
 *   sockaddr_in6 (28): family u16 host, port be16, flowinfo be32,
 *                      addr 16, scope_id u32 host
 * padded with zeros to a multiple of 8 (so an IPv6 address extension is
 * 8 + 32 = 40 octets, an IPv4 one 8 + 16 = 24).  Families are Linux's
 * numbers: AF_INET 2, AF_INET6 10.
 *
 * THE REFERENCE EXTENSION (main paper §III.C, §IV).  Fixed size, 16 octets:
 *   +---------------+---------------+---------------+---------------+
 *   |        len (= 2)              |   type (= M6IKE_SADB_X_EXT_   |
 *   |                               |        M6IKE_REFERENCE)       |
 *   +---------------+---------------+---------------+---------------+
 *   |                       MPI (u32, host order)                   |
 *   +---------------+---------------+---------------+---------------+
 *   |                     reserved (zero on send)                   |
 *   +---------------+---------------+---------------+---------------+
 *   |                  padding to 8 octets (zero on send)           |
 *   +---------------+---------------+---------------+---------------+
 * Optional in SADB_ACQUIRE.  Type number: 96.  Why 96: RFC 2367 has no
 * private range for extension types, so the number must simply be one no
 * implementation uses.  Checked (search of the public headers) against
 * Linux include/uapi/linux/pfkeyv2.h (highest: SADB_X_EXT_FILTER 26),
 * KAME/FreeBSD netipsec (highest: SADB_X_EXT_IF_HW_OFFL 31), NetBSD/KAME
 * (highest 25, NAT_T_FRAG), illumos/Solaris (highest 27, OUTER_SENS) and
 * OpenBSD (highest: SADB_X_EXT_IFACE 40).  96 is more than twice the
 * largest of them, leaving room for growth on every system, and is >= 64
 * so it can never alias a bit of a 64-bit "extensions present" mask (as
 * OpenBSD's parser keeps).  Linux's af_key skips any extension whose type
 * exceeds SADB_EXT_MAX, so a stock Linux kernel or key manager passes over
 * the Reference silently: exactly the "ignorable" property §IV asks for.
 * Decoding with M6IKE_PFKEY_DEC_LEGACY models such a key manager.
 *
 * THE SA-SELECTOR EXTENSION (private, type 97; SADB_ADD, SADB_UPDATE and
 * SADB_DELETE from a key manager).  RFC 2367 ADD names an SA by its outer
 * addresses only.  What an inbound SA of this project also needs cannot be
 * said in it: the inner selector naming the mobile node's home address
 * (a tunnel SA carries only that HoA's traffic; a transport SA only the
 * Mobility Header between the HoA and the HA), which RFC 4877 needs
 * because the Home Address option lies outside ESP's ICV; and extended
 * sequence numbers (Linux offers ESN through netlink only).  Fixed size,
 * 56 octets (len = 7); integers in host order except the ports (network
 * order, as in sockaddr):
 *   +---------------+---------------+---------------+---------------+
 *   |        len (= 7)              |   type (= 97)                 |
 *   +---------------+---------------+---------------+---------------+
 *   |                  flags (u32): bit 0 ESN, bit 1 SELECTOR       |
 *   +---------------+---------------+---------------+---------------+
 *   |    proto      |   src_plen    |   dst_plen    |  reserved = 0 |
 *   +---------------+---------------+---------------+---------------+
 *   |  mh_type_lo   |  mh_type_hi   |        reserved (= 0)         |
 *   +---------------+---------------+---------------+---------------+
 *   |     sport_lo (be16)           |     sport_hi (be16)           |
 *   +---------------+---------------+---------------+---------------+
 *   |     dport_lo (be16)           |     dport_hi (be16)           |
 *   +---------------+---------------+---------------+---------------+
 *   |                selector source address (16 octets)            |
 *   +---------------+---------------+---------------+---------------+
 *   |             selector destination address (16 octets)          |
 *   +---------------+---------------+---------------+---------------+
 * Without the SELECTOR flag every selector field must be zero.  The
 * kernel side (ipsec_pfkey.c) applies it on ADD (the SA's selector and
 * ESN) and ignores it on UPDATE/DELETE, where a key manager may send it
 * so that listeners of the sa_notify copies (the mobility side) learn
 * which home address an SA belongs to.
 *
 * THE SA-MOVE EXTENSION (private, type 98; SADB_UPDATE from a key
 * manager).  Moves a MATURE SA, named as UPDATE names it (SA's SPI and
 * ADDRESS_DST), to new outer addresses in place: SPI, keys, sequence
 * numbers, replay window and counters are kept -- the main paper's direct
 * update, MOBIKE and the static scheme's move.  Why not X_MIGRATE or
 * DELETE + ADD: X_MIGRATE (the MOBILITY role's message) also moves the
 * tunnel policies, which an HA must leave on the registered binding's CoA
 * until the BU is accepted (RFC 6275 §10.4.1); DELETE + ADD restarts the
 * sequence numbers, which the peer's replay window (kept by its own move
 * in place) would refuse.  If the SA is already at the new addresses
 * (moved earlier by X_MIGRATE) the UPDATE succeeds without change.
 * 40 octets (len = 5):
 *   +---------------+---------------+---------------+---------------+
 *   |        len (= 5)              |   type (= 98)                 |
 *   +---------------+---------------+---------------+---------------+
 *   |                       reserved (= 0)                          |
 *   +---------------+---------------+---------------+---------------+
 *   |                  new source address (16 octets)               |
 *   +---------------+---------------+---------------+---------------+
 *   |               new destination address (16 octets)             |
 *   +---------------+---------------+---------------+---------------+
 * Why 97 and 98: the next numbers after the Reference extension's 96 (see
 * there: far above every system's own extension types, >= 64).  A legacy
 * reader skips both (Linux's af_key ignores types above SADB_EXT_MAX;
 * M6IKE_PFKEY_DEC_LEGACY | M6IKE_PFKEY_DEC_LENIENT here): its ADD then
 * installs an SA without selector and ESN, its UPDATE changes lifetimes
 * only.
 *
 * THE DECODED MESSAGE.  m6ike_pfkey_decode() validates the whole message
 * and records, per extension type, the offset and length of the extension
 * inside the caller's buffer (no copies, no allocation): the buffer must
 * outlive the m6ike_pfkey_msg.  The typed getters below parse one
 * extension into a small struct; variable parts (key bits, combs, algs,
 * ipsecrequests, identity strings) are exposed as pointers into the buffer
 * with element accessors.  Because decode already checked every
 * extension, the getters only fail with M6IKE_ERR_NOT_FOUND.
 */
#ifndef M6IKE_PFKEY_H
#define M6IKE_PFKEY_H

#include "m6ike/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define M6IKE_PF_KEY_V2 2
#define M6IKE_PFKEY_HDR_LEN 16

/* Message types (RFC 2367 §2.3 and Linux's SADB_X_*). */
enum {
  M6IKE_SADB_RESERVED = 0,
  M6IKE_SADB_GETSPI = 1,
  M6IKE_SADB_UPDATE = 2,
  M6IKE_SADB_ADD = 3,
  M6IKE_SADB_DELETE = 4,
  M6IKE_SADB_GET = 5,
  M6IKE_SADB_ACQUIRE = 6,
  M6IKE_SADB_REGISTER = 7,
  M6IKE_SADB_EXPIRE = 8,
  M6IKE_SADB_FLUSH = 9,
  M6IKE_SADB_DUMP = 10,
  M6IKE_SADB_X_PROMISC = 11,
  M6IKE_SADB_X_PCHANGE = 12,
  M6IKE_SADB_X_SPDUPDATE = 13,
  M6IKE_SADB_X_SPDADD = 14,
  M6IKE_SADB_X_SPDDELETE = 15,
  M6IKE_SADB_X_SPDGET = 16,
  M6IKE_SADB_X_SPDACQUIRE = 17,
  M6IKE_SADB_X_SPDDUMP = 18,
  M6IKE_SADB_X_SPDFLUSH = 19,
  M6IKE_SADB_X_SPDSETIDX = 20,
  M6IKE_SADB_X_SPDEXPIRE = 21,
  M6IKE_SADB_X_SPDDELETE2 = 22,
  M6IKE_SADB_X_NAT_T_NEW_MAPPING = 23,
  M6IKE_SADB_X_MIGRATE = 24,
  M6IKE_SADB_MAX = 24
};

/* Extension types. */
enum {
  M6IKE_SADB_EXT_RESERVED = 0,
  M6IKE_SADB_EXT_SA = 1,
  M6IKE_SADB_EXT_LIFETIME_CURRENT = 2,
  M6IKE_SADB_EXT_LIFETIME_HARD = 3,
  M6IKE_SADB_EXT_LIFETIME_SOFT = 4,
  M6IKE_SADB_EXT_ADDRESS_SRC = 5,
  M6IKE_SADB_EXT_ADDRESS_DST = 6,
  M6IKE_SADB_EXT_ADDRESS_PROXY = 7,
  M6IKE_SADB_EXT_KEY_AUTH = 8,
  M6IKE_SADB_EXT_KEY_ENCRYPT = 9,
  M6IKE_SADB_EXT_IDENTITY_SRC = 10,
  M6IKE_SADB_EXT_IDENTITY_DST = 11,
  M6IKE_SADB_EXT_SENSITIVITY = 12,
  M6IKE_SADB_EXT_PROPOSAL = 13,
  M6IKE_SADB_EXT_SUPPORTED_AUTH = 14,
  M6IKE_SADB_EXT_SUPPORTED_ENCRYPT = 15,
  M6IKE_SADB_EXT_SPIRANGE = 16,
  M6IKE_SADB_X_EXT_KMPRIVATE = 17,
  M6IKE_SADB_X_EXT_POLICY = 18,
  M6IKE_SADB_X_EXT_SA2 = 19,
  M6IKE_SADB_X_EXT_NAT_T_TYPE = 20,
  M6IKE_SADB_X_EXT_NAT_T_SPORT = 21,
  M6IKE_SADB_X_EXT_NAT_T_DPORT = 22,
  M6IKE_SADB_X_EXT_NAT_T_OA = 23,
  M6IKE_SADB_X_EXT_SEC_CTX = 24,
  M6IKE_SADB_X_EXT_KMADDRESS = 25,
  M6IKE_SADB_X_EXT_FILTER = 26,
  M6IKE_SADB_EXT_MAX = 26,
  /* The main paper's Reference extension; see the top of this file. */
  M6IKE_SADB_X_EXT_M6IKE_REFERENCE = 96,
  /* Private: an SA's inner selector and ESN flag (see the top). */
  M6IKE_SADB_X_EXT_M6IKE_SA_SEL = 97,
  /* Private: new outer addresses of an SA moved in place by UPDATE. */
  M6IKE_SADB_X_EXT_M6IKE_SA_MOVE = 98
};
#define M6IKE_PFKEY_REFERENCE_LEN 16
#define M6IKE_PFKEY_SA_SEL_LEN 56
#define M6IKE_PFKEY_SA_MOVE_LEN 40
/* SA-selector flags. */
#define M6IKE_PFKEY_SA_SEL_ESN 0x1u
#define M6IKE_PFKEY_SA_SEL_SELECTOR 0x2u

/* SA types. */
enum {
  M6IKE_SADB_SATYPE_UNSPEC = 0,
  M6IKE_SADB_SATYPE_AH = 2,
  M6IKE_SADB_SATYPE_ESP = 3,
  M6IKE_SADB_SATYPE_RSVP = 5,
  M6IKE_SADB_SATYPE_OSPFV2 = 6,
  M6IKE_SADB_SATYPE_RIPV2 = 7,
  M6IKE_SADB_SATYPE_MIP = 8,
  M6IKE_SADB_X_SATYPE_IPCOMP = 9,
  M6IKE_SADB_SATYPE_MAX = 9
};

/* SA states. */
enum {
  M6IKE_SADB_SASTATE_LARVAL = 0,
  M6IKE_SADB_SASTATE_MATURE = 1,
  M6IKE_SADB_SASTATE_DYING = 2,
  M6IKE_SADB_SASTATE_DEAD = 3
};

/* A few algorithm numbers (Linux pfkeyv2.h). */
enum {
  M6IKE_SADB_AALG_NONE = 0,
  M6IKE_SADB_AALG_MD5HMAC = 2,
  M6IKE_SADB_AALG_SHA1HMAC = 3,
  M6IKE_SADB_X_AALG_SHA2_256HMAC = 5,
  M6IKE_SADB_EALG_NONE = 0,
  M6IKE_SADB_EALG_3DESCBC = 3,
  M6IKE_SADB_EALG_NULL = 11,
  M6IKE_SADB_X_EALG_AESCBC = 12
};

/* Linux ipsec.h: policy types, directions, modes, levels. */
enum {
  M6IKE_IPSEC_POLICY_DISCARD = 0,
  M6IKE_IPSEC_POLICY_NONE = 1,
  M6IKE_IPSEC_POLICY_IPSEC = 2,
  M6IKE_IPSEC_POLICY_ENTRUST = 3,
  M6IKE_IPSEC_POLICY_BYPASS = 4,
  M6IKE_IPSEC_DIR_ANY = 0,
  M6IKE_IPSEC_DIR_INBOUND = 1,
  M6IKE_IPSEC_DIR_OUTBOUND = 2,
  M6IKE_IPSEC_DIR_FWD = 3,
  M6IKE_IPSEC_MODE_ANY = 0,
  M6IKE_IPSEC_MODE_TRANSPORT = 1,
  M6IKE_IPSEC_MODE_TUNNEL = 2,
  M6IKE_IPSEC_MODE_BEET = 3,
  M6IKE_IPSEC_LEVEL_DEFAULT = 0,
  M6IKE_IPSEC_LEVEL_USE = 1,
  M6IKE_IPSEC_LEVEL_REQUIRE = 2,
  M6IKE_IPSEC_LEVEL_UNIQUE = 3
};
#define M6IKE_IPPROTO_ESP 50
#define M6IKE_IPPROTO_AH 51
#define M6IKE_IPPROTO_COMP 108
#define M6IKE_IPSEC_ULPROTO_ANY 255

/* Linux address family numbers used inside PF_KEY messages. */
#define M6IKE_PFKEY_AF_INET 2
#define M6IKE_PFKEY_AF_INET6 10

/* Error codes (-500..-549; the bus uses -550..-599, see pfkey_bus.h). */
enum {
  M6IKE_ERR_PFKEY_TRUNCATED = -501,     /* buffer < 16 or < sadb_msg_len*8 */
  M6IKE_ERR_PFKEY_OVERLONG = -502,      /* buffer > sadb_msg_len*8 */
  M6IKE_ERR_PFKEY_MISALIGNED = -503,    /* length not a multiple of 8 */
  M6IKE_ERR_PFKEY_VERSION = -504,       /* sadb_msg_version != 2 */
  M6IKE_ERR_PFKEY_MSG_TYPE = -505,      /* sadb_msg_type 0 or > 24 */
  M6IKE_ERR_PFKEY_MSG_LEN = -506,       /* sadb_msg_len < 2 */
  M6IKE_ERR_PFKEY_EXT_SHORT = -507,     /* ext len 0 or < its fixed part */
  M6IKE_ERR_PFKEY_EXT_OVERRUN = -508,   /* ext runs past the message */
  M6IKE_ERR_PFKEY_EXT_LONG = -509,      /* fixed-size ext longer than it */
  M6IKE_ERR_PFKEY_DUPLICATE = -510,     /* the same ext type twice */
  M6IKE_ERR_PFKEY_UNKNOWN_EXT = -511,   /* unknown ext type (strict) */
  M6IKE_ERR_PFKEY_RESERVED_EXT = -512,  /* ext type 0 */
  M6IKE_ERR_PFKEY_ADDRESS = -513,       /* sockaddr family/length/prefix */
  M6IKE_ERR_PFKEY_IPSECREQUEST = -514,  /* ipsecrequest lengths/addresses */
  M6IKE_ERR_PFKEY_INCONSISTENT = -515,  /* a count field vs the ext length */
  M6IKE_ERR_PFKEY_REFERENCE = -516,     /* Reference ext is not 16 octets */
  M6IKE_ERR_PFKEY_MISSING_EXT = -517,   /* a required ext is absent */
  M6IKE_ERR_PFKEY_BUILDER_STATE = -518, /* builder used out of order */
  M6IKE_ERR_PFKEY_ERRNO = -519,         /* message is an error reply */
  M6IKE_ERR_PFKEY_RESERVED_FIELD = -520, /* sadb_msg_reserved != 0 */
  M6IKE_ERR_PFKEY_SA_SEL_LEN = -521,    /* SA-selector ext not 56 octets */
  M6IKE_ERR_PFKEY_SA_SEL_FLAGS = -522,  /* SA-selector flags: unknown bit */
  M6IKE_ERR_PFKEY_SA_SEL_RESERVED = -523, /* SA-selector/-move reserved
                                             field not zero */
  M6IKE_ERR_PFKEY_SA_SEL_PREFIX = -524, /* SA-selector prefix > 128, or
                                           selector fields without the
                                           SELECTOR flag */
  M6IKE_ERR_PFKEY_SA_SEL_RANGE = -525,  /* SA-selector port/MH range
                                           lo > hi */
  M6IKE_ERR_PFKEY_SA_MOVE_LEN = -526    /* SA-move ext not 40 octets */
};

/* Unit error strings (registered in units.c). NULL if not ours. */
const char *m6ike_pfkey_strerror_(int code);

/* ---- decoded extension structs ---------------------------------------- */

typedef struct m6ike_pfkey_hdr {
  uint8_t version;
  uint8_t type;
  uint8_t msg_errno; /* sadb_msg_errno */
  uint8_t satype;
  uint16_t len; /* 8-octet units, header included */
  uint16_t reserved;
  uint32_t seq;
  uint32_t pid;
} m6ike_pfkey_hdr;

typedef struct m6ike_pfkey_sockaddr {
  uint16_t family;   /* M6IKE_PFKEY_AF_INET or _INET6 */
  uint16_t port;     /* host value (network order on the wire) */
  uint32_t flowinfo; /* host value (network order on the wire), v6 only */
  uint8_t addr[16];  /* v4 uses addr[0..3] */
  uint32_t scope_id; /* v6 only, host order */
} m6ike_pfkey_sockaddr;

typedef struct m6ike_pfkey_sa {
  uint32_t spi; /* host value (network order on the wire) */
  uint8_t replay, state, auth, encrypt;
  uint32_t flags;
} m6ike_pfkey_sa;

typedef struct m6ike_pfkey_lifetime {
  uint32_t allocations;
  uint64_t bytes, addtime, usetime;
} m6ike_pfkey_lifetime;

typedef struct m6ike_pfkey_address {
  uint8_t proto;     /* upper-layer protocol, 255 = any */
  uint8_t prefixlen; /* <= 32 or 128 */
  m6ike_pfkey_sockaddr sa;
} m6ike_pfkey_address;

typedef struct m6ike_pfkey_key {
  uint16_t bits;
  const uint8_t *data; /* (bits+7)/8 octets, in the decoded buffer */
} m6ike_pfkey_key;

typedef struct m6ike_pfkey_ident {
  uint16_t type;
  uint64_t id;
  const uint8_t *str; /* the octets after the fixed part (NUL padded) */
  size_t str_len;
} m6ike_pfkey_ident;

typedef struct m6ike_pfkey_sens {
  uint32_t dpd;
  uint8_t sens_level, sens_len, integ_level, integ_len; /* lens in u64s */
  const uint8_t *bitmaps; /* (sens_len + integ_len) * 8 octets */
} m6ike_pfkey_sens;

typedef struct m6ike_pfkey_comb {
  uint8_t auth, encrypt;
  uint16_t flags;
  uint16_t auth_minbits, auth_maxbits, encrypt_minbits, encrypt_maxbits;
  uint32_t soft_allocations, hard_allocations;
  uint64_t soft_bytes, hard_bytes, soft_addtime, hard_addtime, soft_usetime,
      hard_usetime;
} m6ike_pfkey_comb;
#define M6IKE_PFKEY_COMB_LEN 72

typedef struct m6ike_pfkey_prop {
  uint8_t replay;
  size_t n_combs;
  const uint8_t *combs; /* n_combs * 72 octets */
} m6ike_pfkey_prop;

typedef struct m6ike_pfkey_alg {
  uint8_t id, ivlen;
  uint16_t minbits, maxbits;
} m6ike_pfkey_alg;

typedef struct m6ike_pfkey_supported {
  size_t n_algs;
  const uint8_t *algs; /* n_algs * 8 octets */
} m6ike_pfkey_supported;

typedef struct m6ike_pfkey_spirange {
  uint32_t min, max;
} m6ike_pfkey_spirange;

typedef struct m6ike_pfkey_kmprivate {
  const uint8_t *data;
  size_t data_len;
} m6ike_pfkey_kmprivate;

typedef struct m6ike_pfkey_ipsecrequest {
  uint16_t len; /* octets, as on the wire */
  uint16_t proto;
  uint8_t mode, level;
  uint32_t reqid;
  int has_addrs; /* tunnel endpoints present */
  m6ike_pfkey_sockaddr src, dst;
} m6ike_pfkey_ipsecrequest;

typedef struct m6ike_pfkey_policy {
  uint16_t type;
  uint8_t dir;
  uint32_t id, priority;
  size_t n_requests;
  const uint8_t *reqs; /* the ipsecrequest list */
  size_t reqs_len;
} m6ike_pfkey_policy;

typedef struct m6ike_pfkey_sa2 {
  uint8_t mode;
  uint32_t sequence, reqid;
} m6ike_pfkey_sa2;

typedef struct m6ike_pfkey_sec_ctx {
  uint8_t alg, doi;
  uint16_t ctx_len;
  const uint8_t *ctx;
} m6ike_pfkey_sec_ctx;

typedef struct m6ike_pfkey_kmaddress {
  m6ike_pfkey_sockaddr local, remote;
} m6ike_pfkey_kmaddress;

typedef struct m6ike_pfkey_filter {
  uint8_t saddr[16], daddr[16]; /* raw address octets */
  uint16_t family;
  uint8_t splen, dplen;
} m6ike_pfkey_filter;

typedef struct m6ike_pfkey_reference {
  uint32_t mpi;
  uint32_t reserved;
} m6ike_pfkey_reference;

/* The SA-selector extension (type 97), decoded.  Ports are host values. */
typedef struct m6ike_pfkey_sa_sel {
  uint32_t flags; /* M6IKE_PFKEY_SA_SEL_ESN | _SELECTOR */
  uint8_t proto, src_plen, dst_plen, mh_type_lo, mh_type_hi;
  uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
  uint8_t src[16], dst[16];
} m6ike_pfkey_sa_sel;

/* The SA-move extension (type 98), decoded. */
typedef struct m6ike_pfkey_sa_move {
  uint8_t new_src[16], new_dst[16];
} m6ike_pfkey_sa_move;

/* ---- the decoded message ----------------------------------------------- */

typedef struct m6ike_pfkey_ext_loc {
  uint32_t off; /* octets from the start of the message; 0 = absent */
  uint32_t len; /* octets */
} m6ike_pfkey_ext_loc;

typedef struct m6ike_pfkey_msg {
  m6ike_pfkey_hdr hdr;
  const uint8_t *buf; /* the caller's buffer (not copied) */
  size_t len;
  m6ike_pfkey_ext_loc ext[M6IKE_SADB_EXT_MAX + 1]; /* by type, [0] unused */
  m6ike_pfkey_ext_loc reference; /* the Reference extension, if present */
  m6ike_pfkey_ext_loc sa_sel;    /* the SA-selector extension (97) */
  m6ike_pfkey_ext_loc sa_move;   /* the SA-move extension (98) */
  unsigned n_ext;     /* known extensions recorded */
  unsigned n_skipped; /* unknown extensions skipped (lenient decode) */
} m6ike_pfkey_msg;

/* Decode flags. */
#define M6IKE_PFKEY_DEC_STRICT 0u
/* Skip extensions of unknown type instead of rejecting the message. */
#define M6IKE_PFKEY_DEC_LENIENT 1u
/* Behave as a key manager that predates the paper: the Reference, SA-
 * selector and SA-move extensions are unknown types (skipped if LENIENT,
 * else rejected). */
#define M6IKE_PFKEY_DEC_LEGACY 2u

/*
 * Decodes and validates one PF_KEY message of exactly len octets.
 * Returns len, or: M6IKE_ERR_INVALID_ARGUMENT (NULL msg/buf),
 * _PFKEY_MISALIGNED (len % 8, or an ipsecrequest length % 8),
 * _PFKEY_TRUNCATED, _PFKEY_OVERLONG, _PFKEY_VERSION, _PFKEY_MSG_TYPE,
 * _PFKEY_MSG_LEN, _PFKEY_RESERVED_FIELD, _PFKEY_EXT_SHORT, _PFKEY_EXT_OVERRUN, _PFKEY_EXT_LONG,
 * _PFKEY_DUPLICATE, _PFKEY_UNKNOWN_EXT, _PFKEY_RESERVED_EXT,
 * _PFKEY_ADDRESS, _PFKEY_IPSECREQUEST, _PFKEY_INCONSISTENT,
 * _PFKEY_REFERENCE, _PFKEY_SA_SEL_LEN, _SA_SEL_FLAGS, _SA_SEL_RESERVED,
 * _SA_SEL_PREFIX, _SA_SEL_RANGE, _SA_MOVE_LEN.  On error *msg is
 * unspecified.
 */
int m6ike_pfkey_decode(m6ike_pfkey_msg *msg, const uint8_t *buf, size_t len,
                       unsigned flags);

/* Non-zero if the extension type is present in a decoded message
 * (M6IKE_SADB_X_EXT_M6IKE_REFERENCE included). */
int m6ike_pfkey_has(const m6ike_pfkey_msg *msg, unsigned ext_type);

/* Typed getters: 0, M6IKE_ERR_NOT_FOUND (absent), or
 * M6IKE_ERR_INVALID_ARGUMENT (ext_type not of that kind). */
int m6ike_pfkey_get_sa(const m6ike_pfkey_msg *msg, m6ike_pfkey_sa *out);
/* ext_type: LIFETIME_CURRENT, _HARD or _SOFT */
int m6ike_pfkey_get_lifetime(const m6ike_pfkey_msg *msg, unsigned ext_type,
                             m6ike_pfkey_lifetime *out);
/* ext_type: ADDRESS_SRC, _DST, _PROXY or X_EXT_NAT_T_OA */
int m6ike_pfkey_get_address(const m6ike_pfkey_msg *msg, unsigned ext_type,
                            m6ike_pfkey_address *out);
/* ext_type: KEY_AUTH or KEY_ENCRYPT */
int m6ike_pfkey_get_key(const m6ike_pfkey_msg *msg, unsigned ext_type,
                        m6ike_pfkey_key *out);
/* ext_type: IDENTITY_SRC or IDENTITY_DST */
int m6ike_pfkey_get_ident(const m6ike_pfkey_msg *msg, unsigned ext_type,
                          m6ike_pfkey_ident *out);
int m6ike_pfkey_get_sens(const m6ike_pfkey_msg *msg, m6ike_pfkey_sens *out);
int m6ike_pfkey_get_prop(const m6ike_pfkey_msg *msg, m6ike_pfkey_prop *out);
/* ext_type: SUPPORTED_AUTH or SUPPORTED_ENCRYPT */
int m6ike_pfkey_get_supported(const m6ike_pfkey_msg *msg, unsigned ext_type,
                              m6ike_pfkey_supported *out);
int m6ike_pfkey_get_spirange(const m6ike_pfkey_msg *msg,
                             m6ike_pfkey_spirange *out);
int m6ike_pfkey_get_kmprivate(const m6ike_pfkey_msg *msg,
                              m6ike_pfkey_kmprivate *out);
int m6ike_pfkey_get_policy(const m6ike_pfkey_msg *msg,
                           m6ike_pfkey_policy *out);
int m6ike_pfkey_get_sa2(const m6ike_pfkey_msg *msg, m6ike_pfkey_sa2 *out);
int m6ike_pfkey_get_nat_t_type(const m6ike_pfkey_msg *msg, uint8_t *type);
/* ext_type: X_EXT_NAT_T_SPORT or _DPORT; *port is the host value */
int m6ike_pfkey_get_nat_t_port(const m6ike_pfkey_msg *msg, unsigned ext_type,
                               uint16_t *port);
int m6ike_pfkey_get_sec_ctx(const m6ike_pfkey_msg *msg,
                            m6ike_pfkey_sec_ctx *out);
int m6ike_pfkey_get_kmaddress(const m6ike_pfkey_msg *msg,
                              m6ike_pfkey_kmaddress *out);
int m6ike_pfkey_get_filter(const m6ike_pfkey_msg *msg,
                           m6ike_pfkey_filter *out);
int m6ike_pfkey_get_reference(const m6ike_pfkey_msg *msg,
                              m6ike_pfkey_reference *out);
int m6ike_pfkey_get_sa_sel(const m6ike_pfkey_msg *msg,
                           m6ike_pfkey_sa_sel *out);
int m6ike_pfkey_get_sa_move(const m6ike_pfkey_msg *msg,
                            m6ike_pfkey_sa_move *out);

/* Element accessors (i < count): 0 or M6IKE_ERR_NOT_FOUND. */
int m6ike_pfkey_prop_comb(const m6ike_pfkey_prop *prop, size_t i,
                          m6ike_pfkey_comb *out);
int m6ike_pfkey_supported_alg(const m6ike_pfkey_supported *sup, size_t i,
                              m6ike_pfkey_alg *out);
/* Walks the list: O(i). */
int m6ike_pfkey_policy_request(const m6ike_pfkey_policy *pol, size_t i,
                               m6ike_pfkey_ipsecrequest *out);

/*
 * Checks the extensions RFC 2367 (and Linux for the X_ types) requires for
 * the message's type in the direction key manager -> kernel: e.g. ACQUIRE
 * needs ADDRESS_SRC, ADDRESS_DST, PROPOSAL; X_MIGRATE needs ADDRESS_SRC,
 * ADDRESS_DST, X_POLICY.  0 or M6IKE_ERR_PFKEY_MISSING_EXT.
 */
int m6ike_pfkey_check_required(const m6ike_pfkey_msg *msg);

/* ---- builder ------------------------------------------------------------ */

/*
 * Encoder over a caller buffer.  Errors are sticky: after the first failure
 * every call returns the same code, so a sequence of adds may be checked
 * once at finish().  An open X_POLICY extension grows with each
 * add_ipsecrequest() and is closed by any other add or by finish().
 */
typedef struct m6ike_pfkey_builder {
  uint8_t *buf;
  size_t cap;
  size_t len;
  size_t policy_off; /* offset of the open X_POLICY ext, 0 = none */
  uint64_t seen;     /* bit t: ext type t added; bit 63: Reference,
                        62: SA-selector, 61: SA-move */
  int err;
  int finished;
} m6ike_pfkey_builder;

/* All builder functions return 0 (finish: the message length) or
 * M6IKE_ERR_NOBUF, M6IKE_ERR_INVALID_ARGUMENT (wrong ext type for the
 * call, bad family, NULL pointers), M6IKE_ERR_PFKEY_BUILDER_STATE (add
 * after finish, ipsecrequest without policy, message > 524280 octets),
 * M6IKE_ERR_PFKEY_DUPLICATE (an ext type added twice). */
int m6ike_pfkey_builder_begin(m6ike_pfkey_builder *b, uint8_t *buf,
                              size_t cap, uint8_t type, uint8_t satype,
                              uint32_t seq, uint32_t pid);
void m6ike_pfkey_builder_set_errno(m6ike_pfkey_builder *b, uint8_t msg_errno);
int m6ike_pfkey_add_sa(m6ike_pfkey_builder *b, const m6ike_pfkey_sa *sa);
int m6ike_pfkey_add_lifetime(m6ike_pfkey_builder *b, unsigned ext_type,
                             const m6ike_pfkey_lifetime *lt);
int m6ike_pfkey_add_address(m6ike_pfkey_builder *b, unsigned ext_type,
                            uint8_t proto, uint8_t prefixlen,
                            const m6ike_pfkey_sockaddr *sa);
/* key: (bits+7)/8 octets */
int m6ike_pfkey_add_key(m6ike_pfkey_builder *b, unsigned ext_type,
                        uint16_t bits, const uint8_t *key);
int m6ike_pfkey_add_ident(m6ike_pfkey_builder *b, unsigned ext_type,
                          uint16_t id_type, uint64_t id, const uint8_t *str,
                          size_t str_len);
int m6ike_pfkey_add_sens(m6ike_pfkey_builder *b, const m6ike_pfkey_sens *s);
int m6ike_pfkey_add_proposal(m6ike_pfkey_builder *b, uint8_t replay,
                             const m6ike_pfkey_comb *combs, size_t n);
int m6ike_pfkey_add_supported(m6ike_pfkey_builder *b, unsigned ext_type,
                              const m6ike_pfkey_alg *algs, size_t n);
int m6ike_pfkey_add_spirange(m6ike_pfkey_builder *b, uint32_t min,
                             uint32_t max);
int m6ike_pfkey_add_kmprivate(m6ike_pfkey_builder *b, const uint8_t *data,
                              size_t len);
int m6ike_pfkey_add_policy(m6ike_pfkey_builder *b, uint16_t type, uint8_t dir,
                           uint32_t id, uint32_t priority);
/* src and dst both NULL (no endpoints) or both set, same family. */
int m6ike_pfkey_add_ipsecrequest(m6ike_pfkey_builder *b, uint16_t proto,
                                 uint8_t mode, uint8_t level, uint32_t reqid,
                                 const m6ike_pfkey_sockaddr *src,
                                 const m6ike_pfkey_sockaddr *dst);
int m6ike_pfkey_add_sa2(m6ike_pfkey_builder *b, uint8_t mode,
                        uint32_t sequence, uint32_t reqid);
int m6ike_pfkey_add_nat_t_type(m6ike_pfkey_builder *b, uint8_t type);
int m6ike_pfkey_add_nat_t_port(m6ike_pfkey_builder *b, unsigned ext_type,
                               uint16_t port);
int m6ike_pfkey_add_sec_ctx(m6ike_pfkey_builder *b, uint8_t alg, uint8_t doi,
                            const uint8_t *ctx, uint16_t ctx_len);
int m6ike_pfkey_add_kmaddress(m6ike_pfkey_builder *b,
                              const m6ike_pfkey_sockaddr *local,
                              const m6ike_pfkey_sockaddr *remote);
int m6ike_pfkey_add_filter(m6ike_pfkey_builder *b,
                           const m6ike_pfkey_filter *f);
int m6ike_pfkey_add_reference(m6ike_pfkey_builder *b, uint32_t mpi);
/* The SA-selector extension; M6IKE_ERR_INVALID_ARGUMENT also for values
 * decode would refuse (unknown flags, prefix > 128, lo > hi, selector
 * fields without the SELECTOR flag). */
int m6ike_pfkey_add_sa_sel(m6ike_pfkey_builder *b,
                           const m6ike_pfkey_sa_sel *sel);
int m6ike_pfkey_add_sa_move(m6ike_pfkey_builder *b,
                            const m6ike_pfkey_sa_move *mv);
/* Writes sadb_msg_len; returns the message length in octets. */
int m6ike_pfkey_builder_finish(m6ike_pfkey_builder *b);

/*
 * Re-encodes a decoded message through the builder: header as decoded,
 * known extensions in their original order, the Reference, SA-selector
 * and SA-move last (in that order); skipped
 * unknown extensions are dropped.  Returns the length or a builder code.
 */
int m6ike_pfkey_rebuild(const m6ike_pfkey_msg *msg, uint8_t *buf, size_t cap);

/* ---- helpers -------------------------------------------------------------- */

/* An IPv6 socket address (port in host value). */
m6ike_pfkey_sockaddr m6ike_pfkey_sockaddr6(const m6ike_addr6 *a,
                                           uint16_t port);
/* An IPv4 socket address from 4 octets in network order. */
m6ike_pfkey_sockaddr m6ike_pfkey_sockaddr4(const uint8_t a[4], uint16_t port);

/* Names for logs ("ACQUIRE", "esp", "ADDRESS_SRC"); "?" if unknown. */
const char *m6ike_pfkey_msg_type_name(unsigned type);
const char *m6ike_pfkey_satype_name(unsigned satype);
const char *m6ike_pfkey_ext_type_name(unsigned ext_type);

/*
 * One-line summary for logs, e.g.
 *   "ACQUIRE satype=esp seq=5 pid=0 src=2001:db8::5 dst=2001:db8::1
 *    ref.mpi=42"
 * Writes at most cap octets including the NUL; returns the length the
 * full line needs (like snprintf), or M6IKE_ERR_INVALID_ARGUMENT.
 */
int m6ike_pfkey_format(const m6ike_pfkey_msg *msg, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* M6IKE_PFKEY_H */
