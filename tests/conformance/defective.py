"""Implementations with one defect each, for the verdicts the suite must give (``test_verdicts.py``).

Each wraps a bundled implementation and changes one thing; its name says what.
"""

from __future__ import annotations

import mmap
import os
from typing import Any

import numpy as np
from common.wrappers import ReferenceWrapper as _Wrapped

from memmapref.testing.implementations import _ArrayHandle, _NumpyMemmap, reference
from memmapref.testing.protocol import Capabilities


class _Lazy:
    """A handle whose flush does nothing and whose close only drops the array."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.array = inner.array

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.array = None


class _NoFlush(_Wrapped):
    def create(self, path: Any, dtype: Any, shape: Any, *, offset: int = 0, order: str = "C") -> Any:
        return _Lazy(super().create(path, dtype, shape, offset=offset, order=order))

    def open(
        self, path: Any, dtype: Any, shape: Any = None, *, mode: str = "r", offset: int = 0, order: str = "C"
    ) -> Any:
        return _Lazy(super().open(path, dtype, shape, mode=mode, offset=offset, order=order))


no_flush = _NoFlush("no-flush")


class _NoCopyOnWrite(_Wrapped):
    """Declares no mode "c", and would write through if it were used anyway."""

    capabilities = Capabilities(modes=frozenset({"r", "r+"}))

    def open(
        self, path: Any, dtype: Any, shape: Any = None, *, mode: str = "r", offset: int = 0, order: str = "C"
    ) -> Any:
        return super().open(path, dtype, shape, mode="r+" if mode == "c" else mode, offset=offset, order=order)


no_copy_on_write = _NoCopyOnWrite("no-copy-on-write")


class _OverwritesInPlace(_Wrapped):
    """create writes zeros over an existing file without truncating it: only a larger old file shows it."""

    def create(self, path: Any, dtype: Any, shape: Any, *, offset: int = 0, order: str = "C") -> Any:
        nbytes = offset + np.dtype(dtype).itemsize * int(np.prod(shape))
        flags = os.O_RDWR | os.O_CREAT
        fd = os.open(path, flags, 0o644)
        try:
            os.pwrite(fd, bytes(nbytes), 0)
        finally:
            os.close(fd)
        return reference.open(path, dtype, shape, mode="r+", offset=offset, order=order)


overwrites_in_place = _OverwritesInPlace("overwrites-in-place")


class _GreaterOrEqual(_Wrapped):
    """filtered_sum selects x >= t: a filtered-sum bug that must not be reported against the mean."""

    @staticmethod
    def filtered_sum(handle: Any, threshold: Any) -> Any:  # type: ignore[override]
        x = np.asarray(handle.array)
        return x[x >= threshold].sum()


greater_or_equal = _GreaterOrEqual("greater-or-equal")


class _GarbageOffset(_NumpyMemmap):
    """numpy.memmap with its declared deviations, and a regression: garbage in the bytes before the array."""

    name = "numpy-garbage-offset"

    def create(self, path: Any, dtype: Any, shape: Any, *, offset: int = 0, order: str = "C") -> _ArrayHandle:
        handle = super().create(path, dtype, shape, offset=offset, order=order)
        if offset:
            with open(path, "r+b") as f:
                f.write(b"\xab" * offset)
        return handle


numpy_garbage_offset = _GarbageOffset()


class _Interrupts(_Wrapped):
    """Raises KeyboardInterrupt from inside slice_mean."""

    @staticmethod
    def slice_mean(handle: Any, index: Any) -> Any:  # type: ignore[override]
        raise KeyboardInterrupt


interrupts = _Interrupts("interrupts")


class _Crashes(_Wrapped):
    """Dies inside filtered_sum for one threshold: a segfault over int8 items, os._exit over uint8."""

    @staticmethod
    def filtered_sum(handle: Any, threshold: Any) -> Any:  # type: ignore[override]
        x = np.asarray(handle.array)
        if threshold == -0.5 and x.dtype == np.int8:
            import ctypes

            ctypes.string_at(0)  # reads address 0: SIGSEGV
        if threshold == -0.5 and x.dtype == np.uint8:
            os._exit(3)
        return reference.filtered_sum(handle, threshold)


crashes = _Crashes("crashes")


_NUMERIC = frozenset({"b", "i", "u", "f", "c"})


class _NumericOnlyAcceptsAll(_Wrapped):
    """Declares only numeric dtypes, yet maps a datetime or a structured dtype instead of refusing it."""

    capabilities = Capabilities(dtypes=_NUMERIC)


numeric_only_accepts_all = _NumericOnlyAcceptsAll("numeric-only-accepts-all")


class _NumericOnly(_Wrapped):
    """Declares only numeric dtypes and refuses the others with TypeError: ARGS.4 as the capability states it.

    Any other test that drew a non-numeric dtype would fail its own clause on the TypeError.
    """

    capabilities = Capabilities(dtypes=lambda dt: dt.kind in _NUMERIC and dt.isnative)

    def create(self, path: Any, dtype: Any, shape: Any, *, offset: int = 0, order: str = "C") -> Any:
        self._check(dtype)
        return super().create(path, dtype, shape, offset=offset, order=order)

    def open(
        self, path: Any, dtype: Any, shape: Any = None, *, mode: str = "r", offset: int = 0, order: str = "C"
    ) -> Any:
        self._check(dtype)
        return super().open(path, dtype, shape, mode=mode, offset=offset, order=order)

    def _check(self, dtype: Any) -> None:
        dt = np.dtype(dtype)
        if not self.capabilities.supports(dt):
            raise TypeError(f"got dtype {dt}; expected a native-endian number or bool; fix: convert the data")


numeric_only = _NumericOnly("numeric-only")


class _NoEmptyArrays(_Wrapped):
    """Maps every array with ``mmap`` of its byte count, which an empty array's 0 is not: one bug behind
    every clause whose examples shrink to a zero-size array (its capabilities still claim them)."""

    @staticmethod
    def _refuse_empty(handle: Any) -> Any:
        if handle.array.size == 0:
            handle.close()
            mmap.mmap(-1, 0)  # OSError: [Errno 22] Invalid argument
        return handle

    def create(self, path: Any, dtype: Any, shape: Any, *, offset: int = 0, order: str = "C") -> Any:
        return self._refuse_empty(super().create(path, dtype, shape, offset=offset, order=order))

    def open(
        self, path: Any, dtype: Any, shape: Any = None, *, mode: str = "r", offset: int = 0, order: str = "C"
    ) -> Any:
        return self._refuse_empty(super().open(path, dtype, shape, mode=mode, offset=offset, order=order))


no_empty_arrays = _NoEmptyArrays("no-empty-arrays")
