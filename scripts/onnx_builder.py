"""Builds ResNet-style ONNX graphs laid out as torch.onnx exports them (names, node order, opset 17).

Shared by make-default-model.py (the built-in demo model) and make-bench-models.py (the import
benchmark's real-size ResNet-50), so both describe networks the same way and stay small.
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

    def conv_bn(self, x, prefix, cin, cout, stride, kernel=3, relu=True):
        rng = self.rng
        w = self.const(f"{prefix}.conv.weight", rng.normal(0, np.sqrt(2 / (cin * kernel * kernel)), (cout, cin, kernel, kernel)))
        pad = kernel // 2
        y = self.node("Conv", [x, w], f"/{prefix}/conv/Conv", kernel_shape=[kernel, kernel], strides=[stride, stride], pads=[pad] * 4)
        bn = [self.const(f"{prefix}.bn.{p}", v) for p, v in [
            ("weight", rng.uniform(0.5, 1.5, cout)), ("bias", rng.normal(0, 0.1, cout)),
            ("running_mean", rng.normal(0, 0.1, cout)), ("running_var", rng.uniform(0.5, 1.5, cout))]]
        y = self.node("BatchNormalization", [y] + bn, f"/{prefix}/bn/BatchNormalization", epsilon=1e-5)
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
