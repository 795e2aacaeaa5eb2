#!/usr/bin/python3
"""Prints the reproduced Table I next to the paper's.

  table1.py [--host ns3] [--csv] TABLE.csv

TABLE.csv is mip6ike-aggregate's table.csv; its recovery_s rows for the
schemes msrd (the paper's proposal: direct SA update) and renegotiate
(IKEv2 re-negotiation) at 40, 100 and 1000 kbit/s are set beside Table I
of the main paper (Xu et al.), with the 95 % confidence half-width, the
number of runs and the deviation from the paper.  A cell without runs
prints "-".  --csv writes the same as CSV.  Exit 2 on a bad table.
"""
import argparse
import csv
import math
import sys

PAPER = {  # Table I, seconds
    40: (1.62, 2.99),
    100: (1.66, 2.71),
    1000: (1.65, 2.62),
}
SCHEMES = ("msrd", "renegotiate")
TAIL = ["column", "n", "mean", "sd", "ci95", "min", "max"]


def load(path, host):
    cells = {}
    with open(path, newline="") as f:
        r = csv.reader(f)
        head = next(r, None)
        if not head or head[:3] != ["scheme", "host", "rate_kbps"] or \
                head[-7:] != TAIL:
            raise ValueError(f"{path}:1: header: not a mip6ike-aggregate "
                             f"table.csv")
        extra = head[3:-7]
        for i, row in enumerate(r, start=2):
            if len(row) != len(head):
                raise ValueError(f"{path}:{i}: {len(row)} cells, expected "
                                 f"{len(head)}")
            d = dict(zip(head, row))
            if d["column"] != "recovery_s" or d["host"] != host:
                continue
            if extra:
                raise ValueError(f"{path}: grouped by {','.join(extra)} as "
                                 f"well: aggregate without --by for Table I")
            try:
                key = (d["scheme"], float(d["rate_kbps"]))
                cells[key] = (int(d["n"]), float(d["mean"]), float(d["ci95"]))
            except ValueError as e:
                raise ValueError(f"{path}:{i}: {e}") from None
    return cells


def fmt(cell):
    if cell is None or cell[0] == 0:
        return "-"
    n, mean, ci = cell
    if math.isnan(ci):
        return f"{mean:.2f} (n={n})"
    return f"{mean:.2f} ± {ci:.2f} (n={n})"


def dev(cell, paper):
    if cell is None or cell[0] == 0:
        return "-"
    return f"{(cell[1] - paper) / paper * 100:+.0f} %"


def main(argv):
    p = argparse.ArgumentParser(prog="table1.py", description=__doc__)
    p.add_argument("table")
    p.add_argument("--host", default="ns3")
    p.add_argument("--csv", action="store_true")
    a = p.parse_args(argv)
    try:
        cells = load(a.table, a.host)
    except (OSError, ValueError) as e:
        print(f"table1.py: {e}", file=sys.stderr)
        return 2
    if a.csv:
        w = csv.writer(sys.stdout)
        w.writerow(["rate_kbps", "scheme", "paper_s", "n", "mean_s",
                    "ci95_s", "deviation_pct"])
        for rate, paper in PAPER.items():
            for s, pv in zip(SCHEMES, paper):
                c = cells.get((s, float(rate)))
                if c and c[0]:
                    w.writerow([rate, s, pv, c[0], f"{c[1]:.6g}",
                                f"{c[2]:.6g}",
                                f"{(c[1] - pv) / pv * 100:.1f}"])
                else:
                    w.writerow([rate, s, pv, 0, "", "", ""])
        return 0
    print(f"Table I: time to recover communication after a handover (s), "
          f"host {a.host}")
    print("mean ± 95 % CI half-width (Student t), n runs; paper: Xu et al., "
          "Table I")
    h = (f"{'rate':>11}  {'msrd: paper':>11}  {'this model':>22}  "
         f"{'dev':>6}  {'renegotiate: paper':>18}  {'this model':>22}  "
         f"{'dev':>6}")
    print(h)
    print("-" * len(h))
    for rate, (pm, pr) in PAPER.items():
        cm = cells.get(("msrd", float(rate)))
        cr = cells.get(("renegotiate", float(rate)))
        print(f"{str(rate) + ' kbit/s':>11}  {pm:>11.2f}  {fmt(cm):>22}  "
              f"{dev(cm, pm):>6}  {pr:>18.2f}  {fmt(cr):>22}  "
              f"{dev(cr, pr):>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
