#!/usr/bin/env python3
"""Runs a dynamic ONNX model (`s2dc emit STAGED --target onnx`) in onnxruntime, one sample at a time.

Checks the model with onnx.checker (full_check), checks that a batch of 2 is refused (the model
runs batch 1), then runs the N samples of X.raw (raw little-endian float32, the model input's shape
at batch 1, back to back) once per RUN, on one thread. A RUN is `default` (no threshold fed: the
model's defaults) or `NAME=T1,T2,...` (threshold_<stage> fed for each early exit, in stage order).
For each run writes OUT_DIR/NAME.logits.raw (float32) and OUT_DIR/NAME.txt ("exit_stage macs" per
sample). Prints the number of initializers of the top level and of each nested else branch.

Usage: run-dynamic-onnx.py MODEL X.raw N OUT_DIR RUN...
"""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    model_path, x_path, n, out_dir = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    initializers = {t.name for t in model.graph.initializer}
    data_input = next(i for i in model.graph.input if i.name not in initializers)
    thresholds = sorted((i.name for i in model.graph.input if i.name.startswith("threshold_")),
                        key=lambda name: int(name.split("_")[1]))
    shape = [d.dim_value for d in data_input.type.tensor_type.shape.dim]
    if shape[0] != 1:
        sys.exit(f"the input's batch is {shape[0]}, not 1")
    x = np.fromfile(x_path, dtype="<f4").reshape([n] + shape[1:])
    # Where the weights live: the initializers of the top level, then of each nested else branch.
    counts, graph = [], model.graph
    while graph is not None:
        counts.append(len(graph.initializer))
        graph = next((a.g for node in graph.node if node.op_type == "If" for a in node.attribute if a.name == "else_branch"), None)
    print("initializers per scope:", " ".join(map(str, counts)))

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # the threshold inputs are initializers too, on purpose
    session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    if names[1:] != ["exit_stage", "macs"]:
        sys.exit(f"outputs are {names}, expected the logits, exit_stage, macs")
    try:
        session.run(None, {data_input.name: np.concatenate([x[:1], x[:1]])})
        sys.exit("a batch of 2 was accepted; the dynamic model must refuse batch > 1")
    except (ort.capi.onnxruntime_pybind11_state.InvalidArgument, ort.capi.onnxruntime_pybind11_state.Fail):
        pass

    for run in sys.argv[5:]:
        feed = {}
        name = run
        if run != "default":
            name, values = run.split("=")
            values = [float(v) for v in values.split(",")]
            if len(values) != len(thresholds):
                sys.exit(f"run {name}: {len(values)} thresholds for inputs {thresholds}")
            feed = {t: np.array(v, dtype=np.float32) for t, v in zip(thresholds, values)}
        logits, lines = [], []
        for i in range(n):
            y, stage, macs = session.run(None, {data_input.name: x[i:i + 1], **feed})
            logits.append(y.astype("<f4").ravel())
            lines.append(f"{int(stage[0])} {int(macs[0])}")
        np.concatenate(logits).tofile(os.path.join(out_dir, name + ".logits.raw"))
        with open(os.path.join(out_dir, name + ".txt"), "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
