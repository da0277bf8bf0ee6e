#!/usr/bin/env python3
"""Writes Tests/ONNXTests/Fixtures/import/*.onnx: tiny CNNs with a dynamic batch ("batch") whose
heads use the node sequences torch.onnx (TorchScript exporter) emits for two flatten idioms, so the
importer's shape folding is tested without torch:

  flatten_opsetN: torch.flatten(x, 1)        -> Flatten(axis=1)
  view_opsetN:    x.view(x.size(0), -1)      -> Shape, Constant(0), Gather(axis=0), Unsqueeze
                                                (axes attribute at 11, Constant input at 13+),
                                                Constant([-1]), Concat(axis=0), Reshape
                                                (allowzero=0 written from opset 14)
  expand_opset17: x.expand(x.size(0), -1, -1, -1) -> the same shape chain, then torch's expand
                                                sanitizing: Equal(shape, -1), ConstantOfShape(
                                                Shape(shape), 1), Where, Expand

Each model: Conv(3->4, 3x3, pad 1) -> Relu -> GlobalAveragePool -> <idiom> -> Gemm(4->10).
Input "input" [batch, 3, 8, 8] float; output "logits" [batch, 10].

Usage: python scripts/make-import-fixtures.py [out_dir]   (needs onnx and numpy)
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "ONNXTests", "Fixtures", "import"))


def const(name, value, dtype=np.int64):
    """A Constant node as torch writes it: named /Constant_k, output /Constant_k_output_0."""
    return helper.make_node("Constant", [], [f"{name}_output_0"], name=name,
                            value=numpy_helper.from_array(np.array(value, dtype=dtype)))


def batch_chain(x, opset):
    """Shape(x)[0] unsqueezed to a 1-D int64 tensor: the exporter's `x.size(0)`."""
    nodes = [
        helper.make_node("Shape", [x], ["/Shape_output_0"], name="/Shape"),
        const("/Constant", 0),  # a scalar index
        helper.make_node("Gather", ["/Shape_output_0", "/Constant_output_0"], ["/Gather_output_0"],
                         name="/Gather", axis=0),
    ]
    if opset < 13:
        nodes.append(helper.make_node("Unsqueeze", ["/Gather_output_0"], ["/Unsqueeze_output_0"],
                                      name="/Unsqueeze", axes=[0]))
    else:
        nodes.append(const("/Constant_1", [0]))
        nodes.append(helper.make_node("Unsqueeze", ["/Gather_output_0", "/Constant_1_output_0"],
                                      ["/Unsqueeze_output_0"], name="/Unsqueeze"))
    return nodes, "/Unsqueeze_output_0"


def model(idiom, opset):
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "conv.weight"),
        numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "conv.bias"),
        numpy_helper.from_array(rng.standard_normal((10, 4)).astype(np.float32), "fc.weight"),
        numpy_helper.from_array(rng.standard_normal(10).astype(np.float32), "fc.bias"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["/conv/Conv_output_0"], name="/conv/Conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1),
        helper.make_node("Relu", ["/conv/Conv_output_0"], ["/relu/Relu_output_0"], name="/relu/Relu"),
        helper.make_node("GlobalAveragePool", ["/relu/Relu_output_0"], ["/pool/GlobalAveragePool_output_0"],
                         name="/pool/GlobalAveragePool"),
    ]
    x = "/pool/GlobalAveragePool_output_0"
    if idiom == "flatten":
        nodes.append(helper.make_node("Flatten", [x], ["/Flatten_output_0"], name="/Flatten", axis=1))
        flat = "/Flatten_output_0"
    elif idiom == "view":
        chain, batch = batch_chain(x, opset)
        nodes += chain
        nodes.append(const("/Constant_2", [-1]))
        nodes.append(helper.make_node("Concat", [batch, "/Constant_2_output_0"], ["/Concat_output_0"],
                                      name="/Concat", axis=0))
        attrs = {"allowzero": 0} if opset >= 14 else {}
        nodes.append(helper.make_node("Reshape", [x, "/Concat_output_0"], ["/Reshape_output_0"],
                                      name="/Reshape", **attrs))
        flat = "/Reshape_output_0"
    else:  # expand, then flatten
        chain, batch = batch_chain(x, opset)
        nodes += chain
        nodes.append(const("/Constant_2", [-1]))
        nodes.append(const("/Constant_3", [-1]))
        nodes.append(const("/Constant_4", [-1]))
        nodes.append(helper.make_node("Concat", [batch, "/Constant_2_output_0", "/Constant_3_output_0",
                                                 "/Constant_4_output_0"], ["/Concat_output_0"], name="/Concat", axis=0))
        nodes.append(const("/Constant_5", [4]))
        nodes.append(helper.make_node("ConstantOfShape", ["/Constant_5_output_0"], ["/ConstantOfShape_output_0"],
                                      name="/ConstantOfShape",
                                      value=numpy_helper.from_array(np.array([1], dtype=np.int64))))
        nodes.append(const("/Constant_6", -1))
        nodes.append(helper.make_node("Mul", ["/ConstantOfShape_output_0", "/Constant_6_output_0"],
                                      ["/Mul_output_0"], name="/Mul"))
        nodes.append(helper.make_node("Equal", ["/Concat_output_0", "/Mul_output_0"], ["/Equal_output_0"],
                                      name="/Equal"))
        nodes.append(helper.make_node("Where", ["/Equal_output_0", "/ConstantOfShape_output_0", "/Concat_output_0"],
                                      ["/Where_output_0"], name="/Where"))
        nodes.append(helper.make_node("Expand", [x, "/Where_output_0"], ["/Expand_output_0"], name="/Expand"))
        nodes.append(helper.make_node("Flatten", ["/Expand_output_0"], ["/Flatten_output_0"], name="/Flatten", axis=1))
        flat = "/Flatten_output_0"
    nodes.append(helper.make_node("Gemm", [flat, "fc.weight", "fc.bias"], ["logits"], name="/fc/Gemm",
                                  alpha=1.0, beta=1.0, transB=1))
    graph = helper.make_graph(
        nodes, "main_graph",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="pytorch",
                          producer_version="2.1.0", ir_version=7 if opset < 17 else 8)
    onnx.checker.check_model(m, full_check=True)
    return m


def main():
    os.makedirs(OUT, exist_ok=True)
    for idiom, opset in [("flatten", 11), ("flatten", 17), ("view", 11), ("view", 17), ("expand", 17)]:
        path = os.path.join(OUT, f"{idiom}_opset{opset}.onnx")
        onnx.save(model(idiom, opset), path)
        print(path)


if __name__ == "__main__":
    main()
