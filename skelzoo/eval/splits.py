"""What the evaluation protocols need from a dataset split, and the checks that the encoder can read it.

A :class:`Split` is read with :func:`skelzoo.data.dataset.open_dataset` (memory-mapped), or built
from loose clip files for ``skelzoo retrieve``. :func:`check_compatible` refuses data that the
encoder was not built for (channels, joints, bodies, layout) before any forward pass, with the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from skelzoo.augment import OUT_FRAMES
from skelzoo.errors import SkelzooError
from skelzoo.layouts import get_layout

TRAIN, TEST = "train", "val"


@dataclass
class Split:
    """One split's arrays (data may be a memmap) and what is known about its classes."""

    name: str  # for messages: "<dir>:<split>" or a clip path
    data: Any  # (N, C, T, V, M)
    num_frames: np.ndarray  # (N,)
    labels: np.ndarray | None  # (N,) 0-based, or None for unlabelled clips
    names: list[str]
    num_classes: int | None = None
    class_names: list[str] | None = None
    layout: str = "ntu25"
    dataset: str = ""
    benchmark: str = ""
    path: str = ""
    split: str = ""
    meta: dict = field(default_factory=dict)
    source: Any = None  # the SkeletonDataset it came from, when it came from one

    def __len__(self) -> int:
        return len(self.data)

    def class_name(self, label: int) -> str:
        if self.class_names and 0 <= label < len(self.class_names):
            return self.class_names[label]
        return str(label)


def open_split(directory: str | Path, split: str) -> Split:
    """A dataset directory's `split` ("train" or "val"), memory-mapped, as a :class:`Split`."""
    from skelzoo.data.dataset import open_dataset

    directory = Path(directory)
    ds = open_dataset(directory, split)
    meta = dict(ds.meta)
    out = Split(
        name=f"{directory}:{split}",
        data=ds.data,
        num_frames=np.asarray(ds.num_frames, dtype=np.int64),
        labels=np.asarray(ds.labels, dtype=np.int64),
        names=list(ds.names),
        num_classes=ds.num_classes,
        class_names=ds.class_names,
        layout=ds.layout,
        dataset=str(meta.get("dataset") or directory.parent.name or directory.name),
        benchmark=str(meta.get("benchmark") or directory.name),
        path=str(directory),
        split=split,
        meta=meta,
        source=ds,
    )
    if len(out) == 0:
        raise SkelzooError(f"{out.name}: the split is empty (0 clips); nothing to evaluate.")
    return out


def subset_fn(split: Split):
    """`(fraction %, seed) -> indices` from the dataset's own ``label_fraction`` (class-balanced)."""
    ds = split.source
    if ds is None or not hasattr(ds, "label_fraction"):
        return None
    position = {name: i for i, name in enumerate(split.names)}

    def fn(fraction: float, seed: int) -> np.ndarray:
        if not 0 < fraction <= 100:
            raise SkelzooError(f"label fraction must be a percentage in (0, 100]; got {fraction}.")
        sub = ds.label_fraction(fraction / 100.0, seed=seed, balanced=True)
        index = getattr(sub.data, "index", None)  # a subset keeps its row index; names are the fallback
        return np.asarray(index if index is not None else [position[n] for n in sub.names], dtype=np.int64)

    return fn


def input_spec(encoder: torch.nn.Module) -> dict:
    """The encoder's input spec: from its checkpoint when it has one, else from its constructor arguments."""
    spec = dict(getattr(encoder, "input_spec", None) or {})
    cfg = dict(getattr(encoder, "config", None) or {})
    spec.setdefault("layout", cfg.get("layout", "ntu25"))
    spec.setdefault("bodies", cfg.get("num_bodies", 2))
    spec.setdefault("channels", cfg.get("in_channels", 3))
    spec.setdefault("frames", cfg.get("frames", OUT_FRAMES))
    return spec


def check_compatible(encoder: torch.nn.Module, split: Split, source: str = "the model") -> int:
    """Raise if `encoder` cannot read `split`; returns the crop length (frames) the encoder takes."""
    spec = input_spec(encoder)
    shape = tuple(np.shape(split.data))
    if len(shape) != 5:
        raise SkelzooError(f"{split.name}: data must be (N, C, T, V, M); got shape {shape}.")
    _, c, t, v, m = shape
    layout = get_layout(spec["layout"])
    problems = []
    if c != int(spec["channels"]):
        problems.append(f"{c} channels per joint, the encoder takes {spec['channels']}")
    if v != layout.num_joints:
        problems.append(f"{v} joints, the encoder's layout {layout.name!r} has {layout.num_joints}")
    if m != int(spec["bodies"]):
        problems.append(f"{m} bodies per clip, the encoder takes {spec['bodies']}")
    if split.layout and split.layout != layout.name and v == layout.num_joints:
        problems.append(f"layout {split.layout!r}, the encoder was trained on {layout.name!r}")
    frames = int(spec["frames"])
    cfg_frames = (getattr(encoder, "config", None) or {}).get("frames")
    if cfg_frames is not None and int(cfg_frames) != frames:
        problems.append(f"the encoder is built for {cfg_frames}-frame clips but its input spec says {frames}")
    nf = np.asarray(split.num_frames)
    if len(nf) and (nf.min() < 1 or nf.max() > t):
        problems.append(f"valid frame counts range {int(nf.min())}..{int(nf.max())}, outside 1..{t} (T of the data)")
    if problems:
        raise SkelzooError(
            f"{split.name}: {source} cannot read this data: {'; '.join(problems)}. Use a model trained on "
            f"this skeleton format, or convert the data to {spec['channels']} x T x {layout.num_joints} x {spec['bodies']} "
            f"({layout.name})."
        )
    return frames


def check_same_classes(train: Split, test: Split) -> int:
    """The class count both splits share; labels out of range are refused."""
    n = max(train.num_classes or 0, test.num_classes or 0)
    for s in (train, test):
        if s.labels is None:
            raise SkelzooError(f"{s.name}: clips have no labels; this protocol needs labelled splits.")
        if len(s.labels) != len(s):
            raise SkelzooError(f"{s.name}: {len(s)} clips but {len(s.labels)} labels.")
        bad = np.nonzero((s.labels < 0) | (s.labels >= n))[0]
        if len(bad):
            raise SkelzooError(
                f"{s.name}: label {int(s.labels[bad[0]])} (clip {int(bad[0])}) is outside [0, {n - 1}] "
                f"for {n} classes. Labels must be 0-based; fix the label file or num_classes in meta.json."
            )
    return n


CLIP_SUFFIXES = (".npy", ".skeleton")


def _is_dataset_dir(path: Path) -> bool:
    return path.is_dir() and any(path.glob("*_data_joint.npy"))


def open_source(spec: str, default_split: str, layout: str = "ntu25") -> Split:
    """A retrieval side: a dataset dir (`default_split`), ``DIR:SPLIT``, one clip file, or a folder of clips."""
    path = Path(spec)
    if not path.exists() and ":" in spec:
        head, _, split = spec.rpartition(":")
        if _is_dataset_dir(Path(head)):
            return open_split(head, split)
    if _is_dataset_dir(path):
        return open_split(path, default_split)
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in CLIP_SUFFIXES)
        if not files:
            raise SkelzooError(
                f"{path}: neither a dataset directory (no *_data_joint.npy) nor a folder of clips "
                f"({', '.join(CLIP_SUFFIXES)} files)."
            )
    else:
        raise SkelzooError(f"{spec}: no such file or directory (give a dataset dir, DIR:SPLIT, a clip file or a folder of clips).")
    return clips_split(files, layout, name=str(path))


def clips_split(files: list[Path], layout: str, name: str) -> Split:
    """Loose clip files as one unlabelled split, zero-padded to the longest clip."""
    from skelzoo.io.clip import load_clip

    clips, frames = [], []
    for f in files:
        clip, n = load_clip(f, layout)
        clips.append(np.asarray(clip, dtype=np.float32))
        frames.append(int(n))
    shapes = {c.shape[:1] + c.shape[2:] for c in clips}
    if len(shapes) > 1:
        raise SkelzooError(f"{name}: clips differ in channels/joints/bodies {sorted(shapes)}; use one skeleton format.")
    t = max(c.shape[1] for c in clips)
    data = np.zeros((len(clips), clips[0].shape[0], t, *clips[0].shape[2:]), np.float32)
    for i, c in enumerate(clips):
        data[i, :, : c.shape[1]] = c
    return Split(name=name, data=data, num_frames=np.asarray(frames, np.int64), labels=None,
                 names=[f.stem for f in files], layout=get_layout(layout).name, path=name)
