"""NTU `.skeleton` parsing speed: skelzoo's parser vs a straightforward line-by-line parser.

Both read a file from disk and return the same thing: every body track (by body id) as a
(B, T, 25, 3) float32 array of x, y, z; the outputs are checked equal before timing. Each file is
parsed `--repeats` times per round and the best of `--rounds` rounds is kept (the least disturbed
by other processes), then files/s of both and their ratio are printed.

    python benchmarks/ntu_parse.py [--dir /work/shared/data/ntu_skeleton] [--repeats 5] [--rounds 5]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from skelzoo.io.ntu import read_skeleton


def line_by_line(path: Path) -> np.ndarray:
    """The usual reader: one `float()` per value of every joint line, then an array at the end."""
    with open(path) as fh:
        lines = fh.read().splitlines()
    i = 0
    num_frames = int(lines[i]); i += 1
    ids: dict[int, int] = {}
    records = []
    for frame in range(num_frames):
        num_bodies = int(lines[i]); i += 1
        for _ in range(num_bodies):
            body_id = int(lines[i].split()[0]); i += 1
            num_joints = int(lines[i]); i += 1
            joints = []
            for _ in range(num_joints):
                joints.append([float(v) for v in lines[i].split()]); i += 1
            ids.setdefault(body_id, len(ids))
            records.append((frame, body_id, joints))
    out = np.zeros((len(ids), num_frames, 25, 3), dtype=np.float32)
    for frame, body_id, joints in records:
        out[ids[body_id], frame] = np.array(joints)[:, :3]
    return out


def _rate(fn, files: list[Path], repeats: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            for f in files:
                fn(f)
        best = min(best, time.perf_counter() - start)
    return repeats * len(files) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path("/work/shared/data/ntu_skeleton"))
    parser.add_argument("--repeats", type=int, default=5, help="passes over the files per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the fastest is reported")
    args = parser.parse_args()
    files = sorted(args.dir.glob("*.skeleton"))
    if not files:
        raise SystemExit(f"no .skeleton files in {args.dir}")
    for f in files:  # same output, bit for bit, before any timing
        if not np.array_equal(read_skeleton(f).bodies, line_by_line(f)):
            raise SystemExit(f"outputs differ on {f}")
    fast = _rate(lambda f: read_skeleton(f), files, args.repeats, args.rounds)
    slow = _rate(line_by_line, files, args.repeats, args.rounds)
    mb = sum(f.stat().st_size for f in files) / 1e6
    print(f"{len(files)} files ({mb:.1f} MB), outputs identical; {args.repeats} passes per round, best of {args.rounds} rounds")
    print(f"skelzoo read_skeleton : {fast:8.1f} files/s")
    print(f"line-by-line float()  : {slow:8.1f} files/s")
    print(f"speed-up              : {fast / slow:8.1f}x")


if __name__ == "__main__":
    main()
