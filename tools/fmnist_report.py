#!/usr/bin/env python3
"""fmnist_report.py — the Fashion-MNIST convergence run's figures: netc against its PyTorch twin.

Reads RUN/netc/metrics.jsonl (netc's `train`), RUN/torch/metrics.jsonl and
RUN/torch/summary.json (tools/train_twin.py), RUN/netc/wall_s (written by
tools/fmnist_run.sh: the training command's wall seconds) and, where present,
RUN/speed/{netc,torch}-R/metrics.jsonl (the alternating speed rounds), and writes

  RUN/curves.svg   test top-1 per epoch and training loss per update, both runs
  RUN/report.md    a table: final and best test top-1, wall time, step images/s

and prints the table. --svg PATH also copies the curves there (the README's
figure). Standard library only.

Usage: python3 tools/fmnist_report.py RUN [--svg PATH] [--note TEXT]
"""
import argparse
import json
import os
import sys

COLOURS = {"netc": "#d62728", "PyTorch": "#1f77b4"}


def read_metrics(path):
    steps, epochs = [], []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            d = json.loads(line)
            if "epoch_end" in d:
                epochs.append(d)
            elif "loss" in d and "step" in d:
                steps.append(d)
    return steps, epochs


def smooth(values, k):
    """Mean over a trailing window of k values (the loss per update is noisy)."""
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= k:
            acc -= values[i - k]
        out.append(acc / min(i + 1, k))
    return out


def polyline(points, colour, width=1.5, dash=None):
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    d = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<polyline fill="none" stroke="{colour}" stroke-width="{width}"{d} points="{pts}"/>'


def panel(x0, y0, w, h, title, xlabel, series, xmax, ylo, yhi, yticks, fmt):
    """One plot: series = [(name, [(x, y)], marker)] in data units."""
    out = [f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="white" stroke="#444"/>',
           f'<text x="{x0 + w / 2}" y="{y0 - 8}" text-anchor="middle" font-size="14">{title}</text>',
           f'<text x="{x0 + w / 2}" y="{y0 + h + 34}" text-anchor="middle" font-size="12">{xlabel}</text>']

    def sx(x):
        return x0 + w * x / xmax

    def sy(y):
        return y0 + h - h * (min(max(y, ylo), yhi) - ylo) / (yhi - ylo)

    for t in yticks:
        out.append(f'<line x1="{x0}" y1="{sy(t):.1f}" x2="{x0 + w}" y2="{sy(t):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{x0 - 6}" y="{sy(t) + 4:.1f}" text-anchor="end" font-size="11">{fmt(t)}</text>')
    step = max(1, round(xmax / 10))
    for e in range(0, int(xmax) + 1, step):
        out.append(f'<text x="{sx(e):.1f}" y="{y0 + h + 16}" text-anchor="middle" font-size="11">{e}</text>')
    for name, pts, marker in series:
        c = COLOURS[name]
        out.append(polyline([(sx(x), sy(y)) for x, y in pts], c))
        if marker:
            out += [f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{c}"/>' for x, y in pts]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", help="the run folder (RUN/netc, RUN/torch)")
    ap.add_argument("--svg", help="also write the curves here")
    ap.add_argument("--note", default="", help="a line under the table (machine, load)")
    args = ap.parse_args()

    runs = {}
    try:
        for name, sub in (("netc", "netc"), ("PyTorch", "torch")):
            steps, epochs = read_metrics(os.path.join(args.run, sub, "metrics.jsonl"))
            if not epochs:
                raise ValueError(f"{os.path.join(args.run, sub, 'metrics.jsonl')}: no finished epoch")
            runs[name] = (steps, epochs)
        with open(os.path.join(args.run, "torch", "summary.json")) as f:
            twin = json.load(f)
        with open(os.path.join(args.run, "netc", "wall_s")) as f:
            netc_wall = float(f.read())
    except (OSError, ValueError) as e:
        print(f"fmnist_report: {e}", file=sys.stderr)
        return 2

    # the alternating speed rounds: each round's images/s after its last update, the median of the rounds
    speed = {}
    for name, sub in (("netc", "netc"), ("PyTorch", "torch")):
        vals = []
        for r in range(1, 100):
            path = os.path.join(args.run, "speed", f"{sub}-{r}", "metrics.jsonl")
            if not os.path.exists(path):
                break
            st, _ = read_metrics(path)
            if st:
                vals.append(st[-1]["images_per_s"])
        if vals:
            speed[name] = (sorted(vals)[len(vals) // 2] if len(vals) % 2 else
                           0.5 * (sorted(vals)[len(vals) // 2 - 1] + sorted(vals)[len(vals) // 2]), vals)

    nb = {n: max(1, max(s["batch"] for s in st) + 1) for n, (st, _) in runs.items()}
    rows = []
    for name, (steps, epochs) in runs.items():
        final = epochs[-1]["val_top1"]
        best = max(e["val_top1"] for e in epochs)
        ips = steps[-1].get("images_per_s", float("nan"))
        wall = netc_wall if name == "netc" else twin["wall_s"]
        rows.append((name, len(epochs), final, best, wall, ips))

    lines = ["| run | epochs | test top-1 (final) | best | training wall time | step images/s |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, ne, final, best, wall, ips in rows:
        lines.append(f"| {name} | {ne} | {final:.2f}% | {best:.2f}% | {wall / 60:.1f} min ({wall:.0f} s) | {ips:.0f} |")
    (_, _, f_netc, _, w_netc, i_netc), (_, _, f_torch, _, w_torch, i_torch) = rows
    lines.append("")
    lines.append(f"netc - PyTorch: {f_netc - f_torch:+.2f} points of top-1; netc's step {i_netc / i_torch:.2f}x "
                 f"PyTorch's images/s, its whole run {w_torch / w_netc:.2f}x as fast.")
    if len(speed) == 2:
        (mn, vn), (mt, vt) = speed["netc"], speed["PyTorch"]
        lines.append(f"Alternating speed rounds (60 updates each, no validation; images/s of the step): netc "
                     f"{mn:.0f} (rounds {', '.join(f'{v:.0f}' for v in vn)}), PyTorch {mt:.0f} (rounds "
                     f"{', '.join(f'{v:.0f}' for v in vt)}): netc {mn / mt:.2f}x; an epoch's 468 updates at these "
                     f"rates take {60000 / mn:.0f} s and {60000 / mt:.0f} s.")
    if args.note:
        lines.append(args.note)
    table = "\n".join(lines) + "\n"

    # the curves: test top-1 per epoch, training loss per update (smoothed over 50 updates)
    W, H = 900, 380
    epochs_max = max(len(e) for _, e in runs.values())
    lo = min(min(e["val_top1"] for e in ep) for _, ep in runs.values())
    ylo = max(0, min(88, 2 * int(lo // 2)))
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif">',
           f'<rect width="{W}" height="{H}" fill="white"/>']
    svg += panel(70, 40, 340, 250, "Fashion-MNIST test top-1 (%)", "epoch",
                 [(n, [(e["epoch_end"], e["val_top1"]) for e in ep], True) for n, (_, ep) in runs.items()],
                 epochs_max, ylo, 96, list(range(ylo, 97, 2)), lambda t: f"{t}")
    loss_series = []
    for n, (st, _) in runs.items():
        sm = smooth([s["loss"] for s in st], 50)
        k = max(1, len(st) // 400)
        loss_series.append((n, [((s["step"]) / nb[n], v) for s, v in list(zip(st, sm))[::k]], False))
    svg += panel(520, 40, 340, 250, "training loss (label-smoothed, mean of 50 updates)", "epoch",
                 loss_series, epochs_max, 0.4, 1.2, [0.4, 0.6, 0.8, 1.0, 1.2], lambda t: f"{t:.1f}")
    for i, (name, _, final, _, wall, _) in enumerate(rows):
        y = 348 + 18 * i
        svg.append(f'<line x1="70" y1="{y - 4}" x2="95" y2="{y - 4}" stroke="{COLOURS[name]}" stroke-width="3"/>')
        svg.append(f'<text x="102" y="{y}" font-size="12">{name}: {final:.2f}% after {len(runs[name][1])} epochs, '
                   f'{wall / 60:.1f} min</text>')
    svg.append("</svg>")
    with open(os.path.join(args.run, "curves.svg"), "w") as f:
        f.write("\n".join(svg) + "\n")
    if args.svg:
        with open(args.svg, "w") as f:
            f.write("\n".join(svg) + "\n")
    with open(os.path.join(args.run, "report.md"), "w") as f:
        f.write(table)
    print(table, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
