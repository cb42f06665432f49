"""skelzoo.inference.encode: the evaluation path every feature consumer goes through."""

import numpy as np
import pytest
import torch

from skelzoo.augment import center_crop
from skelzoo.errors import SkelzooError
from skelzoo.inference import encode
from skelzoo.models import create_encoder


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)
    return create_encoder("stg", width=0.125)


def clips(n=5, t=80, seed=0):
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((n, 3, t, 25, 2)).astype(np.float32)
    frames = rng.integers(10, t + 1, n)
    for i, f in enumerate(frames):
        data[i, :, f:] = 0
    return data, frames


def test_encode_equals_direct_call_with_the_evaluation_crop(encoder):
    data, frames = clips()
    feats = encode(encoder, data, frames, batch_size=2)
    with torch.no_grad():
        direct = encoder.eval()(center_crop(torch.from_numpy(data), torch.from_numpy(frames)))
    assert feats.shape == (5, encoder.feature_dim) and feats.dtype == np.float32
    np.testing.assert_allclose(feats, direct.numpy(), rtol=1e-5, atol=1e-5)


def test_batch_size_does_not_change_features(encoder):
    data, frames = clips(7)
    np.testing.assert_allclose(encode(encoder, data, frames, batch_size=1), encode(encoder, data, frames, batch_size=7), atol=1e-5)


def test_restores_training_mode(encoder):
    encoder.train()
    data, frames = clips(2)
    encode(encoder, data, frames)
    assert encoder.training
    encoder.eval()


def test_non_finite_clip_is_named(encoder):
    data, frames = clips(4)
    data[2, 0, 0, 0, 0] = np.nan
    with pytest.raises(SkelzooError, match="clip 2 contains NaN"):
        encode(encoder, data, frames, source="my.npy")


def test_empty_and_mismatched_counts(encoder):
    data, frames = clips(3)
    with pytest.raises(SkelzooError, match="no clips"):
        encode(encoder, data[:0], frames[:0])
    with pytest.raises(SkelzooError, match="frame counts"):
        encode(encoder, data, frames[:2])
