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
from onnx import numpy_helper


def random_weight(shape, consumer, index, rng):
    """A random tensor for input `index` of node `consumer`, scaled for that role."""
    shape = [int(d) for d in shape]
    if consumer is not None and consumer.op_type == "BatchNormalization" and index > 0:
        if index in (1, 4):  # scale, variance
            return rng.uniform(0.5, 1.5, shape)
        return rng.normal(0, 0.1, shape)  # bias, mean
    if consumer is not None and consumer.op_type in ("Conv", "Gemm", "MatMul") and index == 1 and len(shape) >= 2:
        fan_in = int(np.prod(shape)) // shape[0]
        if consumer.op_type == "Gemm" and not any(a.name == "transB" and a.i == 1 for a in consumer.attribute):
            fan_in = shape[0]
        return rng.normal(0, np.sqrt(2 / max(fan_in, 1)), shape)
    return rng.normal(0, 0.01 if len(shape) == 1 else 0.1, shape)


def randomize_constant_weights(model, rng):
    """Replaces ConstantOfShape nodes whose shape is an initializer by random initializers."""
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    consumers = {}
    for node in model.graph.node:
        for i, name in enumerate(node.input):
            consumers.setdefault(name, (node, i))
    kept = []
    for node in model.graph.node:
        if node.op_type == "ConstantOfShape" and node.input and node.input[0] in inits:
            consumer, index = consumers.get(node.output[0], (None, 0))
            value = random_weight(inits[node.input[0]], consumer, index, rng).astype(np.float32)
            model.graph.initializer.append(numpy_helper.from_array(value, node.output[0]))
        else:
            kept.append(node)
    del model.graph.node[:]
    model.graph.node.extend(kept)
    return model


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
