"""PyTorch peer for the unet-train and unet-infer workloads (BENCH.md 1 and 2).

  /usr/bin/python3 bench/peers/torch_unet.py --mode train|infer --layout default|cl \
      --batch 8 --size 256 --reps 5 --warmup 1 --threads 2

train: forward, CrossEntropyLoss, backward, AdamW step on seeded random data.
infer: eval mode under torch.inference_mode().
--layout cl puts the model and the input in torch.channels_last.
Prints one JSON line (see bench_common.py); runner is "torch" or "torch-cl".
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import base_parser, emit, layout, model_step, set_threads, time_steps  # noqa: E402
from unet import UNet  # noqa: E402


def main():
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--mode", choices=["train", "infer"], required=True)
    p.add_argument("--layout", choices=["default", "cl"], default="default")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--classes", type=int, default=4)
    a = p.parse_args()
    if a.size % 16 != 0:
        sys.exit(f"--size must be divisible by 16 (4 poolings), got {a.size}; try {a.size // 16 * 16 or 16}")
    set_threads(a.threads)
    torch.manual_seed(0)

    fmt, runner = layout(a.layout)
    model = UNet(3, a.classes, 32).to(memory_format=fmt)
    x = torch.randn(a.batch, 3, a.size, a.size).to(memory_format=fmt)

    if a.mode == "train":
        target = torch.randint(0, a.classes, (a.batch, a.size, a.size))
        loss_fn = nn.CrossEntropyLoss()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        step = model_step("train", model, x, lambda y: loss_fn(y, target), opt)
    else:
        step = model_step("infer", model, x)

    times = time_steps(step, a.reps, a.warmup, f"{runner} unet-{a.mode}")
    emit(f"unet-{a.mode}", runner, a.batch, times, a.threads, size=a.size, torch_version=torch.__version__)


if __name__ == "__main__":
    main()
