"""Skeleton layouts and the conversions between them (skelzoo.layouts, skelzoo.layout_mapping)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skelzoo.errors import SkelzooError
from skelzoo.layout_mapping import adapt_clip, from_ntu25, lift_clip, mappable_layouts, to_ntu25
from skelzoo.layouts import NTU25, Layout, get_layout, list_layouts, register_layout

JOINTS = {"ntu25": 25, "coco17": 17, "mediapipe33": 33, "openpose18": 18, "body25": 25}
OTHERS = [n for n in JOINTS if n != "ntu25"]


def _clip(layout: str, c: int = 3, t: int = 5, m: int = 2, seed: int = 0) -> np.ndarray:
    v = get_layout(layout).num_joints
    return np.random.default_rng(seed).normal(size=(c, t, v, m)).astype(np.float32)


@pytest.fixture(scope="module")
def synth_clips():
    """Clean camera-frame NTU-25 clips (no noise, no dropped joints) and their valid frames."""
    from skelzoo.data.synth import generate

    g = generate(seed=0, size="tiny", noise=False, preprocessing=False)
    return g["data"][:12], g["num_frames"][:12]


def test_all_layouts_registered():
    assert set(JOINTS) <= set(list_layouts())
    assert set(OTHERS) | {"ntu25"} == set(mappable_layouts())


@pytest.mark.parametrize("name", sorted(JOINTS))
def test_layout_is_a_tree_rooted_at_its_centre(name):
    lay = get_layout(name)
    v = lay.num_joints
    assert v == JOINTS[name]
    assert len(set(lay.joints)) == v
    assert len(lay.bones) == v - 1
    assert lay.tree_problems() == []
    # Independent check: every joint reaches the centre over the undirected bone graph (BFS),
    # and each bone's parent is exactly one hop closer to the centre than its child.
    adj = np.zeros((v, v), dtype=bool)
    for c, p in lay.bones:
        assert 0 <= c < v and 0 <= p < v and c != p
        adj[c, p] = adj[p, c] = True
    depth = {lay.center: 0}
    frontier = [lay.center]
    while frontier:
        nxt = []
        for j in frontier:
            for k in np.flatnonzero(adj[j]):
                if int(k) not in depth:
                    depth[int(k)] = depth[j] + 1
                    nxt.append(int(k))
        frontier = nxt
    assert len(depth) == v, f"{name}: joints not connected to the centre"
    for c, p in lay.bones:
        assert depth[c] == depth[p] + 1


def test_left_right_bones_are_mirrored():
    for name in JOINTS:
        lay = get_layout(name)
        pairs = {(lay.joints[c], lay.joints[p]) for c, p in lay.bones}
        for c, p in pairs:
            if c.startswith("left_"):
                mirror = ("right_" + c[5:], "right_" + p[5:] if p.startswith("left_") else p)
                assert mirror in pairs, f"{name}: {c}->{p} has no mirror"


def test_register_refuses_a_graph_that_is_not_a_tree():
    cycle = Layout(name="test-cycle", joints=("a", "b", "c"), bones=((1, 0), (2, 1), (0, 2)), center=0)
    with pytest.raises(ValueError, match="not a tree"):
        register_layout(cycle)
    split = Layout(name="test-split", joints=("a", "b", "c", "d"), bones=((1, 0), (3, 2)), center=0)
    with pytest.raises(ValueError, match="does not reach the centre"):
        register_layout(split)
    assert "test-cycle" not in list_layouts() and "test-split" not in list_layouts()


def test_graph_encoder_builds_from_every_layout():
    from skelzoo.models import create_encoder, list_encoders

    if "stg" not in list_encoders():
        pytest.skip("the graph encoder (stg) is not in this tree yet")
    for name in OTHERS:  # ntu25 is the encoder tests' own default
        v = get_layout(name).num_joints
        enc = create_encoder("stg", width=0.0625, layout=name, num_bodies=1).eval()
        with torch.no_grad():
            out = enc(torch.randn(2, 3, 8, v, 1))
        assert out.shape == (2, enc.feature_dim) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", OTHERS)
def test_round_trip_over_shared_joints_is_exact(name):
    x = _clip(name)
    ntu, mask, report = to_ntu25(x, name)
    assert ntu.shape == (3, 5, 25, 2) and mask.shape == (25,) and mask.dtype == bool
    # Every ntu25 joint is accounted for exactly once.
    kinds = [set(report.shared), set(report.interpolated), set(report.zero_filled)]
    assert sum(len(k) for k in kinds) == 25 and set().union(*kinds) == set(NTU25.joints)
    assert [NTU25.joints[j] for j in np.flatnonzero(mask)] == report.shared
    back, back_mask, _ = from_ntu25(ntu, name)
    assert back.shape == x.shape
    assert back_mask.sum() == mask.sum() > 10
    assert np.array_equal(back[:, :, back_mask], x[:, :, back_mask])
    # The same on torch tensors (the trainer's batches).
    ntu_t, _, _ = to_ntu25(torch.from_numpy(x)[None], name)
    assert torch.equal(ntu_t[0][:, :, mask], torch.from_numpy(ntu[:, :, mask]))
    torch.testing.assert_close(ntu_t[0], torch.from_numpy(ntu))


def test_coco17_interpolated_joints_are_reported_and_computed():
    x = _clip("coco17")
    ntu, mask, report = to_ntu25(x, "coco17")
    lay = get_layout("coco17")
    for joint in ("spine_base", "spine_mid", "spine_shoulder", "neck", "head", "left_hand", "right_thumb", "left_foot"):
        assert joint in report.interpolated and not mask[NTU25.index(joint)]
    assert report.zero_filled == []
    hips = (x[:, :, lay.index("left_hip")] + x[:, :, lay.index("right_hip")]) / 2
    shoulders = (x[:, :, lay.index("left_shoulder")] + x[:, :, lay.index("right_shoulder")]) / 2
    np.testing.assert_allclose(ntu[:, :, NTU25.index("spine_base")], hips, atol=1e-6)
    np.testing.assert_allclose(ntu[:, :, NTU25.index("spine_shoulder")], shoulders, atol=1e-6)
    np.testing.assert_allclose(ntu[:, :, NTU25.index("spine_mid")], (hips + shoulders) / 2, atol=1e-6)
    np.testing.assert_array_equal(ntu[:, :, NTU25.index("left_elbow")], x[:, :, lay.index("left_elbow")])
    assert "spine_mid" in report.summary() and "interpolated" in report.summary()


def test_missing_zero_fills_and_reports():
    x = _clip("openpose18")
    ntu, mask, report = to_ntu25(x, "openpose18", missing="zero")
    assert report.interpolated == {}
    assert set(report.zero_filled) == set(NTU25.joints) - set(report.shared)
    assert not ntu[:, :, ~mask].any()
    assert (ntu[:, :, mask] != 0).all()
    with pytest.raises(SkelzooError, match="missing"):
        to_ntu25(x, "openpose18", missing="guess")


@pytest.mark.parametrize("name", OTHERS)
def test_estimates_are_close_on_real_bodies(name, synth_clips):
    """From true NTU bodies to the layout and back: estimated joints land near the true ones."""
    data, num_frames = synth_clips
    src, _, _ = from_ntu25(data, name)
    est, _, report = to_ntu25(src, name)
    for joint in report.interpolated:
        j = NTU25.index(joint)
        err = [np.linalg.norm(est[i, :, :n, j, 0] - data[i, :, :n, j, 0], axis=0).mean() for i, n in enumerate(num_frames)]
        limit = 0.03 if joint.endswith(("_hand", "_hand_tip")) and name != "mediapipe33" else 0.15
        assert np.mean(err) < limit, f"{name} {joint}: mean error {np.mean(err):.3f} m"


def test_adapt_clip_lift():
    x2 = _clip("coco17", c=2)
    with pytest.raises(SkelzooError, match=r"expects 3D \(x, y, z\) clips; this clip has 2 coordinates; pass --lift zero"):
        adapt_clip(x2, "coco17")
    out, report = adapt_clip(x2, "coco17", lift="zero")
    assert out.shape == (3, 5, 25, 2) and report.lift == "zero" and "z = 0" in report.summary()
    assert not out[2].any()
    lay = get_layout("coco17")
    np.testing.assert_array_equal(out[:2, :, NTU25.index("right_knee")], x2[:, :, lay.index("right_knee")])
    with pytest.raises(SkelzooError, match="unknown lift"):
        adapt_clip(x2, "coco17", lift="depth-net")
    with pytest.raises(SkelzooError, match="confidence"):
        lift_clip(_clip("openpose18", c=4), channels=3)
    # A batch of torch clips lifts too.
    out_t, _ = adapt_clip(torch.from_numpy(x2)[None], "coco17", lift="zero")
    assert out_t.shape == (1, 3, 5, 25, 2) and not out_t[:, 2].any()


def test_adapt_clip_between_layouts_and_errors():
    x = _clip("mediapipe33")
    out, report = adapt_clip(x, "mediapipe33", "body25")
    src, dst = get_layout("mediapipe33"), get_layout("body25")
    assert out.shape == (3, 5, 25, 2)
    assert "left_wrist" in report.shared and "nose" in report.interpolated
    for joint in report.shared:
        np.testing.assert_array_equal(out[:, :, dst.index(joint)], x[:, :, src.index(joint)])
    same, report = adapt_clip(x, "mediapipe33", "mediapipe33")
    assert np.array_equal(same, x) and len(report.shared) == 33
    with pytest.raises(SkelzooError, match="33 joints, but layout 'coco17' has 17"):
        adapt_clip(x, "coco17")
    with pytest.raises(SkelzooError, match="unknown layout 'coco18'. Did you mean 'coco17'"):
        adapt_clip(x, "coco18")
    with pytest.raises(SkelzooError, match=r"\(C, T, V, M\)"):
        to_ntu25(x[0], "mediapipe33")
