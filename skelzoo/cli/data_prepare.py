"""`skelzoo data prepare ...` and `skelzoo data info ...`; attached to `skelzoo.cli.data.data_app`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from skelzoo.cli.common import JsonOpt
from skelzoo.cli.data import data_app
from skelzoo.errors import SkelzooError, unknown

DATASETS = ("ntu60", "ntu120", "pku1", "pku2")


@data_app.command("prepare")
def prepare(
    dataset: Annotated[str, typer.Argument(help="ntu60, ntu120, pku1 or pku2.")],
    raw: Annotated[Path, typer.Option("--raw", help="Folder of raw files: NTU *.skeleton (searched recursively) or PKU-MMD skeleton *.txt.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder; one sub-folder per benchmark (xsub/, xview/, xset/).")],
    workers: Annotated[int, typer.Option("--workers", "-w", min=0, help="Parallel parsing processes; 0 = one per CPU.")] = 0,
    benchmark: Annotated[Optional[List[str]], typer.Option("--benchmark", help="Benchmarks to write (repeatable). NTU-60: xsub, xview; NTU-120: xsub, xset; PKU: xsub. Default: all.")] = None,
    skip_list: Annotated[Optional[Path], typer.Option("--skip-list", help="NTU: file of sample names to leave out (one per line), e.g. the published missing-skeleton lists.")] = None,
    labels: Annotated[Optional[Path], typer.Option("--labels", help="PKU-MMD: folder of label files (same file names as the skeleton files).")] = None,
    split_file: Annotated[Optional[Path], typer.Option("--split-file", help='PKU-MMD: cross-subject split, JSON {"train": [video ids], "val": [...]} or the official cross-subject.txt.')] = None,
    no_resume: Annotated[bool, typer.Option("--no-resume", help="Re-parse every file instead of reusing <out>/.cache.")] = False,
    repeat_pad: Annotated[bool, typer.Option("--repeat-pad", help="Fill frames after the clip by repeating it (the reference's padding, for tools that ignore num_frame); default: zeros.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Convert raw NTU RGB+D 60/120 or PKU-MMD I/II skeletons into skelzoo's array format.

    Each benchmark folder gets train/val arrays (N, 3, 300, 25, 2), 0-based labels, valid frame
    counts and meta.json, preprocessed as the reference does (two most active bodies, centred on
    the first body's spine, rotated so hip->spine is +z and the shoulders lie along x).

    Parsing is cached per file in <out>/.cache, so an interrupted run resumes where it stopped.
    Files with no skeleton, broken files and skip-listed files are left out and listed in
    <out>/skipped.txt.

    Examples:

      skelzoo data prepare ntu60 --raw nturgb+d_skeletons/ --out data/ntu60

      skelzoo data prepare pku1 --raw PKU_Skeleton_Renew/ --labels Train_Label_PKU_final/ --split-file cross-subject.txt --out data/pku1
    """
    if dataset not in DATASETS:
        raise unknown("dataset", dataset, DATASETS)
    workers = workers or max(1, os.cpu_count() or 1)
    progress = True  # the bar goes to stderr, so it never mixes with --json output
    if dataset.startswith("ntu"):
        if labels or split_file:
            raise SkelzooError("--labels and --split-file are for PKU-MMD; NTU labels and splits come from the file names")
        from skelzoo.io.ntu import prepare_ntu

        result = prepare_ntu(raw, out, dataset, tuple(benchmark) if benchmark else None, workers=workers,
                             resume=not no_resume, skip_list=skip_list, repeat_pad=repeat_pad, progress=progress)
    else:
        if labels is None:
            raise SkelzooError(f"{dataset} needs --labels DIR: the folder of PKU-MMD label files")
        if split_file is None:
            raise SkelzooError(
                f"{dataset} needs --split-file FILE: the official cross-subject lists are not bundled with "
                'skelzoo; pass the official cross-subject.txt or JSON {"train": [...], "val": [...]} of video ids'
            )
        if benchmark and list(benchmark) != ["xsub"]:
            raise SkelzooError("PKU-MMD has only the xsub (cross-subject) benchmark here")
        if skip_list:
            raise SkelzooError("--skip-list is for NTU; leave PKU-MMD videos out of --split-file instead")
        from skelzoo.io.pku import prepare_pku

        result = prepare_pku(raw, labels, out, split_file, dataset, workers=workers, resume=not no_resume,
                             progress=progress)
    if json_out:
        typer.echo(json.dumps(result, indent=2))
        return
    for bench, counts in result["benchmarks"].items():
        typer.echo(f"{Path(result['out']) / bench}: train {counts['train']}, val {counts['val']}", err=True)
    typer.echo(f"{result['files']} files: {result['parsed']} parsed, {result['cached']} from cache, "
               f"{len(result['skipped'])} skipped", err=True)


@data_app.command("info")
def info(
    path: Annotated[Path, typer.Argument(help="A benchmark folder, a folder of benchmark folders, a *_data_joint.npy file or a pyskl .pkl.")],
    json_out: JsonOpt = False,
) -> None:
    """Summarise a dataset: splits, clips, frames, classes, layout (quick checks included)."""
    from skelzoo.data.dataset import open_dataset

    path = Path(path)
    targets = [path]
    if path.is_dir() and not list(path.glob("*_data_joint.npy")):
        targets = sorted(p for p in path.iterdir() if p.is_dir() and list(p.glob("*_data_joint.npy"))) or [path]
    report = {}
    for target in targets:
        if target.suffix == ".pkl":
            splits = ["train", "val"]
        elif target.is_dir():
            splits = sorted(p.name[: -len("_data_joint.npy")] for p in target.glob("*_data_joint.npy"))
        else:
            splits = [target.name[: -len("_data_joint.npy")]]
        entry = {}
        for split in splits:
            ds = open_dataset(target, split)
            entry[split] = ds.summary()
            entry["meta"] = {k: ds.meta.get(k) for k in ("dataset", "benchmark", "layout", "num_classes")}
        report[str(target)] = entry
    if json_out:
        typer.echo(json.dumps(report, indent=2))
        return
    for target, entry in report.items():
        meta = entry.pop("meta")
        typer.echo(f"{target}  ({meta.get('dataset') or '?'} {meta.get('benchmark') or ''}, layout {meta['layout']}, {meta['num_classes']} classes)")
        for split, s in entry.items():
            f = s["frames"] or {}
            typer.echo(f"  {split:6s} {s['clips']:7d} clips  shape {tuple(s['shape'])}  frames {f.get('min')}..{f.get('max')} "
                       f"(mean {f.get('mean', 0):.0f})  classes present {s['classes_present']}")
