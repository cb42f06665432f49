"""The `skelzoo` command line: one root Typer app, each command group in its own module.

User mistakes (SkelzooError) are printed as one line on stderr with exit code 2; anything else is
a bug and keeps its traceback.
"""

from __future__ import annotations

import sys

import typer

from skelzoo.errors import SkelzooError

app = typer.Typer(
    name="skelzoo",
    help="Self-supervised skeleton action encoders: train, extract, retrieve, evaluate, export.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    add_completion=False,
)

# Each module adds its commands to `app`; imported here so `skelzoo --help` lists them all.
from skelzoo.cli import data as _data  # noqa: E402
from skelzoo.cli import train as _train  # noqa: E402
from skelzoo.cli import evaluate as _evaluate  # noqa: E402
from skelzoo.cli import zoo as _zoo  # noqa: E402
from skelzoo.cli import export as _export  # noqa: E402
from skelzoo.cli import viz as _viz  # noqa: E402

for _module in (_data, _train, _evaluate, _zoo, _export, _viz):
    _module.register(app)


def main(argv: list[str] | None = None) -> None:
    """Console entry point. Click's own usage errors (exit 2) are handled by Typer in standalone
    mode; skelzoo's user errors are printed here as one line, also with exit code 2."""
    try:
        app(args=argv, standalone_mode=True)
    except SystemExit as done:
        if done.code not in (0, None):
            raise  # usage errors (2) and explicit exits keep their code
    except SkelzooError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)
