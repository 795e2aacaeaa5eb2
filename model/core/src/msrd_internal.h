/* Internal: test hooks of the msrd unit (not part of the public API). */
#ifndef M6IKE_MSRD_INTERNAL_H
#define M6IKE_MSRD_INTERNAL_H

#include "m6ike/msrd.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sets the MPI counter, as if 2^32 allocations had gone by, so that a test
 * can check that live MPIs are skipped on the counter's second lap. */
void m6ike_msrd_test_set_next_mpi_(m6ike_msrd *db, uint32_t next);

#ifdef __cplusplus
}
#endif

#endif
