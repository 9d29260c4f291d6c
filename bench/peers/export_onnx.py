"""Export a benchmark model (eval mode, seeded random weights) to ONNX for the ONNX Runtime peer.

  /usr/bin/python3 bench/peers/export_onnx.py --model unet|deeplabv3 --out .cache/bench/unet.onnx

The batch dimension is dynamic; the spatial size is fixed by --size (256 for the UNet, 512 for
DeepLabv3). Input "input" (B, 3, H, W) float32, output "out" (B, classes, H, W).
Opset 14 (torch 1.13 supports up to 17; 14 is well covered by onnxruntime).
The file is written to a temp name and renamed, so an interrupted export leaves no broken file.
"""
import argparse
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unet import UNet  # noqa: E402


class OutOnly(nn.Module):
    """torchvision segmentation models return a dict; ONNX export wants a tensor."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)["out"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=["unet", "deeplabv3"], default="unet")
    p.add_argument("--out", required=True, help="path of the .onnx file to write")
    p.add_argument("--size", type=int, default=None, help="default 256 (unet), 512 (deeplabv3)")
    p.add_argument("--opset", type=int, default=14)
    a = p.parse_args()
    torch.manual_seed(0)
    if a.model == "unet":
        model, size = UNet(3, 4, 32), a.size or 256
    else:
        from torch_deeplab import build

        model, size = OutOnly(build()), a.size or 512
    model.eval()

    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = f"{a.out}.tmp-{os.getpid()}"
    try:
        with torch.no_grad():
            torch.onnx.export(
                model,
                torch.randn(1, 3, size, size),
                tmp,
                opset_version=a.opset,
                input_names=["input"],
                output_names=["out"],
                dynamic_axes={"input": {0: "batch"}, "out": {0: "batch"}},
                do_constant_folding=True,
            )
        os.replace(tmp, a.out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    print(f"exported {a.model} ({size}x{size}) to {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
