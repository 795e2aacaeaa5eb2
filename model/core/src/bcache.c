/*
 * The binding cache of a home agent or correspondent node (RFC 6275 §9.5,
 * §10.3).
 *
 * Storage: entries live in a dense array (swap-remove keeps it dense).  An
 * open-addressing hash table with linear probing maps HoA -> entry index
 * (average O(1) lookup; deletion by backward shift, no tombstones).  A
 * binary min-heap of entry indices ordered by expiry gives the earliest
 * expiry in O(1) and updates in O(log n).  All three grow through
 * m6ike_mem; a failed growth leaves the cache unchanged.
 */
#include "m6ike/binding.h"

#include <string.h>

#include "mem.h"

#define NONCE_SLOTS 32u

typedef struct slot {
  m6ike_bcache_entry e;
  uint32_t heap_pos;
} slot;

typedef struct nonce_rec {
  uint16_t index;
  uint8_t valid;
  uint8_t nonce[8];
  m6ike_tstamp created;
} nonce_rec;

struct m6ike_bcache {
  const m6ike_mem *mem;
  m6ike_bcache_config cfg;
  slot *slots;        /* dense, count used, cap allocated */
  uint32_t *heap;     /* indices into slots, cap allocated */
  size_t count, cap;
  uint32_t *table;    /* index + 1, 0 = empty; tcap is a power of two */
  size_t tcap;
  nonce_rec nonces[NONCE_SLOTS];
  uint16_t next_nonce_index;
};

/* ---- helpers ----------------------------------------------------------- */

static int addr_is_routable_unicast(const m6ike_addr6 *a) {
  static const uint8_t loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                       0, 0, 0, 0, 0, 0, 0, 1};
  if (m6ike_addr6_is_unspecified(a)) return 0;
  if (a->b[0] == 0xff) return 0;                          /* multicast */
  if (a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80) return 0; /* fe80::/10 */
  if (memcmp(a->b, loopback, 16) == 0) return 0;
  return 1;
}

static uint64_t load64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

static size_t hash_addr(const m6ike_addr6 *a) {
  uint64_t h = load64(a->b) * 0x9e3779b97f4a7c15ULL;
  h ^= load64(a->b + 8) + 0x632be59bd9b4e019ULL + (h << 6) + (h >> 2);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return (size_t)h;
}

/* Position in table holding hoa, or the empty position where it would go. */
static size_t table_find(const m6ike_bcache *bc, const m6ike_addr6 *hoa,
                         int *found) {
  size_t mask = bc->tcap - 1, i = hash_addr(hoa) & mask;
  for (;;) {
    uint32_t v = bc->table[i];
    if (v == 0) {
      *found = 0;
      return i;
    }
    if (memcmp(bc->slots[v - 1].e.hoa.b, hoa->b, 16) == 0) {
      *found = 1;
      return i;
    }
    i = (i + 1) & mask;
  }
}

static void table_remove_at(m6ike_bcache *bc, size_t i) {
  size_t mask = bc->tcap - 1, j = i;
  bc->table[i] = 0;
  for (;;) {
    j = (j + 1) & mask;
    uint32_t v = bc->table[j];
    if (v == 0) return;
    size_t home = hash_addr(&bc->slots[v - 1].e.hoa) & mask;
    /* Move v back to i unless its home lies cyclically in (i, j]. */
    int stays = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
    if (!stays) {
      bc->table[i] = v;
      bc->table[j] = 0;
      i = j;
    }
  }
}

static int table_resize(m6ike_bcache *bc, size_t ncap) {
  uint32_t *nt = m6ike_calloc(bc->mem, ncap, sizeof(*nt));
  if (!nt) return M6IKE_ERR_NOMEM;
  m6ike_free(bc->mem, bc->table);
  bc->table = nt;
  bc->tcap = ncap;
  for (size_t k = 0; k < bc->count; k++) {
    int found;
    size_t pos = table_find(bc, &bc->slots[k].e.hoa, &found);
    bc->table[pos] = (uint32_t)(k + 1);
  }
  return 0;
}

/* ---- heap -------------------------------------------------------------- */

static m6ike_tstamp heap_key(const m6ike_bcache *bc, size_t pos) {
  return bc->slots[bc->heap[pos]].e.expiry;
}

static void heap_set(m6ike_bcache *bc, size_t pos, uint32_t idx) {
  bc->heap[pos] = idx;
  bc->slots[idx].heap_pos = (uint32_t)pos;
}

static void heap_up(m6ike_bcache *bc, size_t pos) {
  uint32_t idx = bc->heap[pos];
  m6ike_tstamp key = bc->slots[idx].e.expiry;
  while (pos > 0) {
    size_t parent = (pos - 1) / 2;
    if (heap_key(bc, parent) <= key) break;
    heap_set(bc, pos, bc->heap[parent]);
    pos = parent;
  }
  heap_set(bc, pos, idx);
}

static void heap_down(m6ike_bcache *bc, size_t pos) {
  uint32_t idx = bc->heap[pos];
  m6ike_tstamp key = bc->slots[idx].e.expiry;
  for (;;) {
    size_t l = 2 * pos + 1, r = l + 1, m = pos;
    m6ike_tstamp mk = key;
    if (l < bc->count && heap_key(bc, l) < mk) {
      m = l;
      mk = heap_key(bc, l);
    }
    if (r < bc->count && heap_key(bc, r) < mk) m = r;
    if (m == pos) break;
    heap_set(bc, pos, bc->heap[m]);
    pos = m;
  }
  heap_set(bc, pos, idx);
}

/* Restores the heap order around pos after its key changed. */
static void heap_fix(m6ike_bcache *bc, size_t pos) {
  uint32_t idx = bc->heap[pos];
  heap_up(bc, pos);
  heap_down(bc, bc->slots[idx].heap_pos);
}

/* ---- entry removal ----------------------------------------------------- */

/* Removes the entry at dense index idx whose table position is tpos. */
static void remove_entry(m6ike_bcache *bc, size_t idx, size_t tpos,
                         m6ike_bcache_event ev) {
  m6ike_bcache_entry copy = bc->slots[idx].e;
  size_t last = bc->count - 1;
  /* Heap: replace by the last heap element. */
  size_t hp = bc->slots[idx].heap_pos;
  uint32_t hlast = bc->heap[last];
  table_remove_at(bc, tpos);
  bc->count--;
  if (hp != last) {
    heap_set(bc, hp, hlast);
    heap_fix(bc, hp);
  }
  /* Dense array: move the last slot into idx. */
  if (idx != last) {
    int found;
    size_t lpos = table_find(bc, &bc->slots[last].e.hoa, &found);
    bc->slots[idx] = bc->slots[last];
    bc->table[lpos] = (uint32_t)(idx + 1);
    bc->heap[bc->slots[idx].heap_pos] = (uint32_t)idx;
  }
  if (bc->cfg.cb.on_change) {
    bc->cfg.cb.on_change(&copy, ev, bc->cfg.cb.user_data);
  }
}

/* Makes room for one more entry.  0 or M6IKE_ERR_NOMEM (cache unchanged). */
static int reserve_one(m6ike_bcache *bc) {
  if (bc->count == bc->cap) {
    size_t ncap = bc->cap ? bc->cap * 2 : 16;
    if (ncap > UINT32_MAX / 2) return M6IKE_ERR_NOMEM;
    slot *ns = m6ike_realloc(bc->mem, bc->slots, ncap * sizeof(*ns));
    if (!ns) return M6IKE_ERR_NOMEM;
    bc->slots = ns;
    uint32_t *nh = m6ike_realloc(bc->mem, bc->heap, ncap * sizeof(*nh));
    if (!nh) return M6IKE_ERR_NOMEM; /* slots grew; cap stays: harmless */
    bc->heap = nh;
    bc->cap = ncap;
  }
  /* Keep the table at most half full. */
  if ((bc->count + 1) * 2 > bc->tcap) {
    int rv = table_resize(bc, bc->tcap * 2);
    if (rv != 0) return rv;
  }
  return 0;
}

/* ---- public ------------------------------------------------------------ */

int m6ike_bcache_new(m6ike_bcache **pbc, const m6ike_bcache_config *config,
                     const m6ike_mem *mem) {
  if (!pbc || !config) return M6IKE_ERR_INVALID_ARGUMENT;
  *pbc = NULL;
  if (config->role != M6IKE_BCACHE_ROLE_HA &&
      config->role != M6IKE_BCACHE_ROLE_CN) {
    return M6IKE_ERR_BINDING_CFG_ROLE;
  }
  if (config->n_home_prefixes > M6IKE_BCACHE_MAX_PREFIXES ||
      (config->role == M6IKE_BCACHE_ROLE_HA && config->n_home_prefixes == 0 &&
       !config->home_reg_disabled)) {
    return M6IKE_ERR_BINDING_CFG_PREFIX;
  }
  for (size_t i = 0; i < config->n_home_prefixes; i++) {
    uint8_t plen = config->home_prefixes[i].plen;
    if (plen == 0 || plen > 128) return M6IKE_ERR_BINDING_CFG_PREFIX;
  }
  mem = m6ike_mem_or_default(mem);
  m6ike_bcache *bc = m6ike_calloc(mem, 1, sizeof(*bc));
  if (!bc) return M6IKE_ERR_NOMEM;
  bc->mem = mem;
  bc->cfg = *config;
  if (bc->cfg.nonce_lifetime == 0) {
    bc->cfg.nonce_lifetime = M6IKE_MAX_NONCE_LIFETIME;
  }
  bc->tcap = 32;
  bc->table = m6ike_calloc(mem, bc->tcap, sizeof(*bc->table));
  if (!bc->table) {
    m6ike_free(mem, bc);
    return M6IKE_ERR_NOMEM;
  }
  bc->next_nonce_index = 1;
  *pbc = bc;
  return 0;
}

void m6ike_bcache_del(m6ike_bcache *bc) {
  if (!bc) return;
  m6ike_free(bc->mem, bc->slots);
  m6ike_free(bc->mem, bc->heap);
  m6ike_free(bc->mem, bc->table);
  m6ike_free(bc->mem, bc);
}

const m6ike_bcache_entry *m6ike_bcache_lookup(const m6ike_bcache *bc,
                                              const m6ike_addr6 *hoa) {
  if (!bc || !hoa) return NULL;
  int found;
  size_t pos = table_find(bc, hoa, &found);
  return found ? &bc->slots[bc->table[pos] - 1].e : NULL;
}

int m6ike_bcache_remove(m6ike_bcache *bc, const m6ike_addr6 *hoa) {
  if (!bc || !hoa) return M6IKE_ERR_INVALID_ARGUMENT;
  int found;
  size_t pos = table_find(bc, hoa, &found);
  if (!found) return M6IKE_ERR_NOT_FOUND;
  remove_entry(bc, bc->table[pos] - 1, pos, M6IKE_BCACHE_REMOVED);
  return 0;
}

m6ike_tstamp m6ike_bcache_get_expiry(const m6ike_bcache *bc) {
  if (!bc || bc->count == 0) return M6IKE_TSTAMP_UNSET;
  return heap_key(bc, 0);
}

size_t m6ike_bcache_handle_expiry(m6ike_bcache *bc, m6ike_tstamp now) {
  size_t n = 0;
  if (!bc) return 0;
  while (bc->count > 0 && heap_key(bc, 0) <= now) {
    uint32_t idx = bc->heap[0];
    int found;
    size_t pos = table_find(bc, &bc->slots[idx].e.hoa, &found);
    remove_entry(bc, idx, pos, M6IKE_BCACHE_EXPIRED);
    n++;
  }
  return n;
}

size_t m6ike_bcache_count(const m6ike_bcache *bc) {
  return bc ? bc->count : 0;
}

const m6ike_bcache_entry *m6ike_bcache_at(const m6ike_bcache *bc, size_t i) {
  if (!bc || i >= bc->count) return NULL;
  return &bc->slots[i].e;
}

/* ---- nonces ------------------------------------------------------------ */

int m6ike_bcache_nonce_generate(m6ike_bcache *bc, m6ike_tstamp now,
                                uint16_t *index, uint8_t nonce[8]) {
  if (!bc || !index || !nonce || !bc->cfg.cb.rand) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  uint8_t n[8];
  if (bc->cfg.cb.rand(n, sizeof(n), bc->cfg.cb.user_data) != 0) {
    return M6IKE_ERR_RANDOM;
  }
  uint16_t idx = bc->next_nonce_index++;
  nonce_rec *r = &bc->nonces[idx % NONCE_SLOTS];
  r->index = idx;
  r->valid = 1;
  r->created = now;
  memcpy(r->nonce, n, 8);
  memcpy(nonce, n, 8);
  *index = idx;
  return 0;
}

static const nonce_rec *nonce_find(const m6ike_bcache *bc, uint16_t index,
                                   m6ike_tstamp now) {
  const nonce_rec *r = &bc->nonces[index % NONCE_SLOTS];
  if (!r->valid || r->index != index) return NULL;
  if (now < r->created || now - r->created >= bc->cfg.nonce_lifetime) {
    return NULL;
  }
  return r;
}

int m6ike_bcache_nonce_get(const m6ike_bcache *bc, uint16_t index,
                           m6ike_tstamp now, uint8_t nonce[8]) {
  if (!bc || !nonce) return M6IKE_ERR_INVALID_ARGUMENT;
  const nonce_rec *r = nonce_find(bc, index, now);
  if (!r) return M6IKE_ERR_NOT_FOUND;
  memcpy(nonce, r->nonce, 8);
  return 0;
}

/* ---- Binding Update processing ----------------------------------------- */

static int on_home_prefix(const m6ike_bcache *bc, const m6ike_addr6 *hoa) {
  for (size_t i = 0; i < bc->cfg.n_home_prefixes; i++) {
    if (m6ike_addr6_prefix_match(hoa, &bc->cfg.home_prefixes[i].prefix,
                                 bc->cfg.home_prefixes[i].plen)) {
      return 1;
    }
  }
  return 0;
}

static int ba_due(const m6ike_mh_msg *bu, const m6ike_mh_msg *ba) {
  return (bu->u.bu.flags & M6IKE_BU_FLAG_A) || ba->u.ba.status >= 128;
}

int m6ike_bcache_process_bu(m6ike_bcache *bc, const m6ike_addr6 *hoa,
                            const m6ike_addr6 *coa, const m6ike_mh_msg *bu,
                            m6ike_tstamp now, m6ike_mh_msg *ba_out) {
  if (!bc || !hoa || !coa || !bu || !ba_out) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (bu->type != M6IKE_MH_BU) return M6IKE_ERR_BINDING_NOT_BU;
  if (!addr_is_routable_unicast(hoa)) return M6IKE_ERR_BINDING_DISCARD;

  const uint16_t flags = bu->u.bu.flags;
  const int home = (flags & M6IKE_BU_FLAG_H) != 0;
  const int dereg = bu->u.bu.lifetime == 0 || m6ike_addr6_equal(coa, hoa);
  const m6ike_bcache_callbacks *cb = &bc->cfg.cb;

  memset(ba_out, 0, sizeof(*ba_out));
  ba_out->type = M6IKE_MH_BA;
  ba_out->payload_proto = M6IKE_IPPROTO_NONE;
  ba_out->u.ba.seq = bu->u.bu.seq;
  m6ike_mh_ba *ba = &ba_out->u.ba;

  /* Correspondent registration: return routability authorisation. */
  if (!home) {
    if (!bu->opts.has_nonce_idx || !bu->opts.has_bind_auth) {
      return M6IKE_ERR_BINDING_DISCARD;
    }
    int home_bad = nonce_find(bc, bu->opts.home_nonce_index, now) == NULL;
    int coa_bad =
        !dereg && nonce_find(bc, bu->opts.careof_nonce_index, now) == NULL;
    if (home_bad || coa_bad) {
      ba->status = home_bad && coa_bad ? M6IKE_BA_EXPIRED_NONCES
                   : home_bad          ? M6IKE_BA_EXPIRED_HOME_NONCE
                                       : M6IKE_BA_EXPIRED_COA_NONCE;
      return 1;
    }
    if (cb->verify_auth && cb->verify_auth(hoa, coa, bu, cb->user_data) != 0) {
      return M6IKE_ERR_BINDING_DISCARD;
    }
  }

  int found;
  size_t tpos = table_find(bc, hoa, &found);
  size_t idx = found ? bc->table[tpos] - 1 : 0;
  m6ike_bcache_entry *e = found ? &bc->slots[idx].e : NULL;

  if (e && e->home_reg != home) {
    ba->status = M6IKE_BA_REG_TYPE_CHANGE_DISALLOWED;
    return 1;
  }
  if (e && !m6ike_seq_newer(bu->u.bu.seq, e->seq)) {
    ba->status = M6IKE_BA_SEQ_OUT_OF_WINDOW;
    ba->seq = e->seq;
    return 1;
  }
  if (home) {
    if (bc->cfg.role != M6IKE_BCACHE_ROLE_HA || bc->cfg.home_reg_disabled) {
      ba->status = M6IKE_BA_HOME_REG_NOT_SUPPORTED;
      return 1;
    }
    if (!on_home_prefix(bc, hoa)) {
      ba->status = M6IKE_BA_NOT_HOME_SUBNET;
      return 1;
    }
    if (cb->is_served && !cb->is_served(hoa, cb->user_data)) {
      ba->status = M6IKE_BA_NOT_HA_FOR_THIS_MN;
      return 1;
    }
  }
  if (cb->admin_allowed && !cb->admin_allowed(hoa, coa, cb->user_data)) {
    ba->status = M6IKE_BA_ADMIN_PROHIBITED;
    return 1;
  }

  if (dereg) {
    if (e) {
      remove_entry(bc, idx, tpos, M6IKE_BCACHE_REMOVED);
    } else if (home) {
      ba->status = M6IKE_BA_NOT_HA_FOR_THIS_MN; /* §10.3.2 */
      return 1;
    }
    ba->status = M6IKE_BA_ACCEPTED;
    return ba_due(bu, ba_out);
  }

  if (!addr_is_routable_unicast(coa)) {
    ba->status = M6IKE_BA_REASON_UNSPECIFIED;
    return 1;
  }

  const int is_new = e == NULL;
  if (is_new) {
    if (bc->cfg.max_entries && bc->count >= bc->cfg.max_entries) {
      ba->status = M6IKE_BA_INSUFFICIENT_RESOURCES;
      return 1;
    }
    if (home && cb->dad && cb->dad(hoa, cb->user_data) != 0) {
      ba->status = M6IKE_BA_DAD_FAILED;
      return 1;
    }
    if (reserve_one(bc) != 0) {
      ba->status = M6IKE_BA_INSUFFICIENT_RESOURCES;
      return 1;
    }
    tpos = table_find(bc, hoa, &found); /* the table may have grown */
    idx = bc->count++;
    bc->table[tpos] = (uint32_t)(idx + 1);
    e = &bc->slots[idx].e;
    memset(e, 0, sizeof(*e));
    e->hoa = *hoa;
    e->home_reg = (uint8_t)home;
    e->registered_at = now;
    heap_set(bc, idx, (uint32_t)idx); /* appended; fixed below */
  }

  uint16_t life = bu->u.bu.lifetime;
  if (bc->cfg.max_lifetime && life > bc->cfg.max_lifetime) {
    life = bc->cfg.max_lifetime;
  }
  if (!home &&
      life > M6IKE_MAX_RR_BINDING_LIFETIME_S / M6IKE_MH_LIFETIME_UNIT_S) {
    life = M6IKE_MAX_RR_BINDING_LIFETIME_S / M6IKE_MH_LIFETIME_UNIT_S;
  }
  e->coa = *coa;
  e->seq = bu->u.bu.seq;
  e->lifetime = life;
  e->flags = flags;
  e->k = (uint8_t)(home && bc->cfg.k_supported &&
                   (flags & M6IKE_BU_FLAG_K) != 0);
  e->updated_at = now;
  e->expiry = now + (m6ike_tstamp)life * M6IKE_MH_LIFETIME_UNIT_S *
                        M6IKE_SECONDS;
  heap_fix(bc, bc->slots[idx].heap_pos);

  ba->status = (home && bc->cfg.prefix_discovery_needed)
                   ? M6IKE_BA_ACCEPTED_PREFIX_DISCOVERY
                   : M6IKE_BA_ACCEPTED;
  ba->lifetime = life;
  if (e->k) ba->flags |= M6IKE_BA_FLAG_K;
  if (home) {
    ba_out->opts.has_bra = 1;
    ba_out->opts.refresh_interval = (uint16_t)(life / 2 ? life / 2 : 1);
  }
  if (cb->on_change) {
    cb->on_change(e, is_new ? M6IKE_BCACHE_ADDED : M6IKE_BCACHE_UPDATED,
                  cb->user_data);
  }
  return ba_due(bu, ba_out);
}

/* ---- errors ------------------------------------------------------------ */

const char *m6ike_binding_strerror_(int code) {
  switch (code) {
  case M6IKE_ERR_BINDING_NOT_BU:
    return "binding: message type is not Binding Update";
  case M6IKE_ERR_BINDING_DISCARD:
    return "binding: Binding Update silently discarded (home address not "
           "unicast-routable, Nonce Indices or Binding Authorization Data "
           "missing, or authenticator invalid)";
  case M6IKE_ERR_BINDING_NOT_BA:
    return "binding: message type is not Binding Acknowledgement";
  case M6IKE_ERR_BINDING_BA_NO_MATCH:
    return "binding: Binding Acknowledgement matches no outstanding Binding "
           "Update (sequence number)";
  case M6IKE_ERR_BINDING_BAD_COA:
    return "binding: care-of address is unspecified or multicast";
  case M6IKE_ERR_BINDING_CFG_ROLE:
    return "binding: config.role is neither HA nor CN";
  case M6IKE_ERR_BINDING_CFG_PREFIX:
    return "binding: config.home_prefixes invalid (count above 4, prefix "
           "length 0 or above 128, or an HA with none)";
  case M6IKE_ERR_BINDING_CFG_HOA:
    return "binding: config.hoa is unspecified or multicast";
  case M6IKE_ERR_BINDING_CFG_HA:
    return "binding: config.ha is unspecified or multicast";
  case M6IKE_ERR_BINDING_CFG_TIMEOUT:
    return "binding: config initial bindack timeout exceeds "
           "max_bindack_timeout";
  case M6IKE_ERR_BINDING_CFG_REFRESH:
    return "binding: config.refresh_percent above 99";
  default:
    return NULL;
  }
}
