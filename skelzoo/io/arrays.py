"""Datasets users already have: ST-GCN-style array folders and pyskl annotation pickles.

ST-GCN / 2s-AGCN folders: `{split}_data_joint.npy` (N, 3, T, V, M) + `{split}_label.pkl` holding
(names, labels) (+ optional `{split}_num_frame.npy` and `meta.json`): skelzoo's own array format
is this plus meta.json, so these are read in place, memory-mapped.

pyskl pickles: `{"split": {split name: [frame_dir, ...]}, "annotations": [{"frame_dir",
"total_frames", "label", "keypoint": (M, T, V, C), ...}]}`; converted in memory to the canonical
(N, C, T, V, M) array, T padded to the longest clip and M to 2 (more bodies: the first two).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from skelzoo.errors import SkelzooError
from skelzoo.io.safe_pickle import safe_load


@dataclass
class ArraySplit:
    data: np.ndarray  # (N, C, T, V, M), possibly a read-only memmap
    labels: np.ndarray  # int64 (N,)
    names: list[str]
    num_frames: np.ndarray | None  # int64 (N,) or None when the source has none
    meta: dict[str, Any] = field(default_factory=dict)
    source: str = ""


def _split_files(directory: Path) -> list[str]:
    return sorted(p.name[: -len("_data_joint.npy")] for p in directory.glob("*_data_joint.npy"))


def read_labels(path: Path) -> tuple[list[str], np.ndarray]:
    """`{split}_label.pkl`: (names, labels) as a tuple/list pair, or a dict with those keys."""
    raw = safe_load(path)
    if isinstance(raw, dict) and "labels" in raw:
        raw = (raw.get("names") or raw.get("sample_name") or [str(i) for i in range(len(raw["labels"]))], raw["labels"])
    if not isinstance(raw, (tuple, list)) or len(raw) != 2:
        raise SkelzooError(
            f"{path}: expected a pickle of (names, labels) (ST-GCN style), got {type(raw).__name__}"
        )
    names, labels = raw
    try:
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    except (TypeError, ValueError):
        raise SkelzooError(f"{path}: labels are not integers") from None
    names = [str(n) for n in names]
    if len(names) != labels.size:
        raise SkelzooError(f"{path}: {len(names)} names but {labels.size} labels")
    return names, labels


def read_array_split(directory: str | Path, split: str, mmap: bool = True) -> ArraySplit:
    """One split of an array-format / ST-GCN folder, data memory-mapped."""
    directory = Path(directory)
    data_path = directory / f"{split}_data_joint.npy"
    if not data_path.exists():
        have = _split_files(directory)
        raise SkelzooError(
            f"{directory}: no {data_path.name}; splits here: {', '.join(have) if have else 'none'} "
            "(expected {split}_data_joint.npy + {split}_label.pkl)"
        )
    label_path = directory / f"{split}_label.pkl"
    if not label_path.exists():
        raise SkelzooError(f"{directory}: {data_path.name} has no {label_path.name} beside it")
    try:
        data = np.load(data_path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except ValueError as err:
        raise SkelzooError(f"{data_path}: not a numeric .npy array ({err})") from None
    names, labels = read_labels(label_path)
    frames_path = directory / f"{split}_num_frame.npy"
    num_frames = np.load(frames_path, allow_pickle=False).astype(np.int64) if frames_path.exists() else None
    meta_path = directory / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    return ArraySplit(data, labels, names, num_frames, meta, str(data_path))


def _canonical_split(name: str) -> list[str]:
    """pyskl split keys that mean our 'train' / 'val'."""
    if name == "train":
        return ["train"]
    if name == "val":
        return ["val", "test"]
    return [name]


def read_pyskl(path: str | Path, split: str = "train", max_bodies: int = 2) -> ArraySplit:
    """One split of a pyskl annotation pickle as canonical arrays.

    pyskl names splits by benchmark (`xsub_train`, `xsub_val`, `xview_train`, ...). `split` may be
    a full key, or 'train'/'val' when exactly one key ends with it.
    """
    path = Path(path)
    raw = safe_load(path)
    if not isinstance(raw, dict) or "annotations" not in raw or "split" not in raw:
        raise SkelzooError(f"{path}: not a pyskl annotation pickle (expected a dict with 'split' and 'annotations')")
    splits = raw["split"]
    key = split if split in splits else None
    if key is None:
        matches = [k for k in splits if any(k == s or k.endswith("_" + s) for s in _canonical_split(split))]
        if len(matches) != 1:
            raise SkelzooError(
                f"{path}: split {split!r} {'is ambiguous' if matches else 'not found'}; "
                f"splits here: {', '.join(sorted(splits))}"
            )
        key = matches[0]
    wanted = list(splits[key])
    by_name = {a.get("frame_dir"): a for a in raw["annotations"]}
    missing = [n for n in wanted if n not in by_name]
    if missing:
        raise SkelzooError(f"{path}: split {key!r} names {len(missing)} clips with no annotation, e.g. {missing[0]!r}")
    annos = [by_name[n] for n in wanted]
    if not annos:
        raise SkelzooError(f"{path}: split {key!r} is empty")
    shapes = []
    for a in annos:
        kp = np.asarray(a.get("keypoint"))
        if kp.ndim != 4:
            raise SkelzooError(f"{path}: clip {a.get('frame_dir')!r}: keypoint shape {kp.shape}, expected (M, T, V, C)")
        shapes.append(kp.shape)
    t_max = max(s[1] for s in shapes)
    v, c = shapes[0][2], shapes[0][3]
    if any(s[2] != v or s[3] != c for s in shapes):
        raise SkelzooError(f"{path}: clips disagree on joints/coordinates: {sorted(set((s[2], s[3]) for s in shapes))}")
    data = np.zeros((len(annos), c, t_max, v, max_bodies), dtype=np.float32)
    frames = np.zeros(len(annos), dtype=np.int64)
    for i, a in enumerate(annos):
        kp = np.asarray(a["keypoint"], dtype=np.float32)[:max_bodies]  # (M, T, V, C)
        data[i, :, : kp.shape[1], :, : kp.shape[0]] = kp.transpose(3, 1, 2, 0)
        frames[i] = int(a.get("total_frames", kp.shape[1]))
    labels = np.array([int(a["label"]) for a in annos], dtype=np.int64)
    meta = {"layout": "ntu25" if v == 25 else None, "benchmark": key}
    return ArraySplit(data, labels, wanted, np.minimum(frames, t_max), meta, f"{path}[{key}]")
