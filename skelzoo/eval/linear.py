"""The linear probe: a linear classifier trained on a frozen encoder's features.

Protocol (docs: DESIGN.md, "Evaluation protocols"): encoder frozen and in eval mode, one linear
layer on the feature, SGD lr 0.1, momentum 0.9, no weight decay, batch 64, 80 epochs, lr x 0.1 at
epochs 50 and 70. Training clips get a fresh random temporal crop (ratio ~ U[0.5, 1], resized to 64)
every epoch, test clips the centre crop.

Because the encoder is frozen, a training step only needs the features of its 64 clips, and those
do not depend on the linear layer. So clips are pushed through the encoder in large no-grad
batches (``encode_batch``, default 1024) with their per-sample random crops, and the linear layer
then takes its 64-clip SGD steps over the block: the same maths as cropping and encoding inside
each step, at a fraction of the forward passes' overhead.

The core, :func:`train_linear_probe`, takes either fixed feature tensors (no augmentation; used by
tests and for quick probes on cached features) or a :class:`CroppedClips` source (encoder + data).

Reported: ``top1`` is the **final-epoch** test accuracy (the headline); ``best_epoch_top1`` is the
best test accuracy over epochs, which is what the reference implementation reported. The best-epoch
figure selects on the test set, so it is optimistic; both are always labelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F

from skelzoo.augment import OUT_FRAMES, probe_crop
from skelzoo.device import resolve_device
from skelzoo.errors import SkelzooError
from skelzoo.progress import progress_bar

REFERENCE_EPOCHS = 80
REFERENCE_MILESTONES = (50, 70)


def scaled_milestones(epochs: int, milestones=REFERENCE_MILESTONES, reference_epochs: int = REFERENCE_EPOCHS) -> tuple[int, ...]:
    """The reference milestones moved in proportion to a shorter (or longer) schedule."""
    if epochs == reference_epochs:
        return tuple(milestones)
    return tuple(sorted({max(1, round(m * epochs / reference_epochs)) for m in milestones if round(m * epochs / reference_epochs) < epochs}))


@dataclass
class ProbeConfig:
    """Linear-probe hyper-parameters; defaults are the paper's protocol."""

    epochs: int = REFERENCE_EPOCHS
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 64
    milestones: tuple[int, ...] | None = None  # None: (50, 70) scaled to `epochs`
    gamma: float = 0.1
    min_crop: float = 0.5
    seed: int = 0
    encode_batch: int = 1024

    def resolved_milestones(self) -> tuple[int, ...]:
        return tuple(self.milestones) if self.milestones is not None else scaled_milestones(self.epochs)

    def settings(self) -> dict:
        return {"epochs": self.epochs, "lr": self.lr, "momentum": self.momentum, "weight_decay": self.weight_decay,
                "batch_size": self.batch_size, "milestones": list(self.resolved_milestones()), "gamma": self.gamma,
                "train_crop": f"probe crop, ratio U[{self.min_crop}, 1]", "test_crop": "centre 95%", "seed": self.seed}


class FeatureSource(Protocol):
    def __len__(self) -> int: ...

    def features(self, idx: np.ndarray, gen: torch.Generator) -> torch.Tensor:
        """Features (len(idx), D) on the training device for rows `idx` (a fresh augmentation per call)."""


class FixedFeatures:
    """Precomputed features: the same every epoch (no augmentation)."""

    def __init__(self, feats, device: torch.device):
        self.feats = torch.as_tensor(np.asarray(feats) if not isinstance(feats, torch.Tensor) else feats, dtype=torch.float32).to(device)

    def __len__(self) -> int:
        return len(self.feats)

    def features(self, idx: np.ndarray, gen: torch.Generator) -> torch.Tensor:
        return self.feats[torch.as_tensor(idx, device=self.feats.device)]


def read_rows(data, idx: np.ndarray) -> np.ndarray:
    """``data[idx]`` for a memmap, reading in file order (much faster than random order) and
    handing rows back in the order asked."""
    order = np.argsort(idx, kind="stable")
    rows = np.ascontiguousarray(data[idx[order]], dtype=np.float32)
    out = np.empty_like(rows)
    out[order] = rows
    return out


class CroppedClips:
    """Features of a frozen encoder on freshly probe-cropped clips (eval mode, no grad)."""

    def __init__(self, encoder: torch.nn.Module, data, num_frames, device: torch.device,
                 min_ratio: float = 0.5, out_frames: int = OUT_FRAMES):
        self.encoder = encoder.to(device).eval()
        self.data = data
        self.num_frames = torch.as_tensor(np.asarray(num_frames, dtype=np.int64))
        self.device = device
        self.min_ratio = min_ratio
        self.out_frames = out_frames

    def __len__(self) -> int:
        return len(self.data)

    def features(self, idx: np.ndarray, gen: torch.Generator) -> torch.Tensor:
        x = torch.from_numpy(read_rows(self.data, idx)).to(self.device)
        n = self.num_frames[torch.as_tensor(idx)].to(self.device)
        with torch.no_grad():
            clip = probe_crop(x, n, gen, min_ratio=self.min_ratio, out_frames=self.out_frames)
            return self.encoder(clip).float()


@dataclass
class ProbeResult:
    top1: float  # final epoch, the headline
    best_epoch_top1: float  # best over epochs, chosen on the test set (what the reference reported)
    best_epoch: int
    predictions: np.ndarray  # final-epoch test predictions
    history: list[dict] = field(default_factory=list)  # per epoch: epoch, loss, lr, test_top1


def check_labels(labels, num_classes: int, name: str) -> np.ndarray:
    y = np.asarray(labels, dtype=np.int64)
    if y.ndim != 1 or len(y) == 0:
        raise SkelzooError(f"{name}: no labels (empty split?).")
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= num_classes:
        bad = int(np.nonzero((y < 0) | (y >= num_classes))[0][0])
        raise SkelzooError(
            f"{name}: label {int(y[bad])} (clip {bad}) is outside [0, {num_classes - 1}] for {num_classes} classes. "
            "Labels must be 0-based; check the label file or the dataset's meta.json num_classes."
        )
    return y


@torch.no_grad()
def predict_linear(head: torch.nn.Linear, feats: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    return torch.cat([head(feats[i : i + chunk]).argmax(1) for i in range(0, len(feats), chunk)])


def train_linear_probe(
    train,
    train_labels,
    test_features,
    test_labels,
    num_classes: int,
    config: ProbeConfig | None = None,
    device: str | torch.device = "auto",
    progress: bool = False,
) -> ProbeResult:
    """Train a linear classifier on `train` (a feature array or a :class:`FeatureSource`) and test it
    on fixed `test_features` after every epoch."""
    cfg = config or ProbeConfig()
    dev = resolve_device(device)
    if cfg.epochs < 1:
        raise SkelzooError(f"epochs must be at least 1; got {cfg.epochs}.")
    source = train if hasattr(train, "features") else FixedFeatures(train, dev)
    y_train = torch.as_tensor(check_labels(train_labels, num_classes, "train split"), device=dev)
    y_test = torch.as_tensor(check_labels(test_labels, num_classes, "test split"), device=dev)
    if len(y_train) != len(source):
        raise SkelzooError(f"train split: {len(source)} clips but {len(y_train)} labels.")
    x_test = torch.as_tensor(np.asarray(test_features) if not isinstance(test_features, torch.Tensor) else test_features,
                             dtype=torch.float32).to(dev)
    if x_test.ndim != 2 or len(x_test) != len(y_test):
        raise SkelzooError(f"test split: features {tuple(x_test.shape)} do not match {len(y_test)} labels.")

    torch.manual_seed(cfg.seed)  # the linear layer's initialisation
    gen_cpu = torch.Generator().manual_seed(cfg.seed)
    gen_dev = torch.Generator(device=dev).manual_seed(cfg.seed + 1)
    probe_dim = None
    head = None
    history: list[dict] = []
    best = (-1.0, 0)
    block = max(cfg.batch_size, cfg.encode_batch // cfg.batch_size * cfg.batch_size)
    n = len(source)
    with progress_bar(cfg.epochs, "linear probe", enabled=progress, unit="epochs") as advance:
        for epoch in range(1, cfg.epochs + 1):
            perm = torch.randperm(n, generator=gen_cpu).numpy()
            total, count = 0.0, 0
            for b0 in range(0, n, block):
                idx = perm[b0 : b0 + block]
                feats = source.features(idx, gen_dev)
                if head is None:
                    probe_dim = feats.shape[1]
                    if x_test.shape[1] != probe_dim:
                        raise SkelzooError(f"feature dimensions differ: train {probe_dim}-d, test {x_test.shape[1]}-d.")
                    head = torch.nn.Linear(probe_dim, num_classes).to(dev)
                    opt = torch.optim.SGD(head.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
                    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(cfg.resolved_milestones()), gamma=cfg.gamma)
                labels = y_train[torch.as_tensor(idx, device=dev)]
                for s in range(0, len(idx), cfg.batch_size):
                    loss = F.cross_entropy(head(feats[s : s + cfg.batch_size]), labels[s : s + cfg.batch_size])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * len(labels[s : s + cfg.batch_size])
                    count += len(labels[s : s + cfg.batch_size])
            lr = opt.param_groups[0]["lr"]
            sched.step()
            pred = predict_linear(head, x_test)
            acc = float((pred == y_test).float().mean()) * 100
            history.append({"epoch": epoch, "loss": total / count, "lr": lr, "test_top1": acc})
            if acc > best[0]:
                best = (acc, epoch)
            advance(1)
    return ProbeResult(top1=history[-1]["test_top1"], best_epoch_top1=best[0], best_epoch=best[1],
                       predictions=pred.cpu().numpy(), history=history)
