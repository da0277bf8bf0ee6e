#!/usr/bin/env python3
"""make-reference-outputs.py: onnxruntime's outputs on seeded random inputs, as NPZ, for model tests.

Usage: make-reference-outputs.py OUT_DIR MODEL.onnx... [--batch N] [--seed S]

For each model writes OUT_DIR/<model stem>.onnx, the model that was run, and OUT_DIR/<model
stem>.npz holding, for every runtime input, `in:<name>` (standard normal float32, symbolic
dimensions set to --batch) and, for every output, `out:<name>`: onnxruntime's CPU result with graph
optimizations off (each op as written, the plainest reference) and one thread. The runtime's tests
run this at test time, so the repository keeps no reference data.

The onnx package's "light" models make every weight with ConstantOfShape (one value per tensor),
so their outputs are constant whatever the input (a uniform softmax) and would test nothing. Such
weights are replaced by seeded random initializers shaped for their role (He-normal conv and Gemm
weights, BatchNorm scale and variance near 1, small biases and means) in the copy that is run.
"""
import argparse
import os

import numpy as np
import onnx
import onnxruntime as ort

from random_weights import randomize_constant_weights


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("models", nargs="+")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 3  # the light models carry unused initializers; ort warns about each
    for path in args.models:
        rng = np.random.default_rng(args.seed)
        stem = os.path.splitext(os.path.basename(path))[0]
        model = randomize_constant_weights(onnx.load(path), rng)
        run_path = os.path.join(args.out, f"{stem}.onnx")
        onnx.save(model, run_path)
        initializers = {t.name for t in model.graph.initializer}
        session = ort.InferenceSession(run_path, opts, providers=["CPUExecutionProvider"])
        feeds = {}
        for i in session.get_inputs():
            if i.name in initializers:
                continue
            shape = [d if isinstance(d, int) else args.batch for d in i.shape]
            feeds[i.name] = rng.standard_normal(shape).astype(np.float32)
        outputs = session.run(None, feeds)
        arrays = {f"in:{k}": v for k, v in feeds.items()}
        arrays.update({f"out:{o.name}": v for o, v in zip(session.get_outputs(), outputs)})
        np.savez(os.path.join(args.out, f"{stem}.npz"), **arrays)
    print(f"wrote {len(args.models)} reference files to {args.out}")


if __name__ == "__main__":
    main()
