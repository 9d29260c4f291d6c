"""Workload 7, PyTorch side: one training epoch of the demo config end to end, the way a PyTorch
user writes it: list the split folders, a Dataset decoding with PIL, the config's flips and
ImageNet normalisation, a DataLoader with the config's batch size and worker processes, the UNet
of bench/peers/unet.py with the config's width, cross-entropy (ignore 255), the config's optimizer
and OneCycle schedule stepped per batch, then a validation pass (argmax, bincount confusion
matrix, mIoU) and the checkpoint, best and last weights saved with torch.save. One timed step =
all of that with train.epochs 1 (imports and process start excepted, as for segkit's runner).

It reads the same YAML config as bench/segkit/epoch.ts and mirrors the keys the demo config uses;
a key it does not mirror stops it with the key's name, so the two sides cannot silently differ.

    /usr/bin/python3 bench/peers/torch_epoch.py --data .cache/bench/epoch-data \
        [--config bench/epoch/shapes-unet.yaml] --layout default|cl --reps 5 --threads 2
"""
import json
import os
import random
import shutil
import sys
import tempfile

import numpy as np
import torch
import yaml
from PIL import Image
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import base_parser, emit, layout, set_threads, time_steps  # noqa: E402
from unet import UNet  # noqa: E402

IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])


def unsupported(key, value):
    sys.exit(f"torch_epoch.py does not mirror {key}={json.dumps(value)}; extend it (or the config) so both runners do the same work")


def read_config(path):
    with open(path) as f:
        cfg = yaml.safe_load(f) or {}
    d, m = cfg.get("data", {}), cfg.get("model", {})
    opt, sched, train = cfg.get("optimizer", {}), cfg.get("scheduler", {}), cfg.get("train", {})
    loss = cfg.get("loss", {"terms": [{"name": "ce"}]})
    if m.get("name", "unet") != "unet":
        unsupported("model.name", m.get("name"))
    o = m.get("options", {})
    for k, v in o.items():
        if (k, v) not in (("depth", 4), ("upsampling", "transposed"), ("batchNorm", True)) and k != "baseWidth":
            unsupported(f"model.options.{k}", v)
    for k in ("crop", "labelMap", "maskMode", "numClasses"):
        if k in d:
            unsupported(f"data.{k}", d[k])
    terms = loss.get("terms", [])
    if len(terms) != 1 or terms[0].get("name") != "ce" or set(terms[0]) - {"name", "weight", "classWeights", "labelSmoothing"}:
        unsupported("loss.terms", terms)
    if isinstance(terms[0].get("classWeights"), str):
        unsupported("loss.terms[0].classWeights", terms[0]["classWeights"])
    if loss.get("output", "softmax") != "softmax":
        unsupported("loss.output", loss["output"])
    for k in ("gradAccum", "iterations"):
        if k in train and not (k == "gradAccum" and train[k] == 1):
            unsupported(f"train.{k}", train[k])
    if cfg.get("ema", {}).get("enabled"):
        unsupported("ema.enabled", True)
    norm = d.get("normalize")  # None: each normalize step keeps its own mean/std
    if norm == "dataset":
        unsupported("data.normalize", norm)
    return cfg, d, o, opt, sched, train, terms[0], norm


def pipeline(steps, norm):
    """The config's steps as (flips, mean, std); anything else is not mirrored."""
    flips, mean, std = [], None, None
    for i, s in enumerate(steps):
        if s["name"] in ("horizontalFlip", "verticalFlip"):
            flips.append((s["name"] == "horizontalFlip", s.get("p", 0.5)))
        elif s["name"] == "normalize":
            mean, std = s.get("mean", IMAGENET[0]), s.get("std", IMAGENET[1])
        else:
            unsupported(f"transform step {i}", s)
    if mean is not None and norm is not None:  # data.normalize sets every normalize step
        mean, std = IMAGENET if norm == "imagenet" else (norm["mean"], norm["std"])
    return flips, mean, std


class SplitFolder(torch.utils.data.Dataset):
    """<root>/<part>/images/x.png with <root>/<part>/masks/x.png; flips, to float, normalise."""

    def __init__(self, root, part, flips, mean, std):
        names = sorted(os.listdir(os.path.join(root, part, "images")))
        self.items = [(os.path.join(root, part, "images", n), os.path.join(root, part, "masks", n)) for n in names]
        self.flips = flips
        self.mean = torch.tensor(mean).view(3, 1, 1) if mean is not None else None
        self.std = torch.tensor(std).view(3, 1, 1) if std is not None else None

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        image = np.asarray(Image.open(self.items[i][0]).convert("RGB"))  # (H, W, 3) uint8
        mask = np.asarray(Image.open(self.items[i][1]))  # (H, W) train ids
        for horizontal, p in self.flips:
            if random.random() < p:
                image = image[:, ::-1] if horizontal else image[::-1]
                mask = mask[:, ::-1] if horizontal else mask[::-1]
        x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255)
        if self.mean is not None:
            x = (x - self.mean) / self.std
        return x, torch.from_numpy(np.ascontiguousarray(mask)).long()


def worker_seed(worker_id):
    random.seed(torch.initial_seed() % 2**32)


def one_epoch(cfg, d, o, opt_cfg, sched_cfg, train, ce, norm, data, fmt, out):
    """Everything `segkit train` does for one epoch, from listing the files to saving the weights."""
    torch.manual_seed(cfg.get("seed", 0))
    random.seed(cfg.get("seed", 0))
    with open(os.path.join(data, "labelmap.json")) as f:
        classes = len(json.load(f)["classes"])
    workers = d.get("numWorkers", 0)
    tr = SplitFolder(data, d.get("trainPart", "train"), *pipeline(d.get("transforms", [{"name": "normalize"}]), norm))
    va = SplitFolder(data, d.get("valPart", "val"), *pipeline(d.get("valTransforms", [{"name": "normalize"}]), norm))
    bs = d.get("batchSize", 8)
    tl = torch.utils.data.DataLoader(tr, batch_size=bs, shuffle=True, num_workers=workers, drop_last=d.get("dropLast", False), worker_init_fn=worker_seed)
    vl = torch.utils.data.DataLoader(va, batch_size=d.get("valBatchSize", bs), num_workers=workers)

    model = UNet(3, classes, o.get("baseWidth", 32)).to(memory_format=fmt)
    weights = torch.tensor(ce["classWeights"], dtype=torch.float32) if "classWeights" in ce else None
    loss_fn = nn.CrossEntropyLoss(weight=weights, ignore_index=255, label_smoothing=ce.get("labelSmoothing", 0.0))
    name, lr, wd = opt_cfg.get("name", "adamw"), opt_cfg.get("lr", 1e-3), opt_cfg.get("weightDecay", 0)
    betas = tuple(opt_cfg.get("betas", (0.9, 0.999)))
    if name == "adamw":
        opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=betas, weight_decay=wd)
    elif name == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr, betas=betas, weight_decay=wd)
    elif name == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=opt_cfg.get("momentum", 0.9), nesterov=opt_cfg.get("nesterov", False), weight_decay=wd)
    else:
        unsupported("optimizer.name", name)
    steps = len(tl)
    sname = sched_cfg.get("name", "none")
    if sched_cfg.get("warmupIters", 0):
        unsupported("scheduler.warmupIters", sched_cfg["warmupIters"])
    if sname == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=sched_cfg.get("maxLr", lr), total_steps=steps, pct_start=sched_cfg.get("pctStart", 0.3),
                                                    div_factor=sched_cfg.get("divFactor", 25), final_div_factor=sched_cfg.get("finalDivFactor", 1e4))
    elif sname == "none":
        sched = None
    else:
        unsupported("scheduler.name", sname)
    clip = train.get("gradClip")
    amp = train.get("amp", False)

    model.train()
    seen = 0
    for x, y in tl:
        x = x.contiguous(memory_format=fmt)
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
            loss = loss_fn(model(x), y)
        loss.backward()
        if clip:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        if sched is not None:
            sched.step()
        seen += x.shape[0]

    model.eval()
    cm = torch.zeros(classes * classes, dtype=torch.int64)
    with torch.inference_mode():
        for x, y in vl:
            pred = model(x.contiguous(memory_format=fmt)).argmax(1)
            k = y != 255
            cm += torch.bincount(classes * y[k] + pred[k], minlength=classes * classes)
    cm = cm.view(classes, classes).double()
    iou = cm.diag() / (cm.sum(0) + cm.sum(1) - cm.diag())
    miou = iou[~iou.isnan()].mean().item()

    # segkit writes a resumable checkpoint (weights + optimizer state) and best/last weights
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict() if sched else None}, os.path.join(out, "checkpoint.pt"))
    torch.save(model.state_dict(), os.path.join(out, "best.pt"))
    torch.save(model.state_dict(), os.path.join(out, "last.pt"))
    return seen, miou


def main():
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--data", default=".cache/bench/epoch-data")
    p.add_argument("--config", default="bench/epoch/shapes-unet.yaml")
    p.add_argument("--layout", choices=["default", "cl"], default="default")
    a = p.parse_args()
    set_threads(a.threads)
    if not os.path.isdir(os.path.join(a.data, "train", "images")):
        sys.exit(f"{a.data}/train/images not found; run: node bench/epoch/make_data.mjs --out {a.data}")
    cfg, d, o, opt_cfg, sched_cfg, train, ce, norm = read_config(a.config)
    fmt, runner = layout(a.layout)
    out = tempfile.mkdtemp(prefix="torch-epoch-")
    result = {}

    def step():
        result["images"], result["miou"] = one_epoch(cfg, d, o, opt_cfg, sched_cfg, train, ce, norm, a.data, fmt, out)

    try:
        times = time_steps(step, a.reps, a.warmup, f"{runner} epoch")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    median = sorted(times)[len(times) // 2] if len(times) % 2 else sum(sorted(times)[len(times) // 2 - 1:len(times) // 2 + 1]) / 2
    emit("epoch", runner, 1, times, a.threads, seconds=median, config=a.config, batch_size=d.get("batchSize", 8), workers=d.get("numWorkers", 0),
         train_images=result["images"], val_miou=round(result["miou"], 4), torch_version=torch.__version__)


if __name__ == "__main__":
    main()
