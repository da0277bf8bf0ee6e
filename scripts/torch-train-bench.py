#!/usr/bin/env python3
"""The peer of `make bench`'s training section: PyTorch (CPU) training throughput of the networks
scripts/make-bench-models.py builds, defined here layer for layer as onnx_builder.py lays them out
(conv without bias + BatchNorm + Relu/Relu6, 1x1 projection shortcuts, global pooling, a linear
head), on Fashion-MNIST scaled to [0, 1] as `s2dc train` does by default.

One step is forward + cross-entropy + backward + SGD (momentum 0.9, Nesterov, weight decay 5e-4 on
conv and linear weights only, as s2dc's SGD); `--warmup` steps run first and are not timed. Prints
one line `images_per_second=R steps=S threads=T cpu_seconds=C torch=VERSION`.

Needs torch (scripts/bench-requirements.txt, installed into the bench venv only).

Usage: torch-train-bench.py resnet20|mobilenetv2 [--batch 128] [--threads 2] [--steps 12] [--warmup 3]
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch
from torch import nn

FASHION_MNIST = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
FASHION_LABELS = "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz"


def conv_bn(cin, cout, stride, kernel=3, act="relu", group=1):
    layers = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=group, bias=False), nn.BatchNorm2d(cout)]
    if act == "relu":
        layers.append(nn.ReLU(inplace=True))
    elif act == "relu6":
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = conv_bn(cin, cout, stride)
        self.conv2 = conv_bn(cout, cout, 1, act=None)
        self.downsample = None if cin == cout and stride == 1 else conv_bn(cin, cout, stride, kernel=1, act=None)

    def forward(self, x):
        short = x if self.downsample is None else self.downsample(x)
        return torch.relu(self.conv2(self.conv1(x)) + short)


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        layers = [] if expand == 1 else [conv_bn(cin, hidden, 1, kernel=1, act="relu6")]
        layers += [conv_bn(hidden, hidden, stride, group=hidden, act="relu6"), conv_bn(hidden, cout, 1, kernel=1, act=None)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


def head(features):
    return [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(features, 10)]


def resnet20():
    layers, cin = [conv_bn(1, 16, 1)], 16
    for width, stride in [(16, 1), (32, 2), (64, 2)]:
        for i in range(3):
            layers.append(BasicBlock(cin, width, stride if i == 0 else 1))
            cin = width
    return nn.Sequential(*layers, *head(64))


def mobilenetv2():
    layers, cin = [conv_bn(1, 32, 1, act="relu6")], 32
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 3, 1), (6, 96, 2, 1)]:
        for i in range(n):
            layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
            cin = c
    layers.append(conv_bn(cin, 320, 1, kernel=1, act="relu6"))
    return nn.Sequential(*layers, *head(320))


def fashion_mnist(count):
    """The first `count` training images scaled to [0, 1], as `s2dc train` does by default."""
    with gzip.open(FASHION_MNIST) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:count]
    with gzip.open(FASHION_LABELS) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:count]
    x = images.astype(np.float32) / 255
    return torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", choices=["resnet20", "mobilenetv2"])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if not os.path.exists(FASHION_MNIST):
        sys.exit(f"torch-train-bench: {FASHION_MNIST} is missing (Debian package dataset-fashion-mnist)")
    model = {"resnet20": resnet20, "mobilenetv2": mobilenetv2}[args.model]()
    model.train()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": rest, "weight_decay": 0}],
                          lr=0.05, momentum=0.9, nesterov=True)
    loss_fn = nn.CrossEntropyLoss()
    total = args.warmup + args.steps
    x, y = fashion_mnist(total * args.batch)
    order = torch.randperm(len(x))

    def step(i):
        idx = order[i * args.batch:(i + 1) * args.batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        return loss

    for i in range(args.warmup):
        step(i)
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(args.warmup, total):
        step(i)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    # cpu_seconds: all threads' CPU time over the timed steps (context when the machine is shared).
    print(f"images_per_second={args.steps * args.batch / seconds:.1f} steps={args.steps} threads={torch.get_num_threads()} "
          f"cpu_seconds={cpu:.2f} torch={torch.__version__}")


if __name__ == "__main__":
    main()
