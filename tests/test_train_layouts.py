"""Training from scratch on a non-NTU layout: `skelzoo train --recipe ... --layout coco17`."""

import numpy as np
import pytest
import torch

from skelzoo.checkpoint import load_checkpoint, load_encoder
from skelzoo.cli import main
from skelzoo.data.writer import write_split


def coco_set(root, n=24, t=40):
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        data = rng.normal(size=(n, 3, t, 17, 2)).astype(np.float32)
        data[..., 1] = 0  # one person
        write_split(root, split, data, rng.integers(0, 3, n), np.full(n, t), [f"{split}{i}" for i in range(n)])
    return root  # no meta.json: a third-party folder that doesn't name its layout


def run(args):
    try:
        main(args)
    except SystemExit as done:
        return done.code
    return 0


def test_train_on_coco17_with_recipe_option(tmp_path):
    data = coco_set(tmp_path / "coco")
    common = ["train", "--recipe", "synth-seq-stg", "--data", str(data), "--epochs", "1", "--batch-size", "8",
              "--set", "moco.queue_size=16", "--set", "data.max_clips=null", "--set", "augment.frames=16",
              "--out", str(tmp_path / "runs"), "--name", "coco", "--device", "cpu", "--no-progress"]
    # read as NTU-25 (the default for folders without meta.json) the joint count is refused
    assert run(common) == 2
    assert run(common + ["--layout", "coco17"]) == 0
    ckpt = tmp_path / "runs" / "coco" / "checkpoint.pt"
    assert load_checkpoint(ckpt)["input_spec"]["layout"] == "coco17"
    stg = load_encoder(ckpt, which="stg")
    with torch.no_grad():
        out = stg(torch.randn(2, 3, 16, 17, 2))
    assert out.shape == (2, stg.feature_dim) and torch.isfinite(out).all()


def test_two_different_recipes_are_refused(tmp_path, capsys):
    assert run(["train", "synth-seq-stg", "--recipe", "synth-seq-intra", "--show-config"]) == 2
    assert "two recipes" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["coco71"])
def test_unknown_layout(tmp_path, bad, capsys):
    data = coco_set(tmp_path / "coco", n=4)
    assert run(["train", "--data", str(data), "--layout", bad, "--epochs", "1", "--device", "cpu", "--no-progress",
                "--out", str(tmp_path / "r")]) == 2
    assert "coco17" in capsys.readouterr().err  # did you mean
