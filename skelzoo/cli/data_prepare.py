"""Attaches its commands to `skelzoo.cli.data.data_app`."""

from __future__ import annotations

from skelzoo.cli.data import data_app  # noqa: F401
