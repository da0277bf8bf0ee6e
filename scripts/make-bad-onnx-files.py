#!/usr/bin/env python3
"""make-bad-onnx-files.py: write the malformed ONNX files BadFileTests feeds to the decoder.

Writes Tests/ONNXTests/Fixtures/bad-decode/*.onnx (plus small.bin, the external data file that is
too short) and expected-errors.txt: one `file<TAB>substring` line per file; the decoder's error for
that file must contain both the file name and the substring. A name in the manifest that is not
written here (does-not-exist.onnx) tests a missing file.
Run:  .venv/bin/python scripts/make-bad-onnx-files.py   (outputs are committed; keep them tiny)
"""
import os
import random

import numpy as np
import onnx
from onnx import TensorProto, helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "ONNXTests", "Fixtures", "bad-decode")


def model_with(initializers=(), nodes=None, graph=True):
    """A small model: Identity of `x`, with the given initializers (and optionally other nodes)."""
    if nodes is None:
        nodes = [helper.make_node("Identity", ["x"], ["y"], name="id0")]
    g = helper.make_graph(
        nodes, "bad", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])], list(initializers))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="s2dc-bad")
    m.ir_version = 8
    if not graph:
        m.ClearField("graph")
    return m.SerializeToString()


def tensor(name, dtype, dims):
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    return t


def raw_float(name, dims, nbytes):
    t = tensor(name, TensorProto.FLOAT, dims)
    t.raw_data = bytes(range(nbytes))
    return t


def external(name, dims, location, offset=None, length=None):
    t = tensor(name, TensorProto.FLOAT, dims)
    t.data_location = TensorProto.EXTERNAL
    entries = [("location", location)]
    if offset is not None:
        entries.append(("offset", str(offset)))
    if length is not None:
        entries.append(("length", str(length)))
    for k, v in entries:
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


def main():
    os.makedirs(OUT, exist_ok=True)
    files = {}  # name -> (bytes, expected substring)
    good = model_with([raw_float("w", [2, 3], 24)])

    files["empty.onnx"] = (b"", "empty file")
    files["truncated.onnx"] = (good[: len(good) // 2], "not a valid ONNX model (protobuf parse failed)")
    files["random-bytes.onnx"] = (random.Random(20240601).randbytes(200), "protobuf parse failed")
    files["no-graph.onnx"] = (model_with(graph=False), "model has no graph")
    files["raw-data-length.onnx"] = (
        model_with([raw_float("w", [2, 3], 20)]), "initializer 'w': raw_data has 20 bytes, expected 24")
    files["negative-dims.onnx"] = (model_with([raw_float("w", [2, -3], 24)]), "negative dimension -3")
    files["overflow-dims.onnx"] = (
        model_with([raw_float("w", [2**40, 2**40], 4)]), "overflow")
    t = tensor("w", TensorProto.FLOAT, [2, 3]); t.float_data.extend([1, 2, 3, 4, 5])
    files["typed-count.onnx"] = (model_with([t]), "float_data has 5 values, expected 6")
    t = tensor("names", TensorProto.STRING, [1]); t.string_data.append(b"a")
    files["string-tensor.onnx"] = (model_with([t]), "string tensors are not supported")
    t = tensor("w", 0, [1]); t.ClearField("data_type")
    files["no-data-type.onnx"] = (model_with([t]), "tensor has no data type")
    # A bad tensor inside a node attribute: the error names the node too.
    bad_value = raw_float("v", [3], 8)
    const = helper.make_node("Constant", [], ["x"], name="const0", value=bad_value)
    files["attribute-tensor.onnx"] = (
        model_with(nodes=[const, helper.make_node("Identity", ["x"], ["y"], name="id0")]),
        "node const0 (Constant, opset 13): attribute 'value': tensor 'v': raw_data has 8 bytes, expected 12")
    files["external-missing.onnx"] = (
        model_with([external("w", [2, 3], "missing.bin", 0, 24)]), "external data file 'missing.bin' not found")
    files["external-escape.onnx"] = (
        model_with([external("w", [2, 3], "../decode/external/weights.bin", 0, 24)]),
        "escapes the model's directory")
    files["external-absolute.onnx"] = (
        model_with([external("w", [2, 3], "/etc/hostname", 0, 24)]), "is an absolute path")
    files["external-past-end.onnx"] = (
        model_with([external("w", [2, 3], "small.bin", 8, 24)]),
        "offset 8 + length 24 is past the end of 'small.bin' (16 bytes)")
    files["external-bad-offset.onnx"] = (
        model_with([external("w", [2, 3], "small.bin", "eight", 24)]), "offset 'eight' is not a non-negative integer")
    files["external-wrong-length.onnx"] = (
        model_with([external("w", [2, 3], "small.bin", 0, 16)]), "has 16 bytes, expected 24")
    expected = [(name, msg) for name, (_, msg) in files.items()]
    expected.append(("does-not-exist.onnx", "file not found"))

    for name, (data, _) in files.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    with open(os.path.join(OUT, "small.bin"), "wb") as f:
        f.write(np.arange(4, dtype=np.float32).tobytes())  # 16 bytes
    with open(os.path.join(OUT, "expected-errors.txt"), "w") as f:
        f.write("# file<TAB>substring the decoder's error must contain (besides the file name)\n")
        for name, msg in expected:
            f.write("%s\t%s\n" % (name, msg))
    print("wrote %d bad files under %s" % (len(files), os.path.relpath(OUT, ROOT)))


if __name__ == "__main__":
    main()
