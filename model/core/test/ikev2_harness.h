/*
 * Test harness for the ikev2 engine: two engines (A = initiator / mobile
 * node, B = responder / home agent) joined by the virtual-time link
 * m6ike_vlink, picoquic-style.  Each datagram travels with its addresses
 * and ports (a small frame header), so address changes (handover) are
 * visible to the receiver.  Every datagram sent is recorded in `wire`
 * (also those a test drops), for the message diagrams the tests check.
 */
#ifndef M6IKE_IKEV2_HARNESS_H
#define M6IKE_IKEV2_HARNESS_H

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "m6ike/crypto.h"
#include "m6ike/ikev2.h"
#include "m6ike/ikev2_msg.h"
#include "test_util.h"
#include "vlink.h"

constexpr m6ike_tstamp kMs = M6IKE_MILLISECONDS;
constexpr m6ike_tstamp kSec = M6IKE_SECONDS;

struct IkeNode {
  std::string name;
  m6ike_ikev2 *ike = nullptr;
  uint64_t rng = 0x9e3779b97f4a7c15ULL;
  int refuse_child = 0; // child_sa_up returns non-zero
  std::vector<m6ike_ikev2_child_info> up, down, updated;
  std::vector<int> down_reasons;
  std::vector<m6ike_ikev2_ike_info> ike_up;
  std::vector<std::pair<uint32_t, int>> ike_down;
  std::vector<std::string> keylog, log;

  static int Rand(uint8_t *d, size_t n, void *ud) {
    auto *self = static_cast<IkeNode *>(ud);
    for (size_t i = 0; i < n; i++) {
      uint64_t x = self->rng;
      x ^= x >> 12;
      x ^= x << 25;
      x ^= x >> 27;
      self->rng = x;
      d[i] = static_cast<uint8_t>((x * 0x2545F4914F6CDD1DULL) >> 56);
    }
    return 0;
  }
  m6ike_ikev2_callbacks Callbacks() {
    m6ike_ikev2_callbacks c{};
    c.user_data = this;
    c.rand = Rand;
    c.log = [](int, uint32_t, const char *msg, void *ud) {
      static_cast<IkeNode *>(ud)->log.push_back(msg);
    };
    c.ike_sa_up = [](const m6ike_ikev2_ike_info *i, void *ud) {
      static_cast<IkeNode *>(ud)->ike_up.push_back(*i);
    };
    c.ike_sa_down = [](uint32_t id, int reason, void *ud) {
      static_cast<IkeNode *>(ud)->ike_down.push_back({id, reason});
    };
    c.child_sa_up = [](const m6ike_ikev2_child_info *i, void *ud) -> int {
      auto *self = static_cast<IkeNode *>(ud);
      if (self->refuse_child) return -1;
      self->up.push_back(*i);
      return 0;
    };
    c.child_sa_down = [](const m6ike_ikev2_child_info *i, int reason,
                         void *ud) {
      auto *self = static_cast<IkeNode *>(ud);
      self->down.push_back(*i);
      self->down_reasons.push_back(reason);
    };
    c.child_sa_update = [](const m6ike_ikev2_child_info *i, void *ud) -> int {
      static_cast<IkeNode *>(ud)->updated.push_back(*i);
      return 0;
    };
    c.keylog = [](uint32_t, const char *line, void *ud) {
      static_cast<IkeNode *>(ud)->keylog.push_back(line);
    };
    return c;
  }
  bool HasLog(const std::string &needle) const {
    for (auto &l : log)
      if (l.find(needle) != std::string::npos) return true;
    return false;
  }
};

// One datagram as it left a node.
struct Wire {
  m6ike_tstamp t;
  int dir; // M6IKE_VLINK_AB (A -> B) or _BA
  uint8_t exchange;
  bool response;
  uint32_t mid;
  size_t len;
  m6ike_ikev2_path path; // as the sender saw it
  std::vector<uint8_t> bytes;
  bool dropped;
};

class IkePair {
 public:
  IkeNode a, b;
  m6ike_vlink *link = nullptr;
  m6ike_tstamp now = 0;
  std::vector<Wire> wire;
  // Return true to drop a datagram (fault injection by content).
  std::function<bool(const Wire &)> drop;
  // Rewrites the path a receiver sees (a NAT between the nodes).
  std::function<void(int dir, m6ike_ikev2_path &)> rewrite;
  int last_read_a = 0, last_read_b = 0;
  std::vector<int> reads_a, reads_b; // read_pkt results in order

  IkePair(const m6ike_crypto *cr, const m6ike_ikev2_config *cfg = nullptr,
          const m6ike_mem *mem = nullptr, m6ike_tstamp delay = 10 * kMs) {
    a.name = "A";
    b.name = "B";
    a.rng = 0x1234567ULL;
    b.rng = 0x89abcdefULL;
    auto ca = a.Callbacks(), cb = b.Callbacks();
    ok_a = m6ike_ikev2_new(&a.ike, cfg, &ca, cr, mem);
    ok_b = m6ike_ikev2_new(&b.ike, cfg, &cb, cr, mem);
    m6ike_vlink_params p{};
    p.delay = delay;
    ok_link = m6ike_vlink_new(&link, &p, nullptr);
  }
  ~IkePair() {
    m6ike_ikev2_del(a.ike);
    m6ike_ikev2_del(b.ike);
    m6ike_vlink_del(link);
  }
  bool Ok() const { return ok_a == 0 && ok_b == 0 && ok_link == 0; }
  int ok_a, ok_b, ok_link;

  // Drains both engines' output onto the link.
  void Flush() {
    FlushNode(a, M6IKE_VLINK_AB);
    FlushNode(b, M6IKE_VLINK_BA);
  }
  void FlushNode(IkeNode &n, int dir) {
    uint8_t buf[70000];
    m6ike_ikev2_path path;
    int len;
    while (n.ike && (len = m6ike_ikev2_write_pkt(n.ike, &path, buf + 36,
                                                 sizeof buf - 36, now)) > 0) {
      Wire w{};
      w.t = now;
      w.dir = dir;
      w.len = static_cast<size_t>(len);
      w.path = path;
      w.bytes.assign(buf + 36, buf + 36 + len);
      if (len >= 28) {
        w.exchange = buf[36 + 18];
        w.response = (buf[36 + 19] & M6IKE_IKEV2_FLAG_R) != 0;
        w.mid = static_cast<uint32_t>(buf[36 + 20]) << 24 |
                static_cast<uint32_t>(buf[36 + 21]) << 16 |
                static_cast<uint32_t>(buf[36 + 22]) << 8 | buf[36 + 23];
      }
      w.dropped = drop && drop(w);
      wire.push_back(w);
      if (w.dropped) continue;
      // frame: src addr, dst addr, sport, dport (host order)
      std::memcpy(buf, path.local.b, 16);
      std::memcpy(buf + 16, path.remote.b, 16);
      std::memcpy(buf + 32, &path.local_port, 2);
      std::memcpy(buf + 34, &path.remote_port, 2);
      m6ike_vlink_send(link, dir, buf, 36 + static_cast<size_t>(len), now);
    }
  }
  m6ike_tstamp NextEvent() const {
    m6ike_tstamp t = m6ike_vlink_next_arrival(link);
    m6ike_tstamp ea = a.ike ? m6ike_ikev2_get_expiry(a.ike) : M6IKE_TSTAMP_UNSET;
    m6ike_tstamp eb = b.ike ? m6ike_ikev2_get_expiry(b.ike) : M6IKE_TSTAMP_UNSET;
    if (ea < t) t = ea;
    if (eb < t) t = eb;
    return t;
  }
  // Runs events up to and including time `until`.
  void RunUntil(m6ike_tstamp until) {
    Flush();
    for (;;) {
      m6ike_tstamp t = NextEvent();
      if (t == M6IKE_TSTAMP_UNSET || t > until) break;
      if (t > now) now = t;
      uint8_t buf[70000];
      int dir;
      m6ike_tstamp at;
      int len;
      while ((len = m6ike_vlink_recv(link, now, &dir, &at, buf, sizeof buf)) >
             0) {
        m6ike_ikev2_path path;
        std::memcpy(path.remote.b, buf, 16);
        std::memcpy(path.local.b, buf + 16, 16);
        std::memcpy(&path.remote_port, buf + 32, 2);
        std::memcpy(&path.local_port, buf + 34, 2);
        if (rewrite) rewrite(dir, path);
        IkeNode &to = dir == M6IKE_VLINK_AB ? b : a;
        if (!to.ike) continue;
        int rc = m6ike_ikev2_read_pkt(to.ike, &path, buf + 36,
                                      static_cast<size_t>(len) - 36, now);
        (dir == M6IKE_VLINK_AB ? reads_b : reads_a).push_back(rc);
        Flush();
      }
      if (a.ike && m6ike_ikev2_get_expiry(a.ike) <= now)
        m6ike_ikev2_handle_expiry(a.ike, now);
      if (b.ike && m6ike_ikev2_get_expiry(b.ike) <= now)
        m6ike_ikev2_handle_expiry(b.ike, now);
      Flush();
    }
    if (until > now && until != M6IKE_TSTAMP_UNSET) now = until;
  }
  void RunFor(m6ike_tstamp d) { RunUntil(now + d); }

  // "IKE_SA_INIT> IKE_SA_INIT< ..." ('>' request, '<' response; A->B
  // requests/responses are prefixed "A:" and B->A "B:").
  std::string Diagram(size_t from = 0) const {
    std::string s;
    for (size_t i = from; i < wire.size(); i++) {
      const Wire &w = wire[i];
      if (!s.empty()) s += ' ';
      s += w.dir == M6IKE_VLINK_AB ? "A:" : "B:";
      const char *n = m6ike_ikev2_exchange_name(w.exchange);
      s += n ? n : "?";
      s += w.response ? "<" : ">";
      if (w.dropped) s += "(lost)";
    }
    return s;
  }
};

// Configurations used by most tests: MN (A) with home address kHoA at
// care-of address kCoA1, HA (B) at kHA.
inline m6ike_ikev2_ident Fqdn(const char *s) {
  m6ike_ikev2_ident id{};
  id.type = M6IKE_IKEV2_ID_FQDN;
  id.len = static_cast<uint8_t>(std::strlen(s));
  std::memcpy(id.data, s, id.len);
  return id;
}

inline m6ike_ikev2_algs Algs(uint16_t encr, uint16_t keylen, uint16_t prf,
                             uint16_t integ, uint16_t dh, uint8_t esn = 0) {
  m6ike_ikev2_algs a{};
  a.encr = encr;
  a.encr_keylen = keylen;
  a.prf = prf;
  a.integ = integ;
  a.dh = dh;
  a.esn = esn;
  return a;
}

inline m6ike_ikev2_peer_cfg PeerCfg(const char *local, const char *remote,
                                    const char *laddr, const char *raddr,
                                    const char *psk) {
  m6ike_ikev2_peer_cfg p{};
  p.path.local = Addr(laddr);
  p.path.remote = Addr(raddr);
  p.local_id = Fqdn(local);
  p.remote_id = Fqdn(remote);
  p.auth_method = M6IKE_IKEV2_AUTH_PSK;
  p.psk_len = std::strlen(psk);
  std::memcpy(p.psk, psk, p.psk_len);
  p.ike[0] = Algs(M6IKE_ENCR_AES_GCM_16, 128, M6IKE_PRF_HMAC_SHA2_256, 0,
                  M6IKE_DH_CURVE25519);
  p.n_ike = 1;
  return p;
}

inline m6ike_ikev2_ts Prefix(const char *a, unsigned plen) {
  m6ike_ikev2_ts t{};
  m6ike_addr6 x = Addr(a);
  m6ike_ikev2_ts_set_prefix6(&t, &x, plen);
  return t;
}

inline m6ike_ikev2_child_cfg ChildCfg(uint8_t mode, m6ike_ikev2_ts local,
                                      m6ike_ikev2_ts remote) {
  m6ike_ikev2_child_cfg c{};
  c.mode = mode;
  c.reqid = 7;
  c.ts_local[0] = local;
  c.n_ts_local = 1;
  c.ts_remote[0] = remote;
  c.n_ts_remote = 1;
  c.esp[0] = Algs(M6IKE_ENCR_AES_GCM_16, 128, 0, 0, 0);
  c.n_esp = 1;
  return c;
}

#define kHoA "2001:db8:1::5"
#define kHA "2001:db8:1::1"
#define kCoA1 "2001:db8:2::100"
#define kCoA2 "2001:db8:3::100"

// MN (A) and HA (B) policies used by most tests.
struct Cfgs {
  m6ike_ikev2_peer_cfg mn = PeerCfg("mn.example", "ha.example", kCoA1, kHA,
                                    "correct horse");
  m6ike_ikev2_peer_cfg ha = PeerCfg("ha.example", "mn.example", kHA, "::",
                                    "correct horse");
  // MN: its HoA to anything; HA: anything to the home prefix.
  m6ike_ikev2_child_cfg mn_child = ChildCfg(
      M6IKE_IKEV2_MODE_TUNNEL, Prefix(kHoA, 128), Prefix("::", 0));
  m6ike_ikev2_child_cfg ha_child = ChildCfg(
      M6IKE_IKEV2_MODE_TUNNEL, Prefix("::", 0), Prefix("2001:db8:1::", 64));
};

inline uint32_t Start(IkePair &p, Cfgs &s) {
  EXPECT_EQ(0, m6ike_ikev2_add_peer(p.b.ike, &s.ha, &s.ha_child, 1));
  uint32_t id = 0;
  EXPECT_EQ(0, m6ike_ikev2_initiate(p.a.ike, &s.mn, &s.mn_child, p.now, &id));
  EXPECT_NE(0u, id);
  return id;
}

inline void ExpectChildPair(const m6ike_ikev2_child_info &i,
                     const m6ike_ikev2_child_info &r) {
  EXPECT_EQ(i.spi_in, r.spi_out);
  EXPECT_EQ(i.spi_out, r.spi_in);
  EXPECT_EQ(i.enc_len, r.enc_len);
  EXPECT_EQ(i.integ_len, r.integ_len);
  EXPECT_EQ(0, std::memcmp(i.enc_out, r.enc_in, i.enc_len));
  EXPECT_EQ(0, std::memcmp(i.enc_in, r.enc_out, i.enc_len));
  EXPECT_EQ(0, std::memcmp(i.integ_out, r.integ_in, i.integ_len));
  EXPECT_EQ(0, std::memcmp(i.integ_in, r.integ_out, i.integ_len));
  EXPECT_NE(0, std::memcmp(i.enc_out, i.enc_in, i.enc_len));
  EXPECT_EQ(i.mode, r.mode);
  EXPECT_TRUE(m6ike_addr6_equal(&i.local, &r.remote));
  EXPECT_TRUE(m6ike_addr6_equal(&i.remote, &r.local));
}


#endif
