#!/usr/bin/python3
"""Simulation against emulation: the summary rows of the same scenario run
in ns-3 and in the Linux emulation, side by side (./mip6ike compare).

  compare.py -o COMPARE.csv [--start S] RUN_DIR...

Each RUN_DIR holds a summary.csv (issue 4's output contract; host ns3 or
emu).  The rows are grouped by scheme and host and averaged over the runs
(seeds).  The two hosts count time from different origins (ns-3: the
simulation's start; the emulation: the flow's start, which is the
scenario's traffic.start_s = --start), so the table shows l2_s on the
scenario's clock and every later milestone as time after the L2 handover
(column - l2_s); recovery_s, ike_msgs and ike_bytes as they are; then the
BA and the flow's return after the CoA was usable (what the protocols
take, without the hosts' link and address timing).  The
difference is emu - ns3, and in % of ns3.

COMPARE.csv: scheme,column,ns3_mean,emu_mean,diff,diff_pct,ns3_n,emu_n
(column names as printed: l2_s, movement_detected_after_l2_s, ...).
Exit status 2 on unreadable input, 1 when a host has no row for a scheme.
"""
import argparse
import csv
import math
import os
import sys

HEADER = ("scheme,host,rate_kbps,seed,handover,l2_s,movement_detected_s,"
          "coa_ready_s,bu_sent_s,ba_received_s,sa_ready_s,traffic_resumed_s,"
          "recovery_s,ike_msgs,ike_bytes").split(",")
MILESTONES = ["movement_detected_s", "coa_ready_s", "bu_sent_s",
              "ba_received_s", "sa_ready_s", "traffic_resumed_s"]
# (printed name, how to get it from a row)
COLUMNS = [("l2_s", "l2")] + \
    [(m[:-2] + "_after_l2_s", m) for m in MILESTONES] + \
    [("recovery_s", "recovery_s"), ("ike_msgs", "ike_msgs"),
     ("ike_bytes", "ike_bytes"),
     # what the protocols take once the CoA is usable (the hosts' link and
     # address timing left out)
     ("ba_received_after_coa_s", ("ba_received_s", "coa_ready_s")),
     ("traffic_resumed_after_coa_s", ("traffic_resumed_s", "coa_ready_s"))]
SCHEME_ORDER = ["msrd", "renegotiate", "migrate", "migrate-kmaddress",
                "mobike", "static"]


class InputError(Exception):
    pass


def num(s):
    return float(s) if s != "" else math.nan


def read_rows(run):
    path = os.path.join(run, "summary.csv") if os.path.isdir(run) else run
    try:
        with open(path, newline="") as f:
            r = csv.reader(f)
            head = next(r, None)
            if head != HEADER:
                raise InputError(f"{path}:1: not a summary.csv header")
            rows = []
            for i, cells in enumerate(r, start=2):
                if len(cells) != len(HEADER):
                    raise InputError(f"{path}:{i}: {len(cells)} cells, "
                                     f"expected {len(HEADER)}")
                rows.append(dict(zip(HEADER, cells)))
    except OSError as e:
        raise InputError(f"{path}: {e.strerror}") from None
    if not rows:
        raise InputError(f"{path}: no handover row")
    return rows


def value(row, how, start):
    try:
        l2 = num(row["l2_s"]) + (start if row["host"] == "emu" else 0.0)
        if how == "l2":
            return l2
        if isinstance(how, tuple):
            return num(row[how[0]]) - num(row[how[1]])
        if how in MILESTONES:
            return num(row[how]) + (start if row["host"] == "emu" else 0.0) \
                - l2
        return num(row[how])
    except ValueError as e:
        raise InputError(f"{row['host']} {row['scheme']}: {e}") from None


def mean(xs):
    xs = [x for x in xs if not math.isnan(x)]
    return (sum(xs) / len(xs), len(xs)) if xs else (math.nan, 0)


def fmt(x, prec):
    return "-" if math.isnan(x) else f"{x:.{prec}f}"


def main(argv):
    p = argparse.ArgumentParser(prog="compare.py",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("-o", "--out", required=True)
    p.add_argument("--start", type=float, default=0.0,
                   help="the scenario's traffic.start_s (emu time origin)")
    p.add_argument("runs", nargs="+")
    a = p.parse_args(argv)
    try:
        rows = [r for run in a.runs for r in read_rows(run)]
    except InputError as e:
        print(f"compare.py: {e}", file=sys.stderr)
        return 2
    schemes = sorted({r["scheme"] for r in rows},
                     key=lambda s: (SCHEME_ORDER.index(s)
                                    if s in SCHEME_ORDER else 99, s))
    status = 0
    out = []
    print("Simulation (ns-3) against emulation (Linux namespaces): mean over "
          "seeds; times after the L2 handover unless noted; diff = emu - ns3")
    for s in schemes:
        by = {h: [r for r in rows if r["scheme"] == s and r["host"] == h]
              for h in ("ns3", "emu")}
        n3, ne = len(by["ns3"]), len(by["emu"])
        if n3 == 0 or ne == 0:
            print(f"compare.py: scheme {s}: no {'ns3' if n3 == 0 else 'emu'} "
                  f"row", file=sys.stderr)
            status = 1
        print(f"\n{s} (runs: ns3 {n3}, emu {ne})")
        print(f"  {'column':<30} {'ns3':>10} {'emu':>10} {'diff':>10} "
              f"{'diff %':>9}")
        for name, how in COLUMNS:
            m3, k3 = mean([value(r, how, a.start) for r in by["ns3"]])
            me, ke = mean([value(r, how, a.start) for r in by["emu"]])
            d = me - m3
            pct = d / m3 * 100 if not math.isnan(d) and m3 != 0 else math.nan
            prec = 0 if name.startswith("ike_") else 4
            label = name + (" (scenario clock)" if name == "l2_s" else "")
            print(f"  {label:<30} {fmt(m3, prec):>10} {fmt(me, prec):>10} "
                  f"{fmt(d, prec):>10} "
                  f"{'-' if math.isnan(pct) else f'{pct:+.1f}%':>9}")
            out.append([s, name, fmt(m3, 6), fmt(me, 6), fmt(d, 6),
                        "" if math.isnan(pct) else f"{pct:.2f}", k3, ke])
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["scheme", "column", "ns3_mean", "emu_mean", "diff",
                    "diff_pct", "ns3_n", "emu_n"])
        w.writerows([[c if c != "-" else "" for c in r] for r in out])
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
