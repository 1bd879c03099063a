"""Files made faulty for the fault tests: written through the implementation, then cut, patched or re-headed.

Every change a helper makes to a file is noted on the adapter, so that a
failure's reproduction shows the file as the implementation saw it.
"""

from __future__ import annotations

import math
import mmap
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st

from .. import strategies as mst
from ..protocol import Adapter
from ._support import fresh_file


def written(impl: Adapter, tmp_path: Path, data: Any) -> tuple[Path, np.dtype[Any], tuple[int, ...], str, int, Any]:
    """A non-empty file written and flushed through the implementation itself."""
    dtype = data.draw(mst.NUMERIC, label="dtype")
    shape = data.draw(mst.shapes(min_dims=1, max_dims=3).filter(lambda s: math.prod(s) > 0), label="shape")
    order = data.draw(mst.orders_for(impl.capabilities), label="order")
    offset = data.draw(mst.offsets_for(impl.capabilities), label="offset")
    values = data.draw(mst.arrays(dtype, shape), label="values")
    path = fresh_file(impl, tmp_path)
    handle = impl.create(path, dtype, shape, offset=offset, order=order)
    impl.write(handle, ..., values)
    impl.flush(handle)
    impl.close(handle)
    return path, dtype, shape, order, offset, values


def truncate(impl: Adapter, path: Path, size: int) -> None:
    impl.note(f"import os; os.truncate({path.name!r}, {size})")
    os.truncate(path, size)


def too_short(impl: Adapter, tmp_path: Path, data: Any) -> tuple[Path, Any, Any, str, int]:
    """A file and open() arguments that need more bytes than the file holds (FAULT.1's cases)."""
    path, dtype, shape, order, offset, values = written(impl, tmp_path, data)
    start = impl.data_offset(path, offset)
    end = start + values.nbytes
    ways = ["cut", "cut-to-data-start"]
    if impl.capabilities.file_format == "raw":
        ways += ["longer-shape", "wider-dtype", "later-offset"]
    else:
        ways += ["header-claims-more"]
    way = data.draw(st.sampled_from(ways), label="how the file falls short")
    asked_dtype, asked_shape, asked_offset = dtype, shape, offset
    if way == "cut":
        truncate(impl, path, end - data.draw(st.integers(1, values.nbytes), label="bytes cut"))
    elif way == "cut-to-data-start":
        truncate(impl, path, start)
    elif way == "longer-shape":
        asked_shape = (shape[0] + data.draw(st.integers(1, 3), label="extra rows"), *shape[1:])
    elif way == "wider-dtype":
        asked_dtype = np.dtype(f"V{2 * dtype.itemsize}")  # twice the itemsize
    elif way == "later-offset":
        asked_offset = offset + data.draw(st.integers(1, mmap.ALLOCATIONGRANULARITY + 1), label="extra offset")
    else:
        rewrite_npy_header(
            impl, path, lambda text: text.replace(shape_text(shape), shape_text((shape[0] + 1, *shape[1:])))
        )
    return path, asked_dtype, asked_shape, order, asked_offset


def shape_text(shape: tuple[int, ...]) -> str:
    return repr(tuple(int(n) for n in shape))


def rewrite_npy_header(impl: Adapter, path: Path, change: Callable[[str], str]) -> None:
    """Edit the header text of a ``.npy`` file in place, keeping its length (padding with spaces)."""
    with open(path, "r+b") as f:
        head = f.read(12)
        width = 2 if head[6] == 1 else 4
        length = int.from_bytes(head[8 : 8 + width], "little")
        f.seek(8 + width)
        text = f.read(length).decode("latin1")
        new = change(text.rstrip("\n").rstrip(" "))
        assert len(new) < length, f"the edited header {new!r} no longer fits in {length} bytes"
        f.seek(8 + width)
        header = new.ljust(length - 1).encode("latin1") + b"\n"
        f.write(header)
    impl.note(f"with open({path.name!r}, 'r+b') as f: f.seek({8 + width}); f.write({header!r})")


def patch(impl: Adapter, path: Path, at: int, data: bytes) -> None:
    impl.note(f"with open({path.name!r}, 'r+b') as f: f.seek({at}); f.write({data!r})")
    with open(path, "r+b") as f:
        f.seek(at)
        f.write(data)


def modes(impl: Adapter, *wanted: str) -> list[str]:
    return [m for m in wanted if m in impl.capabilities.modes]
