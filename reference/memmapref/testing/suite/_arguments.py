"""The argument cases of the error tests: each spelling the ARGS clauses refuse or accept, and ARGS.4's dtypes."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest

from .. import strategies as mst
from ..protocol import Adapter

SHAPE = (4, 5)


class FromPath(NamedTuple):
    """An argument made from the example's file (a path spelling, an open file object, a descriptor).

    ``source`` is how the snippet spells it; ``release`` undoes what ``make`` opened.
    """

    make: Callable[[Path], Any]
    source: Callable[[Adapter, Path, Any], str]
    release: Callable[[Any], None] = lambda value: None


def _as_path_source(impl: Adapter, path: Path, value: Any) -> str:
    return impl.path_source(value)


def _close(value: Any) -> None:
    value.close()


def _close_descriptor(fd: int) -> None:
    # The implementation may have taken the descriptor over and closed it (Python's open(fd) does).
    with contextlib.suppress(OSError):
        os.close(fd)


FILE_OBJECT = FromPath(
    # Writable, so that no mode can refuse it for a reason of its own (PermissionError in "r+").
    lambda path: open(path, "r+b"),  # noqa: SIM115 -- closed by release, after the call
    lambda impl, path, value: f"open({impl.relative(path)!r}, 'r+b')",
    _close,
)


DESCRIPTOR = FromPath(
    lambda path: os.open(path, os.O_RDWR),
    lambda impl, path, value: f"os.open({impl.relative(path)!r}, os.O_RDWR)",
    _close_descriptor,
)


class Case(NamedTuple):
    clause: str
    expected: tuple[type[BaseException], ...]
    overrides: dict[str, Any]


# Every refused spelling ARGS.6, ARGS.7 and ARGS.8 name or imply: near misses of an accepted
# spelling (lowercase, numpy's extra orders, the write modes, bytes) and values of other types.
OPEN_CASES = {
    "float-shape": Case("ARGS.1", (TypeError,), {"shape": (20.0, 20.0)}),
    "bool-shape-entry": Case("ARGS.1", (TypeError,), {"shape": (True, 5)}),
    "negative-shape": Case("ARGS.2", (ValueError,), {"shape": (-1, 5)}),
    "overflowing-shape": Case("ARGS.3", (ValueError,), {"shape": (2**40, 2**40)}),
    "object-dtype": Case("ARGS.4", (TypeError,), {"dtype": object}),
    "unknown-dtype": Case("ARGS.4", (TypeError,), {"dtype": "float65"}),
    "object-field-dtype": Case("ARGS.4", (TypeError,), {"dtype": np.dtype([("n", "<i8"), ("o", "O")])}),
    "zero-size-dtype": Case("ARGS.4", (TypeError,), {"dtype": np.dtype("S0")}),
    "negative-offset": Case("ARGS.5", (ValueError,), {"offset": -8}),
    "float-offset": Case("ARGS.5", (TypeError,), {"offset": 8.0}),
    "order-Z": Case("ARGS.6", (ValueError,), {"order": "Z"}),
    "order-c": Case("ARGS.6", (ValueError,), {"order": "c"}),
    "order-f": Case("ARGS.6", (ValueError,), {"order": "f"}),
    "order-A": Case("ARGS.6", (ValueError,), {"order": "A"}),
    "order-K": Case("ARGS.6", (ValueError,), {"order": "K"}),
    "order-None": Case("ARGS.6", (ValueError,), {"order": None}),
    "order-empty": Case("ARGS.6", (ValueError,), {"order": ""}),
    "order-CF": Case("ARGS.6", (ValueError,), {"order": "CF"}),
    "order-bytes": Case("ARGS.6", (ValueError,), {"order": b"C"}),
    "order-int": Case("ARGS.6", (ValueError,), {"order": 1}),
    "order-array": Case("ARGS.6", (ValueError,), {"order": np.array("C")}),
    "mode-w+": Case("ARGS.7", (ValueError,), {"mode": "w+"}),
    "mode-write": Case("ARGS.7", (ValueError,), {"mode": "write"}),
    "unknown-mode": Case("ARGS.7", (ValueError,), {"mode": "rw"}),
    "mode-rb": Case("ARGS.7", (ValueError,), {"mode": "rb"}),
    "mode-R": Case("ARGS.7", (ValueError,), {"mode": "R"}),
    "mode-R+": Case("ARGS.7", (ValueError,), {"mode": "R+"}),
    "mode-C": Case("ARGS.7", (ValueError,), {"mode": "C"}),
    "mode-READONLY": Case("ARGS.7", (ValueError,), {"mode": "READONLY"}),
    "mode-bytes": Case("ARGS.7", (ValueError,), {"mode": b"r"}),
    "mode-None": Case("ARGS.7", (ValueError,), {"mode": None}),
    "mode-empty": Case("ARGS.7", (ValueError,), {"mode": ""}),
    "mode-array": Case("ARGS.7", (ValueError,), {"mode": np.array("r")}),
    "path-not-a-path": Case("ARGS.8", (TypeError,), {"path": 3.5}),
    "path-None": Case("ARGS.8", (TypeError,), {"path": None}),
    "path-file-object": Case("ARGS.8", (TypeError,), {"path": FILE_OBJECT}),
    "path-int-fd": Case("ARGS.8", (TypeError,), {"path": DESCRIPTOR}),
}


# Every accepted spelling: each must give the same array as the plain one ("C", "r", a str path).
ACCEPTED: dict[str, tuple[str, dict[str, Any]]] = {
    "order-C": ("ARGS.6", {"order": "C"}),
    "order-F": ("ARGS.6", {"order": "F"}),
    "order-np.str_-C": ("ARGS.6", {"order": np.str_("C")}),
    "order-np.str_-F": ("ARGS.6", {"order": np.str_("F")}),
    "mode-r": ("ARGS.7", {"mode": "r"}),
    "mode-r+": ("ARGS.7", {"mode": "r+"}),
    "mode-c": ("ARGS.7", {"mode": "c"}),
    "mode-readonly": ("ARGS.7", {"mode": "readonly"}),
    "mode-readwrite": ("ARGS.7", {"mode": "readwrite"}),
    "mode-copyonwrite": ("ARGS.7", {"mode": "copyonwrite"}),
    "mode-np.str_-r+": ("ARGS.7", {"mode": np.str_("r+")}),
    "path-str": ("ARGS.8", {"path": FromPath(str, _as_path_source)}),
    "path-bytes": ("ARGS.8", {"path": FromPath(os.fsencode, _as_path_source)}),
    "path-pathlib": ("ARGS.8", {"path": FromPath(Path, _as_path_source)}),
    "path-pathlike": ("ARGS.8", {"path": FromPath(lambda p: mst.FsPath(str(p)), _as_path_source)}),
    "path-pathlike-bytes": ("ARGS.8", {"path": FromPath(lambda p: mst.FsPath(os.fsencode(p)), _as_path_source)}),
}


# ARGS.4: a dtype of each kind numpy can map, both byte orders, and the composite ones.
DTYPES: dict[str, np.dtype[Any]] = {
    "bool": np.dtype("?"),
    "int8": np.dtype("i1"),
    "big-endian-int32": np.dtype(">i4"),
    "uint64": np.dtype("<u8"),
    "float16": np.dtype("<f2"),
    "big-endian-float64": np.dtype(">f8"),
    "complex64": np.dtype("<c8"),
    "big-endian-complex128": np.dtype(">c16"),
    "datetime64-ns": np.dtype("<M8[ns]"),
    "big-endian-datetime64-D": np.dtype(">M8[D]"),
    "timedelta64-s": np.dtype("<m8[s]"),
    "bytes": np.dtype("S5"),
    "unicode": np.dtype("<U3"),
    "big-endian-unicode": np.dtype(">U2"),
    "void": np.dtype("V6"),
    "structured": np.dtype([("a", "<i4"), ("b", ">f8"), ("c", "S3")]),
    "aligned-structured": np.dtype([("a", "u1"), ("b", "<f8")], align=True),
    "nested-structured": np.dtype([("p", [("x", "<f4"), ("y", "<f4")]), ("t", "<M8[us]")]),
    "subarray": np.dtype(("<i2", (2, 3))),
    "structured-subarray-field": np.dtype([("v", "<f8", (3,)), ("k", "?")]),
}


def _stored(dtype: np.dtype[Any], count: int) -> np.ndarray[Any, Any]:
    """``count`` items of ``dtype`` from a fixed byte pattern; bools as True/False (other bytes are not bools)."""
    if dtype.kind == "b":
        return np.array([i % 2 == 0 for i in range(count)])
    pattern = bytes((37 * i + 11) % 128 for i in range(count * dtype.itemsize))
    return _without_padding(np.frombuffer(pattern, dtype=dtype))


def _without_padding(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The items with zero bytes between fields: an assignment copies fields, so padding is not data."""
    if values.dtype.names is None:
        return values.copy()
    out = np.zeros(values.shape, values.dtype)
    for name in values.dtype.names:
        out[name] = _without_padding(values[name])
    return out


_MODES = {"r": "r", "r+": "r+", "c": "c", "readonly": "r", "readwrite": "r+", "copyonwrite": "c"}


def _open_params(clauses: tuple[str, ...] | None = None) -> list[Any]:
    """(case, mode) for every case in every mode (numpy's checks differ by mode); a mode case once."""
    return [
        pytest.param(name, mode, marks=pytest.mark.clause(*(clauses or (case.clause, "ERR.1"))), id=f"{name}-{mode}")
        for name, case in OPEN_CASES.items()
        for mode in (("r",) if case.clause == "ARGS.7" else ("r", "r+", "c"))
    ]


def _params(include: Any = lambda case: True, clauses: tuple[str, ...] | None = None) -> list[Any]:
    """One parameter per case, marked with the clauses it checks (by default the case's own and ERR.1)."""
    return [
        pytest.param(name, marks=pytest.mark.clause(*(clauses or (case.clause, "ERR.1"))), id=name)
        for name, case in OPEN_CASES.items()
        if include(case)
    ]


def _accepted(include: Any) -> list[Any]:
    return [
        pytest.param(name, marks=pytest.mark.clause(clause), id=name)
        for name, (clause, overrides) in ACCEPTED.items()
        if include(overrides)
    ]
