#!/usr/bin/env python3
"""Issue 12's comparison: samplers and distillation modes of `s2dc train --supernet`, one table.

Stages a static model once (`canonicalize,insert-batchnorm,split-stages{fractions},insert-exits,
make-sliceable,flops-bins{bins}`, as `s2dc convert` does), then trains it as a supernet once per
(sampler, distillation) with the same data, schedule and seed, and evaluates each trained supernet's
largest and smallest configuration on the test split (BatchNorm statistics recalibrated on
--recalibrate training images first): every exit's test accuracy, beside the untrained staged
model's and the static model's. Also prints the wall time of each training run.

Usage: supernet-table.py --s2dc PATH MODEL.onnx [--epochs 2] [--limit-train 2000] [--lr 0.02]
       [--samples 1] [--test-images 2000] [--recalibrate 1000] [--work DIR]
       [--runs 'uniform:inplace;uniform:ieb;attentive{candidates=4 mode=best-up}:inplace;prioritized:inplace']
"""
import argparse
import os
import re
import subprocess
import sys
import time

DEFAULT_RUNS = "uniform:inplace;uniform:ieb;attentive{candidates=4 mode=best-up}:inplace;prioritized:inplace"
EXIT_LINE = re.compile(r"^exit (\d+): accuracy=([0-9.]+) macs=(\d+)")
SUMMARY_LINE = re.compile(r"^accuracy=([0-9.]+)")


def run(cmd):
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        sys.exit(f"supernet-table: {' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-3000:]}")
    return done.stdout


def exits_of(args, model, configuration, recalibrate=True):
    """Every exit's (accuracy, MACs) of `configuration` on the first --test-images test images."""
    cmd = [args.s2dc, "eval", model, "--limit", str(args.test_images)]
    if configuration:
        cmd += ["--configuration", configuration]
    if configuration and recalibrate:
        cmd += ["--recalibrate", str(args.recalibrate)]
    out = run(cmd)
    exits = [(float(m.group(2)), int(m.group(3))) for m in map(EXIT_LINE.match, out.splitlines()) if m]
    if not exits:
        summary = [float(m.group(1)) for m in map(SUMMARY_LINE.match, out.splitlines()) if m]
        return [(summary[-1], 0)] if summary else []
    return exits


def cell(exits):
    return " / ".join(f"{a:.4f}" for a, _ in exits)


def add_common_arguments(ap):
    """The options supernet-table.py and supernet-alone.py share: model, data, schedule, staging."""
    ap.add_argument("model")
    ap.add_argument("--s2dc", required=True)
    ap.add_argument("--fractions", default="0.25,0.5")
    ap.add_argument("--bins", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--limit-train", type=int, default=2000)
    ap.add_argument("--validation-size", type=int, default=1000)
    ap.add_argument("--lr", type=float, default=0.02)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--samples", type=int, default=1)
    ap.add_argument("--test-images", type=int, default=2000)
    ap.add_argument("--recalibrate", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)


def make_staged(args, script):
    """Stages `args.model` into `args.work`/staged.s2dir as the tables do; returns its path."""
    if not os.path.exists(args.model):
        sys.exit(f"{script}: {args.model} does not exist")
    os.makedirs(args.work, exist_ok=True)
    staged = os.path.join(args.work, "staged.s2dir")
    run([args.s2dc, "opt", args.model, "-o", staged, "--passes",
         f"canonicalize,strip-softmax,insert-batchnorm,split-stages{{fractions=[{args.fractions}]}},insert-exits,"
         f"make-sliceable,flops-bins{{bins={args.bins}}}"])
    return staged


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(ap)
    ap.add_argument("--runs", default=DEFAULT_RUNS, help="';'-separated SAMPLER:DISTILL pairs")
    ap.add_argument("--work", default=".cache/supernet-table")
    args = ap.parse_args()
    staged = make_staged(args, "supernet-table")
    static = exits_of(args, args.model, None)
    # The split as it is (its inserted BatchNorms are still identities): no recalibration.
    untrained = {c: exits_of(args, staged, c, recalibrate=False) for c in ("largest", "smallest")}
    rows = []
    for spec in [r for r in args.runs.split(";") if r]:
        sampler, _, distill = spec.rpartition(":")
        name = re.sub(r"[^A-Za-z0-9]+", "-", spec).strip("-")
        out = os.path.join(args.work, name + ".s2dir")
        ckpt = out + ".ckpt"
        if os.path.exists(ckpt):
            os.remove(ckpt)
        start = time.time()
        run([args.s2dc, "train", staged, "--supernet", "--sampler", sampler, "--distill", distill,
             "--samples", str(args.samples), "--epochs", str(args.epochs), "--lr", str(args.lr),
             "--batch-size", str(args.batch_size), "--label-smoothing", "0.1", "--limit-train", str(args.limit_train),
             "--validation-size", str(args.validation_size), "--seed", str(args.seed),
             "--static-model", args.model, "-o", out])
        minutes = (time.time() - start) / 60
        largest, smallest = exits_of(args, out, "largest"), exits_of(args, out, "smallest")
        rows.append((spec, largest, smallest, minutes))
        print(f"  {spec}: largest {cell(largest)}, smallest {cell(smallest)}, {minutes:.1f} min", flush=True)
    print(f"\n{args.model}: static test accuracy {static[0][0]:.4f}; {args.epochs} epochs on {args.limit_train} training images, "
          f"K={args.samples}, lr {args.lr}, batch {args.batch_size}; test accuracy per exit on {args.test_images} test images, "
          f"BN recalibrated on {args.recalibrate} training images\n")
    print("| sampler : distillation | largest, exits 1 / 2 / 3 | smallest, exits 1 / 2 / 3 | training min |")
    print("|---|---|---|---|")
    print(f"| staged, untrained | {cell(untrained['largest'])} | {cell(untrained['smallest'])} | - |")
    for spec, largest, smallest, minutes in rows:
        print(f"| `{spec}` | {cell(largest)} | {cell(smallest)} | {minutes:.1f} |")


if __name__ == "__main__":
    main()
