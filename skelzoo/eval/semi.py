"""Fine-tuning an encoder with a linear classifier: the semi-supervised and transfer protocols.

Semi-supervised: fine-tune encoder + classifier on 1 / 5 / 10 / 20 % of the training labels, one
class-balanced subset per seed (every class keeps the same fraction of its clips, at least one),
5 seeds, mean and standard deviation of the final-epoch test top-1.

The paper does not give fine-tuning hyper-parameters; skelzoo's defaults (all options):
SGD momentum 0.9, lr 0.01 for the encoder and 0.1 for the new classifier, weight decay 1e-4,
batch 64, 80 epochs with lr x 0.1 at epochs 50 and 70 (scaled with ``epochs``), training crop =
the linear-probe crop (ratio ~ U[0.5, 1], resized to 64), test crop = the centre 95 %. The
encoder is in train mode while fine-tuning and in eval mode for testing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from skelzoo.augment import OUT_FRAMES, probe_crop
from skelzoo.device import resolve_device
from skelzoo.errors import SkelzooError
from skelzoo.eval.linear import check_labels, read_rows, scaled_milestones
from skelzoo.inference import encode
from skelzoo.progress import progress_bar

DEFAULT_FRACTIONS = (1.0, 5.0, 10.0, 20.0)


def balanced_subset(labels, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of a class-balanced `fraction` (in percent) of `labels`, drawn with `seed`.

    Each class keeps round(fraction/100 * its size) clips, at least one, so no class is left
    without a label. The same (labels, fraction, seed) always gives the same subset.
    """
    y = np.asarray(labels, dtype=np.int64)
    if not 0 < fraction <= 100:
        raise SkelzooError(f"label fraction must be a percentage in (0, 100]; got {fraction}.")
    rng = np.random.default_rng(seed)
    picked = []
    for c in np.unique(y):
        members = np.nonzero(y == c)[0]
        take = max(1, int(round(fraction / 100.0 * len(members))))
        picked.append(rng.permutation(members)[:take])
    return np.sort(np.concatenate(picked))


@dataclass
class FinetuneConfig:
    """Fine-tuning hyper-parameters (see the module docstring for why these)."""

    epochs: int = 80
    lr_encoder: float = 0.01
    lr_head: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    batch_size: int = 64
    milestones: tuple[int, ...] | None = None  # None: (50, 70) scaled to `epochs`
    gamma: float = 0.1
    min_crop: float = 0.5

    def resolved_milestones(self) -> tuple[int, ...]:
        return tuple(self.milestones) if self.milestones is not None else scaled_milestones(self.epochs)

    def settings(self) -> dict:
        return {"epochs": self.epochs, "lr_encoder": self.lr_encoder, "lr_head": self.lr_head, "momentum": self.momentum,
                "weight_decay": self.weight_decay, "batch_size": self.batch_size,
                "milestones": list(self.resolved_milestones()), "gamma": self.gamma,
                "train_crop": f"probe crop, ratio U[{self.min_crop}, 1]", "test_crop": "centre 95%"}


@dataclass
class FinetuneResult:
    top1: float  # final epoch
    predictions: np.ndarray
    train_size: int
    losses: list[float]


def finetune(
    encoder: torch.nn.Module,
    train_data,
    train_frames,
    train_labels,
    test_data,
    test_frames,
    test_labels,
    num_classes: int,
    config: FinetuneConfig | None = None,
    *,
    subset: np.ndarray | None = None,
    seed: int = 0,
    device: str | torch.device = "auto",
    progress: bool = False,
    out_frames: int | None = None,
    eval_batch: int = 256,
) -> FinetuneResult:
    """Fine-tune a copy of `encoder` plus a new linear classifier on the training rows `subset`
    (default: all), then report test top-1. The caller's encoder is left untouched."""
    cfg = config or FinetuneConfig()
    if cfg.epochs < 1:
        raise SkelzooError(f"epochs must be at least 1; got {cfg.epochs}.")
    dev = resolve_device(device)
    if out_frames is None:
        out_frames = int(getattr(encoder, "input_spec", {}).get("frames", OUT_FRAMES))
    y_train = check_labels(train_labels, num_classes, "train split")
    y_test = check_labels(test_labels, num_classes, "test split")
    frames = np.asarray(train_frames, dtype=np.int64)
    rows = np.arange(len(y_train)) if subset is None else np.asarray(subset, dtype=np.int64)
    if len(rows) == 0:
        raise SkelzooError("fine-tuning subset is empty.")

    torch.manual_seed(seed)  # the classifier's initialisation
    model = copy.deepcopy(encoder).to(dev)
    head = torch.nn.Linear(int(model.feature_dim), num_classes).to(dev)
    opt = torch.optim.SGD(
        [{"params": model.parameters(), "lr": cfg.lr_encoder}, {"params": head.parameters(), "lr": cfg.lr_head}],
        momentum=cfg.momentum, weight_decay=cfg.weight_decay,
    )
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(cfg.resolved_milestones()), gamma=cfg.gamma)
    gen_cpu = torch.Generator().manual_seed(seed)
    gen_dev = torch.Generator(device=dev).manual_seed(seed + 1)
    y_dev = torch.as_tensor(y_train, device=dev)
    losses = []
    model.train()
    with progress_bar(cfg.epochs, "fine-tuning", enabled=progress, unit="epochs") as advance:
        for _ in range(cfg.epochs):
            perm = rows[torch.randperm(len(rows), generator=gen_cpu).numpy()]
            total = 0.0
            for s in range(0, len(perm), cfg.batch_size):
                idx = perm[s : s + cfg.batch_size]
                x = torch.from_numpy(read_rows(train_data, idx)).to(dev)
                n = torch.as_tensor(frames[idx], device=dev)
                clip = probe_crop(x, n, gen_dev, min_ratio=cfg.min_crop, out_frames=out_frames)
                loss = F.cross_entropy(head(model(clip)), y_dev[torch.as_tensor(idx, device=dev)])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
            sched.step()
            losses.append(total / len(perm))
            advance(1)
    feats = encode(model, test_data, test_frames, batch_size=eval_batch, device=dev, out_frames=out_frames, source="test split")
    with torch.no_grad():
        pred = head(torch.from_numpy(feats).to(dev)).argmax(1).cpu().numpy()
    return FinetuneResult(top1=float((pred == y_test).mean() * 100), predictions=pred, train_size=len(rows), losses=losses)


def summarise(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0 for a single seed)."""
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 0.0


def semi_supervised(
    encoder: torch.nn.Module,
    train_data,
    train_frames,
    train_labels,
    test_data,
    test_frames,
    test_labels,
    num_classes: int,
    fractions=DEFAULT_FRACTIONS,
    seeds: int = 5,
    config: FinetuneConfig | None = None,
    device: str | torch.device = "auto",
    progress: bool = False,
    subset_fn=None,
) -> dict[float, dict]:
    """Per label fraction: the subset sizes, top-1 per seed, mean and std over `seeds` seeds.

    `subset_fn(fraction, seed) -> indices` overrides :func:`balanced_subset` (e.g. a dataset's own
    ``label_fraction``)."""
    if seeds < 1:
        raise SkelzooError(f"--seeds must be at least 1; got {seeds}.")
    subset_fn = subset_fn or (lambda f, s: balanced_subset(train_labels, f, s))
    out = {}
    for fraction in fractions:
        runs = []
        for seed in range(seeds):
            subset = subset_fn(fraction, seed)
            runs.append(finetune(encoder, train_data, train_frames, train_labels, test_data, test_frames, test_labels,
                                 num_classes, config, subset=subset, seed=seed, device=device, progress=progress))
        tops = [r.top1 for r in runs]
        mean, std = summarise(tops)
        out[fraction] = {"top1_per_seed": tops, "mean": mean, "std": std, "train_sizes": [r.train_size for r in runs]}
    return out
