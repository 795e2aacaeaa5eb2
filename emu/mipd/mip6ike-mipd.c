/*
 * mip6ike-mipd: the mobility daemon of one node (MN or HA) in the
 * three-daemon architecture (ISSUE5-PLAN.md): the core's m6ike_mobility
 * (binding update list / binding cache, BU/BA, the scheme's logic) over
 * real sockets, talking to the rest of the node only as the main paper
 * says:
 *  - PF_KEY: a SOCK_SEQPACKET connection to mip6ike-ipsecd's bus (--pfkey),
 *    HELLO with the MOBILITY role, then RFC 2367 messages both ways
 *    (policies, ACQUIRE (+Reference), X_MIGRATE out; replies and the
 *    kernel's key-less ADD/UPDATE/DELETE copies in);
 *  - the MSRD: this daemon creates the POSIX shared memory segment
 *    (--msrd-shm, O_EXCL, mode 0644), maps it read-write and is its only
 *    writer (m6ike_mobility_new_in builds the database in it); iked and
 *    ipsecd map it read-only;
 *  - Mobility Header packets: over ipsecd's MH socket (--mh; records of
 *    emu/netio/mhsock.h): a BU/BA goes out as a SEND (ipsecd applies the
 *    SPD: ESP, or an ACQUIRE and a drop while there is no SA) and the
 *    daemon waits for ipsecd's SENT answer, so that a BU IPsec dropped is
 *    not counted as sent (mobility.h send_ip6); MH that arrives comes as
 *    RECEIVED after ESP; one that did not come under ESP is dropped here
 *    (RFC 4877 §4.3: DROP event, STATS drop_unprotected);
 *  - MN: movement detection from netlink (emu/netio m6e_movement: ROUTE_RA,
 *    ADDR_NEW, COA_READY after DAD -> m6ike_mobility_set_coa), the HoA on
 *    ipsecd's TUN device (--tun);
 *  - HA: for each registered HoA, proxy ND on the home link (--home-if) and
 *    a /128 route into ipsecd's TUN device, set once the BA has left.
 *
 *   mip6ike-mipd --role mn|ha --scheme NAME --ha ADDR --home-prefix P/LEN
 *                --pfkey PATH --mh PATH --msrd-shm NAME --tun NAME
 *                [--hoa ADDR (mn)] [--home-if DEV (ha)] [--mn HOA (ha)]
 *                [--max-mns N (ha, default 64)] [--events FILE]
 *                [--psk TEXT]
 *
 * Events: as mip6ike-noded's (the runner's summary reads the MN's
 * HANDOVER lines; their IKE counts are 0 here -- mobility.h: the key
 * manager's counts are in iked's IKE_COUNTS lines).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "m6ike/mobility.h"
#include "m6ike/msrd.h"
#include "m6ike/pfkey_bus.h"
#include "m6ike/pfkey_wire.h"
#include "mhsock.h"
#include "msrd-shm.h"
#include "netio.h"
#include "nodeopts.h"

#define PROG "mip6ike-mipd"
#define BUF_MAX 65600
#define MAX_HELD 32
#define KM_TURN_MS 100
#define KM_QUIET_US 300

typedef struct options {
  union { /* the shared options (netio/nodeopts.h) under their own names */
    m6e_nodeopts common;
    struct {
      M6E_NODEOPTS_FIELDS
    };
  };
  const char *pfkey, *mh, *shm;
  unsigned lifetime;         /* mn: --lifetime (4-s units), 0 = default */
  unsigned reregister_after; /* mn: --reregister-after (ha_lost_after) */
} options;

typedef struct held {
  uint8_t *pkt;
  size_t len;
  int esp;
} held;

typedef struct stats {
  uint64_t mh_in, drop_unprotected, drop_mh, mh_malformed, pfkey_in,
      pfkey_refused, pfkey_ignored, pfkey_bad;
} stats;

typedef struct mipd {
  options o;
  m6ike_mobility *m;
  m6e_msrd_shm shm;
  int pf_fd, mh_fd, nl_fd, sig_fd[2], tun_ifindex;
  FILE *ev;
  m6e_movement md;
  int printed_complete;
  held q[MAX_HELD]; /* MH that arrived while waiting for a SENT */
  size_t nq;
  /* The key manager's turn (see on_coa_ready): the mobility side's
   * immediate timers wait until its first SA message or this time. */
  m6ike_tstamp km_turn_until, km_turn_end;
  held pq[MAX_HELD]; /* PF_KEY messages received during the turn */
  size_t npq;
  uint8_t turn_type;     /* the SA message type of the key manager's run */
  held pq_after[MAX_HELD]; /* ... after its run (for after the timer) */
  size_t npq_after;
  m6ike_addr6 pending[16]; /* HA: HoAs to intercept (after the BA left) */
  unsigned npending;
  stats st;
} mipd;

static volatile sig_atomic_t g_stop;

#define now_ns m6e_now_ns
#define emit(d, ...) m6e_emit((d)->ev, m6e_now_ns(), __VA_ARGS__)

static void die_arg(const char *opt, const char *why) {
  fprintf(stderr, PROG ": %s: %s\n", opt, why);
  exit(2);
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: " PROG " --role mn|ha --scheme NAME --ha ADDR\n"
          "         --home-prefix PREFIX/LEN --pfkey PATH --mh PATH\n"
          "         --msrd-shm NAME --tun NAME [--hoa ADDR (mn)]\n"
          "         [--home-if DEV (ha)] [--mn HOA (ha, repeatable)]\n"
          "         [--max-mns N (ha)] [--events FILE] [--psk TEXT]\n"
          "         [--lifetime UNITS (mn: requested binding lifetime, 4 s)]\n"
          "         [--reregister-after N (mn: after N unanswered refresh\n"
          "          retransmissions, or every SA to the HA deleted, the HA\n"
          "          lost its state: register anew with fresh SAs; the\n"
          "          core's cfg.ha_lost_after; 0 = never)]\n"
          "The mobility daemon (MIPv6) of the three-daemon architecture:\n"
          "PF_KEY to mip6ike-ipsecd, the MSRD's only writer (POSIX shm).\n"
          "Schemes: msrd renegotiate migrate migrate-kmaddress mobike "
          "static.\n");
}

static void parse(int argc, char **argv, options *o) {
  int i = 0;
  const char *k, *v;
  m6e_nodeopts_init(&o->common, M6E_NODEOPT_TUN | M6E_NODEOPT_MAX_MNS);
  while (m6e_nodeopts_next(argc, argv, &i, PROG, usage, &k, &v)) {
    if (m6e_nodeopts_take(&o->common, PROG, k, v)) {
      continue;
    }
    if (!strcmp(k, "--pfkey")) {
      o->pfkey = v;
    } else if (!strcmp(k, "--mh")) {
      o->mh = v;
    } else if (!strcmp(k, "--msrd-shm")) {
      if (v[0] != '/' || strlen(v) > 60) {
        die_arg(k, "must be /NAME (at most 60 characters)");
      }
      o->shm = v;
    } else if (!strcmp(k, "--lifetime") || !strcmp(k, "--reregister-after")) {
      char *end;
      unsigned long x = strtoul(v, &end, 10);
      int lt = !strcmp(k, "--lifetime");
      if (*end || !*v || x > 65535 || (x == 0 && lt)) {
        die_arg(k, "must be a whole number (lifetime 1..65535)");
      }
      if (lt) {
        o->lifetime = (unsigned)x;
      } else {
        o->reregister_after = (unsigned)x;
      }
    } else {
      die_arg(k, "unknown option");
    }
  }
  m6e_nodeopts_check(&o->common, PROG);
  if (!o->pfkey || !o->mh || !o->shm || !o->tun) {
    die_arg(!o->pfkey ? "--pfkey" : !o->mh ? "--mh" : !o->shm ? "--msrd-shm"
                                                               : "--tun",
            "missing");
  }
}


/* ---- callbacks of m6ike_mobility ------------------------------------------ */

static void hold(mipd *d, const uint8_t *pkt, size_t len, int esp) {
  if (d->nq == MAX_HELD || !(d->q[d->nq].pkt = malloc(len))) {
    d->st.drop_mh++;
    emit(d, "DROP where=mh_queue len=%zu reason=\"queue full\"", len);
    return;
  }
  memcpy(d->q[d->nq].pkt, pkt, len);
  d->q[d->nq].len = len;
  d->q[d->nq].esp = esp;
  d->nq++;
}

/* A BU/BA for IPsec: SEND it to ipsecd and wait for its SENT (the
 * outcome of the SPD: 0 if it left, IPsec's negative drop code, or > 0
 * when it could not be sent: mobility.h send_ip6).  MH arriving meanwhile
 * is queued for after the current call. */
static int cb_send_ip6(const uint8_t *pkt, size_t len, void *ud) {
  mipd *d = ud;
  static uint8_t rec[BUF_MAX + 16];
  struct pollfd p = {d->mh_fd, POLLIN, 0};
  m6ike_tstamp deadline = now_ns() + 500000000u;
  if (m6e_mhsock_send(d->mh_fd, M6E_MH_SEND, 0, 0, pkt, len) != 0) {
    emit(d, "HOST_ERROR mh_send err=\"%s\"", strerror(errno));
    return 1;
  }
  for (;;) {
    m6e_mhsock_hdr h;
    const uint8_t *in;
    size_t ilen;
    ssize_t r;
    int rv;
    m6ike_tstamp t = now_ns();
    if (t >= deadline) {
      emit(d, "HOST_ERROR mh_send err=\"no answer from ipsecd\"");
      return 0; /* it may have left: as a host that cannot know */
    }
    if (poll(&p, 1, (int)((deadline - t) / 1000000u) + 1) <= 0) {
      continue;
    }
    r = m6e_mhsock_recv(d->mh_fd, rec, sizeof(rec), &h, &in, &ilen, &rv);
    if (r == 0) {
      emit(d, "HOST_ERROR mh_send err=\"ipsecd closed the MH socket\"");
      g_stop = 1;
      return 1;
    }
    if (r < 0) {
      continue;
    }
    if (rv != 0) {
      d->st.mh_malformed++;
      continue;
    }
    if (h.kind == M6E_MH_SENT) {
      return h.status < 0 ? h.status : h.status > 0 ? 1 : 0;
    }
    if (h.kind == M6E_MH_RECEIVED) {
      hold(d, in, ilen, (h.flags & M6E_MH_F_ESP) != 0);
    }
  }
}

static int cb_send_pfkey(const uint8_t *msg, size_t len, int as_kernel,
                         void *ud) {
  mipd *d = ud;
  /* as_kernel: the stock kernel's own ACQUIRE; ipsecd's bus broadcasts an
   * ACQUIRE from the MOBILITY endpoint to the key managers just as it
   * would its own. */
  (void)as_kernel;
  if (send(d->pf_fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len) {
    emit(d, "HOST_ERROR pfkey_send type=%u err=\"%s\"", len > 1 ? msg[1] : 0,
         strerror(errno));
    return -1;
  }
  return 0;
}

static void cb_event(const m6ike_agent_event *e, void *ud) {
  mipd *d = ud;
  m6e_emit_agent_event(d->ev, e);
  if (e->kind == M6IKE_AGENT_EV_HA_LOST) {
    d->printed_complete = 0; /* the core starts a new record */
  }
  if (d->o.role == M6IKE_AGENT_HA &&
      e->kind == M6IKE_AGENT_EV_BINDING_UPDATED && e->status < 128 &&
      d->npending < 16) {
    d->pending[d->npending++] = e->hoa;
  }
}

static void cb_log(int level, const char *msg, void *ud) {
  mipd *d = ud;
  emit(d, "LOG level=%d msg=\"%s\"", level, msg);
}

/* ---- I/O -------------------------------------------------------------------- */

static void print_handover(mipd *d) {
  m6ike_agent_handover h;
  if (d->o.role == M6IKE_AGENT_MN &&
      m6ike_mobility_get_handover(d->m, &h) == 0) {
    m6e_emit_handover(d->ev, &h);
  }
}

static void mh_in(mipd *d, const uint8_t *pkt, size_t len, int esp) {
  int rv;
  d->st.mh_in++;
  if (!esp) {
    /* RFC 4877 §4.3: BU/BA only under ESP (ipsecd passes plaintext MH
     * that no policy claims; the mobility side takes none of it). */
    d->st.drop_unprotected++;
    emit(d, "DROP where=mh_in len=%zu reason=\"MH not protected by ESP\"",
         len);
    return;
  }
  rv = m6ike_mobility_read_mh(d->m, pkt, len, now_ns());
  if (rv < 0) {
    d->st.drop_mh++;
    emit(d, "DROP where=mh_in len=%zu status=%d reason=\"%s\"", len, rv,
         m6ike_strerror(rv));
  }
}

static void run_held(mipd *d) {
  while (d->nq && d->km_turn_until == M6IKE_TSTAMP_UNSET) {
    held h = d->q[0];
    memmove(d->q, d->q + 1, (d->nq - 1) * sizeof(d->q[0]));
    d->nq--;
    mh_in(d, h.pkt, h.len, h.esp);
    free(h.pkt);
  }
}

static void on_mh(mipd *d) {
  static uint8_t rec[BUF_MAX + 16];
  for (;;) {
    m6e_mhsock_hdr h;
    const uint8_t *pkt;
    size_t len;
    int rv;
    ssize_t r =
        m6e_mhsock_recv(d->mh_fd, rec, sizeof(rec), &h, &pkt, &len, &rv);
    if (r == 0) {
      emit(d, "HOST_ERROR err=\"ipsecd closed the MH socket\"");
      g_stop = 1;
      return;
    }
    if (r < 0) {
      return;
    }
    if (rv != 0 || h.kind != M6E_MH_RECEIVED) {
      d->st.mh_malformed++;
      emit(d, "DROP where=mh_sock len=%zd reason=\"%s\"", r,
           rv ? m6e_mhsock_strerror(rv) : "unexpected record kind");
      continue;
    }
    if (d->km_turn_until != M6IKE_TSTAMP_UNSET) {
      hold(d, pkt, len, (h.flags & M6E_MH_F_ESP) != 0);
      continue;
    }
    mh_in(d, pkt, len, (h.flags & M6E_MH_F_ESP) != 0);
    run_held(d);
  }
}

static void deliver_pfkey(mipd *d, const uint8_t *buf, size_t len) {
  int rv = m6ike_mobility_read_pfkey(d->m, buf, len, now_ns());
  if (rv == M6IKE_ERR_MOBILITY_REFUSED) {
    d->st.pfkey_refused++;
    emit(d, "PFKEY_REFUSED type=%u errno=%u", buf[1], buf[2]);
  } else if (rv == M6IKE_ERR_MOBILITY_IGNORED) {
    d->st.pfkey_ignored++;
  } else if (rv < 0) {
    d->st.pfkey_bad++;
    emit(d, "PFKEY type=%u len=%zu result=%d reason=\"%s\"", buf[1], len, rv,
         m6ike_strerror(rv));
  }
}

/* The end of the key manager's turn: its run, in order (the caller then
 * runs the mobility side's due timer, then after_turn). */
static void end_turn(mipd *d) {
  d->km_turn_until = M6IKE_TSTAMP_UNSET;
  d->turn_type = 0;
  for (size_t i = 0; i < d->npq; i++) {
    deliver_pfkey(d, d->pq[i].pkt, d->pq[i].len);
    free(d->pq[i].pkt);
  }
  d->npq = 0;
}

/* What came after the run, then the MH held meanwhile. */
static void after_turn(mipd *d) {
  for (size_t i = 0; i < d->npq_after; i++) {
    deliver_pfkey(d, d->pq_after[i].pkt, d->pq_after[i].len);
    free(d->pq_after[i].pkt);
  }
  d->npq_after = 0;
  run_held(d);
}

static void on_pfkey(mipd *d) {
  static uint8_t buf[M6IKE_PFKEY_WIRE_MAX_MSG + 16];
  for (;;) {
    ssize_t r = recv(d->pf_fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
    if (r == 0) {
      emit(d, "HOST_ERROR err=\"ipsecd closed the PF_KEY socket\"");
      g_stop = 1;
      return;
    }
    if (r < 0) {
      return;
    }
    d->st.pfkey_in++;
    if ((size_t)r > sizeof(buf) || m6ike_pfkey_wire_frame(buf, (size_t)r, 0) !=
                                       (int)r) {
      d->st.pfkey_bad++;
      emit(d, "DROP where=pfkey len=%zd reason=\"not one framed message\"",
           r);
      continue;
    }
    if (d->km_turn_until != M6IKE_TSTAMP_UNSET) {
      /* the key manager's reaction: keep it until its run is over */
      int sa = buf[1] == M6IKE_SADB_ADD || buf[1] == M6IKE_SADB_UPDATE ||
               buf[1] == M6IKE_SADB_DELETE;
      int after = sa && d->turn_type && buf[1] != d->turn_type;
      held *q = after ? d->pq_after : d->pq;
      size_t *nq = after ? &d->npq_after : &d->npq;
      if (*nq < MAX_HELD && (q[*nq].pkt = malloc((size_t)r))) {
        memcpy(q[*nq].pkt, buf, (size_t)r);
        q[*nq].len = (size_t)r;
        (*nq)++;
        if (after) {
          d->km_turn_until = now_ns(); /* a new run: the turn is over */
        } else if (sa) {
          m6ike_tstamp t = now_ns() + KM_QUIET_US * 1000u;
          d->turn_type = buf[1];
          d->km_turn_until = t < d->km_turn_end ? t : d->km_turn_end;
        }
        continue;
      }
      end_turn(d);
      after_turn(d);
    }
    deliver_pfkey(d, buf, (size_t)r);
    run_held(d);
  }
}

static void on_coa_ready(const m6ike_addr6 *coa, void *ud) {
  mipd *d = ud;
  int rv;
  print_handover(d); /* the previous record, final */
  d->printed_complete = 0;
  rv = m6ike_mobility_set_coa(d->m, coa, now_ns());
  if (rv != 0) {
    emit(d, "HOST_ERROR set_coa rv=%d (%s)", rv, m6ike_strerror(rv));
  }
  /* The key manager's turn.  set_coa handed the key manager a request
   * (ACQUIRE, X_MIGRATE) and left the BU for the next entry point
   * (mobility.h).  In one process that entry point comes after the
   * engine has acted on the request; across processes the request is
   * still in flight, so mipd gives iked the turn: the immediate timer
   * and the PF_KEY messages that arrive meanwhile are kept until the key
   * manager's first run of copies of one type (what the engine does at
   * once on the request: renegotiate DELETEs the old SAs, msrd UPDATEs
   * them in place) is over: quiet for KM_QUIET_US, or a copy of another
   * type (e.g. the ADDs of a new IKE SA, which in one process come after
   * the BU), or KM_TURN_MS at most.  Then the run is handed over in order
   * (ipsecd sends each copy after applying it, so the SAD is what the
   * engine left), the timer runs (the BU), then the rest. */
  {
    m6ike_tstamp exp = m6ike_mobility_get_expiry(d->m), t = now_ns();
    if (exp != M6IKE_TSTAMP_UNSET && exp <= t) {
      d->km_turn_end = t + KM_TURN_MS * 1000000u;
      d->km_turn_until = d->km_turn_end;
    }
  }
  run_held(d);
}


int main(int argc, char **argv) {
  static mipd dd;
  mipd *d = &dd;
  m6ike_agent_config cfg;
  m6ike_mobility_callbacks cb;
  char tb[M6IKE_ADDR6_STRLEN];
  size_t rsize;
  int rv;

  parse(argc, argv, &d->o);
  d->ev = d->o.events ? m6e_open_out(PROG, d->o.events, "--events") : stdout;
  d->pf_fd = d->mh_fd = d->nl_fd = -1;
  d->km_turn_until = M6IKE_TSTAMP_UNSET;
  if (pipe2(d->sig_fd, O_NONBLOCK | O_CLOEXEC) != 0) {
    perror(PROG ": pipe");
    return 1;
  }
  m6e_stop_signals(&g_stop, d->sig_fd[1]);

  d->tun_ifindex = (int)if_nametoindex(d->o.tun);
  if (!d->tun_ifindex) {
    fprintf(stderr, PROG ": --tun %s: no such device (start ipsecd first)\n",
            d->o.tun);
    return 1;
  }
  d->pf_fd = m6e_pfkey_connect(d->o.pfkey, M6IKE_PFKEY_ROLE_MOBILITY, 3000);
  if (d->pf_fd < 0) {
    fprintf(stderr, PROG ": --pfkey %s: %s\n", d->o.pfkey, strerror(errno));
    return 1;
  }
  d->mh_fd = m6e_unix_connect(d->o.mh, 3000);
  if (d->mh_fd < 0) {
    fprintf(stderr, PROG ": --mh %s: %s\n", d->o.mh, strerror(errno));
    return 1;
  }
  d->nl_fd = m6e_open_netlink();
  if (d->nl_fd < 0) {
    fprintf(stderr, PROG ": netlink: %s\n", strerror(errno));
    return 1;
  }

  m6e_nodeopts_agent_config(&d->o.common, &cfg);
  if (d->o.role == M6IKE_AGENT_MN) {
    if (d->o.lifetime) {
      cfg.lifetime = (uint16_t)d->o.lifetime;
    }
    cfg.ha_lost_after = d->o.reregister_after;
  }
  /* mobility.h checks the agent's whole configuration; the PSK is the key
   * manager's and is not used here. */
  if (!d->o.psk[0]) {
    cfg.psk = (const uint8_t *)"unused by mipd";
    cfg.psk_len = strlen((const char *)cfg.psk);
  }
  rsize = m6ike_msrd_region_size(d->o.role == M6IKE_AGENT_HA
                                     ? M6IKE_MSRD_ROLE_HA
                                     : M6IKE_MSRD_ROLE_MN,
                                 d->o.role == M6IKE_AGENT_HA ? d->o.max_mns
                                                             : 1);
  rv = m6e_shm_region_create(&d->shm, d->o.shm, rsize);
  if (rv != 0) {
    fprintf(stderr, PROG ": --msrd-shm %s: %s\n", d->o.shm,
            rv == -EEXIST ? "in use by a running mipd" : strerror(-rv));
    return 1;
  }
  if (d->shm.stale_removed) {
    emit(d, "MSRD_STALE_REMOVED name=%s (a crashed mipd's segment)",
         d->o.shm);
  }
  memset(&cb, 0, sizeof(cb));
  cb.user_data = d;
  cb.rand = m6e_rand;
  cb.send_ip6 = cb_send_ip6;
  cb.send_pfkey = cb_send_pfkey;
  cb.event = cb_event;
  cb.log = cb_log;
  rv = m6ike_mobility_new_in(&d->m, &cfg, &cb, d->shm.base, d->shm.size,
                             NULL);
  if (rv != 0) {
    fprintf(stderr, PROG ": mobility: %s\n", m6ike_strerror(rv));
    m6e_msrd_shm_close(&d->shm);
    return 1;
  }
  for (unsigned i = 0; d->o.role == M6IKE_AGENT_HA && i < d->o.nmns; i++) {
    rv = m6ike_mobility_add_mn(d->m, &d->o.mns[i], now_ns());
    if (rv != 0) {
      fprintf(stderr, PROG ": --mn %s: %s\n",
              m6ike_addr6_format(&d->o.mns[i], tb), m6ike_strerror(rv));
      m6ike_mobility_del(d->m);
      m6e_msrd_shm_close(&d->shm);
      return 1;
    }
  }
  d->md.ev = d->ev;
  d->md.tun_ifindex = d->tun_ifindex;
  d->md.mn = d->o.role == M6IKE_AGENT_MN;
  d->md.hoa = d->o.hoa;
  d->md.coa_ready = on_coa_ready;
  d->md.user_data = d;
  if (d->o.role == M6IKE_AGENT_MN) {
    m6e_run_ip(d->ev, "ip -6 addr replace %s/128 dev %s nodad",
               m6ike_addr6_format(&d->o.hoa, tb), d->o.tun);
  }
  emit(d, "READY role=%s scheme=%s tun=%s msrd=%s",
       d->o.role == M6IKE_AGENT_MN ? "mn" : "ha",
       m6ike_scheme_name(d->o.scheme), d->o.tun, d->o.shm);
  if (d->o.role == M6IKE_AGENT_MN) {
    m6e_netlink_dump_addrs(d->nl_fd);
  }

  while (!g_stop) {
    struct pollfd p[4] = {{d->pf_fd, POLLIN, 0},
                          {d->mh_fd, POLLIN, 0},
                          {d->nl_fd, POLLIN, 0},
                          {d->sig_fd[0], POLLIN, 0}};
    m6ike_tstamp exp = m6ike_mobility_get_expiry(d->m), t = now_ns();
    struct timespec tmo, *ptmo = NULL;
    m6ike_agent_handover h;
    int ended = 0;
    if (d->km_turn_until != M6IKE_TSTAMP_UNSET) {
      exp = d->km_turn_until;
    }
    if (exp != M6IKE_TSTAMP_UNSET) {
      m6ike_tstamp w = exp <= t ? 0 : exp - t;
      tmo.tv_sec = (time_t)(w / 1000000000u);
      tmo.tv_nsec = (long)(w % 1000000000u);
      ptmo = &tmo;
    }
    if (ppoll(p, 4, ptmo, NULL) < 0 && errno != EINTR) {
      perror(PROG ": poll");
      break;
    }
    if (p[0].revents & (POLLIN | POLLHUP)) {
      on_pfkey(d);
    }
    if (p[1].revents & (POLLIN | POLLHUP)) {
      on_mh(d);
    }
    if (p[2].revents & POLLIN) {
      m6e_movement_netlink(&d->md, d->nl_fd);
    }
    t = now_ns();
    exp = m6ike_mobility_get_expiry(d->m);
    if (d->km_turn_until != M6IKE_TSTAMP_UNSET && t >= d->km_turn_until) {
      end_turn(d);
      ended = 1;
      exp = m6ike_mobility_get_expiry(d->m);
    }
    if (exp != M6IKE_TSTAMP_UNSET && exp <= t &&
        d->km_turn_until == M6IKE_TSTAMP_UNSET) {
      rv = m6ike_mobility_handle_expiry(d->m, t);
      if (rv == M6IKE_ERR_NOMEM) {
        fprintf(stderr, PROG ": out of memory\n");
        break;
      }
      run_held(d);
    }
    if (ended) {
      after_turn(d);
    }
    for (unsigned i = 0; i < d->npending; i++) {
      /* proxy ND on the home link and a route into the tunnel
       * (idempotent: replace) */
      m6ike_addr6_format(&d->pending[i], tb);
      m6e_run_ip(d->ev, "ip -6 neigh replace proxy %s dev %s", tb,
                 d->o.home_if);
      m6e_run_ip(d->ev, "ip -6 route replace %s/128 dev %s", tb, d->o.tun);
    }
    d->npending = 0;
    if (d->o.role == M6IKE_AGENT_MN && !d->printed_complete &&
        m6ike_mobility_get_handover(d->m, &h) == 0 && h.complete) {
      print_handover(d);
      d->printed_complete = 1;
    }
  }
  print_handover(d);
  {
    m6ike_agent_stats st;
    m6ike_mobility_get_stats(d->m, &st);
    emit(d,
         "STATS bu_sent=%llu bu_retransmits=%llu ba_received=%llu "
         "bu_received=%llu ba_sent=%llu bindings=%llu mh_in=%llu "
         "drop_unprotected=%llu drop_mh=%llu mh_malformed=%llu "
         "drop_malformed=%llu pfkey_in=%llu pfkey_refused=%llu "
         "pfkey_ignored=%llu pfkey_bad=%llu",
         (unsigned long long)st.bu_sent, (unsigned long long)st.bu_retransmits,
         (unsigned long long)st.ba_received,
         (unsigned long long)st.bu_received, (unsigned long long)st.ba_sent,
         (unsigned long long)st.bindings, (unsigned long long)d->st.mh_in,
         (unsigned long long)d->st.drop_unprotected,
         (unsigned long long)d->st.drop_mh,
         (unsigned long long)d->st.mh_malformed,
         (unsigned long long)st.drop_malformed,
         (unsigned long long)d->st.pfkey_in,
         (unsigned long long)d->st.pfkey_refused,
         (unsigned long long)d->st.pfkey_ignored,
         (unsigned long long)d->st.pfkey_bad);
  }
  m6ike_mobility_del(d->m);
  m6e_msrd_shm_close(&d->shm);
  for (size_t i = 0; i < d->nq; i++) {
    free(d->q[i].pkt);
  }
  for (size_t i = 0; i < d->npq; i++) {
    free(d->pq[i].pkt);
  }
  for (size_t i = 0; i < d->npq_after; i++) {
    free(d->pq_after[i].pkt);
  }
  close(d->pf_fd);
  close(d->mh_fd);
  close(d->nl_fd);
  emit(d, "EXIT");
  return 0;
}
