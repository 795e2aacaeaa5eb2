/*
 * mip6ike-iked: the key-management daemon of the Linux runtime.
 *
 * It drives the core's sans-I/O IKEv2 engine over a UDP socket on port
 * 500: reads datagrams, hands them to the engine with the time, sends what
 * the engine queues, and sleeps until the engine's next deadline.  The
 * CHILD_SAs it negotiates are installed in a userspace SAD (the core's
 * ipsec unit: this kernel has no ESP), and with --keylog the IKE and ESP
 * keys are written in Wireshark's ikev2_decryption_table and esp_sa
 * formats so captures of a run decrypt.
 *
 * The options follow strongSwan's vocabulary (proposal syntax, identities)
 * so that it can face charon in interoperability tests:
 *
 *   mip6ike-iked --local 2001:db8:ffff::1 --remote 2001:db8:ffff::2 \
 *       --id a.example --remote-id b.example --psk-file psk \
 *       --ike-proposal aes128gcm16-prfsha256-x25519 \
 *       --esp-proposal aes128gcm16 --mode tunnel \
 *       --ts-local 2001:db8:a::/64 --ts-remote 2001:db8:b::/64 \
 *       --initiate --once --timeout 20
 *
 * With --once it exits 0 after the first CHILD_SA is up, having printed one
 * line for the IKE_SA and one for the CHILD_SA, or non-zero with the
 * reason.  Without it the daemon stays up, prints one line per SA event
 * (rekeyed, retired, deleted: emu/README.md), takes rekey and delete
 * requests from signals and a --control FIFO, rekeys on its own timers
 * (--rekey-time, --ike-rekey-time, --lifetime), and with --tun carries
 * traffic through the CHILD_SAs (ESP in UDP 4500 from and to a TUN
 * device).  The lines (tag first, then key=value words) are what the
 * interoperability harness reads (test/interop/README.md):
 *   IKE_SA ispi=… rspi=… ike=aes128gcm16-prfsha256-x25519 local=…[500] …
 *   CHILD_SA spi_in=… spi_out=… esp=aes128gcm16 mode=tunnel … ts_local=…
 */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "iked-keymgr.h"
#include "m6ike/common.h"
#include "m6ike/crypto.h"
#include "m6ike/crypto_openssl.h"
#include "m6ike/ikev2.h"
#include "m6ike/ikev2_msg.h"
#include "m6ike/ipsec.h"
#include "m6ike/proposal.h"

#define PROG "mip6ike-iked"
#define NATT_PORT 4500

typedef struct options {
  m6ike_addr6 local, remote;
  int have_local, have_remote;
  uint16_t port;
  const char *id, *remote_id, *psk_file;
  const char *cert_file, *key_file, *ca_file;
  const char *ike_proposal, *esp_proposal;
  uint8_t mode;
  const char *ts_local, *ts_remote;
  int initiate, once, verbose;
  const char *keylog_dir;
  double timeout_s;
  /* stay mode (no --once): our own lifetimes (there is no PF_KEY EXPIRE
   * from a kernel here), seconds, 0 = none */
  double rekey_s, life_s, ike_rekey_s;
  const char *control_path;
  const char *tun_name; /* --tun: ESP data path through a TUN device */
} options;

static void usage(FILE *f) {
  fprintf(f,
          "usage: " PROG " --local ADDR [--remote ADDR] --id ID "
          "[--remote-id ID]\n"
          "       --psk-file FILE | --cert FILE --key FILE --ca FILE\n"
          "       [--ike-proposal P] [--esp-proposal P]\n"
          "       [--mode transport|tunnel] [--ts-local PREFIX] "
          "[--ts-remote PREFIX]\n"
          "       [--initiate] [--once] [--keylog DIR] [--timeout SECONDS]\n"
          "       [--rekey-time S] [--lifetime S] [--ike-rekey-time S]\n"
          "       [--control FIFO] [--tun NAME] [--port N] [--verbose]\n"
          "  proposals in strongSwan syntax (defaults "
          "aes128gcm16-prfsha256-x25519 and aes128gcm16);\n"
          "  identities: an IPv6 address, user@domain (RFC 822), or an FQDN "
          "(a leading @ forces FQDN);\n"
          "  --once: exit 0 when the first CHILD_SA is up (non-zero if not "
          "within --timeout, 30 s by default);\n"
          "  without --once it stays up (--timeout: how long, default no "
          "limit, then as on SIGTERM)\n"
          "  and prints one line per event\n"
          "  (IKE_SA|CHILD_SA up/rekeyed/retired/deleted, key=value words);"
          " requests:\n"
          "    SIGUSR1 rekey the CHILD_SA, SIGUSR2 rekey the IKE_SA, SIGHUP "
          "delete the CHILD_SA,\n"
          "    SIGTERM/SIGINT delete the IKE_SA and exit 0 after the DELETE "
          "(at most 3 s; again: at once);\n"
          "    --control FIFO (created if absent) takes lines rekey-child, "
          "rekey-ike, delete-child,\n"
          "    delete-ike, status, stop.  --rekey-time / --ike-rekey-time: "
          "rekey the CHILD_SA / IKE_SA\n"
          "    that long after it came up; --lifetime: delete a CHILD_SA "
          "not rekeyed by then (0 = never).\n"
          "  --tun NAME: carry traffic: packets routed to the TUN device "
          "NAME (created, set up)\n"
          "    that match the selectors leave in ESP in UDP 4500 (RFC 3948);"
          " ESP received is\n"
          "    decrypted into it (tunnel mode; add the route to "
          "--ts-remote yourself).\n"
          "  certificates: --cert FILE --key FILE --ca FILE (PEM) instead "
          "of --psk-file.\n"
          "key-manager mode (the three-daemon architecture, emu/README.md):\n"
          "  " PROG " --pfkey PATH --msrd-shm NAME --role mn|ha --scheme S "
          "--ha ADDR\n"
          "       --home-prefix P/LEN (--psk TEXT | --psk-file F) [--hoa "
          "ADDR] [--mn HOA]\n"
          "       [--ike-proposal P] [--esp-proposal P] [--local-id ID|address]\n"
          "       [--remote-id ID|address] [--events FILE] [--keylog-ike FILE]\n"
          "       [--keylog-esp FILE]\n"
          "  " PROG " --msrd-shm NAME --selftest-write-msrd  (a reader "
          "cannot write the MSRD)\n");
}

static void die_arg(const char *opt, const char *val, const char *why) {
  fprintf(stderr, PROG ": %s: bad value '%s' (%s)\n", opt, val ? val : "",
          why);
  exit(2);
}

static int takes_value(const char *opt) {
  static const char *const names[] = {
      "--local",        "--remote",       "--port",     "--id",
      "--remote-id",    "--psk-file",     "--ike-proposal", "--esp-proposal",
      "--mode",         "--ts-local",     "--ts-remote", "--keylog",
      "--timeout",      "--cert",         "--key",      "--ca",
      "--rekey-time",   "--lifetime",     "--ike-rekey-time", "--control",
      "--tun"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    if (!strcmp(opt, names[i])) {
      return 1;
    }
  }
  return 0;
}

static int parse_options(int argc, char **argv, options *o) {
  memset(o, 0, sizeof(*o));
  o->port = 500;
  o->mode = M6IKE_IKEV2_MODE_TUNNEL;
  o->ike_proposal = "aes128gcm16-prfsha256-x25519";
  o->esp_proposal = "aes128gcm16";
  o->timeout_s = -1; /* not given */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    int takes = 1;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      exit(0);
    } else if (!strcmp(a, "--initiate")) {
      o->initiate = 1, takes = 0;
    } else if (!strcmp(a, "--once")) {
      o->once = 1, takes = 0;
    } else if (!strcmp(a, "--verbose")) {
      o->verbose = 1, takes = 0;
    } else if (!takes_value(a)) {
      fprintf(stderr, PROG ": unknown option '%s' (try --help)\n", a);
      exit(2);
    } else if (v == NULL) {
      fprintf(stderr, PROG ": %s needs a value (try --help)\n", a);
      exit(2);
    } else if (!strcmp(a, "--local")) {
      if (m6ike_addr6_parse(&o->local, v) != 0) {
        die_arg(a, v, "not an IPv6 address");
      }
      o->have_local = 1;
    } else if (!strcmp(a, "--remote")) {
      if (m6ike_addr6_parse(&o->remote, v) != 0) {
        die_arg(a, v, "not an IPv6 address");
      }
      o->have_remote = 1;
    } else if (!strcmp(a, "--port")) {
      char *end;
      long p = strtol(v, &end, 10);
      if (*end || p < 1 || p > 65535) {
        die_arg(a, v, "expected a port 1..65535");
      }
      o->port = (uint16_t)p;
    } else if (!strcmp(a, "--id")) {
      o->id = v;
    } else if (!strcmp(a, "--remote-id")) {
      o->remote_id = v;
    } else if (!strcmp(a, "--psk-file")) {
      o->psk_file = v;
    } else if (!strcmp(a, "--ike-proposal")) {
      o->ike_proposal = v;
    } else if (!strcmp(a, "--esp-proposal")) {
      o->esp_proposal = v;
    } else if (!strcmp(a, "--mode")) {
      if (!strcmp(v, "tunnel")) {
        o->mode = M6IKE_IKEV2_MODE_TUNNEL;
      } else if (!strcmp(v, "transport")) {
        o->mode = M6IKE_IKEV2_MODE_TRANSPORT;
      } else {
        die_arg(a, v, "expected transport or tunnel");
      }
    } else if (!strcmp(a, "--ts-local")) {
      o->ts_local = v;
    } else if (!strcmp(a, "--ts-remote")) {
      o->ts_remote = v;
    } else if (!strcmp(a, "--keylog")) {
      o->keylog_dir = v;
    } else if (!strcmp(a, "--timeout")) {
      char *end;
      o->timeout_s = strtod(v, &end);
      if (*end || !(o->timeout_s >= 0) || o->timeout_s > 86400) {
        die_arg(a, v, "expected seconds 0..86400");
      }
    } else if (!strcmp(a, "--rekey-time") || !strcmp(a, "--lifetime") ||
               !strcmp(a, "--ike-rekey-time")) {
      char *end;
      double x = strtod(v, &end);
      if (*end || end == v || !(x >= 0) || x > 86400 * 365) {
        die_arg(a, v, "expected seconds 0..31536000");
      }
      *(!strcmp(a, "--rekey-time") ? &o->rekey_s
        : !strcmp(a, "--lifetime") ? &o->life_s : &o->ike_rekey_s) = x;
    } else if (!strcmp(a, "--control")) {
      o->control_path = v;
    } else if (!strcmp(a, "--tun")) {
      if (strlen(v) == 0 || strlen(v) >= IFNAMSIZ || strchr(v, '/')) {
        die_arg(a, v, "not an interface name");
      }
      o->tun_name = v;
    } else if (!strcmp(a, "--cert")) {
      o->cert_file = v;
    } else if (!strcmp(a, "--key")) {
      o->key_file = v;
    } else if (!strcmp(a, "--ca")) {
      o->ca_file = v;
    }
    i += takes;
  }
  if (o->timeout_s < 0) {
    o->timeout_s = o->once ? 30 : 0;
  }
  if (!o->have_local) {
    fprintf(stderr, PROG ": --local is required\n");
    exit(2);
  }
  if (o->initiate && !o->have_remote) {
    fprintf(stderr, PROG ": --initiate needs --remote\n");
    exit(2);
  }
  if (o->id == NULL) {
    fprintf(stderr, PROG ": --id is required\n");
    exit(2);
  }
  if ((o->cert_file || o->key_file || o->ca_file) &&
      !(o->cert_file && o->key_file && o->ca_file)) {
    fprintf(stderr, PROG ": --cert, --key and --ca go together\n");
    exit(2);
  }
  if (o->life_s > 0 && o->rekey_s > 0 && o->life_s <= o->rekey_s) {
    fprintf(stderr, PROG ": --lifetime must be longer than --rekey-time\n");
    exit(2);
  }
  if (o->tun_name && (o->mode != M6IKE_IKEV2_MODE_TUNNEL || o->port != 500)) {
    fprintf(stderr, PROG ": --tun needs --mode tunnel and port 500 "
            "(ESP goes in UDP 4500)\n");
    exit(2);
  }
  if (o->psk_file == NULL && o->cert_file == NULL) {
    fprintf(stderr,
            PROG ": --psk-file or --cert/--key/--ca is required\n");
    exit(2);
  }
  return 0;
}

/* strongSwan's identity syntax, reduced to the types we support. */
static void parse_ident(m6ike_ikev2_ident *id, const char *opt,
                        const char *text) {
  m6ike_addr6 a;
  size_t len;
  memset(id, 0, sizeof(*id));
  if (text == NULL || !strcmp(text, "%any")) {
    return; /* type 0: any */
  }
  if (m6ike_addr6_parse(&a, text) == 0) {
    id->type = M6IKE_IKEV2_ID_IPV6_ADDR;
    id->len = 16;
    memcpy(id->data, a.b, 16);
    return;
  }
  if (text[0] == '@') {
    text++;
    id->type = M6IKE_IKEV2_ID_FQDN;
  } else {
    id->type =
        strchr(text, '@') ? M6IKE_IKEV2_ID_RFC822_ADDR : M6IKE_IKEV2_ID_FQDN;
  }
  len = strlen(text);
  if (len == 0 || len > M6IKE_IKEV2_ID_MAX) {
    die_arg(opt, text, "identity empty or longer than 128 octets");
  }
  id->len = (uint8_t)len;
  memcpy(id->data, text, len);
}

static void format_ident(const m6ike_ikev2_ident *id, char *buf,
                         size_t cap) {
  if (id->type == M6IKE_IKEV2_ID_IPV6_ADDR && id->len == 16) {
    m6ike_addr6 a;
    char tmp[M6IKE_ADDR6_STRLEN];
    memcpy(a.b, id->data, 16);
    snprintf(buf, cap, "%s", m6ike_addr6_format(&a, tmp));
  } else if (id->type == 0) {
    snprintf(buf, cap, "%%any");
  } else {
    snprintf(buf, cap, "%.*s", (int)id->len, (const char *)id->data);
  }
}

/* "ADDR/PLEN" or "ADDR" into an IPv6 range selector, any protocol. */
static void parse_ts(m6ike_ikev2_ts *ts, const char *opt, const char *text) {
  char buf[64];
  const char *slash = strchr(text, '/');
  long plen = 128;
  m6ike_addr6 a;
  size_t alen = slash ? (size_t)(slash - text) : strlen(text);
  if (alen >= sizeof(buf)) {
    die_arg(opt, text, "not an IPv6 prefix");
  }
  memcpy(buf, text, alen);
  buf[alen] = '\0';
  if (m6ike_addr6_parse(&a, buf) != 0) {
    die_arg(opt, text, "not an IPv6 prefix");
  }
  if (slash) {
    char *end;
    plen = strtol(slash + 1, &end, 10);
    if (*end || end == slash + 1 || plen < 0 || plen > 128) {
      die_arg(opt, text, "prefix length must be 0..128");
    }
  }
  memset(ts, 0, sizeof(*ts));
  ts->ts_type = M6IKE_IKEV2_TS_IPV6_ADDR_RANGE;
  ts->ip_proto = 0;
  ts->start_port = 0;
  ts->end_port = 65535;
  for (int i = 0; i < 16; i++) {
    int bits = (int)plen - 8 * i;
    uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
    ts->start_addr[i] = a.b[i] & mask;
    ts->end_addr[i] = (uint8_t)(a.b[i] | (uint8_t)~mask);
  }
}

/* A host selector for an address (the default TS: the IKE endpoints). */
static void host_ts(m6ike_ikev2_ts *ts, const m6ike_addr6 *a) {
  memset(ts, 0, sizeof(*ts));
  ts->ts_type = M6IKE_IKEV2_TS_IPV6_ADDR_RANGE;
  ts->end_port = 65535;
  memcpy(ts->start_addr, a->b, 16);
  memcpy(ts->end_addr, a->b, 16);
}

/* A selector range that is a prefix: 0 and *a, *plen; -1 if it is not. */
static int ts_prefix(const m6ike_ikev2_ts *ts, m6ike_addr6 *a,
                     uint8_t *plen) {
  for (int p = 0; p <= 128; p++) {
    int ok = 1;
    for (int i = 0; i < 16 && ok; i++) {
      int bits = p - 8 * i;
      uint8_t mask = bits >= 8  ? 0xff
                     : bits <= 0 ? 0
                                 : (uint8_t)(0xff << (8 - bits));
      ok = (ts->start_addr[i] & (uint8_t)~mask) == 0 &&
           (ts->end_addr[i] & (uint8_t)~mask) == (uint8_t)~mask &&
           (ts->start_addr[i] & mask) == (ts->end_addr[i] & mask);
    }
    if (ok) {
      memcpy(a->b, ts->start_addr, 16);
      *plen = (uint8_t)p;
      return 0;
    }
  }
  return -1;
}

static void format_ts(const m6ike_ikev2_ts *ts, char *buf, size_t cap) {
  m6ike_addr6 s, e;
  char a[M6IKE_ADDR6_STRLEN], b[M6IKE_ADDR6_STRLEN];
  uint8_t plen;
  /* A range that is a prefix is written as one. */
  if (ts_prefix(ts, &s, &plen) == 0) {
    snprintf(buf, cap, "%s/%u", m6ike_addr6_format(&s, a), plen);
    return;
  }
  memcpy(s.b, ts->start_addr, 16);
  memcpy(e.b, ts->end_addr, 16);
  snprintf(buf, cap, "%s-%s", m6ike_addr6_format(&s, a),
           m6ike_addr6_format(&e, b));
}

static void parse_proposals(m6ike_ikev2_algs *out, size_t *n,
                            m6ike_proposal_kind kind, const char *opt,
                            const char *text) {
  m6ike_proposal_list l;
  char err[160];
  int rv = m6ike_proposal_parse(&l, kind, text, err, sizeof(err));
  if (rv < 0) {
    die_arg(opt, text, err[0] ? err : m6ike_strerror(rv));
  }
  if (l.n > M6IKE_IKEV2_MAX_PROPOSALS) {
    die_arg(opt, text, "at most 4 proposals");
  }
  for (size_t i = 0; i < l.n; i++) {
    memset(&out[i], 0, sizeof(out[i]));
    out[i].encr = l.p[i].encr;
    out[i].encr_keylen = l.p[i].encr_bits;
    out[i].prf = l.p[i].prf;
    out[i].integ = l.p[i].integ;
    out[i].dh = l.p[i].dh;
    out[i].esn = l.p[i].esn;
  }
  *n = l.n;
}

static void algs_name(const m6ike_ikev2_algs *a, m6ike_proposal_kind kind,
                      char *buf, size_t cap) {
  m6ike_proposal p;
  memset(&p, 0, sizeof(p));
  p.encr = a->encr;
  p.encr_bits = a->encr_keylen;
  p.integ = a->integ;
  p.prf = kind == M6IKE_PROPOSAL_IKE ? a->prf : 0;
  p.dh = a->dh;
  p.esn = a->esn;
  if (m6ike_proposal_format(&p, kind, buf, cap) < 0) {
    snprintf(buf, cap, "encr %u integ %u prf %u dh %u", a->encr, a->integ,
             a->prf, a->dh);
  }
}

/* ---- the daemon ----------------------------------------------------------- */

/* What the daemon knows of its SAs, from the engine's callbacks: enough to
 * name the current IKE_SA and CHILD_SA in requests and timers, and to say
 * in each event line which SA replaced which.  A rekeyed SA stays here,
 * marked replaced, until the engine reports it down ("retired"). */
#define MAX_TRACKED 16

typedef struct tracked_ike {
  uint32_t sa_id;
  uint64_t spi_i, spi_r;
  int replaced;
  m6ike_tstamp rekey_at; /* --ike-rekey-time */
} tracked_ike;

typedef struct tracked_child {
  uint32_t child_id, reqid;
  uint32_t spi_in, spi_out;
  int replaced;
  m6ike_tstamp rekey_at, expire_at; /* --rekey-time, --lifetime */
} tracked_child;

/* Requests: from signals, the control FIFO and the timers. */
typedef enum command {
  CMD_NONE = 0,
  CMD_REKEY_CHILD,
  CMD_REKEY_IKE,
  CMD_DELETE_CHILD,
  CMD_DELETE_IKE,
  CMD_STATUS,
  CMD_STOP
} command;

typedef struct daemon {
  options opt;
  int fd, fd_natt; /* UDP 500 and 4500 (RFC 3948 non-ESP marker) */
  int sig_pipe[2]; /* self-pipe: signal handler -> poll loop */
  int ctl_fd;      /* --control FIFO, -1 without */
  int tun_fd;      /* --tun, -1 without */
  int ctl_created; /* we made the FIFO: unlink it on exit */
  char ctl_buf[256];
  size_t ctl_len;
  m6ike_crypto *crypto;
  m6ike_ikev2 *ike;
  m6ike_ipsec *ipsec;
  m6ike_tstamp now;
  FILE *keylog_ike, *keylog_esp;
  m6ike_crypto_privkey *key;
  m6ike_crypto_cert *cert, *ca;
  m6ike_crypto_cert *cas[1];
  int child_up, failed;
  char fail_reason[256];
  tracked_ike ikes[MAX_TRACKED];
  size_t n_ikes;
  tracked_child children[MAX_TRACKED];
  size_t n_children;
  int stopping;               /* SIGTERM: DELETEs sent, waiting for them */
  m6ike_tstamp stop_deadline; /* ... until then */
} daemon_t;

/* The ESP data path (--tun), below. */
static int add_policies(daemon_t *d, const m6ike_ikev2_child_info *c);
static void esp_to_tun(daemon_t *d, const struct sockaddr_in6 *from,
                       const uint8_t *data, size_t len);

/* The signal handler's only way to the loop (a handler cannot reach the
 * daemon's state): the write end of the self-pipe. */
static volatile sig_atomic_t sig_pipe_wr = -1;

static void on_signal(int sig) {
  int saved = errno;
  unsigned char b = (unsigned char)sig;
  if (sig_pipe_wr >= 0 && write(sig_pipe_wr, &b, 1) < 0) {
    /* pipe full: the request is dropped, as a second identical signal
     * pending would be */
  }
  errno = saved;
}

static m6ike_tstamp mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (m6ike_tstamp)ts.tv_sec * M6IKE_SECONDS + (m6ike_tstamp)ts.tv_nsec;
}

static m6ike_tstamp after(m6ike_tstamp now, double secs) {
  return secs > 0 ? now + (m6ike_tstamp)(secs * 1e9) : M6IKE_TSTAMP_UNSET;
}

static int os_rand(uint8_t *dest, size_t len, void *user_data) {
  (void)user_data;
  while (len > 0) {
    ssize_t n = getrandom(dest, len, 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return -1;
    }
    dest += n;
    len -= (size_t)n;
  }
  return 0;
}

static void cb_log(int level, uint32_t sa_id, const char *msg, void *ud) {
  daemon_t *d = ud;
  if (level == M6IKE_IKEV2_LOG_ERROR || d->opt.verbose) {
    fprintf(stderr, PROG ": [sa %" PRIu32 "] %s\n", sa_id, msg);
  }
}

/* The current (not replaced) IKE_SA / CHILD_SA, NULL if none. */
static tracked_ike *current_ike(daemon_t *d) {
  for (size_t i = 0; i < d->n_ikes; i++) {
    if (!d->ikes[i].replaced) {
      return &d->ikes[i];
    }
  }
  return NULL;
}

static tracked_child *current_child(daemon_t *d, uint32_t reqid) {
  for (size_t i = 0; i < d->n_children; i++) {
    if (!d->children[i].replaced &&
        (reqid == 0 || d->children[i].reqid == reqid)) {
      return &d->children[i];
    }
  }
  return NULL;
}

/* The end of every event line: what is left, in our table, the engine and
 * the userspace SAD (two ESP SAs per CHILD_SA). */
static void print_counts(daemon_t *d) {
  printf(" ike_sas=%zu child_sas=%zu sad=%zu\n", d->n_ikes, d->n_children,
         m6ike_ipsec_sa_count(d->ipsec));
  fflush(stdout);
}

static void cb_ike_up(const m6ike_ikev2_ike_info *info, void *ud) {
  daemon_t *d = ud;
  char lid[160], rid[160], la[M6IKE_ADDR6_STRLEN], ra[M6IKE_ADDR6_STRLEN],
      alg[96];
  tracked_ike *old = current_ike(d);
  format_ident(&info->local_id, lid, sizeof(lid));
  format_ident(&info->remote_id, rid, sizeof(rid));
  algs_name(&info->alg, M6IKE_PROPOSAL_IKE, alg, sizeof(alg));
  /* One line, tag first, key=value words (test/interop/README.md).  The
   * first IKE_SA's line has no event word (the --once format); a new
   * IKE_SA while another is current is its rekeyed successor (RFC 7296
   * §2.18: the engine reports the new SA, then deletes the old one). */
  printf("IKE_SA %s", old ? "rekeyed " : "");
  printf("ispi=%016" PRIx64 " rspi=%016" PRIx64, info->spi_i, info->spi_r);
  if (old) {
    printf(" old_ispi=%016" PRIx64 " old_rspi=%016" PRIx64, old->spi_i,
           old->spi_r);
    old->replaced = 1;
  }
  printf(" ike=%s local=%s[%u] remote=%s[%u] local_id=%s remote_id=%s "
         "role=%s",
         alg, m6ike_addr6_format(&info->path.local, la),
         info->path.local_port, m6ike_addr6_format(&info->path.remote, ra),
         info->path.remote_port, lid, rid,
         info->initiator ? "initiator" : "responder");
  if (d->n_ikes == MAX_TRACKED) {
    fprintf(stderr, PROG ": more than %d IKE_SAs: not tracked\n",
            MAX_TRACKED);
  } else {
    tracked_ike *t = &d->ikes[d->n_ikes++];
    memset(t, 0, sizeof(*t));
    t->sa_id = info->sa_id;
    t->spi_i = info->spi_i;
    t->spi_r = info->spi_r;
    t->rekey_at = after(d->now, d->opt.ike_rekey_s);
  }
  print_counts(d);
}

static void cb_ike_down(uint32_t sa_id, int reason, void *ud) {
  daemon_t *d = ud;
  for (size_t i = 0; i < d->n_ikes; i++) {
    tracked_ike t = d->ikes[i];
    if (t.sa_id != sa_id) {
      continue;
    }
    memmove(&d->ikes[i], &d->ikes[i + 1],
            (d->n_ikes - i - 1) * sizeof(d->ikes[0]));
    d->n_ikes--;
    printf("IKE_SA %s ispi=%016" PRIx64 " rspi=%016" PRIx64 " reason=%s",
           t.replaced ? "retired" : "deleted", t.spi_i, t.spi_r,
           reason == 0 ? "delete" : reason == M6IKE_ERR_IKEV2_TIMEOUT
                                        ? "timeout"
                                        : "error");
    print_counts(d);
    if (reason != 0) {
      fprintf(stderr, PROG ": IKE_SA %" PRIu32 " down: %s\n", sa_id,
              m6ike_strerror(reason));
    }
    return;
  }
  if (reason != 0 && !d->child_up) {
    d->failed = 1;
    snprintf(d->fail_reason, sizeof(d->fail_reason),
             "IKE_SA %" PRIu32 " failed: %s", sa_id, m6ike_strerror(reason));
  }
}

/* Installs one direction of a CHILD_SA in the userspace SAD. */
static int install_sa(daemon_t *d, const m6ike_ikev2_child_info *c, int in) {
  m6ike_ipsec_sa_params p;
  memset(&p, 0, sizeof(p));
  p.spi = in ? c->spi_in : c->spi_out;
  p.src = in ? c->remote : c->local;
  p.dst = in ? c->local : c->remote;
  p.mode = c->mode == M6IKE_IKEV2_MODE_TUNNEL ? M6IKE_IPSEC_MODE_TUNNEL
                                               : M6IKE_IPSEC_MODE_TRANSPORT;
  p.reqid = c->reqid;
  p.enc_alg = c->alg.encr;
  p.auth_alg = c->alg.integ;
  p.enc_key = in ? c->enc_in : c->enc_out;
  p.enc_key_len = c->enc_len;
  p.auth_key = in ? c->integ_in : c->integ_out;
  p.auth_key_len = c->integ_len;
  p.esn = c->alg.esn;
  return m6ike_ipsec_sa_add(d->ipsec, &p, d->now);
}

static void keylog_esp(daemon_t *d, uint32_t spi, const m6ike_addr6 *dst) {
  char line[512];
  int n;
  if (d->keylog_esp == NULL) {
    return;
  }
  n = m6ike_ipsec_sa_format_wireshark(d->ipsec, spi, dst, line, sizeof(line));
  if (n > 0 && (size_t)n < sizeof(line)) {
    fputs(line, d->keylog_esp);
    fflush(d->keylog_esp);
  }
}

static int cb_child_up(const m6ike_ikev2_child_info *c, void *ud) {
  daemon_t *d = ud;
  char alg[96], tl[128], tr[128];
  tracked_child *old = current_child(d, c->reqid);
  int rv;
  if ((rv = install_sa(d, c, 1)) < 0 || (rv = install_sa(d, c, 0)) < 0) {
    fprintf(stderr, PROG ": installing CHILD_SA %" PRIu32 ": %s\n",
            c->child_id, m6ike_strerror(rv));
    m6ike_ipsec_sa_delete(d->ipsec, c->spi_in, &c->local);
    return -1;
  }
  if (d->tun_fd >= 0 && (rv = add_policies(d, c)) != 0) {
    fprintf(stderr, PROG ": --tun: SPD entries for CHILD_SA %" PRIu32
            ": %s\n", c->child_id, m6ike_strerror(rv));
  }
  keylog_esp(d, c->spi_in, &c->local);
  keylog_esp(d, c->spi_out, &c->remote);
  algs_name(&c->alg, M6IKE_PROPOSAL_ESP, alg, sizeof(alg));
  format_ts(&c->ts_local[0], tl, sizeof(tl));
  format_ts(&c->ts_remote[0], tr, sizeof(tr));
  /* As for the IKE_SA: a second pair of the same policy (reqid) is the
   * rekeyed successor of the current one (RFC 7296 §2.8). */
  printf("CHILD_SA %sspi_in=%08" PRIx32 " spi_out=%08" PRIx32,
         old ? "rekeyed " : "", c->spi_in, c->spi_out);
  if (old) {
    printf(" old_spi_in=%08" PRIx32 " old_spi_out=%08" PRIx32, old->spi_in,
           old->spi_out);
    old->replaced = 1;
  }
  printf(" esp=%s mode=%s encap=no reqid=%" PRIu32 " ts_local=%s%s "
         "ts_remote=%s%s",
         alg, c->mode == M6IKE_IKEV2_MODE_TUNNEL ? "tunnel" : "transport",
         c->reqid, tl, c->n_ts_local > 1 ? ",..." : "", tr,
         c->n_ts_remote > 1 ? ",..." : "");
  if (d->n_children == MAX_TRACKED) {
    fprintf(stderr, PROG ": more than %d CHILD_SAs: not tracked\n",
            MAX_TRACKED);
  } else {
    tracked_child *t = &d->children[d->n_children++];
    memset(t, 0, sizeof(*t));
    t->child_id = c->child_id;
    t->reqid = c->reqid;
    t->spi_in = c->spi_in;
    t->spi_out = c->spi_out;
    t->rekey_at = after(d->now, d->opt.rekey_s);
    t->expire_at = after(d->now, d->opt.life_s);
  }
  print_counts(d);
  d->child_up = 1;
  return 0;
}

static void cb_child_down(const m6ike_ikev2_child_info *c, int reason,
                          void *ud) {
  daemon_t *d = ud;
  m6ike_ipsec_sa_delete(d->ipsec, c->spi_in, &c->local);
  m6ike_ipsec_sa_delete(d->ipsec, c->spi_out, &c->remote);
  for (size_t i = 0; i < d->n_children; i++) {
    tracked_child t = d->children[i];
    if (t.child_id != c->child_id) {
      continue;
    }
    memmove(&d->children[i], &d->children[i + 1],
            (d->n_children - i - 1) * sizeof(d->children[0]));
    d->n_children--;
    printf("CHILD_SA %s spi_in=%08" PRIx32 " spi_out=%08" PRIx32
           " reason=%s",
           t.replaced ? "retired" : "deleted", t.spi_in, t.spi_out,
           reason == 0 ? "delete" : "error");
    print_counts(d);
    break;
  }
  if (reason != 0 || d->opt.verbose) {
    fprintf(stderr, PROG ": CHILD_SA %" PRIu32 " down: %s\n", c->child_id,
            reason ? m6ike_strerror(reason) : "deleted");
  }
}

static void cb_keylog(uint32_t sa_id, const char *line, void *ud) {
  daemon_t *d = ud;
  (void)sa_id;
  if (d->keylog_ike) {
    fprintf(d->keylog_ike, "%s\n", line);
    fflush(d->keylog_ike);
  }
}

static int open_socket(const options *o, uint16_t port) {
  struct sockaddr_in6 sa;
  int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), on = 1;
  if (fd < 0) {
    perror(PROG ": socket");
    return -1;
  }
  setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  memset(&sa, 0, sizeof(sa));
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(port);
  memcpy(&sa.sin6_addr, o->local.b, 16);
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    char a[M6IKE_ADDR6_STRLEN];
    fprintf(stderr, PROG ": bind [%s]:%u: %s\n",
            m6ike_addr6_format(&o->local, a), port, strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

static void flush_out(daemon_t *d) {
  uint8_t buf[8192 + 4];
  m6ike_ikev2_path path;
  int len;
  /* Leave room for the 4-octet non-ESP marker of port 4500. */
  while ((len = m6ike_ikev2_write_pkt(d->ike, &path, buf + 4,
                                      sizeof(buf) - 4, d->now)) > 0) {
    struct sockaddr_in6 to;
    int natt = path.local_port == NATT_PORT && d->fd_natt >= 0;
    const uint8_t *data = buf + 4;
    size_t dlen = (size_t)len;
    if (natt) {
      memset(buf, 0, 4); /* RFC 3948 §2.2: non-ESP marker */
      data = buf;
      dlen += 4;
    }
    memset(&to, 0, sizeof(to));
    to.sin6_family = AF_INET6;
    to.sin6_port = htons(path.remote_port ? path.remote_port : 500);
    memcpy(&to.sin6_addr, path.remote.b, 16);
    if (sendto(natt ? d->fd_natt : d->fd, data, dlen, 0,
               (struct sockaddr *)&to,
               sizeof(to)) < 0 &&
        d->opt.verbose) {
      fprintf(stderr, PROG ": sendto: %s\n", strerror(errno));
    }
  }
}

/* One datagram from fd (bound to local_port) into the engine.  On port
 * 4500 IKE messages carry a 4-octet zero non-ESP marker (RFC 3948 §2.2);
 * anything else there is UDP-encapsulated ESP: with --tun it goes to the
 * data path (esp_to_tun), else it is dropped. */
static void receive(daemon_t *d, int fd, uint16_t local_port) {
  uint8_t buf[8192];
  struct sockaddr_in6 from;
  socklen_t fl = sizeof(from);
  const uint8_t *data = buf;
  ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
  m6ike_ikev2_path path;
  int rv;
  if (n <= 0 || from.sin6_family != AF_INET6) {
    return;
  }
  if (local_port == NATT_PORT) {
    if (n < 4 || buf[0] || buf[1] || buf[2] || buf[3]) {
      if (n >= 8 && d->tun_fd >= 0) {
        d->now = mono_now();
        esp_to_tun(d, &from, buf, (size_t)n);
      } else if (d->opt.verbose) {
        fprintf(stderr, PROG ": UDP-encapsulated ESP dropped (no --tun)\n");
      }
      return;
    }
    data += 4;
    n -= 4;
  }
  memset(&path, 0, sizeof(path));
  path.local = d->opt.local;
  path.local_port = local_port;
  memcpy(path.remote.b, &from.sin6_addr, 16);
  path.remote_port = ntohs(from.sin6_port);
  d->now = mono_now();
  rv = m6ike_ikev2_read_pkt(d->ike, &path, data, (size_t)n, d->now);
  if (rv < 0 && d->opt.verbose) {
    fprintf(stderr, PROG ": datagram dropped: %s\n", m6ike_strerror(rv));
  }
}

/* Reads a whole (small) file; exits 2 naming the option on failure. */
static size_t read_file(const char *path, const char *opt, uint8_t *buf,
                        size_t cap) {
  FILE *f = fopen(path, "rb");
  size_t n;
  if (f == NULL) {
    fprintf(stderr, PROG ": %s: cannot open '%s': %s\n", opt, path,
            strerror(errno));
    exit(2);
  }
  n = fread(buf, 1, cap, f);
  if (n == cap && fgetc(f) != EOF) {
    fprintf(stderr, PROG ": %s: '%s' is larger than %zu bytes\n", opt, path,
            cap);
    exit(2);
  }
  fclose(f);
  return n;
}

/* --cert/--key/--ca: our key and certificate, and the CA the peer's must
 * chain to.  RSA keys sign with RFC 7427 (RSA PKCS#1 SHA-256, as charon
 * does by default), P-256 keys with auth method 9 (RFC 4754). */
static int load_credentials(daemon_t *d, m6ike_ikev2_peer_cfg *pc) {
  static uint8_t buf[65536];
  size_t n;
  int rv;
  n = read_file(d->opt.key_file, "--key", buf, sizeof(buf));
  if ((rv = m6ike_crypto_privkey_load(&d->key, d->crypto, buf, n)) != 0) {
    fprintf(stderr, PROG ": --key: '%s': %s\n", d->opt.key_file,
            m6ike_strerror(rv));
    return -1;
  }
  n = read_file(d->opt.cert_file, "--cert", buf, sizeof(buf));
  if ((rv = m6ike_crypto_cert_load(&d->cert, d->crypto, buf, n)) != 0) {
    fprintf(stderr, PROG ": --cert: '%s': %s\n", d->opt.cert_file,
            m6ike_strerror(rv));
    return -1;
  }
  n = read_file(d->opt.ca_file, "--ca", buf, sizeof(buf));
  if ((rv = m6ike_crypto_cert_load(&d->ca, d->crypto, buf, n)) != 0) {
    fprintf(stderr, PROG ": --ca: '%s': %s\n", d->opt.ca_file,
            m6ike_strerror(rv));
    return -1;
  }
  switch (m6ike_crypto_privkey_type(d->key)) {
  case M6IKE_KEY_RSA:
    pc->auth_method = M6IKE_IKEV2_AUTH_DIGITAL_SIG;
    pc->sig_scheme = M6IKE_SIG_RSA_PKCS1_SHA256;
    break;
  case M6IKE_KEY_ECDSA_P256:
    pc->auth_method = M6IKE_IKEV2_AUTH_ECDSA_256;
    break;
  default:
    fprintf(stderr, PROG ": --key: '%s': only RSA and P-256 keys\n",
            d->opt.key_file);
    return -1;
  }
  pc->key = d->key;
  pc->cert = d->cert;
  d->cas[0] = d->ca;
  pc->cas = d->cas;
  pc->n_cas = 1;
  pc->cert_time = (int64_t)time(NULL);
  return 0;
}

static FILE *open_keylog(const char *dir, const char *name) {
  char path[4096];
  FILE *f;
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  f = fopen(path, "a");
  if (f == NULL) {
    fprintf(stderr, PROG ": --keylog: cannot open '%s': %s\n", path,
            strerror(errno));
    exit(2);
  }
  return f;
}

/* ---- the ESP data path (--tun) ------------------------------------------ */
/*
 * Packets the kernel routes to the TUN device go through the userspace
 * SPD/SAD (m6ike_ipsec_output): a PROTECT policy per CHILD_SA selector
 * pair wraps them in tunnel-mode ESP, whose outer IPv6 header is replaced
 * by UDP port 4500 (RFC 3948 §2.1: ESP right after the UDP header, its
 * non-zero SPI telling it from IKE's zero marker).  Inbound, the reverse:
 * an IPv6 header is put back in front of the ESP from port 4500 for
 * m6ike_ipsec_input, and the inner packet is written to the TUN device.
 * Anything the SPD does not protect is dropped, never sent in the clear.
 */

/* The SPD entries for a tunnel-mode CHILD_SA (its first selector pair):
 * outbound local -> remote and inbound remote -> local, PROTECT with the
 * pair's reqid.  A rekeyed pair has the same reqid and selectors: the
 * entries are replaced in place, and the newest SA is the one used. */
static int add_policies(daemon_t *d, const m6ike_ikev2_child_info *c) {
  m6ike_ipsec_policy p;
  m6ike_addr6 la, ra;
  uint8_t lp, rp;
  int rv;
  if (c->mode != M6IKE_IKEV2_MODE_TUNNEL || c->n_ts_local < 1 ||
      c->n_ts_remote < 1 || ts_prefix(&c->ts_local[0], &la, &lp) != 0 ||
      ts_prefix(&c->ts_remote[0], &ra, &rp) != 0) {
    fprintf(stderr, PROG ": --tun: CHILD_SA %" PRIu32 " is not a tunnel "
            "between two prefixes: no data path for it\n", c->child_id);
    return 0;
  }
  memset(&p, 0, sizeof(p));
  p.priority = 100;
  p.action = M6IKE_IPSEC_ACTION_PROTECT;
  p.mode = M6IKE_IPSEC_MODE_TUNNEL;
  p.level = M6IKE_IPSEC_LEVEL_REQUIRE;
  p.reqid = c->reqid;
  m6ike_ipsec_selector_any(&p.sel);
  p.dir = M6IKE_IPSEC_DIR_OUTBOUND;
  p.sel.src = la, p.sel.src_plen = lp, p.sel.dst = ra, p.sel.dst_plen = rp;
  p.tun_src = c->local, p.tun_dst = c->remote;
  if ((rv = m6ike_ipsec_policy_update(d->ipsec, &p, NULL)) != 0) {
    return rv;
  }
  p.dir = M6IKE_IPSEC_DIR_INBOUND;
  p.sel.src = ra, p.sel.src_plen = rp, p.sel.dst = la, p.sel.dst_plen = lp;
  p.tun_src = c->remote, p.tun_dst = c->local;
  return m6ike_ipsec_policy_update(d->ipsec, &p, NULL);
}

static int open_tun(const char *name) {
  struct ifreq ifr;
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC), s;
  if (fd < 0) {
    fprintf(stderr, PROG ": --tun: /dev/net/tun: %s\n", strerror(errno));
    return -1;
  }
  memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  memcpy(ifr.ifr_name, name, strlen(name));
  s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (ioctl(fd, TUNSETIFF, &ifr) != 0 || s < 0 ||
      ioctl(s, SIOCGIFFLAGS, &ifr) != 0 ||
      (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr) != 0)) {
    fprintf(stderr, PROG ": --tun: cannot create and set up '%s': %s\n", name,
            strerror(errno));
    if (s >= 0) {
      close(s);
    }
    close(fd);
    return -1;
  }
  close(s);
  return fd;
}

/* TUN -> SPD -> ESP -> UDP 4500 to the tunnel's remote end. */
static void tun_to_esp(daemon_t *d) {
  uint8_t pkt[2048], out[2048 + M6IKE_IPSEC_MAX_OVERHEAD];
  ssize_t n;
  while ((n = read(d->tun_fd, pkt, sizeof(pkt))) > 0) {
    struct sockaddr_in6 to;
    int len = m6ike_ipsec_output(d->ipsec, pkt, (size_t)n, out, sizeof(out),
                                 d->now);
    if (len < 40 + 8 || out[6] != M6IKE_IPPROTO_ESP) {
      if (d->opt.verbose) {
        fprintf(stderr, PROG ": --tun: packet not sent: %s\n",
                len < 0 ? m6ike_strerror(len) : "no PROTECT policy");
      }
      continue;
    }
    memset(&to, 0, sizeof(to));
    to.sin6_family = AF_INET6;
    to.sin6_port = htons(NATT_PORT);
    memcpy(&to.sin6_addr, out + 24, 16); /* the outer destination */
    if (sendto(d->fd_natt, out + 40, (size_t)len - 40, 0,
               (struct sockaddr *)&to, sizeof(to)) < 0 &&
        d->opt.verbose) {
      fprintf(stderr, PROG ": --tun: sendto: %s\n", strerror(errno));
    }
  }
}

/* ESP from UDP 4500 (data, len; from the peer) -> SAD -> TUN. */
static void esp_to_tun(daemon_t *d, const struct sockaddr_in6 *from,
                       const uint8_t *data, size_t len) {
  uint8_t pkt[8192 + 40], out[8192];
  int n;
  if (len + 40 > sizeof(pkt)) {
    return;
  }
  memset(pkt, 0, 40);
  pkt[0] = 0x60;
  pkt[4] = (uint8_t)(len >> 8);
  pkt[5] = (uint8_t)len;
  pkt[6] = M6IKE_IPPROTO_ESP;
  pkt[7] = 64;
  memcpy(pkt + 8, &from->sin6_addr, 16);
  memcpy(pkt + 24, d->opt.local.b, 16);
  memcpy(pkt + 40, data, len);
  n = m6ike_ipsec_input(d->ipsec, pkt, len + 40, out, sizeof(out), d->now);
  if (n < 0) {
    if (d->opt.verbose) {
      fprintf(stderr, PROG ": --tun: ESP dropped: %s\n", m6ike_strerror(n));
    }
    return;
  }
  if (write(d->tun_fd, out, (size_t)n) < 0 && d->opt.verbose) {
    fprintf(stderr, PROG ": --tun: write: %s\n", strerror(errno));
  }
}

/* ---- requests: signals, --control, timers ------------------------------- */

static const char *const command_names[] = {
    "", "rekey-child", "rekey-ike", "delete-child", "delete-ike", "status",
    "stop"};

static void print_status(daemon_t *d) {
  m6ike_ikev2_stats st;
  size_t engine_children = 0;
  m6ike_ikev2_get_stats(d->ike, &st);
  for (size_t i = 0; i < d->n_ikes; i++) {
    engine_children += m6ike_ikev2_child_count(d->ike, d->ikes[i].sa_id);
  }
  /* engine_*: what the engine itself holds, to check the table against */
  printf("STATUS engine_ike_sas=%zu engine_child_sas=%zu",
         m6ike_ikev2_count(d->ike), engine_children);
  print_counts(d);
  for (size_t i = 0; i < d->n_ikes; i++) {
    int state = m6ike_ikev2_get_state(d->ike, d->ikes[i].sa_id);
    printf("STATUS IKE_SA ispi=%016" PRIx64 " rspi=%016" PRIx64
           " state=%s%s\n",
           d->ikes[i].spi_i, d->ikes[i].spi_r,
           state == M6IKE_IKEV2_SA_ESTABLISHED ? "established"
           : state == M6IKE_IKEV2_SA_DELETING  ? "deleting"
                                               : "connecting",
           d->ikes[i].replaced ? " replaced=yes" : "");
  }
  for (size_t i = 0; i < d->n_children; i++) {
    printf("STATUS CHILD_SA spi_in=%08" PRIx32 " spi_out=%08" PRIx32
           " reqid=%" PRIu32 "%s\n",
           d->children[i].spi_in, d->children[i].spi_out,
           d->children[i].reqid,
           d->children[i].replaced ? " replaced=yes" : "");
  }
  {
    m6ike_ipsec_stats es;
    m6ike_ipsec_get_stats(d->ipsec, &es);
    printf("STATUS ESP packets_out=%" PRIu64 " packets_in=%" PRIu64
           " dropped_icv=%" PRIu64 " dropped_replay=%" PRIu64
           " dropped_no_sa=%" PRIu64 " dropped_policy=%" PRIu64 "\n",
           es.packets_out, es.packets_in, es.dropped_icv, es.dropped_replay,
           es.dropped_no_sa, es.dropped_policy);
  }
  printf("STATUS end\n");
  fflush(stdout);
}

/* Stops: DELETE for every IKE_SA (RFC 7296 §1.4.1), then the loop exits
 * once they are gone or after 3 s.  A second stop exits at once. */
static void start_stop(daemon_t *d) {
  if (d->stopping) {
    d->stop_deadline = d->now;
    return;
  }
  d->stopping = 1;
  d->stop_deadline = d->now + 3 * M6IKE_SECONDS;
  for (size_t i = 0; i < d->n_ikes; i++) {
    int rv = m6ike_ikev2_delete_ike(d->ike, d->ikes[i].sa_id, d->now);
    if (rv != 0 && d->opt.verbose) {
      fprintf(stderr, PROG ": stop: delete IKE_SA %016" PRIx64 ": %s\n",
              d->ikes[i].spi_i, m6ike_strerror(rv));
    }
  }
}

/* Runs one request; failures are reported on stderr, the daemon goes on. */
static void do_command(daemon_t *d, command cmd) {
  tracked_child *c = current_child(d, 0);
  tracked_ike *s = current_ike(d);
  int rv = 0;
  switch (cmd) {
  case CMD_REKEY_CHILD:
  case CMD_DELETE_CHILD:
    if (c == NULL) {
      fprintf(stderr, PROG ": %s: no CHILD_SA\n", command_names[cmd]);
      return;
    }
    rv = cmd == CMD_REKEY_CHILD
             ? m6ike_ikev2_rekey_child(d->ike, c->child_id, d->now)
             : m6ike_ikev2_delete_child(d->ike, c->child_id, d->now);
    break;
  case CMD_REKEY_IKE:
  case CMD_DELETE_IKE:
    if (s == NULL) {
      fprintf(stderr, PROG ": %s: no IKE_SA\n", command_names[cmd]);
      return;
    }
    rv = cmd == CMD_REKEY_IKE ? m6ike_ikev2_rekey_ike(d->ike, s->sa_id, d->now)
                              : m6ike_ikev2_delete_ike(d->ike, s->sa_id,
                                                       d->now);
    break;
  case CMD_STATUS:
    print_status(d);
    return;
  case CMD_STOP:
    start_stop(d);
    return;
  case CMD_NONE:
    return;
  }
  if (rv != 0) {
    fprintf(stderr, PROG ": %s: %s\n", command_names[cmd], m6ike_strerror(rv));
  } else if (d->opt.verbose) {
    fprintf(stderr, PROG ": %s requested\n", command_names[cmd]);
  }
}

static command signal_command(int sig) {
  switch (sig) {
  case SIGUSR1:
    return CMD_REKEY_CHILD;
  case SIGUSR2:
    return CMD_REKEY_IKE;
  case SIGHUP:
    return CMD_DELETE_CHILD;
  default:
    return CMD_STOP; /* SIGTERM, SIGINT */
  }
}

static void read_signals(daemon_t *d) {
  unsigned char b[16];
  ssize_t n;
  while ((n = read(d->sig_pipe[0], b, sizeof(b))) > 0) {
    for (ssize_t i = 0; i < n; i++) {
      do_command(d, signal_command(b[i]));
    }
  }
}

/* --control: one request per line; unknown lines are named on stderr. */
static void read_control(daemon_t *d) {
  ssize_t n;
  while ((n = read(d->ctl_fd, d->ctl_buf + d->ctl_len,
                   sizeof(d->ctl_buf) - d->ctl_len)) > 0) {
    char *nl;
    d->ctl_len += (size_t)n;
    while ((nl = memchr(d->ctl_buf, '\n', d->ctl_len)) != NULL) {
      size_t len = (size_t)(nl - d->ctl_buf);
      command cmd = CMD_NONE;
      *nl = '\0';
      if (len > 0 && d->ctl_buf[len - 1] == '\r') {
        d->ctl_buf[len - 1] = '\0';
      }
      for (int k = CMD_REKEY_CHILD; k <= CMD_STOP; k++) {
        if (!strcmp(d->ctl_buf, command_names[k])) {
          cmd = (command)k;
        }
      }
      if (cmd != CMD_NONE) {
        do_command(d, cmd);
      } else if (d->ctl_buf[0] != '\0') {
        fprintf(stderr, PROG ": --control: unknown request '%s' (rekey-child, "
                "rekey-ike, delete-child, delete-ike, status, stop)\n",
                d->ctl_buf);
      }
      d->ctl_len -= len + 1;
      memmove(d->ctl_buf, nl + 1, d->ctl_len);
    }
    if (d->ctl_len == sizeof(d->ctl_buf)) {
      fprintf(stderr, PROG ": --control: line too long, dropped\n");
      d->ctl_len = 0;
    }
  }
}

static int open_control(daemon_t *d) {
  struct stat st;
  const char *path = d->opt.control_path;
  if (stat(path, &st) != 0) {
    if (errno != ENOENT || mkfifo(path, 0600) != 0) {
      fprintf(stderr, PROG ": --control: cannot create '%s': %s\n", path,
              strerror(errno));
      return -1;
    }
    d->ctl_created = 1;
  } else if (!S_ISFIFO(st.st_mode)) {
    fprintf(stderr, PROG ": --control: '%s' exists and is not a FIFO\n",
            path);
    return -1;
  }
  /* Read-write: the FIFO then always has a writer (us), so poll() does not
   * report a hang-up between two clients. */
  d->ctl_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (d->ctl_fd < 0) {
    fprintf(stderr, PROG ": --control: cannot open '%s': %s\n", path,
            strerror(errno));
    return -1;
  }
  return 0;
}

static void min_ts(m6ike_tstamp *a, m6ike_tstamp b) {
  if (b < *a) {
    *a = b;
  }
}

/* --rekey-time, --lifetime, --ike-rekey-time: due requests run now; a
 * refused one (e.g. busy with another exchange) is tried again in 1 s.
 * Returns the next deadline. */
static m6ike_tstamp run_timers(daemon_t *d) {
  m6ike_tstamp next = M6IKE_TSTAMP_UNSET;
  for (size_t i = 0; i < d->n_children; i++) {
    tracked_child *c = &d->children[i];
    if (c->replaced) {
      continue;
    }
    if (c->expire_at <= d->now) {
      c->expire_at = M6IKE_TSTAMP_UNSET;
      c->rekey_at = M6IKE_TSTAMP_UNSET;
      if (m6ike_ikev2_delete_child(d->ike, c->child_id, d->now) != 0) {
        c->expire_at = d->now + M6IKE_SECONDS;
      }
    } else if (c->rekey_at <= d->now) {
      c->rekey_at = M6IKE_TSTAMP_UNSET;
      if (m6ike_ikev2_rekey_child(d->ike, c->child_id, d->now) != 0) {
        c->rekey_at = d->now + M6IKE_SECONDS;
      }
    }
    min_ts(&next, c->rekey_at);
    min_ts(&next, c->expire_at);
  }
  for (size_t i = 0; i < d->n_ikes; i++) {
    tracked_ike *s = &d->ikes[i];
    if (s->replaced) {
      continue;
    }
    if (s->rekey_at <= d->now) {
      s->rekey_at = M6IKE_TSTAMP_UNSET;
      if (m6ike_ikev2_rekey_ike(d->ike, s->sa_id, d->now) != 0) {
        s->rekey_at = d->now + M6IKE_SECONDS;
      }
    }
    min_ts(&next, s->rekey_at);
  }
  return next;
}

int main(int argc, char **argv) {
  daemon_t d;
  m6ike_ikev2_callbacks cbs;
  m6ike_ikev2_peer_cfg pc;
  m6ike_ikev2_child_cfg cc;
  m6ike_ipsec_config icfg;
  m6ike_tstamp deadline;
  int rv;

  /* The three-daemon architecture's key manager (iked-keymgr.c). */
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--pfkey") ||
        !strcmp(argv[i], "--selftest-write-msrd")) {
      return m6e_iked_keymgr_main(argc, argv);
    }
  }
  memset(&d, 0, sizeof(d));
  parse_options(argc, argv, &d.opt);
  d.now = mono_now();
  d.tun_fd = -1;

  /* Peer and child configuration. */
  memset(&pc, 0, sizeof(pc));
  pc.path.local = d.opt.local;
  pc.path.local_port = d.opt.port;
  if (d.opt.have_remote) {
    pc.path.remote = d.opt.remote;
  }
  pc.path.remote_port = d.opt.port;
  parse_ident(&pc.local_id, "--id", d.opt.id);
  parse_ident(&pc.remote_id, "--remote-id", d.opt.remote_id);
  if (d.opt.psk_file) {
    pc.auth_method = M6IKE_IKEV2_AUTH_PSK;
    pc.psk_len = read_file(d.opt.psk_file, "--psk-file", pc.psk,
                           sizeof(pc.psk));
    while (pc.psk_len > 0 && (pc.psk[pc.psk_len - 1] == '\n' ||
                              pc.psk[pc.psk_len - 1] == '\r')) {
      pc.psk_len--;
    }
    if (pc.psk_len == 0) {
      fprintf(stderr, PROG ": --psk-file: '%s' is empty\n", d.opt.psk_file);
      return 2;
    }
  }
  parse_proposals(pc.ike, &pc.n_ike, M6IKE_PROPOSAL_IKE, "--ike-proposal",
                  d.opt.ike_proposal);
  memset(&cc, 0, sizeof(cc));
  cc.mode = d.opt.mode;
  cc.reqid = 1;
  parse_proposals(cc.esp, &cc.n_esp, M6IKE_PROPOSAL_ESP, "--esp-proposal",
                  d.opt.esp_proposal);
  if (d.opt.ts_local) {
    parse_ts(&cc.ts_local[0], "--ts-local", d.opt.ts_local);
  } else {
    host_ts(&cc.ts_local[0], &d.opt.local);
  }
  cc.n_ts_local = 1;
  if (d.opt.ts_remote) {
    parse_ts(&cc.ts_remote[0], "--ts-remote", d.opt.ts_remote);
  } else if (d.opt.have_remote) {
    host_ts(&cc.ts_remote[0], &d.opt.remote);
  } else {
    parse_ts(&cc.ts_remote[0], "--ts-remote", "::/0");
  }
  cc.n_ts_remote = 1;

  if (d.opt.keylog_dir) {
    d.keylog_ike = open_keylog(d.opt.keylog_dir, "ikev2_decryption_table");
    d.keylog_esp = open_keylog(d.opt.keylog_dir, "esp_sa");
  }

  /* The core objects: crypto backend, userspace SAD, IKEv2 engine. */
  if ((rv = m6ike_crypto_openssl_new(&d.crypto, NULL)) != 0) {
    fprintf(stderr, PROG ": crypto backend: %s\n", m6ike_strerror(rv));
    return 1;
  }
  if (d.opt.cert_file && load_credentials(&d, &pc) != 0) {
    return 2;
  }
  memset(&icfg, 0, sizeof(icfg));
  icfg.crypto = d.crypto;
  icfg.rand = os_rand;
  if ((rv = m6ike_ipsec_new(&d.ipsec, &icfg, NULL)) != 0) {
    fprintf(stderr, PROG ": ipsec: %s\n", m6ike_strerror(rv));
    return 1;
  }
  memset(&cbs, 0, sizeof(cbs));
  cbs.user_data = &d;
  cbs.rand = os_rand;
  cbs.log = cb_log;
  cbs.ike_sa_up = cb_ike_up;
  cbs.ike_sa_down = cb_ike_down;
  cbs.child_sa_up = cb_child_up;
  cbs.child_sa_down = cb_child_down;
  cbs.keylog = cb_keylog;
  if ((rv = m6ike_ikev2_new(&d.ike, NULL, &cbs, d.crypto, NULL)) != 0) {
    fprintf(stderr, PROG ": IKEv2 engine: %s\n", m6ike_strerror(rv));
    return 1;
  }
  if ((d.fd = open_socket(&d.opt, d.opt.port)) < 0) {
    return 1;
  }
  /* RFC 7296 §2.23: after NAT detection IKE floats to port 4500 (charon
   * with kernel-libipsec always does).  Only with the standard port. */
  d.fd_natt = d.opt.port == 500 ? open_socket(&d.opt, NATT_PORT) : -1;
  if (d.opt.port == 500 && d.fd_natt < 0) {
    return 1;
  }
  /* Signals reach the loop through a self-pipe (both ends non-blocking). */
  if (pipe(d.sig_pipe) != 0) {
    perror(PROG ": pipe");
    return 1;
  }
  for (int k = 0; k < 2; k++) {
    fcntl(d.sig_pipe[k], F_SETFD, FD_CLOEXEC);
    fcntl(d.sig_pipe[k], F_SETFL, O_NONBLOCK);
  }
  sig_pipe_wr = d.sig_pipe[1];
  {
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (size_t k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++) {
      sigaction(sigs[k], &sa, NULL);
    }
  }
  d.ctl_fd = -1;
  if (d.opt.control_path && open_control(&d) != 0) {
    return 1;
  }
  if (d.opt.tun_name && (d.tun_fd = open_tun(d.opt.tun_name)) < 0) {
    return 1;
  }

  if (d.opt.initiate) {
    rv = m6ike_ikev2_initiate(d.ike, &pc, &cc, d.now, NULL);
  } else {
    rv = m6ike_ikev2_add_peer(d.ike, &pc, &cc, 1);
  }
  if (rv != 0) {
    fprintf(stderr, PROG ": %s: %s\n", d.opt.initiate ? "initiate" : "peer",
            m6ike_strerror(rv));
    return 1;
  }
  deadline = d.opt.timeout_s > 0
                 ? d.now + (m6ike_tstamp)(d.opt.timeout_s * 1e9)
                 : M6IKE_TSTAMP_UNSET;

  for (;;) {
    struct pollfd pfd[5] = {{d.fd, POLLIN, 0},
                            {d.fd_natt, POLLIN, 0},
                            {d.sig_pipe[0], POLLIN, 0},
                            {d.ctl_fd, POLLIN, 0},
                            {d.tun_fd, POLLIN, 0}};
    m6ike_tstamp wake, timers = M6IKE_TSTAMP_UNSET;
    int timeout_ms;
    d.now = mono_now();
    m6ike_ikev2_handle_expiry(d.ike, d.now);
    m6ike_ipsec_handle_expiry(d.ipsec, d.now);
    if (!d.opt.once && !d.stopping) {
      timers = run_timers(&d);
    }
    flush_out(&d);
    if (d.opt.once && d.child_up) {
      rv = 0;
      break;
    }
    if (d.failed) {
      fprintf(stderr, PROG ": %s\n", d.fail_reason);
      rv = 1;
      break;
    }
    if (d.stopping) {
      if (d.opt.once) {
        fprintf(stderr, PROG ": stopped by a signal before a CHILD_SA\n");
        rv = 1;
        break;
      }
      if (d.n_ikes == 0 || d.now >= d.stop_deadline) {
        if (d.n_ikes > 0) {
          fprintf(stderr, PROG ": stop: %zu IKE_SA(s) not confirmed deleted "
                  "by the peer\n", d.n_ikes);
        }
        rv = 0;
        break;
      }
    }
    if (d.now >= deadline && !d.stopping) {
      if (d.opt.once) {
        fprintf(stderr, PROG ": timeout after %g s without a CHILD_SA\n",
                d.opt.timeout_s);
        rv = 1;
        break;
      }
      /* stay mode: --timeout is the time to run; leave as on SIGTERM */
      start_stop(&d);
      continue;
    }
    wake = m6ike_ikev2_get_expiry(d.ike);
    min_ts(&wake, m6ike_ipsec_get_expiry(d.ipsec));
    min_ts(&wake, timers);
    min_ts(&wake, d.stopping ? d.stop_deadline : deadline);
    if (wake == M6IKE_TSTAMP_UNSET) {
      timeout_ms = 1000;
    } else if (wake <= d.now) {
      timeout_ms = 0;
    } else {
      m6ike_tstamp ms = (wake - d.now + M6IKE_MILLISECONDS - 1) /
                        M6IKE_MILLISECONDS;
      timeout_ms = ms > 1000 ? 1000 : (int)ms;
    }
    if (poll(pfd, 5, timeout_ms) > 0) {
      d.now = mono_now();
      for (int k = 0; k < 2; k++) {
        if (pfd[k].fd >= 0 && (pfd[k].revents & POLLIN)) {
          receive(&d, pfd[k].fd, k == 0 ? d.opt.port : NATT_PORT);
        }
      }
      if (pfd[2].revents & POLLIN) {
        read_signals(&d);
      }
      if (pfd[3].fd >= 0 && (pfd[3].revents & POLLIN)) {
        read_control(&d);
      }
      if (pfd[4].fd >= 0 && (pfd[4].revents & POLLIN)) {
        tun_to_esp(&d);
      }
    }
  }
  sig_pipe_wr = -1;
  close(d.sig_pipe[0]);
  close(d.sig_pipe[1]);
  if (d.ctl_fd >= 0) {
    close(d.ctl_fd);
  }
  if (d.ctl_created) {
    unlink(d.opt.control_path);
  }
  if (d.tun_fd >= 0) {
    close(d.tun_fd);
  }
  close(d.fd);
  if (d.fd_natt >= 0) {
    close(d.fd_natt);
  }
  m6ike_ikev2_del(d.ike);
  m6ike_ipsec_del(d.ipsec);
  m6ike_crypto_privkey_del(d.key);
  m6ike_crypto_cert_del(d.cert);
  m6ike_crypto_cert_del(d.ca);
  m6ike_crypto_del(d.crypto);
  if (d.keylog_ike) {
    fclose(d.keylog_ike);
  }
  if (d.keylog_esp) {
    fclose(d.keylog_esp);
  }
  return rv;
}
