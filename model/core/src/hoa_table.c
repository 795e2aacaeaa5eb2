/* hoa_table: HoA -> record number over caller-sized records (hoa_table.h). */
#include "hoa_table.h"

#include <string.h>

#include "mem.h"

static size_t hoa_hash(const hoa_table *t, const m6ike_addr6 *x) {
  uint64_t h = t->seed ^ 0x9e3779b97f4a7c15ull;
  for (int w = 0; w < 2; w++) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
      v = v << 8 | x->b[8 * w + i];
    }
    h ^= v;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
  }
  h *= 0xc4ceb9fe1a85ec53ull;
  return (size_t)(h ^ (h >> 29));
}

static const m6ike_addr6 *rec_hoa(const hoa_table *t, size_t r) {
  return (const m6ike_addr6 *)((const uint8_t *)hoa_table_at(t, r) +
                               t->hoa_off);
}

void hoa_table_init(hoa_table *t, size_t rec_size, size_t hoa_off,
                    size_t max, uint64_t seed, const m6ike_mem *mem) {
  memset(t, 0, sizeof(*t));
  t->mem = m6ike_mem_or_default(mem);
  t->rec_size = rec_size;
  t->hoa_off = hoa_off;
  t->max = max;
  t->seed = seed;
}

void hoa_table_fini(hoa_table *t) {
  if (t->mem == NULL) {
    return;
  }
  m6ike_free(t->mem, t->recs);
  m6ike_free(t->mem, t->idx);
  t->recs = NULL;
  t->idx = NULL;
  t->n = t->cap = t->idx_cap = 0;
}

static int idx_grow(hoa_table *t) {
  size_t ncap = t->idx_cap ? t->idx_cap * 2 : 16;
  uint32_t *n = m6ike_calloc(t->mem, ncap, sizeof(*n));
  if (n == NULL) {
    return M6IKE_ERR_NOMEM;
  }
  for (size_t r = 0; r < t->n; r++) {
    size_t i = hoa_hash(t, rec_hoa(t, r)) & (ncap - 1);
    while (n[i] != 0) {
      i = (i + 1) & (ncap - 1);
    }
    n[i] = (uint32_t)(r + 1);
  }
  m6ike_free(t->mem, t->idx);
  t->idx = n;
  t->idx_cap = ncap;
  return 0;
}

int hoa_table_reserve(hoa_table *t, size_t want) {
  while (t->idx_cap < want * 2 && want > 0) {
    int rc = idx_grow(t);
    if (rc < 0) {
      return rc;
    }
  }
  return 0;
}

/* The number of hoa's record, or t->n when absent. */
static size_t lookup(const hoa_table *t, const m6ike_addr6 *hoa) {
  if (t->idx_cap == 0) {
    return t->n;
  }
  size_t mask = t->idx_cap - 1;
  for (size_t i = hoa_hash(t, hoa) & mask; t->idx[i] != 0;
       i = (i + 1) & mask) {
    if (m6ike_addr6_equal(rec_hoa(t, t->idx[i] - 1), hoa)) {
      return t->idx[i] - 1;
    }
  }
  return t->n;
}

void *hoa_table_find(const hoa_table *t, const m6ike_addr6 *hoa) {
  size_t r = lookup(t, hoa);
  return r < t->n ? hoa_table_at(t, r) : NULL;
}

int hoa_table_get(hoa_table *t, const m6ike_addr6 *hoa, size_t *out) {
  size_t r = lookup(t, hoa);
  if (r < t->n) {
    *out = r;
    return 0;
  }
  if (t->max && t->n >= t->max) {
    return M6IKE_ERR_LIMIT;
  }
  if ((t->n + 1) * 2 > t->idx_cap) {
    int rc = idx_grow(t);
    if (rc < 0) {
      return rc;
    }
  }
  if (t->n == t->cap) {
    size_t ncap = t->cap ? t->cap * 2 : 4;
    void *n = m6ike_realloc(t->mem, t->recs, ncap * t->rec_size);
    if (n == NULL) {
      return M6IKE_ERR_NOMEM;
    }
    t->recs = n;
    t->cap = ncap;
  }
  uint8_t *rec = hoa_table_at(t, t->n);
  memset(rec, 0, t->rec_size);
  memcpy(rec + t->hoa_off, hoa, sizeof(*hoa));
  size_t mask = t->idx_cap - 1;
  size_t i = hoa_hash(t, hoa) & mask;
  while (t->idx[i] != 0) {
    i = (i + 1) & mask;
  }
  t->idx[i] = (uint32_t)(t->n + 1);
  *out = t->n++;
  return 0;
}
