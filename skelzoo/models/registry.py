"""One table of encoder builders, timm style.

A builder is a function decorated with ``@register_encoder("name")`` that takes keyword arguments
and returns an encoder module. ``create_encoder(name, **kwargs)`` is the only way the rest of
skelzoo builds an encoder, and ``list_encoders()`` the only way it lists them, so adding a builder
here adds it to the CLI, the checkpoints and the parametrised tests at once.
"""

from __future__ import annotations

import fnmatch
import inspect
from collections.abc import Callable
from typing import Any

import torch

from skelzoo.errors import SkelzooError, unknown

Builder = Callable[..., torch.nn.Module]

_ENCODERS: dict[str, Builder] = {}


def register_encoder(name: str) -> Callable[[Builder], Builder]:
    """Decorator: put a builder into the table under `name` (names are unique)."""

    def deco(fn: Builder) -> Builder:
        if name in _ENCODERS:
            raise ValueError(f"encoder {name!r} is already registered")
        _ENCODERS[name] = fn
        return fn

    return deco


def list_encoders(pattern: str = "*") -> list[str]:
    """Registered encoder names matching a shell-style wildcard, sorted."""
    return sorted(n for n in _ENCODERS if fnmatch.fnmatchcase(n, pattern))


def builder_kwargs(name: str) -> list[str]:
    """The keyword arguments the builder of `name` accepts, in signature order."""
    return list(inspect.signature(_get(name)).parameters)


def create_encoder(name: str, **kwargs: Any) -> torch.nn.Module:
    """Build the encoder registered as `name`.

    Keyword arguments that are ``None`` are dropped, so callers can pass options through blindly
    and get the builder's defaults. A name or an argument the builder does not know is a
    :class:`SkelzooError` that lists what is known.
    """
    builder = _get(name)
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    params = inspect.signature(builder).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        extra = sorted(set(kwargs) - set(params))
        if extra:
            raise SkelzooError(
                f"encoder {name!r} does not take {', '.join(map(repr, extra))}. "
                f"It takes: {', '.join(params)}."
            )
    return builder(**kwargs)


def _get(name: str) -> Builder:
    try:
        return _ENCODERS[name]
    except KeyError:
        raise unknown("encoder", name, _ENCODERS) from None
