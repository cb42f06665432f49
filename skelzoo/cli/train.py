"""`skelzoo train`: self-supervised pre-training from a recipe, with any field overridable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from skelzoo.cli.common import DeviceOpt, JsonOpt
from skelzoo.errors import SkelzooError

EPILOG = (
    "Examples:\n\n"
    "  skelzoo train                                  # synthetic set, seq+stg, ~1 min on a CPU\n\n"
    "  skelzoo train --recipe ntu60-xview-seq-stg --data data/ntu60/xview\n\n"
    "  skelzoo train --data my_coco_set/ --layout coco17 --pair seq,stg\n\n"
    "  skelzoo train ntu60-xview-seq-stg --data data/ntu60/xview --set optim.lr=0.02 --epochs 10\n\n"
    "  torchrun --nproc-per-node 4 $(which skelzoo) train ntu60-xview-seq-stg --data ...   # DDP\n\n"
    "  skelzoo train --resume auto --name my-run       # continue runs/my-run/checkpoint.pt"
)


def register(app: typer.Typer) -> None:
    app.command("train", epilog=EPILOG)(train_command)


def train_command(
    recipe: Annotated[Optional[str], typer.Argument(
        help="Recipe name (see --list-recipes) or a recipe YAML file. Default: synth-seq-stg.")] = None,
    recipe_opt: Annotated[Optional[str], typer.Option(
        "--recipe", "-r", help="Same as the RECIPE argument: a recipe name or YAML file.")] = None,
    layout: Annotated[Optional[str], typer.Option(
        "--layout", help="Joint layout of the data (ntu25, coco17, mediapipe33, openpose18, body25) when "
        "its meta.json doesn't say; the graph encoder's adjacency comes from its bones.")] = None,
    data: Annotated[Optional[Path], typer.Option(
        "--data", "-d", help="Benchmark directory (e.g. data/ntu60/xview) in the array format. "
        "Default for synthetic recipes: the embedded synthetic set.")] = None,
    epochs: Annotated[Optional[int], typer.Option("--epochs", min=1, help="Total epochs (a resumed run continues up to this).")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", "-b", min=1, help="Global batch (split over DDP processes).")] = None,
    lr: Annotated[Optional[float], typer.Option("--lr", help="SGD learning rate (paper: 0.01).")] = None,
    width: Annotated[Optional[float], typer.Option("--width", help="Encoder width multiplier (1.0 = paper size).")] = None,
    pair: Annotated[Optional[str], typer.Option(
        "--pair", "--encoders", help="Representations to contrast, comma-separated: two for ISC (seq,stg), "
        "three for all-pairs, one for plain MoCo v2 (intra-skeleton).")] = None,
    device: DeviceOpt = "auto",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Parent of the run directory (default: runs/).")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Run name: the run directory is <out>/<name> (default: the recipe name).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed for initial weights, batch order and augmentations.")] = None,
    resume: Annotated[Optional[str], typer.Option(
        "--resume", help="Continue from a checkpoint: a path, or 'auto' for the run directory's checkpoint.pt "
        "(starts fresh when there is none yet).")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", min=0, help="DataLoader worker processes (0: load in the main process).")] = None,
    compile_: Annotated[Optional[bool], typer.Option("--compile/--no-compile", help="torch.compile the query encoders.")] = None,
    amp: Annotated[Optional[bool], typer.Option("--amp/--no-amp", help="bf16 autocast on CUDA (default on; CPU runs in fp32).")] = None,
    knn_every: Annotated[Optional[int], typer.Option("--knn-every", min=0, help="Every N epochs, 1-NN top-1 on the val split (0: off).")] = None,
    save_every: Annotated[Optional[int], typer.Option("--save-every", min=0, help="Checkpoint every N epochs (the last epoch is always saved).")] = None,
    overrides: Annotated[Optional[list[str]], typer.Option(
        "--set", help="Override any config field, e.g. --set optim.lr=0.02 --set moco.queue_size=8192 "
        "--set optim.milestones=[300]. Repeatable; applied after the other flags.")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")] = True,
    list_recipes_: Annotated[bool, typer.Option("--list-recipes", help="List the bundled recipes and exit.")] = False,
    show_config: Annotated[bool, typer.Option("--show-config", help="Print the resolved config (YAML) and exit.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Pre-train encoders with inter-skeleton contrast (MoCo v2 with one representation).

    Runs a recipe (a paper setting, or the small synthetic demo by default) and writes <out>/<name>/checkpoint.pt (the encoders and everything needed to resume), config.yaml (the resolved recipe) and log.jsonl (loss, lr, clips/s per logged step).

    The checkpoint's encoders load with skelzoo.checkpoint.load_encoder and work with skelzoo eval, extract and export. Flags override the recipe; --set overrides any field (see --show-config for them all).
    """
    from skelzoo.train.config import DEFAULT_RECIPE, apply_overrides, list_recipes, load_recipe, read_recipe_yaml, recipe_path

    if list_recipes_:
        _print_recipes(list_recipes(), recipe_path, read_recipe_yaml, json_out)
        return
    if recipe and recipe_opt and recipe != recipe_opt:
        raise SkelzooError(f"two recipes given: {recipe!r} and --recipe {recipe_opt!r}; pass one.")
    cfg = load_recipe(recipe or recipe_opt or DEFAULT_RECIPE)
    flags = {
        "data.path": str(data) if data is not None else None, "epochs": epochs, "batch_size": batch_size,
        "optim.lr": lr, "model.width": width, "out": str(out) if out is not None else None, "run_name": name,
        "seed": seed, "resume": resume, "data.workers": workers, "compile": compile_, "amp": amp,
        "knn_every": knn_every, "save_every": save_every, "data.layout": layout,
    }
    sets = [f"{k}={json.dumps(v)}" for k, v in flags.items() if v is not None]
    if device != "auto":
        sets.append(f"device={json.dumps(device)}")
    if pair is not None:
        names = [p.strip() for p in pair.split(",") if p.strip()]
        sets.append(f"model.encoders={json.dumps(names)}")
    if not progress:
        sets.append("progress=false")
    apply_overrides(cfg, sets + list(overrides or []))
    cfg.validate()
    if show_config:
        import yaml

        typer.echo(yaml.safe_dump(cfg.to_dict(), sort_keys=False), nl=False)
        return

    from skelzoo.train.trainer import CHECKPOINT, train

    run_dir = train(cfg)
    ckpt = run_dir / CHECKPOINT
    if not ckpt.is_file():
        raise SkelzooError(f"training finished but {ckpt} was not written.")
    summary = {"run_dir": str(run_dir), "checkpoint": str(ckpt), "log": str(run_dir / "log.jsonl"),
               "recipe": cfg.name, "encoders": list(cfg.model.encoders), "epochs": cfg.epochs}
    last = _last_loss(run_dir / "log.jsonl")
    if last is not None:
        summary["final_loss"] = last
    typer.echo(f"done: checkpoint {ckpt} (encoders {', '.join(cfg.model.encoders)}; default {cfg.model.encoders[0]})", err=True)
    if json_out:
        typer.echo(json.dumps(summary))


def _last_loss(log: Path) -> float | None:
    if not log.is_file():
        return None
    last = None
    for line in log.read_text().splitlines():
        rec = json.loads(line)
        if "loss" in rec:
            last = rec["loss"]
    return last


def _print_recipes(names, recipe_path, read_recipe_yaml, json_out: bool) -> None:
    rows = []
    for n in names:
        raw = read_recipe_yaml(recipe_path(n))
        rows.append({"name": n, "description": raw.get("description", ""),
                     "encoders": raw.get("model", {}).get("encoders", []), "epochs": raw.get("epochs")})
    if json_out:
        typer.echo(json.dumps(rows))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("recipe", "encoders", "epochs", "description")
    for r in rows:
        table.add_row(r["name"], ",".join(r["encoders"]), str(r["epochs"]), r["description"])
    Console().print(table)
