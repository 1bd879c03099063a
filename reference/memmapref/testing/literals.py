"""Python source that rebuilds a value exactly, for the snippets the adapter records."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def literal(value: Any) -> str:
    """Python source that rebuilds ``value``: arrays from their exact bytes."""
    if isinstance(value, np.ndarray):
        return (
            f"np.frombuffer(bytes.fromhex({value.tobytes().hex()!r}), dtype={dtype_literal(value.dtype)})"
            f".reshape({value.shape!r})"
        )
    if isinstance(value, type):
        return f"np.{value.__name__}" if issubclass(value, np.generic) else value.__name__
    if isinstance(value, np.dtype):
        return dtype_literal(value)
    if isinstance(value, np.generic):
        return f"np.{type(value).__name__}({value.item()!r})"
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if value is Ellipsis:
        return "..."
    if isinstance(value, slice):
        return f"slice({value.start!r}, {value.stop!r}, {value.step!r})"
    return repr(value)


def dtype_literal(dtype: np.dtype[Any]) -> str:
    """Source that rebuilds ``dtype`` exactly: field offsets, padding and alignment included."""
    if dtype.subdtype is not None:
        base, shape = dtype.subdtype
        return f"np.dtype(({dtype_literal(base)}, {shape!r}))"
    if dtype.fields is None:
        return repr(dtype.str)
    descr = dtype.descr
    # The short list form, where it rebuilds the dtype: no padding between fields, no alignment flag.
    if not dtype.isalignedstruct and all(entry[0] for entry in descr) and np.dtype(descr) == dtype:
        return repr(descr)
    names = list(dtype.names or ())
    formats = ", ".join(dtype_literal(dtype.fields[n][0]) for n in names)
    offsets = [dtype.fields[n][1] for n in names]
    aligned = ", 'aligned': True" if dtype.isalignedstruct else ""
    return (
        f"np.dtype({{'names': {names!r}, 'formats': [{formats}], 'offsets': {offsets!r}, "
        f"'itemsize': {dtype.itemsize}{aligned}}})"
    )
