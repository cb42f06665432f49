"""`skelzoo extract`: features for clip files in every layout, folders and prepared datasets."""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest
import torch

import skelzoo
import skelzoo.cli
from skelzoo.augment import center_crop
from skelzoo.checkpoint import save_checkpoint
from skelzoo.errors import SkelzooError
from skelzoo.models import create_encoder
from skelzoo.zoo.extract import extract_features, read_features
from skelzoo.zoo.hub import DEFAULT_INPUT_SPEC, save_pretrained

RNG = np.random.default_rng(0)


def cli(args: list[str]) -> int:
    try:
        skelzoo.cli.main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    torch.manual_seed(0)
    enc = create_encoder("seq", width=1 / 64, num_layers=1)
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    save_checkpoint(path, {"encoders": {"seq": {"arch": "seq", "kwargs": enc.config, "state_dict": enc.state_dict()}},
                           "default_encoder": "seq", "input_spec": dict(DEFAULT_INPUT_SPEC)})
    return path


def make_clip(t: int = 50, valid: int = 41, bodies: int = 2) -> np.ndarray:
    """(C, T, V, M) with `valid` non-zero frames then zero padding."""
    clip = np.zeros((3, t, 25, bodies), np.float32)
    clip[:, :valid] = RNG.normal(size=(3, valid, 25, bodies))
    return clip


def direct(model_path, clip_ctvm: np.ndarray, valid: int) -> np.ndarray:
    """The encoder called by hand on the evaluation centre crop."""
    enc = skelzoo.load(str(model_path))
    x = torch.from_numpy(clip_ctvm)[None]
    if x.shape[-1] < 2:
        x = torch.cat([x, torch.zeros_like(x)], dim=-1)
    with torch.no_grad():
        return enc(center_crop(x, torch.tensor([valid]), ratio=0.95, out_frames=64)).numpy()


def test_every_clip_layout_gives_the_direct_features(tmp_path, model_path):
    two = make_clip(bodies=2)
    one = make_clip(bodies=1)
    files = {
        "two_ctvm.npy": two, "two_mtvc.npy": two.transpose(3, 1, 2, 0),
        "one_tvc.npy": one[..., 0].transpose(1, 2, 0), "one_ctvm.npy": one, "one_mtvc.npy": one.transpose(3, 1, 2, 0),
    }
    for name, arr in files.items():
        np.save(tmp_path / name, np.ascontiguousarray(arr))
    feats, names = extract_features(str(model_path), [tmp_path / n for n in files])
    assert names == [n[:-4] for n in files]
    want_two, want_one = direct(model_path, two, 41), direct(model_path, one, 41)
    assert feats.shape == (5, 32)
    for i, n in enumerate(names):
        np.testing.assert_allclose(feats[i], (want_two if n.startswith("two") else want_one)[0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(want_one, want_two)


def test_folder_input_and_npy_output_with_names(tmp_path, model_path):
    (tmp_path / "clips" / "sub").mkdir(parents=True)
    a, b = make_clip(t=30, valid=30), make_clip(t=80, valid=77)
    np.save(tmp_path / "clips" / "a.npy", a)
    np.save(tmp_path / "clips" / "sub" / "b.npy", b)
    out = tmp_path / "f.npy"
    assert cli(["extract", "--model", str(model_path), str(tmp_path / "clips"), "-o", str(out)]) == 0
    feats, names = read_features(out)
    assert names == ["a", "sub/b"] and (tmp_path / "f.names.txt").is_file()
    np.testing.assert_allclose(feats[1], direct(model_path, b, 77)[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(feats[0], direct(model_path, a, 30)[0], rtol=1e-5, atol=1e-6)


def test_dataset_input_and_safetensors_output(tmp_path, model_path, capsys):
    from skelzoo.data.writer import write_meta, write_split

    data = np.stack([make_clip(t=60, valid=v) for v in (60, 45, 20)])
    write_split(tmp_path / "ds", "val", data, [0, 1, 2], [60, 45, 20], ["s1", "s2", "s3"])
    write_split(tmp_path / "ds", "train", data[:1], [0], [60], ["t1"])
    write_meta(tmp_path / "ds", dataset="synth", benchmark="xsub", layout="ntu25", num_classes=3,
               class_names=["a", "b", "c"], splits={"train": 1, "val": 3}, source="test")
    out = tmp_path / "f.safetensors"
    assert cli(["extract", "-m", str(model_path), str(tmp_path / "ds"), "--split", "val", "-o", str(out),
                "--batch-size", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"out": str(out), "clips": 3, "feature_dim": 32}
    feats, names = read_features(out)
    assert names == ["s1", "s2", "s3"]
    for i, v in enumerate((60, 45, 20)):
        np.testing.assert_allclose(feats[i], direct(model_path, data[i], v)[0], rtol=1e-5, atol=1e-6)
    from safetensors import safe_open

    with safe_open(str(out), framework="np") as fh:
        meta = fh.metadata()
    assert json.loads(meta["input_spec"])["layout"] == "ntu25" and json.loads(meta["encoder"]) == "seq"


def test_save_pretrained_folder_as_model(tmp_path, model_path):
    folder = save_pretrained(model_path, tmp_path / "m")
    np.save(tmp_path / "c.npy", make_clip())
    f1, _ = extract_features(str(folder), [tmp_path / "c.npy"])
    f2, _ = extract_features(str(model_path), [tmp_path / "c.npy"])
    np.testing.assert_array_equal(f1, f2)


def test_onnx_backend_goes_through_the_same_crop(tmp_path, model_path, monkeypatch):
    enc = skelzoo.load(str(model_path))

    class FakeOnnx:  # stands in for skelzoo.export.runtime.OnnxEncoder: numpy in, numpy out
        def __init__(self, path, device="auto"):
            self.input_spec = dict(DEFAULT_INPUT_SPEC)
            self.calls = []

        def __call__(self, x):
            assert isinstance(x, np.ndarray) and x.shape[2] == 64
            with torch.no_grad():
                return enc(torch.from_numpy(x)).numpy()

    fake = types.ModuleType("skelzoo.export.runtime")
    fake.OnnxEncoder = FakeOnnx
    monkeypatch.setitem(sys.modules, "skelzoo.export.runtime", fake)
    (tmp_path / "m.onnx").write_bytes(b"stand-in")
    clip = make_clip()
    np.save(tmp_path / "c.npy", clip)
    feats, _ = extract_features(str(tmp_path / "m.onnx"), [tmp_path / "c.npy"], backend="onnx")
    np.testing.assert_allclose(feats, direct(model_path, clip, 41), rtol=1e-5, atol=1e-6)
    with pytest.raises(SkelzooError, match="needs --model FILE.onnx"):
        extract_features(str(model_path), [tmp_path / "c.npy"], backend="onnx")


def test_bad_inputs_say_what_the_model_expects(tmp_path, model_path, capsys):
    np.save(tmp_path / "coco.npy", RNG.normal(size=(30, 17, 3)).astype(np.float32))
    with pytest.raises(SkelzooError) as err:
        extract_features(str(model_path), [tmp_path / "coco.npy"])
    assert "coco.npy" in str(err.value) and "layout 'ntu25'" in str(err.value)
    with pytest.raises(SkelzooError, match="must end in .npy or .safetensors"):
        extract_features(str(model_path), [tmp_path / "coco.npy"], tmp_path / "f.csv")
    with pytest.raises(SkelzooError, match="no such file"):
        extract_features(str(model_path), [tmp_path / "missing.npy"])
    # through the CLI: one line, exit code 2
    assert cli(["extract", "--model", "ntu60-xveiw-seq-stg", str(tmp_path / "coco.npy"), "-o", "f.npy"]) == 2
    assert "Did you mean 'ntu60-xview-seq-stg'" in capsys.readouterr().err
    assert cli(["extract", "--model", "ntu60-seq-stg", str(tmp_path / "coco.npy"), "-o", "f.npy"]) == 2
    err_text = capsys.readouterr().err
    assert "not trained yet" in err_text and "skelzoo train --recipe ntu60-xview-seq-stg" in err_text


def test_other_layouts_are_mapped_onto_the_model_layout(tmp_path, model_path, capsys):
    from skelzoo.io.clip import load_clip
    from skelzoo.layout_mapping import adapt_clip

    coco = RNG.normal(size=(30, 17, 3)).astype(np.float32)
    np.save(tmp_path / "coco.npy", coco)
    feats, _ = extract_features(str(model_path), [tmp_path / "coco.npy"], layout="coco17")
    clip, frames = load_clip(tmp_path / "coco.npy", "coco17", max_bodies=2)
    mapped, _ = adapt_clip(clip, "coco17", "ntu25")
    np.testing.assert_allclose(feats, direct(model_path, np.asarray(mapped), frames), rtol=1e-5, atol=1e-6)
    assert "interpolated" in capsys.readouterr().err  # the user is told which joints were estimated
    # 2D keypoints: refused without a lift, accepted with --lift zero
    np.save(tmp_path / "coco2d.npy", coco[..., :2])
    with pytest.raises(SkelzooError, match="--lift zero"):
        extract_features(str(model_path), [tmp_path / "coco2d.npy"], layout="coco17")
    feats2d, _ = extract_features(str(model_path), [tmp_path / "coco2d.npy"], layout="coco17", lift="zero")
    assert feats2d.shape == feats.shape and np.isfinite(feats2d).all()
