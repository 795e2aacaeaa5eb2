/*
 * mip6ike-iked --pfkey PATH --msrd-shm NAME ...: the key-management
 * daemon of the three-daemon architecture (ISSUE5-PLAN.md).  The core's
 * m6ike_keymgr (the IKEv2 engine, a read-only MSRD reader, SAs installed
 * over PF_KEY) attached to mip6ike-ipsecd's PF_KEY socket (HELLO with the
 * KEY_MANAGER role) and to the MSRD that mip6ike-mipd writes in POSIX
 * shared memory, which this daemon opens O_RDONLY and maps PROT_READ: it
 * cannot write it (--selftest-write-msrd proves it: the three ways a
 * reader could try are refused by the kernel).  IKE over UDP 500/4500
 * (emu/netio, the source chosen per datagram).
 *
 *   mip6ike-iked --pfkey PATH --msrd-shm NAME --role mn|ha --scheme NAME
 *                --ha ADDR --home-prefix P/LEN (--psk TEXT | --psk-file F)
 *                [--hoa ADDR (mn)] [--mn HOA (ha, static scheme)]
 *                [--max-mns N (ha)] [--ike-proposal P] [--esp-proposal P]
 *                [--liveness S (IKE liveness check after S s of silence;
 *                 unanswered: the IKE SA and its SAs are deleted, the
 *                 core's cfg.liveness_s; 0 = off)]
 *                [--events FILE] [--keylog-ike FILE] [--keylog-esp FILE]
 *   mip6ike-iked --msrd-shm NAME --selftest-write-msrd
 *
 * Events ("T EVENT key=value...", as the other daemons): READY,
 * IKE_COUNTS (the engine's cumulative datagrams sent + received by
 * exchange and octets, each time they change: the runner's summary takes
 * a handover's IKE figures from them, mobility.h HANDOVER RECORD), DROP
 * (an IKE datagram the engine refused), PFKEY (a message refused or not
 * understood), LOG, STATS, EXIT.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iked-keymgr.h"
#include "m6ike/agent.h"
#include "m6ike/crypto_openssl.h"
#include "m6ike/pfkey_bus.h"
#include "m6ike/pfkey_wire.h"
#include "msrd-shm.h"
#include "netio.h"
#include "nodeopts.h"
#ifdef M6E_HAVE_KEYMGR
#include "m6ike/keymgr.h"
#endif

#define PROG "mip6ike-iked"

typedef struct kopts {
  union { /* the shared options (netio/nodeopts.h) under their own names */
    m6e_nodeopts common;
    struct {
      M6E_NODEOPTS_FIELDS
    };
  };
  const char *pfkey, *shm;
  unsigned liveness; /* --liveness S, 0 = off */
  int selftest;
} kopts;

static void kdie(const char *opt, const char *why) {
  fprintf(stderr, PROG ": %s: %s\n", opt, why);
  exit(2);
}

static void kparse(int argc, char **argv, kopts *o) {
  m6e_nodeopts_init(&o->common, M6E_NODEOPT_MAX_MNS | M6E_NODEOPT_IKE |
                                    M6E_NODEOPT_PSK_FILE);
  for (int i = 1; i < argc; i++) {
    const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(k, "--selftest-write-msrd")) {
      o->selftest = 1;
      continue;
    }
    if (!v) {
      kdie(k, "needs a value");
    }
    i++;
    if (m6e_nodeopts_take(&o->common, PROG, k, v)) {
      continue;
    }
    if (!strcmp(k, "--pfkey")) {
      o->pfkey = v;
    } else if (!strcmp(k, "--msrd-shm")) {
      o->shm = v;
    } else if (!strcmp(k, "--liveness")) {
      char *end;
      unsigned long x = strtoul(v, &end, 10);
      if (*end || !*v || x > 86400) {
        kdie(k, "must be 0..86400 (seconds)");
      }
      o->liveness = (unsigned)x;
    } else {
      kdie(k, "unknown option (key-manager mode, --pfkey)");
    }
  }
  if (!o->shm) {
    kdie("--msrd-shm", "missing");
  }
  if (o->selftest) {
    return;
  }
  if (!o->pfkey) {
    kdie("--pfkey", "missing");
  }
  m6e_nodeopts_check(&o->common, PROG);
  if (!o->psk[0]) {
    kdie("--psk", "missing (or --psk-file)");
  }
}

static const char *shm_err(int rv) {
  return rv < 0 && rv > -4096 && rv != -1 ? strerror(-rv) : m6ike_strerror(rv);
}

#ifdef M6E_HAVE_KEYMGR
static volatile sig_atomic_t g_stop;

typedef struct kd {
  kopts o;
  m6ike_keymgr *k;
  m6ike_crypto *crypto;
  m6e_msrd_shm shm;
  int pf_fd, udp[2];
  FILE *ev, *kl[2];
  uint64_t counts[M6IKE_IKEV2_X_COUNT], bytes;
  uint64_t ike_dropped, pfkey_refused, pfkey_bad, pfkey_in;
} kd;

static int k_send_pfkey(const uint8_t *msg, size_t len, void *ud) {
  kd *d = ud;
  if (send(d->pf_fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len) {
    m6e_emit(d->ev, m6e_now_ns(), "HOST_ERROR pfkey_send err=\"%s\"",
             strerror(errno));
    return -1;
  }
  return 0;
}

static int k_send_udp(const m6ike_ikev2_path *p, const uint8_t *buf,
                      size_t len, void *ud) {
  kd *d = ud;
  if (m6e_udp_send(p->local_port == 4500 ? d->udp[1] : d->udp[0], p, buf,
                   len) != 0) {
    char b[M6IKE_ADDR6_STRLEN];
    m6e_emit(d->ev, m6e_now_ns(), "HOST_ERROR send_udp dst=%s err=\"%s\"",
             m6ike_addr6_format(&p->remote, b), strerror(errno));
    return -1;
  }
  return 0;
}

static void k_log(int level, const char *msg, void *ud) {
  kd *d = ud;
  m6e_emit(d->ev, m6e_now_ns(), "LOG level=%d msg=\"%s\"", level, msg);
}

static void k_keylog(int kind, const char *line, void *ud) {
  kd *d = ud;
  FILE *f = d->kl[kind == 0 ? 0 : 1];
  if (f) {
    fprintf(f, "%s\n", line);
    fflush(f);
  }
}

/* IKE_COUNTS whenever the engine's cumulative counts changed. */
static void counts(kd *d) {
  uint64_t x[M6IKE_IKEV2_X_COUNT], b = 0;
  memset(x, 0, sizeof(x));
  m6ike_keymgr_ike_counts(d->k, x, &b);
  if (!memcmp(x, d->counts, sizeof(x)) && b == d->bytes) {
    return;
  }
  memcpy(d->counts, x, sizeof(x));
  d->bytes = b;
  {
    uint64_t all = 0;
    for (int i = 0; i < M6IKE_IKEV2_X_COUNT; i++) {
      all += x[i];
    }
    m6e_emit(d->ev, m6e_now_ns(),
             "IKE_COUNTS msgs=%llu bytes=%llu ike_sa_init=%llu ike_auth=%llu "
             "create_child_sa=%llu informational=%llu",
             (unsigned long long)all, (unsigned long long)b,
             (unsigned long long)x[M6IKE_IKEV2_X_IKE_SA_INIT],
             (unsigned long long)x[M6IKE_IKEV2_X_IKE_AUTH],
             (unsigned long long)x[M6IKE_IKEV2_X_CREATE_CHILD_SA],
             (unsigned long long)x[M6IKE_IKEV2_X_INFORMATIONAL]);
  }
}

static void on_udp(kd *d, int fd, uint16_t port) {
  static uint8_t buf[65536];
  m6ike_ikev2_path p;
  ssize_t r;
  while ((r = m6e_udp_recv(fd, port, buf, sizeof(buf), &p)) >= 0) {
    const uint8_t *b = buf;
    size_t len = (size_t)r;
    int rv;
    if (port == 4500) {
      /* RFC 3948: IKE after a four-octet non-ESP marker. */
      if (len < 4 || memcmp(buf, "\0\0\0\0", 4) != 0) {
        d->ike_dropped++;
        m6e_emit(d->ev, m6e_now_ns(),
                 "DROP where=ike port=4500 len=%zu reason=\"no non-ESP "
                 "marker\"",
                 len);
        continue;
      }
      b += 4;
      len -= 4;
    }
    rv = m6ike_keymgr_read_udp(d->k, &p, b, len, m6e_now_ns());
    if (rv < 0) {
      d->ike_dropped++;
      m6e_emit(d->ev, m6e_now_ns(),
               "DROP where=ike port=%u len=%zu status=%d reason=\"%s\"", port,
               len, rv, m6ike_strerror(rv));
    }
  }
}

static void on_pfkey(kd *d) {
  static uint8_t buf[M6IKE_PFKEY_WIRE_MAX_MSG + 16];
  for (;;) {
    ssize_t r = recv(d->pf_fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
    int rv;
    if (r == 0) {
      m6e_emit(d->ev, m6e_now_ns(),
               "HOST_ERROR err=\"ipsecd closed the PF_KEY socket\"");
      g_stop = 1;
      return;
    }
    if (r < 0) {
      return;
    }
    d->pfkey_in++;
    if ((size_t)r > sizeof(buf) ||
        m6ike_pfkey_wire_frame(buf, (size_t)r, 0) != (int)r) {
      d->pfkey_bad++;
      m6e_emit(d->ev, m6e_now_ns(),
               "DROP where=pfkey len=%zd reason=\"not one framed message\"",
               r);
      continue;
    }
    rv = m6ike_keymgr_read_pfkey(d->k, buf, (size_t)r, m6e_now_ns());
    if (rv == M6IKE_ERR_KEYMGR_REFUSED) {
      d->pfkey_refused++;
      m6e_emit(d->ev, m6e_now_ns(), "PFKEY_REFUSED type=%u errno=%u", buf[1],
               buf[2]);
    } else if (rv < 0 && rv != M6IKE_ERR_KEYMGR_IGNORED) {
      d->pfkey_bad++;
      m6e_emit(d->ev, m6e_now_ns(), "PFKEY type=%u result=%d reason=\"%s\"",
               buf[1], rv, m6ike_strerror(rv));
    }
  }
}
#endif

int m6e_iked_keymgr_main(int argc, char **argv) {
  kopts o;
  int rv;
#ifndef M6E_HAVE_KEYMGR
  {
    int selftest = 0;
    for (int i = 1; i < argc; i++) {
      selftest |= !strcmp(argv[i], "--selftest-write-msrd");
    }
    if (!selftest) {
      fprintf(stderr, PROG ": --pfkey: this build's core has no m6ike_keymgr "
                      "yet (wip/split)\n");
      return 2;
    }
  }
#endif
  kparse(argc, argv, &o);
  if (o.selftest) {
    /* Attach exactly as the key manager does, then try to write. */
    m6e_msrd_shm s;
    int refused;
    rv = m6e_msrd_shm_attach(&s, o.shm);
    if (rv != 0) {
      fprintf(stderr, PROG ": --msrd-shm %s: %s\n", o.shm, shm_err(rv));
      return 1;
    }
    refused = m6e_msrd_shm_try_write(&s, stdout);
    printf("SELFTEST msrd_write_refused=%d of 3\n", refused);
    m6e_msrd_shm_close(&s);
    return refused == 3 ? 0 : 1;
  }
#ifndef M6E_HAVE_KEYMGR
  return 2;
#else
  {
    static kd dd;
    kd *d = &dd;
    m6ike_agent_config cfg;
    m6ike_keymgr_callbacks cb;
    d->o = o;
    d->ev = o.events ? fopen(o.events, "a") : stdout;
    if (!d->ev) {
      fprintf(stderr, PROG ": --events %s: %s\n", o.events, strerror(errno));
      return 2;
    }
    d->kl[0] = o.keylog_ike ? fopen(o.keylog_ike, "a") : NULL;
    d->kl[1] = o.keylog_esp ? fopen(o.keylog_esp, "a") : NULL;
    rv = m6e_msrd_shm_attach(&d->shm, o.shm);
    if (rv != 0) {
      fprintf(stderr, PROG ": --msrd-shm %s: %s\n", o.shm, shm_err(rv));
      return 1;
    }
    if ((rv = m6ike_crypto_openssl_new(&d->crypto, NULL)) != 0) {
      fprintf(stderr, PROG ": crypto: %s\n", m6ike_strerror(rv));
      return 1;
    }
    d->pf_fd = m6e_pfkey_connect(o.pfkey, M6IKE_PFKEY_ROLE_KEY_MANAGER, 3000);
    if (d->pf_fd < 0) {
      fprintf(stderr, PROG ": --pfkey %s: %s\n", o.pfkey, strerror(errno));
      return 1;
    }
    d->udp[0] = m6e_open_udp(500);
    d->udp[1] = m6e_open_udp(4500);
    if (d->udp[0] < 0 || d->udp[1] < 0) {
      fprintf(stderr, PROG ": UDP 500/4500: %s\n", strerror(errno));
      return 1;
    }
    m6e_nodeopts_agent_config(&o.common, &cfg);
    cfg.liveness_s = o.liveness;
    memset(&cb, 0, sizeof(cb));
    cb.user_data = d;
    cb.rand = m6e_rand;
    cb.send_pfkey = k_send_pfkey;
    cb.send_udp = k_send_udp;
    cb.log = k_log;
    cb.keylog = k_keylog;
    rv = m6ike_keymgr_new(&d->k, &cfg, &cb, d->crypto, d->shm.r, NULL);
    if (rv != 0) {
      fprintf(stderr, PROG ": keymgr: %s\n", m6ike_strerror(rv));
      return 1;
    }
    rv = m6ike_keymgr_start(d->k, m6e_now_ns());
    for (unsigned i = 0; rv == 0 && o.role == M6IKE_AGENT_HA && i < o.nmns;
         i++) {
      rv = m6ike_keymgr_add_mn(d->k, &o.mns[i], m6e_now_ns());
    }
    if (rv != 0) {
      fprintf(stderr, PROG ": keymgr start: %s\n", m6ike_strerror(rv));
      return 1;
    }
    m6e_stop_signals(&g_stop, -1);
    m6e_emit(d->ev, m6e_now_ns(), "READY role=%s scheme=%s pfkey=%s msrd=%s",
             o.role == M6IKE_AGENT_MN ? "mn" : "ha",
             m6ike_scheme_name(o.scheme), o.pfkey, o.shm);
    while (!g_stop) {
      struct pollfd p[3] = {{d->pf_fd, POLLIN, 0},
                            {d->udp[0], POLLIN, 0},
                            {d->udp[1], POLLIN, 0}};
      m6ike_tstamp exp = m6ike_keymgr_get_expiry(d->k), t = m6e_now_ns();
      /* the MSRD has no doorbell across processes: poll it (MOBIKE) */
      int timeout = o.scheme == M6IKE_SCHEME_MOBIKE ? 5 : 1000;
      if (exp != M6IKE_TSTAMP_UNSET) {
        m6ike_tstamp ms = exp <= t ? 0 : (exp - t) / 1000000u + 1;
        if ((int)ms < timeout) {
          timeout = (int)ms;
        }
      }
      if (poll(p, 3, timeout) < 0 && errno != EINTR) {
        break;
      }
      if (p[0].revents & (POLLIN | POLLHUP)) {
        on_pfkey(d);
      }
      if (p[1].revents & POLLIN) {
        on_udp(d, d->udp[0], 500);
      }
      if (p[2].revents & POLLIN) {
        on_udp(d, d->udp[1], 4500);
      }
      t = m6e_now_ns();
      if (o.scheme == M6IKE_SCHEME_MOBIKE) {
        m6ike_keymgr_poll_msrd(d->k, t);
      }
      exp = m6ike_keymgr_get_expiry(d->k);
      if (exp != M6IKE_TSTAMP_UNSET && exp <= t) {
        m6ike_keymgr_handle_expiry(d->k, t);
      }
      counts(d);
    }
    {
      m6ike_keymgr_stats st;
      m6ike_keymgr_get_stats(d->k, &st);
      m6e_emit(d->ev, m6e_now_ns(),
               "STATS sa_added=%llu sa_updated=%llu sa_deleted=%llu "
               "refused=%llu acquires=%llu migrates=%llu ike_dropped=%llu "
               "pfkey_in=%llu pfkey_refused=%llu pfkey_bad=%llu",
               (unsigned long long)st.sa_added,
               (unsigned long long)st.sa_updated,
               (unsigned long long)st.sa_deleted,
               (unsigned long long)st.refused,
               (unsigned long long)st.acquires,
               (unsigned long long)st.migrates,
               (unsigned long long)d->ike_dropped,
               (unsigned long long)d->pfkey_in,
               (unsigned long long)d->pfkey_refused,
               (unsigned long long)d->pfkey_bad);
    }
    m6ike_keymgr_del(d->k);
    m6ike_crypto_del(d->crypto);
    m6e_msrd_shm_close(&d->shm);
    close(d->pf_fd);
    close(d->udp[0]);
    close(d->udp[1]);
    for (int i = 0; i < 2; i++) {
      if (d->kl[i]) {
        fclose(d->kl[i]);
      }
    }
    m6e_emit(d->ev, m6e_now_ns(), "EXIT");
    return 0;
  }
#endif
}
