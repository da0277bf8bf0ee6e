#!/usr/bin/env python3
"""Writes the benchmark models into a folder, with seeded random weights:

  resnet50.onnx     a torchvision-layout ResNet-50 at 224x224 with real-size weights (about 100 MB),
                    for the import time and memory benchmark
  resnet20.onnx     a CIFAR-style ResNet-20 for 28x28x1 input: a 3x3 stem to 16 channels, then three
                    stages of 3 basic blocks at 16, 32 and 64 channels (strides 1, 2, 2, 1x1
                    projection shortcuts), global pooling and a 10-class head; for the runtime benchmark
  mobilenetv2.onnx  a MobileNetV2-style network for 28x28x1 input: a 3x3 stem to 32 channels, inverted
                    residual blocks (expansion, depthwise 3x3, Relu6 as Clip, linear projection)
                    t,c,n,s = 1,16,1,1 / 6,24,2,2 / 6,32,3,2 / 6,64,3,1 / 6,96,2,1, a 1x1 conv to 320,
                    global pooling and a 10-class head; for the runtime benchmark

Usage: make-bench-models.py OUT_DIR [NAME...]   (default: all three)
"""
import os
import sys

import onnx

from onnx_builder import ResNetBuilder


def resnet50():
    b = ResNetBuilder(seed=50)
    x = b.conv_bn("input", "conv1", 3, 64, 2, kernel=7)
    x = b.node("MaxPool", [x], "/maxpool/MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for stage, (width, blocks, stride) in enumerate([(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]):
        for i in range(blocks):
            x = b.bottleneck(x, f"layer{stage + 1}/{i}", cin, width, stride if i == 0 else 1)
            cin = 4 * width
    b.head(x, 2048, 1000)
    return b.model("resnet50", [3, 224, 224], 1000, "s2dc scripts/make-bench-models.py")


def resnet20():
    b = ResNetBuilder(seed=20)
    x = b.conv_bn("input", "stem", 1, 16, 1)
    cin = 16
    for stage, (width, stride) in enumerate([(16, 1), (32, 2), (64, 2)]):
        for i in range(3):
            x = b.basic_block(x, f"layer{stage + 1}/{i}", cin, width, stride if i == 0 else 1)
            cin = width
    b.head(x, 64, 10)
    return b.model("resnet20", [1, 28, 28], 10, "s2dc scripts/make-bench-models.py")


def mobilenetv2():
    b = ResNetBuilder(seed=2)
    x = b.conv_bn("input", "stem", 1, 32, 1, relu6=True)
    cin = 32
    for stage, (t, c, n, s) in enumerate([(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 3, 1), (6, 96, 2, 1)]):
        for i in range(n):
            x = b.inverted_residual(x, f"features{stage + 1}/{i}", cin, c, s if i == 0 else 1, t)
            cin = c
    x = b.conv_bn(x, "last", cin, 320, 1, kernel=1, relu6=True)
    b.head(x, 320, 10)
    return b.model("mobilenetv2", [1, 28, 28], 10, "s2dc scripts/make-bench-models.py")


MODELS = {"resnet50": resnet50, "resnet20": resnet20, "mobilenetv2": mobilenetv2}


def main():
    if len(sys.argv) < 2 or any(n not in MODELS for n in sys.argv[2:]):
        sys.exit(f"usage: make-bench-models.py OUT_DIR [{' '.join(MODELS)}]")
    os.makedirs(sys.argv[1], exist_ok=True)
    for name in sys.argv[2:] or list(MODELS):
        path = os.path.join(sys.argv[1], f"{name}.onnx")
        model = MODELS[name]()
        onnx.checker.check_model(model)
        onnx.save(model, path)
        print(f"wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
