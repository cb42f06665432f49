"""Training throughput: clips/s of skelzoo's real training step (the trainer's own ``train_step``:
batch to device, both ISC views augmented on the device, query + key encoders, loss, backward,
SGD step, enqueue), for a representation pair at a stated width.

On CPU it reports wall-clock clips/s and, because shared machines are often oversubscribed, the
process CPU time per step too (clips per CPU-second). On CUDA it compares fp32 with bf16 autocast
(and ``--compile`` adds torch.compile runs).

    python benchmarks/train_throughput.py --width 0.0625 --batch 32 --steps 4            # CPU
    python benchmarks/train_throughput.py --device cuda --width 1.0 --batch 64 --steps 20  # GPU
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time

import torch

from skelzoo.train.config import load_recipe
from skelzoo.train.trainer import Trainer


def measure(args, amp: bool, compile_: bool) -> dict:
    out = tempfile.mkdtemp(prefix="skelzoo-bench-")
    cfg = load_recipe("synth-seq-stg", [
        f"model.encoders=[{args.pair}]", f"model.width={args.width}", f"batch_size={args.batch}",
        f"augment.frames={args.frames}", f"moco.queue_size={args.queue or 2 * args.batch}", f"device={args.device}",
        f"amp={'true' if amp else 'false'}", f"compile={'true' if compile_ else 'false'}",
        f"data.synth_size={args.synth_size}", "data.benchmark=xview", f"out={out}", "progress=false",
    ])
    trainer = Trainer(cfg)
    trainer.moco.train()
    data = trainer.train_set
    n = len(data)
    dev = trainer.device

    def batch(i):
        idx = [(i * args.batch + j) % n for j in range(args.batch)]
        x, frames, _ = data.get_batch(idx)
        x, frames = torch.from_numpy(x), torch.from_numpy(frames)
        if dev.type == "cuda":
            x, frames = x.pin_memory(), frames.pin_memory()
        return x, frames

    batches = [batch(i) for i in range(4)]

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    for i in range(args.warmup):
        trainer.train_step(*batches[i % 4])
    sync()
    t0, c0 = time.perf_counter(), time.process_time()
    loss = None
    for i in range(args.steps):
        loss = trainer.train_step(*batches[i % 4])
    sync()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    clips = args.steps * args.batch
    res = {"device": str(dev), "pair": args.pair, "width": args.width, "batch": args.batch,
           "frames": args.frames, "amp_bf16": bool(amp and dev.type == "cuda"), "compile": compile_,
           "steps": args.steps, "clips_per_s": clips / wall, "s_per_step": wall / args.steps,
           "cpu_s_per_step": cpu / args.steps, "loss": float(loss)}
    if dev.type == "cuda":
        res["gpu"] = torch.cuda.get_device_name(dev)
        res["max_mem_gib"] = torch.cuda.max_memory_allocated(dev) / 2**30
    else:
        res["torch_threads"] = torch.get_num_threads()
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pair", default="seq,stg", help="representations, e.g. seq,stg or seq")
    ap.add_argument("--width", type=float, default=0.0625)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--queue", type=int, default=None, help="queue size (default: 2 x batch)")
    ap.add_argument("--synth-size", default="default", help="synthetic set to draw batches from: default or tiny")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (CPU)")
    ap.add_argument("--compile", action="store_true", help="also time torch.compile (CUDA)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    runs = [(True, False), (False, False)] if cuda else [(False, False)]
    if cuda and args.compile:
        runs.append((True, True))
    results = [measure(args, amp, comp) for amp, comp in runs]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        mode = ("bf16 autocast" if r["amp_bf16"] else "fp32") + (" + compile" if r["compile"] else "")
        where = r.get("gpu", f"cpu, {r.get('torch_threads')} threads")
        print(f"{r['pair']:>11} width {r['width']:<6} batch {r['batch']:<4} frames {r['frames']:<3} "
              f"[{where}, {mode}]: {r['clips_per_s']:8.1f} clips/s  ({r['s_per_step']:.3f} s/step, "
              f"{r['cpu_s_per_step']:.3f} CPU-s/step, loss {r['loss']:.3f})", file=sys.stdout)


if __name__ == "__main__":
    main()
