"""`skelzoo data ...`: the command group for datasets (prepare real sets, make the synthetic set)."""

from __future__ import annotations

import typer

data_app = typer.Typer(
    help="Prepare datasets: convert raw NTU RGB+D / PKU-MMD files, or write the synthetic action set.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    # Sub-command modules attach themselves to data_app on import.
    from skelzoo.cli import data_prepare as _prepare  # noqa: F401
    from skelzoo.cli import data_synth as _synth  # noqa: F401
    from skelzoo.cli import data_mocap as _mocap  # noqa: F401

    app.add_typer(data_app, name="data")
