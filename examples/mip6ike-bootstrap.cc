/*
 * mip6ike-bootstrap: the main paper's bootstrapping exchange (Xu et al.,
 * Fig. 7) in ns-3.
 *
 *   ./mip6ike sim bootstrap --scheme=msrd [--out=DIR] [--RngRun=N] ...
 *
 * The MN starts in foreign network 1 of the Fig. 6 testbed, never having
 * been home.  Its movement detection forms a CoA from AR1's Router
 * Advertisement; the mobility side writes the binding into the MSRD and
 * its BU triggers an SADB_ACQUIRE carrying the MPI; the key manager looks
 * the MPI up and runs IKE_SA_INIT and IKE_AUTH from the CoA to the HA with
 * the HoA in TSi; the BU and BA then travel under the SAs IKE created.
 * The program prints what crosses the MN's link (as the paper's Ethereal
 * capture does) and the agents' events, then the SAs.
 *
 * With --rate > 0, the CN's CBR flow to the HoA starts at --trafficStart and
 * the run reports when the first packet arrived through the tunnel.
 * Output (--out=DIR): summary.csv with the bootstrap as handover 0 (l2_s =
 * 0, the MN's link is up from the start), timeline.csv, pcaps, key logs.
 */
#include "mip6ike-example-options.h"
#include "mip6ike-helper.h"
#include "mip6ike-results.h"
#include "mip6ike-testbed.h"
#include "mip6ike-wire.h"

#include "ns3/boolean.h"
#include "ns3/core-module.h"
#include "ns3/rng-seed-manager.h"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

using namespace ns3;
using mip6ike_example::BadArgument;

namespace
{

std::string
Addr(const uint8_t b[16])
{
    std::ostringstream s;
    s << Ipv6Address(const_cast<uint8_t*>(b));
    return s.str();
}

/* One line per frame on the MN's link, like the paper's capture. */
void
PrintFrame(const Mip6IkeWireInfo& f)
{
    if (f.kind == Mip6IkeWireInfo::NOT_IPV6)
    {
        return;
    }
    std::string what = Mip6IkeWireInfo::KindName(f.kind);
    if (f.IsIke())
    {
        what += f.ikeResponse ? " (response)" : " (request)";
    }
    if (f.kind == Mip6IkeWireInfo::ESP)
    {
        char spi[32];
        std::snprintf(spi, sizeof(spi), " (SPI=0x%08x)", f.espSpi);
        what += spi;
        if (f.hao)
        {
            what += " +HAO: BU";
        }
        if (f.rh2)
        {
            what += " +RH2: BA";
        }
    }
    if (f.kind == Mip6IkeWireInfo::ICMPV6)
    {
        switch (f.icmpType)
        {
        case 133:
            what = "ICMPv6 Router Solicitation";
            break;
        case 134:
            what = "ICMPv6 Router Advertisement";
            break;
        case 135:
            what = "ICMPv6 Neighbor Solicitation";
            break;
        case 136:
            what = "ICMPv6 Neighbor Advertisement";
            break;
        default:
            what = "ICMPv6 type " + std::to_string(f.icmpType);
        }
    }
    std::printf("%10.6f  wire      %-26s -> %-26s %s (%u bytes)\n",
                Simulator::Now().GetSeconds(),
                Addr(f.src).c_str(),
                Addr(f.dst).c_str(),
                what.c_str(),
                f.ipLength);
}

void
PrintAddr(const char* who, const char* what, Ipv6Address a)
{
    std::ostringstream s;
    s << a;
    std::printf("%10.6f  %-8s  %s %s\n", Simulator::Now().GetSeconds(), who, what, s.str().c_str());
}

void
PrintBinding(const char* who, const char* what, Ipv6Address hoa, Ipv6Address coa, uint16_t seq, int status)
{
    std::ostringstream s;
    s << hoa << " -> " << coa;
    std::printf("%10.6f  %-8s  %s seq=%u status=%d %s\n",
                Simulator::Now().GetSeconds(),
                who,
                what,
                seq,
                status,
                s.str().c_str());
}

void
PrintIke(const char* who, const char* what, Ipv6Address hoa, uint32_t mpi, int status)
{
    std::ostringstream s;
    s << hoa;
    std::printf("%10.6f  %-8s  %s hoa=%s mpi=%u status=%d\n",
                Simulator::Now().GetSeconds(),
                who,
                what,
                s.str().c_str(),
                mpi,
                status);
}

void
PrintSa(const char* who, const char* what, uint32_t spi, Ipv6Address hoa, Ipv6Address coa)
{
    std::ostringstream s;
    s << "HoA " << hoa << " CoA " << coa;
    std::printf("%10.6f  %-8s  %s spi=0x%08x %s\n",
                Simulator::Now().GetSeconds(),
                who,
                what,
                spi,
                s.str().c_str());
}

void
PrintDrop(const char* who, int reason, const std::string& what)
{
    std::printf("%10.6f  %-8s  drop (%d): %s\n", Simulator::Now().GetSeconds(), who, reason, what.c_str());
}

void
Trace(Ptr<Mip6IkeAgent> a, const char* who)
{
    a->TraceConnectWithoutContext("Drop", MakeBoundCallback(&PrintDrop, who));
    a->TraceConnectWithoutContext("CoaReady", MakeBoundCallback(&PrintAddr, who, "CoA ready"));
    a->TraceConnectWithoutContext("BuSent", MakeBoundCallback(&PrintBinding, who, "BU sent"));
    a->TraceConnectWithoutContext("BaReceived",
                                  MakeBoundCallback(&PrintBinding, who, "BA received"));
    a->TraceConnectWithoutContext("BindingCacheUpdated",
                                  MakeBoundCallback(&PrintBinding, who, "binding cache updated"));
    a->TraceConnectWithoutContext("IkeExchangeStarted",
                                  MakeBoundCallback(&PrintIke, who, "IKE started"));
    a->TraceConnectWithoutContext("IkeExchangeCompleted",
                                  MakeBoundCallback(&PrintIke, who, "IKE completed"));
    a->TraceConnectWithoutContext("SaInstalled", MakeBoundCallback(&PrintSa, who, "SA installed"));
    a->TraceConnectWithoutContext("SaReady", MakeBoundCallback(&PrintAddr, who, "SAs ready at"));
    a->TraceConnectWithoutContext("TrafficResumed",
                                  MakeBoundCallback(&PrintAddr, who, "first tunnel payload at"));
}

} // namespace

int
main(int argc, char* argv[])
{
    // The options every testbed experiment takes (mip6ike-example-options.h),
    // with this experiment's defaults: a short run, the flow from 0.5 s.
    using mip6ike_example::ExampleOptions;
    ExampleOptions opt(mip6ike_example::LoadProfile(argc, argv, "mip6ike-bootstrap"));
    opt.duration = 5;
    opt.trafficStart = 0.5;

    CommandLine cmd(__FILE__);
    cmd.Usage("The main paper's bootstrap exchange (Fig. 7): IKE from the CoA with the HoA "
              "in TSi, then BU/BA under the new SAs.");
    opt.AddTo(cmd);
    mip6ike_example::CheckOptions(argc, argv, ExampleOptions::Names());
    cmd.Parse(argc, argv);

    opt.Check();
    if (!(opt.duration > opt.trafficStart) || !(opt.trafficStart >= 0))
    {
        BadArgument("--duration: must be after --trafficStart");
    }
    const std::string& scheme = opt.scheme;
    const std::string& out = opt.out;
    const double duration = opt.duration;

    Mip6IkeTestbed testbed(opt.TestbedConfig());

    Mip6IkeHelper mip6;
    opt.ApplyTo(mip6);
    Ptr<Mip6IkeAgent> ha = mip6.InstallHomeAgent(testbed.GetHomeAgent(), testbed.GetHomeDevice());
    Ptr<Mip6IkeAgent> mn =
        mip6.InstallMobileNode(testbed.GetMobileNodes().Get(0), Mip6IkeTestbed::HomeAddress(0));
    mip6.InstallCorrespondentNode(testbed.GetCorrespondent());
    int64_t stream = 1000;
    stream += testbed.AssignStreams(stream);
    mip6.AssignStreams(stream);

    const uint64_t seed = RngSeedManager::GetRun();
    Mip6IkeResults results(scheme, opt.rate, seed);
    results.BootstrapStart();
    results.Connect(mn);
    Trace(mn, "MN");
    Trace(ha, "HA");

    Ptr<Mip6IkeWireCounter> wire = CreateObject<Mip6IkeWireCounter>();
    if (opt.l2 == "csma")
    {
        wire->Attach(testbed.GetMobileDevice(0));
    }
    else
    {
        wire->Attach(testbed.GetHomeAgentUplinks()); // a Wi-Fi device has no "Sniffer"
    }
    wire->TraceConnectWithoutContext("Frame", MakeCallback(&PrintFrame));

    Ptr<Mip6IkeCbrSink> sink = CreateObject<Mip6IkeCbrSink>();
    testbed.GetMobileNodes().Get(0)->AddApplication(sink);
    sink->TraceConnectWithoutContext("Rx",
                                     MakeCallback(&Mip6IkeResults::PayloadReceived, &results));
    Ptr<Mip6IkeCbrSource> source = CreateObject<Mip6IkeCbrSource>();
    source->SetAttribute("Remote", Ipv6AddressValue(Mip6IkeTestbed::HomeAddress(0)));
    source->SetAttribute("Rate", DataRateValue(DataRate(static_cast<uint64_t>(opt.rate * 1000))));
    testbed.GetCorrespondent()->AddApplication(source);
    source->SetStartTime(Seconds(opt.trafficStart));
    source->SetStopTime(Seconds(duration));

    if (opt.pcap && !out.empty())
    {
        Mip6IkeHelper::EnablePcapAll(out + "/bootstrap");
    }

    std::ostringstream who;
    who << "MN " << Mip6IkeTestbed::HomeAddress(0) << " (HoA) starting in foreign network 1 ("
        << Mip6IkeTestbed::AccessPrefix(0) << "/64), HA " << Mip6IkeTestbed::HomeAgentAddress();
    std::printf("mip6ike-bootstrap: profile %s\n", opt.profile.c_str());
    std::printf("mip6ike-bootstrap: scheme %s, %s, RngRun %llu\n",
                scheme.c_str(),
                who.str().c_str(),
                static_cast<unsigned long long>(seed));
    Simulator::Stop(Seconds(duration));
    Simulator::Run();
    results.CollectIke(mn);

    const Mip6IkeHandoverRow& r = results.GetRows().front();
    std::printf("\nbootstrap: CoA ready %s s, BU sent %s s, BA received %s s, SAs ready %s s, "
                "first payload %s s; IKE %lld messages, %lld bytes\n",
                Mip6IkeResults::Seconds6(r.coaReady).c_str(),
                Mip6IkeResults::Seconds6(r.buSent).c_str(),
                Mip6IkeResults::Seconds6(r.baReceived).c_str(),
                Mip6IkeResults::Seconds6(r.saReady).c_str(),
                Mip6IkeResults::Seconds6(r.trafficResumed).c_str(),
                static_cast<long long>(r.ikeMsgs),
                static_cast<long long>(r.ikeBytes));
    std::printf("on the MN's link: IKE_SA_INIT %llu, IKE_AUTH %llu, CREATE_CHILD_SA %llu, "
                "INFORMATIONAL %llu, ESP %llu\n",
                static_cast<unsigned long long>(wire->GetCount(Mip6IkeWireInfo::IKE_SA_INIT)),
                static_cast<unsigned long long>(wire->GetCount(Mip6IkeWireInfo::IKE_AUTH)),
                static_cast<unsigned long long>(wire->GetCount(Mip6IkeWireInfo::CREATE_CHILD_SA)),
                static_cast<unsigned long long>(wire->GetCount(Mip6IkeWireInfo::INFORMATIONAL)),
                static_cast<unsigned long long>(wire->GetCount(Mip6IkeWireInfo::ESP)));
    for (auto& [who, agent] : {std::make_pair("MN", mn), std::make_pair("HA", ha)})
    {
        const m6ike_agent_stats st = agent->GetStats();
        std::printf("%s counters: BU sent %llu (retransmitted %llu), BA received %llu, BU received "
                    "%llu, BA sent %llu, ESP in %llu out %llu, tunnel in %llu out %llu, SAs "
                    "installed %llu; drops: malformed %llu, not handled %llu, unprotected %llu, "
                    "no SA %llu, ESP %llu, no binding %llu\n",
                    who,
                    static_cast<unsigned long long>(st.bu_sent),
                    static_cast<unsigned long long>(st.bu_retransmits),
                    static_cast<unsigned long long>(st.ba_received),
                    static_cast<unsigned long long>(st.bu_received),
                    static_cast<unsigned long long>(st.ba_sent),
                    static_cast<unsigned long long>(st.esp_in),
                    static_cast<unsigned long long>(st.esp_out),
                    static_cast<unsigned long long>(st.tunnel_in),
                    static_cast<unsigned long long>(st.tunnel_out),
                    static_cast<unsigned long long>(st.sa_installed),
                    static_cast<unsigned long long>(st.drop_malformed),
                    static_cast<unsigned long long>(st.drop_not_handled),
                    static_cast<unsigned long long>(st.drop_unprotected),
                    static_cast<unsigned long long>(st.drop_no_sa),
                    static_cast<unsigned long long>(st.drop_esp),
                    static_cast<unsigned long long>(st.drop_no_binding));
    }
    const bool ok = r.baReceived != Time::Max();
    std::printf("bootstrap %s\n", ok ? "succeeded (BA accepted)" : "FAILED (no accepted BA)");

    if (!out.empty())
    {
        std::string error;
        if (!results.WriteSummary(out + "/summary.csv", &error) ||
            !results.WriteTimeline(out + "/timeline.csv", Seconds(duration), &error))
        {
            std::cerr << "mip6ike-bootstrap: " << error << std::endl;
            Simulator::Destroy();
            return 1;
        }
    }
    Simulator::Destroy();
    return ok ? 0 : 3;
}
