/*
 * ipsec: the IPsec data path of one node, sans-I/O: the SPD and the SAD as
 * RFC 4301 models them, ESP (RFC 4303) in transport and tunnel mode over
 * IPv6 byte buffers, anti-replay, lifetimes, and the kernel side of the
 * PF_KEY bus (pfkey_bus.h).
 *
 * SECURITY POLICY DATABASE.  A policy is (direction, priority, selector,
 * action).  Directions are PF_KEY's (M6IKE_IPSEC_DIR_INBOUND, _OUTBOUND,
 * _FWD).  Lookup is ordered: the first matching policy of the direction,
 * by ascending priority (smaller = earlier, as Linux orders them), ties in
 * insertion order.  A selector (RFC 4301 §4.4.1.1) holds:
 *   source and destination prefixes (address + length 0..128),
 *   next-layer protocol (M6IKE_IPSEC_PROTO_ANY = 255 for any),
 *   local/remote port ranges for TCP (6), UDP (17) and SCTP (132),
 *   a Mobility Header type range for MH (135): RFC 4877 §4.3's policies
 *   name single MH types (BU = 5 from the mobile node, BA = 6 from the
 *   home agent).  RFC 4301 carries the MH type in the "local port"
 *   selector; on the PF_KEY side it is the source address's port, as
 *   Linux's xfrm does (port 0 there means any type).
 * A packet whose ports or MH type cannot be read (too short) is OPAQUE:
 * it matches only full ranges.  Selectors are matched against a packet's
 * effective addresses: the Home Address option's address stands for the
 * source, and the Type 2 Routing Header's address for the destination
 * while Segments Left is 1 (what Linux's MIPv6 code hands to xfrm).
 *
 * Actions: PROTECT (with reqid, mode, and tunnel endpoints for tunnel
 * mode), BYPASS, DISCARD.
 *
 * SECURITY ASSOCIATION DATABASE.  An SA is identified by (SPI, destination)
 * as PF_KEY and RFC 4301 §4.1 identify unicast SAs; inbound lookup hashes
 * the SPI (O(1)).  Outbound, a PROTECT policy finds its SA by reqid (a
 * second hash): the SA must be MATURE or DYING, have the policy's mode and
 * reqid, and the endpoints the policy asks for (tunnel: the policy's tunnel
 * endpoints; transport: the packet's effective source and destination);
 * MATURE is preferred to DYING, then the most recently added.  An SA may
 * carry its own selector (PF_KEY ADD's address prefixes and protocol):
 * inbound packets decapsulated by it must match it.
 *
 * ESP (RFC 4303 §2), as built and checked here:
 *   | SPI (4) | Sequence Number (4) | IV (0/8/16) | Payload ... |
 *   | Padding 1,2,3,... | Pad Length | Next Header | ICV (12/16) |
 * Padding brings the encrypted part to the cipher block size (8 for
 * 3DES-CBC, 16 for AES-CBC, 4 for AES-GCM and NULL: RFC 4303 §2.4's
 * 4-octet alignment).  The receiver checks the Pad Length fits and the
 * Padding bytes are 1, 2, 3, ... (RFC 4303 §2.4's default contents).
 *   Transport mode (RFC 4303 §3.1.1, IPv6): ESP goes after Hop-by-Hop,
 *   Routing, and the Destination Options headers that come before a
 *   Routing header or carry a Home Address option, so an RFC 4877 Binding
 *   Update travels as IPv6 | DstOpt(HAO) | ESP | MH and a Binding Ack as
 *   IPv6 | RH2 | ESP | MH (what Linux's ip6_find_1stfragopt does with
 *   MIPv6 enabled); other Destination Options go inside.  Fragments are
 *   refused (ESP is applied before fragmentation).
 *   A transport-mode packet whose upper layer is 59 (No Next Header)
 *   looks like a dummy packet to the receiver, which drops it.
 *   Tunnel mode (RFC 4303 §3.1.2): a new IPv6 header from the SA's
 *   endpoints (traffic class copied from the inner header, flow label 0,
 *   hop limit from the config), Next Header 41 inside ESP.
 * Transforms: AES-GCM-16 (RFC 4106; 128/256-bit keys plus a 4-octet salt
 * at the end of the key material, the 8-octet IV is the 64-bit sequence
 * number, AAD = SPI | [Seq hi |] Seq), AES-CBC (RFC 3602) and 3DES-CBC
 * (RFC 2451) with random IVs from the rand callback, HMAC-SHA2-256-128
 * (RFC 4868) and HMAC-SHA1-96 (RFC 2404), NULL encryption (RFC 2410) with
 * an HMAC.  NULL encryption with no integrity is refused
 * (M6IKE_ERR_IPSEC_ALGORITHM): RFC 4303 §3.2 requires at least one of
 * confidentiality and integrity and RFC 8221 §5 says ENCR_NULL MUST NOT
 * be combined with AUTH_NONE.  An AEAD transform takes no separate
 * integrity algorithm.  All cryptography goes through m6ike/crypto.h.
 *
 * ANTI-REPLAY (RFC 4303 §3.4.3, Appendix A): a bitmap window of W packets
 * (32 <= W <= 4096, default 128), or none for an SA added with replay
 * disabled.  With ESN (RFC 4303 §2.2.1) the high 32 bits are inferred as
 * in Appendix A2.2 and take part in the ICV (appended to the
 * authenticated data for HMACs, in the AAD for GCM as RFC 4106 §5 says);
 * the window is updated only after the ICV verified.  Outbound, the
 * counter never cycles: without ESN the SA refuses to send after 2^32-1
 * (M6IKE_ERR_IPSEC_SEQ_OVERFLOW).
 *
 * LIFETIMES (RFC 4301 §4.4.2.1; PF_KEY units: bytes and seconds): soft and
 * hard limits in bytes (inner packet octets, both directions), add time
 * (seconds since the SA was added or updated to MATURE) and use time
 * (seconds since its first use).  Reaching a soft limit sends one
 * SADB_EXPIRE with LIFETIME_SOFT through the bus and marks the SA DYING;
 * a hard limit sends SADB_EXPIRE with LIFETIME_HARD and deletes the SA.
 * Byte limits are checked as packets pass; time limits in
 * m6ike_ipsec_handle_expiry(), whose next deadline is
 * m6ike_ipsec_get_expiry().  A larval SA from GETSPI dies after
 * larval_timeout (no EXPIRE, as Linux's acquire states).
 *
 * PF_KEY (the kernel side, see pfkey_bus.h).  m6ike_ipsec_kernel_cbs()
 * fills the bus config's kernel callbacks; m6ike_ipsec_set_bus() tells the
 * ipsec object where to send ACQUIRE and EXPIRE.  Handled: GETSPI (random
 * SPI in the SPIRANGE, at least 256, LARVAL SA), UPDATE (LARVAL -> MATURE,
 * or a MATURE SA's lifetimes), ADD, DELETE, GET, FLUSH, DUMP, X_SPDADD,
 * X_SPDUPDATE, X_SPDDELETE, X_SPDDELETE2, X_SPDGET, X_SPDDUMP,
 * X_SPDFLUSH; X_MIGRATE through the migrate callback.  Algorithms on the
 * PF_KEY side use Linux's numbers: encryption 3 (3DES-CBC), 11 (NULL),
 * 12 (AES-CBC), 20 (AES-GCM, 16-octet ICV) -- the same as IKEv2's;
 * integrity 0 (none), 3 (HMAC-SHA1-96), 5 (HMAC-SHA2-256-128), mapped
 * to IKEv2's 0, 2, 12 (the numbers of the direct API, crypto.h).  The
 * replay field: 0 disables anti-replay; any other value gives
 * max(value, the configured window) (the u8 field cannot say 128; Linux
 * ignores most of it too).  ESN and an inbound SA's inner selector (Linux
 * offers them only through netlink) come with this project's private
 * SA-selector extension on ADD (pfkey.h, type 97); an UPDATE with the
 * private SA-move extension (type 98) moves a MATURE SA to new outer
 * addresses in place, as m6ike_ipsec_sa_update_addresses_at() does (no
 * change if it is already there).
 * An outbound PROTECT policy without a usable SA makes the ipsec object
 * send an ACQUIRE (without Reference; the kernel does not know MPIs) and
 * not again for that policy before acquire_timeout.
 *
 * DIRECT UPDATE (the main paper's handover): m6ike_ipsec_sa_update_addresses
 * and m6ike_ipsec_policy_update_tunnel change endpoints in place: SPI,
 * keys, counters and the replay window are kept, nothing is allocated.
 *
 * No global state, no clock: time comes in as m6ike_tstamp.  Callbacks
 * (the bus) must not re-enter the ipsec object.
 */
#ifndef M6IKE_IPSEC_H
#define M6IKE_IPSEC_H

#include "m6ike/common.h"
#include "m6ike/crypto.h"
#include "m6ike/pfkey.h"
#include "m6ike/pfkey_bus.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes (-700..-799). */
enum {
  M6IKE_ERR_IPSEC_TRUNCATED = -701,     /* ESP shorter than header + IV +
                                           trailer + ICV */
  M6IKE_ERR_IPSEC_NO_SA = -702,         /* inbound SPI/destination unknown */
  M6IKE_ERR_IPSEC_ACQUIRE = -703,       /* outbound PROTECT, no SA: ACQUIRE
                                           sent (or pending) */
  M6IKE_ERR_IPSEC_DISCARD = -704,       /* a DISCARD policy matched */
  M6IKE_ERR_IPSEC_BAD_ICV = -705,       /* integrity check failed */
  M6IKE_ERR_IPSEC_REPLAY = -706,        /* sequence number replayed or left
                                           of the window (or 0) */
  M6IKE_ERR_IPSEC_BAD_PADDING = -707,   /* Pad Length too large or Padding
                                           bytes not 1, 2, 3, ... */
  M6IKE_ERR_IPSEC_BAD_LENGTH = -708,    /* ciphertext not a multiple of the
                                           block size / of 4 */
  M6IKE_ERR_IPSEC_POLICY = -709,        /* inbound packet violates the SA's
                                           selector or the inbound SPD */
  M6IKE_ERR_IPSEC_NEXT_HEADER = -710,   /* Next Header wrong for the mode
                                           (tunnel needs 41) */
  M6IKE_ERR_IPSEC_DUMMY = -711,         /* Next Header 59: a dummy packet
                                           (RFC 4303 §2.6), dropped */
  M6IKE_ERR_IPSEC_SEQ_OVERFLOW = -712,  /* outbound counter would cycle */
  M6IKE_ERR_IPSEC_EXPIRED = -713,       /* hard lifetime reached: SA deleted
                                           (-720 is unused) */
  M6IKE_ERR_IPSEC_ALGORITHM = -714,     /* unsupported algorithm or
                                           combination */
  M6IKE_ERR_IPSEC_KEY_LENGTH = -715,    /* key length wrong for algorithm */
  M6IKE_ERR_IPSEC_SELECTOR = -716,      /* selector/policy field invalid */
  M6IKE_ERR_IPSEC_LARVAL = -717,        /* SA has no keys yet (GETSPI) */
  M6IKE_ERR_IPSEC_FRAGMENT = -718,      /* fragment: not processed */
  M6IKE_ERR_IPSEC_CRYPTO = -719,        /* the crypto backend failed */
  M6IKE_ERR_IPSEC_AMBIGUOUS = -721,     /* several SAs have this SPI */
  M6IKE_ERR_IPSEC_REPLAY_WINDOW = -722, /* window size out of 32..4096 */
  M6IKE_ERR_IPSEC_TUNNEL = -723,        /* tunnel mode without endpoints,
                                           or endpoints in transport mode */
  M6IKE_ERR_IPSEC_NO_CRYPTO = -724,     /* no crypto backend configured */
  M6IKE_ERR_IPSEC_SATYPE = -725,        /* not ESP (AH, IPComp: not here) */
  M6IKE_ERR_IPSEC_MODE = -726,          /* mode not transport or tunnel */
  M6IKE_ERR_IPSEC_NOT_IPV6 = -727,      /* inner packet not IPv6 / address
                                           family not IPv6 */
  M6IKE_ERR_IPSEC_ACTION = -728         /* policy action/type unsupported */
};

/* Strings for -700..-799; NULL otherwise. */
const char *m6ike_ipsec_strerror_(int code);

/* Linux pfkeyv2.h's number for AES-GCM with a 16-octet ICV. */
#define M6IKE_SADB_X_EALG_AES_GCM_ICV16 20

#define M6IKE_IPSEC_PROTO_ANY 255
#define M6IKE_IPSEC_MIN_REPLAY_WINDOW 32
#define M6IKE_IPSEC_MAX_REPLAY_WINDOW 4096
#define M6IKE_IPSEC_DEFAULT_REPLAY_WINDOW 128

typedef enum m6ike_ipsec_action {
  M6IKE_IPSEC_ACTION_PROTECT = 1,
  M6IKE_IPSEC_ACTION_BYPASS = 2,
  M6IKE_IPSEC_ACTION_DISCARD = 3
} m6ike_ipsec_action;

typedef struct m6ike_ipsec_selector {
  m6ike_addr6 src, dst;
  uint8_t src_plen, dst_plen;       /* 0..128; 0 = any address */
  uint8_t proto;                    /* M6IKE_IPSEC_PROTO_ANY or a number */
  uint16_t sport_lo, sport_hi;      /* TCP/UDP/SCTP; 0..65535 = any */
  uint16_t dport_lo, dport_hi;
  uint8_t mh_type_lo, mh_type_hi;   /* MH (135) only; 0..255 = any */
} m6ike_ipsec_selector;

/* A selector that matches everything. */
void m6ike_ipsec_selector_any(m6ike_ipsec_selector *sel);
/* Host-to-host selector (/128 each) for proto, any ports/types. */
void m6ike_ipsec_selector_host(m6ike_ipsec_selector *sel,
                               const m6ike_addr6 *src, const m6ike_addr6 *dst,
                               uint8_t proto);

typedef struct m6ike_ipsec_policy {
  uint32_t id;       /* set by add (1, 2, ...); ignored on input */
  uint32_t priority; /* smaller first */
  uint8_t dir;       /* M6IKE_IPSEC_DIR_INBOUND, _OUTBOUND or _FWD */
  uint8_t action;    /* m6ike_ipsec_action */
  m6ike_ipsec_selector sel;
  /* PROTECT only: */
  uint8_t mode;      /* M6IKE_IPSEC_MODE_TRANSPORT or _TUNNEL */
  uint8_t level;     /* M6IKE_IPSEC_LEVEL_* (kept for PF_KEY; REQUIRE and
                        UNIQUE treated alike, USE lets a packet pass
                        unprotected when there is no SA) */
  uint32_t reqid;    /* 0 = any SA with the right endpoints */
  m6ike_addr6 tun_src, tun_dst; /* tunnel mode: the SA's endpoints */
} m6ike_ipsec_policy;

typedef struct m6ike_ipsec_lifetime {
  uint64_t bytes;   /* 0 = no limit */
  uint64_t addtime; /* seconds; 0 = no limit */
  uint64_t usetime; /* seconds; 0 = no limit */
} m6ike_ipsec_lifetime;

typedef struct m6ike_ipsec_sa_params {
  uint32_t spi;          /* >= 256 (1..255 are reserved, RFC 4303 §2.1) */
  m6ike_addr6 src, dst;  /* SA endpoints (outer header addresses; in
                            transport mode the effective packet ones) */
  uint8_t mode;          /* M6IKE_IPSEC_MODE_TRANSPORT or _TUNNEL */
  uint32_t reqid;
  uint16_t enc_alg;      /* M6IKE_ENCR_* (IKEv2 numbers, crypto.h) */
  uint16_t auth_alg;     /* M6IKE_INTEG_*; M6IKE_INTEG_NONE with GCM */
  const uint8_t *enc_key;   /* GCM: key then 4-octet salt; AES: 16/24/32
                               octets (the key size follows); 3DES: 24 */
  size_t enc_key_len;
  const uint8_t *auth_key;
  size_t auth_key_len;
  uint32_t replay_window; /* packets; 0 = the configured default */
  int no_replay;          /* non-zero: anti-replay disabled */
  int esn;                /* non-zero: extended sequence numbers */
  uint64_t seq_out;       /* last sequence number sent: 0 for a new SA;
                             else carried over (context transfer) */
  int has_sel;            /* non-zero: sel restricts inbound packets */
  m6ike_ipsec_selector sel;
  m6ike_ipsec_lifetime soft, hard;
} m6ike_ipsec_sa_params;

/* Counters of one SA.  bytes are inner packet octets. */
typedef struct m6ike_ipsec_sa_stats {
  uint64_t packets, bytes; /* processed successfully */
  uint64_t dropped_icv, dropped_replay, dropped_other;
} m6ike_ipsec_sa_stats;

/* A read-only view of an SA (m6ike_ipsec_sa_get). */
typedef struct m6ike_ipsec_sa_info {
  uint32_t spi, reqid;
  m6ike_addr6 src, dst;
  uint8_t mode, state; /* M6IKE_SADB_SASTATE_* */
  uint16_t enc_alg, auth_alg; /* M6IKE_ENCR_*, M6IKE_INTEG_* */
  int esn, no_replay;
  uint32_t replay_window;
  uint64_t seq_out;    /* last sequence number sent (64-bit) */
  uint64_t replay_top; /* highest sequence number accepted */
  m6ike_tstamp add_time, use_time; /* use_time UNSET until first use */
  m6ike_ipsec_lifetime soft, hard;
  m6ike_ipsec_sa_stats stats;
} m6ike_ipsec_sa_info;

typedef struct m6ike_ipsec_stats {
  uint64_t packets_out, bytes_out; /* ESP packets built, inner octets */
  uint64_t packets_in, bytes_in;   /* ESP packets accepted */
  uint64_t bypass_out, bypass_in;  /* passed by BYPASS or no policy */
  uint64_t dropped_icv;            /* bad ICV */
  uint64_t dropped_replay;         /* replayed / too old */
  uint64_t dropped_no_sa;          /* unknown SPI (in), no SA (out) */
  uint64_t dropped_policy;         /* DISCARD, selector/SPD violation */
  uint64_t dropped_malformed;      /* truncated, bad padding/length/NH */
  uint64_t dropped_expired;        /* hard byte limit, counter overflow */
  uint64_t dummy_in;               /* Next Header 59 packets discarded */
  uint64_t acquires;               /* ACQUIREs sent on the bus */
  uint64_t expires_soft, expires_hard;
} m6ike_ipsec_stats;

typedef struct m6ike_ipsec_config {
  const m6ike_crypto *crypto;       /* required for ESP; must outlive */
  m6ike_rand_cb rand;                /* CBC IVs, GETSPI; required */
  void *rand_user_data;
  uint32_t replay_window;         /* default window; 0 = 128 */
  uint8_t hop_limit;              /* tunnel outer header; 0 = 64 */
  m6ike_tstamp acquire_timeout;   /* 0 = 30 s */
  m6ike_tstamp larval_timeout;    /* 0 = 30 s */
  uint32_t spi_min, spi_max;      /* GETSPI default range; 0,0 = 256..
                                     0xffffffff */
} m6ike_ipsec_config;

typedef struct m6ike_ipsec m6ike_ipsec;

/* Creates an ipsec object.  cfg may be NULL only for SPD-only use (no ESP,
 * no GETSPI).  0, M6IKE_ERR_INVALID_ARGUMENT,
 * M6IKE_ERR_IPSEC_REPLAY_WINDOW or M6IKE_ERR_NOMEM. */
int m6ike_ipsec_new(m6ike_ipsec **pipsec, const m6ike_ipsec_config *cfg,
                    const m6ike_mem *mem);
/* Frees everything (keys are wiped).  NULL is a no-op. */
void m6ike_ipsec_del(m6ike_ipsec *ipsec);

/* The bus the object sends ACQUIRE and EXPIRE on (NULL: none). */
void m6ike_ipsec_set_bus(m6ike_ipsec *ipsec, m6ike_pfkey_bus *bus);
/* Fills cbs with the kernel handler and migrate callback for
 * m6ike_pfkey_bus_config.kernel (user_data = ipsec). */
void m6ike_ipsec_kernel_cbs(m6ike_ipsec *ipsec, m6ike_pfkey_kernel_cbs *cbs);

/*
 * The PF_KEY message (type X_SPDADD, X_SPDUPDATE or X_SPDDELETE; satype
 * UNSPEC) that this unit's kernel side decodes back to policy p: the
 * selector as ADDRESS_SRC/DST (prefix lengths, protocol, MH type in the
 * source port), X_POLICY with p's direction, id and priority, and for
 * PROTECT one ESP ipsecrequest (mode, level, reqid, tunnel endpoints).  A
 * pure encoder: what a mobility side uses to manage its own policies over
 * its bus endpoint without calling into the SPD.  Returns the length,
 * M6IKE_ERR_INVALID_ARGUMENT or M6IKE_ERR_NOBUF.
 */
int m6ike_ipsec_policy_pfkey(const m6ike_ipsec_policy *p, uint8_t type,
                             uint32_t seq, uint32_t pid, uint8_t *buf,
                             size_t cap);

/* ---- SPD -------------------------------------------------------------- */

/* Adds a policy; its id is written to *id (if id non-NULL).  0,
 * M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_IPSEC_SELECTOR (prefix > 128, a
 * range lo > hi, bad direction), M6IKE_ERR_IPSEC_ACTION,
 * M6IKE_ERR_IPSEC_MODE, M6IKE_ERR_IPSEC_TUNNEL, M6IKE_ERR_EXISTS (same
 * direction and selector already present), M6IKE_ERR_NOMEM. */
int m6ike_ipsec_policy_add(m6ike_ipsec *ipsec, const m6ike_ipsec_policy *pol,
                           uint32_t *id);
/* Replaces the policy with the same direction and selector (added if
 * absent; keeps its id).  Codes of policy_add. */
int m6ike_ipsec_policy_update(m6ike_ipsec *ipsec,
                              const m6ike_ipsec_policy *pol, uint32_t *id);
/* 0, M6IKE_ERR_NOT_FOUND, M6IKE_ERR_INVALID_ARGUMENT. */
int m6ike_ipsec_policy_delete(m6ike_ipsec *ipsec, uint32_t id);
int m6ike_ipsec_policy_get(const m6ike_ipsec *ipsec, uint32_t id,
                           m6ike_ipsec_policy *out);
/* Finds the policy with exactly this direction and selector: 0,
 * M6IKE_ERR_NOT_FOUND, M6IKE_ERR_INVALID_ARGUMENT. */
int m6ike_ipsec_policy_find(const m6ike_ipsec *ipsec, uint8_t dir,
                            const m6ike_ipsec_selector *sel,
                            m6ike_ipsec_policy *out);
/*
 * The first policy of direction dir matching the IPv6 packet (ordered
 * lookup).  0, M6IKE_ERR_NOT_FOUND, M6IKE_ERR_INVALID_ARGUMENT or an
 * m6ike_ip6_walk() code.
 */
int m6ike_ipsec_policy_lookup(const m6ike_ipsec *ipsec, uint8_t dir,
                              const uint8_t *pkt, size_t len,
                              m6ike_ipsec_policy *out);
/* Direct update of a policy's tunnel endpoints (PROTECT, tunnel mode).
 * 0, M6IKE_ERR_NOT_FOUND, M6IKE_ERR_IPSEC_TUNNEL, _INVALID_ARGUMENT. */
int m6ike_ipsec_policy_update_tunnel(m6ike_ipsec *ipsec, uint32_t id,
                                     const m6ike_addr6 *new_src,
                                     const m6ike_addr6 *new_dst);
size_t m6ike_ipsec_policy_count(const m6ike_ipsec *ipsec);
void m6ike_ipsec_policy_flush(m6ike_ipsec *ipsec);
/* Calls fn for each policy in lookup order (in, out, fwd); a non-zero
 * return stops the walk and is returned. */
int m6ike_ipsec_policy_foreach(const m6ike_ipsec *ipsec,
                               int (*fn)(const m6ike_ipsec_policy *pol,
                                         void *user_data),
                               void *user_data);

/* ---- SAD -------------------------------------------------------------- */

/*
 * Adds a MATURE SA at time now.  0, M6IKE_ERR_INVALID_ARGUMENT (NULL,
 * SPI < 256), M6IKE_ERR_EXISTS ((spi, dst) present), M6IKE_ERR_IPSEC_MODE,
 * M6IKE_ERR_IPSEC_ALGORITHM, M6IKE_ERR_IPSEC_KEY_LENGTH,
 * M6IKE_ERR_IPSEC_REPLAY_WINDOW, M6IKE_ERR_IPSEC_SELECTOR,
 * M6IKE_ERR_IPSEC_NO_CRYPTO, M6IKE_ERR_IPSEC_CRYPTO, M6IKE_ERR_NOMEM.
 */
int m6ike_ipsec_sa_add(m6ike_ipsec *ipsec, const m6ike_ipsec_sa_params *p,
                       m6ike_tstamp now);
/* Deletes the SA (spi, dst): 0, M6IKE_ERR_NOT_FOUND, _INVALID_ARGUMENT. */
int m6ike_ipsec_sa_delete(m6ike_ipsec *ipsec, uint32_t spi,
                          const m6ike_addr6 *dst);
/* dst NULL: the only SA with this SPI (M6IKE_ERR_IPSEC_AMBIGUOUS if
 * several).  0, M6IKE_ERR_NOT_FOUND, _AMBIGUOUS, _INVALID_ARGUMENT. */
int m6ike_ipsec_sa_get(const m6ike_ipsec *ipsec, uint32_t spi,
                       const m6ike_addr6 *dst, m6ike_ipsec_sa_info *out);
size_t m6ike_ipsec_sa_count(const m6ike_ipsec *ipsec);
void m6ike_ipsec_sa_flush(m6ike_ipsec *ipsec);

/*
 * Direct update (main paper): moves the SA with this SPI to new endpoints
 * in place.  SPI, keys, sequence numbers, replay window, lifetimes and
 * counters are kept; no allocation.  The _at form names the current
 * destination (for SPIs used by several SAs).  0, M6IKE_ERR_NOT_FOUND,
 * M6IKE_ERR_IPSEC_AMBIGUOUS, M6IKE_ERR_EXISTS (the new (spi, dst) is
 * taken), M6IKE_ERR_INVALID_ARGUMENT.
 */
int m6ike_ipsec_sa_update_addresses(m6ike_ipsec *ipsec, uint32_t spi,
                                    const m6ike_addr6 *new_src,
                                    const m6ike_addr6 *new_dst);
int m6ike_ipsec_sa_update_addresses_at(m6ike_ipsec *ipsec, uint32_t spi,
                                       const m6ike_addr6 *old_dst,
                                       const m6ike_addr6 *new_src,
                                       const m6ike_addr6 *new_dst);

/* ---- data path -------------------------------------------------------- */

/*
 * Outbound processing of one IPv6 packet: SPD lookup (OUTBOUND), then
 *   no policy or BYPASS: the packet is copied to out;
 *   DISCARD: M6IKE_ERR_IPSEC_DISCARD;
 *   PROTECT: ESP in the policy's mode with its SA; no usable SA:
 *     an ACQUIRE on the bus (at most one per policy per acquire_timeout)
 *     and M6IKE_ERR_IPSEC_ACQUIRE (level USE: the packet passes as BYPASS).
 * Returns the output length, or: M6IKE_ERR_INVALID_ARGUMENT, an
 * m6ike_ip6_walk() code, M6IKE_ERR_IPSEC_FRAGMENT, M6IKE_ERR_NOBUF,
 * _DISCARD, _ACQUIRE, _SEQ_OVERFLOW, _EXPIRED (a hard byte limit reached:
 * the SA is deleted; also a hard time limit the host has not yet handled),
 * _CRYPTO, _NO_CRYPTO, M6IKE_ERR_RANDOM.
 * Every drop is counted in the stats.
 */
int m6ike_ipsec_output(m6ike_ipsec *ipsec, const uint8_t *pkt, size_t len,
                       uint8_t *out, size_t cap, m6ike_tstamp now);

/*
 * Inbound processing of one IPv6 packet.  ESP (Next Header 50 after the
 * headers ESP may follow): SA by (SPI, destination), ICV, replay,
 * decryption, padding, then the inner packet is rebuilt (transport: the
 * outer headers with ESP removed; tunnel: the inner IPv6 packet) and
 * checked against the SA's selector and the inbound SPD (an INBOUND or,
 * failing that, FWD policy that matches must be PROTECT with this SA's
 * mode and reqid, if it names one).  Not ESP: the inbound SPD decides
 * (PROTECT: dropped, plaintext where protection is required; DISCARD:
 * dropped; BYPASS or none: copied).  The plaintext packet is written to
 * out; returns its length, or: M6IKE_ERR_INVALID_ARGUMENT, an
 * m6ike_ip6_walk() code, M6IKE_ERR_NOBUF, M6IKE_ERR_IPSEC_TRUNCATED,
 * _NO_SA, _LARVAL, _BAD_ICV, _REPLAY, _BAD_LENGTH, _BAD_PADDING,
 * _NEXT_HEADER, _DUMMY, _POLICY, _DISCARD, _EXPIRED, _FRAGMENT, _CRYPTO,
 * _NOT_IPV6.  Every drop is counted.  out must not overlap pkt.
 */
int m6ike_ipsec_input(m6ike_ipsec *ipsec, const uint8_t *pkt, size_t len,
                      uint8_t *out, size_t cap, m6ike_tstamp now);

/* Worst-case growth of a packet by ESP (tunnel mode, largest IV, block
 * and ICV), for sizing out buffers. */
#define M6IKE_IPSEC_MAX_OVERHEAD (40 + 8 + 16 + 15 + 2 + 16)

/* ---- time ------------------------------------------------------------- */

/* Earliest time a lifetime, larval SA or acquire hold-down needs
 * m6ike_ipsec_handle_expiry(), or M6IKE_TSTAMP_UNSET. */
m6ike_tstamp m6ike_ipsec_get_expiry(const m6ike_ipsec *ipsec);
/* Fires soft/hard time expirations due at now (EXPIRE messages on the
 * bus, hard ones delete the SA), removes dead larval SAs.  Returns the
 * number of EXPIRE messages sent (>= 0) or M6IKE_ERR_INVALID_ARGUMENT. */
int m6ike_ipsec_handle_expiry(m6ike_ipsec *ipsec, m6ike_tstamp now);

void m6ike_ipsec_get_stats(const m6ike_ipsec *ipsec, m6ike_ipsec_stats *st);

/* ---- Wireshark -------------------------------------------------------- */

/*
 * Formats the SA (spi, dst) as one record of Wireshark's ESP preference
 * table "esp_sa" (file esp_sa in the profile directory; fields in the
 * order of packet-ipsec.c's UAT: protocol, source, destination, SPI,
 * encryption algorithm, encryption key, authentication algorithm,
 * authentication key), each double-quoted, comma-separated, e.g.
 *   "IPv6","2001:db8::5","2001:db8::1","0x00001234",
 *   "AES-GCM with 16 octet ICV [RFC4106]","0x00...","NULL",""
 * (one line, newline included).  The GCM key includes its salt, as
 * Wireshark wants.  Writes at most cap octets including the NUL; returns
 * the length the line needs (like snprintf), or M6IKE_ERR_NOT_FOUND,
 * M6IKE_ERR_IPSEC_AMBIGUOUS, M6IKE_ERR_IPSEC_LARVAL (no keys yet),
 * M6IKE_ERR_INVALID_ARGUMENT.
 */
int m6ike_ipsec_sa_format_wireshark(const m6ike_ipsec *ipsec, uint32_t spi,
                                    const m6ike_addr6 *dst, char *buf,
                                    size_t cap);
/* The same line from an SA's parameters (a key manager that installs SAs
 * over PF_KEY and has no ipsec object): spi, src, dst, enc_alg, auth_alg
 * and the keys are used.  Length as above, or M6IKE_ERR_INVALID_ARGUMENT
 * (NULL, keys longer than 40 / 64 octets). */
int m6ike_ipsec_sa_params_format_wireshark(const m6ike_ipsec_sa_params *p,
                                           char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* M6IKE_IPSEC_H */
