#!/usr/bin/env python3
"""Writes the benchmark models into a folder: resnet50.onnx, a torchvision-layout ResNet-50 at
224x224 with real-size random weights (about 100 MB), for the import time and memory benchmark.

Usage: make-bench-models.py OUT_DIR
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


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make-bench-models.py OUT_DIR")
    os.makedirs(sys.argv[1], exist_ok=True)
    path = os.path.join(sys.argv[1], "resnet50.onnx")
    onnx.save(resnet50(), path)
    print(f"wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
