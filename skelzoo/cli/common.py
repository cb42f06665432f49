"""Options shared by several commands, defined once (Annotated aliases) so they read the same."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

DeviceOpt = Annotated[
    str, typer.Option("--device", help="'auto' (CUDA when available, else CPU), 'cpu', 'cuda', 'cuda:1'.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout (logs go to stderr).")]
ModelOpt = Annotated[
    Optional[str],
    typer.Option("--model", "-m", help="Zoo entry name or alias, a local checkpoint (.pt), a saved model directory, or a Hub repo id."),
]
BatchOpt = Annotated[int, typer.Option("--batch-size", "-b", min=1, help="Clips per forward pass.")]
OutOpt = Annotated[Optional[Path], typer.Option("--out", "-o", help="Output path.")]
