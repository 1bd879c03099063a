"""Create (mode ``w+``): size, zero fill, replacement, layout (SPEC.md section 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from .. import strategies as mst
from ..literals import dtype_literal
from ..protocol import Adapter
from ._support import (
    draw_layout,
    file_bytes,
    file_state,
    fresh_file,
    judge_each,
    nbytes,
    needs_empty_arrays,
    read_back,
    same_bytes,
    shown,
    unchanged,
    write_raw,
)


class CreateTests:
    @pytest.mark.clause("CREATE.1", "CREATE.2")
    @given(dtype=mst.dtypes(), shape=mst.shapes(), data=st.data())
    def test_size_is_exact_and_zero_filled(
        self,
        impl: Adapter,
        tmp_path: Path,
        dtype: np.dtype[Any],
        shape: tuple[int, ...],
        data: Any,
    ) -> None:
        offset = data.draw(mst.offsets_for(impl.capabilities))
        order = data.draw(mst.orders_for(impl.capabilities))
        path = fresh_file(impl, tmp_path)
        spelled = data.draw(mst.spelled(shape))
        # A spelling refused is ARGS.1's failure, not the size's.
        with impl.clause("ARGS.1"):
            handle = impl.create(path, dtype, spelled, offset=offset, order=order)
        with impl.clause("CREATE.1"):
            impl.close(handle)
            # No file at all is a wrong size, not also unzeroed bytes (CREATE.2 has none to judge).
            content = file_bytes(impl, path)
            start = impl.data_offset(path, offset)
            size = start + nbytes(dtype, shape)
            shown(impl, f"len(content) == {size}", f"expected {start} bytes before the data and {size - start} of data")
            assert len(content) == size, (
                f"file is {len(content)} bytes; expected {start} before the data + {nbytes(dtype, shape)} of data"
            )
        with impl.clause("CREATE.2"):
            shown(impl, f"content[{start}:] == bytes(len(content) - {start})", "the new array is not all zero bytes")
            assert content[start:] == bytes(len(content) - start), "the new array is not all zero bytes"
            if impl.capabilities.file_format == "raw":
                shown(impl, f"content[:{start}] == bytes({start})", "the bytes before the offset are not zero")
                assert content[:start] == bytes(start), "the bytes before the offset are not zero"

    @pytest.mark.clause("CREATE.2")
    @pytest.mark.parametrize("offset", [1, 7, 4096, 4097, 65536 + 3], ids=lambda o: f"offset={o}")
    def test_offset_bytes_are_zero(self, impl: Adapter, tmp_path: Path, offset: int) -> None:
        """Offsets before, at and past a page: what lies before the array is zeros too."""
        impl.require(offsets=True, file_format="raw")
        path = fresh_file(impl, tmp_path)
        impl.close(impl.create(path, np.float64, (3,), offset=offset))
        content = file_bytes(impl, path)
        shown(impl, f"content == bytes({offset + 24})", "the file is not all zero bytes")
        assert content == bytes(offset + 24), f"the {len(content)}-byte file is not all zero bytes"

    @pytest.mark.clause("CREATE.1")
    @pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 2, 5)], ids=str)
    def test_zero_size_file_holds_no_data(self, impl: Adapter, tmp_path: Path, shape: tuple[int, ...]) -> None:
        path = fresh_file(impl, tmp_path)
        impl.close(impl.create(path, np.float64, shape))
        size = len(file_bytes(impl, path))
        shown(impl, f"len(content) == {impl.data_offset(path)}", "a zero-size array left data in the file")
        assert size == impl.data_offset(path), f"a zero-size array left a {size}-byte file"

    @pytest.mark.clause("ARGS.1", "CREATE.6")
    @given(shape=mst.shapes(max_dims=3), data=st.data())
    def test_shape_spellings(self, impl: Adapter, tmp_path: Path, shape: tuple[int, ...], data: Any) -> None:
        needs_empty_arrays(impl, shape)
        path = fresh_file(impl, tmp_path)
        with impl.clause("ARGS.1"):
            handle = impl.create(path, np.int16, data.draw(mst.spelled(shape)))
        got = np.asarray(handle.array).shape
        impl.close(handle)
        with impl.clause("CREATE.6"):
            assert got == shape, f"shape {got}; expected {shape}"

    @pytest.mark.clause("ARGS.1", "CREATE.5", "CREATE.6", "ERR.3")
    @pytest.mark.parametrize("spelling", list(mst.SHAPE_SPELLINGS))
    def test_each_shape_spelling_over_an_existing_file(self, impl: Adapter, tmp_path: Path, spelling: str) -> None:
        """Every spelling ARGS.1 accepts replaces an old file; were one refused, the old file must survive."""
        spelled = mst.SHAPE_SPELLINGS[spelling]
        shape = mst.normal_shape(spelled)
        path = fresh_file(impl, tmp_path)
        old = impl.create(path, np.float64, (4,))
        impl.write(old, ..., np.arange(4.0))
        impl.flush(old)
        impl.close(old)
        before = file_state(impl, path)
        try:
            handle = impl.create(path, np.float64, spelled)
        except Exception as exc:
            refused = exc
            # In the snippet, a refusal that changed the file fails the check that the old file survived it,
            # with the refusal chained; one that left it raises (an accepted spelling refused).
            impl.transcript[-1] = (
                f"try:\n    {impl.transcript[-1]}\nexcept Exception:\n"
                f"    assert file_state({impl.relative(path)!r}) == before, 'the file changed'\n    raise"
            )

            def accepted() -> None:
                raise refused

            judge_each(
                impl,
                ("CREATE.5", lambda: unchanged(impl, before, path)),
                ("ERR.3", lambda: unchanged(impl, before, path)),
                ("ARGS.1", accepted),
            )
            return
        got = np.asarray(handle.array).shape
        impl.close(handle)
        with impl.clause("CREATE.6"):
            assert got == shape, f"shape {got}; expected {shape}"

    @pytest.mark.clause("CREATE.3")
    # Non-empty shapes: what a zero-size create leaves is CREATE.1's business.
    # The edge cases run every time: an old file larger, of the same size, and smaller.
    @example(old=b"\xff" * 4096, shape=(2,))
    @example(old=b"\xff" * 16, shape=(2,))
    @example(old=b"\xff", shape=(3, 5))
    @given(old=st.binary(min_size=1, max_size=4096), shape=mst.shapes(min_dims=1, max_dims=2).filter(all))
    def test_replaces_an_existing_file(self, impl: Adapter, tmp_path: Path, old: bytes, shape: tuple[int, ...]) -> None:
        path = fresh_file(impl, tmp_path)
        write_raw(path, old, impl=impl)
        # In a clause block, a failure keeps its own example's snippet: Hypothesis raises an explicit
        # example's failure after running the later examples, whose calls the transcript then holds.
        with impl.clause("CREATE.3"):
            impl.close(impl.create(path, np.float64, shape))
            start = impl.data_offset(path)
            content = file_bytes(impl, path)
            size = start + nbytes(np.float64, shape)
            shown(impl, f"len(content) == {size}", "the new file's size")
            assert len(content) == size, f"file is {len(content)} bytes; expected {size}"
            shown(impl, f"content[{start}:] == bytes(len(content) - {start})", "old bytes survived create")
            assert content[start:] == bytes(len(content) - start), "old bytes survived create"

    @pytest.mark.clause("CREATE.6", "OPEN.4")
    @given(dtype=mst.dtypes(), shape=mst.shapes(), data=st.data())
    def test_layout_matches_the_oracle(
        self, impl: Adapter, tmp_path: Path, dtype: np.dtype[Any], shape: tuple[int, ...], data: Any
    ) -> None:
        offset, order, values = draw_layout(impl, data, dtype, shape)
        path = fresh_file(impl, tmp_path)
        with impl.clause("CREATE.6"):
            handle = impl.create(path, dtype, shape, offset=offset, order=order)
            # The view is held until close(), as a caller's would be: the snippet holds it too.
            impl.note(f"array = np.asarray({impl.name_of(handle)}.array)")
            array = np.asarray(handle.array)
            shown(impl, f"array.dtype == {dtype_literal(np.dtype(dtype))}", "the dtype asked for")
            assert array.dtype == dtype, f"dtype {array.dtype}, asked for {dtype}"
            shown(impl, f"array.shape == {shape!r}", "the shape asked for")
            assert array.shape == shape, f"shape {array.shape}, asked for {shape}"
            if array.ndim > 1 and array.size > 1:
                shown(impl, f"array.flags.{'f' if order == 'F' else 'c'}_contiguous", f"order {order!r} asked for")
                contiguous = array.flags.f_contiguous if order == "F" else array.flags.c_contiguous
                assert contiguous, f"order {order!r} asked for, array is not {order}-contiguous"
            impl.write(handle, ..., values)
            impl.flush(handle)
            impl.close(handle)
        got = read_back(impl, path, dtype, shape, offset=impl.data_offset(path, offset), order=order)
        with impl.clause("OPEN.4"):
            same_bytes(got, values, impl=impl)
