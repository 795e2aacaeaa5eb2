// hoa_table (src/hoa_table.h): the HA's HoA -> record index shared by
// mobility.c and keymgr.c.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>

#include "hoa_table.h"
#include "test_util.h"

namespace {

struct Rec {
  uint32_t tag;
  m6ike_addr6 hoa; // not first: the offset is honoured
  uint8_t flag;
};

m6ike_addr6 HoaN(uint32_t n) {
  m6ike_addr6 a = Addr("2001:db8:1::");
  a.b[12] = static_cast<uint8_t>(n >> 24);
  a.b[13] = static_cast<uint8_t>(n >> 16);
  a.b[14] = static_cast<uint8_t>(n >> 8);
  a.b[15] = static_cast<uint8_t>(n);
  return a;
}

class HoaTable : public ::testing::Test {
protected:
  void Init(size_t max, uint64_t seed = 7, const m6ike_mem *mem = nullptr) {
    hoa_table_init(&t, sizeof(Rec), offsetof(Rec, hoa), max, seed, mem);
  }
  void TearDown() override { hoa_table_fini(&t); }
  Rec *At(size_t i) { return static_cast<Rec *>(hoa_table_at(&t, i)); }
  hoa_table t;
};

TEST_F(HoaTable, EmptyFindsNothingAndAllocatesNothing) {
  FailingMem fm;
  Init(0, 7, &fm.mem);
  m6ike_addr6 a = HoaN(1);
  EXPECT_EQ(hoa_table_find(&t, &a), nullptr);
  EXPECT_EQ(fm.calls, 0u);
  EXPECT_EQ(t.n, 0u);
}

TEST_F(HoaTable, GetInsertsZeroedRecordOnceThenFindsIt) {
  Init(0);
  m6ike_addr6 a = HoaN(1), b = HoaN(2);
  size_t i = 99, j = 99, k = 99;
  ASSERT_EQ(hoa_table_get(&t, &a, &i), 0);
  EXPECT_EQ(i, 0u);
  EXPECT_EQ(At(0)->tag, 0u);
  EXPECT_EQ(At(0)->flag, 0u);
  EXPECT_TRUE(m6ike_addr6_equal(&At(0)->hoa, &a));
  At(0)->tag = 42;
  ASSERT_EQ(hoa_table_get(&t, &b, &j), 0);
  EXPECT_EQ(j, 1u);
  ASSERT_EQ(hoa_table_get(&t, &a, &k), 0); // existing: not reset
  EXPECT_EQ(k, 0u);
  EXPECT_EQ(At(0)->tag, 42u);
  EXPECT_EQ(t.n, 2u);
  EXPECT_EQ(hoa_table_find(&t, &a), At(0));
  EXPECT_EQ(hoa_table_find(&t, &b), At(1));
  m6ike_addr6 c = HoaN(3);
  EXPECT_EQ(hoa_table_find(&t, &c), nullptr);
}

// Growth: records keep their numbers (insertion order) through every
// doubling of the array and the index, whatever the seed; the index stays
// at most half full.
TEST_F(HoaTable, GrowthKeepsNumbersInInsertionOrder) {
  for (uint64_t seed : {0ull, 1ull, 0xdeadbeefcafef00dull}) {
    Init(0, seed);
    const uint32_t n = 1000;
    for (uint32_t r = 0; r < n; r++) {
      m6ike_addr6 a = HoaN(r * 7919u);
      size_t i;
      ASSERT_EQ(hoa_table_get(&t, &a, &i), 0);
      ASSERT_EQ(i, r);
      At(i)->tag = r;
      ASSERT_LE(2 * t.n, t.idx_cap);
    }
    EXPECT_EQ(t.n, n);
    EXPECT_GE(t.cap, n);
    for (uint32_t r = 0; r < n; r++) {
      m6ike_addr6 a = HoaN(r * 7919u);
      auto *rec = static_cast<Rec *>(hoa_table_find(&t, &a));
      ASSERT_NE(rec, nullptr);
      EXPECT_EQ(rec->tag, r);
      size_t i;
      ASSERT_EQ(hoa_table_get(&t, &a, &i), 0);
      EXPECT_EQ(i, r);
    }
    EXPECT_EQ(t.n, n);
    hoa_table_fini(&t);
  }
}

TEST_F(HoaTable, LimitRefusesNewHoasOnly) {
  Init(3);
  size_t i;
  for (uint32_t r = 0; r < 3; r++) {
    m6ike_addr6 a = HoaN(r);
    ASSERT_EQ(hoa_table_get(&t, &a, &i), 0);
  }
  m6ike_addr6 d = HoaN(3);
  EXPECT_EQ(hoa_table_get(&t, &d, &i), M6IKE_ERR_LIMIT);
  EXPECT_EQ(t.n, 3u);
  EXPECT_EQ(hoa_table_find(&t, &d), nullptr);
  m6ike_addr6 b = HoaN(1);
  ASSERT_EQ(hoa_table_get(&t, &b, &i), 0); // known HoAs still answer
  EXPECT_EQ(i, 1u);
}

TEST_F(HoaTable, ReserveSizesTheIndexOnly) {
  FailingMem fm;
  Init(0, 7, &fm.mem);
  ASSERT_EQ(hoa_table_reserve(&t, 0), 0);
  EXPECT_EQ(t.idx_cap, 0u);
  ASSERT_EQ(hoa_table_reserve(&t, 100), 0);
  EXPECT_GE(t.idx_cap, 200u);
  EXPECT_EQ(t.recs, nullptr);
  size_t cap = t.idx_cap, calls = fm.calls;
  for (uint32_t r = 0; r < 100; r++) { // no index growth below `want`
    m6ike_addr6 a = HoaN(r);
    size_t i;
    ASSERT_EQ(hoa_table_get(&t, &a, &i), 0);
  }
  EXPECT_EQ(t.idx_cap, cap);
  EXPECT_EQ(fm.calls - calls, 6u); // the array: 4, 8, ... 128
  hoa_table_fini(&t);
  EXPECT_EQ(fm.live, 0);
}

// Fails the 1st, 2nd, ... allocation of 200 inserts: NOMEM leaves the
// table as it was (every earlier record still found, the failed HoA
// absent), a retry succeeds, nothing leaks.
TEST_F(HoaTable, FailingMemSweep) {
  FailingMem fm;
  const uint32_t n = 200;
  for (size_t fail = 1;; fail++) {
    fm.reset(fail);
    Init(0, 3, &fm.mem);
    bool failed = false;
    for (uint32_t r = 0; r < n; r++) {
      m6ike_addr6 a = HoaN(r);
      size_t i;
      int rc = hoa_table_get(&t, &a, &i);
      if (rc == M6IKE_ERR_NOMEM) {
        ASSERT_FALSE(failed);
        failed = true;
        EXPECT_EQ(t.n, r);
        EXPECT_EQ(hoa_table_find(&t, &a), nullptr);
        for (uint32_t q = 0; q < r; q++) {
          m6ike_addr6 b = HoaN(q);
          ASSERT_NE(hoa_table_find(&t, &b), nullptr);
        }
        rc = hoa_table_get(&t, &a, &i); // the failure was one call only
      }
      ASSERT_EQ(rc, 0) << "fail=" << fail;
      ASSERT_EQ(i, r);
    }
    hoa_table_fini(&t);
    EXPECT_EQ(fm.live, 0) << "fail=" << fail;
    if (!failed) {
      EXPECT_GT(fail, 1u);
      break;
    }
  }
  // The reservation fails cleanly too.
  fm.reset(1);
  Init(0, 3, &fm.mem);
  EXPECT_EQ(hoa_table_reserve(&t, 10), M6IKE_ERR_NOMEM);
  EXPECT_EQ(t.idx_cap, 0u);
  hoa_table_fini(&t);
  EXPECT_EQ(fm.live, 0);
}

TEST(HoaTableFini, ZeroedTableIsSafe) {
  hoa_table t;
  std::memset(&t, 0, sizeof(t));
  hoa_table_fini(&t);
  SUCCEED();
}

} // namespace
