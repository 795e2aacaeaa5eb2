/* m6ike_vlink: see vlink.h. */
#include "vlink.h"

#include <stdlib.h>
#include <string.h>

typedef struct vpkt {
  m6ike_tstamp arrival;
  size_t len;
  uint8_t *data;
} vpkt;

typedef struct vqueue {
  vpkt *ring;
  size_t head, count;
  m6ike_tstamp busy_until; /* transmitter free at */
  unsigned force_drop;
} vqueue;

struct m6ike_vlink {
  const m6ike_mem *mem;
  m6ike_vlink_params p;
  uint64_t rng;
  int up;
  vqueue q[2];
  m6ike_vlink_stats stats;
};

static void *vmalloc(const m6ike_mem *m, size_t n) {
  return m->malloc(n, m->user_data);
}
static void vfree(const m6ike_mem *m, void *p) { m->free(p, m->user_data); }

/* xorshift64*: deterministic, seeded per link. */
static double next_uniform(m6ike_vlink *l) {
  uint64_t x = l->rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  l->rng = x;
  return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

int m6ike_vlink_new(m6ike_vlink **plink, const m6ike_vlink_params *params,
                    const m6ike_mem *mem) {
  m6ike_vlink *l;
  if (plink == NULL || params == NULL || !(params->loss >= 0.0) ||
      params->loss > 1.0) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  mem = mem ? mem : m6ike_mem_default();
  l = vmalloc(mem, sizeof(*l));
  if (l == NULL) {
    return M6IKE_ERR_NOMEM;
  }
  memset(l, 0, sizeof(*l));
  l->mem = mem;
  l->p = *params;
  if (l->p.max_queue == 0) {
    l->p.max_queue = 1024;
  }
  l->rng = params->seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
  if (l->rng == 0) {
    l->rng = 1;
  }
  l->up = 1;
  for (int d = 0; d < 2; d++) {
    l->q[d].ring = vmalloc(mem, sizeof(vpkt) * l->p.max_queue);
    if (l->q[d].ring == NULL) {
      m6ike_vlink_del(l);
      return M6IKE_ERR_NOMEM;
    }
  }
  *plink = l;
  return 0;
}

static void queue_clear(m6ike_vlink *l, int d, int count_as_down) {
  vqueue *q = &l->q[d];
  while (q->count) {
    vfree(l->mem, q->ring[q->head].data);
    q->head = (q->head + 1) % l->p.max_queue;
    q->count--;
    if (count_as_down) {
      l->stats.dropped_down[d]++;
    }
  }
}

void m6ike_vlink_del(m6ike_vlink *l) {
  if (l == NULL) {
    return;
  }
  for (int d = 0; d < 2; d++) {
    if (l->q[d].ring) {
      queue_clear(l, d, 0);
      vfree(l->mem, l->q[d].ring);
    }
  }
  vfree(l->mem, l);
}

int m6ike_vlink_send(m6ike_vlink *l, int dir, const uint8_t *pkt, size_t len,
                     m6ike_tstamp now) {
  vqueue *q;
  vpkt *slot;
  m6ike_tstamp start, tx = 0;
  if (dir != M6IKE_VLINK_AB && dir != M6IKE_VLINK_BA) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  q = &l->q[dir];
  l->stats.sent[dir]++;
  if (!l->up) {
    l->stats.dropped_down[dir]++;
    return 0;
  }
  if (q->force_drop) {
    q->force_drop--;
    l->stats.lost[dir]++;
    return 0;
  }
  if (l->p.loss > 0.0 && next_uniform(l) < l->p.loss) {
    l->stats.lost[dir]++;
    return 0;
  }
  if (q->count == l->p.max_queue) {
    l->stats.dropped_queue[dir]++;
    return 0;
  }
  slot = &q->ring[(q->head + q->count) % l->p.max_queue];
  slot->data = vmalloc(l->mem, len ? len : 1);
  if (slot->data == NULL) {
    return M6IKE_ERR_NOMEM;
  }
  memcpy(slot->data, pkt, len);
  slot->len = len;
  start = q->busy_until > now ? q->busy_until : now;
  if (l->p.rate_bps) {
    tx = (m6ike_tstamp)((uint64_t)len * 8 * M6IKE_SECONDS / l->p.rate_bps);
  }
  q->busy_until = start + tx;
  slot->arrival = start + tx + l->p.delay;
  q->count++;
  return 1;
}

m6ike_tstamp m6ike_vlink_next_arrival(const m6ike_vlink *l) {
  m6ike_tstamp best = M6IKE_TSTAMP_UNSET;
  for (int d = 0; d < 2; d++) {
    const vqueue *q = &l->q[d];
    if (q->count && q->ring[q->head].arrival < best) {
      best = q->ring[q->head].arrival;
    }
  }
  return best;
}

int m6ike_vlink_recv(m6ike_vlink *l, m6ike_tstamp now, int *pdir,
                     m6ike_tstamp *parrival, uint8_t *buf, size_t cap) {
  int best = -1;
  vqueue *q;
  vpkt *p;
  size_t len;
  for (int d = 0; d < 2; d++) {
    q = &l->q[d];
    if (q->count && q->ring[q->head].arrival <= now &&
        (best < 0 ||
         q->ring[q->head].arrival < l->q[best].ring[l->q[best].head].arrival)) {
      best = d;
    }
  }
  if (best < 0) {
    return 0;
  }
  q = &l->q[best];
  p = &q->ring[q->head];
  if (p->len > cap) {
    return M6IKE_ERR_NOBUF;
  }
  memcpy(buf, p->data, p->len);
  len = p->len;
  if (pdir) {
    *pdir = best;
  }
  if (parrival) {
    *parrival = p->arrival;
  }
  vfree(l->mem, p->data);
  q->head = (q->head + 1) % l->p.max_queue;
  q->count--;
  l->stats.delivered[best]++;
  return (int)len;
}

void m6ike_vlink_set_up(m6ike_vlink *l, int up) {
  if (l->up && !up) {
    queue_clear(l, 0, 1);
    queue_clear(l, 1, 1);
  }
  l->up = up ? 1 : 0;
}

int m6ike_vlink_is_up(const m6ike_vlink *l) { return l->up; }

void m6ike_vlink_drop_next(m6ike_vlink *l, int dir, unsigned n) {
  if (dir == M6IKE_VLINK_AB || dir == M6IKE_VLINK_BA) {
    l->q[dir].force_drop += n;
  }
}

const m6ike_vlink_stats *m6ike_vlink_get_stats(const m6ike_vlink *l) {
  return &l->stats;
}
