import json
import pickle

import numpy as np
import pytest

from skelzoo.cli import main
from skelzoo.data.dataset import SkeletonDataset, open_dataset
from skelzoo.data.writer import write_meta, write_split
from skelzoo.errors import SkelzooError


def _make(tmp_path, n=30, classes=5, t=12, seed=0):
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(n, 3, t, 25, 2)).astype(np.float32)
    frames = rng.integers(1, t + 1, size=n)
    for i, f in enumerate(frames):
        data[i, :, f:] = 0
    labels = np.arange(n) % classes
    names = [f"clip{i:03d}" for i in range(n)]
    write_split(tmp_path, "train", data, labels, frames, names)
    write_split(tmp_path, "val", data[:6], labels[:6], frames[:6], names[:6])
    write_meta(tmp_path, dataset="toy", benchmark="xsub", layout="ntu25", num_classes=classes,
               class_names=[f"c{i}" for i in range(classes)], splits={"train": n, "val": 6})
    return data, labels, frames


def test_open_memmap_items_and_batches(tmp_path):
    data, labels, frames = _make(tmp_path)
    ds = open_dataset(tmp_path, "train")
    assert isinstance(ds.data, np.memmap) and len(ds) == 30 and ds.num_classes == 5 and ds.class_names[1] == "c1"
    clip, n, label = ds[7]
    assert clip.dtype == np.float32 and np.array_equal(clip, data[7]) and n == frames[7] and label == labels[7]
    clip[:] = 0  # a copy, not the map
    assert np.array_equal(ds[7][0], data[7])
    x, nf, y = ds.get_batch([9, 2, 5])
    assert np.array_equal(x, data[[9, 2, 5]]) and list(nf) == list(frames[[9, 2, 5]]) and list(y) == [4, 2, 0]
    sub = ds.subset([3, 4, 10])
    assert len(sub) == 3 and sub.names == ["clip003", "clip004", "clip010"]
    assert np.array_equal(sub.get_batch([2, 0])[0], data[[10, 3]]) and np.array_equal(sub[1][0], data[4])
    # Same set through the data file path.
    assert len(open_dataset(tmp_path / "val_data_joint.npy")) == 6


def test_label_fraction_balanced_and_deterministic(tmp_path):
    _make(tmp_path, n=100, classes=10)
    ds = open_dataset(tmp_path, "train")
    a, b, c = ds.label_fraction(0.2, seed=1), ds.label_fraction(0.2, seed=1), ds.label_fraction(0.2, seed=2)
    assert a.names == b.names and a.names != c.names
    assert np.bincount(a.labels, minlength=10).tolist() == [2] * 10
    tiny = ds.label_fraction(0.01, seed=0)
    assert np.bincount(tiny.labels, minlength=10).tolist() == [1] * 10  # at least one per class
    assert len(ds.label_fraction(0.3, seed=0, balanced=False)) == 30
    with pytest.raises(SkelzooError, match="label fraction"):
        ds.label_fraction(0)


def test_validation_errors(tmp_path):
    data = np.zeros((4, 3, 10, 25, 2), np.float32)
    data[:, :, :5] = 1
    with pytest.raises(SkelzooError, match="4 clips but 3 labels"):
        SkeletonDataset(data, [0, 1, 2])
    with pytest.raises(SkelzooError, match="negative label"):
        SkeletonDataset(data, [0, -1, 2, 1])
    with pytest.raises(SkelzooError, match="label 7 is out of range for 5 classes"):
        SkeletonDataset(data, [0, 1, 2, 7], meta={"num_classes": 5})
    with pytest.raises(SkelzooError, match="expected 5-D"):
        SkeletonDataset(data[0], [0, 1, 2])
    with pytest.raises(SkelzooError, match="24 joints"):
        SkeletonDataset(data[:, :, :, :24], [0, 1, 2, 3])
    bad = data.copy()
    bad[2, 0, 0, 0, 0] = np.nan
    with pytest.raises(SkelzooError, match=r"clip 2 .*NaN"):
        SkeletonDataset(bad, [0, 1, 2, 3])
    ds = SkeletonDataset(data, [0, 1, 2, 3])  # no frame counts: last non-zero frame + 1
    assert list(ds.num_frames) == [5] * 4 and ds.num_classes == 4
    with pytest.raises(SkelzooError, match="within 1..10"):
        SkeletonDataset(data, [0, 1, 2, 3], num_frames=[5, 5, 11, 5])


def test_open_dataset_errors(tmp_path):
    with pytest.raises(SkelzooError, match="no such dataset"):
        open_dataset(tmp_path / "nope")
    (tmp_path / "xsub").mkdir()
    _make(tmp_path / "xsub")
    with pytest.raises(SkelzooError, match="benchmark folders inside: xsub"):
        open_dataset(tmp_path)
    with pytest.raises(SkelzooError, match="splits here: train, val"):
        open_dataset(tmp_path / "xsub", "test")
    np.save(tmp_path / "xsub" / "train_data_joint.npy", np.zeros((3, 3, 12, 25, 2), np.float32))
    with pytest.raises(SkelzooError, match="3 clips but 30 labels"):
        open_dataset(tmp_path / "xsub")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(SkelzooError, match="not a dataset"):
        open_dataset(tmp_path / "f.txt")


def test_pyskl_through_open_dataset(tmp_path):
    kp = np.ones((1, 8, 25, 3), np.float32)
    anno = {"split": {"xsub_train": ["a", "b"], "xsub_val": ["b"]},
            "annotations": [{"frame_dir": "a", "total_frames": 8, "label": 0, "keypoint": kp},
                            {"frame_dir": "b", "total_frames": 8, "label": 3, "keypoint": kp}]}
    (tmp_path / "p.pkl").write_bytes(pickle.dumps(anno))
    ds = open_dataset(tmp_path / "p.pkl", "train")
    assert ds.shape == (2, 3, 8, 25, 2) and list(ds.labels) == [0, 3] and ds.num_classes == 4


def test_info_cli(tmp_path, capsys):
    _make(tmp_path / "xsub")
    main(["data", "info", str(tmp_path), "--json"])
    report = json.loads(capsys.readouterr().out)
    entry = report[str(tmp_path / "xsub")]
    assert entry["train"]["clips"] == 30 and entry["val"]["clips"] == 6 and entry["meta"]["num_classes"] == 5
    main(["data", "info", str(tmp_path / "xsub")])
    assert "30 clips" in capsys.readouterr().out
    with pytest.raises(SystemExit) as err:
        main(["data", "info", str(tmp_path / "missing")])
    assert err.value.code == 2
