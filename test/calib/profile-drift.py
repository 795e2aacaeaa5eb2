#!/usr/bin/env python3
"""ctest scenario.profile-drift: the scenario presets (PRESETS[] in
scenario/src/scenario.c, seen through `mip6ike-scenario --args ns3`) give
the same processing costs as the examples' --profile table
(examples/mip6ike-profile.h), profile by profile and attribute by
attribute, DhCostPerGroup item by item.

    profile-drift.py SCENARIO_EXE PROFILE_H
"""
import re
import subprocess
import sys

COSTS = ["DhCost", "DhCostPerGroup", "SignCost", "VerifyCost",
         "CipherCostPerByte", "MacCostPerByte", "MessageCost"]
UNIT_NS = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}


def ns(text):
    """'108ms' -> 1.08e8 (ns-3 Time text with a unit)."""
    m = re.fullmatch(r"([0-9.eE+-]+)(ns|us|ms|s)", text.strip())
    if not m:
        raise ValueError("not a time: %r" % text)
    return float(m.group(1)) * UNIT_NS[m.group(2)]


def norm(attr, text):
    if attr == "DhCostPerGroup":
        items = {}
        for item in text.split(","):
            group, _, t = item.partition(":")
            items[int(group)] = ns(t)
        return items
    return ns(text)


def header_profiles(path):
    """{profile: {attr: text}} from the header's {"Attr", "value"} pairs."""
    src = open(path, encoding="utf-8").read()
    out = {}
    for m in re.finditer(r'if \(name == "(\w+)"\)\s*\{(.*?)\n    \}', src, re.S):
        pairs = dict(re.findall(r'\{"(\w+)",\s*"([^"]*)"\}', m.group(2)))
        out[m.group(1)] = pairs
    return out


def scenario_attrs(exe, profile):
    out = subprocess.run([exe, "--defaults", "--set",
                          "processing.profile=" + profile, "--args", "ns3"],
                         check=True, capture_output=True, text=True).stdout
    attrs = {}
    for line in out.splitlines():
        m = re.fullmatch(r"--ns3::Mip6IkeAgent::(\w+)=(.*)", line)
        if m:
            attrs[m.group(1)] = m.group(2)
    return attrs


def main():
    exe, header = sys.argv[1], sys.argv[2]
    profiles = header_profiles(header)
    fails = 0
    for name in ("xu2008", "modern"):
        if name not in profiles:
            print("FAIL: %s has no profile %s" % (header, name))
            fails += 1
            continue
        want = profiles[name]
        have = scenario_attrs(exe, name)
        for attr in COSTS:
            if attr not in want:
                print("FAIL: %s: %s missing in the header" % (name, attr))
                fails += 1
            elif attr not in have:
                print("FAIL: %s: the scenario preset emits no %s (header: %s)"
                      % (name, attr, want[attr]))
                fails += 1
            elif norm(attr, want[attr]) != norm(attr, have[attr]):
                print("FAIL: %s: %s: header %s, scenario %s"
                      % (name, attr, want[attr], have[attr]))
                fails += 1
            else:
                print("ok   %s: %s = %s" % (name, attr, have[attr]))
    print("%d mismatches" % fails)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
