# The ns-3 module's files, shared by ns3-standalone.cmake and ns3-tree.cmake
# (wscript keeps its own copy of these lists: keep the three in step).
# Paths are relative to the project's top directory.
set(MIP6IKE_NS3_SOURCES
    model/mip6ike-core-adapter.cc
    model/mip6ike-ext-headers.cc
    model/mip6ike-l4-protocol.cc
    model/mip6ike-routing.cc
    model/mip6ike-movement.cc
    model/mip6ike-agent.cc
    model/mip6ike-ike-daemon.cc
    model/mip6ike-msrd.cc
    model/mip6ike-pfkey-bus.cc
    # helper/ files
    helper/mip6ike-wire.cc
    helper/mip6ike-testbed.cc
    helper/mip6ike-results.cc
    helper/mip6ike-helper.cc
)
set(MIP6IKE_NS3_HEADERS
    model/mip6ike-core-adapter.h
    model/mip6ike-ext-headers.h
    model/mip6ike-l4-protocol.h
    model/mip6ike-routing.h
    model/mip6ike-movement.h
    model/mip6ike-agent.h
    model/mip6ike-ike-daemon.h
    model/mip6ike-msrd.h
    model/mip6ike-pfkey-bus.h
    # helper/ files
    helper/mip6ike-wire.h
    helper/mip6ike-testbed.h
    helper/mip6ike-results.h
    helper/mip6ike-helper.h
)
# One file per ns-3 TestSuite; each suite's name is listed in
# MIP6IKE_NS3_TEST_SUITES so that standalone builds register one ctest each.
set(MIP6IKE_NS3_TEST_SOURCES
    test/mip6ike-core-adapter-test-suite.cc
    test/mip6ike-ext-headers-test-suite.cc
    test/mip6ike-movement-test-suite.cc
    test/mip6ike-agent-test-suite.cc
    test/mip6ike-scenario-test-suite.cc
    test/mip6ike-experiment-test-suite.cc
    test/mip6ike-architecture-test-suite.cc
)
set(MIP6IKE_NS3_TEST_SUITES
    mip6ike-core-adapter
    mip6ike-ext-headers
    mip6ike-movement
    mip6ike-agent
    mip6ike-scenario
    mip6ike-experiment
    mip6ike-architecture
)
