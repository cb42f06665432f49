"""Run a frozen encoder over clips the way evaluation does: eval mode, no grad, centre crop."""

from __future__ import annotations

import numpy as np
import torch

from skelzoo.augment import OUT_FRAMES, center_crop
from skelzoo.device import resolve_device
from skelzoo.errors import SkelzooError
from skelzoo.progress import progress_bar


def encode(
    encoder: torch.nn.Module,
    data,
    num_frames,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
    progress: bool = False,
    crop_ratio: float = 0.95,
    out_frames: int = OUT_FRAMES,
    source: str = "input",
) -> np.ndarray:
    """Features (N, D) float32 for clips `data` (N, C, T, V, M) (array or memmap) with valid frame
    counts `num_frames` (N,), using the evaluation centre crop (`crop_ratio` of the valid frames,
    resampled to `out_frames`). Non-finite input is refused with the index of the first bad clip."""
    dev = resolve_device(device)
    n = len(data)
    if n == 0:
        raise SkelzooError(f"{source}: no clips to encode.")
    num_frames = np.asarray(num_frames, dtype=np.int64)
    if num_frames.shape != (n,):
        raise SkelzooError(f"{source}: {n} clips but {num_frames.shape} frame counts.")
    was_training = encoder.training
    encoder.eval().to(dev)
    chunks = []
    try:
        with torch.inference_mode(), progress_bar(n, "encoding", enabled=progress) as advance:
            for lo in range(0, n, batch_size):
                # np.array copies: a memory-mapped (read-only) slice becomes a private, writable batch.
                batch = torch.from_numpy(np.array(data[lo : lo + batch_size], dtype=np.float32)).to(dev)
                if not torch.isfinite(batch).all():
                    bad = lo + int((~torch.isfinite(batch)).flatten(1).any(1).nonzero()[0])
                    raise SkelzooError(f"{source}: clip {bad} contains NaN or inf values.")
                frames = torch.from_numpy(num_frames[lo : lo + batch_size]).to(dev)
                clip = center_crop(batch, frames, ratio=crop_ratio, out_frames=out_frames)
                chunks.append(encoder(clip).float().cpu())
                advance(len(batch))
    finally:
        encoder.train(was_training)
    return torch.cat(chunks).numpy()
