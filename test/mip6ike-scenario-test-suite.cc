/*
 * Whole-scenario tests of the ns-3 models on the main paper's testbed
 * (helper/mip6ike-testbed.h): MN, HA, CN, two access routers; the MN boots
 * in foreign network 1 and hands over to foreign network 2 by a CSMA link
 * switch.  What is checked comes from the agents' trace sources and from
 * the frames on the wire (helper/mip6ike-wire.h), never from the models'
 * internals:
 *
 *  - bootstrap: IKE_SA_INIT + IKE_AUTH from the CoA, then a BU (ESP with a
 *    Home Address option) whose SPI is one of the SAs IKE installed on the
 *    MN (no other SA exists with the msrd scheme), and a BA with status 0;
 *    that IKE_AUTH carried the HoA in TSi is checked on the decrypted
 *    capture (test/tshark/check-pcaps.sh);
 *  - every scheme's handover resumes the CN -> HoA flow;
 *  - at a handover msrd sends no IKE_SA_INIT or IKE_AUTH, renegotiate both;
 *  - a lost BA: the BU is retransmitted 1.5 s later on the first
 *    registration (RFC 6275 InitialBindackTimeoutFirstReg) and 1 s later
 *    on a later one (InitialBindackTimeout).
 */
#include "ns3/boolean.h"
#include "ns3/csma-net-device.h"
#include "ns3/mip6ike-helper.h"
#include "ns3/mip6ike-results.h"
#include "ns3/mip6ike-testbed.h"
#include "ns3/mip6ike-wire.h"
#include "ns3/rng-seed-manager.h"
#include "ns3/simulator.h"
#include "ns3/string.h"
#include "ns3/test.h"
#include "ns3/uinteger.h"

#include <set>
#include <string>
#include <vector>

using namespace ns3;

namespace
{

/**
 * \ingroup mip6ike-test
 * One run of the testbed: build, install, optionally drop BAs, run, and
 * keep what the traces and the wire showed.
 */
struct Scenario
{
    std::string scheme = "msrd";   //!< scheme
    double rateKbps = 100;         //!< CBR rate (0 = no flow)
    double handoverAt = 4;         //!< 0 = no handover
    double duration = 8;           //!< simulated seconds
    uint32_t dropBaSkip = 0;       //!< BAs let through before dropping
    uint32_t dropBaCount = 0;      //!< BAs dropped at the MN (0 = none)
    uint32_t rngRun = 1;           //!< RngSeedManager run number

    // results
    std::vector<Time> buTimes;                   //!< every BU transmission
    std::vector<int> baStatus;                   //!< every accepted BA's status
    std::vector<Time> baTimes;                   //!< and its time
    std::set<uint32_t> mnSpis;                   //!< SPIs of the SAs the MN installed
    std::vector<Mip6IkeWireInfo> wireBefore;     //!< frames at the HA before the handover
    std::vector<Mip6IkeWireInfo> wireAfter;      //!< ... after it
    std::vector<Mip6IkeHandoverRow> rows;        //!< results rows
    uint64_t rxPackets = 0;                      //!< payload packets at the MN
    uint32_t dropped = 0;                        //!< frames the dropper dropped

    /** \param t time \return true once the handover has started */
    bool After(Time t) const
    {
        return handoverAt > 0 && t >= Seconds(handoverAt);
    }

    void OnBu(Ipv6Address, Ipv6Address, uint16_t, int)
    {
        buTimes.push_back(Simulator::Now());
    }

    void OnBa(Ipv6Address, Ipv6Address, uint16_t, int status)
    {
        baStatus.push_back(status);
        baTimes.push_back(Simulator::Now());
    }

    void OnSa(uint32_t spi, Ipv6Address, Ipv6Address)
    {
        mnSpis.insert(spi);
    }

    void OnFrame(const Mip6IkeWireInfo& f)
    {
        (After(Simulator::Now()) ? wireAfter : wireBefore).push_back(f);
    }

    /** Build everything, run, collect. */
    void Run()
    {
        RngSeedManager::SetRun(rngRun);
        Mip6IkeTestbedConfig config;
        config.linkDelay = MilliSeconds(2);
        Mip6IkeTestbed testbed(config);
        Mip6IkeHelper mip6;
        mip6.SetScheme(scheme);
        mip6.SetHomeNetwork(Mip6IkeTestbed::HomeAgentAddress(), Mip6IkeTestbed::HomePrefix(), 64);
        mip6.SetAgentAttribute("NullCipher", BooleanValue(true));
        Ptr<Mip6IkeAgent> ha = mip6.InstallHomeAgent(testbed.GetHomeAgent(), testbed.GetHomeDevice());
        const Ipv6Address hoa = Mip6IkeTestbed::HomeAddress(0);
        Ptr<Mip6IkeAgent> mn = mip6.InstallMobileNode(testbed.GetMobileNodes().Get(0), hoa);
        int64_t stream = 10;
        stream += testbed.AssignStreams(stream);
        mip6.AssignStreams(stream);

        mn->TraceConnectWithoutContext("BuSent", MakeCallback(&Scenario::OnBu, this));
        mn->TraceConnectWithoutContext("BaReceived", MakeCallback(&Scenario::OnBa, this));
        mn->TraceConnectWithoutContext("SaInstalled", MakeCallback(&Scenario::OnSa, this));
        Ptr<Mip6IkeWireCounter> wire = CreateObject<Mip6IkeWireCounter>();
        wire->Attach(testbed.GetHomeAgentUplinks());
        wire->TraceConnectWithoutContext("Frame", MakeCallback(&Scenario::OnFrame, this));

        Ptr<Mip6IkeFrameDropper> dropper;
        if (dropBaCount > 0)
        {
            dropper = CreateObject<Mip6IkeFrameDropper>();
            dropper->SetAttribute("Match", StringValue("ba"));
            dropper->SetAttribute("Skip", UintegerValue(dropBaSkip));
            dropper->SetAttribute("Count", UintegerValue(dropBaCount));
            DynamicCast<CsmaNetDevice>(testbed.GetMobileDevice(0))->SetReceiveErrorModel(dropper);
        }

        Mip6IkeResults results(scheme, rateKbps, 1);
        results.Connect(mn);
        if (rateKbps > 0)
        {
            Ptr<Mip6IkeCbrSink> sink = CreateObject<Mip6IkeCbrSink>();
            testbed.GetMobileNodes().Get(0)->AddApplication(sink);
            sink->TraceConnectWithoutContext(
                "Rx",
                MakeCallback(&Mip6IkeResults::PayloadReceived, &results));
            Ptr<Mip6IkeCbrSource> source = CreateObject<Mip6IkeCbrSource>();
            source->SetAttribute("Remote", Ipv6AddressValue(hoa));
            source->SetAttribute("Rate", DataRateValue(DataRate(rateKbps * 1000)));
            testbed.GetCorrespondent()->AddApplication(source);
            source->SetStartTime(Seconds(1));
            source->SetStopTime(Seconds(duration));
        }
        if (handoverAt > 0)
        {
            Simulator::Schedule(Seconds(handoverAt), [&]() {
                results.L2HandoverStart();
                testbed.Handover(0, MilliSeconds(50));
            });
            Simulator::Schedule(Seconds(handoverAt) + MilliSeconds(50),
                                [&]() { mn->NotifyL2Handover(testbed.GetMobileDevice(0)); });
        }
        Simulator::Stop(Seconds(duration));
        Simulator::Run();
        results.CollectIke(mn);
        rows = results.GetRows();
        rxPackets = results.GetRxPackets();
        dropped = dropper ? dropper->GetDropped() : 0;
        Simulator::Destroy();
    }

    /** \param v frames \param k kind \return how many of that kind */
    static uint32_t Count(const std::vector<Mip6IkeWireInfo>& v, Mip6IkeWireInfo::Kind k)
    {
        uint32_t n = 0;
        for (const auto& f : v)
        {
            n += f.kind == k ? 1 : 0;
        }
        return n;
    }
};

/**
 * \ingroup mip6ike-test
 * Bootstrap in a foreign network (main paper Fig. 7):
 *   MN (CoA)                         HA
 *     IKE_SA_INIT  ----------------->
 *                  <-----------------  IKE_SA_INIT
 *     IKE_AUTH {TSi = HoA}  -------->
 *                  <-----------------  IKE_AUTH
 *     ESP{BU} + HAO(HoA) ----------->    (SPI of an SA for the HoA)
 *                  <-----------------  ESP{BA status 0} + RH2(HoA)
 */
class BootstrapTestCase : public TestCase
{
  public:
    BootstrapTestCase()
        : TestCase("bootstrap: IKE from the CoA, then BU and BA under the SAs it created")
    {
    }

  private:
    void DoRun() override
    {
        Scenario s;
        s.handoverAt = 0;
        s.rateKbps = 0;
        s.duration = 3;
        s.Run();
        NS_TEST_ASSERT_MSG_EQ(s.baStatus.empty(), false, "no BA accepted");
        NS_TEST_EXPECT_MSG_EQ(s.baStatus.front(), 0, "BA status");
        NS_TEST_EXPECT_MSG_GT(Scenario::Count(s.wireBefore, Mip6IkeWireInfo::IKE_SA_INIT),
                              1u,
                              "IKE_SA_INIT request and response on the wire");
        NS_TEST_EXPECT_MSG_GT(Scenario::Count(s.wireBefore, Mip6IkeWireInfo::IKE_AUTH),
                              1u,
                              "IKE_AUTH request and response on the wire");
        NS_TEST_EXPECT_MSG_EQ(s.mnSpis.empty(), false, "the MN installed no SA");
        // The BU on the wire: ESP with a Home Address option, under an SA
        // IKE installed for the HoA; the BA: ESP with a Type 2 RH.
        uint32_t bus = 0;
        uint32_t bas = 0;
        bool ikeBeforeBu = false;
        bool seenIkeAuth = false;
        for (const auto& f : s.wireBefore)
        {
            seenIkeAuth = seenIkeAuth || f.kind == Mip6IkeWireInfo::IKE_AUTH;
            if (f.hao)
            {
                bus++;
                NS_TEST_EXPECT_MSG_EQ(f.kind, Mip6IkeWireInfo::ESP, "BU not under ESP");
                NS_TEST_EXPECT_MSG_EQ(s.mnSpis.count(f.espSpi),
                                      1u,
                                      "the BU's SPI is not one of the SAs IKE installed");
                ikeBeforeBu = ikeBeforeBu || seenIkeAuth;
            }
            if (f.rh2)
            {
                bas++;
                NS_TEST_EXPECT_MSG_EQ(f.kind, Mip6IkeWireInfo::ESP, "BA not under ESP");
            }
        }
        NS_TEST_EXPECT_MSG_GT(bus, 0u, "no BU (HAO) on the wire");
        NS_TEST_EXPECT_MSG_GT(bas, 0u, "no BA (RH2) on the wire");
        NS_TEST_EXPECT_MSG_EQ(ikeBeforeBu, true, "the BU left before IKE_AUTH");
    }
};

/**
 * \ingroup mip6ike-test
 * One scheme's handover resumes the CN -> HoA flow through the new path.
 */
class HandoverResumesTestCase : public TestCase
{
  public:
    explicit HandoverResumesTestCase(const std::string& scheme)
        : TestCase("handover resumes traffic: " + scheme),
          m_scheme(scheme)
    {
    }

  private:
    void DoRun() override
    {
        Scenario s;
        s.scheme = m_scheme;
        s.Run();
        NS_TEST_ASSERT_MSG_EQ(s.rows.size(), 1u, "one handover row");
        const auto& r = s.rows.front();
        NS_TEST_EXPECT_MSG_NE(r.trafficResumed, Time::Max(), "traffic did not resume");
        NS_TEST_EXPECT_MSG_NE(r.baReceived, Time::Max(), "no BA after the handover");
        NS_TEST_EXPECT_MSG_NE(r.coaReady, Time::Max(), "no CoA after the handover");
        NS_TEST_EXPECT_MSG_GT(s.rxPackets, 0u, "no payload at all");
        NS_TEST_EXPECT_MSG_LT(r.Recovery(), Seconds(4), "recovery longer than 4 s");
    }

    std::string m_scheme; //!< scheme under test
};

/**
 * \ingroup mip6ike-test
 * At a handover, msrd updates the SAs in place (one INFORMATIONAL
 * exchange) while renegotiate runs IKE_SA_INIT and IKE_AUTH again.
 */
class IkeAtHandoverTestCase : public TestCase
{
  public:
    IkeAtHandoverTestCase()
        : TestCase("IKE at a handover: msrd sends no IKE_SA_INIT or IKE_AUTH, renegotiate both")
    {
    }

  private:
    void DoRun() override
    {
        Scenario msrd;
        msrd.scheme = "msrd";
        msrd.rateKbps = 40;
        msrd.Run();
        NS_TEST_EXPECT_MSG_EQ(Scenario::Count(msrd.wireAfter, Mip6IkeWireInfo::IKE_SA_INIT),
                              0u,
                              "msrd: IKE_SA_INIT at the handover");
        NS_TEST_EXPECT_MSG_EQ(Scenario::Count(msrd.wireAfter, Mip6IkeWireInfo::IKE_AUTH),
                              0u,
                              "msrd: IKE_AUTH at the handover");
        NS_TEST_EXPECT_MSG_GT(Scenario::Count(msrd.wireAfter, Mip6IkeWireInfo::INFORMATIONAL),
                              0u,
                              "msrd: no INFORMATIONAL (SA address update) at the handover");

        Scenario reneg;
        reneg.scheme = "renegotiate";
        reneg.rateKbps = 40;
        reneg.Run();
        NS_TEST_EXPECT_MSG_GT(Scenario::Count(reneg.wireAfter, Mip6IkeWireInfo::IKE_SA_INIT),
                              1u,
                              "renegotiate: no IKE_SA_INIT exchange at the handover");
        NS_TEST_EXPECT_MSG_GT(Scenario::Count(reneg.wireAfter, Mip6IkeWireInfo::IKE_AUTH),
                              1u,
                              "renegotiate: no IKE_AUTH exchange at the handover");
        // and the agents' per-handover records agree with the wire
        NS_TEST_ASSERT_MSG_EQ(msrd.rows.size(), 1u, "msrd row");
        NS_TEST_ASSERT_MSG_EQ(reneg.rows.size(), 1u, "renegotiate row");
        NS_TEST_EXPECT_MSG_LT(msrd.rows[0].ikeMsgs, reneg.rows[0].ikeMsgs, "IKE messages per handover");
    }
};

/**
 * \ingroup mip6ike-test
 * A lost BA: RFC 6275 §11.8: the BU is retransmitted after
 * InitialBindackTimeoutFirstReg (1.5 s) on the first registration and
 * after InitialBindackTimeout (1 s) on a later one.
 */
class LostBaTestCase : public TestCase
{
  public:
    explicit LostBaTestCase(bool first)
        : TestCase(first ? "lost BA on the first registration: BU again after 1.5 s"
                         : "lost BA after a handover: BU again after 1 s"),
          m_first(first)
    {
    }

  private:
    void DoRun() override
    {
        Scenario s;
        s.rateKbps = 0;
        s.dropBaCount = 1;
        s.dropBaSkip = m_first ? 0 : 1;
        s.handoverAt = m_first ? 0 : 4;
        s.duration = m_first ? 4 : 7;
        s.Run();
        NS_TEST_ASSERT_MSG_EQ(s.dropped, 1u, "the dropper did not drop one BA");
        // the BU transmissions of the registration whose BA was lost
        std::vector<Time> bus;
        for (Time t : s.buTimes)
        {
            if (m_first ? t < Seconds(4) : t >= Seconds(4))
            {
                bus.push_back(t);
            }
        }
        NS_TEST_ASSERT_MSG_GT(bus.size(), 1u, "the BU was not retransmitted");
        const Time gap = bus[1] - bus[0];
        const Time want = m_first ? MilliSeconds(1500) : Seconds(1);
        NS_TEST_EXPECT_MSG_EQ_TOL(gap, want, MilliSeconds(5), "retransmission interval");
        NS_TEST_EXPECT_MSG_EQ(s.baStatus.empty(), false, "no BA accepted in the end");
        NS_TEST_EXPECT_MSG_EQ(s.baStatus.back(), 0, "final BA status");
    }

    bool m_first; //!< first registration or a later one
};

/**
 * \ingroup mip6ike-test
 * The HA's first answers to a new CoA are not lost at the new access
 * router behind the traffic tunnelled to the same CoA:
 *   MN (new CoA)          AR2 (no neighbour entry yet)          HA
 *     INFORMATIONAL{SA_ADDRESS_UPDATE} ---------------------->
 *     ESP{BU} ----------------------------------------------->
 *                          <-- INFORMATIONAL response, ESP{BA},
 *                              tunnelled CBR packets ... (queued until
 *                              AR2 has resolved the CoA)
 *                NS(CoA) <-- AR2;  NA --> AR2
 *                          --> the queue, in order
 * ns-3 held the NS back by a random 0-10 ms and keeps 3 waiting packets,
 * dropping the oldest: at a few Mbit/s the IKE response and the BA were
 * dropped, the MN retransmitted the INFORMATIONAL request (3 IKE messages
 * instead of 2) and got a BA only for the BU retransmitted 1 s later.
 */
class FirstBaAfterHandoverTestCase : public TestCase
{
  public:
    FirstBaAfterHandoverTestCase()
        : TestCase("msrd at 2000 kbit per s: the first BU after the handover gets its BA, 2 IKE messages")
    {
    }

  private:
    void DoRun() override
    {
        for (uint32_t run = 1; run <= 4; ++run)
        {
            Scenario s;
            s.scheme = "msrd";
            s.rateKbps = 2000;
            s.duration = 6;
            s.rngRun = run;
            s.Run();
            NS_TEST_ASSERT_MSG_EQ(s.rows.size(), 1u, "one handover row");
            const auto& r = s.rows.front();
            NS_TEST_ASSERT_MSG_NE(r.buSent, Time::Max(), "run " << run << ": no BU");
            NS_TEST_ASSERT_MSG_NE(r.baReceived, Time::Max(), "run " << run << ": no BA");
            NS_TEST_EXPECT_MSG_LT(r.baReceived - r.buSent,
                                  MilliSeconds(100),
                                  "run " << run << ": BA only for a retransmitted BU");
            NS_TEST_EXPECT_MSG_EQ(r.ikeMsgs, int64_t(2), "run " << run << ": IKE messages at the handover");
        }
    }
};

/**
 * \ingroup mip6ike-test
 * The scenario suite.
 */
class Mip6IkeScenarioTestSuite : public TestSuite
{
  public:
    Mip6IkeScenarioTestSuite()
        : TestSuite("mip6ike-scenario", SYSTEM)
    {
        AddTestCase(new BootstrapTestCase, TestCase::QUICK);
        for (const char* scheme :
             {"msrd", "renegotiate", "migrate", "migrate-kmaddress", "mobike", "static"})
        {
            AddTestCase(new HandoverResumesTestCase(scheme), TestCase::QUICK);
        }
        AddTestCase(new IkeAtHandoverTestCase, TestCase::QUICK);
        AddTestCase(new LostBaTestCase(true), TestCase::QUICK);
        AddTestCase(new LostBaTestCase(false), TestCase::QUICK);
        AddTestCase(new FirstBaAfterHandoverTestCase, TestCase::QUICK);
    }
};

Mip6IkeScenarioTestSuite g_mip6ikeScenarioTestSuite; //!< static instance

} // namespace
