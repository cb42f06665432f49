"""Property tests of the batched augmentations (paper section 3.1, DESIGN.md)."""

import pytest
import torch

from skelzoo import augment as A
from skelzoo.errors import SkelzooError


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def ramp_batch(num_frames, t=300):
    """Clips whose value at frame f is f+1 everywhere inside the valid frames, zero after."""
    n = len(num_frames)
    x = torch.zeros(n, 3, t, 25, 2)
    frames = torch.arange(t, dtype=torch.float32)[None, None, :, None, None] + 1
    valid = torch.arange(t)[None, :] < torch.tensor(num_frames)[:, None]
    return torch.where(valid[:, None, :, None, None], frames.expand(n, 3, t, 25, 2), x), torch.tensor(num_frames)


def test_output_shapes():
    x, nf = ramp_batch([300, 10, 64, 120])
    q, k = A.isc_views(x, nf, gen())
    assert q.shape == k.shape == (4, 3, 64, 25, 2)
    assert A.center_crop(x, nf).shape == (4, 3, 64, 25, 2)
    assert A.probe_crop(x, nf, gen(), ).shape == (4, 3, 64, 25, 2)
    assert A.temporal_crop_resize(x, nf, gen(), out_frames=32).shape == (4, 3, 32, 25, 2)


def test_crop_stays_inside_valid_frames():
    x, nf = ramp_batch([300, 80, 64, 200, 65] * 20)
    out = A.temporal_crop_resize(x, nf, gen(1))
    # frame values are frame index + 1, so every resampled value lies in [1, n]; none is padding.
    assert (out >= 1).all()
    assert (out <= nf.float()[:, None, None, None, None]).all()
    # resampling is monotone in time and the crop is at least min(64, n) frames long
    first, last = out[:, 0, 0, 0, 0], out[:, 0, -1, 0, 0]
    assert (last - first + 1 >= torch.minimum(nf, torch.tensor(64)).float() - 1e-4).all()
    assert (out[:, 0, 1:, 0, 0] >= out[:, 0, :-1, 0, 0]).all()


def test_short_sequence_is_used_whole_and_upsampled():
    x, nf = ramp_batch([10])
    out = A.temporal_crop_resize(x, nf, gen())
    vals = out[0, 0, :, 0, 0]
    expected = 1 + torch.arange(64, dtype=torch.float32) * 9 / 63  # frames 1..10, linearly
    assert torch.allclose(vals, expected, atol=1e-5)


def test_crop_of_exact_length_is_identity():
    x, nf = ramp_batch([64])
    out = A.center_crop(x, nf, ratio=1.0)
    assert torch.equal(out, x[:, :, :64])


def test_center_crop_takes_the_middle():
    x, nf = ramp_batch([200])
    vals = A.center_crop(x, nf)[0, 0, :, 0, 0]
    length = int(200 * 0.95)
    start = (200 - length) // 2
    assert vals[0] == start + 1 and vals[-1] == start + length


def test_shear_diagonal_is_one_and_offdiagonal_bounded():
    s = A.shear_matrices(1000, gen(), torch.zeros(1))
    assert torch.equal(torch.diagonal(s, dim1=1, dim2=2), torch.ones(1000, 3))
    off = s[:, ~torch.eye(3, dtype=torch.bool)]
    assert off.abs().max() <= 1 and off.abs().max() > 0.9 and off.std() > 0.5


def test_shear_is_the_same_linear_map_for_all_joints_frames_bodies():
    x = torch.randn(2, 3, 16, 25, 2)
    s = A.shear_matrices(2, gen(5), x)
    out = A.shear(x, gen(5))
    manual = torch.einsum("ij,jtvm->itvm", s[1], x[1])
    assert torch.allclose(out[1], manual, atol=1e-6)


def test_jitter_changes_exactly_15_joints_for_every_frame_and_body():
    x = torch.randn(64, 3, 20, 25, 2) + 5  # no zeros, so every picked joint visibly changes
    out = A.joint_jitter(x, gen(3))
    changed = (out != x).any(dim=1)  # (N, T, V, M)
    per_joint = changed.any(dim=1).any(dim=-1)  # (N, V)
    assert (per_joint.sum(1) == 15).all()
    # the same joints in every frame and body
    assert (changed == per_joint[:, None, :, None]).all()
    # both halves happen: zeroed joints and moved joints
    zeroed = ((out == 0).all(dim=1).all(dim=1).all(dim=-1)).sum(1)
    assert (zeroed == 15).any() and (zeroed == 0).any()


def test_random_spatial_mixes_both():
    x = torch.randn(200, 3, 8, 25, 2) + 5
    out = A.random_spatial(x, gen(2))
    changed = (out != x).any(1).any(1).any(-1).sum(1)  # joints changed per clip
    assert (changed == 25).sum() > 50 and (changed == 15).sum() > 50
    assert ((changed == 25) | (changed == 15)).all()


def test_determinism_under_a_seed_and_views_independent():
    x, nf = ramp_batch([300, 90, 40])
    x = x + torch.randn_like(x)
    q1, k1 = A.isc_views(x, nf, gen(7))
    q2, k2 = A.isc_views(x, nf, gen(7))
    assert torch.equal(q1, q2) and torch.equal(k1, k2)
    assert not torch.equal(q1, k1)
    q3, _ = A.isc_views(x, nf, gen(8))
    assert not torch.equal(q1, q3)


def test_no_augmentation_view_is_a_plain_resample():
    x, nf = ramp_batch([120, 30])
    q, k = A.isc_views(x, nf, gen(), spatial=False, temporal=False)
    assert torch.equal(q, k) and torch.equal(q, A.center_crop(x, nf, ratio=1.0))


@pytest.mark.parametrize("bad", [[0, 10], [10, 301]])
def test_bad_frame_counts_are_refused(bad):
    x, _ = ramp_batch([10, 10])
    with pytest.raises(SkelzooError, match="valid frame counts"):
        A.temporal_crop_resize(x, torch.tensor(bad), gen())


def test_wrong_rank_is_refused():
    with pytest.raises(SkelzooError, match=r"\(N, C, T, V, M\)"):
        A.shear(torch.zeros(3, 64, 25, 2))
