/*
 * Internal structure of the ikev2 unit (see m6ike/ikev2.h).
 *
 *   m6ike_ikev2 (engine)           ikev2.c      SA tables, output queue,
 *     |                                         timers, exchange machinery
 *     +-- ike_sa (many)            ikev2.c      message IDs, request /
 *           |                                   response caches, keys
 *           +-- task queue         ikev2_task_*.c  one task per feature
 *           +-- child_sa list
 *   key schedule, SK payload,      ikev2_keys.c
 *   AUTH octets, key log
 *   proposals and selectors        ikev2_select.c
 *
 * A task has an initiator side (build_i, then process_i on the response)
 * and a responder side (process_r on the request, then build_r).  The
 * engine runs, for one exchange, every task taking part in it in queue
 * order, each adding its payloads to the same message.
 */
#ifndef M6IKE_IKEV2_INT_H
#define M6IKE_IKEV2_INT_H

#include "m6ike/crypto.h"
#include "m6ike/ikev2.h"
#include "m6ike/ikev2_msg.h"

typedef struct ike_sa ike_sa;
typedef struct ike_task ike_task;
typedef struct child_sa child_sa;

/* Task results (besides negative error codes). */
enum {
  TASK_DONE = 0,      /* the task is finished: remove it */
  TASK_NEED_MORE = 1, /* keep it for a later exchange */
  TASK_RETRY = 2      /* initiator: send the same exchange again (new
                         content, same message ID): INVALID_KE, COOKIE */
};

/* What a task sees of a received message. */
typedef struct ike_in {
  m6ike_ikev2_msg *msg; /* parsed, SK decrypted, inner parsed */
  const m6ike_ikev2_path *path;
  m6ike_tstamp now;
  /* Responder: an error to answer with instead of the normal response
   * (set by process_r; the first one wins). */
  uint16_t err_notify;
  uint8_t err_data[2];
  size_t err_len;
  int err; /* the matching engine code */
} ike_in;

typedef struct ike_out {
  m6ike_ikev2_builder b;
  m6ike_tstamp now;
} ike_out;

typedef struct ike_task_ops {
  const char *name;
  int (*build_i)(ike_task *t, ike_sa *sa, ike_out *o);
  int (*process_i)(ike_task *t, ike_sa *sa, ike_in *in);
  int (*process_r)(ike_task *t, ike_sa *sa, ike_in *in);
  int (*build_r)(ike_task *t, ike_sa *sa, ike_out *o);
  void (*destroy)(ike_task *t, ike_sa *sa);
} ike_task_ops;

struct ike_task {
  const ike_task_ops *ops;
  ike_task *next;
  uint8_t exchange; /* the exchange it runs in */
};

typedef struct ike_keys {
  uint8_t sk_d[M6IKE_CRYPTO_MAX_PRF_LEN];
  uint8_t sk_ai[64], sk_ar[64];
  uint8_t sk_ei[40], sk_er[40];
  uint8_t sk_pi[M6IKE_CRYPTO_MAX_PRF_LEN], sk_pr[M6IKE_CRYPTO_MAX_PRF_LEN];
  size_t prf_len, integ_len, encr_len;
} ike_keys;

struct child_sa {
  child_sa *next;
  m6ike_ikev2_child_info info;
  m6ike_ikev2_child_cfg cfg; /* the policy it was made from (rekeys) */
  int installed; /* child_sa_up accepted it */
  int rekeyed;   /* replaced by a newer pair, deletion pending */
};

/* A received responder policy (m6ike_ikev2_add_peer). */
typedef struct peer_entry {
  struct peer_entry *next;
  m6ike_ikev2_peer_cfg pc;
  size_t n_children;
  m6ike_ikev2_child_cfg children[]; /* flexible */
} peer_entry;

struct ike_sa {
  m6ike_ikev2 *ike;
  ike_sa *hnext_local;  /* hash chain by local SPI */
  ike_sa *hnext_init;   /* responder: hash chain by (initiator SPI) */
  ike_sa *prev, *next;  /* the engine's list of all SAs */
  uint32_t id;
  int initiator;
  m6ike_ikev2_state state;
  int half_open; /* responder, counted in stats.half_open */
  uint64_t spi_i, spi_r;
  m6ike_ikev2_path path;

  m6ike_ikev2_peer_cfg peer;       /* initiator: copy; responder: chosen */
  const peer_entry *pe;            /* responder: the matched policy */
  m6ike_ikev2_algs alg;            /* chosen IKE transforms */
  int have_keys;
  ike_keys k;
  m6ike_crypto_cipher *c_out, *c_in;
  m6ike_crypto_integ *i_out, *i_in;
  uint64_t iv_counter;

  /* IKE_SA_INIT material kept until IKE_AUTH is done. */
  m6ike_crypto_dh *dh;
  uint16_t dh_group;
  uint8_t ni[64], nr[64];
  size_t ni_len, nr_len;
  uint8_t *init_req, *init_resp; /* RealMessage1 / RealMessage2 */
  size_t init_req_len, init_resp_len;
  uint8_t cookie[64];
  size_t cookie_len;
  uint8_t nat_local, nat_remote; /* NAT detection results */
  uint8_t mobike, peer_mobike;    /* MOBIKE negotiated / offered by peer */
  /* Configuration payload results: initiator what it got, responder what
   * it assigned (narrows TSi). */
  uint8_t cp_got;
  m6ike_addr6 cp_addr, cp_prefix;
  uint8_t cp_addr_plen, cp_prefix_plen;
  uint32_t cp_prefix_lifetime;

  /* Exchanges we initiate (window 1). */
  ike_task *queued;    /* not started */
  ike_task *active;    /* in the request in flight */
  uint8_t active_exchange;
  uint32_t mid_out;    /* ID of the next request we send */
  uint8_t *req;        /* the request in flight */
  size_t req_len;
  m6ike_tstamp rto, retrans_at;
  unsigned retrans_count;

  /* Exchanges the peer initiates. */
  uint32_t mid_in;     /* ID of the next request we expect */
  uint8_t *resp;       /* cached response to request mid_in - 1 */
  size_t resp_len;
  int have_resp;

  m6ike_tstamp last_rx;  /* last authenticated message received (the
                            liveness check's idle timer), 0 = none */
  m6ike_tstamp deadline; /* half-open give-up time, UNSET if none */
  int dead;              /* delete at the end of the current operation */
  int dead_reason;
  int up_reported;

  child_sa *children;
  /* The first CHILD_SA's config (initiator): the policy for CHILD_SAs
   * the peer creates on this SA (responders use pe's children) */
  m6ike_ikev2_child_cfg first_child;
  int has_first_child;

  /* Mobility (ikev2_mobility.c) */
  uint32_t mpi;      /* MSRD entry this SA serves, 0 = none */
  m6ike_addr6 hoa;   /* the MN's home address, :: if unknown */
  int ho_pending;    /* the engine's handover record waits for this SA */
};

#define IKE_HASH_BITS 10

struct m6ike_ikev2 {
  const m6ike_mem *mem;
  const m6ike_crypto *crypto;
  m6ike_ikev2_config cfg;
  m6ike_ikev2_callbacks cbs;
  uint32_t next_sa_id, next_child_id;
  ike_sa *all;
  size_t n_sas;
  size_t n_dead; /* killed, not yet swept: sweep() is O(1) when 0 */
  ike_sa **by_local, **by_init; /* hash_mask + 1 buckets each */
  uint32_t hash_mask;
  peer_entry *peers;
  /* Output queue (FIFO of datagrams). */
  struct out_pkt *out_head, *out_tail;
  size_t out_count;
  uint8_t *scratch; /* message build buffer, cfg.max_msg */
  uint8_t *plain;   /* decryption buffer, 65536 */
  m6ike_ikev2_stats stats;
  uint8_t cookie_secret[32]; /* RFC 7296 §2.6, drawn on first use */
  int have_cookie_secret;

  /* PF_KEY / MSRD attachment (ikev2_mobility.c) */
  m6ike_pfkey_bus *bus;
  m6ike_pfkey_ep ep;
  const m6ike_msrd_reader *msrd;
  int attached;
  m6ike_ikev2_mobility_cfg mob;
  int have_mob;
  uint32_t pfkey_seq;
  m6ike_ikev2_handover ho;
  int have_ho;
  uint64_t ho_snap_msgs[M6IKE_IKEV2_X_COUNT], ho_snap_bytes;
};

/* ---- engine services for tasks (ikev2.c) ------------------------------ */
void ike_log(m6ike_ikev2 *ike, int level, uint32_t sa_id, const char *fmt,
             ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
int ike_random(m6ike_ikev2 *ike, void *dest, size_t len);
void *ike_alloc(m6ike_ikev2 *ike, size_t n);
void ike_free(m6ike_ikev2 *ike, void *p);
/* Non-zero random ESP SPI (>= 256). */
int ike_new_esp_spi(m6ike_ikev2 *ike, uint32_t *spi);
/* Appends a task to the SA's queue. */
void ike_sa_queue_task(ike_sa *sa, ike_task *t);
/* Marks the SA as to be deleted with reason once the operation ends. */
void ike_sa_kill(ike_sa *sa, int reason);
/* Installs a CHILD_SA (child_sa_up); takes ownership of c. */
int ike_sa_add_child(ike_sa *sa, child_sa *c);
child_sa *ike_sa_find_child_spi_in(ike_sa *sa, uint32_t spi);
child_sa *ike_sa_find_child_spi_out(ike_sa *sa, uint32_t spi);
/* Unlinks, reports (child_sa_down with reason) and frees c. */
void ike_sa_remove_child(ike_sa *sa, child_sa *c, int reason);
/* Reports an established IKE SA (once). */
void ike_sa_established(ike_sa *sa);
/* The first error Notify (type < 16384) of msg: its type, or 0. */
uint16_t ike_error_notify(const m6ike_ikev2_msg *msg, m6ike_ikev2_notify *n);
/* The first view of type, or NULL. */
const m6ike_ikev2_payload *ike_find_pl(const m6ike_ikev2_msg *msg,
                                       uint8_t type);
/* Maps a crypto backend code to an engine code. */
int ike_crypto_err(int code);

/* Creates an initiator IKE SA to pc->path with children[0] in IKE_AUTH and
 * the others with CREATE_CHILD_SA; starts IKE_SA_INIT.  On error nothing
 * remains.  Codes as m6ike_ikev2_initiate. */
int ike_initiate_sa(m6ike_ikev2 *ike, const m6ike_ikev2_peer_cfg *pc,
                    const m6ike_ikev2_child_cfg *children, size_t n,
                    m6ike_tstamp now, ike_sa **out);
/* Starts sa's next queued exchange (sa may be NULL), then frees the SAs
 * that were killed (with their callbacks). */
void ike_start_queued(m6ike_ikev2 *ike, ike_sa *sa, m6ike_tstamp now);
/* A fresh local IKE SPI, unique in the engine. */
int ike_new_ike_spi(m6ike_ikev2 *ike, uint64_t *spi);
/* IKE SA rekey: creates the SA replacing old (initiator: we started the
 * rekey), derives its keys from old's SK_d, moves old's CHILD_SAs to it,
 * links it and reports it up.  Ni/Nr are the rekey exchange's. */
int ike_sa_rekeyed(ike_sa *old, int initiator, uint64_t spi_i,
                   uint64_t spi_r, const m6ike_ikev2_algs *alg,
                   const uint8_t *ni, size_t ni_len, const uint8_t *nr,
                   size_t nr_len, const uint8_t *g_ir, size_t g_len,
                   ike_sa **out);
ike_task *task_ike_rekey_new(ike_sa *sa);
/* MOBIKE UPDATE_SA_ADDRESSES (ikev2_task_mobike.c). */
ike_task *task_mobike_new(ike_sa *sa);
/* Validation of configs (ikev2.c). */
int ike_check_peer(const m6ike_ikev2_peer_cfg *pc);
int ike_check_child(const m6ike_ikev2_child_cfg *cc);
/* RFC 7296 §2.4 INITIAL_CONTACT received on sa: drop the other IKE SAs
 * with the same remote identity (locally). */
void ike_initial_contact(ike_sa *sa);
/* Handover record hooks (ikev2_mobility.c). */
void ike_ho_finish(m6ike_ikev2 *ike, ike_sa *sa, int result,
                   m6ike_tstamp now);
/* Calls ike_ho_finish if sa's pending handover is done (no exchange left). */
void ike_ho_check(ike_sa *sa, m6ike_tstamp now);
ike_task *task_m6ike_update_new(ike_sa *sa, uint32_t mpi,
                                const m6ike_addr6 *coa);
/* Responder side of M6IKE_SA_ADDRESS_UPDATE. */
ike_task *task_m6ike_update_responder_new(ike_sa *sa);
/* Moves the tunnel-mode CHILD_SAs' local or remote address (in place). */
void ike_move_children(ike_sa *sa, const m6ike_addr6 *addr, int local);

/* NAT_DETECTION_*_IP data: SHA-1(SPIi | SPIr | address | port). */
/* Non-zero if one of our IKE proposals offers DH group `group` (an
 * INVALID_KE_PAYLOAD may only name one of those). */
int ike_offered_group(const ike_sa *sa, uint16_t group);
int ike_nat_hash(ike_sa *sa, uint64_t spi_r, const m6ike_addr6 *addr,
                 uint16_t port, uint8_t out[20]);

/* NAT detection notifies for path / their check (ikev2_task_init.c). */
int ike_add_natd(ike_sa *sa, m6ike_ikev2_builder *b, uint64_t spi_r,
                 const m6ike_ikev2_path *path);
int ike_check_natd(ike_sa *sa, const m6ike_ikev2_msg *m,
                   const m6ike_ikev2_path *path, uint64_t spi_r);

/* ---- keys and the SK payload (ikev2_keys.c) --------------------------- */
/* SKEYSEED and the seven keys from the DH secret, nonces and SPIs; creates
 * the SK cipher/integrity contexts and reports the key log line. */
int ike_keys_derive(ike_sa *sa, const uint8_t *shared, size_t shared_len);
/* The same for a rekeyed IKE SA: SKEYSEED from the old SA's SK_d. */
int ike_keys_derive_rekey(ike_sa *sa, const uint8_t *shared,
                          size_t shared_len, uint16_t old_prf,
                          const uint8_t *old_skd, size_t old_skd_len);
void ike_keys_clear(ike_sa *sa);
/* Encrypts and authenticates a finished message in place. */
int ike_sk_protect(ike_sa *sa, uint8_t *buf, size_t len,
                   const m6ike_ikev2_sk_region *r);
/* Verifies and decrypts msg's SK payload into plain (>= msg->len) and
 * parses the inner payloads.  Returns 0 or M6IKE_ERR_IKEV2_INTEGRITY,
 * M6IKE_ERR_IKEV2_SYNTAX, a codec code. */
int ike_sk_unprotect(ike_sa *sa, m6ike_ikev2_msg *msg, uint8_t *plain);
/* Opens SK with this SA's IV length. */
int ike_sk_begin(ike_sa *sa, m6ike_ikev2_builder *b);
int ike_sk_end(ike_sa *sa, m6ike_ikev2_builder *b, m6ike_ikev2_sk_region *r);
/* The three chunks of {Initiator,Responder}SignedOctets (RFC 7296 §2.15):
 * RealMessage, the other side's nonce, prf(SK_p*, RestOfIDPayload) (into
 * maced, M6IKE_CRYPTO_MAX_PRF_LEN). */
int ike_signed_octets(ike_sa *sa, int initiator_side, const uint8_t *id_body,
                      size_t id_len, uint8_t *maced,
                      m6ike_crypto_chunk ch[3]);
/* AUTH payload data for PSK (RFC 7296 §2.15).  initiator_side: whose
 * AUTH (1 = the original initiator's).  id_body: ID payload body. */
int ike_auth_psk(ike_sa *sa, int initiator_side, const uint8_t *id_body,
                 size_t id_len, uint8_t *out, size_t *out_len);
/* CHILD_SA keys (RFC 7296 §2.17) into c->info.  we_initiated: we sent the
 * request of the exchange creating it (Ni/Nr are that exchange's). */
int ike_child_keys(ike_sa *sa, child_sa *c, int we_initiated,
                   const uint8_t *ni, size_t ni_len,
                   const uint8_t *nr, size_t nr_len, const uint8_t *g_ir,
                   size_t g_ir_len);

/* ---- proposals and selectors (ikev2_select.c) ------------------------- */
/* Writes an SA payload offering algs[0..n-1] for proto with spi. */
int ike_add_sa_offer(m6ike_ikev2_builder *b, uint8_t proto,
                     const m6ike_ikev2_algs *algs, size_t n,
                     const uint8_t *spi, uint8_t spi_size);
/* Writes the one chosen proposal (number num). */
int ike_add_sa_choice(m6ike_ikev2_builder *b, uint8_t proto, uint8_t num,
                      const m6ike_ikev2_algs *alg, const uint8_t *spi,
                      uint8_t spi_size);
#define IKE_DH_IGNORE 0xffffu
/* Responder: chooses from the offer in the SA payload (view pl) one of
 * local[0..n-1].  want_dh: the KE group received (0 = no KE payload;
 * IKE_DH_IGNORE in IKE_AUTH, where DH transforms are ignored).  On
 * success fills *chosen, *num and the peer's SPI (spi, *spi_size) and
 * returns 0.  If a proposal matches only with another DH group, returns
 * M6IKE_ERR_IKEV2_INVALID_KE with *chosen's dh = the group to ask for.
 * Else M6IKE_ERR_IKEV2_NO_PROPOSAL, or a decode code. */
int ike_choose_proposal(const m6ike_ikev2_payload *pl, uint8_t proto,
                        const m6ike_ikev2_algs *local, size_t n,
                        uint16_t want_dh, m6ike_ikev2_algs *chosen,
                        uint8_t *num, uint8_t spi[8], uint8_t *spi_size);
/* Initiator: checks the reply (one proposal, one transform of each type)
 * is one of what we offered; fills *chosen and the SPI.  0,
 * M6IKE_ERR_IKEV2_NO_PROPOSAL, a decode code. */
int ike_check_choice(const m6ike_ikev2_payload *pl, uint8_t proto,
                     const m6ike_ikev2_algs *local, size_t n,
                     m6ike_ikev2_algs *chosen, uint8_t spi[8],
                     uint8_t *spi_size);
/* Reads a TS payload into out (max entries). Returns count or a code. */
int ike_read_ts(const m6ike_ikev2_payload *pl, m6ike_ikev2_ts *out,
                size_t max);
/* Narrows: out = every non-empty intersection of proposed[i] with
 * allowed[j].  Returns the count (0 = nothing in common). */
size_t ike_narrow_ts(const m6ike_ikev2_ts *proposed, size_t np,
                     const m6ike_ikev2_ts *allowed, size_t na,
                     m6ike_ikev2_ts *out, size_t max);
/* 1 if every selector of a is inside one of b. */
int ike_ts_subset(const m6ike_ikev2_ts *a, size_t na, const m6ike_ikev2_ts *b,
                  size_t nb);

/* ---- tasks ------------------------------------------------------------ */
ike_task *task_ike_init_new(ike_sa *sa);
ike_task *task_ike_auth_new(ike_sa *sa);
ike_task *task_ike_config_new(ike_sa *sa);
/* cc: the config to request (initiator) or NULL (responder). */
ike_task *task_child_create_new(ike_sa *sa, const m6ike_ikev2_child_cfg *cc,
                                uint8_t exchange);
/* CREATE_CHILD_SA with N(REKEY_SA) replacing old. */
ike_task *task_child_rekey_new(ike_sa *sa, const child_sa *old);
/* INFORMATIONAL (ikev2_task_info.c).  child_delete: the pairs with these
 * inbound SPIs (initiator); none for the responder side. */
ike_task *task_child_delete_new(ike_sa *sa, const uint32_t *spi_in,
                                size_t n);
ike_task *task_ike_delete_new(ike_sa *sa);
ike_task *task_ike_dpd_new(ike_sa *sa);
/* INFORMATIONAL { N(INVALID_SPI(spi)) }; the responder side drops the
 * pair whose outbound SPI it names. */
ike_task *task_invalid_spi_new(ike_sa *sa, uint32_t spi);

#endif /* M6IKE_IKEV2_INT_H */
