#!/usr/bin/env python3
"""Writes onnxruntime reference outputs for the backend's real-model tests.

For each model: a copy in OUT_DIR (the onnx package's light models get seeded random weights first,
since their stored weights make the output independent of the input), a seeded random input
(batch 1 where the batch is symbolic) as <stem>.in0.raw, and onnxruntime's outputs as
<stem>.out<j>.raw (raw little-endian float32).

Usage: make-backend-references.py OUT_DIR MODEL...
"""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper


def random_weight(shape, consumer, index, rng):
    """A random tensor for input `index` of node `consumer`, scaled for that role (the rule of the
    runtime's make-reference-outputs.py)."""
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


def randomize(model, seed):
    """The light models make every weight with ConstantOfShape (one value per tensor), so their
    output ignores the input; such weights become seeded random initializers."""
    rng = np.random.default_rng(seed)
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


def drop_final_softmax(model):
    """Random weights saturate a final softmax into a one-hot vector that any close answer matches
    exactly; compare the logits instead (Softmax itself is covered by the node tests)."""
    g = model.graph
    last = g.node[-1]
    if last.op_type == "Softmax" and len(g.output) == 1 and g.output[0].name == last.output[0]:
        logits = last.input[0]
        g.node.remove(last)
        g.output[0].name = logits


def main():
    out, models = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    for k, path in enumerate(models):
        stem = os.path.splitext(os.path.basename(path))[0]
        model = onnx.load(path)
        if stem.startswith("light_"):
            randomize(model, 1000 + k)
            drop_final_softmax(model)
        dest = os.path.join(out, stem + ".onnx")
        onnx.save(model, dest)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        opts.log_severity_level = 3
        sess = ort.InferenceSession(dest, opts, providers=["CPUExecutionProvider"])
        rng = np.random.default_rng(k)
        feed = {}
        for j, inp in enumerate(sess.get_inputs()):
            shape = [d if isinstance(d, int) else 1 for d in inp.shape]
            x = rng.standard_normal(shape).astype(np.float32)
            x.tofile(os.path.join(out, f"{stem}.in{j}.raw"))
            feed[inp.name] = x
        for j, y in enumerate(sess.run(None, feed)):
            np.asarray(y, dtype=np.float32).tofile(os.path.join(out, f"{stem}.out{j}.raw"))


if __name__ == "__main__":
    main()
