"""Read-write (``r+``) and copy-on-write (``c``): where writes go (SPEC.md OPEN.1, OPEN.2, OPEN.8, OPEN.9)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from .. import strategies as mst
from ..protocol import Adapter
from ._support import (
    file_state,
    fresh_file,
    judge_each,
    needs_empty_arrays,
    raises_builtin,
    read_back,
    same_bytes,
    unchanged,
)


def _prepared(
    impl: Adapter, tmp_path: Path, data: Any, *, nonempty: bool = False
) -> tuple[Path, np.dtype[Any], tuple[int, ...], str, np.ndarray[Any, Any]]:
    """A file written through the implementation itself, and the values it holds."""
    dtype = data.draw(mst.NUMERIC)
    shapes = mst.shapes(min_dims=1, max_dims=3)
    shape = data.draw(shapes.filter(all) if nonempty else shapes)
    needs_empty_arrays(impl, shape)
    order = data.draw(mst.orders_for(impl.capabilities))
    values = data.draw(mst.arrays(dtype, shape))
    path = fresh_file(impl, tmp_path)
    handle = impl.create(path, dtype, shape, order=order)
    impl.write(handle, ..., values)
    impl.close(handle)
    return path, dtype, shape, order, values


def _rewrite(data: Any, values: np.ndarray[Any, Any]) -> tuple[Any, np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """An index into ``values``, new values for it, and the array as it must look after the assignment."""
    index = data.draw(mst.indices(values.shape))
    new = data.draw(mst.arrays(values.dtype, values[index].shape))
    model = values.copy(order="K")
    model[index] = new
    return index, new, model


class ReadWriteTests:
    # Not HANDLE.3: read() sees a store to a shared mapping at once, flushed or not.
    @pytest.mark.clause("OPEN.8")
    @given(data=st.data())
    def test_flushed_writes_reach_the_file(self, impl: Adapter, tmp_path: Path, data: Any) -> None:
        path, dtype, shape, order, values = _prepared(impl, tmp_path, data)
        index, new, model = _rewrite(data, values)
        handle = impl.open(path, dtype, shape, mode="r+", order=order)
        impl.write(handle, index, new)
        impl.flush(handle)
        got = read_back(impl, path, dtype, shape, offset=impl.data_offset(path), order=order)
        impl.close(handle)
        same_bytes(got, model, impl=impl)

    @pytest.mark.clause("OPEN.2", "OPEN.1")
    # Each mode is its own case: a mode the implementation lacks is not applicable alone.
    @pytest.mark.parametrize("mode", ["r", "r+", "c"])
    @given(shortfall=st.integers(1, 64), data=st.data())
    def test_short_file_is_refused_and_not_grown(
        self, impl: Adapter, tmp_path: Path, shortfall: int, mode: str, data: Any
    ) -> None:
        impl.require(modes=mode)
        path, dtype, shape, order, values = _prepared(impl, tmp_path, data, nonempty=True)
        cut = min(shortfall, values.nbytes)
        # Cut into the data only: a cut .npy header is a different fault (tests/faults).
        os.truncate(path, path.stat().st_size - cut)
        impl.note(f"import os; os.truncate({impl.relative(path)!r}, {path.stat().st_size})  # {cut} bytes short")
        before = file_state(impl, path)
        # Both are judged: a refusal that failed must not hide what open did to the file.
        judge_each(
            impl,
            ("OPEN.2", lambda: raises_builtin((ValueError,), impl.open, path, dtype, shape, mode=mode, order=order)),
            ("OPEN.1", lambda: unchanged(impl, before, path)),
        )


class CopyOnWriteTests:
    @pytest.mark.clause("OPEN.9")
    @given(data=st.data())
    def test_private_writes_never_reach_the_file(self, impl: Adapter, tmp_path: Path, data: Any) -> None:
        impl.require(modes="c")
        path, dtype, shape, order, values = _prepared(impl, tmp_path, data)
        before = file_state(impl, path)
        index, new, model = _rewrite(data, values)
        handle = impl.open(path, dtype, shape, mode="c", order=order)
        impl.write(handle, index, new)
        same_bytes(impl.read(handle), model, impl=impl)
        impl.flush(handle)
        unchanged(impl, before, path)
        impl.close(handle)
        unchanged(impl, before, path)
