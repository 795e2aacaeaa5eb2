# -*- Mode: python; py-indent-offset: 4; indent-tabs-mode: nil; coding: utf-8; -*-
#
# mip6ike inside a waf-based ns-3 tree (ns-3 <= 3.35), as contrib/mip6ike
# (or src/mip6ike).  ns-3 >= 3.36 uses CMakeLists.txt / ns3-tree.cmake
# instead.  How far this file was tested: doc/BUILD.md.
#
# The C11 core is a static C library task ('c cstlib', -fPIC) that the ns-3
# module links; its source list is read from model/core/CMakeLists.txt and
# the module's lists from ns3-sources.cmake, so that CMake and waf build the
# same files without a second list to keep in step.

import os
import re

MODULE = 'mip6ike'
NS3_DEPS = ['core', 'network', 'internet', 'virtual-net-device', 'internet-apps', 'csma',
            'point-to-point', 'wifi', 'mobility', 'applications']
# ns-3 programs of examples/ built here, with the modules each needs besides
# mip6ike: only the hybrid example (a real MN over TAPs) is built by waf,
# when examples and ns-3's fd-net-device module are enabled.
EXAMPLES = {'mip6ike-hybrid': ['fd-net-device', 'bridge']}
C_FLAGS = ['-std=c11', '-Wall', '-Wextra', '-Werror', '-fPIC']
# ns-3's waf passes the build directory holding ns3/*.h with -I; ns-3's
# headers are not clean under -Wextra (e.g. -Wunused-parameter in ptr.h), so
# build() also passes that directory with -isystem to our C++ (gcc and clang
# then ignore the -I), which silences ns-3's headers only.  If warnings
# still stop the build, configure with MIP6IKE_NO_WERROR=1 in the
# environment (the C core keeps -Werror: it includes no ns-3 header).
CXX_FLAGS = ['-Wall', '-Wextra']
if not os.environ.get('MIP6IKE_NO_WERROR'):
    CXX_FLAGS.append('-Werror')


def _cmake_list(path, name):
    """Items of 'set(<name> ...)' in a CMake file, without comments."""
    with open(path) as f:
        text = f.read()
    m = re.search(r'set\(\s*%s\s+(.*?)\)' % re.escape(name), text, re.S)
    if m is None:
        raise ValueError('%s: no set(%s ...)' % (path, name))
    items = []
    for line in m.group(1).splitlines():
        items.extend(line.split('#', 1)[0].split())
    return items


def _cmake_string(path, name):
    """Value of 'set(<name> "...")' in a CMake file."""
    with open(path) as f:
        m = re.search(r'set\(\s*%s\s+"([^"]*)"\s*\)' % re.escape(name), f.read())
    if m is None:
        raise ValueError('%s: no set(%s "...")' % (path, name))
    return m.group(1)


def configure(conf):
    if not conf.env.CC:
        conf.load('compiler_c')
    ok = conf.check_cc(fragment='#include <stdint.h>\n'
                                '_Static_assert(sizeof(uint64_t) == 8, "c11");\n'
                                'int main(void) { return 0; }\n',
                       cflags=['-std=c11'], msg='Checking for C11 (mip6ike core)',
                       mandatory=False)
    conf.env.append_value('CFLAGS_M6IKE_C', C_FLAGS)
    conf.env.append_value('DEFINES_M6IKE_C', ['_POSIX_C_SOURCE=200809L'])
    # The OpenSSL backend (Mip6IkeAgent's default crypto) is built into the
    # core's static library here; the module links libcrypto.
    conf.env.append_value('LIB_M6IKE_OPENSSL', ['crypto'])
    conf.report_optional_feature('mip6ike', 'mip6ike (MIPv6 + IPsec/IKEv2 models)',
                                 bool(ok), 'the C compiler does not accept -std=c11')
    if not ok:
        conf.env.append_value('MODULES_NOT_BUILT', MODULE)


def build(bld):
    if MODULE in bld.env.MODULES_NOT_BUILT:
        return
    here = bld.path.abspath()
    core_cmake = os.path.join(here, 'model', 'core', 'CMakeLists.txt')
    lists = os.path.join(here, 'ns3-sources.cmake')
    version = _cmake_string(os.path.join(here, 'CMakeLists.txt'), 'MIP6IKE_VERSION_STRING')

    # The C core: C11, no I/O, linked whole into the module.
    bld(features='c cstlib',
        target='m6ike_core',
        name='m6ike_core',
        source=['model/core/' + s for s in _cmake_list(core_cmake, 'M6IKE_CORE_SOURCES')]
        + ['model/core/src/crypto_openssl.c'],
        includes=['model/core/include', 'model/core/src'],
        export_includes=['model/core/include'],
        defines=['M6IKE_VERSION_STRING="%s"' % version],
        use=['M6IKE_C'])

    module = bld.create_ns3_module(MODULE, NS3_DEPS)
    module.source = _cmake_list(lists, 'MIP6IKE_NS3_SOURCES')
    module.includes = ['model', 'helper', 'model/core/include']
    module.use.extend(['m6ike_core', 'M6IKE_OPENSSL'])
    # On the task generator's own (derived) env, so that the flags do not
    # leak into the module's .pc file as a 'use' variable would.
    ns3_headers = ['-isystem', bld.bldnode.abspath()]
    module.env.append_value('CXXFLAGS', CXX_FLAGS + ns3_headers)

    module_test = bld.create_ns3_module_test_library(MODULE)
    module_test.source = _cmake_list(lists, 'MIP6IKE_NS3_TEST_SOURCES')
    module_test.includes = ['model/core/include']
    module_test.env.append_value('CXXFLAGS', CXX_FLAGS + ns3_headers)

    headers = bld(features='ns3header')
    headers.module = MODULE
    headers.source = _cmake_list(lists, 'MIP6IKE_NS3_HEADERS')

    # The hybrid example, when the tree builds examples and has
    # fd-net-device (waf enables it on Linux only).
    if bld.env.ENABLE_EXAMPLES and 'ns3-fd-net-device' in bld.env.NS3_ENABLED_MODULES:
        for name, deps in EXAMPLES.items():
            prog = bld.create_ns3_program(name, [MODULE] + deps)
            prog.source = ['examples/%s.cc' % name]
            prog.includes = ['examples', 'model', 'helper', 'model/core/include']
            prog.env.append_value('CXXFLAGS', CXX_FLAGS + ns3_headers)
