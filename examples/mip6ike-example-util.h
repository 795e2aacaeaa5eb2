/*
 * mip6ike: what the ns-3 examples share: the command-line convention of
 * the project (an unknown option or a bad value is one line on stderr
 * naming it, exit status 2) on top of ns-3's CommandLine.
 */
#ifndef MIP6IKE_EXAMPLE_UTIL_H
#define MIP6IKE_EXAMPLE_UTIL_H

#include "ns3/global-value.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

namespace mip6ike_example
{

/** The program's name for messages. */
inline const char*&
Prog()
{
    static const char* prog = "mip6ike";
    return prog;
}

/** One line on stderr, exit 2. */
[[noreturn]] inline void
BadArgument(const std::string& what)
{
    std::cerr << Prog() << ": " << what << std::endl;
    std::exit(2);
}

/**
 * Reject an option that neither the example (known) nor ns-3 (its help
 * options, its global values such as RngRun, and --ns3::Type::Attribute
 * or --Type::Attribute forms) would take, before ns-3's CommandLine prints
 * its whole help and exits 1.
 */
inline void
CheckOptions(int argc, char* argv[], const std::vector<const char*>& known)
{
    for (int i = 1; i < argc; i++)
    {
        std::string a = argv[i];
        if (a.rfind("--", 0) != 0)
        {
            BadArgument("unexpected argument '" + a + "' (options are --name=value)");
        }
        std::string name = a.substr(2, a.find('=') == std::string::npos ? std::string::npos
                                                                         : a.find('=') - 2);
        bool ok = name.find("::") != std::string::npos;
        for (const char* k : known)
        {
            ok = ok || name == k;
        }
        for (const char* k : {"help",
                              "PrintHelp",
                              "PrintGlobals",
                              "PrintGroups",
                              "PrintGroup",
                              "PrintTypeIds",
                              "PrintAttributes",
                              "PrintVersion",
                              "version"})
        {
            ok = ok || name == k;
        }
        for (auto it = ns3::GlobalValue::Begin(); it != ns3::GlobalValue::End(); ++it)
        {
            ok = ok || name == (*it)->GetName();
        }
        if (!ok)
        {
            BadArgument("unknown option '--" + name + "' (see --help)");
        }
    }
}

/** --out: "" (no files) or an existing, writable directory. */
inline void
CheckOutDir(const std::string& out)
{
    if (out.empty())
    {
        return;
    }
    struct stat st;
    if (stat(out.c_str(), &st) != 0)
    {
        BadArgument("--out: directory '" + out + "' does not exist (create it first)");
    }
    if (!S_ISDIR(st.st_mode))
    {
        BadArgument("--out: '" + out + "' is not a directory");
    }
    if (access(out.c_str(), W_OK | X_OK) != 0)
    {
        BadArgument("--out: directory '" + out + "' is not writable");
    }
}

} // namespace mip6ike_example

#endif /* MIP6IKE_EXAMPLE_UTIL_H */
