#include <gtest/gtest.h>

#include <string>

#include "m6ike/crypto.h"
#include "m6ike/proposal.h"

namespace {
int Parse(m6ike_proposal_list *l, m6ike_proposal_kind k, const char *text,
          std::string *err = nullptr) {
  char buf[128];
  int rv = m6ike_proposal_parse(l, k, text, buf, sizeof buf);
  if (err) *err = buf;
  return rv;
}
std::string Format(const m6ike_proposal &p, m6ike_proposal_kind k) {
  char buf[64];
  EXPECT_GT(m6ike_proposal_format(&p, k, buf, sizeof buf), 0);
  return buf;
}
} // namespace

TEST(Proposal, IkeCbcPrfFollowsIntegrity) {
  m6ike_proposal_list l;
  ASSERT_EQ(0, Parse(&l, M6IKE_PROPOSAL_IKE, "aes128-sha256-x25519"));
  ASSERT_EQ(1u, l.n);
  EXPECT_EQ(M6IKE_ENCR_AES_CBC, l.p[0].encr);
  EXPECT_EQ(128, l.p[0].encr_bits);
  EXPECT_EQ(M6IKE_INTEG_HMAC_SHA2_256_128, l.p[0].integ);
  EXPECT_EQ(M6IKE_PRF_HMAC_SHA2_256, l.p[0].prf);
  EXPECT_EQ(M6IKE_DH_CURVE25519, l.p[0].dh);
  EXPECT_EQ("aes128-sha256-x25519", Format(l.p[0], M6IKE_PROPOSAL_IKE));
}

TEST(Proposal, IkeAeadNeedsExplicitPrf) {
  m6ike_proposal_list l;
  std::string err;
  ASSERT_EQ(0, Parse(&l, M6IKE_PROPOSAL_IKE, "aes128gcm16-prfsha256-x25519"));
  EXPECT_EQ(M6IKE_ENCR_AES_GCM_16, l.p[0].encr);
  EXPECT_EQ(0, l.p[0].integ);
  EXPECT_EQ(M6IKE_PRF_HMAC_SHA2_256, l.p[0].prf);
  EXPECT_EQ("aes128gcm16-prfsha256-x25519",
            Format(l.p[0], M6IKE_PROPOSAL_IKE));
  EXPECT_EQ(M6IKE_ERR_PROPOSAL_MISSING,
            Parse(&l, M6IKE_PROPOSAL_IKE, "aes128gcm16-x25519", &err));
  EXPECT_NE(std::string::npos, err.find("needs a PRF")) << err;
}

TEST(Proposal, PaperTestbedAndPrfOverride) {
  m6ike_proposal_list l;
  ASSERT_EQ(0, Parse(&l, M6IKE_PROPOSAL_IKE, "3des-sha1-prfsha256-modp2048"));
  EXPECT_EQ(M6IKE_ENCR_3DES, l.p[0].encr);
  EXPECT_EQ(0, l.p[0].encr_bits);
  EXPECT_EQ(M6IKE_INTEG_HMAC_SHA1_96, l.p[0].integ);
  EXPECT_EQ(M6IKE_PRF_HMAC_SHA2_256, l.p[0].prf);
  EXPECT_EQ(M6IKE_DH_MODP_2048, l.p[0].dh);
  EXPECT_EQ("3des-sha1-prfsha256-modp2048",
            Format(l.p[0], M6IKE_PROPOSAL_IKE));
}

TEST(Proposal, EspListsPfsAndEsn) {
  m6ike_proposal_list l;
  ASSERT_EQ(0, Parse(&l, M6IKE_PROPOSAL_ESP,
                     "aes128gcm16,aes256-sha256-ecp256-esn,null-sha1"));
  ASSERT_EQ(3u, l.n);
  EXPECT_EQ(M6IKE_ENCR_AES_GCM_16, l.p[0].encr);
  EXPECT_EQ(0, l.p[0].dh);
  EXPECT_EQ(0, l.p[0].esn);
  EXPECT_EQ(256, l.p[1].encr_bits);
  EXPECT_EQ(M6IKE_DH_ECP_256, l.p[1].dh);
  EXPECT_EQ(1, l.p[1].esn);
  EXPECT_EQ(0, l.p[1].prf);
  EXPECT_EQ(M6IKE_ENCR_NULL, l.p[2].encr);
  EXPECT_EQ("aes256-sha256-ecp256-esn", Format(l.p[1], M6IKE_PROPOSAL_ESP));
  EXPECT_EQ("aes128gcm16", Format(l.p[0], M6IKE_PROPOSAL_ESP));
}

TEST(Proposal, ErrorsNameTheToken) {
  m6ike_proposal_list l;
  std::string err;
  EXPECT_EQ(M6IKE_ERR_PROPOSAL_TOKEN,
            Parse(&l, M6IKE_PROPOSAL_IKE, "aes129-sha256-x25519", &err));
  EXPECT_EQ("'aes129': unknown algorithm", err);
  EXPECT_EQ(M6IKE_ERR_PROPOSAL_DUP,
            Parse(&l, M6IKE_PROPOSAL_IKE, "aes128-aes256-sha1-x25519", &err));
  EXPECT_NE(std::string::npos, err.find("'aes256'")) << err;
  EXPECT_EQ(M6IKE_ERR_PROPOSAL_DUP,
            Parse(&l, M6IKE_PROPOSAL_IKE, "aes128-sha1-x25519-ecp256"));
  EXPECT_EQ(M6IKE_ERR_PROPOSAL_DUP,
            Parse(&l, M6IKE_PROPOSAL_ESP, "aes128-sha1-sha256"));
  EXPECT_EQ(M6IKE_ERR_PROPOSAL_DUP,
            Parse(&l, M6IKE_PROPOSAL_IKE,
                  "aes128gcm16-prfsha1-prfsha256-x25519"));
  EXPECT_EQ(M6IKE_ERR_PROPOSAL_DUP,
            Parse(&l, M6IKE_PROPOSAL_ESP, "aes128gcm16-esn-noesn"));
  EXPECT_EQ(M6IKE_ERR_PROPOSAL_MISSING,
            Parse(&l, M6IKE_PROPOSAL_IKE, "aes128-sha256", &err));
  EXPECT_NE(std::string::npos, err.find("DH group")) << err;
  EXPECT_EQ(M6IKE_ERR_PROPOSAL_MISSING,
            Parse(&l, M6IKE_PROPOSAL_ESP, "sha256"));
  EXPECT_EQ(M6IKE_ERR_PROPOSAL_MISSING,
            Parse(&l, M6IKE_PROPOSAL_ESP, "aes128"));
  EXPECT_EQ(M6IKE_ERR_PROPOSAL_MISSING, Parse(&l, M6IKE_PROPOSAL_ESP, "null"));
  EXPECT_EQ(M6IKE_ERR_PROPOSAL_CONFLICT,
            Parse(&l, M6IKE_PROPOSAL_ESP, "aes128gcm16-sha256"));
  EXPECT_EQ(M6IKE_ERR_PROPOSAL_CONFLICT,
            Parse(&l, M6IKE_PROPOSAL_IKE, "aes128-sha256-x25519-esn"));
  EXPECT_EQ(M6IKE_ERR_PROPOSAL_CONFLICT,
            Parse(&l, M6IKE_PROPOSAL_ESP, "aes128-sha256-prfsha256"));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, Parse(&l, M6IKE_PROPOSAL_ESP, ""));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            Parse(&l, M6IKE_PROPOSAL_ESP, "aes128gcm16,"));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            Parse(&l, M6IKE_PROPOSAL_ESP, "aes128--sha1", &err));
  EXPECT_NE(std::string::npos, err.find("empty algorithm")) << err;
  EXPECT_EQ(M6IKE_ERR_PROPOSAL_TOO_MANY,
            Parse(&l, M6IKE_PROPOSAL_ESP,
                  "null-sha1,null-sha1,null-sha1,null-sha1,null-sha1,"
                  "null-sha1,null-sha1,null-sha1,null-sha1"));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_proposal_parse(&l, M6IKE_PROPOSAL_ESP, nullptr, nullptr, 0));
  EXPECT_STREQ("proposal: unknown algorithm",
               m6ike_strerror(M6IKE_ERR_PROPOSAL_TOKEN));
}

TEST(Proposal, FormatSmallBuffer) {
  m6ike_proposal_list l;
  char buf[8];
  ASSERT_EQ(0, Parse(&l, M6IKE_PROPOSAL_IKE, "aes128-sha256-x25519"));
  EXPECT_EQ(M6IKE_ERR_NOBUF,
            m6ike_proposal_format(&l.p[0], M6IKE_PROPOSAL_IKE, buf, sizeof buf));
}
