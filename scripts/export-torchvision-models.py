#!/usr/bin/env python3
"""export-torchvision-models.py: export small torchvision CNNs to ONNX for the runtime's model tests.

Writes Tests/RuntimeTests/Fixtures/torchvision/<name>.onnx for resnet18, mobilenet_v2,
mobilenet_v3_small, efficientnet_b0, shufflenet_v2, squeezenet1_1, densenet121 and regnet, built
from torchvision's own definitions (no pretrained weights: nothing is downloaded) with seeded
random weights and non-trivial BatchNorm statistics, 10 classes, and widths reduced where needed
so that each file stays under 3 MB:

  resnet18            every channel count divided by 4 (torchvision's ResNet has no width option)
  mobilenet_v2        width_mult 0.5
  mobilenet_v3_small  width_mult 0.5
  efficientnet_b0     width_mult 0.35 (depth unchanged)
  shufflenet_v2       shufflenet_v2_x0_5
  squeezenet1_1       as defined
  densenet121         growth rate 8 and 16 initial features (block depths unchanged: 121 layers)
  regnet              RegNetY-style (SE, group conv) at reduced width: depth 13, w0 16, wa 8, wm 2.5, group width 8

The input is batch×3×64×64 with a symbolic batch ("batch"); opset 17.

torch and torchvision are needed only here, not at test time. They are large (several GB from
PyPI), so use a separate venv:
    python3 -m venv /tmp/venv-torch && /tmp/venv-torch/bin/pip install torch torchvision onnx
    /tmp/venv-torch/bin/python scripts/export-torchvision-models.py
"""
import os
import sys

import torch
import torchvision
from torch import nn
from torchvision.models import efficientnet, regnet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "RuntimeTests", "Fixtures", "torchvision")
CLASSES = 10
SIZE = 64


def narrowed(model, factor):
    """The same network with every channel count divided by `factor` (the image's 3 input
    channels and the classifier's outputs kept), rebuilt module by module."""
    def div(c):
        return c if c == 3 else c // factor

    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.Conv2d):
                groups = child.groups if child.groups == 1 else div(child.groups)
                new = nn.Conv2d(div(child.in_channels), div(child.out_channels), child.kernel_size, child.stride,
                                child.padding, child.dilation, groups, child.bias is not None)
            elif isinstance(child, nn.BatchNorm2d):
                new = nn.BatchNorm2d(div(child.num_features), child.eps, child.momentum)
            elif isinstance(child, nn.Linear):
                new = nn.Linear(div(child.in_features), child.out_features, child.bias is not None)
            else:
                continue
            setattr(module, child_name, new)
    return model


def regnet_small():
    params = regnet.BlockParams.from_init_params(depth=13, w_0=16, w_a=8.0, w_m=2.5, group_width=8, se_ratio=0.25)
    return regnet.RegNet(params, num_classes=CLASSES, norm_layer=nn.BatchNorm2d)


def efficientnet_small():
    settings, last_channel = efficientnet._efficientnet_conf("efficientnet_b0", width_mult=0.35, depth_mult=1.0)
    return efficientnet.EfficientNet(settings, 0.2, last_channel=last_channel, num_classes=CLASSES)


MODELS = {
    "resnet18": lambda: narrowed(torchvision.models.resnet18(num_classes=CLASSES), 4),
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(num_classes=CLASSES, width_mult=0.5),
    "mobilenet_v3_small": lambda: torchvision.models.mobilenet_v3_small(num_classes=CLASSES, width_mult=0.5),
    "efficientnet_b0": efficientnet_small,
    "shufflenet_v2": lambda: torchvision.models.shufflenet_v2_x0_5(num_classes=CLASSES),
    "squeezenet1_1": lambda: torchvision.models.squeezenet1_1(num_classes=CLASSES),
    "densenet121": lambda: torchvision.models.DenseNet(growth_rate=8, block_config=(6, 12, 24, 16),
                                                       num_init_features=16, num_classes=CLASSES),
    "regnet": regnet_small,
}


def randomize_batchnorm(model, generator):
    """BatchNorm with its defaults (mean 0, var 1, scale 1, shift 0) is the identity; give it
    statistics so that the runtime's BatchNorm (and its folding into Conv) is really exercised."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=generator) * 0.1)


def export(name, build):
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(1)
    model = build().eval()
    with torch.no_grad():
        randomize_batchnorm(model, generator)
    x = torch.randn(2, 3, SIZE, SIZE, generator=generator)
    path = os.path.join(OUT, f"{name}.onnx")
    torch.onnx.export(model, (x,), path, input_names=["input"], output_names=["logits"], opset_version=17,
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)
    size = os.path.getsize(path)
    print(f"{name}: {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters, {size / 1e6:.2f} MB")
    if size > 3_000_000:
        sys.exit(f"{name}.onnx is {size / 1e6:.1f} MB; reduce its width further")


def main():
    os.makedirs(OUT, exist_ok=True)
    names = sys.argv[1:] or list(MODELS)
    for name in names:
        export(name, MODELS[name])


if __name__ == "__main__":
    main()
