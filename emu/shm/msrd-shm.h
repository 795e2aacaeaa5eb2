/*
 * msrd-shm: the MSRD in POSIX shared memory for the Linux runtime
 * (ISSUE5-PLAN.md).  The mobility daemon creates the segment and is its
 * only writer (shm_open O_CREAT|O_EXCL|O_RDWR, mode 0644, mmap read-write,
 * m6ike_msrd_new_in); the key-management and IPsec daemons open it
 * O_RDONLY and map it PROT_READ (m6ike_msrd_attach_reader).  The mapping
 * itself enforces the single writer: a reader's descriptor is read-only,
 * so it cannot remap or mprotect the segment writable (EACCES), and a
 * store through its mapping faults.  Segment names: "/m6e-<RUNPID>-<node>-msrd"
 * (the runner's reaper removes /dev/shm/m6e-<RUNPID>-* of dead runs).
 */
#ifndef MIP6IKE_EMU_MSRD_SHM_H
#define MIP6IKE_EMU_MSRD_SHM_H

#include <stddef.h>
#include <stdio.h>

#include "m6ike/msrd.h"

typedef struct m6e_msrd_shm {
  void *base;
  size_t size;
  int writer; /* 1: created here, read-write */
  char name[64];
  m6ike_msrd *db;
  m6ike_msrd_writer *w;   /* writer only */
  m6ike_msrd_reader *r;   /* reader only */
  /* m6e_shm_region_create: the segment's descriptor, kept open with an
   * exclusive flock(2) for the writer's life (has_lock): a segment whose
   * lock can be taken belongs to a writer that is gone (crashed). */
  int lock_fd, has_lock;
  int stale_removed; /* create found a crashed writer's segment and
                        removed it first */
} m6e_msrd_shm;

/* Creates the segment NAME for max_entries of role and the database in it.
 * Returns 0 or -errno (segment) or an m6ike code (database). */
int m6e_msrd_shm_create(m6e_msrd_shm *s, const char *name,
                        m6ike_msrd_role role, uint32_t max_entries,
                        const m6ike_msrd_config *cfg);

/* Attaches read-only.  Returns 0, -errno, or an m6ike code (layout). */
int m6e_msrd_shm_attach(m6e_msrd_shm *s, const char *name);

/* Creates the segment NAME (O_EXCL, mode 0644) of size octets and maps
 * it read-write, without building a database in it: for
 * m6ike_mobility_new_in, which builds the MSRD itself.  s->db stays NULL.
 * The writer holds an exclusive flock(2) on the segment while it lives.
 * If NAME exists and its lock is free, a writer died without removing it
 * (SIGKILL, a crash): the leftover is unlinked and created anew
 * (s->stale_removed = 1), as a daemon removes a stale pid file; readers
 * still mapping the old one must attach again.  A segment whose lock is
 * held (a live writer) gives -EEXIST.  Returns 0 or -errno. */
int m6e_shm_region_create(m6e_msrd_shm *s, const char *name, size_t size);

/* A reader that tries to write the MSRD it attached: mprotect(PROT_WRITE)
 * on its mapping, a writable mmap of a new read-only descriptor, and a
 * store through the mapping (in a forked child, which must die of
 * SIGSEGV).  Prints one "REFUSED how: why" (or "ALLOWED how") line per
 * attempt to report; returns how many were refused (3 = all). */
int m6e_msrd_shm_try_write(const m6e_msrd_shm *s, FILE *report);

/* Unmaps (and, for the writer, unlinks the segment). */
void m6e_msrd_shm_close(m6e_msrd_shm *s);

#endif
