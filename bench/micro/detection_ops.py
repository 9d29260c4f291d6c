"""torchvision's side of the detection micro-timings (bench/micro/README.md): the building blocks of
Mask R-CNN on the sizes an 800x800 image gives, one process, median of --reps after a warm-up.

  /usr/bin/python3 bench/micro/detection_ops.py --threads 2 --reps 5 [--only NAME,NAME]

Prints one JSON line per case: {"case": ..., "runner": "torchvision", "median_ms": ..., "times_ms": [...]}.
The inputs follow the seeded recipes of bench/micro/detection-ops.ts (same libtorch generator).
"""
import argparse
import json
import statistics
import sys
import time

import torch
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.rpn import RegionProposalNetwork, RPNHead
from torchvision.ops import MultiScaleRoIAlign, batched_nms, nms

FPN = [("0", 200), ("1", 100), ("2", 50), ("3", 25)]  # an 800x800 image, strides 4-32
SIZE = 800


def features(batch, cl):
    torch.manual_seed(0)
    fmt = torch.channels_last if cl else torch.contiguous_format
    return {name: torch.rand(batch, 256, s, s).contiguous(memory_format=fmt) for name, s in FPN}


def roi_boxes(batch, per_image, seed=1):
    """per image: xy = rand(K, 2) * 700, wh = 8 + rand(K, 2) * 400 (sizes over every FPN level)."""
    torch.manual_seed(seed)
    out = []
    for _ in range(batch):
        xy = torch.rand(per_image, 2) * 700
        wh = 8 + torch.rand(per_image, 2) * 400
        out.append(torch.cat([xy, (xy + wh).clamp(max=SIZE)], 1))
    return out


def nms_inputs(n, seed=2):
    """xy = rand(n, 2) * 760, wh = 4 + rand(n, 2) * 200, scores = rand(n)."""
    torch.manual_seed(seed)
    xy = torch.rand(n, 2) * 760
    wh = 4 + torch.rand(n, 2) * 200
    return torch.cat([xy, xy + wh], 1), torch.rand(n)


def cases(threads):
    c = {}

    def roi(name, batch, per_image, out, train, cl):
        def setup():
            feats = features(batch, cl)
            boxes = roi_boxes(batch, per_image)
            pool = MultiScaleRoIAlign(["0", "1", "2", "3"], out, 2)
            sizes = [(SIZE, SIZE)] * batch
            if train:
                for f in feats.values():
                    f.requires_grad_(True)
                torch.manual_seed(3)
                g = torch.rand(batch * per_image, 256, out, out)

                def run():
                    for f in feats.values():
                        f.grad = None
                    pool(feats, boxes, sizes).backward(g)
            else:

                def run():
                    with torch.inference_mode():
                        pool(feats, boxes, sizes)

            return run

        c[name] = setup

    for cl in (False, True):
        sfx = "-cl" if cl else ""
        roi(f"roialign-7-eval{sfx}", 1, 1000, 7, False, cl)
        roi(f"roialign-14-eval{sfx}", 1, 1000, 14, False, cl)
        roi(f"roialign-7-train{sfx}", 2, 512, 7, True, cl)
        roi(f"roialign-14-train{sfx}", 2, 512, 14, True, cl)

    def nms_case(n):
        def setup():
            b, s = nms_inputs(n)
            return lambda: nms(b, s, 0.7)

        return setup

    def batched_case(n, cats):
        def setup():
            b, s = nms_inputs(n)
            torch.manual_seed(4)
            idx = torch.randint(0, cats, (n,))
            return lambda: batched_nms(b, s, idx, 0.5 if cats > 5 else 0.7)

        return setup

    c["nms-4507"] = nms_case(4507)
    c["batched-nms-4507x5"] = batched_case(4507, 5)  # RPN eval: 4 levels of 1000 + 507, per level
    c["batched-nms-8507x5"] = batched_case(8507, 5)  # RPN train: 2000 per level
    c["batched-nms-90000x90"] = batched_case(90000, 90)  # RoI heads postprocess, score threshold 0

    def anchors_setup():
        gen = AnchorGenerator(((32,), (64,), (128,), (256,), (512,)), ((0.5, 1.0, 2.0),) * 5)
        from torchvision.models.detection.image_list import ImageList

        images = ImageList(torch.zeros(1, 3, SIZE, SIZE), [(SIZE, SIZE)])
        fmaps = [torch.zeros(1, 1, s, s) for s in (200, 100, 50, 25, 13)]

        def run():
            with torch.inference_mode():
                gen(images, fmaps)

        return run

    c["anchors"] = anchors_setup

    def filter_setup(train):
        def setup():
            gen = AnchorGenerator(((32,), (64,), (128,), (256,), (512,)), ((0.5, 1.0, 2.0),) * 5)
            rpn = RegionProposalNetwork(gen, RPNHead(256, 3), 0.7, 0.3, 256, 0.5, dict(training=2000, testing=1000), dict(training=2000, testing=1000), 0.7)
            rpn.train(train)
            per_level = [s * s * 3 for s in (200, 100, 50, 25, 13)]
            total = sum(per_level)
            batch = 2 if train else 1
            torch.manual_seed(5)
            objectness = torch.randn(batch * total, 1)
            xy = torch.rand(batch, total, 2) * 800
            wh = torch.rand(batch, total, 2) * 300
            proposals = torch.cat([xy - 50, xy + wh], 2)

            def run():
                with torch.no_grad():
                    rpn.filter_proposals(proposals, objectness, [(SIZE, SIZE)] * batch, per_level)

            return run

        return setup

    c["rpn-filter-eval"] = filter_setup(False)
    c["rpn-filter-train"] = filter_setup(True)
    return c


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--only", default="")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    only = [s for s in a.only.split(",") if s]
    for name, setup in cases(a.threads).items():
        if only and name not in only:
            continue
        run = setup()
        run()
        times = []
        for _ in range(a.reps):
            t0 = time.perf_counter()
            run()
            times.append((time.perf_counter() - t0) * 1000)
        print(json.dumps({"case": name, "runner": "torchvision", "median_ms": round(statistics.median(times), 2), "times_ms": [round(t, 2) for t in times]}), flush=True)
        print(f"{name}: {statistics.median(times):.2f} ms", file=sys.stderr)


if __name__ == "__main__":
    main()
