"""PKU-MMD part I / II: per-video skeleton files + action-segment labels -> the array format.

Skeleton file (`<video>.txt`, e.g. `0002-L.txt` or `A10N08-L.txt`): one line per frame of 150
numbers = 2 bodies x 25 Kinect v2 joints x (x, y, z); zeros where the second body is absent.
Label file (same name, in the label folder): one action instance per line,
`class, start, end, confidence` with a 1-based class. Frames are taken as `frames[start:end]`, the
convention of the common PKU-MMD converters.

Each segment becomes one clip with the same reference normalisation as NTU (centred on the first
body's spine, rotated into its body frame) and is padded or evenly resampled to 300 frames.

Cross-subject split: the official lists are not bundled; pass a split file, either JSON
`{"train": ["0002-L", ...], "val": [...]}` ("test" is accepted for "val"), or the text form of the
official `cross-subject.txt`: a line naming the training videos (e.g. `Training videos:`) followed
by comma- or space-separated ids, then a line naming the validation/test videos followed by theirs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from skelzoo.errors import SkelzooError, unknown
from skelzoo.io.preprocess import reference_preprocess

PKU_FRAMES = 300
NUM_CLASSES = {"pku1": 51, "pku2": 41}
_VALUES_PER_FRAME = 150


def read_pku_skeleton(path: str | Path) -> np.ndarray:
    """A skeleton file -> (2, T, 25, 3) float32 (bodies, frames, joints, xyz)."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise SkelzooError(f"{path}: no such file") from None
    lines = [line for line in text.split(b"\n") if line.strip()]
    if not lines:
        raise SkelzooError(f"{path}: the file is empty")
    try:
        values = np.array(b" ".join(lines).split(), dtype=np.float64)
    except ValueError:
        for i, line in enumerate(lines):
            try:
                [float(v) for v in line.split()]
            except ValueError:
                raise SkelzooError(f"{path}: line {i + 1} holds a value that is not a number") from None
        raise
    if values.size != _VALUES_PER_FRAME * len(lines):
        counts = [len(line.split()) for line in lines]
        bad = next(i for i, c in enumerate(counts) if c != _VALUES_PER_FRAME)
        raise SkelzooError(
            f"{path}: line {bad + 1} has {counts[bad]} values, expected {_VALUES_PER_FRAME} "
            "(2 bodies x 25 joints x xyz); truncated or not a PKU-MMD skeleton file"
        )
    if not np.isfinite(values).all():
        raise SkelzooError(f"{path}: contains NaN or infinite coordinates")
    return values.reshape(len(lines), 2, 25, 3).transpose(1, 0, 2, 3).astype(np.float32)


def read_pku_labels(path: str | Path, num_classes: int) -> list[tuple[int, int, int]]:
    """A label file -> [(0-based class, start, end)]; errors name the file and line."""
    path = Path(path)
    if not path.exists():
        raise SkelzooError(f"{path}: label file not found (each skeleton file needs one of the same name)")
    segments = []
    for i, line in enumerate(path.read_text().splitlines()):
        if not line.strip():
            continue
        parts = [p for p in re.split(r"[,\s]+", line.strip()) if p]
        try:
            cls, start, end = int(parts[0]), int(parts[1]), int(parts[2])
        except (ValueError, IndexError):
            raise SkelzooError(f"{path}: line {i + 1} is not 'class, start, end, confidence': {line!r}") from None
        if not 1 <= cls <= num_classes:
            raise SkelzooError(f"{path}: line {i + 1}: class {cls} is outside 1..{num_classes}")
        if end <= start or start < 0:
            raise SkelzooError(f"{path}: line {i + 1}: segment {start}..{end} is empty or negative")
        segments.append((cls - 1, start, end))
    return segments


def segment_clips(
    bodies: np.ndarray, segments: list[tuple[int, int, int]], video: str, max_frames: int = PKU_FRAMES
) -> list:
    """Cut, normalise and pad every labelled segment of one video."""
    from skelzoo.io.prepare import Clip

    clips = []
    for k, (label, start, end) in enumerate(segments):
        part = bodies[:, start:end]
        if part.shape[1] == 0 or not np.abs(part).any():
            continue
        data, n = reference_preprocess(part, max_frames=max_frames)
        clips.append(Clip(f"{video}_{k:03d}", data, n, label))
    return clips


def _pku_job(path: Path, label_dir: str, num_classes: int, max_frames: int, version: int) -> list:
    segments = read_pku_labels(Path(label_dir) / path.name, num_classes)
    clips = segment_clips(read_pku_skeleton(path), segments, path.stem, max_frames)
    if not clips:
        raise SkelzooError(f"{path}: none of its {len(segments)} labelled segments holds a skeleton")
    return clips


def read_split_file(path: str | Path) -> dict[str, set[str]]:
    """{"train": ids, "val": ids} from a JSON or official-style text split file."""
    path = Path(path)
    if not path.exists():
        raise SkelzooError(f"--split-file {path}: no such file")
    text = path.read_text()
    if text.lstrip().startswith("{"):
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as err:
            raise SkelzooError(f"--split-file {path}: invalid JSON ({err})") from None
        split = {"train": raw.get("train"), "val": raw.get("val", raw.get("test"))}
    else:
        split, current = {"train": [], "val": []}, None
        for line in text.splitlines():
            head, _, rest = line.partition(":") if ":" in line else ("", "", line)
            low = head.lower()
            if "train" in low:
                current = "train"
            elif "val" in low or "test" in low:
                current = "val"
            elif head:
                rest = line
            ids = [t for t in re.split(r"[,\s]+", rest) if t]
            if ids and current is None:
                raise SkelzooError(f"--split-file {path}: ids before a 'Training videos:' header line")
            if current:
                split[current] += ids
    if not split.get("train") or not split.get("val"):
        raise SkelzooError(
            f"--split-file {path}: needs both training and validation ids; write JSON "
            '{"train": ["0002-L", ...], "val": ["0291-L", ...]} or the official cross-subject.txt'
        )
    return {k: {Path(v).stem for v in ids} for k, ids in split.items()}


def prepare_pku(
    raw_dir: str | Path,
    label_dir: str | Path,
    out_dir: str | Path,
    split_file: str | Path,
    dataset: str = "pku1",
    workers: int = 1,
    resume: bool = True,
    max_frames: int = PKU_FRAMES,
    progress: bool = True,
) -> dict:
    """Convert PKU-MMD videos into `<out>/xsub/` (array format), one clip per labelled segment."""
    from skelzoo.io import prepare

    if dataset not in NUM_CLASSES:
        raise unknown("PKU-MMD part", dataset, NUM_CLASSES)
    raw, labels = Path(raw_dir), Path(label_dir)
    for flag, p in (("--raw", raw), ("--labels", labels)):
        if not p.is_dir():
            raise SkelzooError(f"{flag} {p}: not a directory")
    split = read_split_file(split_file)
    files = sorted(raw.glob("*.txt"))
    if not files:
        raise SkelzooError(f"--raw {raw}: no skeleton .txt files")
    known = split["train"] | split["val"]
    outside = [p.name for p in files if p.stem not in known]
    files = [p for p in files if p.stem in known]
    if not files:
        raise SkelzooError(f"--raw {raw}: none of the skeleton files is named in --split-file {split_file}")
    settings = {"label_dir": str(labels.resolve()), "num_classes": NUM_CLASSES[dataset],
                "max_frames": max_frames, "version": 1}
    out = Path(out_dir)
    got = prepare.collect(files, _pku_job, out, settings, workers=workers, resume=resume,
                          progress=progress, description=f"{dataset}: parsing")
    skipped = got.skipped + [(n, "not in the split file") for n in outside]
    if not got.clips:
        raise SkelzooError(f"--raw {raw}: no file gave a clip")
    video_of = {ref.name: ref.name.rsplit("_", 1)[0] for ref in got.clips}
    counts = prepare.write_benchmark(
        out / "xsub",
        got.clips,
        lambda ref: "train" if video_of[ref.name] in split["train"] else "val",
        (3, max_frames, 25, 2),
        dict(dataset=dataset, benchmark="xsub", layout="ntu25", num_classes=NUM_CLASSES[dataset],
             class_names=[f"C{c:02d}" for c in range(1, NUM_CLASSES[dataset] + 1)],
             source=f"skelzoo prepare_pku from {raw.resolve()} (split {Path(split_file).name})",
             preprocessing="ntu-reference"),
    )
    prepare.write_skipped(out, skipped)
    if progress:
        prepare.report_skipped(skipped)
    return {"dataset": dataset, "out": str(out), "benchmarks": {"xsub": counts}, "files": len(files),
            "parsed": got.parsed, "cached": got.cached,
            "skipped": [{"file": n, "reason": r} for n, r in skipped]}
