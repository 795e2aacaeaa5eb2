/* Internal: an index of home addresses over a growable array of per-MN
 * records (the HA's MN tables of mobility.c and keymgr.c).
 *
 * The records are the caller's type: rec_size bytes each, the HoA at
 * hoa_off.  They stay in insertion order (record number = order of first
 * use, never removed), so nothing observable depends on the seed, which
 * only places the index's buckets.  The index is an open-addressing hash
 * of record numbers + 1 (0 = empty), at most half full; it grows before
 * the array (the allocation order the FailingMem sweeps of both users
 * were written against).  The struct is embedded in its owner: no
 * allocation until the first record or hoa_table_reserve(). */
#ifndef M6IKE_HOA_TABLE_H
#define M6IKE_HOA_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "m6ike/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hoa_table {
  const m6ike_mem *mem; /* NULL until hoa_table_init() */
  size_t rec_size, hoa_off;
  size_t max; /* most records, 0 = no limit */
  uint64_t seed;
  void *recs;
  size_t n, cap;
  uint32_t *idx;
  size_t idx_cap;
} hoa_table;

/* An empty table (allocates nothing); mem NULL = the default hooks. */
void hoa_table_init(hoa_table *t, size_t rec_size, size_t hoa_off,
                    size_t max, uint64_t seed, const m6ike_mem *mem);
/* Frees both arrays; also safe on a zeroed, never-initialised table. */
void hoa_table_fini(hoa_table *t);
/* Sizes the index for `want` records (the array is not touched).
 * 0 or M6IKE_ERR_NOMEM. */
int hoa_table_reserve(hoa_table *t, size_t want);
/* The record of hoa, or NULL. */
void *hoa_table_find(const hoa_table *t, const m6ike_addr6 *hoa);
/* The number of hoa's record in *out, appending a zeroed record with its
 * HoA set when absent.  0, M6IKE_ERR_LIMIT (max records reached) or
 * M6IKE_ERR_NOMEM (nothing changed). */
int hoa_table_get(hoa_table *t, const m6ike_addr6 *hoa, size_t *out);

/* Record number i (< t->n). */
static inline void *hoa_table_at(const hoa_table *t, size_t i) {
  return (uint8_t *)t->recs + i * t->rec_size;
}

#ifdef __cplusplus
}
#endif

#endif /* M6IKE_HOA_TABLE_H */
