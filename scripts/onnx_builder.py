"""Builds ResNet-style ONNX graphs laid out as torch.onnx exports them (names, node order, opset 17).

Shared by make-default-model.py (the built-in demo model) and make-bench-models.py (the import
benchmark's real-size ResNet-50, the runtime benchmark's ResNet-20 and MobileNetV2-style models), so
all describe networks the same way and stay small.
"""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class ResNetBuilder:
    """Accumulates nodes and initializers; weights are seeded He-normal, BN statistics non-trivial."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array, dtype=np.float32), name))
        return name

    def node(self, op, inputs, name, **attrs):
        out = f"{name}_output_0"
        self.nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        return out

    def conv_bn(self, x, prefix, cin, cout, stride, kernel=3, relu=True, group=1, relu6=False):
        """Conv (He-normal weights, no bias) + BatchNormalization + Relu, or Relu6 as torch
        exports it (Clip with min 0 and max 6 as inputs), or no activation."""
        rng = self.rng
        fan_in = cin // group * kernel * kernel
        w = self.const(f"{prefix}.conv.weight", rng.normal(0, np.sqrt(2 / fan_in), (cout, cin // group, kernel, kernel)))
        pad = kernel // 2
        grouping = {"group": group} if group != 1 else {}  # keeps the existing models byte for byte
        y = self.node("Conv", [x, w], f"/{prefix}/conv/Conv", kernel_shape=[kernel, kernel], strides=[stride, stride],
                      pads=[pad] * 4, **grouping)
        bn = [self.const(f"{prefix}.bn.{p}", v) for p, v in [
            ("weight", rng.uniform(0.5, 1.5, cout)), ("bias", rng.normal(0, 0.1, cout)),
            ("running_mean", rng.normal(0, 0.1, cout)), ("running_var", rng.uniform(0.5, 1.5, cout))]]
        y = self.node("BatchNormalization", [y] + bn, f"/{prefix}/bn/BatchNormalization", epsilon=1e-5)
        if relu6:
            lo, hi = self.const(f"{prefix}.clip.min", np.float32(0)), self.const(f"{prefix}.clip.max", np.float32(6))
            return self.node("Clip", [y, lo, hi], f"/{prefix}/relu6/Clip")
        return self.node("Relu", [y], f"/{prefix}/relu/Relu") if relu else y

    def residual(self, x, shortcut, prefix):
        y = self.node("Add", [x, shortcut], f"/{prefix}/Add")
        return self.node("Relu", [y], f"/{prefix}/Relu")

    def basic_block(self, x, prefix, cin, cout, stride):
        h = self.conv_bn(x, f"{prefix}/conv1", cin, cout, stride)
        h = self.conv_bn(h, f"{prefix}/conv2", cout, cout, 1, relu=False)
        short = x if (cin == cout and stride == 1) else self.conv_bn(x, f"{prefix}/downsample", cin, cout, stride, kernel=1, relu=False)
        return self.residual(h, short, prefix)

    def bottleneck(self, x, prefix, cin, width, stride):
        cout = 4 * width
        h = self.conv_bn(x, f"{prefix}/conv1", cin, width, 1, kernel=1)
        h = self.conv_bn(h, f"{prefix}/conv2", width, width, stride)
        h = self.conv_bn(h, f"{prefix}/conv3", width, cout, 1, kernel=1, relu=False)
        short = x if (cin == cout and stride == 1) else self.conv_bn(x, f"{prefix}/downsample", cin, cout, stride, kernel=1, relu=False)
        return self.residual(h, short, prefix)

    def inverted_residual(self, x, prefix, cin, cout, stride, expand):
        """MobileNetV2's block: 1×1 expansion + Relu6, 3×3 depthwise + Relu6, 1×1 linear
        projection, and a residual Add when the shape is kept."""
        hidden = cin * expand
        h = x if expand == 1 else self.conv_bn(x, f"{prefix}/expand", cin, hidden, 1, kernel=1, relu6=True)
        h = self.conv_bn(h, f"{prefix}/depthwise", hidden, hidden, stride, group=hidden, relu6=True)
        h = self.conv_bn(h, f"{prefix}/project", hidden, cout, 1, kernel=1, relu=False)
        return self.node("Add", [x, h], f"/{prefix}/Add") if stride == 1 and cin == cout else h

    def head(self, x, features, classes):
        y = self.node("GlobalAveragePool", [x], "/avgpool/GlobalAveragePool")
        y = self.node("Flatten", [y], "/Flatten", axis=1)
        w = self.const("fc.weight", self.rng.normal(0, np.sqrt(1 / features), (classes, features)))
        b = self.const("fc.bias", np.zeros(classes))
        self.nodes.append(helper.make_node("Gemm", [y, w, b], ["logits"], name="/fc/Gemm", transB=1))
        return "logits"

    def model(self, name, input_shape, classes, producer):
        graph = helper.make_graph(
            self.nodes, name,
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch"] + list(input_shape))],
            [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes])], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name=producer)
        model.ir_version = 8
        return model
