"""The oracle: a file's bytes read with plain ``read()`` into in-memory NumPy.

Never a second mapping: a bug shared by two mappings of the same file (a
stale page, a missed flush) would hide from a mapped oracle.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def read_array(
    path: str | os.PathLike[str],
    dtype: Any,
    shape: tuple[int, ...],
    *,
    offset: int = 0,
    order: str = "C",
) -> np.ndarray[Any, Any]:
    """The array a conforming mapping must show (SPEC.md OPEN.4)."""
    dt = np.dtype(dtype)
    count = math.prod(shape)
    data = read_bytes(path)[offset : offset + count * dt.itemsize]
    if len(data) < count * dt.itemsize:
        raise ValueError(f"{path!s} holds {len(data)} bytes after offset {offset}, not {count * dt.itemsize}")
    flat: np.ndarray[Any, Any] = np.frombuffer(data, dtype=dt, count=count)
    shaped: np.ndarray[Any, Any] = flat.reshape(shape, order=order)  # type: ignore[call-overload]
    return shaped.copy(order=order)  # type: ignore[arg-type]


def array_bytes(array: np.ndarray[Any, Any], order: str) -> bytes:
    """The bytes an array occupies in a file laid out in ``order``."""
    return array.tobytes(order=order)  # type: ignore[arg-type]


@dataclass(frozen=True)
class FileState:
    """What "the file is unchanged" compares: size, modification time and content."""

    exists: bool
    size: int
    mtime_ns: int
    sha256: str

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> FileState:
        try:
            info = os.stat(path)
        except FileNotFoundError:
            return cls(False, 0, 0, "")
        if not os.path.isfile(path):
            return cls(True, info.st_size, info.st_mtime_ns, "")
        return cls(True, info.st_size, info.st_mtime_ns, hashlib.sha256(read_bytes(path)).hexdigest())


def npy_data_offset(path: Any) -> int:
    """Bytes before the data of a ``.npy`` file: magic, version, header length field, header.

    Version 1 stores the header length in 2 bytes, versions 2 and 3 in 4.
    """
    with open(path, "rb") as f:
        head = f.read(12)
    if len(head) < 10 or head[:6] != b"\x93NUMPY":
        raise ValueError(f"got {path!s} without the .npy magic; expected a .npy file; fix: check the file")
    if head[6] == 1:
        return 10 + int.from_bytes(head[8:10], "little")
    return 12 + int.from_bytes(head[8:12], "little")
