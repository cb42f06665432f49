from pathlib import Path

import numpy as np
import pytest

from skelzoo.data.dataset import open_dataset
from skelzoo.errors import SkelzooError
from skelzoo.io import ntu
from skelzoo.io.preprocess import reference_preprocess, select_bodies

REAL = Path("/work/shared/data/ntu_skeleton")
A024 = REAL / "S001C001P001R001A024.skeleton"


def needs_real():
    if not REAL.is_dir():
        pytest.skip("real NTU sample files not available")


def _joint_line(rng):
    xyz = " ".join(f"{v:.6f}" for v in rng.normal(size=3))
    return xyz + " 277.4 191.8 1036.2 519.1 -0.2 0.05 0.97 -0.12 2"


def _synthetic(frames=3, bodies=(1, 2, 1), newline="\n", seed=0):
    rng = np.random.default_rng(seed)
    lines = [str(frames)]
    for f in range(frames):
        lines.append(str(bodies[f]))
        for b in range(bodies[f]):
            lines.append(f"{72057594037931101 + b} 0 1 1 1 1 0 0.02 0.05 2")
            lines.append("25")
            lines += [_joint_line(rng) for _ in range(25)]
    return newline.join(lines) + newline


def test_names_and_splits():
    info = ntu.parse_name("S017C003P020R002A055.skeleton")
    assert (info.setup, info.camera, info.performer, info.replication, info.action, info.label) == (17, 3, 20, 2, 55, 54)
    with pytest.raises(SkelzooError, match="SsssCcccPpppRrrrAaaa"):
        ntu.parse_name("clip_001.skeleton")
    assert ntu.split_of("S001C001P001R001A001", "ntu60", "xsub") == "train"
    assert ntu.split_of("S001C001P003R001A001", "ntu60", "xsub") == "val"
    assert ntu.split_of("S020C001P045R001A001", "ntu120", "xsub") == "train"  # 45: NTU-120 only
    assert ntu.split_of("S001C001P045R001A001", "ntu60", "xsub") == "val"
    assert ntu.split_of("S001C002P003R001A001", "ntu60", "xview") == "train"
    assert ntu.split_of("S001C001P001R001A001", "ntu60", "xview") == "val"
    assert ntu.split_of("S002C001P003R001A001", "ntu120", "xset") == "train"
    assert ntu.split_of("S003C001P001R001A001", "ntu120", "xset") == "val"
    assert len(ntu.NTU60_XSUB_TRAIN) == 20 and len(ntu.NTU120_XSUB_TRAIN) == 53


def test_synthetic_file_parses_exactly(tmp_path):
    text = _synthetic()
    path = tmp_path / "S001C001P001R001A001.skeleton"
    path.write_text(text)
    raw = ntu.read_skeleton(path)
    assert raw.bodies.shape == (2, 3, 25, 3) and raw.num_frames == 3
    assert raw.body_ids == [72057594037931101, 72057594037931102]
    first = [float(v) for v in text.splitlines()[4].split()[:3]]
    assert np.array_equal(raw.bodies[0, 0, 0], np.float32(first))
    assert not raw.bodies[1, 0].any() and raw.bodies[1, 1].any()  # body 2 only in frame 2


def test_crlf_and_lf_identical(tmp_path):
    lf, crlf = tmp_path / "lf.skeleton", tmp_path / "crlf.skeleton"
    lf.write_bytes(_synthetic().encode())
    crlf.write_bytes(_synthetic(newline="\r\n").encode())
    assert np.array_equal(ntu.read_skeleton(lf).bodies, ntu.read_skeleton(crlf).bodies)
    # Tabs and doubled spaces take the general path and still agree.
    messy = tmp_path / "messy.skeleton"
    messy.write_bytes(_synthetic().replace(" 277.4", "\t 277.4").replace("2\n", "2 \n").encode())
    assert np.array_equal(ntu.read_skeleton(messy).bodies, ntu.read_skeleton(lf).bodies)


def test_real_crlf_file_matches_its_lf_version(tmp_path):
    needs_real()
    crlf = REAL / "S002C001P003R001A003.skeleton"
    assert b"\r\n" in crlf.read_bytes()
    lf = tmp_path / crlf.name
    lf.write_bytes(crlf.read_bytes().replace(b"\r\n", b"\n"))
    assert np.array_equal(ntu.read_skeleton(crlf).bodies, ntu.read_skeleton(lf).bodies)


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda t: t[: len(t) // 2], r"truncated|ends"),
        (lambda t: t.replace("25\n", "24\n", 1), "24 joints"),
        (lambda t: t.replace("\n2\n", "\nx\n", 1), r"line \d+|not an integer"),
        (lambda t: t.replace(t.splitlines()[10].split()[1], "0.1z3", 1), r"line 11|not numbers|garbled"),
        (lambda t: t + "1 2 3\n", "unexpected lines|line"),
        (lambda t: "", "empty"),
    ],
)
def test_broken_files_name_file_and_place(tmp_path, mutate, match):
    path = tmp_path / "S001C001P001R001A001.skeleton"
    path.write_text(mutate(_synthetic()))
    with pytest.raises(SkelzooError, match=match) as err:
        ntu.read_skeleton(path)
    assert "S001C001P001R001A001.skeleton" in str(err.value)


def test_truncated_real_file_names_frame(tmp_path):
    needs_real()
    data = (REAL / "S001C001P001R001A001.skeleton").read_bytes()
    path = tmp_path / "S001C001P001R001A001.skeleton"
    path.write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises(SkelzooError, match=r"S001C001P001R001A001\.skeleton.*(frame \d+|line \d+)"):
        ntu.read_skeleton(path)


def test_no_skeleton_file_is_an_error(tmp_path):
    path = tmp_path / "S001C001P001R001A001.skeleton"
    path.write_text("3\n0\n0\n0\n")
    assert ntu.read_skeleton(path).bodies.shape == (0, 3, 25, 3)
    with pytest.raises(SkelzooError, match="no skeleton"):
        ntu.load_ntu_clip(path)


def test_all_real_files_parse_and_normalise():
    needs_real()
    for path in sorted(REAL.glob("*.skeleton")):
        clip, n = ntu.load_ntu_clip(path)
        raw = ntu.read_skeleton(path)
        assert clip.shape == (3, 300, 25, 2) and clip.dtype == np.float32 and n == raw.num_frames
        assert not clip[:, n:].any() and np.isfinite(clip).all()
        # First body's spine at the origin in every frame; hip -> spine along +z in the first frame.
        assert np.abs(clip[:, :n, 1, 0]).max() < 1e-6
        bone = clip[:, 0, 1, 0] - clip[:, 0, 0, 0]
        assert bone[2] > 0 and np.abs(bone[:2]).max() < 1e-5
        across = clip[:, 0, 4, 0] - clip[:, 0, 8, 0]  # right -> left shoulder along +x
        assert across[0] > 0 and abs(across[1]) < 1e-5


def test_a024_spurious_body_dropped():
    needs_real()
    raw = ntu.read_skeleton(A024)
    assert raw.bodies.shape[0] == 2  # the file has a second, furniture-like "body" in every frame
    _, kept = select_bodies(raw.bodies)
    assert len(kept) == 1
    clip, n = ntu.load_ntu_clip(A024)
    assert clip[..., 0].any() and not clip[..., 1].any()
    # Two-person files keep both people.
    for name in ("S001C001P001R001A050", "S001C001P001R001A060", "S017C003P020R002A055"):
        clip, _ = ntu.load_ntu_clip(REAL / f"{name}.skeleton")
        assert clip[..., 0].any() and clip[..., 1].any()


def test_preprocess_drops_empty_frames_and_resamples():
    rng = np.random.default_rng(0)
    bodies = np.zeros((2, 20, 25, 3), np.float32)
    bodies[0, 3:15] = rng.normal(size=(12, 25, 3))
    out, n = reference_preprocess(bodies, max_frames=30)
    assert n == 12 and out.shape == (3, 30, 25, 2) and not out[:, 12:].any()
    out, n = reference_preprocess(bodies, max_frames=8)
    assert n == 8 and out[:, 7].any()
    out, n = reference_preprocess(bodies, max_frames=30, repeat_pad=True)
    assert n == 12 and np.allclose(out[:, 12:24], out[:, :12])


def _prepare_raw(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for p in REAL.glob("*.skeleton"):
        (raw / p.name).symlink_to(p)
    (raw / "S001C001P001R001A002.skeleton").write_text("2\n0\n0\n")  # a known "missing skeleton" kind
    return raw


def test_prepare_splits_resume_and_skips(tmp_path):
    needs_real()
    raw, out = _prepare_raw(tmp_path), tmp_path / "out"
    result = ntu.prepare_ntu(raw, out, "ntu60", workers=2, progress=False)
    assert result["parsed"] == 10 and result["cached"] == 0
    assert [s["file"] for s in result["skipped"]] == ["S001C001P001R001A002.skeleton"]
    assert "no skeleton" in result["skipped"][0]["reason"]
    assert "S001C001P001R001A002" in (out / "skipped.txt").read_text()
    for bench in ("xsub", "xview"):
        for split in ("train", "val"):
            ds = open_dataset(out / bench, split)
            for name, label in zip(ds.names, ds.labels):
                assert ntu.split_of(name, "ntu60", bench) == split
                assert label == ntu.parse_name(name).label
        assert ds.num_classes == 60 and ds.layout == "ntu25"
    xsub_train = open_dataset(out / "xsub", "train")
    assert sorted(xsub_train.names) == xsub_train.names and len(xsub_train) == 6
    clip, n, label = xsub_train[xsub_train.names.index("S001C001P001R001A024")]
    ref, ref_n = ntu.load_ntu_clip(REAL / "S001C001P001R001A024.skeleton")
    assert n == ref_n and np.array_equal(clip, ref) and label == 23
    # Second run: everything from the cache, same arrays.
    before = np.load(out / "xview" / "val_data_joint.npy")
    again = ntu.prepare_ntu(raw, out, "ntu60", workers=1, progress=False)
    assert again["parsed"] == 0 and again["cached"] == 10
    assert np.array_equal(before, np.load(out / "xview" / "val_data_joint.npy"))
    # A changed source file is re-parsed; a skip list removes files.
    (raw / "S001C001P001R001A002.skeleton").write_text("1\n0\n")
    skip = tmp_path / "skip.txt"
    skip.write_text("# known bad\nS001C001P001R001A050\n")
    third = ntu.prepare_ntu(raw, out, "ntu60", benchmarks=("xsub",), skip_list=skip, progress=False)
    assert third["parsed"] == 1 and third["cached"] == 8
    assert any("skip list" in s["reason"] for s in third["skipped"])
    assert "S001C001P001R001A050" not in open_dataset(out / "xsub", "train").names + open_dataset(out / "xsub", "val").names


def test_prepare_errors(tmp_path):
    with pytest.raises(SkelzooError, match="not a directory"):
        ntu.prepare_ntu(tmp_path / "nope", tmp_path / "out", progress=False)
    with pytest.raises(SkelzooError, match="no NTU60 .skeleton files"):
        ntu.prepare_ntu(tmp_path, tmp_path / "out", progress=False)
    with pytest.raises(SkelzooError, match="xset"):
        ntu.prepare_ntu(tmp_path, tmp_path / "out", "ntu60", benchmarks=("xset",), progress=False)
    with pytest.raises(SkelzooError, match="did you mean|Did you mean"):
        ntu.prepare_ntu(tmp_path, tmp_path / "out", "ntu61", progress=False)


def test_cli_prepare_ntu_json_and_help(tmp_path, capsys):
    needs_real()
    import json

    from typer.testing import CliRunner

    from skelzoo.cli import app, main

    raw = _prepare_raw(tmp_path)
    main(["data", "prepare", "ntu60", "--raw", str(raw), "--out", str(tmp_path / "o"), "--workers", "1",
          "--benchmark", "xview", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert result["benchmarks"] == {"xview": {"train": 3, "val": 6}} and len(result["skipped"]) == 1
    assert not (tmp_path / "o" / "xsub").exists()
    with pytest.raises(SystemExit) as err:
        main(["data", "prepare", "ntu60", "--raw", str(raw), "--out", str(tmp_path / "o"), "--labels", str(raw)])
    assert err.value.code == 2
    with pytest.raises(SystemExit) as err:
        main(["data", "prepare", "ntu6O", "--raw", str(raw), "--out", str(tmp_path / "o")])
    assert err.value.code == 2 and "ntu60" in capsys.readouterr().err
    help_text = CliRunner().invoke(app, ["data", "prepare", "--help"]).output
    assert "--skip-list" in help_text and "--split-file" in help_text and "resume" in help_text.lower()
