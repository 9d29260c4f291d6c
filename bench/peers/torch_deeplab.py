"""PyTorch peer for the deeplabv3-infer and deeplabv3-train workloads (BENCH.md 3 and 4).

  /usr/bin/python3 bench/peers/torch_deeplab.py --mode infer|train [--layout default|cl] \
      [--batch 1|2] --size 512 --reps 5 --warmup 1 --threads 2

Model: torchvision deeplabv3_resnet50(weights=None, weights_backbone=None, num_classes=21,
aux_loss=False) (output stride 8), randomly initialised with a fixed seed.
infer: eval mode under torch.inference_mode(); batch defaults to 1.
train: forward, CrossEntropyLoss(ignore_index=255), backward, SGD(momentum=0.9); batch defaults to 2.
Prints one JSON line (see bench_common.py); runner is "torch" or "torch-cl".
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import base_parser, emit, layout, model_step, set_threads, time_steps  # noqa: E402


def build(num_classes: int = 21) -> nn.Module:
    from torchvision.models.segmentation import deeplabv3_resnet50

    return deeplabv3_resnet50(weights=None, weights_backbone=None, num_classes=num_classes, aux_loss=False)


def main():
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--mode", choices=["train", "infer"], required=True)
    p.add_argument("--layout", choices=["default", "cl"], default="default")
    p.add_argument("--batch", type=int, default=None, help="default 1 for infer, 2 for train")
    p.add_argument("--size", type=int, default=512)
    a = p.parse_args()
    batch = a.batch if a.batch is not None else (2 if a.mode == "train" else 1)
    if a.mode == "train" and batch < 2:
        sys.exit(f"--batch must be >= 2 in train mode (BatchNorm after the ASPP pooling needs 2 samples), got {batch}")
    set_threads(a.threads)
    torch.manual_seed(0)

    fmt, runner = layout(a.layout)
    model = build().to(memory_format=fmt)
    x = torch.randn(batch, 3, a.size, a.size).to(memory_format=fmt)

    if a.mode == "train":
        target = torch.randint(0, 21, (batch, a.size, a.size))
        loss_fn = nn.CrossEntropyLoss(ignore_index=255)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        step = model_step("train", model, x, lambda y: loss_fn(y["out"], target), opt)
    else:
        step = model_step("infer", model, x)

    times = time_steps(step, a.reps, a.warmup, f"{runner} deeplabv3-{a.mode}")
    emit(f"deeplabv3-{a.mode}", runner, batch, times, a.threads, size=a.size, torch_version=torch.__version__)


if __name__ == "__main__":
    main()
