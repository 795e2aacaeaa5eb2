/*
 * mip6ike-msrd-shm: exercises the shared-memory MSRD across processes
 * (ctest emu.msrd-shm).
 *   mip6ike-msrd-shm writer NAME HOA COA HA   creates the segment, inserts
 *        one entry, prints "MPI <n>", updates the CoA's last group on
 *        each line read from stdin ("coa ADDR"), unlinks at EOF
 *   mip6ike-msrd-shm reader NAME MPI          attaches read-only, prints
 *        "ENTRY mpi= hoa= coa= state= gen="
 *   mip6ike-msrd-shm tamper NAME              a reader that tries to write:
 *        mprotect(PROT_WRITE) on its mapping, a writable mmap of its
 *        descriptor, and a store through the mapping (in a child); prints
 *        one "REFUSED how" line per attempt that failed as it must
 * Exit 0 on success, 1 on failure, 2 on bad arguments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "msrd-shm.h"

static m6ike_tstamp now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (m6ike_tstamp)ts.tv_sec * 1000000000u + (m6ike_tstamp)ts.tv_nsec;
}

static int addr(const char *t, m6ike_addr6 *a) {
  if (m6ike_addr6_parse(a, t) != 0) {
    fprintf(stderr, "mip6ike-msrd-shm: '%s': not an IPv6 address\n", t);
    exit(2);
  }
  return 0;
}

static const char *err(int rv) {
  return rv < 0 && rv > -4096 && rv != -1 ? strerror(-rv) : m6ike_strerror(rv);
}

int main(int argc, char **argv) {
  m6e_msrd_shm s;
  int rv;
  if (argc >= 6 && !strcmp(argv[1], "writer")) {
    m6ike_msrd_params p;
    uint32_t mpi;
    char line[256];
    memset(&p, 0, sizeof(p));
    addr(argv[3], &p.hoa);
    addr(argv[4], &p.coa);
    addr(argv[5], &p.ha);
    p.state = M6IKE_MSRD_REGISTERING;
    rv = m6e_msrd_shm_create(&s, argv[2], M6IKE_MSRD_ROLE_MN, 1, NULL);
    if (rv != 0) {
      fprintf(stderr, "create %s: %s\n", argv[2], err(rv));
      return 1;
    }
    rv = m6ike_msrd_insert(s.w, &p, now(), &mpi);
    if (rv != 0) {
      fprintf(stderr, "insert: %s\n", m6ike_strerror(rv));
      m6e_msrd_shm_close(&s);
      return 1;
    }
    printf("MPI %u\n", mpi);
    fflush(stdout);
    while (fgets(line, sizeof(line), stdin)) {
      char a[200];
      if (sscanf(line, "coa %199s", a) == 1) {
        m6ike_msrd_change c;
        memset(&c, 0, sizeof(c));
        addr(a, &c.coa);
        c.mask = M6IKE_MSRD_SET_COA;
        rv = m6ike_msrd_update(s.w, mpi, &c, now());
        printf("UPDATED %d\n", rv);
        fflush(stdout);
      }
    }
    m6e_msrd_shm_close(&s);
    return 0;
  }
  if (argc >= 4 && !strcmp(argv[1], "reader")) {
    m6ike_msrd_entry e;
    uint64_t gen = 0;
    char h[M6IKE_ADDR6_STRLEN], c[M6IKE_ADDR6_STRLEN];
    rv = m6e_msrd_shm_attach(&s, argv[2]);
    if (rv != 0) {
      fprintf(stderr, "attach %s: %s\n", argv[2], err(rv));
      return 1;
    }
    rv = m6ike_msrd_lookup_mpi(s.r, (uint32_t)strtoul(argv[3], NULL, 10), &e,
                               &gen);
    if (rv != 0) {
      fprintf(stderr, "lookup: %s\n", m6ike_strerror(rv));
      m6e_msrd_shm_close(&s);
      return 1;
    }
    printf("ENTRY mpi=%u hoa=%s coa=%s state=%d gen=%llu\n", e.mpi,
           m6ike_addr6_format(&e.hoa, h), m6ike_addr6_format(&e.coa, c),
           (int)e.state, (unsigned long long)gen);
    m6e_msrd_shm_close(&s);
    return 0;
  }
  if (argc >= 3 && !strcmp(argv[1], "tamper")) {
    int refused;
    rv = m6e_msrd_shm_attach(&s, argv[2]);
    if (rv != 0) {
      fprintf(stderr, "attach %s: %s\n", argv[2], err(rv));
      return 1;
    }
    refused = m6e_msrd_shm_try_write(&s, stdout);
    m6e_msrd_shm_close(&s);
    return refused == 3 ? 0 : 1;
  }
  fprintf(stderr, "usage: mip6ike-msrd-shm writer NAME HOA COA HA | reader "
                  "NAME MPI | tamper NAME\n");
  return 2;
}
