"""Shared bits of the Python benchmark peers: flags, the timing loop and the JSON result line.

Protocol (the same for every runner, Python or Node): run `warmup` untimed steps, then `reps`
timed steps, and print ONE JSON line on stdout, e.g.
{"workload": "unet-train", "runner": "torch", "images_per_s": 1.3, "median_s": 6.1,
 "reps": 5, "batch": 8, "peak_rss_mb": 900.0, "threads": 2}
Progress and diagnostics go to stderr only.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time


def base_parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--reps", type=int, default=5, help="timed steps; the median is reported")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps before timing")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="intra-op threads")
    return p


def set_threads(threads: int) -> None:
    import torch

    if threads < 1:
        sys.exit(f"--threads must be >= 1, got {threads}")
    torch.set_num_threads(threads)


def time_steps(step, reps: int, warmup: int, label: str) -> list[float]:
    """Run `step()` warmup + reps times; return the durations of the timed ones in seconds."""
    if reps < 1:
        sys.exit(f"--reps must be >= 1, got {reps}")
    for i in range(warmup):
        t0 = time.perf_counter()
        step()
        print(f"[{label}] warm-up {i + 1}/{warmup}: {time.perf_counter() - t0:.3f} s", file=sys.stderr)
    times = []
    for i in range(reps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
        print(f"[{label}] rep {i + 1}/{reps}: {times[-1]:.3f} s", file=sys.stderr)
    return times


def layout(name: str):
    """--layout default|cl: the torch memory format and the runner name ("torch" or "torch-cl")."""
    import torch

    return (torch.channels_last, "torch-cl") if name == "cl" else (torch.contiguous_format, "torch")


def model_step(mode: str, model, x, loss=None, opt=None):
    """The timed step on the fixed batch x. train: zero_grad, loss(model(x)), backward, opt.step();
    infer: eval mode, model(x) under torch.inference_mode()."""
    import torch

    if mode == "train":
        model.train()

        def step():
            opt.zero_grad(set_to_none=True)
            loss(model(x)).backward()
            opt.step()
    else:
        model.eval()

        def step():
            with torch.inference_mode():
                model(x)

    return step


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux: this process's high-water mark, model and data included
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(workload: str, runner: str, batch: int, times: list[float], threads: int, **extra) -> None:
    median = statistics.median(times)
    line = {
        "workload": workload,
        "runner": runner,
        "images_per_s": batch / median,
        "median_s": median,
        "reps": len(times),
        "batch": batch,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "threads": threads,
        "times_s": [round(t, 4) for t in times],
        **extra,
    }
    print(json.dumps(line), flush=True)
