import pickle

import numpy as np
import pytest

from skelzoo.errors import SkelzooError
from skelzoo.io.arrays import read_array_split, read_pyskl


def _pyskl(path, with_test_key=False):
    rng = np.random.default_rng(0)
    annos = []
    for i, (m, t) in enumerate([(1, 10), (2, 14), (3, 6)]):
        annos.append({"frame_dir": f"clip{i}", "total_frames": t, "label": i % 2,
                      "keypoint": rng.normal(size=(m, t, 25, 3)).astype(np.float32),
                      "keypoint_score": np.ones((m, t, 25), np.float32)})
    split = {"xsub_train": ["clip0", "clip1"], ("xsub_test" if with_test_key else "xsub_val"): ["clip2"]}
    path.write_bytes(pickle.dumps({"split": split, "annotations": annos}))
    return annos


def test_pyskl_to_canonical(tmp_path):
    path = tmp_path / "ntu60_3danno.pkl"
    annos = _pyskl(path)
    s = read_pyskl(path, "train")
    assert s.data.shape == (2, 3, 14, 25, 2) and list(s.num_frames) == [10, 14] and list(s.labels) == [0, 1]
    assert np.allclose(s.data[1, :, :, :, 1], annos[1]["keypoint"][1].transpose(2, 0, 1))
    assert not s.data[0, :, 10:].any() and not s.data[0, ..., 1].any()
    v = read_pyskl(path, "xsub_val")
    assert v.data.shape == (1, 3, 6, 25, 2)  # 3 bodies cut to 2
    assert np.allclose(v.data[0, ..., 1], annos[2]["keypoint"][1].transpose(2, 0, 1))
    _pyskl(path, with_test_key=True)
    assert read_pyskl(path, "val").names == ["clip2"]


def test_pyskl_errors(tmp_path):
    path = tmp_path / "a.pkl"
    _pyskl(path)
    with pytest.raises(SkelzooError, match="not found.*xsub_train, xsub_val"):
        read_pyskl(path, "xview_train")
    path.write_bytes(pickle.dumps({"annotations": []}))
    with pytest.raises(SkelzooError, match="not a pyskl"):
        read_pyskl(path)
    path.write_bytes(pickle.dumps({"split": {"train": ["x"]}, "annotations": []}))
    with pytest.raises(SkelzooError, match="no annotation"):
        read_pyskl(path)


def test_stgcn_folder(tmp_path):
    data = np.random.default_rng(0).normal(size=(4, 3, 20, 25, 2)).astype(np.float32)
    np.save(tmp_path / "train_data_joint.npy", data)
    with open(tmp_path / "train_label.pkl", "wb") as fh:
        pickle.dump((["a", "b", "c", "d"], [0, 1, 2, 1]), fh)
    s = read_array_split(tmp_path, "train")
    assert isinstance(s.data, np.memmap) and s.num_frames is None and s.names == ["a", "b", "c", "d"]
    with pytest.raises(SkelzooError, match="no val_data_joint.npy; splits here: train"):
        read_array_split(tmp_path, "val")
    np.save(tmp_path / "val_data_joint.npy", data)
    with pytest.raises(SkelzooError, match="no val_label.pkl"):
        read_array_split(tmp_path, "val")
    with open(tmp_path / "val_label.pkl", "wb") as fh:
        pickle.dump({"weird": 1}, fh)
    with pytest.raises(SkelzooError, match="expected a pickle of"):
        read_array_split(tmp_path, "val")
