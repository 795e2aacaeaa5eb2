/*
 * mip6ike-hybrid: the simulated testbed (Fig. 6: HA, CN, access routers,
 * backbone, the two access networks) meets a REAL mobile node: a Linux
 * network namespace running emu's mip6ike-noded in the MN role, joined to
 * the simulated access networks through two TAP devices and ns-3's
 * FdNetDevice, in real time.
 *
 *   mip6ike-hybrid --netns=NS --tap1=T1 --tap2=T2 --out=DIR [--scheme=msrd]
 *                  [--duration=20] [--rate=100] [--trafficStart=2] ...
 *   mip6ike-hybrid --duration=3 --realtime=0   (the simulated part alone)
 *
 * The program (root: it needs /dev/net/tun and setns) creates the TAP
 * devices T1 and T2 (IFF_TAP | IFF_NO_PI) INSIDE the namespace NS (it
 * enters NS with setns() just long enough to open them, then returns to
 * its own), so that nothing of the run appears in the host's namespace.
 * The TAPs are not persistent: they disappear when this process exits,
 * however it exits.  The caller (test/hybrid/hybrid-test.sh) sets them up
 * and down in NS: T1 up and T2 down at the start, and the L2 handover is
 * "T1 down, gap, T2 up", as emu/topo/topo.sh's m6e_move does with veths.
 *
 *            simulated (ns-3, real time)                      | Linux
 *   HA --p2p-- AR1 ==CSMA foreign 1 (2002::/64)== bridge1 --FdNetDevice(fd)-- T1 \
 *    \                 CN 2002::10                            |                 MN ns:
 *     --p2p-- AR2 ==CSMA foreign 2 (2003::/64)== bridge2 --FdNetDevice(fd)-- T2 / noded (mn)
 *
 * Each access network gets one extra ns-3 node, a learning bridge
 * (BridgeNetDevice) between a CSMA device on the access channel and an
 * FdNetDevice on the TAP's file descriptor: frames cross unchanged, so the
 * real MN sees the access router's own link-layer address and ns-3's Radvd
 * Router Advertisements (with the A flag set here: the kernel forms the
 * CoA by SLAAC).  The testbed's simulated MN is detached from its channel
 * and gets no agent.
 *
 * The HA (Mip6IkeAgent, role ha, with its IKE daemon application) is the
 * simulated one; its IKE identity is fqdn:ha.example and its PSK is --psk,
 * which is what mip6ike-noded --role mn expects.  The CN sends the
 * constant-bit-rate flow (Mip6IkeCbrSource, UDP port 9000, SeqTsHeader) to
 * the MN's home address 2001::5 from --trafficStart to --duration.
 *
 * Real time: RealtimeSimulatorImpl (best effort) and ChecksumEnabled (the
 * Linux kernel checks every UDP and ICMPv6 checksum ns-3 writes).  The
 * agent's processing time is "measured" by default: the core's CPU time
 * for each call delays its outputs in simulated time, which in real time is
 * when the real computation ended.  Every 50 ms the program samples how
 * far the wall clock is ahead of the simulated one and prints the largest
 * lag at the end (it fails with exit 4 above --maxLag).
 *
 * Printed: the wall-clock time (CLOCK_REALTIME, s) of simulated time 0
 * ("wall clock at t=0: ..."; a caller adds simulated seconds to it to line
 * ns-3 times up with the real MN's event log), "taps ready" once the TAPs
 * exist, the HA's events (binding cache, IKE, SAs) with simulated time,
 * the HA's drops (a line when a run of them starts, counts by reason at
 * the end), the CN's count and the lag.  --out=DIR receives pcaps of
 * every CSMA and point-to-point device (hybrid-<node>-<device>.pcap; the
 * access routers' CSMA devices show the real MN's frames), the HA's
 * Wireshark key logs (ha-ikev2_decryption_table, ha-esp_sa), its IKE
 * datagram log ha-ike.log and ha-events.csv (time_s,event,hoa,coa,seq,
 * status).
 *
 * ns-3 3.37's Radvd sends its RAs with hop limit 64 (it tags them with
 * IPv4's TTL tag, which IPv6 raw sockets ignore); Linux drops ND messages
 * whose hop limit is not 255, so the access routers' default hop limit is
 * set to 255 here (--fixRaHopLimit=0 shows the real MN never getting a
 * CoA).
 *
 * Exit: 0; 2 bad arguments (one line naming it); 1 TAP/namespace errors;
 * 4 real time fell behind by more than --maxLag.  SIGINT/SIGTERM stop the
 * simulation at the next 50 ms sample, and the files are still written.
 */
#include "mip6ike-example-options.h"
#include "mip6ike-helper.h"
#include "mip6ike-results.h"
#include "mip6ike-testbed.h"

#include "ns3/boolean.h"
#include "ns3/bridge-helper.h"
#include "ns3/core-module.h"
#include "ns3/csma-channel.h"
#include "ns3/csma-helper.h"
#include "ns3/csma-net-device.h"
#include "ns3/fd-net-device.h"
#include "ns3/ipv6-l3-protocol.h"
#include "ns3/mac48-address.h"
#include "ns3/names.h"

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <map>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <sstream>
#include <string>
#include <sys/ioctl.h>
#include <unistd.h>

using namespace ns3;

NS_LOG_COMPONENT_DEFINE("Mip6IkeHybridExample");

namespace
{

using mip6ike_example::BadArgument;

volatile std::sig_atomic_t g_stop = 0;

void
OnSignal(int)
{
    g_stop = 1;
}

double
WallNow()
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/* A TAP device called name in the current network namespace; -1 and a
 * message on error. */
int
OpenTap(const std::string& name)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
    {
        std::fprintf(stderr,
                     "mip6ike-hybrid: /dev/net/tun: %s (root needed)\n",
                     std::strerror(errno));
        return -1;
    }
    struct ifreq ifr;
    std::memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    std::snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name.c_str());
    if (ioctl(fd, TUNSETIFF, &ifr) != 0)
    {
        std::fprintf(stderr,
                     "mip6ike-hybrid: TUNSETIFF %s: %s\n",
                     name.c_str(),
                     std::strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Open the TAPs inside netns (empty = here): enter it with setns(), open,
 * come back.  Done before the simulator starts any thread. */
bool
OpenTaps(const std::string& netns, const std::string names[2], int fds[2])
{
    int self = -1;
    if (!netns.empty())
    {
        self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        const std::string path = "/run/netns/" + netns;
        int target = open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (self < 0 || target < 0 || setns(target, CLONE_NEWNET) != 0)
        {
            std::fprintf(stderr,
                         "mip6ike-hybrid: --netns %s: cannot enter %s: %s\n",
                         netns.c_str(),
                         path.c_str(),
                         std::strerror(errno));
            if (target >= 0)
            {
                close(target);
            }
            if (self >= 0)
            {
                close(self);
            }
            return false;
        }
        close(target);
    }
    fds[0] = OpenTap(names[0]);
    fds[1] = fds[0] < 0 ? -1 : OpenTap(names[1]);
    if (self >= 0)
    {
        if (setns(self, CLONE_NEWNET) != 0)
        {
            std::fprintf(stderr,
                         "mip6ike-hybrid: cannot return to the original namespace: %s\n",
                         std::strerror(errno));
            std::exit(1);
        }
        close(self);
    }
    return fds[0] >= 0 && fds[1] >= 0;
}

struct Run
{
    double wallT0{0};
    Time maxLag{0};
    Time lagAt{0};
    std::ofstream haEvents;
    std::map<std::string, uint64_t> haDrops; //!< the HA's drops by reason
    Time lastDrop{-1};                       //!< the HA's last drop
};

/* Simulated time 0: note the wall clock. */
void
MarkT0(Run* run)
{
    run->wallT0 = WallNow();
    std::printf("mip6ike-hybrid: wall clock at t=0: %.6f\n", run->wallT0);
    std::fflush(stdout);
}

/* Every 50 ms: how far behind the wall clock the simulation runs; stop on
 * a signal. */
void
Sample(Run* run)
{
    const Time lag = Seconds(WallNow() - run->wallT0) - Simulator::Now();
    if (lag > run->maxLag)
    {
        run->maxLag = lag;
        run->lagAt = Simulator::Now();
    }
    if (g_stop)
    {
        std::printf("%10.6f  stopped by a signal\n", Simulator::Now().GetSeconds());
        Simulator::Stop();
        return;
    }
    Simulator::Schedule(MilliSeconds(50), &Sample, run);
}

std::string
Str(Ipv6Address a)
{
    std::ostringstream os;
    os << a;
    return os.str();
}

void
HaBinding(Run* run, Ipv6Address hoa, Ipv6Address coa, uint16_t seq, int status)
{
    const double t = Simulator::Now().GetSeconds();
    std::printf("%10.6f  HA        binding cache: %s -> %s seq=%u, BA status %d\n",
                t,
                Str(hoa).c_str(),
                Str(coa).c_str(),
                seq,
                status);
    std::fflush(stdout);
    run->haEvents << t << ",binding," << hoa << "," << coa << "," << seq << "," << status
                  << "\n";
    run->haEvents.flush();
}

void
HaIke(Run* run, const char* what, Ipv6Address hoa, uint32_t mpi, int status)
{
    const double t = Simulator::Now().GetSeconds();
    std::printf("%10.6f  HA        IKE %s: hoa %s mpi %u status %d\n",
                t,
                what,
                Str(hoa).c_str(),
                mpi,
                status);
    std::fflush(stdout);
    run->haEvents << t << ",ike_" << what << "," << hoa << ",," << mpi << "," << status << "\n";
    run->haEvents.flush();
}

void
HaSa(Run* run, const char* what, uint32_t spi, Ipv6Address hoa, Ipv6Address coa)
{
    const double t = Simulator::Now().GetSeconds();
    std::printf("%10.6f  HA        ESP SA %08x %s (%s, %s)\n",
                t,
                spi,
                what,
                Str(hoa).c_str(),
                Str(coa).c_str());
    std::fflush(stdout);
    run->haEvents << t << ",sa_" << what << "," << hoa << "," << coa << "," << spi << ",0\n";
    run->haEvents.flush();
}

/* The HA dropped a packet: counted by reason; a run of drops (less than
 * 1 s apart) is printed when it ends. */
void
HaDrop(Run* run, int, const std::string& what)
{
    const Time now = Simulator::Now();
    run->haDrops[what]++;
    if (run->lastDrop < Time(0) || now - run->lastDrop > Seconds(1))
    {
        std::printf("%10.6f  HA        drops: %s\n", now.GetSeconds(), what.c_str());
        std::fflush(stdout);
    }
    run->lastDrop = now;
}

/* One access network's bridge to its TAP: a node with a CSMA device on
 * the access channel and an FdNetDevice on fd. */
Ptr<FdNetDevice>
BridgeToTap(Ptr<CsmaChannel> channel, int fd, const std::string& name)
{
    Ptr<Node> node = CreateObject<Node>();
    Names::Add(name, node);
    CsmaHelper csma;
    NetDeviceContainer onChannel = csma.Install(node, channel);
    Ptr<FdNetDevice> fdDev = CreateObject<FdNetDevice>();
    fdDev->SetAddress(Mac48Address::Allocate());
    fdDev->SetFileDescriptor(fd);
    node->AddDevice(fdDev);
    NetDeviceContainer ports(onChannel.Get(0));
    ports.Add(fdDev);
    BridgeHelper bridge;
    bridge.Install(node, ports);
    return fdDev;
}

} // namespace

int
main(int argc, char* argv[])
{
    const mip6ike_example::Profile profile =
        mip6ike_example::LoadProfile(argc, argv, "mip6ike-hybrid");
    std::string profileOpt = profile.name;
    std::string scheme = "msrd";
    std::string netns;
    std::string tap1;
    std::string tap2;
    std::string out;
    std::string psk = "mip6ike-hybrid-key";
    double rate = 100;
    double duration = 20;
    double trafficStart = 2;
    double delayMs = profile.delayMs;
    uint32_t packetSize = 512;
    std::string processing = "measured";
    bool realtime = true;
    double maxLagMs = 500;
    bool pcap = true;
    bool fixRaHopLimit = true;

    CommandLine cmd(__FILE__);
    cmd.Usage("The simulated testbed (HA, CN, routers, access networks) with a real MN in a "
              "network namespace, over TAP devices and FdNetDevice, in real time.");
    cmd.AddValue("profile", "processing/timing profile: default, modern, xu2008", profileOpt);
    cmd.AddValue("scheme", "the HA's scheme (the real MN's must match): msrd, renegotiate, ...",
                 scheme);
    cmd.AddValue("netns", "network namespace to create the TAPs in (empty = this one)", netns);
    cmd.AddValue("tap1", "TAP device joined to foreign network 1 (AR1)", tap1);
    cmd.AddValue("tap2", "TAP device joined to foreign network 2 (AR2)", tap2);
    cmd.AddValue("out", "existing directory for pcaps, key logs, ha-events.csv", out);
    cmd.AddValue("psk", "IKE pre-shared key (mip6ike-noded --psk)", psk);
    cmd.AddValue("rate", "CBR payload rate CN -> HoA, kbit/s (> 0)", rate);
    cmd.AddValue("duration", "simulated (= real) time, s", duration);
    cmd.AddValue("trafficStart", "CBR start, s", trafficStart);
    cmd.AddValue("delay", "one-way delay of each backbone link, ms", delayMs);
    cmd.AddValue("packetSize", "CBR UDP payload bytes", packetSize);
    cmd.AddValue("processing", "processing-time model: measured (default) or fixed", processing);
    cmd.AddValue("realtime", "RealtimeSimulatorImpl (needed with TAPs)", realtime);
    cmd.AddValue("maxLag", "fail (exit 4) if real time falls behind by more than this, ms",
                 maxLagMs);
    cmd.AddValue("pcap", "write a pcap per device into --out", pcap);
    cmd.AddValue("fixRaHopLimit",
                 "access routers send with hop limit 255 (ns-3 3.37's Radvd RAs otherwise leave "
                 "with 64, which Linux ignores)",
                 fixRaHopLimit);
    mip6ike_example::CheckOptions(argc,
                                  argv,
                                  {"profile", "scheme", "netns", "tap1", "tap2", "out", "psk",
                                   "rate", "duration", "trafficStart", "delay", "packetSize",
                                   "processing", "realtime", "maxLag", "pcap", "fixRaHopLimit"});
    cmd.Parse(argc, argv);

    mip6ike_example::CheckScheme(scheme);
    if (!(rate > 0) || !std::isfinite(rate))
    {
        BadArgument("--rate: must be a positive number of kbit/s");
    }
    mip6ike_example::CheckOutDir(out);
    if (tap1.empty() != tap2.empty())
    {
        BadArgument("--tap1/--tap2: give both or neither");
    }
    if (tap1.size() >= IFNAMSIZ || tap2.size() >= IFNAMSIZ || (!tap1.empty() && tap1 == tap2))
    {
        BadArgument("--tap1/--tap2: two different names of at most 15 characters");
    }
    const bool withTaps = !tap1.empty();
    if (withTaps && !realtime)
    {
        BadArgument("--realtime: TAP devices need real time");
    }
    if (!netns.empty() && !withTaps)
    {
        BadArgument("--netns: needs --tap1 and --tap2");
    }
    mip6ike_example::CheckProcessing(processing);
    if (!(duration > 0) || !(trafficStart >= 0))
    {
        BadArgument("--duration/--trafficStart: need duration > 0 and trafficStart >= 0");
    }
    mip6ike_example::CheckDelay(delayMs);
    mip6ike_example::CheckPacketSize(packetSize);
    // ns-3's CommandLine keeps a value only up to its first blank.
    if (psk.empty() || psk.size() > 128 || psk.find_first_of(" \t") != std::string::npos)
    {
        BadArgument("--psk: 1..128 octets without blanks");
    }

    if (realtime)
    {
        GlobalValue::Bind("SimulatorImplementationType",
                          StringValue("ns3::RealtimeSimulatorImpl"));
    }
    // The real kernel on the other side checks every checksum.
    GlobalValue::Bind("ChecksumEnabled", BooleanValue(true));

    int fds[2] = {-1, -1};
    if (withTaps)
    {
        const std::string names[2] = {tap1, tap2};
        if (!OpenTaps(netns, names, fds))
        {
            return 1;
        }
    }

    Mip6IkeTestbedConfig config;
    config.l2 = "csma";
    config.linkDelay = MicroSeconds(static_cast<int64_t>(delayMs * 1000));
    config.raMin = MilliSeconds(static_cast<int64_t>(profile.raMinMs));
    config.raMax = MilliSeconds(static_cast<int64_t>(profile.raMaxMs));
    // A Linux host forms its CoA by SLAAC only from a prefix with A set.
    config.raAutonomous = true;
    Mip6IkeTestbed testbed(config);
    Names::Add("ha", testbed.GetHomeAgent());
    Names::Add("cn", testbed.GetCorrespondent());
    Names::Add("ar1", testbed.GetAccessRouters().Get(0));
    Names::Add("ar2", testbed.GetAccessRouters().Get(1));
    // ns-3 3.37's Radvd marks its RAs with an IPv4 TTL tag, which IPv6 raw
    // sockets ignore: they leave with the default hop limit 64, and Linux
    // drops an RA whose hop limit is not 255 (RFC 4861 §6.1.2).  The
    // access routers originate nothing else but ND (already 255) and ICMP
    // errors, so their default hop limit becomes 255.
    for (uint32_t n = 0; n < 2 && fixRaHopLimit; n++)
    {
        testbed.GetAccessRouters().Get(n)->GetObject<Ipv6L3Protocol>()->SetDefaultTtl(255);
    }
    // The testbed's simulated MN stays off the air: the real one replaces it.
    {
        Ptr<CsmaNetDevice> simMn = DynamicCast<CsmaNetDevice>(testbed.GetMobileDevice(0));
        DynamicCast<CsmaChannel>(simMn->GetChannel())->Detach(simMn);
    }

    Mip6IkeHelper mip6;
    mip6ike_example::SetUpHelper(mip6, scheme, processing, out);
    mip6.SetAgentAttribute("Psk", StringValue(psk));
    mip6.SetAgentAttribute("LocalId", StringValue("fqdn:ha.example"));
    Ptr<Mip6IkeAgent> ha = mip6.InstallHomeAgent(testbed.GetHomeAgent(), testbed.GetHomeDevice());
    mip6.InstallCorrespondentNode(testbed.GetCorrespondent());
    int64_t stream = 1000;
    stream += testbed.AssignStreams(stream);
    mip6.AssignStreams(stream);

    std::vector<Ptr<FdNetDevice>> fdDevices;
    if (withTaps)
    {
        for (uint32_t n = 0; n < 2; n++)
        {
            Ptr<CsmaChannel> ch =
                DynamicCast<CsmaChannel>(testbed.GetAccessRouterDevice(n)->GetChannel());
            fdDevices.push_back(BridgeToTap(ch, fds[n], n == 0 ? "bridge1" : "bridge2"));
        }
        std::printf("mip6ike-hybrid: taps ready: %s (foreign 1, AR1), %s (foreign 2, AR2)%s%s\n",
                    tap1.c_str(),
                    tap2.c_str(),
                    netns.empty() ? "" : " in netns ",
                    netns.c_str());
        std::fflush(stdout);
    }

    Run run;
    if (!out.empty())
    {
        mip6.EnableAsciiIke(out); // <out>/ha-ike.log: one line per IKE datagram
        run.haEvents.open(out + "/ha-events.csv");
        run.haEvents << "time_s,event,hoa,coa,seq,status\n";
    }
    ha->TraceConnectWithoutContext("BindingCacheUpdated", MakeBoundCallback(&HaBinding, &run));
    ha->TraceConnectWithoutContext("IkeExchangeStarted",
                                   MakeBoundCallback(&HaIke, &run, "started"));
    ha->TraceConnectWithoutContext("IkeExchangeCompleted",
                                   MakeBoundCallback(&HaIke, &run, "completed"));
    ha->TraceConnectWithoutContext("SaInstalled", MakeBoundCallback(&HaSa, &run, "installed"));
    ha->TraceConnectWithoutContext("SaUpdated", MakeBoundCallback(&HaSa, &run, "updated"));
    ha->TraceConnectWithoutContext("Drop", MakeBoundCallback(&HaDrop, &run));

    // The CBR flow CN -> HoA (received by the real MN).
    Ptr<Mip6IkeCbrSource> source = CreateObject<Mip6IkeCbrSource>();
    source->SetAttribute("Remote", Ipv6AddressValue(Mip6IkeTestbed::HomeAddress(0)));
    source->SetAttribute("PacketSize", UintegerValue(packetSize));
    source->SetAttribute("Rate", DataRateValue(DataRate(static_cast<uint64_t>(rate * 1000))));
    testbed.GetCorrespondent()->AddApplication(source);
    source->SetStartTime(Seconds(trafficStart));
    source->SetStopTime(Seconds(duration));

    if (pcap && !out.empty())
    {
        Mip6IkeHelper::EnablePcapAll(out + "/hybrid");
    }

    std::signal(SIGINT, OnSignal);
    std::signal(SIGTERM, OnSignal);
    Simulator::ScheduleNow(&MarkT0, &run);
    Simulator::Schedule(MilliSeconds(50), &Sample, &run);
    std::printf("mip6ike-hybrid: scheme %s, %s, processing %s, %g kbit/s CN -> %s from %.1f s, "
                "%.1f s\n",
                scheme.c_str(),
                realtime ? "real time" : "simulated time",
                processing.c_str(),
                rate,
                Str(Mip6IkeTestbed::HomeAddress(0)).c_str(),
                trafficStart,
                duration);
    std::fflush(stdout);
    Simulator::Stop(Seconds(duration));
    Simulator::Run();

    std::printf("%10.6f  end: CN sent %llu packets; HA: %llu BU received, %llu BA sent, %llu "
                "ESP out\n",
                Simulator::Now().GetSeconds(),
                static_cast<unsigned long long>(source->GetSent()),
                static_cast<unsigned long long>(ha->GetStats().bu_received),
                static_cast<unsigned long long>(ha->GetStats().ba_sent),
                static_cast<unsigned long long>(ha->GetStats().esp_out));
    for (const auto& d : run.haDrops)
    {
        std::printf("mip6ike-hybrid: HA dropped %llu: %s\n",
                    static_cast<unsigned long long>(d.second),
                    d.first.c_str());
    }
    std::printf("mip6ike-hybrid: largest real-time lag %.1f ms (at %.3f s)\n",
                run.maxLag.GetSeconds() * 1000,
                run.lagAt.GetSeconds());
    const bool late = realtime && run.maxLag > MicroSeconds(static_cast<int64_t>(maxLagMs * 1000));
    Simulator::Destroy();
    if (late)
    {
        std::fprintf(stderr,
                     "mip6ike-hybrid: real time fell behind by more than --maxLag=%g ms\n",
                     maxLagMs);
        return 4;
    }
    return 0;
}
