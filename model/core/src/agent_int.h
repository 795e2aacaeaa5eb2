/* Internal: the agent's state, shared by agent.c (wiring, data path, the
 * engine's callbacks), agent_mn.c (mobile node) and agent_ha.c (home
 * agent). */
#ifndef M6IKE_AGENT_INT_H
#define M6IKE_AGENT_INT_H

#include "m6ike/agent.h"
#include "m6ike/binding.h"
#include "m6ike/ipsec.h"
#include "m6ike/mh.h"
#include "m6ike/msrd.h"
#include "m6ike/pfkey.h"
#include "m6ike/pfkey_bus.h"

/* Largest packet the agent handles (inner packet or whole packet). */
#define AGENT_MAX_PKT 4096
#define AGENT_BUF (AGENT_MAX_PKT + M6IKE_IPSEC_MAX_OVERHEAD + 64)
#define AGENT_IKE_BUF 8192

/* Policy priorities: the Mobility Header pair first, the tunnel after. */
#define PRIO_MH 10u
#define PRIO_TUNNEL 100u
#define REQID_MH 1u
#define REQID_TUNNEL 2u
/* HA: the SAs of MN k use reqid REQID_HA_BASE + k (distinct reqids keep
 * the ipsec unit's reqid hash buckets short: an outbound lookup walks the
 * SAs of its policy's reqid). */
#define REQID_HA_BASE 0x10000u

/* One ESP SA pair the agent installed (SPIs in host order). */
typedef struct agent_pair {
  uint32_t spi_in, spi_out;
  m6ike_addr6 local, remote; /* endpoints as installed */
  uint32_t reqid;
} agent_pair;

/* HA: what the agent keeps per mobile node (index = position in recs). */
typedef struct agent_mn_rec {
  m6ike_addr6 hoa;
  m6ike_addr6 coa;        /* registered CoA (:: if none) */
  uint32_t mpi;           /* MSRD entry, 0 if none */
  uint32_t reqid;         /* tunnel reqid */
  uint32_t pol_out, pol_in; /* tunnel policy ids, 0 = none */
  uint32_t pol_ba;        /* BA out policy id, 0 = none */
  agent_pair tr, tun;     /* spi 0 = none */
  uint8_t provisioned;    /* static: add_mn done */
  uint8_t registered;     /* binding away from home */
} agent_mn_rec;

struct m6ike_agent {
  m6ike_agent_config cfg;
  m6ike_agent_callbacks cbs;
  const m6ike_crypto *crypto;
  const m6ike_mem *base_mem;
  m6ike_mem mem; /* counting wrapper around base_mem */
  size_t mem_bytes;
  uint8_t psk[M6IKE_IKEV2_PSK_MAX];
  m6ike_ikev2_algs ike_algs[M6IKE_IKEV2_MAX_PROPOSALS];
  size_t n_ike;
  m6ike_ikev2_algs esp_algs[M6IKE_IKEV2_MAX_PROPOSALS];
  size_t n_esp;
  m6ike_ikev2_ident local_id, remote_id;

  m6ike_ipsec *ipsec;
  m6ike_pfkey_bus *bus;
  m6ike_pfkey_ep ep_km, ep_mob;
  m6ike_msrd *db;
  m6ike_msrd_writer *writer;
  m6ike_msrd_reader *reader;
  m6ike_ikev2 *ike; /* NULL for the static scheme */
  m6ike_tstamp now; /* time of the call in progress */
  uint32_t pfkey_seq;
  m6ike_agent_stats st;

  /* ---- MN ---- */
  m6ike_bul *bul;
  m6ike_addr6 coa;      /* current CoA (:: before the first set_coa) */
  int have_coa;
  uint32_t mpi;
  uint32_t pol_tun_out, pol_tun_in;
  agent_pair tr, tun;   /* installed pairs (spi 0 = none) */
  uint32_t ike_sa;      /* the IKE SA to the HA (0 = none) */
  int hold_bu;          /* BU waits for the transport SA */
  int bu_retx_flag;     /* set by the bul's RETRANSMIT event */
  int ba_status_last;
  m6ike_mh_msg last_bu; /* for bu_on_sa_up */
  m6ike_addr6 last_bu_src;
  int have_last_bu, resend_on_ready;
  int ike_op;           /* an IKE operation reported STARTED, not ended */
  m6ike_tstamp retry_at; /* re-ACQUIRE after a failed operation */
  m6ike_tstamp retry_backoff;
  m6ike_tstamp ike_op_start;
  uint64_t ike_op_info_in; /* INFORMATIONAL msgs_in when it began */
  int ho_valid;
  m6ike_agent_handover ho;
  uint64_t ho_snap_msgs, ho_snap_bytes;
  uint64_t ho_snap_x[M6IKE_IKEV2_X_COUNT];

  /* ---- HA ---- */
  m6ike_bcache *bc;
  agent_mn_rec *recs;
  size_t n_recs, cap_recs;
  uint32_t *idx;   /* open addressing: rec index + 1, 0 = empty */
  size_t idx_cap;  /* power of two */
  uint64_t hash_seed;
};

/* agent.c: shared with mobility.c and keymgr.c */
typedef struct agent_parsed {
  m6ike_ikev2_algs ike_algs[M6IKE_IKEV2_MAX_PROPOSALS];
  size_t n_ike;
  m6ike_ikev2_algs esp_algs[M6IKE_IKEV2_MAX_PROPOSALS];
  size_t n_esp;
  m6ike_ikev2_ident local_id, remote_id;
} agent_parsed;
/* m6ike_agent_new()'s configuration checks: 0 or an M6IKE_ERR_AGENT_*. */
int agent_config_check(const m6ike_agent_config *cfg, agent_parsed *out);
/* agent.h STATIC key derivation. */
int agent_static_keys_(const m6ike_crypto *crypto,
                       const m6ike_ikev2_algs *alg, const uint8_t *psk,
                       size_t psk_len, const m6ike_addr6 *hoa,
                       uint32_t spi[4], uint8_t *keys, size_t *ek_len,
                       size_t *ik_len);

/* agent.c */
int agent_rand(uint8_t *dest, size_t len, void *ud);
void agent_event(m6ike_agent *a, m6ike_agent_event_kind kind, uint32_t mpi,
                 const m6ike_addr6 *hoa, const m6ike_addr6 *coa, uint32_t spi,
                 uint16_t seq, int status);
void agent_logf(m6ike_agent *a, int level, const char *fmt, ...);
int agent_send_ip6(m6ike_agent *a, const uint8_t *pkt, size_t len);
int agent_ike_flush(m6ike_agent *a, m6ike_tstamp now);
void agent_drop(m6ike_agent *a, int reason, const m6ike_addr6 *hoa);
void agent_keylog_sa(m6ike_agent *a, uint32_t spi, const m6ike_addr6 *dst);
int agent_sa_add(m6ike_agent *a, uint32_t spi, const m6ike_addr6 *src,
                 const m6ike_addr6 *dst, uint8_t mode, uint32_t reqid,
                 uint16_t encr, uint16_t integ, const uint8_t *ek, size_t eklen,
                 const uint8_t *ik, size_t iklen, int esn, int in,
                 const m6ike_addr6 *hoa);
int agent_sa_move(m6ike_agent *a, uint32_t spi, const m6ike_addr6 *old_dst,
                  const m6ike_addr6 *src, const m6ike_addr6 *dst,
                  const m6ike_addr6 *hoa);
int agent_policy(m6ike_agent *a, uint8_t dir, const m6ike_addr6 *src,
                 uint8_t splen, const m6ike_addr6 *dst, uint8_t dplen,
                 uint8_t proto, int mh_type, uint8_t mode, uint32_t reqid,
                 const m6ike_addr6 *tsrc, const m6ike_addr6 *tdst,
                 uint32_t prio, uint32_t *id);
int agent_pfkey_send(m6ike_agent *a, const uint8_t *msg, size_t len);
int agent_spd(m6ike_agent *a, uint8_t type, const m6ike_ipsec_policy *p,
              uint32_t *id);
int agent_send_acquire(m6ike_agent *a, const m6ike_addr6 *src,
                       const m6ike_addr6 *dst, uint32_t mpi);
int agent_send_migrate(m6ike_agent *a, uint8_t dir,
                       const m6ike_addr6 *ssel, uint8_t splen,
                       const m6ike_addr6 *dsel, uint8_t dplen, uint32_t reqid,
                       const m6ike_addr6 *old_local,
                       const m6ike_addr6 *old_remote,
                       const m6ike_addr6 *new_local,
                       const m6ike_addr6 *new_remote, int kmaddress);
int agent_static_keys(m6ike_agent *a, const m6ike_addr6 *hoa,
                      uint32_t spi[4], uint8_t *keys, size_t *ek_len,
                      size_t *ik_len);
int agent_ip6_effective(const uint8_t *pkt, size_t len, m6ike_addr6 *src,
                        m6ike_addr6 *dst, uint8_t *proto, uint32_t *spi);

/* agent_mn.c */
int agent_mn_init(m6ike_agent *a);
int agent_mn_progress(m6ike_agent *a, m6ike_tstamp now);
int agent_mn_on_mh(m6ike_agent *a, const uint8_t *pkt, size_t len,
                   m6ike_tstamp now);
void agent_mn_child_up(m6ike_agent *a, const m6ike_ikev2_child_info *c);
void agent_mn_child_down(m6ike_agent *a, const m6ike_ikev2_child_info *c);
void agent_mn_child_update(m6ike_agent *a, const m6ike_ikev2_child_info *c);
m6ike_tstamp agent_mn_expiry(const m6ike_agent *a);

/* agent_ha.c */
int agent_ha_init(m6ike_agent *a);
void agent_ha_free(m6ike_agent *a);
int agent_ha_on_mh(m6ike_agent *a, const uint8_t *pkt, size_t len,
                   m6ike_tstamp now);
int agent_ha_child_up(m6ike_agent *a, const m6ike_ikev2_child_info *c);
void agent_ha_child_down(m6ike_agent *a, const m6ike_ikev2_child_info *c);
void agent_ha_child_update(m6ike_agent *a, const m6ike_ikev2_child_info *c);
agent_mn_rec *agent_ha_find(const m6ike_agent *a, const m6ike_addr6 *hoa);
int agent_ha_get(m6ike_agent *a, const m6ike_addr6 *hoa, agent_mn_rec **out);

#endif /* M6IKE_AGENT_INT_H */
