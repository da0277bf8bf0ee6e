#!/usr/bin/env python3
"""compare-onnx-models.py: checks exported ONNX models and compares their outputs with onnxruntime.

Usage: compare-onnx-models.py REFERENCE.onnx CANDIDATE.onnx [CANDIDATE2.onnx ...] [--batch 2] [--seed 0]

Every candidate must pass onnx.checker.check_model(model, full_check=True). All models get the same
seeded random inputs, with graph optimizations off (a symbolic dimension, written as dim_param, is set to --batch) and must give
outputs, matched by position, within max|difference| <= 1e-5 * max|reference|. Prints one JSON line
per candidate and exits 1 when any check fails.
"""
import argparse
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort


def session_for(model_path):
    # Graph optimizations off: onnxruntime would otherwise fold BatchNorm into Conv itself, and the
    # comparison would test its rewrites against ours instead of ours against the plain model.
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(model_path, sess_options=options, providers=["CPUExecutionProvider"])


def inputs_for(model_path, batch, seed):
    session = session_for(model_path)
    rng = np.random.default_rng(seed)
    feeds = {}
    for value in session.get_inputs():
        shape = [d if isinstance(d, int) else batch for d in value.shape]
        feeds[value.name] = rng.standard_normal(shape).astype(np.float32)
    return session, feeds


def run(model_path, feeds_by_position, batch):
    session = session_for(model_path)
    feeds = {v.name: feeds_by_position[i] for i, v in enumerate(session.get_inputs())}
    return session.run(None, feeds)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("reference")
    parser.add_argument("candidates", nargs="+")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    session, feeds = inputs_for(args.reference, args.batch, args.seed)
    ordered = [feeds[v.name] for v in session.get_inputs()]
    reference = session.run(None, feeds)
    ok = True
    for path in args.candidates:
        report = {"model": path}
        try:
            onnx.checker.check_model(onnx.load(path), full_check=True)
            report["checker"] = "ok"
            outputs = run(path, ordered, args.batch)
            if len(outputs) != len(reference):
                raise ValueError(f"{len(outputs)} outputs, reference has {len(reference)}")
            worst = 0.0
            for want, have in zip(reference, outputs):
                if want.shape != have.shape:
                    raise ValueError(f"output shape {have.shape}, reference {want.shape}")
                scale = float(np.max(np.abs(want))) if want.size else 0.0
                diff = float(np.max(np.abs(want - have))) if want.size else 0.0
                worst = max(worst, diff / scale if scale > 0 else diff)
            report["max_relative_difference"] = worst
            report["ok"] = worst <= 1e-5
        except Exception as error:  # report and go on with the next candidate
            report["error"] = str(error).splitlines()[0][:500] if str(error) else repr(error)
            report["ok"] = False
        ok = ok and report["ok"]
        print(json.dumps(report))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
