// Tests of the Mobile Security Reference Database (main paper §III.B-D, §IV).
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <set>
#include <thread>
#include <type_traits>
#include <vector>

#include "m6ike/msrd.h"
#include "msrd_internal.h"
#include "test_util.h"

namespace {

const m6ike_tstamp T0 = 1000 * M6IKE_SECONDS;

// Compile-time access control: writer operations accept only a writer
// handle; a reader does not convert to one.
static_assert(!std::is_convertible<m6ike_msrd_reader *,
                                   m6ike_msrd_writer *>::value,
              "a reader handle must not convert to a writer handle");
static_assert(!std::is_convertible<const m6ike_msrd_reader *,
                                   m6ike_msrd_writer *>::value,
              "a const reader handle must not convert to a writer handle");
static_assert(
    std::is_same<decltype(&m6ike_msrd_insert),
                 int (*)(m6ike_msrd_writer *, const m6ike_msrd_params *,
                         m6ike_tstamp, uint32_t *)>::value,
    "insert takes a writer handle");
static_assert(
    std::is_same<decltype(&m6ike_msrd_lookup_mpi),
                 int (*)(const m6ike_msrd_reader *, uint32_t,
                         m6ike_msrd_entry *, uint64_t *)>::value,
    "lookups take a const reader view");

// HoA number i: 2001:db8:0:0:0:0:hi:lo style, unique for i < 2^32.
m6ike_addr6 NumAddr(uint8_t first, uint32_t i) {
  m6ike_addr6 a;
  std::memset(&a, 0, sizeof(a));
  a.b[0] = 0x20;
  a.b[1] = first;
  a.b[2] = 0x0d;
  a.b[3] = 0xb8;
  a.b[12] = static_cast<uint8_t>(i >> 24);
  a.b[13] = static_cast<uint8_t>(i >> 16);
  a.b[14] = static_cast<uint8_t>(i >> 8);
  a.b[15] = static_cast<uint8_t>(i);
  return a;
}

m6ike_msrd_params Params(const char *hoa, const char *coa,
                         m6ike_msrd_state st = M6IKE_MSRD_REGISTERED,
                         uint32_t lifetime = 0) {
  m6ike_msrd_params p;
  std::memset(&p, 0, sizeof(p));
  p.hoa = Addr(hoa);
  p.coa = Addr(coa);
  p.ha = Addr("2001:db8::1");
  p.lifetime = lifetime;
  p.state = st;
  p.seq = 7;
  p.k_bit = 1;
  return p;
}

// Stores an out-of-range value in a state field as C code could (in C++ a
// cast to the enum would itself be undefined).
void SetBadState(m6ike_msrd_state *st, int v) {
  static_assert(sizeof(m6ike_msrd_state) == sizeof(int), "enum is an int");
  std::memcpy(st, &v, sizeof(v));
}

struct Db {
  m6ike_msrd *db = nullptr;
  m6ike_msrd_writer *w = nullptr;
  explicit Db(m6ike_msrd_role role = M6IKE_MSRD_ROLE_HA,
              uint32_t mpi_start = 0, const m6ike_mem *mem = nullptr,
              uint32_t initial = 0) {
    m6ike_msrd_config cfg;
    m6ike_msrd_config_default(&cfg, role);
    cfg.mpi_start = mpi_start;
    cfg.hash_seed = 0x1234;
    cfg.initial_capacity = initial;
    EXPECT_EQ(0, m6ike_msrd_new(&db, &w, &cfg, mem));
  }
  ~Db() { m6ike_msrd_del(db); }
  m6ike_msrd_reader *wr() { return m6ike_msrd_writer_as_reader(w); }
};

// Checks every index against a full scan: each live entry is found by MPI,
// HoA and (if set) CoA, and the count matches.
void CheckConsistent(m6ike_msrd_reader *r) {
  struct Ctx {
    m6ike_msrd_reader *r;
    size_t n = 0;
  } ctx{r};
  ASSERT_EQ(0, m6ike_msrd_foreach(
                   r,
                   [](const m6ike_msrd_entry *e, void *ud) -> int {
                     auto *c = static_cast<Ctx *>(ud);
                     c->n++;
                     m6ike_msrd_entry x;
                     EXPECT_EQ(0, m6ike_msrd_lookup_mpi(c->r, e->mpi, &x,
                                                        nullptr));
                     EXPECT_EQ(0, std::memcmp(&x.hoa, &e->hoa, 16));
                     EXPECT_EQ(0, m6ike_msrd_lookup_hoa(c->r, &e->hoa, &x,
                                                        nullptr));
                     EXPECT_EQ(e->mpi, x.mpi);
                     if (!m6ike_addr6_is_unspecified(&e->coa)) {
                       size_t found = 0;
                       EXPECT_EQ(0, m6ike_msrd_lookup_coa(c->r, &e->coa,
                                                          nullptr, 0, &found,
                                                          nullptr));
                       EXPECT_GE(found, 1u);
                     }
                     return 0;
                   },
                   &ctx, nullptr));
  EXPECT_EQ(ctx.n, m6ike_msrd_count(r));
}

TEST(Msrd, InsertAndLookupEverywhere) {
  Db d;
  uint32_t mpi = 0;
  m6ike_msrd_params p = Params("2001:db8::5", "2002::202:2dff:fec0:1");
  p.lifetime = 800;
  ASSERT_EQ(0, m6ike_msrd_insert(d.w, &p, T0, &mpi));
  EXPECT_NE(0u, mpi);

  m6ike_msrd_reader *r;
  ASSERT_EQ(0, m6ike_msrd_reader_new(d.db, &r));
  m6ike_msrd_entry e;
  uint64_t gen = 99;
  ASSERT_EQ(0, m6ike_msrd_lookup_mpi(r, mpi, &e, &gen));
  EXPECT_EQ(1u, gen);
  EXPECT_EQ(mpi, e.mpi);
  EXPECT_TRUE(m6ike_addr6_equal(&p.hoa, &e.hoa));
  EXPECT_TRUE(m6ike_addr6_equal(&p.coa, &e.coa));
  EXPECT_TRUE(m6ike_addr6_equal(&p.ha, &e.ha));
  EXPECT_EQ(800u, e.lifetime);
  EXPECT_EQ(M6IKE_MSRD_REGISTERED, e.state);
  EXPECT_EQ(7, e.seq);
  EXPECT_EQ(1, e.k_bit);
  EXPECT_EQ(T0, e.created);
  EXPECT_EQ(T0, e.updated);
  EXPECT_EQ(T0 + 800 * M6IKE_SECONDS, e.expires);
  EXPECT_EQ(0u, e.changes);

  m6ike_msrd_entry h;
  ASSERT_EQ(0, m6ike_msrd_lookup_hoa(r, &p.hoa, &h, nullptr));
  EXPECT_EQ(0, std::memcmp(&e, &h, sizeof(e)));
  size_t found = 0;
  ASSERT_EQ(0, m6ike_msrd_lookup_coa(r, &p.coa, &h, 1, &found, nullptr));
  EXPECT_EQ(1u, found);
  EXPECT_EQ(mpi, h.mpi);
  // The writer's own view queries too.
  ASSERT_EQ(0, m6ike_msrd_lookup_mpi(d.wr(), mpi, &h, nullptr));
  EXPECT_EQ(1u, m6ike_msrd_count(r));
  EXPECT_EQ(1u, m6ike_msrd_generation(r));

  m6ike_addr6 other = Addr("2001:db8::6");
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND, m6ike_msrd_lookup_mpi(r, mpi + 1, &e, nullptr));
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND, m6ike_msrd_lookup_mpi(r, 0, &e, nullptr));
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND, m6ike_msrd_lookup_hoa(r, &other, &e, nullptr));
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND,
            m6ike_msrd_lookup_coa(r, &other, &e, 1, &found, nullptr));
  EXPECT_EQ(0u, found);
  m6ike_addr6 zero = Addr("::");
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND,
            m6ike_msrd_lookup_coa(r, &zero, &e, 1, &found, nullptr));
  m6ike_msrd_reader_del(r);
}

TEST(Msrd, DuplicateHoaAndSharedCoa) {
  Db d;
  uint32_t a, b, c;
  m6ike_msrd_params p = Params("2001:db8::5", "2002::10");
  ASSERT_EQ(0, m6ike_msrd_insert(d.w, &p, T0, &a));
  EXPECT_EQ(M6IKE_ERR_EXISTS, m6ike_msrd_insert(d.w, &p, T0, &b));
  p.coa = Addr("2002::99"); // a different CoA does not make the HoA new
  EXPECT_EQ(M6IKE_ERR_EXISTS, m6ike_msrd_insert(d.w, &p, T0, &b));
  EXPECT_EQ(1u, m6ike_msrd_generation(d.wr())); // refusals are no change

  // One MN with two home addresses registers one CoA for both (RFC 6275
  // allows it): the CoA index returns both entries.
  m6ike_msrd_params q = Params("2001:db8::6", "2002::10");
  m6ike_msrd_params s = Params("2001:db8::7", "2002::11");
  ASSERT_EQ(0, m6ike_msrd_insert(d.w, &q, T0, &b));
  ASSERT_EQ(0, m6ike_msrd_insert(d.w, &s, T0, &c));
  m6ike_msrd_entry out[4];
  size_t found = 0;
  m6ike_addr6 coa = Addr("2002::10");
  ASSERT_EQ(0, m6ike_msrd_lookup_coa(d.wr(), &coa, out, 4, &found, nullptr));
  ASSERT_EQ(2u, found);
  std::set<uint32_t> got{out[0].mpi, out[1].mpi};
  EXPECT_EQ((std::set<uint32_t>{a, b}), got);
  // max smaller than the matches: copies max, reports all.
  ASSERT_EQ(0, m6ike_msrd_lookup_coa(d.wr(), &coa, out, 1, &found, nullptr));
  EXPECT_EQ(2u, found);
  EXPECT_TRUE(out[0].mpi == a || out[0].mpi == b);
  CheckConsistent(d.wr());
}

TEST(Msrd, UpdateFieldsByMask) {
  Db d;
  uint32_t mpi;
  m6ike_msrd_params p = Params("2001:db8::5", "2002::1",
                               M6IKE_MSRD_REGISTERING, 100);
  ASSERT_EQ(0, m6ike_msrd_insert(d.w, &p, T0, &mpi));

  // Handover: CoA1 -> CoA2 (only the CoA changes).
  m6ike_msrd_change ch;
  std::memset(&ch, 0, sizeof(ch));
  ch.mask = M6IKE_MSRD_SET_COA;
  ch.coa = Addr("2003::2");
  ch.state = M6IKE_MSRD_HOME; // ignored: not in the mask
  ASSERT_EQ(0, m6ike_msrd_update(d.w, mpi, &ch, T0 + 5 * M6IKE_SECONDS));
  m6ike_msrd_entry e;
  ASSERT_EQ(0, m6ike_msrd_lookup_mpi(d.wr(), mpi, &e, nullptr));
  EXPECT_TRUE(m6ike_addr6_equal(&ch.coa, &e.coa));
  EXPECT_EQ(M6IKE_MSRD_REGISTERING, e.state);
  EXPECT_EQ(1u, e.changes);
  EXPECT_EQ(T0 + 5 * M6IKE_SECONDS, e.updated);
  EXPECT_EQ(T0, e.created);
  EXPECT_EQ(T0 + 100 * M6IKE_SECONDS, e.expires); // lifetime not reset
  m6ike_addr6 old = Addr("2002::1");
  size_t found;
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND,
            m6ike_msrd_lookup_coa(d.wr(), &old, nullptr, 0, &found, nullptr));
  EXPECT_EQ(0, m6ike_msrd_lookup_coa(d.wr(), &ch.coa, nullptr, 0, &found,
                                     nullptr));

  // BA received: state, lifetime, seq, K.
  ch.mask = M6IKE_MSRD_SET_STATE | M6IKE_MSRD_SET_LIFETIME |
            M6IKE_MSRD_SET_SEQ | M6IKE_MSRD_SET_K;
  ch.state = M6IKE_MSRD_REGISTERED;
  ch.lifetime = 420;
  ch.seq = 8;
  ch.k_bit = 0;
  ASSERT_EQ(0, m6ike_msrd_update(d.w, mpi, &ch, T0 + 6 * M6IKE_SECONDS));
  ASSERT_EQ(0, m6ike_msrd_lookup_mpi(d.wr(), mpi, &e, nullptr));
  EXPECT_EQ(M6IKE_MSRD_REGISTERED, e.state);
  EXPECT_EQ(420u, e.lifetime);
  EXPECT_EQ(T0 + 426 * M6IKE_SECONDS, e.expires);
  EXPECT_EQ(8, e.seq);
  EXPECT_EQ(0, e.k_bit);
  EXPECT_EQ(2u, e.changes);
  EXPECT_EQ(T0 + 426 * M6IKE_SECONDS, m6ike_msrd_get_expiry(d.db));

  // Return home: CoA cleared, state HOME, lifetime 0 = no expiry.
  ch.mask = M6IKE_MSRD_SET_ALL;
  ch.coa = Addr("::");
  ch.state = M6IKE_MSRD_HOME;
  ch.lifetime = 0;
  ASSERT_EQ(0, m6ike_msrd_update(d.w, mpi, &ch, T0 + 7 * M6IKE_SECONDS));
  ASSERT_EQ(0, m6ike_msrd_lookup_mpi(d.wr(), mpi, &e, nullptr));
  EXPECT_EQ(M6IKE_TSTAMP_UNSET, e.expires);
  EXPECT_EQ(M6IKE_TSTAMP_UNSET, m6ike_msrd_get_expiry(d.db));
  EXPECT_TRUE(m6ike_addr6_is_unspecified(&e.coa));
  EXPECT_EQ(4u, m6ike_msrd_generation(d.wr()));
  CheckConsistent(d.wr());
}

TEST(Msrd, UpdateAndInsertValidation) {
  Db d;
  uint32_t mpi;
  m6ike_msrd_params p = Params("2001:db8::5", "2002::1");
  ASSERT_EQ(0, m6ike_msrd_insert(d.w, &p, T0, &mpi));
  m6ike_msrd_change ch;
  std::memset(&ch, 0, sizeof(ch));
  EXPECT_EQ(M6IKE_ERR_MSRD_BAD_MASK, m6ike_msrd_update(d.w, mpi, &ch, T0));
  ch.mask = 0x20;
  EXPECT_EQ(M6IKE_ERR_MSRD_BAD_MASK, m6ike_msrd_update(d.w, mpi, &ch, T0));
  ch.mask = M6IKE_MSRD_SET_STATE;
  SetBadState(&ch.state, 4);
  EXPECT_EQ(M6IKE_ERR_MSRD_BAD_STATE, m6ike_msrd_update(d.w, mpi, &ch, T0));
  // REGISTERED needs a CoA.
  ch.mask = M6IKE_MSRD_SET_COA;
  ch.coa = Addr("::");
  EXPECT_EQ(M6IKE_ERR_MSRD_BAD_COA, m6ike_msrd_update(d.w, mpi, &ch, T0));
  ch.coa = Addr("ff02::1");
  EXPECT_EQ(M6IKE_ERR_MSRD_BAD_COA, m6ike_msrd_update(d.w, mpi, &ch, T0));
  ch.coa = Addr("2002::2");
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND, m6ike_msrd_update(d.w, mpi + 1, &ch, T0));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_msrd_update(d.w, mpi, nullptr, T0));
  EXPECT_EQ(M6IKE_ERR_MSRD_BAD_TIME,
            m6ike_msrd_update(d.w, mpi, &ch, M6IKE_TSTAMP_UNSET));
  EXPECT_EQ(1u, m6ike_msrd_generation(d.wr())); // nothing applied
  m6ike_msrd_entry e;
  ASSERT_EQ(0, m6ike_msrd_lookup_mpi(d.wr(), mpi, &e, nullptr));
  EXPECT_EQ(0u, e.changes);

  m6ike_msrd_params bad = Params("::", "2002::1");
  EXPECT_EQ(M6IKE_ERR_MSRD_BAD_HOA, m6ike_msrd_insert(d.w, &bad, T0, &mpi));
  bad = Params("ff02::1", "2002::1");
  EXPECT_EQ(M6IKE_ERR_MSRD_BAD_HOA, m6ike_msrd_insert(d.w, &bad, T0, &mpi));
  bad = Params("2001:db8::9", "::", M6IKE_MSRD_REGISTERING);
  EXPECT_EQ(M6IKE_ERR_MSRD_BAD_COA, m6ike_msrd_insert(d.w, &bad, T0, &mpi));
  bad = Params("2001:db8::9", "::", M6IKE_MSRD_HOME); // at home: fine
  EXPECT_EQ(0, m6ike_msrd_insert(d.w, &bad, T0, &mpi));
  bad = Params("2001:db8::a", "2002::1");
  SetBadState(&bad.state, -1);
  EXPECT_EQ(M6IKE_ERR_MSRD_BAD_STATE, m6ike_msrd_insert(d.w, &bad, T0, &mpi));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_msrd_insert(d.w, nullptr, T0, &mpi));
  EXPECT_EQ(M6IKE_ERR_MSRD_BAD_TIME,
            m6ike_msrd_insert(d.w, &p, M6IKE_TSTAMP_UNSET, &mpi));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_msrd_remove(nullptr, 1, T0));
  EXPECT_EQ(M6IKE_ERR_MSRD_BAD_TIME,
            m6ike_msrd_remove(d.w, 1, M6IKE_TSTAMP_UNSET));
  EXPECT_EQ(M6IKE_ERR_MSRD_BAD_TIME,
            m6ike_msrd_expire(d.w, M6IKE_TSTAMP_UNSET));
  CheckConsistent(d.wr());
}

TEST(Msrd, RemoveRecyclesSlotsNotMpis) {
  Db d;
  std::vector<uint32_t> mpis;
  for (uint32_t i = 0; i < 50; i++) {
    m6ike_msrd_params p = Params("2001:db8::1", "2002::1");
    p.hoa = NumAddr(1, i);
    p.coa = NumAddr(2, i);
    uint32_t m;
    ASSERT_EQ(0, m6ike_msrd_insert(d.w, &p, T0, &m));
    mpis.push_back(m);
  }
  size_t mem_before = m6ike_msrd_memory_usage(d.db);
  std::set<uint32_t> seen(mpis.begin(), mpis.end());
  EXPECT_EQ(50u, seen.size());
  for (uint32_t i = 0; i < 50; i += 2) {
    ASSERT_EQ(0, m6ike_msrd_remove(d.w, mpis[i], T0));
  }
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND, m6ike_msrd_remove(d.w, mpis[0], T0));
  EXPECT_EQ(25u, m6ike_msrd_count(d.wr()));
  CheckConsistent(d.wr());
  // Re-insert the same HoAs: slots are recycled (no growth), MPIs are new.
  for (uint32_t i = 0; i < 50; i += 2) {
    m6ike_msrd_params p = Params("2001:db8::1", "2002::1");
    p.hoa = NumAddr(1, i);
    p.coa = NumAddr(2, i);
    uint32_t m;
    ASSERT_EQ(0, m6ike_msrd_insert(d.w, &p, T0, &m));
    EXPECT_TRUE(seen.insert(m).second) << "MPI " << m << " was reissued";
  }
  EXPECT_EQ(mem_before, m6ike_msrd_memory_usage(d.db));
  EXPECT_EQ(100u, m6ike_msrd_generation(d.wr())); // 50 + 25 + 25 changes
  CheckConsistent(d.wr());
}

// MPIs come from a 32-bit counter: it wraps past 0 (never issued) and, when
// it comes round again, skips MPIs that are still live.  A real second lap
// takes 2^32 inserts; m6ike_msrd_test_set_next_mpi_ puts the counter where
// that lap would leave it.
TEST(Msrd, MpiCounterWrapSkipsZeroAndLiveMpis) {
  Db d(M6IKE_MSRD_ROLE_HA, UINT32_MAX - 2);
  uint32_t n = 0;
  auto ins = [&](uint32_t *mpi) {
    m6ike_msrd_params p = Params("2001:db8::1", "2002::1");
    p.hoa = NumAddr(1, n++);
    return m6ike_msrd_insert(d.w, &p, T0, mpi);
  };
  std::vector<uint32_t> m(5);
  for (auto &x : m) ASSERT_EQ(0, ins(&x));
  EXPECT_EQ((std::vector<uint32_t>{UINT32_MAX - 2, UINT32_MAX - 1, UINT32_MAX,
                                   1, 2}),
            m);
  // Free UINT32_MAX - 1 and 1; UINT32_MAX - 2, UINT32_MAX and 2 stay live.
  ASSERT_EQ(0, m6ike_msrd_remove(d.w, UINT32_MAX - 1, T0));
  ASSERT_EQ(0, m6ike_msrd_remove(d.w, 1, T0));
  // Second lap.
  m6ike_msrd_test_set_next_mpi_(d.db, UINT32_MAX - 2);
  std::vector<uint32_t> lap2(3);
  for (auto &x : lap2) ASSERT_EQ(0, ins(&x));
  // UINT32_MAX-2 live: skipped; UINT32_MAX-1 free: reissued; UINT32_MAX
  // live, 0 never: skipped; 1 free: reissued; 2 live: skipped; 3.
  EXPECT_EQ((std::vector<uint32_t>{UINT32_MAX - 1, 1, 3}), lap2);
  std::set<uint32_t> live;
  ASSERT_EQ(0, m6ike_msrd_foreach(
                   d.wr(),
                   [](const m6ike_msrd_entry *e, void *ud) -> int {
                     EXPECT_TRUE(static_cast<std::set<uint32_t> *>(ud)
                                     ->insert(e->mpi)
                                     .second);
                     return 0;
                   },
                   &live, nullptr));
  EXPECT_EQ(6u, live.size()); // six live entries, six distinct MPIs
  EXPECT_EQ(0u, live.count(0));
  CheckConsistent(d.wr());
}

// Run-time access control: the kind tag and owning db in every handle.
TEST(Msrd, ReaderCastToWriterIsRefused) {
  Db d;
  uint32_t mpi;
  m6ike_msrd_params p = Params("2001:db8::5", "2002::1");
  ASSERT_EQ(0, m6ike_msrd_insert(d.w, &p, T0, &mpi));
  m6ike_msrd_reader *r;
  ASSERT_EQ(0, m6ike_msrd_reader_new(d.db, &r));
  // A key manager that forges a writer from its reader handle.
  auto *forged = reinterpret_cast<m6ike_msrd_writer *>(r);
  m6ike_msrd_params q = Params("2001:db8::6", "2002::2");
  m6ike_msrd_change ch;
  std::memset(&ch, 0, sizeof(ch));
  ch.mask = M6IKE_MSRD_SET_COA;
  ch.coa = Addr("2002::3");
  uint32_t m2 = 0;
  EXPECT_EQ(M6IKE_ERR_PERMISSION, m6ike_msrd_insert(forged, &q, T0, &m2));
  EXPECT_EQ(M6IKE_ERR_PERMISSION, m6ike_msrd_update(forged, mpi, &ch, T0));
  EXPECT_EQ(M6IKE_ERR_PERMISSION, m6ike_msrd_remove(forged, mpi, T0));
  EXPECT_EQ(M6IKE_ERR_PERMISSION, m6ike_msrd_expire(forged, UINT64_MAX - 1));
  EXPECT_EQ(M6IKE_ERR_PERMISSION, m6ike_msrd_writer_check(d.db, forged));
  EXPECT_EQ(0u, m2);
  EXPECT_EQ(1u, m6ike_msrd_count(r));
  EXPECT_EQ(1u, m6ike_msrd_generation(r));
  m6ike_msrd_entry e;
  ASSERT_EQ(0, m6ike_msrd_lookup_mpi(r, mpi, &e, nullptr));
  EXPECT_TRUE(m6ike_addr6_equal(&p.coa, &e.coa));

  // The writer of another database.
  Db other;
  EXPECT_EQ(0, m6ike_msrd_writer_check(d.db, d.w));
  EXPECT_EQ(0, m6ike_msrd_writer_check(other.db, other.w));
  EXPECT_EQ(M6IKE_ERR_PERMISSION, m6ike_msrd_writer_check(d.db, other.w));
  EXPECT_EQ(M6IKE_ERR_PERMISSION, m6ike_msrd_writer_check(other.db, d.w));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_msrd_writer_check(d.db, nullptr));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_msrd_writer_check(nullptr, d.w));

  // Something that is not an MSRD handle at all.
  alignas(16) unsigned char junk[256];
  std::memset(junk, 0, sizeof(junk));
  auto *jw = reinterpret_cast<m6ike_msrd_writer *>(junk);
  auto *jr = reinterpret_cast<m6ike_msrd_reader *>(junk);
  EXPECT_EQ(M6IKE_ERR_MSRD_BAD_HANDLE, m6ike_msrd_insert(jw, &q, T0, &m2));
  EXPECT_EQ(M6IKE_ERR_MSRD_BAD_HANDLE, m6ike_msrd_writer_check(d.db, jw));
  EXPECT_EQ(M6IKE_ERR_MSRD_BAD_HANDLE, m6ike_msrd_lookup_mpi(jr, mpi, &e, nullptr));
  EXPECT_EQ(M6IKE_ERR_MSRD_BAD_HANDLE, m6ike_msrd_subscribe(jr, [](const m6ike_msrd_entry *, m6ike_msrd_event, uint64_t, void *) {}, nullptr, nullptr));
  EXPECT_EQ(0u, m6ike_msrd_count(jr));
  m6ike_msrd_reader_del(jr); // ignored
  // NULL handles.
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_msrd_insert(nullptr, &q, T0, &m2));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_msrd_lookup_mpi(nullptr, mpi, &e, nullptr));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_msrd_lookup_mpi(r, mpi, nullptr, nullptr));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_msrd_lookup_hoa(r, nullptr, &e, nullptr));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_msrd_lookup_coa(r, &p.coa, nullptr, 1, nullptr, nullptr));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_msrd_foreach(r, nullptr, nullptr, nullptr));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_msrd_reader_new(nullptr, &r));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_msrd_reader_new(d.db, nullptr));
  EXPECT_EQ(nullptr, m6ike_msrd_writer_as_reader(nullptr));
  // Closing the writer's view as if it were a reader does nothing.
  m6ike_msrd_reader_del(d.wr());
  EXPECT_EQ(0, m6ike_msrd_remove(d.w, mpi, T0));
  m6ike_msrd_reader_del(r);
}

struct Seen {
  m6ike_msrd_reader *r = nullptr;
  std::vector<m6ike_msrd_event> events;
  std::vector<uint64_t> gens;
  std::vector<int> lookup_rc;      // what a lookup inside the callback saw
  std::vector<m6ike_addr6> coa_seen;
  m6ike_msrd_writer *w = nullptr;  // if set, the callback tries to write
  std::vector<int> write_rc;
};

void Record(const m6ike_msrd_entry *e, m6ike_msrd_event ev, uint64_t gen,
            void *ud) {
  auto *s = static_cast<Seen *>(ud);
  s->events.push_back(ev);
  s->gens.push_back(gen);
  // The change is applied before the callback: a query sees it, and
  // observes the generation the notification carries.
  m6ike_msrd_entry x;
  uint64_t qgen = 0;
  int rc = m6ike_msrd_lookup_mpi(s->r, e->mpi, &x, &qgen);
  EXPECT_EQ(gen, qgen);
  s->lookup_rc.push_back(rc);
  s->coa_seen.push_back(rc == 0 ? x.coa : Addr("::"));
  if (s->w) {
    m6ike_msrd_params p = Params("2001:db8::77", "2002::77");
    uint32_t m;
    s->write_rc.push_back(m6ike_msrd_insert(s->w, &p, T0, &m));
    s->write_rc.push_back(m6ike_msrd_remove(s->w, e->mpi, T0));
    s->write_rc.push_back(m6ike_msrd_expire(s->w, UINT64_MAX - 1));
  }
}

// Paper §IV ordering, as the handover of §III.E uses it:
//   MIPv6 daemon: update(CoA1 -> CoA2)  -> MSRD  (change applied, gen n)
//   MSRD --notify(UPDATED, n)--> IKEv2 daemon: lookup_mpi -> sees CoA2
//   MIPv6 daemon: remove                -> MSRD  --notify(REMOVED)-->
TEST(Msrd, NotificationsSeeTheChangeAndGenerationsAreMonotonic) {
  Db d;
  m6ike_msrd_reader *ike, *kernel;
  ASSERT_EQ(0, m6ike_msrd_reader_new(d.db, &ike));
  ASSERT_EQ(0, m6ike_msrd_reader_new(d.db, &kernel));
  Seen s1, s2;
  s1.r = ike;
  s2.r = kernel;
  s2.w = d.w; // the kernel-side callback tries to write: refused
  uint64_t id1 = 0, id2 = 0;
  ASSERT_EQ(0, m6ike_msrd_subscribe(ike, Record, &s1, &id1));
  ASSERT_EQ(0, m6ike_msrd_subscribe(kernel, Record, &s2, &id2));
  EXPECT_NE(id1, id2);

  uint32_t mpi;
  m6ike_msrd_params p = Params("2001:db8::5", "2002::1");
  ASSERT_EQ(0, m6ike_msrd_insert(d.w, &p, T0, &mpi));
  m6ike_msrd_change ch;
  std::memset(&ch, 0, sizeof(ch));
  ch.mask = M6IKE_MSRD_SET_COA;
  ch.coa = Addr("2003::2");
  ASSERT_EQ(0, m6ike_msrd_update(d.w, mpi, &ch, T0 + 1));
  ASSERT_EQ(0, m6ike_msrd_remove(d.w, mpi, T0 + 2));

  for (Seen *s : {&s1, &s2}) {
    ASSERT_EQ(3u, s->events.size());
    EXPECT_EQ(M6IKE_MSRD_EVENT_INSERTED, s->events[0]);
    EXPECT_EQ(M6IKE_MSRD_EVENT_UPDATED, s->events[1]);
    EXPECT_EQ(M6IKE_MSRD_EVENT_REMOVED, s->events[2]);
    EXPECT_EQ((std::vector<uint64_t>{1, 2, 3}), s->gens);
    EXPECT_EQ((std::vector<int>{0, 0, M6IKE_ERR_NOT_FOUND}), s->lookup_rc);
    EXPECT_TRUE(m6ike_addr6_equal(&p.coa, &s->coa_seen[0]));
    EXPECT_TRUE(m6ike_addr6_equal(&ch.coa, &s->coa_seen[1]));
  }
  // Writes from inside a notification: refused, and nothing changed.
  ASSERT_EQ(9u, s2.write_rc.size());
  for (int rc : s2.write_rc) EXPECT_EQ(M6IKE_ERR_INVALID_STATE, rc);
  EXPECT_EQ(3u, m6ike_msrd_generation(ike));
  EXPECT_EQ(0u, m6ike_msrd_count(ike));

  // Unsubscribe: no more calls.  Unknown id: NOT_FOUND.
  ASSERT_EQ(0, m6ike_msrd_unsubscribe(ike, id1));
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND, m6ike_msrd_unsubscribe(ike, id1));
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND, m6ike_msrd_unsubscribe(ike, id2)); // not its
  ASSERT_EQ(0, m6ike_msrd_insert(d.w, &p, T0, &mpi));
  EXPECT_EQ(3u, s1.events.size());
  EXPECT_EQ(4u, s2.events.size());
  // Freeing a reader removes its subscriptions.
  m6ike_msrd_reader_del(kernel);
  ASSERT_EQ(0, m6ike_msrd_remove(d.w, mpi, T0));
  EXPECT_EQ(4u, s2.events.size());
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_msrd_subscribe(ike, nullptr, nullptr, nullptr));
  m6ike_msrd_reader_del(ike);
}

// Callbacks may close readers, open readers and unsubscribe mid-round.
TEST(Msrd, HandleChangesInsideCallbacksAreDeferredSafely) {
  FailingMem fm;
  {
    Db d(M6IKE_MSRD_ROLE_HA, 0, &fm.mem);
    struct Ctx {
      m6ike_msrd *db;
      m6ike_msrd_reader *victim;
      m6ike_msrd_reader *self;
      uint64_t self_id;
      m6ike_msrd_reader *opened = nullptr;
      int calls = 0;
    } ctx{};
    ctx.db = d.db;
    ASSERT_EQ(0, m6ike_msrd_reader_new(d.db, &ctx.victim));
    ASSERT_EQ(0, m6ike_msrd_reader_new(d.db, &ctx.self));
    int victim_calls = 0;
    auto count = [](const m6ike_msrd_entry *, m6ike_msrd_event, uint64_t,
                    void *ud) { ++*static_cast<int *>(ud); };
    ASSERT_EQ(0, m6ike_msrd_subscribe(ctx.victim, count, &victim_calls, nullptr));
    ASSERT_EQ(0, m6ike_msrd_subscribe(
                     ctx.self,
                     [](const m6ike_msrd_entry *, m6ike_msrd_event, uint64_t,
                        void *ud) {
                       auto *c = static_cast<Ctx *>(ud);
                       c->calls++;
                       m6ike_msrd_reader_del(c->victim);
                       m6ike_msrd_reader_del(c->victim); // twice: harmless
                       EXPECT_EQ(0, m6ike_msrd_unsubscribe(c->self, c->self_id));
                       EXPECT_EQ(0, m6ike_msrd_reader_new(c->db, &c->opened));
                     },
                     &ctx, &ctx.self_id));
    // Readers are visited newest first: self's callback closes the victim
    // before the victim's turn, so the victim is never called.
    uint32_t mpi;
    m6ike_msrd_params p = Params("2001:db8::5", "2002::1");
    ASSERT_EQ(0, m6ike_msrd_insert(d.w, &p, T0, &mpi));
    EXPECT_EQ(1, ctx.calls);
    EXPECT_EQ(0, victim_calls);
    ASSERT_NE(nullptr, ctx.opened);
    ASSERT_EQ(0, m6ike_msrd_remove(d.w, mpi, T0));
    EXPECT_EQ(1, ctx.calls); // unsubscribed itself
    EXPECT_EQ(0, victim_calls);
    EXPECT_EQ(0u, m6ike_msrd_count(ctx.opened));
    // victim is gone; self and opened are closed by m6ike_msrd_del.
  }
  EXPECT_EQ(0, fm.live);
}

TEST(Msrd, ForeachVisitsAllAndStops) {
  Db d;
  for (uint32_t i = 0; i < 20; i++) {
    m6ike_msrd_params p = Params("2001:db8::1", "2002::1");
    p.hoa = NumAddr(1, i);
    ASSERT_EQ(0, m6ike_msrd_insert(d.w, &p, T0, nullptr));
  }
  struct Ctx {
    m6ike_msrd_writer *w;
    int n = 0;
  } ctx{d.w};
  uint64_t gen = 0;
  ASSERT_EQ(0, m6ike_msrd_foreach(
                   d.wr(),
                   [](const m6ike_msrd_entry *e, void *ud) -> int {
                     auto *c = static_cast<Ctx *>(ud);
                     c->n++;
                     // no modification while iterating
                     EXPECT_EQ(M6IKE_ERR_INVALID_STATE,
                               m6ike_msrd_remove(c->w, e->mpi, T0));
                     return 0;
                   },
                   &ctx, &gen));
  EXPECT_EQ(20, ctx.n);
  EXPECT_EQ(20u, gen);
  ctx.n = 0;
  EXPECT_EQ(42, m6ike_msrd_foreach(
                    d.wr(),
                    [](const m6ike_msrd_entry *, void *ud) -> int {
                      return ++static_cast<Ctx *>(ud)->n == 5 ? 42 : 0;
                    },
                    &ctx, nullptr));
  EXPECT_EQ(5, ctx.n);
  EXPECT_EQ(20u, m6ike_msrd_count(d.wr()));
  // After foreach the writer works again.
  EXPECT_EQ(0, m6ike_msrd_expire(d.w, T0));
}

TEST(Msrd, MnRoleHoldsOneEntry) {
  Db d(M6IKE_MSRD_ROLE_MN);
  uint32_t mpi, m2;
  // MN boots at home.
  m6ike_msrd_params p = Params("2001::5", "::", M6IKE_MSRD_HOME);
  ASSERT_EQ(0, m6ike_msrd_insert(d.w, &p, T0, &mpi));
  m6ike_msrd_params q = Params("2001::6", "2002::1");
  EXPECT_EQ(M6IKE_ERR_MSRD_MN_SINGLE_ENTRY, m6ike_msrd_insert(d.w, &q, T0, &m2));
  // Moves away: update, not a second entry.
  m6ike_msrd_change ch;
  std::memset(&ch, 0, sizeof(ch));
  ch.mask = M6IKE_MSRD_SET_COA | M6IKE_MSRD_SET_STATE;
  ch.coa = Addr("2002::202:2dff:fec0:1");
  ch.state = M6IKE_MSRD_REGISTERING;
  ASSERT_EQ(0, m6ike_msrd_update(d.w, mpi, &ch, T0));
  ASSERT_EQ(0, m6ike_msrd_remove(d.w, mpi, T0));
  ASSERT_EQ(0, m6ike_msrd_insert(d.w, &q, T0, &m2));
  EXPECT_NE(mpi, m2);

  // Configuration checks.
  m6ike_msrd *db;
  m6ike_msrd_writer *w;
  m6ike_msrd_config cfg;
  m6ike_msrd_config_default(&cfg, M6IKE_MSRD_ROLE_MN);
  cfg.max_entries = 2;
  EXPECT_EQ(M6IKE_ERR_MSRD_BAD_CONFIG, m6ike_msrd_new(&db, &w, &cfg, nullptr));
  m6ike_msrd_config_default(&cfg, M6IKE_MSRD_ROLE_HA);
  const int bad_role = 7;
  std::memcpy(&cfg.role, &bad_role, sizeof(bad_role));
  EXPECT_EQ(M6IKE_ERR_MSRD_BAD_CONFIG, m6ike_msrd_new(&db, &w, &cfg, nullptr));
  m6ike_msrd_config_default(&cfg, M6IKE_MSRD_ROLE_HA);
  cfg.max_entries = 10;
  cfg.initial_capacity = 11;
  EXPECT_EQ(M6IKE_ERR_MSRD_BAD_CONFIG, m6ike_msrd_new(&db, &w, &cfg, nullptr));
  cfg.max_entries = (1u << 30) + 1;
  cfg.initial_capacity = 0;
  EXPECT_EQ(M6IKE_ERR_MSRD_BAD_CONFIG, m6ike_msrd_new(&db, &w, &cfg, nullptr));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_msrd_new(nullptr, &w, &cfg, nullptr));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_msrd_new(&db, nullptr, &cfg, nullptr));
  // NULL config = HA defaults.
  ASSERT_EQ(0, m6ike_msrd_new(&db, &w, nullptr, nullptr));
  m6ike_msrd_del(db);
  m6ike_msrd_del(nullptr);
}

TEST(Msrd, HaMaxEntries) {
  m6ike_msrd *db;
  m6ike_msrd_writer *w;
  m6ike_msrd_config cfg;
  m6ike_msrd_config_default(&cfg, M6IKE_MSRD_ROLE_HA);
  cfg.max_entries = 3;
  ASSERT_EQ(0, m6ike_msrd_new(&db, &w, &cfg, nullptr));
  std::vector<uint32_t> m(3);
  for (uint32_t i = 0; i < 3; i++) {
    m6ike_msrd_params p = Params("2001:db8::1", "2002::1");
    p.hoa = NumAddr(1, i);
    ASSERT_EQ(0, m6ike_msrd_insert(w, &p, T0, &m[i]));
  }
  m6ike_msrd_params p = Params("2001:db8::1", "2002::1");
  p.hoa = NumAddr(1, 3);
  uint32_t x;
  EXPECT_EQ(M6IKE_ERR_MSRD_FULL, m6ike_msrd_insert(w, &p, T0, &x));
  ASSERT_EQ(0, m6ike_msrd_remove(w, m[1], T0));
  EXPECT_EQ(0, m6ike_msrd_insert(w, &p, T0, &x));
  m6ike_msrd_del(db);
}

TEST(Msrd, RandomCallbackSeedsCounterAndHash) {
  m6ike_msrd *db;
  m6ike_msrd_writer *w;
  m6ike_msrd_config cfg;
  m6ike_msrd_config_default(&cfg, M6IKE_MSRD_ROLE_HA);
  cfg.rand = [](uint8_t *dest, size_t len, void *) -> int {
    for (size_t i = 0; i < len; i++) dest[i] = static_cast<uint8_t>(0xa0 + i);
    return 0;
  };
  ASSERT_EQ(0, m6ike_msrd_new(&db, &w, &cfg, nullptr));
  m6ike_msrd_params p = Params("2001:db8::1", "2002::1");
  uint32_t mpi;
  ASSERT_EQ(0, m6ike_msrd_insert(w, &p, T0, &mpi));
  uint32_t want;
  const uint8_t first4[4] = {0xa0, 0xa1, 0xa2, 0xa3};
  std::memcpy(&want, first4, 4);
  EXPECT_EQ(want, mpi);
  m6ike_msrd_del(db);
  cfg.rand = [](uint8_t *, size_t, void *) -> int { return -1; };
  FailingMem fm;
  EXPECT_EQ(M6IKE_ERR_RANDOM, m6ike_msrd_new(&db, &w, &cfg, &fm.mem));
  EXPECT_EQ(0u, fm.calls); // nothing allocated
  EXPECT_EQ(nullptr, db);
}

TEST(Msrd, ExpiryRemovesEarliestFirst) {
  Db d;
  Seen s;
  s.r = d.wr();
  ASSERT_EQ(0, m6ike_msrd_subscribe(d.wr(), Record, &s, nullptr));
  EXPECT_EQ(M6IKE_TSTAMP_UNSET, m6ike_msrd_get_expiry(d.db));
  EXPECT_EQ(M6IKE_TSTAMP_UNSET, m6ike_msrd_get_expiry(nullptr));
  const uint32_t lifetimes[] = {30, 10, 0, 20, 10, 40};
  std::vector<uint32_t> mpi(6);
  for (uint32_t i = 0; i < 6; i++) {
    m6ike_msrd_params p = Params("2001:db8::1", "2002::1");
    p.hoa = NumAddr(1, i);
    p.lifetime = lifetimes[i];
    ASSERT_EQ(0, m6ike_msrd_insert(d.w, &p, T0, &mpi[i]));
  }
  EXPECT_EQ(T0 + 10 * M6IKE_SECONDS, m6ike_msrd_get_expiry(d.db));
  EXPECT_EQ(0, m6ike_msrd_expire(d.w, T0 + 10 * M6IKE_SECONDS - 1));
  EXPECT_EQ(2, m6ike_msrd_expire(d.w, T0 + 10 * M6IKE_SECONDS));
  EXPECT_EQ(T0 + 20 * M6IKE_SECONDS, m6ike_msrd_get_expiry(d.db));
  // Refresh entry 0 at T0+15 s with 30 s: now expires at T0+45 s.
  m6ike_msrd_change ch;
  std::memset(&ch, 0, sizeof(ch));
  ch.mask = M6IKE_MSRD_SET_LIFETIME;
  ch.lifetime = 30;
  ASSERT_EQ(0, m6ike_msrd_update(d.w, mpi[0], &ch, T0 + 15 * M6IKE_SECONDS));
  // Remove entry 5 (40 s) by hand.
  ASSERT_EQ(0, m6ike_msrd_remove(d.w, mpi[5], T0));
  EXPECT_EQ(1, m6ike_msrd_expire(d.w, T0 + 44 * M6IKE_SECONDS)); // entry 3
  EXPECT_EQ(T0 + 45 * M6IKE_SECONDS, m6ike_msrd_get_expiry(d.db));
  EXPECT_EQ(1, m6ike_msrd_expire(d.w, UINT64_MAX - 1)); // entry 0
  EXPECT_EQ(M6IKE_TSTAMP_UNSET, m6ike_msrd_get_expiry(d.db));
  EXPECT_EQ(1u, m6ike_msrd_count(d.wr())); // lifetime 0 never expires
  m6ike_msrd_entry e;
  EXPECT_EQ(0, m6ike_msrd_lookup_mpi(d.wr(), mpi[2], &e, nullptr));
  // Events: 6 inserts, 2 expiries, 1 update, 1 remove, 2 expiries.
  ASSERT_EQ(12u, s.events.size());
  EXPECT_EQ(M6IKE_MSRD_EVENT_REMOVED, s.events[6]);
  EXPECT_EQ(M6IKE_MSRD_EVENT_REMOVED, s.events[7]);
  EXPECT_EQ(M6IKE_MSRD_EVENT_UPDATED, s.events[8]);
  for (size_t i = 1; i < s.gens.size(); i++) EXPECT_EQ(s.gens[i - 1] + 1, s.gens[i]);
  // A lifetime near the end of time saturates instead of wrapping.
  m6ike_msrd_params p = Params("2001:db8::99", "2002::1");
  p.lifetime = UINT32_MAX;
  uint32_t m;
  ASSERT_EQ(0, m6ike_msrd_insert(d.w, &p, UINT64_MAX - 10, &m));
  ASSERT_EQ(0, m6ike_msrd_lookup_mpi(d.wr(), m, &e, nullptr));
  EXPECT_EQ(UINT64_MAX - 1, e.expires);
  CheckConsistent(d.wr());
}

// Many inserts, updates and removes in a pseudo-random order, checked
// against a reference model (exercises growth, backward-shift deletion and
// heap maintenance).
TEST(Msrd, RandomizedAgainstModel) {
  Db d(M6IKE_MSRD_ROLE_HA, 0, nullptr, 4);
  struct Ref {
    m6ike_addr6 hoa, coa;
    uint32_t lifetime;
    m6ike_tstamp expires;
  };
  std::vector<std::pair<uint32_t, Ref>> live;
  uint64_t x = 88172645463325252ULL;
  auto rnd = [&]() {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  m6ike_tstamp now = T0;
  uint32_t next_hoa = 0;
  for (int step = 0; step < 20000; step++) {
    now += M6IKE_MILLISECONDS;
    uint64_t op = rnd() % 10;
    if (op < 5 || live.empty()) {
      m6ike_msrd_params p = Params("2001:db8::1", "2002::1");
      p.hoa = NumAddr(1, next_hoa++);
      p.coa = NumAddr(2, static_cast<uint32_t>(rnd() % 64)); // shared CoAs
      p.lifetime = static_cast<uint32_t>(rnd() % 4);
      uint32_t m;
      ASSERT_EQ(0, m6ike_msrd_insert(d.w, &p, now, &m));
      live.push_back({m, Ref{p.hoa, p.coa, p.lifetime,
                             p.lifetime ? now + p.lifetime * M6IKE_SECONDS
                                        : M6IKE_TSTAMP_UNSET}});
    } else if (op < 7) {
      size_t i = rnd() % live.size();
      m6ike_msrd_change ch;
      std::memset(&ch, 0, sizeof(ch));
      ch.mask = M6IKE_MSRD_SET_COA | M6IKE_MSRD_SET_LIFETIME;
      ch.coa = NumAddr(2, static_cast<uint32_t>(rnd() % 64));
      ch.lifetime = static_cast<uint32_t>(rnd() % 4);
      ASSERT_EQ(0, m6ike_msrd_update(d.w, live[i].first, &ch, now));
      live[i].second.coa = ch.coa;
      live[i].second.expires =
          ch.lifetime ? now + ch.lifetime * M6IKE_SECONDS : M6IKE_TSTAMP_UNSET;
    } else if (op < 9) {
      size_t i = rnd() % live.size();
      ASSERT_EQ(0, m6ike_msrd_remove(d.w, live[i].first, now));
      live[i] = live.back();
      live.pop_back();
    } else {
      int n = m6ike_msrd_expire(d.w, now);
      size_t before = live.size();
      live.erase(std::remove_if(live.begin(), live.end(),
                                [&](const std::pair<uint32_t, Ref> &e) {
                                  return e.second.expires <= now;
                                }),
                 live.end());
      ASSERT_EQ(static_cast<int>(before - live.size()), n);
    }
    m6ike_tstamp want = M6IKE_TSTAMP_UNSET;
    for (auto &e : live) want = std::min(want, e.second.expires);
    ASSERT_EQ(want, m6ike_msrd_get_expiry(d.db)) << "step " << step;
    ASSERT_EQ(live.size(), m6ike_msrd_count(d.wr()));
  }
  for (auto &e : live) {
    m6ike_msrd_entry got;
    ASSERT_EQ(0, m6ike_msrd_lookup_mpi(d.wr(), e.first, &got, nullptr));
    EXPECT_TRUE(m6ike_addr6_equal(&e.second.hoa, &got.hoa));
    EXPECT_TRUE(m6ike_addr6_equal(&e.second.coa, &got.coa));
  }
  CheckConsistent(d.wr());
}

// FailingMem over creation, readers, subscriptions, and inserts that grow
// every structure: each failure leaves the db consistent and leaks nothing.
TEST(Msrd, FailingAllocations) {
  for (size_t fail = 1;; fail++) {
    FailingMem fm;
    fm.reset(fail);
    m6ike_msrd *db = nullptr;
    m6ike_msrd_writer *w = nullptr;
    m6ike_msrd_config cfg;
    m6ike_msrd_config_default(&cfg, M6IKE_MSRD_ROLE_HA);
    int rc = m6ike_msrd_new(&db, &w, &cfg, &fm.mem);
    if (rc != 0) {
      EXPECT_EQ(M6IKE_ERR_NOMEM, rc);
      EXPECT_EQ(nullptr, db);
      EXPECT_EQ(0, fm.live);
      continue;
    }
    bool failed = false;
    m6ike_msrd_reader *r = nullptr;
    rc = m6ike_msrd_reader_new(db, &r);
    if (rc != 0) {
      EXPECT_EQ(M6IKE_ERR_NOMEM, rc);
      failed = true;
    } else {
      int calls = 0;
      rc = m6ike_msrd_subscribe(
          r,
          [](const m6ike_msrd_entry *, m6ike_msrd_event, uint64_t, void *ud) {
            ++*static_cast<int *>(ud);
          },
          &calls, nullptr);
      if (rc != 0) {
        EXPECT_EQ(M6IKE_ERR_NOMEM, rc);
        failed = true;
      }
      uint32_t n = 0;
      for (uint32_t i = 0; i < 200 && !failed; i++) {
        m6ike_msrd_params p = Params("2001:db8::1", "2002::1");
        p.hoa = NumAddr(1, i);
        p.coa = NumAddr(2, i);
        p.lifetime = i % 3;
        uint64_t gen_before = m6ike_msrd_generation(r);
        int before = calls;
        uint32_t m = 0;
        rc = m6ike_msrd_insert(w, &p, T0, &m);
        if (rc != 0) {
          EXPECT_EQ(M6IKE_ERR_NOMEM, rc);
          EXPECT_EQ(gen_before, m6ike_msrd_generation(r));
          EXPECT_EQ(before, calls);
          EXPECT_EQ(0u, m);
          EXPECT_EQ(n, m6ike_msrd_count(r));
          CheckConsistent(r);
          // The same insert succeeds once memory is back.
          fm.fail_at = 0;
          ASSERT_EQ(0, m6ike_msrd_insert(w, &p, T0, &m));
          failed = true;
        }
        n++;
      }
      if (!failed) {
        // CoA updates that grow the CoA index after CoAs were cleared.
        m6ike_msrd_change ch;
        std::memset(&ch, 0, sizeof(ch));
        ch.mask = M6IKE_MSRD_SET_COA;
        ch.coa = Addr("2003::1");
        rc = m6ike_msrd_update(w, 12345, &ch, T0);
        EXPECT_EQ(M6IKE_ERR_NOT_FOUND, rc);
      }
      CheckConsistent(r);
    }
    m6ike_msrd_del(db);
    EXPECT_EQ(0, fm.live) << "fail at " << fail;
    if (!failed) {
      // Every allocation was failed once: new makes 8, reader and
      // subscribe 1 each; 200 inserts grow slots, heap and heap positions
      // 4 times (16 -> 256) and each of the three indexes 4 times (32 ->
      // 512 buckets).
      EXPECT_EQ(8u + 2 + 12 + 12 + 1, fail);
      break;
    }
  }
}

TEST(Msrd, UpdateCoaIndexGrowthFailure) {
  FailingMem fm;
  Db d(M6IKE_MSRD_ROLE_HA, 0, &fm.mem, 16); // 32 buckets per index
  std::vector<uint32_t> m(40);
  for (uint32_t i = 0; i < 40; i++) {
    m6ike_msrd_params p = Params("2001:db8::1", "::", M6IKE_MSRD_HOME);
    p.hoa = NumAddr(1, i);
    ASSERT_EQ(0, m6ike_msrd_insert(d.w, &p, T0, &m[i]));
  }
  // At home nobody has a CoA: the CoA index still has 32 buckets.  All 40
  // move away; the update that would put a 23rd key in it (> 70 %) must
  // grow it, and with no memory must change nothing.
  size_t grown_at = 0;
  for (uint32_t i = 0; i < 40; i++) {
    m6ike_msrd_change ch;
    std::memset(&ch, 0, sizeof(ch));
    ch.mask = M6IKE_MSRD_SET_COA | M6IKE_MSRD_SET_STATE;
    ch.coa = NumAddr(2, i);
    ch.state = M6IKE_MSRD_REGISTERING;
    fm.reset(1); // any allocation fails
    int rc = m6ike_msrd_update(d.w, m[i], &ch, T0);
    if (rc == M6IKE_ERR_NOMEM) {
      grown_at = i;
      m6ike_msrd_entry e;
      ASSERT_EQ(0, m6ike_msrd_lookup_mpi(d.wr(), m[i], &e, nullptr));
      EXPECT_EQ(M6IKE_MSRD_HOME, e.state); // unchanged
      EXPECT_EQ(0u, e.changes);
      fm.reset(0);
      ASSERT_EQ(0, m6ike_msrd_update(d.w, m[i], &ch, T0));
    } else {
      ASSERT_EQ(0, rc);
    }
  }
  fm.reset(0);
  EXPECT_EQ(22u, grown_at); // and no update before it allocated
  CheckConsistent(d.wr());
}

TEST(Msrd, ErrorStrings) {
  const int codes[] = {M6IKE_ERR_MSRD_MN_SINGLE_ENTRY, M6IKE_ERR_MSRD_FULL,
                       M6IKE_ERR_MSRD_BAD_HOA,         M6IKE_ERR_MSRD_BAD_COA,
                       M6IKE_ERR_MSRD_BAD_STATE,       M6IKE_ERR_MSRD_BAD_MASK,
                       M6IKE_ERR_MSRD_BAD_HANDLE,      M6IKE_ERR_MSRD_BAD_CONFIG,
                       M6IKE_ERR_MSRD_BAD_TIME,        M6IKE_ERR_MSRD_REGION_SIZE,
                       M6IKE_ERR_MSRD_REGION_MAGIC,    M6IKE_ERR_MSRD_REGION_VERSION,
                       M6IKE_ERR_MSRD_REGION_LAYOUT,   M6IKE_ERR_MSRD_BUSY};
  std::set<std::string> texts;
  for (int c : codes) {
    const char *s = m6ike_msrd_strerror_(c);
    ASSERT_NE(nullptr, s) << c;
    EXPECT_STREQ(s, m6ike_strerror(c));
    EXPECT_EQ(0, std::strncmp(s, "msrd: ", 6));
    texts.insert(s);
  }
  EXPECT_EQ(sizeof(codes) / sizeof(codes[0]), texts.size());
  EXPECT_EQ(nullptr, m6ike_msrd_strerror_(-400));
  EXPECT_EQ(nullptr, m6ike_msrd_strerror_(-415));
  EXPECT_EQ(nullptr, m6ike_msrd_strerror_(M6IKE_ERR_NOMEM));
  EXPECT_STREQ("unknown error", m6ike_strerror(-499));
  EXPECT_STREQ("HOME", m6ike_msrd_state_name(M6IKE_MSRD_HOME));
  EXPECT_STREQ("REGISTERING", m6ike_msrd_state_name(M6IKE_MSRD_REGISTERING));
  EXPECT_STREQ("REGISTERED", m6ike_msrd_state_name(M6IKE_MSRD_REGISTERED));
  EXPECT_STREQ("DEREGISTERING", m6ike_msrd_state_name(M6IKE_MSRD_DEREGISTERING));
  EXPECT_STREQ("?", m6ike_msrd_state_name(4));
}

// Scale: 10^6 entries on an HA (paper: "one per MN on an HA").
TEST(Msrd, MillionEntries) {
  const uint32_t N = 1000000;
  Db d(M6IKE_MSRD_ROLE_HA, 0, nullptr, 0); // grows from the default
  auto t0 = std::chrono::steady_clock::now();
  std::vector<uint32_t> mpi(N);
  m6ike_msrd_params p = Params("2001:db8::1", "2002::1");
  for (uint32_t i = 0; i < N; i++) {
    p.hoa = NumAddr(1, i);
    p.coa = NumAddr(2, i);
    p.lifetime = 60 + i % 600;
    ASSERT_EQ(0, m6ike_msrd_insert(d.w, &p, T0, &mpi[i]));
  }
  EXPECT_EQ(N, m6ike_msrd_count(d.wr()));
  m6ike_msrd_entry e;
  for (uint32_t i = 0; i < N; i += 7) {
    ASSERT_EQ(0, m6ike_msrd_lookup_mpi(d.wr(), mpi[i], &e, nullptr));
    ASSERT_EQ(i & 0xff, e.hoa.b[15]);
    m6ike_addr6 h = NumAddr(1, i);
    ASSERT_EQ(0, m6ike_msrd_lookup_hoa(d.wr(), &h, &e, nullptr));
    ASSERT_EQ(mpi[i], e.mpi);
  }
  double bytes = static_cast<double>(m6ike_msrd_memory_usage(d.db)) / N;
  EXPECT_LT(bytes, 256.0);
  EXPECT_EQ(T0 + 60 * M6IKE_SECONDS, m6ike_msrd_get_expiry(d.db));
  EXPECT_EQ(static_cast<int>(N / 600 + 1),
            m6ike_msrd_expire(d.w, T0 + 60 * M6IKE_SECONDS));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - t0)
                .count();
  RecordProperty("bytes_per_entry", static_cast<int>(bytes));
  RecordProperty("elapsed_ms", static_cast<int>(ms));
}

// ---- shared region (m6ike_msrd_new_in / m6ike_msrd_attach_reader) ----------

// A page-aligned anonymous mapping, as the mobility daemon's shm segment.
struct Region {
  void *p = MAP_FAILED;
  size_t size = 0;
  explicit Region(size_t n) {
    long pg = sysconf(_SC_PAGESIZE);
    size = (n + static_cast<size_t>(pg) - 1) / static_cast<size_t>(pg) *
           static_cast<size_t>(pg);
    p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
             -1, 0);
  }
  ~Region() {
    if (p != MAP_FAILED) munmap(p, size);
  }
  bool ReadOnly(bool ro) {
    return mprotect(p, size, ro ? PROT_READ : PROT_READ | PROT_WRITE) == 0;
  }
};

m6ike_msrd_config HaCfg(uint32_t max) {
  m6ike_msrd_config c;
  m6ike_msrd_config_default(&c, M6IKE_MSRD_ROLE_HA);
  c.max_entries = max;
  c.mpi_start = 100;
  c.hash_seed = 77;
  return c;
}

TEST(MsrdRegion, SizesAndCreationErrors) {
  EXPECT_GT(m6ike_msrd_region_size(M6IKE_MSRD_ROLE_MN, 0), 0u);
  EXPECT_EQ(m6ike_msrd_region_size(M6IKE_MSRD_ROLE_MN, 0),
            m6ike_msrd_region_size(M6IKE_MSRD_ROLE_MN, 1));
  EXPECT_EQ(0u, m6ike_msrd_region_size(M6IKE_MSRD_ROLE_MN, 2));
  EXPECT_EQ(0u, m6ike_msrd_region_size(M6IKE_MSRD_ROLE_HA, 0));
  EXPECT_EQ(0u, m6ike_msrd_region_size(static_cast<m6ike_msrd_role>(7), 1));
  EXPECT_LT(m6ike_msrd_region_size(M6IKE_MSRD_ROLE_HA, 10),
            m6ike_msrd_region_size(M6IKE_MSRD_ROLE_HA, 1000));
  size_t need = m6ike_msrd_region_size(M6IKE_MSRD_ROLE_HA, 100);
  Region r(need);
  ASSERT_NE(MAP_FAILED, r.p);
  m6ike_msrd *db = nullptr;
  m6ike_msrd_writer *w = nullptr;
  m6ike_msrd_config c = HaCfg(100);
  EXPECT_EQ(M6IKE_ERR_MSRD_REGION_SIZE,
            m6ike_msrd_new_in(r.p, need - 1, &db, &w, &c, nullptr));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_msrd_new_in(static_cast<uint8_t *>(r.p) + 4, need, &db, &w,
                              &c, nullptr));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_msrd_new_in(nullptr, need, &db, &w, &c, nullptr));
  c.role = static_cast<m6ike_msrd_role>(5);
  EXPECT_EQ(M6IKE_ERR_MSRD_BAD_CONFIG,
            m6ike_msrd_new_in(r.p, need, &db, &w, &c, nullptr));
  // HA, max_entries 0: as many as fit
  c = HaCfg(0);
  ASSERT_EQ(0, m6ike_msrd_new_in(r.p, r.size, &db, &w, &c, nullptr));
  uint32_t inserted = 0;
  for (uint32_t i = 0; i < 100000; i++) {
    m6ike_msrd_params p = Params("2001:db8::5", "2001:db8:2::5");
    p.hoa = NumAddr(0x0d, i + 1);
    int rc = m6ike_msrd_insert(w, &p, T0, nullptr);
    if (rc == M6IKE_ERR_MSRD_FULL) break;
    ASSERT_EQ(0, rc);
    inserted++;
  }
  EXPECT_GE(inserted, 100u);
  EXPECT_LE(m6ike_msrd_region_size(M6IKE_MSRD_ROLE_HA, inserted), r.size);
  EXPECT_GT(m6ike_msrd_region_size(M6IKE_MSRD_ROLE_HA, inserted + 1), r.size);
  m6ike_msrd_del(db);
  // MN: one entry
  m6ike_msrd_config_default(&c, M6IKE_MSRD_ROLE_MN);
  ASSERT_EQ(0, m6ike_msrd_new_in(r.p, r.size, &db, &w, &c, nullptr));
  m6ike_msrd_params p = Params("2001:db8::5", "2001:db8:2::5");
  EXPECT_EQ(0, m6ike_msrd_insert(w, &p, T0, nullptr));
  p.hoa = Addr("2001:db8::6");
  EXPECT_EQ(M6IKE_ERR_MSRD_MN_SINGLE_ENTRY,
            m6ike_msrd_insert(w, &p, T0, nullptr));
  m6ike_msrd_del(db);
}

TEST(MsrdRegion, AttachValidatesTheHeader) {
  size_t need = m6ike_msrd_region_size(M6IKE_MSRD_ROLE_HA, 8);
  Region r(need);
  ASSERT_NE(MAP_FAILED, r.p);
  m6ike_msrd *db = nullptr, *rdb = nullptr;
  m6ike_msrd_writer *w = nullptr;
  m6ike_msrd_reader *rd = nullptr;
  // nothing created yet: all zero
  EXPECT_EQ(M6IKE_ERR_MSRD_REGION_MAGIC,
            m6ike_msrd_attach_reader(r.p, r.size, &rdb, &rd, nullptr));
  m6ike_msrd_config c = HaCfg(8);
  ASSERT_EQ(0, m6ike_msrd_new_in(r.p, need, &db, &w, &c, nullptr));
  EXPECT_EQ(M6IKE_ERR_MSRD_REGION_SIZE,
            m6ike_msrd_attach_reader(r.p, 16, &rdb, &rd, nullptr));
  EXPECT_EQ(M6IKE_ERR_MSRD_REGION_SIZE,
            m6ike_msrd_attach_reader(r.p, need - 1, &rdb, &rd, nullptr));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_msrd_attach_reader(static_cast<uint8_t *>(r.p) + 1, need,
                                     &rdb, &rd, nullptr));
  EXPECT_EQ(nullptr, rdb);
  // the header as this build lays it out: magic, version, hdr_size,
  // entry_size, slot_size, bucket_size, role, capacity, nbuckets (u32 each)
  auto *u32 = static_cast<uint32_t *>(r.p);
  struct Case {
    int word;
    uint32_t value;
    int code;
  } cases[] = {
      {0, 0x4d535244, M6IKE_ERR_MSRD_REGION_MAGIC},
      {1, 2, M6IKE_ERR_MSRD_REGION_VERSION},
      {2, 8, M6IKE_ERR_MSRD_REGION_LAYOUT},
      {3, u32[3] + 8, M6IKE_ERR_MSRD_REGION_LAYOUT},
      {4, u32[4] + 8, M6IKE_ERR_MSRD_REGION_LAYOUT},
      {5, 16, M6IKE_ERR_MSRD_REGION_LAYOUT},
      {6, 9, M6IKE_ERR_MSRD_REGION_LAYOUT},
      {7, 9, M6IKE_ERR_MSRD_REGION_LAYOUT},      // capacity vs offsets
      {7, 1u << 31, M6IKE_ERR_MSRD_REGION_LAYOUT},
      {8, u32[8] * 2, M6IKE_ERR_MSRD_REGION_LAYOUT},
      {6, M6IKE_MSRD_ROLE_MN, M6IKE_ERR_MSRD_REGION_LAYOUT},  // MN cap 8
  };
  for (const Case &k : cases) {
    uint32_t saved = u32[k.word];
    u32[k.word] = k.value;
    EXPECT_EQ(k.code, m6ike_msrd_attach_reader(r.p, need, &rdb, &rd, nullptr))
        << "word " << k.word;
    u32[k.word] = saved;
  }
  // an offset (off_coa: the last u64 of the offsets) moved
  uint64_t *u64 = reinterpret_cast<uint64_t *>(u32 + 10);
  for (int i = 0; i < 7; i++) {
    uint64_t saved = u64[i];
    u64[i] += 64;
    EXPECT_EQ(M6IKE_ERR_MSRD_REGION_LAYOUT,
              m6ike_msrd_attach_reader(r.p, need, &rdb, &rd, nullptr))
        << "u64 " << i;
    u64[i] = saved;
  }
  ASSERT_EQ(0, m6ike_msrd_attach_reader(r.p, need, &rdb, &rd, nullptr));
  m6ike_msrd_del(rdb);
  m6ike_msrd_del(db);
}

struct Collect {
  std::vector<m6ike_msrd_entry> v;
  static int Fn(const m6ike_msrd_entry *e, void *ud) {
    static_cast<Collect *>(ud)->v.push_back(*e);
    return 0;
  }
};

bool Same(const m6ike_msrd_entry &a, const m6ike_msrd_entry &b) {
  return std::memcmp(&a, &b, sizeof(a)) == 0;
}

/* The mobility daemon writes; the key manager's mapping is PROT_READ: every
 * reader query runs on it (a store would fault), and a reader handle cast
 * to a writer is refused. */
TEST(MsrdRegion, ReaderOnReadOnlyMappingNeverWrites) {
  size_t need = m6ike_msrd_region_size(M6IKE_MSRD_ROLE_HA, 64);
  Region r(need);
  ASSERT_NE(MAP_FAILED, r.p);
  FailingMem fm;
  m6ike_msrd *db = nullptr, *rdb = nullptr;
  m6ike_msrd_writer *w = nullptr;
  m6ike_msrd_reader *rd = nullptr;
  m6ike_msrd_config c = HaCfg(64);
  ASSERT_EQ(0, m6ike_msrd_new_in(r.p, r.size, &db, &w, &c, &fm.mem));
  std::vector<uint32_t> mpis;
  for (uint32_t i = 0; i < 40; i++) {
    m6ike_msrd_params p = Params("2001:db8::5", "2001:db8:2::5",
                                 M6IKE_MSRD_REGISTERED, i % 3 ? 0 : 100);
    p.hoa = NumAddr(0x0d, i + 1);
    p.coa = NumAddr(0x0e, i % 5);
    uint32_t mpi;
    ASSERT_EQ(0, m6ike_msrd_insert(w, &p, T0, &mpi));
    mpis.push_back(mpi);
  }
  m6ike_msrd_change ch{};
  ch.mask = M6IKE_MSRD_SET_COA | M6IKE_MSRD_SET_SEQ;
  ch.coa = Addr("2001:db8:7::7");
  ch.seq = 9;
  ASSERT_EQ(0, m6ike_msrd_update(w, mpis[3], &ch, T0 + 1));
  ASSERT_EQ(0, m6ike_msrd_remove(w, mpis[4], T0 + 2));
  ASSERT_EQ(0, m6ike_msrd_attach_reader(r.p, r.size, &rdb, &rd, &fm.mem));
  const m6ike_msrd_reader *wv = m6ike_msrd_writer_as_reader(w);

  ASSERT_TRUE(r.ReadOnly(true));
  EXPECT_EQ(m6ike_msrd_count(wv), m6ike_msrd_count(rd));
  EXPECT_EQ(39u, m6ike_msrd_count(rd));
  EXPECT_EQ(m6ike_msrd_generation(wv), m6ike_msrd_generation(rd));
  EXPECT_EQ(42u, m6ike_msrd_generation(rd));
  for (uint32_t mpi : mpis) {
    m6ike_msrd_entry a, b;
    uint64_t ga = 0, gb = 0;
    int ra = m6ike_msrd_lookup_mpi(wv, mpi, &a, &ga);
    ASSERT_EQ(ra, m6ike_msrd_lookup_mpi(rd, mpi, &b, &gb));
    EXPECT_EQ(ga, gb);
    if (ra == 0) {
      EXPECT_TRUE(Same(a, b));
      m6ike_msrd_entry h;
      ASSERT_EQ(0, m6ike_msrd_lookup_hoa(rd, &a.hoa, &h, nullptr));
      EXPECT_TRUE(Same(a, h));
    }
  }
  m6ike_msrd_entry e;
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND, m6ike_msrd_lookup_mpi(rd, mpis[4], &e, nullptr));
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND, m6ike_msrd_lookup_mpi(rd, 0, &e, nullptr));
  m6ike_addr6 nobody = Addr("2001:db8:99::1");
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND,
            m6ike_msrd_lookup_hoa(rd, &nobody, &e, nullptr));
  ASSERT_EQ(0, m6ike_msrd_lookup_mpi(rd, mpis[3], &e, nullptr));
  EXPECT_TRUE(m6ike_addr6_equal(&e.coa, &ch.coa));
  EXPECT_EQ(9, e.seq);
  m6ike_msrd_entry many[16];
  size_t found = 0;
  m6ike_addr6 coa1 = NumAddr(0x0e, 1);
  ASSERT_EQ(0, m6ike_msrd_lookup_coa(rd, &coa1, many, 16, &found, nullptr));
  size_t wfound = 0;
  ASSERT_EQ(0, m6ike_msrd_lookup_coa(wv, &coa1, nullptr, 0, &wfound, nullptr));
  EXPECT_EQ(wfound, found);
  EXPECT_EQ(8u, found);
  Collect cw, cr;
  uint64_t g = 0;
  ASSERT_EQ(0, m6ike_msrd_foreach(wv, Collect::Fn, &cw, nullptr));
  ASSERT_EQ(0, m6ike_msrd_foreach(rd, Collect::Fn, &cr, &g));
  EXPECT_EQ(42u, g);
  ASSERT_EQ(cw.v.size(), cr.v.size());
  for (size_t i = 0; i < cw.v.size(); i++) EXPECT_TRUE(Same(cw.v[i], cr.v[i]));
  // more readers, subscriptions (private memory), expiry query
  m6ike_msrd_reader *rd2 = nullptr;
  ASSERT_EQ(0, m6ike_msrd_reader_new(rdb, &rd2));
  uint64_t sub = 0;
  ASSERT_EQ(0, m6ike_msrd_subscribe(
                   rd2, [](const m6ike_msrd_entry *, m6ike_msrd_event, uint64_t,
                           void *) {},
                   nullptr, &sub));
  EXPECT_EQ(0, m6ike_msrd_unsubscribe(rd2, sub));
  EXPECT_EQ(39u, m6ike_msrd_count(rd2));
  EXPECT_EQ(M6IKE_TSTAMP_UNSET, m6ike_msrd_get_expiry(rdb));
  EXPECT_GT(m6ike_msrd_memory_usage(rdb), 0u);
  m6ike_msrd_reader_del(rd2);
  // a reader handle cannot write, not even by a cast
  auto *forged = reinterpret_cast<m6ike_msrd_writer *>(rd);
  m6ike_msrd_params p = Params("2001:db8::77", "2001:db8:2::5");
  EXPECT_EQ(M6IKE_ERR_PERMISSION, m6ike_msrd_insert(forged, &p, T0, nullptr));
  EXPECT_EQ(M6IKE_ERR_PERMISSION, m6ike_msrd_update(forged, mpis[0], &ch, T0));
  EXPECT_EQ(M6IKE_ERR_PERMISSION, m6ike_msrd_remove(forged, mpis[0], T0));
  EXPECT_EQ(M6IKE_ERR_PERMISSION, m6ike_msrd_expire(forged, T0 + 1000 * M6IKE_SECONDS));
  EXPECT_EQ(M6IKE_ERR_PERMISSION, m6ike_msrd_writer_check(rdb, forged));
  ASSERT_TRUE(r.ReadOnly(false));

  // the writer goes on; the attached reader sees each change
  p.hoa = Addr("2001:db8::77");
  uint32_t m77;
  ASSERT_EQ(0, m6ike_msrd_insert(w, &p, T0 + 3, &m77));
  ASSERT_EQ(0, m6ike_msrd_lookup_mpi(rd, m77, &e, nullptr));
  EXPECT_EQ(40u, m6ike_msrd_count(rd));
  EXPECT_EQ(14, m6ike_msrd_expire(w, T0 + 200 * M6IKE_SECONDS));
  EXPECT_EQ(26u, m6ike_msrd_count(rd));
  EXPECT_EQ(m6ike_msrd_generation(wv), m6ike_msrd_generation(rd));
  m6ike_msrd_del(rdb);
  m6ike_msrd_del(db);
  EXPECT_EQ(0, fm.live);
}

TEST(MsrdRegion, FailingAllocations) {
  size_t need = m6ike_msrd_region_size(M6IKE_MSRD_ROLE_HA, 4);
  Region r(need);
  ASSERT_NE(MAP_FAILED, r.p);
  m6ike_msrd_config c = HaCfg(4);
  for (size_t n = 1; n < 10; n++) {
    FailingMem fm;
    fm.reset(n);
    m6ike_msrd *db = nullptr, *rdb = nullptr;
    m6ike_msrd_writer *w = nullptr;
    m6ike_msrd_reader *rd = nullptr;
    int rc = m6ike_msrd_new_in(r.p, need, &db, &w, &c, &fm.mem);
    if (rc == 0) rc = m6ike_msrd_attach_reader(r.p, need, &rdb, &rd, &fm.mem);
    if (rc != 0) {
      EXPECT_EQ(M6IKE_ERR_NOMEM, rc);
    }
    m6ike_msrd_del(rdb);
    m6ike_msrd_del(db);
    EXPECT_EQ(0, fm.live) << n;
  }
}

/* One thread writes (the mobility daemon), another reads through an
 * attached handle (the key manager): every entry a query returns is one
 * the writer stored whole -- seq and the CoA's last octet move together
 * -- and generations never go backwards. */
TEST(MsrdRegion, ReadersTolerateConcurrentWrites) {
  size_t need = m6ike_msrd_region_size(M6IKE_MSRD_ROLE_HA, 16);
  Region r(need);
  ASSERT_NE(MAP_FAILED, r.p);
  m6ike_msrd *db = nullptr, *rdb = nullptr;
  m6ike_msrd_writer *w = nullptr;
  m6ike_msrd_reader *rd = nullptr;
  m6ike_msrd_config c = HaCfg(16);
  ASSERT_EQ(0, m6ike_msrd_new_in(r.p, need, &db, &w, &c, nullptr));
  m6ike_msrd_params p = Params("2001:db8::5", "2001:db8:2::0");
  p.seq = 0;  // seq, changes and the CoA's last octets agree from the start
  uint32_t mpi;
  ASSERT_EQ(0, m6ike_msrd_insert(w, &p, T0, &mpi));
  ASSERT_EQ(0, m6ike_msrd_attach_reader(r.p, need, &rdb, &rd, nullptr));
  std::atomic<bool> stop{false};
  const int kWrites = 200000;
  std::thread writer([&] {
    for (int i = 1; i <= kWrites; i++) {
      m6ike_msrd_change ch{};
      ch.mask = M6IKE_MSRD_SET_COA | M6IKE_MSRD_SET_SEQ;
      ch.coa = Addr("2001:db8:2::");
      ch.coa.b[14] = static_cast<uint8_t>(i >> 8);
      ch.coa.b[15] = static_cast<uint8_t>(i);
      ch.seq = static_cast<uint16_t>(i);
      if (m6ike_msrd_update(w, mpi, &ch, T0 + static_cast<m6ike_tstamp>(i)))
        break;
      // an extra entry comes and goes: the indexes' buckets move
      m6ike_msrd_params q = Params("2001:db8::6", "2001:db8:2::1");
      q.coa = ch.coa;
      uint32_t m2;
      if (m6ike_msrd_insert(w, &q, T0 + static_cast<m6ike_tstamp>(i), &m2) ||
          m6ike_msrd_remove(w, m2, T0 + static_cast<m6ike_tstamp>(i)))
        break;
    }
    stop = true;
  });
  uint64_t last_gen = 0, reads = 0, torn = 0, gen_back = 0, failed = 0, busy = 0;
  m6ike_addr6 hoa = p.hoa;
  while (!stop) {
    m6ike_msrd_entry e;
    uint64_t g;
    int rc = m6ike_msrd_lookup_hoa(rd, &hoa, &e, &g);
    if (rc == M6IKE_ERR_MSRD_BUSY) {
      // the writer thread was descheduled inside a change for the whole
      // retry budget (a loaded machine): the host simply asks again
      busy++;
      continue;
    }
    if (rc != 0) {
      failed++;
      if (failed < 5) ADD_FAILURE() << m6ike_strerror(rc);
      continue;
    }
    reads++;
    if (e.coa.b[15] != static_cast<uint8_t>(e.seq) ||
        e.coa.b[14] != static_cast<uint8_t>(e.seq >> 8) ||
        static_cast<uint16_t>(e.changes) != e.seq || e.mpi != mpi) {
      if (torn++ < 3)
        ADD_FAILURE() << "torn: seq " << e.seq << " changes " << e.changes
                      << " coa " << int(e.coa.b[14]) << ":" << int(e.coa.b[15])
                      << " mpi " << e.mpi << " gen " << g;
    }
    if (g < last_gen) gen_back++;
    last_gen = g;
  }
  writer.join();
  EXPECT_EQ(0u, torn);
  EXPECT_EQ(0u, failed);
  EXPECT_EQ(0u, gen_back);
  EXPECT_GT(reads, 0u);
  EXPECT_EQ(1u + 3u * kWrites, m6ike_msrd_generation(rd));
  RecordProperty("reads", static_cast<int>(reads));
  RecordProperty("busy", static_cast<int>(busy));
  m6ike_msrd_del(rdb);
  m6ike_msrd_del(db);
}

}  // namespace
