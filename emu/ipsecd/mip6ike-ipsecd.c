/*
 * mip6ike-ipsecd: the IPsec "kernel" of one node in the three-daemon
 * architecture (ISSUE5-PLAN.md): the SPD/SAD and ESP (m6ike_ipsec), the
 * kernel side of the PF_KEY bus, and the userspace data path.
 *
 *   mip6ike-ipsecd --socket PATH [--msrd SHM_NAME] [--events FILE]
 *                  [--tun NAME --mh PATH [--role mn|ha] [--hoa ADDR]
 *                   [--keylog-esp FILE]] [--kernel-acquire]
 *
 * PF_KEY.  An m6ike_pfkey_bus whose kernel side is the m6ike_ipsec (SA and
 * policy management messages are answered by it, as af_key would).  It
 * listens on a SOCK_SEQPACKET socket PATH (mode 0600; created, and removed
 * at exit); each accepted connection must start with the pfkey_wire HELLO
 * naming its role (KEY_MANAGER or MOBILITY) and becomes one bus endpoint;
 * then every record is one RFC 2367 message, handed to the bus, which
 * enforces what the role may send (a refusal comes back to the sender as
 * the message's header with sadb_msg_errno set, as from a kernel); what
 * the bus queues for an endpoint is written to its connection.  A
 * connection that breaks the framing is closed.  The peer's credentials
 * (SO_PEERCRED) are logged with its role.  With --msrd, the MSRD in shared
 * memory (emu/shm) is attached read-only (at start, or at the first
 * Reference if mipd has not created it yet) and the bus checks an
 * ACQUIRE's Reference against it (paper §IV).  Refusals are counted (STATS
 * pfkey_refused, pfkey_framing) and logged (REFUSED / PFKEY result<0).
 *
 * DATA PATH (--tun, --mh).  This kernel has no ESP and no Mobile IPv6, so
 * ipsecd stands in for both (the I/O is emu/netio's, as in noded):
 *  - TUN device NAME (created here, before mipd starts): MN: the HoA lives
 *    on it (mipd puts it there) and a source rule sends the HoA's traffic
 *    into it; HA: mipd's /128 routes for registered HoAs point into it.
 *    Each packet read from it goes through m6ike_ipsec_output (the SPD's
 *    tunnel policies, installed by mipd over PF_KEY) and leaves as ESP
 *    through a raw IPPROTO_RAW socket; a packet no policy protects is
 *    dropped (nothing leaves the tunnel unprotected).
 *  - in: an AF_PACKET socket sees every IPv6 packet whole (HAO, RH2
 *    included) before netfilter; ESP (50) and Mobility Header (135)
 *    packets go through m6ike_ipsec_input (SAD, ICV, replay, the inbound
 *    SPD: a BU/BA that must be protected and is not is dropped here);
 *    a tunnelled inner packet is written to the TUN device, an MH (after
 *    ESP, or plaintext where no policy asks for ESP) goes to mipd.  The
 *    runner's nftables rule drops these packets at prerouting so that the
 *    kernel does not answer the HAO and RH2 it does not know.
 *  - MH socket PATH (SOCK_SEQPACKET, mode 0600, one client: mipd): every
 *    record is an 8-octet header and, for packets, a whole IPv6 packet:
 *      octet 0 kind: 1 SEND (mipd -> ipsecd: send this packet through the
 *        SPD), 2 RECEIVED (ipsecd -> mipd: an MH packet that arrived),
 *        3 SENT (ipsecd -> mipd: the outcome of the oldest SEND, no
 *        packet)
 *      octet 1 flags: RECEIVED: bit 0 = it came under ESP
 *      octets 2-3 zero
 *      octets 4-7 status, int32 host order: SENT: 0 if it left, or the
 *        negative m6ike code of IPsec's drop (e.g. IPsec ACQUIRE:
 *        no SA yet), or 1 when the raw socket could not send it;
 *        RECEIVED: 0
 *    A record from mipd that is not a SEND of a plausible IPv6 packet is
 *    counted (STATS mh_malformed), logged (DROP reason=...) and dropped.
 *  - ESP key log (--keylog-esp): one Wireshark esp_sa line per SA added
 *    through PF_KEY, and one more whenever an SA's addresses change
 *    (MIGRATE, direct update), so the whole capture decrypts.
 *
 * ACQUIRE.  As in the one-process agent, the kernel's ACQUIRE for a move
 * is sent by the mobility side (mobility.h as_kernel) and broadcast by
 * the bus; a packet dropped for want of an SA adds none, unless
 * --kernel-acquire (then m6ike_ipsec sends one per policy and hold-down,
 * as Linux would; a stock key manager restarts its negotiation on each).
 *
 * Events (stdout or --events): "T EVENT key=value..." as mip6ike-noded:
 * READY, CONNECT, DISCONNECT, REFUSED, PFKEY, DROP, HOST_ERROR, STATS,
 * EXIT.
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
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "m6ike/crypto_openssl.h"
#include "m6ike/ipsec.h"
#include "m6ike/pfkey_bus.h"
#include "m6ike/pfkey_wire.h"
#include "msrd-shm.h"
#include "netio.h"
#include "mhsock.h"

#define PROG "mip6ike-ipsecd"
#define MAX_CONN 16
#define MAX_SPIS 64
#define BUF_MAX 65600

typedef struct conn {
  int fd;
  m6ike_pfkey_ep ep; /* 0 until the HELLO */
  m6ike_pfkey_wire_decoder dec;
  struct ucred cred;
} conn;

typedef struct logged_sa {
  uint32_t spi;
  m6ike_addr6 src, dst;
} logged_sa;

typedef struct dstats {
  uint64_t pfkey_msgs, pfkey_refused, pfkey_framing;
  uint64_t tun_in, esp_out, esp_in, tun_out, mh_in, mh_out, mh_to_mipd;
  uint64_t drop_no_sa, drop_esp, drop_policy, drop_bypass, drop_malformed;
  uint64_t mh_malformed, drop_send, drop_no_mipd;
} dstats;

typedef struct daemon_s {
  m6ike_pfkey_bus *bus;
  m6ike_ipsec *ipsec;
  m6ike_crypto *crypto;
  m6e_msrd_shm msrd;
  const char *msrd_name;
  int have_msrd;
  int lfd;
  conn c[MAX_CONN];
  FILE *ev, *kl_esp;
  /* data path */
  const char *tun_name, *mh_path;
  int mn; /* role mn: only the HoA's own traffic is tunnelled */
  m6ike_addr6 hoa;
  int tun_fd, tun_ifindex, pkt_fd, raw_fd, mh_lfd, mh_fd;
  logged_sa spis[MAX_SPIS];
  size_t nspis;
  dstats st;
} daemon_s;

static volatile sig_atomic_t g_stop;

#define emit(d, ...) m6e_emit((d)->ev, m6e_now_ns(), __VA_ARGS__)

static int os_rand(uint8_t *dest, size_t len, void *ud) {
  (void)ud;
  return getrandom(dest, len, 0) == (ssize_t)len ? 0 : -1;
}

/* The MSRD is mipd's, and mipd starts after ipsecd: attach on first use. */
static int attach_msrd(daemon_s *d) {
  int rv;
  if (d->have_msrd || !d->msrd_name) {
    return d->have_msrd;
  }
  rv = m6e_msrd_shm_attach(&d->msrd, d->msrd_name);
  if (rv == 0) {
    d->have_msrd = 1;
    emit(d, "MSRD_ATTACHED name=%s", d->msrd_name);
  }
  return d->have_msrd;
}

static int mpi_valid(uint32_t mpi, void *ud) {
  daemon_s *d = ud;
  m6ike_msrd_entry e;
  if (!attach_msrd(d)) {
    return 0;
  }
  if (m6ike_msrd_lookup_mpi(d->msrd.r, mpi, &e, NULL) == 0) {
    return 1;
  }
  /* Not in our mapping: a restarted mipd may have replaced a crashed
   * one's segment (msrd-shm.h); attach again and look once more. */
  m6e_msrd_shm_close(&d->msrd);
  d->have_msrd = 0;
  return attach_msrd(d) &&
         m6ike_msrd_lookup_mpi(d->msrd.r, mpi, &e, NULL) == 0;
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

/* esp_sa lines: for every SA added through PF_KEY, and again each time
 * its addresses change (the old line stays valid for older packets). */
static void keylog_sa(daemon_s *d, logged_sa *l) {
  char line[1024];
  m6ike_ipsec_sa_info info;
  if (m6ike_ipsec_sa_get(d->ipsec, l->spi, NULL, &info) != 0) {
    return;
  }
  if (m6ike_addr6_equal(&info.src, &l->src) &&
      m6ike_addr6_equal(&info.dst, &l->dst)) {
    return;
  }
  l->src = info.src;
  l->dst = info.dst;
  if (d->kl_esp && m6ike_ipsec_sa_format_wireshark(d->ipsec, l->spi,
                                                   &info.dst, line,
                                                   sizeof(line)) > 0) {
    fputs(line, d->kl_esp);
    fflush(d->kl_esp);
  }
}

static void track_sa(daemon_s *d, const uint8_t *msg, size_t len) {
  m6ike_pfkey_msg m;
  m6ike_pfkey_sa sa;
  size_t i;
  if (m6ike_pfkey_decode(&m, msg, len, M6IKE_PFKEY_DEC_LENIENT) < 0 ||
      m6ike_pfkey_get_sa(&m, &sa) != 0) {
    return;
  }
  for (i = 0; i < d->nspis && d->spis[i].spi != sa.spi; i++) {
  }
  if (i == d->nspis && d->nspis < MAX_SPIS) {
    memset(&d->spis[i], 0, sizeof(d->spis[i]));
    d->spis[i].spi = sa.spi;
    d->nspis++;
  }
}

static void keylog_all(daemon_s *d) {
  for (size_t i = 0; i < d->nspis; i++) {
    keylog_sa(d, &d->spis[i]);
  }
}

/* One record of connection c; 0 when nothing was waiting or c closed. */
static int on_conn1(daemon_s *d, conn *c) {
  static uint8_t buf[M6IKE_PFKEY_WIRE_MAX_MSG + 16];
  ssize_t r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
  m6ike_pfkey_wire_kind kind;
  const uint8_t *msg;
  size_t mlen;
  int rv;
  if (r == 0) {
    drop_conn(d, c, "closed by peer");
    return 0;
  }
  if (r < 0) {
    return 0;
  }
  if ((size_t)r > sizeof(buf)) {
    d->st.pfkey_framing++;
    emit(d, "REFUSED ep=%u reason=\"record of %zd octets too long\"", c->ep,
         r);
    drop_conn(d, c, "record too long");
    return 0;
  }
  rv = m6ike_pfkey_wire_decode(&c->dec, buf, (size_t)r, &kind, &msg, &mlen);
  if (rv < 0) {
    d->st.pfkey_framing++;
    emit(d, "REFUSED ep=%u reason=\"%s\"", c->ep, m6ike_strerror(rv));
    drop_conn(d, c, "framing");
    return 0;
  }
  if (kind == M6IKE_PFKEY_WIRE_HELLO) {
    if (c->ep) {
      d->st.pfkey_framing++;
      emit(d, "REFUSED ep=%u reason=\"second HELLO\"", c->ep);
      drop_conn(d, c, "framing");
      return 0;
    }
    rv = m6ike_pfkey_bus_open(d->bus, c->dec.hello.role, c->dec.hello.pid,
                              NULL, NULL, &c->ep);
    if (rv < 0) {
      drop_conn(d, c, "bus open failed");
      return 0;
    }
    emit(d, "CONNECT ep=%u role=%s pid=%d uid=%d", c->ep,
         c->dec.hello.role == M6IKE_PFKEY_ROLE_KEY_MANAGER ? "key_manager"
                                                           : "mobility",
         (int)c->cred.pid, (int)c->cred.uid);
    return 1;
  }
  d->st.pfkey_msgs++;
  rv = m6ike_pfkey_bus_send(d->bus, c->ep, msg, mlen, m6e_now_ns());
  if (rv < 0) {
    d->st.pfkey_refused++;
  }
  emit(d, "PFKEY ep=%u type=%u len=%zu result=%d%s%s%s", c->ep, msg[1], mlen,
       rv, rv < 0 ? " reason=\"" : "", rv < 0 ? m6ike_strerror(rv) : "",
       rv < 0 ? "\"" : "");
  if (rv >= 0 && (msg[1] == M6IKE_SADB_ADD || msg[1] == M6IKE_SADB_UPDATE)) {
    track_sa(d, msg, mlen);
  }
  keylog_all(d);
  return 1;
}

/* Every record waiting on c (a key manager's burst is applied as one, as
 * the kernel would have applied its synchronous calls). */
static void on_conn(daemon_s *d, conn *c) {
  while (c->fd >= 0 && on_conn1(d, c)) {
  }
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

/* ---- data path ------------------------------------------------------------ */

static void count_drop(daemon_s *d, int rv) {
  if (rv == M6IKE_ERR_IPSEC_ACQUIRE || rv == M6IKE_ERR_IPSEC_NO_SA ||
      rv == M6IKE_ERR_IPSEC_LARVAL) {
    d->st.drop_no_sa++;
  } else if (rv == M6IKE_ERR_IPSEC_POLICY || rv == M6IKE_ERR_IPSEC_DISCARD) {
    d->st.drop_policy++;
  } else if (rv <= -700 && rv > -800) {
    d->st.drop_esp++;
  } else {
    d->st.drop_malformed++;
  }
}

static void drop_ev(daemon_s *d, const char *where, const uint8_t *pkt,
                    size_t len, int rv) {
  char s[INET6_ADDRSTRLEN] = "?", t[INET6_ADDRSTRLEN] = "?";
  if (len >= 40) {
    inet_ntop(AF_INET6, pkt + 8, s, sizeof(s));
    inet_ntop(AF_INET6, pkt + 24, t, sizeof(t));
  }
  emit(d, "DROP where=%s src=%s dst=%s len=%zu status=%d reason=\"%s\"",
       where, s, t, len, rv, m6ike_strerror(rv));
}

/* Protects pkt by the SPD and sends it.  Returns 0 (sent), IPsec's
 * negative drop code, or 1 (the raw socket could not send it): the SENT
 * status mipd gets. */
static int send_out(daemon_s *d, const char *where, const uint8_t *pkt,
                    size_t len, int tunnel) {
  static uint8_t out[BUF_MAX + 512];
  int rv = m6ike_ipsec_output(d->ipsec, pkt, len, out, sizeof(out),
                              m6e_now_ns());
  if (rv < 0) {
    count_drop(d, rv);
    drop_ev(d, where, pkt, len, rv);
    return rv;
  }
  if (tunnel && m6e_upper_proto(out, (size_t)rv) != 50) {
    /* nothing leaves the tunnel unprotected */
    d->st.drop_bypass++;
    drop_ev(d, where, pkt, len, M6IKE_ERR_IPSEC_POLICY);
    return M6IKE_ERR_IPSEC_POLICY;
  }
  if (m6e_send_ip6(d->raw_fd, out, (size_t)rv) != 0) {
    d->st.drop_send++;
    emit(d, "HOST_ERROR send_ip6 err=\"%s\"", strerror(errno));
    return 1; /* SENT status > 0: the host could not send it */
  }
  if (m6e_upper_proto(out, (size_t)rv) == 50) {
    d->st.esp_out++;
  }
  return 0;
}

static void on_tun(daemon_s *d) {
  static uint8_t buf[BUF_MAX];
  for (;;) {
    ssize_t r = read(d->tun_fd, buf, sizeof(buf));
    if (r <= 0) {
      return;
    }
    if (r < 40 || (buf[0] >> 4) != 6) {
      continue;
    }
    /* The kernel's own chatter on the TUN device (router solicitations,
     * MLD: link-local source or multicast destination) is not tunnelled;
     * MN: only the HoA's own traffic is reverse-tunnelled. */
    if (buf[24] == 0xff || (buf[8] == 0xfe && (buf[9] & 0xc0) == 0x80) ||
        (d->mn && memcmp(buf + 8, d->hoa.b, 16))) {
      continue;
    }
    d->st.tun_in++;
    send_out(d, "tun", buf, (size_t)r, 1);
  }
}

static void to_mipd(daemon_s *d, const uint8_t *pkt, size_t len, int esp) {
  if (d->mh_fd < 0) {
    d->st.drop_no_mipd++;
    drop_ev(d, "no_mipd", pkt, len, M6IKE_ERR_INVALID_ARGUMENT);
    return;
  }
  if (m6e_mhsock_send(d->mh_fd, M6E_MH_RECEIVED, esp ? M6E_MH_F_ESP : 0,
                      0, pkt, len) != 0) {
    emit(d, "HOST_ERROR mh_send err=\"%s\"", strerror(errno));
    return;
  }
  d->st.mh_to_mipd++;
}

static void on_packet(daemon_s *d) {
  static uint8_t buf[BUF_MAX], out[BUF_MAX];
  ssize_t r;
  int ifindex;
  while ((r = m6e_packet_recv(d->pkt_fd, buf, sizeof(buf), &ifindex)) >= 0) {
    int up, rv, esp;
    if (r < 40 || (buf[0] >> 4) != 6 || ifindex == d->tun_ifindex ||
        buf[24] == 0xff) {
      continue;
    }
    up = m6e_upper_proto(buf, (size_t)r);
    if (up != 50 && up != 135) {
      continue;
    }
    esp = up == 50;
    if (esp) {
      d->st.esp_in++;
    } else {
      d->st.mh_in++;
    }
    rv = m6ike_ipsec_input(d->ipsec, buf, (size_t)r, out, sizeof(out),
                           m6e_now_ns());
    if (rv < 0) {
      count_drop(d, rv);
      drop_ev(d, esp ? "esp_in" : "mh_in", buf, (size_t)r, rv);
      continue;
    }
    if (m6e_upper_proto(out, (size_t)rv) == 135) {
      to_mipd(d, out, (size_t)rv, esp);
    } else if (esp) {
      if (write(d->tun_fd, out, (size_t)rv) == rv) {
        d->st.tun_out++;
      } else {
        d->st.drop_send++;
      }
    }
  }
}

static void on_mh_accept(daemon_s *d) {
  int fd = accept4(d->mh_lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) {
    return;
  }
  if (d->mh_fd >= 0) {
    emit(d, "REFUSED reason=\"a second MH client\"");
    close(fd);
    return;
  }
  d->mh_fd = fd;
  emit(d, "MH_CONNECT");
}

static void on_mh(daemon_s *d) {
  static uint8_t buf[BUF_MAX + 16];
  for (;;) {
    m6e_mhsock_hdr h;
    const uint8_t *pkt;
    size_t len;
    int rv;
    ssize_t r =
        m6e_mhsock_recv(d->mh_fd, buf, sizeof(buf), &h, &pkt, &len, &rv);
    if (r == 0) {
      emit(d, "MH_DISCONNECT");
      close(d->mh_fd);
      d->mh_fd = -1;
      return;
    }
    if (r < 0) {
      return;
    }
    if (rv == 0 && h.kind != M6E_MH_SEND) {
      rv = M6E_MH_EKIND;
    }
    if (rv != 0) {
      d->st.mh_malformed++;
      emit(d, "DROP where=mh_sock len=%zd reason=\"%s\"", r,
           m6e_mhsock_strerror(rv));
      m6e_mhsock_send(d->mh_fd, M6E_MH_SENT, 0, 1, NULL, 0);
      continue;
    }
    d->st.mh_out++;
    rv = send_out(d, "mh_out", pkt, len, 0);
    if (rv == 0) {
      /* when the MH really left (after IPsec): mipd stamps its BU_SENT
       * before handing the packet over, and PF_KEY messages queued
       * meanwhile may have been applied first */
      emit(d, "MH_OUT len=%zu", len);
    }
    m6e_mhsock_send(d->mh_fd, M6E_MH_SENT, 0, rv, NULL, 0);
  }
}

static int listen_unix(const char *path) {
  struct sockaddr_un sa;
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0),
      rv;
  mode_t old;
  if (fd < 0) {
    return -1;
  }
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, strlen(path));
  unlink(path);
  old = umask(0177);
  rv = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
  umask(old);
  if (rv != 0 || listen(fd, 8) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: " PROG " --socket PATH [--msrd SHM_NAME] [--events FILE]\n"
          "         [--tun NAME --mh PATH [--role mn|ha] [--hoa ADDR]\n"
          "          [--keylog-esp FILE]] [--kernel-acquire]\n"
          "The IPsec \"kernel\" of one node: SPD/SAD/ESP, the PF_KEY bus on\n"
          "a Unix socket, and (--tun) the userspace ESP data path with the\n"
          "Mobility Header socket to mip6ike-mipd.\n");
}

static void print_stats(daemon_s *d) {
  m6ike_pfkey_bus_stats bs;
  m6ike_pfkey_bus_get_stats(d->bus, &bs);
  emit(d,
       "STATS pfkey_msgs=%llu pfkey_refused=%llu pfkey_framing=%llu "
       "bus_refused_decode=%llu bus_refused_role=%llu tun_in=%llu "
       "esp_out=%llu esp_in=%llu tun_out=%llu mh_in=%llu mh_out=%llu "
       "mh_to_mipd=%llu drop_no_sa=%llu drop_esp=%llu drop_policy=%llu "
       "drop_bypass=%llu drop_malformed=%llu mh_malformed=%llu "
       "drop_send=%llu drop_no_mipd=%llu",
       (unsigned long long)d->st.pfkey_msgs,
       (unsigned long long)d->st.pfkey_refused,
       (unsigned long long)d->st.pfkey_framing,
       (unsigned long long)bs.refused_decode,
       (unsigned long long)bs.refused_role, (unsigned long long)d->st.tun_in,
       (unsigned long long)d->st.esp_out, (unsigned long long)d->st.esp_in,
       (unsigned long long)d->st.tun_out, (unsigned long long)d->st.mh_in,
       (unsigned long long)d->st.mh_out,
       (unsigned long long)d->st.mh_to_mipd,
       (unsigned long long)d->st.drop_no_sa,
       (unsigned long long)d->st.drop_esp,
       (unsigned long long)d->st.drop_policy,
       (unsigned long long)d->st.drop_bypass,
       (unsigned long long)d->st.drop_malformed,
       (unsigned long long)d->st.mh_malformed,
       (unsigned long long)d->st.drop_send,
       (unsigned long long)d->st.drop_no_mipd);
}

int main(int argc, char **argv) {
  static daemon_s d;
  const char *path = NULL, *msrd = NULL, *events = NULL, *kl = NULL;
  int kernel_acquire = 0;
  m6ike_ipsec_config ic;
  m6ike_pfkey_bus_config bc;
  int rv;
  d.tun_fd = d.pkt_fd = d.raw_fd = d.mh_lfd = d.mh_fd = -1;
  for (int i = 1; i < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "-h") || !strcmp(k, "--help")) {
      usage(stdout);
      return 0;
    }
    if (!strcmp(k, "--kernel-acquire")) {
      kernel_acquire = 1;
      i--;
      continue;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, PROG ": %s: needs a value\n", k);
      return 2;
    }
    if (!strcmp(k, "--socket")) {
      path = v;
    } else if (!strcmp(k, "--msrd")) {
      msrd = v;
    } else if (!strcmp(k, "--events")) {
      events = v;
    } else if (!strcmp(k, "--tun")) {
      if (strlen(v) >= IFNAMSIZ) {
        fprintf(stderr, PROG ": --tun: interface name too long\n");
        return 2;
      }
      d.tun_name = v;
    } else if (!strcmp(k, "--mh")) {
      d.mh_path = v;
    } else if (!strcmp(k, "--keylog-esp")) {
      kl = v;
    } else if (!strcmp(k, "--role")) {
      if (strcmp(v, "mn") && strcmp(v, "ha")) {
        fprintf(stderr, PROG ": --role: must be mn or ha\n");
        return 2;
      }
      d.mn = !strcmp(v, "mn");
    } else if (!strcmp(k, "--hoa")) {
      if (m6ike_addr6_parse(&d.hoa, v) != 0) {
        fprintf(stderr, PROG ": --hoa: not an IPv6 address\n");
        return 2;
      }
    } else {
      fprintf(stderr, PROG ": %s: unknown option\n", k);
      return 2;
    }
  }
  if (!path) {
    fprintf(stderr, PROG ": --socket: missing\n");
    return 2;
  }
  if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path) ||
      (d.mh_path &&
       strlen(d.mh_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))) {
    fprintf(stderr, PROG ": --socket/--mh: path too long\n");
    return 2;
  }
  if (!d.tun_name != !d.mh_path) {
    fprintf(stderr, PROG ": --tun and --mh go together\n");
    return 2;
  }
  if (d.mn && m6ike_addr6_is_unspecified(&d.hoa)) {
    fprintf(stderr, PROG ": --hoa: missing (role mn)\n");
    return 2;
  }
  d.ev = events ? fopen(events, "a") : stdout;
  if (!d.ev) {
    fprintf(stderr, PROG ": --events %s: %s\n", events, strerror(errno));
    return 2;
  }
  if (kl && !(d.kl_esp = fopen(kl, "a"))) {
    fprintf(stderr, PROG ": --keylog-esp %s: %s\n", kl, strerror(errno));
    return 2;
  }
  for (int i = 0; i < MAX_CONN; i++) {
    d.c[i].fd = -1;
  }
  /* --msrd: attached now if it exists, else at the first Reference
   * (mipd, which creates it, starts after ipsecd). */
  d.msrd_name = msrd;
  if (msrd) {
    rv = m6e_msrd_shm_attach(&d.msrd, msrd);
    if (rv == 0) {
      d.have_msrd = 1;
    } else if (rv != -ENOENT) {
      fprintf(stderr, PROG ": --msrd %s: %s\n", msrd,
              rv > -4096 && rv < 0 && rv != -1 ? strerror(-rv)
                                               : m6ike_strerror(rv));
      return 1;
    }
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
  if (d.msrd_name) {
    bc.mpi_valid = mpi_valid;
    bc.mpi_user_data = &d;
  }
  /* mipd learns "the SA is up" from the key-less copies of ADD/UPDATE. */
  bc.sa_notify = 1;
  if ((rv = m6ike_pfkey_bus_new(&d.bus, &bc, NULL)) != 0) {
    fprintf(stderr, PROG ": bus: %s\n", m6ike_strerror(rv));
    return 1;
  }
  /* The kernel's own ACQUIRE (an outbound PROTECT policy without an SA)
   * is the mobility side's as_kernel ACQUIRE in this model (mobility.h:
   * it is where the move is known), exactly as in the one-process agent,
   * whose ipsec object has no bus: a packet IPsec drops for want of an SA
   * sends nothing more unless --kernel-acquire asks for a kernel that does
   * both. */
  if (kernel_acquire) {
    m6ike_ipsec_set_bus(d.ipsec, d.bus);
  }

  if (d.tun_name) {
    d.tun_fd = m6e_open_tun(d.tun_name);
    if (d.tun_fd < 0) {
      fprintf(stderr, PROG ": --tun: cannot create '%s': %s\n", d.tun_name,
              strerror(errno));
      return 1;
    }
    d.tun_ifindex = (int)if_nametoindex(d.tun_name);
    d.pkt_fd = m6e_open_packet();
    d.raw_fd = m6e_open_raw();
    if (d.pkt_fd < 0 || d.raw_fd < 0) {
      fprintf(stderr, PROG ": packet/raw sockets (root?): %s\n",
              strerror(errno));
      return 1;
    }
    if ((d.mh_lfd = listen_unix(d.mh_path)) < 0) {
      fprintf(stderr, PROG ": --mh %s: %s\n", d.mh_path, strerror(errno));
      return 1;
    }
  }
  if ((d.lfd = listen_unix(path)) < 0) {
    fprintf(stderr, PROG ": --socket %s: %s\n", path, strerror(errno));
    return 1;
  }
  m6e_stop_signals(&g_stop, -1);
  emit(&d, "READY socket=%s msrd=%s tun=%s mh=%s", path, msrd ? msrd : "-",
       d.tun_name ? d.tun_name : "-", d.mh_path ? d.mh_path : "-");

  while (!g_stop) {
    struct pollfd p[MAX_CONN + 6];
    int idx[MAX_CONN + 6], n = 0, timeout = 1000;
    m6ike_tstamp exp = m6ike_ipsec_get_expiry(d.ipsec), t = m6e_now_ns();
    if (exp != M6IKE_TSTAMP_UNSET) {
      m6ike_tstamp ms = exp <= t ? 0 : (exp - t) / 1000000u + 1;
      timeout = ms < 1000 ? (int)ms : 1000;
    }
#define ADD_FD(f, tag)                                                         \
  do {                                                                         \
    if ((f) >= 0) {                                                            \
      p[n].fd = (f);                                                           \
      p[n].events = POLLIN;                                                    \
      p[n].revents = 0;                                                        \
      idx[n++] = (tag);                                                        \
    }                                                                          \
  } while (0)
    ADD_FD(d.lfd, -1);
    ADD_FD(d.tun_fd, -2);
    ADD_FD(d.pkt_fd, -3);
    ADD_FD(d.mh_lfd, -4);
    ADD_FD(d.mh_fd, -5);
    for (int i = 0; i < MAX_CONN; i++) {
      ADD_FD(d.c[i].fd, i);
    }
#undef ADD_FD
    if (poll(p, (nfds_t)n, timeout) < 0) {
      continue;
    }
    for (int k = 0; k < n; k++) {
      if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR))) {
        continue;
      }
      switch (idx[k]) {
      case -1: on_accept(&d); break;
      case -2: on_tun(&d); break;
      case -3: on_packet(&d); break;
      case -4: on_mh_accept(&d); break;
      case -5:
        if (d.mh_fd >= 0) {
          on_mh(&d);
        }
        break;
      default:
        if (d.c[idx[k]].fd >= 0) {
          on_conn(&d, &d.c[idx[k]]);
        }
      }
    }
    t = m6e_now_ns();
    exp = m6ike_ipsec_get_expiry(d.ipsec);
    if (exp != M6IKE_TSTAMP_UNSET && exp <= t) {
      m6ike_ipsec_handle_expiry(d.ipsec, t);
    }
    flush_all(&d);
  }
  print_stats(&d);
  for (int i = 0; i < MAX_CONN; i++) {
    if (d.c[i].fd >= 0) {
      drop_conn(&d, &d.c[i], "exit");
    }
  }
  close(d.lfd);
  unlink(path);
  if (d.mh_lfd >= 0) {
    close(d.mh_lfd);
    unlink(d.mh_path);
  }
  if (d.mh_fd >= 0) {
    close(d.mh_fd);
  }
  if (d.tun_fd >= 0) {
    close(d.tun_fd);
    close(d.pkt_fd);
    close(d.raw_fd);
  }
  m6ike_pfkey_bus_del(d.bus);
  m6ike_ipsec_del(d.ipsec);
  m6ike_crypto_del(d.crypto);
  if (d.have_msrd) {
    m6e_msrd_shm_close(&d.msrd);
  }
  if (d.kl_esp) {
    fclose(d.kl_esp);
  }
  emit(&d, "EXIT");
  return 0;
}
