#!/usr/bin/env python3
"""Runs the top-level wscript's configure() and build() against stand-ins
for the parts of waf and ns-3's waf extensions (<= 3.35) that it uses, and
checks what it asks for.  This is not a waf build: it checks the file's
logic and the names it uses (see doc/BUILD.md for what is and is not tested).

    python3 test/waf/check_wscript.py [path/to/project]
"""
import os
import runpy
import sys


class Env(dict):
    """waf ConfigSet stand-in: missing keys read as []."""

    def __getattr__(self, name):
        return self.get(name, [])

    def append_value(self, key, values):
        self.setdefault(key, [])
        self[key].extend(values if isinstance(values, list) else [values])

    def derive(self):
        return Env({k: list(v) if isinstance(v, list) else v for k, v in self.items()})


class Node:
    def __init__(self, path):
        self.path = path

    def abspath(self):
        return self.path


class TaskGen:
    def __init__(self, env, **kw):
        self.env = env.derive()
        self.__dict__.update(kw)


class Conf:
    def __init__(self):
        self.env = Env(CC=['cc'])
        self.features = []

    def load(self, tool):
        self.env['CC'] = ['cc']

    def check_cc(self, **kw):
        assert '-std=c11' in kw['cflags'], kw
        return True

    def report_optional_feature(self, name, caption, enabled, reason):
        self.features.append((name, enabled))


class Bld:
    def __init__(self, env, root):
        self.env = env
        self.path = Node(root)
        self.bldnode = Node('/ns-3/build')
        self.tgens = []
        self.modules = []
        self.test_libs = []
        self.programs = []

    def __call__(self, **kw):
        tg = TaskGen(self.env, **kw)
        self.tgens.append(tg)
        return tg

    def create_ns3_module(self, name, deps):
        tg = TaskGen(self.env, name='ns3-' + name, use=['ns3-' + d for d in deps])
        self.modules.append((name, list(deps), tg))
        return tg

    def create_ns3_program(self, name, deps):
        tg = TaskGen(self.env, name=name, use=['ns3-' + d for d in deps])
        self.programs.append((name, list(deps), tg))
        return tg

    def create_ns3_module_test_library(self, name):
        tg = TaskGen(self.env, name='ns3-%s-test' % name, use=['ns3-' + name])
        self.test_libs.append((name, tg))
        return tg


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), '..', '..'))
    ws = runpy.run_path(os.path.join(root, 'wscript'))
    conf = Conf()
    ws['configure'](conf)
    assert conf.features == [('mip6ike', True)], conf.features
    for flag in ('-std=c11', '-Wall', '-Wextra', '-Werror', '-fPIC'):
        assert flag in conf.env['CFLAGS_M6IKE_C'], conf.env['CFLAGS_M6IKE_C']
    bld = Bld(conf.env, root)
    ws['build'](bld)

    def exists(rel):
        assert os.path.isfile(os.path.join(root, rel)), 'missing file ' + rel

    core = [t for t in bld.tgens if getattr(t, 'features', '') == 'c cstlib']
    assert len(core) == 1, 'one c cstlib task for the core'
    core = core[0]
    assert core.name == 'm6ike_core' and 'M6IKE_C' in core.use
    assert core.source and all(s.endswith('.c') for s in core.source), core.source
    for s in core.source:
        exists(s)
    assert any(d.startswith('M6IKE_VERSION_STRING="') for d in core.defines)
    assert 'model/core/include' in core.export_includes

    assert len(bld.modules) == 1, bld.modules
    name, deps, module = bld.modules[0]
    assert name == 'mip6ike' and deps == ['core', 'network', 'internet', 'virtual-net-device',
                                          'internet-apps', 'csma', 'point-to-point', 'wifi',
                                          'mobility', 'applications'], (name, deps)
    assert 'm6ike_core' in module.use and 'M6IKE_OPENSSL' in module.use, module.use
    assert conf.env['LIB_M6IKE_OPENSSL'] == ['crypto'], conf.env['LIB_M6IKE_OPENSSL']
    assert 'model/core/src/crypto_openssl.c' in core.source, core.source
    assert '-Werror' in module.env['CXXFLAGS'] and '-Werror' not in bld.env.CXXFLAGS
    flags = module.env['CXXFLAGS']
    assert flags[flags.index('-isystem') + 1] == '/ns-3/build', flags
    for s in module.source:
        exists(s)
    assert len(bld.test_libs) == 1 and bld.test_libs[0][0] == 'mip6ike'
    for s in bld.test_libs[0][1].source:
        exists(s)
    headers = [t for t in bld.tgens if getattr(t, 'features', '') == 'ns3header']
    assert len(headers) == 1 and headers[0].module == 'mip6ike'
    for s in headers[0].source:
        exists(s)
    assert bld.programs == [], 'no programs without ENABLE_EXAMPLES'
    # With examples and fd-net-device enabled: the hybrid example, linked
    # with fd-net-device and bridge, its source present.
    env = conf.env.derive()
    env['ENABLE_EXAMPLES'] = True
    env['NS3_ENABLED_MODULES'] = ['ns3-core', 'ns3-fd-net-device', 'ns3-bridge']
    bld2 = Bld(env, root)
    ws['build'](bld2)
    assert [(n, d) for n, d, _ in bld2.programs] == [
        ('mip6ike-hybrid', ['mip6ike', 'fd-net-device', 'bridge'])], bld2.programs
    for s in bld2.programs[0][2].source:
        exists(s)
    print('wscript ok: core %d C files, module %d sources, %d headers, %d test files'
          % (len(core.source), len(module.source), len(headers[0].source),
             len(bld.test_libs[0][1].source)))


if __name__ == '__main__':
    main()
