#!/usr/bin/python3
"""mip6ike plots (PNG and PDF), from the runs' CSV files.

Run with Debian's /usr/bin/python3 (python3-matplotlib); headless (Agg).

  plot.py fig8      -o OUT [--window S] [--handover-at S] [LABEL=]RUN...
      Fig. 8 style: payload data rate at the MN over time across a
      handover, one line per run (RUN: a timeline.csv or a run directory;
      the label defaults to the scheme in the run's summary.csv).
  plot.py table1    -o OUT [--host ns3] TABLE.csv
      Table I as grouped bars: one group per rate, one bar per scheme,
      mean recovery_s with its 95 % CI, the paper's values marked.
  plot.py breakdown -o OUT [--rate R] RUN_OR_SUMMARY...
      Recovery time broken down and stacked, per scheme (and rate): movement
      detection, CoA ready (DAD), SA ready, BU/BA, traffic resumption; the
      mean over the summary rows (see segments()).
  plot.py hosts     -o OUT [--rate R] TABLE.csv
      Simulation against emulation: mean recovery_s with CIs per scheme and
      rate, one bar per host.

OUT is a path without extension: OUT.png and OUT.pdf are written.
TABLE.csv is mip6ike-aggregate's table.csv; summary.csv and timeline.csv
follow issue 4's output contract.
"""
import argparse
import csv
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# Table I of the main paper (Xu et al.): recovery time in seconds.
PAPER_TABLE1 = {
    "msrd": {40: 1.62, 100: 1.66, 1000: 1.65},
    "renegotiate": {40: 2.99, 100: 2.71, 1000: 2.62},
}
SCHEME_ORDER = ["msrd", "renegotiate", "migrate", "migrate-kmaddress",
                "mobike", "static"]
SUMMARY_HEADER = ("scheme,host,rate_kbps,seed,handover,l2_s,"
                  "movement_detected_s,coa_ready_s,bu_sent_s,ba_received_s,"
                  "sa_ready_s,traffic_resumed_s,recovery_s,ike_msgs,ike_bytes")
TABLE_HEAD = ["column", "n", "mean", "sd", "ci95", "min", "max"]


class InputError(Exception):
    pass


def fnum(s):
    """A CSV cell as a float; empty or 'nan' -> NaN."""
    if s in ("", "nan"):
        return math.nan
    return float(s)


def scheme_key(s):
    return (SCHEME_ORDER.index(s) if s in SCHEME_ORDER else len(SCHEME_ORDER),
            s)


def save(fig, out):
    d = os.path.dirname(out)
    if d:
        os.makedirs(d, exist_ok=True)
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(f"{out}.{ext}", dpi=150)
    plt.close(fig)
    print(f"wrote {out}.png, {out}.pdf")


# ------------------------------------------------------------------ inputs

def read_summary(path):
    """Rows of a summary.csv (or a run directory's) as dicts."""
    if os.path.isdir(path):
        path = os.path.join(path, "summary.csv")
    with open(path, newline="") as f:
        lines = f.read().splitlines()
    if not lines or lines[0] != SUMMARY_HEADER:
        raise InputError(f"{path}:1: header: not the summary.csv contract")
    cols = SUMMARY_HEADER.split(",")
    rows = []
    for i, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        cells = line.split(",")
        if len(cells) != len(cols):
            raise InputError(f"{path}:{i}: {len(cells)} cells, expected "
                             f"{len(cols)}")
        row = dict(zip(cols, cells))
        try:
            for c in cols[2:]:
                row[c] = fnum(row[c])
        except ValueError as e:
            raise InputError(f"{path}:{i}: {e}") from None
        rows.append(row)
    return rows


def read_timeline(path):
    if os.path.isdir(path):
        path = os.path.join(path, "timeline.csv")
    t, b = [], []
    with open(path, newline="") as f:
        r = csv.reader(f)
        head = next(r, None)
        if head != ["time_s", "rx_bytes"]:
            raise InputError(f"{path}:1: header: expected time_s,rx_bytes")
        for i, row in enumerate(r, start=2):
            if len(row) != 2:
                raise InputError(f"{path}:{i}: expected 2 cells")
            try:
                t.append(float(row[0]))
                b.append(float(row[1]))
            except ValueError as e:
                raise InputError(f"{path}:{i}: {e}") from None
    return path, t, b


def read_table(path):
    """mip6ike-aggregate's table.csv: list of dicts."""
    with open(path, newline="") as f:
        r = csv.reader(f)
        head = next(r, None)
        if not head or head[:3] != ["scheme", "host", "rate_kbps"] or \
                head[-7:] != TABLE_HEAD:
            raise InputError(f"{path}:1: header: not a mip6ike-aggregate "
                             f"table.csv")
        rows = []
        for i, cells in enumerate(r, start=2):
            if len(cells) != len(head):
                raise InputError(f"{path}:{i}: {len(cells)} cells, expected "
                                 f"{len(head)}")
            row = dict(zip(head, cells))
            try:
                row["rate_kbps"] = float(row["rate_kbps"])
                for c in TABLE_HEAD[1:]:
                    row[c] = fnum(row[c])
            except ValueError as e:
                raise InputError(f"{path}:{i}: {e}") from None
            rows.append(row)
    return rows


def rate_label(r):
    return f"{r:g}"


# ------------------------------------------------------------------ plots

def plot_fig8(args):
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for spec in args.runs:
        label, _, path = spec.rpartition("=")
        path, t, b = read_timeline(path)
        if not label:
            label = os.path.basename(os.path.dirname(os.path.abspath(path)))
            summ = os.path.join(os.path.dirname(path), "summary.csv")
            if os.path.exists(summ):
                rows = read_summary(summ)
                if rows:
                    label = rows[0]["scheme"]
        if not t:
            raise InputError(f"{path}: no bins")
        binw = t[1] - t[0] if len(t) > 1 else 0.01
        k = max(1, int(round(args.window / binw)))
        xs, ys = [], []
        for i in range(0, len(t) - k + 1, k):
            xs.append(t[i] + k * binw / 2)
            ys.append(sum(b[i:i + k]) * 8 / (k * binw) / 1000)
        ax.plot(xs, ys, label=label, linewidth=1.2)
    if args.handover_at is not None:
        ax.axvline(args.handover_at, color="grey", linestyle="--",
                   linewidth=0.8)
        ax.annotate("handover", (args.handover_at, ax.get_ylim()[1] * 0.95),
                    fontsize=8, color="grey", ha="right")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"data rate at the MN (kbit/s, {args.window:g} s bins)")
    ax.set_title(args.title or "Application data rate across a handover")
    ax.legend()
    ax.grid(alpha=0.3)
    save(fig, args.out)


def recovery_rows(rows, host):
    return [r for r in rows if r["column"] == "recovery_s" and
            (host is None or r["host"] == host)]


def plot_table1(args):
    rows = recovery_rows(read_table(args.table), args.host)
    if not rows:
        raise InputError(f"{args.table}: no recovery_s rows for host "
                         f"{args.host}")
    rates = sorted({r["rate_kbps"] for r in rows})
    schemes = sorted({r["scheme"] for r in rows}, key=scheme_key)
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / len(schemes)
    for j, s in enumerate(schemes):
        xs, ys, es = [], [], []
        for i, rate in enumerate(rates):
            m = [r for r in rows if r["scheme"] == s and r["rate_kbps"] == rate]
            if m:
                xs.append(i + (j - (len(schemes) - 1) / 2) * width)
                ys.append(m[0]["mean"])
                es.append(0 if math.isnan(m[0]["ci95"]) else m[0]["ci95"])
        ax.bar(xs, ys, width * 0.9, yerr=es, capsize=3,
               label=f"{s} (mean ± 95 % CI)")
        paper = PAPER_TABLE1.get(s, {})
        px = [x for x, rate in zip(xs, rates) if int(rate) in paper]
        py = [paper[int(rate)] for rate in rates if int(rate) in paper]
        if px:
            ax.scatter(px, py, marker="x", s=60, color="black", zorder=4,
                       label="paper (Table I)" if j == 0 else None)
    ax.set_xticks(range(len(rates)))
    ax.set_xticklabels([f"{rate_label(r)} kbit/s" for r in rates])
    ax.set_ylabel("time to recover communication (s)")
    ax.set_title(args.title or
                 f"Table I: recovery time after a handover ({args.host})")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.3)
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    ax.grid(axis="y", alpha=0.3)
    save(fig, args.out)


SEGMENTS = [("movement detection", "movement_detected_s"),
            ("CoA ready (DAD)", "coa_ready_s"),
            ("SA ready (IKE / SA update)", "sa_ready_s"),
            ("BU/BA", "ba_received_s"),
            ("traffic resumption", "traffic_resumed_s")]


def segments(row):
    """Durations of the stacked segments of one handover row.

    Each segment ends at its milestone, counted from the latest earlier
    milestone (a milestone reached before an earlier one adds nothing: the
    msrd scheme's SAs are updated before the BU is even sent).  The SA is
    put before BU/BA because the renegotiate scheme's BA waits for the new
    SAs; the segments then add up to l2 -> traffic resumed = recovery_s.
    A missing milestone adds nothing.
    """
    prev = row["l2_s"]
    out = []
    for _, col in SEGMENTS:
        t = row[col]
        if math.isnan(t) or math.isnan(prev) or t <= prev:
            out.append(0.0)
        else:
            out.append(t - prev)
            prev = t
    return out


def plot_breakdown(args):
    rows = []
    for p in args.inputs:
        rows += read_summary(p)
    if args.rate is not None:
        rows = [r for r in rows if r["rate_kbps"] == args.rate]
    if not rows:
        raise InputError("breakdown: no summary rows (check --rate)")
    keys = sorted({(r["scheme"], r["host"], r["rate_kbps"]) for r in rows},
                  key=lambda k: (scheme_key(k[0]), k[1], k[2]))
    means = []
    for k in keys:
        segs = [segments(r) for r in rows
                if (r["scheme"], r["host"], r["rate_kbps"]) == k]
        means.append([sum(s[i] for s in segs) / len(segs)
                      for i in range(len(SEGMENTS))])
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(keys) + 2), 4))
    bottom = [0.0] * len(keys)
    for i, (name, _) in enumerate(SEGMENTS):
        vals = [m[i] for m in means]
        ax.bar(range(len(keys)), vals, 0.6, bottom=bottom, label=name)
        bottom = [b + v for b, v in zip(bottom, vals)]
    hosts = {k[1] for k in keys}
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels([f"{s}\n{rate_label(r)} kbit/s" +
                        (f"\n{h}" if len(hosts) > 1 else "")
                        for s, h, r in keys], fontsize=8)
    ax.set_ylabel("time after the L2 handover (s)")
    ax.set_title(args.title or "Recovery time broken down (mean of runs)")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    save(fig, args.out)


def plot_hosts(args):
    rows = recovery_rows(read_table(args.table), None)
    if args.rate is not None:
        rows = [r for r in rows if r["rate_kbps"] == args.rate]
    if not rows:
        raise InputError(f"{args.table}: no recovery_s rows")
    keys = sorted({(r["scheme"], r["rate_kbps"]) for r in rows},
                  key=lambda k: (scheme_key(k[0]), k[1]))
    hosts = sorted({r["host"] for r in rows})
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(keys) + 2), 4))
    width = 0.8 / len(hosts)
    for j, h in enumerate(hosts):
        xs, ys, es = [], [], []
        for i, k in enumerate(keys):
            m = [r for r in rows if (r["scheme"], r["rate_kbps"]) == k and
                 r["host"] == h]
            if m:
                xs.append(i + (j - (len(hosts) - 1) / 2) * width)
                ys.append(m[0]["mean"])
                es.append(0 if math.isnan(m[0]["ci95"]) else m[0]["ci95"])
        ax.bar(xs, ys, width * 0.9, yerr=es, capsize=3,
               label={"ns3": "simulation (ns-3)",
                      "emu": "emulation (Linux)"}.get(h, h))
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels([f"{s}\n{rate_label(r)} kbit/s" for s, r in keys],
                       fontsize=8)
    ax.set_ylabel("recovery time (s), mean ± 95 % CI")
    ax.set_title(args.title or "Simulation against emulation")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    save(fig, args.out)


def main(argv):
    p = argparse.ArgumentParser(
        prog="plot.py", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    f8 = sub.add_parser("fig8", help="data rate over time (Fig. 8)")
    f8.add_argument("runs", nargs="+", metavar="[LABEL=]RUN")
    f8.add_argument("--window", type=float, default=0.1,
                    help="rate averaging window, s (default 0.1)")
    f8.add_argument("--handover-at", type=float)
    t1 = sub.add_parser("table1", help="Table I grouped bars")
    t1.add_argument("table")
    t1.add_argument("--host", default="ns3")
    bd = sub.add_parser("breakdown", help="stacked recovery breakdown")
    bd.add_argument("inputs", nargs="+", metavar="RUN_OR_SUMMARY")
    bd.add_argument("--rate", type=float)
    ho = sub.add_parser("hosts", help="simulation against emulation")
    ho.add_argument("table")
    ho.add_argument("--rate", type=float)
    for s in (f8, t1, bd, ho):
        s.add_argument("-o", "--out", required=True,
                       help="output path without extension")
        s.add_argument("--title")
    args = p.parse_args(argv)
    try:
        {"fig8": plot_fig8, "table1": plot_table1,
         "breakdown": plot_breakdown, "hosts": plot_hosts}[args.cmd](args)
    except (InputError, OSError) as e:
        print(f"plot.py: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
