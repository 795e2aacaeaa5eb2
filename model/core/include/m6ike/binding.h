/*
 * binding: the RFC 6275 binding cache (home agent and correspondent node,
 * §9.5 and §10.3) and the mobile node's binding update list (§11.7, §11.8).
 *
 * Both objects are sans-I/O.  They consume and produce decoded Mobility
 * Header messages (m6ike_mh_msg, see mh.h); encoding them, IPsec, and
 * sending are the caller's business.  Time comes in as m6ike_tstamp and
 * each object tells the host when it next needs to run (get_expiry /
 * handle_expiry), in the style of ngtcp2.
 *
 *   MN (m6ike_bul)                          HA (m6ike_bcache)
 *   m6ike_bul_move(coa, now)
 *   m6ike_bul_write_bu(now) -> BU  ------>  m6ike_bcache_process_bu(..)
 *   m6ike_bul_read_ba(ba)      <------ BA   (returns 1 if a BA is due)
 *   m6ike_bul_get_expiry / handle_expiry    m6ike_bcache_get_expiry / ..
 */
#ifndef M6IKE_BINDING_H
#define M6IKE_BINDING_H

#include "m6ike/common.h"
#include "m6ike/mh.h"

#ifdef __cplusplus
extern "C" {
#endif

/* binding error codes (-300..-399). */
enum {
  M6IKE_ERR_BINDING_NOT_BU = -301,       /* message type is not BU (5) */
  M6IKE_ERR_BINDING_DISCARD = -302,      /* BU silently discarded (§9.5.1) */
  M6IKE_ERR_BINDING_NOT_BA = -303,       /* message type is not BA (6) */
  M6IKE_ERR_BINDING_BA_NO_MATCH = -304,  /* BA matches no outstanding BU */
  M6IKE_ERR_BINDING_BAD_COA = -305,      /* care-of address unusable */
  M6IKE_ERR_BINDING_CFG_ROLE = -310,     /* config.role is not HA or CN */
  M6IKE_ERR_BINDING_CFG_PREFIX = -311,   /* config.home_prefixes/count bad */
  M6IKE_ERR_BINDING_CFG_HOA = -312,      /* config.hoa unspecified/multicast */
  M6IKE_ERR_BINDING_CFG_HA = -313,       /* config.ha unspecified/multicast */
  M6IKE_ERR_BINDING_CFG_TIMEOUT = -314,  /* config bindack timeouts bad */
  M6IKE_ERR_BINDING_CFG_REFRESH = -315   /* config.refresh_percent > 99 */
};

/* Used by m6ike_strerror. */
const char *m6ike_binding_strerror_(int code);

/* RFC 6275 §12 protocol constants. */
#define M6IKE_INITIAL_BINDACK_TIMEOUT_FIRST_REG (1500 * M6IKE_MILLISECONDS)
#define M6IKE_INITIAL_BINDACK_TIMEOUT (1 * M6IKE_SECONDS)
#define M6IKE_MAX_BINDACK_TIMEOUT (32 * M6IKE_SECONDS)
#define M6IKE_MAX_NONCE_LIFETIME (240 * M6IKE_SECONDS)
#define M6IKE_MAX_RR_BINDING_LIFETIME_S 420

/*
 * Sequence numbers are compared modulo 2^16 (RFC 6275 §9.5.1): a is newer
 * than b when (a - b) mod 2^16 lies in 1..32767.  A difference of exactly
 * 32768 is not newer (as the TAHI conformance tests expect).
 */
static inline int m6ike_seq_newer(uint16_t a, uint16_t b) {
  uint16_t d = (uint16_t)(a - b);
  return d != 0 && d < 0x8000u;
}

/* ==== Binding cache ===================================================== */

typedef enum m6ike_bcache_role {
  M6IKE_BCACHE_ROLE_HA = 1, /* home agent: home registrations + RO BUs */
  M6IKE_BCACHE_ROLE_CN = 2  /* correspondent node: RO BUs only (131 for H) */
} m6ike_bcache_role;

typedef enum m6ike_bcache_event {
  M6IKE_BCACHE_ADDED = 1,   /* new entry */
  M6IKE_BCACHE_UPDATED = 2, /* existing entry refreshed or moved */
  M6IKE_BCACHE_REMOVED = 3, /* de-registration or m6ike_bcache_remove */
  M6IKE_BCACHE_EXPIRED = 4  /* lifetime ran out (handle_expiry) */
} m6ike_bcache_event;

typedef struct m6ike_bcache_entry {
  m6ike_addr6 hoa;
  m6ike_addr6 coa;
  uint16_t seq;            /* last accepted sequence number */
  uint16_t lifetime;       /* granted, units of 4 s */
  uint16_t flags;          /* BU flags as received (M6IKE_BU_FLAG_*) */
  uint8_t home_reg;        /* 1 = home registration (H) */
  uint8_t k;               /* K echoed: key management mobility capable */
  m6ike_tstamp registered_at; /* when the entry was created */
  m6ike_tstamp updated_at;    /* last accepted BU */
  m6ike_tstamp expiry;        /* updated_at + lifetime * 4 s */
} m6ike_bcache_entry;

typedef struct m6ike_bcache_callbacks {
  void *user_data;
  /* HA: 0 = this HA does not serve hoa (BA 133).  NULL = serves all. */
  int (*is_served)(const m6ike_addr6 *hoa, void *user_data);
  /* 0 = administratively prohibited (BA 129).  NULL = allowed. */
  int (*admin_allowed)(const m6ike_addr6 *hoa, const m6ike_addr6 *coa,
                       void *user_data);
  /* HA: duplicate address detection for a new home registration's hoa;
   * non-zero = DAD failed (BA 134).  NULL = always unique.  Synchronous:
   * a host that runs real DAD answers from its own state. */
  int (*dad)(const m6ike_addr6 *hoa, void *user_data);
  /* Correspondent registrations: verify the Binding Authorization Data
   * (the Kbm HMAC of RFC 6275 §5.2.6, which this unit does not compute).
   * The nonces are available through m6ike_bcache_nonce_get.  Non-zero =
   * invalid: the BU is silently discarded.  NULL = accept. */
  int (*verify_auth)(const m6ike_addr6 *hoa, const m6ike_addr6 *coa,
                     const m6ike_mh_msg *bu, void *user_data);
  /* Entry changes.  e is valid only during the call; the callback must
   * not change the cache (no process_bu/remove/handle_expiry). */
  void (*on_change)(const m6ike_bcache_entry *e, m6ike_bcache_event ev,
                    void *user_data);
  /* Nonce generation (m6ike_bcache_nonce_generate). */
  m6ike_rand_cb rand;
} m6ike_bcache_callbacks;

#define M6IKE_BCACHE_MAX_PREFIXES 4

typedef struct m6ike_prefix6 {
  m6ike_addr6 prefix;
  uint8_t plen; /* 1..128 */
} m6ike_prefix6;

typedef struct m6ike_bcache_config {
  m6ike_bcache_role role;
  /* HA: home prefixes (BA 132 for a HoA on none of them). */
  m6ike_prefix6 home_prefixes[M6IKE_BCACHE_MAX_PREFIXES];
  size_t n_home_prefixes;   /* 0..M6IKE_BCACHE_MAX_PREFIXES */
  size_t max_entries;       /* 0 = unlimited; a new entry beyond: BA 130 */
  uint16_t max_lifetime;    /* 4-s units granted at most; 0 = no cap */
  int home_reg_disabled;    /* HA configured off: BA 131 to H BUs */
  int k_supported;          /* HA echoes K in the BA if the BU had K */
  int prefix_discovery_needed; /* home prefix changing: accept with 1 */
  m6ike_tstamp nonce_lifetime; /* 0 = M6IKE_MAX_NONCE_LIFETIME */
  m6ike_bcache_callbacks cb;
} m6ike_bcache_config;

typedef struct m6ike_bcache m6ike_bcache;

/*
 * Creates a binding cache.  config is copied.  Returns 0,
 * M6IKE_ERR_INVALID_ARGUMENT (NULL pbc/config),
 * M6IKE_ERR_BINDING_CFG_ROLE, M6IKE_ERR_BINDING_CFG_PREFIX (count above
 * the maximum, a prefix length of 0 or above 128, or an HA without any
 * prefix) or M6IKE_ERR_NOMEM.
 */
int m6ike_bcache_new(m6ike_bcache **pbc, const m6ike_bcache_config *config,
                     const m6ike_mem *mem);
void m6ike_bcache_del(m6ike_bcache *bc);

/*
 * Processes a received Binding Update and fills *ba_out with the Binding
 * Acknowledgement to answer it (type BA, status, seq, granted lifetime, K
 * flag, and for accepted home registrations a Binding Refresh Advice of
 * half the granted lifetime, at least one unit).
 *
 * hoa is the home address (from the Home Address option, or the source
 * when the MN is at home); coa is the care-of address the caller decided
 * on: the Alternate Care-of Address option if bu carries one, else the
 * packet's source address (RFC 6275 §9.5.1).  This function does not look
 * at bu->opts.alt_coa.
 *
 * Decisions, in this order (the BA seq is the BU's except for 135):
 *  - hoa not unicast-routable (unspecified, multicast, loopback,
 *    link-local): M6IKE_ERR_BINDING_DISCARD.
 *  - correspondent registration (H clear): Nonce Indices and Binding
 *    Authorization Data options must be present, else DISCARD (§9.5.1
 *    says silently discard, not 128); nonces unknown or older than
 *    nonce_lifetime: 136 (home), 137 (care-of), 138 (both); the care-of
 *    nonce is not checked for a de-registration (§5.2.5); verify_auth
 *    failure: DISCARD.
 *  - an entry exists with the other H value: 139.
 *  - an entry exists and seq is not newer mod 2^16: 135, BA seq = the
 *    entry's last accepted seq.
 *  - H set: role CN or home_reg_disabled: 131; hoa on no home prefix: 132;
 *    is_served says no: 133.
 *  - admin_allowed says no: 129.
 *  - de-registration (lifetime 0 or coa == hoa): the entry is removed
 *    (REMOVED), status 0, lifetime 0.  With H set and no home-registration
 *    entry, 133 as RFC 6275 §10.3.2 requires; with H clear and no entry,
 *    0 (§9.5.3).
 *  - coa not unicast-routable: 128 (reason unspecified).
 *  - new entry: max_entries reached or an allocation failure: 130; H set
 *    and dad says failed: 134.
 *  - accepted: lifetime min(requested, max_lifetime), and for H clear at
 *    most MAX_RR_BINDING_LIFETIME (420 s) (capped, never rejected);
 *    status 1 if H and prefix_discovery_needed, else 0.
 *
 * Returns 1 if the BA must be sent, 0 if not, or a negative code
 * (ba_out then is not to be sent).  A BA is sent when the BU had A set or
 * the BU was rejected (status >= 128): a superset of §9.5.4's MUSTs and
 * §10.3.1's SHOULDs.  Codes: M6IKE_ERR_INVALID_ARGUMENT (NULL argument),
 * M6IKE_ERR_BINDING_NOT_BU, M6IKE_ERR_BINDING_DISCARD.
 */
int m6ike_bcache_process_bu(m6ike_bcache *bc, const m6ike_addr6 *hoa,
                            const m6ike_addr6 *coa, const m6ike_mh_msg *bu,
                            m6ike_tstamp now, m6ike_mh_msg *ba_out);

/* The entry for hoa or NULL.  Average O(1).  The pointer is valid until the
 * next call that changes the cache. */
const m6ike_bcache_entry *m6ike_bcache_lookup(const m6ike_bcache *bc,
                                              const m6ike_addr6 *hoa);

/* Removes the entry for hoa (REMOVED event).  0 or M6IKE_ERR_NOT_FOUND. */
int m6ike_bcache_remove(m6ike_bcache *bc, const m6ike_addr6 *hoa);

/* Earliest entry expiry (O(1), a binary heap), M6IKE_TSTAMP_UNSET if
 * empty. */
m6ike_tstamp m6ike_bcache_get_expiry(const m6ike_bcache *bc);

/* Removes every entry whose expiry <= now (EXPIRED events).  Returns the
 * number removed. */
size_t m6ike_bcache_handle_expiry(m6ike_bcache *bc, m6ike_tstamp now);

/* Iteration in no particular order: entries 0..count-1.  Pointers are
 * valid until the next call that changes the cache. */
size_t m6ike_bcache_count(const m6ike_bcache *bc);
const m6ike_bcache_entry *m6ike_bcache_at(const m6ike_bcache *bc, size_t i);

/*
 * Correspondent nonces (RFC 6275 §5.2.2): generates a fresh 8-byte nonce
 * with cb.rand and returns its index.  The cache remembers the last 32;
 * each is valid for nonce_lifetime from generation.  Returns 0,
 * M6IKE_ERR_INVALID_ARGUMENT (NULL argument or no rand callback) or
 * M6IKE_ERR_RANDOM.
 */
int m6ike_bcache_nonce_generate(m6ike_bcache *bc, m6ike_tstamp now,
                                uint16_t *index, uint8_t nonce[8]);
/* The nonce with that index if still valid at now: 0 or
 * M6IKE_ERR_NOT_FOUND. */
int m6ike_bcache_nonce_get(const m6ike_bcache *bc, uint16_t index,
                           m6ike_tstamp now, uint8_t nonce[8]);

/* ==== Binding update list (mobile node) ================================ */

typedef enum m6ike_bul_state {
  M6IKE_BUL_IDLE = 0,        /* at home or gave up: no binding */
  M6IKE_BUL_REGISTERING = 1, /* BU for a new CoA outstanding */
  M6IKE_BUL_REGISTERED = 2,  /* binding acknowledged (refreshes may run) */
  M6IKE_BUL_DEREGISTERING = 3 /* returned home, de-registration BU out */
} m6ike_bul_state;

typedef enum m6ike_bul_event {
  M6IKE_BUL_EV_BU_SENT = 1,     /* msg = the BU (first send of a BU) */
  M6IKE_BUL_EV_RETRANSMIT = 2,  /* msg = the BU being retransmitted */
  M6IKE_BUL_EV_BA_ACCEPTED = 3, /* msg = the BA (status < 128) */
  M6IKE_BUL_EV_BA_REJECTED = 4, /* msg = the BA (status >= 128, not 135) */
  M6IKE_BUL_EV_REGISTERED = 5,  /* a new CoA is now registered */
  M6IKE_BUL_EV_DEREGISTERED = 6, /* de-registration acknowledged */
  M6IKE_BUL_EV_GAVE_UP = 7,     /* max_retransmissions reached, no BA */
  M6IKE_BUL_EV_SEQ_RESYNC = 8,  /* msg = the BA with status 135 */
  M6IKE_BUL_EV_EXPIRED = 9      /* granted lifetime ran out unrefreshed */
} m6ike_bul_event;

typedef struct m6ike_bul m6ike_bul;

typedef struct m6ike_bul_callbacks {
  void *user_data;
  m6ike_rand_cb rand; /* initial sequence number if none configured */
  /* msg may be NULL (REGISTERED, DEREGISTERED, GAVE_UP, EXPIRED).  The
   * callback must not call back into bul. */
  void (*on_event)(m6ike_bul *bul, m6ike_bul_event ev,
                   const m6ike_mh_msg *msg, void *user_data);
} m6ike_bul_callbacks;

typedef struct m6ike_bul_config {
  m6ike_addr6 hoa;
  m6ike_addr6 ha;        /* the destination: the home agent */
  uint16_t lifetime;     /* requested, 4-s units (0 = 105, i.e. 420 s) */
  uint16_t flags;        /* BU flags sent: A|H (home registration), L, K */
  int has_initial_seq;   /* else the first seq comes from cb.rand */
  uint16_t initial_seq;  /* the first BU carries initial_seq + 1 */
  unsigned max_retransmissions; /* 0 = unlimited */
  /* Timers, 0 = the RFC 6275 default. */
  m6ike_tstamp initial_bindack_timeout_first_reg; /* 1.5 s */
  m6ike_tstamp initial_bindack_timeout;           /* 1 s */
  m6ike_tstamp max_bindack_timeout;               /* 32 s */
  /* Refresh at this percentage of the granted lifetime when the BA has no
   * Binding Refresh Advice; 0 = 90. */
  unsigned refresh_percent;
  m6ike_bul_callbacks cb;
} m6ike_bul_config;

/*
 * Creates a binding update list entry for one destination (the home agent;
 * a host keeps one object per destination).  Initially IDLE, at home.
 * Returns 0, M6IKE_ERR_INVALID_ARGUMENT (NULL pbul/config),
 * M6IKE_ERR_BINDING_CFG_HOA, M6IKE_ERR_BINDING_CFG_HA,
 * M6IKE_ERR_BINDING_CFG_TIMEOUT (an initial timeout above the maximum),
 * M6IKE_ERR_BINDING_CFG_REFRESH, M6IKE_ERR_RANDOM (no initial_seq and no
 * or a failing rand callback) or M6IKE_ERR_NOMEM.
 */
int m6ike_bul_new(m6ike_bul **pbul, const m6ike_bul_config *config,
                  const m6ike_mem *mem);
void m6ike_bul_del(m6ike_bul *bul);

/*
 * The MN attached with care-of address coa.  A new CoA starts a
 * registration (BU due now; the first home registration from IDLE uses
 * InitialBindackTimeoutFirstReg, any other InitialBindackTimeout).
 * coa == hoa (returned home, §11.5.4) starts a de-registration (lifetime
 * 0, sent from the HoA) unless already IDLE.  The same CoA again does
 * nothing.  Returns 1 if a BU became due, 0 if nothing changed,
 * M6IKE_ERR_INVALID_ARGUMENT or M6IKE_ERR_BINDING_BAD_COA (unspecified or
 * multicast).
 */
int m6ike_bul_move(m6ike_bul *bul, const m6ike_addr6 *coa, m6ike_tstamp now);

/*
 * The HA lost the binding (it restarted): back to IDLE without a message
 * (no BU outstanding, no refresh, no binding); the sequence number goes
 * on.  A following m6ike_bul_move() -- the same CoA included -- starts a
 * first home registration.  NULL: no-op.
 */
void m6ike_bul_forget(m6ike_bul *bul);

/*
 * If a BU is due at now (first send, retransmission, refresh or
 * sequence resync), fills *bu_out, *src_coa (the source address: the CoA,
 * or the HoA for a de-registration) and *dst (the HA) and returns 1; else
 * returns 0.  Runs m6ike_bul_handle_expiry(now) first, so a host may call
 * only this on wake-up.  Every BU, retransmissions included, carries a
 * new sequence number (RFC 6275 §11.7.1: greater than the previous BU's),
 * so a retransmission after a lost BA is not refused with 135.
 * Returns M6IKE_ERR_INVALID_ARGUMENT for NULL arguments.
 */
int m6ike_bul_write_bu(m6ike_bul *bul, m6ike_tstamp now, m6ike_mh_msg *bu_out,
                       m6ike_addr6 *src_coa, m6ike_addr6 *dst);

/*
 * Processes a Binding Acknowledgement.  It must answer the outstanding BU:
 * same seq (any seq for status 135, whose seq is the HA's last accepted
 * one, §11.7.3).
 *  - status < 128: REGISTERED (or IDLE after a de-registration); stops
 *    retransmitting; the binding expires lifetime after the BU was sent;
 *    a refresh is scheduled at the Binding Refresh Advice interval from
 *    now if the BA has one, else at refresh_percent of the granted
 *    lifetime after the BU was sent (always before expiry).
 *  - 135: seq := BA seq; a new BU (seq + 1) is due now (SEQ_RESYNC).
 *  - any other status: BA_REJECTED, IDLE, no retransmission (for 134 the
 *    host must pick another HoA; for 131/132/133 another HA).
 * Returns 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_BINDING_NOT_BA or
 * M6IKE_ERR_BINDING_BA_NO_MATCH (no BU outstanding or another seq:
 * ignored).
 */
int m6ike_bul_read_ba(m6ike_bul *bul, const m6ike_mh_msg *ba,
                      m6ike_tstamp now);

/* Earliest time the object needs to run, M6IKE_TSTAMP_UNSET if none. */
m6ike_tstamp m6ike_bul_get_expiry(const m6ike_bul *bul);

/*
 * Advances timers at now: a missed BA schedules a retransmission with the
 * timeout doubled up to max_bindack_timeout (then every max timeout until
 * max_retransmissions, then GAVE_UP and IDLE); a refresh time makes a
 * refresh BU due; an unrefreshed binding past its lifetime is dropped
 * (EXPIRED, REGISTERING).  The next write_bu returns the due BU.
 */
void m6ike_bul_handle_expiry(m6ike_bul *bul, m6ike_tstamp now);

/* Accessors (bul must not be NULL; no error codes). */
m6ike_bul_state m6ike_bul_get_state(const m6ike_bul *bul);
const m6ike_addr6 *m6ike_bul_get_coa(const m6ike_bul *bul);
uint16_t m6ike_bul_get_seq(const m6ike_bul *bul); /* last BU's seq */
unsigned m6ike_bul_get_retransmissions(const m6ike_bul *bul);
m6ike_tstamp m6ike_bul_get_timeout(const m6ike_bul *bul);
/* Granted lifetime (4-s units), binding expiry, last BA status, and
 * whether the HA echoed K; meaningful once a BA was accepted. */
uint16_t m6ike_bul_get_granted_lifetime(const m6ike_bul *bul);
m6ike_tstamp m6ike_bul_get_binding_expiry(const m6ike_bul *bul);
int m6ike_bul_get_last_status(const m6ike_bul *bul); /* -1 = none yet */
int m6ike_bul_ha_k(const m6ike_bul *bul);

#ifdef __cplusplus
}
#endif

#endif /* M6IKE_BINDING_H */
