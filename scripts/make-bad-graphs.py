#!/usr/bin/env python3
"""make-bad-graphs.py: write the well-formed-protobuf but unimportable ONNX graphs BadGraphTests feeds
to the importer.

Writes Tests/ONNXTests/Fixtures/bad-import/*.onnx and expected-errors.txt: one line per file,
`file<TAB>substring<TAB>substring...`; the importer's error for that file must contain the file
name and every substring (they pin the node and the reason, not the exact wording).
Run:  .venv/bin/python scripts/make-bad-graphs.py   (outputs are committed; keep them tiny)
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "ONNXTests", "Fixtures", "bad-import")

FLOAT = TensorProto.FLOAT
INT64 = TensorProto.INT64


def vi(name, dims, dtype=FLOAT):
    return helper.make_tensor_value_info(name, dtype, dims)


def ints(name, values, dims=None):
    arr = np.array(values, dtype=np.int64)
    if dims is not None:
        arr = arr.reshape(dims)
    return numpy_helper.from_array(arr, name)


def floats(name, shape):
    return numpy_helper.from_array(np.ones(shape, dtype=np.float32), name)


def model(nodes, inputs=None, outputs=("y",), inits=(), opset=13, extra_opsets=()):
    inputs = inputs if inputs is not None else [vi("x", [1, 4])]
    g = helper.make_graph(nodes, "bad", inputs, [vi(o, None) for o in outputs], list(inits))
    opsets = [helper.make_opsetid("", opset)] if opset is not None else []
    opsets += [helper.make_opsetid(d, v) for d, v in extra_opsets]
    m = helper.make_model(g, opset_imports=opsets, producer_name="s2dc-bad")
    m.ir_version = 8
    return m


def node(op, inputs, outputs, name, domain=None, **attrs):
    return helper.make_node(op, inputs, outputs, name=name, domain=domain, **attrs)


CASES = {}


def case(name, *expected):
    def register(fn):
        CASES[name] = (fn, expected)
        return fn
    return register


# --- structure -----------------------------------------------------------------------------------

@case("undefined_input", "values that nothing defines", "node 'relu' (Relu) reads 'nowhere'")
def _():
    return model([node("Relu", ["nowhere"], ["y"], "relu")])


@case("out_of_order", "not in topological order", "node 'second' reads 'a' before node 'first' defines it")
def _():
    return model([node("Relu", ["a"], ["y"], "second"), node("Relu", ["x"], ["a"], "first")])


@case("cycle", "the graph has a cycle", "'n1'", "'n2'")
def _():
    return model([node("Add", ["x", "b"], ["a"], "n1"), node("Relu", ["a"], ["b"], "n2"),
                  node("Identity", ["a"], ["y"], "out")])


@case("duplicate_output", "value 'a' is defined twice", "node 'p1'", "node 'p2'")
def _():
    return model([node("Relu", ["x"], ["a"], "p1"), node("Sigmoid", ["x"], ["a"], "p2"),
                  node("Identity", ["a"], ["y"], "out")])


@case("output_shadows_input", "value 'x' is defined twice", "graph input or initializer", "node 'shadow'")
def _():
    return model([node("Relu", ["x"], ["x"], "shadow"), node("Identity", ["x"], ["y"], "out")])


@case("missing_graph_output", "values that nothing defines", "graph output 'z'")
def _():
    return model([node("Relu", ["x"], ["y"], "relu")], outputs=("y", "z"))


# --- attributes ----------------------------------------------------------------------------------

@case("wrong_attribute_type", "node 'conv' (Conv, opset 13)", "attribute 'strides' must be a list of ints, got a list of floats")
def _():
    return model([node("Conv", ["x", "w"], ["y"], "conv", strides=[1.0, 1.0])],
                 inputs=[vi("x", [1, 2, 5, 5])], inits=[floats("w", [3, 2, 3, 3])])


@case("attribute_out_of_range", "node 'conv' (Conv, opset 13)", "attribute 'group' = 0 is out of range")
def _():
    return model([node("Conv", ["x", "w"], ["y"], "conv", group=0)],
                 inputs=[vi("x", [1, 2, 5, 5])], inits=[floats("w", [3, 2, 3, 3])])


@case("bad_auto_pad", "node 'pool'", "auto_pad", "'SAME'")
def _():
    return model([node("MaxPool", ["x"], ["y"], "pool", kernel_shape=[2, 2], auto_pad="SAME")],
                 inputs=[vi("x", [1, 2, 5, 5])])


@case("negative_stride", "node 'pool'", "strides [0, 1]")
def _():
    return model([node("AveragePool", ["x"], ["y"], "pool", kernel_shape=[2, 2], strides=[0, 1])],
                 inputs=[vi("x", [1, 2, 5, 5])])


# --- ops and opsets ------------------------------------------------------------------------------

@case("unsupported_ops", "unsupported operators (4)", "Tanh (node 't', opset 13)", "LSTM (node 'lstm', opset 13)",
      "Erf (node 'erf', opset 13)", "com.example.Fancy (node 'fancy', opset 1)")
def _():
    return model([node("Tanh", ["x"], ["a"], "t"), node("Relu", ["a"], ["b"], "ok"),
                  node("LSTM", ["b"], ["c"], "lstm"), node("Erf", ["c"], ["d"], "erf"),
                  node("Fancy", ["d"], ["y"], "fancy", domain="com.example")],
                 extra_opsets=[("com.example", 1)])


@case("opset_too_old", "default-domain opset 6 is not supported", "7...22")
def _():
    return model([node("Relu", ["x"], ["y"], "relu")], opset=6)


@case("opset_too_new", "default-domain opset 23 is not supported")
def _():
    return model([node("Relu", ["x"], ["y"], "relu")], opset=23)


@case("no_default_opset", "imports no default-domain")
def _():
    return model([node("Relu", ["x"], ["y"], "relu")], opset=None, extra_opsets=[("com.example", 1)])


# --- inputs --------------------------------------------------------------------------------------

@case("int_runtime_input", "node 'relu' (Relu, opset 13)", "graph input 'ids' has type int64", "constantInputs")
def _():
    return model([node("Relu", ["ids"], ["y"], "relu")], inputs=[vi("ids", [1, 4], INT64)])


@case("dynamic_inner_dim", "graph input 'x'", "symbolic dimension 'seq' at index 1")
def _():
    return model([node("Relu", ["x"], ["y"], "relu")], inputs=[vi("x", ["batch", "seq", 4])])


@case("runtime_clip_bound", "node 'clip' (Clip, opset 13)", "Clip min 'lo' must be known at import time")
def _():
    return model([node("Clip", ["x", "lo"], ["y"], "clip")], inputs=[vi("x", [1, 4]), vi("lo", [])])


@case("runtime_reshape_shape", "node 'reshape'", "Reshape shape 'shape' must be known at import time")
def _():
    return model([node("Reshape", ["x", "shape"], ["y"], "reshape")], inputs=[vi("x", [1, 4]), vi("shape", [2], INT64)])


# --- folding guards ------------------------------------------------------------------------------

@case("huge_range", "node 'range' (Range, opset 13)", "more than 268435456 elements")
def _():
    return model([node("Range", ["s", "l", "d"], ["r"], "range"), node("Identity", ["x"], ["y"], "out")],
                 outputs=("y", "r"), inits=[ints("s", 0, []), ints("l", 2**63 - 1, []), ints("d", 1, [])])


@case("integer_overflow", "node 'mul' (Mul, opset 13)", "integer overflow")
def _():
    return model([node("Mul", ["big", "big"], ["s"], "mul"), node("Reshape", ["x", "s"], ["y"], "reshape")],
                 inits=[ints("big", [2**62])])


@case("huge_constant_of_shape", "node 'cos' (ConstantOfShape, opset 13)", "more than 268435456 elements")
def _():
    return model([node("ConstantOfShape", ["shape"], ["c"], "cos"), node("Identity", ["x"], ["y"], "out")],
                 outputs=("y", "c"), inits=[ints("shape", [1 << 20, 1 << 20, 1 << 20])])


@case("negative_constant_of_shape", "node 'cos'", "negative dimension")
def _():
    return model([node("ConstantOfShape", ["shape"], ["c"], "cos"), node("Identity", ["x"], ["y"], "out")],
                 outputs=("y", "c"), inits=[ints("shape", [2, -3])])


@case("bad_reshape", "node 'reshape' (Reshape, opset 13)", "cannot reshape")
def _():
    return model([node("Reshape", ["x", "shape"], ["y"], "reshape")], inits=[ints("shape", [3, -1])])


@case("huge_reshape", "node 'reshape' (Reshape, opset 13)", "invalid size")
def _():
    return model([node("Reshape", ["x", "shape"], ["y"], "reshape")], inits=[ints("shape", [2**62, 2**62])])


@case("gather_out_of_range", "node 'gather'", "Gather index 7 is out of range")
def _():
    return model([node("Gather", ["x", "i"], ["y"], "gather", axis=1)], inits=[ints("i", [7])])


@case("slice_symbolic_batch", "node 'slice'", "symbolic dimension 'batch'")
def _():
    return model([node("Slice", ["x", "s", "e", "a"], ["y"], "slice")], inputs=[vi("x", ["batch", 4])],
                 inits=[ints("s", [0]), ints("e", [1]), ints("a", [0])])


@case("split_mismatch", "node 'split'", "do not add up to 4")
def _():
    return model([node("Split", ["x", "sizes"], ["a", "b"], "split", axis=1)], outputs=("a", "b"),
                 inits=[ints("sizes", [1, 2])])


# --- not a valid model: refused, never guessed ------------------------------------------------------

@case("batch_dim_minus_one", "graph input 'x'", "dimension -1 at index 0", "must not be negative")
def _():
    return model([node("Relu", ["x"], ["y"], "relu")], inputs=[vi("x", [-1, 4])])


@case("batch_dim_minus_five", "graph input 'x'", "dimension -5 at index 0")
def _():
    return model([node("Relu", ["x"], ["y"], "relu")], inputs=[vi("x", [-5, 4])])


@case("double_input", "graph input 'x' is float64", "float32")
def _():
    return model([node("Relu", ["x"], ["y"], "relu")], inputs=[vi("x", [1, 4], TensorProto.DOUBLE)])


@case("ir_version_too_new", "ir_version 99 is not supported", "IR versions 3 to 14")
def _():
    m = model([node("Relu", ["x"], ["y"], "relu")])
    m.ir_version = 99
    return m


@case("ir_version_missing", "declares no ir_version")
def _():
    m = model([node("Relu", ["x"], ["y"], "relu")])
    m.ClearField("ir_version")
    return m


# --- training-only forms -------------------------------------------------------------------------

@case("training_batchnorm", "node 'bn' (BatchNormalization, opset 15)", "training-mode BatchNormalization")
def _():
    return model([node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], "bn", training_mode=1)],
                 inputs=[vi("x", [1, 2, 3, 3])], inits=[floats(n, [2]) for n in "sbmv"], opset=15)


@case("maxpool_indices_used", "node 'pool' (MaxPool, opset 13)", "Indices output is used")
def _():
    return model([node("MaxPool", ["x"], ["y", "idx"], "pool", kernel_shape=[2, 2])],
                 inputs=[vi("x", [1, 2, 4, 4])], outputs=("y", "idx"))


@case("training_dropout", "node 'drop' (Dropout, opset 13)", "training-mode Dropout")
def _():
    t = numpy_helper.from_array(np.array(True), "train")
    return model([node("Dropout", ["x", "", "train"], ["y"], "drop")], inits=[t])


def main():
    os.makedirs(OUT, exist_ok=True)
    lines = []
    for name, (build, expected) in CASES.items():
        with open(os.path.join(OUT, f"{name}.onnx"), "wb") as f:
            f.write(build().SerializeToString())
        lines.append("\t".join([f"{name}.onnx", *expected]))
    with open(os.path.join(OUT, "expected-errors.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(CASES)} graphs to {OUT}")


if __name__ == "__main__":
    main()
