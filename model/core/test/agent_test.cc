// agent: MN and HA agents end to end in virtual time.  Each MN has its own
// m6ike_vlink to the HA (AB = MN -> HA, BA = HA -> MN); frames carry either
// a whole IPv6 packet or an IKE datagram with its path.  The HA's packets
// reach the MN whose current CoA they are addressed to; packets to an old
// CoA are lost, as on a real network after the MN has left.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "m6ike/agent.h"
#include "m6ike/binding.h"
#include "m6ike/crypto_openssl.h"
#include "m6ike/mh.h"
#include "agent_int.h"
#include "test_util.h"
#include "vlink.h"

namespace {

constexpr m6ike_tstamp kMs = M6IKE_MILLISECONDS;
constexpr m6ike_tstamp kSec = M6IKE_SECONDS;
const char *const kPsk = "correct horse battery staple";

std::string Fmt(const m6ike_addr6 &a) {
  char b[M6IKE_ADDR6_STRLEN];
  return m6ike_addr6_format(&a, b);
}

m6ike_addr6 Host(const char *prefix, unsigned i) {
  m6ike_addr6 a = Addr(prefix);
  a.b[14] = static_cast<uint8_t>((i + 0x100) >> 8);
  a.b[15] = static_cast<uint8_t>(i + 0x100);
  return a;
}

// A frame on a link: kind 0 = IPv6 packet, 1 = IKE datagram.
struct Frame {
  int kind = 0;
  m6ike_ikev2_path path{};  // as the sender saw it
  std::vector<uint8_t> data;
};

std::vector<uint8_t> Pack(const Frame &f) {
  std::vector<uint8_t> v;
  v.push_back(static_cast<uint8_t>(f.kind));
  const uint8_t *p = reinterpret_cast<const uint8_t *>(&f.path);
  v.insert(v.end(), p, p + sizeof(f.path));
  v.insert(v.end(), f.data.begin(), f.data.end());
  return v;
}

Frame Unpack(const uint8_t *b, size_t n) {
  Frame f;
  f.kind = b[0];
  std::memcpy(&f.path, b + 1, sizeof(f.path));
  f.data.assign(b + 1 + sizeof(f.path), b + n);
  return f;
}

struct Wire {
  m6ike_tstamp t;
  int dir;  // M6IKE_VLINK_AB: MN -> HA
  unsigned mn;
  Frame f;
};

struct Net;

struct Node {
  Net *net = nullptr;
  int is_ha = 0;
  unsigned index = 0;  // MN index
  m6ike_agent *a = nullptr;
  uint64_t rng = 0;
  std::vector<m6ike_agent_event> ev;
  std::vector<std::vector<uint8_t>> delivered;
  std::vector<std::string> keylog[2];
  m6ike_addr6 hoa{}, coa{};
  bool have_coa = false;
  int Count(m6ike_agent_event_kind k) const {
    int n = 0;
    for (auto &e : ev) n += e.kind == k;
    return n;
  }
  std::vector<m6ike_agent_event> Events(m6ike_agent_event_kind k) const {
    std::vector<m6ike_agent_event> out;
    for (auto &e : ev)
      if (e.kind == k) out.push_back(e);
    return out;
  }
};

struct Options {
  m6ike_scheme scheme = M6IKE_SCHEME_MSRD;
  unsigned n_mns = 1;
  m6ike_tstamp delay = 10 * kMs;
  double loss = 0;
  const m6ike_crypto *crypto = nullptr;  // null backend if NULL
  const m6ike_mem *mem = nullptr;
  int bu_on_sa_up = 0;
  const char *esp = "aes128gcm16";
  const char *ike = "aes128-sha256-x25519";
  // HA LOST knobs (MN and HA alike) and the MN's requested lifetime
  unsigned liveness_s = 0, ha_lost_after = 0;
  uint16_t lifetime = 0;  // 0 = the default
};

int Rand(uint8_t *d, size_t n, void *ud) {
  auto *node = static_cast<Node *>(ud);
  for (size_t i = 0; i < n; i++) {
    node->rng ^= node->rng << 13;
    node->rng ^= node->rng >> 7;
    node->rng ^= node->rng << 17;
    d[i] = static_cast<uint8_t>(node->rng >> 24);
  }
  return 0;
}

struct Net {
  Options o;
  Node ha;
  std::vector<std::unique_ptr<Node>> mns;
  std::vector<m6ike_vlink *> links;
  std::map<std::string, unsigned> by_coa;  // CoA -> MN index
  std::vector<Wire> wire;
  std::function<bool(const Wire &)> drop;  // true = lose this frame
  m6ike_tstamp now = 0;
  int create_rc = 0;
  bool ok = false;

  explicit Net(const Options &opt) : o(opt) {
    ha.net = this;
    ha.is_ha = 1;
    ha.rng = 0x1234567;
    m6ike_agent_config c;
    m6ike_agent_config_default(&c, M6IKE_AGENT_HA);
    Fill(&c);
    c.expected_mns = o.n_mns;
    m6ike_agent_callbacks cb = Cbs(&ha);
    create_rc = m6ike_agent_new(&ha.a, &c, &cb, Crypto(), o.mem);
    if (create_rc != 0) return;
    for (unsigned i = 0; i < o.n_mns; i++) {
      auto n = std::make_unique<Node>();
      n->net = this;
      n->index = i;
      n->rng = 0x9876543ull + i * 7919;
      n->hoa = Host("2001:db8:1::", i);
      m6ike_agent_config m;
      m6ike_agent_config_default(&m, M6IKE_AGENT_MN);
      Fill(&m);
      m.hoa = n->hoa;
      m.bu_on_sa_up = o.bu_on_sa_up;
      cb = Cbs(n.get());
      create_rc = m6ike_agent_new(&n->a, &m, &cb, Crypto(), o.mem);
      if (create_rc != 0) {
        mns.push_back(std::move(n));
        return;
      }
      if (o.scheme == M6IKE_SCHEME_STATIC) {
        create_rc = m6ike_agent_add_mn(ha.a, &n->hoa, 0);
        if (create_rc != 0) {
          mns.push_back(std::move(n));
          return;
        }
      }
      m6ike_vlink_params lp{};
      lp.delay = o.delay;
      lp.loss = o.loss;
      lp.seed = 42 + i;
      m6ike_vlink *l = nullptr;
      create_rc = m6ike_vlink_new(&l, &lp, nullptr);
      if (create_rc != 0) {
        mns.push_back(std::move(n));
        return;
      }
      links.push_back(l);
      mns.push_back(std::move(n));
    }
    ok = true;
  }
  ~Net() {
    for (auto &n : mns) m6ike_agent_del(n->a);
    m6ike_agent_del(ha.a);
    for (auto *l : links) m6ike_vlink_del(l);
  }
  const m6ike_crypto *Crypto() {
    return o.crypto ? o.crypto : m6ike_crypto_null();
  }
  void Fill(m6ike_agent_config *c) {
    c->scheme = o.scheme;
    c->ha = Addr("2001:db8:1::1");
    c->home_prefix = Addr("2001:db8:1::");
    c->home_plen = 64;
    c->psk = reinterpret_cast<const uint8_t *>(kPsk);
    c->psk_len = std::strlen(kPsk);
    c->esp_proposal = o.esp;
    c->ike_proposal = o.ike;
    c->liveness_s = o.liveness_s;
    c->ha_lost_after = o.ha_lost_after;
    if (o.lifetime && c->role == M6IKE_AGENT_MN) c->lifetime = o.lifetime;
  }
  // The HA crashes and comes back empty: a fresh agent with the same
  // configuration (static: its MNs provisioned again, as at start).
  int RestartHa() {
    m6ike_agent_del(ha.a);
    ha.a = nullptr;
    ha.ev.clear();
    m6ike_agent_config c;
    m6ike_agent_config_default(&c, M6IKE_AGENT_HA);
    Fill(&c);
    c.expected_mns = o.n_mns;
    m6ike_agent_callbacks cb = Cbs(&ha);
    int rc = m6ike_agent_new(&ha.a, &c, &cb, Crypto(), o.mem);
    for (unsigned i = 0; rc == 0 && o.scheme == M6IKE_SCHEME_STATIC &&
                         i < mns.size();
         i++) {
      rc = m6ike_agent_add_mn(ha.a, &mns[i]->hoa, now);
    }
    return rc;
  }
  static m6ike_agent_callbacks Cbs(Node *n) {
    m6ike_agent_callbacks cb{};
    cb.user_data = n;
    cb.rand = Rand;
    cb.send_ip6 = [](const uint8_t *p, size_t len, void *ud) {
      Frame f;
      f.data.assign(p, p + len);
      return static_cast<Node *>(ud)->net->Send(static_cast<Node *>(ud), f);
    };
    cb.send_udp = [](const m6ike_ikev2_path *path, const uint8_t *b,
                     size_t len, void *ud) {
      Frame f;
      f.kind = 1;
      f.path = *path;
      f.data.assign(b, b + len);
      return static_cast<Node *>(ud)->net->Send(static_cast<Node *>(ud), f);
    };
    cb.deliver_ip6 = [](const uint8_t *p, size_t len, void *ud) {
      static_cast<Node *>(ud)->delivered.emplace_back(p, p + len);
      return 0;
    };
    cb.event = [](const m6ike_agent_event *e, void *ud) {
      static_cast<Node *>(ud)->ev.push_back(*e);
    };
    cb.keylog = [](int kind, const char *line, void *ud) {
      static_cast<Node *>(ud)->keylog[kind].push_back(line);
    };
    return cb;
  }
  int Send(Node *from, const Frame &f) {
    unsigned mn = from->index;
    int dir = M6IKE_VLINK_AB;
    if (from->is_ha) {
      dir = M6IKE_VLINK_BA;
      m6ike_addr6 dst;
      if (f.kind == 1) {
        dst = f.path.remote;
      } else {
        std::memcpy(dst.b, f.data.data() + 24, 16);
      }
      auto it = by_coa.find(Fmt(dst));
      if (it == by_coa.end()) return 0;  // nobody there any more
      mn = it->second;
    }
    Wire w{now, dir, mn, f};
    wire.push_back(w);
    if (drop && drop(w)) return 0;
    auto v = Pack(f);
    m6ike_vlink_send(links[mn], dir, v.data(), v.size(), now);
    return 0;
  }
  int SetCoa(unsigned i, const m6ike_addr6 &coa) {
    Node &n = *mns[i];
    if (n.have_coa) by_coa.erase(Fmt(n.coa));
    n.coa = coa;
    n.have_coa = true;
    by_coa[Fmt(coa)] = i;
    return m6ike_agent_set_coa(n.a, &coa, now);
  }
  void Deliver(unsigned mn, int dir, const Frame &f) {
    Node &to = dir == M6IKE_VLINK_AB ? ha : *mns[mn];
    if (dir == M6IKE_VLINK_BA) {
      // the MN only hears its current CoA
      m6ike_addr6 dst;
      if (f.kind == 1) dst = f.path.remote;
      else std::memcpy(dst.b, f.data.data() + 24, 16);
      if (!to.have_coa || !m6ike_addr6_equal(&dst, &to.coa)) return;
    }
    if (f.kind == 1) {
      m6ike_ikev2_path p{};
      p.local = f.path.remote;
      p.remote = f.path.local;
      p.local_port = f.path.remote_port;
      p.remote_port = f.path.local_port;
      m6ike_agent_read_udp(to.a, &p, f.data.data(), f.data.size(), now);
    } else {
      m6ike_agent_read_ip6(to.a, f.data.data(), f.data.size(), now);
    }
  }
  m6ike_tstamp Next() const {
    m6ike_tstamp t = m6ike_agent_get_expiry(ha.a);
    for (size_t i = 0; i < mns.size(); i++) {
      t = std::min(t, m6ike_agent_get_expiry(mns[i]->a));
      t = std::min(t, m6ike_vlink_next_arrival(links[i]));
    }
    return t;
  }
  void RunUntil(m6ike_tstamp until) {
    std::vector<uint8_t> buf(16384);
    for (int guard = 0; guard < 10000000; guard++) {
      m6ike_tstamp t = Next();
      if (t == M6IKE_TSTAMP_UNSET || t > until) break;
      now = std::max(now, t);
      for (size_t i = 0; i < links.size(); i++) {
        int dir;
        m6ike_tstamp arr;
        int n;
        while ((n = m6ike_vlink_recv(links[i], now, &dir, &arr, buf.data(),
                                     buf.size())) > 0) {
          Deliver(static_cast<unsigned>(i), dir,
                  Unpack(buf.data(), static_cast<size_t>(n)));
        }
      }
      if (m6ike_agent_get_expiry(ha.a) <= now)
        m6ike_agent_handle_expiry(ha.a, now);
      for (auto &m : mns)
        if (m6ike_agent_get_expiry(m->a) <= now)
          m6ike_agent_handle_expiry(m->a, now);
    }
    now = std::max(now, until);
  }
  Node &Mn(unsigned i = 0) { return *mns[i]; }
  m6ike_agent_handover Ho(unsigned i = 0) {
    m6ike_agent_handover h{};
    EXPECT_EQ(0, m6ike_agent_get_handover(mns[i]->a, &h));
    return h;
  }
  // IKE exchange types on the wire since frame index from, as "I> R<".
  std::string Ike(size_t from = 0) const {
    static const char *names[] = {"IKE_SA_INIT", "IKE_AUTH",
                                  "CREATE_CHILD_SA", "INFORMATIONAL"};
    std::string s;
    for (size_t i = from; i < wire.size(); i++) {
      const Wire &w = wire[i];
      if (w.f.kind != 1 || w.f.data.size() < 28) continue;
      int x = w.f.data[18] - 34;
      bool resp = (w.f.data[19] & 0x20) != 0;
      if (!s.empty()) s += " ";
      s += (w.dir == M6IKE_VLINK_AB ? "MN:" : "HA:");
      s += (x >= 0 && x < 4) ? names[x] : "?";
      s += resp ? "<" : ">";
    }
    return s;
  }
};

bool IsBu(const Wire &w) {
  if (w.f.kind != 0 || w.dir != M6IKE_VLINK_AB) return false;
  m6ike_ip6_info i;
  return m6ike_ip6_walk(&i, w.f.data.data(), w.f.data.size()) == 0 &&
         i.has_hao && i.upper_proto == M6IKE_IPPROTO_ESP;
}
bool IsBa(const Wire &w) {
  if (w.f.kind != 0 || w.dir != M6IKE_VLINK_BA) return false;
  m6ike_ip6_info i;
  return m6ike_ip6_walk(&i, w.f.data.data(), w.f.data.size()) == 0 &&
         i.has_rh2 && i.upper_proto == M6IKE_IPPROTO_ESP;
}

// A payload packet CN -> HoA (what the HA intercepts).
std::vector<uint8_t> Payload(const m6ike_addr6 &src, const m6ike_addr6 &dst,
                             size_t n = 100) {
  std::vector<uint8_t> p(40 + n, 0xab);
  p[0] = 0x60;
  p[1] = p[2] = p[3] = 0;
  p[4] = static_cast<uint8_t>(n >> 8);
  p[5] = static_cast<uint8_t>(n);
  p[6] = 59;  // no next header
  p[7] = 64;
  std::memcpy(&p[8], src.b, 16);
  std::memcpy(&p[24], dst.b, 16);
  return p;
}

const m6ike_addr6 kCoA1 = Addr("2001:db8:2::100");
const m6ike_addr6 kCoA2 = Addr("2001:db8:3::100");
const m6ike_addr6 kCN = Addr("2001:db8:9::9");

const m6ike_scheme kAllSchemes[] = {
    M6IKE_SCHEME_MSRD,    M6IKE_SCHEME_RENEGOTIATE,
    M6IKE_SCHEME_MIGRATE, M6IKE_SCHEME_MIGRATE_KMADDRESS,
    M6IKE_SCHEME_MOBIKE,  M6IKE_SCHEME_STATIC};

// ---- API basics -------------------------------------------------------------

TEST(Agent, SchemeNames) {
  for (m6ike_scheme s : kAllSchemes) {
    m6ike_scheme back;
    ASSERT_EQ(0, m6ike_scheme_parse(m6ike_scheme_name(s), &back));
    EXPECT_EQ(s, back);
  }
  m6ike_scheme x;
  EXPECT_EQ(M6IKE_ERR_AGENT_SCHEME, m6ike_scheme_parse("msrdd", &x));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_scheme_parse(nullptr, &x));
  EXPECT_STREQ("?", m6ike_scheme_name(static_cast<m6ike_scheme>(99)));
  EXPECT_STREQ("migrate-kmaddress",
               m6ike_scheme_name(M6IKE_SCHEME_MIGRATE_KMADDRESS));
}

TEST(Agent, ErrorStrings) {
  for (int c = M6IKE_ERR_AGENT_ROLE; c >= M6IKE_ERR_AGENT_STATE; c--) {
    const char *s = m6ike_agent_strerror_(c);
    if (s) {
      EXPECT_EQ(std::string(s), m6ike_strerror(c));
    }
  }
  EXPECT_NE(nullptr, std::strstr(m6ike_strerror(M6IKE_ERR_AGENT_PSK), "psk"));
  EXPECT_EQ(nullptr, m6ike_agent_strerror_(-101));
}

struct CfgCase {
  const char *what;
  std::function<void(m6ike_agent_config *)> edit;
  int rc;
};

TEST(Agent, ConfigErrors) {
  Node dummy;
  m6ike_agent_callbacks cb = Net::Cbs(&dummy);
  static const char *psk = "k";
  std::vector<CfgCase> cases = {
      {"role", [](m6ike_agent_config *c) { c->role = (m6ike_agent_role)7; },
       M6IKE_ERR_AGENT_ROLE},
      {"scheme", [](m6ike_agent_config *c) { c->scheme = (m6ike_scheme)0; },
       M6IKE_ERR_AGENT_SCHEME},
      {"ha", [](m6ike_agent_config *c) { c->ha = Addr("::"); },
       M6IKE_ERR_AGENT_ADDRESS},
      {"hoa off prefix",
       [](m6ike_agent_config *c) { c->hoa = Addr("2001:db8:7::5"); },
       M6IKE_ERR_AGENT_ADDRESS},
      {"plen", [](m6ike_agent_config *c) { c->home_plen = 0; },
       M6IKE_ERR_AGENT_ADDRESS},
      {"psk", [](m6ike_agent_config *c) { c->psk_len = 0; },
       M6IKE_ERR_AGENT_PSK},
      {"psk long", [](m6ike_agent_config *c) { c->psk_len = 129; },
       M6IKE_ERR_AGENT_PSK},
      {"ike", [](m6ike_agent_config *c) { c->ike_proposal = "aes129"; },
       M6IKE_ERR_AGENT_PROPOSAL},
      {"esp", [](m6ike_agent_config *c) { c->esp_proposal = ""; },
       M6IKE_ERR_AGENT_PROPOSAL},
      {"id",
       [](m6ike_agent_config *c) { c->local_id = "fqdn:"; },
       M6IKE_ERR_AGENT_IDENTITY},
      {"lifetime", [](m6ike_agent_config *c) { c->lifetime = 0; },
       M6IKE_ERR_AGENT_CONFIG},
      {"timers",
       [](m6ike_agent_config *c) {
         c->bindack_timeout = 5 * kSec;
         c->bindack_max = 2 * kSec;
       },
       M6IKE_ERR_AGENT_CONFIG},
      {"replay", [](m6ike_agent_config *c) { c->replay_window = 8; },
       M6IKE_ERR_AGENT_CONFIG},
  };
  for (auto &k : cases) {
    m6ike_agent_config c;
    m6ike_agent_config_default(&c, M6IKE_AGENT_MN);
    c.ha = Addr("2001:db8:1::1");
    c.hoa = Addr("2001:db8:1::5");
    c.home_prefix = Addr("2001:db8:1::");
    c.psk = reinterpret_cast<const uint8_t *>(psk);
    c.psk_len = 1;
    k.edit(&c);
    m6ike_agent *a = nullptr;
    EXPECT_EQ(k.rc, m6ike_agent_new(&a, &c, &cb, m6ike_crypto_null(),
                                    nullptr))
        << k.what;
    EXPECT_EQ(nullptr, a);
  }
  m6ike_agent *a = nullptr;
  m6ike_agent_config c;
  m6ike_agent_config_default(&c, M6IKE_AGENT_MN);
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_agent_new(&a, &c, nullptr, m6ike_crypto_null(), nullptr));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_agent_new(&a, &c, &cb, nullptr, nullptr));
}

TEST(Agent, RoleChecks) {
  Options o;
  Net n(o);
  ASSERT_TRUE(n.ok) << m6ike_strerror(n.create_rc);
  m6ike_agent_handover h;
  EXPECT_EQ(M6IKE_ERR_AGENT_ROLE, m6ike_agent_set_coa(n.ha.a, &kCoA1, 0));
  EXPECT_EQ(M6IKE_ERR_AGENT_ROLE, m6ike_agent_get_handover(n.ha.a, &h));
  EXPECT_EQ(M6IKE_ERR_AGENT_ROLE,
            m6ike_agent_add_mn(n.Mn().a, &n.Mn().hoa, 0));
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND, m6ike_agent_get_handover(n.Mn().a, &h));
  m6ike_addr6 off = Addr("2001:db8:5::5");
  EXPECT_EQ(M6IKE_ERR_AGENT_ADDRESS, m6ike_agent_add_mn(n.ha.a, &off, 0));
  EXPECT_EQ(0, m6ike_agent_add_mn(n.ha.a, &n.Mn().hoa, 0));  // msrd: no-op
  m6ike_addr6 mc = Addr("ff02::1");
  EXPECT_EQ(M6IKE_ERR_BINDING_BAD_COA, m6ike_agent_set_coa(n.Mn().a, &mc, 0));
  // nothing registered: write_tunnel has nowhere to go
  auto p = Payload(kCN, n.Mn().hoa);
  EXPECT_EQ(M6IKE_ERR_AGENT_NO_BINDING,
            m6ike_agent_write_tunnel(n.ha.a, p.data(), p.size(), 0));
  auto q = Payload(n.Mn().hoa, kCN);
  EXPECT_EQ(M6IKE_ERR_AGENT_NO_BINDING,
            m6ike_agent_write_tunnel(n.Mn().a, q.data(), q.size(), 0));
  EXPECT_EQ(0, m6ike_agent_lookup(n.ha.a, &n.Mn().hoa, nullptr));
}

// ---- bootstrap, per scheme ------------------------------------------------------

class AgentScheme : public ::testing::TestWithParam<m6ike_scheme> {};

/* msrd:      MSRD insert, ACQUIRE+Reference -> BOOTSTRAP
 *   MN:IKE_SA_INIT> HA:IKE_SA_INIT< MN:IKE_AUTH> HA:IKE_AUTH<    (transport)
 *   MN:CREATE_CHILD_SA> HA:CREATE_CHILD_SA<                       (tunnel)
 *   BU (HAO, ESP) -->  <-- BA (RH2, ESP)
 * renegotiate / migrate / mobike: ACQUIRE without Reference, the same IKE
 * exchanges; renegotiate's BU went at once and was dropped by IPsec, the
 * binding update list sends it again after 1.5 s.
 * static: BU (ESP with the manual keys) --> <-- BA, no IKE. */
TEST_P(AgentScheme, Bootstrap) {
  Options o;
  o.scheme = GetParam();
  Net n(o);
  ASSERT_TRUE(n.ok) << m6ike_strerror(n.create_rc);
  ASSERT_EQ(0, n.SetCoa(0, kCoA1));
  n.RunUntil(4 * kSec);
  Node &mn = n.Mn();
  auto ba = mn.Events(M6IKE_AGENT_EV_BA_RECEIVED);
  ASSERT_EQ(1u, ba.size());
  EXPECT_EQ(0, ba[0].status);
  m6ike_addr6 coa;
  ASSERT_EQ(1, m6ike_agent_lookup(n.ha.a, &mn.hoa, &coa));
  EXPECT_TRUE(m6ike_addr6_equal(&coa, &kCoA1));
  EXPECT_EQ(1, m6ike_agent_lookup(mn.a, &mn.hoa, nullptr));
  // the BU on the wire: IPv6 | DstOpt(HAO) | ESP (next header 50 after HAO)
  size_t bus = 0, bas = 0;
  for (auto &w : n.wire) {
    bus += IsBu(w);
    bas += IsBa(w);
    if (w.f.kind == 0) {
      m6ike_ip6_info i;
      ASSERT_EQ(0, m6ike_ip6_walk(&i, w.f.data.data(), w.f.data.size()));
      EXPECT_NE(M6IKE_IPPROTO_MH, i.upper_proto) << "plaintext MH on the wire";
    }
  }
  EXPECT_EQ(1u, bas);
  auto h = n.Ho();
  EXPECT_EQ(0u, h.index);
  EXPECT_TRUE(h.complete);
  EXPECT_EQ(0, h.ba_status);
  EXPECT_NE(M6IKE_TSTAMP_UNSET, h.sa_ready);
  std::string ike = n.Ike();
  switch (GetParam()) {
  case M6IKE_SCHEME_STATIC:
    EXPECT_EQ("", ike);
    EXPECT_EQ(0u, h.ike_msgs);
    EXPECT_EQ(0u, h.bu_sent);  // at once
    EXPECT_EQ(20 * kMs, h.ba_received);
    EXPECT_EQ(1u, bus);
    break;
  case M6IKE_SCHEME_RENEGOTIATE:
    EXPECT_EQ(1.5 * kSec, h.bu_sent) << "stock: the first BU was dropped";
    EXPECT_EQ(1u, bus);
    EXPECT_GE(mn.Count(M6IKE_AGENT_EV_DROP), 1);
    EXPECT_EQ(6u, h.ike_msgs);
    break;
  default:
    EXPECT_EQ("MN:IKE_SA_INIT> HA:IKE_SA_INIT< MN:IKE_AUTH> HA:IKE_AUTH< "
              "MN:CREATE_CHILD_SA> HA:CREATE_CHILD_SA<",
              ike);
    // BU as soon as the transport SA is up (after IKE_AUTH: 4 one-way
    // delays), the BA one round trip later
    EXPECT_EQ(40 * kMs, h.bu_sent);
    EXPECT_EQ(60 * kMs, h.ba_received);
    EXPECT_EQ(1u, bus);
    EXPECT_EQ(6u, h.ike_msgs);
    EXPECT_EQ(2u, h.ike_msgs_x[M6IKE_IKEV2_X_IKE_SA_INIT]);
    EXPECT_GT(h.ike_bytes, 500u);
    break;
  }
  EXPECT_GE(mn.Count(M6IKE_AGENT_EV_SA_INSTALLED), 4);
  EXPECT_GE(mn.keylog[1].size(), 4u);
  if (GetParam() != M6IKE_SCHEME_STATIC) {
    EXPECT_GE(mn.keylog[0].size(), 1u);
  }
  m6ike_agent_stats st;
  m6ike_agent_get_stats(n.ha.a, &st);
  EXPECT_EQ(1u, st.bindings);
  EXPECT_EQ(1u, st.ba_sent);
}

/* Handover at t = 5 s from CoA1 to CoA2; what each scheme puts on the wire
 * for it, then payload through the tunnel both ways. */
TEST_P(AgentScheme, Handover) {
  Options o;
  o.scheme = GetParam();
  Net n(o);
  ASSERT_TRUE(n.ok);
  ASSERT_EQ(0, n.SetCoa(0, kCoA1));
  n.RunUntil(5 * kSec);
  size_t mark = n.wire.size();
  Node &mn = n.Mn();
  int drops_before = mn.Count(M6IKE_AGENT_EV_DROP);
  ASSERT_EQ(0, n.SetCoa(0, kCoA2));
  n.RunUntil(10 * kSec);
  auto h = n.Ho();
  EXPECT_EQ(1u, h.index);
  EXPECT_TRUE(m6ike_addr6_equal(&h.old_coa, &kCoA1));
  EXPECT_TRUE(m6ike_addr6_equal(&h.coa, &kCoA2));
  EXPECT_EQ(5 * kSec, h.coa_set);
  EXPECT_TRUE(h.complete);
  EXPECT_EQ(0, h.ba_status);
  m6ike_addr6 coa;
  ASSERT_EQ(1, m6ike_agent_lookup(n.ha.a, &mn.hoa, &coa));
  EXPECT_TRUE(m6ike_addr6_equal(&coa, &kCoA2));
  std::string ike = n.Ike(mark);
  const uint32_t *x = h.ike_msgs_x;
  switch (GetParam()) {
  case M6IKE_SCHEME_MSRD:
    /* ACQUIRE+Reference -> DIRECT_UPDATE; BU at once under the transport SA
     *   MN:INFORMATIONAL{N(SA_ADDRESS_UPDATE)}>  HA:INFORMATIONAL< */
    EXPECT_EQ("MN:INFORMATIONAL> HA:INFORMATIONAL<", ike);
    EXPECT_EQ(2u, h.ike_msgs);
    EXPECT_EQ(2u, x[M6IKE_IKEV2_X_INFORMATIONAL]);
    EXPECT_EQ(0u, x[M6IKE_IKEV2_X_IKE_SA_INIT] + x[M6IKE_IKEV2_X_IKE_AUTH]);
    EXPECT_EQ(5 * kSec, h.bu_sent);
    EXPECT_EQ(5 * kSec, h.sa_ready);
    EXPECT_EQ(5 * kSec + 20 * kMs, h.ba_received);
    break;
  case M6IKE_SCHEME_RENEGOTIATE: {
    /* ACQUIRE without Reference -> a new IKE SA; the BU sent at the move is
     * dropped by IPsec (no SA) and retransmitted by the binding update
     * list's timer 1 s later. */
    EXPECT_EQ(2u, x[M6IKE_IKEV2_X_IKE_SA_INIT]);
    EXPECT_EQ(2u, x[M6IKE_IKEV2_X_IKE_AUTH]);
    EXPECT_EQ(2u, x[M6IKE_IKEV2_X_CREATE_CHILD_SA]);
    EXPECT_EQ(0u, ike.find("MN:IKE_SA_INIT> HA:IKE_SA_INIT< MN:IKE_AUTH>"));
    EXPECT_EQ(drops_before + 1, mn.Count(M6IKE_AGENT_EV_DROP));
    auto drops = mn.Events(M6IKE_AGENT_EV_DROP);
    EXPECT_EQ(5 * kSec, drops.back().time);
    EXPECT_EQ(M6IKE_ERR_IPSEC_ACQUIRE, drops.back().status);
    EXPECT_EQ(6 * kSec, h.bu_sent);
    EXPECT_EQ(6 * kSec + 20 * kMs, h.ba_received);
    EXPECT_EQ(5 * kSec + 60 * kMs, h.sa_ready);
    break;
  }
  case M6IKE_SCHEME_MIGRATE:
  case M6IKE_SCHEME_MIGRATE_KMADDRESS:
  case M6IKE_SCHEME_STATIC:
    EXPECT_EQ("", ike);
    EXPECT_EQ(0u, h.ike_msgs);
    EXPECT_EQ(5 * kSec, h.bu_sent);
    EXPECT_EQ(5 * kSec, h.sa_ready);
    EXPECT_EQ(5 * kSec + 20 * kMs, h.ba_received);
    break;
  case M6IKE_SCHEME_MOBIKE:
    EXPECT_EQ("MN:INFORMATIONAL> HA:INFORMATIONAL<", ike);
    EXPECT_EQ(2u, x[M6IKE_IKEV2_X_INFORMATIONAL]);
    EXPECT_EQ(5 * kSec, h.bu_sent);
    break;
  }
  if (GetParam() != M6IKE_SCHEME_STATIC &&
      GetParam() != M6IKE_SCHEME_MIGRATE &&
      GetParam() != M6IKE_SCHEME_MIGRATE_KMADDRESS) {
    EXPECT_GE(mn.Count(M6IKE_AGENT_EV_IKE_COMPLETED), 2);
  }
  // payload: CN -> HoA intercepted by the HA, tunnelled to CoA2
  auto p = Payload(kCN, mn.hoa);
  ASSERT_EQ(0, m6ike_agent_write_tunnel(n.ha.a, p.data(), p.size(), n.now));
  n.RunUntil(n.now + kSec);
  ASSERT_EQ(1u, mn.delivered.size());
  EXPECT_EQ(p, mn.delivered[0]);
  // and back: HoA -> CN reverse-tunnelled from CoA2
  auto q = Payload(mn.hoa, kCN, 300);
  ASSERT_EQ(0, m6ike_agent_write_tunnel(mn.a, q.data(), q.size(), n.now));
  n.RunUntil(n.now + kSec);
  ASSERT_EQ(1u, n.ha.delivered.size());
  EXPECT_EQ(q, n.ha.delivered[0]);
  // the tunnel packet on the wire is ESP from CoA2
  const Wire &last = n.wire.back();
  EXPECT_EQ(M6IKE_VLINK_AB, last.dir);
  EXPECT_EQ(M6IKE_IPPROTO_ESP, last.f.data[6]);
  EXPECT_EQ(0, std::memcmp(last.f.data.data() + 8, kCoA2.b, 16));
  m6ike_agent_stats st;
  m6ike_agent_get_stats(mn.a, &st);
  EXPECT_EQ(1u, st.tunnel_in);
  EXPECT_EQ(1u, st.tunnel_out);
  EXPECT_GE(mn.Count(M6IKE_AGENT_EV_SA_READY), 2);
}

/* The HA tunnels to the CoA of the MN's registered binding (RFC 6275
 * §10.4.1), whatever SAs the key manager has installed meanwhile.  Payload
 * for the HoA is handed to the HA every 10 ms after the move; the first one
 * the MN receives through CoA2 must not precede the HA's acceptance of the
 * BU from CoA2 (the BA leaves then, 10 ms before the MN has it).
 * renegotiate: the new CHILD_SAs are up at +60 ms but the BU waits for its
 * 1 s timer, so traffic resumes only then (the paper's baseline penalty);
 * msrd, mobike, migrate, static: BU and SA move together, traffic resumes
 * within one one-way delay of the BU. */
TEST_P(AgentScheme, InterceptedTrafficFollowsTheBinding) {
  Options o;
  o.scheme = GetParam();
  Net n(o);
  ASSERT_TRUE(n.ok);
  ASSERT_EQ(0, n.SetCoa(0, kCoA1));
  n.RunUntil(5 * kSec);
  Node &mn = n.Mn();
  ASSERT_EQ(0, n.SetCoa(0, kCoA2));
  size_t before = mn.delivered.size();
  m6ike_tstamp first_rx = M6IKE_TSTAMP_UNSET;
  for (m6ike_tstamp t = 5 * kSec; t < 8 * kSec; t += 10 * kMs) {
    n.RunUntil(t);
    if (first_rx == M6IKE_TSTAMP_UNSET && mn.delivered.size() > before) {
      first_rx = n.now;
    }
    auto p = Payload(kCN, mn.hoa);
    m6ike_agent_write_tunnel(n.ha.a, p.data(), p.size(), n.now);
  }
  n.RunUntil(9 * kSec);
  auto h = n.Ho();
  ASSERT_TRUE(h.complete);
  ASSERT_NE(M6IKE_TSTAMP_UNSET, first_rx);
  // accepted at the HA = BA received at the MN - one-way delay (10 ms)
  EXPECT_GE(first_rx + 10 * kMs, h.ba_received);
  if (GetParam() == M6IKE_SCHEME_RENEGOTIATE) {
    EXPECT_LT(h.sa_ready + 500 * kMs, first_rx);
    EXPECT_GE(first_rx, 6 * kSec);
  } else {
    EXPECT_LE(first_rx, h.ba_received + 20 * kMs);
  }
}

/* A second move while the bootstrap's IKE exchanges are still in flight
 * (CoA1 is gone 15 ms after it appeared): the registration still ends at
 * CoA2 with every SA there. */
TEST_P(AgentScheme, MoveDuringBootstrap) {
  Options o;
  o.scheme = GetParam();
  Net n(o);
  ASSERT_TRUE(n.ok);
  ASSERT_EQ(0, n.SetCoa(0, kCoA1));
  n.RunUntil(15 * kMs);
  ASSERT_EQ(0, n.SetCoa(0, kCoA2));
  n.RunUntil(10 * kSec);
  auto h = n.Ho();
  EXPECT_EQ(1u, h.index);
  EXPECT_TRUE(h.complete) << m6ike_scheme_name(GetParam());
  m6ike_addr6 coa;
  ASSERT_EQ(1, m6ike_agent_lookup(n.ha.a, &n.Mn().hoa, &coa));
  EXPECT_TRUE(m6ike_addr6_equal(&coa, &kCoA2));
  auto p = Payload(kCN, n.Mn().hoa);
  ASSERT_EQ(0, m6ike_agent_write_tunnel(n.ha.a, p.data(), p.size(), n.now));
  n.RunUntil(n.now + kSec);
  EXPECT_EQ(1u, n.Mn().delivered.size());
}

/* Home and away again: the de-registration BU goes from the HoA (no HAO)
 * under the transport SA, the HA drops the binding; the next move
 * registers again with the SAs kept from before. */
TEST_P(AgentScheme, ReturnHomeAndLeaveAgain) {
  Options o;
  o.scheme = GetParam();
  Net n(o);
  ASSERT_TRUE(n.ok);
  ASSERT_EQ(0, n.SetCoa(0, kCoA1));
  n.RunUntil(3 * kSec);
  ASSERT_EQ(0, n.SetCoa(0, n.Mn().hoa));
  n.RunUntil(6 * kSec);
  EXPECT_EQ(0, m6ike_agent_lookup(n.ha.a, &n.Mn().hoa, nullptr));
  EXPECT_EQ(0, m6ike_agent_lookup(n.Mn().a, &n.Mn().hoa, nullptr));
  auto ba = n.Mn().Events(M6IKE_AGENT_EV_BA_RECEIVED);
  ASSERT_EQ(2u, ba.size());
  EXPECT_EQ(0, ba[1].status);
  m6ike_agent_stats st;
  m6ike_agent_get_stats(n.ha.a, &st);
  EXPECT_EQ(0u, st.bindings);
  ASSERT_EQ(0, n.SetCoa(0, kCoA2));
  n.RunUntil(12 * kSec);
  EXPECT_TRUE(n.Ho().complete) << m6ike_scheme_name(GetParam());
  m6ike_addr6 coa;
  ASSERT_EQ(1, m6ike_agent_lookup(n.ha.a, &n.Mn().hoa, &coa));
  EXPECT_TRUE(m6ike_addr6_equal(&coa, &kCoA2));
  auto p = Payload(kCN, n.Mn().hoa);
  ASSERT_EQ(0, m6ike_agent_write_tunnel(n.ha.a, p.data(), p.size(), n.now));
  n.RunUntil(n.now + kSec);
  EXPECT_EQ(1u, n.Mn().delivered.size());
}

/* The HA is unreachable for the first 40 s: the key manager's
 * retransmissions run out (IKE_COMPLETED with an error), the agent asks
 * again (1 s, doubling), and once the path works the MN registers. */
TEST_P(AgentScheme, KeyManagerFailureIsRetried) {
  if (GetParam() == M6IKE_SCHEME_STATIC) GTEST_SKIP() << "no IKE";
  Options o;
  o.scheme = GetParam();
  Net n(o);
  ASSERT_TRUE(n.ok);
  n.drop = [&n](const Wire &) { return n.now < 40 * kSec; };
  ASSERT_EQ(0, n.SetCoa(0, kCoA1));
  n.RunUntil(120 * kSec);
  auto done = n.Mn().Events(M6IKE_AGENT_EV_IKE_COMPLETED);
  ASSERT_GE(done.size(), 2u);
  EXPECT_EQ(M6IKE_ERR_IKEV2_TIMEOUT, done[0].status);
  EXPECT_EQ(0, done.back().status);
  EXPECT_TRUE(n.Ho().complete);
  EXPECT_EQ(1, m6ike_agent_lookup(n.ha.a, &n.Mn().hoa, nullptr));
  EXPECT_GT(n.Ho().ba_received, 40 * kSec);
}

/* Golden wire trace: bootstrap at CoA1, a handover to CoA2 at 5 s and to
 * CoA3 at 10 s, a payload packet each way after each registration.  Every
 * frame on the links (time, direction, kind, length, FNV-1a 64 of the bytes
 * and, for IKE, the path) is compared line by line with
 * test/data/agent_golden/<scheme>.txt, recorded from the composite agent
 * before it was split into mobility / key-manager / ipsec parts: the split
 * must put byte-identical traffic on the wire at the same times.
 * M6IKE_UPDATE_GOLDEN=1 rewrites the files (only for a deliberate change of
 * the wire behaviour). */
uint64_t Fnv(uint64_t h, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= UINT64_C(0x100000001b3);
  }
  return h;
}

std::vector<std::string> TraceLines(const Net &n) {
  std::vector<std::string> out;
  for (const Wire &w : n.wire) {
    uint64_t h = Fnv(UINT64_C(0xcbf29ce484222325), w.f.data.data(),
                     w.f.data.size());
    if (w.f.kind == 1) {
      h = Fnv(h, w.f.path.local.b, 16);
      h = Fnv(h, w.f.path.remote.b, 16);
      uint8_t ports[4] = {static_cast<uint8_t>(w.f.path.local_port >> 8),
                          static_cast<uint8_t>(w.f.path.local_port),
                          static_cast<uint8_t>(w.f.path.remote_port >> 8),
                          static_cast<uint8_t>(w.f.path.remote_port)};
      h = Fnv(h, ports, 4);
    }
    char line[128];
    std::snprintf(line, sizeof line, "%llu %s %s %zu %016llx",
                  static_cast<unsigned long long>(w.t),
                  w.dir == M6IKE_VLINK_AB ? "MN>HA" : "HA>MN",
                  w.f.kind == 1 ? "ike" : "ip6", w.f.data.size(),
                  static_cast<unsigned long long>(h));
    out.push_back(line);
  }
  return out;
}

TEST_P(AgentScheme, GoldenWireTrace) {
  Options o;
  o.scheme = GetParam();
  Net n(o);
  ASSERT_TRUE(n.ok);
  const m6ike_addr6 coas[3] = {kCoA1, kCoA2, Addr("2001:db8:4::100")};
  for (int i = 0; i < 3; i++) {
    ASSERT_EQ(0, n.SetCoa(0, coas[i]));
    n.RunUntil(n.now + 4 * kSec);
    auto p = Payload(kCN, n.Mn().hoa, 64 + i);
    EXPECT_EQ(0, m6ike_agent_write_tunnel(n.ha.a, p.data(), p.size(), n.now));
    n.RunUntil(n.now + 500 * kMs);
    auto q = Payload(n.Mn().hoa, kCN, 200 + i);
    EXPECT_EQ(0, m6ike_agent_write_tunnel(n.Mn().a, q.data(), q.size(), n.now));
    n.RunUntil(n.now + 500 * kMs);
  }
  EXPECT_EQ(3u, n.Mn().delivered.size());
  EXPECT_EQ(3u, n.ha.delivered.size());
  std::vector<std::string> got = TraceLines(n);
  std::string name = m6ike_scheme_name(GetParam());
  std::string path =
      std::string(M6IKE_TEST_DATA_DIR) + "/agent_golden/" + name + ".txt";
  const char *upd = std::getenv("M6IKE_UPDATE_GOLDEN");
  if (upd && *upd == '1') {
    FILE *f = std::fopen(path.c_str(), "w");
    ASSERT_NE(nullptr, f) << path;
    for (auto &l : got) std::fprintf(f, "%s\n", l.c_str());
    std::fclose(f);
    return;
  }
  FILE *f = std::fopen(path.c_str(), "r");
  ASSERT_NE(nullptr, f) << path << " missing (M6IKE_UPDATE_GOLDEN=1 records)";
  std::vector<std::string> want = ReadLines(f);
  ASSERT_EQ(want.size(), got.size()) << "frame count differs";
  for (size_t i = 0; i < want.size(); i++) {
    EXPECT_EQ(want[i], got[i]) << "frame " << i;
  }
}

/* The parts inside the agent talk through the PF_KEY bus: every message on
 * each node's bus (sent by an endpoint, or queued to one) decodes STRICT
 * (the Reference extension included); the mobility endpoint sends only
 * X_SPDADD / X_SPDUPDATE, ACQUIRE (+Reference) and X_MIGRATE, never a key
 * operation; and when it tries one (SADB_ADD) the bus refuses it (EPERM)
 * and the SAD does not change. */
struct BusLog {
  m6ike_pfkey_ep mob = 0;
  std::vector<std::pair<m6ike_pfkey_ep, std::vector<uint8_t>>> sent;
  std::vector<std::vector<uint8_t>> queued;
  static void Cb(m6ike_pfkey_ep from, m6ike_pfkey_ep, const uint8_t *m,
                 size_t n, void *ud) {
    auto *l = static_cast<BusLog *>(ud);
    if (from)
      l->sent.emplace_back(from, std::vector<uint8_t>(m, m + n));
    else
      l->queued.emplace_back(m, m + n);
  }
};

TEST_P(AgentScheme, PfkeyTrafficBetweenPartsDecodes) {
  Options o;
  o.scheme = GetParam();
  Net n(o);
  ASSERT_TRUE(n.ok);
  BusLog mn, ha;
  mn.mob = n.Mn().a->ep_mob;
  ha.mob = n.ha.a->ep_mob;
  m6ike_pfkey_bus_set_monitor(n.Mn().a->bus, BusLog::Cb, &mn);
  m6ike_pfkey_bus_set_monitor(n.ha.a->bus, BusLog::Cb, &ha);
  ASSERT_EQ(0, n.SetCoa(0, kCoA1));
  n.RunUntil(5 * kSec);
  ASSERT_EQ(0, n.SetCoa(0, kCoA2));
  n.RunUntil(10 * kSec);
  EXPECT_TRUE(n.Ho().complete);
  std::map<int, int> mob_types;
  int refs = 0;
  for (BusLog *l : {&mn, &ha}) {
    for (auto &s : l->sent) {
      m6ike_pfkey_msg m;
      ASSERT_EQ(static_cast<int>(s.second.size()),
                m6ike_pfkey_decode(&m, s.second.data(), s.second.size(), 0));
      if (s.first == l->mob) {
        mob_types[m.hdr.type]++;
        refs += m6ike_pfkey_has(&m, M6IKE_SADB_X_EXT_M6IKE_REFERENCE);
      }
    }
    for (auto &q : l->queued) {
      m6ike_pfkey_msg m;
      ASSERT_EQ(static_cast<int>(q.size()),
                m6ike_pfkey_decode(&m, q.data(), q.size(), 0));
      EXPECT_EQ(0, m.hdr.msg_errno) << "no refusal in a normal run";
    }
  }
  for (auto &t : mob_types) {
    EXPECT_TRUE(t.first == M6IKE_SADB_X_SPDADD ||
                t.first == M6IKE_SADB_X_SPDUPDATE ||
                t.first == M6IKE_SADB_ACQUIRE || t.first == M6IKE_SADB_X_MIGRATE)
        << "mobility endpoint sent type " << t.first;
  }
  // MN: 4 policies at creation + 2 per CoA; HA: its BU-in and DISCARD
  // policies + per MN
  EXPECT_GE(mob_types[M6IKE_SADB_X_SPDUPDATE], 8);
  switch (GetParam()) {
  case M6IKE_SCHEME_MSRD:
    EXPECT_EQ(2, refs) << "ACQUIRE+Reference at bootstrap and at the move";
    break;
  case M6IKE_SCHEME_MIGRATE:
  case M6IKE_SCHEME_MIGRATE_KMADDRESS:
    EXPECT_GE(mob_types[M6IKE_SADB_X_MIGRATE], 2) << "MN and HA";
    EXPECT_EQ(0, refs);
    break;
  default:
    EXPECT_EQ(0, refs);
    break;
  }
  // a key operation from the mobility side is refused
  m6ike_agent *a = n.Mn().a;
  size_t sas = m6ike_ipsec_sa_count(m6ike_agent_ipsec(a));
  uint8_t buf[256];
  m6ike_pfkey_builder b;
  m6ike_pfkey_builder_begin(&b, buf, sizeof(buf), M6IKE_SADB_ADD,
                            M6IKE_SADB_SATYPE_ESP, 1, 0);
  m6ike_pfkey_sa sa = {0x4242, 32, M6IKE_SADB_SASTATE_MATURE, 0, 20, 0};
  m6ike_pfkey_add_sa(&b, &sa);
  m6ike_pfkey_sockaddr s = m6ike_pfkey_sockaddr6(&kCoA2, 0);
  m6ike_addr6 haddr = Addr("2001:db8:1::1");
  m6ike_pfkey_sockaddr d = m6ike_pfkey_sockaddr6(&haddr, 0);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 0, 128, &s);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 0, 128, &d);
  uint8_t key[20] = {1};
  m6ike_pfkey_add_key(&b, M6IKE_SADB_EXT_KEY_ENCRYPT, 160, key);
  int len = m6ike_pfkey_builder_finish(&b);
  ASSERT_GT(len, 0);
  EXPECT_EQ(M6IKE_ERR_PFKEY_BUS_ROLE,
            m6ike_pfkey_bus_send(a->bus, a->ep_mob, buf,
                                 static_cast<size_t>(len), n.now));
  uint8_t reply[64];
  ASSERT_EQ(16, m6ike_pfkey_bus_recv(a->bus, a->ep_mob, reply, sizeof(reply)));
  EXPECT_EQ(M6IKE_PFKEY_EPERM, reply[2]);
  EXPECT_EQ(sas, m6ike_ipsec_sa_count(m6ike_agent_ipsec(a)));
  m6ike_pfkey_bus_set_monitor(a->bus, nullptr, nullptr);
  m6ike_pfkey_bus_set_monitor(n.ha.a->bus, nullptr, nullptr);
}

INSTANTIATE_TEST_SUITE_P(
    Schemes, AgentScheme, ::testing::ValuesIn(kAllSchemes),
    [](const ::testing::TestParamInfo<m6ike_scheme> &i) {
      std::string s = m6ike_scheme_name(i.param);
      std::replace(s.begin(), s.end(), '-', '_');
      return s;
    });

TEST(Agent, RenegotiateBuOnSaUpOption) {
  Options o;
  o.scheme = M6IKE_SCHEME_RENEGOTIATE;
  o.bu_on_sa_up = 1;
  Net n(o);
  ASSERT_TRUE(n.ok);
  ASSERT_EQ(0, n.SetCoa(0, kCoA1));
  n.RunUntil(5 * kSec);
  ASSERT_EQ(0, n.SetCoa(0, kCoA2));
  n.RunUntil(10 * kSec);
  auto h = n.Ho();
  EXPECT_TRUE(h.complete);
  // the BU goes as soon as the SAs are up, not at the timer
  EXPECT_EQ(h.sa_ready, h.bu_sent);
  EXPECT_EQ(5 * kSec + 60 * kMs, h.bu_sent);
  EXPECT_EQ(5 * kSec + 80 * kMs, h.ba_received);
}

// ---- lost BAs: RFC 6275 timers ------------------------------------------------------

TEST(Agent, LostBaRetransmittedAfterFirstRegTimeoutThenOneSecond) {
  Options o;
  Net n(o);
  ASSERT_TRUE(n.ok);
  int lose = 1;  // lose the first BA
  n.drop = [&lose](const Wire &w) {
    if (IsBa(w) && lose > 0) {
      lose--;
      return true;
    }
    return false;
  };
  ASSERT_EQ(0, n.SetCoa(0, kCoA1));
  n.RunUntil(5 * kSec);
  Node &mn = n.Mn();
  auto bu = mn.Events(M6IKE_AGENT_EV_BU_SENT);
  ASSERT_EQ(2u, bu.size());
  EXPECT_EQ(1500 * kMs, bu[1].time - bu[0].time);  // first registration
  EXPECT_EQ(1, bu[1].status);                      // a retransmission
  EXPECT_NE(bu[0].seq, bu[1].seq);
  auto h = n.Ho();
  EXPECT_EQ(2u, h.bu_count);
  EXPECT_EQ(bu[1].time + 20 * kMs, h.ba_received);
  // a later registration: 1 s
  lose = 1;
  mn.ev.clear();
  ASSERT_EQ(0, n.SetCoa(0, kCoA2));
  n.RunUntil(10 * kSec);
  bu = mn.Events(M6IKE_AGENT_EV_BU_SENT);
  ASSERT_EQ(2u, bu.size());
  EXPECT_EQ(1 * kSec, bu[1].time - bu[0].time);
  EXPECT_TRUE(n.Ho().complete);
  m6ike_agent_stats st;
  m6ike_agent_get_stats(mn.a, &st);
  EXPECT_EQ(2u, st.bu_retransmits);
}

// ---- bad input ---------------------------------------------------------------------------

TEST(Agent, MalformedInputCountedAndDropped) {
  for (int ha = 0; ha < 2; ha++) {
    Options o;
    Net n(o);
    ASSERT_TRUE(n.ok);
    ASSERT_EQ(0, n.SetCoa(0, kCoA1));
    n.RunUntil(2 * kSec);
    m6ike_agent *a = ha ? n.ha.a : n.Mn().a;
    m6ike_agent_stats before, after;
    m6ike_agent_get_stats(a, &before);
    uint8_t junk[60] = {0x45};
    EXPECT_EQ(M6IKE_ERR_AGENT_MALFORMED,
              m6ike_agent_read_ip6(a, junk, sizeof junk, n.now));
    EXPECT_EQ(M6IKE_ERR_AGENT_MALFORMED, m6ike_agent_read_ip6(a, junk, 3, n.now));
    // UDP: neither MH nor ESP
    auto udp = Payload(kCN, n.Mn().hoa, 8);
    udp[6] = 17;
    EXPECT_EQ(M6IKE_ERR_AGENT_NOT_HANDLED,
              m6ike_agent_read_ip6(a, udp.data(), udp.size(), n.now));
    // a plaintext BU: refused (RFC 4877 requires ESP)
    m6ike_mh_msg bu{};
    bu.type = M6IKE_MH_BU;
    bu.u.bu.seq = 77;
    bu.u.bu.flags = M6IKE_BU_FLAG_A | M6IKE_BU_FLAG_H;
    bu.u.bu.lifetime = 10;
    uint8_t pkt[256];
    m6ike_addr6 ha_addr = Addr("2001:db8:1::1");
    int len = m6ike_mh_build_packet(pkt, sizeof pkt, &kCoA2, &ha_addr,
                                    &n.Mn().hoa, nullptr, &bu);
    ASSERT_GT(len, 0);
    EXPECT_EQ(M6IKE_ERR_IPSEC_POLICY,
              m6ike_agent_read_ip6(a, pkt, static_cast<size_t>(len), n.now));
    // ESP with an unknown SPI, and truncated ESP
    auto esp = Payload(kCN, ha ? ha_addr : kCoA1, 40);
    esp[6] = 50;
    EXPECT_EQ(M6IKE_ERR_IPSEC_NO_SA,
              m6ike_agent_read_ip6(a, esp.data(), esp.size(), n.now));
    auto shortesp = Payload(kCN, ha ? ha_addr : kCoA1, 4);
    shortesp[6] = 50;
    EXPECT_EQ(M6IKE_ERR_AGENT_MALFORMED,
              m6ike_agent_read_ip6(a, shortesp.data(), shortesp.size(), n.now));
    // an ESP packet with a real SPI and a corrupted ICV
    for (auto &w : n.wire) {
      if (w.f.kind == 0 && w.dir == (ha ? M6IKE_VLINK_AB : M6IKE_VLINK_BA)) {
        auto bad = w.f.data;
        bad.back() ^= 1;
        int rc = m6ike_agent_read_ip6(a, bad.data(), bad.size(), n.now);
        EXPECT_TRUE(rc == M6IKE_ERR_IPSEC_BAD_ICV ||
                    rc == M6IKE_ERR_IPSEC_REPLAY)
            << m6ike_strerror(rc);
        break;
      }
    }
    // IKE junk
    m6ike_ikev2_path p{};
    p.local_port = p.remote_port = 500;
    EXPECT_LT(m6ike_agent_read_udp(a, &p, junk, sizeof junk, n.now), 0);
    EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
              m6ike_agent_read_udp(a, nullptr, junk, 1, n.now));
    EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
              m6ike_agent_read_ip6(a, nullptr, 5, n.now));
    m6ike_agent_get_stats(a, &after);
    EXPECT_EQ(before.drop_malformed + 3, after.drop_malformed);
    EXPECT_EQ(before.drop_not_handled + 1, after.drop_not_handled);
    EXPECT_EQ(before.drop_unprotected + 1, after.drop_unprotected);
    EXPECT_EQ(before.drop_no_sa + 1, after.drop_no_sa);
    EXPECT_EQ(before.drop_esp + 1, after.drop_esp);
    EXPECT_EQ(before.ike_dropped + 1, after.ike_dropped);
    // still works
    EXPECT_EQ(1, m6ike_agent_lookup(n.ha.a, &n.Mn().hoa, nullptr));
  }
}

/* MN 0 may not use its SAs to register MN 1's home address: its BU, with
 * the Home Address option rewritten to MN 1's HoA (outside ESP, so the
 * ICV still verifies), is refused by the SA's selector. */
TEST(Agent, AnMnCannotBindAnotherMnsHoa) {
  for (m6ike_scheme s : {M6IKE_SCHEME_MSRD, M6IKE_SCHEME_STATIC}) {
    Options o;
    o.scheme = s;
    o.n_mns = 2;
    Net n(o);
    ASSERT_TRUE(n.ok);
    ASSERT_EQ(0, n.SetCoa(0, Host("2001:db8:2::", 0)));
    ASSERT_EQ(0, n.SetCoa(1, Host("2001:db8:2::", 1)));
    n.RunUntil(3 * kSec);
    ASSERT_EQ(1, m6ike_agent_lookup(n.ha.a, &n.Mn(1).hoa, nullptr));
    n.drop = [](const Wire &w) { return IsBu(w) && w.mn == 0; };
    size_t mark = n.wire.size();
    ASSERT_EQ(0, n.SetCoa(0, Host("2001:db8:3::", 0)));
    std::vector<uint8_t> bu;
    for (size_t i = mark; i < n.wire.size(); i++)
      if (IsBu(n.wire[i])) bu = n.wire[i].f.data;
    ASSERT_FALSE(bu.empty());
    auto it = std::search(bu.begin(), bu.begin() + 72, n.Mn(0).hoa.b,
                          n.Mn(0).hoa.b + 16);
    ASSERT_NE(bu.begin() + 72, it);
    std::copy(n.Mn(1).hoa.b, n.Mn(1).hoa.b + 16, it);
    EXPECT_EQ(M6IKE_ERR_IPSEC_POLICY,
              m6ike_agent_read_ip6(n.ha.a, bu.data(), bu.size(), n.now))
        << m6ike_scheme_name(s);
    m6ike_addr6 coa;
    ASSERT_EQ(1, m6ike_agent_lookup(n.ha.a, &n.Mn(1).hoa, &coa));
    EXPECT_TRUE(m6ike_addr6_equal(&coa, &n.Mn(1).coa));
    // and MN 1's HoA as the inner source through MN 0's tunnel SA: the MN
    // agent refuses to send it; forged with MN 0's real keys (from its
    // esp_sa key log), the HA's SA selector refuses it
    n.drop = nullptr;
    n.RunUntil(n.now + 3 * kSec);
    auto q = Payload(n.Mn(1).hoa, kCN);
    EXPECT_EQ(M6IKE_ERR_AGENT_NO_BINDING,
              m6ike_agent_write_tunnel(n.Mn(0).a, q.data(), q.size(), n.now));
    std::string coa0 = Fmt(n.Mn(0).coa), line;
    for (auto &l : n.Mn(0).keylog[1])
      if (l.find("\"" + coa0 + "\",\"2001:db8:1::1\"") != std::string::npos)
        line = l;  // the last outbound tunnel SA line
    ASSERT_FALSE(line.empty());
    std::vector<std::string> f;
    for (size_t a = 0, b; a < line.size(); a = b + 1) {
      b = line.find(',', a);
      if (b == std::string::npos) b = line.size();
      f.push_back(line.substr(a + 1, b - a - 2));  // unquote
    }
    ASSERT_EQ(8u, f.size());
    uint32_t spi = static_cast<uint32_t>(std::stoul(f[3], nullptr, 16));
    auto key = Hex(f[5].substr(2));
    m6ike_ipsec_config ic{};
    ic.crypto = m6ike_crypto_null();
    ic.rand = Rand;
    Node forger;
    ic.rand_user_data = &forger;
    m6ike_ipsec *x = nullptr;
    ASSERT_EQ(0, m6ike_ipsec_new(&x, &ic, nullptr));
    m6ike_ipsec_policy pol{};
    pol.dir = M6IKE_IPSEC_DIR_OUTBOUND;
    pol.action = M6IKE_IPSEC_ACTION_PROTECT;
    m6ike_ipsec_selector_any(&pol.sel);
    pol.mode = M6IKE_IPSEC_MODE_TUNNEL;
    pol.tun_src = n.Mn(0).coa;
    pol.tun_dst = Addr("2001:db8:1::1");
    ASSERT_EQ(0, m6ike_ipsec_policy_add(x, &pol, nullptr));
    m6ike_ipsec_sa_params sp{};
    sp.spi = spi;
    sp.src = pol.tun_src;
    sp.dst = pol.tun_dst;
    sp.mode = M6IKE_IPSEC_MODE_TUNNEL;
    sp.enc_alg = M6IKE_ENCR_AES_GCM_16;
    sp.enc_key = key.data();
    sp.enc_key_len = key.size();
    sp.seq_out = 100000;
    ASSERT_EQ(0, m6ike_ipsec_sa_add(x, &sp, n.now));
    std::vector<uint8_t> out(q.size() + M6IKE_IPSEC_MAX_OVERHEAD);
    int len = m6ike_ipsec_output(x, q.data(), q.size(), out.data(),
                                 out.size(), n.now);
    ASSERT_GT(len, 0);
    // the same SA with MN 0's own HoA inside is accepted: the forgery is
    // well formed, only the inner source differs
    auto mine = Payload(n.Mn(0).hoa, kCN);
    std::vector<uint8_t> ok(mine.size() + M6IKE_IPSEC_MAX_OVERHEAD);
    int okl = m6ike_ipsec_output(x, mine.data(), mine.size(), ok.data(),
                                 ok.size(), n.now);
    ASSERT_GT(okl, 0);
    size_t before = n.ha.delivered.size();
    EXPECT_EQ(M6IKE_ERR_IPSEC_POLICY,
              m6ike_agent_read_ip6(n.ha.a, out.data(),
                                   static_cast<size_t>(len), n.now));
    EXPECT_EQ(0, m6ike_agent_read_ip6(n.ha.a, ok.data(),
                                      static_cast<size_t>(okl), n.now));
    EXPECT_EQ(before + 1, n.ha.delivered.size());
    m6ike_ipsec_del(x);
  }
}

TEST(Agent, StaticSchemeDoubleProvisionAndNoIke) {
  Options o;
  o.scheme = M6IKE_SCHEME_STATIC;
  Net n(o);
  ASSERT_TRUE(n.ok);
  EXPECT_EQ(M6IKE_ERR_AGENT_STATE, m6ike_agent_add_mn(n.ha.a, &n.Mn().hoa, 0));
  m6ike_ikev2_path p{};
  uint8_t b[40] = {};
  EXPECT_EQ(M6IKE_ERR_AGENT_NOT_HANDLED,
            m6ike_agent_read_udp(n.ha.a, &p, b, sizeof b, 0));
  EXPECT_EQ(nullptr, m6ike_agent_ikev2(n.ha.a));
  EXPECT_NE(nullptr, m6ike_agent_ipsec(n.ha.a));
}

// ---- real cryptography ------------------------------------------------------------------

TEST(Agent, OpenSslMsrdBootstrapAndHandover) {
  m6ike_crypto *cr = nullptr;
  ASSERT_EQ(0, m6ike_crypto_openssl_new(&cr, nullptr));
  {
    Options o;
    o.crypto = cr;
    o.esp = "aes128-sha256";
    Net n(o);
    ASSERT_TRUE(n.ok);
    ASSERT_EQ(0, n.SetCoa(0, kCoA1));
    n.RunUntil(5 * kSec);
    EXPECT_TRUE(n.Ho().complete);
    ASSERT_EQ(0, n.SetCoa(0, kCoA2));
    n.RunUntil(8 * kSec);
    auto h = n.Ho();
    EXPECT_TRUE(h.complete);
    EXPECT_EQ(2u, h.ike_msgs);
    auto p = Payload(kCN, n.Mn().hoa);
    ASSERT_EQ(0, m6ike_agent_write_tunnel(n.ha.a, p.data(), p.size(), n.now));
    n.RunUntil(n.now + kSec);
    ASSERT_EQ(1u, n.Mn().delivered.size());
    EXPECT_EQ(p, n.Mn().delivered[0]);
    // esp_sa lines name the SAs: after the move, lines with CoA2
    bool coa2 = false;
    for (auto &l : n.Mn().keylog[1])
      coa2 |= l.find("2001:db8:3::100") != std::string::npos;
    EXPECT_TRUE(coa2);
  }
  m6ike_crypto_del(cr);
}

TEST(Agent, OpenSslStaticKeysAgree) {
  m6ike_crypto *cr = nullptr;
  ASSERT_EQ(0, m6ike_crypto_openssl_new(&cr, nullptr));
  {
    Options o;
    o.crypto = cr;
    o.scheme = M6IKE_SCHEME_STATIC;
    o.esp = "aes256gcm16";
    Net n(o);
    ASSERT_TRUE(n.ok);
    ASSERT_EQ(0, n.SetCoa(0, kCoA1));
    n.RunUntil(kSec);
    EXPECT_TRUE(n.Ho().complete);
  }
  m6ike_crypto_del(cr);
}

// ---- memory ---------------------------------------------------------------------------------

// An m6ike_mem that counts live bytes (a size header per block).
struct CountingMem {
  m6ike_mem mem;
  size_t bytes = 0, peak = 0;
  CountingMem() {
    mem.user_data = this;
    mem.malloc = [](size_t n, void *ud) -> void * {
      auto *self = static_cast<CountingMem *>(ud);
      auto *p = static_cast<size_t *>(std::malloc(n + 16));
      if (!p) return nullptr;
      *p = n;
      self->bytes += n;
      self->peak = std::max(self->peak, self->bytes);
      return reinterpret_cast<uint8_t *>(p) + 16;
    };
    mem.free = [](void *q, void *ud) {
      if (!q) return;
      auto *p = reinterpret_cast<size_t *>(static_cast<uint8_t *>(q) - 16);
      static_cast<CountingMem *>(ud)->bytes -= *p;
      std::free(p);
    };
    mem.calloc = [](size_t a, size_t b, void *ud) -> void * {
      void *q = static_cast<CountingMem *>(ud)->mem.malloc(a * b, ud);
      if (q) std::memset(q, 0, a * b);
      return q;
    };
    mem.realloc = [](void *q, size_t n, void *ud) -> void * {
      auto *self = static_cast<CountingMem *>(ud);
      if (!q) return self->mem.malloc(n, ud);
      auto *p = reinterpret_cast<size_t *>(static_cast<uint8_t *>(q) - 16);
      size_t old = *p;
      auto *r = static_cast<size_t *>(std::realloc(p, n + 16));
      if (!r) return nullptr;
      *r = n;
      self->bytes = self->bytes - old + n;
      self->peak = std::max(self->peak, self->bytes);
      return reinterpret_cast<uint8_t *>(r) + 16;
    };
  }
};

/* The MN agent's heap after a bootstrap and a handover, measured by a
 * counting allocator (which sees the agent's own 16-octet block headers
 * too) and by m6ike_agent_memory_usage. */
TEST(Agent, MnHeapIsSmall) {
  for (m6ike_scheme s : kAllSchemes) {
    CountingMem cm;
    Options o;
    o.scheme = s;
    o.mem = &cm.mem;
    Net n(o);
    ASSERT_TRUE(n.ok);
    ASSERT_EQ(0, n.SetCoa(0, kCoA1));
    n.RunUntil(5 * kSec);
    ASSERT_EQ(0, n.SetCoa(0, kCoA2));
    n.RunUntil(10 * kSec);
    ASSERT_TRUE(n.Ho().complete);
    size_t mn = m6ike_agent_memory_usage(n.Mn().a);
    size_t ha = m6ike_agent_memory_usage(n.ha.a);
    size_t both = cm.bytes;
    std::printf("heap %-17s MN agent %6zu bytes (peak of both agents %zu, "
                "counted %zu), HA agent (1 MN) %zu bytes\n",
                m6ike_scheme_name(s), mn, cm.peak, both, ha);
    EXPECT_LT(mn, 40u * 1024u);
    // the counting allocator sees what memory_usage reports, plus headers
    EXPECT_GE(both, mn + ha);
    EXPECT_LT(both, (mn + ha) * 2);
  }
}

/* Runs `run` on a Net with options `o`, both agents on a FailingMem that
 * fails the 1st, 2nd, ... allocation, until a run needs fewer allocations
 * than the one that fails; `check` judges that complete run.  Nothing may
 * leak or crash at any step.  Returns the count the loop ended at (the
 * number of allocations failed one by one is 2 less). */
size_t FailEachAllocation(Options o, const std::function<void(Net &)> &run,
                          const std::function<void(Net &)> &check) {
  const char *name = m6ike_scheme_name(o.scheme);
  bool done = false;
  size_t fail = 1;
  for (; !done && fail < 5000; fail++) {
    FailingMem fm;
    fm.reset(fail);
    {
      o.mem = &fm.mem;
      Net n(o);
      if (n.ok) run(n);
      done = fm.calls < fail;
      if (done) {
        EXPECT_TRUE(n.ok) << name;
        if (n.ok) check(n);
      }
    }
    EXPECT_EQ(0, fm.live) << name << " fail " << fail;
  }
  EXPECT_TRUE(done) << name;
  return fail;
}

/* Fails the 1st, 2nd, ... allocation of a whole bootstrap + handover (both
 * agents on the FailingMem); nothing may leak or crash. */
TEST(Agent, FailingAllocationsBootstrapAndHandover) {
  for (m6ike_scheme s : kAllSchemes) {
    Options o;
    o.scheme = s;
    size_t fail = FailEachAllocation(
        o,
        [](Net &n) {
          n.SetCoa(0, kCoA1);
          n.RunUntil(4 * kSec);
          n.SetCoa(0, kCoA2);
          n.RunUntil(8 * kSec);
          auto p = Payload(kCN, n.Mn().hoa);
          m6ike_agent_write_tunnel(n.ha.a, p.data(), p.size(), n.now);
          n.RunUntil(9 * kSec);
        },
        [s](Net &n) { EXPECT_TRUE(n.Ho().complete) << m6ike_scheme_name(s); });
    EXPECT_GT(fail, 40u) << "the whole run allocates more than this";
    std::printf("%s: %zu allocations failed one by one\n",
                m6ike_scheme_name(s), fail - 2);
  }
}

// ---- HA LOST: the home agent restarts empty ----------------------------------------

std::set<uint32_t> MnSpis(const Node &mn, size_t from, size_t to) {
  std::set<uint32_t> s;
  for (size_t i = from; i < to && i < mn.ev.size(); i++)
    if (mn.ev[i].kind == M6IKE_AGENT_EV_SA_INSTALLED) s.insert(mn.ev[i].spi);
  return s;
}

// Payload each way through the tunnel at n.now; true if both arrived.
bool TunnelFlows(Net &n) {
  Node &mn = n.Mn();
  size_t mn_got = mn.delivered.size(), ha_got = n.ha.delivered.size();
  auto down = Payload(kCN, mn.hoa);
  auto up = Payload(mn.hoa, kCN);
  int rd = m6ike_agent_write_tunnel(n.ha.a, down.data(), down.size(), n.now);
  int ru = m6ike_agent_write_tunnel(mn.a, up.data(), up.size(), n.now);
  n.RunUntil(n.now + 100 * kMs);
  return rd == 0 && ru == 0 && mn.delivered.size() == mn_got + 1 &&
         n.ha.delivered.size() == ha_got + 1;
}

/* The HA's agent is replaced by a fresh one at 10 s (a crash and a
 * restart: no binding, no IKE SA, no ESP SA).  Lifetime 10 (40 s): the HA
 * grants it, the MN refreshes before it runs out.
 *   MN  BU(refresh) --ESP(old SPI)--> HA  (dropped: unknown SPI)
 *       ... retransmitted after 1 s, 2 s, 4 s (ha_lost_after = 3)
 *   MN: HA_LOST; new MSRD entry; ACQUIRE(+Reference new MPI)
 *   MN  IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA --> HA (new IKE SA)
 *   MN  BU (first registration, new SPIs) --> HA;  <-- BA
 * then payload both ways through the tunnel. */
class AgentHaLost : public ::testing::TestWithParam<m6ike_scheme> {};
INSTANTIATE_TEST_SUITE_P(
    Schemes, AgentHaLost, ::testing::ValuesIn(kAllSchemes),
    [](const ::testing::TestParamInfo<m6ike_scheme> &i) {
      std::string s = m6ike_scheme_name(i.param);
      for (auto &c : s)
        if (c == '-') c = '_';
      return s;
    });

TEST_P(AgentHaLost, RestartedHaMnRegistersAnewWithNewSas) {
  Options o;
  o.scheme = GetParam();
  o.ha_lost_after = 3;
  o.lifetime = 10;
  Net n(o);
  ASSERT_TRUE(n.ok);
  Node &mn = n.Mn();
  ASSERT_EQ(0, n.SetCoa(0, kCoA1));
  n.RunUntil(5 * kSec);
  ASSERT_TRUE(n.Ho().complete);
  ASSERT_TRUE(TunnelFlows(n));
  size_t ev_before = mn.ev.size();
  std::set<uint32_t> old_spis = MnSpis(mn, 0, ev_before);
  size_t wire_before = n.wire.size();
  n.RunUntil(10 * kSec);
  ASSERT_EQ(0, n.RestartHa());
  EXPECT_FALSE(TunnelFlows(n)) << "the fresh HA knows no SA";
  n.RunUntil(120 * kSec);
  if (GetParam() == M6IKE_SCHEME_STATIC) {
    // manual keys: the fresh HA has the same SAs and answers the refresh
    EXPECT_EQ(0, mn.Count(M6IKE_AGENT_EV_HA_LOST));
    EXPECT_EQ(1, m6ike_agent_lookup(n.ha.a, &mn.hoa, nullptr));
    // (HA -> MN ESP restarts its sequence numbers under the MN's kept
    // replay window: manual keys cannot recover that direction)
    return;
  }
  auto lost = mn.Events(M6IKE_AGENT_EV_HA_LOST);
  ASSERT_EQ(1u, lost.size());
  EXPECT_EQ(3, lost[0].status);
  EXPECT_TRUE(m6ike_addr6_equal(&lost[0].coa, &kCoA1));
  EXPECT_EQ(1, m6ike_agent_lookup(n.ha.a, &mn.hoa, nullptr))
      << "the fresh HA has the binding";
  auto h = n.Ho();
  EXPECT_EQ(1u, h.index) << "a new handover record";
  EXPECT_TRUE(h.complete);
  EXPECT_EQ(0, h.ba_status);
  EXPECT_GE(h.ba_received, lost[0].time);
  // recovery: from HA_LOST to the BA within the bootstrap time (a few
  // round trips), plus the first-registration BU's wait for the SAs
  EXPECT_LT(h.ba_received - lost[0].time, 2 * kSec);
  if (GetParam() != M6IKE_SCHEME_STATIC) {
    std::set<uint32_t> new_spis = MnSpis(mn, ev_before, mn.ev.size());
    EXPECT_GE(new_spis.size(), 4u);
    for (uint32_t spi : new_spis)
      EXPECT_EQ(0u, old_spis.count(spi)) << "SPI " << spi << " reused";
    std::string ike = n.Ike(wire_before);
    EXPECT_NE(std::string::npos, ike.find("MN:IKE_SA_INIT> HA:IKE_SA_INIT<"))
        << ike;
    // the old IKE SA and its SAs are gone from the MN
    EXPECT_EQ(1u, m6ike_ikev2_count(m6ike_agent_ikev2(mn.a)));
    EXPECT_EQ(4u, m6ike_ipsec_sa_count(m6ike_agent_ipsec(mn.a)))
        << "only the new pairs";
  }
  EXPECT_TRUE(TunnelFlows(n));
}

TEST_P(AgentHaLost, KnobOffNothingRecovers) {
  Options o;
  o.scheme = GetParam();
  o.lifetime = 10;
  Net n(o);
  ASSERT_TRUE(n.ok);
  Node &mn = n.Mn();
  ASSERT_EQ(0, n.SetCoa(0, kCoA1));
  n.RunUntil(10 * kSec);
  ASSERT_EQ(0, n.RestartHa());
  n.RunUntil(120 * kSec);
  EXPECT_EQ(0, mn.Count(M6IKE_AGENT_EV_HA_LOST));
  if (GetParam() == M6IKE_SCHEME_STATIC) GTEST_SKIP() << "recovers alone";
  EXPECT_EQ(1, mn.Count(M6IKE_AGENT_EV_BA_RECEIVED));
  EXPECT_EQ(0, m6ike_agent_lookup(n.ha.a, &mn.hoa, nullptr));
  EXPECT_EQ(0u, n.Ho().index);
}

/* liveness_s = 5 on the MN, the HA silent from 10 s (every frame lost):
 *   MN  INFORMATIONAL {} -->  (lost; retransmitted 0.5 .. 16 s: 31.5 s)
 *   MN: IKE SA deleted locally; SADB_DELETE for its four ESP SAs
 * Before 10 s the HA answers the checks and nothing is deleted. */
TEST(Agent, LivenessDeadPeerDeletesSas) {
  for (unsigned live : {0u, 5u}) {
    Options o;
    o.liveness_s = live;
    Net n(o);
    ASSERT_TRUE(n.ok);
    Node &mn = n.Mn();
    n.drop = [&n](const Wire &) { return n.now >= 10 * kSec; };
    ASSERT_EQ(0, n.SetCoa(0, kCoA1));
    n.RunUntil(9 * kSec);
    const m6ike_ikev2 *ike = m6ike_agent_ikev2(mn.a);
    m6ike_ikev2_stats es, hs;
    m6ike_ikev2_get_stats(ike, &es);
    m6ike_ikev2_get_stats(m6ike_agent_ikev2(n.ha.a), &hs);
    // both sides run it; the first check (~5.04 s) answered resets the
    // other side's idle timer too: one check in all
    EXPECT_EQ(live ? 1u : 0u, es.liveness_checks + hs.liveness_checks);
    EXPECT_EQ(1u, m6ike_ikev2_count(ike));
    n.RunUntil(60 * kSec);
    m6ike_agent_stats st;
    m6ike_agent_get_stats(mn.a, &st);
    m6ike_ikev2_get_stats(ike, &es);
    if (live) {
      EXPECT_EQ(0u, m6ike_ikev2_count(ike)) << "the IKE SA was deleted";
      EXPECT_EQ(4u, st.sa_deleted) << "the DELETE copies of 4 SAs";
      EXPECT_EQ(0u, m6ike_ipsec_sa_count(m6ike_agent_ipsec(mn.a)));
      EXPECT_GE(es.liveness_checks, 1u);
      EXPECT_EQ(0, mn.Count(M6IKE_AGENT_EV_HA_LOST)) << "ha_lost_after off";
    } else {
      EXPECT_EQ(1u, m6ike_ikev2_count(ike));
      EXPECT_EQ(0u, st.sa_deleted);
      EXPECT_EQ(0u, es.liveness_checks);
    }
  }
}

/* Both knobs: the liveness check finds the restarted HA dead, its SAs go,
 * and the mobility side takes "every SA to the HA deleted while
 * registered" as HA LOST (status 0) long before a refresh (lifetime 420
 * s). */
TEST(Agent, LivenessThenHaLostOnEverySaDeleted) {
  Options o;
  o.liveness_s = 5;
  o.ha_lost_after = 100;
  Net n(o);
  ASSERT_TRUE(n.ok);
  Node &mn = n.Mn();
  ASSERT_EQ(0, n.SetCoa(0, kCoA1));
  n.RunUntil(8 * kSec);
  ASSERT_EQ(0, n.RestartHa());
  n.RunUntil(80 * kSec);
  auto lost = mn.Events(M6IKE_AGENT_EV_HA_LOST);
  ASSERT_EQ(1u, lost.size());
  EXPECT_EQ(0, lost[0].status);
  EXPECT_LT(lost[0].time, 50 * kSec);
  EXPECT_TRUE(n.Ho().complete);
  EXPECT_EQ(1, m6ike_agent_lookup(n.ha.a, &mn.hoa, nullptr));
  EXPECT_TRUE(TunnelFlows(n));
}

TEST(Agent, FailingAllocationsHaLostRecovery) {
  for (m6ike_scheme s : {M6IKE_SCHEME_MSRD, M6IKE_SCHEME_RENEGOTIATE}) {
    Options o;
    o.scheme = s;
    o.liveness_s = 5;
    o.ha_lost_after = 2;
    o.lifetime = 5;
    size_t fail = FailEachAllocation(
        o,
        [](Net &n) {
          n.SetCoa(0, kCoA1);
          n.RunUntil(6 * kSec);
          if (n.RestartHa() == 0) n.RunUntil(60 * kSec);
        },
        [s](Net &n) {
          EXPECT_EQ(1, n.Mn().Count(M6IKE_AGENT_EV_HA_LOST));
          EXPECT_TRUE(n.Ho().complete) << m6ike_scheme_name(s);
        });
    EXPECT_GT(fail, 60u) << "the whole run allocates more than this";
    std::printf("HA lost, %s: %zu allocations failed one by one\n",
                m6ike_scheme_name(s), fail - 2);
  }
}

// ---- scale ------------------------------------------------------------------------------------

/* The HA's key manager keeps its CHILD_SAs and MNs in hash tables: with
 * 64 MNs renegotiating twice (every old pair deleted, a new one added),
 * each DELETE must still find its pair: the SAD ends with exactly the four
 * SAs of each MN's current pairs. */
TEST(Agent, HomeAgentKeyManagerTablesUnderChurn) {
  Options o;
  o.scheme = M6IKE_SCHEME_RENEGOTIATE;
  o.n_mns = 64;
  o.bu_on_sa_up = 1;
  Net n(o);
  ASSERT_TRUE(n.ok) << m6ike_strerror(n.create_rc);
  const char *nets[3] = {"2001:db8:2::", "2001:db8:3::", "2001:db8:4::"};
  for (int round = 0; round < 3; round++) {
    for (unsigned i = 0; i < o.n_mns; i++) {
      ASSERT_EQ(0, n.SetCoa(i, Host(nets[round], i)));
    }
    n.RunUntil(n.now + 5 * kSec);
    for (unsigned i = 0; i < o.n_mns; i++) {
      ASSERT_TRUE(n.Ho(i).complete) << "round " << round << " MN " << i;
    }
  }
  EXPECT_EQ(4u * o.n_mns, m6ike_ipsec_sa_count(m6ike_agent_ipsec(n.ha.a)));
  for (unsigned i = 0; i < o.n_mns; i++) {
    EXPECT_EQ(4u, m6ike_ipsec_sa_count(m6ike_agent_ipsec(n.Mn(i).a)));
  }
  auto p = Payload(kCN, n.Mn(37).hoa);
  ASSERT_EQ(0, m6ike_agent_write_tunnel(n.ha.a, p.data(), p.size(), n.now));
  n.RunUntil(n.now + kSec);
  EXPECT_EQ(1u, n.Mn(37).delivered.size());
}

TEST(Agent, HomeAgentServesAThousandMns) {
  Options o;
  o.n_mns = 1000;
  Net n(o);
  ASSERT_TRUE(n.ok) << m6ike_strerror(n.create_rc);
  for (unsigned i = 0; i < o.n_mns; i++) {
    n.now = i * 1 * kMs;  // staggered arrivals
    ASSERT_EQ(0, n.SetCoa(i, Host("2001:db8:2::", i)));
  }
  n.RunUntil(5 * kSec);
  m6ike_agent_stats st;
  m6ike_agent_get_stats(n.ha.a, &st);
  EXPECT_EQ(1000u, st.bindings);
  unsigned complete = 0;
  for (unsigned i = 0; i < o.n_mns; i++) complete += n.Ho(i).complete;
  EXPECT_EQ(1000u, complete);
  // payload to the last MN
  auto p = Payload(kCN, n.Mn(999).hoa);
  ASSERT_EQ(0, m6ike_agent_write_tunnel(n.ha.a, p.data(), p.size(), n.now));
  n.RunUntil(n.now + kSec);
  EXPECT_EQ(1u, n.Mn(999).delivered.size());
  std::printf("heap: HA agent with 1000 MNs %zu bytes\n",
              m6ike_agent_memory_usage(n.ha.a));
}

}  // namespace
