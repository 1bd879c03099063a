"""Short, long and misread files, as the reference sees them (SPEC.md FAULT.1 to FAULT.6, OPEN.2, OPEN.3, ARGS).

Every case ends in the documented typed error or the documented result, and
the file keeps its size, modification time and content.
"""

from __future__ import annotations

import math
import mmap
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from common.files import fresh_path
from hypothesis import given
from hypothesis import strategies as st

import memmapref
from memmapref.errors import FileSizeError, MemmapError, OffsetError, ShapeTypeError, ShapeValueError
from memmapref.testing import strategies as mst
from memmapref.testing.oracle import FileState, array_bytes, read_array

MODES = ["r", "r+", "c"]


def _write(path: Path, values: np.ndarray[Any, Any], offset: int, order: str, tail: bytes = b"") -> None:
    with open(path, "wb") as f:
        f.write(b"\xa5" * offset + array_bytes(values, order) + tail)


def _nonempty_shapes() -> st.SearchStrategy[tuple[int, ...]]:
    return mst.shapes(min_dims=1, max_dims=3).filter(lambda s: math.prod(s) > 0)


@pytest.mark.clause("FAULT.1", "FAULT.2", "OPEN.2", "ERR.1", "ERR.2", "ERR.3")
@given(dtype=mst.NUMERIC, shape=_nonempty_shapes(), offset=mst.offsets(), order=mst.orders(), data=st.data())
def test_a_file_cut_short_is_refused(
    fast_dir: Path, dtype: np.dtype[Any], shape: tuple[int, ...], offset: int, order: str, data: Any
) -> None:
    values = data.draw(mst.arrays(dtype, shape), label="values")
    nbytes = values.nbytes
    cut = data.draw(st.integers(1, nbytes + offset), label="bytes cut")
    path = fresh_path(fast_dir)
    _write(path, values, offset, order)
    os.truncate(path, offset + nbytes - cut)
    before = FileState.of(path)
    for mode in MODES:
        with pytest.raises(FileSizeError) as info:
            memmapref.open(path, dtype, shape, mode=mode, offset=offset, order=order)
        error = info.value
        assert isinstance(error, ValueError) and isinstance(error, MemmapError)
        assert (error.path, error.expected, error.actual) == (str(path), offset + nbytes, offset + nbytes - cut)
        text = str(error)
        assert str(path) in text and str(offset + nbytes) in text and str(offset + nbytes - cut) in text, text
        assert FileState.of(path) == before, f"open(mode={mode!r}) changed a short file"


@pytest.mark.clause("FAULT.4", "OPEN.1", "OPEN.4")
@given(dtype=mst.NUMERIC, shape=mst.shapes(max_dims=3), offset=mst.offsets(), order=mst.orders(), data=st.data())
def test_bytes_after_the_array_are_ignored(
    fast_dir: Path, dtype: np.dtype[Any], shape: tuple[int, ...], offset: int, order: str, data: Any
) -> None:
    values = data.draw(mst.arrays(dtype, shape), label="values")
    tail = data.draw(st.binary(min_size=1, max_size=64), label="appended")
    path = fresh_path(fast_dir)
    _write(path, values, offset, order, tail)
    before = FileState.of(path)
    for mode in MODES:
        with memmapref.open(path, dtype, shape, mode=mode, offset=offset, order=order) as handle:
            assert np.asarray(handle).tobytes(order=order) == values.tobytes(order=order)  # type: ignore[arg-type]
        assert FileState.of(path) == before


@pytest.mark.clause("FAULT.5", "OPEN.4")
@given(dtype=mst.NUMERIC, shape=_nonempty_shapes(), order=mst.orders(), data=st.data())
def test_another_dtype_shape_offset_or_order_reads_the_files_bytes(
    fast_dir: Path, dtype: np.dtype[Any], shape: tuple[int, ...], order: str, data: Any
) -> None:
    values = data.draw(mst.arrays(dtype, shape), label="values")
    path = fresh_path(fast_dir)
    _write(path, values, 0, order)
    size = values.nbytes
    before = FileState.of(path)
    other = data.draw(mst.NUMERIC, label="read as dtype")
    offset = data.draw(st.integers(0, size), label="read at offset")
    other_order = data.draw(mst.orders(), label="read in order")
    room = (size - offset) // other.itemsize
    dims = data.draw(st.lists(st.integers(1, 4), min_size=0, max_size=2), label="leading dims")
    inner = max(room // max(math.prod(dims), 1), 0)
    wanted = (*dims, data.draw(st.integers(0, inner), label="last dim")) if inner else (0,)
    for mode in MODES:
        with memmapref.open(path, other, wanted, mode=mode, offset=offset, order=other_order) as handle:
            got = np.asarray(handle)
            expected = read_array(path, other, wanted, offset=offset, order=other_order)
            assert got.dtype == other and got.shape == wanted
            assert got.tobytes(order=other_order) == expected.tobytes(order=other_order)  # type: ignore[arg-type]
        assert FileState.of(path) == before


@pytest.mark.clause("FAULT.1", "FAULT.2", "OPEN.2")
@given(dtype=mst.NUMERIC, shape=_nonempty_shapes(), data=st.data())
def test_asking_for_more_than_the_file_holds(
    fast_dir: Path, dtype: np.dtype[Any], shape: tuple[int, ...], data: Any
) -> None:
    values = data.draw(mst.arrays(dtype, shape), label="values")
    path = fresh_path(fast_dir)
    _write(path, values, 0, "C")
    before = FileState.of(path)
    how = data.draw(st.sampled_from(["longer", "extra-dim", "wider-dtype", "later-offset"]), label="how")
    asked_dtype, asked_shape, offset = dtype, shape, 0
    if how == "longer":
        asked_shape = (shape[0] + 1, *shape[1:])
    elif how == "extra-dim":
        asked_shape = (*shape, 2)
    elif how == "wider-dtype":
        asked_dtype = np.dtype(f"{dtype.byteorder if dtype.byteorder in '<>' else '<'}c16")
        if asked_dtype.itemsize <= dtype.itemsize:
            asked_shape = (shape[0] + 1, *shape[1:])
    else:
        offset = data.draw(st.integers(1, mmap.ALLOCATIONGRANULARITY + 1), label="offset")
    for mode in MODES:
        with pytest.raises(FileSizeError):
            memmapref.open(path, asked_dtype, asked_shape, mode=mode, offset=offset)
        assert FileState.of(path) == before, f"mode {mode!r} grew the file"


@pytest.mark.clause("FAULT.3", "FAULT.2")
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [(1,), (3, 4), None], ids=["one-item", "2-d", "shape=None"])
def test_an_empty_file(tmp_path: Path, mode: str, shape: Any) -> None:
    path = tmp_path / "empty.bin"
    path.touch()
    before = FileState.of(path)
    if shape is None:
        # Zero whole items after offset 0: an empty array, not an error (OPEN.3).
        with memmapref.open(path, "<f8", None, mode=mode) as handle:
            assert np.asarray(handle).shape == (0,)
    else:
        with pytest.raises(FileSizeError):
            memmapref.open(path, "<f8", shape, mode=mode)
    assert FileState.of(path) == before


@pytest.mark.clause("FAULT.6", "OPEN.3")
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("past", [0, 1, 7, 8, mmap.ALLOCATIONGRANULARITY])
def test_shape_none_with_the_offset_at_or_past_the_end(tmp_path: Path, mode: str, past: int) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(np.arange(5, dtype="<f8").tobytes())
    before = FileState.of(path)
    if past == 0:
        with memmapref.open(path, "<f8", None, mode=mode, offset=40) as handle:
            assert np.asarray(handle).shape == (0,)
    else:
        with pytest.raises(FileSizeError) as info:
            memmapref.open(path, "<f8", None, mode=mode, offset=40 + past)
        assert "after offset" in str(info.value)
    assert FileState.of(path) == before


@pytest.mark.clause("OPEN.3")
@given(dtype=mst.NUMERIC.filter(lambda d: d.itemsize > 1), count=st.integers(0, 20), data=st.data())
def test_shape_none_and_a_partial_last_item(fast_dir: Path, dtype: np.dtype[Any], count: int, data: Any) -> None:
    extra = data.draw(st.integers(1, dtype.itemsize - 1), label="extra bytes")
    path = fresh_path(fast_dir)
    path.write_bytes(bytes(count * dtype.itemsize + extra))
    before = FileState.of(path)
    for mode in MODES:
        with pytest.raises(FileSizeError) as info:
            memmapref.open(path, dtype, None, mode=mode)
        assert "whole number" in str(info.value)
    assert FileState.of(path) == before


_BAD_SHAPES = {
    "float-entry": ((4.0, 250), ShapeTypeError, TypeError),
    "str-entry": (("4", 250), ShapeTypeError, TypeError),
    "bool-entry": ((True, 250), ShapeTypeError, TypeError),
    "negative": ((-4, 250), ShapeValueError, ValueError),
    "overflowing": ((2**62, 250), ShapeValueError, ValueError),
    "overflowing-product": ((2**40, 2**40), ShapeValueError, ValueError),
    "too-many-dims": ((1,) * 65, ShapeValueError, ValueError),
}


@pytest.mark.clause("ARGS.1", "ARGS.2", "ARGS.3", "ARGS.9", "ERR.1")
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", sorted(_BAD_SHAPES))
def test_a_shape_that_is_not_a_shape_in_every_mode(tmp_path: Path, mode: str, case: str) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(8000))
    before = FileState.of(path)
    shape, typed, builtin = _BAD_SHAPES[case]
    with pytest.raises(typed) as info:
        memmapref.open(path, "<f8", shape, mode=mode)
    assert isinstance(info.value, builtin)
    assert FileState.of(path) == before


@pytest.mark.clause("ARGS.5", "ARGS.9")
@pytest.mark.parametrize("mode", MODES)
def test_a_negative_offset(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(80))
    before = FileState.of(path)
    with pytest.raises(OffsetError):
        memmapref.open(path, "<f8", (2,), mode=mode, offset=-8)
    assert FileState.of(path) == before


@pytest.mark.clause("REDUCE.3", "FAULT.9")
@pytest.mark.parametrize("reduction", ["slice_mean", "filtered_sum"])
def test_reductions_notice_a_file_that_shrank(tmp_path: Path, reduction: str) -> None:
    """In process, safely: cut by one byte, the last page still has file data behind it, so no page can SIGBUS.

    The deadly case (whole pages gone) runs in a child in test_fault_sigbus.py.
    """
    path = tmp_path / "data.bin"
    values = np.arange(3000, dtype="<f8")
    path.write_bytes(values.tobytes())
    with memmapref.open(path, "<f8", (3000,)) as handle:
        os.truncate(path, values.nbytes - 1)
        call = getattr(memmapref, reduction)
        args = () if reduction == "slice_mean" else (0.0,)
        with pytest.raises(FileSizeError) as info:
            call(handle, *args, chunk_bytes=4096)
        assert (info.value.expected, info.value.actual) == (values.nbytes, values.nbytes - 1)
        # The file is whole again (the cut byte rewritten in place): so is the reduction.
        os.truncate(path, values.nbytes)
        with open(path, "r+b") as f:
            f.write(values.tobytes())
        assert call(handle, *args, chunk_bytes=4096) == getattr(np, "mean" if reduction == "slice_mean" else "sum")(
            values
        )
