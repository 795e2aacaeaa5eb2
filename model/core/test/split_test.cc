// The agent split: m6ike_mobility + m6ike_keymgr + m6ike_ipsec per node,
// talking only through PF_KEY bytes framed as on the Unix sockets of the
// three-process runtime (pfkey_wire.h) and the MSRD (the MN's in a shared
// region the key manager attaches to read-only), against the composite
// m6ike_agent in the same virtual-time network: the MN's handover records
// must be the same.
//
//   MN process view                         HA likewise
//   mobility --HELLO+PF_KEY bytes--> [ipsec + bus] <--HELLO+bytes-- keymgr
//       ^ MSRD region (writer)  ....................  reader ^
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "m6ike/agent.h"
#include "m6ike/binding.h"
#include "m6ike/ipsec.h"
#include "m6ike/keymgr.h"
#include "m6ike/mh.h"
#include "m6ike/mobility.h"
#include "m6ike/msrd.h"
#include "m6ike/pfkey_bus.h"
#include "m6ike/pfkey_wire.h"
#include "test_util.h"

namespace {

constexpr m6ike_tstamp kMs = M6IKE_MILLISECONDS;
constexpr m6ike_tstamp kSec = M6IKE_SECONDS;
const char *const kPsk = "correct horse battery staple";
using Bytes = std::vector<uint8_t>;

int Rand(uint8_t *d, size_t n, void *ud) {
  auto *s = static_cast<uint64_t *>(ud);
  for (size_t i = 0; i < n; i++) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    d[i] = static_cast<uint8_t>(*s >> 24);
  }
  return 0;
}

void Fill(m6ike_agent_config *c, m6ike_scheme scheme) {
  c->scheme = scheme;
  c->ha = Addr("2001:db8:1::1");
  c->home_prefix = Addr("2001:db8:1::");
  c->home_plen = 64;
  c->hoa = Addr("2001:db8:1::100");
  c->psk = reinterpret_cast<const uint8_t *>(kPsk);
  c->psk_len = std::strlen(kPsk);
}

struct Frame {
  int kind = 0; // 0 IPv6, 1 IKE
  m6ike_ikev2_path path{};
  Bytes data;
};

struct Net;

// One node, whatever it is made of.
struct Host {
  Net *net = nullptr;
  bool is_ha = false;
  uint64_t rng = 0;
  m6ike_addr6 coa{};
  bool have_coa = false;
  std::vector<Bytes> delivered;
  virtual ~Host() {}
  virtual void ReadIp6(const Bytes &p, m6ike_tstamp now) = 0;
  virtual void ReadUdp(const m6ike_ikev2_path &p, const Bytes &b,
                       m6ike_tstamp now) = 0;
  virtual int SetCoa(const m6ike_addr6 &c, m6ike_tstamp now) = 0;
  virtual m6ike_tstamp Expiry() = 0;
  virtual void Expire(m6ike_tstamp now) = 0;
  virtual m6ike_agent_handover Ho() = 0;
  virtual int Tunnel(const Bytes &p, m6ike_tstamp now) = 0;
  // One IPv6 packet or one IKE datagram onto the link.
  void SendIp6(const uint8_t *p, size_t len);
  void SendUdp(const m6ike_ikev2_path *path, const uint8_t *b, size_t len);
};

struct Net {
  std::unique_ptr<Host> ha, mn;
  struct Ev {
    m6ike_tstamp t;
    uint64_t seq;
    bool to_ha;
    Frame f;
  };
  std::vector<Ev> q;
  uint64_t seq = 0;
  m6ike_tstamp now = 0;
  m6ike_tstamp delay = 10 * kMs;
  std::vector<std::string> trace; // agent_test's TraceLines format
  static uint64_t Fnv(uint64_t h, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
      h ^= p[i];
      h *= UINT64_C(0x100000001b3);
    }
    return h;
  }
  void Send(Host *from, const Frame &f) {
    if (from->is_ha) {
      // nobody listens at an old CoA (agent_test's by_coa)
      m6ike_addr6 dst;
      if (f.kind == 1) dst = f.path.remote;
      else std::memcpy(dst.b, f.data.data() + 24, 16);
      if (!mn->have_coa || !m6ike_addr6_equal(&dst, &mn->coa)) return;
    }
    uint64_t h = Fnv(UINT64_C(0xcbf29ce484222325), f.data.data(),
                     f.data.size());
    if (f.kind == 1) {
      h = Fnv(h, f.path.local.b, 16);
      h = Fnv(h, f.path.remote.b, 16);
      uint8_t ports[4] = {static_cast<uint8_t>(f.path.local_port >> 8),
                          static_cast<uint8_t>(f.path.local_port),
                          static_cast<uint8_t>(f.path.remote_port >> 8),
                          static_cast<uint8_t>(f.path.remote_port)};
      h = Fnv(h, ports, 4);
    }
    char line[128];
    std::snprintf(line, sizeof line, "%llu %s %s %zu %016llx",
                  static_cast<unsigned long long>(now),
                  from->is_ha ? "HA>MN" : "MN>HA", f.kind == 1 ? "ike" : "ip6",
                  f.data.size(), static_cast<unsigned long long>(h));
    trace.push_back(line);
    q.push_back({now + delay, seq++, !from->is_ha, f});
  }
  void Deliver(const Ev &e) {
    Host &to = e.to_ha ? *ha : *mn;
    if (!e.to_ha) {
      m6ike_addr6 dst;
      if (e.f.kind == 1) dst = e.f.path.remote;
      else std::memcpy(dst.b, e.f.data.data() + 24, 16);
      if (!to.have_coa || !m6ike_addr6_equal(&dst, &to.coa)) return;
    }
    if (e.f.kind == 1) {
      m6ike_ikev2_path p{};
      p.local = e.f.path.remote;
      p.remote = e.f.path.local;
      p.local_port = e.f.path.remote_port;
      p.remote_port = e.f.path.local_port;
      to.ReadUdp(p, e.f.data, now);
    } else {
      to.ReadIp6(e.f.data, now);
    }
  }
  void RunUntil(m6ike_tstamp until) {
    for (int guard = 0; guard < 1000000; guard++) {
      m6ike_tstamp t = std::min(ha->Expiry(), mn->Expiry());
      for (auto &e : q) t = std::min(t, e.t);
      if (t == M6IKE_TSTAMP_UNSET || t > until) break;
      now = std::max(now, t);
      std::sort(q.begin(), q.end(), [](const Ev &a, const Ev &b) {
        return a.t != b.t ? a.t < b.t : a.seq < b.seq;
      });
      while (!q.empty() && q.front().t <= now) {
        Ev e = q.front();
        q.erase(q.begin());
        Deliver(e);
      }
      if (ha->Expiry() <= now) ha->Expire(now);
      if (mn->Expiry() <= now) mn->Expire(now);
    }
    now = std::max(now, until);
  }
  int SetCoa(const m6ike_addr6 &c) {
    mn->coa = c;
    mn->have_coa = true;
    return mn->SetCoa(c, now);
  }
};

void Host::SendIp6(const uint8_t *p, size_t len) {
  Frame f;
  f.data.assign(p, p + len);
  net->Send(this, f);
}

void Host::SendUdp(const m6ike_ikev2_path *path, const uint8_t *b,
                   size_t len) {
  Frame f;
  f.kind = 1;
  f.path = *path;
  f.data.assign(b, b + len);
  net->Send(this, f);
}

// ---- the composite -----------------------------------------------------------

struct AgentHost : Host {
  m6ike_agent *a = nullptr;
  int rc = 0;
  AgentHost(Net *n, bool ha, m6ike_scheme scheme) {
    net = n;
    is_ha = ha;
    rng = ha ? 0x1234567 : 0x9876543;
    m6ike_agent_config c;
    m6ike_agent_config_default(&c, ha ? M6IKE_AGENT_HA : M6IKE_AGENT_MN);
    Fill(&c, scheme);
    m6ike_agent_callbacks cb{};
    cb.user_data = this;
    cb.rand = [](uint8_t *d, size_t len, void *ud) {
      return Rand(d, len, &static_cast<AgentHost *>(ud)->rng);
    };
    cb.send_ip6 = [](const uint8_t *p, size_t len, void *ud) {
      static_cast<AgentHost *>(ud)->SendIp6(p, len);
      return 0;
    };
    cb.send_udp = [](const m6ike_ikev2_path *path, const uint8_t *b,
                     size_t len, void *ud) {
      static_cast<AgentHost *>(ud)->SendUdp(path, b, len);
      return 0;
    };
    cb.deliver_ip6 = [](const uint8_t *p, size_t len, void *ud) {
      static_cast<AgentHost *>(ud)->delivered.emplace_back(p, p + len);
      return 0;
    };
    rc = m6ike_agent_new(&a, &c, &cb, m6ike_crypto_null(), nullptr);
    if (rc == 0 && ha && scheme == M6IKE_SCHEME_STATIC) {
      rc = m6ike_agent_add_mn(a, &c.hoa, 0);
    }
  }
  ~AgentHost() override { m6ike_agent_del(a); }
  void ReadIp6(const Bytes &p, m6ike_tstamp now) override {
    m6ike_agent_read_ip6(a, p.data(), p.size(), now);
  }
  void ReadUdp(const m6ike_ikev2_path &p, const Bytes &b,
               m6ike_tstamp now) override {
    m6ike_agent_read_udp(a, &p, b.data(), b.size(), now);
  }
  int SetCoa(const m6ike_addr6 &c, m6ike_tstamp now) override {
    return m6ike_agent_set_coa(a, &c, now);
  }
  m6ike_tstamp Expiry() override { return m6ike_agent_get_expiry(a); }
  void Expire(m6ike_tstamp now) override { m6ike_agent_handle_expiry(a, now); }
  m6ike_agent_handover Ho() override {
    m6ike_agent_handover h{};
    EXPECT_EQ(0, m6ike_agent_get_handover(a, &h));
    return h;
  }
  int Tunnel(const Bytes &p, m6ike_tstamp now) override {
    return m6ike_agent_write_tunnel(a, p.data(), p.size(), now);
  }
};

// ---- the split: three "processes" per node, PF_KEY bytes between them -------

// One Unix-socket connection: client -> kernel bytes (HELLO first) and
// kernel -> client bytes, each with its framing decoder.
struct Conn {
  Bytes up, down;
  m6ike_pfkey_wire_decoder kdec, cdec;
  m6ike_pfkey_ep ep = 0;
  uint64_t msgs_up = 0, msgs_down = 0;
  void Init(m6ike_pfkey_role role) {
    m6ike_pfkey_wire_decoder_init(&kdec, M6IKE_PFKEY_WIRE_STREAM, 1, 0);
    m6ike_pfkey_wire_decoder_init(&cdec, M6IKE_PFKEY_WIRE_STREAM, 0, 0);
    m6ike_pfkey_wire_hello h{role, 0};
    uint8_t b[M6IKE_PFKEY_WIRE_HELLO_LEN];
    EXPECT_EQ(16, m6ike_pfkey_wire_hello_encode(&h, b, sizeof b));
    up.insert(up.end(), b, b + sizeof b);
  }
};

struct SplitHost : Host {
  m6ike_scheme scheme;
  m6ike_ipsec *x = nullptr;
  m6ike_pfkey_bus *bus = nullptr;
  m6ike_mobility *mob = nullptr;
  m6ike_keymgr *km = nullptr;
  m6ike_msrd *rdb = nullptr;           // MN: the attached reader's db
  m6ike_msrd_reader *reader = nullptr; // the key manager's
  std::vector<uint64_t> region;        // MN: the "shared memory"
  Conn cm, ck;                         // mobility, key manager
  int rc = 0;
  bool pumping = false;
  std::vector<m6ike_agent_event> ev;

  SplitHost(Net *n, bool ha, m6ike_scheme sc) : scheme(sc) {
    net = n;
    is_ha = ha;
    rng = ha ? 0x1234567 : 0x9876543;
    m6ike_ipsec_config ic{};
    ic.crypto = m6ike_crypto_null();
    ic.rand = [](uint8_t *d, size_t len, void *ud) {
      return Rand(d, len, &static_cast<SplitHost *>(ud)->rng);
    };
    ic.rand_user_data = this;
    rc = m6ike_ipsec_new(&x, &ic, nullptr);
    if (rc) return;
    m6ike_pfkey_bus_config bc{};
    bc.queue_limit = 64;
    bc.sa_notify = 1;
    m6ike_ipsec_kernel_cbs(x, &bc.kernel);
    rc = m6ike_pfkey_bus_new(&bus, &bc, nullptr);
    if (rc) return;
    cm.Init(M6IKE_PFKEY_ROLE_MOBILITY);
    ck.Init(M6IKE_PFKEY_ROLE_KEY_MANAGER);
    m6ike_agent_config c;
    m6ike_agent_config_default(&c, ha ? M6IKE_AGENT_HA : M6IKE_AGENT_MN);
    Fill(&c, sc);
    m6ike_mobility_callbacks mc{};
    mc.user_data = this;
    mc.rand = ic.rand;
    mc.send_ip6 = [](const uint8_t *p, size_t len, void *ud) {
      auto *h = static_cast<SplitHost *>(ud);
      return h->Output(p, len);
    };
    mc.send_pfkey = [](const uint8_t *m, size_t len, int as_kernel,
                       void *ud) {
      (void)as_kernel; // over the socket: the bus broadcasts it anyway
      auto *h = static_cast<SplitHost *>(ud);
      h->cm.up.insert(h->cm.up.end(), m, m + len);
      return 0;
    };
    mc.event = [](const m6ike_agent_event *e, void *ud) {
      static_cast<SplitHost *>(ud)->ev.push_back(*e);
    };
    if (ha) {
      rc = m6ike_mobility_new(&mob, &c, &mc, nullptr);
      if (rc == 0) {
        rc = m6ike_msrd_reader_new(m6ike_mobility_msrd(mob), &reader);
      }
    } else {
      size_t sz = m6ike_msrd_region_size(M6IKE_MSRD_ROLE_MN, 1);
      region.assign(sz / 8 + 1, 0);
      rc = m6ike_mobility_new_in(&mob, &c, &mc, region.data(), sz, nullptr);
      if (rc == 0) {
        rc = m6ike_msrd_attach_reader(region.data(), sz, &rdb, &reader,
                                      nullptr);
      }
    }
    if (rc) return;
    m6ike_keymgr_callbacks kc{};
    kc.user_data = this;
    kc.rand = ic.rand;
    kc.send_pfkey = [](const uint8_t *m, size_t len, void *ud) {
      auto *h = static_cast<SplitHost *>(ud);
      h->ck.up.insert(h->ck.up.end(), m, m + len);
      return 0;
    };
    kc.send_udp = [](const m6ike_ikev2_path *path, const uint8_t *b,
                     size_t len, void *ud) {
      static_cast<SplitHost *>(ud)->SendUdp(path, b, len);
      return 0;
    };
    rc = m6ike_keymgr_new(&km, &c, &kc, m6ike_crypto_null(), reader, nullptr);
    if (rc) return;
    rc = m6ike_keymgr_start(km, 0);
    if (rc == 0 && ha && sc == M6IKE_SCHEME_STATIC) {
      rc = m6ike_keymgr_add_mn(km, &c.hoa, 0);
      if (rc == 0) rc = m6ike_mobility_add_mn(mob, &c.hoa, 0);
    }
    Pump(0);
  }
  ~SplitHost() override {
    m6ike_keymgr_del(km);
    m6ike_msrd_del(rdb);
    m6ike_mobility_del(mob);
    m6ike_pfkey_bus_del(bus);
    m6ike_ipsec_del(x);
  }
  int Output(const uint8_t *p, size_t len) {
    Bytes out(len + M6IKE_IPSEC_MAX_OVERHEAD + 64);
    int n = m6ike_ipsec_output(x, p, len, out.data(), out.size(), net->now);
    if (n < 0) return n;
    SendIp6(out.data(), static_cast<size_t>(n));
    return 0;
  }
  // The IPsec daemon's loop: client bytes -> bus; bus queues -> client
  // bytes -> the clients' read_pfkey; until nothing moves.
  void Pump(m6ike_tstamp now) {
    if (pumping) return;
    pumping = true;
    for (bool moved = true; moved;) {
      moved = false;
      for (Conn *c : {&cm, &ck}) {
        m6ike_pfkey_wire_kind kind;
        const uint8_t *m;
        size_t mlen;
        int n;
        while ((n = m6ike_pfkey_wire_decode(&c->kdec, c->up.data(),
                                            c->up.size(), &kind, &m,
                                            &mlen)) > 0) {
          if (kind == M6IKE_PFKEY_WIRE_HELLO) {
            EXPECT_EQ(0, m6ike_pfkey_bus_open(bus, c->kdec.hello.role,
                                              c->kdec.hello.pid, nullptr,
                                              nullptr, &c->ep));
          } else {
            Bytes msg(m, m + mlen);
            c->msgs_up++;
            m6ike_pfkey_bus_send(bus, c->ep, msg.data(), msg.size(), now);
          }
          c->up.erase(c->up.begin(), c->up.begin() + n);
          moved = true;
        }
        EXPECT_EQ(M6IKE_ERR_PFKEY_WIRE_INCOMPLETE, n);
        uint8_t b[4096];
        while (c->ep && (n = m6ike_pfkey_bus_recv(bus, c->ep, b, sizeof b)) >
                            0) {
          c->down.insert(c->down.end(), b, b + n);
        }
        while ((n = m6ike_pfkey_wire_decode(&c->cdec, c->down.data(),
                                            c->down.size(), &kind, &m,
                                            &mlen)) > 0) {
          Bytes msg(m, m + mlen);
          c->down.erase(c->down.begin(), c->down.begin() + n);
          c->msgs_down++;
          if (c == &cm) m6ike_mobility_read_pfkey(mob, msg.data(), msg.size(), now);
          else m6ike_keymgr_read_pfkey(km, msg.data(), msg.size(), now);
          moved = true;
        }
      }
    }
    uint64_t xs[M6IKE_IKEV2_X_COUNT], bytes;
    m6ike_keymgr_ike_counts(km, xs, &bytes);
    m6ike_mobility_set_ike_counts(mob, xs, bytes);
    pumping = false;
  }
  void ReadIp6(const Bytes &p, m6ike_tstamp now) override {
    m6ike_ip6_info info;
    if (m6ike_ip6_walk(&info, p.data(), p.size()) != 0) return;
    uint32_t spi = 0;
    if (info.upper_proto != M6IKE_IPPROTO_ESP || info.upper_len < 8) return;
    const uint8_t *e = p.data() + info.upper_off;
    spi = (uint32_t)e[0] << 24 | (uint32_t)e[1] << 16 | (uint32_t)e[2] << 8 |
          e[3];
    m6ike_ipsec_sa_info sa;
    m6ike_addr6 dst = info.has_rh2 ? info.rh2_addr : info.dst;
    int tunnel = 0;
    if (m6ike_ipsec_sa_get(x, spi, &dst, &sa) == 0 ||
        m6ike_ipsec_sa_get(x, spi, &info.dst, &sa) == 0) {
      tunnel = sa.mode == M6IKE_IPSEC_MODE_TUNNEL;
    }
    Bytes out(p.size() + 64);
    int n = m6ike_ipsec_input(x, p.data(), p.size(), out.data(), out.size(),
                              now);
    if (n < 0) return;
    out.resize(n);
    if (tunnel) {
      delivered.push_back(out);
    } else {
      m6ike_mobility_read_mh(mob, out.data(), out.size(), now);
    }
    Pump(now);
  }
  void ReadUdp(const m6ike_ikev2_path &p, const Bytes &b,
               m6ike_tstamp now) override {
    m6ike_keymgr_read_udp(km, &p, b.data(), b.size(), now);
    Pump(now);
  }
  int SetCoa(const m6ike_addr6 &c, m6ike_tstamp now) override {
    Pump(now); // the counts at the move
    int r = m6ike_mobility_set_coa(mob, &c, now);
    Pump(now);
    m6ike_keymgr_poll_msrd(km, now);
    Pump(now);
    return r;
  }
  m6ike_tstamp Expiry() override {
    return std::min(m6ike_mobility_get_expiry(mob),
                    m6ike_keymgr_get_expiry(km));
  }
  void Expire(m6ike_tstamp now) override {
    if (m6ike_keymgr_get_expiry(km) <= now) m6ike_keymgr_handle_expiry(km, now);
    Pump(now);
    if (m6ike_mobility_get_expiry(mob) <= now)
      m6ike_mobility_handle_expiry(mob, now);
    Pump(now);
  }
  m6ike_agent_handover Ho() override {
    m6ike_agent_handover h{};
    EXPECT_EQ(0, m6ike_mobility_get_handover(mob, &h));
    return h;
  }
  int Tunnel(const Bytes &p, m6ike_tstamp now) override {
    (void)now;
    return Output(p.data(), p.size());
  }
};

Bytes Payload(const m6ike_addr6 &src, const m6ike_addr6 &dst, uint8_t tag) {
  Bytes p(48, 0);
  p[0] = 0x60;
  p[5] = 8;
  p[6] = 59;
  p[7] = 64;
  std::memcpy(&p[8], src.b, 16);
  std::memcpy(&p[24], dst.b, 16);
  std::memset(&p[40], tag, 8);
  return p;
}

std::unique_ptr<Net> MakeNet(bool split, m6ike_scheme s) {
  auto n = std::make_unique<Net>();
  if (split) {
    n->ha = std::make_unique<SplitHost>(n.get(), true, s);
    n->mn = std::make_unique<SplitHost>(n.get(), false, s);
    EXPECT_EQ(0, static_cast<SplitHost *>(n->ha.get())->rc);
    EXPECT_EQ(0, static_cast<SplitHost *>(n->mn.get())->rc);
  } else {
    n->ha = std::make_unique<AgentHost>(n.get(), true, s);
    n->mn = std::make_unique<AgentHost>(n.get(), false, s);
    EXPECT_EQ(0, static_cast<AgentHost *>(n->ha.get())->rc);
    EXPECT_EQ(0, static_cast<AgentHost *>(n->mn.get())->rc);
  }
  return n;
}

std::string HoStr(const m6ike_agent_handover &h) {
  char b[512];
  auto t = [](m6ike_tstamp x) {
    return x == M6IKE_TSTAMP_UNSET ? -1.0 : (double)x / 1e6;
  };
  std::snprintf(b, sizeof b,
                "i=%u coa_set=%.3f bu=%.3f ba=%.3f sa=%.3f bus=%u st=%d "
                "ike=%u/%llu x=%u,%u,%u,%u c=%d",
                (unsigned)h.index, t(h.coa_set), t(h.bu_sent),
                t(h.ba_received), t(h.sa_ready), (unsigned)h.bu_count,
                h.ba_status, (unsigned)h.ike_msgs,
                (unsigned long long)h.ike_bytes, (unsigned)h.ike_msgs_x[0],
                (unsigned)h.ike_msgs_x[1], (unsigned)h.ike_msgs_x[2],
                (unsigned)h.ike_msgs_x[3], h.complete);
  return b;
}

class SplitScheme : public ::testing::TestWithParam<m6ike_scheme> {};

// set_coa(CoA1) -> bootstrap; set_coa(CoA2), set_coa(CoA3) -> handovers;
// traffic both ways through the tunnel after each.  The split reaches the
// composite's records and delivers the same packets.
TEST_P(SplitScheme, SameHandoverRecordsAsTheComposite) {
  const m6ike_addr6 coas[3] = {Addr("2001:db8:2::100"),
                               Addr("2001:db8:3::100"),
                               Addr("2001:db8:4::100")};
  const m6ike_addr6 cn = Addr("2001:db8:9::9");
  const m6ike_addr6 hoa = Addr("2001:db8:1::100");
  std::vector<std::string> rec[2];
  size_t del_mn[2], del_ha[2];
  for (int split = 0; split < 2; split++) {
    auto n = MakeNet(split != 0, GetParam());
    for (int i = 0; i < 3; i++) {
      ASSERT_EQ(0, n->SetCoa(coas[i]));
      n->RunUntil(n->now + 4 * kSec);
      n->ha->Tunnel(Payload(cn, hoa, (uint8_t)(64 + i)), n->now);
      n->RunUntil(n->now + 500 * kMs);
      n->mn->Tunnel(Payload(hoa, cn, (uint8_t)(200 + i)), n->now);
      n->RunUntil(n->now + 500 * kMs);
      rec[split].push_back(HoStr(n->mn->Ho()));
    }
    del_mn[split] = n->mn->delivered.size();
    del_ha[split] = n->ha->delivered.size();
  }
  EXPECT_EQ(rec[0], rec[1]);
  EXPECT_EQ(3u, del_mn[0]);
  EXPECT_EQ(del_mn[0], del_mn[1]);
  EXPECT_EQ(del_ha[0], del_ha[1]);
  for (int i = 0; i < 3; i++) {
    EXPECT_NE(std::string::npos, rec[1][i].find("c=1")) << rec[1][i];
  }
}

Bytes AbPayload(const m6ike_addr6 &src, const m6ike_addr6 &dst, size_t n) {
  Bytes p(40 + n, 0xab);
  p[0] = 0x60;
  p[1] = p[2] = p[3] = 0;
  p[4] = static_cast<uint8_t>(n >> 8);
  p[5] = static_cast<uint8_t>(n);
  p[6] = 59;
  p[7] = 64;
  std::memcpy(&p[8], src.b, 16);
  std::memcpy(&p[24], dst.b, 16);
  return p;
}

// The split, as three "processes" per node, puts on the wire exactly the
// frames of the composite agent's golden trace (agent_test
// GoldenWireTrace, test/data/agent_golden/<scheme>.txt): same times, sizes
// and bytes.
TEST_P(SplitScheme, GoldenWireTraceOfTheComposite) {
  const m6ike_addr6 coas[3] = {Addr("2001:db8:2::100"),
                               Addr("2001:db8:3::100"),
                               Addr("2001:db8:4::100")};
  const m6ike_addr6 cn = Addr("2001:db8:9::9");
  const m6ike_addr6 hoa = Addr("2001:db8:1::100");
  auto n = MakeNet(true, GetParam());
  for (int i = 0; i < 3; i++) {
    ASSERT_EQ(0, n->SetCoa(coas[i]));
    n->RunUntil(n->now + 4 * kSec);
    EXPECT_EQ(0, n->ha->Tunnel(AbPayload(cn, hoa, 64 + i), n->now));
    n->RunUntil(n->now + 500 * kMs);
    EXPECT_EQ(0, n->mn->Tunnel(AbPayload(hoa, cn, 200 + i), n->now));
    n->RunUntil(n->now + 500 * kMs);
  }
  EXPECT_EQ(3u, n->mn->delivered.size());
  EXPECT_EQ(3u, n->ha->delivered.size());
  std::string path = std::string(M6IKE_TEST_DATA_DIR) + "/agent_golden/" +
                     m6ike_scheme_name(GetParam()) + ".txt";
  FILE *f = std::fopen(path.c_str(), "r");
  ASSERT_NE(nullptr, f) << path;
  std::vector<std::string> want = ReadLines(f);
  ASSERT_GE(want.size(), 12u);
  EXPECT_EQ(want, n->trace);
}

INSTANTIATE_TEST_SUITE_P(Split, SplitScheme,
                         ::testing::Values(M6IKE_SCHEME_MSRD,
                                           M6IKE_SCHEME_RENEGOTIATE,
                                           M6IKE_SCHEME_MIGRATE,
                                           M6IKE_SCHEME_MIGRATE_KMADDRESS,
                                           M6IKE_SCHEME_MOBIKE,
                                           M6IKE_SCHEME_STATIC),
                         [](const ::testing::TestParamInfo<m6ike_scheme> &i) {
                           std::string s = m6ike_scheme_name(i.param);
                           std::replace(s.begin(), s.end(), '-', '_');
                           return s;
                         });

} // namespace

namespace {

// ---- each object alone: documented error codes, failed allocations ---------

struct Sink {
  std::vector<Bytes> pfkey, ip6;
  int fail_pfkey = 0; // send_pfkey returns this
  int ip6_rc = 0;
  uint64_t rng = 7;
};

m6ike_mobility_callbacks MobCbs(Sink *s) {
  m6ike_mobility_callbacks c{};
  c.user_data = s;
  c.rand = [](uint8_t *d, size_t n, void *ud) {
    return Rand(d, n, &static_cast<Sink *>(ud)->rng);
  };
  c.send_pfkey = [](const uint8_t *m, size_t n, int, void *ud) {
    auto *s = static_cast<Sink *>(ud);
    s->pfkey.emplace_back(m, m + n);
    return s->fail_pfkey;
  };
  c.send_ip6 = [](const uint8_t *p, size_t n, void *ud) {
    auto *s = static_cast<Sink *>(ud);
    s->ip6.emplace_back(p, p + n);
    return s->ip6_rc;
  };
  return c;
}

m6ike_keymgr_callbacks KmCbs(Sink *s) {
  m6ike_keymgr_callbacks c{};
  c.user_data = s;
  c.rand = [](uint8_t *d, size_t n, void *ud) {
    return Rand(d, n, &static_cast<Sink *>(ud)->rng);
  };
  c.send_pfkey = [](const uint8_t *m, size_t n, void *ud) {
    auto *s = static_cast<Sink *>(ud);
    s->pfkey.emplace_back(m, m + n);
    return s->fail_pfkey;
  };
  return c;
}

m6ike_agent_config Cfg(m6ike_agent_role role, m6ike_scheme s) {
  m6ike_agent_config c;
  m6ike_agent_config_default(&c, role);
  Fill(&c, s);
  return c;
}

Bytes Msg(uint8_t type, uint8_t satype, uint8_t err = 0) {
  Bytes b(16);
  m6ike_pfkey_builder bl;
  m6ike_pfkey_builder_begin(&bl, b.data(), b.size(), type, satype, 1, 0);
  m6ike_pfkey_builder_set_errno(&bl, err);
  EXPECT_EQ(16, m6ike_pfkey_builder_finish(&bl));
  return b;
}

TEST(Mobility, ErrorCodes) {
  Sink s;
  m6ike_mobility *m = nullptr;
  auto cbs = MobCbs(&s);
  auto c = Cfg(M6IKE_AGENT_MN, M6IKE_SCHEME_MSRD);
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_mobility_new(&m, &c, nullptr, nullptr));
  auto bad = c;
  bad.role = (m6ike_agent_role)7;
  EXPECT_EQ(M6IKE_ERR_AGENT_ROLE, m6ike_mobility_new(&m, &bad, &cbs, nullptr));
  bad = c;
  bad.scheme = (m6ike_scheme)0;
  EXPECT_EQ(M6IKE_ERR_AGENT_SCHEME, m6ike_mobility_new(&m, &bad, &cbs, nullptr));
  bad = c;
  bad.hoa = Addr("2001:db8:7::1");
  EXPECT_EQ(M6IKE_ERR_AGENT_ADDRESS, m6ike_mobility_new(&m, &bad, &cbs, nullptr));
  bad = c;
  bad.lifetime = 0;
  EXPECT_EQ(M6IKE_ERR_AGENT_CONFIG, m6ike_mobility_new(&m, &bad, &cbs, nullptr));
  bad = c;
  bad.psk_len = 0;
  EXPECT_EQ(M6IKE_ERR_AGENT_PSK, m6ike_mobility_new(&m, &bad, &cbs, nullptr));
  bad = c;
  bad.esp_proposal = "nonsense";
  EXPECT_EQ(M6IKE_ERR_AGENT_PROPOSAL, m6ike_mobility_new(&m, &bad, &cbs, nullptr));
  s.fail_pfkey = 1; // the initial policies cannot be sent
  EXPECT_EQ(M6IKE_ERR_MOBILITY_SEND, m6ike_mobility_new(&m, &c, &cbs, nullptr));
  EXPECT_EQ(nullptr, m);
  s.fail_pfkey = 0;
  s.pfkey.clear();
  ASSERT_EQ(0, m6ike_mobility_new(&m, &c, &cbs, nullptr));
  EXPECT_EQ(4u, s.pfkey.size()); // the MN's four RFC 4877 policies
  for (auto &p : s.pfkey) EXPECT_EQ(M6IKE_SADB_X_SPDUPDATE, p[1]);
  m6ike_agent_handover h;
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND, m6ike_mobility_get_handover(m, &h));
  EXPECT_EQ(M6IKE_ERR_AGENT_ROLE, m6ike_mobility_add_mn(m, &c.hoa, 0));
  m6ike_addr6 mc = Addr("ff02::1");
  EXPECT_EQ(M6IKE_ERR_BINDING_BAD_COA, m6ike_mobility_set_coa(m, &mc, 0));
  // read_pfkey: garbage, an error reply, a message not for it
  uint8_t junk[24] = {2, 3};
  EXPECT_EQ(M6IKE_ERR_MOBILITY_PFKEY, m6ike_mobility_read_pfkey(m, junk, sizeof junk, 0));
  Bytes er = Msg(M6IKE_SADB_X_SPDUPDATE, 0, 22);
  EXPECT_EQ(M6IKE_ERR_MOBILITY_REFUSED, m6ike_mobility_read_pfkey(m, er.data(), er.size(), 0));
  Bytes reg = Msg(M6IKE_SADB_REGISTER, M6IKE_SADB_SATYPE_ESP);
  EXPECT_EQ(M6IKE_ERR_MOBILITY_IGNORED, m6ike_mobility_read_pfkey(m, reg.data(), reg.size(), 0));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_mobility_read_pfkey(m, nullptr, 0, 0));
  // read_mh: a BU at an MN is not for it
  m6ike_mh_msg bu{};
  bu.type = M6IKE_MH_BU;
  bu.u.bu.seq = 1;
  bu.u.bu.flags = M6IKE_BU_FLAG_A | M6IKE_BU_FLAG_H;
  bu.u.bu.lifetime = 10;
  uint8_t pkt[256];
  m6ike_addr6 coa = Addr("2001:db8:2::100");
  int n = m6ike_mh_build_packet(pkt, sizeof pkt, &coa, &c.ha, &c.hoa, nullptr, &bu);
  ASSERT_GT(n, 0);
  EXPECT_EQ(M6IKE_ERR_MOBILITY_IGNORED, m6ike_mobility_read_mh(m, pkt, (size_t)n, 0));
  EXPECT_GT(m6ike_mh_build_packet(pkt, sizeof pkt, &coa, &c.ha, &c.hoa, nullptr, &bu), 0);
  pkt[0] = 0x40; // not IPv6
  EXPECT_GT(0, m6ike_mobility_read_mh(m, pkt, (size_t)n, 0));
  // set_coa: the MSRD entry, then ACQUIRE + Reference; send failure
  s.pfkey.clear();
  s.fail_pfkey = 1;
  EXPECT_EQ(M6IKE_ERR_MOBILITY_SEND, m6ike_mobility_set_coa(m, &coa, 1));
  s.fail_pfkey = 0;
  for (int code : {M6IKE_ERR_MOBILITY_PFKEY, M6IKE_ERR_MOBILITY_REFUSED,
                   M6IKE_ERR_MOBILITY_SEND, M6IKE_ERR_MOBILITY_IGNORED}) {
    EXPECT_NE(nullptr, m6ike_mobility_strerror_(code));
    EXPECT_STRNE("unknown error", m6ike_strerror(code));
  }
  EXPECT_EQ(nullptr, m6ike_mobility_strerror_(-950));
  m6ike_mobility_del(m);
  // HA: add_mn
  auto hc = Cfg(M6IKE_AGENT_HA, M6IKE_SCHEME_STATIC);
  ASSERT_EQ(0, m6ike_mobility_new(&m, &hc, &cbs, nullptr));
  EXPECT_EQ(M6IKE_ERR_AGENT_ROLE, m6ike_mobility_set_coa(m, &coa, 0));
  EXPECT_EQ(M6IKE_ERR_AGENT_ADDRESS, m6ike_mobility_add_mn(m, &coa, 0));
  EXPECT_EQ(0, m6ike_mobility_add_mn(m, &c.hoa, 0));
  EXPECT_EQ(M6IKE_ERR_AGENT_STATE, m6ike_mobility_add_mn(m, &c.hoa, 0));
  EXPECT_EQ(M6IKE_ERR_AGENT_ROLE, m6ike_mobility_get_handover(m, &h));
  m6ike_mobility_del(m);
  // new_in: a region too small
  uint64_t small[4];
  EXPECT_EQ(M6IKE_ERR_MSRD_REGION_SIZE,
            m6ike_mobility_new_in(&m, &c, &cbs, small, sizeof small, nullptr));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_mobility_new_in(&m, &c, &cbs, nullptr, 0, nullptr));
}

// MN msrd, set_coa: ACQUIRE + Reference after the policy moves; the BU waits
// for the transport pair's ADD copies; a BU that IPsec drops is not sent.
TEST(Mobility, MnHoldsTheBuUntilTheTransportSasAreAdded) {
  Sink s;
  m6ike_mobility *m = nullptr;
  auto cbs = MobCbs(&s);
  auto c = Cfg(M6IKE_AGENT_MN, M6IKE_SCHEME_MSRD);
  ASSERT_EQ(0, m6ike_mobility_new(&m, &c, &cbs, nullptr));
  s.pfkey.clear();
  m6ike_addr6 coa = Addr("2001:db8:2::100");
  ASSERT_EQ(0, m6ike_mobility_set_coa(m, &coa, 1000));
  ASSERT_EQ(3u, s.pfkey.size()); // 2 X_SPDUPDATE + ACQUIRE
  m6ike_pfkey_msg d;
  ASSERT_GT(m6ike_pfkey_decode(&d, s.pfkey[2].data(), s.pfkey[2].size(), 0), 0);
  EXPECT_EQ(M6IKE_SADB_ACQUIRE, d.hdr.type);
  m6ike_pfkey_reference ref;
  ASSERT_EQ(0, m6ike_pfkey_get_reference(&d, &ref));
  m6ike_msrd_reader *r = nullptr;
  ASSERT_EQ(0, m6ike_msrd_reader_new(m6ike_mobility_msrd(m), &r));
  m6ike_msrd_entry e;
  ASSERT_EQ(0, m6ike_msrd_lookup_mpi(r, ref.mpi, &e, nullptr));
  EXPECT_TRUE(m6ike_addr6_equal(&e.coa, &coa));
  EXPECT_EQ(1000u, m6ike_mobility_get_expiry(m)); // the kick
  ASSERT_EQ(0, m6ike_mobility_handle_expiry(m, 1000));
  EXPECT_TRUE(s.ip6.empty()); // held
  // the key manager's transport pair, as the kernel copies it (no keys)
  auto add = [&](uint32_t spi, const char *src, const char *dst, bool tunnel) {
    Bytes b(512);
    m6ike_pfkey_builder bl;
    m6ike_pfkey_builder_begin(&bl, b.data(), b.size(), M6IKE_SADB_ADD,
                              M6IKE_SADB_SATYPE_ESP, 9, 0);
    m6ike_pfkey_sa sa = {spi, 32, 1, 0, 20, 0};
    m6ike_pfkey_add_sa(&bl, &sa);
    m6ike_addr6 a = Addr(src), z = Addr(dst);
    m6ike_pfkey_sockaddr as = m6ike_pfkey_sockaddr6(&a, 0), zs = m6ike_pfkey_sockaddr6(&z, 0);
    m6ike_pfkey_add_address(&bl, M6IKE_SADB_EXT_ADDRESS_SRC, 255, 128, &as);
    m6ike_pfkey_add_address(&bl, M6IKE_SADB_EXT_ADDRESS_DST, 255, 128, &zs);
    m6ike_pfkey_add_sa2(&bl, tunnel ? 2 : 1, 0, tunnel ? 2 : 1);
    int n = m6ike_pfkey_builder_finish(&bl);
    b.resize(n);
    return m6ike_mobility_read_pfkey(m, b.data(), b.size(), 1100);
  };
  EXPECT_EQ(0, add(0x1001, "2001:db8:1::1", "2001:db8:1::100", false));
  EXPECT_TRUE(s.ip6.empty()); // one SA of the pair only
  s.ip6_rc = M6IKE_ERR_IPSEC_ACQUIRE; // IPsec drops it
  EXPECT_EQ(0, add(0x1002, "2001:db8:1::100", "2001:db8:1::1", false));
  ASSERT_EQ(1u, s.ip6.size()); // handed to IPsec...
  m6ike_agent_handover h;
  ASSERT_EQ(0, m6ike_mobility_get_handover(m, &h));
  EXPECT_EQ(M6IKE_TSTAMP_UNSET, h.bu_sent); // ... which dropped it
  s.ip6_rc = 1;                              // host send failure
  m6ike_tstamp t = m6ike_mobility_get_expiry(m);
  ASSERT_NE(M6IKE_TSTAMP_UNSET, t);
  EXPECT_EQ(M6IKE_ERR_AGENT_SEND, m6ike_mobility_handle_expiry(m, t));
  s.ip6_rc = 0;
  t = m6ike_mobility_get_expiry(m);
  EXPECT_EQ(0, m6ike_mobility_handle_expiry(m, t));
  ASSERT_EQ(0, m6ike_mobility_get_handover(m, &h));
  EXPECT_EQ(t, h.bu_sent);
  EXPECT_EQ(M6IKE_TSTAMP_UNSET, h.sa_ready);
  EXPECT_EQ(0, add(0x1003, "2001:db8:1::1", "2001:db8:2::100", true));
  EXPECT_EQ(0, add(0x1004, "2001:db8:2::100", "2001:db8:1::1", true));
  ASSERT_EQ(0, m6ike_mobility_get_handover(m, &h));
  EXPECT_EQ(1100u, h.sa_ready);
  m6ike_agent_stats st;
  m6ike_mobility_get_stats(m, &st);
  EXPECT_EQ(4u, st.sa_installed);
  m6ike_msrd_reader_del(r);
  m6ike_mobility_del(m);
}

TEST(Mobility, FailingMemSweep) {
  for (int role = 0; role < 2; role++) {
    bool ok = false;
    for (size_t k = 1; k < 200 && !ok; k++) {
      FailingMem fm;
      fm.reset(k);
      Sink s;
      auto cbs = MobCbs(&s);
      auto c = Cfg(role ? M6IKE_AGENT_HA : M6IKE_AGENT_MN, M6IKE_SCHEME_MSRD);
      m6ike_mobility *m = nullptr;
      int rc = m6ike_mobility_new(&m, &c, &cbs, &fm.mem);
      if (rc == 0) {
        m6ike_addr6 coa = Addr("2001:db8:2::100");
        if (role == 0) {
          rc = m6ike_mobility_set_coa(m, &coa, 1);
        } else {
          rc = m6ike_mobility_add_mn(m, &c.hoa, 1);
        }
        ok = fm.calls < k;
        m6ike_mobility_del(m);
      } else {
        EXPECT_EQ(M6IKE_ERR_NOMEM, rc) << k;
        EXPECT_EQ(nullptr, m);
      }
      EXPECT_EQ(0, fm.live) << "role " << role << " fail at " << k;
    }
    EXPECT_TRUE(ok);
  }
}

TEST(Keymgr, ErrorCodes) {
  Sink s;
  auto cbs = KmCbs(&s);
  auto c = Cfg(M6IKE_AGENT_MN, M6IKE_SCHEME_MSRD);
  m6ike_keymgr *k = nullptr;
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_keymgr_new(&k, &c, &cbs, nullptr, nullptr, nullptr));
  auto bad = c;
  bad.local_id = "";
  EXPECT_EQ(M6IKE_ERR_AGENT_IDENTITY,
            m6ike_keymgr_new(&k, &bad, &cbs, m6ike_crypto_null(), nullptr, nullptr));
  bad = c;
  bad.ike_proposal = "aes128-nothing";
  EXPECT_EQ(M6IKE_ERR_AGENT_PROPOSAL,
            m6ike_keymgr_new(&k, &bad, &cbs, m6ike_crypto_null(), nullptr, nullptr));
  ASSERT_EQ(0, m6ike_keymgr_new(&k, &c, &cbs, m6ike_crypto_null(), nullptr, nullptr));
  EXPECT_TRUE(s.pfkey.empty()); // nothing before start
  Bytes acq = Msg(M6IKE_SADB_X_PROMISC, 0);
  EXPECT_EQ(M6IKE_ERR_KEYMGR_NOT_STARTED,
            m6ike_keymgr_read_pfkey(k, acq.data(), acq.size(), 0));
  s.fail_pfkey = 1;
  EXPECT_EQ(M6IKE_ERR_KEYMGR_SEND, m6ike_keymgr_start(k, 0));
  EXPECT_EQ(M6IKE_ERR_INVALID_STATE, m6ike_keymgr_start(k, 0));
  s.fail_pfkey = 0;
  ASSERT_EQ(1u, s.pfkey.size());
  EXPECT_EQ(M6IKE_SADB_REGISTER, s.pfkey[0][1]);
  uint8_t junk[24] = {2, 3};
  EXPECT_EQ(M6IKE_ERR_KEYMGR_PFKEY, m6ike_keymgr_read_pfkey(k, junk, sizeof junk, 0));
  Bytes er = Msg(M6IKE_SADB_ADD, M6IKE_SADB_SATYPE_ESP, 17);
  EXPECT_EQ(M6IKE_ERR_KEYMGR_REFUSED, m6ike_keymgr_read_pfkey(k, er.data(), er.size(), 0));
  m6ike_keymgr_stats st;
  m6ike_keymgr_get_stats(k, &st);
  EXPECT_EQ(1u, st.refused);
  Bytes ex = Msg(M6IKE_SADB_FLUSH, M6IKE_SADB_SATYPE_ESP);
  EXPECT_EQ(M6IKE_ERR_KEYMGR_IGNORED, m6ike_keymgr_read_pfkey(k, ex.data(), ex.size(), 0));
  Bytes rep = Msg(M6IKE_SADB_REGISTER, M6IKE_SADB_SATYPE_ESP);
  EXPECT_EQ(0, m6ike_keymgr_read_pfkey(k, rep.data(), rep.size(), 0));
  m6ike_addr6 hoa = Addr("2001:db8:1::200");
  EXPECT_EQ(M6IKE_ERR_AGENT_ROLE, m6ike_keymgr_add_mn(k, &hoa, 0));
  m6ike_ikev2_path p{};
  uint8_t d[8] = {0};
  EXPECT_GT(0, m6ike_keymgr_read_udp(k, &p, d, sizeof d, 0)); // too short
  EXPECT_EQ(0, m6ike_keymgr_poll_msrd(k, 0));                // not mobike
  for (int code : {M6IKE_ERR_KEYMGR_PFKEY, M6IKE_ERR_KEYMGR_REFUSED,
                   M6IKE_ERR_KEYMGR_SEND, M6IKE_ERR_KEYMGR_IGNORED,
                   M6IKE_ERR_KEYMGR_NOT_STARTED}) {
    EXPECT_NE(nullptr, m6ike_keymgr_strerror_(code));
    EXPECT_STRNE("unknown error", m6ike_strerror(code));
  }
  m6ike_keymgr_del(k);
  // static HA: add_mn before start, twice, off-prefix; no IKE
  auto hc = Cfg(M6IKE_AGENT_HA, M6IKE_SCHEME_STATIC);
  ASSERT_EQ(0, m6ike_keymgr_new(&k, &hc, &cbs, m6ike_crypto_null(), nullptr, nullptr));
  EXPECT_EQ(M6IKE_ERR_KEYMGR_NOT_STARTED, m6ike_keymgr_add_mn(k, &hoa, 0));
  s.pfkey.clear();
  ASSERT_EQ(0, m6ike_keymgr_start(k, 0));
  EXPECT_TRUE(s.pfkey.empty()); // static: no REGISTER
  ASSERT_EQ(0, m6ike_keymgr_add_mn(k, &hoa, 0));
  ASSERT_EQ(4u, s.pfkey.size());
  for (auto &b : s.pfkey) {
    m6ike_pfkey_msg msg;
    ASSERT_GT(m6ike_pfkey_decode(&msg, b.data(), b.size(), 0), 0);
    EXPECT_EQ(M6IKE_SADB_ADD, msg.hdr.type);
    m6ike_pfkey_sa2 sa2;
    ASSERT_EQ(0, m6ike_pfkey_get_sa2(&msg, &sa2));
    EXPECT_EQ(0x10000u, sa2.reqid);
  }
  EXPECT_EQ(M6IKE_ERR_AGENT_STATE, m6ike_keymgr_add_mn(k, &hoa, 0));
  m6ike_addr6 off = Addr("2001:db8:5::1");
  EXPECT_EQ(M6IKE_ERR_AGENT_ADDRESS, m6ike_keymgr_add_mn(k, &off, 0));
  EXPECT_EQ(M6IKE_ERR_AGENT_NOT_HANDLED, m6ike_keymgr_read_udp(k, &p, d, sizeof d, 0));
  EXPECT_EQ(nullptr, m6ike_keymgr_ikev2(k));
  m6ike_keymgr_del(k);
}

// LIMIT (cfg.max_mns) on both sides, RANDOM from a failing rand callback.
TEST(Split, LimitAndRandomCodes) {
  Sink s;
  auto mcbs = MobCbs(&s);
  auto kcbs = KmCbs(&s);
  auto hc = Cfg(M6IKE_AGENT_HA, M6IKE_SCHEME_STATIC);
  hc.max_mns = 1;
  m6ike_mobility *m = nullptr;
  m6ike_keymgr *k = nullptr;
  ASSERT_EQ(0, m6ike_mobility_new(&m, &hc, &mcbs, nullptr));
  ASSERT_EQ(0, m6ike_keymgr_new(&k, &hc, &kcbs, m6ike_crypto_null(), nullptr,
                                nullptr));
  ASSERT_EQ(0, m6ike_keymgr_start(k, 0));
  m6ike_addr6 a = Addr("2001:db8:1::200"), b = Addr("2001:db8:1::201");
  EXPECT_EQ(0, m6ike_mobility_add_mn(m, &a, 0));
  EXPECT_EQ(M6IKE_ERR_LIMIT, m6ike_mobility_add_mn(m, &b, 0));
  EXPECT_EQ(0, m6ike_keymgr_add_mn(k, &a, 0));
  EXPECT_EQ(M6IKE_ERR_LIMIT, m6ike_keymgr_add_mn(k, &b, 0));
  m6ike_keymgr_del(k);
  m6ike_mobility_del(m);
  mcbs.rand = [](uint8_t *, size_t, void *) { return 1; };
  EXPECT_NE(0, m6ike_mobility_new(&m, &hc, &mcbs, nullptr));
  EXPECT_EQ(nullptr, m);
  hc.max_mns = 0;
  // the HA's hash seed is the first draw after the MSRD's
  int calls = 0;
  struct R {
    int *calls;
  } r{&calls};
  mcbs.user_data = &r;
  mcbs.send_pfkey = [](const uint8_t *, size_t, int, void *) { return 0; };
  mcbs.rand = [](uint8_t *d, size_t n, void *ud) {
    auto *rr = static_cast<R *>(ud);
    std::memset(d, 7, n);
    return ++*rr->calls > 1 ? 1 : 0;
  };
  EXPECT_EQ(M6IKE_ERR_RANDOM, m6ike_mobility_new(&m, &hc, &mcbs, nullptr));
  EXPECT_EQ(nullptr, m);
}

TEST(Keymgr, FailingMemSweep) {
  for (int role = 0; role < 2; role++) {
    bool ok = false;
    for (size_t n = 1; n < 400 && !ok; n++) {
      FailingMem fm;
      fm.reset(n);
      Sink s;
      auto cbs = KmCbs(&s);
      auto c = Cfg(role ? M6IKE_AGENT_HA : M6IKE_AGENT_MN, M6IKE_SCHEME_MSRD);
      m6ike_keymgr *k = nullptr;
      int rc = m6ike_keymgr_new(&k, &c, &cbs, m6ike_crypto_null(), nullptr,
                                &fm.mem);
      if (rc == 0) {
        EXPECT_EQ(0, m6ike_keymgr_start(k, 0));
        ok = fm.calls < n;
        m6ike_keymgr_del(k);
      } else {
        EXPECT_EQ(M6IKE_ERR_NOMEM, rc) << n;
      }
      EXPECT_EQ(0, fm.live) << "role " << role << " fail at " << n;
    }
    EXPECT_TRUE(ok);
  }
}

} // namespace
