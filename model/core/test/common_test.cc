#include <gtest/gtest.h>

#include "m6ike/common.h"
#include "test_util.h"

TEST(Common, StrerrorKnownAndUnknown) {
  EXPECT_STREQ("success", m6ike_strerror(0));
  EXPECT_STREQ("out of memory", m6ike_strerror(M6IKE_ERR_NOMEM));
  EXPECT_STREQ("output buffer too small", m6ike_strerror(M6IKE_ERR_NOBUF));
  EXPECT_STREQ("unknown error", m6ike_strerror(-99999));
  EXPECT_STREQ("unknown error", m6ike_strerror(12345));
}

TEST(Common, FatalThreshold) {
  EXPECT_TRUE(m6ike_err_is_fatal(M6IKE_ERR_NOMEM));
  EXPECT_TRUE(m6ike_err_is_fatal(M6IKE_ERR_CALLBACK_FAILURE));
  EXPECT_FALSE(m6ike_err_is_fatal(M6IKE_ERR_INVALID_ARGUMENT));
  EXPECT_FALSE(m6ike_err_is_fatal(0));
}

TEST(Common, Addr6ParseFormatRoundTrip) {
  m6ike_addr6 a;
  char buf[M6IKE_ADDR6_STRLEN];
  ASSERT_EQ(0, m6ike_addr6_parse(&a, "2001:0db8:0000:0000:0000:0000:0000:0005"));
  EXPECT_STREQ("2001:db8::5", m6ike_addr6_format(&a, buf));
  EXPECT_EQ(0x20, a.b[0]);
  EXPECT_EQ(0x05, a.b[15]);
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_addr6_parse(&a, "2001::g"));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_addr6_parse(&a, "10.0.0.1"));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_addr6_parse(&a, ""));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_addr6_parse(nullptr, "::1"));
}

TEST(Common, Addr6Predicates) {
  m6ike_addr6 a = Addr("2001:db8:1::5"), b = Addr("2001:db8:1::1"),
              c = Addr("2001:db8:2::5"), z = Addr("::");
  EXPECT_TRUE(m6ike_addr6_prefix_match(&a, &b, 64));
  EXPECT_FALSE(m6ike_addr6_prefix_match(&a, &c, 64));
  EXPECT_TRUE(m6ike_addr6_prefix_match(&a, &c, 46));
  EXPECT_FALSE(m6ike_addr6_prefix_match(&a, &c, 47));
  EXPECT_TRUE(m6ike_addr6_prefix_match(&a, &c, 0));
  EXPECT_FALSE(m6ike_addr6_prefix_match(&a, &b, 128));
  EXPECT_FALSE(m6ike_addr6_prefix_match(&a, &a, 129));
  EXPECT_TRUE(m6ike_addr6_is_unspecified(&z));
  EXPECT_FALSE(m6ike_addr6_is_unspecified(&a));
  EXPECT_TRUE(m6ike_addr6_equal(&a, &a));
  EXPECT_FALSE(m6ike_addr6_equal(&a, &b));
}

TEST(Common, DefaultMemIsUsable) {
  const m6ike_mem *m = m6ike_mem_default();
  void *p = m->malloc(16, m->user_data);
  ASSERT_NE(nullptr, p);
  p = m->realloc(p, 64, m->user_data);
  ASSERT_NE(nullptr, p);
  m->free(p, m->user_data);
  EXPECT_STRNE("", m6ike_version());
}

// m6ike_strerror reaches every unit's table through units.c.
#include "m6ike/binding.h"
#include "m6ike/mh.h"
#include "m6ike/msrd.h"
#include "m6ike/pfkey.h"
#include "m6ike/pfkey_bus.h"

TEST(Common, StrerrorDispatchesToEveryUnit) {
  const int codes[] = {M6IKE_ERR_MH_TRUNCATED,        M6IKE_ERR_IP6_BAD_RH2,
                       M6IKE_ERR_BINDING_NOT_BU,      M6IKE_ERR_MSRD_FULL,
                       M6IKE_ERR_PFKEY_TRUNCATED,     M6IKE_ERR_PFKEY_REFERENCE,
                       M6IKE_ERR_PFKEY_BUS_UNKNOWN_MPI};
  for (int c : codes) {
    EXPECT_STRNE("unknown error", m6ike_strerror(c)) << c;
    EXPECT_FALSE(m6ike_err_is_fatal(c)) << c;
  }
  // Unassigned codes inside a unit's range are still "unknown".
  EXPECT_STREQ("unknown error", m6ike_strerror(-299));
  EXPECT_STREQ("unknown error", m6ike_strerror(-499));
}
