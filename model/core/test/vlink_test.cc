#include <gtest/gtest.h>

#include <vector>

#include "test_util.h"
#include "vlink.h"

namespace {
m6ike_vlink *MakeLink(m6ike_tstamp delay, uint64_t rate, double loss,
                      uint64_t seed = 1, const m6ike_mem *mem = nullptr) {
  m6ike_vlink_params p{};
  p.delay = delay;
  p.rate_bps = rate;
  p.loss = loss;
  p.seed = seed;
  m6ike_vlink *l = nullptr;
  EXPECT_EQ(0, m6ike_vlink_new(&l, &p, mem));
  return l;
}
} // namespace

TEST(Vlink, DelayAndSerialisation) {
  // 8000 bit/s: a 100-byte packet takes 100 ms to serialise.
  m6ike_vlink *l = MakeLink(10 * M6IKE_MILLISECONDS, 8000, 0.0);
  uint8_t pkt[100] = {1}, buf[200];
  ASSERT_EQ(1, m6ike_vlink_send(l, M6IKE_VLINK_AB, pkt, sizeof pkt, 0));
  ASSERT_EQ(1, m6ike_vlink_send(l, M6IKE_VLINK_AB, pkt, sizeof pkt, 0));
  EXPECT_EQ(110 * M6IKE_MILLISECONDS, m6ike_vlink_next_arrival(l));
  int dir = -1;
  m6ike_tstamp at = 0;
  EXPECT_EQ(0, m6ike_vlink_recv(l, 109 * M6IKE_MILLISECONDS, &dir, &at, buf,
                                sizeof buf));
  EXPECT_EQ(100, m6ike_vlink_recv(l, 110 * M6IKE_MILLISECONDS, &dir, &at, buf,
                                  sizeof buf));
  EXPECT_EQ(M6IKE_VLINK_AB, dir);
  EXPECT_EQ(210 * M6IKE_MILLISECONDS, m6ike_vlink_next_arrival(l));
  EXPECT_EQ(M6IKE_ERR_NOBUF,
            m6ike_vlink_recv(l, M6IKE_SECONDS, &dir, &at, buf, 10));
  EXPECT_EQ(100, m6ike_vlink_recv(l, M6IKE_SECONDS, &dir, &at, buf, 200));
  EXPECT_EQ(210 * M6IKE_MILLISECONDS, at);
  EXPECT_EQ(M6IKE_TSTAMP_UNSET, m6ike_vlink_next_arrival(l));
  m6ike_vlink_del(l);
}

TEST(Vlink, LossIsDeterministicPerSeedAndNearRate) {
  auto run = [](uint64_t seed) {
    m6ike_vlink *l = MakeLink(0, 0, 0.25, seed);
    std::vector<int> got;
    uint8_t b = 0;
    for (int i = 0; i < 4000; i++) {
      got.push_back(m6ike_vlink_send(l, M6IKE_VLINK_BA, &b, 1, 0));
      uint8_t buf[4];
      m6ike_vlink_recv(l, 0, nullptr, nullptr, buf, sizeof buf);
    }
    m6ike_vlink_del(l);
    return got;
  };
  auto a = run(7), b = run(7), c = run(8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  int lost = 0;
  for (int v : a) lost += v == 0;
  EXPECT_GT(lost, 850);
  EXPECT_LT(lost, 1150);
}

TEST(Vlink, DownLinkDropsInFlightAndNew) {
  m6ike_vlink *l = MakeLink(M6IKE_MILLISECONDS, 0, 0.0);
  uint8_t b = 1, buf[4];
  ASSERT_EQ(1, m6ike_vlink_send(l, M6IKE_VLINK_AB, &b, 1, 0));
  m6ike_vlink_set_up(l, 0);
  EXPECT_EQ(0, m6ike_vlink_send(l, M6IKE_VLINK_AB, &b, 1, 0));
  EXPECT_EQ(0, m6ike_vlink_recv(l, M6IKE_SECONDS, nullptr, nullptr, buf, 4));
  EXPECT_EQ(2u, m6ike_vlink_get_stats(l)->dropped_down[M6IKE_VLINK_AB]);
  m6ike_vlink_set_up(l, 1);
  m6ike_vlink_drop_next(l, M6IKE_VLINK_AB, 1);
  EXPECT_EQ(0, m6ike_vlink_send(l, M6IKE_VLINK_AB, &b, 1, 0));
  EXPECT_EQ(1, m6ike_vlink_send(l, M6IKE_VLINK_AB, &b, 1, 0));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_vlink_send(l, 2, &b, 1, 0));
  m6ike_vlink_del(l);
}

TEST(Vlink, BadParamsAndFailingAllocations) {
  m6ike_vlink_params p{};
  m6ike_vlink *l = nullptr;
  p.loss = 1.5;
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_vlink_new(&l, &p, nullptr));
  p.loss = 0;
  FailingMem fm;
  for (size_t n = 1;; n++) {
    fm.reset(n);
    int rv = m6ike_vlink_new(&l, &p, &fm.mem);
    if (rv == 0) {
      uint8_t b = 0;
      rv = m6ike_vlink_send(l, 0, &b, 1, 0);
      m6ike_vlink_del(l);
      if (rv == 1) break;
      EXPECT_EQ(M6IKE_ERR_NOMEM, rv);
    } else {
      EXPECT_EQ(M6IKE_ERR_NOMEM, rv);
    }
    EXPECT_EQ(0, fm.live);
    ASSERT_LT(n, 20u);
  }
  EXPECT_EQ(0, fm.live);
}
