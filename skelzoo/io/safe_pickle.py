"""A restricted unpickler for pickles that come from strangers (label files, pyskl annotations).

Plain `pickle.load` runs whatever callable a pickle names, so one crafted `train_label.pkl` can run
shell commands. Skeleton pickles only ever hold plain containers, numbers, strings and numpy
arrays, so :func:`safe_load` resolves exactly the globals those need and refuses every other one
with a :class:`SkelzooError` that names the file and the refused global. Nothing is imported on a
pickle's say-so: allowed names map to objects picked here.
"""

from __future__ import annotations

import collections
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from skelzoo.errors import SkelzooError

try:  # numpy >= 2 moved the internals to numpy._core; pickles from either era name either path
    from numpy._core import multiarray as _multiarray
    from numpy._core import numeric as _numeric
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _multiarray  # type: ignore[no-redef]
    from numpy.core import numeric as _numeric  # type: ignore[no-redef]


def _allowed() -> dict[tuple[str, str], Any]:
    table: dict[tuple[str, str], Any] = {}
    for builtins in ("builtins", "__builtin__"):  # protocol 0-2 pickles say __builtin__
        for name, obj in {
            "dict": dict, "list": list, "tuple": tuple, "set": set, "frozenset": frozenset,
            "int": int, "float": float, "complex": complex, "bool": bool, "str": str,
            "bytes": bytes, "bytearray": bytearray, "slice": slice, "range": range,
        }.items():
            table[(builtins, name)] = obj
    table[("collections", "OrderedDict")] = collections.OrderedDict
    # Protocol <= 2 writes bytes as _codecs.encode(str, 'latin1'); encoding a string is harmless.
    table[("_codecs", "encode")] = _latin1_encode
    for core in ("numpy.core", "numpy._core"):
        table[(f"{core}.multiarray", "_reconstruct")] = _multiarray._reconstruct
        table[(f"{core}.multiarray", "scalar")] = _multiarray.scalar
        # Protocol 5 pickles contiguous arrays as numeric._frombuffer(buffer, dtype, shape, order).
        table[(f"{core}.numeric", "_frombuffer")] = _numeric._frombuffer
    table[("numpy", "ndarray")] = np.ndarray
    table[("numpy", "dtype")] = np.dtype
    # numpy >= 1.25 pickles dtypes through their class in numpy.dtypes (e.g. Float32DType).
    import numpy.dtypes as _dtypes

    for name in dir(_dtypes):
        obj = getattr(_dtypes, name)
        if isinstance(obj, type) and issubclass(obj, np.dtype):
            table[("numpy.dtypes", name)] = obj
    return table


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode is only allowed on str with latin1")
    return text.encode("latin1")


_ALLOWED = _allowed()


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, fh: io.BufferedIOBase, source: str):
        super().__init__(fh)
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise SkelzooError(
                f"refusing to unpickle {module}.{name} from {self._source}: skelzoo only reads "
                "pickles of plain containers, numbers, strings and numpy arrays (a pickle that names "
                "other callables can run code). Re-save the data as plain lists/dicts/arrays, or as .npy."
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise SkelzooError(
            f"refusing to unpickle a persistent reference from {self._source}: this is not a plain "
            "data pickle (torch checkpoints are read with torch.load(weights_only=True) instead)."
        )


def safe_loads(data: bytes, source: str = "<bytes>") -> Any:
    """Unpickle `data` allowing only plain data; `source` names it in error messages."""
    try:
        return _RestrictedUnpickler(io.BytesIO(data), source).load()
    except SkelzooError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError,
            AttributeError, OverflowError, MemoryError, UnicodeDecodeError) as err:
        kind = "truncated" if isinstance(err, EOFError) else "corrupted or not a pickle"
        raise SkelzooError(
            f"cannot read {source}: the pickle is {kind} ({type(err).__name__}: {err}). "
            "Re-create or re-download the file."
        ) from None


def safe_load(path: str | Path) -> Any:
    """Read a pickle file from an untrusted source: plain containers, numbers, str and numpy only."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SkelzooError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SkelzooError(f"{path}: is a directory, expected a .pkl file") from None
    if not data:
        raise SkelzooError(f"cannot read {path}: the file is empty (truncated download?)")
    return safe_loads(data, str(path))
