/*
 * Tests of the node architecture (main paper Fig. 1-5, doc/NS3-MODELS.md):
 * the IKE daemon application (Mip6IkeIkeDaemon), the MSRD
 * (Mip6IkeMsrd) and the PF_KEY bus (Mip6IkePfkeyBus) aggregated to the
 * node, on the paper's testbed (Mip6IkeTestbed, CSMA link switch).
 *
 *   MN (foreign 1) -- AR1 -- HA -- AR2 -- (foreign 2)
 *
 *   mobility side      MSRD            PF_KEY bus              IKE daemon
 *   set_coa ---------> insert(MPI) 
 *   ACQUIRE{Reference=MPI} (msrd) ---> key-manager -----> IKE_SA_INIT ...
 *   ACQUIRE (renegotiate: no Reference) -> key-manager --> IKE_SA_INIT ...
 */
#include "ns3/boolean.h"
#include "ns3/config.h"
#include "ns3/mip6ike-helper.h"
#include "ns3/mip6ike-ike-daemon.h"
#include "ns3/mip6ike-msrd.h"
#include "ns3/mip6ike-pfkey-bus.h"
#include "ns3/mip6ike-testbed.h"
#include "ns3/nstime.h"
#include "ns3/packet.h"
#include "ns3/rng-seed-manager.h"
#include "ns3/simulator.h"
#include "ns3/test.h"

#include <m6ike/pfkey.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace ns3;

namespace
{

/** One PF_KEY message seen on the MN's bus. */
struct PfkeySeen
{
    Time time;        //!< when
    std::string from; //!< sender role
    std::string to;   //!< recipient role
    uint8_t type;     //!< sadb_msg_type
    bool hasRef;      //!< Reference extension present
    uint32_t mpi;     //!< its MPI
    uint32_t msrdMpi; //!< the MN's MSRD entry at that time (0: none)
};

/** One run of the testbed with one MN. */
struct ArchRun
{
    std::string scheme{"msrd"};
    Time daemonStart{Seconds(0)};   //!< MN's IKE daemon StartTime
    Time daemonStop{Seconds(0)};    //!< MN's IKE daemon StopTime (0: never)
    double handoverAt{0};           //!< s (0: none)
    double duration{8};             //!< s
    std::string logDir;             //!< EnablePfkeyLog / EnableAsciiIke dir ("": off)

    // results
    std::vector<Mip6IkeHandoverRecord> records; //!< MN's
    std::vector<PfkeySeen> pfkey;               //!< MN's bus
    std::vector<std::pair<uint32_t, Ipv6Address>> msrdChanged; //!< MN's MSRD Changed (mpi, coa)
    std::vector<std::string> msrdWhat;          //!< their "what"
    std::vector<std::pair<uint8_t, Time>> ikeTx; //!< MN's IkeTx (exchange, time)
    uint32_t ikeRxMn{0};                        //!< MN's IkeRx
    uint32_t ikeTxConfig{0};                    //!< IkeTx through a Config path (all nodes)
    uint32_t msrdConfig{0};                     //!< Changed through a Config path
    uint32_t pfkeyConfig{0};                    //!< Message through a Config path
    uint32_t drops{0};                          //!< MN daemon Drop trace
    Mip6IkeIkeDaemon::Stats mnDaemon;           //!< MN daemon counters at the end
    Mip6IkeIkeDaemon::Stats haDaemon;           //!< HA daemon counters at the end
    uint32_t ikeFailed{0};                      //!< MN IkeExchangeCompleted status != 0
    uint32_t msrdEntries{0};                    //!< MN MSRD entries at the end
    uint64_t msrdGeneration{0};                 //!< ... generation
    bool objectsFound{false};                   //!< GetObject found all three
    bool lookupsOk{false};                      //!< MSRD lookups by MPI/HoA/CoA agree
    m6ike_pfkey_bus_stats busStats{};           //!< MN bus counters
    uint64_t busTraced{0};                      //!< messages traced on the MN's bus

    Ptr<Mip6IkeMsrd> msrd; //!< MN's MSRD (for the trace sinks)

    void OnPfkey(const std::string& from, const std::string& to, uint8_t type, Ptr<const Packet> p)
    {
        std::vector<uint8_t> b(p->GetSize());
        p->CopyData(b.data(), b.size());
        PfkeySeen s{Simulator::Now(), from, to, type, false, 0, 0};
        s.hasRef = Mip6IkePfkeyBus::GetReference(b.data(), b.size(), s.mpi);
        auto entries = msrd->GetEntries();
        s.msrdMpi = entries.empty() ? 0 : entries[0].mpi;
        pfkey.push_back(s);
    }

    void OnMsrd(uint32_t mpi, Ipv6Address /* hoa */, Ipv6Address coa, const std::string& what)
    {
        msrdChanged.emplace_back(mpi, coa);
        msrdWhat.push_back(what);
    }

    void OnIkeTx(Ptr<const Packet>, Ipv6Address, uint16_t, Ipv6Address, uint16_t, uint8_t x, uint32_t)
    {
        ikeTx.emplace_back(x, Simulator::Now());
    }

    void OnIkeRx(Ptr<const Packet>, Ipv6Address, uint16_t, Ipv6Address, uint16_t, uint8_t, uint32_t)
    {
        ikeRxMn++;
    }

    void OnIkeTxConfig(std::string,
                       Ptr<const Packet>,
                       Ipv6Address,
                       uint16_t,
                       Ipv6Address,
                       uint16_t,
                       uint8_t,
                       uint32_t)
    {
        ikeTxConfig++;
    }

    void OnMsrdConfig(std::string, uint32_t, Ipv6Address, Ipv6Address, const std::string&)
    {
        msrdConfig++;
    }

    void OnPfkeyConfig(std::string, const std::string&, const std::string&, uint8_t, Ptr<const Packet>)
    {
        pfkeyConfig++;
    }

    void OnDrop(Ptr<const Packet>, const std::string&)
    {
        drops++;
    }

    void OnIkeCompleted(Ipv6Address, uint32_t, int status)
    {
        ikeFailed += status != 0 ? 1 : 0;
    }

    void Go()
    {
        RngSeedManager::SetRun(1);
        Mip6IkeTestbedConfig config;
        config.linkDelay = MilliSeconds(2);
        Mip6IkeTestbed testbed(config);
        Mip6IkeHelper mip6;
        mip6.SetScheme(scheme);
        mip6.SetHomeNetwork(Mip6IkeTestbed::HomeAgentAddress(), Mip6IkeTestbed::HomePrefix(), 64);
        mip6.SetAgentAttribute("NullCipher", BooleanValue(true));
        Ptr<Mip6IkeAgent> ha =
            mip6.InstallHomeAgent(testbed.GetHomeAgent(), testbed.GetHomeDevice());
        mip6.SetIkeDaemonAttribute("StartTime", TimeValue(daemonStart));
        mip6.SetIkeDaemonAttribute("StopTime", TimeValue(daemonStop));
        const Ipv6Address hoa = Mip6IkeTestbed::HomeAddress(0);
        Ptr<Node> mnNode = testbed.GetMobileNodes().Get(0);
        Ptr<Mip6IkeAgent> mn = mip6.InstallMobileNode(mnNode, hoa);
        if (!logDir.empty())
        {
            mip6.EnablePfkeyLog(logDir);
            mip6.EnableAsciiIke(logDir);
        }
        int64_t stream = 10;
        stream += testbed.AssignStreams(stream);
        mip6.AssignStreams(stream);

        msrd = mnNode->GetObject<Mip6IkeMsrd>();
        Ptr<Mip6IkePfkeyBus> bus = mnNode->GetObject<Mip6IkePfkeyBus>();
        Ptr<Mip6IkeIkeDaemon> daemon = mn->GetIkeDaemon();
        objectsFound = msrd && bus && daemon && msrd == mn->GetMsrd() &&
                       bus == mn->GetPfkeyBus() &&
                       testbed.GetHomeAgent()->GetObject<Mip6IkeMsrd>() == ha->GetMsrd() &&
                       ha->GetIkeDaemon() && ha->GetIkeDaemon() != daemon;
        if (!objectsFound)
        {
            return;
        }
        bus->TraceConnectWithoutContext("Message", MakeCallback(&ArchRun::OnPfkey, this));
        msrd->TraceConnectWithoutContext("Changed", MakeCallback(&ArchRun::OnMsrd, this));
        daemon->TraceConnectWithoutContext("IkeTx", MakeCallback(&ArchRun::OnIkeTx, this));
        daemon->TraceConnectWithoutContext("IkeRx", MakeCallback(&ArchRun::OnIkeRx, this));
        daemon->TraceConnectWithoutContext("Drop", MakeCallback(&ArchRun::OnDrop, this));
        mn->TraceConnectWithoutContext("IkeExchangeCompleted",
                                       MakeCallback(&ArchRun::OnIkeCompleted, this));
        Config::Connect("/NodeList/*/ApplicationList/*/$ns3::Mip6IkeIkeDaemon/IkeTx",
                        MakeCallback(&ArchRun::OnIkeTxConfig, this));
        Config::Connect("/NodeList/*/$ns3::Mip6IkeMsrd/Changed",
                        MakeCallback(&ArchRun::OnMsrdConfig, this));
        Config::Connect("/NodeList/*/$ns3::Mip6IkePfkeyBus/Message",
                        MakeCallback(&ArchRun::OnPfkeyConfig, this));

        if (handoverAt > 0)
        {
            Simulator::Schedule(Seconds(handoverAt), [&]() {
                testbed.Handover(0, MilliSeconds(50));
            });
            Simulator::Schedule(Seconds(handoverAt) + MilliSeconds(50),
                                [&]() { mn->NotifyL2Handover(testbed.GetMobileDevice(0)); });
        }
        Simulator::Stop(Seconds(duration));
        Simulator::Run();
        records = mn->GetHandoverRecords();
        mnDaemon = daemon->GetStats();
        haDaemon = ha->GetIkeDaemon()->GetStats();
        msrdEntries = msrd->GetN();
        msrdGeneration = msrd->GetGeneration();
        busStats = bus->GetStats();
        busTraced = bus->GetMessages();
        m6ike_msrd_entry byHoa;
        m6ike_msrd_entry byMpi;
        if (msrd->LookupHoa(hoa, byHoa) && msrd->LookupMpi(byHoa.mpi, byMpi))
        {
            auto byCoa = msrd->LookupCoa(Mip6IkeAddressFromCore(byHoa.coa));
            lookupsOk = byMpi.mpi == byHoa.mpi && byCoa.size() == 1 && byCoa[0].mpi == byHoa.mpi;
        }
        Simulator::Destroy();
    }

    /** \return the ACQUIREs the mobility side sent to the kernel */
    std::vector<PfkeySeen> Acquires() const
    {
        std::vector<PfkeySeen> out;
        for (const auto& s : pfkey)
        {
            if (s.type == M6IKE_SADB_ACQUIRE && s.from == "mobility" && s.to == "kernel")
            {
                out.push_back(s);
            }
        }
        return out;
    }

    /** \return the ACQUIREs the key manager received */
    std::vector<PfkeySeen> AcquiresToKm() const
    {
        std::vector<PfkeySeen> out;
        for (const auto& s : pfkey)
        {
            if (s.type == M6IKE_SADB_ACQUIRE && s.to == "key-manager")
            {
                out.push_back(s);
            }
        }
        return out;
    }

    /** \return time of the first IKE_SA_INIT the MN sent (Max if none) */
    Time FirstSaInit() const
    {
        for (const auto& x : ikeTx)
        {
            if (x.first == 34)
            {
                return x.second;
            }
        }
        return Time::Max();
    }
};

/**
 * The three objects are aggregated and reachable (GetObject, the agent's
 * getters, Config paths); with the msrd scheme, at the bootstrap and at a
 * handover, the mobility side's ACQUIRE carries the Reference with the MPI
 * the MSRD holds, the key manager gets it, and the MSRD's Changed trace
 * reports the new CoA.
 */
class MsrdArchitectureTestCase : public TestCase
{
  public:
    MsrdArchitectureTestCase()
        : TestCase("msrd: objects aggregated, ACQUIRE+Reference = MSRD's MPI, Changed at the handover")
    {
    }

  private:
    void DoRun() override
    {
        char tmpl[] = "/tmp/mip6ike-arch-XXXXXX";
        NS_TEST_ASSERT_MSG_NE(mkdtemp(tmpl), nullptr, "temporary directory");
        ArchRun r;
        r.handoverAt = 4;
        r.duration = 8;
        r.logDir = tmpl;
        r.Go();
        NS_TEST_ASSERT_MSG_EQ(r.objectsFound, true, "daemon, MSRD and bus reachable");
        NS_TEST_ASSERT_MSG_EQ(r.records.size(), 2u, "bootstrap and one handover");
        for (const auto& rec : r.records)
        {
            NS_TEST_EXPECT_MSG_EQ(rec.complete, true, "record " << rec.index << " complete");
            NS_TEST_EXPECT_MSG_EQ(rec.baStatus, 0, "record " << rec.index << " BA 0");
        }
        const auto acq = r.Acquires();
        NS_TEST_ASSERT_MSG_GT_OR_EQ(acq.size(), 2u, "an ACQUIRE at the bootstrap and the handover");
        bool beforeHo = false;
        bool afterHo = false;
        for (const auto& a : acq)
        {
            NS_TEST_EXPECT_MSG_EQ(a.hasRef, true, "msrd ACQUIRE carries the Reference");
            NS_TEST_EXPECT_MSG_NE(a.mpi, 0u, "MPI != 0");
            NS_TEST_EXPECT_MSG_EQ(a.mpi, a.msrdMpi, "the Reference names the MSRD's entry");
            beforeHo |= a.time < Seconds(r.handoverAt);
            afterHo |= a.time > Seconds(r.handoverAt);
        }
        NS_TEST_EXPECT_MSG_EQ(beforeHo, true, "ACQUIRE+Reference at the bootstrap");
        NS_TEST_EXPECT_MSG_EQ(afterHo, true, "ACQUIRE+Reference at the handover");
        const auto toKm = r.AcquiresToKm();
        NS_TEST_EXPECT_MSG_EQ(toKm.size(), acq.size(), "the bus gives each one to the key manager");
        for (const auto& a : toKm)
        {
            NS_TEST_EXPECT_MSG_EQ(a.hasRef, true, "verbatim, Reference included");
        }

        // MSRD Changed: the bootstrap's CoA, then the handover's.
        bool sawOld = false;
        bool sawNew = false;
        const Ipv6Address oldCoa = r.records[0].coa;
        const Ipv6Address newCoa = r.records[1].coa;
        NS_TEST_EXPECT_MSG_NE(oldCoa, newCoa, "a new CoA");
        for (size_t i = 0; i < r.msrdChanged.size(); i++)
        {
            sawOld |= r.msrdChanged[i].second == oldCoa;
            if (r.msrdChanged[i].second == newCoa)
            {
                sawNew = true;
                NS_TEST_EXPECT_MSG_EQ(r.msrdChanged[i].first, acq.back().mpi, "same MPI");
            }
        }
        NS_TEST_EXPECT_MSG_EQ(sawOld, true, "Changed with the bootstrap CoA");
        NS_TEST_EXPECT_MSG_EQ(sawNew, true, "Changed with the handover's new CoA");
        NS_TEST_EXPECT_MSG_EQ(r.msrdWhat.front().rfind("INSERTED", 0), 0u, "first change: insert");
        NS_TEST_EXPECT_MSG_EQ(r.msrdEntries, 1u, "the MN's MSRD has one entry");
        NS_TEST_EXPECT_MSG_EQ(r.msrdGeneration, uint64_t(r.msrdChanged.size()), "one Changed per generation");
        NS_TEST_EXPECT_MSG_EQ(r.lookupsOk, true, "lookups by HoA, MPI and CoA agree");

        // Bus counters and the trace agree; Config paths reach every node.
        NS_TEST_EXPECT_MSG_EQ(r.busTraced, uint64_t(r.pfkey.size()), "GetMessages = traced");
        NS_TEST_EXPECT_MSG_GT(r.busStats.sent, 0u, "bus counters");
        NS_TEST_EXPECT_MSG_GT(r.pfkeyConfig, r.pfkey.size(), "Config: MN's and HA's bus");
        NS_TEST_EXPECT_MSG_GT(r.msrdConfig, r.msrdChanged.size(), "Config: MN's and HA's MSRD");
        NS_TEST_EXPECT_MSG_GT(r.ikeTxConfig, r.mnDaemon.txPackets, "Config: MN's and HA's daemon");

        // IKE daemon: msrd does IKE_SA_INIT once (bootstrap), counters match traces.
        NS_TEST_EXPECT_MSG_EQ(r.mnDaemon.txPackets, uint64_t(r.ikeTx.size()), "IkeTx per datagram");
        NS_TEST_EXPECT_MSG_EQ(r.mnDaemon.rxPackets, uint64_t(r.ikeRxMn), "IkeRx per datagram");
        NS_TEST_EXPECT_MSG_EQ(r.mnDaemon.txPackets, r.haDaemon.rxPackets, "no loss");
        NS_TEST_EXPECT_MSG_EQ(r.mnDaemon.txDropped, 0u, "nothing dropped");
        uint32_t init = 0;
        for (const auto& x : r.ikeTx)
        {
            init += x.first == 34 ? 1 : 0;
        }
        NS_TEST_EXPECT_MSG_EQ(init, 1u, "one IKE_SA_INIT (bootstrap only)");

        // The text logs.
        const std::string base = std::string(tmpl) + "/node";
        uint32_t pfLines = 0;
        uint32_t refLines = 0;
        uint32_t ikeLines = 0;
        for (uint32_t id = 0; id < 16; id++)
        {
            std::ifstream f(base + std::to_string(id) + "-pfkey.log");
            std::string line;
            while (std::getline(f, line))
            {
                pfLines++;
                refLines += line.find(" SADB_ACQUIRE ") != std::string::npos &&
                                    line.find("reference mpi") != std::string::npos
                                ? 1
                                : 0;
            }
            std::ifstream g(base + std::to_string(id) + "-ike.log");
            while (std::getline(g, line))
            {
                ikeLines++;
            }
            std::remove((base + std::to_string(id) + "-pfkey.log").c_str());
            std::remove((base + std::to_string(id) + "-ike.log").c_str());
        }
        rmdir(tmpl);
        NS_TEST_EXPECT_MSG_GT(pfLines, 0u, "PF_KEY log written");
        NS_TEST_EXPECT_MSG_GT_OR_EQ(refLines, 2u, "ACQUIRE lines name the Reference's MPI");
        NS_TEST_EXPECT_MSG_EQ(ikeLines, uint32_t(r.mnDaemon.txPackets + r.mnDaemon.rxPackets +
                                                 r.haDaemon.txPackets + r.haDaemon.rxPackets),
                              "one IKE log line per datagram");
    }
};

/** renegotiate: the mobility side's ACQUIREs carry no Reference. */
class RenegotiateArchitectureTestCase : public TestCase
{
  public:
    RenegotiateArchitectureTestCase()
        : TestCase("renegotiate: ACQUIRE without the Reference; IKE_SA_INIT again at the handover")
    {
    }

  private:
    void DoRun() override
    {
        ArchRun r;
        r.scheme = "renegotiate";
        r.handoverAt = 4;
        r.duration = 8;
        r.Go();
        NS_TEST_ASSERT_MSG_EQ(r.objectsFound, true, "objects reachable");
        NS_TEST_ASSERT_MSG_EQ(r.records.size(), 2u, "bootstrap and one handover");
        NS_TEST_EXPECT_MSG_EQ(r.records[1].complete, true, "handover complete");
        const auto acq = r.AcquiresToKm();
        NS_TEST_ASSERT_MSG_GT_OR_EQ(acq.size(), 2u, "ACQUIREs at bootstrap and handover");
        for (const auto& a : acq)
        {
            NS_TEST_EXPECT_MSG_EQ(a.hasRef, false, "no Reference extension");
        }
        uint32_t init = 0;
        for (const auto& x : r.ikeTx)
        {
            init += x.first == 34 ? 1 : 0;
        }
        NS_TEST_EXPECT_MSG_GT_OR_EQ(init, 2u, "IKE_SA_INIT at bootstrap and handover");
    }
};

/** The MN's IKE daemon starts late (3 s): the bootstrap waits for it. */
class LateDaemonTestCase : public TestCase
{
  public:
    LateDaemonTestCase()
        : TestCase("IKE daemon StartTime 3 s: IKE_SA_INIT leaves at 3 s at the earliest, bootstrap delayed")
    {
    }

  private:
    void DoRun() override
    {
        ArchRun base;
        base.duration = 12;
        base.Go();
        ArchRun late;
        late.daemonStart = Seconds(3);
        late.duration = 12;
        late.Go();
        NS_TEST_ASSERT_MSG_EQ(base.records.empty() || late.records.empty(), false, "records");
        const Time b = base.records[0].baReceived;
        const Time l = late.records[0].baReceived;
        NS_TEST_EXPECT_MSG_LT(b, Seconds(3), "normally the bootstrap is done before 3 s");
        NS_TEST_EXPECT_MSG_EQ(late.records[0].complete, true, "late daemon: bootstrap completes");
        NS_TEST_EXPECT_MSG_GT_OR_EQ(l, Seconds(3), "... not before the daemon runs");
        NS_TEST_EXPECT_MSG_GT_OR_EQ(late.FirstSaInit(), Seconds(3), "first IKE_SA_INIT sent at >= 3 s");
        // The engine's retransmissions of IKE_SA_INIT (1, 1.5, 2.5, 4.5 s):
        // the first one after 3 s leaves, and the bootstrap ends soon after.
        NS_TEST_EXPECT_MSG_LT(late.FirstSaInit(), Seconds(5), "the 4.5 s retransmission leaves");
        NS_TEST_EXPECT_MSG_LT(l, Seconds(5), "bootstrap just after it");
        NS_TEST_EXPECT_MSG_GT(late.mnDaemon.txDropped, 0u, "the key manager's first tries dropped");
        NS_TEST_EXPECT_MSG_EQ(late.drops, uint32_t(late.mnDaemon.txDropped), "Drop trace per drop");
        NS_TEST_EXPECT_MSG_EQ(base.mnDaemon.txDropped, 0u, "no drop with start at 0");
    }
};

/** The MN's IKE daemon stops at 1 s, before the bootstrap's IKE: IKE fails. */
class StoppedDaemonTestCase : public TestCase
{
  public:
    StoppedDaemonTestCase()
        : TestCase("IKE daemon StopTime 1 s: nothing leaves, drops counted, IKE fails, no BA")
    {
    }

  private:
    void DoRun() override
    {
        ArchRun r;
        r.daemonStop = Seconds(1);
        r.duration = 40;
        r.Go();
        NS_TEST_ASSERT_MSG_EQ(r.objectsFound, true, "objects");
        NS_TEST_EXPECT_MSG_EQ(r.mnDaemon.txPackets, 0u, "no IKE datagram left");
        NS_TEST_EXPECT_MSG_GT(r.mnDaemon.txDropped, 1u, "retransmissions dropped and counted");
        NS_TEST_EXPECT_MSG_EQ(r.drops, uint32_t(r.mnDaemon.txDropped), "Drop trace");
        NS_TEST_EXPECT_MSG_EQ(r.haDaemon.rxPackets, 0u, "the HA saw nothing");
        NS_TEST_EXPECT_MSG_GT(r.ikeFailed, 0u, "the IKE operation failed");
        NS_TEST_EXPECT_MSG_EQ(!r.records.empty() && r.records[0].baStatus == 0, false, "no BA");
    }
};

/** The suite. */
class Mip6IkeArchitectureTestSuite : public TestSuite
{
  public:
    Mip6IkeArchitectureTestSuite()
        : TestSuite("mip6ike-architecture", UNIT)
    {
        AddTestCase(new MsrdArchitectureTestCase, TestCase::QUICK);
        AddTestCase(new RenegotiateArchitectureTestCase, TestCase::QUICK);
        AddTestCase(new LateDaemonTestCase, TestCase::QUICK);
        AddTestCase(new StoppedDaemonTestCase, TestCase::QUICK);
    }
};

/** Static instance. */
Mip6IkeArchitectureTestSuite g_mip6ikeArchitectureTestSuite;

} // namespace
