"""`skelzoo eval` (the paper's protocols) and `skelzoo retrieve` (nearest clips, for search)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from skelzoo.cli.common import BatchOpt, DeviceOpt, JsonOpt, ModelOpt
from skelzoo.errors import SkelzooError

CheckpointOpt = Annotated[
    Optional[Path], typer.Option("--checkpoint", "-c", help="A skelzoo checkpoint (.pt), e.g. runs/<name>/checkpoint.pt.")
]
EncoderOpt = Annotated[
    Optional[str], typer.Option("--encoder", "-e", help="Which encoder of a pair to use (seq, stg, img); default: the model's default.")
]
NoCacheOpt = Annotated[
    bool, typer.Option("--no-cache", help="Recompute features instead of reading/writing $SKELZOO_CACHE/features.")
]


def _ints(text: str, option: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise SkelzooError(f"{option} takes comma-separated integers, e.g. '1,5'; got {text!r}.") from None
    if not values or min(values) < 1:
        raise SkelzooError(f"{option} takes positive integers; got {text!r}.")
    return values


def _floats(text: str, option: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise SkelzooError(f"{option} takes comma-separated numbers, e.g. '1,5,10,20'; got {text!r}.") from None
    if not values:
        raise SkelzooError(f"{option} is empty.")
    return values


def eval_command(
    data: Annotated[Path, typer.Option("--data", "-d", help="Dataset directory in the array format (e.g. from `skelzoo data prepare` or `skelzoo data synth`).")],
    protocol: Annotated[str, typer.Option("--protocol", "-p", help="linear | knn | semi | transfer.")] = "linear",
    model: ModelOpt = None,
    checkpoint: CheckpointOpt = None,
    encoder: EncoderOpt = None,
    epochs: Annotated[Optional[int], typer.Option("--epochs", min=1, help="Training epochs (linear: 80, semi/transfer: 80). Milestones 50/70 scale with it.")] = None,
    milestones: Annotated[Optional[str], typer.Option("--milestones", help="Epochs at which the lr drops x0.1, e.g. '50,70' (default: 50,70 scaled to --epochs).")] = None,
    lr: Annotated[float, typer.Option("--lr", help="Linear probe learning rate.")] = 0.1,
    lr_encoder: Annotated[float, typer.Option("--lr-encoder", help="semi/transfer: encoder learning rate.")] = 0.01,
    lr_head: Annotated[float, typer.Option("--lr-head", help="semi/transfer: classifier learning rate.")] = 0.1,
    weight_decay: Annotated[float, typer.Option("--weight-decay", help="semi/transfer: weight decay (the linear probe uses none).")] = 1e-4,
    train_batch: Annotated[int, typer.Option("--train-batch-size", min=1, help="Clips per SGD step.")] = 64,
    fractions: Annotated[str, typer.Option("--fractions", help="semi: label percentages, comma-separated.")] = "1,5,10,20",
    seeds: Annotated[Optional[int], typer.Option("--seeds", min=1, help="semi/transfer: seeds (default 5 for semi, 1 for transfer).")] = None,
    k: Annotated[str, typer.Option("--k", help="knn: neighbour counts, comma-separated, e.g. '1,5,20'.")] = "1",
    train_split: Annotated[str, typer.Option("--train-split", help="Split used for training / as the kNN gallery.")] = "train",
    test_split: Annotated[str, typer.Option("--test-split", help="Split tested / used as kNN queries.")] = "val",
    json_out: JsonOpt = False,
    results: Annotated[Optional[Path], typer.Option("--results", "-r", help="Write the results file (JSON) that the zoo manifest and model cards read.")] = None,
    plots: Annotated[Optional[Path], typer.Option("--plots", help="Write confusion matrix, per-class accuracy and feature map PNGs into this folder (needs matplotlib).")] = None,
    device: DeviceOpt = "auto",
    batch_size: BatchOpt = 256,
    no_cache: NoCacheOpt = False,
    seed: Annotated[int, typer.Option("--seed", help="linear: seed of the probe's initialisation, shuffling and crops.")] = 0,
) -> None:
    """Evaluate an encoder with one of the paper's protocols.

    [bold]linear[/bold]: frozen encoder, linear classifier (SGD 0.1, momentum 0.9, batch 64, 80 epochs, x0.1 at
    50/70, random crops U[0.5,1] while training, centre crop when testing). Reports [italic]top1[/italic] (final
    epoch, the headline) and [italic]best_epoch_top1[/italic] (best epoch chosen on the test set, as the
    reference implementation reported).
    [bold]knn[/bold]: cosine k-NN, train split as gallery, test split as queries (1-NN is the paper's retrieval).
    [bold]semi[/bold]: fine-tune encoder + classifier on 1/5/10/20 % class-balanced label subsets, 5 seeds, mean ± std.
    [bold]transfer[/bold]: fine-tune the pretrained encoder on all labels of --data (another dataset).

    Features of frozen encoders are cached (keyed by the weights, the data and the crop).

    Example: skelzoo eval -c runs/isc/checkpoint.pt --data data/ntu60/xview --protocol knn --k 1,5 --json
    """
    from rich.table import Table

    from skelzoo.eval.linear import ProbeConfig
    from skelzoo.eval.protocols import EvalOptions, check_protocol, evaluate, load_for_eval
    from skelzoo.eval.results import write_results
    from skelzoo.eval.semi import FinetuneConfig
    from skelzoo.progress import stderr_console

    check_protocol(protocol)
    ms = _ints(milestones, "--milestones") if milestones else None
    opts = EvalOptions(
        device=device, batch_size=batch_size, cache=not no_cache, progress=True, ks=_ints(k, "--k"),
        probe=ProbeConfig(epochs=epochs or 80, lr=lr, batch_size=train_batch, milestones=ms, seed=seed,
                          encode_batch=max(batch_size, train_batch)),
        finetune=FinetuneConfig(epochs=epochs or 80, lr_encoder=lr_encoder, lr_head=lr_head, weight_decay=weight_decay,
                                batch_size=train_batch, milestones=ms),
        fractions=_floats(fractions, "--fractions"), seeds=seeds,
    )
    loaded = load_for_eval(model, checkpoint, encoder, device)
    doc, outcome, test = evaluate(loaded, data, protocol, opts, train_split, test_split)
    if results is not None:
        write_results(results, doc)
    if plots is not None:
        _write_plots(plots, outcome, test)

    table = Table(title=f"{protocol} · {loaded.label} ({loaded.which}) on {doc['dataset']}/{doc['benchmark']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in outcome.rows:
        table.add_row(name, value)
    stderr_console.print(table)
    if results is not None:
        stderr_console.print(f"results written to {results}")
    if json_out:
        typer.echo(json.dumps(doc, indent=2))


def _write_plots(folder: Path, outcome, test) -> None:
    try:
        from skelzoo import viz
    except ImportError as err:
        raise SkelzooError(f"--plots needs matplotlib ({err}); install it with `pip install skelzoo[plots]`.") from None
    folder.mkdir(parents=True, exist_ok=True)
    names = test.class_names or [str(i) for i in range(int(max(test.labels.max(), 0)) + 1)]
    if outcome.y_pred is not None:
        _plot(viz, "confusion_matrix_png", folder / "confusion_matrix.png", outcome.y_true, outcome.y_pred, names)
        _plot(viz, "per_class_accuracy_png", folder / "per_class_accuracy.png", outcome.y_true, outcome.y_pred, names)
    if outcome.test_features is not None:
        _plot(viz, "feature_map_png", folder / "feature_map.png", outcome.test_features, test.labels, names)


def _plot(viz, name: str, path: Path, *args, **kwargs) -> None:
    fn = getattr(viz, name, None)
    if fn is None:
        import importlib

        for mod in ("skelzoo.viz.plots", "skelzoo.viz.eval", "skelzoo.viz.retrieval"):
            try:
                fn = getattr(importlib.import_module(mod), name, None)
            except ImportError:
                continue
            if fn is not None:
                break
    if fn is None:
        raise SkelzooError(f"this skelzoo has no skelzoo.viz.{name}; plots are unavailable.")
    fn(path, *args, **kwargs)


def retrieve_command(
    gallery: Annotated[str, typer.Option("--gallery", "-g", help="Gallery: a dataset dir (its train split), DIR:SPLIT, a clip file or a folder of clips.")],
    query: Annotated[str, typer.Option("--query", "-q", help="Queries: a dataset dir (its val split), DIR:SPLIT, a clip file or a folder of clips.")],
    model: ModelOpt = None,
    checkpoint: CheckpointOpt = None,
    encoder: EncoderOpt = None,
    k: Annotated[int, typer.Option("--k", min=1, help="Neighbours per query.")] = 5,
    json_out: JsonOpt = False,
    sheet: Annotated[Optional[Path], typer.Option("--sheet", help="Draw a PNG contact sheet of one query and its neighbours (needs matplotlib).")] = None,
    sheet_query: Annotated[int, typer.Option("--sheet-query", min=0, help="Which query (0-based) the --sheet shows.")] = 0,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Queries shown in the terminal table (--json lists all).")] = 20,
    device: DeviceOpt = "auto",
    batch_size: BatchOpt = 256,
    no_cache: NoCacheOpt = False,
) -> None:
    """Find the gallery clips nearest to each query clip (cosine similarity of encoder features).

    Exact search in bounded memory (chunked matrix products, GPU when available); among equal scores
    the lower gallery index comes first. With labels on both sides, 1-NN accuracy is printed too.

    Example: skelzoo retrieve -m runs/isc/checkpoint.pt --gallery data/ntu60/xview --query my_clip.npy --k 5
    """
    from rich.table import Table

    from skelzoo.eval.features import extract_features
    from skelzoo.eval.knn import cosine_topk
    from skelzoo.eval.protocols import load_for_eval
    from skelzoo.eval.splits import TEST, TRAIN, check_compatible, input_spec, open_source
    from skelzoo.progress import stderr_console

    loaded = load_for_eval(model, checkpoint, encoder, device)
    layout = input_spec(loaded.encoder)["layout"]
    g = open_source(gallery, TRAIN, layout)
    q = open_source(query, TEST, layout)
    if k > len(g):
        raise SkelzooError(f"--k {k}: the gallery {g.name} holds only {len(g)} clips.")
    frames = check_compatible(loaded.encoder, g, f"model {loaded.label}")
    check_compatible(loaded.encoder, q, f"model {loaded.label}")
    feats = [extract_features(loaded.encoder, s.data, s.num_frames, labels=s.labels, batch_size=batch_size, device=device,
                              progress=True, out_frames=frames, cache=not no_cache, source=s.name) for s in (g, q)]
    nb = cosine_topk(feats[1], feats[0], k=k, device=device, progress=True)

    out = []
    for i in range(len(q)):
        item = {"query": q.names[i], "neighbours": [
            {"rank": r + 1, "name": g.names[j], "index": int(j), "score": round(float(s), 6),
             **({"label": int(g.labels[j]), "class": g.class_name(int(g.labels[j]))} if g.labels is not None else {})}
            for r, (j, s) in enumerate(zip(nb.indices[i], nb.scores[i]))]}
        if q.labels is not None:
            item["label"] = int(q.labels[i])
            item["class"] = q.class_name(int(q.labels[i]))
        out.append(item)
    summary = {}
    if q.labels is not None and g.labels is not None:
        top1 = g.labels[nb.indices[:, 0]] == q.labels
        hits = (g.labels[nb.indices] == q.labels[:, None]).mean()
        summary = {"knn1_top1": float(top1.mean() * 100), f"precision_at_{k}": float(hits * 100)}

    table = Table(title=f"nearest gallery clips · {loaded.label} · {len(q)} queries, {len(g)} gallery clips")
    table.add_column("query")
    for r in range(k):
        table.add_column(f"#{r + 1}")
    for item in out[:limit]:
        qname = item["query"] + (f"\n[dim]{item['class']}[/dim]" if "class" in item else "")
        table.add_row(qname, *[f"{n['name']}\n{n['score']:.3f}" + (f" [dim]{n['class']}[/dim]" if "class" in n else "")
                               for n in item["neighbours"]])
    stderr_console.print(table)
    if len(out) > limit:
        stderr_console.print(f"[dim]{len(out) - limit} more queries not shown (--limit, or --json for all)[/dim]")
    for name, value in summary.items():
        stderr_console.print(f"{name}: {value:.2f}%")
    if sheet is not None:
        _write_sheet(sheet, sheet_query, g, q, nb, layout)
    if json_out:
        typer.echo(json.dumps({"model": loaded.label, "encoder": loaded.which, "gallery": g.name, "query": q.name, "k": k,
                               "results": out, **summary}, indent=2))


def _write_sheet(path: Path, i: int, g, q, nb, layout: str) -> None:
    import numpy as np

    if i >= len(q):
        raise SkelzooError(f"--sheet-query {i}: there are only {len(q)} queries.")
    try:
        from skelzoo import viz
    except ImportError as err:
        raise SkelzooError(f"--sheet needs matplotlib ({err}); install it with `pip install skelzoo[plots]`.") from None

    def clip(split, j):
        return np.asarray(split.data[j][:, : int(split.num_frames[j])], dtype=np.float32)

    idx = nb.indices[i]
    _plot(viz, "retrieval_sheet_png", path, clip(q, i), [clip(g, j) for j in idx],
          q.class_name(int(q.labels[i])) if q.labels is not None else None,
          [g.class_name(int(g.labels[j])) for j in idx] if g.labels is not None else None,
          [float(s) for s in nb.scores[i]], layout=layout)
    from skelzoo.progress import stderr_console

    stderr_console.print(f"retrieval sheet written to {path}")


def register(app: typer.Typer) -> None:
    """Add `eval` and `retrieve` to the root app."""
    app.command("eval", no_args_is_help=True)(eval_command)
    app.command("retrieve", no_args_is_help=True)(retrieve_command)
