"""Workload 5, PyTorch side: torch.utils.data.DataLoader with torchvision transforms, the way
torchvision's segmentation reference (references/segmentation/transforms.py) does it with PIL:
decode (PIL), random scale 0.5-2.0 (bilinear image, nearest mask), pad to 512 (image 0, mask
255), random crop 512, horizontal flip p=0.5, to float + ImageNet normalise, batch 8, shuffled,
`--workers` worker processes (persistent). One timed step = one epoch of the 256 images.
Prints ONE JSON line like bench/peers/bench_common.py; peak_rss_mb sums the main process and its
worker processes (sampled every 50 ms), since the workers hold most of the memory.

    /usr/bin/python3 bench/loader/torch_loader.py --data .cache/bench/loader-data --workers 2
"""
import contextlib
import io
import json
import os
import random
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers"))
import bench_common  # noqa: E402

import torch  # noqa: E402
import torchvision.transforms as T  # noqa: E402
import torchvision.transforms.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


class SegPairs(torch.utils.data.Dataset):
    def __init__(self, root: str, crop: int):
        names = sorted(f[:-4] for f in os.listdir(os.path.join(root, "images")) if f.endswith(".jpg"))
        if not names:
            sys.exit(f"no .jpg files in {root}/images; run: node bench/loader/make_data.mjs --out {root}")
        self.items = [(os.path.join(root, "images", n + ".jpg"), os.path.join(root, "masks", n + ".png")) for n in names]
        self.crop = crop

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        image = Image.open(self.items[i][0]).convert("RGB")
        target = Image.open(self.items[i][1])
        # RandomResize: scale both sides by s in [0.5, 2.0]
        s = random.uniform(0.5, 2.0)
        size = [max(1, round(image.height * s)), max(1, round(image.width * s))]
        image = F.resize(image, size, interpolation=T.InterpolationMode.BILINEAR)
        target = F.resize(target, size, interpolation=T.InterpolationMode.NEAREST)
        # pad_if_smaller + RandomCrop
        ph, pw = max(self.crop - image.height, 0), max(self.crop - image.width, 0)
        if ph or pw:
            image = F.pad(image, [0, 0, pw, ph], fill=0)
            target = F.pad(target, [0, 0, pw, ph], fill=255)
        top, left, h, w = T.RandomCrop.get_params(image, (self.crop, self.crop))
        image = F.crop(image, top, left, h, w)
        target = F.crop(target, top, left, h, w)
        if random.random() < 0.5:
            image = F.hflip(image)
            target = F.hflip(target)
        # PILToTensor + ConvertImageDtype + Normalize
        image = F.normalize(F.convert_image_dtype(F.pil_to_tensor(image), torch.float), MEAN, STD)
        target = torch.as_tensor(F.pil_to_tensor(target)[0], dtype=torch.int64)
        return image, target


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out += [int(c) for c in fh.read().split()]
    except OSError:
        pass
    return out


class TreeRss(threading.Thread):
    """Peak of (this process + its descendants) resident memory, sampled."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak_kib = 0
        self.stop = threading.Event()

    def run(self):
        me = os.getpid()
        while not self.stop.wait(0.05):
            pids, total, seen = [me], 0, set()
            while pids:
                p = pids.pop()
                if p in seen:
                    continue
                seen.add(p)
                total += rss_kib(p)
                pids += children(p)
            self.peak_kib = max(self.peak_kib, total)


def main():
    p = bench_common.base_parser("PyTorch DataLoader peer of the segkit loader benchmark")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--data", default=".cache/bench/loader-data")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--size", type=int, default=512)
    args = p.parse_args()
    bench_common.set_threads(args.threads)
    if args.workers < 0:
        sys.exit(f"--workers must be >= 0, got {args.workers}")

    random.seed(0)
    torch.manual_seed(0)
    ds = SegPairs(args.data, args.size)
    loader = torch.utils.data.DataLoader(
        ds,
        batch_size=args.batch,
        shuffle=True,
        num_workers=args.workers,
        persistent_workers=args.workers > 0,
        generator=torch.Generator().manual_seed(0),
    )
    sampler = TreeRss()
    sampler.start()

    def epoch():
        images = 0
        for batch, masks in loader:
            if tuple(batch.shape[1:]) != (3, args.size, args.size) or tuple(masks.shape[1:]) != (args.size, args.size):
                sys.exit(f"unexpected batch shape {tuple(batch.shape)} / {tuple(masks.shape)}")
            images += batch.shape[0]
        if images != len(ds):
            sys.exit(f"an epoch gave {images} images, expected {len(ds)}")

    times = bench_common.time_steps(epoch, args.reps, args.warmup, "loader torch")
    sampler.stop.set()
    sampler.join()
    # bench_common.emit reports this process's own peak RSS; the workers hold most of the
    # memory, so the line gets the process tree's peak instead (the main's own is kept beside).
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        bench_common.emit(
            "loader", "torch", len(ds), times, args.threads,
            workers=args.workers, batch_size=args.batch, peak_rss_main_mb=round(bench_common.peak_rss_mb(), 1),
        )
    line = json.loads(captured.getvalue())
    line["peak_rss_mb"] = max(round(sampler.peak_kib / 1024, 1), line["peak_rss_mb"])
    print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
