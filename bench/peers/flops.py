"""Count forward FLOPs per image of the benchmark models, over their convolution layers.

FLOPs = 2 x multiply-adds (+ one add per output element for a bias). Convolutions and transposed
convolutions are all but a fraction of a percent of these models' arithmetic; BatchNorm, ReLU,
pooling and the final resize are left out. A training step is counted as 3x the forward (the
backward computes the gradients of both inputs and weights). bench/harness/workloads.ts holds the
numbers this prints.

Usage: /usr/bin/python3 bench/peers/flops.py   (prints one JSON object)
"""
import json
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unet import UNet  # noqa: E402


def conv_flops(model: nn.Module, shape) -> tuple[int, int]:
    """Forward FLOPs per image of the conv layers of `model` on an input of `shape` (batch 1)."""
    total = 0
    layers = 0

    def hook(m, inputs, out):
        nonlocal total, layers
        x = inputs[0]
        kh, kw = m.kernel_size
        if isinstance(m, nn.ConvTranspose2d):
            # every input pixel scatters a (cout, kh, kw) patch: macs = in pixels * cin * cout/g * kh * kw
            macs = x.shape[2] * x.shape[3] * m.in_channels * (m.out_channels // m.groups) * kh * kw
        else:
            macs = out.shape[2] * out.shape[3] * m.out_channels * (m.in_channels // m.groups) * kh * kw
        total += 2 * macs + (out.shape[1] * out.shape[2] * out.shape[3] if m.bias is not None else 0)
        layers += 1

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *shape))
    for h in handles:
        h.remove()
    return total, layers


def main():
    from torchvision.models.segmentation import deeplabv3_resnet50

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    report = {}
    unet, n = conv_flops(UNet(3, 4, 32), (3, 256, 256))
    report["unet-256"] = {"forward_flops": unet, "train_flops": 3 * unet, "conv_layers": n}
    deeplab = deeplabv3_resnet50(weights=None, weights_backbone=None, num_classes=21, aux_loss=False)
    dl, n = conv_flops(deeplab, (3, 512, 512))
    report["deeplabv3_resnet50-512"] = {"forward_flops": dl, "train_flops": 3 * dl, "conv_layers": n}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
