"""Transfer learning: an encoder pretrained on dataset A, fine-tuned with all labels of dataset B.

The same fine-tuning code and defaults as the semi-supervised protocol (:mod:`skelzoo.eval.semi`),
with 100 % of B's training labels; the paper's pairs are NTU-60 -> PKU-MMD II and PKU-MMD I ->
PKU-MMD II. With several seeds the mean and standard deviation are reported.
"""

from __future__ import annotations

import torch

from skelzoo.errors import SkelzooError
from skelzoo.eval.semi import FinetuneConfig, finetune, summarise


def transfer(
    encoder: torch.nn.Module,
    train_data,
    train_frames,
    train_labels,
    test_data,
    test_frames,
    test_labels,
    num_classes: int,
    config: FinetuneConfig | None = None,
    seeds: int = 1,
    device: str | torch.device = "auto",
    progress: bool = False,
) -> dict:
    """Fine-tune on all of B's training clips, `seeds` times; top-1 per seed, mean, std."""
    if seeds < 1:
        raise SkelzooError(f"--seeds must be at least 1; got {seeds}.")
    runs = [
        finetune(encoder, train_data, train_frames, train_labels, test_data, test_frames, test_labels,
                 num_classes, config, seed=seed, device=device, progress=progress)
        for seed in range(seeds)
    ]
    tops = [r.top1 for r in runs]
    mean, std = summarise(tops)
    return {"top1_per_seed": tops, "mean": mean, "std": std, "predictions": runs[-1].predictions}
