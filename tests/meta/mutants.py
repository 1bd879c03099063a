"""Mutants of the reference, each with one realistic bug, for checking that the suite catches it.

Importable as ``--impl mutants:NAME`` with this folder on ``sys.path``.
``EXPECTED`` names, for each mutant, the clause the suite must report as
failed and the suite tests that find it (a pytest ``-k`` expression).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from common.wrappers import ReferenceWrapper

import memmapref


class _FlushDoesNothing(ReferenceWrapper):
    """Writes go to a private copy and flush() never writes them back."""

    def create(self, path: Any, dtype: Any, shape: Any, *, offset: int = 0, order: str = "C") -> Any:
        memmapref.create(path, dtype, shape, offset=offset, order=order).close()
        return memmapref.open(path, dtype, shape, mode="c", offset=offset, order=order)

    def open(
        self, path: Any, dtype: Any, shape: Any = None, *, mode: str = "r", offset: int = 0, order: str = "C"
    ) -> Any:
        return super().open(path, dtype, shape, mode="c" if mode == "r+" else mode, offset=offset, order=order)


class _OrderIgnored(ReferenceWrapper):
    def create(self, path: Any, dtype: Any, shape: Any, *, offset: int = 0, order: str = "C") -> Any:
        return super().create(path, dtype, shape, offset=offset)

    def open(
        self, path: Any, dtype: Any, shape: Any = None, *, mode: str = "r", offset: int = 0, order: str = "C"
    ) -> Any:
        return super().open(path, dtype, shape, mode=mode, offset=offset)


class _OffsetRounded(ReferenceWrapper):
    """Rounds the offset down to a multiple of 8, as code that assumes aligned records does."""

    def open(
        self, path: Any, dtype: Any, shape: Any = None, *, mode: str = "r", offset: int = 0, order: str = "C"
    ) -> Any:
        return super().open(path, dtype, shape, mode=mode, offset=offset - offset % 8, order=order)


class _ByteOrderIgnored(ReferenceWrapper):
    def create(self, path: Any, dtype: Any, shape: Any, *, offset: int = 0, order: str = "C") -> Any:
        return super().create(path, np.dtype(dtype).newbyteorder("="), shape, offset=offset, order=order)

    def open(
        self, path: Any, dtype: Any, shape: Any = None, *, mode: str = "r", offset: int = 0, order: str = "C"
    ) -> Any:
        return super().open(path, np.dtype(dtype).newbyteorder("="), shape, mode=mode, offset=offset, order=order)


class _GreaterOrEqual(ReferenceWrapper):
    def filtered_sum(self, handle: Any, threshold: Any) -> Any:
        x = handle.array
        return x[x >= threshold].sum()


class _NanSelected(ReferenceWrapper):
    def filtered_sum(self, handle: Any, threshold: Any) -> Any:
        x = handle.array
        return x[~(x <= threshold)].sum()


class _MeanInFloat32(ReferenceWrapper):
    def slice_mean(self, handle: Any, index: Any) -> Any:
        selection = np.asarray(handle.array)[index]
        result = np.mean(selection)
        if selection.size == 0:
            return result
        return np.asarray(np.mean(selection, dtype=np.float32)).astype(np.asarray(result).dtype)[()]


class _RPlusGrows(ReferenceWrapper):
    """Extends a short file with zeros before mapping it, as numpy.memmap does."""

    def open(
        self, path: Any, dtype: Any, shape: Any = None, *, mode: str = "r", offset: int = 0, order: str = "C"
    ) -> Any:
        if mode == "r+" and shape is not None:
            need = offset + np.dtype(dtype).itemsize * int(np.prod(shape))
            if os.path.getsize(path) < need:
                with open(path, "r+b") as f:
                    f.truncate(need)
        return super().open(path, dtype, shape, mode=mode, offset=offset, order=order)


class _CopyOnWriteReachesFile(ReferenceWrapper):
    def open(
        self, path: Any, dtype: Any, shape: Any = None, *, mode: str = "r", offset: int = 0, order: str = "C"
    ) -> Any:
        return super().open(path, dtype, shape, mode="r+" if mode == "c" else mode, offset=offset, order=order)


class _LastChunkDropped(ReferenceWrapper):
    """A chunk loop whose bound is ``range(0, n - chunk, chunk)``: the last chunk is never read."""

    def filtered_sum(self, handle: Any, threshold: Any) -> Any:
        x = np.asarray(handle.array).reshape(-1)
        chunk = 4
        total = x[:0][x[:0] > threshold].sum()
        for start in range(0, max(0, x.size - chunk), chunk):
            part = x[start : start + chunk]
            total = total + part[part > threshold].sum()
        return total


class _ZeroSizeLeavesAByte(ReferenceWrapper):
    def create(self, path: Any, dtype: Any, shape: Any, *, offset: int = 0, order: str = "C") -> Any:
        handle = super().create(path, dtype, shape, offset=offset, order=order)
        if handle.array.size == 0:
            with open(path, "ab") as f:
                f.write(b"\0")
        return handle


class _ReadOnlyIsWritable(ReferenceWrapper):
    def open(
        self, path: Any, dtype: Any, shape: Any = None, *, mode: str = "r", offset: int = 0, order: str = "C"
    ) -> Any:
        return super().open(path, dtype, shape, mode="c" if mode == "r" else mode, offset=offset, order=order)


flush_does_nothing = _FlushDoesNothing("flush-does-nothing")
order_ignored = _OrderIgnored("order-ignored")
offset_rounded = _OffsetRounded("offset-rounded")
byte_order_ignored = _ByteOrderIgnored("byte-order-ignored")
greater_or_equal = _GreaterOrEqual("greater-or-equal")
nan_selected = _NanSelected("nan-selected")
mean_in_float32 = _MeanInFloat32("mean-in-float32")
r_plus_grows = _RPlusGrows("r-plus-grows")
copy_on_write_reaches_file = _CopyOnWriteReachesFile("copy-on-write-reaches-file")
last_chunk_dropped = _LastChunkDropped("last-chunk-dropped")
zero_size_leaves_a_byte = _ZeroSizeLeavesAByte("zero-size-leaves-a-byte")
read_only_is_writable = _ReadOnlyIsWritable("read-only-is-writable")

# mutant attribute -> (clause that must fail, the suite tests that find it)
EXPECTED: dict[str, tuple[str, str]] = {
    "flush_does_nothing": ("OPEN.8", "TestReadWrite"),
    "order_ignored": ("CREATE.6", "test_layout_matches_the_oracle"),
    "offset_rounded": ("OPEN.5", "test_data_written_by_others_at_any_offset"),
    "byte_order_ignored": ("CREATE.6", "test_layout_matches_the_oracle"),
    "greater_or_equal": ("FSUM.3", "test_threshold_edges"),
    "nan_selected": ("FSUM.4", "test_threshold_edges"),
    # Integer input meets the float32 accumulator first: 2**24 + 1 is not a float32.
    "mean_in_float32": ("MEAN.2", "test_slice_mean"),
    "r_plus_grows": ("OPEN.2", "test_short_file_is_refused_and_not_grown"),
    "copy_on_write_reaches_file": ("OPEN.9", "TestCopyOnWrite"),
    "last_chunk_dropped": ("FSUM.2", "test_filtered_sum"),
    "zero_size_leaves_a_byte": ("CREATE.1", "test_zero_size_file_holds_no_data"),
    "read_only_is_writable": ("OPEN.7", "test_read_only_refuses_writes"),
}
