"""Linear probe: learns a separable problem from features, runs on encoder + clips, reports both top-1s."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skelzoo.errors import SkelzooError
from skelzoo.inference import encode
from skelzoo.eval.linear import CroppedClips, ProbeConfig, read_rows, scaled_milestones, train_linear_probe


def separable(n: int, d: int = 16, classes: int = 4, seed: int = 0):
    """Gaussian blobs around well-separated class centres: linearly separable with a wide margin."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, d)) * 4
    y = rng.integers(0, classes, n)
    return (centres[y] + rng.normal(size=(n, d)) * 0.5).astype(np.float32), y


def test_probe_learns_separable_features():
    x, y = separable(400)
    xt, yt = separable(200, seed=0)  # same centres (same seed draws them first)
    xt, yt = xt[:200], yt[:200]
    res = train_linear_probe(x, y, xt, yt, 4, ProbeConfig(epochs=10), device="cpu")
    assert res.top1 == res.history[-1]["test_top1"]
    assert res.top1 > 97.0
    assert res.best_epoch_top1 >= res.top1 and 1 <= res.best_epoch <= 10
    assert res.history[-1]["loss"] < res.history[0]["loss"]


def test_probe_cannot_learn_random_labels_on_test():
    """A check that the accuracy is measured, not assumed: shuffled test labels give chance level."""
    x, y = separable(400)
    rng = np.random.default_rng(5)
    res = train_linear_probe(x, y, x[:200], rng.permutation(y[:200]), 4, ProbeConfig(epochs=5), device="cpu")
    assert res.top1 < 50.0


def test_schedule_follows_milestones():
    x, y = separable(64)
    res = train_linear_probe(x, y, x, y, 4, ProbeConfig(epochs=8, milestones=(3, 6)), device="cpu")
    lrs = [h["lr"] for h in res.history]
    assert lrs[:3] == [0.1] * 3 and lrs[3:6] == pytest.approx([0.01] * 3) and lrs[6:] == pytest.approx([0.001] * 2)
    assert scaled_milestones(80) == (50, 70)
    assert scaled_milestones(8) == (5, 7)
    assert scaled_milestones(2) == (1,)


def test_probe_deterministic_per_seed():
    x, y = separable(100)
    a = train_linear_probe(x, y, x, y, 4, ProbeConfig(epochs=2, seed=3), device="cpu")
    b = train_linear_probe(x, y, x, y, 4, ProbeConfig(epochs=2, seed=3), device="cpu")
    assert a.history == b.history


class MeanEncoder(torch.nn.Module):
    """A frozen 'encoder' whose feature is the mean coordinate per joint: enough to separate clips
    whose class is a joint's offset, and it records whether it was called in eval mode."""

    feature_dim = 25 * 3

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(1))
        self.modes = []

    def forward(self, x):
        self.modes.append(self.training)
        assert x.shape[2] == 64  # the probe crop resamples to 64 frames
        return x.mean(dim=(2, 4)).flatten(1) * self.scale


def clips(n: int, seed: int):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    data = rng.normal(size=(n, 3, 80, 25, 2)).astype(np.float32) * 0.3
    frames = rng.integers(20, 81, n)
    for i in range(n):
        data[i, :, :, y[i] * 5, :] += 2.0  # the class moves one joint
        data[i, :, frames[i]:] = 0
    return data, frames, y


def test_probe_on_encoder_and_clips_keeps_encoder_frozen():
    data, frames, y = clips(90, 0)
    tdata, tframes, ty = clips(45, 1)
    enc = MeanEncoder()
    before = enc.scale.detach().clone()
    source = CroppedClips(enc, data, frames, torch.device("cpu"))
    test_feats = encode(enc, tdata, tframes)
    enc.modes.clear()
    res = train_linear_probe(source, y, test_feats, ty, 3, ProbeConfig(epochs=4, encode_batch=64), device="cpu")
    assert res.top1 > 90.0
    assert enc.modes and not any(enc.modes)  # always eval mode
    assert torch.equal(enc.scale.detach(), before) and enc.scale.grad is None


def test_read_rows_keeps_order():
    data = np.arange(10 * 2, dtype=np.float32).reshape(10, 2)
    idx = np.array([7, 2, 9, 0])
    np.testing.assert_array_equal(read_rows(data, idx), data[idx])


def test_label_errors():
    x, y = separable(20)
    with pytest.raises(SkelzooError, match="outside"):
        train_linear_probe(x, y, x, y, 3, ProbeConfig(epochs=1), device="cpu")  # labels go up to 3
    with pytest.raises(SkelzooError, match="no labels"):
        train_linear_probe(x, y, x[:0], y[:0], 4, ProbeConfig(epochs=1), device="cpu")
    with pytest.raises(SkelzooError, match="dimensions differ"):
        train_linear_probe(x, y, x[:, :5], y, 4, ProbeConfig(epochs=1), device="cpu")
