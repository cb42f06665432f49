"""NTU RGB+D 60/120 raw `.skeleton` files: a fast parser, file names, splits and `prepare_ntu`.

File format (one clip per file, whitespace separated, LF or CRLF):

    <frame count>
    per frame:  <body count>
      per body: <10 fields: body id, clipped edges, hand confidences/states, restricted, lean x y, tracking>
                <joint count (25)>
                <joint count lines of 12 numbers: x y z, depth x y, colour x y, orientation w x y z, tracking>

The parser never loops over values in Python: it splits the file into lines once, walks the
structure over line indices (counts only: a few hundred integers per file), then hands all joint
lines to C-level iterators (`map` of a bound `split`, `itemgetter`, `np.fromiter`) that cut out and
convert only x, y, z: 3-5x faster than a line-by-line `float()` loop (benchmarks/ntu_parse.py). A
fully vectorised byte-matrix decimal parser was tried and lost: the arrays are small and the work
memory-bound, so numpy's per-op cost exceeded what it saved.
"""

from __future__ import annotations

import itertools
import operator
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skelzoo.errors import SkelzooError
from skelzoo.io.preprocess import reference_preprocess, select_bodies

NTU_FRAMES = 300
NTU_JOINTS = 25
_JOINT_FIELDS = 12
_BODY_FIELDS = 10

# ----------------------------------------------------------------------------- file names, splits

_NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")

NTU60_XSUB_TRAIN = frozenset(
    [1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38]
)
NTU120_XSUB_TRAIN = NTU60_XSUB_TRAIN | frozenset(
    [45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86,
     89, 91, 92, 93, 94, 95, 97, 98, 100, 103]
)
XVIEW_TRAIN_CAMERAS = frozenset([2, 3])
BENCHMARKS = {"ntu60": ("xsub", "xview"), "ntu120": ("xsub", "xset")}
NUM_CLASSES = {"ntu60": 60, "ntu120": 120}
# NTU-60 is setups 1-17 and actions 1-60; NTU-120 adds setups 18-32 and actions 61-120.
_LIMITS = {"ntu60": (17, 60), "ntu120": (32, 120)}


@dataclass(frozen=True)
class NtuName:
    setup: int
    camera: int
    performer: int
    replication: int
    action: int  # 1-based, as in the file name

    @property
    def label(self) -> int:
        return self.action - 1


def parse_name(name: str | Path) -> NtuName:
    """`S001C002P003R002A013[.skeleton]` -> its five numbers; anything else is an error."""
    stem = Path(name).name
    match = _NAME.match(stem)
    if not match:
        raise SkelzooError(
            f"{name}: not an NTU RGB+D file name; expected SsssCcccPpppRrrrAaaa.skeleton, "
            "e.g. S001C002P003R002A013.skeleton"
        )
    return NtuName(*(int(g) for g in match.groups()))


def is_train(info: NtuName, benchmark: str) -> bool:
    """Whether a clip is in the training split of `benchmark` (xsub60, xsub120, xview, xset)."""
    if benchmark == "xview":
        return info.camera in XVIEW_TRAIN_CAMERAS
    if benchmark == "xset":
        return info.setup % 2 == 0
    if benchmark == "xsub60":
        return info.performer in NTU60_XSUB_TRAIN
    if benchmark == "xsub120":
        return info.performer in NTU120_XSUB_TRAIN
    from skelzoo.errors import unknown

    raise unknown("NTU benchmark", benchmark, ["xsub60", "xsub120", "xview", "xset"])


def split_of(name: str | Path, dataset: str, benchmark: str) -> str:
    """'train' or 'val' for a file of `dataset` (ntu60/ntu120) under `benchmark`."""
    bench = f"xsub{dataset[3:]}" if benchmark == "xsub" else benchmark
    return "train" if is_train(parse_name(name), bench) else "val"


NTU_CLASS_NAMES = (
    "drink water", "eat meal/snack", "brushing teeth", "brushing hair", "drop", "pickup", "throw",
    "sitting down", "standing up (from sitting position)", "clapping", "reading", "writing",
    "tear up paper", "wear jacket", "take off jacket", "wear a shoe", "take off a shoe",
    "wear on glasses", "take off glasses", "put on a hat/cap", "take off a hat/cap", "cheer up",
    "hand waving", "kicking something", "reach into pocket", "hopping (one foot jumping)", "jump up",
    "make a phone call/answer phone", "playing with phone/tablet", "typing on a keyboard",
    "pointing to something with finger", "taking a selfie", "check time (from watch)",
    "rub two hands together", "nod head/bow", "shake head", "wipe face", "salute",
    "put the palms together", "cross hands in front (say stop)", "sneeze/cough", "staggering",
    "falling", "touch head (headache)", "touch chest (stomachache/heart pain)",
    "touch back (backache)", "touch neck (neckache)", "nausea or vomiting condition",
    "use a fan (with hand or paper)/feeling warm", "punching/slapping other person",
    "kicking other person", "pushing other person", "pat on back of other person",
    "point finger at the other person", "hugging other person", "giving something to other person",
    "touch other person's pocket", "handshaking", "walking towards each other",
    "walking apart from each other",
    # NTU-120 additions
    "put on headphone", "take off headphone", "shoot at the basket", "bounce ball",
    "tennis bat swing", "juggling table tennis balls", "hush (quite)", "flick hair", "thumb up",
    "thumb down", "make ok sign", "make victory sign", "staple book", "counting money",
    "cutting nails", "cutting paper (using scissors)", "snapping fingers", "open bottle",
    "sniff (smell)", "squat down", "toss a coin", "fold paper", "ball up paper", "play magic cube",
    "apply cream on face", "apply cream on hand back", "put on bag", "take off bag",
    "put something into a bag", "take something out of a bag", "open a box", "move heavy objects",
    "shake fist", "throw up cap/hat", "hands up (both hands)", "cross arms", "arm circles",
    "arm swings", "running on the spot", "butt kicks (kick backward)", "cross toe touch",
    "side kick", "yawn", "stretch oneself", "blow nose", "hit other person with something",
    "wield knife towards other person", "knock over other person (hit with body)",
    "grab other person's stuff", "shoot at other person with a gun", "step on foot", "high-five",
    "cheers and drink", "carry something with other person", "take a photo of other person",
    "follow other person", "whisper in other person's ear", "exchange things with other person",
    "support somebody with hand", "finger-guessing game (playing rock-paper-scissors)",
)
assert len(NTU_CLASS_NAMES) == 120


# ----------------------------------------------------------------------------- the fast parser


@dataclass
class RawSkeleton:
    """One parsed file: every body track (by Kinect body id) over all frames of the file."""

    bodies: np.ndarray  # (B, T, 25, 3) float32, zeros where a body is not tracked
    body_ids: list[int]
    num_frames: int  # T, the frame count the file declares


class _Broken(Exception):
    """Internal: the fast walk found the file inconsistent; the slow locator names the line."""


# The x y z of a joint line, in C: split at the first three single spaces, keep three fields.
_SPLIT3 = operator.methodcaller("split", b" ", 3)
_SPLIT3_ANY_SPACE = operator.methodcaller("split", None, 3)
_XYZ = operator.itemgetter(0, 1, 2)


def _walk(lines: list[bytes]) -> tuple[int, list[tuple[int, int]], list[list[bytes]]]:
    """Follow the counts line by line. Returns (frames, [(frame, body id)], [joint lines per body])."""

    def integer(i: int, what: str) -> int:
        if i >= len(lines):
            raise _Broken(f"file ends where {what} was expected")
        try:
            return int(lines[i])
        except ValueError:
            raise _Broken(f"{what} is {lines[i][:20].decode(errors='replace').strip()!r}, not an integer") from None

    num_frames = integer(0, "the frame count")
    if num_frames < 0:
        raise _Broken(f"negative frame count {num_frames}")
    pos = 1
    bodies: list[tuple[int, int]] = []
    joint_lines: list[list[bytes]] = []
    for frame in range(num_frames):
        num_bodies = integer(pos, f"the body count of frame {frame + 1}")
        if not 0 <= num_bodies <= 20:
            raise _Broken(f"frame {frame + 1} declares {num_bodies} bodies")
        pos += 1
        for _ in range(num_bodies):
            if pos >= len(lines):
                raise _Broken(f"file ends inside frame {frame + 1} of {num_frames}")
            info = lines[pos].split(None, 1)
            try:
                body_id = int(info[0])
            except (ValueError, IndexError):
                raise _Broken(f"the body info line of frame {frame + 1} does not start with a body id") from None
            joints = integer(pos + 1, f"the joint count in frame {frame + 1}")
            if joints != NTU_JOINTS:
                raise _Broken(f"frame {frame + 1} has a body with {joints} joints, expected {NTU_JOINTS}")
            first = pos + 2
            pos = first + NTU_JOINTS
            if pos > len(lines):
                raise _Broken(f"file ends inside frame {frame + 1} of {num_frames}")
            bodies.append((frame, body_id))
            joint_lines.append(lines[first:pos])
    if any(line.strip() for line in lines[pos:]):
        raise _Broken(f"unexpected lines after the {num_frames} declared frames")
    return num_frames, bodies, joint_lines


def _xyz(joint_lines: list[bytes], split) -> np.ndarray:
    fields = itertools.chain.from_iterable(map(_XYZ, map(split, joint_lines)))
    # Python's float() on bytes is faster than numpy's own text conversion inside fromiter.
    return np.fromiter(map(float, fields), dtype=np.float64, count=3 * len(joint_lines))


def _locate(path: Path, text: bytes, reason: str) -> SkelzooError:
    """Slow, line-based pass used only on a broken file: name the line where the structure breaks."""
    lines = text.splitlines()
    line = 0

    def fields(expect: int | None, what: str) -> list[bytes]:
        nonlocal line
        if line >= len(lines):
            raise SkelzooError(f"{path}: truncated: the file ends at line {line} where {what} was expected ({reason})")
        parts = lines[line].split()
        if expect is not None and len(parts) != expect:
            raise SkelzooError(
                f"{path}: line {line + 1} ({what}) has {len(parts)} values, expected {expect} ({reason})"
            )
        line += 1
        return parts

    try:
        num_frames = int(fields(1, "frame count")[0])
        for frame in range(num_frames):
            for _ in range(int(fields(1, f"body count of frame {frame + 1}")[0])):
                fields(_BODY_FIELDS, f"body info of frame {frame + 1}")
                for _ in range(int(fields(1, f"joint count of frame {frame + 1}")[0])):
                    vals = fields(_JOINT_FIELDS, f"joint of frame {frame + 1}")
                    [float(v) for v in vals]
    except ValueError as err:
        return SkelzooError(f"{path}: line {line}: garbled value ({err}); the file is corrupted ({reason})")
    except SkelzooError as err:
        return err
    return SkelzooError(f"{path}: malformed NTU skeleton file: {reason}")


def read_skeleton(path: str | Path) -> RawSkeleton:
    """Parse one `.skeleton` file into body tracks; a broken file raises naming the file and line."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise SkelzooError(f"{path}: no such file") from None
    if not text.strip():
        raise SkelzooError(f"{path}: the file is empty (truncated download?)")
    return parse_skeleton_bytes(text, path)


def parse_skeleton_bytes(text: bytes, path: str | Path = "<bytes>") -> RawSkeleton:
    """Parse the bytes of one `.skeleton` file (`path` only names it in errors)."""
    path = Path(path)
    # Lines keep a trailing b"\r" in CRLF files: int() and float() ignore surrounding whitespace.
    lines = text.split(b"\n")
    try:
        num_frames, blocks, joint_lines = _walk(lines)
    except _Broken as err:
        raise _locate(path, text, str(err)) from None
    ids: dict[int, int] = {}
    for _, body_id in blocks:
        ids.setdefault(body_id, len(ids))
    bodies = np.zeros((len(ids), num_frames, NTU_JOINTS, 3), dtype=np.float32)
    if blocks:
        flat = list(itertools.chain.from_iterable(joint_lines))
        try:
            values = _xyz(flat, _SPLIT3)
        except (ValueError, IndexError):
            try:  # tabs, repeated or leading spaces: the general (slower) split
                values = _xyz(flat, _SPLIT3_ANY_SPACE)
            except (ValueError, IndexError) as err:
                raise _locate(path, text, f"a joint line is not numbers ({err})") from None
        frame = np.array([b[0] for b in blocks])
        slot = np.array([ids[b[1]] for b in blocks])
        bodies[slot, frame] = values.reshape(len(blocks), NTU_JOINTS, 3)
    if not np.isfinite(bodies).all():
        raise SkelzooError(f"{path}: contains NaN or infinite joint coordinates; the file is corrupted")
    return RawSkeleton(bodies=bodies, body_ids=list(ids), num_frames=num_frames)


def load_ntu_clip(
    path: str | Path, max_frames: int = NTU_FRAMES, max_bodies: int = 2, repeat_pad: bool = False
) -> tuple[np.ndarray, int]:
    """A raw file -> reference-preprocessed ((3, max_frames, 25, max_bodies) float32, valid frames).

    Raises SkelzooError when the file holds no skeleton in any frame (the known "missing skeleton"
    samples), so callers can skip and report it.
    """
    raw = read_skeleton(path)
    if raw.bodies.shape[0] == 0 or not np.abs(raw.bodies).any():
        raise SkelzooError(f"{path}: no skeleton in any of its {raw.num_frames} frames")
    selected, _ = select_bodies(raw.bodies, max_bodies=max_bodies)
    return reference_preprocess(selected, max_frames=max_frames, repeat_pad=repeat_pad)


# ----------------------------------------------------------------------------- prepare_ntu


def _ntu_job(path: Path, max_frames: int, repeat_pad: bool, version: int) -> list:
    from skelzoo.io.prepare import Clip

    data, n = load_ntu_clip(path, max_frames=max_frames, repeat_pad=repeat_pad)
    return [Clip(path.stem, data, n, parse_name(path).label)]


def list_ntu_files(raw_dir: str | Path, dataset: str) -> tuple[list[Path], int]:
    """The `.skeleton` files of `dataset` under `raw_dir` (searched recursively), sorted by name,
    and how many other `.skeleton` files were ignored (NTU-120 files when preparing NTU-60)."""
    raw = Path(raw_dir)
    if not raw.is_dir():
        raise SkelzooError(f"--raw {raw}: not a directory; pass the folder holding the .skeleton files")
    max_setup, max_action = _LIMITS[dataset]
    files, ignored = [], 0
    for path in sorted(raw.rglob("*.skeleton"), key=lambda p: p.name):
        info = parse_name(path)
        if info.setup <= max_setup and info.action <= max_action:
            files.append(path)
        else:
            ignored += 1
    if not files:
        raise SkelzooError(
            f"--raw {raw}: no {dataset.upper()} .skeleton files found (expected names like "
            "S001C001P001R001A001.skeleton, e.g. from nturgbd_skeletons_s001_to_s017.zip)"
        )
    return files, ignored


def prepare_ntu(
    raw_dir: str | Path,
    out_dir: str | Path,
    dataset: str = "ntu60",
    benchmarks: tuple[str, ...] | None = None,
    workers: int = 1,
    resume: bool = True,
    skip_list: str | Path | None = None,
    max_frames: int = NTU_FRAMES,
    repeat_pad: bool = False,
    progress: bool = True,
) -> dict:
    """Convert raw NTU RGB+D files into one array-format directory per benchmark.

    `<out>/<benchmark>/` gets train/val arrays (N, 3, 300, 25, 2), labels, valid frame counts and
    meta.json; `<out>/.cache/` keeps each parsed file so a rerun only does what is missing, and
    `<out>/skipped.txt` lists the files left out and why. Returns a summary dict.
    """
    from skelzoo.io import prepare
    from skelzoo.errors import unknown

    if dataset not in BENCHMARKS:
        raise unknown("NTU dataset", dataset, BENCHMARKS)
    benchmarks = tuple(benchmarks or BENCHMARKS[dataset])
    for bench in benchmarks:
        if bench not in BENCHMARKS[dataset]:
            raise unknown(f"{dataset} benchmark", bench, BENCHMARKS[dataset])
    out = Path(out_dir)
    files, ignored = list_ntu_files(raw_dir, dataset)
    skipped: list[tuple[str, str]] = []
    if skip_list is not None:
        names = prepare.read_name_list(skip_list)
        skipped += [(p.name, f"in skip list {skip_list}") for p in files if p.stem in names]
        files = [p for p in files if p.stem not in names]
    settings = {"max_frames": max_frames, "repeat_pad": repeat_pad, "version": 1}
    got = prepare.collect(files, _ntu_job, out, settings, workers=workers, resume=resume,
                          progress=progress, description=f"{dataset}: parsing")
    skipped += got.skipped
    if not got.clips:
        raise SkelzooError(f"--raw {raw_dir}: none of the {len(files)} files gave a skeleton")
    counts = {}
    num_classes = NUM_CLASSES[dataset]
    for bench in benchmarks:
        counts[bench] = prepare.write_benchmark(
            out / bench,
            got.clips,
            lambda ref, bench=bench: split_of(ref.name, dataset, bench),
            (3, max_frames, NTU_JOINTS, 2),
            dict(dataset=dataset, benchmark=bench, layout="ntu25", num_classes=num_classes,
                 class_names=list(NTU_CLASS_NAMES[:num_classes]),
                 source=f"skelzoo prepare_ntu from {Path(raw_dir).resolve()}",
                 preprocessing="ntu-reference"),
        )
    prepare.write_skipped(out, skipped)
    if progress:
        prepare.report_skipped(skipped)
    return {"dataset": dataset, "out": str(out), "benchmarks": counts, "files": len(files),
            "parsed": got.parsed, "cached": got.cached, "ignored_other_dataset": ignored,
            "skipped": [{"file": n, "reason": r} for n, r in skipped]}
