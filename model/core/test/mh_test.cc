// Tests for the mh unit: RFC 6275 Mobility Header codec, Home Address
// option, Type 2 Routing Header, IPv6 extension-chain walker.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "m6ike/mh.h"
#include "test_util.h"

namespace {

using Bytes = std::vector<uint8_t>;

m6ike_mh_msg Msg(uint8_t type) {
  m6ike_mh_msg m;
  std::memset(&m, 0, sizeof(m));
  m.type = type;
  m.payload_proto = M6IKE_IPPROTO_NONE;
  return m;
}

m6ike_mh_msg Bu(uint16_t seq, uint16_t flags, uint16_t lifetime) {
  m6ike_mh_msg m = Msg(M6IKE_MH_BU);
  m.u.bu.seq = seq;
  m.u.bu.flags = flags;
  m.u.bu.lifetime = lifetime;
  return m;
}

Bytes Encode(const m6ike_mh_msg &m) {
  Bytes b(512);
  int n = m6ike_mh_encode(b.data(), b.size(), &m);
  EXPECT_GT(n, 0);
  b.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return b;
}

// An IPv6 fixed header with the given next header, followed by payload.
Bytes Ip6(uint8_t nh, const Bytes &payload, const char *src = "2001:db8:2::100",
          const char *dst = "2001:db8:1::1") {
  Bytes p(40);
  p[0] = 0x60;
  p[4] = static_cast<uint8_t>(payload.size() >> 8);
  p[5] = static_cast<uint8_t>(payload.size());
  p[6] = nh;
  p[7] = 64;
  m6ike_addr6 s = Addr(src), d = Addr(dst);
  std::memcpy(&p[8], s.b, 16);
  std::memcpy(&p[24], d.b, 16);
  p.insert(p.end(), payload.begin(), payload.end());
  return p;
}

Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes &b : parts) out.insert(out.end(), b.begin(), b.end());
  return out;
}

// A generic 8-octet extension header (HbH / DstOpts / Routing) with PadN.
Bytes Ext8(uint8_t nh) { return Bytes{nh, 0, 1, 4, 0, 0, 0, 0}; }

struct OptPos {
  uint8_t type;
  size_t off;
};

// Lists the (non-pad) options of an encoded message and their offsets.
std::vector<OptPos> Options(const Bytes &b, size_t fixed) {
  std::vector<OptPos> v;
  size_t off = fixed;
  while (off < b.size()) {
    if (b[off] == 0) {
      off++;
      continue;
    }
    if (b[off] != 1) v.push_back({b[off], off});
    off += 2u + b[off + 1];
  }
  EXPECT_EQ(off, b.size());
  return v;
}

const size_t kFixed[8] = {8, 16, 16, 24, 24, 12, 12, 24};

void FillType(m6ike_mh_msg *m) {
  switch (m->type) {
  case M6IKE_MH_HOTI:
  case M6IKE_MH_COTI:
    for (int i = 0; i < 8; i++) m->u.ti.cookie[i] = static_cast<uint8_t>(0xa0 + i);
    break;
  case M6IKE_MH_HOT:
  case M6IKE_MH_COT:
    m->u.t.nonce_index = 0x1234;
    for (int i = 0; i < 8; i++) {
      m->u.t.cookie[i] = static_cast<uint8_t>(0xb0 + i);
      m->u.t.keygen_token[i] = static_cast<uint8_t>(0xc0 + i);
    }
    break;
  case M6IKE_MH_BU:
    m->u.bu = {7, M6IKE_BU_FLAG_A | M6IKE_BU_FLAG_H | M6IKE_BU_FLAG_K, 105};
    break;
  case M6IKE_MH_BA:
    m->u.ba = {M6IKE_BA_SEQ_OUT_OF_WINDOW, M6IKE_BA_FLAG_K, 9, 60};
    break;
  case M6IKE_MH_BE:
    m->u.be.status = M6IKE_BE_UNKNOWN_HAO;
    m->u.be.home_address = Addr("2001:db8::5");
    break;
  }
}

}  // namespace

// ---- round trips and alignment -------------------------------------------

TEST(Mh, RoundTripEveryTypeWithEveryOptionSubsetAligned) {
  for (uint8_t type = 0; type <= M6IKE_MH_BE; type++) {
    for (unsigned mask = 0; mask < 16; mask++) {
      SCOPED_TRACE("type " + std::to_string(type) + " mask " +
                   std::to_string(mask));
      m6ike_mh_msg m = Msg(type);
      FillType(&m);
      if (mask & 1) {
        m.opts.has_bra = 1;
        m.opts.refresh_interval = 75;
      }
      if (mask & 2) {
        m.opts.has_alt_coa = 1;
        m.opts.alt_coa = Addr("2001:db8:2::100");
      }
      if (mask & 4) {
        m.opts.has_nonce_idx = 1;
        m.opts.home_nonce_index = 0x0102;
        m.opts.careof_nonce_index = 0x0304;
      }
      if (mask & 8) {
        m.opts.has_bind_auth = 1;
        for (int i = 0; i < 12; i++) m.opts.authenticator[i] = static_cast<uint8_t>(i + 1);
      }
      Bytes b = Encode(m);
      ASSERT_EQ(0u, b.size() % 8);
      EXPECT_EQ(m6ike_mh_encoded_len(&m), static_cast<int>(b.size()));
      EXPECT_EQ(59, b[0]);
      EXPECT_EQ(b.size() / 8 - 1, b[1]);
      EXPECT_EQ(type, b[2]);
      EXPECT_EQ(0, b[4]);
      EXPECT_EQ(0, b[5]);
      // RFC 6275 §6.2: BRA 2n, Alt-CoA 8n+6, Nonce Indices 2n, BAD 8n+2,
      // offsets counted from the start of the Mobility Header.
      for (const OptPos &o : Options(b, kFixed[type])) {
        switch (o.type) {
        case M6IKE_MHOPT_BRA: EXPECT_EQ(0u, o.off % 2); break;
        case M6IKE_MHOPT_ALT_COA: EXPECT_EQ(6u, o.off % 8); break;
        case M6IKE_MHOPT_NONCE_IDX: EXPECT_EQ(0u, o.off % 2); break;
        case M6IKE_MHOPT_BIND_AUTH:
          EXPECT_EQ(2u, o.off % 8);
          EXPECT_EQ(b.size(), o.off + 14);  // last, ends the message
          break;
        default: ADD_FAILURE() << "unexpected option " << int(o.type);
        }
      }
      m6ike_mh_msg d;
      ASSERT_EQ(static_cast<int>(b.size()), m6ike_mh_decode(&d, b.data(), b.size()));
      EXPECT_TRUE(m6ike_mh_msg_equal(&m, &d));
      EXPECT_EQ(0, d.opts.unknown_count);
      EXPECT_EQ(59, d.payload_proto);
    }
  }
}

TEST(Mh, MsgEqualNoticesEachField) {
  m6ike_mh_msg a = Bu(7, M6IKE_BU_FLAG_A, 105), b = a;
  EXPECT_TRUE(m6ike_mh_msg_equal(&a, &b));
  b.u.bu.lifetime = 104;
  EXPECT_FALSE(m6ike_mh_msg_equal(&a, &b));
  b = a;
  b.opts.has_alt_coa = 1;
  EXPECT_FALSE(m6ike_mh_msg_equal(&a, &b));
  a.opts.has_alt_coa = 1;
  a.opts.alt_coa = Addr("2001:db8::1");
  b.opts.alt_coa = Addr("2001:db8::2");
  EXPECT_FALSE(m6ike_mh_msg_equal(&a, &b));
  b = a;
  b.checksum = 0xbeef;
  b.opts.unknown_count = 3;
  EXPECT_TRUE(m6ike_mh_msg_equal(&a, &b));
  b.type = M6IKE_MH_BA;
  EXPECT_FALSE(m6ike_mh_msg_equal(&a, &b));
}

// ---- reference bytes ---------------------------------------------------------

TEST(Mh, BuWithAltCoaMatchesReferenceBytes) {
  m6ike_mh_msg m = Bu(7, M6IKE_BU_FLAG_A | M6IKE_BU_FLAG_H | M6IKE_BU_FLAG_K, 105);
  m.opts.has_alt_coa = 1;
  m.opts.alt_coa = Addr("2001:db8:2::100");
  // Fixed part 12 octets; PadN(0) at 12 so Alt-CoA's type sits at 14
  // (8n+6) and its address at 16; 32 octets, Header Len 3.
  Bytes want = Hex(
      "3b 03 05 00  00 00  0007  d000  0069"
      "01 00  03 10  20010db8 00020000 00000000 00000100");
  EXPECT_EQ(want, Encode(m));
}

TEST(Mh, BuWithAllBuOptionsLayout) {
  m6ike_mh_msg m = Bu(1, M6IKE_BU_FLAG_A, 1);
  m.opts.has_alt_coa = 1;
  m.opts.alt_coa = Addr("2001:db8:2::100");
  m.opts.has_nonce_idx = 1;
  m.opts.home_nonce_index = 0x0102;
  m.opts.careof_nonce_index = 0x0304;
  m.opts.has_bind_auth = 1;
  std::memset(m.opts.authenticator, 0xee, 12);
  // 12: PadN(0); 14: Alt-CoA; 32: Nonce Indices; 38: PadN(2); 42: BAD; 56.
  Bytes want = Hex(
      "3b 06 05 00 0000 0001 8000 0001"
      "0100 0310 20010db8000200000000000000000100"
      "0404 0102 0304"
      "0102 0000"
      "050c eeeeeeeeeeeeeeeeeeeeeeee");
  EXPECT_EQ(want, Encode(m));
}

TEST(Mh, BaMatchesReferenceBytes) {
  m6ike_mh_msg m = Msg(M6IKE_MH_BA);
  m.u.ba = {M6IKE_BA_ACCEPTED, M6IKE_BA_FLAG_K, 7, 105};
  // Fixed part 12 octets, PadN(2) to 16, Header Len 1.
  EXPECT_EQ(Hex("3b 01 06 00 0000 00 80 0007 0069 01 02 0000"), Encode(m));
  m.opts.has_bra = 1;
  m.opts.refresh_interval = 30;
  // BRA (2n) right at 12, ending at 16: no padding.
  EXPECT_EQ(Hex("3b 01 06 00 0000 00 80 0007 0069 0202 001e"),
            Encode(m));
}

// MN (CoA 2001:db8:2::100, HoA 2001:db8:1::5) -> HA 2001:db8:1::1:
//   IPv6 | DstOpts{HAO HoA} | MH BU
// Checksum 0x927a computed independently (Python, pseudo-header with the
// HoA as source).
TEST(Mh, PacketWithHaoMatchesReferenceBytesAndChecksum) {
  m6ike_addr6 coa = Addr("2001:db8:2::100"), ha = Addr("2001:db8:1::1"),
              hoa = Addr("2001:db8:1::5");
  m6ike_mh_msg m = Bu(7, M6IKE_BU_FLAG_A | M6IKE_BU_FLAG_H | M6IKE_BU_FLAG_K, 105);
  Bytes want = Hex(
      "60000000 0028 3c 40"
      "20010db8000200000000000000000100"
      "20010db8000100000000000000000001"
      "87 02 01 02 0000 c9 10 20010db8000100000000000000000005"
      "3b 01 05 00 927a 0007 d000 0069 01 02 0000");
  Bytes pkt(200);
  int n = m6ike_mh_build_packet(pkt.data(), pkt.size(), &coa, &ha, &hoa, nullptr, &m);
  ASSERT_EQ(80, n);
  pkt.resize(n);
  EXPECT_EQ(want, pkt);
  // The HAO's address starts at 8n+6+2 inside the Destination Options header.
  EXPECT_EQ(201, pkt[40 + 6]);

  m6ike_ip6_info info;
  m6ike_mh_msg d;
  ASSERT_EQ(0, m6ike_mh_parse_packet(&info, &d, pkt.data(), pkt.size()));
  EXPECT_TRUE(info.has_hao);
  EXPECT_TRUE(m6ike_addr6_equal(&hoa, &info.hao));
  EXPECT_TRUE(m6ike_addr6_equal(&coa, &info.src));
  EXPECT_EQ(1u, info.ext_count);
  EXPECT_EQ(64u, info.upper_off);
  EXPECT_EQ(16u, info.upper_len);
  EXPECT_EQ(0x927a, d.checksum);
  EXPECT_TRUE(m6ike_mh_msg_equal(&m, &d));
  // With the CoA as pseudo-header source the checksum must fail.
  EXPECT_EQ(M6IKE_ERR_MH_BAD_CHECKSUM,
            m6ike_mh_checksum_verify(&coa, &ha, pkt.data() + 64, 16));
  EXPECT_EQ(0, m6ike_mh_checksum_verify(&hoa, &ha, pkt.data() + 64, 16));
}

// HA 2001:db8:1::1 -> MN CoA 2001:db8:2::100 routed to HoA:
//   IPv6 | RH2{HoA} | MH BA       (checksum 0x60fb computed independently)
TEST(Mh, PacketWithRh2ReferenceBytesAndChecksum) {
  m6ike_addr6 coa = Addr("2001:db8:2::100"), ha = Addr("2001:db8:1::1"),
              hoa = Addr("2001:db8:1::5");
  m6ike_mh_msg m = Msg(M6IKE_MH_BA);
  m.u.ba = {M6IKE_BA_ACCEPTED, M6IKE_BA_FLAG_K, 7, 105};
  Bytes want = Hex(
      "60000000 0028 2b 40"
      "20010db8000100000000000000000001"
      "20010db8000200000000000000000100"
      "87 02 02 01 00000000 20010db8000100000000000000000005"
      "3b 01 06 00 60fb 00 80 0007 0069 01 02 0000");
  Bytes pkt(200);
  int n = m6ike_mh_build_packet(pkt.data(), pkt.size(), &ha, &coa, nullptr, &hoa, &m);
  ASSERT_EQ(80, n);
  pkt.resize(n);
  EXPECT_EQ(want, pkt);
  m6ike_ip6_info info;
  m6ike_mh_msg d;
  ASSERT_EQ(0, m6ike_mh_parse_packet(&info, &d, pkt.data(), pkt.size()));
  EXPECT_TRUE(info.has_rh2);
  EXPECT_EQ(1, info.rh2_segments_left);
  EXPECT_TRUE(m6ike_addr6_equal(&hoa, &info.rh2_addr));
  m6ike_addr6 s, dd;
  m6ike_ip6_pseudo_addrs(&info, &s, &dd);
  EXPECT_TRUE(m6ike_addr6_equal(&ha, &s));
  EXPECT_TRUE(m6ike_addr6_equal(&hoa, &dd));
  // Once the RH2 is processed (segments left 0, HoA in the fixed header)
  // the fixed header's destination is the final one.
  info.rh2_segments_left = 0;
  m6ike_ip6_pseudo_addrs(&info, &s, &dd);
  EXPECT_TRUE(m6ike_addr6_equal(&coa, &dd));
}

TEST(Mh, PacketWithBothRh2AndHaoRoundTrips) {
  m6ike_addr6 a = Addr("2001:db8::a"), b = Addr("2001:db8::b"),
              h = Addr("2001:db8::5"), r = Addr("2001:db8::6");
  m6ike_mh_msg m = Bu(3, M6IKE_BU_FLAG_A, 10);
  m.opts.has_nonce_idx = 1;
  m.opts.home_nonce_index = 5;
  m.opts.has_bind_auth = 1;
  Bytes pkt(200);
  int n = m6ike_mh_build_packet(pkt.data(), pkt.size(), &a, &b, &h, &r, &m);
  ASSERT_GT(n, 0);
  m6ike_ip6_info info;
  m6ike_mh_msg d;
  ASSERT_EQ(0, m6ike_mh_parse_packet(&info, &d, pkt.data(), n));
  EXPECT_EQ(2u, info.ext_count);
  EXPECT_TRUE(info.has_hao && info.has_rh2);
  EXPECT_TRUE(m6ike_mh_msg_equal(&m, &d));
  // Nothing with a cap one short of the packet.
  EXPECT_EQ(M6IKE_ERR_NOBUF,
            m6ike_mh_build_packet(pkt.data(), n - 1, &a, &b, &h, &r, &m));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_mh_build_packet(pkt.data(), pkt.size(), nullptr, &b, &h, &r, &m));
  m.type = 8;
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_mh_build_packet(pkt.data(), pkt.size(), &a, &b, &h, &r, &m));
}

TEST(Mh, HaoAndRh2EncodersLayoutAndNobuf) {
  m6ike_addr6 h = Addr("2001:db8::5");
  uint8_t buf[24];
  ASSERT_EQ(24, m6ike_hao_encode(buf, sizeof(buf), 135, &h));
  EXPECT_EQ(Bytes(buf, buf + 8), Hex("87 02 01 02 00 00 c9 10"));
  EXPECT_EQ(0, std::memcmp(buf + 8, h.b, 16));
  ASSERT_EQ(24, m6ike_rh2_encode(buf, sizeof(buf), 135, &h));
  EXPECT_EQ(Bytes(buf, buf + 8), Hex("87 02 02 01 00 00 00 00"));
  EXPECT_EQ(M6IKE_ERR_NOBUF, m6ike_hao_encode(buf, 23, 135, &h));
  EXPECT_EQ(M6IKE_ERR_NOBUF, m6ike_rh2_encode(buf, 23, 135, &h));
}

// ---- encode errors -----------------------------------------------------------

TEST(Mh, EncodeErrors) {
  m6ike_mh_msg m = Bu(1, 0, 1);
  m.opts.has_alt_coa = 1;
  m.opts.has_bind_auth = 1;
  int n = m6ike_mh_encoded_len(&m);
  ASSERT_GT(n, 0);
  Bytes b(n);
  for (int cap = 0; cap < n; cap++) {
    EXPECT_EQ(M6IKE_ERR_NOBUF, m6ike_mh_encode(b.data(), cap, &m)) << cap;
  }
  EXPECT_EQ(n, m6ike_mh_encode(b.data(), n, &m));
  m.type = 8;
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_mh_encode(b.data(), n, &m));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_mh_encoded_len(&m));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_mh_encode(b.data(), n, nullptr));
}

// ---- decode errors -----------------------------------------------------------

TEST(Mh, DecodeTruncatedAndBadHeader) {
  m6ike_mh_msg d;
  Bytes ba = Hex("3b 01 06 00 0000 00 80 0007 0069 01 02 0000");
  for (size_t len = 0; len < ba.size(); len++) {
    EXPECT_EQ(M6IKE_ERR_MH_TRUNCATED, m6ike_mh_decode(&d, ba.data(), len)) << len;
  }
  // Trailing bytes are not part of the message.
  Bytes longer = ba;
  longer.push_back(0xff);
  EXPECT_EQ(16, m6ike_mh_decode(&d, longer.data(), longer.size()));

  Bytes bad = ba;
  bad[0] = 6;  // TCP
  EXPECT_EQ(M6IKE_ERR_MH_BAD_PROTO, m6ike_mh_decode(&d, bad.data(), bad.size()));

  bad = ba;
  bad[2] = 8;
  EXPECT_EQ(M6IKE_ERR_MH_UNKNOWN_TYPE, m6ike_mh_decode(&d, bad.data(), bad.size()));
  EXPECT_EQ(8, d.type);  // so the caller can send BE status 2
  bad[2] = 255;
  EXPECT_EQ(M6IKE_ERR_MH_UNKNOWN_TYPE, m6ike_mh_decode(&d, bad.data(), bad.size()));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_mh_decode(nullptr, ba.data(), ba.size()));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_mh_decode(&d, nullptr, 16));
}

TEST(Mh, DecodeHeaderLenBelowTypeMinimum) {
  // Minimum Header Len: BRR 0, HoTI/CoTI 1, HoT/CoT 2, BU 1, BA 1, BE 2.
  const uint8_t min_hlen[8] = {0, 1, 1, 2, 2, 1, 1, 2};
  m6ike_mh_msg d;
  for (uint8_t type = 0; type <= 7; type++) {
    Bytes b(40, 0);
    b[0] = 59;
    b[2] = type;
    for (uint8_t hlen = 0; hlen <= min_hlen[type]; hlen++) {
      b[1] = hlen;
      // Fill the option space with Pad1 so only the length matters.
      int rc = m6ike_mh_decode(&d, b.data(), (hlen + 1) * 8u);
      if (hlen < min_hlen[type]) {
        EXPECT_EQ(M6IKE_ERR_MH_BAD_LENGTH, rc) << int(type) << "/" << int(hlen);
      } else {
        EXPECT_EQ((hlen + 1) * 8, rc) << int(type);
      }
    }
  }
}

TEST(Mh, DecodeOptionErrors) {
  m6ike_mh_msg d;
  // BU with 4 octets of option space at 12..16.
  auto bu = [](const char *opts) {
    Bytes b = Hex("3b 01 05 00 0000 0001 8000 0001");
    Bytes o = Hex(opts);
    b.insert(b.end(), o.begin(), o.end());
    b[1] = static_cast<uint8_t>(b.size() / 8 - 1);
    return b;
  };
  Bytes ok = bu("00 00 00 00");
  EXPECT_EQ(16, m6ike_mh_decode(&d, ok.data(), ok.size()));
  ok = bu("00 00 01 00");  // PadN(0) at the very end
  EXPECT_EQ(16, m6ike_mh_decode(&d, ok.data(), ok.size()));
  // Option type alone in the last octet: no room for its length.
  Bytes b = bu("00 00 00 01");
  EXPECT_EQ(M6IKE_ERR_MH_BAD_OPTION, m6ike_mh_decode(&d, b.data(), b.size()));
  // PadN overruns.
  b = bu("01 03 00 00");
  EXPECT_EQ(M6IKE_ERR_MH_BAD_OPTION, m6ike_mh_decode(&d, b.data(), b.size()));
  // BRA with length 1 and 3.
  b = bu("02 01 00 00");
  EXPECT_EQ(M6IKE_ERR_MH_BAD_OPTION, m6ike_mh_decode(&d, b.data(), b.size()));
  b = bu("02 03 00 00 00 00 00 00 00 00 00 00");
  EXPECT_EQ(M6IKE_ERR_MH_BAD_OPTION, m6ike_mh_decode(&d, b.data(), b.size()));
  // Alt-CoA with length 8 (room for it).
  b = bu("0000 0308 0000000000000000");
  EXPECT_EQ(M6IKE_ERR_MH_BAD_OPTION, m6ike_mh_decode(&d, b.data(), b.size()));
  // Nonce Indices with length 2.
  b = bu("0402 0000");
  EXPECT_EQ(M6IKE_ERR_MH_BAD_OPTION, m6ike_mh_decode(&d, b.data(), b.size()));
  // Binding Authorization Data with length 16.
  b = bu("0000 0510 00000000000000000000000000000000");
  EXPECT_EQ(M6IKE_ERR_MH_BAD_OPTION, m6ike_mh_decode(&d, b.data(), b.size()));
  // Alt-CoA overrunning the message (length correct, bytes missing).
  b = bu("0000 0310 0000 0000 0000 0000");
  EXPECT_EQ(M6IKE_ERR_MH_BAD_OPTION, m6ike_mh_decode(&d, b.data(), b.size()));
  // Non-padding option after Binding Authorization Data.
  b = bu("050c 000000000000000000000000 0404 0000 0000");
  ASSERT_EQ(0u, b.size() % 8);
  EXPECT_EQ(M6IKE_ERR_MH_BAD_OPTION, m6ike_mh_decode(&d, b.data(), b.size()));
  // ... but padding after it is fine.
  b = bu("050c 000000000000000000000000 0104 00000000");
  ASSERT_EQ(0u, b.size() % 8);
  EXPECT_EQ(static_cast<int>(b.size()), m6ike_mh_decode(&d, b.data(), b.size()));
  EXPECT_TRUE(d.opts.has_bind_auth);
}

TEST(Mh, DecodeSkipsAndCountsUnknownOptions) {
  m6ike_mh_msg d;
  // BU: unknown option 9 (len 2), Nonce Indices, unknown 200 (len 0).
  Bytes b = Hex("3b 02 05 00 0000 0001 8000 0001  0902 abcd  0404 0005 0006  c800");
  ASSERT_EQ(24u, b.size());
  ASSERT_EQ(24, m6ike_mh_decode(&d, b.data(), b.size()));
  EXPECT_EQ(2, d.opts.unknown_count);
  EXPECT_TRUE(d.opts.has_nonce_idx);
  EXPECT_EQ(5, d.opts.home_nonce_index);
  EXPECT_EQ(6, d.opts.careof_nonce_index);
  char buf[160];
  EXPECT_STREQ("BU seq=1 flags=A lifetime=4s nonces=5/6 unknown-opts=2",
               m6ike_mh_format(&d, buf, sizeof(buf)));
}

TEST(Mh, DecodeFieldsOfEachType) {
  m6ike_mh_msg d;
  Bytes be = Hex("3b 02 07 00 1234 02 00 20010db8000000000000000000000005");
  ASSERT_EQ(24, m6ike_mh_decode(&d, be.data(), be.size()));
  EXPECT_EQ(M6IKE_BE_UNRECOGNIZED_MH, d.u.be.status);
  EXPECT_EQ(0x1234, d.checksum);
  m6ike_addr6 h = Addr("2001:db8::5");
  EXPECT_TRUE(m6ike_addr6_equal(&h, &d.u.be.home_address));
  Bytes hot = Hex("3b 02 03 00 0000 0102 1112131415161718 2122232425262728");
  ASSERT_EQ(24, m6ike_mh_decode(&d, hot.data(), hot.size()));
  EXPECT_EQ(0x0102, d.u.t.nonce_index);
  EXPECT_EQ(0x18, d.u.t.cookie[7]);
  EXPECT_EQ(0x21, d.u.t.keygen_token[0]);
  Bytes coti = Hex("3b 01 02 00 0000 0000 a1a2a3a4a5a6a7a8");
  ASSERT_EQ(16, m6ike_mh_decode(&d, coti.data(), coti.size()));
  EXPECT_EQ(0xa1, d.u.ti.cookie[0]);
  // Reserved BU flag bits are kept as received.
  Bytes bu = Hex("3b 01 05 00 0000 0001 0801 0002 0000 0000");
  ASSERT_EQ(16, m6ike_mh_decode(&d, bu.data(), bu.size()));
  EXPECT_EQ(0x0801, d.u.bu.flags);
}

// Every prefix of a whole BU packet (and of the bare BU message) decodes to
// a negative code or, for the full length, success; ASan checks no read
// goes past the prefix (each prefix is copied into its own exact buffer).
TEST(Mh, EveryPrefixOfBuPacketIsRejectedSafely) {
  m6ike_addr6 coa = Addr("2001:db8:2::100"), ha = Addr("2001:db8:1::1"),
              hoa = Addr("2001:db8:1::5");
  m6ike_mh_msg m = Bu(7, M6IKE_BU_FLAG_A | M6IKE_BU_FLAG_H, 105);
  m.opts.has_alt_coa = 1;
  m.opts.alt_coa = coa;
  m.opts.has_nonce_idx = 1;
  m.opts.has_bind_auth = 1;
  Bytes pkt(300);
  int n = m6ike_mh_build_packet(pkt.data(), pkt.size(), &coa, &ha, &hoa, nullptr, &m);
  ASSERT_GT(n, 0);
  pkt.resize(n);
  for (int len = 0; len <= n; len++) {
    Bytes prefix(pkt.begin(), pkt.begin() + len);
    m6ike_ip6_info info;
    m6ike_mh_msg d;
    int rc = m6ike_mh_parse_packet(&info, &d, prefix.data(), prefix.size());
    if (len == n) {
      EXPECT_EQ(0, rc);
    } else {
      EXPECT_EQ(M6IKE_ERR_IP6_TRUNCATED, rc) << len;
    }
  }
  // Prefixes whose Payload Length was patched to match: the chain or the
  // message is short, never a read past the end.
  for (int len = 40; len < n; len++) {
    Bytes prefix(pkt.begin(), pkt.begin() + len);
    prefix[4] = static_cast<uint8_t>((len - 40) >> 8);
    prefix[5] = static_cast<uint8_t>(len - 40);
    m6ike_ip6_info info;
    m6ike_mh_msg d;
    int rc = m6ike_mh_parse_packet(&info, &d, prefix.data(), prefix.size());
    EXPECT_LT(rc, 0) << len;
    if (len < 64) {
      EXPECT_TRUE(rc == M6IKE_ERR_IP6_TRUNCATED || rc == M6IKE_ERR_MH_NOT_MH) << len;
    } else {
      EXPECT_EQ(M6IKE_ERR_MH_TRUNCATED, rc) << len;
    }
  }
  Bytes mh(pkt.begin() + 64, pkt.end());
  for (size_t len = 0; len < mh.size(); len++) {
    Bytes prefix(mh.begin(), mh.begin() + len);
    m6ike_mh_msg d;
    EXPECT_EQ(M6IKE_ERR_MH_TRUNCATED, m6ike_mh_decode(&d, prefix.data(), prefix.size()));
  }
}

// ---- checksum ----------------------------------------------------------------

TEST(Mh, BadChecksumDetected) {
  m6ike_addr6 a = Addr("2001:db8::a"), b = Addr("2001:db8::b");
  m6ike_mh_msg m = Bu(7, M6IKE_BU_FLAG_A, 105);
  Bytes pkt(200);
  int n = m6ike_mh_build_packet(pkt.data(), pkt.size(), &a, &b, nullptr, nullptr, &m);
  ASSERT_EQ(56, n);
  m6ike_ip6_info info;
  m6ike_mh_msg d;
  ASSERT_EQ(0, m6ike_mh_parse_packet(&info, &d, pkt.data(), n));
  for (int i = 40; i < n; i++) {
    // Proto/len/type and PadN's length octet give other codes.
    if (i == 40 || i == 41 || i == 42 || i == 53) continue;
    Bytes bad(pkt.begin(), pkt.begin() + n);
    bad[i] ^= 0x10;
    EXPECT_EQ(M6IKE_ERR_MH_BAD_CHECKSUM,
              m6ike_mh_parse_packet(&info, &d, bad.data(), bad.size())) << i;
  }
  // A changed pseudo-header address also breaks it.
  Bytes bad(pkt.begin(), pkt.begin() + n);
  bad[39] ^= 1;
  EXPECT_EQ(M6IKE_ERR_MH_BAD_CHECKSUM,
            m6ike_mh_parse_packet(&info, &d, bad.data(), bad.size()));
}

TEST(Mh, ChecksumIgnoresItsOwnFieldAndHandlesOddLength) {
  m6ike_addr6 a = Addr("::1"), b = Addr("::2");
  Bytes mh = Hex("3b 00 00 00 ffff 0000");
  uint16_t c1 = m6ike_mh_checksum(&a, &b, mh.data(), mh.size());
  mh[4] = mh[5] = 0;
  EXPECT_EQ(c1, m6ike_mh_checksum(&a, &b, mh.data(), mh.size()));
  m6ike_mh_checksum_set(&a, &b, mh.data(), mh.size());
  EXPECT_EQ(0, m6ike_mh_checksum_verify(&a, &b, mh.data(), mh.size()));
  Bytes odd = Hex("3b 00 00 00 0000 01");
  m6ike_mh_checksum_set(&a, &b, odd.data(), odd.size());
  EXPECT_EQ(0, m6ike_mh_checksum_verify(&a, &b, odd.data(), odd.size()));
}

// ---- the walker ----------------------------------------------------------------

TEST(Mh, WalkHbhDstoptsRh2FragChain) {
  // IPv6 | HbH | DstOpts(HAO) | RH2 | Frag(offset 0) | MH
  m6ike_addr6 hoa = Addr("2001:db8:1::5"), r = Addr("2001:db8:1::7");
  Bytes hao(24), rh2(24);
  m6ike_hao_encode(hao.data(), 24, M6IKE_IPPROTO_ROUTING, &hoa);
  m6ike_rh2_encode(rh2.data(), 24, M6IKE_IPPROTO_FRAGMENT, &r);
  Bytes frag = Hex("87 00 0001 12345678");  // M=1, offset 0
  Bytes mh = Hex("3b 00 00 00 0000 0000");
  Bytes pkt = Ip6(0, Cat({Ext8(60), hao, rh2, frag, mh}));
  m6ike_ip6_info info;
  ASSERT_EQ(0, m6ike_ip6_walk(&info, pkt.data(), pkt.size()));
  EXPECT_EQ(4u, info.ext_count);
  EXPECT_TRUE(info.has_hao && info.has_rh2 && info.is_fragment);
  EXPECT_TRUE(m6ike_addr6_equal(&hoa, &info.hao));
  EXPECT_TRUE(m6ike_addr6_equal(&r, &info.rh2_addr));
  EXPECT_EQ(M6IKE_IPPROTO_MH, info.upper_proto);
  EXPECT_EQ(40u + 8 + 24 + 24 + 8, info.upper_off);
  EXPECT_EQ(8u, info.upper_len);
  EXPECT_EQ(64, info.hop_limit);
  // The MH is in a fragment: parse_packet refuses it.
  m6ike_mh_msg d;
  EXPECT_EQ(M6IKE_ERR_IP6_FRAGMENT,
            m6ike_mh_parse_packet(&info, &d, pkt.data(), pkt.size()));
}

TEST(Mh, WalkStopsAtNonFirstFragment) {
  Bytes frag = Hex("3c 00 0008 00000001");  // offset 1 (8 octets), next 60
  Bytes pkt = Ip6(44, Cat({frag, Bytes(16, 0xff)}));
  m6ike_ip6_info info;
  ASSERT_EQ(0, m6ike_ip6_walk(&info, pkt.data(), pkt.size()));
  EXPECT_TRUE(info.is_fragment);
  EXPECT_EQ(1u, info.ext_count);
  EXPECT_EQ(60, info.upper_proto);  // not walked: not this fragment's header
  EXPECT_EQ(48u, info.upper_off);
  EXPECT_EQ(16u, info.upper_len);
}

TEST(Mh, WalkAhLengthArithmeticAndEsp) {
  // AH Payload Len 4: (4 + 2) * 4 = 24 octets, then ESP (opaque).
  Bytes ah = Hex("32 04 0000 00000100 00000001");
  ah.resize(24, 0xaa);
  Bytes pkt = Ip6(51, Cat({ah, Bytes(8, 0x55)}));
  m6ike_ip6_info info;
  ASSERT_EQ(0, m6ike_ip6_walk(&info, pkt.data(), pkt.size()));
  EXPECT_EQ(M6IKE_IPPROTO_ESP, info.upper_proto);
  EXPECT_EQ(64u, info.upper_off);
  EXPECT_EQ(8u, info.upper_len);
  // Payload Len 0 -> 8 octets (< 12) and 1 -> 12 (not 8n): both malformed.
  for (uint8_t pl : {0, 1}) {
    Bytes bad = Ip6(51, Cat({Bytes{59, pl}, Bytes(22, 0)}));
    EXPECT_EQ(M6IKE_ERR_IP6_BAD_EXT, m6ike_ip6_walk(&info, bad.data(), bad.size()));
  }
  // Payload Len 5 -> 28 octets, but only 24 present.
  Bytes shortah = Ip6(51, Cat({Bytes{59, 5}, Bytes(22, 0)}));
  EXPECT_EQ(M6IKE_ERR_IP6_TRUNCATED,
            m6ike_ip6_walk(&info, shortah.data(), shortah.size()));
}

TEST(Mh, WalkChainLimit) {
  // 16 Destination Options headers are accepted, 17 are not.
  for (int count : {16, 17}) {
    Bytes chain;
    for (int i = 0; i < count; i++) {
      Bytes e = Ext8(i + 1 < count ? 60 : 59);
      chain.insert(chain.end(), e.begin(), e.end());
    }
    Bytes pkt = Ip6(60, chain);
    m6ike_ip6_info info;
    int rc = m6ike_ip6_walk(&info, pkt.data(), pkt.size());
    if (count == 16) {
      EXPECT_EQ(0, rc);
      EXPECT_EQ(16u, info.ext_count);
      EXPECT_EQ(59, info.upper_proto);
    } else {
      EXPECT_EQ(M6IKE_ERR_IP6_TOO_MANY_EXT, rc);
    }
  }
}

TEST(Mh, WalkFixedHeaderErrorsAndPayloadLength) {
  m6ike_ip6_info info;
  Bytes pkt = Ip6(59, Bytes(8, 0));
  for (size_t len = 0; len < 40; len++) {
    EXPECT_EQ(M6IKE_ERR_IP6_TRUNCATED, m6ike_ip6_walk(&info, pkt.data(), len));
  }
  // Payload Length beyond the buffer.
  EXPECT_EQ(M6IKE_ERR_IP6_TRUNCATED, m6ike_ip6_walk(&info, pkt.data(), 47));
  // Buffer longer than Payload Length: the extra bytes are ignored.
  Bytes longer = pkt;
  longer.resize(100, 0xee);
  ASSERT_EQ(0, m6ike_ip6_walk(&info, longer.data(), longer.size()));
  EXPECT_EQ(8u, info.upper_len);
  EXPECT_EQ(8, info.payload_len);
  Bytes v4 = pkt;
  v4[0] = 0x45;
  EXPECT_EQ(M6IKE_ERR_IP6_BAD_VERSION, m6ike_ip6_walk(&info, v4.data(), v4.size()));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_ip6_walk(nullptr, pkt.data(), pkt.size()));
  // An extension header with its length octet missing.
  Bytes one = Ip6(60, Bytes{59});
  EXPECT_EQ(M6IKE_ERR_IP6_TRUNCATED, m6ike_ip6_walk(&info, one.data(), one.size()));
  // Hdr Ext Len claiming 16 octets with 8 present.
  Bytes lng = Ip6(60, Bytes{59, 1, 1, 4, 0, 0, 0, 0});
  EXPECT_EQ(M6IKE_ERR_IP6_TRUNCATED, m6ike_ip6_walk(&info, lng.data(), lng.size()));
}

TEST(Mh, WalkExtensionOptionErrors) {
  m6ike_ip6_info info;
  // Hop-by-Hop after another extension header.
  Bytes pkt = Ip6(60, Cat({Ext8(0), Ext8(59)}));
  EXPECT_EQ(M6IKE_ERR_IP6_BAD_EXT, m6ike_ip6_walk(&info, pkt.data(), pkt.size()));
  // DstOpts option overrunning the header.
  pkt = Ip6(60, Bytes{59, 0, 1, 5, 0, 0, 0, 0});
  EXPECT_EQ(M6IKE_ERR_IP6_BAD_EXT, m6ike_ip6_walk(&info, pkt.data(), pkt.size()));
  // Option type in the last octet, no length.
  pkt = Ip6(0, Bytes{59, 0, 0, 0, 0, 0, 0, 0x1e});
  EXPECT_EQ(M6IKE_ERR_IP6_BAD_EXT, m6ike_ip6_walk(&info, pkt.data(), pkt.size()));
  // Unknown options and Pad1 are skipped; HAO in HbH is not a HAO.
  pkt = Ip6(0, Cat({Bytes{59, 3, 0, 0x1e, 2, 9, 9, 0xc9, 16}, Bytes(23, 0)}));
  ASSERT_EQ(0, m6ike_ip6_walk(&info, pkt.data(), pkt.size()));
  EXPECT_FALSE(info.has_hao);
}

TEST(Mh, WalkHaoMalformations) {
  m6ike_ip6_info info;
  m6ike_addr6 h = Addr("2001:db8::5");
  Bytes hao(24);
  m6ike_hao_encode(hao.data(), 24, 59, &h);
  Bytes bad = hao;
  bad[7] = 8;  // length 8, then PadN filling the rest
  bad[16] = 1;
  bad[17] = 6;
  Bytes pkt = Ip6(60, bad);
  EXPECT_EQ(M6IKE_ERR_IP6_BAD_HAO, m6ike_ip6_walk(&info, pkt.data(), pkt.size()));
  // Two Home Address options.
  Bytes two = hao;
  two[0] = 60;
  pkt = Ip6(60, Cat({two, hao}));
  EXPECT_EQ(M6IKE_ERR_IP6_BAD_HAO, m6ike_ip6_walk(&info, pkt.data(), pkt.size()));
}

TEST(Mh, WalkRh2Malformations) {
  m6ike_ip6_info info;
  m6ike_addr6 h = Addr("2001:db8::5");
  Bytes rh2(24);
  m6ike_rh2_encode(rh2.data(), 24, 59, &h);
  Bytes pkt = Ip6(43, rh2);
  ASSERT_EQ(0, m6ike_ip6_walk(&info, pkt.data(), pkt.size()));
  // Hdr Ext Len 3 (32 octets present).
  Bytes b = rh2;
  b[1] = 3;
  b.resize(32, 0);
  pkt = Ip6(43, b);
  EXPECT_EQ(M6IKE_ERR_IP6_BAD_RH2, m6ike_ip6_walk(&info, pkt.data(), pkt.size()));
  // Hdr Ext Len 1 (16 octets).
  b = Bytes(rh2.begin(), rh2.begin() + 16);
  b[1] = 1;
  pkt = Ip6(43, b);
  EXPECT_EQ(M6IKE_ERR_IP6_BAD_RH2, m6ike_ip6_walk(&info, pkt.data(), pkt.size()));
  // Segments Left 2 and 255.
  for (uint8_t sl : {2, 255}) {
    b = rh2;
    b[3] = sl;
    pkt = Ip6(43, b);
    EXPECT_EQ(M6IKE_ERR_IP6_BAD_RH2, m6ike_ip6_walk(&info, pkt.data(), pkt.size()));
  }
  // Segments Left 0 is fine.
  b = rh2;
  b[3] = 0;
  pkt = Ip6(43, b);
  ASSERT_EQ(0, m6ike_ip6_walk(&info, pkt.data(), pkt.size()));
  EXPECT_EQ(0, info.rh2_segments_left);
  // Two Type 2 Routing Headers.
  b = rh2;
  b[0] = 43;
  pkt = Ip6(43, Cat({b, rh2}));
  EXPECT_EQ(M6IKE_ERR_IP6_BAD_RH2, m6ike_ip6_walk(&info, pkt.data(), pkt.size()));
  // Other routing types are walked by length only.
  b = rh2;
  b[2] = 4;
  b[3] = 7;
  b[1] = 2;
  pkt = Ip6(43, b);
  ASSERT_EQ(0, m6ike_ip6_walk(&info, pkt.data(), pkt.size()));
  EXPECT_FALSE(info.has_rh2);
}

TEST(Mh, ParsePacketErrors) {
  m6ike_ip6_info info;
  m6ike_mh_msg d;
  // Upper layer is not MH.
  Bytes pkt = Ip6(58, Bytes(8, 0));
  EXPECT_EQ(M6IKE_ERR_MH_NOT_MH, m6ike_mh_parse_packet(&info, &d, pkt.data(), pkt.size()));
  // MH shorter than the IPv6 payload: 8 stray octets after it.
  m6ike_mh_msg m = Msg(M6IKE_MH_BRR);
  Bytes mh = Encode(m);
  Bytes body = Cat({mh, Bytes(8, 0)});
  pkt = Ip6(135, body);
  EXPECT_EQ(M6IKE_ERR_MH_BAD_LENGTH, m6ike_mh_parse_packet(&info, &d, pkt.data(), pkt.size()));
  // MH decode errors pass through.
  mh[0] = 17;
  pkt = Ip6(135, mh);
  EXPECT_EQ(M6IKE_ERR_MH_BAD_PROTO, m6ike_mh_parse_packet(&info, &d, pkt.data(), pkt.size()));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_mh_parse_packet(&info, nullptr, pkt.data(), pkt.size()));
  // Walker errors pass through.
  pkt[0] = 0x40;
  EXPECT_EQ(M6IKE_ERR_IP6_BAD_VERSION, m6ike_mh_parse_packet(&info, &d, pkt.data(), pkt.size()));
}

// ---- formatting, option policy, error strings ----------------------------------

TEST(Mh, FormatOneLineSummaries) {
  char buf[200];
  m6ike_mh_msg m = Bu(7, M6IKE_BU_FLAG_A | M6IKE_BU_FLAG_H | M6IKE_BU_FLAG_K, 105);
  EXPECT_STREQ("BU seq=7 flags=AHK lifetime=420s", m6ike_mh_format(&m, buf, sizeof(buf)));
  m.u.bu.flags = 0;
  m.opts.has_alt_coa = 1;
  m.opts.alt_coa = Addr("2001:db8:2::100");
  EXPECT_STREQ("BU seq=7 flags=- lifetime=420s alt-coa=2001:db8:2::100",
               m6ike_mh_format(&m, buf, sizeof(buf)));
  m = Msg(M6IKE_MH_BA);
  m.u.ba = {0, M6IKE_BA_FLAG_K, 7, 105};
  EXPECT_STREQ("BA status=0(accepted) seq=7 lifetime=420s K",
               m6ike_mh_format(&m, buf, sizeof(buf)));
  m.u.ba = {M6IKE_BA_NOT_HA_FOR_THIS_MN, 0, 8, 0};
  m.opts.has_bra = 1;
  m.opts.refresh_interval = 15;
  EXPECT_STREQ("BA status=133(not home agent for this mobile node) seq=8 "
               "lifetime=0s refresh=60s",
               m6ike_mh_format(&m, buf, sizeof(buf)));
  m = Msg(M6IKE_MH_BE);
  m.u.be.status = 1;
  m.u.be.home_address = Addr("2001:db8::5");
  EXPECT_STREQ("BE status=1 hoa=2001:db8::5", m6ike_mh_format(&m, buf, sizeof(buf)));
  m = Msg(M6IKE_MH_HOTI);
  std::memcpy(m.u.ti.cookie, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
  EXPECT_STREQ("HoTI cookie=0102030405060708", m6ike_mh_format(&m, buf, sizeof(buf)));
  m = Msg(M6IKE_MH_COT);
  m.u.t.nonce_index = 3;
  EXPECT_STREQ("CoT nonce_idx=3 cookie=0000000000000000 token=0000000000000000",
               m6ike_mh_format(&m, buf, sizeof(buf)));
  m = Msg(M6IKE_MH_BRR);
  EXPECT_STREQ("BRR", m6ike_mh_format(&m, buf, sizeof(buf)));
  // Truncated output stays NUL-terminated.
  m = Bu(7, M6IKE_BU_FLAG_A, 105);
  EXPECT_STREQ("BU seq", m6ike_mh_format(&m, buf, 7));
  EXPECT_STREQ("MH?", m6ike_mh_type_name(8));
  EXPECT_STREQ("HoT", m6ike_mh_type_name(3));
}

TEST(Mh, OptionPolicyPerType) {
  EXPECT_TRUE(m6ike_mh_opt_allowed(M6IKE_MH_BA, M6IKE_MHOPT_BRA));
  EXPECT_FALSE(m6ike_mh_opt_allowed(M6IKE_MH_BU, M6IKE_MHOPT_BRA));
  EXPECT_TRUE(m6ike_mh_opt_allowed(M6IKE_MH_BU, M6IKE_MHOPT_ALT_COA));
  EXPECT_FALSE(m6ike_mh_opt_allowed(M6IKE_MH_BA, M6IKE_MHOPT_ALT_COA));
  EXPECT_TRUE(m6ike_mh_opt_allowed(M6IKE_MH_BU, M6IKE_MHOPT_NONCE_IDX));
  EXPECT_TRUE(m6ike_mh_opt_allowed(M6IKE_MH_BU, M6IKE_MHOPT_BIND_AUTH));
  EXPECT_TRUE(m6ike_mh_opt_allowed(M6IKE_MH_BA, M6IKE_MHOPT_BIND_AUTH));
  EXPECT_FALSE(m6ike_mh_opt_allowed(M6IKE_MH_HOTI, M6IKE_MHOPT_BIND_AUTH));
  EXPECT_TRUE(m6ike_mh_opt_allowed(M6IKE_MH_BRR, M6IKE_MHOPT_PADN));
  EXPECT_FALSE(m6ike_mh_opt_allowed(M6IKE_MH_BU, 99));
}

TEST(Mh, StrerrorForEachCode) {
  const struct {
    int code;
    const char *needle;
  } cases[] = {
      {M6IKE_ERR_MH_TRUNCATED, "Header Len"},
      {M6IKE_ERR_MH_BAD_LENGTH, "MH Type"},
      {M6IKE_ERR_MH_BAD_PROTO, "Payload Proto"},
      {M6IKE_ERR_MH_UNKNOWN_TYPE, "MH Type unknown"},
      {M6IKE_ERR_MH_BAD_OPTION, "Option Length"},
      {M6IKE_ERR_MH_BAD_CHECKSUM, "checksum"},
      {M6IKE_ERR_MH_NOT_MH, "135"},
      {M6IKE_ERR_IP6_TRUNCATED, "Payload Length"},
      {M6IKE_ERR_IP6_BAD_VERSION, "version"},
      {M6IKE_ERR_IP6_BAD_EXT, "AH Payload Len"},
      {M6IKE_ERR_IP6_BAD_HAO, "Home Address option"},
      {M6IKE_ERR_IP6_BAD_RH2, "Segments Left"},
      {M6IKE_ERR_IP6_TOO_MANY_EXT, "16"},
      {M6IKE_ERR_IP6_FRAGMENT, "fragment"},
  };
  for (const auto &c : cases) {
    const char *s = m6ike_strerror(c.code);
    ASSERT_NE(nullptr, s);
    EXPECT_NE(nullptr, std::strstr(s, c.needle)) << c.code << ": " << s;
    EXPECT_STREQ(s, m6ike_mh_strerror_(c.code));
  }
  EXPECT_EQ(nullptr, m6ike_mh_strerror_(-299));
  EXPECT_EQ(nullptr, m6ike_mh_strerror_(M6IKE_ERR_NOBUF));
  EXPECT_STREQ("unknown error", m6ike_strerror(-299));
}
