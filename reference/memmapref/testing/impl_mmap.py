"""The implementation many projects write by hand: ``mmap.mmap`` over the file, ``np.ndarray(buffer=...)`` over it.

Importable as ``--impl memmapref.testing.implementations:raw_mmap`` (and from here).
"""

from __future__ import annotations

import math
import mmap
from typing import Any, ClassVar

import numpy as np

from ._shared import (
    _FLUSH_MSYNC_ONLY,
    _FSYNCGATE,
    _NO_DIRECTORY_SYNC,
    _NO_REDUCTIONS,
    _ORDER_CASES,
    _ORDER_FAILURE,
    _ORDERS_OF_NDARRAY,
    REFUSED,
    _as_shape,
    _cases,
)
from .protocol import Capabilities, Deviation


class _RawHandle:
    def __init__(self, mapping: mmap.mmap | None, array: np.ndarray[Any, Any]) -> None:
        self._mapping = mapping
        self.array: np.ndarray[Any, Any] | None = array

    def flush(self) -> None:
        if self._mapping is not None:
            self._mapping.flush()

    def close(self) -> None:
        self.array = None
        if self._mapping is not None:
            self._mapping.close()
            self._mapping = None


_ACCESS = {"r": mmap.ACCESS_READ, "r+": mmap.ACCESS_WRITE, "w+": mmap.ACCESS_WRITE, "c": mmap.ACCESS_COPY}
_FILE_MODE = {"r": "rb", "r+": "r+b", "w+": "w+b", "c": "rb"}


class _RawMmap:
    """What hand-written code usually does: open, truncate or map, wrap in an ndarray."""

    name = "mmap + np.ndarray"
    capabilities = Capabilities()
    deviations: ClassVar[dict[str, str | Deviation]] = {
        "HANDLE.5": "close() closes the mmap object, and numpy holds no buffer export on it, so views taken "
        "earlier point at unmapped memory (a segfault on next access; numpy issue 9537)",
        "ARGS.2": "a negative shape reaches mmap, which raises OverflowError, not ValueError",
        "ARGS.3": "an overflowing shape reaches mmap, which raises OverflowError, not ValueError",
        "ARGS.4": "dtype=object, an object field and 'S0' are accepted (the file's bytes are read as PyObject "
        "pointers); an object field on open is refused by mmap with ValueError ('mmap length is greater than file "
        "size'), not TypeError",
        "ARGS.5": "a negative offset reaches mmap, which raises OverflowError, not ValueError",
        "ARGS.6": Deviation(
            f"np.ndarray's {_ORDERS_OF_NDARRAY}", cases=_cases(REFUSED, *_ORDER_CASES), match=_ORDER_FAILURE
        ),
        "ARGS.7": Deviation(
            "the mode table knows only 'r', 'r+' and 'c': any other mode, numpy's long names included, is a "
            "KeyError (an array-valued mode a TypeError, 'unhashable type'), not a ValueError",
            match=r"KeyError|TypeError: unhashable type",
        ),
        "ARGS.8": Deviation(
            "an int file descriptor is accepted as the path: Python's open() takes one (and closes it)",
            cases=_cases(REFUSED, "path-int-fd*"),
            match="got a handle; expected TypeError",
        ),
        "FAULT.9": _NO_REDUCTIONS,
        "CREATE.4": "the file is extended with truncate(): a sparse file, SIGBUS on a full disk",
        "CREATE.5": "the existing file is truncated before anything can fail",
        "CREATE.7": "the file is truncated in place: another process mapping it gets SIGBUS",
        "ARGS.9": "the file is truncated and extended before np.ndarray validates the shape",
        "ERR.1": Deviation(
            "bad arguments reach mmap or the mode table unchecked: OverflowError for a negative offset and for a "
            "negative or overflowing shape, OSError(EINVAL) from truncate for a negative shape in create, "
            "KeyError for an unknown mode; none is the ValueError the clause asks for; an int or array order and an "
            "array mode are a TypeError from np.ndarray or the mode table",
            match=r"got (OverflowError|OSError: \[Errno 22\]|KeyError|TypeError: (order must be str|unhashable type)"
            r"|ValueError: mmap length is greater than file size)",
        ),
        "ERR.3": Deviation(
            "create opens the path with 'w+b', which truncates the old file before any argument is checked",
            match="the file changed",
        ),
        "HANDLE.3": _FLUSH_MSYNC_ONLY.format(how="ftruncate(fd, SIZE)"),
        "HANDLE.4": "close() calls mmap.close(), a munmap without msync or fsync: stores since the last flush() may "
        "be lost in a power failure right after close() returns, under both models",
        "CREATE.9": _NO_DIRECTORY_SYNC,
        "HANDLE.8": _FSYNCGATE,
        "FAULT.12": f"{_NO_DIRECTORY_SYNC}; and close() syncs nothing",
    }

    def create(self, path: Any, dtype: Any, shape: Any, *, offset: int = 0, order: str = "C") -> _RawHandle:
        dt = np.dtype(dtype)
        with open(path, "w+b") as f:
            f.truncate(offset + dt.itemsize * math.prod(_as_shape(shape)))
            return self._wrap(f, "w+", dt, shape, offset, order)

    def open(
        self, path: Any, dtype: Any, shape: Any = None, *, mode: str = "r", offset: int = 0, order: str = "C"
    ) -> _RawHandle:
        dt = np.dtype(dtype)
        with open(path, _FILE_MODE[mode]) as f:
            if shape is None:
                size = f.seek(0, 2)
                if (size - offset) % dt.itemsize or size < offset:
                    raise ValueError(f"{path!s}: {size - offset} bytes after offset is not a whole number of items")
                shape = ((size - offset) // dt.itemsize,)
            return self._wrap(f, mode, dt, shape, offset, order)

    @staticmethod
    def _wrap(f: Any, mode: str, dt: np.dtype[Any], shape: Any, offset: int, order: str) -> _RawHandle:
        nbytes = dt.itemsize * math.prod(_as_shape(shape))
        if nbytes == 0:
            return _RawHandle(None, np.zeros(shape, dtype=dt, order=order))  # type: ignore[call-overload]
        start = offset - offset % mmap.ALLOCATIONGRANULARITY
        mapping = mmap.mmap(f.fileno(), offset + nbytes - start, access=_ACCESS[mode], offset=start)
        array = np.ndarray(shape, dtype=dt, buffer=mapping, offset=offset - start, order=order)  # type: ignore[arg-type]
        return _RawHandle(mapping, array)


raw_mmap = _RawMmap()
