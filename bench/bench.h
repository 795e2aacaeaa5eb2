/*
 * mip6ike benchmarks: helpers shared by bench_main.c and every
 * bench/bench_<unit>.c.
 *
 * A unit's file defines `void m6ike_bench_<unit>(void)` and prints one line
 * per figure with M6IKE_BENCH_LINE (or m6ike_bench_line), in the form
 *   printf("%-48s %12.1f %s\n", what, value, unit);
 * e.g. "msrd lookup by MPI, 10^6 entries       42.0 ns/op".
 */
#ifndef M6IKE_BENCH_H
#define M6IKE_BENCH_H

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Monotonic clock (CLOCK_MONOTONIC) in nanoseconds. */
uint64_t m6ike_bench_now_ns(void);

/* Consumes a value through a volatile store, so the computation that
 * produced it cannot be optimised away. */
void m6ike_bench_sink(uint64_t v);

/* Prints one figure: "%-48s %12.1f %s\n". */
void m6ike_bench_line(const char *what, double value, const char *unit);

#define M6IKE_BENCH_LINE(what, value, unit)                                    \
  printf("%-48s %12.1f %s\n", (what), (double)(value), (unit))

#ifdef __cplusplus
}
#endif

#endif /* M6IKE_BENCH_H */
