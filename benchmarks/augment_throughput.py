"""Augmentation throughput: skelzoo's batched path vs a per-sample numpy implementation.

Both implement the same ISC augmentation (temporal crop-resize to 64 frames, then shear or joint
jitter 50/50, two views per clip) on batches of 64 clips of T=300 input frames.

    python benchmarks/augment_throughput.py [--batch 64] [--repeats 5] [--device cpu]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from skelzoo.augment import isc_views


def numpy_view(clip: np.ndarray, n: int, rng: np.random.Generator, out: int = 64) -> np.ndarray:
    """One augmented view of one (C, T, V, M) clip, written the straightforward per-sample way."""
    ratio = rng.uniform(0.1, 1.0)
    length = int(np.clip(np.floor(n * ratio), min(out, n), n))
    start = rng.integers(0, n - length + 1)
    crop = clip[:, start : start + length]
    pos = np.linspace(0, length - 1, out)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, length - 1)
    frac = (pos - lo)[None, :, None, None]
    view = crop[:, lo] * (1 - frac) + crop[:, hi] * frac
    if rng.uniform() < 0.5:
        s = np.eye(3) + rng.uniform(-1, 1, (3, 3)) * (1 - np.eye(3))
        return np.einsum("ij,jtvm->itvm", s, view)
    joints = rng.choice(view.shape[2], 15, replace=False)
    r = rng.uniform(-1, 1, (3, 3)) if rng.uniform() < 0.5 else np.zeros((3, 3))
    view = view.copy()
    view[:, :, joints] = np.einsum("ij,jtvm->itvm", r, view[:, :, joints])
    return view


def best_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", default="1,2", help="torch thread counts to measure, comma-separated")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    data = rng.standard_normal((args.batch, 3, args.frames, 25, 2)).astype(np.float32)
    nf = rng.integers(40, args.frames + 1, args.batch)

    def numpy_batch() -> None:
        for i in range(args.batch):
            numpy_view(data[i], int(nf[i]), rng)
            numpy_view(data[i], int(nf[i]), rng)

    # Best of `repeats` batches for both paths: on a shared machine the minimum is the figure that
    # measures the code rather than the neighbours.
    numpy_rate = args.batch / best_time(numpy_batch, args.repeats)

    dev = torch.device(args.device)
    x = torch.from_numpy(data).to(dev)
    frames = torch.from_numpy(nf).to(dev)
    gen = torch.Generator(device=dev).manual_seed(0)

    def batched() -> None:
        isc_views(x, frames, gen)
        if dev.type == "cuda":
            torch.cuda.synchronize()

    print(f"batch {args.batch}, T={args.frames} input, two views per clip, device {dev}, best of {args.repeats} (numpy) / {args.repeats * 4} (torch) batches")
    print(f"per-sample numpy          : {numpy_rate:10.0f} clips/s")
    for threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(threads)
        batched()  # warm-up
        rate = args.batch / best_time(batched, args.repeats * 4)
        print(f"batched skelzoo, {threads} thread{'s' if threads > 1 else ' '}: {rate:10.0f} clips/s   ratio {rate / numpy_rate:5.1f}x  (target >= 20x)")


if __name__ == "__main__":
    main()
