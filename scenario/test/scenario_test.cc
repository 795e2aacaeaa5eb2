// Tests of the scenario format (m6ike/scenario.h, doc/SCENARIOS.md): every
// error path with its "file:line: key: why" message, the rules, the
// overrides, the sweep, the dump round trip, the hosts' arguments, and the
// shipped scenarios.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "m6ike/scenario.h"
#include "test_util.h"

namespace {

struct Sc {
  m6ike_scenario *sc = nullptr;
  m6ike_scenario_err err{};
  Sc() { EXPECT_EQ(0, m6ike_scenario_new(&sc, nullptr)); }
  ~Sc() { m6ike_scenario_del(sc); }
  int Load(const std::string &text, const char *name = "t.ini") {
    err = {};
    return m6ike_scenario_load_string(sc, name, text.data(), text.size(),
                                      &err);
  }
  int Set(const char *a) {
    err = {};
    return m6ike_scenario_set(sc, a, &err);
  }
  int Check() {
    err = {};
    return m6ike_scenario_check(sc, &err);
  }
  std::string Text(const char *key) {
    char buf[300];
    int n = m6ike_scenario_get_text(sc, key, buf, sizeof(buf));
    return n < 0 ? "<" + std::to_string(n) + ">" : std::string(buf);
  }
  std::vector<std::string> Args(m6ike_scenario_host host, int *rc) {
    std::vector<std::string> v;
    err = {};
    *rc = m6ike_scenario_args(
        sc, host,
        [](const char *a, void *ud) {
          static_cast<std::vector<std::string> *>(ud)->push_back(a);
          return 0;
        },
        &v, &err);
    return v;
  }
};

// Loads text and expects code and exactly msg.
void ExpectLoadError(const std::string &text, int code, const std::string &msg,
                     int line) {
  Sc s;
  EXPECT_EQ(code, s.Load(text)) << text;
  EXPECT_EQ(msg, s.err.msg) << text;
  EXPECT_EQ(code, s.err.code);
  EXPECT_EQ(line, s.err.line);
}

// Expects the message to start with prefix (the why may be long).
void ExpectLoadPrefix(const std::string &text, int code,
                      const std::string &prefix) {
  Sc s;
  EXPECT_EQ(code, s.Load(text)) << text;
  EXPECT_EQ(prefix, std::string(s.err.msg).substr(0, prefix.size()))
      << s.err.msg;
}

TEST(Scenario, DefaultsAndGetters) {
  Sc s;
  int64_t i;
  double d;
  int b;
  const char *str;
  EXPECT_EQ(0, m6ike_scenario_get_string(s.sc, "experiment.scheme", &str));
  EXPECT_STREQ("msrd", str);
  EXPECT_EQ(0, m6ike_scenario_get_int(s.sc, "mn.count", &i));
  EXPECT_EQ(1, i);
  EXPECT_EQ(0, m6ike_scenario_get_double(s.sc, "traffic.rate_kbps", &d));
  EXPECT_EQ(100.0, d);
  EXPECT_EQ(0, m6ike_scenario_get_double(s.sc, "mn.count", &d)); // int->dbl
  EXPECT_EQ(1.0, d);
  EXPECT_EQ(0, m6ike_scenario_get_bool(s.sc, "crypto.null_cipher", &b));
  EXPECT_EQ(0, b);
  EXPECT_EQ(M6IKE_SCENARIO_ERR_TYPE,
            m6ike_scenario_get_int(s.sc, "experiment.scheme", &i));
  EXPECT_EQ(M6IKE_SCENARIO_ERR_TYPE,
            m6ike_scenario_get_double(s.sc, "crypto.null_cipher", &d));
  EXPECT_EQ(M6IKE_SCENARIO_ERR_TYPE,
            m6ike_scenario_get_bool(s.sc, "mn.count", &b));
  EXPECT_EQ(M6IKE_SCENARIO_ERR_TYPE,
            m6ike_scenario_get_string(s.sc, "mn.count", &str));
  EXPECT_EQ(M6IKE_SCENARIO_ERR_KEY,
            m6ike_scenario_get_int(s.sc, "mn.nope", &i));
  EXPECT_EQ(M6IKE_SCENARIO_ERR_KEY,
            m6ike_scenario_get_int(s.sc, "nodot", &i));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_scenario_get_int(s.sc, nullptr, &i));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_scenario_get_int(s.sc, "mn.count", nullptr));
  // Convenience getters fall back to dflt only for unknown/wrong keys.
  EXPECT_EQ(1, m6ike_scenario_int(s.sc, "mn.count", 7));
  EXPECT_EQ(7, m6ike_scenario_int(s.sc, "mn.nope", 7));
  EXPECT_EQ(2.0, m6ike_scenario_double(s.sc, "topology.backbone_delay_ms", 9));
  EXPECT_EQ(9.0, m6ike_scenario_double(s.sc, "experiment.scheme", 9));
  EXPECT_STREQ("x", m6ike_scenario_string(s.sc, "mn.count", "x"));
  EXPECT_EQ(0, s.Check());
  int line = -1;
  EXPECT_EQ(0, m6ike_scenario_is_set(s.sc, "mn.count", &line));
  EXPECT_EQ(M6IKE_SCENARIO_ERR_KEY, m6ike_scenario_is_set(s.sc, "a.b", &line));
  char tiny[3];
  EXPECT_EQ(M6IKE_ERR_NOBUF,
            m6ike_scenario_get_text(s.sc, "experiment.scheme", tiny, 3));
}

TEST(Scenario, SchemaListsEveryKeyWithAParsableDefault) {
  size_t n = m6ike_scenario_key_count();
  ASSERT_GT(n, 40u);
  for (size_t i = 0; i < n; i++) {
    m6ike_scenario_key_info k;
    ASSERT_EQ(0, m6ike_scenario_key_at(i, &k));
    Sc s;
    std::string a = std::string(k.name) + "=" + k.dflt;
    EXPECT_EQ(0, s.Set(a.c_str())) << a << ": " << s.err.msg;
    EXPECT_EQ(k.dflt, s.Text(k.name));
  }
  m6ike_scenario_key_info k;
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND, m6ike_scenario_key_at(n, &k));
}

TEST(Scenario, LoadsValuesWithLinesAndCanonicalText) {
  Sc s;
  ASSERT_EQ(0, s.Load("; comment\n# comment\n[experiment]\nscheme = "
                      "renegotiate ; inline\nseeds=+5\n\n[traffic]\n"
                      "rate_kbps = 1e3\n[crypto]\nnull_cipher = yes\n"
                      "[topology]\nbackbone_loss = 0.250\r\n"))
      << s.err.msg;
  EXPECT_EQ("renegotiate", s.Text("experiment.scheme"));
  EXPECT_EQ("5", s.Text("experiment.seeds"));
  EXPECT_EQ("1000", s.Text("traffic.rate_kbps"));
  EXPECT_EQ("true", s.Text("crypto.null_cipher"));
  EXPECT_EQ("0.25", s.Text("topology.backbone_loss"));
  int line = 0;
  EXPECT_EQ(1, m6ike_scenario_is_set(s.sc, "traffic.rate_kbps", &line));
  EXPECT_EQ(8, line);
  EXPECT_EQ(0, s.Check());
}

TEST(Scenario, BomAndEmptyInputAreFine) {
  Sc s;
  EXPECT_EQ(0, s.Load("\xEF\xBB\xBF[mn]\ncount = 1\n"));
  EXPECT_EQ(0, s.Load(""));
}

TEST(Scenario, SyntaxErrors) {
  ExpectLoadError("[mn]\ncount 3\n", M6IKE_SCENARIO_ERR_SYNTAX,
                  "t.ini:2: syntax error: expected 'key = value', "
                  "'[section]' or a comment",
                  2);
  ExpectLoadError("[mn\ncount = 3\n", M6IKE_SCENARIO_ERR_SYNTAX,
                  "t.ini:1: syntax error: expected 'key = value', "
                  "'[section]' or a comment",
                  1);
  // The syntax error comes first even if a later line is also wrong.
  ExpectLoadError("[mn]\nbad line\ncount = x\n", M6IKE_SCENARIO_ERR_SYNTAX,
                  "t.ini:2: syntax error: expected 'key = value', "
                  "'[section]' or a comment",
                  2);
  ExpectLoadError(std::string("[mn]\ncount = 1\0\n", 16),
                  M6IKE_SCENARIO_ERR_SYNTAX, "t.ini:2: NUL octet in the line",
                  2);
  ExpectLoadError("[experiment]\ndescription = " + std::string(190, 'x') +
                      "\n",
                  M6IKE_SCENARIO_ERR_TOO_LONG,
                  "t.ini:2: line longer than 198 octets", 2);
  ExpectLoadError("[mn]\ncount = 1\n  handovers = 2\n",
                  M6IKE_SCENARIO_ERR_SYNTAX,
                  "t.ini:3: mn.count: indented line continues the value "
                  "above (remove the indentation)",
                  3);
  ExpectLoadError("[sweep]\nmn.count = 1\n  2\n", M6IKE_SCENARIO_ERR_SYNTAX,
                  "t.ini:3: sweep.mn.count: indented line continues the "
                  "value above (remove the indentation)",
                  3);
}

TEST(Scenario, SectionAndKeyErrors) {
  ExpectLoadPrefix("[mn]\ncount = 1\n[bogus]\n", M6IKE_SCENARIO_ERR_SECTION,
                   "t.ini:3: [bogus]: unknown section (known: experiment");
  ExpectLoadError("count = 1\n", M6IKE_SCENARIO_ERR_SECTION,
                  "t.ini:1: count: key outside a section (put a [section] "
                  "line above)",
                  1);
  ExpectLoadError("[mn]\ncolor = red\n", M6IKE_SCENARIO_ERR_KEY,
                  "t.ini:2: mn.color: unknown key", 2);
  ExpectLoadError("[mn]\ncount = 1\n\ncount = 1\n", M6IKE_SCENARIO_ERR_DUP,
                  "t.ini:4: mn.count: given twice (first on line 2)", 4);
  // The same section twice is fine; a key in both is not.
  Sc s;
  EXPECT_EQ(0, s.Load("[mn]\ncount = 1\n[ra]\n[mn]\ndad = on\n"));
}

struct BadValue {
  const char *line;  // in [section]
  const char *msg;   // after "t.ini:2: "
};

TEST(Scenario, BadValuesNameTheKeyAndWhy) {
  const BadValue cases[] = {
      {"[mn]\ncount = three", "mn.count: 'three' is not a whole number"},
      {"[mn]\ncount = 1.5", "mn.count: '1.5' is not a whole number"},
      {"[mn]\ncount = 0", "mn.count: 0 is out of range 1..100000"},
      {"[mn]\ncount = 99999999999999999999",
       "mn.count: '99999999999999999999' is not a whole number"},
      {"[mn]\ncount =", "mn.count: empty value"},
      {"[traffic]\nrate_kbps = fast",
       "traffic.rate_kbps: 'fast' is not a decimal number"},
      {"[traffic]\nrate_kbps = nan",
       "traffic.rate_kbps: 'nan' is not a decimal number"},
      {"[traffic]\nrate_kbps = 0x10",
       "traffic.rate_kbps: '0x10' is not a decimal number"},
      {"[traffic]\nrate_kbps = 1e999",
       "traffic.rate_kbps: '1e999' is not a decimal number"},
      {"[traffic]\nrate_kbps = 1e", "traffic.rate_kbps: '1e' is not a "
                                    "decimal number"},
      {"[traffic]\nrate_kbps = 0",
       "traffic.rate_kbps: 0 is out of range (0..1e+07]"},
      {"[traffic]\nrate_kbps = -40",
       "traffic.rate_kbps: -40 is out of range (0..1e+07]"},
      {"[topology]\naccess_loss = 1",
       "topology.access_loss: 1 is out of range [0..1)"},
      {"[experiment]\nscheme = ikev1",
       "experiment.scheme: 'ikev1' is not one of "
       "msrd|renegotiate|migrate|migrate-kmaddress|mobike|static"},
      {"[crypto]\nnull_cipher = maybe",
       "crypto.null_cipher: 'maybe' is not a boolean (true/false, yes/no, "
       "on/off, 1/0)"},
      {"[experiment]\nname = my run",
       "experiment.name: 'my run': up to 64 of A-Z a-z 0-9 . _ - (it names "
       "directories)"},
      {"[output]\ndir = a b",
       "output.dir: 'a b': a path of A-Z a-z 0-9 . _ / + @ % = , : - only"},
      {"[experiment]\ndescription = a;b",
       "experiment.description: ';' starts a comment: not allowed in a "
       "value"},
      {"[experiment]\ndescription = tab\there",
       "experiment.description: control or non-ASCII octet 0x09 in the "
       "value"},
      {"[crypto]\nike_proposal = aes129-sha256-x25519",
       "crypto.ike_proposal: IKE proposal 'aes129-sha256-x25519': "},
      {"[crypto]\nesp_proposal = 3des",
       "crypto.esp_proposal: ESP proposal '3des': "},
      {"[processing]\ndh_cost_per_group = x",
       "processing.dh_cost_per_group: expected <group>:<time> items, e.g. "
       "14:1500us"},
      {"[processing]\ndh_cost_per_group = 0:1us",
       "processing.dh_cost_per_group: group must be 1..65535 followed by "
       "':'"},
      {"[processing]\ndh_cost_per_group = 14:us",
       "processing.dh_cost_per_group: group 14: missing time"},
      {"[processing]\ndh_cost_per_group = 14:5min",
       "processing.dh_cost_per_group: group 14: time unit must be ns, us, ms "
       "or s"},
      {"[processing]\ndh_cost_per_group = 14:5us,",
       "processing.dh_cost_per_group: empty item after ','"},
      {"[processing]\ndh_cost_per_group = 14:5us;x",
       "processing.dh_cost_per_group: unexpected ';' after group 14's time"},
  };
  for (const auto &c : cases) {
    ExpectLoadPrefix(std::string(c.line) + "\n", M6IKE_SCENARIO_ERR_VALUE,
                     std::string("t.ini:2: ") + c.msg);
  }
  // Good values of the same kinds.
  Sc s;
  EXPECT_EQ(0, s.Load("[processing]\ndh_cost_per_group = 14:1500us,19:0.15ms,"
                      "31:50ns,2:1s\n[crypto]\nike_proposal = "
                      "aes128gcm16-prfsha256-x25519,3des-sha1-modp2048\n"
                      "[output]\ndir = traces/run-1\n"))
      << s.err.msg;
}

TEST(Scenario, Sweep) {
  Sc s;
  ASSERT_EQ(0, s.Load("[sweep]\ntraffic.rate_kbps = 40, 100,1000\n"
                      "experiment.scheme = msrd, renegotiate\n"))
      << s.err.msg;
  ASSERT_EQ(2u, m6ike_scenario_sweep_count(s.sc));
  const char *key;
  size_t n;
  ASSERT_EQ(0, m6ike_scenario_sweep_dim(s.sc, 0, &key, &n));
  EXPECT_STREQ("traffic.rate_kbps", key);
  EXPECT_EQ(3u, n);
  EXPECT_STREQ("1000", m6ike_scenario_sweep_value(s.sc, 0, 2));
  EXPECT_EQ(nullptr, m6ike_scenario_sweep_value(s.sc, 0, 3));
  EXPECT_EQ(nullptr, m6ike_scenario_sweep_value(s.sc, 2, 0));
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND, m6ike_scenario_sweep_dim(s.sc, 2, &key, &n));
  // Override: replace, then remove with an empty list.
  EXPECT_EQ(0, s.Set("sweep.traffic.rate_kbps=40"));
  ASSERT_EQ(0, m6ike_scenario_sweep_dim(s.sc, 0, &key, &n));
  EXPECT_EQ(1u, n);
  EXPECT_EQ(0, s.Set("sweep.traffic.rate_kbps="));
  EXPECT_EQ(1u, m6ike_scenario_sweep_count(s.sc));
  EXPECT_EQ(0, s.Set("sweep.mn.dad=on,off"));
  EXPECT_EQ(2u, m6ike_scenario_sweep_count(s.sc));

  ExpectLoadError("[sweep]\nmn.colour = 1\n", M6IKE_SCENARIO_ERR_KEY,
                  "t.ini:2: sweep.mn.colour: not a section.key of the "
                  "scenario",
                  2);
  ExpectLoadError("[sweep]\nmn.count = 1\nmn.count = 2\n",
                  M6IKE_SCENARIO_ERR_DUP,
                  "t.ini:3: sweep.mn.count: dimension given twice", 3);
  ExpectLoadError("[sweep]\nmn.count = 1, x\n", M6IKE_SCENARIO_ERR_VALUE,
                  "t.ini:2: sweep.mn.count: value 2: 'x' is not a whole "
                  "number",
                  2);
  ExpectLoadError("[sweep]\nmn.count = 1, 01\n", M6IKE_SCENARIO_ERR_VALUE,
                  "t.ini:2: sweep.mn.count: value 1 given twice", 2);
  ExpectLoadError("[sweep]\nmn.count = 1,,2\n", M6IKE_SCENARIO_ERR_VALUE,
                  "t.ini:2: sweep.mn.count: value 2 is empty", 2);
  ExpectLoadError("[sweep]\nmn.count =\n", M6IKE_SCENARIO_ERR_VALUE,
                  "t.ini:2: sweep.mn.count: no values (expected v1, v2, ...)",
                  2);
  std::string many = "[sweep]\nmn.count = 1";
  for (int i = 2; i <= 65; i++) many += "," + std::to_string(i);
  ExpectLoadError(many + "\n", M6IKE_SCENARIO_ERR_VALUE,
                  "t.ini:2: sweep.mn.count: more than 64 values", 2);
  std::string dims = "[sweep]\n";
  const char *keys[] = {"mn.count",          "mn.handovers",
                        "mn.dad",            "traffic.rate_kbps",
                        "traffic.start_s",   "experiment.scheme",
                        "topology.l2",       "crypto.null_cipher",
                        "traffic.packet_size"};
  for (const char *k : keys) dims += std::string(k) + " = 1\n";
  ExpectLoadPrefix(dims, M6IKE_SCENARIO_ERR_VALUE, "t.ini:4: sweep.mn.dad: ");
  // 27 values of 3 octets that are written as 5 to 7 ("4e5" -> "400000").
  std::string exp = "[sweep]\ntraffic.rate_kbps = ";
  for (int e = 4; e <= 6; e++)
    for (int m = 1; m <= 9; m++)
      exp += std::to_string(m) + "e" + std::to_string(e) + ",";
  exp.back() = '\n';
  ExpectLoadError(exp, M6IKE_SCENARIO_ERR_VALUE,
                  "t.ini:2: sweep.traffic.rate_kbps: values too long: "
                  "written out as \"traffic.rate_kbps = v1, v2, ...\" "
                  "the line would exceed 198 octets",
                  2);
  dims = "[sweep]\nmn.count = 1\nmn.handovers = 1\nmn.per_network = 1\n"
         "traffic.rate_kbps = 1\ntraffic.start_s = 1\nmn.start_spread_s = 1\n"
         "mn.handover_at_s = 1\ntraffic.packet_size = 100\n"
         "experiment.seeds = 1\n";
  ExpectLoadError(dims, M6IKE_SCENARIO_ERR_TOO_LONG,
                  "t.ini:10: sweep.experiment.seeds: more than 8 dimensions",
                  10);
}

TEST(Scenario, OverrideErrors) {
  Sc s;
  EXPECT_EQ(0, s.Set(" traffic.rate_kbps = 40 "));
  EXPECT_EQ("40", s.Text("traffic.rate_kbps"));
  int line = -1;
  EXPECT_EQ(1, m6ike_scenario_is_set(s.sc, "traffic.rate_kbps", &line));
  EXPECT_EQ(0, line);
  EXPECT_EQ(M6IKE_SCENARIO_ERR_SYNTAX, s.Set("traffic.rate_kbps"));
  EXPECT_STREQ("--set traffic.rate_kbps: expected section.key=value",
               s.err.msg);
  EXPECT_EQ(M6IKE_SCENARIO_ERR_SYNTAX, s.Set("rate=40"));
  EXPECT_STREQ("--set rate: expected section.key=value", s.err.msg);
  EXPECT_EQ(M6IKE_SCENARIO_ERR_SECTION, s.Set("net.rate=40"));
  EXPECT_STREQ("--set net.rate: unknown section 'net'", s.err.msg);
  EXPECT_EQ(M6IKE_SCENARIO_ERR_KEY, s.Set("traffic.rate=40"));
  EXPECT_STREQ("--set traffic.rate: unknown key", s.err.msg);
  EXPECT_EQ(M6IKE_SCENARIO_ERR_KEY,
            s.Set((std::string(200, 'a') + "=1").c_str()));
  EXPECT_EQ(M6IKE_SCENARIO_ERR_VALUE, s.Set("traffic.rate_kbps=-1"));
  EXPECT_STREQ("--set traffic.rate_kbps: -1 is out of range (0..1e+07]",
               s.err.msg);
  EXPECT_EQ(M6IKE_SCENARIO_ERR_VALUE,
            s.Set(("experiment.description=" + std::string(151, 'x')).c_str()));
  EXPECT_STREQ("--set experiment.description: value longer than 150 octets",
               s.err.msg);
  EXPECT_EQ(M6IKE_SCENARIO_ERR_TOO_LONG,
            s.Set(("experiment.description=" + std::string(600, 'x')).c_str()));
  EXPECT_EQ(M6IKE_SCENARIO_ERR_KEY, s.Set("sweep.mn.nope=1"));
  EXPECT_STREQ("--set sweep.mn.nope: not sweep.section.key of the scenario",
               s.err.msg);
  EXPECT_EQ(M6IKE_SCENARIO_ERR_VALUE, s.Set("sweep.mn.count=0"));
  EXPECT_STREQ("--set sweep.mn.count: value 1: 0 is out of range 1..100000",
               s.err.msg);
  const char *dims[] = {"mn.count",        "mn.handovers",
                        "mn.per_network",  "traffic.rate_kbps",
                        "traffic.start_s", "mn.start_spread_s",
                        "mn.handover_at_s", "traffic.packet_size"};
  for (const char *d : dims) {
    EXPECT_EQ(0, s.Set((std::string("sweep.") + d + "=100").c_str()));
  }
  EXPECT_EQ(M6IKE_SCENARIO_ERR_TOO_LONG, s.Set("sweep.experiment.seeds=1"));
  EXPECT_STREQ("--set sweep.experiment.seeds: more than 8 sweep dimensions",
               s.err.msg);
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_scenario_set(s.sc, nullptr,
                                                           nullptr));
}

TEST(Scenario, RulesBlameTheKeyTheUserSet) {
  {
    Sc s;
    ASSERT_EQ(0, s.Load("[traffic]\nstart_s = 1\n[mn]\nhandover_at_s = 1\n"));
    EXPECT_EQ(M6IKE_SCENARIO_ERR_RULE, s.Check());
    EXPECT_STREQ("t.ini:4: mn.handover_at_s: the first handover (1 s) must "
                 "come after the traffic starts (1 s)",
                 s.err.msg);
    EXPECT_EQ(4, s.err.line);
    // An override fixes it; the rules run after the overrides.
    EXPECT_EQ(0, s.Set("mn.handover_at_s=3"));
    EXPECT_EQ(0, s.Check());
    EXPECT_EQ(0, s.Set("experiment.duration_s=2"));
    EXPECT_EQ(M6IKE_SCENARIO_ERR_RULE, s.Check());
    EXPECT_STREQ("--set experiment.duration_s: 2 s ends before the last "
                 "handover at 3 s",
                 s.err.msg);
  }
  struct Case {
    const char *text, *msg;
  } cases[] = {
      {"[topology]\nshape = fig6-scaled\n",
       "t.ini:2: topology.shape: the handover example runs the fig6 "
       "testbed, not fig6-scaled"},
      {"[experiment]\nexample = scale\n",
       "t.ini:2: experiment.example: the scale example runs the "
       "fig6-scaled testbed, not fig6"},
      {"[topology]\naccess_routers = 3\n",
       "t.ini:2: topology.access_routers: 3 access routers with 3 "
       "networks: every network but the home one has its access router"},
      {"[topology]\nnetworks = 5\naccess_routers = 4\n",
       "t.ini:2: topology.networks: the fig6 testbed has 3 networks (home, "
       "foreign 1, foreign 2), not 5"},
      {"[experiment]\nexample = scale\n[topology]\nshape = fig6-scaled\n"
       "networks = 4\naccess_routers = 3\n",
       "t.ini:6: topology.access_routers: fig6-scaled has pairs of access "
       "networks: an even number of access routers, not 3"},
      {"[experiment]\nexample = scale\n[topology]\nshape = fig6-scaled\n"
       "[mn]\ncount = 100\n",
       "t.ini:6: mn.count: 100 MNs, 25 per access network, make 4 pairs of "
       "access networks: 8 access routers, not 2"},
      {"[experiment]\nexample = scale\n[topology]\nshape = fig6-scaled\n"
       "l2 = wifi\n",
       "t.ini:5: topology.l2: wifi needs the fig6 testbed"},
      {"[ra]\nmin_interval_ms = 60\n",
       "t.ini:2: ra.min_interval_ms: MinRtrAdvInterval 60 ms is more than "
       "0.75 x MaxRtrAdvInterval 70 ms (RFC 4861 6.2.1)"},
      {"[mn]\ncount = 2\n",
       "t.ini:2: mn.count: the handover example has one MN, not 2 (scale "
       "has many)"},
      {"[experiment]\nduration_s = 6\n[mn]\nhandovers = 2\n",
       "t.ini:4: mn.handovers: 6 s ends before the last handover at 10 s"},
      {"[experiment]\nexample = bootstrap\nduration_s = 0.5\n[traffic]\n"
       "start_s = 1\n",
       "t.ini:5: traffic.start_s: 0.5 s ends before the traffic starts (1 "
       "s)"},
  };
  for (const auto &c : cases) {
    Sc s;
    ASSERT_EQ(0, s.Load(c.text)) << c.text << s.err.msg;
    EXPECT_EQ(M6IKE_SCENARIO_ERR_RULE, s.Check()) << c.text;
    EXPECT_STREQ(c.msg, s.err.msg) << c.text;
  }
}

TEST(Scenario, EverySweepValueAlonePassesTheRules) {
  Sc s;
  ASSERT_EQ(0, s.Load("[traffic]\nstart_s = 1\n[sweep]\n"
                      "traffic.rate_kbps = 40, 100\nmn.handover_at_s = 3, "
                      "0.5\n"));
  EXPECT_EQ(M6IKE_SCENARIO_ERR_RULE, s.Check());
  EXPECT_STREQ("t.ini:5: mn.handover_at_s: the first handover (0.5 s) must "
               "come after the traffic starts (1 s) (sweep.mn.handover_at_s "
               "value 0.5)",
               s.err.msg);
  EXPECT_EQ(0, s.Set("sweep.mn.handover_at_s=3,4"));
  EXPECT_EQ(0, s.Check()) << s.err.msg;
  EXPECT_EQ(0, s.Set("sweep.mn.count=1,2"));
  EXPECT_EQ(M6IKE_SCENARIO_ERR_RULE, s.Check());
  EXPECT_STREQ("--set mn.count: the handover example has one MN, not 2 "
               "(scale has many) (sweep.mn.count value 2)",
               s.err.msg);
  // Out of memory for the copy.
  FailingMem fm;
  m6ike_scenario *sc = nullptr;
  ASSERT_EQ(0, m6ike_scenario_new(&sc, &fm.mem));
  ASSERT_EQ(0, m6ike_scenario_set(sc, "sweep.mn.dad=on", nullptr));
  fm.reset(1);  // the next allocation: the copy
  m6ike_scenario_err err{};
  EXPECT_EQ(M6IKE_ERR_NOMEM, m6ike_scenario_check(sc, &err));
  m6ike_scenario_del(sc);
  EXPECT_EQ(0, fm.live);
}

TEST(Scenario, ProfilesGiveCostsUnlessSetExplicitly) {
  Sc s;
  EXPECT_EQ("50", s.Text("processing.dh_cost_us"));
  ASSERT_EQ(0, s.Set("processing.profile=xu2008"));
  EXPECT_EQ("108000", s.Text("processing.dh_cost_us"));
  double d = 0;
  EXPECT_EQ(0, m6ike_scenario_get_double(s.sc, "processing.dh_cost_us", &d));
  EXPECT_EQ(108000.0, d);
  ASSERT_EQ(0, s.Set("processing.dh_cost_us=7"));
  EXPECT_EQ("7", s.Text("processing.dh_cost_us"));
  EXPECT_EQ("140", s.Text("processing.sign_cost_us"));
}

// The presets give per-group DH costs too (examples/mip6ike-profile.h's
// DhCostPerGroup); an explicit value, even an empty one, wins.
TEST(Scenario, ProfilesGivePerGroupDhCosts) {
  Sc s;
  EXPECT_EQ("", s.Text("processing.dh_cost_per_group"));
  ASSERT_EQ(0, s.Set("processing.profile=xu2008"));
  EXPECT_EQ("14:108000us", s.Text("processing.dh_cost_per_group"));
  ASSERT_EQ(0, s.Set("processing.profile=modern"));
  EXPECT_EQ("14:253us,19:55us,31:53us",
            s.Text("processing.dh_cost_per_group"));
  int rc = -1;
  auto v = s.Args(M6IKE_SCENARIO_HOST_NS3, &rc);
  ASSERT_EQ(0, rc) << s.err.msg;
  auto has = [&](const std::string &a) {
    for (const auto &x : v)
      if (x == a) return true;
    return false;
  };
  EXPECT_TRUE(has("--ns3::Mip6IkeAgent::DhCostPerGroup=14:253us,19:55us,31:53us"));
  ASSERT_EQ(0, s.Set("processing.dh_cost_per_group=19:1ms"));
  EXPECT_EQ("19:1ms", s.Text("processing.dh_cost_per_group"));
  ASSERT_EQ(0, s.Set("processing.profile=fixed"));
  EXPECT_EQ("19:1ms", s.Text("processing.dh_cost_per_group"));
  // Errors in an override name the key and the group.
  EXPECT_EQ(M6IKE_SCENARIO_ERR_VALUE,
            s.Set("processing.dh_cost_per_group=14:108ms,31"));
  EXPECT_NE(std::string::npos,
            std::string(s.err.msg).find("--set processing.dh_cost_per_group: "))
      << s.err.msg;
}

TEST(Scenario, DumpReloadsToTheSameScenario) {
  Sc a;
  ASSERT_EQ(0, a.Load("[experiment]\nname = x\ndescription = a b = c\n"
                      "[processing]\nprofile = xu2008\n[output]\ndir =\n"
                      "[sweep]\ntraffic.rate_kbps = 40,100\n"));
  char buf1[16384], buf2[16384];
  int n1 = m6ike_scenario_format(a.sc, buf1, sizeof(buf1));
  ASSERT_GT(n1, 0);
  Sc b;
  ASSERT_EQ(0, b.Load(std::string(buf1, (size_t)n1), "dump")) << b.err.msg;
  int n2 = m6ike_scenario_format(b.sc, buf2, sizeof(buf2));
  ASSERT_EQ(n1, n2);
  EXPECT_EQ(std::string(buf1), std::string(buf2));
  EXPECT_NE(std::string::npos,
            std::string(buf1).find("traffic.rate_kbps = 40, 100\n"));
  char small[100];
  EXPECT_EQ(M6IKE_ERR_NOBUF, m6ike_scenario_format(a.sc, small, sizeof(small)));
}

TEST(Scenario, Ns3ArgsForTheHandoverExample) {
  Sc s;
  ASSERT_EQ(0, s.Load("[experiment]\nscheme = renegotiate\nrng_run = 7\n"
                      "[traffic]\nrate_kbps = 40\n[output]\ndir = out/a\n"
                      "[processing]\nprofile = xu2008\n"
                      "dh_cost_per_group = 14:1500us\n"));
  int rc = -1;
  auto v = s.Args(M6IKE_SCENARIO_HOST_NS3, &rc);
  ASSERT_EQ(0, rc) << s.err.msg;
  ASSERT_FALSE(v.empty());
  EXPECT_EQ("handover", v[0]);
  auto has = [&](const std::string &a) {
    for (const auto &x : v)
      if (x == a) return true;
    return false;
  };
  EXPECT_TRUE(has("--scheme=renegotiate"));
  EXPECT_TRUE(has("--rate=40"));
  EXPECT_TRUE(has("--out=out/a"));
  EXPECT_TRUE(has("--RngRun=7"));
  EXPECT_TRUE(has("--dad=off"));
  EXPECT_TRUE(has("--processing=fixed"));
  EXPECT_TRUE(has("--handoverAt=5"));
  EXPECT_TRUE(has("--ns3::Mip6IkeAgent::DhCost=108000us"));
  EXPECT_TRUE(has("--ns3::Mip6IkeAgent::DhCostPerGroup=14:1500us"));
  EXPECT_TRUE(has("--ns3::Mip6IkeAgent::IkeProposal=aes128-sha256-x25519"));
  EXPECT_TRUE(has("--ns3::Mip6IkeAgent::RetransTimer=1000ms"));
  EXPECT_FALSE(has("--duration=0"));
  // The same for the measured profile.
  ASSERT_EQ(0, s.Set("processing.profile=measured"));
  v = s.Args(M6IKE_SCENARIO_HOST_NS3, &rc);
  EXPECT_TRUE(has("--processing=measured"));
}

TEST(Scenario, HostsRefuseWhatTheyCannotExpress) {
  {
    Sc s;
    ASSERT_EQ(0, s.Set("topology.backbone_rate_mbps=10"));
    int rc;
    s.Args(M6IKE_SCENARIO_HOST_NS3, &rc);
    EXPECT_EQ(M6IKE_SCENARIO_ERR_HOST, rc);
    EXPECT_STREQ("scenario: topology.backbone_rate_mbps: the ns-3 handover "
                 "example has no option for it; only its default (100) is "
                 "possible there, not 10",
                 s.err.msg);
    // The emulation runner shapes the links' rate.
    auto v = s.Args(M6IKE_SCENARIO_HOST_EMU, &rc);
    EXPECT_EQ(0, rc) << s.err.msg;
  }
  {
    Sc s;
    ASSERT_EQ(0, s.Load("[experiment]\nexample = scale\nscheme = mobike\n"
                        "[topology]\nshape = fig6-scaled\n"));
    ASSERT_EQ(0, s.Check()) << s.err.msg;
    int rc;
    auto v = s.Args(M6IKE_SCENARIO_HOST_NS3, &rc);
    EXPECT_EQ(M6IKE_SCENARIO_ERR_HOST, rc);
    EXPECT_STREQ("t.ini: experiment.scheme: the ns-3 scale example has no "
                 "option for it; only its default (msrd) is possible there, "
                 "not mobike",
                 s.err.msg);
    v = s.Args(M6IKE_SCENARIO_HOST_EMU, &rc);
    EXPECT_EQ(M6IKE_SCENARIO_ERR_RULE, rc);
    EXPECT_STREQ("t.ini:2: experiment.example: the emulation runner "
                 "(emu/run/emu-run.sh) runs the handover experiment only, "
                 "not scale",
                 s.err.msg);
  }
  {
    Sc s;
    ASSERT_EQ(0, s.Set("mn.dad=optimistic"));
    int rc;
    s.Args(M6IKE_SCENARIO_HOST_EMU, &rc);
    EXPECT_EQ(M6IKE_SCENARIO_ERR_RULE, rc);
    EXPECT_STREQ("--set mn.dad: the emulation runner (emu/run/emu-run.sh) "
                 "has no optimistic DAD (dad_transmits 0 or 1)",
                 s.err.msg);
  }
  {
    // The emulation takes the proposals (the node daemons' options).
    Sc s;
    ASSERT_EQ(0, s.Set("crypto.esp_proposal=3des-sha1"));
    int rc;
    auto v = s.Args(M6IKE_SCENARIO_HOST_EMU, &rc);
    EXPECT_EQ(0, rc) << s.err.msg;
    bool found = false;
    for (size_t i = 0; i + 1 < v.size(); i++)
      found |= v[i] == "--set" && v[i + 1] == "esp_proposal=3des-sha1";
    EXPECT_TRUE(found);
  }
  {
    // What the emulated testbed cannot be, named before anything else.
    const char *cases[][2] = {
        {"topology.l2=wifi",
         "--set topology.l2: the emulation runner (emu/run/emu-run.sh) "
         "switches wired (veth) access links: csma only, not wifi"},
        {"mn.handovers=2",
         "--set mn.handovers: the emulation runner (emu/run/emu-run.sh) "
         "moves the mobile node once, not 2 times"},
        {"crypto.null_cipher=true",
         "--set crypto.null_cipher: the emulation runner "
         "(emu/run/emu-run.sh) runs the OpenSSL backend only (for a cheap "
         "cipher use crypto.esp_proposal = null-sha256)"},
    };
    for (auto &c : cases) {
      Sc s;
      ASSERT_EQ(0, s.Set(c[0])) << c[0];
      if (std::string(c[0]) == "mn.handovers=2") {
        ASSERT_EQ(0, s.Set("experiment.duration_s=20"));
      }
      ASSERT_EQ(0, s.Check()) << s.err.msg;
      int rc;
      auto v = s.Args(M6IKE_SCENARIO_HOST_EMU, &rc);
      EXPECT_EQ(M6IKE_SCENARIO_ERR_RULE, rc) << c[0];
      EXPECT_STREQ(c[1], s.err.msg);
    }
  }
  {
    // Keys the emulation measures instead of modelling: a note each when
    // not at the default, nothing at the default.
    Sc s;
    int rc;
    auto v = s.Args(M6IKE_SCENARIO_HOST_EMU, &rc);
    ASSERT_EQ(0, rc) << s.err.msg;
    for (const auto &x : v) EXPECT_NE("--note", x);
    ASSERT_EQ(0, s.Set("processing.dh_cost_us=108000"));
    ASSERT_EQ(0, s.Set("output.pcap=false"));
    v = s.Args(M6IKE_SCENARIO_HOST_EMU, &rc);
    ASSERT_EQ(0, rc) << s.err.msg;
    std::string notes;
    for (size_t i = 0; i + 1 < v.size(); i++)
      if (v[i] == "--note") notes += v[i + 1] + "|";
    EXPECT_EQ("not applied in emu: processing.dh_cost_us=108000 (the "
              "emulation measures real costs)|not applied in emu: "
              "output.pcap=false (the runner always captures)|",
              notes);
  }
  {
    Sc s;
    int rc = m6ike_scenario_args(s.sc, M6IKE_SCENARIO_HOST_NS3,
                                 [](const char *, void *) { return 1; },
                                 nullptr, &s.err);
    EXPECT_EQ(M6IKE_ERR_CALLBACK_FAILURE, rc);
    EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
              m6ike_scenario_args(s.sc, (m6ike_scenario_host)9,
                                  [](const char *, void *) { return 0; },
                                  nullptr, nullptr));
  }
}

TEST(Scenario, EmuArgsCountFromTheFlowStart) {
  Sc s;
  ASSERT_EQ(0, s.Load("[traffic]\nstart_s = 1\nrate_kbps = 40\n[mn]\n"
                      "handover_at_s = 4\ndad = on\n[topology]\n"
                      "access_loss = 0.01\n[ra]\nmin_interval_ms = 50\n"
                      "max_interval_ms = 100\n[experiment]\nrng_run = 3\n"));
  int rc;
  auto v = s.Args(M6IKE_SCENARIO_HOST_EMU, &rc);
  ASSERT_EQ(0, rc) << s.err.msg;
  std::string all;
  for (const auto &a : v) all += a + " ";
  EXPECT_EQ("handover --set scheme=msrd --set rate_kbps=40 --set "
            "packet_size=512 --set delay_ms=2 --set rate_mbit=100 --set "
            "loss=0 --set access_delay_ms=0.001 --set access_rate_mbit=100 "
            "--set access_loss=1 --set handover_at=3 --set duration=8 --set "
            "seed=3 --set ra_min=0.05 --set ra_max=0.1 --set l2_gap=0.05 "
            "--set dad_transmits=1 --set dad_retrans_ms=1000 --set "
            "ike_proposal=aes128-sha256-x25519 --set "
            "esp_proposal=aes128gcm16 --set ike_id=address ",
            all);
}

TEST(Scenario, FilesAndOpen) {
  Sc s;
  EXPECT_EQ(M6IKE_SCENARIO_ERR_IO,
            m6ike_scenario_load_file(s.sc, "/nonexistent/x.ini", &s.err));
  EXPECT_STREQ("/nonexistent/x.ini: cannot open: No such file or directory",
               s.err.msg);
  std::string big = testing::TempDir() + "/m6ike-big.ini";
  {
    std::ofstream f(big);
    std::string line = "; " + std::string(100, 'x') + "\n";
    for (size_t n = 0; n <= M6IKE_SCENARIO_FILE_MAX / line.size() + 1; n++) {
      f << line;
    }
  }
  EXPECT_EQ(M6IKE_SCENARIO_ERR_TOO_LONG,
            m6ike_scenario_load_file(s.sc, big.c_str(), &s.err));
  std::remove(big.c_str());
  EXPECT_EQ(M6IKE_SCENARIO_ERR_TOO_LONG,
            m6ike_scenario_load_string(s.sc, "x", "",
                                       M6IKE_SCENARIO_FILE_MAX + 1, &s.err));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_scenario_load_string(s.sc, "x", nullptr, 3, &s.err));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_scenario_load_file(s.sc, nullptr, &s.err));
  // open: file + overrides + rules in one call.
  m6ike_scenario *sc = nullptr;
  m6ike_scenario_err err{};
  const char *sets[] = {"traffic.rate_kbps=1000", "mn.count=2"};
  std::string path = std::string(M6IKE_SCENARIOS_DIR) + "/xu2008-table1.ini";
  EXPECT_EQ(M6IKE_SCENARIO_ERR_RULE,
            m6ike_scenario_open(&sc, path.c_str(), sets, 2, nullptr, &err));
  EXPECT_EQ(nullptr, sc);
  EXPECT_STREQ("--set mn.count: the handover example has one MN, not 2 "
               "(scale has many)",
               err.msg);
  ASSERT_EQ(0, m6ike_scenario_open(&sc, path.c_str(), sets, 1, nullptr, &err))
      << err.msg;
  EXPECT_EQ(1000.0, m6ike_scenario_double(sc, "traffic.rate_kbps", 0));
  m6ike_scenario_del(sc);
  EXPECT_EQ(0, m6ike_scenario_open(&sc, nullptr, nullptr, 0, nullptr, &err));
  m6ike_scenario_del(sc);
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_scenario_open(nullptr, nullptr, nullptr, 0, nullptr, &err));
}

TEST(Scenario, FailedAllocationsLeakNothing) {
  std::string path = std::string(M6IKE_SCENARIOS_DIR) + "/xu2008-table1.ini";
  const char *sets[] = {"traffic.rate_kbps=40"};
  for (size_t fail = 1;; fail++) {
    FailingMem fm;
    fm.reset(fail);
    m6ike_scenario *sc = nullptr;
    m6ike_scenario_err err{};
    int rc = m6ike_scenario_open(&sc, path.c_str(), sets, 1, &fm.mem, &err);
    if (fm.calls < fail) {  // no failure injected: done
      EXPECT_EQ(0, rc) << err.msg;
      m6ike_scenario_del(sc);
      EXPECT_EQ(0, fm.live);
      break;
    }
    EXPECT_EQ(M6IKE_ERR_NOMEM, rc) << fail;
    EXPECT_EQ(nullptr, sc);
    EXPECT_EQ(0, fm.live) << fail;
    ASSERT_LT(fail, 10u);
  }
}

TEST(Scenario, ShippedScenariosParseAndGiveArgs) {
  const char *names[] = {"xu2008-table1", "xu2008-bootstrap", "xu2008-fig8",
                         "scale-100",     "scale-1000",       "scale-10000"};
  for (const char *n : names) {
    std::string path = std::string(M6IKE_SCENARIOS_DIR) + "/" + n + ".ini";
    m6ike_scenario *sc = nullptr;
    m6ike_scenario_err err{};
    ASSERT_EQ(0, m6ike_scenario_open(&sc, path.c_str(), nullptr, 0, nullptr,
                                     &err))
        << err.msg;
    std::vector<std::string> v;
    EXPECT_EQ(0, m6ike_scenario_args(
                     sc, M6IKE_SCENARIO_HOST_NS3,
                     [](const char *a, void *ud) {
                       static_cast<std::vector<std::string> *>(ud)->push_back(
                           a);
                       return 0;
                     },
                     &v, &err))
        << n << ": " << err.msg;
    EXPECT_STREQ(n, m6ike_scenario_string(sc, "experiment.name", ""));
    m6ike_scenario_del(sc);
  }
}

TEST(Scenario, Strerror) {
  for (int c = M6IKE_SCENARIO_ERR_SYNTAX; c >= M6IKE_SCENARIO_ERR_HOST; c--) {
    EXPECT_NE(nullptr, m6ike_scenario_strerror(c)) << c;
  }
  EXPECT_EQ(nullptr, m6ike_scenario_strerror(-1000));
  EXPECT_EQ(nullptr, m6ike_scenario_strerror(M6IKE_ERR_NOMEM));
}

}  // namespace
