/*
 * mip6ike-ipsecd: the IPsec "kernel" of one node in the three-daemon
 * architecture (ISSUE5-PLAN.md), FIRST PART: the PF_KEY bus over a
 * Unix-domain socket.
 *
 *   mip6ike-ipsecd --socket PATH [--msrd SHM_NAME] [--events FILE]
 *
 * Hosts an m6ike_pfkey_bus whose kernel side is an m6ike_ipsec (SPD, SAD:
 * SA and policy management messages are answered by it, as af_key would).
 * It listens on a SOCK_SEQPACKET socket PATH (mode 0600; created, and
 * removed at exit); each accepted connection must start with the
 * pfkey_wire HELLO naming its role (KEY_MANAGER or MOBILITY) and becomes
 * one bus endpoint; then every record is one RFC 2367 message, handed to
 * the bus, which enforces what the role may send (a refusal comes back to
 * the sender as the message's header with sadb_msg_errno set, as from a
 * kernel); what the bus queues for an endpoint is written to its
 * connection.  A connection that breaks the framing is closed.  The peer's
 * credentials (SO_PEERCRED) are logged with its role.  With --msrd, the
 * MSRD in shared memory (emu/shm) is attached read-only and the bus checks
 * an ACQUIRE's Reference against it (paper §IV).
 *
 * LEFT (the agent split, wip/split, steps 1-4 of doc/DESIGN.md): the ESP
 * data path over TUN and raw sockets (mip6ike-noded's I/O, to move here),
 * the MH socket to mip6ike-mipd, and mipd/iked as bus clients.
 *
 * Events (stdout or --events): "T EVENT key=value..." as mip6ike-noded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "m6ike/crypto_openssl.h"
#include "m6ike/ipsec.h"
#include "m6ike/pfkey_bus.h"
#include "m6ike/pfkey_wire.h"
#include "msrd-shm.h"

#define PROG "mip6ike-ipsecd"
#define MAX_CONN 16

typedef struct conn {
  int fd;
  m6ike_pfkey_ep ep; /* 0 until the HELLO */
  m6ike_pfkey_wire_decoder dec;
  struct ucred cred;
} conn;

typedef struct daemon_s {
  m6ike_pfkey_bus *bus;
  m6ike_ipsec *ipsec;
  m6ike_crypto *crypto;
  m6e_msrd_shm msrd;
  int have_msrd;
  int lfd;
  conn c[MAX_CONN];
  FILE *ev;
} daemon_s;

static volatile sig_atomic_t g_stop;
static void on_signal(int s) {
  (void)s;
  g_stop = 1;
}

static m6ike_tstamp now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (m6ike_tstamp)ts.tv_sec * 1000000000u + (m6ike_tstamp)ts.tv_nsec;
}

static void emit(daemon_s *d, const char *fmt, ...) {
  va_list ap;
  m6ike_tstamp t = now_ns();
  fprintf(d->ev, "%llu.%09llu ", (unsigned long long)(t / 1000000000u),
          (unsigned long long)(t % 1000000000u));
  va_start(ap, fmt);
  vfprintf(d->ev, fmt, ap);
  va_end(ap);
  fputc('\n', d->ev);
  fflush(d->ev);
}

static int os_rand(uint8_t *dest, size_t len, void *ud) {
  (void)ud;
  return getrandom(dest, len, 0) == (ssize_t)len ? 0 : -1;
}

static int mpi_valid(uint32_t mpi, void *ud) {
  daemon_s *d = ud;
  m6ike_msrd_entry e;
  return d->have_msrd && m6ike_msrd_lookup_mpi(d->msrd.r, mpi, &e, NULL) == 0;
}

static void drop_conn(daemon_s *d, conn *c, const char *why) {
  emit(d, "DISCONNECT ep=%u pid=%d reason=\"%s\"", c->ep, (int)c->cred.pid,
       why);
  if (c->ep) {
    m6ike_pfkey_bus_close(d->bus, c->ep);
  }
  close(c->fd);
  memset(c, 0, sizeof(*c));
  c->fd = -1;
}

/* Writes every message the bus queued for each endpoint. */
static void flush_all(daemon_s *d) {
  uint8_t buf[M6IKE_PFKEY_WIRE_MAX_MSG];
  for (int i = 0; i < MAX_CONN; i++) {
    conn *c = &d->c[i];
    while (c->fd >= 0 && c->ep && m6ike_pfkey_bus_pending(d->bus, c->ep)) {
      int n = m6ike_pfkey_bus_recv(d->bus, c->ep, buf, sizeof(buf));
      if (n <= 0) {
        break;
      }
      if (send(c->fd, buf, (size_t)n, MSG_NOSIGNAL) != n) {
        drop_conn(d, c, "write failed");
        break;
      }
    }
  }
}

static void on_conn(daemon_s *d, conn *c) {
  uint8_t buf[M6IKE_PFKEY_WIRE_MAX_MSG + 16];
  ssize_t r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
  m6ike_pfkey_wire_kind kind;
  const uint8_t *msg;
  size_t mlen;
  int rv;
  if (r == 0) {
    drop_conn(d, c, "closed by peer");
    return;
  }
  if (r < 0) {
    return;
  }
  if ((size_t)r > sizeof(buf)) {
    drop_conn(d, c, "record too long");
    return;
  }
  rv = m6ike_pfkey_wire_decode(&c->dec, buf, (size_t)r, &kind, &msg, &mlen);
  if (rv < 0) {
    emit(d, "REFUSED ep=%u reason=\"%s\"", c->ep, m6ike_strerror(rv));
    drop_conn(d, c, "framing");
    return;
  }
  if (kind == M6IKE_PFKEY_WIRE_HELLO) {
    rv = m6ike_pfkey_bus_open(d->bus, c->dec.hello.role, c->dec.hello.pid,
                              NULL, NULL, &c->ep);
    if (rv < 0) {
      drop_conn(d, c, "bus open failed");
      return;
    }
    emit(d, "CONNECT ep=%u role=%s pid=%d uid=%d", c->ep,
         c->dec.hello.role == M6IKE_PFKEY_ROLE_KEY_MANAGER ? "key_manager"
                                                           : "mobility",
         (int)c->cred.pid, (int)c->cred.uid);
    return;
  }
  rv = m6ike_pfkey_bus_send(d->bus, c->ep, msg, mlen, now_ns());
  emit(d, "PFKEY ep=%u type=%u len=%zu result=%d%s%s", c->ep, msg[1], mlen,
       rv, rv < 0 ? " reason=" : "", rv < 0 ? m6ike_strerror(rv) : "");
}

static void on_accept(daemon_s *d) {
  int fd = accept4(d->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  socklen_t cl = sizeof(struct ucred);
  int i;
  if (fd < 0) {
    return;
  }
  for (i = 0; i < MAX_CONN && d->c[i].fd >= 0; i++) {
  }
  if (i == MAX_CONN) {
    close(fd);
    emit(d, "REFUSED reason=\"too many connections\"");
    return;
  }
  memset(&d->c[i], 0, sizeof(d->c[i]));
  d->c[i].fd = fd;
  getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &d->c[i].cred, &cl);
  m6ike_pfkey_wire_decoder_init(&d->c[i].dec, M6IKE_PFKEY_WIRE_SEQPACKET, 1,
                                0);
}

int main(int argc, char **argv) {
  static daemon_s d;
  const char *path = NULL, *msrd = NULL, *events = NULL;
  struct sockaddr_un sa;
  m6ike_ipsec_config ic;
  m6ike_pfkey_bus_config bc;
  struct sigaction sg;
  int rv;
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) {
      fprintf(stderr, PROG ": %s: needs a value\n", argv[i]);
      return 2;
    }
    if (!strcmp(argv[i], "--socket")) {
      path = argv[i + 1];
    } else if (!strcmp(argv[i], "--msrd")) {
      msrd = argv[i + 1];
    } else if (!strcmp(argv[i], "--events")) {
      events = argv[i + 1];
    } else {
      fprintf(stderr, PROG ": %s: unknown option\n", argv[i]);
      return 2;
    }
  }
  if (!path) {
    fprintf(stderr, PROG ": --socket: missing\n");
    return 2;
  }
  if (strlen(path) >= sizeof(sa.sun_path)) {
    fprintf(stderr, PROG ": --socket: path too long\n");
    return 2;
  }
  d.ev = events ? fopen(events, "a") : stdout;
  if (!d.ev) {
    fprintf(stderr, PROG ": --events %s: %s\n", events, strerror(errno));
    return 2;
  }
  for (int i = 0; i < MAX_CONN; i++) {
    d.c[i].fd = -1;
  }
  if (msrd) {
    rv = m6e_msrd_shm_attach(&d.msrd, msrd);
    if (rv != 0) {
      fprintf(stderr, PROG ": --msrd %s: %s\n", msrd,
              rv > -4096 && rv < 0 && rv != -1 ? strerror(-rv)
                                               : m6ike_strerror(rv));
      return 1;
    }
    d.have_msrd = 1;
  }
  if ((rv = m6ike_crypto_openssl_new(&d.crypto, NULL)) != 0) {
    fprintf(stderr, PROG ": crypto: %s\n", m6ike_strerror(rv));
    return 1;
  }
  memset(&ic, 0, sizeof(ic));
  ic.crypto = d.crypto;
  ic.rand = os_rand;
  if ((rv = m6ike_ipsec_new(&d.ipsec, &ic, NULL)) != 0) {
    fprintf(stderr, PROG ": ipsec: %s\n", m6ike_strerror(rv));
    return 1;
  }
  memset(&bc, 0, sizeof(bc));
  m6ike_ipsec_kernel_cbs(d.ipsec, &bc.kernel);
  if (d.have_msrd) {
    bc.mpi_valid = mpi_valid;
    bc.mpi_user_data = &d;
  }
  if ((rv = m6ike_pfkey_bus_new(&d.bus, &bc, NULL)) != 0) {
    fprintf(stderr, PROG ": bus: %s\n", m6ike_strerror(rv));
    return 1;
  }
  m6ike_ipsec_set_bus(d.ipsec, d.bus);

  d.lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, strlen(path));
  unlink(path);
  {
    mode_t old = umask(0177);
    rv = d.lfd < 0 ? -1 : bind(d.lfd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
  }
  if (rv != 0 || listen(d.lfd, 8) != 0) {
    fprintf(stderr, PROG ": --socket %s: %s\n", path, strerror(errno));
    return 1;
  }
  memset(&sg, 0, sizeof(sg));
  sg.sa_handler = on_signal;
  sigaction(SIGTERM, &sg, NULL);
  sigaction(SIGINT, &sg, NULL);
  signal(SIGPIPE, SIG_IGN);
  emit(&d, "READY socket=%s msrd=%s", path, msrd ? msrd : "-");

  while (!g_stop) {
    struct pollfd p[MAX_CONN + 1];
    int idx[MAX_CONN + 1], n = 0;
    p[n].fd = d.lfd;
    p[n].events = POLLIN;
    idx[n++] = -1;
    for (int i = 0; i < MAX_CONN; i++) {
      if (d.c[i].fd >= 0) {
        p[n].fd = d.c[i].fd;
        p[n].events = POLLIN;
        idx[n++] = i;
      }
    }
    if (poll(p, (nfds_t)n, 1000) < 0) {
      continue;
    }
    for (int k = 0; k < n; k++) {
      if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR))) {
        continue;
      }
      if (idx[k] < 0) {
        on_accept(&d);
      } else if (d.c[idx[k]].fd >= 0) {
        on_conn(&d, &d.c[idx[k]]);
      }
    }
    flush_all(&d);
  }
  for (int i = 0; i < MAX_CONN; i++) {
    if (d.c[i].fd >= 0) {
      drop_conn(&d, &d.c[i], "exit");
    }
  }
  close(d.lfd);
  unlink(path);
  m6ike_pfkey_bus_del(d.bus);
  m6ike_ipsec_del(d.ipsec);
  m6ike_crypto_del(d.crypto);
  if (d.have_msrd) {
    m6e_msrd_shm_close(&d.msrd);
  }
  emit(&d, "EXIT");
  return 0;
}
