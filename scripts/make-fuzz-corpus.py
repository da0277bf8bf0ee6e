#!/usr/bin/env python3
"""make-fuzz-corpus.py: writes the seed corpora of the fuzz targets (Tests/Fuzz).

OUT/onnx/ gets ONNX models: cuts of onnx's light models (real architectures, opset 9), the
built-in default model, and small synthetic graphs covering the importer's op table and idioms
(torch-style shape arithmetic, Clip with inputs, old and new opsets). OUT/ir/ gets the textual IR
of each of them, as `s2dc opt --print-ir` prints it (large constants elided) and, for the small
ones, with every constant in full.

The light models keep their weights as ConstantOfShape nodes: a whole one is up to 143 M floats,
which would make each fuzz execution take seconds. So each contributes cuts (a prefix of its nodes
up to a value, or the part after a value) whose constants stay under BUDGET elements.

Usage: make-fuzz-corpus.py OUT --s2dc PATH_TO_S2DC   (make fuzz and make test run it)
"""
import argparse
import glob
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, utils

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUDGET = 1 << 20  # constant elements per seed (4 MiB of floats)
FULL_IR_LIMIT = 64 * 1024  # seeds whose full-constant IR text is below this size get it too
FLOAT, INT64 = TensorProto.FLOAT, TensorProto.INT64


# MARK: - light-model cuts

def constant_elements(model):
    """Elements each value's constant producer allocates (initializers and ConstantOfShape)."""
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    cost = {name: int(a.size) for name, a in inits.items()}
    for n in model.graph.node:
        if n.op_type == "ConstantOfShape" and n.input and n.input[0] in inits:
            cost[n.output[0]] = int(np.prod(inits[n.input[0]]))
    return cost


def needed_nodes(model, outputs, stop=()):
    """Indices of the nodes the values `outputs` depend on, not looking past the values `stop`."""
    producer = {o: i for i, n in enumerate(model.graph.node) for o in n.output}
    todo, seen = [o for o in outputs if o not in stop], set()
    while todo:
        v = todo.pop()
        i = producer.get(v)
        if i is None or i in seen:
            continue
        seen.add(i)
        todo += [x for x in model.graph.node[i].input if x and x not in stop]
    return seen


def cut_cost(model, nodes, cost):
    used = {x for i in nodes for x in model.graph.node[i].input} | {o for i in nodes for o in model.graph.node[i].output}
    return sum(c for v, c in cost.items() if v in used)


def light_cuts(path):
    """(label, model) cuts of one light model: prefixes at three depths, and suffixes, within BUDGET."""
    model = onnx.shape_inference.infer_shapes(onnx.load(path))
    cost = constant_elements(model)
    inputs = [i.name for i in model.graph.input if i.name not in cost]
    typed = {v.name for v in list(model.graph.value_info) + list(model.graph.output)}
    # Candidate cut values: outputs of the nodes that compute on the image (not the weight
    # generators and their Unsqueeze chains), in graph order.
    on_image, values = set(inputs), []
    for n in model.graph.node:
        if any(x in on_image for x in n.input):
            on_image.update(n.output)
            if n.output and n.output[0] in typed:
                values.append(n.output[0])
    # The deepest prefix under budget, then two shallower ones for variety.
    prefixes = [v for v in values if cut_cost(model, needed_nodes(model, [v]), cost) <= BUDGET]
    picks = sorted({int(f * (len(prefixes) - 1)) for f in (0.3, 0.6, 1.0)}) if prefixes else []
    cuts = [(f"prefix-{values.index(prefixes[i])}", inputs, [prefixes[i]]) for i in picks]
    outputs = [o.name for o in model.graph.output]
    for v in values[:-1]:  # the longest suffix under budget
        if cut_cost(model, needed_nodes(model, outputs, stop={v}), cost) > BUDGET:
            continue
        cuts.append((f"suffix-{values.index(v)}", [v], outputs))
        break
    result = []
    for label, ins, outs in cuts:
        extracted = utils.Extractor(model).extract_model(ins, outs)
        extracted.ir_version, extracted.producer_name = model.ir_version, "s2dc make-fuzz-corpus.py"
        result.append((label, extracted))
    return result


# MARK: - synthetic graphs

def vi(name, dims, dtype=FLOAT):
    return helper.make_tensor_value_info(name, dtype, dims)


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def weights(rng, name, shape):
    return const(name, rng.standard_normal(shape).astype(np.float32))


def model(name, nodes, inputs, outputs, inits, opset=17):
    g = helper.make_graph(nodes, name, inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="s2dc make-fuzz-corpus.py")
    m.ir_version = 8 if opset >= 13 else 4
    return m


def synthetic():
    """Small graphs, one idiom each, valid for onnx's checker."""
    rng = np.random.default_rng(16)
    n = helper.make_node
    x4 = [vi("x", ["N", 3, 8, 8])]
    seeds = []

    def add(name, nodes, outputs, inits, inputs=x4, opset=17):
        m = model(name, nodes, inputs, outputs, inits, opset)
        onnx.checker.check_model(m)
        seeds.append((name, m))

    add("conv-bn-relu-pool-gemm", [
        n("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="conv"),
        n("BatchNormalization", ["c", "s", "bb", "m", "v"], ["bn"], epsilon=1e-5, name="bn"),
        n("Relu", ["bn"], ["r"], name="relu"),
        n("GlobalAveragePool", ["r"], ["g"], name="gap"),
        n("Flatten", ["g"], ["f"], axis=1, name="flat"),
        n("Gemm", ["f", "fw", "fb"], ["logits"], transB=1, name="fc"),
        n("Softmax", ["logits"], ["y"], axis=1, name="softmax"),
    ], [vi("y", ["N", 5])], [weights(rng, "w", [4, 3, 3, 3]), weights(rng, "b", [4]), weights(rng, "s", [4]),
                            weights(rng, "bb", [4]), weights(rng, "m", [4]), const("v", np.ones(4, np.float32)),
                            weights(rng, "fw", [5, 4]), weights(rng, "fb", [5])])
    add("depthwise-strided-clip", [
        n("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], group=3, name="dw"),
        n("Clip", ["c", "lo", "hi"], ["y"], name="relu6"),
    ], [vi("y", ["N", 3, 4, 4])], [weights(rng, "w", [3, 1, 3, 3]), const("lo", np.float32(0)), const("hi", np.float32(6))])
    add("torch-flatten-shape-arith", [
        n("Shape", ["x"], ["shape"], name="shape"),
        n("Gather", ["shape", "zero"], ["batch"], axis=0, name="gather"),
        n("Unsqueeze", ["batch", "axes"], ["batch1"], name="unsq"),
        n("Concat", ["batch1", "minus1"], ["target"], axis=0, name="concat"),
        n("Reshape", ["x", "target"], ["flat"], name="reshape"),
        n("MatMul", ["flat", "mw"], ["y"], name="matmul"),
    ], [vi("y", ["N", 2])], [const("zero", np.int64(0)), const("axes", np.array([0], np.int64)),
                            const("minus1", np.array([-1], np.int64)), weights(rng, "mw", [192, 2])])
    add("residual-concat-split", [
        n("Conv", ["x", "w"], ["a"], kernel_shape=[1, 1], name="conv_a"),
        n("Add", ["a", "x"], ["s"], name="residual"),
        n("Concat", ["s", "x"], ["cat"], axis=1, name="cat"),
        n("Split", ["cat", "sizes"], ["p", "q"], axis=1, name="split"),
        n("Mul", ["p", "q"], ["y"], name="mul"),
    ], [vi("y", ["N", 3, 8, 8])], [weights(rng, "w", [3, 3, 1, 1]), const("sizes", np.array([3, 3], np.int64))])
    add("pools-pad-slice-transpose", [
        n("MaxPool", ["x"], ["mp"], kernel_shape=[2, 2], strides=[2, 2], name="maxpool"),
        n("AveragePool", ["mp"], ["ap"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1, name="avgpool"),
        n("Pad", ["ap", "pads"], ["pd"], mode="constant", name="pad"),
        n("Slice", ["pd", "starts", "ends", "axes"], ["sl"], name="slice"),
        n("Transpose", ["sl"], ["y"], perm=[0, 2, 3, 1], name="transpose"),
    ], [vi("y", ["N", 4, 4, 3])], [const("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)),
                                  const("starts", np.array([1, 1], np.int64)), const("ends", np.array([5, 5], np.int64)),
                                  const("axes", np.array([2, 3], np.int64))])
    add("activations-affine", [
        n("LeakyRelu", ["x"], ["l"], alpha=0.1, name="leaky"),
        n("HardSigmoid", ["l"], ["h"], name="hsig"),
        n("HardSwish", ["h"], ["hs"], name="hswish"),
        n("Sigmoid", ["hs"], ["sg"], name="sigmoid"),
        n("Mul", ["sg", "scale"], ["m"], name="scale"),
        n("Sub", ["m", "shift"], ["d"], name="shift"),
        n("Div", ["d", "two"], ["y"], name="div"),
    ], [vi("y", ["N", 3, 8, 8])], [weights(rng, "scale", [1, 3, 1, 1]), weights(rng, "shift", [3, 1, 1]),
                                  const("two", np.float32(2))])
    add("reducemean-identity-dropout", [
        n("Identity", ["x"], ["i"], name="identity"),
        n("Dropout", ["i"], ["d"], name="dropout"),
        n("ReduceMean", ["d"], ["y"], axes=[2, 3], keepdims=0, name="mean"),
    ], [vi("y", ["N", 3])], [], opset=13)
    add("opset7-sum-lrn", [
        n("Sum", ["x", "x", "x"], ["s"], name="sum"),
        n("LRN", ["s"], ["y"], size=3, name="lrn"),
    ], [vi("y", ["N", 3, 8, 8])], [], opset=7)
    add("constant-of-shape-expand", [
        n("ConstantOfShape", ["shape"], ["ones"], value=numpy_helper.from_array(np.array([1.0], np.float32)), name="cos"),
        n("Expand", ["ones", "target"], ["e"], name="expand"),
        n("Add", ["x", "e"], ["y"], name="add"),
    ], [vi("y", ["N", 3, 8, 8])], [const("shape", np.array([3, 1, 1], np.int64)),
                                  const("target", np.array([3, 8, 8], np.int64))])
    add("two-inputs-two-outputs", [
        n("Add", ["x", "z"], ["y0"], name="add"),
        n("Relu", ["y0"], ["y1"], name="relu"),
    ], [vi("y0", ["N", 3, 8, 8]), vi("y1", ["N", 3, 8, 8])], [], inputs=x4 + [vi("z", ["N", 3, 8, 8])])
    add("conv1d-static-batch", [
        n("Conv", ["x", "w"], ["y"], kernel_shape=[3], dilations=[2], auto_pad="SAME_UPPER", name="conv1d"),
    ], [vi("y", [2, 4, 16])], [weights(rng, "w", [4, 3, 3])], inputs=[vi("x", [2, 3, 16])])
    return seeds


# MARK: - output

def write_ir(s2dc, onnx_path, ir_dir, stem):
    """The seed's textual IR, elided and (when small) in full; a seed s2dc refuses gets none."""
    r = subprocess.run([s2dc, "opt", onnx_path, "--print-ir"], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"  {stem}: no IR seed ({r.stderr.strip()})", file=sys.stderr)
        return 0
    with open(os.path.join(ir_dir, stem + ".s2dir"), "w") as f:
        f.write(r.stdout)
    full = os.path.join(ir_dir, stem + ".full.s2dir")
    subprocess.run([s2dc, "opt", onnx_path, "-o", full], check=True, capture_output=True)
    if os.path.getsize(full) > FULL_IR_LIMIT:
        os.remove(full)
        return 1
    return 2


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--s2dc", required=True, help="the s2dc binary, to print each seed's textual IR")
    args = ap.parse_args()
    onnx_dir, ir_dir = os.path.join(args.out, "onnx"), os.path.join(args.out, "ir")
    for d in (onnx_dir, ir_dir):
        os.makedirs(d, exist_ok=True)
        for old in glob.glob(os.path.join(d, "*")):
            os.remove(old)

    seeds = []
    light = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
    for path in sorted(glob.glob(os.path.join(light, "*.onnx"))):
        stem = os.path.basename(path)[:-len(".onnx")]
        seeds += [(f"{stem}-{label}", m) for label, m in light_cuts(path)]
    seeds.append(("default", onnx.load(os.path.join(ROOT, "models", "default.onnx"))))
    seeds += [(f"synthetic-{name}", m) for name, m in synthetic()]

    ir_count = 0
    for stem, m in seeds:
        path = os.path.join(onnx_dir, stem + ".onnx")
        onnx.save(m, path)
        ir_count += write_ir(args.s2dc, path, ir_dir, stem)
    print(f"wrote {len(seeds)} ONNX seeds to {onnx_dir} and {ir_count} textual IR seeds to {ir_dir}")


if __name__ == "__main__":
    main()
