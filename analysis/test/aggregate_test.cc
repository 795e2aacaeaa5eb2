// Tests of the summary.csv aggregation (m6ike/aggregate.h): statistics
// against hand computations, grouping, tags, and every error path.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "m6ike/aggregate.h"
#include "test_util.h"

namespace {

const std::string kHeader = M6IKE_AGG_SUMMARY_HEADER;

std::string Row(const char *scheme, const char *host, const char *rate,
                int seed, const std::string &recovery,
                const std::string &msgs = "2") {
  return std::string(scheme) + "," + host + "," + rate + "," +
         std::to_string(seed) + ",1,5,5.05,5.05,5.06,5.08,5.08,6.6," +
         recovery + "," + msgs + ",176\n";
}

struct Agg {
  m6ike_agg *a = nullptr;
  m6ike_agg_err err{};
  explicit Agg(std::vector<const char *> by = {}) {
    EXPECT_EQ(0, m6ike_agg_new(&a, by.data(), by.size(), nullptr, &err));
  }
  ~Agg() { m6ike_agg_del(a); }
  int Add(const std::string &text, std::vector<const char *> tags = {}) {
    err = {};
    return m6ike_agg_add_csv(a, "s.csv", text.data(), text.size(),
                             tags.data(), tags.size(), &err);
  }
  m6ike_agg_stat Stat(size_t g, const char *col) {
    m6ike_agg_stat s{};
    EXPECT_EQ(0, m6ike_agg_stat_of(a, g, col, &s));
    return s;
  }
};

TEST(Aggregate, StudentTAgainstAHandComputation) {
  // 1..5: mean 3, s = sqrt(2.5) = 1.58114, t(0.975, 4) = 2.77645,
  // half-width = 2.77645 * 1.58114 / sqrt(5) = 1.96324.
  const double v[] = {1, 2, 3, 4, 5};
  m6ike_agg_stat s;
  m6ike_agg_compute(v, 5, &s);
  EXPECT_EQ(5u, s.n);
  EXPECT_DOUBLE_EQ(3.0, s.mean);
  EXPECT_NEAR(1.5811388, s.sd, 1e-6);
  EXPECT_NEAR(2.776445 * 1.5811388 / std::sqrt(5.0), s.ci95, 1e-5);
  EXPECT_NEAR(1.963243, s.ci95, 1e-5);
  EXPECT_EQ(1.0, s.min);
  EXPECT_EQ(5.0, s.max);
  // Two values: t(0.975, 1) = 12.7062; s = 0.70711; hw = 12.7062*0.5.
  const double w[] = {1.0, 2.0};
  m6ike_agg_compute(w, 2, &s);
  EXPECT_NEAR(12.7062 * 0.5, s.ci95, 1e-3);
  // NaN-safe: missing values are skipped; n = 1 gives NaN sd and ci.
  const double x[] = {NAN, 2.5, NAN};
  m6ike_agg_compute(x, 3, &s);
  EXPECT_EQ(1u, s.n);
  EXPECT_EQ(2.5, s.mean);
  EXPECT_TRUE(std::isnan(s.sd));
  EXPECT_TRUE(std::isnan(s.ci95));
  m6ike_agg_compute(x, 1, &s);
  EXPECT_EQ(0u, s.n);
  EXPECT_TRUE(std::isnan(s.mean));
  EXPECT_TRUE(std::isnan(s.min));
  // More values than the stack buffer.
  std::vector<double> many(1000, 4.0);
  m6ike_agg_compute(many.data(), many.size(), &s);
  EXPECT_EQ(1000u, s.n);
  EXPECT_EQ(0.0, s.sd);
}

TEST(Aggregate, GroupsBySchemeHostRateSorted) {
  Agg g;
  std::string csv = kHeader + "\r\n";
  const char *rec[] = {"1", "2", "3", "4", "5"};
  for (int i = 0; i < 5; i++) csv += Row("msrd", "ns3", "100", i + 1, rec[i]);
  csv += Row("msrd", "ns3", "40", 1, "1.6");
  csv += Row("msrd", "ns3", "1e3", 1, "1.6");
  csv += Row("msrd", "ns3", "100.0", 6, "", "");  // same group, missing
  csv += Row("renegotiate", "ns3", "40", 1, "2.9");
  csv += "\n";
  EXPECT_EQ(9, g.Add(csv)) << g.err.msg;
  ASSERT_EQ(4u, m6ike_agg_group_count(g.a));
  EXPECT_STREQ("40", m6ike_agg_group_value(g.a, 0, "rate_kbps"));
  EXPECT_STREQ("100", m6ike_agg_group_value(g.a, 1, "rate_kbps"));
  EXPECT_STREQ("1000", m6ike_agg_group_value(g.a, 2, "rate_kbps"));
  EXPECT_STREQ("renegotiate", m6ike_agg_group_value(g.a, 3, "scheme"));
  EXPECT_STREQ("ns3", m6ike_agg_group_value(g.a, 3, "host"));
  EXPECT_EQ(nullptr, m6ike_agg_group_value(g.a, 3, "seed"));
  EXPECT_EQ(nullptr, m6ike_agg_group_value(g.a, 9, "scheme"));
  m6ike_agg_stat s = g.Stat(1, "recovery_s");
  EXPECT_EQ(5u, s.n);
  EXPECT_DOUBLE_EQ(3.0, s.mean);
  EXPECT_NEAR(1.963243, s.ci95, 1e-5);
  EXPECT_EQ(5u, g.Stat(1, "ike_msgs").n);
  EXPECT_EQ(6u, g.Stat(1, "l2_s").n);
  m6ike_agg_stat t;
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND, m6ike_agg_stat_of(g.a, 1, "seed", &t));
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND, m6ike_agg_stat_of(g.a, 9, "l2_s", &t));
  // table.csv
  char *buf = nullptr;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ASSERT_EQ(0, m6ike_agg_write(g.a, f, &g.err));
  fclose(f);
  std::string out(buf, len);
  free(buf);
  EXPECT_EQ(0u, out.find("scheme,host,rate_kbps,column,n,mean,sd,ci95,min,"
                         "max\nmsrd,ns3,40,l2_s,1,5,nan,nan,5,5\n"));
  EXPECT_NE(std::string::npos,
            out.find("msrd,ns3,100,recovery_s,5,3,1.58113883,1.96324"));
  EXPECT_EQ(1u + 4 * 10, (size_t)std::count(out.begin(), out.end(), '\n'));
}

TEST(Aggregate, ExtraGroupingColumnsAndTags) {
  Agg g({"handover", "delay_ms"});
  std::string csv = kHeader + "\n" + Row("msrd", "ns3", "100", 1, "1.5");
  EXPECT_EQ(1, g.Add(csv, {"delay_ms=10"})) << g.err.msg;
  EXPECT_EQ(1, g.Add(csv, {"delay_ms=2"})) << g.err.msg;
  EXPECT_EQ(1, g.Add(csv, {"delay_ms=10", "other=x"})) << g.err.msg;
  ASSERT_EQ(2u, m6ike_agg_group_count(g.a));
  EXPECT_STREQ("2", m6ike_agg_group_value(g.a, 0, "delay_ms"));  // numeric
  EXPECT_STREQ("1", m6ike_agg_group_value(g.a, 0, "handover"));
  EXPECT_EQ(2u, g.Stat(1, "recovery_s").n);
  EXPECT_EQ(M6IKE_AGG_ERR_TAG, g.Add(csv));
  EXPECT_STREQ("s.csv: --by delay_ms: not a summary.csv column and no tag "
               "delay_ms=... for this input",
               g.err.msg);
}

TEST(Aggregate, NewRejectsBadGroupingColumns) {
  m6ike_agg *a = nullptr;
  m6ike_agg_err err{};
  const char *fixed[] = {"scheme"};
  EXPECT_EQ(M6IKE_AGG_ERR_TAG, m6ike_agg_new(&a, fixed, 1, nullptr, &err));
  EXPECT_STREQ("--by scheme: rows are always grouped by it", err.msg);
  const char *stat[] = {"recovery_s"};
  EXPECT_EQ(M6IKE_AGG_ERR_TAG, m6ike_agg_new(&a, stat, 1, nullptr, &err));
  EXPECT_STREQ("--by recovery_s: a statistics column cannot group rows",
               err.msg);
  const char *twice[] = {"seed", "seed"};
  EXPECT_EQ(M6IKE_AGG_ERR_TAG, m6ike_agg_new(&a, twice, 2, nullptr, &err));
  EXPECT_STREQ("--by seed: given twice", err.msg);
  const char *bad[] = {"a b"};
  EXPECT_EQ(M6IKE_AGG_ERR_TAG, m6ike_agg_new(&a, bad, 1, nullptr, &err));
  const char *nine[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
  EXPECT_EQ(M6IKE_AGG_ERR_TAG, m6ike_agg_new(&a, nine, 9, nullptr, &err));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_agg_new(nullptr, nullptr, 0, nullptr, &err));
  EXPECT_EQ(nullptr, a);
}

struct BadCsv {
  std::string text;
  int code;
  const char *msg;
};

TEST(Aggregate, BadInputIsRefusedWithFileLineColumnWhy) {
  const std::string ok = Row("msrd", "ns3", "100", 1, "1.5");
  const BadCsv cases[] = {
      {"", M6IKE_AGG_ERR_HEADER, "s.csv:1: header: the file is empty"},
      {"scheme,host\n" + ok, M6IKE_AGG_ERR_HEADER,
       "s.csv:1: header: expected the summary.csv contract '" M6IKE_AGG_SUMMARY_HEADER
       "'"},
      {kHeader + "\n" + ok + "msrd,ns3,100\n", M6IKE_AGG_ERR_ROW,
       "s.csv:3: 3 cells, the header has 15"},
      {kHeader + "\n" + ok.substr(0, ok.size() - 1) + ",x\n",
       M6IKE_AGG_ERR_ROW, "s.csv:2: more than 15 cells, the header has 15"},
      {kHeader + "\n\"msrd\"" + ok.substr(4), M6IKE_AGG_ERR_ROW,
       "s.csv:2: quoted cells are not part of the summary.csv contract"},
      {kHeader + "\n" + Row("ms rd", "ns3", "100", 1, "1"),
       M6IKE_AGG_ERR_VALUE,
       "s.csv:2: scheme: 'ms rd' is not a name (A-Z a-z 0-9 _ - .)"},
      {kHeader + "\n" + Row("msrd", "", "100", 1, "1"), M6IKE_AGG_ERR_VALUE,
       "s.csv:2: host: '' is not a name (A-Z a-z 0-9 _ - .)"},
      {kHeader + "\n" + Row("msrd", "ns3", "-4", 1, "1"), M6IKE_AGG_ERR_VALUE,
       "s.csv:2: rate_kbps: '-4' is not a positive number"},
      {kHeader + "\n" + Row("msrd", "ns3", "inf", 1, "1"),
       M6IKE_AGG_ERR_VALUE,
       "s.csv:2: rate_kbps: 'inf' is not a positive number"},
      {kHeader + "\nmsrd,ns3,100,x,1,5,5,5,5,5,5,6,1,2,3\n",
       M6IKE_AGG_ERR_VALUE, "s.csv:2: seed: 'x' is not a whole number >= 0"},
      {kHeader + "\n" + Row("msrd", "ns3", "100", 1, "nan"),
       M6IKE_AGG_ERR_VALUE,
       "s.csv:2: recovery_s: 'nan' is not a number of seconds >= 0 (or "
       "empty)"},
      {kHeader + "\n" + Row("msrd", "ns3", "100", 1, "-1"),
       M6IKE_AGG_ERR_VALUE,
       "s.csv:2: recovery_s: '-1' is not a number of seconds >= 0 (or "
       "empty)"},
      {kHeader + "\n" + Row("msrd", "ns3", "100", 1, "1", "2.5"),
       M6IKE_AGG_ERR_VALUE, "s.csv:2: ike_msgs: '2.5' is not a whole number >= 0"},
      {kHeader + "\n" + std::string("msrd\0", 5) + ok.substr(4),
       M6IKE_AGG_ERR_ROW, "s.csv:2: NUL octet"},
      {kHeader + "\n" + std::string(2000, 'x') + "\n", M6IKE_AGG_ERR_ROW,
       "s.csv:2: line longer than 1023 octets"},
  };
  for (const auto &c : cases) {
    Agg g;
    EXPECT_EQ(c.code, g.Add(c.text)) << c.text;
    EXPECT_STREQ(c.msg, g.err.msg) << c.text;
    // Nothing of a refused input is kept.
    EXPECT_EQ(0u, m6ike_agg_group_count(g.a));
  }
  Agg g;
  EXPECT_EQ(M6IKE_AGG_ERR_TAG, g.Add(kHeader + "\n", {"novalue"}));
  EXPECT_STREQ("--tag novalue: expected name=value (each under 64 octets)",
               g.err.msg);
  EXPECT_EQ(M6IKE_AGG_ERR_TAG, g.Add(kHeader + "\n", {"seed=1"}));
  EXPECT_STREQ("--tag seed=1: name and value are A-Z a-z 0-9 _ - . and the "
               "name is not a summary.csv column",
               g.err.msg);
  std::vector<const char *> many(17, "a=1");
  EXPECT_EQ(M6IKE_AGG_ERR_TAG, g.Add(kHeader + "\n", many));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_agg_add_csv(g.a, "x", nullptr, 4, nullptr, 0, &g.err));
  // A header alone is fine (no rows), but writing nothing is an error.
  EXPECT_EQ(0, g.Add(kHeader));
  EXPECT_EQ(M6IKE_AGG_ERR_EMPTY, m6ike_agg_write(g.a, stdout, &g.err));
}

TEST(Aggregate, PathsAndRunDirectories) {
  Agg g;
  std::string dir = std::string(M6IKE_FIXTURES_DIR) + "/synthetic-ns3-msrd";
  EXPECT_EQ(9, m6ike_agg_add_path(g.a, dir.c_str(), nullptr, 0, &g.err))
      << g.err.msg;
  EXPECT_EQ(9, m6ike_agg_add_path(g.a, (dir + "/summary.csv").c_str(),
                                  nullptr, 0, &g.err));
  EXPECT_EQ(3u, m6ike_agg_group_count(g.a));
  EXPECT_EQ(6u, g.Stat(0, "recovery_s").n);
  EXPECT_EQ(M6IKE_AGG_ERR_IO,
            m6ike_agg_add_path(g.a, "/nonexistent", nullptr, 0, &g.err));
  EXPECT_STREQ("/nonexistent: cannot open: No such file or directory",
               g.err.msg);
  EXPECT_EQ(M6IKE_AGG_ERR_HEADER,
            m6ike_agg_add_path(g.a,
                               (std::string(M6IKE_FIXTURES_DIR) +
                                "/synthetic-ns3-msrd/timeline.csv")
                                   .c_str(),
                               nullptr, 0, &g.err));
}

TEST(Aggregate, FailedAllocationsLeakNothing) {
  std::string csv = kHeader + "\n";
  for (int i = 0; i < 40; i++) {
    csv += Row(i % 2 ? "msrd" : "renegotiate", "ns3", i % 3 ? "40" : "100",
               i, "1.5");
  }
  for (size_t fail = 1;; fail++) {
    FailingMem fm;
    fm.reset(fail);
    m6ike_agg *a = nullptr;
    m6ike_agg_err err{};
    int rc = m6ike_agg_new(&a, nullptr, 0, &fm.mem, &err);
    if (rc == 0) {
      rc = m6ike_agg_add_csv(a, "x", csv.data(), csv.size(), nullptr, 0, &err);
    }
    bool injected = fm.calls >= fail;
    m6ike_agg_del(a);
    EXPECT_EQ(0, fm.live) << fail;
    if (!injected) {
      EXPECT_EQ(40, rc);
      break;
    }
    EXPECT_EQ(M6IKE_ERR_NOMEM, rc) << fail;
    ASSERT_LT(fail, 100u);
  }
}

TEST(Aggregate, Strerror) {
  for (int c = M6IKE_AGG_ERR_HEADER; c >= M6IKE_AGG_ERR_EMPTY; c--) {
    EXPECT_NE(nullptr, m6ike_agg_strerror(c));
  }
  EXPECT_EQ(nullptr, m6ike_agg_strerror(-1));
}

}  // namespace
