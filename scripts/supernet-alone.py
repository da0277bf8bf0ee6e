#!/usr/bin/env python3
"""Issue 12's "more accurate than a network of the same width trained alone": one table.

Stages a static model as supernet-table.py does, trains it as a supernet for --epochs (one sampler
and distillation mode), then trains, from the same staged weights (BatchNorms initialized from the
static model, as the supernet's are), every exit's network of the largest and of the smallest
configuration alone (`s2dc train --supernet --alone C --alone-exit N`: exactly the layers, weights
and MACs of that exit, on the labels, the plain trainer) on the same images with the same schedule:
for the same number of steps (--epochs), and with --same-time also for as many epochs as fit in the
supernet's wall time (measured from the same-steps run's time per epoch). --configurations also
trains each whole configuration alone (all its exits on the labels, no sandwich).

Prints one table of every exit's accuracy on the first --test-images test images (trained
configurations with BatchNorm statistics recalibrated on --recalibrate training images first; the
untrained split and the exit networks on their own running statistics) and one of the validation accuracy (the seeded
--validation-size split the training runs hold out) from the last epoch of each run, with the
training wall times.

Usage: supernet-alone.py --s2dc PATH MODEL.onnx [--epochs 2] [--limit-train 2000] [--same-time]
       [--configurations] [--sampler uniform] [--distill inplace] [--work DIR]
"""
import argparse
import importlib.util
import os
import re
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("supernet_table", os.path.join(HERE, "supernet-table.py"))
table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(table)
run, exits_of, cell = table.run, table.exits_of, table.cell

SUPERNET_VAL = re.compile(r"^\s+(largest|smallest): (.*)$")
EXIT_VAL = re.compile(r"exit (\d+) val accuracy ([0-9.]+)")
PLAIN_VAL = re.compile(r"^epoch \d+/\d+: .*; val accuracy ([0-9.]+)")
EPOCH_SECONDS = re.compile(r"^epoch \d+/\d+: .*?([0-9.]+) s(;|$)")


def train(args, extra, out, epochs):
    """One `s2dc train --supernet` run: (log, wall seconds, seconds per epoch from its lines)."""
    for stale in (out, out + ".ckpt"):
        if os.path.exists(stale):
            os.remove(stale)
    cmd = [args.s2dc, "train", args.staged, "--supernet", "--epochs", str(epochs), "--lr", str(args.lr),
           "--batch-size", str(args.batch_size), "--label-smoothing", "0.1", "--limit-train", str(args.limit_train),
           "--validation-size", str(args.validation_size), "--seed", str(args.seed),
           "--static-model", args.model, "-o", out] + extra
    start = time.time()
    log = run(cmd)
    seconds = time.time() - start
    per_epoch = [float(m.group(1)) for m in map(EPOCH_SECONDS.match, log.splitlines()) if m]
    return log, seconds, (sum(per_epoch) / len(per_epoch) if per_epoch else seconds / epochs)


def last_validation(log):
    """The last epoch's validation accuracies: {'largest': [...], 'smallest': [...]} or {'plain': [a]}."""
    found = {}
    for line in log.splitlines():
        m = SUPERNET_VAL.match(line)
        if m:
            found[m.group(1)] = [float(a) for _, a in EXIT_VAL.findall(m.group(2))]
        m = PLAIN_VAL.match(line)
        if m:
            found["plain"] = [float(m.group(1))]
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    table.add_common_arguments(ap)
    ap.add_argument("--sampler", default="uniform")
    ap.add_argument("--distill", default="inplace")
    ap.add_argument("--same-time", action="store_true", help="also train each exit alone for the supernet's wall time")
    ap.add_argument("--configurations", action="store_true", help="also train the largest and smallest configurations alone")
    ap.add_argument("--work", default=".cache/supernet-alone")
    args = ap.parse_args()
    args.staged = table.make_staged(args, "supernet-alone")
    stages = len(args.fractions.split(",")) + 1
    static = exits_of(args, args.model, None)
    test = {("staged, untrained", c): exits_of(args, args.staged, c, recalibrate=False) for c in ("largest", "smallest")}
    val, minutes = {}, {}

    name = "supernet"
    out = os.path.join(args.work, "supernet.s2dir")
    log, seconds, _ = train(args, ["--sampler", args.sampler, "--distill", args.distill, "--samples", str(args.samples)], out, args.epochs)
    supernet_seconds = seconds
    row = f"supernet `{args.sampler}:{args.distill}`, {args.epochs} epochs"
    v = last_validation(log)
    for c in ("largest", "smallest"):
        test[(row, c)] = exits_of(args, out, c)
        val[(row, c)] = v.get(c, [])
    minutes[row] = seconds / 60
    print(f"  {row}: {seconds:.0f} s", flush=True)

    budgets = [("same steps", args.epochs)]
    for c in ("largest", "smallest"):
        if args.configurations:
            row = f"configuration alone, {args.epochs} epochs"
            out = os.path.join(args.work, f"{c}-alone.s2dir")
            log, seconds, _ = train(args, ["--alone", c], out, args.epochs)
            test[(row, c)] = exits_of(args, out, c)
            val[(row, c)] = last_validation(log).get("largest", [])
            minutes.setdefault(row, 0)
            minutes[row] += seconds / 60
            print(f"  {c} {row}: {seconds:.0f} s", flush=True)
        for s in range(1, stages + 1):
            row = f"each exit alone, same steps ({args.epochs} epochs)"
            out = os.path.join(args.work, f"{c}-exit{s}.onnx")
            log, seconds, per_epoch = train(args, ["--alone", c, "--alone-exit", str(s)], out, args.epochs)
            test.setdefault((row, c), []).extend(exits_of(args, out, None))
            val.setdefault((row, c), []).extend(last_validation(log).get("plain", []))
            minutes.setdefault(row, 0)
            minutes[row] += seconds / 60
            print(f"  {c} exit {s} alone, {args.epochs} epochs: {seconds:.0f} s ({per_epoch:.1f} s per epoch)", flush=True)
            if args.same_time:
                epochs = max(args.epochs, int(supernet_seconds / max(1e-3, per_epoch)))
                row = "each exit alone, the supernet's wall time"
                out = os.path.join(args.work, f"{c}-exit{s}-time.onnx")
                log, seconds, _ = train(args, ["--alone", c, "--alone-exit", str(s)], out, epochs)
                test.setdefault((row, c), []).extend(exits_of(args, out, None))
                val.setdefault((row, c), []).extend(last_validation(log).get("plain", []))
                minutes.setdefault(row, 0)
                minutes[row] += seconds / 60
                print(f"  {c} exit {s} alone, {epochs} epochs (the supernet's {supernet_seconds:.0f} s): {seconds:.0f} s", flush=True)

    rows = list(dict.fromkeys(r for r, _ in test))
    print(f"\n{args.model} staged at {args.fractions} (flops-bins {args.bins}): static test accuracy {static[0][0]:.4f}; "
          f"{args.limit_train} training images, {args.validation_size} held out, lr {args.lr} cosine, batch {args.batch_size}, "
          f"seed {args.seed}; the supernet K={args.samples}\n")
    for title, values in ((f"test accuracy per exit (first {args.test_images} test images)", test),
                          (f"validation accuracy per exit (last epoch, {args.validation_size} held-out images)", val)):
        print(f"{title}:\n")
        ex = " / ".join(str(s) for s in range(1, stages + 1))
        print(f"| run | largest, exits {ex} | smallest, exits {ex} | training min (all its runs) |")
        print("|---|---|---|---|")
        for r in rows:
            if (r, "largest") not in values:
                continue
            fmt = (lambda xs: cell(xs)) if values is test else (lambda xs: " / ".join(f"{a:.4f}" for a in xs))
            print(f"| {r} | {fmt(values[(r, 'largest')])} | {fmt(values[(r, 'smallest')])} | "
                  f"{minutes[r]:.1f} |" if r in minutes else f"| {r} | {fmt(values[(r, 'largest')])} | {fmt(values[(r, 'smallest')])} | - |")
        print()


if __name__ == "__main__":
    main()
