"""What a run writes as it goes: log.jsonl (always), log.csv and TensorBoard (optional), and a
progress bar on stderr with the loss, clips/s and the time left.

Only rank 0 logs; other ranks get a :class:`RunLogger` with ``enabled=False``.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

STEP_FIELDS = ("epoch", "step", "loss", "lr", "clips_per_s", "time")


class RunLogger:
    def __init__(self, run_dir: Path, csv_log: bool = False, tensorboard: bool = False, enabled: bool = True,
                 fresh: bool = True, resume_step: int | None = None, resume_epoch: int | None = None):
        self.enabled = enabled
        self.run_dir = Path(run_dir)
        self._csv = self._tb = None
        self.notes: list[str] = []
        if not enabled:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        mode = "w" if fresh else "a"
        if resume_step is not None:
            self._drop_after(resume_step, resume_epoch)
        self._jsonl = open(self.run_dir / "log.jsonl", mode, buffering=1)
        if csv_log:
            path = self.run_dir / "log.csv"
            new = fresh or not path.exists()
            self._csv_fh = open(path, mode, newline="", buffering=1)
            self._csv = csv.DictWriter(self._csv_fh, fieldnames=STEP_FIELDS, extrasaction="ignore")
            if new:
                self._csv.writeheader()
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # optional: never a dependency of skelzoo
                self.notes.append("TensorBoard requested but not installed (pip install tensorboard); skipped.")
            else:
                self._tb = SummaryWriter(log_dir=str(self.run_dir / "tensorboard"))

    def _drop_after(self, step: int, epoch: int | None) -> None:
        """A resumed run repeats what came after its checkpoint; drop those lines so the log reads
        as one uninterrupted run."""
        for name in ("log.jsonl", "log.csv"):
            path = self.run_dir / name
            if not path.is_file():
                continue
            lines = path.read_text().splitlines(keepends=True)
            if name == "log.jsonl":
                keep = []
                for line in lines:
                    rec = json.loads(line)
                    if rec.get("step", -1) > step or ("step" not in rec and epoch is not None and rec.get("epoch", 0) > epoch):
                        continue
                    keep.append(line)
            else:
                keep = lines[:1] + [ln for ln in lines[1:] if int(ln.split(",")[1]) <= step]
            path.write_text("".join(keep))

    def step(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        self._jsonl.write(json.dumps(record) + "\n")
        if self._csv is not None:
            self._csv.writerow(record)
        if self._tb is not None:
            for key in ("loss", "lr", "clips_per_s"):
                self._tb.add_scalar(f"train/{key}", record[key], record["step"])

    def knn(self, epoch: int, step: int, top1: float) -> None:
        if not self.enabled:
            return
        self._jsonl.write(json.dumps({"epoch": epoch, "knn_top1": top1}) + "\n")
        if self._tb is not None:
            self._tb.add_scalar("monitor/knn_top1", top1, step)

    def close(self) -> None:
        if not self.enabled:
            return
        self._jsonl.close()
        if self._csv is not None:
            self._csv_fh.close()
        if self._tb is not None:
            self._tb.close()


class TrainProgress:
    """A rich bar over all steps of the run: epoch, loss, clips/s, elapsed and remaining time."""

    def __init__(self, total_steps: int, done_steps: int, enabled: bool = True):
        self.enabled = enabled
        if not enabled:
            return
        self._progress = Progress(
            TextColumn("[bold]train[/] epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("steps  loss {task.fields[loss]}  {task.fields[speed]} clips/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=not sys.stderr.isatty(),
        )
        self._task = self._progress.add_task("train", total=total_steps, completed=done_steps, epoch="-", loss="-", speed="-")

    def __enter__(self) -> "TrainProgress":
        if self.enabled:
            self._progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self._progress.__exit__(*exc)

    def update(self, epoch: int, loss: float, clips_per_s: float) -> None:
        if self.enabled:
            self._progress.update(self._task, advance=1, epoch=epoch, loss=f"{loss:.4f}", speed=f"{clips_per_s:.0f}")

    def advance(self, epoch: int) -> None:
        if self.enabled:
            self._progress.update(self._task, advance=1, epoch=epoch)

    def print(self, message: str) -> None:
        if self.enabled:
            self._progress.console.print(message)
        else:
            print(message, file=sys.stderr)
