#!/usr/bin/env python3
"""Trains a bench architecture on Fashion-MNIST in PyTorch and exports it to ONNX in eval mode.

The models issues 12 and 15 measure `s2dc convert` on, made as its users make theirs: the
ResNet-20 or MobileNetV2-style network of scripts/torch-train-bench.py (the layer-for-layer
PyTorch definition of what make-bench-models.py builds), trained on the labels with SGD (momentum
0.9, Nesterov, weight decay 5e-4 on conv/linear weights, cosine learning rate from --lr, batch 128,
random crops after 2-pixel zero padding), on the training split that s2dc's seeded validation split
leaves (`--seed`, 5000 validation images, the very permutation `Dataset.split` makes: those images
are never trained on, so `s2dc convert --seed S` can score on them), then exported by
`torch.onnx.export` in eval mode with either exporter (`--exporter torchscript` folds
BatchNormalization into the convolutions; `dynamo`, the default of recent torch, keeps it as
BatchNormalization nodes, which s2dc's canonicalize folds). Prints each epoch and the test accuracy
of the exported model under onnxruntime.

Needs torch and onnxruntime (the bench venv, scripts/bench-requirements.txt).

Usage: train-torch-model.py resnet20|mobilenetv2 -o M.onnx [--epochs 10] [--lr 0.1] [--seed 0]
       [--threads 2] [--exporter torchscript|dynamo] [--limit-train N]
"""
import argparse
import importlib.util
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def load_script(name):
    """A sibling script as a module (their file names have hyphens)."""
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"), os.path.join(HERE, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", choices=["resnet20", "mobilenetv2"])
    ap.add_argument("-o", "--output", required=True, help="the ONNX file to write")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--lr", type=float, default=0.1, help="peak learning rate (cosine to 0)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the validation split (as s2dc's --seed) and of training")
    ap.add_argument("--validation-size", type=int, default=5000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--exporter", choices=["torchscript", "dynamo"], default="torchscript")
    ap.add_argument("--limit-train", type=int, default=0, help="train on the first N images only (a quick check)")
    args = ap.parse_args()
    if args.epochs < 1:
        sys.exit("train-torch-model: --epochs must be at least 1")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    arch, peer = load_script("torch-train-bench"), load_script("bench-peer-uniform")
    net = {"resnet20": arch.resnet20, "mobilenetv2": arch.mobilenetv2}[args.model]()

    x_tr, y_tr, x_te, y_te = peer.load_fashion_mnist()
    tr_idx, _ = peer.split_validation(len(x_tr), args.validation_size / len(x_tr), args.seed)
    x_tr, y_tr = x_tr[tr_idx], y_tr[tr_idx]
    if args.limit_train:
        x_tr, y_tr = x_tr[:args.limit_train], y_tr[:args.limit_train]

    decay = [p for p in net.parameters() if p.dim() >= 2]
    rest = [p for p in net.parameters() if p.dim() < 2]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": rest, "weight_decay": 0}],
                          lr=args.lr, momentum=0.9, nesterov=True)
    per_epoch = max(1, len(x_tr) // 128)
    steps = args.epochs * per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 0.5 * (1 + np.cos(np.pi * min(i, steps) / steps)))
    g = torch.Generator().manual_seed(args.seed)
    start_all = time.time()
    for epoch in range(args.epochs):
        net.train()
        start, total, correct, seen = time.time(), 0.0, 0, 0
        order = torch.randperm(len(x_tr), generator=g)
        for i in range(per_epoch):
            idx = order[i * 128:(i + 1) * 128]
            xb, yb = peer.random_crop(x_tr[idx], g), y_tr[idx]
            logits = net(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(yb); seen += len(yb)
            correct += (logits.argmax(1) == yb).sum().item()
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total / seen:.4f}, train accuracy {correct / seen:.4f}, "
              f"{time.time() - start:.0f} s", flush=True)

    net.eval()
    with torch.no_grad():
        torch_acc = float(sum((net(x_te[i:i + 500]).argmax(1) == y_te[i:i + 500]).sum().item()
                              for i in range(0, len(x_te), 500)) / len(x_te))
    tmp = args.output + ".part.onnx"  # the exporter wants an .onnx name
    torch.onnx.export(net, (torch.zeros(1, 1, 28, 28),), tmp, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, dynamo=args.exporter == "dynamo")
    import onnxruntime as ort
    session = ort.InferenceSession(tmp, providers=["CPUExecutionProvider"])
    ort_pred = np.concatenate([session.run(None, {"input": x_te[i:i + 500].numpy()})[0].argmax(1)
                               for i in range(0, len(x_te), 500)])
    ort_acc = float((ort_pred == y_te.numpy()).mean())
    os.replace(tmp, args.output)
    print(f"{args.model}: test accuracy {torch_acc:.4f} in torch, {ort_acc:.4f} in onnxruntime (exported by {args.exporter}); "
          f"trained {args.epochs} epochs on {len(x_tr)} images in {(time.time() - start_all) / 60:.1f} min; wrote {args.output}")


if __name__ == "__main__":
    main()
