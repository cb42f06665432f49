"""The trainer end to end on the tiny synthetic set: learning, exact resume, NaN handling, bad input,
the CLI, and two-process DDP. Small widths, 16-frame views and a handful of clips keep it fast."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
import torch
import torch.multiprocessing as mp

from skelzoo.checkpoint import load_checkpoint, load_encoder
from skelzoo.data.synth import default_synth_dir
from skelzoo.errors import SkelzooError
from skelzoo.train import load_recipe, train
from skelzoo.train.trainer import Trainer


@pytest.fixture(scope="module")
def tiny_dir():
    return default_synth_dir(size="tiny")


def small_cfg(tmp_path, *extra: str):
    return load_recipe("synth-seq-stg", [
        "data.synth_size=tiny", "data.benchmark=xview", "model.encoders=[seq,img]", "model.width=0.0625",
        "augment.frames=16", "batch_size=8", "moco.queue_size=16", "data.max_clips=16", "epochs=2",
        "save_every=1", "log_every=1", f"out={tmp_path}", "progress=false", "device=cpu", "optim.milestones=[1]",
        *extra,
    ])


def cli(argv) -> int:
    """Run `skelzoo ...` in-process; the exit code (0 on success)."""
    from skelzoo.cli import main

    try:
        main(argv)
    except SystemExit as exc:
        return exc.code or 0
    return 0


def read_log(run_dir):
    return [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]


def state(run_dir):
    ckpt = load_checkpoint(run_dir / "checkpoint.pt")
    return ckpt


def assert_same_training_state(a, b):
    for rep in a["encoders"]:
        sa, sb = a["encoders"][rep]["state_dict"], b["encoders"][rep]["state_dict"]
        assert sa.keys() == sb.keys()
        for k in sa:
            assert torch.allclose(sa[k], sb[k], atol=1e-6, rtol=0), f"{rep}.{k} differs"
    ma, mb = a["trainer"]["moco"], b["trainer"]["moco"]
    for k in ma:  # key branches and queues too
        assert torch.allclose(ma[k].float(), mb[k].float(), atol=1e-6, rtol=0), f"moco.{k} differs"
    assert a["trainer"]["step"] == b["trainer"]["step"] and a["trainer"]["epoch"] == b["trainer"]["epoch"]


def test_loss_is_finite_and_decreases(tmp_path):
    # Plain instance discrimination (no augmentation) on 32 clips: an easy task, so a working
    # optimiser must bring the loss down within a few dozen steps.
    cfg = small_cfg(tmp_path, "model.encoders=[seq]", "data.max_clips=32", "epochs=7", "optim.lr=0.1",
                    "optim.milestones=[]", "moco.queue_size=24", "moco.momentum=0.99", "save_every=0",
                    "augment.spatial=false", "augment.temporal=false")
    run = train(cfg)
    losses = [r["loss"] for r in read_log(run) if "loss" in r]
    assert len(losses) == 28
    assert all(torch.isfinite(torch.tensor(losses)))
    # The queue starts as random unit vectors (an easy, misleadingly low loss); compare from the
    # step where it holds only real keys (24 / 8 = 3 steps) with the end.
    first, last = sum(losses[3:9]) / 6, sum(losses[-6:]) / 6
    assert last < first - 0.3, losses


def test_log_checkpoint_and_config_follow_the_contract(tmp_path):
    run = train(small_cfg(tmp_path, "epochs=1", "csv=true"))
    assert run == tmp_path / "synth-seq-stg"
    recs = read_log(run)
    assert [r["step"] for r in recs] == [1, 2]
    assert set(recs[0]) == {"epoch", "step", "loss", "lr", "clips_per_s", "time"}
    assert (run / "log.csv").read_text().splitlines()[0] == "epoch,step,loss,lr,clips_per_s,time"
    assert "model:" in (run / "config.yaml").read_text()
    ckpt = load_checkpoint(run / "checkpoint.pt")
    assert list(ckpt["encoders"]) == ["seq", "img"] and ckpt["default_encoder"] == "seq"
    assert ckpt["encoders"]["img"]["kwargs"]["frames"] == 16
    assert ckpt["input_spec"] == {"layout": "ntu25", "frames": 16, "bodies": 2, "channels": 3,
                                  "preprocessing": "ntu-reference"}
    assert ckpt["recipe"]["moco"]["queue_size"] == 16
    t = ckpt["trainer"]
    assert {"moco", "optimizer", "scheduler", "epoch", "step", "rng"} <= set(t)
    assert {"queue_seq", "queue_img", "key.encoders.seq.gru.weight_ih_l0"} & set(t["moco"])
    assert set(t["rng"]) >= {"aug", "torch", "numpy", "python"}
    enc = load_encoder(run / "checkpoint.pt", which="img")
    assert enc.arch == "img" and not enc.training
    assert enc(torch.zeros(2, 3, 16, 25, 2)).shape == (2, enc.feature_dim)


def test_killed_and_resumed_equals_uninterrupted(tmp_path):
    full = train(small_cfg(tmp_path / "a"))

    class Killed(Exception):
        pass

    def kill_in_epoch_two(trainer, epoch, step):
        if epoch == 1 and step == 4:  # 0-based epoch: the second one, after epoch 1's checkpoint
            raise Killed

    with pytest.raises(Killed):
        train(small_cfg(tmp_path / "b"), step_hook=kill_in_epoch_two)
    assert load_checkpoint(tmp_path / "b/synth-seq-stg/checkpoint.pt")["trainer"]["epoch"] == 1
    assert [r["step"] for r in read_log(tmp_path / "b/synth-seq-stg")] == [1, 2, 3]  # died in step 4
    resumed = train(small_cfg(tmp_path / "b", "resume=auto"))
    assert_same_training_state(state(full), state(resumed))
    # The log reads as one run: the steps after the checkpoint are not there twice, and the
    # resumed losses equal the uninterrupted ones.
    assert [r["step"] for r in read_log(resumed)] == [1, 2, 3, 4]
    assert [r["loss"] for r in read_log(resumed)] == pytest.approx([r["loss"] for r in read_log(full)], abs=1e-6)
    # Shorter run + resume with more epochs gives the same result too.
    train(small_cfg(tmp_path / "c", "epochs=1"))
    resumed2 = train(small_cfg(tmp_path / "c", "epochs=2", "resume=auto"))
    assert_same_training_state(state(full), state(resumed2))
    # The log continues rather than restarting.
    assert [r["step"] for r in read_log(resumed2)] == [1, 2, 3, 4]


def test_nan_loss_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    run = train(small_cfg(tmp_path, "epochs=1"))
    ckpt = run / "checkpoint.pt"
    digest = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    from skelzoo.train import moco as moco_mod

    real = moco_mod.isc_loss

    def poisoned(*args, **kwargs):
        loss, terms = real(*args, **kwargs)
        return loss * float("nan"), terms

    monkeypatch.setattr(moco_mod, "isc_loss", poisoned)
    with pytest.raises(SkelzooError, match="NaN/inf.*left untouched as the last good checkpoint"):
        train(small_cfg(tmp_path, "epochs=2", "resume=auto"))
    assert hashlib.sha256(ckpt.read_bytes()).hexdigest() == digest


def test_bad_input_is_reported_clearly(tmp_path, tiny_dir):
    with pytest.raises(SkelzooError, match="queue size 64 is larger than the 16 training clips"):
        Trainer(small_cfg(tmp_path, "moco.queue_size=64"))
    with pytest.raises(SkelzooError, match="batch size 16 is larger than the 8 training clips"):
        Trainer(small_cfg(tmp_path, "data.max_clips=8", "moco.queue_size=16", "batch_size=16"))
    with pytest.raises(SkelzooError, match="distinct representations"):
        small_cfg(tmp_path, "model.encoders=[seq,seq]")
    with pytest.raises(SkelzooError, match="unknown encoder 'sgt'.*'stg'"):
        small_cfg(tmp_path, "model.encoders=[seq,sgt]")
    with pytest.raises(SkelzooError, match="unknown recipe 'ntu60-xveiw-seq-stg'.*ntu60-xview-seq-stg"):
        load_recipe("ntu60-xveiw-seq-stg")
    with pytest.raises(SkelzooError, match="pass --data"):
        Trainer(load_recipe("ntu60-xview-seq-stg"))
    # A checkpoint of one recipe cannot seed a run of another.
    first = train(small_cfg(tmp_path, "epochs=1"))
    other = small_cfg(tmp_path, "model.encoders=[seq]", f"resume={first / 'checkpoint.pt'}", "run_name=other")
    with pytest.raises(SkelzooError, match="another recipe or setting.*model"):
        Trainer(other)
    with pytest.raises(SkelzooError, match="no such checkpoint"):
        Trainer(small_cfg(tmp_path, f"resume={tmp_path / 'missing.pt'}"))


def test_cli_trains_end_to_end_and_the_encoder_reloads(tmp_path, tiny_dir, capsys):
    assert cli(["train", "--data", str(tiny_dir / "xview"), "--epochs", "1", "--batch-size", "8", "--width", "0.0625",
          "--set", "data.max_clips=8", "--set", "moco.queue_size=8", "--set", "augment.frames=16",
          "--out", str(tmp_path), "--name", "cli-run", "--no-progress", "--device", "cpu", "--knn-every", "1",
          "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    run = tmp_path / "cli-run"
    assert summary["checkpoint"] == str(run / "checkpoint.pt")
    assert summary["encoders"] == ["seq", "stg"]
    recs = read_log(run)
    assert recs[-1]["epoch"] == 1 and 0.0 <= recs[-1]["knn_top1"] <= 100.0
    for which in ("seq", "stg"):
        enc = load_encoder(run / "checkpoint.pt", which=which)
        assert enc.input_spec["frames"] == 16
        assert enc(torch.zeros(1, 3, 16, 25, 2)).shape == (1, enc.feature_dim)
    assert load_encoder(run / "checkpoint.pt").arch == "seq"


def test_cli_errors_and_listing(capsys):
    assert cli(["train", "--list-recipes", "--json"]) == 0
    names = {r["name"] for r in json.loads(capsys.readouterr().out)}
    assert {"synth-seq-stg", "ntu60-xview-seq-stg", "pku2-xsub-seq-stg"} <= names
    for argv, pattern in ((["train", "nope-recipe"], "unknown recipe"), (["train", "--pair", "seq,seq"], "distinct"),
                          (["train", "--set", "optim.lrr=1"], "Did you mean 'lr'")):
        assert cli(argv) == 2
        assert pattern in capsys.readouterr().err
    assert cli(["train", "--show-config"]) == 0  # no recipe, no data: the synthetic default
    out = capsys.readouterr().out
    assert "name: synth-seq-stg" in out and "path: null" in out


# --------------------------------------------------------------------------- DDP, 2 CPU processes


def _ddp_train(rank: int, world: int, port: int, out: str, result: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    from pathlib import Path

    from skelzoo.train import distributed as dist_utils

    cfg = small_cfg(Path(out), "model.encoders=[seq]", "epochs=1")
    trainer = Trainer(cfg)
    trainer.fit()
    torch.save({k: v.clone() for k, v in trainer.moco.state_dict().items()}, os.path.join(result, f"rank{rank}.pt"))
    dist_utils.teardown()


def test_ddp_two_processes_train_in_step(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_ddp_train, args=(2, port, str(tmp_path / "runs"), str(tmp_path)), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for k in r0:  # weights, key branches and queues agree across ranks
        assert torch.allclose(r0[k].float(), r1[k].float(), atol=1e-6), k
    ckpt = load_checkpoint(tmp_path / "runs/synth-seq-stg/checkpoint.pt")
    assert ckpt["trainer"]["world_size"] == 2
    assert ckpt["trainer"]["rng"]["aug"].shape[0] == 2  # each rank's augmentation stream
    assert int(r0["queue_ptr_seq"]) == 0  # two global batches of 8 filled the 16-slot queue once
    assert not torch.equal(ckpt["trainer"]["rng"]["aug"][0], ckpt["trainer"]["rng"]["aug"][1])
