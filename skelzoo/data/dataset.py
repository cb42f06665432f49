"""`SkeletonDataset`: one split of clips, labels and valid-frame counts, data memory-mapped.

`open_dataset(path, split)` accepts a benchmark directory (skelzoo's array format or a third-party
ST-GCN folder), a `*_data_joint.npy` file, or a pyskl annotation pickle.

Validation on open is cheap on purpose: shapes, label count and range, joint count against the
layout are checked exactly; NaN/inf is checked on up to 64 evenly spaced clips (reading all of a
multi-GB memmap would defeat the memmap). `skelzoo data prepare` checks every clip it writes, so
prepared sets are fully clean; `validate(full=True)` scans everything for third-party arrays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from skelzoo.errors import SkelzooError
from skelzoo.io.arrays import ArraySplit, read_array_split, read_pyskl
from skelzoo.layouts import check_joint_count, get_layout

_SAMPLE = 64


def _frames_from_data(data: np.ndarray) -> np.ndarray:
    """Valid frames = last frame with any non-zero value + 1 (read clip by clip: data may be a memmap)."""
    out = np.zeros(len(data), dtype=np.int64)
    for i in range(len(data)):
        moving = np.flatnonzero(np.abs(np.asarray(data[i])).sum(axis=(0, 2, 3)) > 0)
        out[i] = moving[-1] + 1 if moving.size else 1
    return out


class SkeletonDataset:
    """Clips (N, C, T, V, M), labels int64 (N,), valid frames int64 (N,), names, and metadata."""

    def __init__(
        self,
        data: np.ndarray,
        labels: np.ndarray,
        num_frames: np.ndarray | None = None,
        names: Sequence[str] | None = None,
        meta: dict[str, Any] | None = None,
        source: str = "<arrays>",
        validate: bool = True,
    ):
        self.data = data
        self.labels = np.asarray(labels, dtype=np.int64)
        self.names = list(names) if names is not None else [str(i) for i in range(len(self.labels))]
        self.source = source
        meta = dict(meta or {})
        meta["layout"] = meta.get("layout") or "ntu25"
        if not meta.get("num_classes"):
            meta["num_classes"] = int(self.labels.max()) + 1 if self.labels.size else 0
        meta.setdefault("class_names", [f"class {i}" for i in range(meta["num_classes"])])
        self.meta = meta
        if validate:
            self._check_shapes()
        self.num_frames = (
            np.asarray(num_frames, dtype=np.int64) if num_frames is not None else _frames_from_data(data)
        )
        if validate:
            self._check_frames()
            self.validate(full=False)

    # ------------------------------------------------------------------ properties
    @property
    def layout(self) -> str:
        return self.meta["layout"]

    @property
    def num_classes(self) -> int:
        return int(self.meta["num_classes"])

    @property
    def class_names(self) -> list[str]:
        return list(self.meta["class_names"])

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int, int]:
        """(clip float32 (C, T, V, M) copy, valid frames, label)."""
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} clips")
        return np.array(self.data[i], dtype=np.float32), int(self.num_frames[i]), int(self.labels[i])

    def get_batch(self, indices: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Stacked (data (B, C, T, V, M) float32, num_frames (B,), labels (B,)) for the trainer.

        Reads in sorted order (sequential pages of the memmap) and restores the requested order.
        """
        idx = np.asarray(indices, dtype=np.int64)
        order = np.argsort(idx, kind="stable")
        data = np.empty((idx.size, *self.data.shape[1:]), dtype=np.float32)
        data[order] = self.data[idx[order]]
        return data, self.num_frames[idx].copy(), self.labels[idx].copy()

    def subset(self, indices: Sequence[int] | np.ndarray) -> "SkeletonDataset":
        """A view on some clips (the data stays memory-mapped; the index is kept, not the arrays)."""
        idx = np.asarray(indices, dtype=np.int64)
        sub = SkeletonDataset.__new__(SkeletonDataset)
        sub.data = _IndexedArray(self.data, idx)
        sub.labels = self.labels[idx]
        sub.num_frames = self.num_frames[idx]
        sub.names = [self.names[i] for i in idx]
        sub.meta = dict(self.meta)
        sub.source = f"{self.source} (subset of {idx.size})"
        return sub

    def label_fraction(self, fraction: float, seed: int = 0, balanced: bool = True) -> "SkeletonDataset":
        """A random `fraction` of the clips for semi-supervised protocols, deterministic per seed.

        Balanced: every class present keeps round(fraction x its count) clips, at least one.
        Otherwise a plain random subset of round(fraction x N) (at least one) clips.
        """
        if not 0 < fraction <= 1:
            raise SkelzooError(f"label fraction {fraction} must be in (0, 1], e.g. 0.01 for 1 %")
        rng = np.random.default_rng(seed)
        if not balanced:
            k = max(1, int(round(fraction * len(self))))
            return self.subset(np.sort(rng.choice(len(self), size=k, replace=False)))
        chosen = []
        for cls in np.unique(self.labels):
            members = np.flatnonzero(self.labels == cls)
            k = max(1, int(round(fraction * members.size)))
            chosen.append(rng.choice(members, size=k, replace=False))
        return self.subset(np.sort(np.concatenate(chosen)))

    # ------------------------------------------------------------------ validation
    def _check_shapes(self) -> None:
        src = self.source
        if self.data.ndim != 5:
            raise SkelzooError(f"{src}: data has shape {tuple(self.data.shape)}, expected 5-D (N, C, T, V, M)")
        if len(self.data) != len(self.labels):
            raise SkelzooError(f"{src}: {len(self.data)} clips but {len(self.labels)} labels; the label file belongs to other data")
        if len(self.names) != len(self.labels):
            raise SkelzooError(f"{src}: {len(self.names)} names but {len(self.labels)} labels")
        if self.data.shape[1] not in (2, 3):
            raise SkelzooError(f"{src}: {self.data.shape[1]} coordinates on axis 1, expected 3 (N, C, T, V, M)")
        get_layout(self.layout)
        check_joint_count(self.data.shape[3], self.layout, src)
        if self.labels.size and self.labels.min() < 0:
            raise SkelzooError(f"{src}: negative label {int(self.labels.min())}; labels must be 0-based class ids")
        if self.labels.size and self.labels.max() >= self.num_classes:
            raise SkelzooError(
                f"{src}: label {int(self.labels.max())} is out of range for {self.num_classes} classes "
                "(labels must be 0-based; 1-based labels need shifting by one)"
            )

    def _check_frames(self) -> None:
        if self.num_frames.shape != self.labels.shape:
            raise SkelzooError(f"{self.source}: {self.num_frames.size} frame counts for {len(self)} clips")
        if self.num_frames.size and (self.num_frames.min() < 1 or self.num_frames.max() > self.data.shape[2]):
            raise SkelzooError(
                f"{self.source}: valid frame counts must be within 1..{self.data.shape[2]}, "
                f"found {int(self.num_frames.min())}..{int(self.num_frames.max())}"
            )

    def validate(self, full: bool = False) -> None:
        """NaN/inf check: on a sample of clips (default) or on all of them."""
        n = len(self)
        if n == 0:
            return
        idx = np.arange(n) if full or n <= _SAMPLE else np.linspace(0, n - 1, _SAMPLE).round().astype(int)
        for i in idx:
            clip = np.asarray(self.data[i])
            if not np.isfinite(clip).all():
                raise SkelzooError(
                    f"{self.source}: clip {i} ({self.names[i]}) holds {int((~np.isfinite(clip)).sum())} "
                    "NaN/inf values; re-create the arrays with missing joints set to 0"
                )

    def summary(self) -> dict[str, Any]:
        return {
            "source": self.source, "clips": len(self), "shape": list(self.shape),
            "layout": self.layout, "num_classes": self.num_classes,
            "classes_present": int(np.unique(self.labels).size),
            "frames": {"min": int(self.num_frames.min()), "mean": float(self.num_frames.mean()),
                       "max": int(self.num_frames.max())} if len(self) else None,
        }


class _IndexedArray:
    """A lazy row subset of a (memory-mapped) array: indexing reads only the rows asked for."""

    def __init__(self, base: np.ndarray, index: np.ndarray):
        self.base, self.index = base, index
        self.shape = (index.size, *base.shape[1:])
        self.ndim = len(self.shape)
        self.dtype = base.dtype

    def __len__(self) -> int:
        return self.index.size

    def __getitem__(self, key):
        return self.base[self.index[key]]

    def __array__(self, dtype=None, copy=None):
        out = np.asarray(self.base[self.index])
        return out.astype(dtype) if dtype is not None else out


def _from_split(split: ArraySplit, layout: str | None = None, **kwargs) -> SkeletonDataset:
    meta = dict(split.meta or {})
    if layout is not None:
        meta["layout"] = get_layout(layout).name
    return SkeletonDataset(split.data, split.labels, split.num_frames, split.names, meta, split.source, **kwargs)


def open_dataset(path: str | Path, split: str = "train", validate: bool = True, layout: str | None = None) -> SkeletonDataset:
    """A split of a benchmark directory, a `*_data_joint.npy` file or a pyskl `.pkl` pickle.

    `layout` names the joint layout when the files don't (third-party folders without meta.json
    default to ntu25) or overrides what meta.json says; the joint count is checked against it.
    """
    path = Path(path)
    if not path.exists():
        raise SkelzooError(f"{path}: no such dataset file or directory")
    if path.is_dir():
        if not list(path.glob("*_data_joint.npy")):
            subdirs = sorted(p.name for p in path.iterdir() if p.is_dir() and list(p.glob("*_data_joint.npy")))
            hint = f"; benchmark folders inside: {', '.join(subdirs)} (pass one of them)" if subdirs else ""
            raise SkelzooError(f"{path}: holds no *_data_joint.npy arrays{hint}")
        return _from_split(read_array_split(path, split), layout, validate=validate)
    if path.name.endswith("_data_joint.npy"):
        file_split = path.name[: -len("_data_joint.npy")]
        return _from_split(read_array_split(path.parent, file_split), layout, validate=validate)
    if path.suffix == ".pkl":
        return _from_split(read_pyskl(path, split), layout, validate=validate)
    raise SkelzooError(
        f"{path}: not a dataset; pass a benchmark directory, a *_data_joint.npy file or a pyskl .pkl"
    )
