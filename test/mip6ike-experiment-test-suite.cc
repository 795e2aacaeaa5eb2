/*
 * Unit tests of the experiment machinery (helper/): the wire classifier
 * (Mip6IkeClassify) on hand-built packets, the frame dropper, and the
 * output contract (Mip6IkeResults: first event after each L2 start, the
 * recovery criterion, the CSV files byte for byte).
 */
#include "ns3/boolean.h"
#include "ns3/mip6ike-results.h"
#include "ns3/mip6ike-wire.h"
#include "ns3/packet.h"
#include "ns3/simulator.h"
#include "ns3/string.h"
#include "ns3/test.h"
#include "ns3/uinteger.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace ns3;

namespace
{

/** a then b (one allocation: gcc 12 -O3 reports false -Warray-bounds
 * on insert() into small vectors). */
std::vector<uint8_t>
Cat(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b)
{
    std::vector<uint8_t> r(a.size() + b.size());
    std::copy(a.begin(), a.end(), r.begin());
    std::copy(b.begin(), b.end(), r.begin() + static_cast<std::ptrdiff_t>(a.size()));
    return r;
}

/** \return 16 octets of "2001::<last>" */
std::vector<uint8_t>
Addr(uint8_t last, uint8_t first = 0x20, uint8_t second = 0x01)
{
    std::vector<uint8_t> a(16, 0);
    a[0] = first;
    a[1] = second;
    a[15] = last;
    return a;
}

/**
 * An IPv6 packet: header (next header nh), then the extension headers and
 * upper-layer bytes in body.
 */
std::vector<uint8_t>
Ip6(uint8_t nh, const std::vector<uint8_t>& body, uint8_t srcLast = 5, uint8_t dstLast = 1)
{
    std::vector<uint8_t> p(40, 0);
    p[0] = 0x60;
    p[4] = static_cast<uint8_t>(body.size() >> 8);
    p[5] = static_cast<uint8_t>(body.size());
    p[6] = nh;
    p[7] = 64;
    auto s = Addr(srcLast);
    auto d = Addr(dstLast);
    std::copy(s.begin(), s.end(), p.begin() + 8);
    std::copy(d.begin(), d.end(), p.begin() + 24);
    return Cat(p, body);
}

/** A UDP header and payload. */
std::vector<uint8_t>
Udp(uint16_t sport, uint16_t dport, const std::vector<uint8_t>& payload)
{
    std::vector<uint8_t> u = {uint8_t(sport >> 8),
                              uint8_t(sport),
                              uint8_t(dport >> 8),
                              uint8_t(dport),
                              uint8_t((payload.size() + 8) >> 8),
                              uint8_t(payload.size() + 8),
                              0,
                              0};
    return Cat(u, payload);
}

/** An IKE header (28 octets) with exchange type and flags, plus extra octets. */
std::vector<uint8_t>
Ike(uint8_t exchange, uint8_t flags, size_t extra = 0)
{
    std::vector<uint8_t> h(28 + extra, 0);
    h[0] = 0x11; // SPIi
    h[16] = 33;  // next payload SA
    h[17] = 0x20;
    h[18] = exchange;
    h[19] = flags;
    h[27] = static_cast<uint8_t>(28 + extra);
    return h;
}

/** ESP: SPI, sequence, some ciphertext. */
std::vector<uint8_t>
Esp(uint32_t spi)
{
    return {uint8_t(spi >> 24), uint8_t(spi >> 16), uint8_t(spi >> 8), uint8_t(spi), 0, 0, 0, 1, 9, 9, 9, 9};
}

/** Destination Options header with a Home Address option, next header nh. */
std::vector<uint8_t>
DstOptHao(uint8_t nh)
{
    // 24 octets: nh, len 2, PadN(4 octets: 1, 2, 0, 0), HAO type 201 len 16 + address
    return Cat({nh, 2, 1, 2, 0, 0, 201, 16}, Addr(5));
}

/** Type 2 Routing Header, next header nh. */
std::vector<uint8_t>
Rh2(uint8_t nh)
{
    return Cat({nh, 2, 2, 1, 0, 0, 0, 0}, Addr(5));
}

Mip6IkeWireInfo
Classify(const std::vector<uint8_t>& p)
{
    return Mip6IkeClassify(p.data(), p.size(), false);
}

/**
 * \ingroup mip6ike-test
 * The classifier on each kind of packet the experiments count.
 */
class ClassifyTestCase : public TestCase
{
  public:
    ClassifyTestCase()
        : TestCase("wire classifier: IKE on 500 and 4500, ESP, BU with HAO, BA with RH2, ICMPv6")
    {
    }

  private:
    void DoRun() override
    {
        // IKE_SA_INIT request on UDP 500
        auto init = Ip6(17, Udp(500, 500, Ike(34, 0x08)));
        auto i = Classify(init);
        NS_TEST_EXPECT_MSG_EQ(i.kind, Mip6IkeWireInfo::IKE_SA_INIT, "IKE_SA_INIT");
        NS_TEST_EXPECT_MSG_EQ(i.ikeResponse, false, "request");
        NS_TEST_EXPECT_MSG_EQ(i.ikeLength, 28u, "IKE length");
        NS_TEST_EXPECT_MSG_EQ(i.ipLength, uint32_t(init.size()), "IPv6 length");
        NS_TEST_EXPECT_MSG_EQ(i.IsIke(), true, "IsIke");
        // IKE_AUTH response on 4500 behind the non-ESP marker
        auto auth = Ip6(17, Udp(4500, 4500, Cat({0, 0, 0, 0}, Ike(35, 0x20, 100))));
        i = Classify(auth);
        NS_TEST_EXPECT_MSG_EQ(i.kind, Mip6IkeWireInfo::IKE_AUTH, "IKE_AUTH on 4500");
        NS_TEST_EXPECT_MSG_EQ(i.ikeResponse, true, "response");
        NS_TEST_EXPECT_MSG_EQ(i.ikeLength, 128u, "marker excluded");
        // CREATE_CHILD_SA, INFORMATIONAL, another exchange
        NS_TEST_EXPECT_MSG_EQ(Classify(Ip6(17, Udp(500, 500, Ike(36, 0)))).kind,
                              Mip6IkeWireInfo::CREATE_CHILD_SA,
                              "CREATE_CHILD_SA");
        NS_TEST_EXPECT_MSG_EQ(Classify(Ip6(17, Udp(500, 500, Ike(37, 0)))).kind,
                              Mip6IkeWireInfo::INFORMATIONAL,
                              "INFORMATIONAL");
        NS_TEST_EXPECT_MSG_EQ(Classify(Ip6(17, Udp(500, 500, Ike(99, 0)))).kind,
                              Mip6IkeWireInfo::IKE_OTHER,
                              "unknown exchange");
        // UDP-encapsulated ESP on 4500, NAT keepalive
        i = Classify(Ip6(17, Udp(4500, 4500, Esp(0x1234))));
        NS_TEST_EXPECT_MSG_EQ(i.kind, Mip6IkeWireInfo::ESP, "UDP-encapsulated ESP");
        NS_TEST_EXPECT_MSG_EQ(i.espSpi, 0x1234u, "its SPI");
        NS_TEST_EXPECT_MSG_EQ(Classify(Ip6(17, Udp(4500, 4500, {0xff}))).kind,
                              Mip6IkeWireInfo::IKE_OTHER,
                              "keepalive");
        // other UDP (the CBR flow)
        NS_TEST_EXPECT_MSG_EQ(Classify(Ip6(17, Udp(49153, 9000, std::vector<uint8_t>(20, 7)))).kind,
                              Mip6IkeWireInfo::UDP,
                              "payload UDP");
        // BU under ESP with a HAO; BA under ESP after an RH2
        i = Classify(Ip6(60, Cat(DstOptHao(50), Esp(0xabcdef01))));
        NS_TEST_EXPECT_MSG_EQ(i.kind, Mip6IkeWireInfo::ESP, "BU under ESP");
        NS_TEST_EXPECT_MSG_EQ(i.hao, true, "HAO seen");
        NS_TEST_EXPECT_MSG_EQ(i.rh2, false, "no RH2");
        NS_TEST_EXPECT_MSG_EQ(i.espSpi, 0xabcdef01u, "SPI");
        i = Classify(Ip6(43, Cat(Rh2(50), Esp(7)), 1, 5));
        NS_TEST_EXPECT_MSG_EQ(i.kind, Mip6IkeWireInfo::ESP, "BA under ESP");
        NS_TEST_EXPECT_MSG_EQ(i.rh2, true, "RH2 seen");
        NS_TEST_EXPECT_MSG_EQ(i.hao, false, "no HAO");
        // MH in clear: BU (type 5) with HAO, BA (type 6), BRR (type 0)
        std::vector<uint8_t> mhBu = {59, 1, 5, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
        std::vector<uint8_t> mhBa = {59, 1, 6, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
        std::vector<uint8_t> mhBrr = {59, 0, 0, 0, 0, 0, 0, 0};
        i = Classify(Ip6(60, Cat(DstOptHao(135), mhBu)));
        NS_TEST_EXPECT_MSG_EQ(i.kind, Mip6IkeWireInfo::MH_BU, "BU");
        NS_TEST_EXPECT_MSG_EQ(i.hao, true, "BU's HAO");
        NS_TEST_EXPECT_MSG_EQ(Classify(Ip6(43, Cat(Rh2(135), mhBa))).kind, Mip6IkeWireInfo::MH_BA, "BA");
        NS_TEST_EXPECT_MSG_EQ(Classify(Ip6(135, mhBrr)).kind, Mip6IkeWireInfo::MH_OTHER, "BRR");
        // ICMPv6 RA, IPv6-in-IPv6, first fragment of UDP, later fragment
        i = Classify(Ip6(58, {134, 0, 0, 0}));
        NS_TEST_EXPECT_MSG_EQ(i.kind, Mip6IkeWireInfo::ICMPV6, "ICMPv6");
        NS_TEST_EXPECT_MSG_EQ(int(i.icmpType), 134, "RA");
        NS_TEST_EXPECT_MSG_EQ(Classify(Ip6(41, Ip6(17, Udp(1, 2, {})))).kind,
                              Mip6IkeWireInfo::TUNNEL,
                              "IPv6-in-IPv6");
        NS_TEST_EXPECT_MSG_EQ(Classify(Ip6(44, Cat({17, 0, 0, 1, 0, 0, 0, 1}, Udp(500, 500, Ike(34, 0))))).kind,
                              Mip6IkeWireInfo::IKE_SA_INIT,
                              "first fragment");
        NS_TEST_EXPECT_MSG_EQ(Classify(Ip6(44, Cat({17, 0, 0, 0x10, 0, 0, 0, 1}, Udp(500, 500, Ike(34, 0))))).kind,
                              Mip6IkeWireInfo::OTHER,
                              "later fragment");
        // Ethernet framing: IPv6 EtherType, another EtherType
        std::vector<uint8_t> eth(12, 0);
        auto framed = Cat(Cat(Cat(eth, {0x86, 0xdd}), init), {1, 2, 3, 4}); // FCS last
        NS_TEST_EXPECT_MSG_EQ(Mip6IkeClassify(framed.data(), framed.size(), true).kind,
                              Mip6IkeWireInfo::IKE_SA_INIT,
                              "Ethernet + IPv6");
        auto arp = Cat(Cat(eth, {0x08, 0x06}), init);
        NS_TEST_EXPECT_MSG_EQ(Mip6IkeClassify(arp.data(), arp.size(), true).kind,
                              Mip6IkeWireInfo::NOT_IPV6,
                              "not IPv6");
        // Every truncation of a BU-with-HAO packet stays in bounds and
        // never claims more than it saw.
        auto bu = Ip6(60, Cat(DstOptHao(50), Esp(1)));
        for (size_t n = 0; n < bu.size(); n++)
        {
            std::vector<uint8_t> cut(bu.begin(), bu.begin() + n);
            auto c = Classify(cut);
            if (n < 40)
            {
                NS_TEST_EXPECT_MSG_EQ(c.kind, Mip6IkeWireInfo::NOT_IPV6, "cut at " << n);
            }
            else if (n < 40 + 24)
            {
                NS_TEST_EXPECT_MSG_EQ(c.kind, Mip6IkeWireInfo::OTHER, "cut at " << n);
            }
        }
        // a bad version
        auto v4 = init;
        v4[0] = 0x45;
        NS_TEST_EXPECT_MSG_EQ(Classify(v4).kind, Mip6IkeWireInfo::NOT_IPV6, "version 4");
    }
};

/**
 * \ingroup mip6ike-test
 * The dropper drops exactly Count matching frames after Skip of them.
 */
class DropperTestCase : public TestCase
{
  public:
    DropperTestCase()
        : TestCase("frame dropper: Skip then Count frames of the matching kind")
    {
    }

  private:
    void DoRun() override
    {
        Ptr<Mip6IkeFrameDropper> d = CreateObject<Mip6IkeFrameDropper>();
        d->SetAttribute("Match", StringValue("ba"));
        d->SetAttribute("Skip", UintegerValue(1));
        d->SetAttribute("Count", UintegerValue(2));
        d->SetAttribute("Ethernet", BooleanValue(false));
        auto ba = Ip6(43, Cat(Rh2(50), Esp(7)), 1, 5);
        auto other = Ip6(17, Udp(500, 500, Ike(34, 0)));
        std::vector<bool> dropped;
        for (int k = 0; k < 5; k++)
        {
            Ptr<Packet> o = Create<Packet>(other.data(), other.size());
            NS_TEST_EXPECT_MSG_EQ(d->IsCorrupt(o), false, "non-matching frame dropped");
            Ptr<Packet> p = Create<Packet>(ba.data(), ba.size());
            dropped.push_back(d->IsCorrupt(p));
        }
        NS_TEST_EXPECT_MSG_EQ(dropped[0], false, "the skipped BA");
        NS_TEST_EXPECT_MSG_EQ(dropped[1], true, "first dropped BA");
        NS_TEST_EXPECT_MSG_EQ(dropped[2], true, "second dropped BA");
        NS_TEST_EXPECT_MSG_EQ(dropped[3], false, "after Count");
        NS_TEST_EXPECT_MSG_EQ(dropped[4], false, "after Count");
        NS_TEST_EXPECT_MSG_EQ(d->GetDropped(), 2u, "dropped");
        NS_TEST_EXPECT_MSG_EQ(d->GetMatched(), 5u, "matched");
    }
};

/**
 * \ingroup mip6ike-test
 * Mip6IkeResults: each field is the first event after the row's L2 start;
 * recovery counts only payload sent after the L2 start; the CSV files.
 */
class ResultsTestCase : public TestCase
{
  public:
    ResultsTestCase()
        : TestCase("results: first events per handover, recovery criterion, CSV output")
    {
    }

  private:
    Mip6IkeResults* m_r{nullptr}; //!< under test

    void At(double t, void (ResultsTestCase::*f)())
    {
        Simulator::Schedule(Seconds(t), f, this);
    }

    void L2()
    {
        m_r->L2HandoverStart();
    }
    void Mv()
    {
        m_r->MovementDetected();
    }
    void Coa()
    {
        m_r->CoaReady();
    }
    void Bu()
    {
        m_r->BuSent();
    }
    void Ba()
    {
        m_r->BaReceived(0);
    }
    void BaRefused()
    {
        m_r->BaReceived(129);
    }
    void Sa()
    {
        m_r->SaReady();
    }
    void OldPayload()
    {
        m_r->PayloadReceived(100, Simulator::Now() - MilliSeconds(300));
    }
    void NewPayload()
    {
        m_r->PayloadReceived(100, Simulator::Now() - MilliSeconds(10));
    }

    void DoRun() override
    {
        Mip6IkeResults r("msrd", 40, 3);
        m_r = &r;
        At(0.5, &ResultsTestCase::NewPayload); // before any handover: timeline only
        At(1.0, &ResultsTestCase::L2);
        At(1.1, &ResultsTestCase::Mv);
        At(1.1, &ResultsTestCase::Coa);
        At(1.1, &ResultsTestCase::Bu);
        At(1.2, &ResultsTestCase::BaRefused); // a refusal is no BA received
        At(1.25, &ResultsTestCase::OldPayload); // sent before the L2 start
        At(1.3, &ResultsTestCase::Sa);
        At(1.4, &ResultsTestCase::Ba);
        At(1.45, &ResultsTestCase::NewPayload); // recovery: 0.45 s
        At(1.5, &ResultsTestCase::Bu);          // later events do not move the row
        At(1.6, &ResultsTestCase::Ba);
        At(2.0, &ResultsTestCase::L2); // a second handover without recovery
        At(2.1, &ResultsTestCase::Bu);
        Simulator::Stop(Seconds(2.5));
        Simulator::Run();
        r.SetIke(1, 2, 176);
        const auto& rows = r.GetRows();
        NS_TEST_ASSERT_MSG_EQ(rows.size(), 2u, "two rows");
        NS_TEST_EXPECT_MSG_EQ(rows[0].handover, 1u, "numbered from 1");
        NS_TEST_EXPECT_MSG_EQ(rows[0].buSent, Seconds(1.1), "first BU");
        NS_TEST_EXPECT_MSG_EQ(rows[0].baReceived, Seconds(1.4), "first accepted BA");
        NS_TEST_EXPECT_MSG_EQ(rows[0].trafficResumed, Seconds(1.45), "first new payload");
        NS_TEST_EXPECT_MSG_EQ(rows[0].Recovery(), MilliSeconds(450), "recovery");
        NS_TEST_EXPECT_MSG_EQ(rows[1].Recovery(), Time::Max(), "no recovery in row 2");
        NS_TEST_EXPECT_MSG_EQ(r.GetRxPackets(), 3u, "payload packets");

        const std::string dir = CreateTempDirFilename("mip6ike-results");
        std::string error;
        mkdir(dir.c_str(), 0700);
        NS_TEST_ASSERT_MSG_EQ(r.WriteSummary(dir + "/summary.csv", &error), true, error);
        NS_TEST_ASSERT_MSG_EQ(r.WriteTimeline(dir + "/timeline.csv", Seconds(0.05), &error),
                              true,
                              error);
        std::ifstream s(dir + "/summary.csv");
        std::stringstream all;
        all << s.rdbuf();
        NS_TEST_EXPECT_MSG_EQ(
            all.str(),
            std::string("scheme,host,rate_kbps,seed,handover,l2_s,movement_detected_s,"
                        "coa_ready_s,bu_sent_s,ba_received_s,sa_ready_s,traffic_resumed_s,"
                        "recovery_s,ike_msgs,ike_bytes\n"
                        "msrd,ns3,40,3,1,1.000000,1.100000,1.100000,1.100000,1.400000,"
                        "1.300000,1.450000,0.450000,2,176\n"
                        "msrd,ns3,40,3,2,2.000000,,,2.100000,,,,,,\n"),
            "summary.csv");
        std::ifstream t(dir + "/timeline.csv");
        std::string line;
        std::vector<std::string> lines;
        while (std::getline(t, line))
        {
            lines.push_back(line);
        }
        NS_TEST_ASSERT_MSG_EQ(lines.size(), 147u, "header + bins up to the last packet (1.45 s)");
        NS_TEST_EXPECT_MSG_EQ(lines[0], "time_s,rx_bytes", "timeline header");
        NS_TEST_EXPECT_MSG_EQ(lines[51], "0.50,100", "bin of the 0.5 s packet");
        NS_TEST_EXPECT_MSG_EQ(lines[126], "1.25,100", "bin of the old packet");
        NS_TEST_EXPECT_MSG_EQ(lines[146], "1.45,100", "bin of the first new packet");
        NS_TEST_EXPECT_MSG_EQ(lines[1], "0.00,0", "empty bin");
        Simulator::Destroy();
    }
};

/**
 * \ingroup mip6ike-test
 * The suite.
 */
class Mip6IkeExperimentTestSuite : public TestSuite
{
  public:
    Mip6IkeExperimentTestSuite()
        : TestSuite("mip6ike-experiment", UNIT)
    {
        AddTestCase(new ClassifyTestCase, TestCase::QUICK);
        AddTestCase(new DropperTestCase, TestCase::QUICK);
        AddTestCase(new ResultsTestCase, TestCase::QUICK);
    }
};

Mip6IkeExperimentTestSuite g_mip6ikeExperimentTestSuite; //!< static instance

} // namespace
