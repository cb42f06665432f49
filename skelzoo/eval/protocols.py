"""The evaluation protocols end to end: a model and a dataset directory in, a results document out.

Each ``run_*`` takes an encoder and the train/test :class:`~skelzoo.eval.splits.Split` and returns an
:class:`Outcome` (metrics named as in :mod:`skelzoo.eval.results`, the settings used, and test
predictions for plots). :func:`evaluate` is the glue the CLI calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from skelzoo.checkpoint import file_sha256
from skelzoo.device import resolve_device
from skelzoo.errors import SkelzooError, unknown
from skelzoo.eval.features import extract_features
from skelzoo.eval.knn import DEFAULT_GALLERY_CHUNK, DEFAULT_QUERY_CHUNK, knn_classify
from skelzoo.eval.linear import CroppedClips, ProbeConfig, train_linear_probe
from skelzoo.eval.results import PROTOCOLS, make_results
from skelzoo.eval.semi import DEFAULT_FRACTIONS, FinetuneConfig, balanced_subset, semi_supervised
from skelzoo.eval.splits import TEST, TRAIN, Split, check_compatible, check_same_classes, open_split, subset_fn
from skelzoo.eval.transfer import transfer


@dataclass
class EvalOptions:
    device: str = "auto"
    batch_size: int = 256
    cache: bool = True
    progress: bool = False
    ks: tuple[int, ...] = (1,)
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    fractions: tuple[float, ...] = DEFAULT_FRACTIONS
    seeds: int | None = None  # None: 5 for semi, 1 for transfer
    query_chunk: int = DEFAULT_QUERY_CHUNK
    gallery_chunk: int = DEFAULT_GALLERY_CHUNK


@dataclass
class Outcome:
    metrics: dict[str, float]
    settings: dict[str, Any]
    y_true: np.ndarray | None = None
    y_pred: np.ndarray | None = None
    test_features: np.ndarray | None = None
    rows: list[tuple[str, str]] = field(default_factory=list)  # (label, value) lines for the table


@dataclass
class LoadedModel:
    encoder: torch.nn.Module
    label: str  # what the user named
    which: str  # the encoder of the pair
    checkpoint_sha256: str | None


def load_for_eval(model: str | None, checkpoint: str | Path | None, encoder: str | None, device: str = "cpu") -> LoadedModel:
    """The encoder named by ``--model`` (zoo name, checkpoint, folder, Hub id) or ``--checkpoint``."""
    if (model is None) == (checkpoint is None):
        raise SkelzooError("give exactly one of --model (zoo name, checkpoint, folder or Hub id) and --checkpoint.")
    dev = resolve_device(device)
    spec = str(model if model is not None else checkpoint)
    if checkpoint is not None:
        from skelzoo.checkpoint import load_encoder

        enc = load_encoder(checkpoint, encoder, device=dev)
    else:
        try:
            from skelzoo.zoo.load import load_model
        except ImportError:  # the zoo is optional for local checkpoints
            from skelzoo.checkpoint import load_encoder as load_model  # type: ignore[assignment]
        enc = load_model(spec, encoder, device=dev)
    sha = file_sha256(spec) if Path(spec).is_file() else getattr(enc, "checkpoint_sha256", None)
    which = encoder or getattr(enc, "arch", "?")
    return LoadedModel(enc.eval(), spec, str(which), sha)


def _features(enc, split: Split, opts: EvalOptions, frames: int) -> np.ndarray:
    return extract_features(enc, split.data, split.num_frames, labels=split.labels, batch_size=opts.batch_size,
                            device=opts.device, progress=opts.progress, out_frames=frames, cache=opts.cache,
                            source=split.name)


def run_knn(enc, train: Split, test: Split, opts: EvalOptions, frames: int) -> Outcome:
    """k-NN classification with cosine similarity: train split = gallery, test split = queries."""
    n_classes = check_same_classes(train, test)
    g = _features(enc, train, opts, frames)
    q = _features(enc, test, opts, frames)
    preds = knn_classify(q, g, train.labels, ks=opts.ks, query_chunk=opts.query_chunk,
                         gallery_chunk=opts.gallery_chunk, device=opts.device, progress=opts.progress)
    metrics = {f"knn{k}_top1": float((p == test.labels).mean() * 100) for k, p in preds.items()}
    rows = [(f"{k}-NN top-1 (%)", f"{metrics[f'knn{k}_top1']:.2f}") for k in sorted(preds)]
    settings = {"ks": list(opts.ks), "similarity": "cosine, L2-normalised", "gallery": train.split, "queries": test.split,
                "ties": "lower gallery index wins; vote ties go to the nearest", "crop": "centre 95%", "classes": n_classes}
    return Outcome(metrics, settings, test.labels, preds[min(preds)], q, rows)


def run_linear(enc, train: Split, test: Split, opts: EvalOptions, frames: int) -> Outcome:
    """Linear probe on the frozen encoder (fresh random crops of training clips every epoch)."""
    n_classes = check_same_classes(train, test)
    q = _features(enc, test, opts, frames)
    dev = resolve_device(opts.device)
    source = CroppedClips(enc, train.data, train.num_frames, dev, min_ratio=opts.probe.min_crop, out_frames=frames)
    res = train_linear_probe(source, train.labels, q, test.labels, n_classes, opts.probe, dev, opts.progress)
    metrics = {"top1": res.top1, "best_epoch_top1": res.best_epoch_top1}
    rows = [("top-1, final epoch (%)", f"{res.top1:.2f}"),
            (f"top-1, best epoch on test ({res.best_epoch}) (%)", f"{res.best_epoch_top1:.2f}")]
    settings = {**opts.probe.settings(), "classes": n_classes, "best_epoch": res.best_epoch,
                "note": "top1 = final epoch (headline); best_epoch_top1 = best test accuracy over epochs, as the reference reported",
                "history": res.history}
    return Outcome(metrics, settings, test.labels, res.predictions, q, rows)


def run_semi(enc, train: Split, test: Split, opts: EvalOptions, frames: int) -> Outcome:
    """Fine-tune on class-balanced label fractions, several seeds each (subsets from the dataset's
    ``label_fraction``)."""
    n_classes = check_same_classes(train, test)
    seeds = opts.seeds or 5
    res = semi_supervised(enc, train.data, train.num_frames, train.labels, test.data, test.num_frames, test.labels,
                          n_classes, opts.fractions, seeds, opts.finetune, opts.device, opts.progress,
                          subset_fn=subset_fn(train))
    metrics, rows, per_seed = {}, [], {}
    for frac, r in res.items():
        tag = f"semi{frac:g}"
        metrics[f"{tag}_top1_mean"] = r["mean"]
        metrics[f"{tag}_top1_std"] = r["std"]
        per_seed[f"{frac:g}%"] = {"top1": r["top1_per_seed"], "labelled_clips": r["train_sizes"]}
        rows.append((f"{frac:g}% labels, top-1 (%), {seeds} seeds", f"{r['mean']:.2f} ± {r['std']:.2f}"))
    settings = {**opts.finetune.settings(), "fractions": [float(f) for f in opts.fractions], "seeds": seeds,
                "subsets": "class-balanced, drawn per seed", "std": "sample std over seeds (ddof=1)",
                "per_seed": per_seed, "classes": n_classes}
    return Outcome(metrics, settings, rows=rows)


def run_transfer(enc, train: Split, test: Split, opts: EvalOptions, frames: int) -> Outcome:
    """Fine-tune the pretrained encoder on all of the target dataset's training labels."""
    n_classes = check_same_classes(train, test)
    seeds = opts.seeds or 1
    res = transfer(enc, train.data, train.num_frames, train.labels, test.data, test.num_frames, test.labels,
                   n_classes, opts.finetune, seeds, opts.device, opts.progress)
    metrics = {"top1": res["mean"], "top1_std": res["std"]}
    rows = [(f"top-1 after fine-tuning on {train.dataset} (%), {seeds} seed(s)", f"{res['mean']:.2f} ± {res['std']:.2f}")]
    settings = {**opts.finetune.settings(), "labels": "100%", "seeds": seeds, "per_seed_top1": res["top1_per_seed"],
                "classes": n_classes}
    return Outcome(metrics, settings, test.labels, res["predictions"], rows=rows)


RUNNERS = {"knn": run_knn, "linear": run_linear, "semi": run_semi, "transfer": run_transfer}
assert set(RUNNERS) == set(PROTOCOLS)


def check_protocol(name: str) -> str:
    if name not in RUNNERS:
        raise unknown("protocol", name, RUNNERS)
    return name


def evaluate(loaded: LoadedModel, data_dir: str | Path, protocol: str, opts: EvalOptions,
             train_split: str = TRAIN, test_split: str = TEST) -> tuple[dict, Outcome, Split]:
    """Run `protocol` for `loaded` on `data_dir`; returns (results document, outcome, test split)."""
    check_protocol(protocol)
    train = open_split(data_dir, train_split)
    test = open_split(data_dir, test_split)
    frames = check_compatible(loaded.encoder, train, f"model {loaded.label}")
    check_compatible(loaded.encoder, test, f"model {loaded.label}")
    out = RUNNERS[protocol](loaded.encoder, train, test, opts, frames)
    settings = {"train_split": train_split, "test_split": test_split, "data_dir": str(data_dir),
                "train_clips": len(train), "test_clips": len(test), "frames": frames, **out.settings}
    doc = make_results(model=loaded.label, checkpoint_sha256=loaded.checkpoint_sha256, encoder=loaded.which,
                       dataset=train.dataset, benchmark=train.benchmark, protocol=protocol, metrics=out.metrics,
                       settings=settings)
    return doc, out, test


__all__ = ["EvalOptions", "Outcome", "LoadedModel", "load_for_eval", "evaluate", "run_knn", "run_linear", "run_semi",
           "run_transfer", "check_protocol", "balanced_subset"]
