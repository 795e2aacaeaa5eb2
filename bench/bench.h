/* Benchmark helpers (minimal; the integrator keeps one bench.h). */
#ifndef M6IKE_BENCH_H
#define M6IKE_BENCH_H
#include <stdint.h>
uint64_t m6ike_bench_now_ns(void);
void m6ike_bench_sink(uint64_t v);
#endif
