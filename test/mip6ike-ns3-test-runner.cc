/*
 * Test runner for the mip6ike ns-3 TestSuites in standalone builds (inside
 * an ns-3 tree, ns-3's own test-runner runs them).  The suites register
 * themselves through their static instances, linked into this executable;
 * ns-3's runner parses the usual options (--suite=NAME, --verbose,
 * --list, ...) and returns non-zero if any TestCase failed.
 */
#include "ns3/test.h"

int
main(int argc, char* argv[])
{
    return ns3::TestRunner::Run(argc, argv);
}
