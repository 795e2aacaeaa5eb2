// pfkey_wire: HELLO + whole sadb messages over a Unix-domain stream or
// seqpacket connection; every error code; a stream fed one octet at a time.
#include "m6ike/pfkey_wire.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "m6ike/pfkey.h"
#include "test_util.h"

namespace {

using Bytes = std::vector<uint8_t>;

Bytes Acquire(uint32_t mpi) {
  Bytes buf(512);
  m6ike_pfkey_builder b;
  m6ike_pfkey_builder_begin(&b, buf.data(), buf.size(), M6IKE_SADB_ACQUIRE,
                            M6IKE_SADB_SATYPE_ESP, 5, 0);
  m6ike_addr6 s = Addr("2001:db8:1::5"), d = Addr("2001:db8:1::1");
  m6ike_pfkey_sockaddr hoa = m6ike_pfkey_sockaddr6(&s, 0);
  m6ike_pfkey_sockaddr ha = m6ike_pfkey_sockaddr6(&d, 0);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 135, 128, &hoa);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 135, 128, &ha);
  m6ike_pfkey_comb c;
  std::memset(&c, 0, sizeof(c));
  c.auth = 3;
  c.encrypt = 12;
  m6ike_pfkey_add_proposal(&b, 32, &c, 1);
  m6ike_pfkey_add_reference(&b, mpi);
  int n = m6ike_pfkey_builder_finish(&b);
  buf.resize(n > 0 ? n : 0);
  return buf;
}

Bytes Hello(m6ike_pfkey_role role, uint32_t pid) {
  Bytes b(16);
  m6ike_pfkey_wire_hello h{role, pid};
  EXPECT_EQ(16, m6ike_pfkey_wire_hello_encode(&h, b.data(), b.size()));
  return b;
}

TEST(PfkeyWire, HelloRoundTripAndLayout) {
  Bytes b = Hello(M6IKE_PFKEY_ROLE_MOBILITY, 0x01020304);
  EXPECT_EQ(Hex("4d36504b 01 02 0000 01020304 00000000"), b);
  m6ike_pfkey_wire_hello h{};
  EXPECT_EQ(16, m6ike_pfkey_wire_hello_decode(&h, b.data(), b.size()));
  EXPECT_EQ(M6IKE_PFKEY_ROLE_MOBILITY, h.role);
  EXPECT_EQ(0x01020304u, h.pid);
  uint8_t small[15];
  EXPECT_EQ(M6IKE_ERR_NOBUF, m6ike_pfkey_wire_hello_encode(&h, small, 15));
  h.role = static_cast<m6ike_pfkey_role>(3);
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_pfkey_wire_hello_encode(&h, b.data(), b.size()));
}

TEST(PfkeyWire, HelloErrors) {
  m6ike_pfkey_wire_hello h{};
  Bytes good = Hello(M6IKE_PFKEY_ROLE_KEY_MANAGER, 7);
  EXPECT_EQ(M6IKE_ERR_PFKEY_WIRE_INCOMPLETE,
            m6ike_pfkey_wire_hello_decode(&h, good.data(), 15));
  EXPECT_EQ(M6IKE_ERR_PFKEY_WIRE_INCOMPLETE,
            m6ike_pfkey_wire_hello_decode(&h, good.data(), 0));
  // a sadb message instead of a HELLO: refused on its first octet
  Bytes acq = Acquire(1);
  EXPECT_EQ(M6IKE_ERR_PFKEY_WIRE_HELLO_MAGIC,
            m6ike_pfkey_wire_hello_decode(&h, acq.data(), 1));
  Bytes b = good;
  b[4] = 2;
  EXPECT_EQ(M6IKE_ERR_PFKEY_WIRE_HELLO_VERSION,
            m6ike_pfkey_wire_hello_decode(&h, b.data(), b.size()));
  b = good;
  b[5] = 0;
  EXPECT_EQ(M6IKE_ERR_PFKEY_WIRE_HELLO_ROLE,
            m6ike_pfkey_wire_hello_decode(&h, b.data(), b.size()));
  b = good;
  b[7] = 1;
  EXPECT_EQ(M6IKE_ERR_PFKEY_WIRE_HELLO_RESERVED,
            m6ike_pfkey_wire_hello_decode(&h, b.data(), b.size()));
  b = good;
  b[15] = 1;
  EXPECT_EQ(M6IKE_ERR_PFKEY_WIRE_HELLO_RESERVED,
            m6ike_pfkey_wire_hello_decode(&h, b.data(), b.size()));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_pfkey_wire_hello_decode(nullptr, good.data(), 16));
}

TEST(PfkeyWire, FrameErrors) {
  Bytes acq = Acquire(9);
  ASSERT_GT(acq.size(), 16u);
  int n = static_cast<int>(acq.size());
  EXPECT_EQ(n, m6ike_pfkey_wire_frame(acq.data(), acq.size(), 0));
  Bytes two = acq;
  two.insert(two.end(), acq.begin(), acq.end());
  EXPECT_EQ(n, m6ike_pfkey_wire_frame(two.data(), two.size(), 0));
  EXPECT_EQ(M6IKE_ERR_PFKEY_WIRE_INCOMPLETE,
            m6ike_pfkey_wire_frame(acq.data(), 7, 0));
  EXPECT_EQ(M6IKE_ERR_PFKEY_WIRE_INCOMPLETE,
            m6ike_pfkey_wire_frame(acq.data(), acq.size() - 1, 0));
  EXPECT_EQ(M6IKE_ERR_PFKEY_WIRE_MSG_LONG,
            m6ike_pfkey_wire_frame(acq.data(), acq.size(), acq.size() - 8));
  Bytes b = acq;
  b[0] = 1;
  EXPECT_EQ(M6IKE_ERR_PFKEY_WIRE_MSG_VERSION,
            m6ike_pfkey_wire_frame(b.data(), 1, 0));
  b = acq;
  uint16_t one = 1;
  std::memcpy(&b[4], &one, 2);
  EXPECT_EQ(M6IKE_ERR_PFKEY_WIRE_MSG_SHORT,
            m6ike_pfkey_wire_frame(b.data(), b.size(), 0));
  // a header announcing 512 kB is refused before the body is waited for
  uint16_t huge = 0xffff;
  std::memcpy(&b[4], &huge, 2);
  EXPECT_EQ(M6IKE_ERR_PFKEY_WIRE_MSG_LONG,
            m6ike_pfkey_wire_frame(b.data(), 8, 0));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_pfkey_wire_frame(nullptr, 8, 0));
}

/* kernel side of a stream connection:
 *   client: HELLO(MOBILITY) | ACQUIRE+Reference(1) | ACQUIRE+Reference(2)
 * fed one octet at a time, the host keeping the unconsumed tail. */
TEST(PfkeyWire, StreamOctetByOctet) {
  Bytes in = Hello(M6IKE_PFKEY_ROLE_MOBILITY, 0);
  Bytes a1 = Acquire(1), a2 = Acquire(2);
  in.insert(in.end(), a1.begin(), a1.end());
  in.insert(in.end(), a2.begin(), a2.end());
  m6ike_pfkey_wire_decoder d;
  ASSERT_EQ(0, m6ike_pfkey_wire_decoder_init(&d, M6IKE_PFKEY_WIRE_STREAM, 1,
                                             0));
  Bytes pending;
  std::vector<Bytes> msgs;
  int hellos = 0;
  for (uint8_t octet : in) {
    pending.push_back(octet);
    for (;;) {
      m6ike_pfkey_wire_kind k;
      const uint8_t *m;
      size_t ml;
      int rc = m6ike_pfkey_wire_decode(&d, pending.data(), pending.size(), &k,
                                       &m, &ml);
      if (rc == M6IKE_ERR_PFKEY_WIRE_INCOMPLETE) break;
      ASSERT_GT(rc, 0) << m6ike_strerror(rc);
      if (k == M6IKE_PFKEY_WIRE_HELLO) hellos++;
      else msgs.emplace_back(m, m + ml);
      pending.erase(pending.begin(), pending.begin() + rc);
    }
  }
  EXPECT_TRUE(pending.empty());
  EXPECT_EQ(1, hellos);
  EXPECT_EQ(M6IKE_PFKEY_ROLE_MOBILITY, d.hello.role);
  ASSERT_EQ(2u, msgs.size());
  EXPECT_EQ(a1, msgs[0]);
  EXPECT_EQ(a2, msgs[1]);
  EXPECT_EQ(2u, d.msgs);
  // each message decodes as PF_KEY with its Reference
  for (unsigned i = 0; i < 2; i++) {
    m6ike_pfkey_msg pm;
    ASSERT_EQ(static_cast<int>(msgs[i].size()),
              m6ike_pfkey_decode(&pm, msgs[i].data(), msgs[i].size(), 0));
    m6ike_pfkey_reference ref{};
    ASSERT_EQ(0, m6ike_pfkey_get_reference(&pm, &ref));
    EXPECT_EQ(i + 1, ref.mpi);
  }
}

TEST(PfkeyWire, SeqpacketRecordsAndStickyFailure) {
  m6ike_pfkey_wire_decoder d;
  ASSERT_EQ(0, m6ike_pfkey_wire_decoder_init(&d, M6IKE_PFKEY_WIRE_SEQPACKET,
                                             1, 0));
  m6ike_pfkey_wire_kind k;
  const uint8_t *m;
  size_t ml;
  Bytes h = Hello(M6IKE_PFKEY_ROLE_KEY_MANAGER, 99);
  // a short HELLO record is a record error, not "incomplete"
  EXPECT_EQ(M6IKE_ERR_PFKEY_WIRE_RECORD,
            m6ike_pfkey_wire_decode(&d, h.data(), 10, &k, &m, &ml));
  EXPECT_EQ(M6IKE_ERR_PFKEY_WIRE_FAILED,
            m6ike_pfkey_wire_decode(&d, h.data(), h.size(), &k, &m, &ml));
  EXPECT_EQ(M6IKE_ERR_PFKEY_WIRE_RECORD, d.failed);

  ASSERT_EQ(0, m6ike_pfkey_wire_decoder_init(&d, M6IKE_PFKEY_WIRE_SEQPACKET,
                                             1, 0));
  Bytes hx = h;
  hx.push_back(0);  // HELLO record with a trailing octet
  EXPECT_EQ(M6IKE_ERR_PFKEY_WIRE_RECORD,
            m6ike_pfkey_wire_decode(&d, hx.data(), hx.size(), &k, &m, &ml));

  ASSERT_EQ(0, m6ike_pfkey_wire_decoder_init(&d, M6IKE_PFKEY_WIRE_SEQPACKET,
                                             1, 0));
  ASSERT_EQ(16, m6ike_pfkey_wire_decode(&d, h.data(), h.size(), &k, &m, &ml));
  EXPECT_EQ(M6IKE_PFKEY_WIRE_HELLO, k);
  EXPECT_EQ(99u, d.hello.pid);
  Bytes a = Acquire(5);
  ASSERT_EQ(static_cast<int>(a.size()),
            m6ike_pfkey_wire_decode(&d, a.data(), a.size(), &k, &m, &ml));
  EXPECT_EQ(M6IKE_PFKEY_WIRE_MSG, k);
  EXPECT_EQ(a.data(), m);
  // two messages in one record, and a truncated one
  Bytes two = a;
  two.insert(two.end(), a.begin(), a.end());
  EXPECT_EQ(M6IKE_ERR_PFKEY_WIRE_RECORD,
            m6ike_pfkey_wire_decode(&d, two.data(), two.size(), &k, &m, &ml));
  ASSERT_EQ(0, m6ike_pfkey_wire_decoder_init(&d, M6IKE_PFKEY_WIRE_SEQPACKET,
                                             0, 0));
  EXPECT_EQ(M6IKE_ERR_PFKEY_WIRE_RECORD,
            m6ike_pfkey_wire_decode(&d, a.data(), a.size() - 8, &k, &m, &ml));
}

TEST(PfkeyWire, ClientSideHasNoHelloAndSecondHelloIsRefused) {
  m6ike_pfkey_wire_decoder d;
  m6ike_pfkey_wire_kind k;
  const uint8_t *m;
  size_t ml;
  // the kernel's direction carries sadb messages only: a HELLO is not one
  ASSERT_EQ(0, m6ike_pfkey_wire_decoder_init(&d, M6IKE_PFKEY_WIRE_STREAM, 0,
                                             0));
  Bytes h = Hello(M6IKE_PFKEY_ROLE_MOBILITY, 1);
  EXPECT_EQ(M6IKE_ERR_PFKEY_WIRE_MSG_VERSION,
            m6ike_pfkey_wire_decode(&d, h.data(), h.size(), &k, &m, &ml));
  // kernel side: HELLO twice
  ASSERT_EQ(0, m6ike_pfkey_wire_decoder_init(&d, M6IKE_PFKEY_WIRE_STREAM, 1,
                                             0));
  Bytes hh = h;
  hh.insert(hh.end(), h.begin(), h.end());
  ASSERT_EQ(16, m6ike_pfkey_wire_decode(&d, hh.data(), hh.size(), &k, &m, &ml));
  EXPECT_EQ(M6IKE_ERR_PFKEY_WIRE_MSG_VERSION,
            m6ike_pfkey_wire_decode(&d, hh.data() + 16, 16, &k, &m, &ml));
  // a client that skips the HELLO
  ASSERT_EQ(0, m6ike_pfkey_wire_decoder_init(&d, M6IKE_PFKEY_WIRE_STREAM, 1,
                                             0));
  Bytes a = Acquire(3);
  EXPECT_EQ(M6IKE_ERR_PFKEY_WIRE_HELLO_MAGIC,
            m6ike_pfkey_wire_decode(&d, a.data(), a.size(), &k, &m, &ml));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_pfkey_wire_decoder_init(&d,
                                          static_cast<m6ike_pfkey_wire_mode>(0),
                                          1, 0));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_pfkey_wire_decode(&d, a.data(), a.size(), nullptr, &m, &ml));
}

TEST(PfkeyWire, ErrorStringsAreDistinct) {
  for (int c = M6IKE_ERR_PFKEY_WIRE_FAILED; c <= M6IKE_ERR_PFKEY_WIRE_INCOMPLETE;
       c++) {
    const char *s = m6ike_pfkey_wire_strerror_(c);
    ASSERT_NE(nullptr, s) << c;
    EXPECT_NE(nullptr, std::strstr(m6ike_strerror(c), "pfkey_wire")) << c;
    for (int o = c + 1; o <= M6IKE_ERR_PFKEY_WIRE_INCOMPLETE; o++)
      EXPECT_STRNE(s, m6ike_pfkey_wire_strerror_(o));
  }
  EXPECT_EQ(nullptr, m6ike_pfkey_wire_strerror_(-529));
  EXPECT_EQ(nullptr, m6ike_pfkey_wire_strerror_(-540));
}

}  // namespace
