"""Semi-supervised subsets (balanced, deterministic) and fine-tuning (learns, leaves the caller's encoder alone)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skelzoo.errors import SkelzooError
from skelzoo.eval.semi import FinetuneConfig, balanced_subset, finetune, semi_supervised, summarise
from skelzoo.eval.transfer import transfer


def test_subsets_are_class_balanced():
    labels = np.repeat(np.arange(6), [100, 200, 50, 100, 300, 250])
    for fraction in (1, 5, 10, 20):
        idx = balanced_subset(labels, fraction, seed=0)
        counts = np.bincount(labels[idx], minlength=6)
        want = np.maximum(1, np.round(np.bincount(labels) * fraction / 100)).astype(int)
        np.testing.assert_array_equal(counts, want)
        assert len(np.unique(idx)) == len(idx) and np.all(np.diff(idx) > 0)


def test_subsets_deterministic_per_seed_and_differ_across_seeds():
    labels = np.random.default_rng(0).integers(0, 10, 2000)
    a, b = balanced_subset(labels, 5, seed=3), balanced_subset(labels, 5, seed=3)
    np.testing.assert_array_equal(a, b)
    c = balanced_subset(labels, 5, seed=4)
    assert len(a) == len(c) and not np.array_equal(a, c)


def test_every_class_keeps_a_label_and_bad_fraction():
    labels = np.repeat(np.arange(15), 9)  # 135 clips, 1 % would round to zero per class
    assert np.array_equal(np.unique(labels[balanced_subset(labels, 1, 0)]), np.arange(15))
    for bad in (0, -5, 101):
        with pytest.raises(SkelzooError, match="percentage"):
            balanced_subset(labels, bad, 0)


def test_summarise_uses_sample_std():
    assert summarise([1.0, 3.0]) == (2.0, pytest.approx(np.sqrt(2)))
    assert summarise([5.0]) == (5.0, 0.0)


class TinyEncoder(torch.nn.Module):
    """Trainable: a per-joint linear map, mean over time and bodies."""

    feature_dim = 8

    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(3 * 25, 8)

    def forward(self, x):
        n, c, t, v, m = x.shape
        return self.proj(x.mean(dim=(2, 4)).reshape(n, c * v))


def clips(n: int, seed: int):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    data = rng.normal(size=(n, 3, 40, 25, 2)).astype(np.float32) * 0.3
    frames = rng.integers(20, 41, n)
    for i in range(n):
        data[i, :, :, y[i] * 5, :] += 2.0
        data[i, :, frames[i]:] = 0
    return data, frames, y


def test_finetune_learns_and_leaves_the_encoder_untouched():
    data, frames, y = clips(60, 0)
    tdata, tframes, ty = clips(30, 1)
    torch.manual_seed(0)
    enc = TinyEncoder()
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    cfg = FinetuneConfig(epochs=8, lr_encoder=0.05, batch_size=20)
    res = finetune(enc, data, frames, y, tdata, tframes, ty, 3, cfg, seed=0, device="cpu")
    assert res.top1 > 90.0 and res.losses[-1] < res.losses[0] and res.train_size == 60
    assert all(torch.equal(v, enc.state_dict()[k]) for k, v in before.items())
    again = finetune(enc, data, frames, y, tdata, tframes, ty, 3, cfg, seed=0, device="cpu")
    assert again.losses == res.losses  # deterministic per seed


def test_semi_and_transfer_report_per_seed_mean_std():
    data, frames, y = clips(60, 0)
    tdata, tframes, ty = clips(30, 1)
    torch.manual_seed(0)
    enc = TinyEncoder()
    cfg = FinetuneConfig(epochs=2, batch_size=16)
    out = semi_supervised(enc, data, frames, y, tdata, tframes, ty, 3, fractions=(10, 50), seeds=2, config=cfg, device="cpu")
    assert set(out) == {10, 50}
    assert out[10]["train_sizes"] == [6, 6] and out[50]["train_sizes"] == [30, 30]
    assert out[50]["mean"] == pytest.approx(np.mean(out[50]["top1_per_seed"]))
    tr = transfer(enc, data, frames, y, tdata, tframes, ty, 3, cfg, seeds=1, device="cpu")
    assert tr["std"] == 0.0 and len(tr["top1_per_seed"]) == 1 and tr["predictions"].shape == (30,)
    with pytest.raises(SkelzooError, match="seeds"):
        semi_supervised(enc, data, frames, y, tdata, tframes, ty, 3, seeds=0)
