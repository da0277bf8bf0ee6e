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

from random_weights import randomize_constant_weights


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
            randomize_constant_weights(model, np.random.default_rng(1000 + k))
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
