"""The one training loop behind every recipe: data, MoCo / ISC, optimiser, checkpoints, logs.

``train(config) -> run_dir`` is the Python API; ``skelzoo train`` is a thin layer over it.

What makes a resumed run equal an uninterrupted one: the batch order comes from ``seed + epoch``
(no sampler state), and a checkpoint (written at epoch ends only) holds the key branches, the
queues and their pointers, the optimiser and scheduler, and every random state the loop draws from
(the augmentation generator, torch CPU/CUDA, numpy, python), per rank.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from skelzoo.augment import isc_views
from skelzoo.checkpoint import load_checkpoint, save_checkpoint
from skelzoo.device import resolve_device
from skelzoo.errors import SkelzooError
from skelzoo.models import create_encoder
from skelzoo.train import distributed as dist_utils
from skelzoo.train.config import TrainConfig, load_recipe, resume_mismatches
from skelzoo.train.loader import EpochBatchSampler, make_loader
from skelzoo.train.moco import MoCo
from skelzoo.train.runlog import RunLogger, TrainProgress

CHECKPOINT = "checkpoint.pt"
StepHook = Callable[["Trainer", int, int], None]


def train(config: TrainConfig | str | None = None, step_hook: StepHook | None = None) -> Path:
    """Train with `config` (a :class:`TrainConfig`, a recipe name or path; default: the synthetic
    recipe) and return the run directory holding checkpoint.pt, config.yaml and log.jsonl."""
    if config is None or isinstance(config, (str, Path)):
        config = load_recipe(config or "synth-seq-stg")
    return Trainer(config, step_hook=step_hook).fit()


def resolve_data_dir(cfg: TrainConfig) -> Path:
    """The benchmark directory to train on: --data, else the synthetic set for synthetic recipes."""
    d = cfg.data
    if d.path:
        path = Path(d.path).expanduser()
        if path.is_dir() and not list(path.glob("*_data_joint.npy")) and (path / d.benchmark).is_dir():
            path = path / d.benchmark  # a dataset root holding xsub/ xview/ ...: take the recipe's
        return path
    if d.dataset == "synth":
        from skelzoo.data.synth import default_synth_dir

        return default_synth_dir(seed=d.synth_seed, size=d.synth_size) / d.benchmark
    raise SkelzooError(
        f"recipe {cfg.name!r} trains on {d.dataset} {d.benchmark}: pass --data <benchmark dir> "
        "(arrays from `skelzoo data prepare`, or an ST-GCN style folder)."
    )


def _autocast(device: torch.device, enabled: bool):
    if device.type == "cuda" and enabled:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


class Trainer:
    def __init__(self, cfg: TrainConfig, step_hook: StepHook | None = None) -> None:
        self.cfg = cfg.validate()
        self.step_hook = step_hook
        device = resolve_device(cfg.device)
        self.dist = dist_utils.setup(device.type)
        if device.type == "cuda" and self.dist.enabled:
            device = torch.device("cuda", self.dist.local_rank)
            torch.cuda.set_device(device)
        self.device = device
        self.run_dir = cfg.run_dir
        self.amp = cfg.amp and device.type == "cuda"
        self._build_data()
        self._build_model()
        self.epoch = 0  # completed epochs
        self.step = 0
        self.resumed_from: Path | None = None
        self._resume()

    # ---------------------------------------------------------------------------------- setup

    def _build_data(self) -> None:
        from skelzoo.data.dataset import open_dataset

        cfg = self.cfg
        self.data_dir = resolve_data_dir(cfg)
        train_set = open_dataset(self.data_dir, cfg.data.train_split, layout=cfg.data.layout)
        if cfg.data.max_clips is not None:
            if cfg.data.max_clips < 1:
                raise SkelzooError(f"data.max_clips must be at least 1; got {cfg.data.max_clips}.")
            if cfg.data.max_clips < len(train_set):
                # A seeded random subset (sorted, for sequential memmap reads), not the first N:
                # prepared sets are often ordered by class or subject.
                pick = np.random.default_rng([cfg.seed, 2]).choice(len(train_set), cfg.data.max_clips, replace=False)
                train_set = train_set.subset(np.sort(pick))
        self.train_set = train_set
        n = len(train_set)
        self.sampler = EpochBatchSampler(n, cfg.batch_size, cfg.seed, self.dist.rank, self.dist.world_size)
        if cfg.moco.queue_size > n:
            raise SkelzooError(
                f"queue size {cfg.moco.queue_size} is larger than the {n} training clips of "
                f"{self.data_dir}: the queue would hold keys of the query's own clip as negatives. "
                f"Use --set moco.queue_size={_largest_queue(n, cfg.batch_size)} or less."
            )
        self.loader = make_loader(train_set, self.sampler, cfg.data.workers, pin_memory=self.device.type == "cuda")
        _, self.channels, self.frames_in, self.joints, self.bodies = train_set.shape
        meta = train_set.meta
        if cfg.data.path and meta.get("dataset") and meta.get("dataset") != cfg.data.dataset:
            self._notes = [f"note: recipe {cfg.name!r} is written for {cfg.data.dataset}, the data says {meta['dataset']}."]
        else:
            self._notes = []

    def _build_model(self) -> None:
        cfg = self.cfg
        torch.manual_seed(cfg.seed)  # same initial weights on every rank
        encoders = {}
        for rep in cfg.model.encoders:
            kwargs = dict(cfg.model.kwargs.get(rep, {}))
            if rep == "img":
                kwargs.setdefault("frames", cfg.augment.frames)
            encoders[rep] = create_encoder(
                rep, width=cfg.model.width, layout=self.train_set.layout, num_bodies=self.bodies,
                in_channels=self.channels, **kwargs,
            )
        queue_gen = torch.Generator().manual_seed(cfg.seed + 1)
        self.moco = MoCo(encoders, cfg.moco.queue_size, cfg.moco.momentum, cfg.moco.temperature,
                         cfg.model.head_dim, generator=queue_gen).to(self.device)
        self.optimizer = torch.optim.SGD(self.moco.query.parameters(), lr=cfg.optim.lr, momentum=cfg.optim.momentum,
                                         weight_decay=cfg.optim.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(self.optimizer, milestones=list(cfg.optim.milestones),
                                                              gamma=cfg.optim.gamma)
        query_fn: torch.nn.Module = self.moco.query
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            query_fn = DistributedDataParallel(self.moco.query, device_ids=ids)
        if cfg.compile:
            query_fn = torch.compile(query_fn)
        self.query_fn = query_fn
        # Each rank augments differently; the stream is part of the checkpoint.
        self.aug_gen = torch.Generator(device=self.device).manual_seed(cfg.seed * 1000 + 17 + self.dist.rank)
        random.seed(cfg.seed)
        np.random.seed(cfg.seed)
        torch.manual_seed(cfg.seed + 7919 * (1 + self.dist.rank))  # dropout differs per rank

    def _resume(self) -> None:
        spec = self.cfg.resume
        if not spec:
            return
        path = self.run_dir / CHECKPOINT if spec == "auto" else Path(spec).expanduser()
        if spec == "auto" and not path.is_file():
            self._notes.append(f"note: --resume auto: no {path} yet, starting from scratch.")
            return
        ckpt = load_checkpoint(path, map_location="cpu")
        trainer = ckpt.get("trainer")
        if not trainer:
            raise SkelzooError(f"{path}: holds weights only (no trainer state), so training cannot resume from it.")
        diffs = resume_mismatches(ckpt.get("recipe", {}), self.cfg)
        if diffs:
            raise SkelzooError(
                f"{path}: was written by another recipe or setting, so this run cannot resume from it "
                f"({'; '.join(diffs)}). Resume with the same recipe and settings, or start a new run (--name)."
            )
        if trainer.get("world_size", 1) != self.dist.world_size:
            raise SkelzooError(
                f"{path}: written by {trainer.get('world_size', 1)} processes; resume with the same number "
                f"(now {self.dist.world_size}) so batches and random streams line up."
            )
        self.moco.load_state_dict(trainer["moco"])
        self.optimizer.load_state_dict(trainer["optimizer"])
        self.scheduler.load_state_dict(trainer["scheduler"])
        self.epoch, self.step = int(trainer["epoch"]), int(trainer["step"])
        self._set_rng_state(trainer["rng"])
        self.resumed_from = path
        if self.epoch >= self.cfg.epochs:
            self._notes.append(f"note: {path} has already trained {self.epoch} epochs (asked: {self.cfg.epochs}); nothing to do.")

    # ------------------------------------------------------------------------------- random state

    def _rng_state(self) -> dict[str, Any]:
        """This rank's streams, stacked over ranks (row r = rank r) so each rank resumes its own."""
        def stacked(t: torch.Tensor) -> torch.Tensor:
            if not dist_utils.active():
                return t[None].clone()
            on = t.to(self.device) if self.device.type == "cuda" else t
            return dist_utils.gather_cat(on[None]).cpu()

        state = {"aug": stacked(self.aug_gen.get_state()), "torch": stacked(torch.get_rng_state())}
        if self.device.type == "cuda":
            state["cuda"] = stacked(torch.cuda.get_rng_state(self.device))
        np_state = np.random.get_state()
        state["numpy"] = {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                          "has_gauss": int(np_state[3]), "gauss": float(np_state[4])}
        py = random.getstate()
        state["python"] = {"version": py[0], "state": list(py[1]), "gauss": py[2]}
        return state

    def _set_rng_state(self, state: dict[str, Any]) -> None:
        r = self.dist.rank
        self.aug_gen.set_state(state["aug"][r].clone())
        torch.set_rng_state(state["torch"][r].clone())
        if self.device.type == "cuda" and "cuda" in state:
            torch.cuda.set_rng_state(state["cuda"][r].clone(), self.device)
        n = state["numpy"]
        np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
        p = state["python"]
        random.setstate((p["version"], tuple(p["state"]), p["gauss"]))

    # ---------------------------------------------------------------------------------- checkpoint

    def input_spec(self) -> dict[str, Any]:
        meta = self.train_set.meta
        default = "ntu-reference" if meta.get("dataset") == "synth" else "as-given"
        return {"layout": self.train_set.layout, "frames": self.cfg.augment.frames, "bodies": self.bodies,
                "channels": self.channels, "preprocessing": meta.get("preprocessing") or default}

    def checkpoint_payload(self, metrics: dict[str, Any] | None = None) -> dict[str, Any]:
        def cpu(sd):
            return {k: v.detach().cpu().clone() for k, v in sd.items()}

        encoders = {
            rep: {"arch": enc.arch, "kwargs": dict(enc.config), "state_dict": cpu(enc.state_dict())}
            for rep, enc in self.moco.query.encoders.items()
        }
        return {
            "encoders": encoders,
            "default_encoder": self.moco.reps[0],
            "input_spec": self.input_spec(),
            "recipe": self.cfg.to_dict(),
            "metrics": dict(metrics or {}),
            "trainer": {
                "moco": cpu(self.moco.state_dict()),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "epoch": self.epoch,
                "step": self.step,
                "world_size": self.dist.world_size,
                "rng": self._rng_state(),
                "data_dir": str(self.data_dir),
            },
        }

    def save(self, metrics: dict[str, Any] | None = None) -> Path | None:
        payload = self.checkpoint_payload(metrics)  # every rank: the RNG gather is collective
        path = None
        if self.dist.is_main:
            path = save_checkpoint(self.run_dir / CHECKPOINT, payload)
        dist_utils.barrier()
        return path

    # ----------------------------------------------------------------------------------- the loop

    def fit(self) -> Path:
        cfg, main = self.cfg, self.dist.is_main
        steps_per_epoch = len(self.sampler)
        resumed = self.resumed_from is not None
        logger = RunLogger(self.run_dir, cfg.csv, cfg.tensorboard, enabled=main, fresh=not resumed,
                           resume_step=self.step if resumed else None, resume_epoch=self.epoch if resumed else None)
        if main:
            import yaml

            (self.run_dir / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        metrics: dict[str, Any] = {}
        bar = TrainProgress(cfg.epochs * steps_per_epoch, self.epoch * steps_per_epoch, enabled=main and cfg.progress)
        try:
            with bar:
                for note in self._notes + logger.notes:
                    if main:
                        bar.print(note)
                if main and self.resumed_from is not None:
                    bar.print(f"resumed from {self.resumed_from} after epoch {self.epoch}")
                self.moco.train()
                while self.epoch < cfg.epochs:
                    last_loss = self._train_epoch(logger, bar)
                    self.scheduler.step()
                    self.epoch += 1
                    metrics = {"epoch": self.epoch, "loss": last_loss}
                    if cfg.knn_every and self.epoch % cfg.knn_every == 0:
                        top1 = self.knn_monitor()
                        if top1 is not None:
                            metrics["knn_top1"] = top1
                            logger.knn(self.epoch, self.step, top1)
                            if main:
                                bar.print(f"epoch {self.epoch}: 1-NN top-1 on {cfg.data.val_split} = {top1:.2f} %")
                    if (cfg.save_every and self.epoch % cfg.save_every == 0) or self.epoch == cfg.epochs:
                        self.save(metrics)
        finally:
            logger.close()
        return self.run_dir

    def train_step(self, x: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """One optimisation step on a host batch (N, C, T, V, M) + valid frames; returns the
        detached loss on the device (no host sync). Augmentation runs on the training device."""
        dev, aug = self.device, self.cfg.augment
        x = x.to(dev, non_blocking=True)
        frames = frames.to(dev, non_blocking=True)
        x_q, x_k = isc_views(x, frames, self.aug_gen, spatial=aug.spatial, temporal=aug.temporal,
                             min_ratio=aug.min_ratio, out_frames=aug.frames)
        with _autocast(dev, self.amp):
            loss, _terms, keys = self.moco(x_q, x_k, query_fn=self.query_fn)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.moco.dequeue_and_enqueue(keys)
        self.step += 1
        return loss.detach()

    def _train_epoch(self, logger: RunLogger, bar: TrainProgress) -> float:
        cfg, dev = self.cfg, self.device
        self.sampler.set_epoch(self.epoch)
        n_steps = len(self.sampler)
        window = torch.zeros(3, device=dev, dtype=torch.float64)  # loss sum, steps, non-finite steps
        t0 = time.perf_counter()
        win_steps, last = 0, float("nan")
        for i, (x, frames) in enumerate(self.loader):
            d = self.train_step(x, frames).double()
            win_steps += 1
            window += torch.stack([torch.nan_to_num(d, nan=0.0, posinf=0.0, neginf=0.0), d.new_ones(()),
                                   (~torch.isfinite(d)).double()])
            if self.step_hook is not None:
                self.step_hook(self, self.epoch, self.step)
            if (i + 1) % cfg.log_every == 0 or i + 1 == n_steps:
                # The only host sync of the loop: read the window, check it, log it.
                stats = window.clone()
                if dist_utils.active():
                    torch.distributed.all_reduce(stats)
                loss_sum, count, bad = stats.tolist()
                if bad > 0:
                    ckpt = self.run_dir / CHECKPOINT
                    kept = (f"{ckpt} was left untouched as the last good checkpoint" if ckpt.is_file()
                            else "no checkpoint had been written yet")
                    raise SkelzooError(
                        f"the loss became NaN/inf between steps {self.step - win_steps + 1} and {self.step} "
                        f"(epoch {self.epoch + 1}); training stopped and {kept}. Lower the learning rate "
                        "(--lr) or check the data for NaN/inf values, then resume with --resume auto."
                    )
                elapsed = time.perf_counter() - t0
                speed = win_steps * cfg.batch_size / max(elapsed, 1e-9)
                last = loss_sum / count
                logger.step({"epoch": self.epoch + 1, "step": self.step, "loss": last,
                             "lr": self.optimizer.param_groups[0]["lr"], "clips_per_s": speed, "time": time.time()})
                window.zero_()
                t0, win_steps = time.perf_counter(), 0
                bar.update(self.epoch + 1, last, speed)
            else:
                bar.advance(self.epoch + 1)
        return last

    # ---------------------------------------------------------------------------------- monitor

    def knn_monitor(self) -> float | None:
        """1-NN top-1 (%) of the default query encoder: val clips as queries, train clips as gallery."""
        top1 = None
        if self.dist.is_main:
            from skelzoo.data.dataset import open_dataset
            from skelzoo.eval.knn import knn_classify
            from skelzoo.inference import encode

            val = open_dataset(self.data_dir, self.cfg.data.val_split, layout=self.cfg.data.layout)
            enc = self.moco.query.encoders[self.moco.reps[0]]
            gallery = encode(enc, self.train_set.data, self.train_set.num_frames, device=self.device,
                             out_frames=self.cfg.augment.frames, source=str(self.data_dir))
            queries = encode(enc, val.data, val.num_frames, device=self.device,
                             out_frames=self.cfg.augment.frames, source=str(self.data_dir))
            pred = knn_classify(queries, gallery, self.train_set.labels, ks=1, device=self.device)[1]
            top1 = float((pred == val.labels).mean() * 100)
            self.moco.train()
        dist_utils.barrier()
        return top1


def _largest_queue(num_clips: int, batch: int) -> int:
    """The largest multiple of the batch that fits in the dataset (a queue that wraps cleanly)."""
    return max(batch, (num_clips // batch) * batch) if num_clips >= batch else num_clips
