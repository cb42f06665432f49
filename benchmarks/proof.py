"""Proof that the method works here: the paper's ablations, at CPU scale, on data we have.

For each benchmark (cross-subject and cross-view) and each seed, this script trains and evaluates:

=======================  =================================================================
configuration            what it is (paper)
=======================  =================================================================
random-seq, random-stg   encoders with random weights, no pretraining: the floor
intra-seq-noaug          single-representation MoCo on seq, no augmentation (Table 5, row 1)
intra-seq-aug            single-representation MoCo on seq, temporal crop + pose + joint
                         jitter (Table 5, last row)
inter-seq+stg:seq        inter-skeleton contrast seq+stg, evaluated with the seq encoder
inter-seq+stg:stg        the same runs, evaluated with the stg encoder (Table 6)
=======================  =================================================================

and reports 1-NN retrieval (cosine, train split = gallery) and the linear probe, mean ± std over
seeds. Everything goes through skelzoo's public API (``skelzoo.train.load_recipe`` / ``train``,
``skelzoo.checkpoint.load_encoder``, ``skelzoo.models.create_encoder``, ``skelzoo.eval``), i.e. the
code a user would run.

CPU budget. The defaults are chosen so one full run (2 benchmarks x 3 seeds x 3 pretrainings) stays
near 30 minutes on 2 cores: width 1/16 of the paper's (GRU 64 units, 128-d feature; AGCN 4..16
channels, 16-d feature), 32-frame crops instead of 64 (halves both encoders' cost), 8 pretraining
epochs, queue 256. The linear probe keeps the paper's schedule (80 epochs, SGD lr 0.1, momentum 0.9,
batch 64, lr x 0.1 at 50 and 70) but, by default, on fixed centre-crop features (``--probe fixed``)
instead of a fresh random crop every epoch, because re-encoding the training set 80 times is what
costs; ``--probe crop`` runs the exact protocol (``skelzoo.eval.protocols.run_linear``).

Examples::

    python benchmarks/proof.py                    # synthetic set, 3 seeds
    python benchmarks/proof.py --data mocap       # real mocap (DeepMimic clips in the pybullet wheel)
    python benchmarks/proof.py --data /path/to/dataset_root_or_benchmark_dir
    python benchmarks/proof.py --smoke            # seconds: tiny data, 1 seed, 1 epoch
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from skelzoo.checkpoint import load_encoder
from skelzoo.data.synth import default_synth_dir, raw_knn_baseline
from skelzoo.device import machine_info
from skelzoo.eval.features import extract_features
from skelzoo.eval.knn import knn_classify
from skelzoo.eval.linear import ProbeConfig, train_linear_probe
from skelzoo.eval.protocols import EvalOptions, run_linear
from skelzoo.eval.splits import open_split
from skelzoo.models import create_encoder
from skelzoo.train import load_recipe, train

RESULTS_DIR = Path(__file__).resolve().parent / "results"
BENCHMARKS = ("xsub", "xview")

# name -> (what trains, which encoder is evaluated, augment on?)
CONFIGS: dict[str, dict] = {
    "random-seq": {"train": None, "eval": "seq", "label": "random init (seq)"},
    "random-stg": {"train": None, "eval": "stg", "label": "random init (stg)"},
    "intra-seq-noaug": {"train": ("seq",), "aug": False, "eval": "seq", "label": "intra seq, no augmentation"},
    "intra-seq-aug": {"train": ("seq",), "aug": True, "eval": "seq", "label": "intra seq, all augmentations"},
    "inter-seq+stg:seq": {"train": ("seq", "stg"), "aug": True, "eval": "seq", "label": "inter seq+stg -> seq"},
    "inter-seq+stg:stg": {"train": ("seq", "stg"), "aug": True, "eval": "stg", "label": "inter seq+stg -> stg"},
}
METRICS = ("knn1", "linear")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="The paper's ablations (random init / intra MoCo with and without augmentation / "
        "inter seq+stg) on the synthetic set or the real-mocap set: 1-NN and linear probe, mean ± std "
        "over seeds.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--data", default="synth",
                   help="'synth' (the embedded synthetic set), 'mocap' (DeepMimic mocap from the pybullet "
                   "wheel, needs the mocap extra), or a directory holding xsub/ and xview/ (or one benchmark dir)")
    p.add_argument("--benchmarks", default="xsub,xview", help="comma-separated benchmarks to run")
    p.add_argument("--seeds", type=int, default=3, help="seeds per configuration (0, 1, ...)")
    p.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated subset of: " + ", ".join(CONFIGS))
    p.add_argument("--width", type=float, default=0.0625, help="encoder width (1.0 = paper size)")
    p.add_argument("--epochs", type=int, default=8, help="pretraining epochs")
    p.add_argument("--frames", type=int, default=32, help="frames per crop, training and evaluation (paper: 64)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--queue", type=int, default=256, help="MoCo queue size (capped at the training set size)")
    p.add_argument("--lr", type=float, default=0.01, help="pretraining learning rate (paper: 0.01)")
    p.add_argument("--probe", choices=("fixed", "crop"), default="fixed",
                   help="linear probe on fixed centre-crop features (cheap) or fresh random crops each epoch (the protocol)")
    p.add_argument("--probe-epochs", type=int, default=80, help="linear-probe epochs (milestones scale with it)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--work", default=None, help="directory for training runs (default: a temporary one, removed)")
    p.add_argument("--out", default=None, help="JSON output (default: benchmarks/results/proof-<data>.json)")
    p.add_argument("--smoke", action="store_true",
                   help="seconds-long check: tiny synthetic set, 1 seed, 1 epoch, tiny width, 16 frames")
    p.add_argument("--quiet", action="store_true", help="no per-step progress lines on stderr")
    p.add_argument("--table", metavar="JSON", nargs="+", default=None,
                   help="print the tables of stored result files (benchmarks/results/proof-*.json) and exit")
    return p.parse_args(argv)


# ------------------------------------------------------------------------------------------ data


def resolve_data(spec: str, smoke: bool, cache_dir: Path | None = None) -> tuple[str, Path]:
    """(name for the output file, directory holding the benchmark dirs)."""
    if smoke and spec == "synth":
        from skelzoo.data.synth import write_synthetic

        root = Path(tempfile.mkdtemp(prefix="skelzoo-proof-smoke-", dir=cache_dir))
        return "smoke", write_synthetic(root, seed=0, size="tiny")
    if spec == "synth":
        return "synth", default_synth_dir()
    if spec == "mocap":
        from skelzoo.data.mocap import write_mocap_benchmark
        from skelzoo.data.synth import cache_root

        root = cache_root() / "mocap-seed0"
        if not all((root / b / "meta.json").is_file() for b in BENCHMARKS):
            write_mocap_benchmark(root, seed=0)
        return "mocap", root
    path = Path(spec).expanduser()
    if not path.is_dir():
        raise SystemExit(f"error: --data {spec}: not 'synth', 'mocap' or a directory.")
    return path.name, path


def bench_dir(root: Path, bench: str) -> Path:
    if (root / bench).is_dir():
        return root / bench
    if list(root.glob("*_data_joint.npy")):
        return root  # the user gave one benchmark directory
    raise SystemExit(f"error: {root} has no {bench}/ benchmark directory.")


# ------------------------------------------------------------------------------------- training


def pretrain(bdir: Path, meta: dict, encoders: tuple[str, ...], aug: bool, seed: int, args, work: Path,
             n_train: int) -> Path:
    """One pretraining run through the public trainer; returns its checkpoint."""
    queue = min(args.queue, (n_train // args.batch_size) * args.batch_size or n_train)
    run_name = f"{bdir.name}-{'+'.join(encoders)}-{'aug' if aug else 'noaug'}-s{seed}"
    overrides = [
        f"data.path={bdir}", f"data.dataset={meta.get('dataset', 'synth')}", f"data.benchmark={bdir.name}",
        f"model.encoders={','.join(encoders)}", f"model.width={args.width}",
        f"epochs={args.epochs}", f"batch_size={args.batch_size}", f"seed={seed}",
        f"moco.queue_size={queue}", f"optim.lr={args.lr}",
        # the paper drops the lr at ~78 % of the schedule (350 of 450 epochs)
        f"optim.milestones={[max(1, round(0.78 * args.epochs))] if args.epochs > 1 else []}",
        f"augment.frames={args.frames}", f"augment.spatial={str(aug).lower()}", f"augment.temporal={str(aug).lower()}",
        f"out={work}", f"run_name={run_name}", "device=cpu", "save_every=0", "knn_every=0",
        "progress=false", f"log_every={10**6}",
    ]
    run_dir = train(load_recipe("synth-seq-stg", overrides))
    return run_dir / "checkpoint.pt"


# ------------------------------------------------------------------------------------ evaluation


def evaluate(enc: torch.nn.Module, train_split, test_split, args) -> dict[str, float]:
    """1-NN top-1 and linear-probe top-1 (final epoch), in percent."""
    feats = {}
    for name, s in (("train", train_split), ("test", test_split)):
        feats[name] = extract_features(enc, s.data, s.num_frames, labels=s.labels, device="cpu",
                                       out_frames=args.frames, cache=False, source=s.name)
    pred = knn_classify(feats["test"], feats["train"], train_split.labels, ks=1)[1]
    out = {"knn1": float((pred == test_split.labels).mean() * 100)}
    n_classes = int(train_split.num_classes)
    probe = ProbeConfig(epochs=args.probe_epochs)
    if args.probe == "fixed":
        res = train_linear_probe(feats["train"], train_split.labels, feats["test"], test_split.labels, n_classes,
                                 probe, device="cpu")
        out["linear"] = float(res.top1)
    else:
        outcome = run_linear(enc, train_split, test_split, EvalOptions(device="cpu", cache=False, probe=probe),
                             args.frames)
        out["linear"] = float(outcome.metrics["top1"])
    return out


def summarise(values: list[float]) -> dict[str, float]:
    """Mean and sample std (ddof=1; 0 for a single seed)."""
    a = np.asarray(values, dtype=np.float64)
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if len(a) > 1 else 0.0}


# ------------------------------------------------------------------------------------------ main


def log(args, msg: str) -> None:
    if not args.quiet:
        print(msg, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> dict:
    if args.smoke:
        args.seeds, args.epochs, args.width, args.frames = 1, 1, 0.03125, 16
        args.probe_epochs, args.queue, args.batch_size = min(args.probe_epochs, 3), 32, 32
    threads_before = torch.get_num_threads()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        return _run(args)
    finally:
        torch.set_num_threads(threads_before)  # main() may be called in-process (tests)


def _run(args: argparse.Namespace) -> dict:
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    for c in configs:
        if c not in CONFIGS:
            raise SystemExit(f"error: unknown configuration {c!r}; choose from {', '.join(CONFIGS)}.")
    benches = [b.strip() for b in args.benchmarks.split(",") if b.strip()]
    tmp_root = None
    if args.work:
        work = Path(args.work)
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp_root = tempfile.TemporaryDirectory(prefix="skelzoo-proof-")
        work = Path(tmp_root.name)
    data_name, root = resolve_data(args.data, args.smoke, cache_dir=work)
    t_start = time.perf_counter()
    doc: dict = {
        "benchmark": "proof", "data": data_name, "data_dir": str(root),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "python benchmarks/proof.py " + " ".join(sys.argv[1:]) if __name__ == "__main__" else None,
        "settings": {"width": args.width, "epochs": args.epochs, "frames": args.frames, "batch_size": args.batch_size,
                     "queue": args.queue, "lr": args.lr, "lr_drop_at": max(1, round(0.78 * args.epochs)) if args.epochs > 1 else None,
                     "seeds": args.seeds, "probe": args.probe, "probe_epochs": args.probe_epochs,
                     "probe_milestones": list(ProbeConfig(epochs=args.probe_epochs).resolved_milestones()),
                     "knn": "1-NN, cosine, train split = gallery, centre 95 % crop",
                     "std": "sample std over seeds (ddof=1)", "smoke": args.smoke,
                     "work": str(work) if args.work else None},
        "machine": machine_info(), "configs": {c: CONFIGS[c]["label"] for c in configs},
        "raw_joint_knn1": {}, "results": {}, "per_seed": {}, "timings_s": {},
    }
    try:
        for bench in benches:
            bdir = bench_dir(root, bench)
            train_split, test_split = open_split(bdir, "train"), open_split(bdir, "val")
            meta = dict(train_split.meta)
            doc["raw_joint_knn1"][bench] = raw_knn_baseline(bdir)["knn1_top1"]
            per_seed: dict[str, dict[str, list[float]]] = {c: {m: [] for m in METRICS} for c in configs}
            timings: dict[str, float] = {}
            for seed in range(args.seeds):
                ckpts: dict[tuple, Path] = {}
                for c in configs:
                    spec = CONFIGS[c]
                    t0 = time.perf_counter()
                    if spec["train"] is None:
                        torch.manual_seed(seed)
                        enc = create_encoder(spec["eval"], width=args.width, layout=train_split.layout,
                                             num_bodies=train_split.data.shape[-1], in_channels=train_split.data.shape[1])
                        enc.eval()
                    else:
                        key = (spec["train"], spec["aug"])
                        if key not in ckpts:
                            log(args, f"[{data_name} {bench} seed {seed}] pretraining {'+'.join(spec['train'])} "
                                      f"({'aug' if spec['aug'] else 'no aug'}), {args.epochs} epochs")
                            ckpts[key] = pretrain(bdir, meta, spec["train"], spec["aug"], seed, args, work, len(train_split))
                            timings[f"pretrain {'+'.join(spec['train'])} {'aug' if spec['aug'] else 'noaug'}"] = \
                                timings.get(f"pretrain {'+'.join(spec['train'])} {'aug' if spec['aug'] else 'noaug'}", 0.0) + time.perf_counter() - t0
                        enc = load_encoder(ckpts[key], spec["eval"])
                    t1 = time.perf_counter()
                    scores = evaluate(enc, train_split, test_split, args)
                    timings[f"eval {c}"] = timings.get(f"eval {c}", 0.0) + time.perf_counter() - t1
                    for m in METRICS:
                        per_seed[c][m].append(scores[m])
                    log(args, f"[{data_name} {bench} seed {seed}] {c:<18} 1-NN {scores['knn1']:6.2f}  "
                              f"linear {scores['linear']:6.2f}  ({time.perf_counter() - t0:.0f}s)")
                doc["per_seed"][bench] = per_seed
                doc["results"][bench] = {c: {m: summarise(v) for m, v in per_seed[c].items()} for c in configs}
                doc["timings_s"][bench] = {k: round(v, 1) for k, v in timings.items()}
                doc["seeds_done"] = {**doc.get("seeds_done", {}), bench: seed + 1}
                if getattr(args, "partial_out", None):  # a long run leaves usable numbers behind after every seed
                    Path(args.partial_out).write_text(json.dumps({**doc, "partial": True}, indent=1) + "\n")
    finally:
        if tmp_root is not None:
            tmp_root.cleanup()
    doc["wall_s"] = round(time.perf_counter() - t_start, 1)
    return doc


def table(doc: dict) -> str:
    """The printed report: one table per benchmark, mean ± std over seeds."""
    s = doc["settings"]
    lines = [
        f"proof on {doc['data']} ({doc['data_dir']}): width {s['width']}, {s['epochs']} pretraining epochs, "
        f"{s['frames']} frames, queue {s['queue']}, lr {s['lr']}, {s['seeds']} seed(s); linear probe "
        f"{s['probe_epochs']} epochs on {'fixed centre-crop features' if s['probe'] == 'fixed' else 'random crops'}; "
        f"top-1 %, mean ± std (ddof=1)",
    ]
    for bench, res in doc["results"].items():
        lines += ["", f"{doc['data']} {bench}   (raw-joint 1-NN: {doc['raw_joint_knn1'][bench]:.1f})",
                  f"| {'configuration':<30} | {'1-NN':>13} | {'linear':>13} |",
                  f"| {'-' * 30} | {'-' * 13} | {'-' * 13} |"]
        for c, m in res.items():
            cells = [f"{m[k]['mean']:6.2f} ± {m[k]['std']:4.2f}" for k in METRICS]
            lines.append(f"| {doc['configs'][c]:<30} | {cells[0]:>13} | {cells[1]:>13} |")
    lines += ["", "checks (mean over seeds; 1-NN / linear; 'within noise': difference <= the larger seed std):"]
    for bench, res in doc["results"].items():
        for claim, ok in claims(res).items():
            lines.append(f"  {bench}: {claim}: {ok}")
    lines.append(f"wall time {doc['wall_s']:.0f} s on {doc['machine']['cores']} cores "
                 f"({doc['machine']['threads']} torch threads, load average at start {doc['machine'].get('load_avg', doc['machine'].get('load_avg_at_start'))})")
    return "\n".join(lines)


def claims(res: dict) -> dict[str, str]:
    """The paper's expected ordering, checked on the means (reported, never asserted).

    A difference no larger than the larger of the two seed std's is called "within noise"."""
    def check(a, b, label, strict):
        if a not in res or b not in res:
            return None
        parts = []
        for m in METRICS:
            x, y = res[a][m]["mean"], res[b][m]["mean"]
            noise = max(res[a][m]["std"], res[b][m]["std"])
            if noise > 0 and abs(x - y) <= noise:
                verdict = "within noise"
            elif x > y or (x == y and not strict):
                verdict = "holds"
            else:
                verdict = "does NOT hold"
            parts.append(f"{x:.1f} vs {y:.1f} {verdict}")
        return f"{label}: " + "; ".join(parts)

    out = {}
    for key, (a, b, label, strict) in {
        "pretrained > random (seq)": ("intra-seq-aug", "random-seq", "intra-aug vs random", True),
        "pretrained > random (stg)": ("inter-seq+stg:stg", "random-stg", "inter->stg vs random", True),
        "augmentation > none": ("intra-seq-aug", "intra-seq-noaug", "aug vs noaug", True),
        "inter >= intra (seq)": ("inter-seq+stg:seq", "intra-seq-aug", "inter->seq vs intra-aug", False),
    }.items():
        r = check(a, b, label, strict)
        if r is not None:
            out[key] = r
    return out


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.table:
        for i, path in enumerate(args.table):
            doc = json.loads(Path(path).read_text())
            print(("\n" if i else "") + f"from {path}:\n" + table(doc))
        return doc
    out = Path(args.out) if args.out else None
    if out is None and args.data in ("synth", "mocap"):
        out = RESULTS_DIR / f"proof-{'smoke' if args.smoke else args.data}.json"
    args.partial_out = str(out.with_suffix(".partial.json")) if out is not None else None
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
    doc = run(args)
    if args.partial_out:
        Path(args.partial_out).unlink(missing_ok=True)
    if doc["command"] is None:
        doc["command"] = "python benchmarks/proof.py " + " ".join(argv or [])
    text = table(doc)
    doc["table"] = text
    out = out or RESULTS_DIR / f"proof-{doc['data']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print(text)
    print(f"\nwrote {out}")
    return doc


if __name__ == "__main__":
    main()
