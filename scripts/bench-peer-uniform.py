#!/usr/bin/env python3
"""The PyTorch peer of `s2dc convert` (issue 15): the fixed uniform partition written by hand.

Takes a ResNet-style ONNX classifier laid out as scripts/onnx_builder.py writes it (the bench
ResNet-20 of make-bench-models.py by default, or e.g. models/default.onnx), imports its weights into
a small PyTorch definition of the same network, and turns it into a 3-stage dynamic network with
the uniform partition (fractions 0.25, 0.5): each conv's channels are split into contiguous groups
b_s = floor(f_s * C + 0.5), and a conv writing group s reads input groups <= s (a block
lower-triangular mask on its weight; the image is read whole by every stage). Exit s is the
classifier restricted to the pooled features of groups <= s, so one forward pass yields every exit.

Training: every exit jointly from the imported weights, with in-place distillation (the last exit on
the labels, earlier exits on the last exit's detached softmax), SGD (momentum 0.9, Nesterov, weight
decay 5e-4 on conv/linear weights), cosine learning rate, random crops after 2-pixel zero padding.
Optionally `--pretrain-epochs P` first trains the static network on the labels (the bench model's
weights are random). The thresholds (exit s answers when its max softmax >= tau_s; the last always
answers) are calibrated on a seeded validation split of the Fashion-MNIST training set, the very
split s2dc's `Dataset.split(validationFraction:seed:)` makes (its xoshiro256** permutation is
reproduced below), to maximize validation accuracy subject to expected MACs <= budget x static MACs.

Cost, as issue 15's rule: exit s costs everything stages 1..s compute, each conv counted over the
(output, input) channel pairs it really computes (output group <= s, input group <= output group),
times output pixels and kernel taps; the classifier once per input channel it reads (classes x b_s).
Mean MACs = sum_s P(exit at s) cost(exit s) on the test set, as a fraction of the static model's MACs.

Prints static and dynamic test accuracy, mean MACs fraction, exit shares, per-exit accuracies and
wall times. Needs torch, numpy and onnx (not the project's test venv: see the README's Benchmarks).

Usage: bench-peer-uniform.py [--model M.onnx] [--epochs E] [--pretrain-epochs P] [--budget 0.2]
       [--validation-fraction 0.1] [--seed 1] [--limit-train N] [--threads 2] [--json OUT.json]
       [--save-pretrained M.onnx]   (with --epochs 0: pre-train, write the static model and stop)
"""
import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
MASK64 = (1 << 64) - 1
FRACTIONS = (0.25, 0.5)


# ---- data: Fashion-MNIST IDX files, and s2dc's seeded validation split ------------------------

def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(magic & 0xFF)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def load_fashion_mnist():
    root = os.path.join(os.environ.get("S2DC_DATA_DIR", "/usr/share/datasets"), "fashion-mnist")
    def find(stem):
        for name in (stem, stem + ".gz"):
            if os.path.exists(os.path.join(root, name)):
                return os.path.join(root, name)
        sys.exit(f"bench-peer-uniform: {root}/{stem}[.gz] not found (apt-get install dataset-fashion-mnist)")
    x_tr = read_idx(find("train-images-idx3-ubyte")); y_tr = read_idx(find("train-labels-idx1-ubyte"))
    x_te = read_idx(find("t10k-images-idx3-ubyte")); y_te = read_idx(find("t10k-labels-idx1-ubyte"))
    to_x = lambda a: torch.from_numpy(a.astype(np.float32) / 255.0).unsqueeze(1)  # s2dc: [0, 1], mean 0, std 1
    return to_x(x_tr), torch.from_numpy(y_tr.astype(np.int64)), to_x(x_te), torch.from_numpy(y_te.astype(np.int64))


class Xoshiro256:
    """s2dc's TrainingRNG (Sources/Runtime/Training/TrainingRNG.swift): xoshiro256** seeded by SplitMix64."""

    def __init__(self, seed):
        s = seed & MASK64
        words = []
        for _ in range(4):
            s = (s + 0x9E3779B97F4A7C15) & MASK64
            z = s
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
            words.append(z ^ (z >> 31))
        self.s = words

    def next(self):
        s0, s1, s2, s3 = self.s
        rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & MASK64
        result = (rotl((s1 * 5) & MASK64, 7) * 9) & MASK64
        t = (s1 << 17) & MASK64
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t
        self.s = [s0, s1, s2, rotl(s3, 45)]
        return result

    def below(self, bound):
        """Swift's RandomNumberGenerator.next(upperBound:) (Lemire's multiply-shift with rejection)."""
        m = self.next() * bound
        if (m & MASK64) < bound:
            t = ((1 << 64) - bound) % bound
            while (m & MASK64) < t:
                m = self.next() * bound
        return m >> 64

    def permutation(self, n):
        p = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.below(i + 1)
            p[i], p[j] = p[j], p[i]
        return p


def split_validation(count, fraction, seed):
    """Indices (train, validation) exactly as s2dc's Dataset.split(validationFraction:seed:)."""
    order = Xoshiro256(seed ^ 0x5EED5A11).permutation(count)
    nv = int(np.floor(count * fraction + 0.5))
    return sorted(order[nv:]), sorted(order[:nv])


# ---- the network ------------------------------------------------------------------------------

def boundaries(c):
    """Uniform group boundaries 0 = b0 < b1 < b2 < b3 = C, forced strictly increasing."""
    b = [0] + [int(np.floor(f * c + 0.5)) for f in FRACTIONS] + [c]
    for i in range(1, len(b)):
        b[i] = max(b[i], b[i - 1] + 1) if i < len(b) - 1 else b[i]
    return b


def groups_of(c):
    b = boundaries(c)
    return torch.tensor([next(s for s in range(3) if b[s] <= ch < b[s + 1]) for ch in range(c)])


class MaskedConvBN(nn.Module):
    """Conv (block lower-triangular over the channel groups) + BatchNorm (+ Relu)."""

    def __init__(self, cin, cout, kernel, stride, relu, split_input=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = relu
        g_out = groups_of(cout)
        g_in = groups_of(cin) if split_input else torch.zeros(cin, dtype=torch.long)
        self.register_buffer("mask", (g_in[None, :] <= g_out[:, None]).float()[:, :, None, None])
        self.g_out, self.g_in = g_out, g_in

    def forward(self, x):
        y = self.bn(F.conv2d(x, self.conv.weight * self.mask, None, self.conv.stride, self.conv.padding))
        return F.relu(y) if self.relu else y

    def stage_macs(self, out_hw):
        """MACs of stages 1..s for s = 0, 1, 2: computed (output, input) pairs x pixels x taps."""
        k = self.conv.kernel_size[0] * self.conv.kernel_size[1]
        pairs = self.mask[:, :, 0, 0]
        return [int(pairs[self.g_out <= s].sum().item()) * out_hw * k for s in range(3)]

    def static_macs(self, out_hw):
        return self.conv.in_channels * self.conv.out_channels * out_hw * self.conv.kernel_size[0] * self.conv.kernel_size[1]


class Block(nn.Module):
    def __init__(self, cin, cout, stride, downsample):
        super().__init__()
        self.conv1 = MaskedConvBN(cin, cout, 3, stride, True)
        self.conv2 = MaskedConvBN(cout, cout, 3, 1, False)
        self.downsample = MaskedConvBN(cin, cout, 1, stride, False) if downsample else None

    def forward(self, x):
        short = x if self.downsample is None else self.downsample(x)
        return F.relu(self.conv2(self.conv1(x)) + short)


class DynamicResNet(nn.Module):
    """Stem, basic blocks, global pool; `forward` returns the logits of the 3 exits."""

    def __init__(self, blocks, classes):
        super().__init__()
        self.stem = MaskedConvBN(1, blocks[0][0], 3, 1, True, split_input=False)
        self.blocks = nn.ModuleList(Block(cin, cout, stride, down) for cin, cout, stride, down in blocks)
        self.fc = nn.Linear(blocks[-1][1], classes)
        self.bounds = boundaries(blocks[-1][1])

    def forward(self, x):
        x = self.stem(x)
        for b in self.blocks:
            x = b(x)
        f = x.mean(dim=(2, 3))
        return [F.linear(f[:, :self.bounds[s + 1]], self.fc.weight[:, :self.bounds[s + 1]], self.fc.bias) for s in range(3)]

    def costs(self, hw=28):
        """(cumulative MACs of exits 1..3, static MACs), by the issue's cost rule."""
        layers, size = [(self.stem, hw)], hw
        for b in self.blocks:
            size = (size + 2 - 3) // b.conv1.conv.stride[0] + 1
            layers += [(b.conv1, size), (b.conv2, size)] + ([(b.downsample, size)] if b.downsample else [])
        exits = [sum(l.stage_macs(s * s)[k] for l, s in layers) + self.fc.out_features * self.bounds[k + 1] for k in range(3)]
        static = sum(l.static_macs(s * s) for l, s in layers) + self.fc.out_features * self.fc.in_features
        return exits, static


def import_onnx(path):
    """Builds the network from an onnx_builder-layout model and loads its weights by name."""
    try:
        model = onnx.load(path)
    except Exception as e:  # missing file, not protobuf
        sys.exit(f"bench-peer-uniform: cannot read {path}: {e}")
    w = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
    names = sorted({m.group(1) for n in w if (m := re.match(r"^(layer\d+(?:/\d+)?)/conv1\.conv\.weight$", n))},
                   key=lambda s: [int(p) for p in re.findall(r"\d+", s)])
    if "stem.conv.weight" not in w or "fc.weight" not in w or not names:
        sys.exit(f"bench-peer-uniform: {path} is not a ResNet laid out as scripts/onnx_builder.py writes it")
    strides = {n.name: [a.ints for a in n.attribute if a.name == "strides"][0][0] for n in model.graph.node if n.op_type == "Conv"}
    blocks = []
    for name in names:
        wt = w[f"{name}/conv1.conv.weight"]
        blocks.append((wt.shape[1], wt.shape[0], strides[f"/{name}/conv1/conv/Conv"], f"{name}/downsample.conv.weight" in w))
    net = DynamicResNet(blocks, w["fc.weight"].shape[0])
    def load(layer, prefix):
        layer.conv.weight.data.copy_(w[f"{prefix}.conv.weight"])
        for p, q in [("weight", "weight"), ("bias", "bias"), ("running_mean", "running_mean"), ("running_var", "running_var")]:
            getattr(layer.bn, p).data.copy_(w[f"{prefix}.bn.{q}"])
    load(net.stem, "stem")
    for name, block in zip(names, net.blocks):
        load(block.conv1, f"{name}/conv1"); load(block.conv2, f"{name}/conv2")
        if block.downsample is not None:
            load(block.downsample, f"{name}/downsample")
    net.fc.weight.data.copy_(w["fc.weight"]); net.fc.bias.data.copy_(w["fc.bias"])
    net.onnx_names = ["stem"] + [f"{name}/{part}" for name, block in zip(names, net.blocks)
                                 for part in ("conv1", "conv2") + (("downsample",) if block.downsample is not None else ())]
    return net


def save_onnx(net, source, out):
    """Writes `source` with its initializers replaced by the network's (static) weights, by name, so
    that s2dc converts the very model this script pre-trained. Written beside `out`, then renamed."""
    model = onnx.load(source)
    layers = [net.stem] + [l for b in net.blocks for l in (b.conv1, b.conv2) + ((b.downsample,) if b.downsample is not None else ())]
    values = {"fc.weight": net.fc.weight, "fc.bias": net.fc.bias}
    for prefix, layer in zip(net.onnx_names, layers):
        values[f"{prefix}.conv.weight"] = layer.conv.weight
        for p in ("weight", "bias", "running_mean", "running_var"):
            values[f"{prefix}.bn.{p}"] = getattr(layer.bn, p)
    for t in model.graph.initializer:
        if t.name in values:
            array = values[t.name].detach().numpy().astype(numpy_helper.to_array(t).dtype)
            t.CopyFrom(numpy_helper.from_array(array, t.name))
    onnx.save(model, out + ".partial")
    os.replace(out + ".partial", out)


# ---- training, calibration, evaluation --------------------------------------------------------

def set_masks(net, on):
    """Static training uses the full weights (mask all ones); the dynamic net the triangular masks."""
    for m in net.modules():
        if isinstance(m, MaskedConvBN):
            if not hasattr(m, "tri"):
                m.tri = m.mask.clone()
            m.mask.copy_(m.tri if on else torch.ones_like(m.tri))


def random_crop(xb, g):
    """A random crop per image of an N x 1 x 28 x 28 batch after 2-pixel zero padding (as s2dc
    train --crop-padding 2), drawn from generator g."""
    pad = F.pad(xb, (2, 2, 2, 2))
    dy, dx = torch.randint(0, 5, (2, len(xb)), generator=g)
    ar = torch.arange(28)
    return pad[torch.arange(len(xb))[:, None, None], 0, (dy[:, None] + ar)[:, :, None],
               (dx[:, None] + ar)[:, None, :]].unsqueeze(1)


def train(net, x, y, epochs, lr, seed, dynamic, log):
    decay = [p for n, p in net.named_parameters() if n.endswith("conv.weight") or n == "fc.weight"]
    rest = [p for n, p in net.named_parameters() if not (n.endswith("conv.weight") or n == "fc.weight")]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": rest, "weight_decay": 0}],
                          lr=lr, momentum=0.9, nesterov=True)
    steps = epochs * (len(x) // 128)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 0.5 * (1 + np.cos(np.pi * min(i, steps) / steps)))
    g = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        net.train()
        start, total, correct, seen = time.time(), 0.0, 0, 0
        order = torch.randperm(len(x), generator=g)
        for i in range(len(x) // 128):
            idx = order[i * 128:(i + 1) * 128]
            xb, yb = random_crop(x[idx], g), y[idx]
            logits = net(xb)
            if dynamic:
                teacher = F.softmax(logits[-1], dim=1).detach()
                loss = F.cross_entropy(logits[-1], yb) + sum(
                    -(teacher * F.log_softmax(l, dim=1)).sum(1).mean() for l in logits[:-1])
            else:
                loss = F.cross_entropy(logits[-1], yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(yb); seen += len(yb)
            correct += (logits[-1].argmax(1) == yb).sum().item()
        log(f"  {'dynamic' if dynamic else 'static'} epoch {epoch + 1}/{epochs}: loss {total / seen:.4f}, "
            f"train accuracy {correct / seen:.4f}, {time.time() - start:.0f} s")


@torch.no_grad()
def exit_outputs(net, x):
    net.eval()
    probs = [[], [], []]
    for i in range(0, len(x), 500):
        for s, l in enumerate(net(x[i:i + 500])):
            probs[s].append(F.softmax(l, dim=1))
    p = [torch.cat(q) for q in probs]
    return torch.stack([q.max(1).values for q in p]).numpy(), torch.stack([q.argmax(1) for q in p]).numpy()


def route(conf, tau):
    """Exit index per image: the first s < 2 with conf >= tau_s, else 2."""
    out = np.full(conf.shape[1], 2)
    for s in (1, 0):
        out = np.where(conf[s] >= tau[s], s, out)
    return out


def calibrate(conf, pred, labels, costs, budget):
    """Thresholds maximizing accuracy with expected MACs <= budget (grid over confidence quantiles)."""
    cands = np.unique(np.concatenate([np.quantile(conf[s], np.linspace(0, 1, 101)) for s in (0, 1)] + [[1.01]]))
    correct = pred == labels[None, :]
    best = None
    for t0 in cands:
        leave0 = conf[0] >= t0
        for t1 in cands:
            exits = np.where(leave0, 0, np.where(conf[1] >= t1, 1, 2))
            macs = np.asarray(costs)[exits].mean()
            if macs > budget:
                continue
            acc = correct[exits, np.arange(len(labels))].mean()
            if best is None or acc > best[0] or (acc == best[0] and macs < best[1]):
                best = (acc, macs, (float(t0), float(t1)))
    if best is None:
        sys.exit("bench-peer-uniform: no thresholds meet the budget (even exit 1 alone costs more)")
    return best[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", help="ONNX model (default: the bench ResNet-20, built by make-bench-models.py)")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--pretrain-epochs", type=int, default=0)
    ap.add_argument("--lr", type=float, default=0.02, help="peak learning rate of the dynamic training")
    ap.add_argument("--budget", type=float, default=0.2, help="expected-MACs budget, a fraction of the static MACs")
    ap.add_argument("--validation-fraction", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit-train", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="also write the figures as JSON here")
    ap.add_argument("--save-pretrained", metavar="M.onnx", help="write the static model after pre-training (the input's layout)")
    args = ap.parse_args()
    if args.epochs < 0 or args.pretrain_epochs < 0:
        sys.exit("bench-peer-uniform: --epochs and --pretrain-epochs must be >= 0")
    if not 0 < args.budget <= 1:
        sys.exit("bench-peer-uniform: --budget must be in (0, 1]")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    log = lambda m: print(m, flush=True)
    t0 = time.time()
    path = args.model
    if path is None:
        path = os.path.join(HERE, "..", ".cache", "bench", "resnet20.onnx")
        if not os.path.exists(path):
            subprocess.run([sys.executable, os.path.join(HERE, "make-bench-models.py"), os.path.dirname(path), "resnet20"], check=True)
    net = import_onnx(path)
    x_tr, y_tr, x_te, y_te = load_fashion_mnist()
    tr_idx, va_idx = split_validation(len(x_tr), args.validation_fraction, args.seed)
    x_va, y_va = x_tr[va_idx], y_tr[va_idx]
    x_tr, y_tr = x_tr[tr_idx], y_tr[tr_idx]
    if args.limit_train:
        x_tr, y_tr = x_tr[:args.limit_train], y_tr[:args.limit_train]
    exit_costs, static = net.costs()
    fractions = [c / static for c in exit_costs]
    log(f"peer: {os.path.basename(path)}, {len(net.blocks)} blocks, static {static} MACs; exits cost "
        + ", ".join(f"{f:.3f}" for f in fractions) + f" of static; {len(x_tr)} training / {len(x_va)} validation images")

    timings = {}
    if args.pretrain_epochs:
        set_masks(net, False)
        start = time.time()
        train(net, x_tr, y_tr, args.pretrain_epochs, 0.1, args.seed, False, log)
        timings["pretrain_s"] = time.time() - start
    set_masks(net, False)
    conf, pred = exit_outputs(net, x_te)
    static_acc = float((pred[2] == y_te.numpy()).mean())
    log(f"static model: test accuracy {static_acc:.4f}")
    if args.save_pretrained:
        save_onnx(net, path, args.save_pretrained)
        log(f"wrote the static model to {args.save_pretrained}")
    if args.epochs == 0:
        return

    set_masks(net, True)
    start = time.time()
    train(net, x_tr, y_tr, args.epochs, args.lr, args.seed + 1, True, log)
    timings["train_s"] = time.time() - start
    conf_va, pred_va = exit_outputs(net, x_va)
    tau = calibrate(conf_va, pred_va, y_va.numpy(), fractions, args.budget)
    conf, pred = exit_outputs(net, x_te)
    exits = route(conf, tau)
    labels = y_te.numpy()
    answer = pred[exits, np.arange(len(labels))]
    acc = float((answer == labels).mean())
    mean_frac = float(np.asarray(fractions)[exits].mean())
    shares = [float((exits == s).mean()) for s in range(3)]
    per_exit = [float((pred[s] == labels).mean()) for s in range(3)]
    timings["total_s"] = time.time() - t0
    log(f"thresholds {tau[0]:.4f} {tau[1]:.4f} (calibrated on validation for budget {args.budget})")
    log("exit  share   accuracy alone  cumulative MACs")
    for s in range(3):
        log(f"  {s + 1}   {shares[s]:6.3f}   {per_exit[s]:.4f}          {fractions[s]:.3f}")
    log(f"PyTorch peer (uniform 0.25/0.5, {args.epochs} epochs): test accuracy {acc:.4f} "
        f"({100 * (acc - static_acc):+.2f} pt vs static) at {100 * mean_frac:.1f}% of static MACs; "
        f"training {timings['train_s'] / 60:.1f} min, total {timings['total_s'] / 60:.1f} min")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"model": path, "epochs": args.epochs, "pretrain_epochs": args.pretrain_epochs,
                       "budget": args.budget, "static_accuracy": static_acc, "accuracy": acc,
                       "mean_macs_fraction": mean_frac, "exit_shares": shares, "exit_accuracies": per_exit,
                       "exit_macs_fractions": fractions, "thresholds": tau, "timings": timings}, f, indent=1)


if __name__ == "__main__":
    main()
