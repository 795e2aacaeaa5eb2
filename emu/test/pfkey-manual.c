/*
 * mip6ike-pfkey-manual: installs a manually keyed ESP tunnel in a running
 * mip6ike-ipsecd through its PF_KEY socket, as the two PF_KEY roles would
 * (ctest emu.ipsecd-datapath): as MOBILITY, the two tunnel policies
 * (X_SPDADD); as KEY_MANAGER, the two SAs (ADD, AES-GCM-16 with a
 * 160-bit key+salt).  Each reply must come back with sadb_msg_errno 0.
 *
 *   mip6ike-pfkey-manual SOCKET LOCAL REMOTE LNET/LEN RNET/LEN SPI_OUT SPI_IN
 *     LOCAL, REMOTE    the tunnel endpoints (outer addresses)
 *     LNET, RNET       the inner prefixes behind each end
 *     SPI_OUT, SPI_IN  hex; keys are derived from the SPI (test only)
 * Prints "OK policies=2 sas=2"; exit 0, 1 on a refusal, 2 on bad usage.
 *
 *   mip6ike-pfkey-manual acquire SOCKET SRC DST MPI
 *     as MOBILITY: one SADB_ACQUIRE (ESP, AES-GCM proposal) for SRC -> DST,
 *     with the Reference extension naming MPI (0: without it, as a stock
 *     kernel's); the bus broadcasts it to the key managers.  Exit 0 if no
 *     error reply came within 0.3 s.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "m6ike/ipsec.h"
#include "m6ike/pfkey.h"
#include "m6ike/pfkey_bus.h"
#include "netio.h"

static void prefix(const char *t, m6ike_addr6 *a, uint8_t *plen) {
  char buf[64];
  const char *sl = strchr(t, '/');
  if (!sl || (size_t)(sl - t) >= sizeof(buf)) {
    fprintf(stderr, "'%s': PREFIX/LEN expected\n", t);
    exit(2);
  }
  memcpy(buf, t, (size_t)(sl - t));
  buf[sl - t] = 0;
  if (m6ike_addr6_parse(a, buf) != 0) {
    fprintf(stderr, "'%s': not an address\n", buf);
    exit(2);
  }
  *plen = (uint8_t)atoi(sl + 1);
}

static int xfer(int fd, const uint8_t *msg, int len, const char *what) {
  uint8_t r[4096];
  struct pollfd p = {fd, POLLIN, 0};
  ssize_t n;
  if (len <= 0 || send(fd, msg, (size_t)len, 0) != len) {
    fprintf(stderr, "%s: build/send failed (%d)\n", what, len);
    return -1;
  }
  if (poll(&p, 1, 2000) <= 0 || (n = recv(fd, r, sizeof(r), 0)) < 16) {
    fprintf(stderr, "%s: no reply\n", what);
    return -1;
  }
  if (r[2] != 0) {
    fprintf(stderr, "%s: refused, errno %u\n", what, r[2]);
    return -1;
  }
  return 0;
}

static void sockaddr6(m6ike_pfkey_sockaddr *s, const m6ike_addr6 *a) {
  memset(s, 0, sizeof(*s));
  s->family = M6IKE_PFKEY_AF_INET6;
  memcpy(s->addr, a->b, 16);
}

static int add_sa(int fd, uint32_t spi, const m6ike_addr6 *src,
                  const m6ike_addr6 *dst, uint32_t seq) {
  uint8_t buf[512], key[20];
  m6ike_pfkey_builder b;
  m6ike_pfkey_sa sa;
  m6ike_pfkey_sockaddr s, d;
  memset(&sa, 0, sizeof(sa));
  sa.spi = spi;
  sa.replay = 32;
  sa.state = M6IKE_SADB_SASTATE_MATURE;
  sa.encrypt = M6IKE_SADB_X_EALG_AES_GCM_ICV16;
  for (int i = 0; i < 20; i++) {
    key[i] = (uint8_t)(spi * 7u + (unsigned)i * 13u);
  }
  sockaddr6(&s, src);
  sockaddr6(&d, dst);
  m6ike_pfkey_builder_begin(&b, buf, sizeof(buf), M6IKE_SADB_ADD,
                            M6IKE_SADB_SATYPE_ESP, seq, (uint32_t)getpid());
  m6ike_pfkey_add_sa(&b, &sa);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 255, 128, &s);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 255, 128, &d);
  m6ike_pfkey_add_key(&b, M6IKE_SADB_EXT_KEY_ENCRYPT, 160, key);
  m6ike_pfkey_add_sa2(&b, M6IKE_IPSEC_MODE_TUNNEL, 0, 7);
  return xfer(fd, buf, m6ike_pfkey_builder_finish(&b), "ADD");
}

static int acquire(int argc, char **argv) {
  m6ike_addr6 src, dst;
  uint8_t buf[512], r[512];
  m6ike_pfkey_builder b;
  m6ike_pfkey_sockaddr ss, ds;
  m6ike_pfkey_comb comb;
  uint32_t mpi;
  struct pollfd p;
  int fd, len;
  if (argc != 6 || m6ike_addr6_parse(&src, argv[3]) != 0 ||
      m6ike_addr6_parse(&dst, argv[4]) != 0) {
    fprintf(stderr, "usage: mip6ike-pfkey-manual acquire SOCKET SRC DST "
                    "MPI\n");
    return 2;
  }
  mpi = (uint32_t)strtoul(argv[5], NULL, 10);
  fd = m6e_pfkey_connect(argv[2], M6IKE_PFKEY_ROLE_MOBILITY, 2000);
  if (fd < 0) {
    fprintf(stderr, "connect %s: %s\n", argv[2], strerror(errno));
    return 1;
  }
  sockaddr6(&ss, &src);
  sockaddr6(&ds, &dst);
  memset(&comb, 0, sizeof(comb));
  comb.encrypt = M6IKE_SADB_X_EALG_AES_GCM_ICV16;
  comb.encrypt_minbits = 128;
  comb.encrypt_maxbits = 256;
  m6ike_pfkey_builder_begin(&b, buf, sizeof(buf), M6IKE_SADB_ACQUIRE,
                            M6IKE_SADB_SATYPE_ESP, 1, 0);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 255, 128, &ss);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 255, 128, &ds);
  m6ike_pfkey_add_proposal(&b, 64, &comb, 1);
  if (mpi) {
    m6ike_pfkey_add_reference(&b, mpi);
  }
  len = m6ike_pfkey_builder_finish(&b);
  if (len <= 0 || send(fd, buf, (size_t)len, 0) != len) {
    fprintf(stderr, "ACQUIRE: build/send failed\n");
    return 1;
  }
  p.fd = fd;
  p.events = POLLIN;
  if (poll(&p, 1, 300) > 0 && recv(fd, r, sizeof(r), 0) >= 16 && r[2]) {
    fprintf(stderr, "ACQUIRE refused, errno %u\n", r[2]);
    return 1;
  }
  printf("OK acquire mpi=%u\n", mpi);
  close(fd);
  return 0;
}

int main(int argc, char **argv) {
  m6ike_addr6 local, remote, lnet, rnet;
  uint8_t lplen, rplen, buf[512];
  uint32_t spi_out, spi_in;
  m6ike_ipsec_policy p;
  int mob, km, n;
  if (argc > 1 && !strcmp(argv[1], "acquire")) {
    return acquire(argc, argv);
  }
  if (argc != 8 || m6ike_addr6_parse(&local, argv[2]) != 0 ||
      m6ike_addr6_parse(&remote, argv[3]) != 0) {
    fprintf(stderr, "usage: mip6ike-pfkey-manual SOCKET LOCAL REMOTE "
                    "LNET/LEN RNET/LEN SPI_OUT SPI_IN\n");
    return 2;
  }
  prefix(argv[4], &lnet, &lplen);
  prefix(argv[5], &rnet, &rplen);
  spi_out = (uint32_t)strtoul(argv[6], NULL, 16);
  spi_in = (uint32_t)strtoul(argv[7], NULL, 16);
  mob = m6e_pfkey_connect(argv[1], M6IKE_PFKEY_ROLE_MOBILITY, 2000);
  km = m6e_pfkey_connect(argv[1], M6IKE_PFKEY_ROLE_KEY_MANAGER, 2000);
  if (mob < 0 || km < 0) {
    fprintf(stderr, "connect %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  /* the policies, as a mobility daemon installs its own */
  memset(&p, 0, sizeof(p));
  p.dir = M6IKE_IPSEC_DIR_OUTBOUND;
  p.action = M6IKE_IPSEC_ACTION_PROTECT;
  m6ike_ipsec_selector_any(&p.sel);
  p.sel.src = lnet;
  p.sel.src_plen = lplen;
  p.sel.dst = rnet;
  p.sel.dst_plen = rplen;
  p.mode = M6IKE_IPSEC_MODE_TUNNEL;
  p.level = M6IKE_IPSEC_LEVEL_REQUIRE;
  p.reqid = 7;
  p.tun_src = local;
  p.tun_dst = remote;
  n = m6ike_ipsec_policy_pfkey(&p, M6IKE_SADB_X_SPDADD, 1, (uint32_t)getpid(),
                               buf, sizeof(buf));
  if (xfer(mob, buf, n, "X_SPDADD out") != 0) {
    return 1;
  }
  p.dir = M6IKE_IPSEC_DIR_INBOUND;
  p.sel.src = rnet;
  p.sel.src_plen = rplen;
  p.sel.dst = lnet;
  p.sel.dst_plen = lplen;
  p.tun_src = remote;
  p.tun_dst = local;
  n = m6ike_ipsec_policy_pfkey(&p, M6IKE_SADB_X_SPDADD, 2, (uint32_t)getpid(),
                               buf, sizeof(buf));
  if (xfer(mob, buf, n, "X_SPDADD in") != 0) {
    return 1;
  }
  /* the SAs, as a key manager installs them */
  if (add_sa(km, spi_out, &local, &remote, 3) != 0 ||
      add_sa(km, spi_in, &remote, &local, 4) != 0) {
    return 1;
  }
  printf("OK policies=2 sas=2\n");
  close(mob);
  close(km);
  return 0;
}
