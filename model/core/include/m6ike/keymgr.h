/*
 * keymgr: the key-management side of one Mobile IPv6 node (the main
 * paper's "IKEv2 daemon"), sans-I/O: the IKEv2 engine (ikev2.h), a
 * read-only MSRD reader, and a PF_KEY KEY_MANAGER endpoint spoken as bytes.
 *
 *   host: read_udp, read_pfkey, poll_msrd, handle_expiry, start, add_mn
 *     |                                         ^
 *     v                                         | send_udp (IKE datagrams)
 *   +---------------- m6ike_keymgr ----------------+ send_pfkey (bytes on
 *   |  m6ike_ikev2 (initiator MN / responder HA)   |   its KEY_MANAGER
 *   |  MSRD reader (Reference lookups)             |   endpoint)
 *   |  SA management over PF_KEY only              | keylog, log
 *   +----------------------------------------------+
 *
 * PF_KEY, IN.  start() sends SADB_REGISTER (ESP).  Then every message the
 * host reads on the endpoint goes to read_pfkey(): SADB_ACQUIRE with or
 * without the Reference, SADB_X_MIGRATE (+ KMADDRESS) -- the engine acts on
 * them as ikev2.h's "main paper's mechanism" says -- and the kernel's
 * replies to our own messages (REGISTER, ADD, UPDATE, DELETE; an error
 * reply is logged and counted, not fatal).
 *
 * PF_KEY, OUT: the SAs, and nothing else (no policies: those belong to the
 * mobility side).
 *   CHILD_SA up   -> SADB_ADD for the inbound SA, then the outbound one:
 *                    SA (SPI, replay 32 = the kernel's window, state
 *                    MATURE, Linux algorithm numbers), ADDRESS_SRC/DST (the
 *                    outer addresses, /128), KEY_ENCRYPT (GCM: key and
 *                    salt), KEY_AUTH (if any), X_SA2 (mode, reqid), and the
 *                    private SA-selector extension (pfkey.h, type 97):
 *                    inbound SAs name the HoA (transport: MH between the
 *                    HoA and the HA; tunnel: the HoA's own traffic), and it
 *                    carries the ESN flag.
 *   CHILD_SA moved in place (direct update, MOBIKE, X_MIGRATE followed)
 *                 -> SADB_UPDATE per SA with the private SA-move extension
 *                    (type 98): the kernel keeps SPI, keys, counters and
 *                    replay window.  Why not X_MIGRATE from the key manager
 *                    or DELETE + ADD: see pfkey.h (the policies must not
 *                    move with the SAs on an HA; a re-added SA would restart
 *                    its sequence numbers under the peer's kept window).
 *   CHILD_SA down -> SADB_DELETE for both SAs (inbound first), with the
 *                    SA-selector extension on the inbound one so that a
 *                    listener knows the HoA.
 *   static scheme -> no engine: start() (MN) or add_mn() (HA) ADDs the
 *                    four manual SAs derived as agent.h STATIC says; their
 *                    moves are the mobility side's X_MIGRATE.
 * Reqids: MN 1 (transport) and 2 (tunnel); HA 0x10000 + the MN's index in
 * the order the key manager first saw it (agent.h POLICIES): the mobility
 * side reads them from the ADD copies.
 *
 * IN-PROCESS OR THREE PROCESSES.  As for mobility.h: send_pfkey hands one
 * message's bytes to the host, which writes them on its endpoint (a bus
 * endpoint opened with the KEY_MANAGER role, or a pfkey_wire.h socket);
 * callbacks must not call back into the object.  The kernel's reply to an
 * ADD arrives later through read_pfkey; the key manager does not wait for
 * it (an ADD the kernel refuses is logged; the CHILD_SA stays in the
 * engine and traffic for it finds no SA, as with a failed xfrm call in
 * strongSwan).
 *
 * MOBIKE (scheme mobike, MN).  RFC 4555 makes the IKE daemon follow its
 * own addresses.  This one reads them from the MSRD: poll_msrd() looks at
 * the reader's generation and, when the MN's entry names a CoA that is not
 * the IKE SA's local address, starts m6ike_ikev2_mobike_update() from it.
 * The host calls it whenever the MSRD may have changed (in-process: after
 * the mobility side's set_coa; across processes: on a timer or a doorbell).
 *
 * HA LOST (agent.h; off unless the configuration asks).  cfg.liveness_s
 * sets the engine's liveness check (m6ike_ikev2_config.liveness_idle): an
 * IKE SA silent that long sends an empty INFORMATIONAL; unanswered, the
 * engine kills the SA and the CHILD_SA-down path above DELETEs its ESP
 * SAs.  MN: before each SADB_ACQUIRE reaches the engine the key manager
 * reads the MSRD entry of its HoA; when its MPI is not the one seen at
 * the previous ACQUIRE, the mobility side has begun a new registration
 * (it removes the entry and inserts a new one only when it declared the
 * HA lost): every IKE SA to the HA is forgotten locally
 * (m6ike_ikev2_forget_peer; SADB_DELETE for their SAs), so the engine
 * bootstraps a new IKE SA (with Reference: no IKE SA for the new MPI;
 * without: none to the peer) instead of answering "nothing moved".
 * Without an MSRD reader this does not happen.
 *
 * ERRORS.  Codes -180..-189 belong to this unit: a part of the agent's
 * range -150..-199 (common.h; their text comes through the agent's
 * m6ike_agent_strerror_), plus the agent's configuration codes
 * (M6IKE_ERR_AGENT_*), which it shares.
 */
#ifndef M6IKE_KEYMGR_H
#define M6IKE_KEYMGR_H

#include "m6ike/agent.h"
#include "m6ike/common.h"
#include "m6ike/crypto.h"
#include "m6ike/ikev2.h"
#include "m6ike/msrd.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes of this unit (-180..-189). */
enum {
  M6IKE_ERR_KEYMGR_PFKEY = -180,    /* read_pfkey: not a valid PF_KEY
                                       message */
  M6IKE_ERR_KEYMGR_REFUSED = -181,  /* read_pfkey: an error reply to one of
                                       our messages (errno logged) */
  M6IKE_ERR_KEYMGR_SEND = -182,     /* send_pfkey failed */
  M6IKE_ERR_KEYMGR_IGNORED = -183,  /* read_pfkey: a message the key
                                       manager does not act on */
  M6IKE_ERR_KEYMGR_NOT_STARTED = -184 /* start() has not been called */
};

/* Error text for this unit's codes, NULL for codes it does not own. */
const char *m6ike_keymgr_strerror_(int code);

typedef struct m6ike_keymgr m6ike_keymgr;

typedef struct m6ike_keymgr_callbacks {
  void *user_data;
  m6ike_rand_cb rand; /* required: SPIs, nonces, DH */
  /* One PF_KEY message for the kernel on our KEY_MANAGER endpoint.  0 or
   * non-zero (M6IKE_ERR_KEYMGR_SEND). */
  int (*send_pfkey)(const uint8_t *msg, size_t len, void *user_data);
  /* An IKE datagram (UDP payload; addresses and ports in the path). 0 or
   * non-zero (counted, M6IKE_ERR_AGENT_SEND). */
  int (*send_udp)(const m6ike_ikev2_path *path, const uint8_t *buf,
                  size_t len, void *user_data);
  /* level: M6IKE_IKEV2_LOG_*; may be NULL */
  void (*log)(int level, const char *msg, void *user_data);
  /* Wireshark key-log lines without newline, as agent.h KEY LOGS: kind 0
   * ikev2_decryption_table, kind 1 esp_sa (one per SA added, and one per
   * SA moved, for its new addresses; off with cfg.keylog_esp = 0).  May be
   * NULL. */
  void (*keylog)(int kind, const char *line, void *user_data);
} m6ike_keymgr_callbacks;

/*
 * Creates a key manager from the agent's configuration (role, scheme, ha,
 * hoa, home_prefix/plen, ids, psk, proposals, ike_retrans_*, expected_mns,
 * max_mns, keylog_esp).  msrd: the reader for Reference lookups (NULL:
 * every Reference is unknown, as ikev2.h says); it must outlive the
 * object.  crypto required, must outlive it.  Nothing is sent before
 * start().  Returns 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_AGENT_ROLE,
 * M6IKE_ERR_AGENT_SCHEME, M6IKE_ERR_AGENT_ADDRESS,
 * M6IKE_ERR_AGENT_PROPOSAL, M6IKE_ERR_AGENT_IDENTITY, M6IKE_ERR_AGENT_PSK,
 * M6IKE_ERR_AGENT_CONFIG, M6IKE_ERR_NOMEM.
 */
int m6ike_keymgr_new(m6ike_keymgr **pk, const m6ike_agent_config *cfg,
                     const m6ike_keymgr_callbacks *cbs,
                     const m6ike_crypto *crypto,
                     const m6ike_msrd_reader *msrd, const m6ike_mem *mem);
/* Frees everything, keys wiped (no callbacks, nothing sent).  NULL: no-op. */
void m6ike_keymgr_del(m6ike_keymgr *k);

/* Sends SADB_REGISTER (not for the static scheme) and, static MN, ADDs
 * the manual SAs.  Call once the endpoint is open.  0,
 * M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_INVALID_STATE (already started),
 * M6IKE_ERR_KEYMGR_SEND, M6IKE_ERR_AGENT_PROPOSAL (static keys),
 * an m6ike_crypto code. */
int m6ike_keymgr_start(m6ike_keymgr *k, m6ike_tstamp now);

/* HA, static scheme: ADDs hoa's four manual SAs.  Other schemes: 0.  0,
 * M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_AGENT_ROLE,
 * M6IKE_ERR_AGENT_ADDRESS, M6IKE_ERR_AGENT_STATE (already provisioned),
 * M6IKE_ERR_KEYMGR_NOT_STARTED, M6IKE_ERR_KEYMGR_SEND, M6IKE_ERR_LIMIT,
 * M6IKE_ERR_NOMEM. */
int m6ike_keymgr_add_mn(m6ike_keymgr *k, const m6ike_addr6 *hoa,
                        m6ike_tstamp now);

/* One PF_KEY message from our endpoint (see PF_KEY, IN).  Returns 0 (acted
 * on or a reply noted), M6IKE_ERR_INVALID_ARGUMENT,
 * M6IKE_ERR_KEYMGR_NOT_STARTED, M6IKE_ERR_KEYMGR_PFKEY,
 * M6IKE_ERR_KEYMGR_REFUSED, M6IKE_ERR_KEYMGR_IGNORED,
 * M6IKE_ERR_KEYMGR_SEND, M6IKE_ERR_IKEV2_NOT_READY. */
int m6ike_keymgr_read_pfkey(m6ike_keymgr *k, const uint8_t *msg, size_t len,
                            m6ike_tstamp now);

/* An IKE datagram received (path.local = our address).  0 or the engine's
 * drop reason (-600..-699), M6IKE_ERR_AGENT_NOT_HANDLED (static scheme),
 * M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_AGENT_SEND,
 * M6IKE_ERR_KEYMGR_SEND. */
int m6ike_keymgr_read_udp(m6ike_keymgr *k, const m6ike_ikev2_path *path,
                          const uint8_t *buf, size_t len, m6ike_tstamp now);

/* MOBIKE: see above.  0 (nothing to do, or the update started),
 * M6IKE_ERR_INVALID_ARGUMENT, an m6ike_ikev2_mobike_update() code,
 * M6IKE_ERR_AGENT_SEND, M6IKE_ERR_KEYMGR_SEND. */
int m6ike_keymgr_poll_msrd(m6ike_keymgr *k, m6ike_tstamp now);

/* Next time handle_expiry must run (IKE retransmissions, half-open SAs),
 * M6IKE_TSTAMP_UNSET if none. */
m6ike_tstamp m6ike_keymgr_get_expiry(const m6ike_keymgr *k);
/* 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_AGENT_SEND,
 * M6IKE_ERR_KEYMGR_SEND. */
int m6ike_keymgr_handle_expiry(m6ike_keymgr *k, m6ike_tstamp now);

/* Cumulative IKE datagrams (sent + received, by exchange type) and their
 * octets: what m6ike_mobility_set_ike_counts() takes.  Zeros for the
 * static scheme. */
void m6ike_keymgr_ike_counts(const m6ike_keymgr *k,
                             uint64_t msgs_x[M6IKE_IKEV2_X_COUNT],
                             uint64_t *bytes);

typedef struct m6ike_keymgr_stats {
  uint64_t sa_added, sa_updated, sa_deleted; /* PF_KEY messages sent */
  uint64_t refused;                          /* error replies received */
  uint64_t acquires, migrates;               /* handed to the engine */
  uint64_t udp_send_failed;
  uint64_t epochs;                           /* MN: new MSRD entries seen
                                                (HA LOST re-bootstraps) */
} m6ike_keymgr_stats;
void m6ike_keymgr_get_stats(const m6ike_keymgr *k, m6ike_keymgr_stats *st);

/* The engine (read-only use; NULL for the static scheme). */
const m6ike_ikev2 *m6ike_keymgr_ikev2(const m6ike_keymgr *k);

#ifdef __cplusplus
}
#endif

#endif /* M6IKE_KEYMGR_H */
