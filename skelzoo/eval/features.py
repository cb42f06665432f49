"""Frozen-encoder features for evaluation, cached on disk.

Features are what every protocol starts from (kNN, the linear probe's test side, retrieval), and a
100k-clip pass of the 45M-parameter GRU takes minutes, so they are cached under
``$SKELZOO_CACHE/features`` (default ``~/.cache/skelzoo/features``). The key covers everything that
changes the numbers:

- the weights: a sha256 over the encoder's architecture, constructor arguments and every tensor of
  its state dict (so the key is the same whether the weights came from a ``.pt`` file, a zoo entry
  or a Hub download, and changes whenever any weight does);
- the data: the data file's resolved path, size and modification time when it is a file (a
  memory-mapped split), plus a sha256 of the shape, labels and valid-frame counts (an in-memory
  array is hashed whole);
- the evaluation crop (ratio, output frames) and the skelzoo version.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from skelzoo import __version__
from skelzoo.augment import OUT_FRAMES
from skelzoo.inference import encode
from skelzoo.progress import stderr_console


def cache_root() -> Path:
    """``$SKELZOO_CACHE`` or ``~/.cache/skelzoo``."""
    return Path(os.environ.get("SKELZOO_CACHE") or Path.home() / ".cache" / "skelzoo")


def features_cache_dir() -> Path:
    return cache_root() / "features"


def encoder_fingerprint(encoder: torch.nn.Module) -> str:
    """sha256 of the architecture, its constructor arguments and all state-dict tensors."""
    h = hashlib.sha256()
    h.update(str(getattr(encoder, "arch", type(encoder).__name__)).encode())
    h.update(json.dumps(getattr(encoder, "config", {}), sort_keys=True, default=str).encode())
    for name, tensor in sorted(encoder.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def data_fingerprint(data, num_frames, labels=None) -> str:
    """sha256 identifying a split: file identity when memory-mapped, else the content itself."""
    h = hashlib.sha256()
    h.update(f"shape={tuple(np.shape(data))} dtype={getattr(data, 'dtype', '?')}".encode())
    filename = getattr(data, "filename", None)  # np.memmap keeps the file it maps
    if filename and Path(filename).is_file():
        st = Path(filename).stat()
        h.update(f"file={Path(filename).resolve()} size={st.st_size} mtime={st.st_mtime_ns} offset={getattr(data, 'offset', 0)}".encode())
    else:
        h.update(np.ascontiguousarray(data).tobytes())
    h.update(np.ascontiguousarray(np.asarray(num_frames, dtype=np.int64)).tobytes())
    if labels is not None:
        h.update(b"labels")
        h.update(np.ascontiguousarray(np.asarray(labels, dtype=np.int64)).tobytes())
    return h.hexdigest()


def feature_key(encoder: torch.nn.Module, data, num_frames, labels=None, crop_ratio: float = 0.95, out_frames: int = OUT_FRAMES) -> str:
    h = hashlib.sha256()
    for part in (encoder_fingerprint(encoder), data_fingerprint(data, num_frames, labels), f"crop={crop_ratio!r}/{out_frames}", __version__):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:40]


def _write_atomic(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".npy", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, array)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def extract_features(
    encoder: torch.nn.Module,
    data,
    num_frames,
    *,
    labels=None,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
    progress: bool = False,
    crop_ratio: float = 0.95,
    out_frames: int | None = None,
    cache: bool = True,
    source: str = "input",
) -> np.ndarray:
    """Features (N, D) float32 of a frozen encoder (eval mode, no head, centre crop), cached.

    `out_frames` defaults to the encoder's ``input_spec["frames"]`` (64 when it has none).
    """
    if out_frames is None:
        out_frames = int(getattr(encoder, "input_spec", {}).get("frames", OUT_FRAMES))
    path = None
    if cache:
        key = feature_key(encoder, data, num_frames, labels, crop_ratio, out_frames)
        path = features_cache_dir() / f"{key}.npy"
        if path.is_file():
            try:
                feats = np.load(path, allow_pickle=False)
                if feats.ndim == 2 and feats.shape[0] == len(data):
                    if progress:
                        stderr_console.print(f"[dim]{source}: features from cache {path}[/dim]")
                    return feats
            except (OSError, ValueError):
                pass  # a damaged cache entry is recomputed and overwritten
    feats = encode(encoder, data, num_frames, batch_size=batch_size, device=device, progress=progress,
                   crop_ratio=crop_ratio, out_frames=out_frames, source=source)
    if path is not None:
        _write_atomic(path, feats)
    return feats
