"""Argument checks that run before any file is touched.

Each function returns the normalised value or raises a typed error from
:mod:`memmapref.errors`; none of them performs I/O, which is what lets a
failed call promise that the file is unchanged.
"""

from __future__ import annotations

import math
import operator
import os
import sys
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from .errors import (
    DtypeError,
    ModeError,
    OffsetError,
    OffsetTypeError,
    OrderError,
    PathTypeError,
    PathValueError,
    ReductionArgumentError,
    ShapeTypeError,
    ShapeValueError,
    message,
)

# NumPy 2 raised the limit on dimensions from 32 to 64.
_MAXDIMS = 64 if int(np.__version__.split(".")[0]) >= 2 else 32

# numpy.memmap's long spellings are accepted so that code moving from it keeps working.
OPEN_MODES = {
    "r": "r",
    "readonly": "r",
    "r+": "r+",
    "readwrite": "r+",
    "c": "c",
    "copyonwrite": "c",
}


def path(value: Any) -> str:
    if isinstance(value, (str, bytes, os.PathLike)):
        try:
            result = os.fspath(value)
        except TypeError as exc:  # __fspath__ returned something else than str or bytes
            raise PathTypeError(
                message(f"a path object {type(value).__name__} ({exc})", "str or bytes from __fspath__", "return str")
            ) from None
        if isinstance(result, bytes):
            raw = result
        else:
            try:
                raw = os.fsencode(result)
            except UnicodeError:
                raise PathValueError(
                    message(f"path {result!r:.60}", "a name the filesystem encoding can spell", "drop the surrogates")
                ) from None
        if not raw or b"\0" in raw:
            what = "an empty path" if not raw else f"path {result!r:.60} with an embedded null byte"
            raise PathValueError(message(what, "a file name without null bytes", "pass the file's name"))
        return os.fsdecode(raw)
    raise PathTypeError(
        message(
            f"a path of type {type(value).__name__} ({value!r:.60})",
            "str, bytes or os.PathLike",
            "pass the file's name, e.g. pathlib.Path('data.bin'); open file objects are not accepted",
        )
    )


def directory_form(name: str) -> bool:
    """Whether the path can only name a directory: it ends in a separator, '.' or '..'."""
    return name.endswith(os.sep) or os.path.basename(name) in (".", "..")


def dtype(value: Any) -> np.dtype[Any]:
    try:
        result: np.dtype[Any] = np.dtype(value)
    except (TypeError, ValueError) as exc:
        raise DtypeError(
            message(f"dtype {value!r:.60} ({exc})", "something numpy.dtype() accepts", "pass e.g. np.float64 or '<i4'")
        ) from None
    if result.hasobject:
        raise DtypeError(
            message(
                f"dtype {result} which holds Python objects",
                "a dtype whose bytes mean the same in every process",
                "store numbers or fixed-size strings; pickle objects separately",
            )
        )
    if result.itemsize == 0:
        raise DtypeError(
            message(
                f"dtype {result} with itemsize 0", "a dtype with a fixed, non-zero size", "give the size, e.g. 'S16'"
            )
        )
    return result


def _integer(value: Any, what: str, error: type[TypeError]) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise error(message(f"{what} {value!r} (a bool)", "an integer", f"pass {what} as int, e.g. {int(value)}"))
    try:
        return operator.index(value)
    except TypeError:
        hint = f"int({value!r})" if isinstance(value, (float, np.floating)) else "an int"
        raise error(
            message(f"{what} {value!r:.60} of type {type(value).__name__}", "an integer", f"pass {hint}")
        ) from None


def shape(value: Any, item_size: int, item_dims: int = 0) -> tuple[int, ...]:
    """The shape as a tuple of ints; ``item_dims`` are the dimensions a subarray dtype adds."""
    if isinstance(value, (tuple, list)):
        entries = [_integer(v, f"shape entry {i}", ShapeTypeError) for i, v in enumerate(value)]
    else:
        entries = [_integer(value, "shape", ShapeTypeError)]
    for i, n in enumerate(entries):
        if n < 0:
            raise ShapeValueError(
                message(f"shape entry {i} = {n}", "a non-negative length", "use 0 for an empty dimension")
            )
    # A subarray dtype adds its own dimensions to the array's.
    ndim = len(entries) + item_dims
    if ndim > _MAXDIMS:
        raise ShapeValueError(
            message(
                f"{ndim} dimensions ({len(entries)} from the shape, {item_dims} from the dtype)",
                f"at most {_MAXDIMS}",
                "reshape the data into fewer dimensions",
            )
        )
    # numpy bounds the product of the non-zero entries, so (0, 2**63) is refused too.
    count = item_size
    for n in entries:
        count *= max(n, 1)
    if count > sys.maxsize:
        raise ShapeValueError(
            message(
                f"shape {tuple(entries)} of {count} bytes (counting empty dimensions as 1)",
                f"at most {sys.maxsize} bytes (the largest mapping this platform allows)",
                "split the data across several files",
            )
        )
    return tuple(entries)


def extent(start: int, nbytes: int) -> None:
    """Refuse an offset whose end lies past what a file offset can address."""
    if start + nbytes > sys.maxsize:
        raise OffsetError(
            message(
                f"offset {start} + {nbytes} bytes of data",
                f"an end at most {sys.maxsize} (the largest file offset)",
                "check the offset; it counts bytes from the file's start",
            )
        )


def offset(value: Any) -> int:
    result = _integer(value, "offset", OffsetTypeError)
    if result < 0:
        raise OffsetError(message(f"offset {result}", "a byte offset >= 0", "count the offset from the file's start"))
    return result


def order(value: Any) -> str:
    if isinstance(value, str) and value in ("C", "F"):
        return str(value)
    raise OrderError(
        message(f"order {value!r:.40}", "'C' or 'F'", "pass order='C' (row-major) or order='F' (column-major)")
    )


# The shape of a request: None until open() has read how many items the file holds.
ShapeT = TypeVar("ShapeT", bound="tuple[int, ...] | None")


@dataclass(frozen=True, slots=True)
class Request(Generic[ShapeT]):
    """The checked arguments of one ``open`` or ``create``: what file to map, and how.

    Built only by :func:`open_request` and :func:`create_request`, after every
    check has passed, so whoever holds one may touch the file. ``shape`` is None
    when ``open`` was called without one; :meth:`with_shape` gives the request
    whose shape the file's size decided.
    """

    path: str
    mode: str
    dtype: np.dtype[Any]
    shape: ShapeT
    offset: int
    order: str

    def with_shape(self, shape: tuple[int, ...]) -> Request[tuple[int, ...]]:
        return Request(self.path, self.mode, self.dtype, shape, self.offset, self.order)


# The builders take arguments named as the caller passes them; these names reach the checks of the same names.
_path, _dtype, _shape, _offset, _order = path, dtype, shape, offset, order


def open_request(
    path: Any, dtype: Any, shape: Any, *, mode: Any, offset: Any, order: Any
) -> Request[tuple[int, ...] | None]:
    """The arguments of :func:`memmapref.open`, checked in the order their errors take precedence."""
    checked_mode = open_mode(mode)
    checked_path = _path(path)
    checked_dtype = _dtype(dtype)
    checked_shape = None if shape is None else _shape(shape, checked_dtype.itemsize, len(checked_dtype.shape))
    checked_offset = _offset(offset)
    checked_order = _order(order)
    if checked_shape is not None:
        extent(checked_offset, checked_dtype.itemsize * math.prod(checked_shape))
    return Request(checked_path, checked_mode, checked_dtype, checked_shape, checked_offset, checked_order)


def create_request(path: Any, dtype: Any, shape: Any, *, offset: Any, order: Any) -> Request[tuple[int, ...]]:
    """The arguments of :func:`memmapref.create` (whose mode is always ``'w+'``), checked as open's are."""
    checked_path = _path(path)
    checked_dtype = _dtype(dtype)
    checked_shape = _shape(shape, checked_dtype.itemsize, len(checked_dtype.shape))
    checked_offset = _offset(offset)
    checked_order = _order(order)
    extent(checked_offset, checked_dtype.itemsize * math.prod(checked_shape))
    return Request(checked_path, "w+", checked_dtype, checked_shape, checked_offset, checked_order)


def open_mode(value: Any) -> str:
    if isinstance(value, str) and value in OPEN_MODES:
        return OPEN_MODES[value]
    new = isinstance(value, str) and value in ("w+", "write")
    fix = "use memmapref.create() to make a new file" if new else "choose 'r', 'r+' or 'c'"
    raise ModeError(message(f"mode {value!r:.40}", "'r' (read-only), 'r+' (read-write) or 'c' (copy-on-write)", fix))


# ---------------------------------------------------------------------------
# The reductions' arguments. Their limits come from the caller: the chunking
# module imports mapped, which imports this module.


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def chunk_bytes(value: Any, least: int, default: int) -> int:
    if type(value) is int and value >= least:  # the common case, cheaply
        return value
    if not _is_int(value) or value < least:
        raise ReductionArgumentError(
            message(
                f"chunk_bytes={value!r}",
                f"an integer of at least {least}",
                f"leave the default ({default}), or pass e.g. chunk_bytes=1 << 20",
            )
        )
    return int(value)


def threads(value: Any, default: int, most: int) -> int:
    """``default`` for None; more than ``most`` threads would only shrink the chunks, so they are clamped."""
    if value is None:
        return default
    if not _is_int(value) or value < 1:
        raise ReductionArgumentError(
            message(f"threads={value!r}", "a positive integer or None", "pass threads=1, or None for the default")
        )
    return min(int(value), most)


def threshold(value: Any) -> None:
    if np.ndim(value) != 0:
        raise ReductionArgumentError(
            message(
                f"a threshold of shape {np.shape(value)}",
                "a scalar threshold",
                "pass one number; for per-element thresholds use numpy directly",
            )
        )
