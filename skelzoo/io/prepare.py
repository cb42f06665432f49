"""The machinery `prepare_ntu` and `prepare_pku` share: parallel, cached, resumable conversion.

Each raw source file is turned into clips by a picklable `job(path, **options) -> [Clip]` run in
a process pool. Its result is cached as `<out>/.cache/<file stem>.npz` (clips trimmed to their
valid frames, so the cache is small), stamped with the job's settings and the source's size and
mtime; a rerun reuses every cache entry whose stamp still matches, so an interrupted prepare picks
up where it stopped. Files the job rejects (SkelzooError: no skeleton, truncated, ...) are cached
as skips with their reason and reported. Benchmark directories are then filled from the cache
into memory-mapped arrays, so the full NTU sets never have to fit in RAM.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from skelzoo.data.writer import open_split_data, write_meta, write_split_labels
from skelzoo.errors import SkelzooError
from skelzoo.progress import progress_bar, stderr_console


@dataclass
class Clip:
    name: str
    data: np.ndarray  # (C, T, V, M) float32, zero after num_frames
    num_frames: int
    label: int


@dataclass
class ClipRef:
    """Where a prepared clip lives in the cache."""

    name: str
    label: int
    num_frames: int
    cache: Path
    index: int


@dataclass
class Collected:
    clips: list[ClipRef] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    parsed: int = 0
    cached: int = 0


def _stamp(source: Path, settings: dict[str, Any]) -> str:
    st = source.stat()
    return json.dumps({"size": st.st_size, "mtime_ns": st.st_mtime_ns, **settings}, sort_keys=True)


def _cache_path(cache_dir: Path, source: Path) -> Path:
    return cache_dir / f"{source.stem}.npz"


def _read_stamp(path: Path) -> str | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            return str(z["stamp"])
    except Exception:  # a half-written or foreign file is simply redone
        return None


def _run_one(job: Callable[..., list[Clip]], source: Path, cache_dir: Path, settings: dict, resume: bool) -> str:
    """Worker: produce (or reuse) the cache entry of one source. Returns 'cached' or 'parsed'."""
    path = _cache_path(cache_dir, source)
    stamp = _stamp(source, settings)
    if resume and path.exists() and _read_stamp(path) == stamp:
        return "cached"
    try:
        clips = job(source, **settings)
        reason = "" if clips else "no clips"
    except SkelzooError as err:
        clips, reason = [], str(err)
    if clips:
        longest = max(c.num_frames for c in clips)
        c, _, v, m = clips[0].data.shape
        stacked = np.zeros((len(clips), c, longest, v, m), dtype=np.float32)
        for i, clip in enumerate(clips):
            stacked[i, :, : clip.num_frames] = clip.data[:, : clip.num_frames]
    else:
        stacked = np.zeros((0,), dtype=np.float32)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(
        tmp,
        stamp=np.array(stamp),
        reason=np.array(reason),
        names=np.array([c.name for c in clips], dtype=str),
        labels=np.array([c.label for c in clips], dtype=np.int64),
        num_frames=np.array([c.num_frames for c in clips], dtype=np.int64),
        clips=stacked,
    )
    os.replace(tmp, path)  # atomic: an interrupted run never leaves a half-written entry behind
    return "parsed"


def collect(
    sources: Sequence[Path],
    job: Callable[..., list[Clip]],
    out_dir: Path,
    settings: dict[str, Any],
    workers: int = 1,
    resume: bool = True,
    progress: bool = True,
    description: str = "parsing",
) -> Collected:
    """Run `job` over `sources` (cached, in `workers` processes) and list every clip and skip."""
    cache_dir = Path(out_dir) / ".cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    result = Collected()
    with progress_bar(len(sources), description, enabled=progress, unit="files") as advance:
        if workers <= 1:
            statuses = []
            for s in sources:
                statuses.append(_run_one(job, s, cache_dir, settings, resume))
                advance(1)
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(_run_one, job, s, cache_dir, settings, resume) for s in sources]
                statuses = []
                for fut in futures:
                    statuses.append(fut.result())
                    advance(1)
    for source, status in zip(sources, statuses):
        path = _cache_path(cache_dir, source)
        setattr(result, status, getattr(result, status) + 1)
        with np.load(path, allow_pickle=False) as z:
            names, labels, frames = z["names"], z["labels"], z["num_frames"]
            if names.size == 0:
                result.skipped.append((source.name, str(z["reason"])))
            for i, (name, label, n) in enumerate(zip(names, labels, frames)):
                result.clips.append(ClipRef(str(name), int(label), int(n), path, i))
    return result


def write_benchmark(
    out_dir: Path,
    clips: Sequence[ClipRef],
    split_of: Callable[[ClipRef], str | None],
    clip_shape: tuple[int, int, int, int],
    meta: dict[str, Any],
) -> dict[str, int]:
    """Fill `out_dir` (train/val arrays, labels, frame counts, meta.json) from cached clips."""
    by_split: dict[str, list[ClipRef]] = {"train": [], "val": []}
    for ref in clips:
        split = split_of(ref)
        if split is not None:
            by_split[split].append(ref)
    for split, refs in by_split.items():
        refs.sort(key=lambda r: r.name)
        data = open_split_data(out_dir, split, (len(refs), *clip_shape))
        open_file, opened = None, None
        for i, ref in enumerate(refs):
            if ref.cache != open_file:
                if opened is not None:
                    opened.close()
                opened, open_file = np.load(ref.cache, allow_pickle=False), ref.cache
                cached = opened["clips"]
            data[i, :, : ref.num_frames] = cached[ref.index, :, : ref.num_frames]
        if opened is not None:
            opened.close()
        data.flush()
        del data
        write_split_labels(out_dir, split, [r.label for r in refs], [r.num_frames for r in refs], [r.name for r in refs])
    counts = {split: len(refs) for split, refs in by_split.items()}
    write_meta(out_dir, **meta, splits=counts)
    return counts


def report_skipped(skipped: Sequence[tuple[str, str]], limit: int = 10) -> None:
    """One summary line on stderr, then the first few files and why."""
    if not skipped:
        return
    stderr_console.print(f"skipped: {len(skipped)} file(s):")
    for name, reason in skipped[:limit]:
        stderr_console.print(f"  {name}: {reason}", markup=False, highlight=False)
    if len(skipped) > limit:
        stderr_console.print(f"  ... and {len(skipped) - limit} more (all listed in skipped.txt)")


def write_skipped(out_dir: Path, skipped: Sequence[tuple[str, str]]) -> None:
    lines = [f"{name}\t{reason}" for name, reason in skipped]
    (Path(out_dir) / "skipped.txt").write_text("\n".join(lines) + ("\n" if lines else ""))


def read_name_list(path: str | Path) -> set[str]:
    """A skip list: one name a line (with or without extension); '#' starts a comment."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SkelzooError(f"skip list {path}: no such file") from None
    names = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        for token in line.replace(",", " ").split():
            names.add(Path(token).stem if "." in token else token)
    return names
