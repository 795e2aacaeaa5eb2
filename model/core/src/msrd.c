/* msrd: the Mobile Security Reference Database (see m6ike/msrd.h). */
#include "m6ike/msrd.h"

#include <string.h>

#include "mem.h"
#include "msrd_internal.h"

#define MSRD_MAGIC 0x4d535244u /* "MSRD" */
#define MSRD_NONE UINT32_MAX   /* no slot / empty bucket / end of a list */
#define MSRD_MAX_ENTRIES (UINT32_C(1) << 30) /* keeps buckets <= 2^31 */
#define MSRD_MIN_BUCKETS 8u

enum { KIND_READER = 1, KIND_WRITER = 2 };

/* ---- storage: entries and indexes refer to slots by index, never by
 * pointer (the db struct holds the array pointers) ----------------------- */

/* One slot of the entry array.  A free slot has e.mpi == 0 and keeps the
 * index of the next free slot in e.lifetime.  (Its heap position lives in a
 * separate array so that a slot is 96 bytes, not 104: less memory and fewer
 * cache lines per lookup on average.) */
typedef struct msrd_slot {
  m6ike_msrd_entry e;
} msrd_slot;

/* An index bucket: the 32-bit hash of the key and the slot holding it. */
typedef struct msrd_bucket {
  uint32_t tag;
  uint32_t slot; /* MSRD_NONE = empty */
} msrd_bucket;

/* Linear probing, home bucket = tag & mask, backward-shift deletion (no
 * tombstones), grown by doubling above 70 % load. */
typedef struct msrd_table {
  msrd_bucket *b;
  uint32_t mask;  /* buckets - 1 (buckets a power of two) */
  uint32_t count; /* occupied buckets */
} msrd_table;

typedef struct msrd_sub {
  m6ike_msrd_notify_fn fn; /* NULL = unsubscribed during a notification */
  void *user_data;
  uint64_t id;
} msrd_sub;

/* A reader handle.  The writer handle embeds one (its query view). */
struct m6ike_msrd_reader {
  uint32_t magic;
  uint32_t kind;
  m6ike_msrd *db;
  m6ike_msrd_reader *prev, *next; /* the db's list of handles */
  msrd_sub *subs;
  size_t nsubs, capsubs;
  int dead; /* closed during a callback, freed when the round ends */
};

struct m6ike_msrd_writer {
  m6ike_msrd_reader view; /* kind = KIND_WRITER */
};

struct m6ike_msrd {
  const m6ike_mem *mem;
  m6ike_msrd_role role;
  uint32_t max_entries;

  msrd_slot *slots;
  uint32_t slot_cap;  /* allocated slots */
  uint32_t slot_hw;   /* slots ever used (high water) */
  uint32_t free_head; /* first free slot below slot_hw, MSRD_NONE if none */
  uint32_t count;     /* live entries */

  uint32_t *heap; /* expiry min-heap of slot indices, capacity slot_cap */
  uint32_t *hpos; /* per slot: index in heap, MSRD_NONE if not there */
  uint32_t heap_cap; /* of heap and hpos */
  uint32_t heap_n;

  msrd_table by_mpi, by_hoa, by_coa;

  uint32_t next_mpi;
  uint32_t mpi_key;
  uint64_t seed0, seed1;

  uint64_t generation;
  uint64_t next_sub_id;
  unsigned busy;     /* depth of notification / foreach callbacks */
  int need_reap;     /* a reader closed or a sub removed while busy */

  m6ike_msrd_writer *writer;
  m6ike_msrd_reader *handles; /* list: the writer's view and all readers */
};

/* ---- errors ----------------------------------------------------------- */

const char *m6ike_msrd_strerror_(int code) {
  switch (code) {
  case M6IKE_ERR_MSRD_MN_SINGLE_ENTRY:
    return "msrd: an MN-role database holds a single entry";
  case M6IKE_ERR_MSRD_FULL:
    return "msrd: max_entries entries are already live";
  case M6IKE_ERR_MSRD_BAD_HOA:
    return "msrd: hoa is unspecified or multicast";
  case M6IKE_ERR_MSRD_BAD_COA:
    return "msrd: coa is multicast, or unspecified in a state that needs one";
  case M6IKE_ERR_MSRD_BAD_STATE:
    return "msrd: state is not a valid m6ike_msrd_state";
  case M6IKE_ERR_MSRD_BAD_MASK:
    return "msrd: update mask is empty or has unknown bits";
  case M6IKE_ERR_MSRD_BAD_HANDLE:
    return "msrd: handle is not a live MSRD handle";
  case M6IKE_ERR_MSRD_BAD_CONFIG:
    return "msrd: configuration field out of range (role, max_entries or "
           "initial_capacity)";
  case M6IKE_ERR_MSRD_BAD_TIME:
    return "msrd: now is M6IKE_TSTAMP_UNSET";
  default:
    return NULL;
  }
}

const char *m6ike_msrd_state_name(int state) {
  switch (state) {
  case M6IKE_MSRD_HOME:
    return "HOME";
  case M6IKE_MSRD_REGISTERING:
    return "REGISTERING";
  case M6IKE_MSRD_REGISTERED:
    return "REGISTERED";
  case M6IKE_MSRD_DEREGISTERING:
    return "DEREGISTERING";
  default:
    return "?";
  }
}

/* ---- hashing ---------------------------------------------------------- */

static uint64_t mix64(uint64_t x) {
  x ^= x >> 31;
  x *= UINT64_C(0xbf58476d1ce4e5b9);
  x ^= x >> 29;
  x *= UINT64_C(0x94d049bb133111eb);
  x ^= x >> 32;
  return x;
}

/* A bijection of the 32-bit MPI space keyed by mpi_key: equal tags mean
 * equal MPIs, so an MPI lookup never has to look at the entry to compare. */
static uint32_t mpi_hash(const m6ike_msrd *db, uint32_t x) {
  x ^= db->mpi_key;
  x ^= x >> 16;
  x *= UINT32_C(0x7feb352d);
  x ^= x >> 15;
  x *= UINT32_C(0x846ca68b);
  x ^= x >> 16;
  return x;
}

/* Keyed multiply-xorshift over the two 64-bit halves of the address. */
static uint32_t addr_hash(const m6ike_msrd *db, const m6ike_addr6 *a) {
  uint64_t lo, hi;
  memcpy(&lo, a->b, 8);
  memcpy(&hi, a->b + 8, 8);
  uint64_t x = (lo ^ db->seed0) * UINT64_C(0x9e3779b97f4a7c15);
  uint64_t y = (hi ^ db->seed1) * UINT64_C(0xc2b2ae3d27d4eb4f);
  uint64_t h = x ^ (y >> 32 | y << 32);
  h ^= h >> 29;
  h *= UINT64_C(0xbf58476d1ce4e5b9);
  h ^= h >> 32;
  return (uint32_t)h;
}

static int addr_eq(const m6ike_addr6 *a, const m6ike_addr6 *b) {
  return memcmp(a->b, b->b, 16) == 0;
}
static int addr_unspec(const m6ike_addr6 *a) {
  static const m6ike_addr6 zero = {{0}};
  return addr_eq(a, &zero);
}

/* ---- hash tables ------------------------------------------------------ */

static uint32_t buckets_for(uint32_t entries) {
  uint64_t need = (uint64_t)entries * 10 / 7 + 1;
  uint64_t n = MSRD_MIN_BUCKETS;
  while (n < need) {
    n <<= 1;
  }
  return (uint32_t)n; /* entries <= 2^30, so n <= 2^31 */
}

static int table_init(const m6ike_mem *mem, msrd_table *t, uint32_t nb) {
  t->b = m6ike_malloc(mem, (size_t)nb * sizeof(msrd_bucket));
  if (!t->b) {
    return M6IKE_ERR_NOMEM;
  }
  memset(t->b, 0xff, (size_t)nb * sizeof(msrd_bucket));
  t->mask = nb - 1;
  t->count = 0;
  return 0;
}

static void table_put(msrd_table *t, uint32_t tag, uint32_t slot) {
  uint32_t i = tag & t->mask;
  while (t->b[i].slot != MSRD_NONE) {
    i = (i + 1) & t->mask;
  }
  t->b[i].tag = tag;
  t->b[i].slot = slot;
  t->count++;
}

/* Makes room for `extra` more keys without further allocation. */
static int table_reserve(const m6ike_mem *mem, msrd_table *t, uint32_t extra) {
  uint64_t nb = (uint64_t)t->mask + 1;
  uint64_t want = (uint64_t)t->count + extra;
  if (want * 10 <= nb * 7) {
    return 0;
  }
  msrd_table n;
  if (table_init(mem, &n, buckets_for((uint32_t)want)) != 0) {
    return M6IKE_ERR_NOMEM;
  }
  for (uint64_t i = 0; i < nb; i++) {
    if (t->b[i].slot != MSRD_NONE) {
      table_put(&n, t->b[i].tag, t->b[i].slot);
    }
  }
  m6ike_free(mem, t->b);
  *t = n;
  return 0;
}

/* Removes the bucket holding slot (whose key hashes to tag). */
static void table_del(msrd_table *t, uint32_t tag, uint32_t slot) {
  uint32_t i = tag & t->mask;
  while (t->b[i].slot != slot) {
    i = (i + 1) & t->mask; /* the caller guarantees it is there */
  }
  uint32_t j = i;
  for (;;) {
    j = (j + 1) & t->mask;
    if (t->b[j].slot == MSRD_NONE) {
      break;
    }
    uint32_t k = t->b[j].tag & t->mask; /* home of the bucket at j */
    /* Move j back to the hole at i unless its home lies cyclically in
     * (i, j]. */
    int stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
    if (!stays) {
      t->b[i] = t->b[j];
      i = j;
    }
  }
  t->b[i].slot = MSRD_NONE;
  t->b[i].tag = MSRD_NONE;
  t->count--;
}

/*
 * Fast path of a lookup: the slot of the first of the four buckets from the
 * home whose tag matches, without data-dependent branches (MSRD_NONE if
 * none does).  At <= 70 % load about 97 % of keys sit there (measured at
 * 10^6 entries), so the one branch after it is predictable and the CPU can
 * overlap the cache misses of successive lookups, where a probe loop would
 * mispredict on each collision.  The caller checks the key (MPI tags need
 * no check) and falls back to the full probe.
 */
static inline uint32_t first_tag4(const msrd_table *t, uint32_t tag) {
  static const uint8_t first_bit[16] = {4, 0, 1, 0, 2, 0, 1, 0,
                                        3, 0, 1, 0, 2, 0, 1, 0};
  const msrd_bucket *b = t->b;
  uint32_t m = t->mask, i = tag & m;
  unsigned hit = (unsigned)(b[i].tag == tag) |
                 (unsigned)(b[(i + 1) & m].tag == tag) << 1 |
                 (unsigned)(b[(i + 2) & m].tag == tag) << 2 |
                 (unsigned)(b[(i + 3) & m].tag == tag) << 3;
  unsigned j = first_bit[hit];
  return j < 4 ? b[(i + j) & m].slot : MSRD_NONE;
}

static uint32_t find_mpi(const m6ike_msrd *db, uint32_t mpi) {
  if (mpi == 0) {
    return MSRD_NONE;
  }
  const msrd_table *t = &db->by_mpi;
  uint32_t tag = mpi_hash(db, mpi);
  uint32_t s = first_tag4(t, tag);
  if (s != MSRD_NONE) {
    return s; /* tags are a bijection of MPIs: no key check needed */
  }
  uint32_t i = tag & t->mask;
  for (;;) {
    const msrd_bucket *b = &t->b[i];
    if (b->slot == MSRD_NONE || b->tag == tag) {
      return b->slot;
    }
    i = (i + 1) & t->mask;
  }
}

static uint32_t find_hoa(const m6ike_msrd *db, const m6ike_addr6 *hoa) {
  const msrd_table *t = &db->by_hoa;
  uint32_t tag = addr_hash(db, hoa);
  uint32_t s = first_tag4(t, tag);
  if (s != MSRD_NONE && addr_eq(&db->slots[s].e.hoa, hoa)) {
    return s;
  }
  uint32_t i = tag & t->mask;
  for (;;) {
    const msrd_bucket *b = &t->b[i];
    if (b->slot == MSRD_NONE) {
      return MSRD_NONE;
    }
    if (b->tag == tag && addr_eq(&db->slots[b->slot].e.hoa, hoa)) {
      return b->slot;
    }
    i = (i + 1) & t->mask;
  }
}

/* ---- expiry heap ------------------------------------------------------ */

static m6ike_tstamp heap_key(const m6ike_msrd *db, uint32_t i) {
  return db->slots[db->heap[i]].e.expires;
}
static void heap_set(m6ike_msrd *db, uint32_t i, uint32_t slot) {
  db->heap[i] = slot;
  db->hpos[slot] = i;
}
static void heap_up(m6ike_msrd *db, uint32_t i) {
  uint32_t s = db->heap[i];
  m6ike_tstamp k = db->slots[s].e.expires;
  while (i > 0) {
    uint32_t p = (i - 1) / 2;
    if (heap_key(db, p) <= k) {
      break;
    }
    heap_set(db, i, db->heap[p]);
    i = p;
  }
  heap_set(db, i, s);
}
static void heap_down(m6ike_msrd *db, uint32_t i) {
  uint32_t s = db->heap[i];
  m6ike_tstamp k = db->slots[s].e.expires;
  for (;;) {
    uint32_t c = 2 * i + 1;
    if (c >= db->heap_n) {
      break;
    }
    if (c + 1 < db->heap_n && heap_key(db, c + 1) < heap_key(db, c)) {
      c++;
    }
    if (k <= heap_key(db, c)) {
      break;
    }
    heap_set(db, i, db->heap[c]);
    i = c;
  }
  heap_set(db, i, s);
}
static void heap_push(m6ike_msrd *db, uint32_t slot) {
  uint32_t i = db->heap_n++;
  heap_set(db, i, slot);
  heap_up(db, i);
}
static void heap_remove(m6ike_msrd *db, uint32_t slot) {
  uint32_t i = db->hpos[slot];
  db->hpos[slot] = MSRD_NONE;
  uint32_t last = --db->heap_n;
  if (i != last) {
    uint32_t moved = db->heap[last];
    heap_set(db, i, moved);
    heap_up(db, i);
    if (db->hpos[moved] == i) {
      heap_down(db, i);
    }
  }
}

/* ---- handles ---------------------------------------------------------- */

static int reader_check(const m6ike_msrd_reader *r) {
  if (!r) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (r->magic != MSRD_MAGIC || !r->db ||
      (r->kind != KIND_READER && r->kind != KIND_WRITER) || r->dead) {
    return M6IKE_ERR_MSRD_BAD_HANDLE;
  }
  return 0;
}

/* Checks that w really is a writer and the writer of its database. */
static int writer_check(const m6ike_msrd_writer *w) {
  if (!w) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  /* Read the handle through the type every handle starts with, so that a
   * reader cast to a writer is examined as what it is. */
  const m6ike_msrd_reader *h = (const m6ike_msrd_reader *)(const void *)w;
  if (h->magic != MSRD_MAGIC || !h->db) {
    return M6IKE_ERR_MSRD_BAD_HANDLE;
  }
  if (h->kind != KIND_WRITER || h->db->writer != w) {
    return M6IKE_ERR_PERMISSION;
  }
  return 0;
}

int m6ike_msrd_writer_check(const m6ike_msrd *db,
                            const m6ike_msrd_writer *writer) {
  if (!db) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  int rc = writer_check(writer);
  if (rc != 0) {
    return rc;
  }
  return writer->view.db == db ? 0 : M6IKE_ERR_PERMISSION;
}

/* The common prologue of every writer operation. */
static int writer_begin(m6ike_msrd_writer *w, m6ike_tstamp now,
                        m6ike_msrd **dbp) {
  int rc = writer_check(w);
  if (rc != 0) {
    return rc;
  }
  m6ike_msrd *db = w->view.db;
  if (db->busy) {
    return M6IKE_ERR_INVALID_STATE;
  }
  if (now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_MSRD_BAD_TIME;
  }
  *dbp = db;
  return 0;
}

static void handle_link(m6ike_msrd *db, m6ike_msrd_reader *r) {
  r->prev = NULL;
  r->next = db->handles;
  if (db->handles) {
    db->handles->prev = r;
  }
  db->handles = r;
}

static void handle_unlink_free(m6ike_msrd *db, m6ike_msrd_reader *r) {
  if (r->prev) {
    r->prev->next = r->next;
  } else {
    db->handles = r->next;
  }
  if (r->next) {
    r->next->prev = r->prev;
  }
  m6ike_free(db->mem, r->subs);
  r->magic = 0;
  m6ike_free(db->mem, r);
}

/* After a notification round: free closed readers, drop empty subs. */
static void reap(m6ike_msrd *db) {
  m6ike_msrd_reader *r = db->handles;
  while (r) {
    m6ike_msrd_reader *next = r->next;
    if (r->dead) {
      handle_unlink_free(db, r);
    } else {
      size_t k = 0;
      for (size_t i = 0; i < r->nsubs; i++) {
        if (r->subs[i].fn) {
          r->subs[k++] = r->subs[i];
        }
      }
      r->nsubs = k;
    }
    r = next;
  }
  db->need_reap = 0;
}

static void leave_callbacks(m6ike_msrd *db) {
  if (--db->busy == 0 && db->need_reap) {
    reap(db);
  }
}

static void notify(m6ike_msrd *db, const m6ike_msrd_entry *e,
                   m6ike_msrd_event ev) {
  m6ike_msrd_entry copy = *e; /* callbacks get a stable copy */
  db->busy++;
  for (m6ike_msrd_reader *r = db->handles; r; r = r->next) {
    size_t n = r->nsubs; /* subs added during the round start next time */
    for (size_t i = 0; i < n && !r->dead; i++) {
      msrd_sub s = r->subs[i];
      if (s.fn) {
        s.fn(&copy, ev, db->generation, s.user_data);
      }
    }
  }
  leave_callbacks(db);
}

/* ---- create / destroy ------------------------------------------------- */

void m6ike_msrd_config_default(m6ike_msrd_config *cfg, m6ike_msrd_role role) {
  if (!cfg) {
    return;
  }
  memset(cfg, 0, sizeof(*cfg));
  cfg->role = role;
  cfg->max_entries = role == M6IKE_MSRD_ROLE_MN ? 1 : 0;
}

void m6ike_msrd_del(m6ike_msrd *db) {
  if (!db) {
    return;
  }
  const m6ike_mem *mem = db->mem;
  m6ike_msrd_reader *r = db->handles;
  while (r) {
    m6ike_msrd_reader *next = r->next;
    m6ike_free(mem, r->subs);
    r->magic = 0;
    /* the writer's view is the first member of the writer allocation */
    m6ike_free(mem, r->kind == KIND_WRITER ? (void *)db->writer : (void *)r);
    r = next;
  }
  m6ike_free(mem, db->slots);
  m6ike_free(mem, db->heap);
  m6ike_free(mem, db->hpos);
  m6ike_free(mem, db->by_mpi.b);
  m6ike_free(mem, db->by_hoa.b);
  m6ike_free(mem, db->by_coa.b);
  m6ike_free(mem, db);
}

int m6ike_msrd_new(m6ike_msrd **dbp, m6ike_msrd_writer **writerp,
                   const m6ike_msrd_config *cfg, const m6ike_mem *mem) {
  if (!dbp || !writerp) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  *dbp = NULL;
  *writerp = NULL;
  m6ike_msrd_config defcfg;
  if (!cfg) {
    m6ike_msrd_config_default(&defcfg, M6IKE_MSRD_ROLE_HA);
    cfg = &defcfg;
  }
  uint32_t max;
  if (cfg->role == M6IKE_MSRD_ROLE_MN) {
    if (cfg->max_entries > 1) {
      return M6IKE_ERR_MSRD_BAD_CONFIG;
    }
    max = 1;
  } else if (cfg->role == M6IKE_MSRD_ROLE_HA) {
    if (cfg->max_entries > MSRD_MAX_ENTRIES) {
      return M6IKE_ERR_MSRD_BAD_CONFIG;
    }
    max = cfg->max_entries ? cfg->max_entries : MSRD_MAX_ENTRIES;
  } else {
    return M6IKE_ERR_MSRD_BAD_CONFIG;
  }
  if (cfg->initial_capacity > max) {
    return M6IKE_ERR_MSRD_BAD_CONFIG;
  }
  uint32_t cap = cfg->initial_capacity;
  if (cap == 0) {
    cap = max < 16 ? max : 16;
  }

  /* Seeds first, so that a failing random source allocates nothing. */
  uint32_t mpi_start = cfg->mpi_start;
  uint64_t seed = cfg->hash_seed;
  if (cfg->rand && (mpi_start == 0 || seed == 0)) {
    uint8_t rnd[12];
    if (cfg->rand(rnd, sizeof(rnd), cfg->rand_user_data) != 0) {
      return M6IKE_ERR_RANDOM;
    }
    if (mpi_start == 0) {
      memcpy(&mpi_start, rnd, 4);
    }
    if (seed == 0) {
      memcpy(&seed, rnd + 4, 8);
    }
  }
  if (mpi_start == 0) {
    mpi_start = 1;
  }
  if (seed == 0) {
    seed = UINT64_C(0x6d697036696b6521); /* documented: predictable */
  }

  mem = m6ike_mem_or_default(mem);
  m6ike_msrd *db = m6ike_calloc(mem, 1, sizeof(*db));
  if (!db) {
    return M6IKE_ERR_NOMEM;
  }
  db->mem = mem;
  db->role = cfg->role;
  db->max_entries = max;
  db->free_head = MSRD_NONE;
  db->next_mpi = mpi_start;
  db->seed0 = mix64(seed);
  db->seed1 = mix64(seed ^ UINT64_C(0xa0761d6478bd642f));
  db->mpi_key = (uint32_t)mix64(seed ^ UINT64_C(0xe7037ed1a0b428db));
  db->next_sub_id = 1;

  m6ike_msrd_writer *w = m6ike_calloc(mem, 1, sizeof(*w));
  if (!w) {
    m6ike_msrd_del(db);
    return M6IKE_ERR_NOMEM;
  }
  w->view.magic = MSRD_MAGIC;
  w->view.kind = KIND_WRITER;
  w->view.db = db;
  db->writer = w;
  handle_link(db, &w->view);

  uint32_t nb = buckets_for(cap);
  db->slots = m6ike_malloc(mem, (size_t)cap * sizeof(msrd_slot));
  db->heap = m6ike_malloc(mem, (size_t)cap * sizeof(uint32_t));
  db->hpos = m6ike_malloc(mem, (size_t)cap * sizeof(uint32_t));
  if (!db->slots || !db->heap || !db->hpos || table_init(mem, &db->by_mpi, nb) != 0 ||
      table_init(mem, &db->by_hoa, nb) != 0 ||
      table_init(mem, &db->by_coa, nb) != 0) {
    m6ike_msrd_del(db);
    return M6IKE_ERR_NOMEM;
  }
  db->slot_cap = cap;
  db->heap_cap = cap;
  *dbp = db;
  *writerp = w;
  return 0;
}

int m6ike_msrd_reader_new(m6ike_msrd *db, m6ike_msrd_reader **reader) {
  if (!db || !reader) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  *reader = NULL;
  m6ike_msrd_reader *r = m6ike_calloc(db->mem, 1, sizeof(*r));
  if (!r) {
    return M6IKE_ERR_NOMEM;
  }
  r->magic = MSRD_MAGIC;
  r->kind = KIND_READER;
  r->db = db;
  handle_link(db, r); /* at the head: not visited by a round in progress */
  *reader = r;
  return 0;
}

void m6ike_msrd_reader_del(m6ike_msrd_reader *r) {
  if (!r || r->magic != MSRD_MAGIC || r->kind != KIND_READER || !r->db ||
      r->dead) {
    return;
  }
  m6ike_msrd *db = r->db;
  if (db->busy) {
    r->dead = 1;
    db->need_reap = 1;
  } else {
    handle_unlink_free(db, r);
  }
}

m6ike_msrd_reader *m6ike_msrd_writer_as_reader(m6ike_msrd_writer *writer) {
  return writer ? &writer->view : NULL;
}

/* ---- writer operations ------------------------------------------------ */

static int valid_state(int s) {
  return s >= M6IKE_MSRD_HOME && s <= M6IKE_MSRD_DEREGISTERING;
}
static int state_needs_coa(int s) {
  return s == M6IKE_MSRD_REGISTERING || s == M6IKE_MSRD_REGISTERED;
}
static int check_coa(int state, const m6ike_addr6 *coa) {
  if (coa->b[0] == 0xff || (state_needs_coa(state) && addr_unspec(coa))) {
    return M6IKE_ERR_MSRD_BAD_COA;
  }
  return 0;
}

static m6ike_tstamp expiry_of(m6ike_tstamp now, uint32_t lifetime) {
  if (lifetime == 0) {
    return M6IKE_TSTAMP_UNSET;
  }
  m6ike_tstamp d = (m6ike_tstamp)lifetime * M6IKE_SECONDS;
  if (now >= M6IKE_TSTAMP_UNSET - 1 - d) {
    return M6IKE_TSTAMP_UNSET - 1;
  }
  return now + d;
}

/* Room for one more slot (and its heap place) without allocation. */
static int reserve_slot(m6ike_msrd *db) {
  if (db->free_head != MSRD_NONE || db->slot_hw < db->slot_cap) {
    return 0;
  }
  uint64_t ncap = (uint64_t)db->slot_cap * 2;
  if (ncap < 16) {
    ncap = 16;
  }
  if (ncap > db->max_entries) {
    ncap = db->max_entries;
  }
  if (ncap > db->heap_cap) {
    uint32_t *h = m6ike_realloc(db->mem, db->heap, ncap * sizeof(uint32_t));
    if (!h) {
      return M6IKE_ERR_NOMEM;
    }
    db->heap = h;
    h = m6ike_realloc(db->mem, db->hpos, ncap * sizeof(uint32_t));
    if (!h) {
      return M6IKE_ERR_NOMEM; /* heap is larger: harmless */
    }
    db->hpos = h;
    db->heap_cap = (uint32_t)ncap;
  }
  msrd_slot *s = m6ike_realloc(db->mem, db->slots, ncap * sizeof(msrd_slot));
  if (!s) {
    return M6IKE_ERR_NOMEM;
  }
  db->slots = s;
  db->slot_cap = (uint32_t)ncap;
  return 0;
}

static uint32_t take_slot(m6ike_msrd *db) {
  if (db->free_head != MSRD_NONE) {
    uint32_t s = db->free_head;
    db->free_head = db->slots[s].e.lifetime;
    return s;
  }
  return db->slot_hw++;
}

static uint32_t next_mpi(m6ike_msrd *db) {
  for (;;) {
    uint32_t m = db->next_mpi++;
    if (m != 0 && find_mpi(db, m) == MSRD_NONE) {
      return m; /* terminates: at most 2^30 MPIs are live */
    }
  }
}

int m6ike_msrd_insert(m6ike_msrd_writer *writer, const m6ike_msrd_params *p,
                      m6ike_tstamp now, uint32_t *mpi_out) {
  m6ike_msrd *db;
  int rc = writer_begin(writer, now, &db);
  if (rc != 0) {
    return rc;
  }
  if (!p) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (!valid_state((int)p->state)) {
    return M6IKE_ERR_MSRD_BAD_STATE;
  }
  if (addr_unspec(&p->hoa) || p->hoa.b[0] == 0xff) {
    return M6IKE_ERR_MSRD_BAD_HOA;
  }
  if ((rc = check_coa((int)p->state, &p->coa)) != 0) {
    return rc;
  }
  if (db->count >= db->max_entries) {
    return db->role == M6IKE_MSRD_ROLE_MN ? M6IKE_ERR_MSRD_MN_SINGLE_ENTRY
                                          : M6IKE_ERR_MSRD_FULL;
  }
  if (find_hoa(db, &p->hoa) != MSRD_NONE) {
    return M6IKE_ERR_EXISTS;
  }
  int has_coa = !addr_unspec(&p->coa);
  /* Reserve everything first: after this point nothing can fail. */
  if (reserve_slot(db) != 0 || table_reserve(db->mem, &db->by_mpi, 1) != 0 ||
      table_reserve(db->mem, &db->by_hoa, 1) != 0 ||
      (has_coa && table_reserve(db->mem, &db->by_coa, 1) != 0)) {
    return M6IKE_ERR_NOMEM;
  }

  uint32_t mpi = next_mpi(db);
  uint32_t s = take_slot(db);
  msrd_slot *sl = &db->slots[s];
  memset(sl, 0, sizeof(*sl));
  sl->e.hoa = p->hoa;
  sl->e.coa = p->coa;
  sl->e.ha = p->ha;
  sl->e.created = now;
  sl->e.updated = now;
  sl->e.expires = expiry_of(now, p->lifetime);
  sl->e.mpi = mpi;
  sl->e.lifetime = p->lifetime;
  sl->e.changes = 0;
  sl->e.state = p->state;
  sl->e.seq = p->seq;
  sl->e.k_bit = p->k_bit ? 1 : 0;
  db->hpos[s] = MSRD_NONE;

  table_put(&db->by_mpi, mpi_hash(db, mpi), s);
  table_put(&db->by_hoa, addr_hash(db, &p->hoa), s);
  if (has_coa) {
    table_put(&db->by_coa, addr_hash(db, &p->coa), s);
  }
  if (p->lifetime) {
    heap_push(db, s);
  }
  db->count++;
  db->generation++;
  if (mpi_out) {
    *mpi_out = mpi;
  }
  notify(db, &db->slots[s].e, M6IKE_MSRD_EVENT_INSERTED);
  return 0;
}

int m6ike_msrd_update(m6ike_msrd_writer *writer, uint32_t mpi,
                      const m6ike_msrd_change *ch, m6ike_tstamp now) {
  m6ike_msrd *db;
  int rc = writer_begin(writer, now, &db);
  if (rc != 0) {
    return rc;
  }
  if (!ch) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (ch->mask == 0 || (ch->mask & ~M6IKE_MSRD_SET_ALL) != 0) {
    return M6IKE_ERR_MSRD_BAD_MASK;
  }
  uint32_t s = find_mpi(db, mpi);
  if (s == MSRD_NONE) {
    return M6IKE_ERR_NOT_FOUND;
  }
  m6ike_msrd_entry *e = &db->slots[s].e;
  int state = (ch->mask & M6IKE_MSRD_SET_STATE) ? (int)ch->state
                                                : (int)e->state;
  const m6ike_addr6 *coa = (ch->mask & M6IKE_MSRD_SET_COA) ? &ch->coa
                                                           : &e->coa;
  if (!valid_state(state)) {
    return M6IKE_ERR_MSRD_BAD_STATE;
  }
  if ((rc = check_coa(state, coa)) != 0) {
    return rc;
  }
  int coa_changes = (ch->mask & M6IKE_MSRD_SET_COA) && !addr_eq(coa, &e->coa);
  if (coa_changes && !addr_unspec(coa) &&
      table_reserve(db->mem, &db->by_coa, 1) != 0) {
    return M6IKE_ERR_NOMEM;
  }

  if (coa_changes) {
    if (!addr_unspec(&e->coa)) {
      table_del(&db->by_coa, addr_hash(db, &e->coa), s);
    }
    if (!addr_unspec(coa)) {
      table_put(&db->by_coa, addr_hash(db, coa), s);
    }
    e->coa = *coa;
  }
  e->state = (m6ike_msrd_state)state;
  if (ch->mask & M6IKE_MSRD_SET_SEQ) {
    e->seq = ch->seq;
  }
  if (ch->mask & M6IKE_MSRD_SET_K) {
    e->k_bit = ch->k_bit ? 1 : 0;
  }
  if (ch->mask & M6IKE_MSRD_SET_LIFETIME) {
    int was = db->hpos[s] != MSRD_NONE;
    e->lifetime = ch->lifetime;
    e->expires = expiry_of(now, ch->lifetime);
    if (was && ch->lifetime) {
      heap_up(db, db->hpos[s]);
      heap_down(db, db->hpos[s]);
    } else if (was) {
      heap_remove(db, s);
    } else if (ch->lifetime) {
      heap_push(db, s);
    }
  }
  e->updated = now;
  e->changes++;
  db->generation++;
  notify(db, e, M6IKE_MSRD_EVENT_UPDATED);
  return 0;
}

/* Takes slot s out of every index and frees it; returns the old entry. */
static void remove_slot(m6ike_msrd *db, uint32_t s, m6ike_msrd_entry *old) {
  msrd_slot *sl = &db->slots[s];
  *old = sl->e;
  table_del(&db->by_mpi, mpi_hash(db, sl->e.mpi), s);
  table_del(&db->by_hoa, addr_hash(db, &sl->e.hoa), s);
  if (!addr_unspec(&sl->e.coa)) {
    table_del(&db->by_coa, addr_hash(db, &sl->e.coa), s);
  }
  if (db->hpos[s] != MSRD_NONE) {
    heap_remove(db, s);
  }
  memset(sl, 0, sizeof(*sl));
  sl->e.lifetime = db->free_head;
  db->free_head = s;
  db->count--;
  db->generation++;
}

int m6ike_msrd_remove(m6ike_msrd_writer *writer, uint32_t mpi,
                      m6ike_tstamp now) {
  m6ike_msrd *db;
  int rc = writer_begin(writer, now, &db);
  if (rc != 0) {
    return rc;
  }
  uint32_t s = find_mpi(db, mpi);
  if (s == MSRD_NONE) {
    return M6IKE_ERR_NOT_FOUND;
  }
  m6ike_msrd_entry old;
  remove_slot(db, s, &old);
  notify(db, &old, M6IKE_MSRD_EVENT_REMOVED);
  return 0;
}

int m6ike_msrd_expire(m6ike_msrd_writer *writer, m6ike_tstamp now) {
  m6ike_msrd *db;
  int rc = writer_begin(writer, now, &db);
  if (rc != 0) {
    return rc;
  }
  int n = 0;
  while (db->heap_n > 0 && heap_key(db, 0) <= now && n < INT32_MAX) {
    m6ike_msrd_entry old;
    remove_slot(db, db->heap[0], &old);
    n++;
    notify(db, &old, M6IKE_MSRD_EVENT_REMOVED);
  }
  return n;
}

m6ike_tstamp m6ike_msrd_get_expiry(const m6ike_msrd *db) {
  if (!db || db->heap_n == 0) {
    return M6IKE_TSTAMP_UNSET;
  }
  return heap_key(db, 0);
}

/* ---- queries ---------------------------------------------------------- */

int m6ike_msrd_lookup_mpi(const m6ike_msrd_reader *r, uint32_t mpi,
                          m6ike_msrd_entry *out, uint64_t *gen) {
  int rc = reader_check(r);
  if (rc != 0) {
    return rc;
  }
  if (!out) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  const m6ike_msrd *db = r->db;
  if (gen) {
    *gen = db->generation;
  }
  uint32_t s = find_mpi(db, mpi);
  if (s == MSRD_NONE) {
    return M6IKE_ERR_NOT_FOUND;
  }
  *out = db->slots[s].e;
  return 0;
}

int m6ike_msrd_lookup_hoa(const m6ike_msrd_reader *r, const m6ike_addr6 *hoa,
                          m6ike_msrd_entry *out, uint64_t *gen) {
  int rc = reader_check(r);
  if (rc != 0) {
    return rc;
  }
  if (!hoa || !out) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  const m6ike_msrd *db = r->db;
  if (gen) {
    *gen = db->generation;
  }
  uint32_t s = find_hoa(db, hoa);
  if (s == MSRD_NONE) {
    return M6IKE_ERR_NOT_FOUND;
  }
  *out = db->slots[s].e;
  return 0;
}

int m6ike_msrd_lookup_coa(const m6ike_msrd_reader *r, const m6ike_addr6 *coa,
                          m6ike_msrd_entry *out, size_t max, size_t *found,
                          uint64_t *gen) {
  int rc = reader_check(r);
  if (rc != 0) {
    return rc;
  }
  if (!coa || (max > 0 && !out)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  const m6ike_msrd *db = r->db;
  if (gen) {
    *gen = db->generation;
  }
  size_t n = 0;
  if (!addr_unspec(coa)) {
    const msrd_table *t = &db->by_coa;
    uint32_t tag = addr_hash(db, coa);
    for (uint32_t i = tag & t->mask; t->b[i].slot != MSRD_NONE;
         i = (i + 1) & t->mask) {
      const msrd_bucket *b = &t->b[i];
      if (b->tag == tag && addr_eq(&db->slots[b->slot].e.coa, coa)) {
        if (n < max) {
          out[n] = db->slots[b->slot].e;
        }
        n++;
      }
    }
  }
  if (found) {
    *found = n;
  }
  return n ? 0 : M6IKE_ERR_NOT_FOUND;
}

size_t m6ike_msrd_count(const m6ike_msrd_reader *r) {
  return reader_check(r) == 0 ? r->db->count : 0;
}

uint64_t m6ike_msrd_generation(const m6ike_msrd_reader *r) {
  return reader_check(r) == 0 ? r->db->generation : 0;
}

int m6ike_msrd_foreach(const m6ike_msrd_reader *r, m6ike_msrd_foreach_fn fn,
                       void *user_data, uint64_t *gen) {
  int rc = reader_check(r);
  if (rc != 0) {
    return rc;
  }
  if (!fn) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  m6ike_msrd *db = r->db;
  if (gen) {
    *gen = db->generation;
  }
  db->busy++;
  rc = 0;
  for (uint32_t s = 0; s < db->slot_hw && rc == 0; s++) {
    if (db->slots[s].e.mpi != 0) {
      m6ike_msrd_entry copy = db->slots[s].e;
      rc = fn(&copy, user_data);
    }
  }
  leave_callbacks(db);
  return rc;
}

size_t m6ike_msrd_memory_usage(const m6ike_msrd *db) {
  if (!db) {
    return 0;
  }
  size_t n = sizeof(*db) + sizeof(m6ike_msrd_writer);
  n += (size_t)db->slot_cap * sizeof(msrd_slot);
  n += (size_t)db->heap_cap * 2 * sizeof(uint32_t);
  n += ((size_t)db->by_mpi.mask + 1) * sizeof(msrd_bucket);
  n += ((size_t)db->by_hoa.mask + 1) * sizeof(msrd_bucket);
  n += ((size_t)db->by_coa.mask + 1) * sizeof(msrd_bucket);
  for (const m6ike_msrd_reader *r = db->handles; r; r = r->next) {
    if (r->kind == KIND_READER) {
      n += sizeof(*r);
    }
    n += r->capsubs * sizeof(msrd_sub);
  }
  return n;
}

/* ---- notifications ---------------------------------------------------- */

int m6ike_msrd_subscribe(m6ike_msrd_reader *r, m6ike_msrd_notify_fn fn,
                         void *user_data, uint64_t *id_out) {
  int rc = reader_check(r);
  if (rc != 0) {
    return rc;
  }
  if (!fn) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  m6ike_msrd *db = r->db;
  if (r->nsubs == r->capsubs) {
    size_t ncap = r->capsubs ? r->capsubs * 2 : 4;
    msrd_sub *ns = m6ike_realloc(db->mem, r->subs, ncap * sizeof(msrd_sub));
    if (!ns) {
      return M6IKE_ERR_NOMEM;
    }
    r->subs = ns;
    r->capsubs = ncap;
  }
  msrd_sub *s = &r->subs[r->nsubs++];
  s->fn = fn;
  s->user_data = user_data;
  s->id = db->next_sub_id++;
  if (id_out) {
    *id_out = s->id;
  }
  return 0;
}

int m6ike_msrd_unsubscribe(m6ike_msrd_reader *r, uint64_t id) {
  int rc = reader_check(r);
  if (rc != 0) {
    return rc;
  }
  for (size_t i = 0; i < r->nsubs; i++) {
    if (r->subs[i].id == id && r->subs[i].fn) {
      if (r->db->busy) {
        r->subs[i].fn = NULL; /* compacted when the round ends */
        r->db->need_reap = 1;
      } else {
        memmove(&r->subs[i], &r->subs[i + 1],
                (r->nsubs - i - 1) * sizeof(msrd_sub));
        r->nsubs--;
      }
      return 0;
    }
  }
  return M6IKE_ERR_NOT_FOUND;
}

/* ---- test hooks (msrd_internal.h) ------------------------------------- */

void m6ike_msrd_test_set_next_mpi_(m6ike_msrd *db, uint32_t next) {
  if (db) {
    db->next_mpi = next;
  }
}
