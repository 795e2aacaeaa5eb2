/*
 * mip6ike-pcap: capture every packet on one interface of the current
 * network namespace into a pcap file with libpcap, until SIGTERM/SIGINT.
 *
 *   mip6ike-pcap -i IFACE|any -w FILE [-s SNAPLEN]
 *
 * Immediate mode (each packet is handed over at once, no TPACKET_V3 block
 * left unretired at the stop) and a flush after every packet, so a stop
 * loses nothing that was captured.  Prints "capturing on IFACE" on stderr
 * once the handle is active; the packet count at exit.
 */
#define _GNU_SOURCE
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pcap_t *g_p;

static void on_signal(int s) {
  (void)s;
  if (g_p) {
    pcap_breakloop(g_p);
  }
}

static void on_pkt(u_char *user, const struct pcap_pkthdr *h,
                   const u_char *bytes) {
  pcap_dump(user, h, bytes);
  pcap_dump_flush((pcap_dumper_t *)user);
}

int main(int argc, char **argv) {
  const char *ifn = NULL, *file = NULL;
  int snap = 65535, i, rc;
  char err[PCAP_ERRBUF_SIZE];
  pcap_dumper_t *d;
  struct sigaction sa;
  unsigned long n = 0;
  for (i = 1; i < argc; i++) {
    if (i + 1 >= argc) {
      fprintf(stderr, "mip6ike-pcap: %s: needs a value\n", argv[i]);
      return 2;
    }
    if (!strcmp(argv[i], "-i")) {
      ifn = argv[++i];
    } else if (!strcmp(argv[i], "-w")) {
      file = argv[++i];
    } else if (!strcmp(argv[i], "-s")) {
      snap = atoi(argv[++i]);
    } else {
      fprintf(stderr, "mip6ike-pcap: %s: unknown option\n", argv[i]);
      return 2;
    }
  }
  if (!ifn || !file) {
    fprintf(stderr, "usage: mip6ike-pcap -i IFACE -w FILE [-s SNAPLEN]\n");
    return 2;
  }
  g_p = pcap_create(ifn, err);
  if (!g_p) {
    fprintf(stderr, "mip6ike-pcap: -i %s: %s\n", ifn, err);
    return 1;
  }
  pcap_set_snaplen(g_p, snap);
  pcap_set_immediate_mode(g_p, 1);
  pcap_set_timeout(g_p, 100);
  rc = pcap_activate(g_p);
  if (rc < 0) {
    fprintf(stderr, "mip6ike-pcap: -i %s: %s\n", ifn, pcap_geterr(g_p));
    pcap_close(g_p);
    return 1;
  }
  d = pcap_dump_open(g_p, file);
  if (!d) {
    fprintf(stderr, "mip6ike-pcap: -w %s: %s\n", file, pcap_geterr(g_p));
    pcap_close(g_p);
    return 1;
  }
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  fprintf(stderr, "mip6ike-pcap: capturing on %s\n", ifn);
  for (;;) {
    rc = pcap_dispatch(g_p, -1, on_pkt, (u_char *)d);
    if (rc < 0) {
      break; /* -2: breakloop (a signal); -1: error */
    }
    n += (unsigned long)rc;
  }
  pcap_dump_close(d);
  fprintf(stderr, "mip6ike-pcap: %s: %lu packets\n", ifn, n);
  pcap_close(g_p);
  return rc == -2 ? 0 : 1;
}
