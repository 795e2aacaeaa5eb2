/* msrd: the Mobile Security Reference Database (see m6ike/msrd.h). */
#include "m6ike/msrd.h"

#include <stdatomic.h>
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

  /* Shared-region mode (m6ike_msrd_new_in / m6ike_msrd_attach_reader):
   * the arrays above point into the caller's region, whose header shm is
   * the published copy of the scalars readers need.  attached: this
   * process only reads the region (another process may be writing it). */
  struct msrd_region_hdr *shm;
  int attached;
};

/* ---- shared region (see "SHARED REGION" in m6ike/msrd.h) ------------- */

#define MSRD_REGION_MAGIC 0x4d535252u /* "MSRR" */
#define MSRD_REGION_VERSION 1u
#define MSRD_REGION_ALIGN 64u
/* A reader gives up (M6IKE_ERR_MSRD_BUSY) after this many attempts that
 * found the writer in the middle of a change: a writer that died while
 * changing the region must not hang its readers. */
#define MSRD_READ_TRIES (UINT32_C(1) << 24)

_Static_assert(ATOMIC_INT_LOCK_FREE == 2,
               "the MSRD seqlock needs a lock-free 32-bit atomic");

/* At offset 0 of the region.  Every field but seq, generation, count and
 * slot_hw is written once, before magic; those four are written by the
 * writer inside its seqlock section. */
struct msrd_region_hdr {
  uint32_t magic; /* MSRD_REGION_MAGIC, stored last at creation */
  uint32_t version;
  uint32_t hdr_size;    /* sizeof(struct msrd_region_hdr) */
  uint32_t entry_size;  /* sizeof(m6ike_msrd_entry) */
  uint32_t slot_size;   /* sizeof(msrd_slot) */
  uint32_t bucket_size; /* sizeof(msrd_bucket) */
  uint32_t role;
  uint32_t capacity;    /* slots = max_entries */
  uint32_t nbuckets;    /* buckets of each index, a power of two */
  uint32_t mpi_key;
  uint64_t region_size; /* octets the layout uses (<= the mapping) */
  uint64_t off_slots, off_heap, off_hpos, off_mpi, off_hoa, off_coa;
  uint64_t seed0, seed1;
  _Atomic uint32_t seq; /* odd while the writer is changing the region */
  uint32_t count;       /* live entries */
  uint64_t generation;
  uint32_t slot_hw;
  uint32_t reserved;
};

typedef struct msrd_layout {
  uint64_t off_slots, off_heap, off_hpos, off_mpi, off_hoa, off_coa, size;
  uint32_t nbuckets;
} msrd_layout;

static uint64_t round_up(uint64_t n, uint64_t a) {
  return (n + a - 1) / a * a;
}

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
  case M6IKE_ERR_MSRD_REGION_SIZE:
    return "msrd: shared region smaller than its header or than the layout "
           "m6ike_msrd_region_size() gives";
  case M6IKE_ERR_MSRD_REGION_MAGIC:
    return "msrd: shared region header magic is not \"MSRR\" (not an MSRD, "
           "or not initialised yet)";
  case M6IKE_ERR_MSRD_REGION_VERSION:
    return "msrd: shared region layout version differs from this build's";
  case M6IKE_ERR_MSRD_REGION_LAYOUT:
    return "msrd: shared region header sizes, role, capacity or offsets are "
           "inconsistent with this build's layout";
  case M6IKE_ERR_MSRD_BUSY:
    return "msrd: the writer stayed in the middle of a change (seqlock odd) "
           "for the whole retry budget";
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

/* Offsets of the arrays in a region for cap slots (0 if cap is out of
 * range).  Every array starts on a 64-octet boundary. */
static int region_layout(uint32_t cap, msrd_layout *l) {
  if (cap == 0 || cap > MSRD_MAX_ENTRIES) {
    return -1;
  }
  uint64_t nb = buckets_for(cap);
  uint64_t o = round_up(sizeof(struct msrd_region_hdr), MSRD_REGION_ALIGN);
  l->off_slots = o;
  o = round_up(o + (uint64_t)cap * sizeof(msrd_slot), MSRD_REGION_ALIGN);
  l->off_heap = o;
  o = round_up(o + (uint64_t)cap * sizeof(uint32_t), MSRD_REGION_ALIGN);
  l->off_hpos = o;
  o = round_up(o + (uint64_t)cap * sizeof(uint32_t), MSRD_REGION_ALIGN);
  l->off_mpi = o;
  o = round_up(o + nb * sizeof(msrd_bucket), MSRD_REGION_ALIGN);
  l->off_hoa = o;
  o = round_up(o + nb * sizeof(msrd_bucket), MSRD_REGION_ALIGN);
  l->off_coa = o;
  l->size = o + nb * sizeof(msrd_bucket);
  l->nbuckets = (uint32_t)nb;
  return 0;
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

/* Room for one more key in one of db's indexes.  A region's indexes are
 * sized for its capacity at creation and never grow. */
static int db_table_reserve(m6ike_msrd *db, msrd_table *t) {
  if (db->shm) {
    uint64_t nb = (uint64_t)t->mask + 1;
    return ((uint64_t)t->count + 1) * 10 <= nb * 7 ? 0 : M6IKE_ERR_NOMEM;
  }
  return table_reserve(db->mem, t, 1);
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

/* Probes are bounded by the table size and slot numbers checked against
 * the slot array: never needed by the writer's own view (its tables always
 * have an empty bucket and valid slots), but a reader of a region that
 * another process is changing may see a half-moved table; it then finds
 * nothing, and the seqlock makes it read again. */
static inline int slot_ok(const m6ike_msrd *db, uint32_t s) {
  return s < db->slot_cap;
}

static uint32_t find_mpi(const m6ike_msrd *db, uint32_t mpi) {
  if (mpi == 0) {
    return MSRD_NONE;
  }
  const msrd_table *t = &db->by_mpi;
  uint32_t tag = mpi_hash(db, mpi);
  uint32_t s = first_tag4(t, tag);
  if (s != MSRD_NONE) {
    /* tags are a bijection of MPIs: no key check needed */
    return slot_ok(db, s) ? s : MSRD_NONE;
  }
  uint32_t i = tag & t->mask;
  for (uint32_t n = 0; n <= t->mask; n++) {
    const msrd_bucket *b = &t->b[i];
    if (b->slot == MSRD_NONE || b->tag == tag) {
      return slot_ok(db, b->slot) ? b->slot : MSRD_NONE;
    }
    i = (i + 1) & t->mask;
  }
  return MSRD_NONE;
}

static uint32_t find_hoa(const m6ike_msrd *db, const m6ike_addr6 *hoa) {
  const msrd_table *t = &db->by_hoa;
  uint32_t tag = addr_hash(db, hoa);
  uint32_t s = first_tag4(t, tag);
  if (s != MSRD_NONE && slot_ok(db, s) && addr_eq(&db->slots[s].e.hoa, hoa)) {
    return s;
  }
  uint32_t i = tag & t->mask;
  for (uint32_t n = 0; n <= t->mask; n++) {
    const msrd_bucket *b = &t->b[i];
    if (b->slot == MSRD_NONE || !slot_ok(db, b->slot)) {
      return MSRD_NONE;
    }
    if (b->tag == tag && addr_eq(&db->slots[b->slot].e.hoa, hoa)) {
      return b->slot;
    }
    i = (i + 1) & t->mask;
  }
  return MSRD_NONE;
}

/* ---- the seqlock (writer side) ---------------------------------------- */

/* Opens a change of the region: seq becomes odd before any array or
 * published field is written (the release fence orders the store before
 * them).  No-op without a region. */
static void wr_begin(m6ike_msrd *db) {
  if (db->shm) {
    uint32_t v = atomic_load_explicit(&db->shm->seq, memory_order_relaxed);
    atomic_store_explicit(&db->shm->seq, v + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
  }
}

/* Publishes the scalars readers need and closes the change: seq becomes
 * even again with release order, after everything written. */
static void wr_end(m6ike_msrd *db) {
  if (db->shm) {
    db->shm->generation = db->generation;
    db->shm->count = db->count;
    db->shm->slot_hw = db->slot_hw;
    uint32_t v = atomic_load_explicit(&db->shm->seq, memory_order_relaxed);
    atomic_store_explicit(&db->shm->seq, v + 1, memory_order_release);
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
  if (!db->shm) { /* a region's arrays belong to the region */
    m6ike_free(mem, db->slots);
    m6ike_free(mem, db->heap);
    m6ike_free(mem, db->hpos);
    m6ike_free(mem, db->by_mpi.b);
    m6ike_free(mem, db->by_hoa.b);
    m6ike_free(mem, db->by_coa.b);
  }
  m6ike_free(mem, db);
}

/* The part of creation common to both storages: checks cfg, draws the
 * seeds, allocates the db and its writer.  *capp: the slots to allocate
 * (heap storage) -- region storage uses max. */
static int db_start(const m6ike_msrd_config *cfg, const m6ike_mem *mem,
                    m6ike_msrd **dbp, m6ike_msrd_writer **writerp,
                    uint32_t *capp) {
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

  *dbp = db;
  *writerp = w;
  *capp = cap;
  return 0;
}

int m6ike_msrd_new(m6ike_msrd **dbp, m6ike_msrd_writer **writerp,
                   const m6ike_msrd_config *cfg, const m6ike_mem *mem) {
  if (!dbp || !writerp) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  *dbp = NULL;
  *writerp = NULL;
  m6ike_msrd *db;
  m6ike_msrd_writer *w;
  uint32_t cap;
  int rc = db_start(cfg, mem, &db, &w, &cap);
  if (rc != 0) {
    return rc;
  }
  mem = db->mem;
  uint32_t nb = buckets_for(cap);
  db->slots = m6ike_malloc(mem, (size_t)cap * sizeof(msrd_slot));
  db->heap = m6ike_malloc(mem, (size_t)cap * sizeof(uint32_t));
  db->hpos = m6ike_malloc(mem, (size_t)cap * sizeof(uint32_t));
  if (!db->slots || !db->heap || !db->hpos ||
      table_init(mem, &db->by_mpi, nb) != 0 ||
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

size_t m6ike_msrd_region_size(m6ike_msrd_role role, uint32_t max_entries) {
  msrd_layout l;
  memset(&l, 0, sizeof(l));
  if (role == M6IKE_MSRD_ROLE_MN) {
    if (max_entries > 1) {
      return 0;
    }
    max_entries = 1;
  } else if (role != M6IKE_MSRD_ROLE_HA) {
    return 0;
  }
  if (region_layout(max_entries, &l) != 0 || (uint64_t)(size_t)l.size != l.size) {
    return 0;
  }
  return (size_t)l.size;
}

static void region_tables(m6ike_msrd *db, uint8_t *base, const msrd_layout *l) {
  db->slots = (msrd_slot *)(void *)(base + l->off_slots);
  db->heap = (uint32_t *)(void *)(base + l->off_heap);
  db->hpos = (uint32_t *)(void *)(base + l->off_hpos);
  db->by_mpi.b = (msrd_bucket *)(void *)(base + l->off_mpi);
  db->by_hoa.b = (msrd_bucket *)(void *)(base + l->off_hoa);
  db->by_coa.b = (msrd_bucket *)(void *)(base + l->off_coa);
  db->by_mpi.mask = db->by_hoa.mask = db->by_coa.mask = l->nbuckets - 1;
}

int m6ike_msrd_new_in(void *region, size_t size, m6ike_msrd **dbp,
                      m6ike_msrd_writer **writerp,
                      const m6ike_msrd_config *cfg, const m6ike_mem *mem) {
  if (!dbp || !writerp) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  *dbp = NULL;
  *writerp = NULL;
  if (!region || ((uintptr_t)region % 8) != 0) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  m6ike_msrd_config c;
  if (cfg) {
    c = *cfg;
  } else {
    m6ike_msrd_config_default(&c, M6IKE_MSRD_ROLE_HA);
  }
  if (c.role == M6IKE_MSRD_ROLE_HA && c.max_entries == 0) {
    /* the most the region holds */
    uint32_t lo = 0, hi = MSRD_MAX_ENTRIES;
    while (lo < hi) {
      uint32_t mid = lo + (hi - lo + 1) / 2;
      size_t need = m6ike_msrd_region_size(c.role, mid);
      if (need != 0 && need <= size) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    if (lo == 0) {
      return M6IKE_ERR_MSRD_REGION_SIZE;
    }
    c.max_entries = lo;
  }
  c.initial_capacity = 0;
  size_t need = m6ike_msrd_region_size(c.role, c.max_entries);
  if (need == 0) {
    return M6IKE_ERR_MSRD_BAD_CONFIG;
  }
  if (size < need) {
    return M6IKE_ERR_MSRD_REGION_SIZE;
  }
  m6ike_msrd *db;
  m6ike_msrd_writer *w;
  uint32_t cap;
  int rc = db_start(&c, mem, &db, &w, &cap);
  if (rc != 0) {
    return rc;
  }
  cap = db->max_entries;
  msrd_layout l;
  memset(&l, 0, sizeof(l));
  if (region_layout(cap, &l) != 0) { /* not reached: checked by need */
    m6ike_msrd_del(db);
    return M6IKE_ERR_MSRD_BAD_CONFIG;
  }
  uint8_t *base = region;
  struct msrd_region_hdr *h = region;
  /* not a region until magic is stored, last */
  memset(h, 0, sizeof(*h));
  atomic_thread_fence(memory_order_release);
  memset(base + l.off_slots, 0, (size_t)cap * sizeof(msrd_slot));
  memset(base + l.off_mpi, 0xff, (size_t)l.nbuckets * sizeof(msrd_bucket));
  memset(base + l.off_hoa, 0xff, (size_t)l.nbuckets * sizeof(msrd_bucket));
  memset(base + l.off_coa, 0xff, (size_t)l.nbuckets * sizeof(msrd_bucket));
  region_tables(db, base, &l);
  db->slot_cap = cap;
  db->heap_cap = cap;
  db->shm = h;
  h->version = MSRD_REGION_VERSION;
  h->hdr_size = sizeof(*h);
  h->entry_size = sizeof(m6ike_msrd_entry);
  h->slot_size = sizeof(msrd_slot);
  h->bucket_size = sizeof(msrd_bucket);
  h->role = (uint32_t)db->role;
  h->capacity = cap;
  h->nbuckets = l.nbuckets;
  h->mpi_key = db->mpi_key;
  h->region_size = l.size;
  h->off_slots = l.off_slots;
  h->off_heap = l.off_heap;
  h->off_hpos = l.off_hpos;
  h->off_mpi = l.off_mpi;
  h->off_hoa = l.off_hoa;
  h->off_coa = l.off_coa;
  h->seed0 = db->seed0;
  h->seed1 = db->seed1;
  atomic_store_explicit(&h->seq, 0, memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
  h->magic = MSRD_REGION_MAGIC;
  *dbp = db;
  *writerp = w;
  return 0;
}

int m6ike_msrd_attach_reader(const void *region, size_t size,
                             m6ike_msrd **dbp, m6ike_msrd_reader **readerp,
                             const m6ike_mem *mem) {
  if (!dbp || !readerp) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  *dbp = NULL;
  *readerp = NULL;
  if (!region || ((uintptr_t)region % 8) != 0) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (size < sizeof(struct msrd_region_hdr)) {
    return M6IKE_ERR_MSRD_REGION_SIZE;
  }
  const struct msrd_region_hdr *h = region;
  msrd_layout l;
  memset(&l, 0, sizeof(l));
  if (h->magic != MSRD_REGION_MAGIC) {
    return M6IKE_ERR_MSRD_REGION_MAGIC;
  }
  atomic_thread_fence(memory_order_acquire);
  if (h->version != MSRD_REGION_VERSION) {
    return M6IKE_ERR_MSRD_REGION_VERSION;
  }
  if (h->hdr_size != sizeof(*h) || h->entry_size != sizeof(m6ike_msrd_entry) ||
      h->slot_size != sizeof(msrd_slot) ||
      h->bucket_size != sizeof(msrd_bucket) ||
      (h->role != M6IKE_MSRD_ROLE_MN && h->role != M6IKE_MSRD_ROLE_HA) ||
      (h->role == M6IKE_MSRD_ROLE_MN && h->capacity != 1) ||
      region_layout(h->capacity, &l) != 0 || h->nbuckets != l.nbuckets ||
      h->region_size != l.size || h->off_slots != l.off_slots ||
      h->off_heap != l.off_heap || h->off_hpos != l.off_hpos ||
      h->off_mpi != l.off_mpi || h->off_hoa != l.off_hoa ||
      h->off_coa != l.off_coa) {
    return M6IKE_ERR_MSRD_REGION_LAYOUT;
  }
  if (size < l.size) {
    return M6IKE_ERR_MSRD_REGION_SIZE;
  }
  mem = m6ike_mem_or_default(mem);
  m6ike_msrd *db = m6ike_calloc(mem, 1, sizeof(*db));
  if (!db) {
    return M6IKE_ERR_NOMEM;
  }
  db->mem = mem;
  db->role = (m6ike_msrd_role)h->role;
  db->max_entries = h->capacity;
  db->free_head = MSRD_NONE;
  db->seed0 = h->seed0;
  db->seed1 = h->seed1;
  db->mpi_key = h->mpi_key;
  db->next_sub_id = 1;
  /* The region is only ever read through db: no writer handle exists and
   * the queries below never store into the arrays (the const is dropped
   * only to share the array fields with the writer's layout). */
  region_tables(db, (uint8_t *)(uintptr_t)region, &l);
  db->slot_cap = h->capacity;
  db->heap_cap = h->capacity;
  db->shm = (struct msrd_region_hdr *)(uintptr_t)region;
  db->attached = 1;
  int rc = m6ike_msrd_reader_new(db, readerp);
  if (rc != 0) {
    m6ike_free(mem, db);
    return rc;
  }
  *dbp = db;
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
  if (db->shm) {
    return M6IKE_ERR_MSRD_FULL; /* not reached: max_entries = capacity */
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
  if (reserve_slot(db) != 0 || db_table_reserve(db, &db->by_mpi) != 0 ||
      db_table_reserve(db, &db->by_hoa) != 0 ||
      (has_coa && db_table_reserve(db, &db->by_coa) != 0)) {
    return M6IKE_ERR_NOMEM;
  }

  uint32_t mpi = next_mpi(db);
  wr_begin(db);
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
  wr_end(db);
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
      db_table_reserve(db, &db->by_coa) != 0) {
    return M6IKE_ERR_NOMEM;
  }

  wr_begin(db);
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
  wr_end(db);
  notify(db, e, M6IKE_MSRD_EVENT_UPDATED);
  return 0;
}

/* Takes slot s out of every index and frees it; returns the old entry. */
static void remove_slot(m6ike_msrd *db, uint32_t s, m6ike_msrd_entry *old) {
  msrd_slot *sl = &db->slots[s];
  *old = sl->e;
  wr_begin(db);
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
  wr_end(db);
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
  if (!db || db->attached || db->heap_n == 0) {
    return M6IKE_TSTAMP_UNSET;
  }
  return heap_key(db, 0);
}

/* ---- queries ---------------------------------------------------------- */

/* The scalars a query reads: the db's own (writer process) or the
 * region's published copy (attached reader). */
static uint64_t q_generation(const m6ike_msrd *db) {
  return db->attached ? db->shm->generation : db->generation;
}

/* Seqlock, reader side: waits (bounded) for an even seq and returns it. */
static int ro_enter(const m6ike_msrd *db, uint32_t *seq) {
  for (uint32_t t = 0; t < MSRD_READ_TRIES; t++) {
    uint32_t v = atomic_load_explicit(&db->shm->seq, memory_order_acquire);
    if ((v & 1u) == 0) {
      *seq = v;
      return 0;
    }
  }
  return M6IKE_ERR_MSRD_BUSY;
}

/* Non-zero if the writer changed the region since ro_enter returned seq:
 * what was read must be thrown away. */
static int ro_changed(const m6ike_msrd *db, uint32_t seq) {
  atomic_thread_fence(memory_order_acquire);
  return atomic_load_explicit(&db->shm->seq, memory_order_relaxed) != seq;
}

/* Runs the query expression once (own db) or until it ran in one
 * unchanged snapshot of the region (attached reader). */
#define RO_QUERY(db, call)                                                   \
  do {                                                                       \
    if (!(db)->attached) {                                                   \
      return (call);                                                         \
    }                                                                        \
    for (uint32_t try_ = 0; try_ < MSRD_READ_TRIES; try_++) {                \
      uint32_t seq_;                                                         \
      int rc_ = ro_enter((db), &seq_);                                       \
      if (rc_ != 0) {                                                        \
        return rc_;                                                          \
      }                                                                      \
      rc_ = (call);                                                          \
      if (!ro_changed((db), seq_)) {                                         \
        return rc_;                                                          \
      }                                                                      \
    }                                                                        \
    return M6IKE_ERR_MSRD_BUSY;                                              \
  } while (0)

static int q_mpi(const m6ike_msrd *db, uint32_t mpi, m6ike_msrd_entry *out,
                 uint64_t *gen) {
  if (gen) {
    *gen = q_generation(db);
  }
  uint32_t s = find_mpi(db, mpi);
  if (s == MSRD_NONE) {
    return M6IKE_ERR_NOT_FOUND;
  }
  *out = db->slots[s].e;
  return 0;
}

static int q_hoa(const m6ike_msrd *db, const m6ike_addr6 *hoa,
                 m6ike_msrd_entry *out, uint64_t *gen) {
  if (gen) {
    *gen = q_generation(db);
  }
  uint32_t s = find_hoa(db, hoa);
  if (s == MSRD_NONE) {
    return M6IKE_ERR_NOT_FOUND;
  }
  *out = db->slots[s].e;
  return 0;
}

int m6ike_msrd_lookup_mpi(const m6ike_msrd_reader *r, uint32_t mpi,
                          m6ike_msrd_entry *out, uint64_t *gen) {
  int rc = reader_check(r);
  if (rc != 0) {
    return rc;
  }
  if (!out) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  RO_QUERY(r->db, q_mpi(r->db, mpi, out, gen));
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
  RO_QUERY(r->db, q_hoa(r->db, hoa, out, gen));
}

static int q_coa(const m6ike_msrd *db, const m6ike_addr6 *coa,
                 m6ike_msrd_entry *out, size_t max, size_t *found,
                 uint64_t *gen) {
  if (gen) {
    *gen = q_generation(db);
  }
  size_t n = 0;
  if (!addr_unspec(coa)) {
    const msrd_table *t = &db->by_coa;
    uint32_t tag = addr_hash(db, coa);
    uint32_t i = tag & t->mask;
    for (uint32_t k = 0; k <= t->mask && t->b[i].slot != MSRD_NONE &&
                         slot_ok(db, t->b[i].slot);
         k++, i = (i + 1) & t->mask) {
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
  RO_QUERY(r->db, q_coa(r->db, coa, out, max, found, gen));
}

static int q_count(const m6ike_msrd *db, size_t *n) {
  *n = db->attached ? db->shm->count : db->count;
  return 0;
}
static int q_gen(const m6ike_msrd *db, uint64_t *g) {
  *g = q_generation(db);
  return 0;
}
static int count_of(const m6ike_msrd *db, size_t *n) {
  RO_QUERY(db, q_count(db, n));
}
static int gen_of(const m6ike_msrd *db, uint64_t *g) {
  RO_QUERY(db, q_gen(db, g));
}

size_t m6ike_msrd_count(const m6ike_msrd_reader *r) {
  size_t n = 0;
  if (reader_check(r) != 0 || count_of(r->db, &n) != 0) {
    return 0;
  }
  return n;
}

uint64_t m6ike_msrd_generation(const m6ike_msrd_reader *r) {
  uint64_t g = 0;
  if (reader_check(r) != 0 || gen_of(r->db, &g) != 0) {
    return 0;
  }
  return g;
}

/* Attached reader: slot s copied in one unchanged snapshot; 1 if s is
 * past the high-water mark (the walk is over). */
static int q_slot(const m6ike_msrd *db, uint32_t s, m6ike_msrd_entry *e) {
  if (s >= db->shm->slot_hw || s >= db->slot_cap) {
    return 1;
  }
  *e = db->slots[s].e;
  return 0;
}
static int slot_of(const m6ike_msrd *db, uint32_t s, m6ike_msrd_entry *e) {
  RO_QUERY(db, q_slot(db, s, e));
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
  if (db->attached) {
    /* each entry is consistent on its own; the walk as a whole may mix
     * states if the writer changes the region meanwhile */
    if (gen && (rc = gen_of(db, gen)) != 0) {
      return rc;
    }
    db->busy++;
    for (uint32_t s = 0; rc == 0; s++) {
      m6ike_msrd_entry copy;
      int st = slot_of(db, s, &copy);
      if (st != 0) {
        rc = st < 0 ? st : 0;
        break;
      }
      if (copy.mpi != 0) {
        rc = fn(&copy, user_data);
      }
    }
    leave_callbacks(db);
    return rc;
  }
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
  size_t n = sizeof(*db) + (db->writer ? sizeof(m6ike_msrd_writer) : 0);
  if (!db->shm) { /* a region's arrays are the caller's memory */
    n += (size_t)db->slot_cap * sizeof(msrd_slot);
    n += (size_t)db->heap_cap * 2 * sizeof(uint32_t);
    n += ((size_t)db->by_mpi.mask + 1) * sizeof(msrd_bucket);
    n += ((size_t)db->by_hoa.mask + 1) * sizeof(msrd_bucket);
    n += ((size_t)db->by_coa.mask + 1) * sizeof(msrd_bucket);
  }
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
