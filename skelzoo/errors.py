"""The one exception type for user mistakes.

Anything raised as :class:`SkelzooError` is the user's to fix (a bad file, an unknown name, a wrong
shape); the CLI prints its message on one line and exits with code 2. Any other exception is a bug
and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SkelzooError(Exception):
    """A problem with the user's input, named with the file or value and, where known, the fix."""


def closest(name: str, choices: Iterable[str]) -> str:
    """A ' Did you mean ...?' suffix naming the closest choice, or '' when nothing is close."""
    match = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f" Did you mean {match[0]!r}?" if match else ""


def unknown(kind: str, name: str, choices: Iterable[str]) -> SkelzooError:
    """The error for a name that is not in a registry: what is known and what was probably meant."""
    choices = sorted(choices)
    return SkelzooError(
        f"unknown {kind} {name!r}.{closest(name, choices)} Known: {', '.join(choices)}."
    )
