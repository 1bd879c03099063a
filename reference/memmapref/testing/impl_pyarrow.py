"""pyarrow's memory maps as an implementation under test: ``--impl memmapref.testing.impl_pyarrow:pyarrow_memory_map``.

``pyarrow.create_memory_map(path, size)`` creates, ``pyarrow.memory_map(path, mode)``
opens, and the array is NumPy's view of the map's buffer. pyarrow is an optional
extra (``pip install memmapref[pyarrow]``): it is imported on the first call, so
this module imports without it.

pyarrow has no dtype, shape, offset or order of its own; those go unchanged to
the NumPy calls a user makes over the buffer (``np.frombuffer``, ``np.ndarray``),
so the suite sees what pyarrow and NumPy together do with them. The one
argument changed on the way is the path (see :func:`_path`).
"""

from __future__ import annotations

import importlib
import math
import os
from typing import Any, ClassVar

import numpy as np

from ._shared import _ORDER_CASES, _ORDER_FAILURE, _ORDERS_OF_NDARRAY, REFUSED, _cases
from .protocol import Capabilities, Deviation


def _pyarrow() -> Any:
    return importlib.import_module("pyarrow")


def _path(path: Any) -> Any:
    """``os.PathLike`` as ``str``; anything else unchanged.

    pyarrow refuses ``os.PathLike`` (``TypeError: expected bytes, PosixPath found``;
    tests/conformance/test_pyarrow_deviations.py), and the suite passes
    ``pathlib.Path`` in every test, so without this every clause would fail on the
    path's type alone. A user of pyarrow writes the same conversion.
    """
    return os.fspath(path) if isinstance(path, os.PathLike) else path


class _Writable:
    """Exposes a pyarrow buffer's bytes as writable memory: pyarrow hands out only immutable buffers.

    A ``MemoryMappedFile`` opened for writing returns from ``read_buffer()`` a
    buffer whose ``is_mutable`` is False, so ``np.frombuffer`` over it is
    read-only even in mode ``"r+"``. The memory is a ``MAP_SHARED`` read-write
    mapping, so NumPy may write it; holding the buffer keeps the mapping alive
    (pyarrow unmaps only when the last buffer of it is released).
    """

    def __init__(self, buffer: Any) -> None:
        self.buffer = buffer
        self.__array_interface__ = {
            "version": 3,
            "data": (buffer.address, False),
            "shape": (buffer.size,),
            "typestr": "|u1",
        }


class PyarrowHandle:
    def __init__(self, mapped: Any, dtype: Any, shape: Any, offset: Any, order: Any) -> None:
        self._mapped = mapped
        buffer = mapped.read_buffer()
        if not mapped.writable():
            memory = buffer
        elif buffer.size:
            memory = np.asarray(_Writable(buffer))
        else:
            # A zero-length map has address 0, which numpy 1.x refuses in an array interface; no bytes to share.
            memory = np.zeros(0, dtype=np.uint8)
        try:
            if shape is None:
                self.array: Any = np.frombuffer(memory, dtype=dtype, offset=offset)
            else:
                # np.frombuffer checks the offset against the buffer (np.ndarray alone accepts a negative one).
                data = np.frombuffer(memory, dtype=np.uint8, offset=offset)
                self.array = np.ndarray(shape, dtype=dtype, buffer=data, order=order)
        except BaseException:
            mapped.close()
            raise

    def flush(self) -> None:
        self._mapped.flush()

    def close(self) -> None:
        self.array = None
        self._mapped.close()


_CREATE_FIRST = (
    "pyarrow knows no dtype, shape, offset or order, so create_memory_map truncates and sizes the file before "
    "NumPy sees them: a float shape (20.0, 20.0) leaves a 3,200-byte file (pyarrow takes a float size), a "
    "negative offset a 152-byte one, dtype=object or order='Z' a recreated file, each before the error"
)
_TOO_SHORT = (
    "a file too short for the array reaches np.ndarray over the map's buffer, which raises TypeError ('buffer "
    "is too small for requested array'), not ValueError"
)


class _PyarrowMemoryMap:
    name = "pyarrow memory_map"
    # pyarrow's modes are "r", "r+" and "w" (write-only, no reading back); there is no copy-on-write.
    capabilities = Capabilities(modes=frozenset({"r", "r+"}))
    deviations: ClassVar[dict[str, str | Deviation]] = {
        "ARGS.2": "a negative shape gives create_memory_map a negative size, which raises OSError (EINVAL, 'Error "
        "writing bytes to file'), not ValueError, after truncating the existing file to 0 bytes",
        "ARGS.3": "a byte count past int64 reaches create_memory_map, which raises OverflowError ('Python int too "
        "large to convert to C long'), not ValueError",
        "ARGS.4": "dtype=object, an object field and 'S0' are accepted: np.ndarray over the map's buffer reads the "
        "file's bytes as PyObject pointers",
        "ARGS.6": Deviation(
            f"order goes unchanged to np.ndarray over the map's buffer: {_ORDERS_OF_NDARRAY}",
            cases=_cases(REFUSED, *_ORDER_CASES),
            match=_ORDER_FAILURE,
        ),
        "ARGS.7": Deviation(
            "the mode goes to pyarrow.memory_map, which has modes of its own: 'rb' opens (as 'r'), and so does an "
            "array-valued np.array('r'); numpy's long names 'readonly' and 'readwrite' raise ValueError ('Invalid "
            "file mode')",
            cases=_cases("test_bad_open_argument_is_refused", "mode-rb-*", "mode-array-*")
            + _cases("test_accepted_open_spelling", "mode-readonly", "mode-readwrite"),
            match=r"got a handle; expected ValueError|ValueError: Invalid file mode: read(only|write)",
        ),
        "ARGS.9": _CREATE_FIRST,
        "ERR.1": "a negative shape is an OSError and an overflowing one an OverflowError (not ValueError), an int "
        "or array order a TypeError from np.ndarray (not ValueError), and dtype=object is no error at all",
        "ERR.3": _CREATE_FIRST,
        "OPEN.6": "memory_map(missing, 'r+') opens with O_CREAT: it creates an empty file and returns a map "
        "instead of raising FileNotFoundError; a directory raises plain OSError ('Expected file path, but ... is "
        "a directory'), not IsADirectoryError",
        "FAULT.1": _TOO_SHORT,
        "FAULT.2": _TOO_SHORT,
        "FAULT.3": f"an empty file maps as a 0-byte buffer: {_TOO_SHORT}",
        "FAULT.9": "no reductions of its own: np.mean over a file truncated while mapped dies of SIGBUS",
        "OPEN.2": "a file shorter than the array is refused by np.frombuffer with TypeError ('buffer is too small "
        "for requested array'), not ValueError",
        "HANDLE.3": "flush() makes no msync and no fsync (strace): neither the pages nor the size set by "
        "ftruncate are ever made durable, under both models",
        "HANDLE.4": "close() syncs nothing (strace): stores since the last flush() may be lost in a power failure, "
        "and so may the file's size, under both models",
        "CREATE.9": "create_memory_map opens the path with O_TRUNC in place and never fsyncs the directory: after "
        "a power failure the file may not exist, under both models",
        "FAULT.12": "nothing acknowledged is durable: no msync, no fsync of the file, no fsync of the directory",
        "FAULT.11": "a failed mmap (ENOMEM injected) is raised as an OSError without an errno",
        "CREATE.4": "create_memory_map extends the file with ftruncate: a sparse file (no block reserved for a 1 "
        "MiB file), SIGBUS on a full disk",
        "CREATE.5": "create_memory_map opens the existing file with O_TRUNC before anything can fail: a negative "
        "size, or EFBIG under RLIMIT_FSIZE, leaves it truncated",
        "CREATE.7": "create_memory_map truncates the existing file in place (same inode): another process mapping "
        "it gets SIGBUS",
    }

    def create(self, path: Any, dtype: Any, shape: Any, *, offset: Any = 0, order: Any = "C") -> PyarrowHandle:
        entries = shape if isinstance(shape, (tuple, list)) else (shape,)
        size = offset + np.dtype(dtype).itemsize * math.prod(entries)
        mapped = _pyarrow().create_memory_map(_path(path), size)
        return PyarrowHandle(mapped, dtype, shape, offset, order)

    def open(
        self, path: Any, dtype: Any, shape: Any = None, *, mode: Any = "r", offset: Any = 0, order: Any = "C"
    ) -> PyarrowHandle:
        mapped = _pyarrow().memory_map(_path(path), mode)
        return PyarrowHandle(mapped, dtype, shape, offset, order)


pyarrow_memory_map = _PyarrowMemoryMap()
