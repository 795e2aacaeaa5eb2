/*
 * mip6ike: the command-line options the ns-3 examples share, with their
 * checks (the project's convention: one line on stderr naming the
 * option, exit 2) and the Mip6IkeHelper set-up they imply.
 *
 * ExampleOptions holds what every experiment on the Fig. 6 testbed takes
 * (mip6ike-handover, mip6ike-bootstrap): --profile, --scheme, --rate,
 * --out, --l2, --delay, --loss, --duration, --trafficStart, --dad,
 * --nullCipher, --processing, --pcap.  An example builds one from its
 * profile, adjusts the defaults and help texts that are its own, adds its
 * own options to the same CommandLine, and checks its own after Check():
 *
 *   const Profile profile = LoadProfile(argc, argv, "mip6ike-bootstrap");
 *   ExampleOptions opt(profile);
 *   opt.duration = 5;
 *   CommandLine cmd(__FILE__);
 *   opt.AddTo(cmd);
 *   CheckOptions(argc, argv, opt.Names());
 *   cmd.Parse(argc, argv);
 *   opt.Check();
 *   ...
 *   opt.ApplyTo(helper);
 *
 * The free Check* functions are the single checks, for the examples that
 * take only some of these options (mip6ike-hybrid, mip6ike-scale).
 */
#ifndef MIP6IKE_EXAMPLE_OPTIONS_H
#define MIP6IKE_EXAMPLE_OPTIONS_H

#include "mip6ike-example-util.h"
#include "mip6ike-helper.h"
#include "mip6ike-profile.h"
#include "mip6ike-testbed.h"

#include "ns3/boolean.h"
#include "ns3/command-line.h"
#include "ns3/string.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace mip6ike_example
{

/** --scheme: one of Mip6IkeHelper's scheme names. */
inline void
CheckScheme(const std::string& scheme)
{
    if (!ns3::Mip6IkeHelper::IsScheme(scheme))
    {
        BadArgument("--scheme: unknown scheme '" + scheme + "' (one of " +
                    ns3::Mip6IkeHelper::SchemeNames() + ")");
    }
}

/** --processing: fixed or measured. */
inline void
CheckProcessing(const std::string& processing)
{
    if (processing != "fixed" && processing != "measured")
    {
        BadArgument("--processing: must be fixed or measured, not '" + processing + "'");
    }
}

/** --delay: >= 0 ms. */
inline void
CheckDelay(double delayMs)
{
    if (!(delayMs >= 0))
    {
        BadArgument("--delay: must be >= 0 ms");
    }
}

/** --packetSize: what a CBR datagram can carry (a SeqTsHeader, no fragments). */
inline void
CheckPacketSize(uint32_t packetSize)
{
    if (packetSize < 12 || packetSize > 1400)
    {
        BadArgument("--packetSize: must be 12..1400 bytes");
    }
}

/** --raMin/--raMax: RFC 6275 §7.5's lowest MinRtrAdvInterval is 30 ms. */
inline void
CheckRaIntervals(double raMinMs, double raMaxMs)
{
    if (!(raMinMs >= 30) || !(raMaxMs >= raMinMs))
    {
        BadArgument("--raMin/--raMax: need 30 <= raMin <= raMax (ms)");
    }
}

/**
 * The helper set-up of every example on the testbed: the scheme, the
 * testbed's home network, the processing-time model, and the agents'
 * Wireshark key logs into out (none when out is "").
 */
inline void
SetUpHelper(ns3::Mip6IkeHelper& mip6,
            const std::string& scheme,
            const std::string& processing,
            const std::string& out)
{
    mip6.SetScheme(scheme);
    mip6.SetHomeNetwork(ns3::Mip6IkeTestbed::HomeAgentAddress(),
                        ns3::Mip6IkeTestbed::HomePrefix(),
                        64);
    mip6.SetAgentAttribute("ProcessingMode", ns3::StringValue(processing));
    if (!out.empty())
    {
        mip6.EnableKeyLog(out);
    }
}

/** The options of an experiment on the Fig. 6 testbed (see the top). */
struct ExampleOptions
{
    /** Defaults from profile (delay, dad, processing) and the examples' own. */
    explicit ExampleOptions(const Profile& p)
        : profile(p.name),
          delayMs(p.delayMs),
          dad(p.dad),
          processing(p.processing)
    {
    }

    std::string profile;        //!< --profile (read before parsing: LoadProfile)
    std::string scheme{"msrd"}; //!< --scheme
    double rate{100};           //!< --rate, kbit/s
    std::string out;            //!< --out ("" = no files)
    std::string l2{"csma"};     //!< --l2
    double delayMs;             //!< --delay
    double loss{0};             //!< --loss
    double duration{0};         //!< --duration, s (its meaning is the example's)
    double trafficStart{1};     //!< --trafficStart, s
    std::string dad;            //!< --dad
    bool nullCipher{false};     //!< --nullCipher
    std::string processing;     //!< --processing
    bool pcap{true};            //!< --pcap

    /** Help texts an example may reword before AddTo(). */
    std::string profileHelp{
        "processing/timing profile: xu2008, modern, default (doc/CALIBRATION.md)"};
    std::string l2Help{"access links: csma or wifi"};           //!< --l2
    std::string durationHelp{"simulated time, s"};              //!< --duration
    std::string nullCipherHelp{"NULL cipher instead of OpenSSL"}; //!< --nullCipher

    /** Declare the options (the values above are their defaults). */
    void AddTo(ns3::CommandLine& cmd)
    {
        cmd.AddValue("profile", profileHelp, profile);
        cmd.AddValue("scheme",
                     "msrd, renegotiate, migrate, migrate-kmaddress, mobike, static",
                     scheme);
        cmd.AddValue("rate", "CBR payload rate CN -> MN's HoA, kbit/s (> 0)", rate);
        cmd.AddValue("out",
                     "existing directory for summary.csv, timeline.csv, pcaps, key logs",
                     out);
        cmd.AddValue("l2", l2Help, l2);
        cmd.AddValue("delay",
                     "one-way delay of each backbone link (HA to access routers), ms",
                     delayMs);
        cmd.AddValue("loss", "packet loss rate on the MN's access links, 0..1", loss);
        cmd.AddValue("duration", durationHelp, duration);
        cmd.AddValue("trafficStart", "CBR start, s", trafficStart);
        cmd.AddValue("dad", "DAD of the CoA: on, off, optimistic", dad);
        cmd.AddValue("nullCipher", nullCipherHelp, nullCipher);
        cmd.AddValue("processing", "processing-time model: fixed or measured", processing);
        cmd.AddValue("pcap", "write a pcap per device into --out", pcap);
    }

    /** The names AddTo() declares, for CheckOptions (append the example's). */
    static std::vector<const char*> Names()
    {
        return {"profile",
                "scheme",
                "rate",
                "out",
                "l2",
                "delay",
                "loss",
                "duration",
                "trafficStart",
                "dad",
                "nullCipher",
                "processing",
                "pcap"};
    }

    /**
     * Check the values after parsing: BadArgument() on the first bad one.
     * --duration and --trafficStart are left to the example, whose timeline
     * they depend on.
     */
    void Check() const
    {
        CheckScheme(scheme);
        if (!(rate > 0) || !std::isfinite(rate))
        {
            BadArgument("--rate: must be a positive number of kbit/s, not " +
                        std::to_string(rate));
        }
        CheckOutDir(out);
        if (l2 != "csma" && l2 != "wifi")
        {
            BadArgument("--l2: must be csma or wifi, not '" + l2 + "'");
        }
        if (dad != "on" && dad != "off" && dad != "optimistic")
        {
            BadArgument("--dad: must be on, off or optimistic, not '" + dad + "'");
        }
        CheckProcessing(processing);
        CheckDelay(delayMs);
        if (!(loss >= 0 && loss < 1))
        {
            BadArgument("--loss: must be in [0, 1)");
        }
    }

    /** The testbed these options describe: access links, backbone delay, loss. */
    ns3::Mip6IkeTestbedConfig TestbedConfig() const
    {
        ns3::Mip6IkeTestbedConfig config;
        config.l2 = l2;
        config.linkDelay = ns3::MicroSeconds(static_cast<int64_t>(delayMs * 1000));
        config.loss = loss;
        return config;
    }

    /** Scheme, home network, NULL cipher, DAD, processing, key logs. */
    void ApplyTo(ns3::Mip6IkeHelper& mip6) const
    {
        SetUpHelper(mip6, scheme, processing, out);
        mip6.SetAgentAttribute("NullCipher", ns3::BooleanValue(nullCipher));
        mip6.SetAgentAttribute("DadMode", ns3::StringValue(dad));
    }
};

} // namespace mip6ike_example

#endif /* MIP6IKE_EXAMPLE_OPTIONS_H */
