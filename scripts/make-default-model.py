#!/usr/bin/env python3
"""Writes the untrained ResNet-8 from which the built-in default model is trained.

A ResNet-8-style classifier for Fashion-MNIST-shaped input (batch x 1 x 28 x 28, 10 classes) with
seeded random weights, laid out as torch.onnx exports it. `make default-model` writes it to
.cache/resnet8-init.onnx and trains it with `s2dc train` into models/default.onnx.

Usage: make-default-model.py [OUT]   (default: .cache/resnet8-init.onnx)
"""
import os
import sys

import onnx

from onnx_builder import ResNetBuilder


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".cache", "resnet8-init.onnx")
    b = ResNetBuilder(seed=20261122)
    x = b.conv_bn("input", "stem", 1, 16, 1)
    for i, (cin, cout, stride) in enumerate([(16, 16, 1), (16, 32, 2), (32, 64, 2)]):
        x = b.basic_block(x, f"layer{i + 1}", cin, cout, stride)
    b.head(x, 64, 10)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    model = b.model("resnet8_fmnist", [1, 28, 28], 10, "s2dc scripts/make-default-model.py")
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, out)
    print(f"wrote {out} ({os.path.getsize(out)} bytes)")


if __name__ == "__main__":
    main()
