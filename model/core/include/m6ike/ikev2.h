/*
 * ikev2: a sans-I/O IKEv2 engine (RFC 7296) for a key-management daemon,
 * with the mobility features mip6ike studies (RFC 4877, RFC 4555 and the
 * main paper's MSRD-driven SA update).
 *
 * SHAPE (picoquic-like).  One m6ike_ikev2 object stands for one IKE daemon
 * and holds any number of IKE SAs (and their CHILD_SAs).  The host feeds it
 * datagrams and the time and drains what it wants to send:
 *
 *     host                                   engine
 *     recvfrom() ---- read_pkt(path, bytes, now) ---->
 *                <--- write_pkt(&path, buf, cap, now) (repeat until 0)
 *     timer     ---- get_expiry() / handle_expiry(now) ---->
 *                <--- callbacks: child_sa_up/down/update, ike_sa_up/down,
 *                     keylog, log
 *
 * The engine never reads a clock, opens a socket or draws randomness
 * except through the rand callback; all cryptography goes through the
 * m6ike_crypto interface handed to m6ike_ikev2_new() (the NULL backend for
 * state-machine tests, OpenSSL for real runs).
 *
 * INSIDE (strongSwan-like, without the god object).  Every IKE SA runs a
 * queue of tasks, one per feature (IKE_INIT, IKE_AUTH, CHILD_CREATE, ...);
 * each task has an initiator side (build_i / process_i) and a responder
 * side (process_r / build_r).  An exchange is the set of tasks active in
 * it.  Payloads are encoded and decoded by the table-driven codec of
 * m6ike/ikev2_msg.h; this unit only decides what goes into a message.
 *
 * IDS.  Every IKE SA gets an engine-unique id (uint32, never 0, never
 * reused while the engine lives); every CHILD_SA an id unique in the
 * engine too.  Callbacks and accessors use these ids.
 *
 * ERRORS.  Codes -650..-699 belong to this unit (the payload codec owns
 * -600..-649).  read_pkt() and handle_expiry() never return a fatal code:
 * a failed allocation while processing a message deletes the IKE SA
 * concerned (ike_sa_down with M6IKE_ERR_IKEV2_SA_NOMEM) and the engine stays
 * usable.  m6ike_ikev2_error_notify() maps an error to the IKEv2 Notify
 * type sent on the wire.
 */
#ifndef M6IKE_IKEV2_H
#define M6IKE_IKEV2_H

#include "m6ike/common.h"
#include "m6ike/crypto.h"
#include "m6ike/ikev2_msg.h"
#include "m6ike/msrd.h"
#include "m6ike/pfkey_bus.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes of this unit (-650..-699). */
enum {
  M6IKE_ERR_IKEV2_BAD_CONFIG = -650,  /* a config field is out of range */
  M6IKE_ERR_IKEV2_NO_SA = -651,       /* no IKE SA / CHILD_SA with that id */
  M6IKE_ERR_IKEV2_SHORT = -652,       /* datagram shorter than an IKE header
                                         or its Length field */
  M6IKE_ERR_IKEV2_UNKNOWN_SPI = -653, /* no IKE SA for the message's SPIs
                                         (INVALID_SPI handling applied) */
  M6IKE_ERR_IKEV2_MSGID = -654,       /* message ID outside the window or a
                                         response nobody asked for: dropped */
  M6IKE_ERR_IKEV2_INTEGRITY = -655,   /* ICV / integrity checksum failed or
                                         SK payload malformed: dropped */
  M6IKE_ERR_IKEV2_NO_PROPOSAL = -656, /* no acceptable proposal (either
                                         side): NO_PROPOSAL_CHOSEN */
  M6IKE_ERR_IKEV2_AUTH = -657,        /* AUTH payload wrong, or the peer
                                         said AUTHENTICATION_FAILED */
  M6IKE_ERR_IKEV2_INVALID_KE = -658,  /* KE group not the one we want
                                         (INVALID_KE_PAYLOAD) */
  M6IKE_ERR_IKEV2_TS_UNACCEPTABLE = -659, /* no selectors in common */
  M6IKE_ERR_IKEV2_SYNTAX = -660,      /* required payload missing or
                                         inconsistent: INVALID_SYNTAX */
  M6IKE_ERR_IKEV2_TIMEOUT = -661,     /* retransmissions exhausted */
  M6IKE_ERR_IKEV2_CRYPTO = -662,      /* the crypto backend failed */
  M6IKE_ERR_IKEV2_UNSUPPORTED = -663, /* transform/group not supported by
                                         the crypto backend or the engine */
  M6IKE_ERR_IKEV2_SA_NOMEM = -664,    /* an allocation failed: the IKE SA
                                         concerned was deleted */
  M6IKE_ERR_IKEV2_LIMIT = -665,       /* max IKE SAs / queue limit reached */
  M6IKE_ERR_IKEV2_COOKIE = -666,      /* request refused with a COOKIE */
  M6IKE_ERR_IKEV2_NO_PEER = -667,     /* responder: no peer config matches
                                         IDi (AUTHENTICATION_FAILED) */
  M6IKE_ERR_IKEV2_PEER_ERROR = -668,  /* peer sent another error notify */
  M6IKE_ERR_IKEV2_BAD_KE = -669,      /* peer's DH public value rejected */
  M6IKE_ERR_IKEV2_DELETED = -670,     /* SA deleted (by us or the peer) */
  M6IKE_ERR_IKEV2_UNEXPECTED = -671,  /* message not valid in this state:
                                         dropped */
  M6IKE_ERR_IKEV2_CALLBACK = -672,    /* a callback returned non-zero */
  M6IKE_ERR_IKEV2_CHILD_FAILED = -673, /* the CHILD_SA of an exchange
                                          failed (the IKE SA stays) */
  M6IKE_ERR_IKEV2_BUSY = -674,        /* the SA is being deleted/rekeyed */
  M6IKE_ERR_IKEV2_NOT_READY = -675    /* dependency not available (e.g. no
                                         pfkey bus attached) */
};

/* Error text for this unit's codes, NULL for codes it does not own. */
const char *m6ike_ikev2_strerror_(int code);

/* The Notify type (RFC 7296 §3.10.1) an error is reported with on the
 * wire, 0 if it is not sent (e.g. TIMEOUT). */
uint16_t m6ike_ikev2_error_notify(int code);

/* ---- addresses ---------------------------------------------------------- */

/* A datagram's path (ports in host order; 500 / 4500 for IKE). */
typedef struct m6ike_ikev2_path {
  m6ike_addr6 local, remote;
  uint16_t local_port, remote_port;
} m6ike_ikev2_path;

/* ---- configuration ------------------------------------------------------ */

/* One proposal: IANA transform IDs (RFC 7296 §3.3.2; the constants are in
 * m6ike/ikev2_msg.h).  For IKE: encr, prf, integ (0 with an AEAD), dh.
 * For ESP: encr, integ (0 with an AEAD), dh (0 = no PFS), esn (0 or 1). */
typedef struct m6ike_ikev2_algs {
  uint16_t encr;
  uint16_t encr_keylen; /* bits, 0 for ciphers with a fixed key size */
  uint16_t prf;
  uint16_t integ;
  uint16_t dh;
  uint8_t esn;
} m6ike_ikev2_algs;

#define M6IKE_IKEV2_MAX_PROPOSALS 4
#define M6IKE_IKEV2_MAX_TS 4
#define M6IKE_IKEV2_ID_MAX 128
#define M6IKE_IKEV2_PSK_MAX 128

/* An identity (RFC 7296 §3.5); type 0 in a remote id means "any". */
typedef struct m6ike_ikev2_ident {
  uint8_t type; /* M6IKE_IKEV2_ID_FQDN, _RFC822_ADDR, _IPV6_ADDR, ... */
  uint8_t len;
  uint8_t data[M6IKE_IKEV2_ID_MAX];
} m6ike_ikev2_ident;

/* Traffic selectors are the codec's m6ike_ikev2_ts (IPv6 ranges; for the
 * Mobility Header, RFC 4877, see m6ike_ikev2_ts_set_mh()). */

/* One IKE peer: identities, credentials and IKE proposals.  Initiator: the
 * path is where to send IKE_SA_INIT (remote_port 0 = 500).  Responder
 * (m6ike_ikev2_add_peer): the peer whose remote_id matches the received
 * IDi is chosen (a remote_id of type 0 matches any IDi); path addresses
 * that are not :: must match the datagram's. */
typedef struct m6ike_ikev2_peer_cfg {
  m6ike_ikev2_path path;
  m6ike_ikev2_ident local_id, remote_id;
  /* How we authenticate: M6IKE_IKEV2_AUTH_PSK (psk), or with key and
   * cert: M6IKE_IKEV2_AUTH_RSA_SIG (RSA PKCS#1 v1.5 SHA-1),
   * M6IKE_IKEV2_AUTH_ECDSA_256 (P-256, SHA-256, RFC 4754) or
   * M6IKE_IKEV2_AUTH_DIGITAL_SIG (RFC 7427, scheme sig_scheme). */
  uint8_t auth_method;
  uint8_t psk[M6IKE_IKEV2_PSK_MAX];
  size_t psk_len;
  uint8_t sig_scheme; /* m6ike_sig_scheme, for DIGITAL_SIG */
  /* Our private key and certificate (sent in a CERT payload), and the CAs
   * a peer's certificate must chain to: objects of the engine's crypto
   * backend, not owned by the engine (they must outlive it).  The peer is
   * verified with signatures when n_cas > 0 (its certificate must hold its
   * IDi/IDr), else with the PSK. */
  m6ike_crypto_privkey *key;
  m6ike_crypto_cert *cert;
  m6ike_crypto_cert *const *cas;
  size_t n_cas;
  int64_t cert_time; /* unix time for validity checks; 0 or
                        M6IKE_CRYPTO_TIME_ANY: not checked (the core has
                        no clock) */
  m6ike_ikev2_algs ike[M6IKE_IKEV2_MAX_PROPOSALS];
  size_t n_ike; /* >= 1; the initiator's KE uses ike[0].dh */
  /* Initiator: send INITIAL_CONTACT in IKE_AUTH (RFC 7296 §2.4): the
   * responder then drops every other IKE SA with our identity. */
  uint8_t initial_contact;
  /* Configuration payload (RFC 7296 §2.19; RFC 5026 / RFC 4877 dynamic
   * HoA).  Initiator: cp_request asks, in IKE_AUTH, for an address
   * (INTERNAL_IP6_ADDRESS) and/or a home prefix (MIP6_HOME_PREFIX); the
   * answer is in m6ike_ikev2_ike_info.  Responder: the values it hands out
   * (:: = none); an assigned address also narrows the CHILD_SAs' TSi. */
  /* MOBIKE (RFC 4555): offer MOBIKE_SUPPORTED in IKE_AUTH; no_nats: put
   * NO_NATS_ALLOWED in UPDATE_SA_ADDRESSES requests. */
  uint8_t mobike, no_nats;
  uint8_t cp_request; /* M6IKE_IKEV2_CP_WANT_* bits */
  m6ike_addr6 cp_addr;
  uint8_t cp_addr_plen;
  m6ike_addr6 cp_prefix;
  uint8_t cp_prefix_plen;
  uint32_t cp_prefix_lifetime;
} m6ike_ikev2_peer_cfg;

#define M6IKE_IKEV2_CP_WANT_ADDR 0x01u
#define M6IKE_IKEV2_CP_WANT_HOME_PREFIX 0x02u

enum { M6IKE_IKEV2_MODE_TRANSPORT = 1, M6IKE_IKEV2_MODE_TUNNEL = 2 };

/* One CHILD_SA policy.  Initiator: proposes ts_local as TSi, ts_remote as
 * TSr.  Responder: the first child config of the peer whose selectors
 * contain the proposed ones is used, and the proposed selectors are
 * narrowed to it. */
typedef struct m6ike_ikev2_child_cfg {
  uint8_t mode; /* M6IKE_IKEV2_MODE_* */
  uint32_t reqid;
  m6ike_ikev2_ts ts_local[M6IKE_IKEV2_MAX_TS];
  size_t n_ts_local;
  m6ike_ikev2_ts ts_remote[M6IKE_IKEV2_MAX_TS];
  size_t n_ts_remote;
  m6ike_ikev2_algs esp[M6IKE_IKEV2_MAX_PROPOSALS];
  size_t n_esp;
} m6ike_ikev2_child_cfg;

typedef struct m6ike_ikev2_config {
  m6ike_tstamp retrans_timeout; /* first retransmission; 0 = 500 ms */
  m6ike_tstamp retrans_max;     /* cap of the doubling; 0 = 32 s */
  unsigned retrans_tries;       /* retransmissions before giving up;
                                   0 = 5 */
  uint32_t max_ike_sas;         /* 0 = 65536 */
  uint32_t cookie_threshold;    /* half-open SAs that make the responder
                                   demand COOKIEs; 0 = never */
  m6ike_tstamp half_open_timeout; /* responder drops an SA still not
                                     authenticated after this; 0 = 30 s */
  size_t max_msg;               /* largest IKE message built (no RFC 7383
                                   fragmentation); 0 = 8192, min 1280 */
  size_t out_queue_limit;       /* queued datagrams; 0 = 256 */
  size_t max_msg_in;            /* largest datagram read_pkt accepts (the
                                   decryption buffer, also used for PF_KEY
                                   messages); 0 = 65535, min 1280; longer
                                   ones: M6IKE_ERR_IKEV2_LIMIT */
  unsigned hash_bits;           /* SPI hash tables of 2^hash_bits buckets;
                                   0 = 10, 4..20 (a small node: 4, a home
                                   agent with 10,000 MNs: 14) */
  m6ike_tstamp liveness_idle;   /* RFC 7296 §1.4 liveness check: an
                                   established IKE SA that received nothing
                                   authenticated for this long (and has no
                                   exchange of its own in flight) sends an
                                   empty INFORMATIONAL request, as
                                   m6ike_ikev2_liveness(); no answer after
                                   the retransmissions kills the SA
                                   (ike_sa_down / child_sa_down with
                                   M6IKE_ERR_IKEV2_TIMEOUT).  0 = off (the
                                   default: no message is added) */
} m6ike_ikev2_config;

/* Fills cfg with the defaults (every field its "0 =" value made explicit). */
void m6ike_ikev2_config_default(m6ike_ikev2_config *cfg);

/* ---- what the callbacks report ------------------------------------------ */

typedef struct m6ike_ikev2_ike_info {
  uint32_t sa_id;
  int initiator; /* 1 if we sent the IKE_SA_INIT request */
  uint64_t spi_i, spi_r;
  m6ike_ikev2_path path;
  m6ike_ikev2_algs alg; /* the chosen transforms */
  m6ike_ikev2_ident local_id, remote_id;
  /* RFC 7296 §2.23 NAT detection (IKE_SA_INIT): a NAT in front of us
   * (our address was rewritten) / in front of the peer.  Reported only:
   * the engine does not float to port 4500. */
  uint8_t nat_local, nat_remote;
  uint8_t mobike; /* both sides sent MOBIKE_SUPPORTED */
  /* Initiator: what the CFG_REPLY assigned (M6IKE_IKEV2_CP_WANT_* bits in
   * cp_got for the fields that are valid).  Filled after the whole
   * IKE_AUTH response was processed: read it with get_ike_info() (the
   * ike_sa_up callback runs before the CP payload is handled). */
  uint8_t cp_got;
  m6ike_addr6 cp_addr;
  uint8_t cp_addr_plen;
  m6ike_addr6 cp_prefix;
  uint8_t cp_prefix_plen;
  uint32_t cp_prefix_lifetime;
} m6ike_ikev2_ike_info;

#define M6IKE_IKEV2_KEY_MAX 64

/* One CHILD_SA pair (an inbound and an outbound ESP SA).  Keys are RFC
 * 7296 §2.17 KEYMAT split as the SA's direction needs: for AES-GCM the
 * encryption key includes the 4-octet salt (RFC 4106 §8.1). */
typedef struct m6ike_ikev2_child_info {
  uint32_t sa_id;    /* the IKE SA */
  uint32_t child_id; /* engine-unique */
  uint32_t reqid;
  uint32_t spi_in, spi_out; /* host values */
  uint8_t mode;             /* M6IKE_IKEV2_MODE_* */
  m6ike_ikev2_algs alg; /* encr, encr_keylen, integ, esn, dh (PFS) */
  /* SA endpoints = the IKE SA's addresses (tunnel mode outer header;
   * transport mode: the selectors' addresses are used by the host). */
  m6ike_addr6 local, remote;
  m6ike_ikev2_ts ts_local[M6IKE_IKEV2_MAX_TS];
  size_t n_ts_local;
  m6ike_ikev2_ts ts_remote[M6IKE_IKEV2_MAX_TS];
  size_t n_ts_remote;
  uint8_t enc_in[M6IKE_IKEV2_KEY_MAX], enc_out[M6IKE_IKEV2_KEY_MAX];
  size_t enc_len;
  uint8_t integ_in[M6IKE_IKEV2_KEY_MAX], integ_out[M6IKE_IKEV2_KEY_MAX];
  size_t integ_len;
} m6ike_ikev2_child_info;

enum {
  M6IKE_IKEV2_LOG_ERROR = 0,
  M6IKE_IKEV2_LOG_INFO = 1,
  M6IKE_IKEV2_LOG_DEBUG = 2
};

typedef struct m6ike_ikev2 m6ike_ikev2;

/* Exchange types counted by the stats (RFC 7296 §3.1 numbers - 34). */
enum {
  M6IKE_IKEV2_X_IKE_SA_INIT = 0,
  M6IKE_IKEV2_X_IKE_AUTH = 1,
  M6IKE_IKEV2_X_CREATE_CHILD_SA = 2,
  M6IKE_IKEV2_X_INFORMATIONAL = 3,
  M6IKE_IKEV2_X_COUNT = 4
};


/*
 * Callbacks.  All may be NULL except rand.  They run synchronously inside
 * read_pkt / write_pkt / handle_expiry / initiate; they must not call back
 * into the engine, except the accessors (get_*).  child_sa_up returning
 * non-zero makes the engine treat the CHILD_SA as failed (it is deleted
 * and, as responder, refused).
 */
typedef struct m6ike_ikev2_callbacks {
  void *user_data;
  m6ike_rand_cb rand;
  void (*log)(int level, uint32_t sa_id, const char *msg, void *user_data);
  void (*ike_sa_up)(const m6ike_ikev2_ike_info *info, void *user_data);
  /* reason: 0 for an orderly delete, else an error code */
  void (*ike_sa_down)(uint32_t sa_id, int reason, void *user_data);
  int (*child_sa_up)(const m6ike_ikev2_child_info *info, void *user_data);
  void (*child_sa_down)(const m6ike_ikev2_child_info *info, int reason,
                        void *user_data);
  /* Endpoints of an installed CHILD_SA changed in place (same SPIs and
   * keys): MSRD direct update, MOBIKE.  Non-zero = failure. */
  int (*child_sa_update)(const m6ike_ikev2_child_info *info,
                         void *user_data);
  /* One line of Wireshark's ikev2_decryption_table (UAT) for an IKE SA:
   * SPIi,SPIr,SK_ei,SK_er,"encr name",SK_ai,SK_ar,"integ name" without a
   * trailing newline: hex fields unquoted, as tshark 4.0 requires. */
  void (*keylog)(uint32_t sa_id, const char *line, void *user_data);
} m6ike_ikev2_callbacks;

/* ---- the engine ---------------------------------------------------------- */

/*
 * Creates an engine.  cfg NULL = defaults; cbs and cbs->rand required;
 * crypto required (the engine does not own it; it must outlive the
 * engine).  Returns 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_IKEV2_BAD_CONFIG,
 * M6IKE_ERR_NOMEM.
 */
int m6ike_ikev2_new(m6ike_ikev2 **pike, const m6ike_ikev2_config *cfg,
                    const m6ike_ikev2_callbacks *cbs, const m6ike_crypto *crypto,
                    const m6ike_mem *mem);

/* Frees the engine and every SA (no callbacks).  NULL is a no-op. */
void m6ike_ikev2_del(m6ike_ikev2 *ike);

/*
 * Responder policy: accept IKE SAs from peers matching pc and CHILD_SAs
 * matching one of children[0..n_children-1] (copied).  Returns 0,
 * M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_IKEV2_BAD_CONFIG, M6IKE_ERR_NOMEM.
 */
int m6ike_ikev2_add_peer(m6ike_ikev2 *ike, const m6ike_ikev2_peer_cfg *pc,
                         const m6ike_ikev2_child_cfg *children,
                         size_t n_children);

/*
 * Starts an IKE SA with IKE_SA_INIT + IKE_AUTH establishing one CHILD_SA
 * from cc (cc NULL: IKE SA only).  The request is queued: drain it with
 * write_pkt().  *sa_id (may be NULL) receives the new IKE SA's id.
 * Returns 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_IKEV2_BAD_CONFIG,
 * M6IKE_ERR_IKEV2_UNSUPPORTED (group/transform the crypto backend lacks),
 * M6IKE_ERR_IKEV2_LIMIT, M6IKE_ERR_IKEV2_CRYPTO, M6IKE_ERR_RANDOM,
 * M6IKE_ERR_IKEV2_SA_NOMEM.
 */
int m6ike_ikev2_initiate(m6ike_ikev2 *ike, const m6ike_ikev2_peer_cfg *pc,
                         const m6ike_ikev2_child_cfg *cc, m6ike_tstamp now,
                         uint32_t *sa_id);

/*
 * Processes one received datagram (path as seen by this host: local is
 * our address).  Returns 0 if the message was processed (including a
 * duplicate request answered from the cache and an error answered with a
 * notify), or, for a message that was dropped or refused:
 * M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_IKEV2_SHORT, a codec code
 * (-600..-649), M6IKE_ERR_IKEV2_UNKNOWN_SPI, M6IKE_ERR_IKEV2_MSGID,
 * M6IKE_ERR_IKEV2_INTEGRITY, M6IKE_ERR_IKEV2_UNEXPECTED,
 * M6IKE_ERR_IKEV2_SYNTAX, M6IKE_ERR_IKEV2_NO_PROPOSAL,
 * M6IKE_ERR_IKEV2_INVALID_KE, M6IKE_ERR_IKEV2_AUTH, M6IKE_ERR_IKEV2_TS,
 * M6IKE_ERR_IKEV2_NO_PEER, M6IKE_ERR_IKEV2_PEER_ERROR,
 * M6IKE_ERR_IKEV2_BAD_KE, M6IKE_ERR_IKEV2_COOKIE, M6IKE_ERR_IKEV2_LIMIT,
 * M6IKE_ERR_IKEV2_CRYPTO, M6IKE_ERR_IKEV2_CHILD_FAILED,
 * M6IKE_ERR_IKEV2_CALLBACK, M6IKE_ERR_RANDOM, M6IKE_ERR_IKEV2_SA_NOMEM.
 * Codes for a failed exchange also end up in ike_sa_down / logs.
 */
int m6ike_ikev2_read_pkt(m6ike_ikev2 *ike, const m6ike_ikev2_path *path,
                         const uint8_t *data, size_t len, m6ike_tstamp now);

/*
 * Pops the next datagram to send into buf and its path into *out.  Returns
 * its length, 0 if nothing is queued, M6IKE_ERR_NOBUF (cap too small; the
 * datagram stays queued) or M6IKE_ERR_INVALID_ARGUMENT.
 */
int m6ike_ikev2_write_pkt(m6ike_ikev2 *ike, m6ike_ikev2_path *out,
                          uint8_t *buf, size_t cap, m6ike_tstamp now);

/* Next time handle_expiry() must run, M6IKE_TSTAMP_UNSET if none. */
m6ike_tstamp m6ike_ikev2_get_expiry(const m6ike_ikev2 *ike);

/* Runs the timers due at now (retransmissions, give-ups, half-open SA
 * expiry).  Returns 0 or M6IKE_ERR_INVALID_ARGUMENT. */
int m6ike_ikev2_handle_expiry(m6ike_ikev2 *ike, m6ike_tstamp now);

/* ---- exchanges on an established IKE SA ----------------------------------- */
/*
 * Each queues one exchange (window 1: it starts when the SA has no request
 * in flight) and returns 0, or M6IKE_ERR_INVALID_ARGUMENT,
 * M6IKE_ERR_IKEV2_NO_SA (no such IKE SA / CHILD_SA),
 * M6IKE_ERR_INVALID_STATE (the IKE SA is not established),
 * M6IKE_ERR_IKEV2_BUSY (being deleted, or the CHILD_SA is already being
 * replaced or deleted), M6IKE_ERR_IKEV2_SA_NOMEM, M6IKE_ERR_RANDOM,
 * M6IKE_ERR_IKEV2_CRYPTO.  Results come through the callbacks.
 */

/* CREATE_CHILD_SA for a new pair from cc (PFS if cc->esp[0].dh != 0; an
 * INVALID_KE_PAYLOAD answer makes it retry with the group asked for, if
 * offered).  Also M6IKE_ERR_IKEV2_BAD_CONFIG. */
int m6ike_ikev2_create_child(m6ike_ikev2 *ike, uint32_t sa_id,
                             const m6ike_ikev2_child_cfg *cc,
                             m6ike_tstamp now);
/* CREATE_CHILD_SA with N(REKEY_SA): a new pair (new SPIs, new keys, PFS as
 * the pair's config says) with the same selectors; child_sa_up reports it,
 * then the old pair is deleted with an INFORMATIONAL (child_sa_down,
 * reason 0). */
int m6ike_ikev2_rekey_child(m6ike_ikev2 *ike, uint32_t child_id,
                            m6ike_tstamp now);
/* INFORMATIONAL { D(ESP) }: child_sa_down (reason 0) on both sides. */
int m6ike_ikev2_delete_child(m6ike_ikev2 *ike, uint32_t child_id,
                             m6ike_tstamp now);
/* INFORMATIONAL { D(IKE) }: the IKE SA and its CHILD_SAs go on both sides
 * (ike_sa_down with reason 0). */
int m6ike_ikev2_delete_ike(m6ike_ikev2 *ike, uint32_t sa_id,
                           m6ike_tstamp now);
/* IKE SA rekey (RFC 7296 §1.3.2, §2.18): CREATE_CHILD_SA { SA(IKE, new
 * SPI), Ni, KEi } with the SA's DH group; the new IKE SA (a new sa_id,
 * reported by ike_sa_up on both sides, message IDs from 0) takes over the
 * CHILD_SAs (their sa_id changes; no child callbacks), then the old one is
 * deleted with INFORMATIONAL { D(IKE) } (ike_sa_down, reason 0).
 * Simultaneous rekeys (§2.8.2) are not resolved. */
int m6ike_ikev2_rekey_ike(m6ike_ikev2 *ike, uint32_t sa_id,
                          m6ike_tstamp now);
/* MOBIKE (RFC 4555 §3.5): the original initiator of an IKE SA with MOBIKE
 * moves it to a new local address: the IKE SA and its tunnel-mode
 * CHILD_SAs are moved at once (child_sa_update), then INFORMATIONAL
 * { N(UPDATE_SA_ADDRESSES), N(NAT_DETECTION_*), N(COOKIE2)
 * [, N(NO_NATS_ALLOWED)] } is sent from the new address; the responder
 * moves its side to the request's source address and echoes COOKIE2 (a
 * response without the right COOKIE2 is logged and ignored).  Also
 * M6IKE_ERR_INVALID_STATE if MOBIKE was not negotiated or we are not the
 * original initiator. */
int m6ike_ikev2_mobike_update(m6ike_ikev2 *ike, uint32_t sa_id,
                              const m6ike_addr6 *local, m6ike_tstamp now);
/* The host's ESP received a packet for an unknown SPI from this peer
 * (RFC 7296 §1.5): INFORMATIONAL { N(INVALID_SPI(spi)) }.  A receiving
 * engine drops its pair whose outbound SPI that is (child_sa_down, reason
 * M6IKE_ERR_IKEV2_PEER_ERROR). */
int m6ike_ikev2_report_invalid_spi(m6ike_ikev2 *ike, uint32_t sa_id,
                                   uint32_t spi, m6ike_tstamp now);
/* Empty INFORMATIONAL (liveness check, RFC 7296 §2.4): no answer after the
 * retransmissions deletes the SA (ike_sa_down M6IKE_ERR_IKEV2_TIMEOUT). */
int m6ike_ikev2_liveness(m6ike_ikev2 *ike, uint32_t sa_id, m6ike_tstamp now);
/* Forgets every IKE SA whose peer address is remote (any state), locally:
 * no message is sent (the peer lost them, or is gone); each SA's
 * CHILD_SAs go down (child_sa_down) and then the SA (ike_sa_down), both
 * with reason M6IKE_ERR_IKEV2_DELETED.  Returns the number of IKE SAs
 * forgotten (>= 0) or M6IKE_ERR_INVALID_ARGUMENT. */
int m6ike_ikev2_forget_peer(m6ike_ikev2 *ike, const m6ike_addr6 *remote,
                            m6ike_tstamp now);

/* ---- the main paper's mechanism: PF_KEY + MSRD ------------------------------ */
/*
 * The engine is the key manager of a node.  attach_pfkey() makes it
 * register for ESP on the bus endpoint ep (opened by the host with the
 * KEY_MANAGER role) and keeps an MSRD reader for Reference lookups.  The
 * host then calls m6ike_ikev2_process_pfkey() whenever the endpoint has
 * messages (e.g. from the endpoint's notify callback, after it returns).
 *
 * SADB_ACQUIRE with the Reference extension (paper §III.C-E): the MPI is
 * looked up in the MSRD (HoA, CoA, HA) and
 *   - no IKE SA for this MPI yet: BOOTSTRAP (RFC 4877): an IKE SA from the
 *     CoA to the HA, the HoA in TSi, the CHILD_SAs of the mobility config;
 *   - an IKE SA exists and the CoA changed: DIRECT UPDATE: the IKE SA and
 *     its tunnel-mode CHILD_SAs move to the new CoA in place (same SPIs,
 *     keys and sequence numbers: child_sa_update), and one authenticated
 *     INFORMATIONAL { N(M6IKE_SA_ADDRESS_UPDATE(MPI, CoA)) } tells the HA;
 *     transport-mode pairs (HoA <-> HA) do not change;
 *   - the CoA did not change: nothing.
 * SADB_ACQUIRE without Reference (a stock daemon, the paper's Table I
 * baseline): RENEGOTIATE: a new IKE SA from the ACQUIRE's source address
 * to its destination with every CHILD_SA of the mobility config, sent with
 * INITIAL_CONTACT so the HA drops the old SAs; the engine drops its own old
 * IKE SA to that peer locally (its address is gone).
 * SADB_X_MIGRATE (seeds 002/003; the kernel has already moved its own
 * SAs): the tunnel-mode CHILD_SAs whose endpoints are an old pair of the
 * X_POLICY take the new pair (child_sa_update); with KMADDRESS the IKE SA
 * owning them moves to the KMADDRESS addresses; without it the IKE SA stays
 * where it was (the ambiguity seed 002 describes).  No IKE message is sent.
 * A responder (HA) engine applies M6IKE_SA_ADDRESS_UPDATE received in an
 * INFORMATIONAL request of an established IKE SA: the IKE SA's and the
 * tunnel CHILD_SAs' remote address become the new CoA (child_sa_update).
 */

/* What a key manager negotiates for a mobile node.  peer: identities,
 * credentials, IKE proposals and ports (the addresses come from the MSRD
 * or the ACQUIRE).  In the children, a selector whose start and end are
 * both :: is a placeholder: in ts_local for the HoA, in ts_remote for the
 * HA address (RFC 4877: transport-mode BU/BA pairs between HoA and HA,
 * tunnel-mode pairs HoA <-> anything).  children[0] is negotiated in
 * IKE_AUTH, the others with CREATE_CHILD_SA. */
#define M6IKE_IKEV2_MAX_MOBILE_CHILDREN 4
typedef struct m6ike_ikev2_mobility_cfg {
  m6ike_ikev2_peer_cfg peer;
  m6ike_ikev2_child_cfg children[M6IKE_IKEV2_MAX_MOBILE_CHILDREN];
  size_t n_children; /* 1.. */
} m6ike_ikev2_mobility_cfg;

/* Registers for ESP on ep (SADB_REGISTER) and keeps bus, ep and msrd
 * (msrd may be NULL: then every Reference is treated as unknown).
 * Returns 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_INVALID_STATE (already
 * attached) or the bus's send() codes. */
int m6ike_ikev2_attach_pfkey(m6ike_ikev2 *ike, m6ike_pfkey_bus *bus,
                             m6ike_pfkey_ep ep,
                             const m6ike_msrd_reader *msrd);
/* Sets (copies) the mobility config.  0, M6IKE_ERR_INVALID_ARGUMENT,
 * M6IKE_ERR_IKEV2_BAD_CONFIG. */
int m6ike_ikev2_set_mobility(m6ike_ikev2 *ike,
                             const m6ike_ikev2_mobility_cfg *mc);
/*
 * Reads and handles every message queued on the endpoint.  Returns the
 * number of ACQUIREs and MIGRATEs acted on (>= 0), or M6IKE_ERR_INVALID_ARGUMENT,
 * M6IKE_ERR_IKEV2_NOT_READY (not attached, or an ACQUIRE arrived without
 * a mobility config).  ACQUIREs that cannot be served are counted in the
 * handover record (result) and logged, not returned.
 */
int m6ike_ikev2_process_pfkey(m6ike_ikev2 *ike, m6ike_tstamp now);

/* For a key manager whose PF_KEY endpoint is not a bus in this process
 * (keymgr.h: bytes over a socket): keeps msrd for Reference lookups and
 * marks the engine attached without a bus (the host sends SADB_REGISTER
 * itself).  0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_INVALID_STATE
 * (already attached). */
int m6ike_ikev2_attach_msrd(m6ike_ikev2 *ike, const m6ike_msrd_reader *msrd);
/* Handles one PF_KEY message (bytes) as process_pfkey() handles each queued
 * one.  Returns 1 if an ACQUIRE or MIGRATE was acted on, 0 if the message
 * was not for the engine (replies, undecodable, error replies),
 * M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_IKEV2_NOT_READY (not attached, or
 * an ACQUIRE without a mobility config). */
int m6ike_ikev2_handle_pfkey(m6ike_ikev2 *ike, const uint8_t *msg,
                             size_t len, m6ike_tstamp now);

typedef enum m6ike_ikev2_ho_kind {
  M6IKE_IKEV2_HO_NONE = 0,
  M6IKE_IKEV2_HO_BOOTSTRAP = 1,     /* ACQUIRE+Reference, no IKE SA yet */
  M6IKE_IKEV2_HO_DIRECT_UPDATE = 2, /* ACQUIRE+Reference, CoA changed */
  M6IKE_IKEV2_HO_RENEGOTIATE = 3    /* ACQUIRE without Reference */
} m6ike_ikev2_ho_kind;

/* The last ACQUIRE-driven operation, for the paper's Table I.  msgs and
 * bytes count the IKE messages this engine sent and received (whole
 * engine) between the ACQUIRE and the end of the operation. */
typedef struct m6ike_ikev2_handover {
  m6ike_ikev2_ho_kind kind;
  uint32_t mpi;   /* 0 without Reference */
  uint32_t sa_id; /* the IKE SA used or created */
  m6ike_tstamp started, completed; /* completed: UNSET while running */
  int result;     /* 0, or the error that ended it */
  uint32_t msgs[M6IKE_IKEV2_X_COUNT];
  uint64_t bytes;
} m6ike_ikev2_handover;

/* Copies the last record; 0, or M6IKE_ERR_NOT_FOUND (none yet),
 * M6IKE_ERR_INVALID_ARGUMENT. */
int m6ike_ikev2_get_handover(const m6ike_ikev2 *ike,
                             m6ike_ikev2_handover *out);

/* ---- accessors ------------------------------------------------------------ */

typedef enum m6ike_ikev2_state {
  M6IKE_IKEV2_SA_CONNECTING = 1, /* IKE_SA_INIT / IKE_AUTH in progress */
  M6IKE_IKEV2_SA_ESTABLISHED = 2,
  M6IKE_IKEV2_SA_DELETING = 3
} m6ike_ikev2_state;

/* 0 and *info filled, or M6IKE_ERR_IKEV2_NO_SA / _INVALID_ARGUMENT. */
int m6ike_ikev2_get_ike_info(const m6ike_ikev2 *ike, uint32_t sa_id,
                             m6ike_ikev2_ike_info *info);
/* The SA's state, or M6IKE_ERR_IKEV2_NO_SA. */
int m6ike_ikev2_get_state(const m6ike_ikev2 *ike, uint32_t sa_id);
/* 0 and *info filled, or M6IKE_ERR_IKEV2_NO_SA / _INVALID_ARGUMENT. */
int m6ike_ikev2_get_child_info(const m6ike_ikev2 *ike, uint32_t child_id,
                               m6ike_ikev2_child_info *info);
/* Number of CHILD_SA pairs of an IKE SA (0 if none or no such SA). */
size_t m6ike_ikev2_child_count(const m6ike_ikev2 *ike, uint32_t sa_id);
/* Number of IKE SAs (any state). */
size_t m6ike_ikev2_count(const m6ike_ikev2 *ike);

/* Counters since creation (the Table I accounting takes differences). */
typedef struct m6ike_ikev2_stats {
  uint64_t msgs_out[M6IKE_IKEV2_X_COUNT]; /* including retransmissions */
  uint64_t bytes_out[M6IKE_IKEV2_X_COUNT];
  uint64_t msgs_in[M6IKE_IKEV2_X_COUNT];  /* accepted for processing */
  uint64_t bytes_in[M6IKE_IKEV2_X_COUNT];
  uint64_t retransmits;      /* requests sent again after a timeout */
  uint64_t dup_requests;     /* answered from the response cache */
  uint64_t dropped;          /* datagrams refused by read_pkt */
  uint64_t integrity_fail;   /* ... of which failed the ICV */
  uint64_t ike_sas_up, ike_sas_failed, child_sas_up, child_sas_failed;
  uint64_t half_open;        /* current responder half-open SAs */
  uint64_t acquires, acquires_ref;   /* SADB_ACQUIREs; with Reference */
  uint64_t bootstraps, direct_updates, renegotiations;
  uint64_t peer_updates;             /* M6IKE_SA_ADDRESS_UPDATEs applied */
  uint64_t mobike_updates;           /* UPDATE_SA_ADDRESSES applied */
  uint64_t migrates, migrate_ike_moved; /* SADB_X_MIGRATEs; with KMADDRESS
                                           (the IKE SA moved) */
  uint64_t liveness_checks;          /* cfg.liveness_idle checks started */
} m6ike_ikev2_stats;

void m6ike_ikev2_get_stats(const m6ike_ikev2 *ike, m6ike_ikev2_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* M6IKE_IKEV2_H */
