/*
 * The mobile node's binding update list entry for one destination (RFC
 * 6275 §11.7 sending Binding Updates, §11.8 retransmissions).
 *
 * Timers (absolute times, M6IKE_TSTAMP_UNSET when not armed):
 *   next_send      a BU is due (write_bu returns it)
 *   ack_deadline   the outstanding BU's BA is overdue -> retransmit
 *   refresh_at     refresh the binding before it expires
 *   binding_expiry the granted lifetime runs out
 */
#include "m6ike/binding.h"

#include <string.h>

#include "mem.h"

struct m6ike_bul {
  const m6ike_mem *mem;
  m6ike_bul_config cfg;
  m6ike_bul_state state;
  m6ike_addr6 coa;
  uint16_t seq;
  uint16_t granted;
  unsigned retx;
  m6ike_tstamp timeout;
  m6ike_tstamp next_send, ack_deadline, refresh_at, binding_expiry;
  m6ike_tstamp last_sent_at;
  int outstanding;  /* a BU awaits its BA */
  int pending_retx; /* the due BU is a retransmission */
  int moved;        /* the transaction registers a new CoA */
  int last_status;
  int ha_k;
};

static int addr_ok(const m6ike_addr6 *a) {
  return !m6ike_addr6_is_unspecified(a) && a->b[0] != 0xff;
}

static void emit(m6ike_bul *bul, m6ike_bul_event ev, const m6ike_mh_msg *msg) {
  if (bul->cfg.cb.on_event) {
    bul->cfg.cb.on_event(bul, ev, msg, bul->cfg.cb.user_data);
  }
}

static m6ike_tstamp min_ts(m6ike_tstamp a, m6ike_tstamp b) {
  return a < b ? a : b;
}

static m6ike_tstamp units_to_ns(uint32_t units) {
  return (m6ike_tstamp)units * M6IKE_MH_LIFETIME_UNIT_S * M6IKE_SECONDS;
}

static void clear_binding(m6ike_bul *bul) {
  bul->refresh_at = M6IKE_TSTAMP_UNSET;
  bul->binding_expiry = M6IKE_TSTAMP_UNSET;
}

/* Starts a BU transaction due now with a fresh timeout. */
static void start(m6ike_bul *bul, m6ike_tstamp now, m6ike_tstamp timeout) {
  bul->timeout = timeout;
  bul->retx = 0;
  bul->next_send = now;
  bul->ack_deadline = M6IKE_TSTAMP_UNSET;
  bul->outstanding = 0;
  bul->pending_retx = 0;
}

int m6ike_bul_new(m6ike_bul **pbul, const m6ike_bul_config *config,
                  const m6ike_mem *mem) {
  if (!pbul || !config) return M6IKE_ERR_INVALID_ARGUMENT;
  *pbul = NULL;
  if (!addr_ok(&config->hoa)) return M6IKE_ERR_BINDING_CFG_HOA;
  if (!addr_ok(&config->ha)) return M6IKE_ERR_BINDING_CFG_HA;
  m6ike_bul_config c = *config;
  if (!c.initial_bindack_timeout_first_reg) {
    c.initial_bindack_timeout_first_reg =
        M6IKE_INITIAL_BINDACK_TIMEOUT_FIRST_REG;
  }
  if (!c.initial_bindack_timeout) {
    c.initial_bindack_timeout = M6IKE_INITIAL_BINDACK_TIMEOUT;
  }
  if (!c.max_bindack_timeout) c.max_bindack_timeout = M6IKE_MAX_BINDACK_TIMEOUT;
  if (c.initial_bindack_timeout_first_reg > c.max_bindack_timeout ||
      c.initial_bindack_timeout > c.max_bindack_timeout) {
    return M6IKE_ERR_BINDING_CFG_TIMEOUT;
  }
  if (c.refresh_percent > 99) return M6IKE_ERR_BINDING_CFG_REFRESH;
  if (!c.refresh_percent) c.refresh_percent = 90;
  if (!c.lifetime) {
    c.lifetime = M6IKE_MAX_RR_BINDING_LIFETIME_S / M6IKE_MH_LIFETIME_UNIT_S;
  }
  uint16_t seq = c.initial_seq;
  if (!c.has_initial_seq) {
    uint8_t r[2];
    if (!c.cb.rand || c.cb.rand(r, sizeof(r), c.cb.user_data) != 0) {
      return M6IKE_ERR_RANDOM;
    }
    seq = (uint16_t)(r[0] << 8 | r[1]);
  }
  mem = m6ike_mem_or_default(mem);
  m6ike_bul *bul = m6ike_calloc(mem, 1, sizeof(*bul));
  if (!bul) return M6IKE_ERR_NOMEM;
  bul->mem = mem;
  bul->cfg = c;
  bul->state = M6IKE_BUL_IDLE;
  bul->coa = c.hoa;
  bul->seq = seq;
  bul->timeout = c.initial_bindack_timeout;
  bul->next_send = bul->ack_deadline = M6IKE_TSTAMP_UNSET;
  bul->last_sent_at = M6IKE_TSTAMP_UNSET;
  clear_binding(bul);
  bul->last_status = -1;
  *pbul = bul;
  return 0;
}

void m6ike_bul_del(m6ike_bul *bul) {
  if (bul) m6ike_free(bul->mem, bul);
}

int m6ike_bul_move(m6ike_bul *bul, const m6ike_addr6 *coa, m6ike_tstamp now) {
  if (!bul || !coa) return M6IKE_ERR_INVALID_ARGUMENT;
  if (!addr_ok(coa)) return M6IKE_ERR_BINDING_BAD_COA;
  if (m6ike_addr6_equal(coa, &bul->cfg.hoa)) {
    /* Returned home (§11.5.4). */
    if (bul->state == M6IKE_BUL_IDLE || bul->state == M6IKE_BUL_DEREGISTERING) {
      bul->coa = *coa;
      return 0;
    }
    bul->state = M6IKE_BUL_DEREGISTERING;
    bul->coa = *coa;
    bul->moved = 0;
    clear_binding(bul);
    start(bul, now, bul->cfg.initial_bindack_timeout);
    return 1;
  }
  if (m6ike_addr6_equal(coa, &bul->coa) &&
      (bul->state == M6IKE_BUL_REGISTERING ||
       bul->state == M6IKE_BUL_REGISTERED)) {
    return 0;
  }
  /* The first home registration: no binding exists at the HA. */
  int first = bul->state == M6IKE_BUL_IDLE &&
              (bul->cfg.flags & M6IKE_BU_FLAG_H) != 0;
  bul->state = M6IKE_BUL_REGISTERING;
  bul->coa = *coa;
  bul->moved = 1;
  bul->refresh_at = M6IKE_TSTAMP_UNSET; /* the old binding stays till expiry */
  start(bul, now,
        first ? bul->cfg.initial_bindack_timeout_first_reg
              : bul->cfg.initial_bindack_timeout);
  return 1;
}

void m6ike_bul_forget(m6ike_bul *bul) {
  if (!bul) return;
  bul->state = M6IKE_BUL_IDLE;
  bul->moved = 0;
  clear_binding(bul);
  bul->next_send = M6IKE_TSTAMP_UNSET;
  bul->ack_deadline = M6IKE_TSTAMP_UNSET;
  bul->outstanding = 0;
  bul->pending_retx = 0;
  bul->retx = 0;
}

void m6ike_bul_handle_expiry(m6ike_bul *bul, m6ike_tstamp now) {
  if (!bul) return;
  if (bul->ack_deadline != M6IKE_TSTAMP_UNSET && now >= bul->ack_deadline) {
    m6ike_tstamp due = bul->ack_deadline;
    bul->ack_deadline = M6IKE_TSTAMP_UNSET;
    if (bul->cfg.max_retransmissions &&
        bul->retx >= bul->cfg.max_retransmissions) {
      bul->outstanding = 0;
      bul->state = M6IKE_BUL_IDLE;
      clear_binding(bul);
      emit(bul, M6IKE_BUL_EV_GAVE_UP, NULL);
    } else {
      bul->retx++;
      bul->timeout = min_ts(bul->timeout * 2, bul->cfg.max_bindack_timeout);
      bul->next_send = due;
      bul->pending_retx = 1;
    }
  }
  if (bul->refresh_at != M6IKE_TSTAMP_UNSET && now >= bul->refresh_at) {
    bul->refresh_at = M6IKE_TSTAMP_UNSET;
    if (bul->state == M6IKE_BUL_REGISTERED && !bul->outstanding &&
        bul->next_send == M6IKE_TSTAMP_UNSET) {
      start(bul, now, bul->cfg.initial_bindack_timeout);
    }
  }
  if (bul->binding_expiry != M6IKE_TSTAMP_UNSET &&
      now >= bul->binding_expiry) {
    bul->binding_expiry = M6IKE_TSTAMP_UNSET;
    if (bul->state == M6IKE_BUL_REGISTERED) {
      bul->state = M6IKE_BUL_REGISTERING;
      emit(bul, M6IKE_BUL_EV_EXPIRED, NULL);
    }
  }
}

int m6ike_bul_write_bu(m6ike_bul *bul, m6ike_tstamp now, m6ike_mh_msg *bu_out,
                       m6ike_addr6 *src_coa, m6ike_addr6 *dst) {
  if (!bul || !bu_out || !src_coa || !dst) return M6IKE_ERR_INVALID_ARGUMENT;
  m6ike_bul_handle_expiry(bul, now);
  if (bul->next_send == M6IKE_TSTAMP_UNSET || now < bul->next_send) return 0;
  const int dereg = bul->state == M6IKE_BUL_DEREGISTERING;
  bul->seq++;
  memset(bu_out, 0, sizeof(*bu_out));
  bu_out->type = M6IKE_MH_BU;
  bu_out->payload_proto = M6IKE_IPPROTO_NONE;
  bu_out->u.bu.seq = bul->seq;
  bu_out->u.bu.flags = bul->cfg.flags;
  bu_out->u.bu.lifetime = dereg ? 0 : bul->cfg.lifetime;
  *src_coa = dereg ? bul->cfg.hoa : bul->coa;
  *dst = bul->cfg.ha;
  bul->next_send = M6IKE_TSTAMP_UNSET;
  bul->last_sent_at = now;
  emit(bul, bul->pending_retx ? M6IKE_BUL_EV_RETRANSMIT : M6IKE_BUL_EV_BU_SENT,
       bu_out);
  bul->pending_retx = 0;
  if (bul->cfg.flags & M6IKE_BU_FLAG_A) {
    bul->outstanding = 1;
    bul->ack_deadline = now + bul->timeout;
  } else if (dereg) {
    /* No acknowledgement requested: assume it took effect. */
    bul->state = M6IKE_BUL_IDLE;
    emit(bul, M6IKE_BUL_EV_DEREGISTERED, NULL);
  } else {
    bul->state = M6IKE_BUL_REGISTERED;
    bul->granted = bul->cfg.lifetime;
    bul->binding_expiry = now + units_to_ns(bul->granted);
    bul->refresh_at =
        now + units_to_ns(bul->granted) / 100 * bul->cfg.refresh_percent;
    if (bul->moved) {
      bul->moved = 0;
      emit(bul, M6IKE_BUL_EV_REGISTERED, NULL);
    }
  }
  return 1;
}

int m6ike_bul_read_ba(m6ike_bul *bul, const m6ike_mh_msg *ba,
                      m6ike_tstamp now) {
  if (!bul || !ba) return M6IKE_ERR_INVALID_ARGUMENT;
  if (ba->type != M6IKE_MH_BA) return M6IKE_ERR_BINDING_NOT_BA;
  const uint8_t status = ba->u.ba.status;
  if (!bul->outstanding ||
      (status != M6IKE_BA_SEQ_OUT_OF_WINDOW && ba->u.ba.seq != bul->seq)) {
    return M6IKE_ERR_BINDING_BA_NO_MATCH;
  }
  bul->outstanding = 0;
  bul->ack_deadline = M6IKE_TSTAMP_UNSET;
  bul->next_send = M6IKE_TSTAMP_UNSET;
  bul->pending_retx = 0;
  bul->last_status = status;

  if (status == M6IKE_BA_SEQ_OUT_OF_WINDOW) {
    /* Adopt the HA's last accepted number; the next BU carries it + 1. */
    bul->seq = ba->u.ba.seq;
    emit(bul, M6IKE_BUL_EV_SEQ_RESYNC, ba);
    start(bul, now, bul->timeout);
    return 0;
  }
  if (status >= 128) {
    bul->state = M6IKE_BUL_IDLE;
    bul->moved = 0;
    clear_binding(bul);
    emit(bul, M6IKE_BUL_EV_BA_REJECTED, ba);
    return 0;
  }
  emit(bul, M6IKE_BUL_EV_BA_ACCEPTED, ba);
  bul->ha_k = (ba->u.ba.flags & M6IKE_BA_FLAG_K) != 0;
  if (bul->state == M6IKE_BUL_DEREGISTERING || ba->u.ba.lifetime == 0) {
    bul->state = M6IKE_BUL_IDLE;
    bul->granted = 0;
    bul->moved = 0;
    clear_binding(bul);
    emit(bul, M6IKE_BUL_EV_DEREGISTERED, NULL);
    return 0;
  }
  m6ike_bul_state was = bul->state;
  bul->state = M6IKE_BUL_REGISTERED;
  bul->granted = ba->u.ba.lifetime;
  /* The lifetime counts from when the BU was sent (§11.7.3). */
  m6ike_tstamp life = units_to_ns(bul->granted);
  bul->binding_expiry = bul->last_sent_at + life;
  m6ike_tstamp pct = bul->last_sent_at + life / 100 * bul->cfg.refresh_percent;
  m6ike_tstamp r = pct;
  if (ba->opts.has_bra && ba->opts.refresh_interval) {
    r = now + units_to_ns(ba->opts.refresh_interval);
    if (r >= bul->binding_expiry) r = pct;
  }
  bul->refresh_at = r;
  if (was != M6IKE_BUL_REGISTERED || bul->moved) {
    bul->moved = 0;
    emit(bul, M6IKE_BUL_EV_REGISTERED, NULL);
  }
  return 0;
}

m6ike_tstamp m6ike_bul_get_expiry(const m6ike_bul *bul) {
  if (!bul) return M6IKE_TSTAMP_UNSET;
  return min_ts(min_ts(bul->next_send, bul->ack_deadline),
                min_ts(bul->refresh_at, bul->binding_expiry));
}

m6ike_bul_state m6ike_bul_get_state(const m6ike_bul *bul) {
  return bul->state;
}
const m6ike_addr6 *m6ike_bul_get_coa(const m6ike_bul *bul) {
  return &bul->coa;
}
uint16_t m6ike_bul_get_seq(const m6ike_bul *bul) { return bul->seq; }
unsigned m6ike_bul_get_retransmissions(const m6ike_bul *bul) {
  return bul->retx;
}
m6ike_tstamp m6ike_bul_get_timeout(const m6ike_bul *bul) {
  return bul->timeout;
}
uint16_t m6ike_bul_get_granted_lifetime(const m6ike_bul *bul) {
  return bul->granted;
}
m6ike_tstamp m6ike_bul_get_binding_expiry(const m6ike_bul *bul) {
  return bul->binding_expiry;
}
int m6ike_bul_get_last_status(const m6ike_bul *bul) {
  return bul->last_status;
}
int m6ike_bul_ha_k(const m6ike_bul *bul) { return bul->ha_k; }
