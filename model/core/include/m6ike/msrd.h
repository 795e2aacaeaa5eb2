/*
 * msrd: the Mobile Security Reference Database of the main paper (§III.B-D,
 * §IV).  The mobility (MIPv6) side writes one entry per binding; the key
 * management (IKEv2) and IPsec sides read it by the Mobile Parameter Index
 * (MPI) that a PF_KEY SADB_ACQUIRE Reference extension carries, or by
 * address.
 *
 *   MIPv6 daemon --writer--> [ MSRD ] <--reader-- IKEv2 daemon
 *                                     <--reader-- kernel / IPsec
 *
 * Access control (§III.D: "MIPv6 has the highest privilege"; §IV: data
 * "modified only by MIPv6").  m6ike_msrd_new() returns the database and its
 * only writer handle.  Any number of reader handles come from
 * m6ike_msrd_reader_new().  The two handle types are distinct opaque types,
 * so passing a reader to a writer operation does not compile; in addition
 * every handle carries a kind tag and its database, and writer operations
 * refuse, with M6IKE_ERR_PERMISSION, a reader handle cast to a writer or a
 * writer that is not the writer of the database it names.
 *
 * Ordering (§IV: "the query request is always sent later than changing
 * request").  Every writer operation applies its change completely before it
 * returns, and increments a database-wide generation counter once per
 * changed entry; any query issued afterwards sees the change, and queries
 * report the generation they observed.  Subscribers are called
 * synchronously after a change is applied, so a query from inside a
 * notification sees the new state.  The database is single-threaded: all
 * calls on one database and its handles must come from one thread at a
 * time.
 *
 * Storage.  Entries live in one array of fixed-size slots; the indexes (by
 * MPI, by HoA, by CoA) are open-addressing hash tables of {32-bit hash,
 * 32-bit slot index}; the expiry queue is a heap of slot indices.  None of
 * them holds a pointer, so they can be placed in POSIX shared memory that
 * readers map read-only (see SHARED REGION below; the handles and
 * subscriber lists, which do hold pointers, stay private to each process).  Address hashes are
 * keyed by a per-database seed so that bucket positions are not predictable
 * by whoever chooses the addresses (a cheap keyed mix, not a PRF).
 *
 * MPIs.  Each insert takes the next value of a 32-bit counter (initial
 * value from the configuration or the random callback), skipping 0 and any
 * MPI still in use.  A live MPI is therefore never reused, and a removed
 * MPI is issued again only after the counter wraps (2^32 - 1 allocations
 * later), so a stale MPI held by a reader finds nothing rather than another
 * mobile node's entry.
 */
#ifndef M6IKE_MSRD_H
#define M6IKE_MSRD_H

#include "m6ike/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes of this unit (-400..-499); see also the common codes. */
enum {
  M6IKE_ERR_MSRD_MN_SINGLE_ENTRY = -401, /* an MN-role db holds one entry */
  M6IKE_ERR_MSRD_FULL = -402,            /* max_entries entries are live */
  M6IKE_ERR_MSRD_BAD_HOA = -403,         /* HoA unspecified or multicast */
  M6IKE_ERR_MSRD_BAD_COA = -404,  /* CoA missing (state needs one) or mcast */
  M6IKE_ERR_MSRD_BAD_STATE = -405,   /* state value is not an m6ike_msrd_state */
  M6IKE_ERR_MSRD_BAD_MASK = -406,    /* update mask empty or unknown bits */
  M6IKE_ERR_MSRD_BAD_HANDLE = -407,  /* not an MSRD handle (wrong magic) */
  M6IKE_ERR_MSRD_BAD_CONFIG = -408,  /* configuration field out of range */
  M6IKE_ERR_MSRD_BAD_TIME = -409,    /* now is M6IKE_TSTAMP_UNSET */
  M6IKE_ERR_MSRD_REGION_SIZE = -410, /* region smaller than it must be */
  M6IKE_ERR_MSRD_REGION_MAGIC = -411, /* region header magic wrong */
  M6IKE_ERR_MSRD_REGION_VERSION = -412, /* region layout version differs */
  M6IKE_ERR_MSRD_REGION_LAYOUT = -413, /* header sizes/offsets inconsistent */
  M6IKE_ERR_MSRD_BUSY = -414          /* writer stuck mid-change (seqlock) */
};

/* Error text for this unit's codes, NULL for codes it does not own. */
const char *m6ike_msrd_strerror_(int code);

/*
 * Binding state of an entry, as the mobility side sees it:
 *  HOME          the MN is at home: no binding at the HA; CoA may be
 *                unspecified (or equal to the HoA).
 *  REGISTERING   a home registration BU was sent (MN) or is being processed
 *                (HA) for the CoA in the entry; no BA yet.  The key manager
 *                may already use the CoA to bootstrap IKEv2 (paper §III.E).
 *  REGISTERED    the HA accepted the binding HoA -> CoA.
 *  DEREGISTERING a de-registration BU (lifetime 0 or CoA = HoA) is in
 *                flight; the binding still stands until it is acknowledged.
 * The database does not enforce transitions (the binding unit does); it only
 * requires a specified CoA in REGISTERING and REGISTERED.
 */
typedef enum m6ike_msrd_state {
  M6IKE_MSRD_HOME = 0,
  M6IKE_MSRD_REGISTERING = 1,
  M6IKE_MSRD_REGISTERED = 2,
  M6IKE_MSRD_DEREGISTERING = 3
} m6ike_msrd_state;

/* Human-readable state name ("HOME", ...), "?" for other values. */
const char *m6ike_msrd_state_name(int state);

/* One entry, returned to readers by copy. */
typedef struct m6ike_msrd_entry {
  m6ike_addr6 hoa;      /* MN's home address (unique in the db) */
  m6ike_addr6 coa;      /* care-of address, :: when none */
  m6ike_addr6 ha;       /* home agent address, :: when not known yet */
  m6ike_tstamp created; /* time of the insert */
  m6ike_tstamp updated; /* time of the last change (= created at first) */
  m6ike_tstamp expires; /* when the lifetime runs out: the time the lifetime
                           was last set + lifetime; M6IKE_TSTAMP_UNSET if
                           lifetime is 0 */
  uint32_t mpi;         /* Mobile Parameter Index, never 0 */
  uint32_t lifetime;    /* binding lifetime in seconds, 0 = no expiry */
  uint32_t changes;     /* updates applied to this entry since the insert */
  m6ike_msrd_state state;
  uint16_t seq;         /* last Binding Update sequence number */
  uint8_t k_bit;        /* 1 if the K (key management mobility) bit is set */
} m6ike_msrd_entry;

/* What the writer supplies on insert (the MPI is assigned). */
typedef struct m6ike_msrd_params {
  m6ike_addr6 hoa, coa, ha;
  uint32_t lifetime; /* seconds, 0 = no expiry */
  m6ike_msrd_state state;
  uint16_t seq;
  uint8_t k_bit; /* 0 or 1 (any non-zero value is stored as 1) */
} m6ike_msrd_params;

/* Fields of an update (m6ike_msrd_change.mask). */
#define M6IKE_MSRD_SET_COA 0x01u
#define M6IKE_MSRD_SET_STATE 0x02u
#define M6IKE_MSRD_SET_LIFETIME 0x04u /* restarts the lifetime at now */
#define M6IKE_MSRD_SET_SEQ 0x08u
#define M6IKE_MSRD_SET_K 0x10u
#define M6IKE_MSRD_SET_ALL 0x1fu

typedef struct m6ike_msrd_change {
  uint32_t mask; /* M6IKE_MSRD_SET_* bits: only these fields are applied */
  m6ike_addr6 coa;
  m6ike_msrd_state state;
  uint32_t lifetime;
  uint16_t seq;
  uint8_t k_bit;
} m6ike_msrd_change;

typedef enum m6ike_msrd_role {
  M6IKE_MSRD_ROLE_MN = 0, /* one entry: the node's own binding */
  M6IKE_MSRD_ROLE_HA = 1  /* one entry per mobile node served */
} m6ike_msrd_role;

typedef struct m6ike_msrd_config {
  m6ike_msrd_role role;
  /* Upper bound on live entries.  MN: must be 0 or 1 (0 = 1).  HA: 0 = the
   * implementation limit (2^30). */
  uint32_t max_entries;
  /* Slots to allocate up front (0 = a small default); saves the cost of
   * growing when the final size is known, e.g. 1000000 on a large HA. */
  uint32_t initial_capacity;
  /* First MPI to issue.  0 = draw it from rand (or 1 if rand is NULL). */
  uint32_t mpi_start;
  /* Seed of the address hashes.  0 = draw it from rand (or a fixed
   * constant if rand is NULL: then bucket positions are predictable). */
  uint64_t hash_seed;
  m6ike_rand_cb rand; /* may be NULL */
  void *rand_user_data;
} m6ike_msrd_config;

/* Fills cfg with the defaults for role (everything else 0/NULL). */
void m6ike_msrd_config_default(m6ike_msrd_config *cfg, m6ike_msrd_role role);

typedef struct m6ike_msrd m6ike_msrd;               /* the database */
typedef struct m6ike_msrd_writer m6ike_msrd_writer; /* the mobility side */
typedef struct m6ike_msrd_reader m6ike_msrd_reader; /* everybody else */

/*
 * Creates a database and its single writer handle.  cfg NULL = HA defaults.
 * Returns 0, M6IKE_ERR_INVALID_ARGUMENT (db or writer NULL),
 * M6IKE_ERR_MSRD_BAD_CONFIG, M6IKE_ERR_RANDOM, M6IKE_ERR_NOMEM.
 */
int m6ike_msrd_new(m6ike_msrd **db, m6ike_msrd_writer **writer,
                   const m6ike_msrd_config *cfg, const m6ike_mem *mem);

/* Frees the database, its writer and every reader still open (their
 * handles become invalid).  Must not be called from a callback.  NULL ok.
 * For a database in a caller's region (m6ike_msrd_new_in, _attach_reader)
 * only the process-private part is freed; the region is left as it is. */
void m6ike_msrd_del(m6ike_msrd *db);

/* ---- SHARED REGION ------------------------------------------------------
 *
 * For the Linux runtime (issue 5) the database lives in POSIX shared
 * memory: the mobility daemon creates it in a region it mapped read-write
 * (m6ike_msrd_new_in) and is its only writer; the key-management and IPsec
 * daemons map the same object PROT_READ and attach (m6ike_msrd_attach_
 * reader).  The layout is the pointer-free one described under Storage, at
 * fixed offsets from a header:
 *
 *   offset 0   header: magic "MSRR", layout version, the sizes of the
 *              header, an entry, a slot and a bucket in this build, role,
 *              capacity (= max_entries), buckets per index, the offset of
 *              each array, the hash seeds; then the published scalars
 *              (seqlock counter, live count, slot high-water, generation)
 *   64-aligned slots[capacity], expiry heap[capacity], heap positions
 *              [capacity], MPI index, HoA index, CoA index (buckets each)
 *
 * The capacity is fixed at creation (no growth: an insert beyond it gets
 * M6IKE_ERR_MSRD_FULL / _MN_SINGLE_ENTRY).  Attaching checks every header
 * field against the layout this build computes for that capacity, so a
 * reader built differently (or a stale/garbage segment) is refused rather
 * than misread.  An attached reader never stores into the region: its
 * queries and its own bookkeeping (handles, subscriptions, the foreach
 * depth) are process-private, so it works on a PROT_READ mapping.  No
 * notification crosses processes (subscribe on an attached reader is
 * allowed but never called: readers learn of changes from the PF_KEY
 * message that names the MPI, as the paper intends, or by polling
 * m6ike_msrd_generation).
 *
 * CONSISTENCY (a seqlock).  The writer makes a 32-bit counter in the header
 * odd before it touches any array or published scalar of a change, and
 * even again (release order) after the last one; a change is one insert,
 * one update or one removal (an expiry run is one change per entry).  A
 * reader in another process loads the counter (acquire), retries while it
 * is odd, runs the whole query on the region, and throws the result away
 * and starts again if the counter has changed by the end (acquire fence
 * then reload).  So every query result is one the database held between
 * two changes, generation included.  While a change is in progress a
 * reader may see half-moved index buckets: its probes are bounded by the
 * table size and every slot number is range-checked, so a torn read finds
 * nothing or garbage, never reads outside the region, and is retried.  A
 * reader retries at most 2^24 times, then returns M6IKE_ERR_MSRD_BUSY (a
 * writer killed in the middle of a change must not hang its readers; the
 * host then re-creates the segment).  foreach on an attached reader copies
 * each entry in its own snapshot (each entry consistent; the walk may mix
 * generations).  Within the writer's process the rule above still holds:
 * one thread at a time.
 */

/* Octets a region must have for max_entries entries of role (MN: 0 or 1 =
 * one entry).  0 if role is unknown or max_entries out of range
 * (HA: 1..2^30). */
size_t m6ike_msrd_region_size(m6ike_msrd_role role, uint32_t max_entries);

/*
 * Creates the database in region (8-octet aligned, size octets, typically
 * a MAP_SHARED mapping) and its single writer.  cfg as for m6ike_msrd_new
 * (NULL = HA defaults) except: HA max_entries 0 = as many as fit in size;
 * initial_capacity is ignored (the capacity is max_entries).  The region's
 * previous contents are overwritten; it must outlive the database.  The
 * header's magic is stored last, so a reader attaching meanwhile sees
 * M6IKE_ERR_MSRD_REGION_MAGIC, never a half-built header.  Private state
 * (handles, subscriptions) is allocated through mem.  Returns 0,
 * M6IKE_ERR_INVALID_ARGUMENT (NULL, misaligned region),
 * M6IKE_ERR_MSRD_BAD_CONFIG, M6IKE_ERR_MSRD_REGION_SIZE, M6IKE_ERR_RANDOM,
 * M6IKE_ERR_NOMEM.
 */
int m6ike_msrd_new_in(void *region, size_t size, m6ike_msrd **db,
                      m6ike_msrd_writer **writer,
                      const m6ike_msrd_config *cfg, const m6ike_mem *mem);

/*
 * Attaches to a region another process (or this one) created with
 * m6ike_msrd_new_in: a process-private db handle (free it with
 * m6ike_msrd_del; there is no writer) and one reader (more with
 * m6ike_msrd_reader_new(db, ...)).  Only reads the region.  Returns 0,
 * M6IKE_ERR_INVALID_ARGUMENT (NULL, misaligned), M6IKE_ERR_MSRD_REGION_SIZE,
 * M6IKE_ERR_MSRD_REGION_MAGIC, M6IKE_ERR_MSRD_REGION_VERSION,
 * M6IKE_ERR_MSRD_REGION_LAYOUT, M6IKE_ERR_NOMEM.  Queries on an attached
 * reader may also return M6IKE_ERR_MSRD_BUSY (see CONSISTENCY).
 */
int m6ike_msrd_attach_reader(const void *region, size_t size,
                             m6ike_msrd **db, m6ike_msrd_reader **reader,
                             const m6ike_mem *mem);

/*
 * Opens a read-only handle.  May be called from a notification callback
 * (the new reader is not notified of the change in progress).
 * Returns 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_NOMEM.
 */
int m6ike_msrd_reader_new(m6ike_msrd *db, m6ike_msrd_reader **reader);

/* Closes a reader and removes its subscriptions.  May be called from a
 * callback (then freed once the notification round ends).  NULL, the
 * writer's own reader view and non-MSRD handles are ignored. */
void m6ike_msrd_reader_del(m6ike_msrd_reader *reader);

/* The writer's query view: pass it to any query or subscribe call. */
m6ike_msrd_reader *m6ike_msrd_writer_as_reader(m6ike_msrd_writer *writer);

/*
 * 0 if writer is db's writer handle.  M6IKE_ERR_INVALID_ARGUMENT (NULL),
 * M6IKE_ERR_MSRD_BAD_HANDLE (not an MSRD handle), M6IKE_ERR_PERMISSION (a
 * reader cast to a writer, or the writer of another database).  Every
 * writer operation performs the same check against the database the handle
 * names.
 */
int m6ike_msrd_writer_check(const m6ike_msrd *db,
                            const m6ike_msrd_writer *writer);

/* ---- writer operations ------------------------------------------------ */
/*
 * All of them return, besides the codes listed:
 *   M6IKE_ERR_INVALID_ARGUMENT  a NULL pointer argument;
 *   M6IKE_ERR_MSRD_BAD_HANDLE   not an MSRD handle;
 *   M6IKE_ERR_PERMISSION        a reader handle, or not this db's writer;
 *   M6IKE_ERR_INVALID_STATE     called from a notification or foreach
 *                               callback of the same database (callbacks
 *                               may query, never modify);
 *   M6IKE_ERR_MSRD_BAD_TIME     now == M6IKE_TSTAMP_UNSET.
 * On any error the database is unchanged and nobody is notified.
 */

/*
 * Adds an entry and returns its new MPI in *mpi_out (may be NULL).
 * Subscribers get M6IKE_MSRD_EVENT_INSERTED.  Returns 0,
 * M6IKE_ERR_MSRD_MN_SINGLE_ENTRY (MN role, an entry exists),
 * M6IKE_ERR_MSRD_FULL, M6IKE_ERR_EXISTS (an entry has this HoA),
 * M6IKE_ERR_MSRD_BAD_HOA, M6IKE_ERR_MSRD_BAD_COA, M6IKE_ERR_MSRD_BAD_STATE,
 * M6IKE_ERR_NOMEM.
 */
int m6ike_msrd_insert(m6ike_msrd_writer *writer, const m6ike_msrd_params *p,
                      m6ike_tstamp now, uint32_t *mpi_out);

/*
 * Applies the fields of ch named by ch->mask to entry mpi.  Every
 * successful call is one change (generation + 1, entry.changes + 1,
 * entry.updated = now, M6IKE_MSRD_EVENT_UPDATED) even if the values are the
 * same: a refresh restarts the lifetime.  The HoA and HA address are fixed
 * for the life of an entry (remove and insert to change them).  Returns 0,
 * M6IKE_ERR_NOT_FOUND, M6IKE_ERR_MSRD_BAD_MASK, M6IKE_ERR_MSRD_BAD_COA,
 * M6IKE_ERR_MSRD_BAD_STATE, M6IKE_ERR_NOMEM (CoA index growth).
 */
int m6ike_msrd_update(m6ike_msrd_writer *writer, uint32_t mpi,
                      const m6ike_msrd_change *ch, m6ike_tstamp now);

/* Removes entry mpi (M6IKE_MSRD_EVENT_REMOVED).  Returns 0,
 * M6IKE_ERR_NOT_FOUND. */
int m6ike_msrd_remove(m6ike_msrd_writer *writer, uint32_t mpi,
                      m6ike_tstamp now);

/*
 * Removes every entry whose lifetime has run out (expiry <= now), earliest
 * first, each one a change reported as M6IKE_MSRD_EVENT_REMOVED.  Returns
 * the number removed (>= 0) or a negative code (the common ones above).
 */
int m6ike_msrd_expire(m6ike_msrd_writer *writer, m6ike_tstamp now);

/* Earliest expiry time of any entry, M6IKE_TSTAMP_UNSET if none expires.
 * The host calls m6ike_msrd_expire() at that time.  db NULL -> UNSET. */
m6ike_tstamp m6ike_msrd_get_expiry(const m6ike_msrd *db);

/* ---- queries: reader handles or m6ike_msrd_writer_as_reader() --------- */
/*
 * Each copies what it finds and, if gen is not NULL, stores the generation
 * it observed (the number of changes applied so far).  Besides the codes
 * listed they return M6IKE_ERR_INVALID_ARGUMENT (NULL handle or argument)
 * and M6IKE_ERR_MSRD_BAD_HANDLE.  Queries are allowed inside callbacks.
 */

/* Entry by MPI, O(1).  0 or M6IKE_ERR_NOT_FOUND (also for MPI 0). */
int m6ike_msrd_lookup_mpi(const m6ike_msrd_reader *r, uint32_t mpi,
                          m6ike_msrd_entry *out, uint64_t *gen);

/* Entry by home address (unique).  0 or M6IKE_ERR_NOT_FOUND. */
int m6ike_msrd_lookup_hoa(const m6ike_msrd_reader *r, const m6ike_addr6 *hoa,
                          m6ike_msrd_entry *out, uint64_t *gen);

/*
 * Entries by care-of address.  CoAs are not unique: RFC 6275 lets an MN
 * with several home addresses register the same CoA for each, so several
 * entries may match (entries whose CoA is :: are not indexed).  Copies up to
 * max matches into out (out may be NULL when max is 0), in no particular
 * order, and stores the total number of matches in *found (may be NULL).
 * Returns 0 if at least one entry matched, else M6IKE_ERR_NOT_FOUND.
 */
int m6ike_msrd_lookup_coa(const m6ike_msrd_reader *r, const m6ike_addr6 *coa,
                          m6ike_msrd_entry *out, size_t max, size_t *found,
                          uint64_t *gen);

/* Number of live entries (0 for a bad handle). */
size_t m6ike_msrd_count(const m6ike_msrd_reader *r);

/* Current generation: changes applied since creation (0 for a bad handle). */
uint64_t m6ike_msrd_generation(const m6ike_msrd_reader *r);

/*
 * Calls fn on every live entry in slot order (a stable order while nothing
 * changes) until fn returns non-zero.  fn must not modify the database
 * (writer calls get M6IKE_ERR_INVALID_STATE).  Returns 0 after the last
 * entry, fn's non-zero value if it stopped early, or a negative code.
 */
typedef int (*m6ike_msrd_foreach_fn)(const m6ike_msrd_entry *e,
                                     void *user_data);
int m6ike_msrd_foreach(const m6ike_msrd_reader *r, m6ike_msrd_foreach_fn fn,
                       void *user_data, uint64_t *gen);

/* Bytes allocated by the database: slots, indexes, heap, handles. */
size_t m6ike_msrd_memory_usage(const m6ike_msrd *db);

/* ---- change notifications --------------------------------------------- */
typedef enum m6ike_msrd_event {
  M6IKE_MSRD_EVENT_INSERTED = 1,
  M6IKE_MSRD_EVENT_UPDATED = 2,
  M6IKE_MSRD_EVENT_REMOVED = 3 /* by remove or by expiry */
} m6ike_msrd_event;

/*
 * Called once per change, after it is applied and before the writer
 * operation returns.  e is the entry as it is now (for REMOVED: as it was;
 * the MPI is no longer found).  generation is the generation after this
 * change.  The callback may query and may open/close readers and
 * (un)subscribe; it must not modify the database: writer operations on the
 * same database fail with M6IKE_ERR_INVALID_STATE.
 */
typedef void (*m6ike_msrd_notify_fn)(const m6ike_msrd_entry *e,
                                     m6ike_msrd_event event,
                                     uint64_t generation, void *user_data);

/*
 * Subscribes reader r (a reader or the writer's view) to every change;
 * *id_out (may be NULL) receives an id for unsubscribe, unique in the db.
 * Callbacks run reader by reader, newest reader first, and in subscription
 * order within a reader.  Returns 0,
 * M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_MSRD_BAD_HANDLE, M6IKE_ERR_NOMEM.
 */
int m6ike_msrd_subscribe(m6ike_msrd_reader *r, m6ike_msrd_notify_fn fn,
                         void *user_data, uint64_t *id_out);

/* Returns 0, M6IKE_ERR_NOT_FOUND (no such id on this reader),
 * M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_MSRD_BAD_HANDLE. */
int m6ike_msrd_unsubscribe(m6ike_msrd_reader *r, uint64_t id);

#ifdef __cplusplus
}
#endif

#endif /* M6IKE_MSRD_H */
