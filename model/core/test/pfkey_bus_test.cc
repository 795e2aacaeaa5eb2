// The pfkey bus: routing, refusals with error replies, queues, callbacks,
// failing allocations.
#include "m6ike/pfkey_bus.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <vector>

#include "test_util.h"

namespace {

using Bytes = std::vector<uint8_t>;

m6ike_pfkey_sockaddr SA6(const char *t) {
  m6ike_addr6 a = Addr(t);
  return m6ike_pfkey_sockaddr6(&a, 0);
}

Bytes Acquire(uint8_t satype, int mpi /* <0: no Reference */,
              bool proposal = true) {
  Bytes buf(512);
  m6ike_pfkey_builder b;
  m6ike_pfkey_builder_begin(&b, buf.data(), buf.size(), M6IKE_SADB_ACQUIRE,
                            satype, 5, 0);
  auto hoa = SA6("2001:db8:1::5"), ha = SA6("2001:db8:1::1");
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 135, 128, &hoa);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 135, 128, &ha);
  m6ike_pfkey_comb c;
  std::memset(&c, 0, sizeof(c));
  c.auth = 3;
  c.encrypt = 12;
  if (proposal) m6ike_pfkey_add_proposal(&b, 32, &c, 1);
  if (mpi >= 0) m6ike_pfkey_add_reference(&b, (uint32_t)mpi);
  int n = m6ike_pfkey_builder_finish(&b);
  buf.resize(n > 0 ? n : 0);
  return buf;
}

Bytes Simple(uint8_t type, uint8_t satype, uint32_t seq = 1) {
  Bytes buf(16);
  m6ike_pfkey_builder b;
  m6ike_pfkey_builder_begin(&b, buf.data(), buf.size(), type, satype, seq, 0);
  m6ike_pfkey_builder_finish(&b);
  return buf;
}

Bytes Update() {
  Bytes buf(256);
  m6ike_pfkey_builder b;
  m6ike_pfkey_builder_begin(&b, buf.data(), buf.size(), M6IKE_SADB_UPDATE,
                            M6IKE_SADB_SATYPE_ESP, 3, 0);
  m6ike_pfkey_sa sa = {0x1234, 0, 1, 3, 12, 0};
  m6ike_pfkey_add_sa(&b, &sa);
  auto s = SA6("2001:db8:2::5"), d = SA6("2001:db8:1::1");
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 255, 128, &s);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 255, 128, &d);
  const uint8_t key[16] = {1};
  m6ike_pfkey_add_key(&b, M6IKE_SADB_EXT_KEY_ENCRYPT, 128, key);
  int n = m6ike_pfkey_builder_finish(&b);
  buf.resize(n > 0 ? n : 0);
  return buf;
}

Bytes Migrate(int n_requests = 2, bool kmaddress = true) {
  Bytes buf(512);
  m6ike_pfkey_builder b;
  m6ike_pfkey_builder_begin(&b, buf.data(), buf.size(), M6IKE_SADB_X_MIGRATE,
                            M6IKE_SADB_SATYPE_ESP, 1, 0);
  auto nc = SA6("2001:db8:2::5"), oc = SA6("2001:db8:3::5"),
       ha = SA6("2001:db8:1::1"), hoa = SA6("2001:db8:1::5");
  if (kmaddress) m6ike_pfkey_add_kmaddress(&b, &nc, &ha);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 135, 128, &hoa);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 135, 128, &ha);
  m6ike_pfkey_add_policy(&b, 2, 2, 0, 0);
  for (int i = 0; i < n_requests; i++)
    m6ike_pfkey_add_ipsecrequest(&b, 50, 2, 2, 1, i % 2 ? &nc : &oc, &ha);
  int n = m6ike_pfkey_builder_finish(&b);
  buf.resize(n > 0 ? n : 0);
  return buf;
}

Bytes Expire() {
  Bytes buf(256);
  m6ike_pfkey_builder b;
  m6ike_pfkey_builder_begin(&b, buf.data(), buf.size(), M6IKE_SADB_EXPIRE,
                            M6IKE_SADB_SATYPE_ESP, 0, 0);
  m6ike_pfkey_sa sa = {0x1234, 0, 2, 3, 12, 0};
  m6ike_pfkey_add_sa(&b, &sa);
  m6ike_pfkey_lifetime lt = {0, 0, 500, 0};
  m6ike_pfkey_add_lifetime(&b, M6IKE_SADB_EXT_LIFETIME_SOFT, &lt);
  int n = m6ike_pfkey_builder_finish(&b);
  buf.resize(n > 0 ? n : 0);
  return buf;
}

const m6ike_pfkey_alg kAuth[1] = {{3, 0, 160, 160}};
const m6ike_pfkey_alg kEnc[2] = {{12, 16, 128, 256}, {3, 8, 192, 192}};

struct Fixture {
  m6ike_pfkey_bus *bus = nullptr;
  m6ike_pfkey_bus_config cfg;
  std::set<uint32_t> live_mpis{42};
  int notified = 0;
  int migrates = 0;
  int handler_errno = 0;
  Fixture(bool with_kernel = true, const m6ike_mem *mem = nullptr,
          size_t qlimit = 0) {
    std::memset(&cfg, 0, sizeof(cfg));
    cfg.auth_algs = kAuth;
    cfg.n_auth = 1;
    cfg.enc_algs = kEnc;
    cfg.n_enc = 2;
    cfg.queue_limit = qlimit;
    cfg.mpi_valid = [](uint32_t mpi, void *ud) -> int {
      return static_cast<Fixture *>(ud)->live_mpis.count(mpi) ? 1 : 0;
    };
    cfg.mpi_user_data = this;
    if (with_kernel) {
      cfg.kernel.user_data = this;
      cfg.kernel.handle = [](m6ike_pfkey_bus *bus, m6ike_pfkey_ep from,
                             const m6ike_pfkey_msg *msg, const uint8_t *raw,
                             size_t len, m6ike_tstamp, void *ud) -> int {
        auto *f = static_cast<Fixture *>(ud);
        if (f->handler_errno) return f->handler_errno;
        (void)msg;
        // Echo the request as the kernel's answer (Linux does for UPDATE).
        return m6ike_pfkey_bus_reply(bus, from, raw, len) == 0 ? 0 : 105;
      };
      cfg.kernel.migrate = [](const m6ike_pfkey_msg *, m6ike_tstamp,
                              void *ud) -> int {
        static_cast<Fixture *>(ud)->migrates++;
        return 0;
      };
    }
    rc = m6ike_pfkey_bus_new(&bus, &cfg, mem);
  }
  ~Fixture() { m6ike_pfkey_bus_del(bus); }
  int rc;
  m6ike_pfkey_ep Open(m6ike_pfkey_role role) {
    m6ike_pfkey_ep ep = 0;
    EXPECT_EQ(m6ike_pfkey_bus_open(
                  bus, role, 0,
                  [](m6ike_pfkey_ep, size_t, void *ud) {
                    static_cast<Fixture *>(ud)->notified++;
                  },
                  this, &ep),
              0);
    return ep;
  }
  int Send(m6ike_pfkey_ep ep, const Bytes &m) {
    return m6ike_pfkey_bus_send(bus, ep, m.data(), m.size(), 0);
  }
  // Pops one message; empty vector if none.
  Bytes Recv(m6ike_pfkey_ep ep) {
    Bytes buf(4096);
    int n = m6ike_pfkey_bus_recv(bus, ep, buf.data(), buf.size());
    EXPECT_GE(n, 0);
    buf.resize(n > 0 ? n : 0);
    return buf;
  }
};

m6ike_pfkey_msg Dec(const Bytes &v, unsigned flags = 0) {
  m6ike_pfkey_msg m;
  EXPECT_EQ(m6ike_pfkey_decode(&m, v.data(), v.size(), flags), (int)v.size());
  return m;
}

}  // namespace

// KM1 -- REGISTER(esp) --> kernel;  kernel -- REGISTER reply {SUPPORTED} --> KM1
// KM2 -- REGISTER(ah)  --> kernel
// MIPv6 -- ACQUIRE(esp){SRC,DST,PROP,REF mpi=42} --> kernel
//        kernel -- ACQUIRE --> KM1 only (KM2 is AH-only, MIPv6 not a KM)
TEST(PfkeyBus, AcquireWithReferenceReachesOnlyMatchingKms) {
  Fixture f;
  ASSERT_EQ(f.rc, 0);
  auto km1 = f.Open(M6IKE_PFKEY_ROLE_KEY_MANAGER);
  auto km2 = f.Open(M6IKE_PFKEY_ROLE_KEY_MANAGER);
  auto mob = f.Open(M6IKE_PFKEY_ROLE_MOBILITY);
  EXPECT_EQ(f.Send(km1, Simple(M6IKE_SADB_REGISTER, M6IKE_SADB_SATYPE_ESP, 7)),
            1);
  Bytes reply = f.Recv(km1);
  m6ike_pfkey_msg m = Dec(reply);
  EXPECT_EQ(m.hdr.type, M6IKE_SADB_REGISTER);
  EXPECT_EQ(m.hdr.seq, 7u);
  m6ike_pfkey_supported sup;
  ASSERT_EQ(m6ike_pfkey_get_supported(&m, M6IKE_SADB_EXT_SUPPORTED_ENCRYPT, &sup),
            0);
  EXPECT_EQ(sup.n_algs, 2u);
  ASSERT_EQ(m6ike_pfkey_get_supported(&m, M6IKE_SADB_EXT_SUPPORTED_AUTH, &sup),
            0);
  EXPECT_EQ(sup.n_algs, 1u);
  EXPECT_EQ(f.Send(km2, Simple(M6IKE_SADB_REGISTER, M6IKE_SADB_SATYPE_AH)), 1);
  m = Dec(f.Recv(km2));
  EXPECT_FALSE(m6ike_pfkey_has(&m, M6IKE_SADB_EXT_SUPPORTED_ENCRYPT));
  EXPECT_TRUE(m6ike_pfkey_bus_registered(f.bus, km1, M6IKE_SADB_SATYPE_ESP));
  EXPECT_FALSE(m6ike_pfkey_bus_registered(f.bus, km2, M6IKE_SADB_SATYPE_ESP));

  Bytes acq = Acquire(M6IKE_SADB_SATYPE_ESP, 42);
  EXPECT_EQ(f.Send(mob, acq), 1);
  EXPECT_EQ(m6ike_pfkey_bus_pending(f.bus, km2), 0u);
  EXPECT_EQ(m6ike_pfkey_bus_pending(f.bus, mob), 0u);
  Bytes got = f.Recv(km1);
  EXPECT_EQ(got, acq);  // verbatim
  m = Dec(got);
  m6ike_pfkey_reference ref;
  ASSERT_EQ(m6ike_pfkey_get_reference(&m, &ref), 0);
  EXPECT_EQ(ref.mpi, 42u);
  // A KM that predates the paper decodes the same bytes leniently.
  m = Dec(got, M6IKE_PFKEY_DEC_LEGACY | M6IKE_PFKEY_DEC_LENIENT);
  EXPECT_EQ(m.n_skipped, 1u);
  EXPECT_EQ(m6ike_pfkey_check_required(&m), 0);
  EXPECT_EQ(f.Recv(km1).size(), 0u);
  EXPECT_EQ(f.notified, 3);
  m6ike_pfkey_bus_stats st;
  m6ike_pfkey_bus_get_stats(f.bus, &st);
  EXPECT_EQ(st.sent, 3u);
  EXPECT_EQ(st.delivered, 3u);
  EXPECT_EQ(st.refused, 0u);
}

// MIPv6 -- UPDATE --> kernel: refused (EPERM): the mobility daemon must not
// touch keys.  KM -- ACQUIRE --> kernel: refused (EPERM).
TEST(PfkeyBus, RolesAreEnforced) {
  Fixture f;
  auto km = f.Open(M6IKE_PFKEY_ROLE_KEY_MANAGER);
  auto mob = f.Open(M6IKE_PFKEY_ROLE_MOBILITY);
  Bytes up = Update();
  EXPECT_EQ(f.Send(mob, up), M6IKE_ERR_PFKEY_BUS_ROLE);
  Bytes err = f.Recv(mob);
  ASSERT_EQ(err.size(), 16u);
  m6ike_pfkey_msg m = Dec(err);
  EXPECT_EQ(m.hdr.type, M6IKE_SADB_UPDATE);
  EXPECT_EQ(m.hdr.msg_errno, M6IKE_PFKEY_EPERM);
  EXPECT_EQ(m.hdr.seq, 3u);
  EXPECT_EQ(f.Send(km, Simple(M6IKE_SADB_REGISTER, 3)), 1);
  f.Recv(km);
  EXPECT_EQ(f.Send(km, Acquire(3, 42)), M6IKE_ERR_PFKEY_BUS_ROLE);
  EXPECT_EQ(Dec(f.Recv(km)).hdr.msg_errno, M6IKE_PFKEY_EPERM);
  EXPECT_EQ(f.Send(km, Migrate()), M6IKE_ERR_PFKEY_BUS_ROLE);
  f.Recv(km);
  EXPECT_EQ(f.Send(km, Expire()), M6IKE_ERR_PFKEY_BUS_ROLE);
  f.Recv(km);
  EXPECT_EQ(f.Send(mob, Expire()), M6IKE_ERR_PFKEY_BUS_ROLE);
  f.Recv(mob);
  EXPECT_EQ(f.Send(mob, Simple(M6IKE_SADB_REGISTER, 3)),
            M6IKE_ERR_PFKEY_BUS_ROLE);
  f.Recv(mob);
  EXPECT_EQ(f.Send(mob, Simple(M6IKE_SADB_FLUSH, 0)), M6IKE_ERR_PFKEY_BUS_ROLE);
  f.Recv(mob);
  EXPECT_EQ(f.Send(km, Simple(M6IKE_SADB_X_PROMISC, 0)),
            M6IKE_ERR_PFKEY_BUS_UNSUPPORTED);
  EXPECT_EQ(Dec(f.Recv(km)).hdr.msg_errno, M6IKE_PFKEY_EOPNOTSUPP);
  m6ike_pfkey_bus_stats st;
  m6ike_pfkey_bus_get_stats(f.bus, &st);
  EXPECT_EQ(st.refused, 8u);
  EXPECT_EQ(st.refused_role, 7u);
  EXPECT_EQ(st.error_replies, 8u);
}

Bytes Spd(uint8_t type) {
  Bytes buf(512);
  m6ike_pfkey_builder b;
  m6ike_pfkey_builder_begin(&b, buf.data(), buf.size(), type, 0, 11, 0);
  auto hoa = SA6("2001:db8:1::5"), any = SA6("::");
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 255, 128, &hoa);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 255, 0, &any);
  m6ike_pfkey_add_policy(&b, 2, 2, 0, 0);
  auto coa = SA6("2001:db8:2::5"), ha = SA6("2001:db8:1::1");
  m6ike_pfkey_add_ipsecrequest(&b, 50, 2, 2, 2, &coa, &ha);
  int n = m6ike_pfkey_builder_finish(&b);
  buf.resize(n > 0 ? n : 0);
  return buf;
}

Bytes Add() {
  Bytes buf(256);
  m6ike_pfkey_builder b;
  m6ike_pfkey_builder_begin(&b, buf.data(), buf.size(), M6IKE_SADB_ADD,
                            M6IKE_SADB_SATYPE_ESP, 4, 0);
  m6ike_pfkey_sa sa = {0xabcd, 0, 1, 3, 12, 0};
  m6ike_pfkey_add_sa(&b, &sa);
  auto s = SA6("2001:db8:2::5"), d = SA6("2001:db8:1::1");
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 255, 128, &s);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 255, 128, &d);
  const uint8_t key[20] = {9, 9, 9};
  m6ike_pfkey_add_key(&b, M6IKE_SADB_EXT_KEY_AUTH, 160, key);
  m6ike_pfkey_add_key(&b, M6IKE_SADB_EXT_KEY_ENCRYPT, 128, key);
  int n = m6ike_pfkey_builder_finish(&b);
  buf.resize(n > 0 ? n : 0);
  return buf;
}

// MIPv6 -- X_SPDADD / X_SPDUPDATE / X_SPDDELETE --> kernel handler  (allowed:
//          the mobility side owns its tunnel policies, as UMIP does)
// MIPv6 -- ADD / GETSPI / UPDATE / DELETE / X_SPDFLUSH --> refused EPERM
TEST(PfkeyBus, MobilityManagesPoliciesNeverKeys) {
  Fixture f;
  auto mob = f.Open(M6IKE_PFKEY_ROLE_MOBILITY);
  for (uint8_t t : {M6IKE_SADB_X_SPDADD, M6IKE_SADB_X_SPDUPDATE,
                    M6IKE_SADB_X_SPDDELETE}) {
    EXPECT_EQ(f.Send(mob, Spd(t)), 1) << int(t);
    m6ike_pfkey_msg m = Dec(f.Recv(mob));
    EXPECT_EQ(m.hdr.type, t);
    EXPECT_EQ(m.hdr.msg_errno, 0);
  }
  Bytes add = Add();
  EXPECT_EQ(f.Send(mob, add), M6IKE_ERR_PFKEY_BUS_ROLE);
  m6ike_pfkey_msg m = Dec(f.Recv(mob));
  EXPECT_EQ(m.hdr.type, M6IKE_SADB_ADD);
  EXPECT_EQ(m.hdr.msg_errno, M6IKE_PFKEY_EPERM);
  for (uint8_t t : {M6IKE_SADB_GETSPI, M6IKE_SADB_DELETE, M6IKE_SADB_GET,
                    M6IKE_SADB_X_SPDFLUSH, M6IKE_SADB_X_SPDDELETE2,
                    M6IKE_SADB_X_SPDDUMP}) {
    EXPECT_EQ(f.Send(mob, Simple(t, M6IKE_SADB_SATYPE_ESP)),
              M6IKE_ERR_PFKEY_BUS_ROLE)
        << int(t);
    EXPECT_EQ(Dec(f.Recv(mob)).hdr.msg_errno, M6IKE_PFKEY_EPERM);
  }
  EXPECT_EQ(f.Send(mob, Update()), M6IKE_ERR_PFKEY_BUS_ROLE);
  f.Recv(mob);
  m6ike_pfkey_bus_stats st;
  m6ike_pfkey_bus_get_stats(f.bus, &st);
  EXPECT_EQ(st.sent, 3u);
  EXPECT_EQ(st.refused_role, 8u);
  // without a kernel handler the policy messages are refused as for a KM
  Fixture g(false);
  auto mob2 = g.Open(M6IKE_PFKEY_ROLE_MOBILITY);
  EXPECT_EQ(g.Send(mob2, Spd(M6IKE_SADB_X_SPDADD)),
            M6IKE_ERR_PFKEY_BUS_NO_HANDLER);
}

// KM -- ADD{SA, SRC, DST, KEY_AUTH, KEY_ENCRYPT} --> kernel (sa_notify on)
//    kernel -- reply --> KM;  kernel -- ADD{SA, SRC, DST} (no keys) --> MIPv6
TEST(PfkeyBus, SaNotifyCopiesToMobilityWithoutKeys) {
  Fixture f;
  m6ike_pfkey_bus_del(f.bus);
  f.bus = nullptr;
  f.cfg.sa_notify = 1;
  ASSERT_EQ(0, m6ike_pfkey_bus_new(&f.bus, &f.cfg, nullptr));
  auto km = f.Open(M6IKE_PFKEY_ROLE_KEY_MANAGER);
  auto mob = f.Open(M6IKE_PFKEY_ROLE_MOBILITY);
  auto mob2 = f.Open(M6IKE_PFKEY_ROLE_MOBILITY);
  Bytes add = Add();
  EXPECT_EQ(f.Send(km, add), 1);
  EXPECT_EQ(f.Recv(km), add);  // the handler's echo, keys and all
  for (auto ep : {mob, mob2}) {
    Bytes n = f.Recv(ep);
    ASSERT_FALSE(n.empty());
    EXPECT_LT(n.size(), add.size());
    m6ike_pfkey_msg m = Dec(n);
    EXPECT_EQ(m.hdr.type, M6IKE_SADB_ADD);
    EXPECT_EQ(m.hdr.seq, 4u);
    EXPECT_FALSE(m6ike_pfkey_has(&m, M6IKE_SADB_EXT_KEY_AUTH));
    EXPECT_FALSE(m6ike_pfkey_has(&m, M6IKE_SADB_EXT_KEY_ENCRYPT));
    m6ike_pfkey_sa sa;
    ASSERT_EQ(0, m6ike_pfkey_get_sa(&m, &sa));
    EXPECT_EQ(0xabcdu, sa.spi);
    m6ike_pfkey_address a;
    EXPECT_EQ(0, m6ike_pfkey_get_address(&m, M6IKE_SADB_EXT_ADDRESS_DST, &a));
  }
  // UPDATE too; a refused one (handler errno) is not copied
  EXPECT_EQ(f.Send(km, Update()), 1);
  f.Recv(km);
  EXPECT_FALSE(f.Recv(mob).empty());
  f.Recv(mob2);
  f.handler_errno = 22;
  EXPECT_EQ(f.Send(km, Update()), M6IKE_ERR_PFKEY_BUS_HANDLER);
  EXPECT_TRUE(f.Recv(mob).empty());
  // GETSPI is not an SA change: not copied
  f.handler_errno = 0;
  EXPECT_EQ(f.Send(km, Simple(M6IKE_SADB_GETSPI, M6IKE_SADB_SATYPE_ESP)), 1);
  EXPECT_TRUE(f.Recv(mob).empty());
  m6ike_pfkey_bus_stats st;
  m6ike_pfkey_bus_get_stats(f.bus, &st);
  EXPECT_EQ(st.sa_notified, 4u);
}

// The monitor sees what each endpoint sends (to = 0) and what is queued to
// each (from = 0): REGISTER + its reply, ACQUIRE + its broadcast, a refused
// ADD from the mobility side + its error reply.
TEST(PfkeyBus, MonitorSeesEverything) {
  Fixture f;
  struct Seen {
    m6ike_pfkey_ep from, to;
    uint8_t type, err;
  };
  std::vector<Seen> seen;
  m6ike_pfkey_bus_set_monitor(
      f.bus,
      [](m6ike_pfkey_ep from, m6ike_pfkey_ep to, const uint8_t *m, size_t,
         void *ud) {
        static_cast<std::vector<Seen> *>(ud)->push_back(
            {from, to, m[1], m[2]});
      },
      &seen);
  auto km = f.Open(M6IKE_PFKEY_ROLE_KEY_MANAGER);
  auto mob = f.Open(M6IKE_PFKEY_ROLE_MOBILITY);
  EXPECT_EQ(f.Send(km, Simple(M6IKE_SADB_REGISTER, M6IKE_SADB_SATYPE_ESP)), 1);
  EXPECT_EQ(f.Send(mob, Acquire(M6IKE_SADB_SATYPE_ESP, 42)), 1);
  EXPECT_EQ(f.Send(mob, Add()), M6IKE_ERR_PFKEY_BUS_ROLE);
  ASSERT_EQ(6u, seen.size());
  EXPECT_EQ(km, seen[0].from);
  EXPECT_EQ(0u, seen[0].to);
  EXPECT_EQ(M6IKE_SADB_REGISTER, seen[1].type);
  EXPECT_EQ(km, seen[1].to);
  EXPECT_EQ(mob, seen[2].from);
  EXPECT_EQ(M6IKE_SADB_ACQUIRE, seen[3].type);
  EXPECT_EQ(km, seen[3].to);
  EXPECT_EQ(mob, seen[4].from);
  EXPECT_EQ(M6IKE_SADB_ADD, seen[4].type);
  EXPECT_EQ(mob, seen[5].to);
  EXPECT_EQ(M6IKE_PFKEY_EPERM, seen[5].err);
  m6ike_pfkey_bus_set_monitor(f.bus, nullptr, nullptr);
  f.Recv(km);
  EXPECT_EQ(f.Send(km, Simple(M6IKE_SADB_REGISTER, M6IKE_SADB_SATYPE_AH)), 1);
  EXPECT_EQ(6u, seen.size());
  m6ike_pfkey_bus_set_monitor(nullptr, nullptr, nullptr);  // no-op
}

// MIPv6 -- ACQUIRE{REF mpi=7} --> kernel: mpi_valid says no -> ENOENT.
TEST(PfkeyBus, UnknownMpiRefused) {
  Fixture f;
  auto km = f.Open(M6IKE_PFKEY_ROLE_KEY_MANAGER);
  auto mob = f.Open(M6IKE_PFKEY_ROLE_MOBILITY);
  f.Send(km, Simple(M6IKE_SADB_REGISTER, 3));
  f.Recv(km);
  EXPECT_EQ(f.Send(mob, Acquire(3, 7)), M6IKE_ERR_PFKEY_BUS_UNKNOWN_MPI);
  EXPECT_EQ(Dec(f.Recv(mob)).hdr.msg_errno, M6IKE_PFKEY_ENOENT);
  EXPECT_EQ(m6ike_pfkey_bus_pending(f.bus, km), 0u);
  f.live_mpis.insert(7);
  EXPECT_EQ(f.Send(mob, Acquire(3, 7)), 1);
  EXPECT_EQ(f.Send(mob, Acquire(3, -1)), 1);  // no Reference: no check
  m6ike_pfkey_bus_stats st;
  m6ike_pfkey_bus_get_stats(f.bus, &st);
  EXPECT_EQ(st.refused_mpi, 1u);
}

TEST(PfkeyBus, AcquireChecks) {
  Fixture f;
  auto km = f.Open(M6IKE_PFKEY_ROLE_KEY_MANAGER);
  auto mob = f.Open(M6IKE_PFKEY_ROLE_MOBILITY);
  EXPECT_EQ(f.Send(mob, Acquire(3, 42)), M6IKE_ERR_PFKEY_BUS_NO_KM);
  EXPECT_EQ(Dec(f.Recv(mob)).hdr.msg_errno, M6IKE_PFKEY_ESRCH);
  f.Send(km, Simple(M6IKE_SADB_REGISTER, 3));
  f.Recv(km);
  EXPECT_EQ(f.Send(mob, Acquire(3, 42, false)), M6IKE_ERR_PFKEY_MISSING_EXT);
  EXPECT_EQ(Dec(f.Recv(mob)).hdr.msg_errno, M6IKE_PFKEY_EINVAL);
  EXPECT_EQ(f.Send(mob, Acquire(0, 42)), M6IKE_ERR_PFKEY_BUS_SATYPE);
  f.Recv(mob);
  Bytes bad = Acquire(3, 42);
  bad.pop_back();
  EXPECT_EQ(f.Send(mob, bad), M6IKE_ERR_PFKEY_MISALIGNED);
  EXPECT_EQ(Dec(f.Recv(mob)).hdr.msg_errno, M6IKE_PFKEY_EINVAL);
  Bytes e = Acquire(3, 42);
  e[2] = 5;  // errno set by a sender
  EXPECT_EQ(f.Send(mob, e), M6IKE_ERR_PFKEY_ERRNO);
  f.Recv(mob);
  // Kernel-originated ACQUIRE (policy miss): same checks, no error reply.
  Bytes k = Acquire(3, 42);
  EXPECT_EQ(m6ike_pfkey_bus_acquire(f.bus, k.data(), k.size(), 0), 1);
  EXPECT_EQ(f.Recv(km), k);
  EXPECT_EQ(m6ike_pfkey_bus_acquire(f.bus, k.data(), 8, 0),
            M6IKE_ERR_PFKEY_TRUNCATED);
  Bytes u = Update();
  EXPECT_EQ(m6ike_pfkey_bus_acquire(f.bus, u.data(), u.size(), 0),
            M6IKE_ERR_PFKEY_BUS_UNSUPPORTED);
  Bytes k7 = Acquire(3, 7);
  EXPECT_EQ(m6ike_pfkey_bus_acquire(f.bus, k7.data(), k7.size(), 0),
            M6IKE_ERR_PFKEY_BUS_UNKNOWN_MPI);
  m6ike_pfkey_bus_stats st;
  m6ike_pfkey_bus_get_stats(f.bus, &st);
  EXPECT_EQ(st.kernel_acquires, 1u);
  EXPECT_EQ(st.refused_decode, 3u);  // misaligned, missing ext, truncated
  EXPECT_EQ(st.refused_no_km, 1u);
}

TEST(PfkeyBus, RegisterErrors) {
  Fixture f;
  auto km = f.Open(M6IKE_PFKEY_ROLE_KEY_MANAGER);
  EXPECT_EQ(f.Send(km, Simple(M6IKE_SADB_REGISTER, 3)), 1);
  f.Recv(km);
  EXPECT_EQ(f.Send(km, Simple(M6IKE_SADB_REGISTER, 3)),
            M6IKE_ERR_PFKEY_BUS_REGISTERED);
  EXPECT_EQ(Dec(f.Recv(km)).hdr.msg_errno, M6IKE_PFKEY_EEXIST);
  EXPECT_EQ(f.Send(km, Simple(M6IKE_SADB_REGISTER, 10)),
            M6IKE_ERR_PFKEY_BUS_SATYPE);
  f.Recv(km);
  // UNSPEC: the list only, no registration.
  EXPECT_EQ(f.Send(km, Simple(M6IKE_SADB_REGISTER, 0)), 1);
  f.Recv(km);
  EXPECT_FALSE(m6ike_pfkey_bus_registered(f.bus, km, 0));
}

// MIPv6 -- X_MIGRATE{KMADDRESS,SRC,DST,POLICY{old,new}} --> kernel
//        kernel.migrate(), then -- X_MIGRATE --> every KM (registered or not)
TEST(PfkeyBus, MigrateBroadcast) {
  Fixture f;
  auto km1 = f.Open(M6IKE_PFKEY_ROLE_KEY_MANAGER);
  auto km2 = f.Open(M6IKE_PFKEY_ROLE_KEY_MANAGER);
  auto mob = f.Open(M6IKE_PFKEY_ROLE_MOBILITY);
  f.Send(km1, Simple(M6IKE_SADB_REGISTER, 3));
  f.Recv(km1);
  Bytes mg = Migrate();
  ASSERT_EQ(mg.size(), 320u);
  EXPECT_EQ(f.Send(mob, mg), 2);
  EXPECT_EQ(f.migrates, 1);
  EXPECT_EQ(f.Recv(km1), mg);
  EXPECT_EQ(f.Recv(km2), mg);
  EXPECT_EQ(f.Send(mob, Migrate(2, false)), 2);  // KMADDRESS optional
  EXPECT_EQ(f.Send(mob, Migrate(1)), M6IKE_ERR_PFKEY_BUS_MIGRATE);
  EXPECT_EQ(Dec(f.Recv(mob)).hdr.msg_errno, M6IKE_PFKEY_EINVAL);
  EXPECT_EQ(f.Send(mob, Migrate(0)), M6IKE_ERR_PFKEY_BUS_MIGRATE);
  f.Recv(mob);
  EXPECT_EQ(f.migrates, 2);
}

TEST(PfkeyBus, MigrateCallbackErrnoStopsBroadcast) {
  Fixture f;
  f.cfg.kernel.migrate = [](const m6ike_pfkey_msg *, m6ike_tstamp,
                            void *) -> int { return 2; };
  m6ike_pfkey_bus *bus = nullptr;
  ASSERT_EQ(m6ike_pfkey_bus_new(&bus, &f.cfg, nullptr), 0);
  m6ike_pfkey_ep km, mob;
  m6ike_pfkey_bus_open(bus, M6IKE_PFKEY_ROLE_KEY_MANAGER, 0, nullptr, nullptr,
                       &km);
  m6ike_pfkey_bus_open(bus, M6IKE_PFKEY_ROLE_MOBILITY, 500, nullptr, nullptr,
                       &mob);
  Bytes mg = Migrate();
  EXPECT_EQ(m6ike_pfkey_bus_send(bus, mob, mg.data(), mg.size(), 0),
            M6IKE_ERR_PFKEY_BUS_HANDLER);
  EXPECT_EQ(m6ike_pfkey_bus_pending(bus, km), 0u);
  uint8_t e[16];
  ASSERT_EQ(m6ike_pfkey_bus_recv(bus, mob, e, sizeof(e)), 16);
  EXPECT_EQ(e[2], 2);
  m6ike_pfkey_bus_del(bus);
}

// KM -- UPDATE --> kernel.handle() -- reply --> KM
TEST(PfkeyBus, SaManagementGoesToKernelHandler) {
  Fixture f;
  auto km = f.Open(M6IKE_PFKEY_ROLE_KEY_MANAGER);
  Bytes up = Update();
  EXPECT_EQ(f.Send(km, up), 1);
  EXPECT_EQ(f.Recv(km), up);
  f.handler_errno = 3;
  EXPECT_EQ(f.Send(km, up), M6IKE_ERR_PFKEY_BUS_HANDLER);
  EXPECT_EQ(Dec(f.Recv(km)).hdr.msg_errno, 3);
  // reply() outside a handler.
  EXPECT_EQ(m6ike_pfkey_bus_reply(f.bus, km, up.data(), up.size()),
            M6IKE_ERR_PFKEY_BUS_NOT_IN_HANDLER);

  Fixture g(false);  // no IPsec unit yet
  auto km2 = g.Open(M6IKE_PFKEY_ROLE_KEY_MANAGER);
  EXPECT_EQ(g.Send(km2, up), M6IKE_ERR_PFKEY_BUS_NO_HANDLER);
  EXPECT_EQ(Dec(g.Recv(km2)).hdr.msg_errno, M6IKE_PFKEY_EOPNOTSUPP);
  EXPECT_EQ(g.Send(km2, Simple(M6IKE_SADB_X_SPDFLUSH, 0)),
            M6IKE_ERR_PFKEY_BUS_NO_HANDLER);
}

TEST(PfkeyBus, KernelExpire) {
  Fixture f;
  auto km = f.Open(M6IKE_PFKEY_ROLE_KEY_MANAGER);
  f.Send(km, Simple(M6IKE_SADB_REGISTER, 3));
  f.Recv(km);
  Bytes ex = Expire();
  EXPECT_EQ(m6ike_pfkey_bus_expire(f.bus, ex.data(), ex.size(), 0), 1);
  EXPECT_EQ(f.Recv(km), ex);
  Bytes noset = Simple(M6IKE_SADB_EXPIRE, 3);
  EXPECT_EQ(m6ike_pfkey_bus_expire(f.bus, noset.data(), noset.size(), 0),
            M6IKE_ERR_PFKEY_MISSING_EXT);
  Bytes acq = Acquire(3, 42);
  EXPECT_EQ(m6ike_pfkey_bus_expire(f.bus, acq.data(), acq.size(), 0),
            M6IKE_ERR_PFKEY_BUS_UNSUPPORTED);
  Bytes zero = Expire();
  zero[3] = 0;
  EXPECT_EQ(m6ike_pfkey_bus_expire(f.bus, zero.data(), zero.size(), 0),
            M6IKE_ERR_PFKEY_BUS_SATYPE);
}

TEST(PfkeyBus, QueuesAndEndpoints) {
  Fixture f(true, nullptr, 1);
  auto km = f.Open(M6IKE_PFKEY_ROLE_KEY_MANAGER);
  auto mob = f.Open(M6IKE_PFKEY_ROLE_MOBILITY);
  EXPECT_EQ(f.Send(km, Simple(M6IKE_SADB_REGISTER, 3)), 1);
  // KM's queue (limit 1) holds the REGISTER reply: the ACQUIRE copy drops.
  EXPECT_EQ(f.Send(mob, Acquire(3, 42)), 0);
  m6ike_pfkey_bus_stats st;
  m6ike_pfkey_bus_get_stats(f.bus, &st);
  EXPECT_EQ(st.dropped_full, 1u);
  uint8_t small[8];
  EXPECT_EQ(m6ike_pfkey_bus_recv(f.bus, km, small, sizeof(small)),
            M6IKE_ERR_NOBUF);
  EXPECT_EQ(m6ike_pfkey_bus_pending(f.bus, km), 1u);
  // A full queue also refuses the REGISTER reply.
  EXPECT_EQ(f.Send(km, Simple(M6IKE_SADB_REGISTER, 2)),
            M6IKE_ERR_PFKEY_BUS_QUEUE_FULL);
  EXPECT_FALSE(m6ike_pfkey_bus_registered(f.bus, km, 2));
  EXPECT_EQ(m6ike_pfkey_bus_close(f.bus, km), 0);
  EXPECT_EQ(m6ike_pfkey_bus_close(f.bus, km), M6IKE_ERR_PFKEY_BUS_NO_ENDPOINT);
  EXPECT_EQ(f.Send(km, Simple(M6IKE_SADB_REGISTER, 3)),
            M6IKE_ERR_PFKEY_BUS_NO_ENDPOINT);
  EXPECT_EQ(m6ike_pfkey_bus_recv(f.bus, 99, small, sizeof(small)),
            M6IKE_ERR_PFKEY_BUS_NO_ENDPOINT);
  EXPECT_EQ(m6ike_pfkey_bus_send(f.bus, 0, small, 0, 0),
            M6IKE_ERR_PFKEY_BUS_NO_ENDPOINT);
  EXPECT_EQ(m6ike_pfkey_bus_send(f.bus, mob, nullptr, 0, 0),
            M6IKE_ERR_INVALID_ARGUMENT);
  m6ike_pfkey_ep ep;
  EXPECT_EQ(m6ike_pfkey_bus_open(f.bus, (m6ike_pfkey_role)7, 0, nullptr,
                                 nullptr, &ep),
            M6IKE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(m6ike_pfkey_bus_new(nullptr, nullptr, nullptr),
            M6IKE_ERR_INVALID_ARGUMENT);
  m6ike_pfkey_bus_del(nullptr);
}

// A whole exchange under FailingMem: fail the 1st, 2nd, ... allocation.
//   new; open KM, KM, MIPv6; REGISTER; ACQUIRE{REF}; X_MIGRATE; UPDATE;
//   drain; del.  Nothing may leak or crash.
TEST(PfkeyBus, FailingAllocations) {
  size_t fail = 1;
  for (;; fail++) {
    FailingMem fm;
    fm.reset(fail);
    bool failed = false;
    {
      Fixture f(true, &fm.mem);
      if (f.rc != 0) {
        EXPECT_EQ(f.rc, M6IKE_ERR_NOMEM);
        failed = true;
      } else {
        m6ike_pfkey_ep eps[3] = {0, 0, 0};
        m6ike_pfkey_role roles[3] = {M6IKE_PFKEY_ROLE_KEY_MANAGER,
                                     M6IKE_PFKEY_ROLE_KEY_MANAGER,
                                     M6IKE_PFKEY_ROLE_MOBILITY};
        for (int i = 0; i < 3; i++) {
          int rc = m6ike_pfkey_bus_open(f.bus, roles[i], 0, nullptr, nullptr,
                                        &eps[i]);
          if (rc < 0) {
            EXPECT_EQ(rc, M6IKE_ERR_NOMEM);
            failed = true;
          }
        }
        std::vector<Bytes> msgs = {Simple(M6IKE_SADB_REGISTER, 3),
                                   Acquire(3, 42), Migrate(), Update()};
        m6ike_pfkey_ep from[4] = {eps[0], eps[2], eps[2], eps[0]};
        for (int i = 0; i < 4; i++) {
          if (from[i] == 0) continue;
          int rc = f.Send(from[i], msgs[i]);
          if (rc < 0) failed = true;
        }
        for (auto ep : eps)
          if (ep) while (!f.Recv(ep).empty()) {}
      }
    }
    EXPECT_EQ(fm.live, 0) << fail;
    if (!failed && fm.calls < fail) break;
    ASSERT_LT(fail, 1000u);
  }
  EXPECT_GT(fail, 5u);
}
