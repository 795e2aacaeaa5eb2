/*
 * m6ike-bench: runs the unit benchmarks listed in bench/CMakeLists.txt
 * (M6IKE_BENCH_UNITS) and prints a header describing the machine.
 *
 *   m6ike-bench [--only UNIT] [--list]
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bench_units.h"
#include "m6ike/common.h"

#ifndef M6IKE_BENCH_BUILD_TYPE
#define M6IKE_BENCH_BUILD_TYPE "unknown"
#endif

uint64_t m6ike_bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void m6ike_bench_sink(uint64_t v) {
  static volatile uint64_t sink;
  sink = v;
  (void)sink;
}

void m6ike_bench_line(const char *what, double value, const char *unit) {
  M6IKE_BENCH_LINE(what, value, unit);
}

/* The "model name" line of /proc/cpuinfo, or "unknown". */
static void cpu_model(char *buf, size_t len) {
  snprintf(buf, len, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (f == NULL) {
    return;
  }
  char line[512];
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "model name", 10) == 0) {
      const char *v = strchr(line, ':');
      if (v != NULL) {
        v++;
        while (*v == ' ' || *v == '\t') {
          v++;
        }
        snprintf(buf, len, "%s", v);
        buf[strcspn(buf, "\n")] = '\0';
      }
      break;
    }
  }
  fclose(f);
}

static const char *compiler(void) {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#else
  return "unknown";
#endif
}

static void usage(FILE *out) {
  fprintf(out, "usage: m6ike-bench [--only UNIT] [--list]\nunits:");
  for (const m6ike_bench_unit *u = m6ike_bench_units; u->name; u++) {
    fprintf(out, " %s", u->name);
  }
  fprintf(out, "%s\n", m6ike_bench_units[0].name ? "" : " (none yet)");
}

int main(int argc, char **argv) {
  const char *only = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      only = argv[++i];
    } else if (strcmp(argv[i], "--list") == 0) {
      for (const m6ike_bench_unit *u = m6ike_bench_units; u->name; u++) {
        printf("%s\n", u->name);
      }
      return 0;
    } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      return 0;
    } else {
      fprintf(stderr, "m6ike-bench: bad argument '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  if (only != NULL) {
    const m6ike_bench_unit *u = m6ike_bench_units;
    while (u->name && strcmp(u->name, only) != 0) {
      u++;
    }
    if (u->name == NULL) {
      fprintf(stderr, "m6ike-bench: unknown unit '%s'\n", only);
      usage(stderr);
      return 2;
    }
  }

  char cpu[256];
  cpu_model(cpu, sizeof cpu);
  printf("# mip6ike %s benchmarks\n", m6ike_version());
  printf("# machine: %ld cpus, %s\n", sysconf(_SC_NPROCESSORS_ONLN), cpu);
  printf("# compiler: %s\n", compiler());
  printf("# build type: %s\n", M6IKE_BENCH_BUILD_TYPE);
  printf("# %-46s %12s %s\n", "what", "value", "unit");

  int ran = 0;
  for (const m6ike_bench_unit *u = m6ike_bench_units; u->name; u++) {
    if (only == NULL || strcmp(u->name, only) == 0) {
      printf("## %s\n", u->name);
      fflush(stdout);
      u->run();
      fflush(stdout);
      ran++;
    }
  }
  if (ran == 0) {
    printf("# no benchmark units registered (M6IKE_BENCH_UNITS in "
           "bench/CMakeLists.txt is empty)\n");
  }
  return 0;
}
