#!/usr/bin/env python3
"""Issue 13's strategy table: every search strategy on one trained supernet, same evaluation budget.

Runs `s2dc search` once per (budget, strategy) with the same seed, validation split and number of
evaluations, and prints one Markdown table: the best validation accuracy within the budget, the
evaluation at which it was first reached (from search.json's evaluations, in order) and the wall
time. The supernet is any `train --supernet` output or a convert folder's `supernet.s2dir`; give the
same --validation-size / --split-seed as its training held out, so no candidate is scored on images
the supernet trained on.

Usage: search-strategies.py --s2dc PATH SUPERNET [--reference STATIC.onnx] [--budgets 0.35,0.5]
       [--evaluations 24] [--validation-size 5000] [--split-seed 0] [--limit N]
       [--calibration-images 500] [--work DIR] [--strategies 'random;evolution{population=8};…']
"""
import argparse
import json
import os
import subprocess
import sys
import time

DEFAULT_STRATEGIES = "random;evolution{population=8};reinforce;surrogate;prune"


def run_search(args, budget, strategy, out):
    """One search; returns (best accuracy within the budget or None, evaluation reaching it, evaluations, seconds)."""
    os.makedirs(out, exist_ok=True)
    config = os.path.join(out, "config.json")
    cmd = [args.s2dc, "search", args.supernet, "--budget", str(budget), "--strategy", strategy,
           "--evaluations", str(args.evaluations), "--seed", str(args.seed),
           "--validation-size", str(args.validation_size), "--split-seed", str(args.split_seed),
           "--calibration-images", str(args.calibration_images), "-o", config]
    if args.reference:
        cmd += ["--reference", args.reference]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    start = time.time()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = time.time() - start
    if done.returncode != 0:
        sys.exit(f"search-strategies: {' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-2000:]}")
    with open(os.path.join(out, "search.json")) as f:
        record = json.load(f)
    evaluations = record["evaluations"]
    feasible = [(i, e["accuracy"]) for i, e in enumerate(evaluations) if e.get("feasible")]
    if not feasible:
        return None, None, len(evaluations), seconds
    best = max(a for _, a in feasible)
    reach = next(i for i, a in feasible if a == best) + 1
    return best, reach, len(evaluations), seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("supernet")
    ap.add_argument("--s2dc", required=True)
    ap.add_argument("--reference", help="the static model (its MACs are the budget's denominator)")
    ap.add_argument("--budgets", default="0.35,0.5")
    ap.add_argument("--evaluations", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--validation-size", type=int, default=5000)
    ap.add_argument("--split-seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--calibration-images", type=int, default=500)
    ap.add_argument("--strategies", default=DEFAULT_STRATEGIES, help="';'-separated strategy specs")
    ap.add_argument("--work", default=".cache/search-strategies")
    args = ap.parse_args()
    if not os.path.exists(args.supernet):
        sys.exit(f"search-strategies: {args.supernet} does not exist")
    budgets = [float(b) for b in args.budgets.split(",")]
    strategies = [s for s in args.strategies.split(";") if s]
    rows = {}
    for budget in budgets:
        for strategy in strategies:
            name = strategy.split("{")[0]
            result = run_search(args, budget, strategy, os.path.join(args.work, f"{budget}", name))
            rows[(strategy, budget)] = result
            best, reach, n, seconds = result
            print(f"  budget {budget}: {strategy}: best {best if best is not None else 'none'} "
                  f"(evaluation {reach} of {n}), {seconds / 60:.1f} min", flush=True)
    print(f"\n{args.evaluations} evaluations per search, seed {args.seed}, supernet {args.supernet}\n")
    header = "| strategy | " + " | ".join(f"budget {b}: best val acc | reached at | min" for b in budgets) + " |"
    print(header)
    print("|" + "---|" * (1 + 3 * len(budgets)))
    for strategy in strategies:
        cells = []
        for b in budgets:
            best, reach, _, seconds = rows[(strategy, b)]
            cells += [f"{best:.4f}" if best is not None else "none feasible", str(reach or "-"), f"{seconds / 60:.1f}"]
        print(f"| `{strategy}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
