/* Benchmark helpers (minimal: the full version comes from the bench unit). */
#ifndef M6IKE_BENCH_H
#define M6IKE_BENCH_H

#include <stdint.h>

/* Monotonic clock in nanoseconds. */
uint64_t m6ike_bench_now_ns(void);
/* Consumes a value so the compiler cannot drop the work producing it. */
void m6ike_bench_sink(uint64_t v);

#endif
