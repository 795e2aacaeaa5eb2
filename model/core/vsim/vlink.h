/*
 * m6ike_vlink: a point-to-point link in virtual time, for tests, the
 * in-process experiment and benchmarks.  Not part of the protocol core.
 *
 * Two directions (M6IKE_VLINK_AB, M6IKE_VLINK_BA).  A packet sent at time t
 * leaves after the packets queued before it have been serialised at
 * rate_bps (0 = infinite rate) and arrives `delay` later.  It is lost with
 * probability `loss` (a deterministic PRNG seeded with `seed`), when the
 * link is down, or when a forced drop is pending for that direction.
 */
#ifndef M6IKE_VLINK_H
#define M6IKE_VLINK_H

#include "m6ike/common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { M6IKE_VLINK_AB = 0, M6IKE_VLINK_BA = 1 };

typedef struct m6ike_vlink_params {
  m6ike_tstamp delay;  /* one-way propagation delay */
  uint64_t rate_bps;   /* serialisation rate, 0 = infinite */
  double loss;         /* loss probability in [0, 1] */
  uint64_t seed;       /* PRNG seed for losses */
  size_t max_queue;    /* packets queued per direction, 0 = 1024 */
} m6ike_vlink_params;

typedef struct m6ike_vlink_stats {
  uint64_t sent[2], delivered[2], lost[2], dropped_down[2], dropped_queue[2];
} m6ike_vlink_stats;

typedef struct m6ike_vlink m6ike_vlink;

/* Returns 0, M6IKE_ERR_INVALID_ARGUMENT (loss outside [0,1]) or
 * M6IKE_ERR_NOMEM. */
int m6ike_vlink_new(m6ike_vlink **plink, const m6ike_vlink_params *params,
                    const m6ike_mem *mem);
void m6ike_vlink_del(m6ike_vlink *link);

/* Queues a copy of pkt.  Returns 1 if queued, 0 if lost or dropped,
 * M6IKE_ERR_INVALID_ARGUMENT for a bad direction, M6IKE_ERR_NOMEM. */
int m6ike_vlink_send(m6ike_vlink *link, int dir, const uint8_t *pkt,
                     size_t len, m6ike_tstamp now);

/* Earliest arrival time of a queued packet, M6IKE_TSTAMP_UNSET if none. */
m6ike_tstamp m6ike_vlink_next_arrival(const m6ike_vlink *link);

/*
 * Delivers the earliest packet that has arrived by `now`.  Returns its
 * length and sets *pdir and *parrival, 0 if none has arrived, or
 * M6IKE_ERR_NOBUF if cap is too small (the packet stays queued).
 */
int m6ike_vlink_recv(m6ike_vlink *link, m6ike_tstamp now, int *pdir,
                     m6ike_tstamp *parrival, uint8_t *buf, size_t cap);

/* Link state: a down link drops what is sent and what is in flight. */
void m6ike_vlink_set_up(m6ike_vlink *link, int up);
int m6ike_vlink_is_up(const m6ike_vlink *link);

/* Drop the next n packets sent in direction dir (fault injection). */
void m6ike_vlink_drop_next(m6ike_vlink *link, int dir, unsigned n);

const m6ike_vlink_stats *m6ike_vlink_get_stats(const m6ike_vlink *link);

#ifdef __cplusplus
}
#endif

#endif
