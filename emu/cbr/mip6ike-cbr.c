/*
 * mip6ike-cbr: the experiment's constant-bit-rate UDP flow (CN -> MN HoA).
 *
 *   mip6ike-cbr send --dst ADDR [--port 9000] --rate-kbps R [--size 500]
 *                    [--duration S]
 *   mip6ike-cbr recv --bind ADDR [--port 9000] --start T0 [--duration S]
 *                    --timeline FILE [--packets FILE]
 *
 * send: datagrams of --size payload octets (sequence number and send time
 * in the first 16), paced at --rate-kbps (payload bits), for --duration
 * seconds (0 = until a signal), to --dst.  The schedule is absolute (packet
 * i leaves at start + i * size * 8 / rate), so a late wake-up does not
 * lower the rate.
 * recv: counts payload octets in 10 ms bins of time relative to T0 (an
 * absolute CLOCK_REALTIME time in seconds, the experiment start) and at
 * exit (SIGTERM/SIGINT or --duration after T0) writes FILE as
 * `time_s,rx_bytes` (one row per bin from 0 to the last bin seen, empty
 * bins included); --packets also writes `time_s,seq,bytes` per datagram.
 * Options missing or wrong: one line naming the option, exit 2.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROG "mip6ike-cbr"
#define BIN_NS 10000000ull

static volatile sig_atomic_t g_stop;
static void on_signal(int s) {
  (void)s;
  g_stop = 1;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die_arg(const char *opt, const char *why) {
  fprintf(stderr, PROG ": %s: %s\n", opt, why);
  exit(2);
}

static double num(const char *opt, const char *v, double lo, double hi) {
  char *end;
  double d;
  errno = 0;
  d = strtod(v, &end);
  if (errno || end == v || *end || d < lo || d > hi) {
    die_arg(opt, "bad number");
  }
  return d;
}

int main(int argc, char **argv) {
  const char *mode, *addr = NULL, *timeline = NULL, *packets = NULL;
  double rate = 0, duration = 0, start = -1;
  unsigned port = 9000, size = 500;
  struct sockaddr_in6 sa;
  struct sigaction sg;
  int fd, i;
  if (argc < 2 || (strcmp(argv[1], "send") && strcmp(argv[1], "recv"))) {
    fprintf(stderr, "usage: " PROG " send|recv [options] (see the source)\n");
    return 2;
  }
  mode = argv[1];
  for (i = 2; i < argc; i += 2) {
    const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) {
      die_arg(k, "needs a value");
    }
    if (!strcmp(k, "--dst") || !strcmp(k, "--bind")) {
      addr = v;
    } else if (!strcmp(k, "--port")) {
      port = (unsigned)num(k, v, 1, 65535);
    } else if (!strcmp(k, "--rate-kbps")) {
      rate = num(k, v, 0.001, 10e6);
    } else if (!strcmp(k, "--size")) {
      size = (unsigned)num(k, v, 16, 65000);
    } else if (!strcmp(k, "--duration")) {
      duration = num(k, v, 0, 1e6);
    } else if (!strcmp(k, "--start")) {
      start = num(k, v, 0, 1e11);
    } else if (!strcmp(k, "--timeline")) {
      timeline = v;
    } else if (!strcmp(k, "--packets")) {
      packets = v;
    } else {
      die_arg(k, "unknown option");
    }
  }
  if (!addr) {
    die_arg(!strcmp(mode, "send") ? "--dst" : "--bind", "missing");
  }
  memset(&sa, 0, sizeof(sa));
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons((uint16_t)port);
  if (inet_pton(AF_INET6, addr, &sa.sin6_addr) != 1) {
    die_arg(!strcmp(mode, "send") ? "--dst" : "--bind", "not an IPv6 address");
  }
  memset(&sg, 0, sizeof(sg));
  sg.sa_handler = on_signal;
  sigaction(SIGTERM, &sg, NULL);
  sigaction(SIGINT, &sg, NULL);
  fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    perror(PROG ": socket");
    return 1;
  }

  if (!strcmp(mode, "send")) {
    uint8_t buf[65000];
    uint64_t t0 = now_ns(), seq = 0;
    double gap_ns;
    if (rate <= 0) {
      die_arg("--rate-kbps", "missing");
    }
    gap_ns = (double)size * 8.0 / (rate * 1000.0) * 1e9;
    memset(buf, 0x5a, sizeof(buf));
    while (!g_stop) {
      uint64_t due = t0 + (uint64_t)(gap_ns * (double)seq), t = now_ns();
      if (duration > 0 && due > t0 + (uint64_t)(duration * 1e9)) {
        break;
      }
      if (due > t) {
        struct timespec ts = {(time_t)((due - t) / 1000000000ull),
                              (long)((due - t) % 1000000000ull)};
        nanosleep(&ts, NULL);
        continue;
      }
      memcpy(buf, &seq, 8);
      memcpy(buf + 8, &due, 8);
      /* A failure (no route for a moment) is not fatal: the flow goes on. */
      (void)sendto(fd, buf, size, 0, (struct sockaddr *)&sa, sizeof(sa));
      seq++;
    }
    printf("sent=%llu\n", (unsigned long long)seq);
    return 0;
  }

  /* recv */
  {
    uint64_t t0, end_ns, nbins = 0, cap = 0, *bins = NULL, last = 0;
    FILE *pf = NULL, *tf;
    uint8_t buf[65536];
    int one = 1;
    if (start < 0) {
      die_arg("--start", "missing");
    }
    if (!timeline) {
      die_arg("--timeline", "missing");
    }
    t0 = (uint64_t)(start * 1e9);
    end_ns = duration > 0 ? t0 + (uint64_t)(duration * 1e9) : UINT64_MAX;
    setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
      fprintf(stderr, PROG ": --bind %s: %s\n", addr, strerror(errno));
      return 1;
    }
    if (packets && !(pf = fopen(packets, "w"))) {
      fprintf(stderr, PROG ": --packets %s: %s\n", packets, strerror(errno));
      return 2;
    }
    if (pf) {
      fprintf(pf, "time_s,seq,bytes\n");
    }
    while (!g_stop) {
      struct pollfd p = {fd, POLLIN, 0};
      uint64_t t = now_ns();
      ssize_t r;
      if (t >= end_ns) {
        break;
      }
      if (poll(&p, 1, 100) <= 0) {
        continue;
      }
      r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
      t = now_ns();
      if (r <= 0 || t < t0) {
        continue;
      }
      {
        uint64_t b = (t - t0) / BIN_NS, seq = 0;
        if (b >= cap) {
          uint64_t nc = cap ? cap : 1024;
          uint64_t *nb;
          while (nc <= b) {
            nc *= 2;
          }
          nb = realloc(bins, nc * sizeof(*bins));
          if (!nb) {
            fprintf(stderr, PROG ": out of memory\n");
            return 1;
          }
          memset(nb + cap, 0, (nc - cap) * sizeof(*bins));
          bins = nb;
          cap = nc;
        }
        bins[b] += (uint64_t)r;
        if (b + 1 > nbins) {
          nbins = b + 1;
        }
        last = t;
        if (pf) {
          if (r >= 8) {
            memcpy(&seq, buf, 8);
          }
          fprintf(pf, "%.6f,%llu,%zd\n", (double)(t - t0) / 1e9,
                  (unsigned long long)seq, r);
        }
      }
    }
    (void)last;
    if (duration > 0) {
      uint64_t want = (uint64_t)(duration * 1e9) / BIN_NS;
      if (want > nbins && want <= cap) {
        nbins = want;
      }
    }
    tf = fopen(timeline, "w");
    if (!tf) {
      fprintf(stderr, PROG ": --timeline %s: %s\n", timeline, strerror(errno));
      return 2;
    }
    fprintf(tf, "time_s,rx_bytes\n");
    for (uint64_t b = 0; b < nbins; b++) {
      fprintf(tf, "%.2f,%llu\n", (double)b * 0.01,
              (unsigned long long)bins[b]);
    }
    fclose(tf);
    if (pf) {
      fclose(pf);
    }
    free(bins);
  }
  return 0;
}
