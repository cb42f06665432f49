"""The zoo commands: `skelzoo list`, `info`, `extract`, `push`, `convert isc-checkpoint`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from skelzoo.cli.common import BatchOpt, DeviceOpt, JsonOpt

convert_app = typer.Typer(
    help="Convert checkpoints from other code bases into skelzoo checkpoints.",
    no_args_is_help=True,
)


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.1f}"


def _row(entry: dict) -> dict:
    enc = entry["default_encoder"]
    ours = entry.get("metrics", {}).get(enc, {})
    paper = (entry.get("paper") or {}).get("metrics", {}).get(enc, {})
    return {
        "name": entry["name"], "aliases": entry["aliases"], "pair": "+".join(entry["pair"]),
        "encoder": enc, "dataset": entry["dataset"], "benchmark": entry["benchmark"],
        "status": entry["status"],
        "linear": ours.get("linear"), "knn1": ours.get("knn1"),
        "paper_linear": paper.get("linear"), "paper_knn1": paper.get("knn1"),
    }


def list_cmd(json_out: JsonOpt = False) -> None:
    """List the zoo: every trained (dataset, benchmark, representation pair) in the manifest.

    Accuracies are top-1 (%) of the default encoder: 'ours' were measured on the published weights,
    'paper' are Thoker et al. (2021). Entries marked not-yet-trained have no weights yet;
    `skelzoo info NAME` says how to train them.
    """
    from rich.console import Console
    from rich.table import Table

    from skelzoo.zoo.manifest import get_entry, load_manifest

    manifest = load_manifest()
    rows = [_row(get_entry(n, manifest)) for n in sorted(manifest["models"])]
    if json_out:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="skelzoo model zoo (top-1 %, default encoder)")
    table.add_column("name", no_wrap=True)
    for col in ("pair", "enc", "status"):
        table.add_column(col, no_wrap=True)
    for col in ("linear", "1-NN", "paper linear", "paper 1-NN"):
        table.add_column(col, justify="right")
    for r in rows:
        status = "[green]published[/]" if r["status"] == "published" else f"[yellow]{r['status']}[/]"
        table.add_row(r["name"], r["pair"], r["encoder"], status, _fmt(r["linear"]),
                      _fmt(r["knn1"]), _fmt(r["paper_linear"]), _fmt(r["paper_knn1"]))
    console = Console()
    if not console.is_terminal:  # piped: do not squeeze the table into 80 columns
        console = Console(width=140)
    console.print(table)


def info_cmd(
    model: Annotated[str, typer.Argument(help="Zoo entry name or alias (see `skelzoo list`).")],
    json_out: JsonOpt = False,
) -> None:
    """Everything the manifest knows about one zoo model: encoders, input spec, recipe, weights, metrics."""
    import yaml

    from skelzoo.zoo.manifest import get_entry, not_trained_message

    entry = get_entry(model)
    if json_out:
        typer.echo(json.dumps(entry, indent=2))
        return
    typer.echo(yaml.safe_dump({entry["name"]: entry}, sort_keys=False).rstrip())
    if entry["status"] != "published":
        typer.echo("\n" + not_trained_message(entry))


def extract_cmd(
    inputs: Annotated[list[Path], typer.Argument(
        help="Clip .npy files ((T,V,C), (M,T,V,C) or (C,T,V,M)), folders of them, or a prepared dataset folder.")],
    model: Annotated[str, typer.Option("--model", "-m", help="Zoo name or alias, a .pt checkpoint, a save_pretrained folder, a Hub repo id (org/name or org/name@revision); with --backend onnx an .onnx file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="features.npy (+ features.names.txt) or features.safetensors (names in its metadata).")],
    encoder: Annotated[Optional[str], typer.Option("--encoder", "-e", help="Which encoder of the pair (default: the model's default, e.g. seq).")] = None,
    backend: Annotated[str, typer.Option("--backend", help="'torch', or 'onnx' for an exported model.")] = "torch",
    batch_size: BatchOpt = 64,
    device: DeviceOpt = "cpu",
    layout: Annotated[Optional[str], typer.Option("--layout", help="Joint layout of the clips (default: the model's, e.g. ntu25). Other layouts (coco17, mediapipe33, openpose18, body25) are mapped onto the model's; missing joints are interpolated and reported (see `skelzoo layouts`).")] = None,
    lift: Annotated[Optional[str], typer.Option("--lift", help="How to make 2D clips 3D for a 3D model: 'zero' appends z = 0.")] = None,
    split: Annotated[str, typer.Option("--split", help="Split of a prepared dataset folder: train or val.")] = "train",
    json_out: JsonOpt = False,
) -> None:
    """Encode skeleton clips into feature vectors with a frozen zoo encoder.

    Each clip gets the evaluation crop (centre 95 % of its valid frames, resized to the model's 64
    frames), exactly as in evaluation. Example:

        skelzoo extract --model ntu60-xview-seq-stg clips/ -o features.npy
    """
    from skelzoo.zoo.extract import extract_features

    features, names = extract_features(model, inputs, out, encoder=encoder, backend=backend,
                                       batch_size=batch_size, device=device, layout=layout,
                                       split=split, progress=not json_out, lift=lift)
    summary = {"out": str(out), "clips": len(names), "feature_dim": int(features.shape[1])}
    if json_out:
        typer.echo(json.dumps(summary))
    else:
        typer.echo(f"wrote {len(names)} x {features.shape[1]} features to {out}", err=True)


def push_cmd(
    checkpoint: Annotated[Path, typer.Argument(help="A skelzoo checkpoint (.pt) or a save_pretrained folder.")],
    repo: Annotated[str, typer.Option("--repo", help="Hub repo to create/update, ORG/NAME.")],
    private: Annotated[bool, typer.Option("--private", help="Create the repo private.")] = False,
    results: Annotated[Optional[list[Path]], typer.Option("--results", help="results.json from `skelzoo evaluate` (repeatable); its metrics go into the model card and the entry.")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Zoo entry name (default: the recipe name).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Upload weights to the Hugging Face Hub and print the weights_manifest.yaml entry to add.

    Writes model.safetensors + config.json + a model card, creates the repo if needed, uploads,
    and prints the entry with the pinned commit sha and file sha256 (log in first: `hf auth login`).
    """
    import yaml

    from skelzoo.zoo.hub import load_pretrained_checkpoint, push_to_hub

    source = load_pretrained_checkpoint(checkpoint) if checkpoint.is_dir() else checkpoint
    entry_name, entry = push_to_hub(source, repo, private=private, results=list(results or []), name=name)
    if json_out:
        typer.echo(json.dumps({"name": entry_name, "entry": entry}, indent=2))
        return
    typer.echo(f"uploaded to https://huggingface.co/{repo} at {entry['hub']['revision']}", err=True)
    typer.echo("# add under `models:` in skelzoo/weights_manifest.yaml (and copy it to the root):", err=True)
    typer.echo(yaml.safe_dump({entry_name: entry}, sort_keys=False).rstrip())


def convert_isc_cmd(
    file: Annotated[Path, typer.Argument(help="The authors' checkpoint, e.g. checkpoint_0450.pth.tar.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The skelzoo checkpoint to write (.pt).")],
    pair: Annotated[Optional[str], typer.Option("--pair", help="seq-stg, seq-img or stg-img (checked against the keys; default: detected).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Convert an ISC checkpoint of the paper's reference code into a skelzoo checkpoint.

    Keeps the two query encoders (encoder_q, encoder_r), drops key encoders, queues and projection
    heads, and loads strictly. The GRU is built with reference_compat=True (the reference's
    frame-by-frame recurrence). Read with torch.load(weights_only=True): no pickled code runs.
    """
    from skelzoo.zoo.convert import convert_isc_checkpoint

    summary = convert_isc_checkpoint(file, out, pair=pair)
    if json_out:
        typer.echo(json.dumps(summary, indent=2))
    else:
        typer.echo(f"wrote {out} ({summary['pair']}; load it with skelzoo.load({str(out)!r}))", err=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("list")(list_cmd)
    app.command("info")(info_cmd)
    app.command("extract")(extract_cmd)
    app.command("push")(push_cmd)
    convert_app.command("isc-checkpoint")(convert_isc_cmd)
    app.add_typer(convert_app, name="convert")

