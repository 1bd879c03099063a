"""Reopen read-only: round trip, read-only refusal, open changes nothing (SPEC.md sections 3 and 4)."""

from __future__ import annotations

import mmap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from .. import strategies as mst
from ..oracle import array_bytes
from ..protocol import Adapter
from ._support import (
    draw_layout,
    file_state,
    fresh_file,
    needs_empty_arrays,
    raises_builtin,
    refusal_check,
    same_bytes,
    unchanged,
    write_raw,
)


class ReopenTests:
    # Not HANDLE.3 (durability): read() sees a store to a shared mapping at once, flushed or not.
    # Not OPEN.4: a round trip through one implementation cannot show where the bytes are.
    @pytest.mark.clause("ARGS.1", "HANDLE.2")
    @given(dtype=mst.dtypes(), shape=mst.shapes(), data=st.data())
    def test_round_trip(
        self, impl: Adapter, tmp_path: Path, dtype: np.dtype[Any], shape: tuple[int, ...], data: Any
    ) -> None:
        offset, order, values = draw_layout(impl, data, dtype, shape)
        spelled = data.draw(mst.spelled(shape))
        path = fresh_file(impl, tmp_path)
        # A spelling refused is ARGS.1's failure, not the round trip's.
        with impl.clause("ARGS.1"):
            handle = impl.create(path, dtype, spelled, offset=offset, order=order)
        with impl.clause("HANDLE.2"):
            impl.write(handle, ..., values)
            impl.flush(handle)
            impl.close(handle)
            again = impl.open(path, dtype, spelled, mode="r", offset=offset, order=order)
            same_bytes(impl.read(again), values, impl=impl)
            impl.close(again)

    @pytest.mark.clause("ARGS.1", "HANDLE.2")
    @pytest.mark.parametrize("spelling", list(mst.SHAPE_SPELLINGS))
    def test_round_trip_of_each_shape_spelling(self, impl: Adapter, tmp_path: Path, spelling: str) -> None:
        """The file a spelling created reopens, with the same spelling, to the items written."""
        spelled = mst.SHAPE_SPELLINGS[spelling]
        values = np.arange(6.0).reshape(mst.normal_shape(spelled))
        path = fresh_file(impl, tmp_path)
        with impl.clause("ARGS.1"):
            handle = impl.create(path, np.float64, spelled)
        impl.write(handle, ..., values)
        impl.flush(handle)
        impl.close(handle)
        with impl.clause("HANDLE.2"):
            again = impl.open(path, np.float64, spelled, mode="r")
            same_bytes(impl.read(again), values, impl=impl)
            impl.close(again)

    @pytest.mark.clause("OPEN.7")
    @given(dtype=mst.NUMERIC, shape=mst.shapes(min_dims=1).filter(lambda s: all(s)))
    def test_read_only_refuses_writes(
        self, impl: Adapter, tmp_path: Path, dtype: np.dtype[Any], shape: tuple[int, ...]
    ) -> None:
        path = fresh_file(impl, tmp_path)
        impl.close(impl.create(path, dtype, shape))
        before = file_state(impl, path)
        handle = impl.open(path, dtype, shape, mode="r")
        impl.note(refusal_check(f"{impl.name_of(handle)}.array[...] = 1", (ValueError,)))
        with pytest.raises(ValueError):  # noqa: PT011 -- the clause fixes the class, not the text
            handle.array[...] = 1
        impl.close(handle)
        unchanged(impl, before, path)

    @pytest.mark.clause("OPEN.1")
    @given(dtype=mst.NUMERIC, shape=mst.shapes(), data=st.data())
    def test_open_changes_nothing(
        self, impl: Adapter, tmp_path: Path, dtype: np.dtype[Any], shape: tuple[int, ...], data: Any
    ) -> None:
        needs_empty_arrays(impl, shape)
        mode = data.draw(mst.modes_for(impl.capabilities))
        order = data.draw(mst.orders_for(impl.capabilities))
        path = fresh_file(impl, tmp_path)
        impl.close(impl.create(path, dtype, shape, order=order))
        before = file_state(impl, path)
        handle = impl.open(path, dtype, shape, mode=mode, order=order)
        impl.read(handle)
        impl.close(handle)
        unchanged(impl, before, path)

    @pytest.mark.clause("OPEN.3")
    @given(dtype=mst.NUMERIC, count=st.integers(0, 40), offset=mst.offsets(), extra=st.integers(0, 7), data=st.data())
    def test_shape_none_maps_every_whole_item(
        self, impl: Adapter, tmp_path: Path, dtype: np.dtype[Any], count: int, offset: int, extra: int, data: Any
    ) -> None:
        impl.require(file_format="raw")
        values = data.draw(mst.arrays(dtype, (count,)))
        path = fresh_file(impl, tmp_path)
        tail = extra % dtype.itemsize
        write_raw(path, values.tobytes() + b"\x01" * tail, offset=offset, fill=b"\xab", impl=impl)
        before = file_state(impl, path)
        if tail:
            raises_builtin((ValueError,), impl.open, path, dtype, None, offset=offset)
        else:
            handle = impl.open(path, dtype, None, offset=offset)
            same_bytes(impl.read(handle), values, impl=impl)
            impl.close(handle)
        unchanged(impl, before, path)

    @pytest.mark.clause("OPEN.5", "OPEN.4")
    @given(
        offset=st.sampled_from([1, 3, mmap.PAGESIZE - 1, mmap.ALLOCATIONGRANULARITY, mmap.ALLOCATIONGRANULARITY + 5]),
        order=mst.orders(),
        data=st.data(),
    )
    def test_data_written_by_others_at_any_offset(
        self, impl: Adapter, tmp_path: Path, offset: int, order: str, data: Any
    ) -> None:
        impl.require(file_format="raw")
        dtype = data.draw(mst.NUMERIC)
        shape = data.draw(mst.shapes(min_dims=1, max_dims=3))
        needs_empty_arrays(impl, shape)
        values = data.draw(mst.arrays(dtype, shape))
        path = fresh_file(impl, tmp_path)
        write_raw(path, array_bytes(values, order), offset=offset, fill=b"\xff", impl=impl)
        with impl.clause("OPEN.5"):
            handle = impl.open(path, dtype, shape, offset=offset, order=order)
        # Bytes misread at an offset off the page grid break OPEN.5; at a page-aligned one, the layout.
        with impl.clause("OPEN.5" if offset % mmap.PAGESIZE else "OPEN.4"):
            same_bytes(impl.read(handle), values, impl=impl)
        impl.close(handle)
