/* Internal: the composite agent's state (agent.c) and what agent.c,
 * mobility.c and keymgr.c share. */
#ifndef M6IKE_AGENT_INT_H
#define M6IKE_AGENT_INT_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

struct m6ike_mobility;
struct m6ike_keymgr;

/* The composite (agent.c): the three parts on one bus. */
struct m6ike_agent {
  m6ike_agent_config cfg;
  m6ike_agent_callbacks cbs;
  const m6ike_crypto *crypto;
  const m6ike_mem *base_mem;
  m6ike_mem mem; /* counting wrapper around base_mem */
  size_t mem_bytes;
  m6ike_ipsec *ipsec;
  m6ike_pfkey_bus *bus;
  m6ike_pfkey_ep ep_km, ep_mob;
  struct m6ike_mobility *mob;
  struct m6ike_keymgr *km;
  m6ike_msrd_reader *reader; /* the key manager's */
  m6ike_tstamp now;
  int pumping;
  m6ike_agent_stats st; /* the data path's counters */
};

/* Largest PF_KEY message a part reads from the bus. */
#define AGENT_PFKEY_BUF 2048

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

/* The parts' log and event callbacks (agent.h, mobility.h, keymgr.h):
 * format into one line, or fill one event; nothing when cb is NULL. */
static inline void agent_vlog_(void (*log)(int, const char *, void *),
                               void *user_data, int level, const char *fmt,
                               va_list ap) {
  if (log == NULL) {
    return;
  }
  char buf[256];
  vsnprintf(buf, sizeof(buf), fmt, ap);
  log(level, buf, user_data);
}
static inline void agent_event_emit_(
    void (*event)(const m6ike_agent_event *, void *), void *user_data,
    m6ike_agent_event_kind kind, m6ike_tstamp time, uint32_t mpi,
    const m6ike_addr6 *hoa, const m6ike_addr6 *coa, uint32_t spi,
    uint16_t seq, int status) {
  if (event == NULL) {
    return;
  }
  m6ike_agent_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.kind = kind;
  ev.time = time;
  ev.mpi = mpi;
  if (hoa) {
    ev.hoa = *hoa;
  }
  if (coa) {
    ev.coa = *coa;
  }
  ev.spi = spi;
  ev.seq = seq;
  ev.status = status;
  event(&ev, user_data);
}

/* m6ike_mobility_add_mn()'s and m6ike_keymgr_add_mn()'s checks of the
 * role and the HoA: 0, M6IKE_ERR_AGENT_ROLE or M6IKE_ERR_AGENT_ADDRESS. */
static inline int agent_add_mn_check_(const m6ike_agent_config *cfg,
                                      const m6ike_addr6 *hoa) {
  if (cfg->role != M6IKE_AGENT_HA) {
    return M6IKE_ERR_AGENT_ROLE;
  }
  if (m6ike_addr6_is_unspecified(hoa) || hoa->b[0] == 0xff ||
      !m6ike_addr6_prefix_match(hoa, &cfg->home_prefix, cfg->home_plen) ||
      m6ike_addr6_equal(hoa, &cfg->ha)) {
    return M6IKE_ERR_AGENT_ADDRESS;
  }
  return 0;
}

/* agent.c */
int agent_rand(uint8_t *dest, size_t len, void *ud);
int agent_ip6_effective(const uint8_t *pkt, size_t len, m6ike_addr6 *src,
                        m6ike_addr6 *dst, uint8_t *proto, uint32_t *spi);

/* mobility.c: 1 and the MN's current CoA (the HoA when back home) once
 * set_coa ran, else 0. */
int mobility_coa_(const struct m6ike_mobility *m, m6ike_addr6 *coa);

#endif /* M6IKE_AGENT_INT_H */
