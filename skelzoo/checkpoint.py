"""skelzoo checkpoints: atomic writes, safe reads, and encoders rebuilt from what they hold.

A checkpoint is a plain dict of tensors and primitive types (see docs/ARCHITECTURE.md), so it is
read with ``torch.load(weights_only=True)``: a checkpoint from a stranger cannot run code.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from skelzoo.errors import SkelzooError, unknown

FORMAT = "skelzoo-checkpoint"
VERSION = 1


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks (weights files can be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write `payload` to `path` atomically: a killed writer never leaves a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "version": VERSION, **payload}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a skelzoo checkpoint safely and check that it is one."""
    path = Path(path)
    if not path.is_file():
        raise SkelzooError(f"{path}: no such checkpoint file.")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # pickle/zip errors from torch: name the file, not torch's internals
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SkelzooError(
            f"{path}: not a readable skelzoo checkpoint ({first}). Checkpoints are loaded with "
            "weights_only=True; files holding arbitrary Python objects are refused."
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise SkelzooError(
            f"{path}: not a skelzoo checkpoint (no 'format: {FORMAT}' entry). "
            "To import the paper authors' MoCo checkpoints use `skelzoo convert isc-checkpoint`."
        )
    if ckpt.get("version", 0) > VERSION:
        raise SkelzooError(f"{path}: checkpoint version {ckpt['version']} is newer than this skelzoo reads ({VERSION}); upgrade skelzoo.")
    if not ckpt.get("encoders"):
        raise SkelzooError(f"{path}: the checkpoint holds no encoders.")
    return ckpt


def encoder_from_entry(entry: dict[str, Any], source: str = "checkpoint") -> torch.nn.Module:
    """Rebuild one encoder from a checkpoint's ``{"arch", "kwargs", "state_dict"}`` entry, strictly."""
    from skelzoo.models import create_encoder

    model = create_encoder(entry["arch"], **entry.get("kwargs", {}))
    load_state_strict(model, entry["state_dict"], source)
    return model


def load_state_strict(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """load_state_dict(strict=True) with an error that names the mismatching keys and shapes."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    shapes = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in sorted(set(own) & set(state))
        if tuple(own[k].shape) != tuple(state[k].shape)
    ]
    if missing or extra or shapes:
        parts = []
        if missing:
            parts.append(f"missing keys {missing[:5]}{' ...' if len(missing) > 5 else ''}")
        if extra:
            parts.append(f"unexpected keys {extra[:5]}{' ...' if len(extra) > 5 else ''}")
        if shapes:
            parts.append(f"shape mismatches {shapes[:5]}{' ...' if len(shapes) > 5 else ''}")
        raise SkelzooError(
            f"{source}: weights do not match the {getattr(model, 'arch', type(model).__name__)} "
            f"architecture: {'; '.join(parts)}."
        )
    model.load_state_dict(state, strict=True)


def load_encoder(
    path: str | Path, which: str | None = None, device: str | torch.device = "cpu"
) -> torch.nn.Module:
    """The encoder `which` (default: the checkpoint's default) in eval mode, `input_spec` attached."""
    ckpt = load_checkpoint(path)
    return encoder_from_checkpoint(ckpt, which, source=str(path)).to(device)


def encoder_from_checkpoint(ckpt: dict[str, Any], which: str | None = None, source: str = "checkpoint") -> torch.nn.Module:
    encoders = ckpt["encoders"]
    which = which or ckpt.get("default_encoder") or next(iter(encoders))
    if which not in encoders:
        raise unknown(f"encoder in {source}", which, encoders)
    model = encoder_from_entry(encoders[which], source)
    model.eval()
    model.input_spec = dict(ckpt.get("input_spec", {}))
    return model
