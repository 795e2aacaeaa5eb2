/*
 * mip6ike-scale: the scale benchmark (issue 4 §6), printed by
 * `./mip6ike bench`.
 *
 *   mip6ike-scale --mns=1000 [--handovers=5] [--nullCipher=1] [--perNetwork=25]
 *
 * N mobile nodes, one home agent.  The MNs share access networks
 * (--perNetwork of them start on each first network of a pair; an RA or a
 * multicast Neighbor Solicitation costs one receive per MN on that link,
 * not one per MN in the simulation); every access router hangs off a core
 * router by a point-to-point link and the HA sits behind the core, so the
 * HA has two interfaces whatever N is (ns-3's IPv6 walks a node's
 * interfaces per packet).  The MNs' links come up over --startSpread
 * seconds; each MN bootstraps (IKE from its CoA, BU/BA) and then does
 * --handovers CSMA link switches between the two networks of its pair,
 * --spacing seconds apart.
 *
 * Prints one line: MNs, access networks, simulated seconds, wall seconds
 * (setup and run), events executed and events per wall second, peak
 * resident memory (getrusage) and its growth per MN over the process
 * before the topology was built, and how many MNs completed every
 * handover (BA accepted and SAs ready after their last one).
 */
#include "mip6ike-example-options.h"
#include "mip6ike-helper.h"
#include "mip6ike-testbed.h"

#include "ns3/boolean.h"
#include "ns3/core-module.h"
#include "ns3/uinteger.h"

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace ns3;
using mip6ike_example::BadArgument;

namespace
{

long
PeakRssKb()
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss; // kB on Linux
}

long
CurrentRssKb()
{
    long pages = 0;
    long rss = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r"))
    {
        if (std::fscanf(f, "%ld %ld", &pages, &rss) != 2)
        {
            rss = 0;
        }
        std::fclose(f);
    }
    return rss * 4; // 4 kB pages
}

struct Scale
{
    Mip6IkeTestbed* testbed;
    Mip6IkeAgentContainer mns;
    std::vector<uint32_t> attaches;
    Time l2Gap;
};

void
LinkUp(Scale* s, uint32_t i)
{
    if (s->attaches[i]++ > 0) // the first attach is the bootstrap's
    {
        s->mns[i]->NotifyL2Handover(s->testbed->GetMobileDevice(i));
    }
}

void
Handover(Scale* s, uint32_t i)
{
    s->testbed->Handover(i, s->l2Gap);
}

} // namespace

int
main(int argc, char* argv[])
{
    uint32_t mns = 100;
    uint32_t handovers = 5;
    bool nullCipher = true;
    uint32_t perNetwork = 25;
    double startSpread = 2;
    double firstHandover = 5;
    double spacing = 5;
    double l2Gap = 0.05;
    double raMinMs = 200;
    double raMaxMs = 600;
    bool header = true;
    bool verbose = false;
    std::string processing = "fixed";

    CommandLine cmd(__FILE__);
    cmd.Usage("Scale benchmark: N MNs, one HA, each bootstrapping and doing handovers.");
    cmd.AddValue("mns", "number of mobile nodes", mns);
    cmd.AddValue("handovers", "handovers per MN", handovers);
    cmd.AddValue("nullCipher", "NULL cipher (no real cryptography)", nullCipher);
    cmd.AddValue("perNetwork", "MNs starting on each access network", perNetwork);
    cmd.AddValue("startSpread", "the MNs' links come up over this many seconds", startSpread);
    cmd.AddValue("firstHandover", "time of an MN's first handover after its link came up, s",
                 firstHandover);
    cmd.AddValue("spacing", "time between an MN's handovers, s", spacing);
    cmd.AddValue("l2Gap", "time without a link during each switch, s", l2Gap);
    cmd.AddValue("raMin", "access routers' MinRtrAdvInterval, ms", raMinMs);
    cmd.AddValue("raMax", "access routers' MaxRtrAdvInterval, ms", raMaxMs);
    cmd.AddValue("processing", "processing-time model: fixed or measured", processing);
    cmd.AddValue("header", "print the column header", header);
    cmd.AddValue("verbose", "list the MNs that did not complete every handover", verbose);
    mip6ike_example::Prog() = "mip6ike-scale";
    mip6ike_example::CheckOptions(argc,
                                  argv,
                                  {"mns",
                                   "handovers",
                                   "nullCipher",
                                   "perNetwork",
                                   "startSpread",
                                   "firstHandover",
                                   "spacing",
                                   "l2Gap",
                                   "raMin",
                                   "raMax",
                                   "processing",
                                   "header",
                                   "verbose"});
    cmd.Parse(argc, argv);
    if (mns < 1)
    {
        BadArgument("--mns: must be >= 1");
    }
    if (perNetwork < 1)
    {
        BadArgument("--perNetwork: must be >= 1");
    }
    if (!(l2Gap >= 0.001))
    {
        BadArgument("--l2Gap: must be >= 0.001 s");
    }
    mip6ike_example::CheckRaIntervals(raMinMs, raMaxMs);
    mip6ike_example::CheckProcessing(processing);

    const long rssBefore = CurrentRssKb();
    const auto t0 = std::chrono::steady_clock::now();

    Mip6IkeTestbedConfig config;
    config.mobileNodes = mns;
    config.accessPairs = (mns + perNetwork - 1) / perNetwork;
    config.startSpread = Seconds(startSpread);
    config.raMin = MilliSeconds(static_cast<int64_t>(raMinMs));
    config.raMax = MilliSeconds(static_cast<int64_t>(raMaxMs));
    Mip6IkeTestbed testbed(config);

    Mip6IkeHelper mip6;
    mip6ike_example::SetUpHelper(mip6, "msrd", processing, "");
    mip6.SetAgentAttribute("NullCipher", BooleanValue(nullCipher));
    mip6.SetAgentAttribute("KeyLogEsp", BooleanValue(false));
    mip6.SetAgentAttribute("ExpectedMns", UintegerValue(mns));
    mip6.InstallHomeAgent(testbed.GetHomeAgent(), testbed.GetHomeDevice());
    Scale s{&testbed,
            mip6.InstallMobileNode(testbed.GetMobileNodes(), Mip6IkeTestbed::HomeAddress(0)),
            std::vector<uint32_t>(mns, 0),
            Seconds(l2Gap)};
    int64_t stream = 1000;
    stream += testbed.AssignStreams(stream);
    mip6.AssignStreams(stream);
    testbed.SetLinkUpCallback(MakeBoundCallback(&LinkUp, &s));

    Time end = Seconds(0);
    for (uint32_t i = 0; i < mns; i++)
    {
        const Time up = NanoSeconds(Seconds(startSpread).GetNanoSeconds() * i / mns);
        for (uint32_t k = 0; k < handovers; k++)
        {
            const Time at = up + Seconds(firstHandover + k * spacing);
            Simulator::Schedule(at, &Handover, &s, i);
            end = Max(end, at);
        }
    }
    end += Seconds(spacing);
    Simulator::Stop(end);

    const auto t1 = std::chrono::steady_clock::now();
    const uint64_t events0 = Simulator::GetEventCount();
    Simulator::Run();
    const auto t2 = std::chrono::steady_clock::now();
    const uint64_t events = Simulator::GetEventCount() - events0;

    uint32_t complete = 0;
    uint64_t records = 0;
    for (uint32_t i = 0; i < mns; i++)
    {
        const auto& recs = s.mns[i]->GetHandoverRecords();
        records += recs.size();
        if (recs.size() == handovers + 1 && recs.back().complete)
        {
            complete++;
        }
        else if (verbose)
        {
            std::printf("MN %u: %zu records;", i, recs.size());
            for (const auto& r : recs)
            {
                std::printf(" [%u l2 %s coa %s bu %s ba %s sa %s%s]",
                            r.index,
                            r.l2Start == Time::Max() ? "-" : std::to_string(r.l2Start.GetSeconds()).c_str(),
                            r.coaReady == Time::Max() ? "-" : std::to_string(r.coaReady.GetSeconds()).c_str(),
                            r.buSent == Time::Max() ? "-" : std::to_string(r.buSent.GetSeconds()).c_str(),
                            r.baReceived == Time::Max() ? "-" : std::to_string(r.baReceived.GetSeconds()).c_str(),
                            r.saReady == Time::Max() ? "-" : std::to_string(r.saReady.GetSeconds()).c_str(),
                            r.complete ? " ok" : "");
            }
            std::printf("\n");
        }
    }
    const double setup = std::chrono::duration<double>(t1 - t0).count();
    const double run = std::chrono::duration<double>(t2 - t1).count();
    const long peak = PeakRssKb();
    if (header)
    {
        std::printf("%7s %6s %7s %8s %8s %11s %10s %8s %7s %s\n",
                    "MNs",
                    "nets",
                    "sim_s",
                    "setup_s",
                    "run_s",
                    "events",
                    "events/s",
                    "peak_MB",
                    "kB/MN",
                    "MNs done (all handovers complete)");
    }
    std::printf("%7u %6u %7.1f %8.2f %8.2f %11llu %10.0f %8.1f %7.1f %u/%u (%llu records)\n",
                mns,
                2 * config.accessPairs,
                end.GetSeconds(),
                setup,
                run,
                static_cast<unsigned long long>(events),
                run > 0 ? events / run : 0.0,
                peak / 1024.0,
                static_cast<double>(peak - rssBefore) / mns,
                complete,
                mns,
                static_cast<unsigned long long>(records));
    std::fflush(stdout);
    Simulator::Destroy();
    return 0;
}
