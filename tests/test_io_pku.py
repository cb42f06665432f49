import json
from pathlib import Path

import numpy as np
import pytest

from skelzoo.cli import main
from skelzoo.data.dataset import open_dataset
from skelzoo.errors import SkelzooError
from skelzoo.io import pku

REAL = Path("/work/shared/data/pku_mmd/A10N08-L.txt")


def _video(path, frames=60, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(frames, 150))
    x[:, 75:] = 0  # second body absent
    path.write_text("\n".join(" ".join(f"{v:.6f}" for v in row) for row in x) + "\n")
    return x


def _setup(tmp_path, real=True):
    raw, labels = tmp_path / "raw", tmp_path / "labels"
    raw.mkdir(), labels.mkdir()
    if real:
        if not REAL.exists():
            pytest.skip("real PKU-MMD sample not available")
        (raw / REAL.name).symlink_to(REAL)
        (labels / REAL.name).write_text("3,10,120,1\n7,200,500,2\n41,600,1000,1\n")
    _video(raw / "0002-M.txt")
    (labels / "0002-M.txt").write_text("1,0,30,1\n2,30,60,1\n")
    return raw, labels


def test_read_real_skeleton_and_segments(tmp_path):
    if not REAL.exists():
        pytest.skip("real PKU-MMD sample not available")
    bodies = pku.read_pku_skeleton(REAL)
    assert bodies.shape == (2, 1040, 25, 3)
    first = np.array(REAL.read_text().splitlines()[0].split()[:3], dtype=np.float32)
    assert np.array_equal(bodies[0, 0, 0], first)
    clips = pku.segment_clips(bodies, [(2, 10, 120), (6, 200, 500)], "A10N08-L")
    assert [c.name for c in clips] == ["A10N08-L_000", "A10N08-L_001"]
    assert clips[0].num_frames == 110 and clips[1].num_frames == 300  # 300 frames resampled to 300
    c = clips[0].data
    assert np.abs(c[:, :110, 1, 0]).max() < 1e-6
    bone = c[:, 0, 1, 0] - c[:, 0, 0, 0]
    assert bone[2] > 0 and np.abs(bone[:2]).max() < 1e-5


def test_label_and_skeleton_errors(tmp_path):
    bad = tmp_path / "v.txt"
    bad.write_text("1 2 3\n")
    with pytest.raises(SkelzooError, match=r"v\.txt: line 1 has 3 values, expected 150"):
        pku.read_pku_skeleton(bad)
    bad.write_text(" ".join(["0.1"] * 149 + ["x"]) + "\n")
    with pytest.raises(SkelzooError, match="line 1.*not a number"):
        pku.read_pku_skeleton(bad)
    lab = tmp_path / "l.txt"
    lab.write_text("52,1,10,1\n")
    with pytest.raises(SkelzooError, match="class 52 is outside 1..51"):
        pku.read_pku_labels(lab, 51)
    lab.write_text("3,10,5,1\n")
    with pytest.raises(SkelzooError, match="empty"):
        pku.read_pku_labels(lab, 51)
    lab.write_text("three,1,2\n")
    with pytest.raises(SkelzooError, match="line 1"):
        pku.read_pku_labels(lab, 51)


def test_split_file_formats(tmp_path):
    official = tmp_path / "cross-subject.txt"
    official.write_text("Training videos: \n0002-L, 0002-M, 0003-R,\nValidataion videos: \n0291-L, 0291-M\n")
    s = pku.read_split_file(official)
    assert s["train"] == {"0002-L", "0002-M", "0003-R"} and s["val"] == {"0291-L", "0291-M"}
    js = tmp_path / "s.json"
    js.write_text(json.dumps({"train": ["a.txt"], "test": ["b"]}))
    assert pku.read_split_file(js) == {"train": {"a"}, "val": {"b"}}
    js.write_text(json.dumps({"train": ["a"]}))
    with pytest.raises(SkelzooError, match="both training and validation"):
        pku.read_split_file(js)


def test_prepare_pku_and_cli(tmp_path):
    raw, labels = _setup(tmp_path)
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": ["A10N08-L"], "val": ["0002-M"]}))
    result = pku.prepare_pku(raw, labels, tmp_path / "out", split, "pku2", progress=False)
    assert result["benchmarks"]["xsub"] == {"train": 3, "val": 2}
    train = open_dataset(tmp_path / "out" / "xsub", "train")
    assert list(train.labels) == [2, 6, 40] and train.num_classes == 41
    val = open_dataset(tmp_path / "out" / "xsub", "val")
    assert list(val.labels) == [0, 1] and list(val.num_frames) == [30, 30]
    # CLI: missing split file is explained, then the full command works and resumes from cache.
    with pytest.raises(SystemExit) as err:
        main(["data", "prepare", "pku2", "--raw", str(raw), "--labels", str(labels), "--out", str(tmp_path / "o2")])
    assert err.value.code == 2
    with pytest.raises(SystemExit) as err:
        main(["data", "prepare", "pku2", "--raw", str(raw), "--out", str(tmp_path / "o2"), "--split-file", str(split)])
    assert err.value.code == 2
    main(["data", "prepare", "pku2", "--raw", str(raw), "--labels", str(labels), "--split-file", str(split),
          "--out", str(tmp_path / "out"), "--workers", "1"])
    assert (tmp_path / "out" / "xsub" / "meta.json").exists()
