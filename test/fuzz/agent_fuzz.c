/*
 * libFuzzer target for the agent (m6ike/agent.h): packets and IKE
 * datagrams handed to an MN agent and an HA agent in a fixed established
 * state (scheme msrd, NULL crypto backend: bootstrapped over a virtual
 * 10 ms link, so the SPIs and keys are the same in every run and the seed
 * corpus holds real packets of that state).
 *
 * Input: records {target, len16 (big-endian), bytes}:
 *   target & 3 == 0  MN  m6ike_agent_read_ip6
 *                 1  MN  m6ike_agent_read_udp (path HA:500 -> CoA:500)
 *                 2  HA  m6ike_agent_read_ip6
 *                 3  HA  m6ike_agent_read_udp (path CoA:500 -> HA:500)
 *   target & 4       the clock advances 400 ms first (timers run)
 *   target & 8       the MN moves to the other CoA first
 * Whatever the agents send in reply goes to the other side.  Invariants:
 * no crash, no leak (ASan), the HA never holds more than one binding and
 * the calls never return a fatal code.  (No round trip: the agent is not
 * a codec.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "m6ike/agent.h"
#include "fuzz_records.h"

#define QMAX 64

typedef struct fnode {
  m6ike_agent *a;
  uint64_t rng;
  int is_ha;
} fnode;

typedef struct fframe {
  int to_ha, udp;
  m6ike_ikev2_path path;
  size_t len;
  uint8_t data[2048];
} fframe;

static fframe q[QMAX];
static size_t nq;
static m6ike_tstamp now;
static fnode mn, ha;
static m6ike_addr6 coa;
/* capture for the corpus generator (AGENT_FUZZ_GEN) */
static void (*capture)(int target, const uint8_t *d, size_t len);

static int frand(uint8_t *d, size_t n, void *ud) {
  fnode *x = ud;
  for (size_t i = 0; i < n; i++) {
    x->rng = x->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    d[i] = (uint8_t)(x->rng >> 56);
  }
  return 0;
}

static void push(fnode *from, int udp, const m6ike_ikev2_path *p,
                 const uint8_t *d, size_t len) {
  if (nq == QMAX || len > sizeof(q[0].data)) {
    return;
  }
  fframe *f = &q[nq++];
  f->to_ha = !from->is_ha;
  f->udp = udp;
  memset(&f->path, 0, sizeof(f->path));
  if (p) {
    f->path = *p;
  }
  f->len = len;
  memcpy(f->data, d, len);
}

static int f_ip6(const uint8_t *p, size_t len, void *ud) {
  push(ud, 0, NULL, p, len);
  return 0;
}
static int f_udp(const m6ike_ikev2_path *path, const uint8_t *b, size_t len,
                 void *ud) {
  push(ud, 1, path, b, len);
  return 0;
}

static m6ike_addr6 A6(const char *t) {
  m6ike_addr6 a;
  memset(&a, 0, sizeof a);
  if (m6ike_addr6_parse(&a, t) != 0) {
    abort();
  }
  return a;
}

static void check(int rc) {
  if (m6ike_err_is_fatal(rc)) {
    abort();
  }
}

static void drain(void) {
  for (int rounds = 0; rounds < 16 && nq > 0; rounds++) {
    fframe batch[QMAX];
    size_t n = nq;
    memcpy(batch, q, n * sizeof(fframe));
    nq = 0;
    now += 10 * M6IKE_MILLISECONDS;
    for (size_t i = 0; i < n; i++) {
      fframe *f = &batch[i];
      fnode *to = f->to_ha ? &ha : &mn;
      if (capture) {
        capture((f->to_ha ? 2 : 0) | f->udp, f->data, f->len);
      }
      if (f->udp) {
        m6ike_ikev2_path p;
        memset(&p, 0, sizeof(p));
        p.local = f->path.remote;
        p.remote = f->path.local;
        p.local_port = f->path.remote_port;
        p.remote_port = f->path.local_port;
        check(m6ike_agent_read_udp(to->a, &p, f->data, f->len, now));
      } else {
        check(m6ike_agent_read_ip6(to->a, f->data, f->len, now));
      }
    }
  }
  nq = 0;
}

static void timers(void) {
  if (m6ike_agent_get_expiry(ha.a) <= now) {
    check(m6ike_agent_handle_expiry(ha.a, now));
  }
  if (m6ike_agent_get_expiry(mn.a) <= now) {
    check(m6ike_agent_handle_expiry(mn.a, now));
  }
  drain();
}

static int make(fnode *n, int is_ha) {
  static const char psk[] = "fuzz key";
  m6ike_agent_config c;
  m6ike_agent_callbacks cb;
  n->is_ha = is_ha;
  n->rng = is_ha ? 0x1111 : 0x2222;
  m6ike_agent_config_default(&c, is_ha ? M6IKE_AGENT_HA : M6IKE_AGENT_MN);
  c.ha = A6("2001:db8:1::1");
  c.hoa = A6("2001:db8:1::5");
  c.home_prefix = A6("2001:db8:1::");
  c.psk = (const uint8_t *)psk;
  c.psk_len = sizeof(psk) - 1;
  memset(&cb, 0, sizeof(cb));
  cb.user_data = n;
  cb.rand = frand;
  cb.send_ip6 = f_ip6;
  cb.send_udp = f_udp;
  return m6ike_agent_new(&n->a, &c, &cb, m6ike_crypto_null(), NULL);
}

/* The established state: bootstrap from CoA1, registered, one payload
 * packet each way. */
static void setup(void) {
  nq = 0;
  now = 0;
  if (make(&mn, 0) != 0 || make(&ha, 1) != 0) {
    abort();
  }
  coa = A6("2001:db8:2::100");
  check(m6ike_agent_set_coa(mn.a, &coa, now));
  for (int i = 0; i < 20; i++) {
    timers();
  }
  if (m6ike_agent_lookup(ha.a, &(m6ike_addr6){{0x20, 0x01, 0x0d, 0xb8, 0, 1,
                                                0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                5}},
                         NULL) != 1) {
    abort();
  }
  uint8_t p[80];
  memset(p, 0, sizeof(p));
  p[0] = 0x60;
  p[5] = 40;
  p[6] = 59;
  p[7] = 64;
  m6ike_addr6 cn = A6("2001:db8:9::9"), hoa = A6("2001:db8:1::5");
  memcpy(p + 8, cn.b, 16);
  memcpy(p + 24, hoa.b, 16);
  check(m6ike_agent_write_tunnel(ha.a, p, sizeof(p), now));
  memcpy(p + 8, hoa.b, 16);
  memcpy(p + 24, cn.b, 16);
  check(m6ike_agent_write_tunnel(mn.a, p, sizeof(p), now));
  drain();
}

static void teardown(void) {
  m6ike_agent_del(mn.a);
  m6ike_agent_del(ha.a);
  mn.a = ha.a = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  setup();
  size_t off = 0, len;
  uint8_t t;
  const uint8_t *d;
  while (fuzz_next_record(data, size, &off, &t, &d, &len)) {
    if (t & 4) {
      now += 400 * M6IKE_MILLISECONDS;
      timers();
    }
    if (t & 8) {
      coa = A6(coa.b[5] == 2 ? "2001:db8:3::100" : "2001:db8:2::100");
      check(m6ike_agent_set_coa(mn.a, &coa, now));
      drain();
    }
    m6ike_ikev2_path p;
    memset(&p, 0, sizeof(p));
    p.local_port = p.remote_port = 500;
    fnode *to = (t & 2) ? &ha : &mn;
    if (t & 2) {
      p.local = A6("2001:db8:1::1");
      p.remote = coa;
    } else {
      p.local = coa;
      p.remote = A6("2001:db8:1::1");
    }
    if (t & 1) {
      check(m6ike_agent_read_udp(to->a, &p, d, len, now));
    } else {
      check(m6ike_agent_read_ip6(to->a, d, len, now));
    }
    drain();
  }
  now += 2 * M6IKE_SECONDS;
  timers();
  m6ike_agent_stats st;
  m6ike_agent_get_stats(ha.a, &st);
  if (st.bindings > 1) {
    abort();
  }
  teardown();
  return 0;
}

#ifdef AGENT_FUZZ_GEN
/* Corpus generator: every frame of the setup and of a handover becomes one
 * seed (one record), plus a few combined ones.  Build with
 * -DAGENT_FUZZ_GEN and run with the corpus directory as argument. */
#include <stdio.h>
static const char *gen_dir;
static int gen_n;
static void gen_write(const uint8_t *rec, size_t len) {
  char path[512];
  snprintf(path, sizeof(path), "%s/seed-%02d", gen_dir, gen_n++);
  FILE *f = fopen(path, "wb");
  if (f) {
    fwrite(rec, 1, len, f);
    fclose(f);
  }
}
static void gen_capture(int target, const uint8_t *d, size_t len) {
  uint8_t rec[4096];
  if (gen_n >= 24 || len + 3 > sizeof(rec)) {
    return;
  }
  rec[0] = (uint8_t)target;
  rec[1] = (uint8_t)(len >> 8);
  rec[2] = (uint8_t)len;
  memcpy(rec + 3, d, len);
  gen_write(rec, len + 3);
}
int main(int argc, char **argv) {
  if (argc != 2) {
    return 2;
  }
  gen_dir = argv[1];
  capture = gen_capture;
  setup();
  coa = A6("2001:db8:3::100");
  check(m6ike_agent_set_coa(mn.a, &coa, now));
  drain();
  capture = NULL;
  teardown();
  /* handcrafted: a move then timers; junk to each target */
  static const uint8_t move[] = {8 | 4, 0, 0};
  gen_write(move, sizeof(move));
  static const uint8_t junk[] = {1, 0, 4, 0xde, 0xad, 0xbe, 0xef,
                                 3, 0, 2, 0x00, 0x01, 2, 0, 1, 0x60};
  gen_write(junk, sizeof(junk));
  printf("%d seeds\n", gen_n);
  return 0;
}
#endif
