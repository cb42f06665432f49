
import numpy as np
import pytest

from skelzoo.errors import SkelzooError
from skelzoo.io.clip import load_clip, load_clips


def _motion(t=20, v=25, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(t, v, 3)).astype(np.float32)


def test_tvc_mtvc_ctvm_agree(tmp_path):
    tvc = _motion()
    tvc[15:] = 0  # trailing padding: 15 valid frames
    np.save(tmp_path / "a.npy", tvc)
    np.save(tmp_path / "b.npy", tvc[None])  # (1, T, V, 3): M first
    ctvm = np.zeros((3, 20, 25, 2), np.float32)
    ctvm[..., 0] = tvc.transpose(2, 0, 1)
    np.save(tmp_path / "c.npy", ctvm)
    outs = [load_clip(tmp_path / f"{n}.npy") for n in "abc"]
    for clip, n in outs:
        assert clip.shape == (3, 20, 25, 2) and clip.dtype == np.float32 and n == 15
        assert np.array_equal(clip, outs[0][0])


def test_c3_wins_over_c2_and_ambiguous(tmp_path):
    x = np.ones((2, 10, 25, 3), np.float32)  # M=2, C=3
    np.save(tmp_path / "m.npy", x)
    clip, _ = load_clip(tmp_path / "m.npy")
    assert clip.shape == (3, 10, 25, 2)
    np.save(tmp_path / "amb.npy", np.ones((3, 10, 25, 3), np.float32))
    with pytest.raises(SkelzooError, match="ambiguous.*order="):
        load_clip(tmp_path / "amb.npy")
    clip, _ = load_clip(tmp_path / "amb.npy", order="MTVC", max_bodies=3)
    assert clip.shape == (3, 10, 25, 3)


def test_bodies_trimmed_by_activity(tmp_path):
    x = np.zeros((4, 10, 25, 3), np.float32)  # 4 bodies, the last one absent
    x[0] = 0.01 * _motion(10, seed=1)  # barely moving
    x[1] = _motion(10, seed=2)
    x[2] = 3 * _motion(10, seed=3)  # most active
    np.save(tmp_path / "m.npy", x)
    clip, _ = load_clip(tmp_path / "m.npy", max_bodies=2)
    assert np.allclose(clip[..., 0], x[2].transpose(2, 0, 1)) and np.allclose(clip[..., 1], x[1].transpose(2, 0, 1))


@pytest.mark.parametrize(
    "array, match",
    [
        (np.ones((5, 25), np.float32), "3-D"),
        (np.ones((5, 24, 3), np.float32), "24 joints"),
        (np.ones((2, 5, 17, 3), np.float32), "17 joints"),
        (np.zeros((0, 25, 3), np.float32), "zero frames"),
        (np.zeros((5, 25, 3), np.float32), "every coordinate is zero"),
        (np.ones((5, 5, 25, 7), np.float32), "no coordinate axis"),
    ],
)
def test_bad_arrays(tmp_path, array, match):
    np.save(tmp_path / "x.npy", array)
    with pytest.raises(SkelzooError, match=match):
        load_clip(tmp_path / "x.npy")


def test_nan_reports_count_and_first_frame(tmp_path):
    x = _motion()
    x[7, 3, 0] = np.nan
    x[9, 1, 1] = np.inf
    np.save(tmp_path / "x.npy", x)
    with pytest.raises(SkelzooError, match=r"x\.npy: 2 NaN/inf values, first in frame 7"):
        load_clip(tmp_path / "x.npy")


def test_object_array_and_npz(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(SkelzooError, match="Python-object array"):
        load_clip(tmp_path / "o.npy")
    np.savez(tmp_path / "one.npz", clip=_motion())
    assert load_clip(tmp_path / "one.npz")[0].shape == (3, 20, 25, 2)
    np.savez(tmp_path / "two.npz", a=_motion(), b=_motion())
    with pytest.raises(SkelzooError, match="exactly one array"):
        load_clip(tmp_path / "two.npz")
    (tmp_path / "junk.npy").write_bytes(b"nonsense")
    with pytest.raises(SkelzooError, match="junk.npy"):
        load_clip(tmp_path / "junk.npy")


def test_load_clips_expands_directories(tmp_path):
    for name in ("b", "a"):
        np.save(tmp_path / f"{name}.npy", _motion())
    extra = tmp_path / "single.npy"
    np.save(extra, _motion())
    (tmp_path / "sub").mkdir()
    np.save(tmp_path / "sub" / "c.npy", _motion())
    got = load_clips([tmp_path / "sub", extra])
    assert [g[0] for g in got] == ["c", "single"]
    got = load_clips([tmp_path])
    assert [g[0] for g in got] == ["a", "b", "single"]
    with pytest.raises(SkelzooError, match="no such file"):
        load_clips([tmp_path / "nope.npy"])
