"""Builds the backend benchmark's models laid out as torch.onnx exports them (opset 17):

- resnet20: the CIFAR ResNet-20 (3x32x32, three stages of three basic blocks, 16/32/64 channels,
  1x1 projection shortcuts), 41 M MACs;
- mobilenetv2: MobileNetV2 1.0 at 224x224 (inverted residuals, depthwise 3x3, ReLU6 as Clip), 300 M MACs.

Weights are seeded He-normal, batch-norm statistics non-trivial, so every layer matters.

Usage: bench_models.py OUT_DIR  (writes resnet20.onnx and mobilenetv2.onnx)
"""
import os
import sys

import numpy as np
import onnx
from onnx import helper

from onnx_builder import ResNetBuilder


def resnet20():
    b = ResNetBuilder(seed=20)
    x = b.conv_bn("input", "conv1", 3, 16, 1)
    cin = 16
    for stage, (width, stride) in enumerate([(16, 1), (32, 2), (64, 2)]):
        for i in range(3):
            x = b.basic_block(x, f"layer{stage + 1}/{i}", cin, width, stride if i == 0 else 1)
            cin = width
    b.head(x, 64, 10)
    return b.model("resnet20", [3, 32, 32], 10, "s2dc scripts/bench_models.py")


class MobileNetBuilder(ResNetBuilder):
    def conv_bn_act(self, x, prefix, cin, cout, stride, kernel, group=1, act=True):
        rng = self.rng
        w = self.const(f"{prefix}.weight", rng.normal(0, np.sqrt(2 / (cin // group * kernel * kernel)), (cout, cin // group, kernel, kernel)))
        pad = kernel // 2
        y = self.node("Conv", [x, w], f"/{prefix}/Conv", kernel_shape=[kernel, kernel], strides=[stride, stride],
                      pads=[pad] * 4, group=group)
        bn = [self.const(f"{prefix}.bn.{p}", v) for p, v in [
            ("weight", rng.uniform(0.5, 1.5, cout)), ("bias", rng.normal(0, 0.1, cout)),
            ("running_mean", rng.normal(0, 0.1, cout)), ("running_var", rng.uniform(0.5, 1.5, cout))]]
        y = self.node("BatchNormalization", [y] + bn, f"/{prefix}/BatchNormalization", epsilon=1e-5)
        if not act:
            return y
        lo = self.const(f"{prefix}.clip_min", np.array(0.0))
        hi = self.const(f"{prefix}.clip_max", np.array(6.0))
        return self.node("Clip", [y, lo, hi], f"/{prefix}/Clip")

    def inverted_residual(self, x, prefix, cin, cout, stride, expand):
        hidden = cin * expand
        h = x
        if expand != 1:
            h = self.conv_bn_act(h, f"{prefix}/expand", cin, hidden, 1, 1)
        h = self.conv_bn_act(h, f"{prefix}/dw", hidden, hidden, stride, 3, group=hidden)
        h = self.conv_bn_act(h, f"{prefix}/project", hidden, cout, 1, 1, act=False)
        if stride == 1 and cin == cout:
            h = self.node("Add", [x, h], f"/{prefix}/Add")
        return h


def mobilenetv2():
    b = MobileNetBuilder(seed=2)
    x = b.conv_bn_act("input", "features/0", 3, 32, 2, 3)
    cin = 32
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    k = 1
    for t, c, n, s in settings:
        for i in range(n):
            x = b.inverted_residual(x, f"features/{k}", cin, c, s if i == 0 else 1, t)
            cin = c
            k += 1
    x = b.conv_bn_act(x, f"features/{k}", cin, 1280, 1, 1)
    b.head(x, 1280, 1000)
    return b.model("mobilenetv2", [3, 224, 224], 1000, "s2dc scripts/bench_models.py")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bench_models.py OUT_DIR")
    os.makedirs(sys.argv[1], exist_ok=True)
    for name, make in [("resnet20", resnet20), ("mobilenetv2", mobilenetv2)]:
        path = os.path.join(sys.argv[1], f"{name}.onnx")
        onnx.save(make(), path)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
