/*
 * mip6ike-handover: the main paper's handover experiment (Xu et al.,
 * Fig. 6 testbed, Fig. 8, Table I) in ns-3.
 *
 *   ./mip6ike sim handover --scheme=msrd --rate=100 --out=DIR [--RngRun=N] ...
 *
 * The MN boots in foreign network 1 (behind AR1): movement detection from
 * AR1's Router Advertisements, a CoA by SLAAC, the scheme's bootstrap
 * (IKEv2 from the CoA with the HoA in TSi, BU/BA under the new SAs).  The
 * CN then sends a rate-limited constant-bit-rate UDP flow to the MN's home
 * address (through the HA and the MN-HA ESP tunnel).  At --handoverAt the
 * MN's link goes from AR1 to AR2 (--l2=csma: the device leaves AR1's
 * channel and joins AR2's after --l2Gap; --l2=wifi: it moves from AP1 to
 * AP2 and re-associates), and back again for each further --handovers,
 * --handoverSpacing apart.  Each handover's recovery time runs from the L2
 * handover start to the first payload packet the MN receives that the CN
 * sent after that instant: the old link is gone then, so it can only have
 * come through the new path.
 *
 * Links: point-to-point backbone links HA-AR1 and HA-AR2 with --delay each
 * way; the access links are LANs (CSMA with 1 us propagation, or 802.11).
 *
 * Router discovery: the paper removed router discovery (6-9 s in its
 * testbed) from its figures.  Here the access routers advertise every
 * 30-70 ms (RFC 6275 §7.5's lowest MinRtrAdvInterval/MaxRtrAdvInterval;
 * --raMin/--raMax), and the MN's link-up hint solicits an RA, so router
 * discovery adds tens of milliseconds, not seconds.  DAD is off by default
 * as in the paper (--dad=on|off|optimistic).
 *
 * Output (--out=DIR, an existing writable directory): summary.csv (one row
 * per handover), timeline.csv (payload bytes received by the MN per 10 ms,
 * the paper's Fig. 8), a pcap per device and the agents' Wireshark key
 * logs.  Bad arguments: one line on stderr naming the argument, exit 2.
 */
#include "mip6ike-example-options.h"
#include "mip6ike-helper.h"
#include "mip6ike-results.h"
#include "mip6ike-testbed.h"

#include "ns3/boolean.h"
#include "ns3/core-module.h"
#include "ns3/csma-net-device.h"
#include "ns3/rng-seed-manager.h"
#include "ns3/sta-wifi-mac.h"
#include "ns3/wifi-net-device.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

using namespace ns3;

NS_LOG_COMPONENT_DEFINE("Mip6IkeHandoverExample");

namespace
{

using mip6ike_example::BadArgument;

struct Run
{
    Mip6IkeTestbed* testbed;
    Ptr<Mip6IkeAgent> mn;
    Mip6IkeResults* results;
    Time l2Gap;
    bool verbose;
};

/* The link is back (CSMA: attached to the new channel; 802.11: associated):
 * tell the MN, which solicits an RA. */
void
LinkUp(Run* run)
{
    if (run->verbose)
    {
        std::printf("%10.6f  MN        L2 link up on network %u\n",
                    Simulator::Now().GetSeconds(),
                    run->testbed->GetCurrentNetwork(0) + 1);
    }
    run->mn->NotifyL2Handover(run->testbed->GetMobileDevice(0));
}

void
AssocUp(Run* run, Mac48Address)
{
    LinkUp(run);
}

void
StartHandover(Run* run)
{
    run->results->L2HandoverStart();
    if (run->verbose)
    {
        std::printf("%10.6f  MN        L2 handover %u starts: leaving network %u\n",
                    Simulator::Now().GetSeconds(),
                    run->results->GetCurrentHandover(),
                    run->testbed->GetCurrentNetwork(0) + 1);
    }
    if (run->testbed->GetConfig().l2 == "csma")
    {
        run->testbed->Handover(0, run->l2Gap);
        Simulator::Schedule(run->l2Gap, &LinkUp, run);
    }
    else
    {
        run->testbed->Handover(0, run->l2Gap);
    }
}

void
PrintEvent(const char* what, Ipv6Address a)
{
    std::cout << std::fixed;
    std::printf("%10.6f  MN        %s", Simulator::Now().GetSeconds(), what);
    std::cout << " " << a << std::endl;
}

void
PrintBinding(const char* what, Ipv6Address hoa, Ipv6Address coa, uint16_t seq, int status)
{
    std::printf("%10.6f  MN        %s seq=%u status=%d ",
                Simulator::Now().GetSeconds(),
                what,
                seq,
                status);
    std::cout << hoa << " -> " << coa << std::endl;
}

} // namespace

int
main(int argc, char* argv[])
{
    using mip6ike_example::ExampleOptions;
    const mip6ike_example::Profile profile =
        mip6ike_example::LoadProfile(argc, argv, "mip6ike-handover");
    // The options every testbed experiment takes (mip6ike-example-options.h),
    // with this experiment's defaults and wording ...
    ExampleOptions opt(profile);
    opt.duration = 0;
    opt.trafficStart = 1;
    opt.profileHelp = "processing/timing profile: xu2008 (the paper's 2007 testbed), modern, "
                      "default (doc/CALIBRATION.md); explicit options override it";
    opt.l2Help = "access links: csma (link switch) or wifi (two APs)";
    opt.durationHelp = "simulated time, s (0 = last handover + spacing)";
    opt.nullCipherHelp = "NULL cipher instead of OpenSSL (large sweeps)";
    // ... and its own: the handovers, the flow, router discovery.
    double handoverAt = 5;
    double handoverSpacing = 5;
    double l2GapS = profile.l2GapS;
    uint32_t handovers = 1;
    uint32_t packetSize = 512;
    double raMinMs = profile.raMinMs;
    double raMaxMs = profile.raMaxMs;
    bool verbose = true;

    CommandLine cmd(__FILE__);
    cmd.Usage("The main paper's handover experiment (Fig. 6 testbed, Fig. 8, Table I).");
    opt.AddTo(cmd);
    cmd.AddValue("handoverAt", "first L2 handover, s", handoverAt);
    cmd.AddValue("handovers", "number of handovers (back and forth)", handovers);
    cmd.AddValue("handoverSpacing", "time between handovers, s", handoverSpacing);
    cmd.AddValue("l2Gap", "csma: time without a link during the switch, s (>= 0.001)", l2GapS);
    cmd.AddValue("packetSize", "CBR UDP payload bytes", packetSize);
    cmd.AddValue("raMin", "access routers' MinRtrAdvInterval, ms", raMinMs);
    cmd.AddValue("raMax", "access routers' MaxRtrAdvInterval, ms", raMaxMs);
    cmd.AddValue("verbose", "print the event timeline", verbose);
    std::vector<const char*> known = ExampleOptions::Names();
    known.insert(known.end(),
                 {"handoverAt",
                  "handovers",
                  "handoverSpacing",
                  "l2Gap",
                  "packetSize",
                  "raMin",
                  "raMax",
                  "verbose"});
    mip6ike_example::CheckOptions(argc, argv, known);
    cmd.Parse(argc, argv);

    opt.Check();
    if (handovers < 1)
    {
        BadArgument("--handovers: must be >= 1");
    }
    if (!(opt.trafficStart >= 0) || !(handoverAt > opt.trafficStart))
    {
        BadArgument("--handoverAt: must come after --trafficStart");
    }
    if (!(handoverSpacing > 0))
    {
        BadArgument("--handoverSpacing: must be > 0 s");
    }
    if (opt.l2 == "csma" && !(l2GapS >= 0.001))
    {
        BadArgument("--l2Gap: must be >= 0.001 s with --l2=csma");
    }
    mip6ike_example::CheckPacketSize(packetSize);
    mip6ike_example::CheckRaIntervals(raMinMs, raMaxMs);
    const double lastHandover = handoverAt + (handovers - 1) * handoverSpacing;
    if (opt.duration == 0)
    {
        opt.duration = lastHandover + handoverSpacing;
    }
    if (!(opt.duration > lastHandover))
    {
        BadArgument("--duration: must be after the last handover (" +
                    std::to_string(lastHandover) + " s)");
    }
    const std::string& scheme = opt.scheme;
    const std::string& out = opt.out;
    const double rate = opt.rate;
    const double duration = opt.duration;

    Mip6IkeTestbedConfig config = opt.TestbedConfig();
    config.raMin = MilliSeconds(static_cast<int64_t>(raMinMs));
    config.raMax = MilliSeconds(static_cast<int64_t>(raMaxMs));
    Mip6IkeTestbed testbed(config);

    Mip6IkeHelper mip6;
    opt.ApplyTo(mip6);
    mip6.InstallHomeAgent(testbed.GetHomeAgent(), testbed.GetHomeDevice());
    Ptr<Mip6IkeAgent> mn =
        mip6.InstallMobileNode(testbed.GetMobileNodes().Get(0), Mip6IkeTestbed::HomeAddress(0));
    mip6.InstallCorrespondentNode(testbed.GetCorrespondent());
    int64_t stream = 1000;
    stream += testbed.AssignStreams(stream);
    mip6.AssignStreams(stream);

    const uint64_t seed = RngSeedManager::GetRun();
    Mip6IkeResults results(scheme, rate, seed);
    results.Connect(mn);

    // The CBR flow CN -> HoA, received on the MN.
    Ptr<Mip6IkeCbrSink> sink = CreateObject<Mip6IkeCbrSink>();
    testbed.GetMobileNodes().Get(0)->AddApplication(sink);
    sink->SetStartTime(Seconds(0));
    sink->TraceConnectWithoutContext("Rx",
                                     MakeCallback(&Mip6IkeResults::PayloadReceived, &results));
    Ptr<Mip6IkeCbrSource> source = CreateObject<Mip6IkeCbrSource>();
    source->SetAttribute("Remote", Ipv6AddressValue(Mip6IkeTestbed::HomeAddress(0)));
    source->SetAttribute("PacketSize", UintegerValue(packetSize));
    source->SetAttribute("Rate", DataRateValue(DataRate(static_cast<uint64_t>(rate * 1000))));
    testbed.GetCorrespondent()->AddApplication(source);
    source->SetStartTime(Seconds(opt.trafficStart));
    source->SetStopTime(Seconds(duration));

    Run run{&testbed, mn, &results, Seconds(l2GapS), verbose};
    for (uint32_t k = 0; k < handovers; k++)
    {
        Simulator::Schedule(Seconds(handoverAt + k * handoverSpacing), &StartHandover, &run);
    }
    if (opt.l2 == "wifi")
    {
        // Association with the new AP = link up (after the bootstrap's).
        Ptr<WifiNetDevice> dev = DynamicCast<WifiNetDevice>(testbed.GetMobileDevice(0));
        Simulator::Schedule(Seconds(handoverAt), [dev, &run]() {
            dev->GetMac()->TraceConnectWithoutContext("Assoc", MakeBoundCallback(&AssocUp, &run));
        });
    }
    if (verbose)
    {
        mn->TraceConnectWithoutContext("CoaReady", MakeBoundCallback(&PrintEvent, "CoA ready"));
        mn->TraceConnectWithoutContext("BuSent", MakeBoundCallback(&PrintBinding, "BU sent"));
        mn->TraceConnectWithoutContext("BaReceived",
                                       MakeBoundCallback(&PrintBinding, "BA received"));
        mn->TraceConnectWithoutContext("SaReady", MakeBoundCallback(&PrintEvent, "SAs ready at"));
        mn->TraceConnectWithoutContext("TrafficResumed",
                                       MakeBoundCallback(&PrintEvent, "tunnel traffic at"));
    }
    if (opt.pcap && !out.empty())
    {
        Mip6IkeHelper::EnablePcapAll(out + "/handover");
    }

    std::printf("mip6ike-handover: profile %s\n", profile.name.c_str());
    std::printf("mip6ike-handover: scheme %s, %g kbit/s, %s, RngRun %llu, %u handover(s) from "
                "%.3f s, %.1f s simulated\n",
                scheme.c_str(),
                rate,
                opt.l2.c_str(),
                static_cast<unsigned long long>(seed),
                handovers,
                handoverAt,
                duration);
    Simulator::Stop(Seconds(duration));
    Simulator::Run();
    results.CollectIke(mn);

    int failures = 0;
    std::printf("\nhandover  l2_s        recovery_s  bu_sent_s   ba_recv_s   sa_ready_s  "
                "ike_msgs  ike_bytes\n");
    for (const auto& r : results.GetRows())
    {
        const Time rec = r.Recovery();
        std::printf("%8u  %-10s  %-10s  %-10s  %-10s  %-10s  %8lld  %9lld\n",
                    r.handover,
                    Mip6IkeResults::Seconds6(r.l2).c_str(),
                    rec == Time::Max() ? "none" : Mip6IkeResults::Seconds6(rec).c_str(),
                    Mip6IkeResults::Seconds6(r.buSent).c_str(),
                    Mip6IkeResults::Seconds6(r.baReceived).c_str(),
                    Mip6IkeResults::Seconds6(r.saReady).c_str(),
                    static_cast<long long>(r.ikeMsgs),
                    static_cast<long long>(r.ikeBytes));
        if (rec == Time::Max())
        {
            failures++;
        }
    }
    for (const auto& r : results.GetRows())
    {
        const Time rec = r.Recovery();
        if (rec != Time::Max())
        {
            std::printf("recovery time (handover %u): %.3f s\n", r.handover, rec.GetSeconds());
        }
        else
        {
            std::printf("recovery time (handover %u): traffic did not resume\n", r.handover);
        }
    }
    std::printf("payload received: %llu packets, %llu bytes; CN sent %llu packets\n",
                static_cast<unsigned long long>(results.GetRxPackets()),
                static_cast<unsigned long long>(results.GetRxBytes()),
                static_cast<unsigned long long>(source->GetSent()));

    if (!out.empty())
    {
        std::string error;
        if (!results.WriteSummary(out + "/summary.csv", &error) ||
            !results.WriteTimeline(out + "/timeline.csv", Seconds(duration), &error))
        {
            std::cerr << mip6ike_example::Prog() << ": " << error << std::endl;
            Simulator::Destroy();
            return 1;
        }
        std::printf("wrote %s/summary.csv, %s/timeline.csv%s\n",
                    out.c_str(),
                    out.c_str(),
                    opt.pcap ? ", pcaps and key logs" : ", key logs");
    }
    Simulator::Destroy();
    return failures == 0 ? 0 : 3;
}
