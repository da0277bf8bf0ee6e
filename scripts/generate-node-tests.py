#!/usr/bin/env python3
"""Writes the ONNX backend node tests (model.onnx + test_data_set_N/{input,output}_M.pb) to a folder.

Usage: generate-node-tests.py OUT_DIR

The cases come from the installed `onnx` package (onnx.backend.test.case.node), so the set follows
the pinned onnx version in scripts/requirements.txt. Sequence, map and optional data cannot be
written as TensorProto and are left out; the importer's tests skip such cases with that reason.
"""
import os
import sys
import warnings

from onnx import TensorProto, numpy_helper
from onnx.backend.test.case import node as node_cases


def tensor_proto(x, name):
    # Sequence, map and optional data are outside the IR (float tensors only): leave them out.
    if isinstance(x, TensorProto):
        return x
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return numpy_helper.from_array(x, name)
    return None


def write(path, tensor):
    if tensor is not None:
        with open(path, "wb") as f:
            f.write(tensor.SerializeToString())


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: generate-node-tests.py OUT_DIR")
    out = sys.argv[1]
    # The case generators divide by zero on purpose (inf/nan expectations): keep the log readable.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        cases = node_cases.collect_testcases(None)
    for case in cases:
        case_dir = os.path.join(out, case.name)
        os.makedirs(case_dir, exist_ok=True)
        with open(os.path.join(case_dir, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        for i, (inputs, outputs) in enumerate(case.data_sets):
            data_dir = os.path.join(case_dir, f"test_data_set_{i}")
            os.makedirs(data_dir, exist_ok=True)
            for j, x in enumerate(inputs):
                write(os.path.join(data_dir, f"input_{j}.pb"), tensor_proto(x, case.model.graph.input[j].name))
            for j, x in enumerate(outputs):
                write(os.path.join(data_dir, f"output_{j}.pb"), tensor_proto(x, case.model.graph.output[j].name))
    print(f"wrote {len(cases)} node tests to {out}")


if __name__ == "__main__":
    main()
