/*
 * mip6ike: named processing/timing profiles of the examples (--profile).
 * Each value and where it comes from: doc/CALIBRATION.md.
 *
 *   default  the models' own attribute defaults and the examples' options
 *   xu2008   the main paper's 2007 testbed (Xu et al., Fig. 6/7, Table I)
 *   modern   this machine's measured costs (./mip6ike bench, 2026)
 *
 * A profile gives the examples' option defaults (delay, l2Gap, raMin,
 * raMax, dad, processing) and the Mip6IkeAgent attribute defaults
 * (Config::SetDefault, before the command line is parsed): an explicit
 * --delay=... or --ns3::Mip6IkeAgent::DhCost=... still wins.
 */
#ifndef MIP6IKE_PROFILE_H
#define MIP6IKE_PROFILE_H

#include "mip6ike-example-util.h"

#include "ns3/config.h"
#include "ns3/string.h"

#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace mip6ike_example
{

/** A named profile: example option defaults and agent attribute defaults. */
struct Profile
{
    std::string name;
    double delayMs;
    double l2GapS;
    double raMinMs;
    double raMaxMs;
    std::string dad;
    std::string processing;
    /** Mip6IkeAgent attribute -> value (ns-3 string form). */
    std::vector<std::pair<std::string, std::string>> agent;
};

/** The profile called name; BadArgument() if there is none. */
inline Profile
GetProfile(const std::string& name)
{
    if (name == "default")
    {
        return Profile{"default", 2, 0.05, 30, 70, "off", "fixed", {}};
    }
    if (name == "xu2008")
    {
        return Profile{"xu2008",
                       0.01,
                       1.66,
                       30,
                       70,
                       "off",
                       "fixed",
                       {{"IkeProposal", "3des-sha1-modp2048"},
                        {"EspProposal", "3des-sha1"},
                        {"DhCost", "108ms"},
                        {"DhCostPerGroup", "14:108000us"},
                        {"SignCost", "140us"},
                        {"VerifyCost", "15us"},
                        {"CipherCostPerByte", "53ns"},
                        {"MacCostPerByte", "9ns"},
                        {"MessageCost", "40us"}}};
    }
    if (name == "modern")
    {
        return Profile{"modern",
                       0.01,
                       0.05,
                       30,
                       70,
                       "off",
                       "fixed",
                       {{"IkeProposal", "aes128-sha256-x25519"},
                        {"EspProposal", "aes128gcm16"},
                        {"DhCost", "55us"},
                        {"DhCostPerGroup", "14:253us,19:55us,31:53us"},
                        {"SignCost", "230us"},
                        {"VerifyCost", "16us"},
                        {"CipherCostPerByte", "1ns"},
                        {"MacCostPerByte", "1ns"},
                        {"MessageCost", "2us"}}};
    }
    BadArgument("--profile: must be xu2008, modern or default, not '" + name + "'");
}

/** The --profile=NAME of argv ("default" when absent). */
inline std::string
ProfileName(int argc, char* argv[])
{
    std::string name = "default";
    for (int i = 1; i < argc; i++)
    {
        if (std::strncmp(argv[i], "--profile=", 10) == 0)
        {
            name = argv[i] + 10;
        }
    }
    return name;
}

/** Set the Mip6IkeAgent attribute defaults of p (before cmd.Parse). */
inline void
ApplyAgentDefaults(const Profile& p)
{
    for (const auto& kv : p.agent)
    {
        ns3::Config::SetDefault("ns3::Mip6IkeAgent::" + kv.first, ns3::StringValue(kv.second));
    }
}

/**
 * An example's first step: prog becomes the program's name for messages,
 * and the --profile of argv (BadArgument() if unknown) sets the agent
 * attribute defaults, before any CommandLine is parsed.  Returns it for
 * the examples' own option defaults.
 */
inline Profile
LoadProfile(int argc, char* argv[], const char* prog)
{
    Prog() = prog;
    const Profile profile = GetProfile(ProfileName(argc, argv));
    ApplyAgentDefaults(profile);
    return profile;
}

} // namespace mip6ike_example

#endif /* MIP6IKE_PROFILE_H */
