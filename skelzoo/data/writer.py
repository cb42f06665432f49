"""Write a benchmark directory in the array format (docs/ARCHITECTURE.md, "Dataset directory")."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from skelzoo import __version__


def write_split(
    out_dir: str | Path,
    split: str,
    data: np.ndarray,
    labels: Sequence[int],
    num_frames: Sequence[int],
    names: Sequence[str],
) -> None:
    """`{split}_data_joint.npy`, `{split}_label.pkl` (names, labels), `{split}_num_frame.npy`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = np.asarray(data, dtype=np.float32)
    n = data.shape[0]
    if data.ndim != 5 or not (len(labels) == len(num_frames) == len(names) == n):
        raise ValueError(f"write_split: inconsistent sizes data {data.shape}, {len(labels)} labels, {len(num_frames)} frame counts, {len(names)} names")
    np.save(out / f"{split}_data_joint.npy", data)
    np.save(out / f"{split}_num_frame.npy", np.asarray(num_frames, dtype=np.int64))
    with open(out / f"{split}_label.pkl", "wb") as fh:
        # Plain list/str/int only, so our restricted unpickler (and ST-GCN tools) read it back.
        pickle.dump(([str(s) for s in names], [int(v) for v in labels]), fh, protocol=4)


def write_meta(out_dir: str | Path, **meta: Any) -> Path:
    path = Path(out_dir) / "meta.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    meta.setdefault("skelzoo_version", __version__)
    path.write_text(json.dumps(meta, indent=2) + "\n")
    return path


def open_split_data(out_dir: str | Path, split: str, shape: tuple[int, ...]) -> np.memmap:
    """A writable memory-mapped `{split}_data_joint.npy` of `shape` to fill clip by clip.

    Full NTU splits are several GB, more than a laptop holds in RAM; `prepare` fills this map and
    then calls :func:`write_split_labels`.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return np.lib.format.open_memmap(out / f"{split}_data_joint.npy", mode="w+", dtype=np.float32, shape=tuple(shape))


def write_split_labels(
    out_dir: str | Path, split: str, labels: Sequence[int], num_frames: Sequence[int], names: Sequence[str]
) -> None:
    """`{split}_label.pkl` and `{split}_num_frame.npy` for data written with :func:`open_split_data`."""
    out = Path(out_dir)
    if not len(labels) == len(num_frames) == len(names):
        raise ValueError(f"write_split_labels: {len(labels)} labels, {len(num_frames)} frame counts, {len(names)} names")
    np.save(out / f"{split}_num_frame.npy", np.asarray(num_frames, dtype=np.int64))
    with open(out / f"{split}_label.pkl", "wb") as fh:
        pickle.dump(([str(s) for s in names], [int(v) for v in labels]), fh, protocol=4)
