"""PyTorch peer for the metrics workload (BENCH.md 6): a confusion matrix with torch.bincount.

  /usr/bin/python3 bench/peers/torch_metrics.py --variant references|unmasked --batch 2 --size 1024 \
      --width 2048 --updates 12 --classes 19 --reps 5 --warmup 1 --threads 2

--variant references (runner "torch"): the idiom of torchvision's segmentation references
(ConfusionMatrix.update): keep the pixels whose target is a class (boolean indexing), index =
classes * target + pred, torch.bincount with minlength classes^2, added to an int64 matrix.
--variant unmasked (runner "torch-unmasked"): no boolean indexing; bincount of pred + classes *
target over every pixel, whose first classes^2 bins are the matrix (the ignored pixels, 255, land
past them): segkit's index counted by bincount, without segkit's input checks or per-image counts.
One step = a zeroed matrix, `--updates` batches of
`--batch` (size x width) int64 predictions and targets (about 10% of the targets 255), then
pixel accuracy and per-class IoU from the matrix, under torch.inference_mode().
Prints one JSON line (see bench_common.py) with mpixels_per_s.
"""
import os
import statistics
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import base_parser, emit, set_threads, time_steps  # noqa: E402


def main():
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--variant", choices=["references", "unmasked"], default="references")
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--size", type=int, default=1024, help="image height")
    p.add_argument("--width", type=int, default=2048)
    p.add_argument("--updates", type=int, default=12)
    p.add_argument("--classes", type=int, default=19)
    a = p.parse_args()
    set_threads(a.threads)
    torch.manual_seed(0)
    n = a.classes
    shape = (a.batch, a.size, a.width)
    truth = torch.randint(0, n, shape)
    target = truth.masked_fill(torch.rand(shape) < 0.1, 255)
    pred = torch.where(torch.rand(shape) < 0.7, truth, torch.randint(0, n, shape))
    del truth

    def step():
        with torch.inference_mode():
            mat = torch.zeros((n, n), dtype=torch.int64)
            for _ in range(a.updates):
                if a.variant == "references":
                    k = (target >= 0) & (target < n)
                    inds = n * target[k].to(torch.int64) + pred[k]
                    mat += torch.bincount(inds, minlength=n ** 2).reshape(n, n)
                else:
                    bins = torch.bincount(torch.add(pred, target, alpha=n).view(-1), minlength=n ** 2)
                    mat += bins[: n ** 2].view(n, n)
            h = mat.double()
            _acc = torch.diag(h).sum() / h.sum()
            _iou = torch.diag(h) / (h.sum(1) + h.sum(0) - torch.diag(h))

    runner = "torch" if a.variant == "references" else "torch-unmasked"
    times = time_steps(step, a.reps, a.warmup, f"{runner} metrics")
    pixels = a.updates * a.batch * a.size * a.width
    emit("metrics", runner, a.updates * a.batch, times, a.threads, mpixels_per_s=pixels / 1e6 / statistics.median(times),
         pixels_per_step=pixels, shape=list(shape), updates=a.updates, classes=n, torch_version=torch.__version__)


if __name__ == "__main__":
    main()
