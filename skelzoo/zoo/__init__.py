"""The model zoo: the weights manifest, Hub save/load/push, ``load_model`` and checkpoint conversion.

Attributes are imported on first use, so ``import skelzoo.zoo`` (and ``skelzoo list``) stays light.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "load_model": "skelzoo.zoo.load",
    "load_manifest": "skelzoo.zoo.manifest",
    "get_entry": "skelzoo.zoo.manifest",
    "model_names": "skelzoo.zoo.manifest",
    "save_pretrained": "skelzoo.zoo.hub",
    "from_pretrained": "skelzoo.zoo.hub",
    "push_to_hub": "skelzoo.zoo.hub",
    "convert_isc_checkpoint": "skelzoo.zoo.convert",
    "extract_features": "skelzoo.zoo.extract",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'skelzoo.zoo' has no attribute {name!r}")
