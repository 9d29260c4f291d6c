"""PyTorch peer for the maskrcnn-infer and maskrcnn-train workloads (BENCH.md 8 and 9).

  /usr/bin/python3 bench/peers/torch_maskrcnn.py --mode infer|train [--layout default|cl] \
      [--batch 1|2] --size 800 --reps 5 --warmup 1 --threads 2 [--score-thresh 0]

Model: torchvision maskrcnn_resnet50_fpn (v1) with the builder's defaults for no weights
(weights=None, weights_backbone=None: BatchNorm2d, all backbone layers trainable), 91 classes,
randomly initialised after torch.manual_seed(0). `--export-weights FILE` only writes that state
dict (torch.save) for segkit's runner, so both sides run the same weights and hence the same
proposals, detections and sampled RoIs.
infer: eval mode under torch.inference_mode() on a list of `batch` images; batch defaults to 1.
  box_score_thresh defaults to 0 here (torchvision: 0.05): random weights score every class
  about 1/91, so the default threshold would drop every box and skip the mask branch and the
  mask paste; with 0 each image keeps detections_per_img = 100 boxes and masks, as a trained
  model on a busy image does.
train: the loss dict summed, backward, SGD(lr=0.01, momentum=0.9); batch defaults to 2.

Inputs (bench/segkit/maskrcnn.ts builds the same ones with the same libtorch generator):
see make_inputs below.
Prints one JSON line (see bench_common.py); runner is "torch" or "torch-cl".
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import base_parser, emit, layout, set_threads, time_steps  # noqa: E402


def make_inputs(batch: int, size: int, with_targets: bool):
    """The seeded recipe both runners implement, drawn after torch.manual_seed(1) (the model is
    built after manual_seed(0)): images = rand(batch, 3, size, size), values in [0, 1); then, per
    image: n = randint(3, 11) boxes; xy = rand(n, 2) * 0.75 * size; wh = 0.05 * size +
    rand(n, 2) * 0.2 * size; box = (x, y, x + w, y + h); labels = randint(1, 91, (n,)); mask k is 1
    on rows floor(y1)..ceil(y2)-1 and columns floor(x1)..ceil(x2)-1 (uint8, size x size)."""
    torch.manual_seed(1)
    images = torch.rand(batch, 3, size, size)
    targets = []
    if with_targets:
        for _ in range(batch):
            n = int(torch.randint(3, 11, (1,)).item())
            xy = torch.rand(n, 2) * (0.75 * size)
            wh = 0.05 * size + torch.rand(n, 2) * (0.2 * size)
            boxes = torch.cat([xy, xy + wh], 1)
            labels = torch.randint(1, 91, (n,))
            masks = torch.zeros(n, size, size, dtype=torch.uint8)
            for k, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
                masks[k, math.floor(y1) : math.ceil(y2), math.floor(x1) : math.ceil(x2)] = 1
            targets.append({"boxes": boxes, "labels": labels, "masks": masks})
    return images, targets


def build(score_thresh: float = 0.05):
    from torchvision.models.detection import maskrcnn_resnet50_fpn

    torch.manual_seed(0)
    return maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91, box_score_thresh=score_thresh)


def export_weights(path: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    torch.save(build().state_dict(), tmp)
    os.replace(tmp, path)  # atomic: a reader never sees half a file
    print(f"wrote {path}", file=sys.stderr)


def main():
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--layout", choices=["default", "cl"], default="default")
    p.add_argument("--batch", type=int, default=None, help="default 1 for infer, 2 for train")
    p.add_argument("--size", type=int, default=800)
    p.add_argument("--score-thresh", type=float, default=0.0, help="box_score_thresh in eval mode (default 0, see above)")
    p.add_argument("--export-weights", default=None, help="write the seeded random weights to this file and exit")
    p.add_argument("--mode", choices=["train", "infer"], default=None)
    a = p.parse_args()
    if a.export_weights:
        export_weights(a.export_weights)
        return
    if a.mode is None:
        sys.exit("--mode train|infer is required (or --export-weights FILE)")
    batch = a.batch if a.batch is not None else (2 if a.mode == "train" else 1)
    set_threads(a.threads)
    model = build(a.score_thresh)
    fmt, runner = layout(a.layout)
    model = model.to(memory_format=fmt)
    images, targets = make_inputs(batch, a.size, a.mode == "train")
    # GeneralizedRCNNTransform copies the images into one NCHW batch whatever their layout; with
    # channels-last weights the first convolution's output is channels-last from there on
    images = list(images.unbind(0))
    extra = {}
    if a.mode == "train":
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        last = {}

        def step():
            opt.zero_grad(set_to_none=True)
            losses = model(images, targets)
            loss = sum(losses.values())
            loss.backward()
            opt.step()
            last["loss"] = float(loss)

        times = time_steps(step, a.reps, a.warmup, f"{runner} maskrcnn-{a.mode}")
        extra["last_loss"] = last["loss"]
    else:
        model.eval()
        last = {}

        def step():
            with torch.inference_mode():
                out = model(images)
            last["detections"] = [int(o["boxes"].shape[0]) for o in out]

        times = time_steps(step, a.reps, a.warmup, f"{runner} maskrcnn-{a.mode}")
        extra["detections"] = last["detections"]
        extra["score_thresh"] = a.score_thresh
    emit(f"maskrcnn-{a.mode}", runner, batch, times, a.threads, size=a.size, torch_version=torch.__version__, **extra)


if __name__ == "__main__":
    main()
