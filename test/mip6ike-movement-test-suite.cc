/*
 * Tests of the mobile node's movement detection (model/mip6ike-movement.h):
 * Router Advertisements from ns-3's Radvd, SLAAC of the CoA, DAD per mode,
 * the default route, a second movement, and the link-layer hint.
 *
 * Topology:   R1 ---- CSMA 2001:db8:2::/64 ---- MN ---- CSMA 2001:db8:3::/64 ---- R2
 * R1's Radvd starts at 1 s, R2's at MoveAt (RAs every 100-200 ms).
 */
#include "ns3/csma-helper.h"
#include "ns3/csma-net-device.h"
#include "ns3/enum.h"
#include "ns3/icmpv6-header.h"
#include "ns3/internet-stack-helper.h"
#include "ns3/ipv6-address-helper.h"
#include "ns3/ipv6-interface.h"
#include "ns3/ipv6-l3-protocol.h"
#include "ns3/ipv6-route.h"
#include "ns3/ipv6-routing-protocol.h"
#include "ns3/mip6ike-movement.h"
#include "ns3/packet.h"
#include "ns3/radvd-helper.h"
#include "ns3/radvd-interface.h"
#include "ns3/radvd-prefix.h"
#include "ns3/simulator.h"
#include "ns3/test.h"

#include <string>
#include <vector>

using namespace ns3;

/**
 * \ingroup mip6ike-test
 * One DAD mode: times from movement to CoA usable, DAD probes, state,
 * default route; then a second movement to R2's link.
 */
class Mip6IkeMovementTestCase : public TestCase
{
  public:
    /**
     * \param mode DAD mode
     * \param retrans RetransTimer
     * \param autonomous Radvd prefixes with the A flag (ns-3 SLAACs too)
     */
    Mip6IkeMovementTestCase(Mip6IkeDadMode mode, Time retrans, bool autonomous)
        : TestCase(Describe(mode, retrans, autonomous)),
          m_mode(mode),
          m_retrans(retrans),
          m_autonomous(autonomous)
    {
    }

  private:
    /** \param mode m \param retrans r \param autonomous a \return name */
    static std::string Describe(Mip6IkeDadMode mode, Time retrans, bool autonomous)
    {
        std::string m = mode == MIP6IKE_DAD_ON    ? "on"
                        : mode == MIP6IKE_DAD_OFF ? "off"
                                                  : "optimistic";
        return "DAD " + m + ", RetransTimer " + std::to_string(retrans.GetMilliSeconds()) +
               " ms, A flag " + (autonomous ? "set" : "clear") +
               ": CoA timing, probes, routes, second movement";
    }

    Mip6IkeDadMode m_mode;              //!< DAD mode
    Time m_retrans;                     //!< RetransTimer
    bool m_autonomous;                  //!< A flag
    std::vector<Time> m_moveAt;         //!< MovementDetected times
    std::vector<Ipv6Address> m_prefix;  //!< their prefixes
    std::vector<Time> m_readyAt;        //!< CoaReady times
    std::vector<Ipv6Address> m_coa;     //!< their CoAs
    std::vector<Time> m_callbackAt;     //!< CoA callback times
    std::vector<Time> m_dadProbes;      //!< NS from :: sent by the MN
    uint32_t m_rs = 0;                  //!< RS sent by the MN after the L2 hint
    Time m_l2At = Seconds(6);           //!< when the L2 hint comes
    uint32_t m_l2 = 0;                  //!< L2HandoverStart traces

    /** \param p prefix \param r router \param i interface */
    void Moved(Ipv6Address p, Ipv6Address /* r */, uint32_t /* i */)
    {
        m_moveAt.push_back(Simulator::Now());
        m_prefix.push_back(p);
    }

    /** \param coa the CoA */
    void Ready(Ipv6Address coa)
    {
        m_readyAt.push_back(Simulator::Now());
        m_coa.push_back(coa);
    }

    /** \param coa CoA \param iface interface */
    void Callback(Ipv6Address /* coa */, uint32_t /* iface */)
    {
        m_callbackAt.push_back(Simulator::Now());
    }

    /** \param d device */
    void L2(Ptr<NetDevice> /* d */)
    {
        m_l2++;
    }

    /**
     * Promiscuous IPv6 handler on the routers' devices: what the MN sends.
     * \param p packet (IPv6 first)
     * \param to link-layer destination
     */
    void Sniff(Ptr<NetDevice> /* d */,
               Ptr<const Packet> p,
               uint16_t /* proto */,
               const Address& /* from */,
               const Address& /* to */,
               NetDevice::PacketType /* type */)
    {
        Ptr<Packet> c = p->Copy();
        Ipv6Header ip;
        if (c->GetSize() < 41)
        {
            return;
        }
        c->RemoveHeader(ip);
        if (ip.GetNextHeader() != 58)
        {
            return;
        }
        uint8_t type = 0;
        c->CopyData(&type, 1);
        if (type == Icmpv6Header::ICMPV6_ND_NEIGHBOR_SOLICITATION && ip.GetSource().IsAny())
        {
            m_dadProbes.push_back(Simulator::Now());
        }
        if (type == Icmpv6Header::ICMPV6_ND_ROUTER_SOLICITATION && Simulator::Now() >= m_l2At)
        {
            m_rs++;
        }
    }

    void DoRun() override
    {
        const Time moveAt = m_l2At;
        NodeContainer r1r2;
        r1r2.Create(2);
        Ptr<Node> mn = CreateObject<Node>();
        InternetStackHelper stack;
        stack.SetIpv4StackInstall(false);
        stack.Install(r1r2);
        stack.Install(mn);
        CsmaHelper csma;
        NetDeviceContainer l1 = csma.Install(NodeContainer(r1r2.Get(0), mn));
        NetDeviceContainer l2 = csma.Install(NodeContainer(r1r2.Get(1), mn));
        Ipv6AddressHelper addr;
        addr.SetBase(Ipv6Address("2001:db8:2::"), Ipv6Prefix(64));
        Ipv6InterfaceContainer i1 = addr.Assign(NetDeviceContainer(l1.Get(0)));
        addr.SetBase(Ipv6Address("2001:db8:3::"), Ipv6Prefix(64));
        Ipv6InterfaceContainer i2 = addr.Assign(NetDeviceContainer(l2.Get(0)));
        i1.SetForwarding(0, true);
        i2.SetForwarding(0, true);
        addr.AssignWithoutAddress(NetDeviceContainer(l1.Get(1), l2.Get(1)));

        for (int k = 0; k < 2; k++)
        {
            RadvdHelper radvd;
            const uint32_t ifIndex = (k == 0 ? i1 : i2).GetInterfaceIndex(0);
            radvd.AddAnnouncedPrefix(ifIndex,
                                     Ipv6Address(k == 0 ? "2001:db8:2::" : "2001:db8:3::"),
                                     64);
            radvd.GetRadvdInterface(ifIndex)->SetMinRtrAdvInterval(100);
            radvd.GetRadvdInterface(ifIndex)->SetMaxRtrAdvInterval(200);
            for (auto& p : radvd.GetRadvdInterface(ifIndex)->GetPrefixes())
            {
                p->SetAutonomousFlag(m_autonomous);
            }
            ApplicationContainer app = radvd.Install(r1r2.Get(k));
            app.Start(k == 0 ? Seconds(1) : moveAt);
            app.Stop(k == 0 ? moveAt : Seconds(20));
        }

        Ptr<Mip6IkeMovementDetector> det = CreateObject<Mip6IkeMovementDetector>();
        det->SetAttribute("DadMode", EnumValue(m_mode));
        det->SetAttribute("RetransTimer", TimeValue(m_retrans));
        det->TraceConnectWithoutContext("MovementDetected",
                                        MakeCallback(&Mip6IkeMovementTestCase::Moved, this));
        det->TraceConnectWithoutContext("CoaReady",
                                        MakeCallback(&Mip6IkeMovementTestCase::Ready, this));
        det->TraceConnectWithoutContext("L2HandoverStart",
                                        MakeCallback(&Mip6IkeMovementTestCase::L2, this));
        det->SetCoaCallback(MakeCallback(&Mip6IkeMovementTestCase::Callback, this));
        det->Start(mn, {});
        for (uint32_t k = 0; k < 2; k++)
        {
            r1r2.Get(k)->RegisterProtocolHandler(MakeCallback(&Mip6IkeMovementTestCase::Sniff,
                                                              this),
                                                 Ipv6L3Protocol::PROT_NUMBER,
                                                 (k == 0 ? l1 : l2).Get(0),
                                                 true);
        }
        // The link-layer hint on the second link, just as its router starts.
        Simulator::Schedule(moveAt, &Mip6IkeMovementDetector::NotifyL2Handover, det, l2.Get(1));

        Ptr<Ipv6L3Protocol> ipv6 = mn->GetObject<Ipv6L3Protocol>();
        const uint32_t if1 = ipv6->GetInterfaceForDevice(l1.Get(1));
        const uint32_t if2 = ipv6->GetInterfaceForDevice(l2.Get(1));
        Ipv6Address coa1Seen;
        bool coa1StateOk = false;
        Ipv6Address gw1;
        Simulator::Schedule(moveAt - MilliSeconds(10), [&]() {
            coa1Seen = det->GetCoa();
            Ptr<Ipv6Interface> ifc = ipv6->GetInterface(if1);
            for (uint32_t j = 0; j < ifc->GetNAddresses(); j++)
            {
                if (ifc->GetAddress(j).GetAddress() == coa1Seen)
                {
                    coa1StateOk =
                        ifc->GetAddress(j).GetState() == Ipv6InterfaceAddress::PREFERRED;
                }
            }
            Ipv6Header h;
            h.SetDestination(Ipv6Address("2001:db8:99::1"));
            Socket::SocketErrno err;
            Ptr<Ipv6Route> rt = ipv6->GetRoutingProtocol()->RouteOutput(nullptr, h, nullptr, err);
            if (rt)
            {
                gw1 = rt->GetGateway();
            }
        });

        Simulator::Stop(Seconds(12));
        Simulator::Run();

        const Time dad = m_mode == MIP6IKE_DAD_ON ? m_retrans : Time(0);
        NS_TEST_ASSERT_MSG_EQ(m_moveAt.size(), 2u, "two movements");
        NS_TEST_ASSERT_MSG_EQ(m_readyAt.size(), 2u, "two CoAs ready");
        NS_TEST_EXPECT_MSG_EQ(m_callbackAt.size(), 2u, "callback per CoA");
        NS_TEST_EXPECT_MSG_EQ(m_prefix[0], Ipv6Address("2001:db8:2::"), "first prefix");
        NS_TEST_EXPECT_MSG_EQ(m_prefix[1], Ipv6Address("2001:db8:3::"), "second prefix");
        NS_TEST_EXPECT_MSG_EQ(det->GetMovements(), 2u, "movements counted");
        for (size_t k = 0; k < 2; k++)
        {
            NS_TEST_EXPECT_MSG_EQ(m_readyAt[k] - m_moveAt[k],
                                  dad,
                                  "movement " << k << ": CoA usable after the DAD wait");
            NS_TEST_EXPECT_MSG_EQ(m_callbackAt[k], m_readyAt[k], "callback with the trace");
        }
        NS_TEST_EXPECT_MSG_GT(m_moveAt[0], Seconds(1), "first RA after Radvd starts");
        NS_TEST_EXPECT_MSG_LT(m_moveAt[0], Seconds(1.5), "first RA soon after");
        NS_TEST_EXPECT_MSG_GT_OR_EQ(m_moveAt[1], moveAt, "second movement after R2 starts");
        // SLAAC: EUI-64 from the device's MAC.
        NS_TEST_EXPECT_MSG_EQ(m_coa[0],
                              Ipv6Address::MakeAutoconfiguredAddress(l1.Get(1)->GetAddress(),
                                                                     Ipv6Address("2001:db8:2::")),
                              "CoA 1 by SLAAC");
        NS_TEST_EXPECT_MSG_EQ(m_coa[1],
                              Ipv6Address::MakeAutoconfiguredAddress(l2.Get(1)->GetAddress(),
                                                                     Ipv6Address("2001:db8:3::")),
                              "CoA 2 by SLAAC");
        NS_TEST_EXPECT_MSG_EQ(coa1Seen, m_coa[0], "CoA 1 current before the move");
        NS_TEST_EXPECT_MSG_EQ(coa1StateOk, true, "CoA 1 PREFERRED after DAD");
        NS_TEST_EXPECT_MSG_EQ(gw1.IsLinkLocal(), true, "default route via R1's link-local");
        // DAD probes: one per CoA unless off.
        const size_t probes = m_mode == MIP6IKE_DAD_OFF ? 0 : 2;
        NS_TEST_EXPECT_MSG_EQ(m_dadProbes.size(), probes, "DAD probes");
        for (size_t k = 0; k < m_dadProbes.size() && k < 2; k++)
        {
            NS_TEST_EXPECT_MSG_GT_OR_EQ(m_dadProbes[k], m_moveAt[k], "probe after movement");
            NS_TEST_EXPECT_MSG_LT_OR_EQ(m_dadProbes[k],
                                        m_readyAt[k] + MilliSeconds(1000),
                                        "probe soon after movement");
        }
        // The old CoA left interface 1; the new one is on interface 2.
        bool oldGone = true;
        for (uint32_t j = 0; j < ipv6->GetNAddresses(if1); j++)
        {
            oldGone = oldGone && ipv6->GetAddress(if1, j).GetAddress() != m_coa[0];
        }
        NS_TEST_EXPECT_MSG_EQ(oldGone, true, "old CoA removed at the movement");
        NS_TEST_EXPECT_MSG_EQ(ipv6->GetInterfaceForAddress(m_coa[1]), int32_t(if2), "new CoA");
        Ipv6Header h;
        h.SetDestination(Ipv6Address("2001:db8:99::1"));
        Socket::SocketErrno err;
        Ptr<Ipv6Route> rt = ipv6->GetRoutingProtocol()->RouteOutput(nullptr, h, nullptr, err);
        NS_TEST_EXPECT_MSG_NE(rt, nullptr, "a default route after the movement");
        if (rt)
        {
            NS_TEST_EXPECT_MSG_EQ(rt->GetOutputDevice(), l2.Get(1), "via the new link");
        }
        NS_TEST_EXPECT_MSG_EQ(m_l2, 1u, "L2HandoverStart fired");
        NS_TEST_EXPECT_MSG_EQ(m_rs, 1u, "one RS on the L2 hint (ns-3's own RSs were earlier)");
        Simulator::Destroy();
    }
};

/**
 * \ingroup mip6ike-test
 * The suite.
 */
class Mip6IkeMovementTestSuite : public TestSuite
{
  public:
    Mip6IkeMovementTestSuite()
        : TestSuite("mip6ike-movement", UNIT)
    {
        AddTestCase(new Mip6IkeMovementTestCase(MIP6IKE_DAD_ON, Seconds(1), true),
                    TestCase::QUICK);
        AddTestCase(new Mip6IkeMovementTestCase(MIP6IKE_DAD_ON, MilliSeconds(500), false),
                    TestCase::QUICK);
        AddTestCase(new Mip6IkeMovementTestCase(MIP6IKE_DAD_OPTIMISTIC, Seconds(1), true),
                    TestCase::QUICK);
        AddTestCase(new Mip6IkeMovementTestCase(MIP6IKE_DAD_OFF, Seconds(1), false),
                    TestCase::QUICK);
    }
};

/** Static instance: registers the suite. */
static Mip6IkeMovementTestSuite g_mip6ikeMovementTestSuite;
