"""Feature-extraction throughput: PyTorch eager vs ONNX Runtime, per encoder at paper width.

For each encoder: clips/s of a forward pass over a (batch, 3, T, 25, 2) batch, eager PyTorch and
the ONNX file written by ``skelzoo.export.export_onnx`` (parity-checked) run with ONNX Runtime,
on CPU (and CUDA when both torch and onnxruntime-gpu see a GPU). FLOPs per clip are counted
with ``torch.utils.flop_counter.FlopCounterMode`` on the eager model (multiply-add = 2 FLOPs;
convolutions and matrix products only, the ops that dominate), and achieved GFLOP/s is
FLOPs per clip x clips/s.

    OMP_NUM_THREADS=2 python benchmarks/extract_throughput.py            # all encoders, CPU
    python benchmarks/extract_throughput.py --encoders seq --batch 64 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from skelzoo.export.onnx import export_onnx
from skelzoo.export.runtime import OnnxEncoder
from skelzoo.models import create_encoder, list_encoders


def flops_per_clip(model: torch.nn.Module, x: torch.Tensor) -> float:
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        model(x[:1])
    return float(counter.get_total_flops())


def timed(fn, repeats: int) -> float:
    """Median seconds of `fn()` after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_encoder(arch: str, args, tmp: Path) -> list[dict]:
    torch.manual_seed(0)
    model = create_encoder(arch, width=args.width).eval()
    model.input_spec = {"layout": "ntu25", "frames": args.frames, "bodies": 2, "channels": 3}
    x = torch.randn(args.batch, 3, args.frames, 25, 2)
    flops = flops_per_clip(model, x)
    params = sum(p.numel() for p in model.parameters())
    t0 = time.perf_counter()
    report = export_onnx(model, tmp / f"{arch}.onnx", frames=args.frames)
    export_s = time.perf_counter() - t0
    parity = max(p["max_abs_diff"] for p in report["parity"])
    rows = []
    devices = ["cpu"] + (["cuda"] if args.gpu else [])
    for device in devices:
        dev = torch.device(device)
        m = model.to(dev)
        xd = x.to(dev)

        def eager():
            with torch.inference_mode():
                m(xd)
            if dev.type == "cuda":
                torch.cuda.synchronize()

        runner = OnnxEncoder(tmp / f"{arch}.onnx", device=device, threads=args.threads if device == "cpu" else None)
        xn = x.numpy()
        results = {"eager": timed(eager, args.repeats), "onnxruntime": timed(lambda: runner(xn), args.repeats)}
        for backend, sec in results.items():
            cps = args.batch / sec
            rows.append({
                "encoder": arch, "device": device, "backend": backend, "batch": args.batch,
                "frames": args.frames, "width": args.width, "params_M": round(params / 1e6, 2),
                "gflop_per_clip": round(flops / 1e9, 3), "clips_per_s": round(cps, 1),
                "gflop_per_s": round(flops * cps / 1e9, 1), "batch_ms": round(sec * 1e3, 1),
                "export_s": round(export_s, 1), "parity_max_abs_diff": parity,
            })
        model.to("cpu")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--encoders", nargs="*", default=list_encoders())
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--width", type=float, default=1.0, help="1.0 = paper size")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())))
    ap.add_argument("--json", type=Path, help="also write the rows to this file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    import onnxruntime as ort

    args.gpu = torch.cuda.is_available() and "CUDAExecutionProvider" in ort.get_available_providers()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for arch in args.encoders:
            print(f"[{arch}] exporting and timing ...", file=sys.stderr, flush=True)
            rows += bench_encoder(arch, args, Path(tmp))
    print(f"torch {torch.__version__}, onnxruntime {ort.__version__}, {args.threads} threads, "
          f"batch {args.batch}, T={args.frames}, width {args.width}")
    head = ("encoder", "device", "backend", "params_M", "gflop_per_clip", "clips_per_s", "gflop_per_s", "batch_ms")
    print(" | ".join(head))
    for r in rows:
        print(" | ".join(str(r[k]) for k in head))
    for arch in args.encoders:
        for device in ("cpu", "cuda"):
            by = {r["backend"]: r["clips_per_s"] for r in rows if r["encoder"] == arch and r["device"] == device}
            if by:
                print(f"{arch} {device}: ONNX Runtime / eager = {by['onnxruntime'] / by['eager']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
