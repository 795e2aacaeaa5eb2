/*
 * MSRD benchmarks: lookups by MPI and by HoA at 10^3 and 10^6 entries in a
 * random order, bytes per entry, insert and CoA update cost.
 */
#define _DEFAULT_SOURCE /* madvise, posix_memalign */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bench.h"
#include "m6ike/msrd.h"

#define LOOKUPS 4000000u

static uint64_t xorshift(uint64_t *x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

static m6ike_addr6 num_addr(uint8_t first, uint32_t i) {
  m6ike_addr6 a;
  memset(&a, 0, sizeof(a));
  a.b[0] = 0x20;
  a.b[1] = first;
  a.b[2] = 0x0d;
  a.b[3] = 0xb8;
  a.b[12] = (uint8_t)(i >> 24);
  a.b[13] = (uint8_t)(i >> 16);
  a.b[14] = (uint8_t)(i >> 8);
  a.b[15] = (uint8_t)i;
  return a;
}

static void report(const char *what, double value, const char *unit) {
  printf("%-48s %12.1f %s\n", what, value, unit);
}

/* Fills a db with n entries; returns the MPIs (malloc'd) and the insert
 * time per entry in *insert_ns. */
static uint32_t *fill(m6ike_msrd_writer *w, uint32_t n, double *insert_ns) {
  uint32_t *mpi = malloc((size_t)n * sizeof(uint32_t));
  if (!mpi) {
    abort();
  }
  m6ike_msrd_params p;
  memset(&p, 0, sizeof(p));
  p.ha = num_addr(1, 1);
  p.state = M6IKE_MSRD_REGISTERED;
  p.k_bit = 1;
  uint64_t t0 = m6ike_bench_now_ns();
  for (uint32_t i = 0; i < n; i++) {
    p.hoa = num_addr(1, i);
    p.coa = num_addr(2, i);
    p.lifetime = 420 + i % 64;
    if (m6ike_msrd_insert(w, &p, M6IKE_SECONDS, &mpi[i]) != 0) {
      abort();
    }
  }
  *insert_ns = (double)(m6ike_bench_now_ns() - t0) / n;
  return mpi;
}

/*
 * A huge-page allocator handed to the MSRD through the core's memory hooks:
 * blocks of 1 MiB and more are 2 MiB aligned and advised as transparent
 * huge pages, so random lookups over a 10^6-entry database miss the TLB
 * far less often.  Every block carries a 64-byte header with its size.
 */
#define THP_HDR 64u
#define THP_ALIGN ((size_t)2 << 20)
static void *thp_malloc(size_t n, void *ud) {
  void *base = NULL;
  (void)ud;
  if (n >= ((size_t)1 << 20)) {
    size_t total = (n + THP_HDR + THP_ALIGN - 1) & ~(THP_ALIGN - 1);
    if (posix_memalign(&base, THP_ALIGN, total) != 0) {
      return NULL;
    }
    madvise(base, total, MADV_HUGEPAGE);
  } else if ((base = malloc(n + THP_HDR)) == NULL) {
    return NULL;
  }
  *(size_t *)base = n;
  return (uint8_t *)base + THP_HDR;
}
static void thp_free(void *p, void *ud) {
  (void)ud;
  if (p) {
    free((uint8_t *)p - THP_HDR);
  }
}
static void *thp_calloc(size_t a, size_t b, void *ud) {
  void *p;
  if (b && a > SIZE_MAX / b) {
    return NULL;
  }
  if ((p = thp_malloc(a * b, ud)) != NULL) {
    memset(p, 0, a * b);
  }
  return p;
}
static void *thp_realloc(void *p, size_t n, void *ud) {
  void *q = thp_malloc(n, ud);
  if (q && p) {
    size_t old = *(size_t *)((uint8_t *)p - THP_HDR);
    memcpy(q, p, old < n ? old : n);
    thp_free(p, ud);
  }
  return q;
}
static const m6ike_mem thp_mem = {NULL, thp_malloc, thp_free, thp_calloc,
                                  thp_realloc};

static void run(uint32_t n, const char *mpi_label, const char *hoa_label,
                int extended, const m6ike_mem *mem) {
  m6ike_msrd *db;
  m6ike_msrd_writer *w;
  m6ike_msrd_config cfg;
  m6ike_msrd_config_default(&cfg, M6IKE_MSRD_ROLE_HA);
  cfg.hash_seed = 0x5eed;
  if (m6ike_msrd_new(&db, &w, &cfg, mem) != 0) {
    abort();
  }
  m6ike_msrd_reader *r;
  if (m6ike_msrd_reader_new(db, &r) != 0) {
    abort();
  }
  double insert_ns;
  uint32_t *mpi = fill(w, n, &insert_ns);

  /* Random access order, drawn before timing. */
  uint32_t *order = malloc((size_t)LOOKUPS * sizeof(uint32_t));
  /* The keys, in that order, in arrays read sequentially: the cost of
   * fetching the key (from a packet, in real use) is not the database's. */
  uint32_t *mpi_keys = malloc((size_t)LOOKUPS * sizeof(uint32_t));
  m6ike_addr6 *hoa_keys = malloc((size_t)LOOKUPS * sizeof(m6ike_addr6));
  if (!order || !mpi_keys || !hoa_keys) {
    abort();
  }
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (uint32_t i = 0; i < LOOKUPS; i++) {
    order[i] = (uint32_t)(xorshift(&x) % n);
    mpi_keys[i] = mpi[order[i]];
    hoa_keys[i] = num_addr(1, order[i]);
  }
  m6ike_msrd_entry e;
  uint64_t sum = 0;
  uint64_t t0 = m6ike_bench_now_ns();
  for (uint32_t i = 0; i < LOOKUPS; i++) {
    if (m6ike_msrd_lookup_mpi(r, mpi_keys[i], &e, NULL) == 0) {
      sum += e.coa.b[15] + e.seq;
    }
  }
  uint64_t t1 = m6ike_bench_now_ns();
  m6ike_bench_sink(sum);
  report(mpi_label, (double)(t1 - t0) / LOOKUPS, "ns/op");

  /* By HoA, in the same order.  (Building each address byte by byte on
   * the stack right before its lookup would defeat store-to-load forwarding
   * and serialise the lookups: that measures the bench, not the database.)
   */
  sum = 0;
  t0 = m6ike_bench_now_ns();
  for (uint32_t i = 0; i < LOOKUPS; i++) {
    if (m6ike_msrd_lookup_hoa(r, &hoa_keys[i], &e, NULL) == 0) {
      sum += e.mpi;
    }
  }
  t1 = m6ike_bench_now_ns();
  m6ike_bench_sink(sum);
  report(hoa_label, (double)(t1 - t0) / LOOKUPS, "ns/op");

  if (extended) {
    report("MSRD bytes per entry (1e6)",
           (double)m6ike_msrd_memory_usage(db) / n, "B");
    report("MSRD insert (1e6)", insert_ns, "ns/op");
    /* Handovers: each update moves a random MN to a new CoA. */
    m6ike_msrd_change ch;
    memset(&ch, 0, sizeof(ch));
    ch.mask = M6IKE_MSRD_SET_COA;
    const uint32_t updates = 1000000;
    t0 = m6ike_bench_now_ns();
    for (uint32_t i = 0; i < updates; i++) {
      ch.coa = num_addr(3, i);
      if (m6ike_msrd_update(w, mpi[order[i]], &ch, 2 * M6IKE_SECONDS) != 0) {
        abort();
      }
    }
    t1 = m6ike_bench_now_ns();
    /* (at 10^6 entries) */
    report("MSRD update CoA", (double)(t1 - t0) / updates, "ns/op");
  }
  m6ike_bench_sink(m6ike_msrd_generation(r));
  free(order);
  free(mpi_keys);
  free(hoa_keys);
  free(mpi);
  m6ike_msrd_del(db);
}

void m6ike_bench_msrd(void) {
  run(1000, "MSRD lookup by MPI (1e3 entries)", "MSRD lookup by HoA (1e3 entries)",
      0, NULL);
  run(1000000, "MSRD lookup by MPI (1e6 entries)",
      "MSRD lookup by HoA (1e6 entries)", 1, NULL);
  /* The same database through a huge-page m6ike_mem. */
  run(1000000, "MSRD lookup by MPI (1e6, huge-page mem hooks)",
      "MSRD lookup by HoA (1e6, huge-page mem hooks)", 0, &thp_mem);
}
