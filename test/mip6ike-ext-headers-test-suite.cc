/*
 * Tests of the Mobile IPv6 receive path in ns-3 (model/mip6ike-ext-headers.h,
 * model/mip6ike-l4-protocol.h): the Home Address option and Type 2 Routing
 * Header handlers accept or refuse, and the MH / ESP IpL4Protocols hand on
 * the packet byte for byte as it was on the wire.
 *
 * Topology: two nodes on one CSMA link.  Node A sends packets that the C
 * core built (m6ike_mh_build_packet, m6ike_hao_encode) with
 * Ipv6L3Protocol::Send(); node B has the handlers and both L4 protocols,
 * whose callback records what it is given.
 */
#include "ns3/csma-helper.h"
#include "ns3/internet-stack-helper.h"
#include "ns3/ipv6-address-helper.h"
#include "ns3/ipv6-extension-demux.h"
#include "ns3/ipv6-l3-protocol.h"
#include "ns3/ipv6-route.h"
#include "ns3/mip6ike-core-adapter.h"
#include "ns3/mip6ike-ext-headers.h"
#include "ns3/mip6ike-l4-protocol.h"
#include "ns3/packet.h"
#include "ns3/simulator.h"
#include "ns3/test.h"

#include <m6ike/mh.h>

#include <algorithm>
#include <cstring>
#include <vector>

using namespace ns3;

namespace
{

/** One packet handed on by an L4 protocol. */
struct Delivered
{
    int proto;                 //!< 135 or 50
    std::vector<uint8_t> wire; //!< rebuilt packet
};

/** \param s address text \return core address */
m6ike_addr6
A6(const char* s)
{
    return Mip6IkeAddressToCore(Ipv6Address(s));
}

/**
 * A fixed IPv6 header in front of a payload.
 * \param src source \param dst destination \param nh next header
 * \param payload what follows \return the packet
 */
std::vector<uint8_t>
Ip6(const m6ike_addr6& src, const m6ike_addr6& dst, uint8_t nh, const std::vector<uint8_t>& payload)
{
    // Sized once: gcc 12 -O3 reports a false -Warray-bounds on insert()
    // after a 40-octet vector.
    std::vector<uint8_t> p(40 + payload.size(), 0);
    p[0] = 0x60;
    p[4] = uint8_t(payload.size() >> 8);
    p[5] = uint8_t(payload.size());
    p[6] = nh;
    p[7] = 64;
    std::memcpy(&p[8], src.b, 16);
    std::memcpy(&p[24], dst.b, 16);
    std::copy(payload.begin(), payload.end(), p.begin() + 40);
    return p;
}

} // namespace

/**
 * \ingroup mip6ike-test
 * Sends core-built packets from A to B and checks what B's handlers and L4
 * protocols make of them.
 */
class Mip6IkeExtHeadersTestCase : public TestCase
{
  public:
    Mip6IkeExtHeadersTestCase()
        : TestCase("HAO and RH2 handlers accept and refuse, MH and ESP rebuilt byte for byte")
    {
    }

  private:
    std::vector<Delivered> m_got;    //!< what B's L4s handed on
    Ptr<Node> m_a;                   //!< sender
    Ptr<Node> m_b;                   //!< receiver
    uint32_t m_l4Drops = 0;          //!< L4 Drop trace hits

    /**
     * ns-3 writes Flow Label 1 in every IPv6 header it builds (Ipv6Header's
     * default) where the core wrote 0: check and clear it.
     * \param wire packet \return it with Flow Label 0
     */
    static std::vector<uint8_t> ClearFlowLabel(std::vector<uint8_t> wire)
    {
        if (wire.size() >= 4)
        {
            wire[1] &= 0xf0;
            wire[2] = 0;
            wire[3] = 0;
        }
        return wire;
    }

    /** \param wire packet \param iif interface */
    void GotMh(const std::vector<uint8_t>& wire, uint32_t /* iif */)
    {
        m_got.push_back({135, ClearFlowLabel(wire)});
    }

    /** \param wire packet \param iif interface */
    void GotEsp(const std::vector<uint8_t>& wire, uint32_t /* iif */)
    {
        m_got.push_back({50, ClearFlowLabel(wire)});
    }

    /** L4 Drop trace sink. */
    void L4Drop(const Ipv6Header& /* h */, Ptr<const Packet> /* p */)
    {
        m_l4Drops++;
    }

    /** \param pkt a whole packet A sends now */
    void Send(std::vector<uint8_t> pkt)
    {
        Ipv6Address src = Ipv6Address::Deserialize(&pkt[8]);
        Ipv6Address dst = Ipv6Address::Deserialize(&pkt[24]);
        Ptr<Packet> p = Create<Packet>(pkt.data() + 40, uint32_t(pkt.size() - 40));
        m_a->GetObject<Ipv6L3Protocol>()->Send(p, src, dst, pkt[6], nullptr);
    }

    void DoRun() override
    {
        NodeContainer nodes(2);
        m_a = nodes.Get(0);
        m_b = nodes.Get(1);
        InternetStackHelper stack;
        stack.SetIpv4StackInstall(false);
        stack.Install(nodes);
        CsmaHelper csma;
        NetDeviceContainer devs = csma.Install(nodes);
        Ipv6AddressHelper addr;
        addr.SetBase(Ipv6Address("2001:db8:2::"), Ipv6Prefix(64));
        Ipv6InterfaceContainer ifs = addr.Assign(devs);
        const m6ike_addr6 a = Mip6IkeAddressToCore(ifs.GetAddress(0, 1));
        const m6ike_addr6 b = Mip6IkeAddressToCore(ifs.GetAddress(1, 1));
        const m6ike_addr6 hoa = A6("2001:db8:1::100");

        Ptr<Mip6IkeHomeAddressOption> hao;
        Ptr<Mip6IkeType2Routing> rh2;
        Mip6IkeInstallExtensionHandlers(m_b, hao, rh2);
        NS_TEST_ASSERT_MSG_NE(hao, nullptr, "HAO handler");
        NS_TEST_ASSERT_MSG_NE(rh2, nullptr, "RH2 handler");
        Ptr<Mip6IkeHomeAddressOption> hao2;
        Ptr<Mip6IkeType2Routing> rh22;
        Mip6IkeInstallExtensionHandlers(m_b, hao2, rh22);
        NS_TEST_EXPECT_MSG_EQ(hao2, hao, "idempotent: same HAO handler");
        NS_TEST_EXPECT_MSG_EQ(rh22, rh2, "idempotent: same RH2 handler");
        NS_TEST_EXPECT_MSG_EQ(m_b->GetObject<Ipv6ExtensionDemux>()->GetExtension(50),
                              nullptr,
                              "no IPv6 extension 50: ESP reaches the L4");
        rh2->AddHomeAddress(Mip6IkeAddressFromCore(hoa));

        Ptr<Mip6IkeMobilityL4Protocol> mh = CreateObject<Mip6IkeMobilityL4Protocol>();
        Ptr<Mip6IkeEspL4Protocol> esp = CreateObject<Mip6IkeEspL4Protocol>();
        mh->SetNode(m_b);
        esp->SetNode(m_b);
        mh->SetWireCallback(MakeCallback(&Mip6IkeExtHeadersTestCase::GotMh, this));
        esp->SetWireCallback(MakeCallback(&Mip6IkeExtHeadersTestCase::GotEsp, this));
        mh->TraceConnectWithoutContext("Drop",
                                       MakeCallback(&Mip6IkeExtHeadersTestCase::L4Drop, this));
        m_b->GetObject<Ipv6L3Protocol>()->Insert(mh);
        m_b->GetObject<Ipv6L3Protocol>()->Insert(esp);

        uint8_t buf[512];
        m6ike_mh_msg bu;
        std::memset(&bu, 0, sizeof(bu));
        bu.type = M6IKE_MH_BU;
        bu.payload_proto = M6IKE_IPPROTO_NONE;
        bu.u.bu.seq = 7;
        bu.u.bu.flags = M6IKE_BU_FLAG_A | M6IKE_BU_FLAG_H | M6IKE_BU_FLAG_K;
        bu.u.bu.lifetime = 105;
        m6ike_mh_msg ba;
        std::memset(&ba, 0, sizeof(ba));
        ba.type = M6IKE_MH_BA;
        ba.payload_proto = M6IKE_IPPROTO_NONE;
        ba.u.ba.seq = 7;
        ba.u.ba.lifetime = 105;

        // 1 s: BU  IPv6(A -> B) | DstOpt(HAO) | MH(BU)
        int n = m6ike_mh_build_packet(buf, sizeof(buf), &a, &b, &hoa, nullptr, &bu);
        NS_TEST_ASSERT_MSG_GT(n, 0, "BU built");
        const std::vector<uint8_t> buPkt(buf, buf + n);
        // 2 s: BA  IPv6(A -> B) | RH2(HoA) | MH(BA)
        n = m6ike_mh_build_packet(buf, sizeof(buf), &a, &b, nullptr, &hoa, &ba);
        NS_TEST_ASSERT_MSG_GT(n, 0, "BA built");
        const std::vector<uint8_t> baPkt(buf, buf + n);
        // 3 s: RH2 to an address that is not B's home address
        const m6ike_addr6 other = A6("2001:db8:1::999");
        n = m6ike_mh_build_packet(buf, sizeof(buf), &a, &b, nullptr, &other, &ba);
        const std::vector<uint8_t> baOther(buf, buf + n);
        // 4 s: RH2 with Segments Left 0
        std::vector<uint8_t> baSeg0 = baPkt;
        baSeg0[40 + 3] = 0;
        // 5 s: HAO with a multicast address
        const m6ike_addr6 mcast = A6("ff02::1");
        n = m6ike_mh_build_packet(buf, sizeof(buf), &a, &b, &mcast, nullptr, &bu);
        const std::vector<uint8_t> buMcast(buf, buf + n);
        // 6 s: HAO with Option Length 8 instead of 16
        std::vector<uint8_t> buLen8 = buPkt;
        size_t optAt = 0;
        for (size_t i = 42; i + 1 < 64; i++)
        {
            if (buLen8[i] == 201 && buLen8[i + 1] == 16)
            {
                optAt = i;
                break;
            }
        }
        NS_TEST_ASSERT_MSG_NE(optAt, 0u, "HAO found in the BU");
        buLen8[optAt + 1] = 8;
        // 7 s: ESP behind a HAO, as the MN's protected BU travels
        std::vector<uint8_t> ext(64);
        n = m6ike_hao_encode(ext.data(), ext.size(), M6IKE_IPPROTO_ESP, &hoa);
        NS_TEST_ASSERT_MSG_EQ(n, 24, "HAO header");
        ext.resize(n);
        std::vector<uint8_t> espBody(48);
        for (size_t i = 0; i < espBody.size(); i++)
        {
            espBody[i] = uint8_t(i * 7 + 1);
        }
        std::vector<uint8_t> payload = ext;
        payload.insert(payload.end(), espBody.begin(), espBody.end());
        const std::vector<uint8_t> espHao = Ip6(a, b, M6IKE_IPPROTO_DSTOPTS, payload);
        // 8 s: plain ESP; 9 s: ESP behind an RH2 (the HA's protected BA)
        const std::vector<uint8_t> espPlain = Ip6(a, b, M6IKE_IPPROTO_ESP, espBody);
        std::vector<uint8_t> rh(64);
        n = m6ike_rh2_encode(rh.data(), rh.size(), M6IKE_IPPROTO_ESP, &hoa);
        NS_TEST_ASSERT_MSG_EQ(n, 24, "RH2 header");
        rh.resize(n);
        payload = rh;
        payload.insert(payload.end(), espBody.begin(), espBody.end());
        const std::vector<uint8_t> espRh2 = Ip6(a, b, M6IKE_IPPROTO_ROUTING, payload);
        // 10 s: MH behind a Hop-by-Hop header (PadN only): ns-3 removes it
        // without telling anyone, so the packet cannot be rebuilt.
        std::vector<uint8_t> hbh = {135, 0, 1, 4, 0, 0, 0, 0};
        payload = hbh;
        payload.insert(payload.end(), buPkt.begin() + 40 + 24, buPkt.end());
        const std::vector<uint8_t> mhHbh = Ip6(a, b, M6IKE_IPPROTO_HOPOPTS, payload);

        const std::vector<std::vector<uint8_t>> sends =
            {buPkt, baPkt, baOther, baSeg0, buMcast, buLen8, espHao, espPlain, espRh2, mhHbh};
        for (size_t i = 0; i < sends.size(); i++)
        {
            Simulator::Schedule(Seconds(2 + double(i)),
                                &Mip6IkeExtHeadersTestCase::Send,
                                this,
                                sends[i]);
        }
        Simulator::Stop(Seconds(20));
        Simulator::Run();

        NS_TEST_ASSERT_MSG_EQ(m_got.size(), 5u, "BU, BA and three ESP packets handed on");
        NS_TEST_EXPECT_MSG_EQ(m_got[0].proto, 135, "BU to MH");
        NS_TEST_EXPECT_MSG_EQ((m_got[0].wire == buPkt), true, "BU byte for byte");
        NS_TEST_EXPECT_MSG_EQ(m_got[1].proto, 135, "BA to MH");
        NS_TEST_EXPECT_MSG_EQ((m_got[1].wire == baPkt), true, "BA byte for byte");
        NS_TEST_EXPECT_MSG_EQ(m_got[2].proto, 50, "ESP+HAO to ESP");
        NS_TEST_EXPECT_MSG_EQ((m_got[2].wire == espHao), true, "ESP+HAO byte for byte");
        NS_TEST_EXPECT_MSG_EQ(m_got[3].proto, 50, "ESP to ESP");
        NS_TEST_EXPECT_MSG_EQ((m_got[3].wire == espPlain), true, "ESP byte for byte");
        NS_TEST_EXPECT_MSG_EQ(m_got[4].proto, 50, "ESP+RH2 to ESP");
        NS_TEST_EXPECT_MSG_EQ((m_got[4].wire == espRh2), true, "ESP+RH2 byte for byte");

        // The rebuilt MH packets pass the core's parser (checksum over the
        // pseudo-header with the HoA: the addresses are where they were).
        m6ike_ip6_info info;
        m6ike_mh_msg msg;
        NS_TEST_EXPECT_MSG_EQ(
            m6ike_mh_parse_packet(&info, &msg, m_got[0].wire.data(), m_got[0].wire.size()),
            0,
            "BU parses");
        NS_TEST_EXPECT_MSG_EQ(info.has_hao, 1u, "HAO seen by the core");
        NS_TEST_EXPECT_MSG_EQ(m6ike_mh_msg_equal(&msg, &bu), 1, "same BU");
        NS_TEST_EXPECT_MSG_EQ(
            m6ike_mh_parse_packet(&info, &msg, m_got[1].wire.data(), m_got[1].wire.size()),
            0,
            "BA parses");
        NS_TEST_EXPECT_MSG_EQ(info.has_rh2, 1u, "RH2 seen by the core");

        NS_TEST_EXPECT_MSG_EQ(hao->GetAccepted(), 2u, "HAO accepted: BU, ESP");
        NS_TEST_EXPECT_MSG_EQ(hao->GetRejected(), 2u, "HAO refused: multicast, length 8");
        NS_TEST_EXPECT_MSG_EQ(rh2->GetAccepted(), 2u, "RH2 accepted: BA, ESP");
        NS_TEST_EXPECT_MSG_EQ(rh2->GetRejected(), 2u, "RH2 refused: other address, SL 0");
        // ns-3 3.37 does not stop at an option's isDropped (only unknown
        // options stop the chain): the two BUs with a refused HAO still
        // reach the MH protocol, untagged, and are dropped there; so is the
        // MH behind a Hop-by-Hop header that no handler recorded.
        NS_TEST_EXPECT_MSG_EQ(m_l4Drops, 3u, "refused HAO x2 + Hop-by-Hop: not rebuilt");
        NS_TEST_EXPECT_MSG_EQ(mh->GetReceived(), 2u, "MH handed on");
        NS_TEST_EXPECT_MSG_EQ(esp->GetReceived(), 3u, "ESP handed on");
        Simulator::Destroy();
    }
};

/**
 * \ingroup mip6ike-test
 * Mip6IkeWireL4Protocol::Rebuild() on its own: tag length must match what
 * ns-3 removed.
 */
class Mip6IkeRebuildTestCase : public TestCase
{
  public:
    Mip6IkeRebuildTestCase()
        : TestCase("Rebuild refuses a tag that does not account for the removed octets")
    {
    }

  private:
    void DoRun() override
    {
        Ipv6Header h;
        h.SetSource(Ipv6Address("2001:db8::1"));
        h.SetDestination(Ipv6Address("2001:db8::2"));
        h.SetNextHeader(60);
        h.SetPayloadLength(24 + 8);
        h.SetHopLimit(64);
        uint8_t l4[8] = {59, 0, 5, 0, 0, 0, 0, 0};
        Ptr<Packet> p = Create<Packet>(l4, sizeof(l4));
        std::vector<uint8_t> wire;
        NS_TEST_EXPECT_MSG_EQ(Mip6IkeWireL4Protocol::Rebuild(p, h, wire),
                              false,
                              "24 octets removed, no tag");
        Mip6IkeExtHeaderTag tag;
        tag.SetBytes(std::vector<uint8_t>(16, 0));
        p->AddPacketTag(tag);
        NS_TEST_EXPECT_MSG_EQ(Mip6IkeWireL4Protocol::Rebuild(p, h, wire),
                              false,
                              "tag of 16 for 24 removed");
        p->RemovePacketTag(tag);
        std::vector<uint8_t> ext(24, 0);
        ext[0] = 135;
        ext[1] = 2;
        tag.SetBytes(ext);
        p->AddPacketTag(tag);
        NS_TEST_EXPECT_MSG_EQ(Mip6IkeWireL4Protocol::Rebuild(p, h, wire), true, "tag of 24");
        NS_TEST_EXPECT_MSG_EQ(wire.size(), 40u + 24u + 8u, "rebuilt size");
        NS_TEST_EXPECT_MSG_EQ(+wire[6], 60, "next header kept");
        NS_TEST_EXPECT_MSG_EQ(+wire[40], 135, "extension octets in place");
        NS_TEST_EXPECT_MSG_EQ(+wire[64 + 2], 5, "L4 octets in place");
    }
};

/**
 * \ingroup mip6ike-test
 * The suite.
 */
class Mip6IkeExtHeadersTestSuite : public TestSuite
{
  public:
    Mip6IkeExtHeadersTestSuite()
        : TestSuite("mip6ike-ext-headers", UNIT)
    {
        AddTestCase(new Mip6IkeExtHeadersTestCase, TestCase::QUICK);
        AddTestCase(new Mip6IkeRebuildTestCase, TestCase::QUICK);
    }
};

/** Static instance: registers the suite. */
static Mip6IkeExtHeadersTestSuite g_mip6ikeExtHeadersTestSuite;
