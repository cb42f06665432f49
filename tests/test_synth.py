"""The embedded synthetic action set: determinism, format, plausibility, splits, cache and CLI."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from skelzoo.cli import app
from skelzoo.data import synth
from skelzoo.errors import SkelzooError
from skelzoo.io.preprocess import reference_preprocess, select_bodies
from skelzoo.io.safe_pickle import safe_load
from skelzoo.layouts import NTU25

ONE_PERSON = [i for i in range(len(synth.CLASS_NAMES)) if i not in synth.TWO_PERSON]


@pytest.fixture(scope="module")
def tiny():
    return synth.generate(seed=0, size="tiny")


@pytest.fixture(scope="module")
def clean():
    """No sensor noise or dropped joints, raw camera coordinates."""
    return synth.generate(seed=0, size="tiny", noise=False, preprocessing=False)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    return synth.write_synthetic(out, seed=0, size="tiny")


def _bone_lengths(clip: np.ndarray) -> np.ndarray:
    """(C, T, V) one body -> (T, bones)."""
    child = np.array([c for c, _ in NTU25.bones])
    parent = np.array([p for _, p in NTU25.bones])
    return np.linalg.norm(clip[:, :, child] - clip[:, :, parent], axis=0)


def test_same_seed_same_arrays_and_other_seeds_differ(tiny):
    again = synth.generate(seed=0, size="tiny")
    for key in ("data", "labels", "num_frames", "names", "subject", "camera"):
        assert np.array_equal(tiny[key], again[key]), key
    assert tiny["data"].tobytes() == again["data"].tobytes()
    other = synth.generate(seed=1, size="tiny")
    assert not np.array_equal(tiny["data"], other["data"])
    assert not np.array_equal(tiny["num_frames"], other["num_frames"])


def test_shapes_dtypes_names_and_padding(tiny):
    subjects, reps = synth.SIZES["tiny"]
    n = len(synth.CLASS_NAMES) * subjects * 3 * reps
    assert len(synth.CLASS_NAMES) >= 12 and len(synth.TWO_PERSON) >= 3
    assert tiny["data"].shape == (n, 3, synth.FRAMES, 25, 2) and tiny["data"].dtype == np.float32
    assert tiny["labels"].dtype == np.int64 and set(tiny["labels"]) == set(range(len(synth.CLASS_NAMES)))
    nf = tiny["num_frames"]
    assert nf.min() >= synth.MIN_FRAMES and nf.max() <= synth.FRAMES and len(np.unique(nf)) > 20
    t = np.arange(synth.FRAMES)
    padding = t[None, :] >= nf[:, None]
    assert not np.any(tiny["data"].transpose(0, 2, 1, 3, 4)[padding])
    # The last valid frame holds body 1.
    assert np.all(np.abs(tiny["data"][np.arange(n), :, nf - 1, :, 0]).sum(axis=(1, 2)) > 0)
    assert np.isfinite(tiny["data"]).all() and np.abs(tiny["data"]).max() < 5.0
    for name, c, p, r, a in zip(tiny["names"], tiny["camera"], tiny["subject"], tiny["repetition"], tiny["labels"]):
        assert re.fullmatch(r"S001C00[123]P\d{3}R\d{3}A\d{3}", name)
        assert name == f"S001C{c:03d}P{p:03d}R{r:03d}A{a + 1:03d}"
    assert len(set(tiny["names"])) == n


def test_second_body_only_in_two_person_actions(tiny):
    second = np.abs(tiny["data"][..., 1]).sum(axis=(1, 3))  # (N, T)
    nf = tiny["num_frames"]
    for i, label in enumerate(tiny["labels"]):
        if label in synth.TWO_PERSON:
            assert np.all(second[i, : nf[i]] > 0), tiny["names"][i]
        else:
            assert not second[i].any(), tiny["names"][i]


def test_bone_lengths_constant_over_time_and_per_subject(clean):
    data, nf = clean["data"], clean["num_frames"]
    per_subject: dict[int, list[np.ndarray]] = {}
    for i in range(len(nf)):
        bodies = 2 if clean["labels"][i] in synth.TWO_PERSON else 1
        for m in range(bodies):
            lengths = _bone_lengths(data[i, :, : nf[i], :, m])
            assert np.ptp(lengths, axis=0).max() < 1e-4, clean["names"][i]
            assert lengths.min() > 0.02 and lengths.max() < 0.6
        if clean["labels"][i] in ONE_PERSON:
            per_subject.setdefault(int(clean["subject"][i]), []).append(lengths[0])
    for subject, rows in per_subject.items():
        assert np.ptp(np.stack(rows), axis=0).max() < 1e-4, subject
    heights = [np.mean(rows[0]) for rows in per_subject.values()]
    assert len(set(np.round(heights, 4))) == len(heights)  # subjects differ in size


def test_raw_coordinates_are_camera_frame(clean):
    spine = clean["data"][:, :, 0, 1, 0]  # first frame, spine_mid, body 1
    assert np.all((spine[:, 2] > 2.0) & (spine[:, 2] < 4.2))  # depth from the camera
    head_above_feet = clean["data"][:, 1, 0, 3, 0] - clean["data"][:, 1, 0, 15, 0]
    assert np.all(head_above_feet > 0.3)  # y is up


def test_noise_and_dropped_joints(tiny):
    quiet = synth.generate(seed=0, size="tiny", noise=False)
    assert not np.array_equal(quiet["data"], tiny["data"])
    assert np.array_equal(quiet["num_frames"], tiny["num_frames"])
    nf = tiny["num_frames"]
    valid = np.arange(synth.FRAMES)[None, :] < nf[:, None]
    joint_zero = np.all(tiny["data"][..., 0] == 0, axis=1)  # (N, T, V), body 1
    dropped = joint_zero & valid[:, :, None]
    dropped[:, :, 1] = False  # the centre joint is zero by construction after centring
    assert 0 < dropped.sum() < 0.01 * valid.sum() * 25


def test_preprocess_matches_the_reference_pipeline(clean):
    mine = synth.preprocess(clean["data"], clean["num_frames"])
    for i in range(0, len(mine), 7):
        n = clean["num_frames"][i]
        bodies, _ = select_bodies(clean["data"][i, :, :n].transpose(3, 1, 2, 0), max_bodies=2)
        ref, kept = reference_preprocess(bodies, max_frames=synth.FRAMES)
        assert kept == n
        np.testing.assert_allclose(mine[i], ref, atol=1e-4)
    # Body 1 faces a canonical frame: hip->spine is +z in the first frame.
    bone = mine[:, :, 0, 1, 0] - mine[:, :, 0, 0, 0]
    np.testing.assert_allclose(bone / np.linalg.norm(bone, axis=1, keepdims=True), np.tile([0, 0, 1.0], (len(bone), 1)), atol=1e-5)


def test_splits_cover_every_class_and_are_disjoint(tiny):
    xs_train, xs_test = synth.split_indices(tiny, "xsub")
    assert set(tiny["subject"][xs_train]).isdisjoint(tiny["subject"][xs_test])
    assert set(tiny["subject"][xs_train]) <= set(synth.TRAIN_SUBJECTS)
    xv_train, xv_test = synth.split_indices(tiny, "xview")
    assert set(tiny["camera"][xv_train]) == {2, 3} and set(tiny["camera"][xv_test]) == {1}
    everything = set(range(len(synth.CLASS_NAMES)))
    for idx in (xs_train, xs_test, xv_train, xv_test):
        assert set(tiny["labels"][idx]) == everything
    assert synth.VIEW_ANGLES == {1: 0.0, 2: 45.0, 3: -45.0}
    with pytest.raises(SkelzooError, match="xsub"):
        synth.split_indices(tiny, "xsetup")


def test_written_directory_format(written, tiny):
    for bench in synth.BENCHMARKS:
        d = written / bench
        meta = json.loads((d / "meta.json").read_text())
        assert meta["dataset"] == "synth" and meta["benchmark"] == bench and meta["layout"] == "ntu25"
        assert meta["num_classes"] == len(synth.CLASS_NAMES) and meta["class_names"] == list(synth.CLASS_NAMES)
        total = 0
        for split in ("train", "val"):
            data = np.load(d / f"{split}_data_joint.npy", mmap_mode="r")
            frames = np.load(d / f"{split}_num_frame.npy")
            names, labels = safe_load(d / f"{split}_label.pkl")
            assert data.dtype == np.float32 and data.shape[1:] == (3, synth.FRAMES, 25, 2)
            assert len(names) == len(labels) == len(frames) == data.shape[0] == meta["splits"][split]
            assert frames.dtype == np.int64
            index = {name: i for i, name in enumerate(tiny["names"])}
            rows = np.array([index[name] for name in names])
            assert np.array_equal(np.asarray(data), tiny["data"][rows])
            assert list(labels) == tiny["labels"][rows].tolist()
            total += len(names)
        assert total == len(tiny["names"])
        cams = {int(n[5:8]) for n in safe_load(d / "val_label.pkl")[0]}
        if bench == "xview":
            assert cams == {1}


def test_center_crop_matches_the_torch_evaluation_crop(tiny):
    from skelzoo.augment import center_crop

    mine = synth.center_crop_np(tiny["data"][:20], tiny["num_frames"][:20])
    ref = center_crop(torch.from_numpy(tiny["data"][:20]), torch.from_numpy(tiny["num_frames"][:20])).numpy()
    np.testing.assert_allclose(mine, ref, atol=1e-5)


def test_raw_baseline_is_learnable_but_not_solved(written):
    for bench in synth.BENCHMARKS:
        scores = synth.raw_knn_baseline(written / bench)
        assert scores["chance"] == pytest.approx(100 / len(synth.CLASS_NAMES))
        assert 3 * scores["chance"] < scores["knn1_top1"] < 90.0
        assert 3 * scores["chance"] < scores["ncm_top1"] < 90.0
    with pytest.raises(SkelzooError, match="benchmark directory"):
        synth.raw_knn_baseline(written)


def test_default_synth_dir_caches_atomically(tmp_path, monkeypatch):
    monkeypatch.setenv("SKELZOO_CACHE", str(tmp_path / "cache"))
    first = synth.default_synth_dir(seed=2, size="tiny")
    assert first == tmp_path / "cache" / "synth-v1-tiny-seed2"
    stamp = (first / "xsub" / "train_data_joint.npy").stat().st_mtime_ns
    assert synth.default_synth_dir(seed=2, size="tiny") == first
    assert (first / "xsub" / "train_data_joint.npy").stat().st_mtime_ns == stamp  # not rewritten
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [first.name]  # no temp dirs left
    # A half-written set (no meta.json) is replaced, not trusted.
    (first / "xview" / "meta.json").unlink()
    assert synth.default_synth_dir(seed=2, size="tiny") == first
    assert (first / "xview" / "meta.json").is_file()


def test_unknown_size_is_a_user_error(tmp_path):
    with pytest.raises(SkelzooError, match="did you mean 'tiny'|Did you mean 'tiny'"):
        synth.generate(size="tinyy")
    with pytest.raises(SkelzooError, match="Known: default, tiny"):
        synth.write_synthetic(tmp_path, size="huge")


def test_cli_writes_the_set_and_reports(tmp_path):
    out = tmp_path / "synth"
    result = CliRunner().invoke(app, ["data", "synth", "--out", str(out), "--size", "tiny", "--seed", "3", "--baseline", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["num_classes"] == len(synth.CLASS_NAMES)
    assert summary["benchmarks"]["xview"]["val"] == 60 and summary["benchmarks"]["xview"]["train"] == 120
    assert 0 < summary["benchmarks"]["xsub"]["raw_baseline"]["knn1_top1"] <= 100
    for bench in synth.BENCHMARKS:
        assert (out / bench / "meta.json").is_file() and (out / bench / "val_data_joint.npy").is_file()
    expected = synth.generate(seed=3, size="tiny")
    train, _ = synth.split_indices(expected, "xsub")
    assert np.array_equal(np.load(out / "xsub" / "train_num_frame.npy"), expected["num_frames"][train])

    plain = CliRunner().invoke(app, ["data", "synth", "--out", str(tmp_path / "p"), "--size", "tiny"])
    assert plain.exit_code == 0 and "15 classes" in plain.output and "xview: 120 train / 60 test" in plain.output

    from skelzoo.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["data", "synth", "--out", str(tmp_path / "bad"), "--size", "large"])
    assert exit_info.value.code == 2


def test_written_set_opens_with_the_dataset_reader(written):
    from skelzoo.data.dataset import open_dataset

    ds = open_dataset(written / "xview", split="val", validate=True)
    assert len(ds.labels) == 60 and all(name[4:8] == "C001" for name in ds.names)
    assert np.array_equal(np.asarray(ds.num_frames), np.load(written / "xview" / "val_num_frame.npy"))
