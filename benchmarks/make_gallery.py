"""Make the README gallery (docs/gallery/) from the synthetic set, with skelzoo's own commands.

    python benchmarks/make_gallery.py [--out docs/gallery] [--model CKPT] [--run RUN_DIR]

Pictures:
- ``clip.gif``, ``two_person.gif``: `skelzoo show` of a one-person and a two-person test clip;
- ``augment.png``: `skelzoo show --augment`, a clip beside two training views (filmstrip);
- ``retrieval.png``, ``feature_map.png``, ``confusion.png``, ``per_class.png``: retrieval and
  evaluation pictures. Features come from `--model` (a checkpoint, through skelzoo.inference)
  or, without one, from the raw joint coordinates of the evaluation crop: an honest no-encoder
  baseline, and every picture says which it is;
- ``curves.png``: `skelzoo plot-log` of `--run`, when given.

Everything is drawn by code from a seeded synthetic set, so the gallery can be made again.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from skelzoo.augment import center_crop
from skelzoo.cli import main as cli
from skelzoo.data.synth import write_synthetic
from skelzoo.eval.knn import cosine_topk
from skelzoo.viz import confusion_matrix_png, feature_map_png, per_class_accuracy_png, retrieval_sheet_png


def _split(root: Path, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = np.load(root / f"{split}_data_joint.npy", mmap_mode="r")
    num_frames = np.load(root / f"{split}_num_frame.npy")
    with open(root / f"{split}_label.pkl", "rb") as fh:  # written by skelzoo itself: plain lists
        _, labels = pickle.load(fh)
    return data, num_frames, np.asarray(labels)


def _features(data: np.ndarray, num_frames: np.ndarray, model: str | None) -> np.ndarray:
    if model:
        from skelzoo.checkpoint import load_encoder
        from skelzoo.inference import encode

        return encode(load_encoder(model), data, num_frames)
    crop = center_crop(torch.from_numpy(np.array(data)), torch.from_numpy(num_frames))
    return crop.reshape(len(data), -1).numpy()


def _run_cli(args: list[str]) -> None:
    try:
        cli(args)
    except SystemExit as exit_:
        if exit_.code:
            raise SystemExit(f"skelzoo {' '.join(args)} failed with code {exit_.code}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/gallery"))
    parser.add_argument("--model", help="a checkpoint whose encoder makes the features (default: raw joints)")
    parser.add_argument("--run", type=Path, help="a training run directory for the curves")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory() as tmp:
        root = write_synthetic(Path(tmp) / "synth", seed=args.seed, size="tiny") / "xsub"
        names = json.loads((root / "meta.json").read_text())["class_names"]
        val_npy = root / "val_data_joint.npy"
        val, val_n, val_y = _split(root, "val")
        train, train_n, train_y = _split(root, "train")

        one = int(np.flatnonzero(val_y == names.index("wave"))[0])
        two = int(np.flatnonzero(val_y == names.index("handshake"))[0])
        common = ["--dpi", "60", "--fps", "12"]
        _run_cli(["show", str(val_npy), "-i", str(one), "-o", str(out / "clip.gif"), "--frames", "30", "--size", "240x260", *common])
        _run_cli(["show", str(val_npy), "-i", str(two), "-o", str(out / "two_person.gif"), "--frames", "30", "--size", "240x260", *common])
        _run_cli(["show", str(val_npy), "-i", str(one), "-o", str(out / "augment.png"), "--augment", "--strip", "5",
                  "--size", "620x420", "--seed", str(args.seed), *common])

        what = f"encoder of {Path(args.model).name}" if args.model else "raw joint coordinates, no encoder"
        query_f = _features(val, val_n, args.model)
        gallery_f = _features(train, train_n, args.model)
        nn = cosine_topk(query_f, gallery_f, k=5, device="cpu")
        q = int(np.flatnonzero(val_y == names.index("clap"))[0])
        retrieval_sheet_png(out / "retrieval.png", val[q], [train[i] for i in nn.indices[q]], int(val_y[q]),
                            [int(train_y[i]) for i in nn.indices[q]], nn.scores[q], class_names=names,
                            width=720, row_height=80, dpi=80, title=f"top-5 neighbours in the training set ({what})")
        feature_map_png(out / "feature_map.png", query_f, val_y, names, width=620, height=420, dpi=80,
                        title=f"synthetic test clips, PCA of features ({what})")
        pred = train_y[nn.indices[:, 0]]
        confusion_matrix_png(out / "confusion.png", val_y, pred, names, width=460, height=460, dpi=80,
                             title=f"1-NN confusion, {np.mean(pred == val_y):.0%} top-1 ({what})")
        per_class_accuracy_png(out / "per_class.png", val_y, pred, names, width=460, dpi=80,
                               title=f"1-NN per-class accuracy ({what})")
    if args.run:
        _run_cli(["plot-log", str(args.run), "-o", str(out / "curves.png")])

    total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    for p in sorted(out.iterdir()):
        print(f"{p}  {p.stat().st_size / 1024:.0f} KiB", file=sys.stderr)
    print(f"total {total / 1024:.0f} KiB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
