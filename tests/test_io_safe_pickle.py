import collections
import os
import pickle

import numpy as np
import pytest

from skelzoo.errors import SkelzooError
from skelzoo.io.safe_pickle import safe_load, safe_loads


class _Evil:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def test_malicious_pickle_is_refused_and_never_runs(tmp_path):
    target = tmp_path / "pwned"
    path = tmp_path / "train_label.pkl"
    path.write_bytes(pickle.dumps((["a"], [_Evil(target)])))
    with pytest.raises(SkelzooError, match=r"refusing to unpickle (posix|os|nt)\.system from .*train_label\.pkl"):
        safe_load(path)
    assert not target.exists()


def test_other_callables_refused():
    with pytest.raises(SkelzooError, match="builtins.eval"):
        safe_loads(pickle.dumps(eval))
    with pytest.raises(SkelzooError, match="refusing"):
        safe_loads(pickle.dumps(collections.Counter("ab")))


@pytest.mark.parametrize("protocol", range(0, pickle.HIGHEST_PROTOCOL + 1))
def test_numpy_and_containers_round_trip(protocol):
    obj = {
        "a": np.arange(6, dtype=np.float32).reshape(2, 3), "t": np.zeros((2, 3)).T, "s": np.float64(1.5),
        "i": np.int64(3), "dt": np.dtype("int16"), "od": collections.OrderedDict(x=1), "set": {1, 2},
        "fs": frozenset([3]), "b": b"xy", "c": 1j, "none": None, "flag": True, "u": np.array(["ab", "c"]),
    }
    back = safe_loads(pickle.dumps(obj, protocol=protocol))
    assert back["a"].dtype == np.float32 and np.array_equal(back["a"], obj["a"])
    assert np.array_equal(back["t"], obj["t"]) and back["s"] == 1.5 and back["i"] == 3
    assert back["dt"] == np.dtype("int16") and back["od"] == obj["od"] and back["set"] == {1, 2}
    assert back["b"] == b"xy" and back["c"] == 1j and back["none"] is None and list(back["u"]) == ["ab", "c"]


def test_pyskl_style_dict(tmp_path):
    anno = {"split": {"xsub_train": ["a"]}, "annotations": [
        {"frame_dir": "a", "total_frames": 4, "label": 2, "keypoint": np.ones((1, 4, 25, 3), np.float32)}]}
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps(anno, protocol=4))
    back = safe_load(path)
    assert back["annotations"][0]["keypoint"].shape == (1, 4, 25, 3)


def test_truncated_garbled_empty_missing(tmp_path):
    good = pickle.dumps({"x": np.arange(100)})
    (tmp_path / "t.pkl").write_bytes(good[: len(good) // 2])
    with pytest.raises(SkelzooError, match=r"t\.pkl.*truncated"):
        safe_load(tmp_path / "t.pkl")
    (tmp_path / "g.pkl").write_bytes(b"this is not a pickle at all")
    with pytest.raises(SkelzooError, match=r"g\.pkl"):
        safe_load(tmp_path / "g.pkl")
    (tmp_path / "e.pkl").write_bytes(b"")
    with pytest.raises(SkelzooError, match="empty"):
        safe_load(tmp_path / "e.pkl")
    with pytest.raises(SkelzooError, match="no such file"):
        safe_load(tmp_path / "missing.pkl")
