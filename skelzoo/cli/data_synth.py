"""`skelzoo data synth`: write the embedded synthetic action set; attached to `skelzoo.cli.data.data_app`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from skelzoo.cli.common import JsonOpt
from skelzoo.cli.data import data_app


@data_app.command("synth")
def synth(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder; gets xsub/ and xview/ benchmark folders.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed writes the same arrays, bit for bit.")] = 0,
    size: Annotated[str, typer.Option("--size", help="'default' (15 classes x 20 subjects x 3 cameras x 2 repetitions = 1800 clips) or 'tiny' (180 clips, for tests).")] = "default",
    baseline: Annotated[bool, typer.Option("--baseline", help="Also score raw-joint baselines (1-NN and nearest class mean, cosine, after the evaluation crop): the bar a pretrained encoder has to clear.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Write the synthetic NTU-25 action set that skelzoo trains on when you give it no data.

    15 actions (12 one-person, 3 two-person) performed by simulated subjects with their own body
    proportions, tempo and style, seen by three cameras (C001 0°, C002 +45°, C003 -45°), with
    Kinect-like noise and dropped joints, preprocessed like prepared NTU data. Two benchmarks in
    skelzoo's array format: xsub (subjects split in half) and xview (cameras 2 and 3 train,
    camera 1 tests). `skelzoo train` with no data uses a cached copy of the default set.

    Examples:

      skelzoo data synth --out data/synth

      skelzoo data synth --out /tmp/synth-tiny --size tiny --seed 1 --baseline --json
    """
    from skelzoo.data.synth import BENCHMARKS, CLASS_NAMES, raw_knn_baseline, write_synthetic

    start = time.perf_counter()
    write_synthetic(out, seed=seed, size=size)
    elapsed = time.perf_counter() - start
    summary = {"out": str(out), "seed": seed, "size": size, "num_classes": len(CLASS_NAMES),
               "class_names": list(CLASS_NAMES), "seconds": round(elapsed, 2), "benchmarks": {}}
    for bench in BENCHMARKS:
        meta = json.loads((out / bench / "meta.json").read_text())
        summary["benchmarks"][bench] = {"dir": str(out / bench), **meta["splits"]}
        if baseline:
            summary["benchmarks"][bench]["raw_baseline"] = raw_knn_baseline(out / bench)
    if json_out:
        typer.echo(json.dumps(summary, indent=2))
        return
    typer.echo(f"wrote the synthetic set to {out} in {elapsed:.1f} s (seed {seed}, size {size})")
    typer.echo(f"{len(CLASS_NAMES)} classes: {', '.join(CLASS_NAMES)}")
    for bench, info in summary["benchmarks"].items():
        line = f"  {bench}: {info['train']} train / {info['val']} test clips  ->  {info['dir']}"
        if baseline:
            b = info["raw_baseline"]
            line += f"  | raw 1-NN {b['knn1_top1']:.1f} %, nearest class mean {b['ncm_top1']:.1f} %, chance {b['chance']:.1f} %"
        typer.echo(line)
