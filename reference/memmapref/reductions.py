"""Streaming reductions over arrays too large for memory: the kernels and the two public functions.

Both functions read their input in chunks and never allocate anything whose
size grows with the input (SPEC.md REDUCE.1). The tutorial's
``fp[fp > t].sum()`` first allocates a boolean mask as large as the array and
then a copy of every selected element; on a file larger than memory it fails
where :func:`filtered_sum` streams. How the input is cut, read and shared
among threads is :mod:`._chunking`; how the chunks' partials add up exactly,
whatever the threads, is :mod:`._accumulate`.

The filtered float kernel is branch-free: it multiplies each chunk by its 0/1
mask and sums the products with numpy's pairwise sum. Unselected items
contribute exact zeros, so the rounding error is that of summing the selected
items alone. It does not use BLAS: a BLAS dot product would start its own
threads inside each of ours, and it sums less accurately than pairwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _validate
from ._accumulate import (
    Kernel,
    complex_walk,
    exact_total,
    int_walk,
    make_complex,
    ordered_walk,
    quiet_sum_walk,
    sum_walk,
    wrap,
)
from ._chunking import (
    DEFAULT_CHUNK_BYTES,
    MIN_CHUNK_BYTES,
    NO_SCRATCH,
    Array,
    Job,
    Scratch,
    Source,
    cast_cost,
    chunk_items,
    contiguous,
    default_threads,
    max_threads,
)

__all__ = ["DEFAULT_CHUNK_BYTES", "filtered_sum", "slice_mean"]

_LOW_BITS = 32
_LOW_MASK = (1 << _LOW_BITS) - 1
_FLOAT64 = np.dtype(np.float64)


# ---------------------------------------------------------------------------
# Kernels. A chunk is a view of any shape, strides and byte order.


def _count(chunk: Array, scratch: Scratch) -> int:
    return int(np.count_nonzero(chunk))


def _int_sum(chunk: Array, scratch: Scratch) -> int:
    """Exact sum of an integer chunk of at most 2**28 items."""
    if chunk.dtype.itemsize < 8:
        return int(np.add.reduce(chunk, axis=None, dtype=np.int64 if chunk.dtype.kind == "i" else np.uint64))
    # 64-bit items: the arithmetic high halves and the low halves each fit a
    # 64-bit sum, where the items themselves would wrap around.
    work = scratch.like("work", chunk.dtype.newbyteorder("="), chunk)
    # Operands in the item type: numpy 1.x casts a 0-d uint64 chunk and a Python int to float64.
    high = int(np.add.reduce(np.right_shift(chunk, work.dtype.type(_LOW_BITS), out=work), axis=None))
    low = int(np.add.reduce(np.bitwise_and(chunk, work.dtype.type(_LOW_MASK), out=work), axis=None))
    return (high << _LOW_BITS) + low


def _float_sum(chunk: Array, scratch: Scratch) -> float:
    dtype = None if chunk.dtype is _FLOAT64 else np.float64  # no dtype argument: a faster loop lookup
    return float(np.add.reduce(chunk, axis=None, dtype=dtype))


def _complex_sum(chunk: Array, scratch: Scratch) -> complex:
    return complex(np.add.reduce(chunk, axis=None, dtype=np.complex128))


def _own_sum(chunk: Array, scratch: Scratch) -> Any:
    return np.add.reduce(chunk, axis=None)


def _selection(threshold: Any) -> Callable[[Array, Scratch], tuple[Array, int]]:
    def select(chunk: Array, scratch: Scratch) -> tuple[Array, int]:
        # The chunk keeps the input's dtype, so numpy resolves the comparison
        # exactly as in x > threshold (NEP 50 for Python scalars).
        mask = np.greater(chunk, threshold, out=scratch.like("mask", np.bool_, chunk))
        return mask, int(np.count_nonzero(mask))

    return select


def _filtered_float(threshold: Any) -> Kernel:
    def kernel(chunk: Array, scratch: Scratch) -> float:
        # The comparison runs on the chunk's own dtype (NEP 50 as in x > threshold)
        # into a boolean mask; np.copyto widens it to 0.0 and 1.0, which is cheaper
        # than a comparison writing floats through numpy's cast buffer (0.195
        # against 0.207 s on 1 GiB, two workers). Four calls per chunk: more and
        # smaller ones lose, since every call hands the GIL to the other worker.
        mask = np.greater(chunk, threshold, out=scratch.like("mask", np.bool_, chunk))
        work = scratch.like("work", np.float64, chunk)
        np.copyto(work, mask)
        part = float(np.add.reduce(np.multiply(chunk, work, out=work), axis=None))
        if math.isnan(part):
            # An unselected nan or infinity times 0 is nan (a selected item
            # never is): sum this chunk again the slow, exact way.
            part = float(np.add.reduce(chunk, axis=None, where=mask, dtype=np.float64))
        return part

    return kernel


def _filtered_int(threshold: Any) -> Kernel:
    select = _selection(threshold)

    def kernel(chunk: Array, scratch: Scratch) -> int:
        mask, k = select(chunk, scratch)
        if k == 0:
            return 0
        wide = np.int64 if chunk.dtype.kind == "i" else np.uint64
        if k == chunk.size:
            return int(np.add.reduce(chunk, axis=None, dtype=wide))
        work = scratch.like("work", wide, chunk)
        np.copyto(work, mask)
        # 64-bit sums wrap around, as numpy's do; the caller reduces modulo 2**64.
        return int(np.add.reduce(np.multiply(chunk, work, out=work), axis=None))

    return kernel


def _filtered_bool(threshold: Any) -> Kernel:
    select = _selection(threshold)

    def kernel(chunk: Array, scratch: Scratch) -> int:
        mask, _ = select(chunk, scratch)
        return int(np.count_nonzero(np.logical_and(chunk, mask, out=mask)))

    return kernel


def _filtered_masked(threshold: Any, accumulator: Any = None) -> Kernel:
    """Masked sum: slow, for the kinds without a fast multiply-and-sum."""
    select = _selection(threshold)

    def kernel(chunk: Array, scratch: Scratch) -> Any:
        mask, _ = select(chunk, scratch)
        return np.add.reduce(chunk, axis=None, where=mask, dtype=accumulator)

    return kernel


# ---------------------------------------------------------------------------
# Scratch bytes per item of each kernel: the chunk grid follows from them
# (chunk_items), here and in the tasks of memmapref.dask.


def _float_cost(dt: np.dtype[Any]) -> int:
    """Scratch per item of the float mean kernel: a cast buffer unless the items are native float64."""
    return 0 if dt == _FLOAT64 else 8  # dtype equality includes the byte order


def _comparison_dtype(dtype: np.dtype[Any], threshold: Any) -> np.dtype[Any]:
    """The type numpy compares in for ``x > threshold``, for budgeting its cast buffer."""
    try:
        return np.result_type(dtype.newbyteorder("="), threshold)
    except (TypeError, ValueError, OverflowError):
        return np.dtype(np.clongdouble)  # the widest numpy could cast to


def _mean_cost(dt: np.dtype[Any]) -> int:
    if dt.kind == "b":
        return 0
    if dt.kind in "iu":
        return 8 + cast_cost(dt, np.int64 if dt.kind == "i" else np.uint64)
    if dt.kind == "f" and dt.itemsize <= 8:
        return _float_cost(dt)
    if dt.kind == "c" and dt.itemsize <= 16:
        return cast_cost(dt, np.complex128)
    return cast_cost(dt)


def _filtered_cost(dt: np.dtype[Any], threshold: Any) -> int:
    """The mask (or the booleans written into the work buffer) plus the kernel's buffers and casts."""
    compare = _comparison_dtype(dt, threshold)
    if dt.kind in "iu":
        return 1 + 8 + cast_cost(dt, compare, np.int64 if dt.kind == "i" else np.uint64)
    if dt.kind == "f" and dt.itemsize <= 8:
        return 1 + 8 + cast_cost(dt, compare, np.float64)
    if dt.kind == "c" and dt.itemsize <= 16:
        return 1 + cast_cost(dt, compare, np.complex128)
    return 1 + cast_cost(dt, compare)  # bool, long double, timedelta


# ---------------------------------------------------------------------------
# Public functions


def slice_mean(
    a: Any,
    index: Any = ...,
    *,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    threads: int | None = None,
) -> Any:
    """``np.mean(np.asarray(a)[index])``, streamed, with the same result dtype.

    Integer and bool means are the exactly rounded quotient of the exact sum.
    Float means sum each chunk in float64 and add the chunk sums exactly; see
    SPEC.md MEAN.4 for the bound. An empty selection gives nan with numpy's
    RuntimeWarning, as np.mean does.
    """
    budget = _validate.chunk_bytes(chunk_bytes, MIN_CHUNK_BYTES, DEFAULT_CHUNK_BYTES)
    wanted = _validate.threads(threads, default_threads(), max_threads())
    source = Source(a)
    try:
        result = _slice_mean(source, index, budget, wanted)
    except BaseException:
        source.discard()  # the reduction's own error is the one to raise
        raise
    source.close()
    return result


def _slice_mean(source: Source, index: Any, budget: int, wanted: int) -> Any:
    view = np.asarray(source.array[index])
    dt = view.dtype
    n = view.size
    # The chunked path's own chunk length: one chunk here is one chunk there.
    one_chunk = chunk_items(budget, wanted, _float_cost(dt), dt.itemsize)
    if dt.kind == "f" and dt.itemsize <= 8 and 0 < n <= one_chunk:
        # One chunk (most slices): the same float64 sum and the same rounded
        # division as the chunked path below, without its machinery, so that
        # small slices cost no more than np.mean.
        source.check()
        file = source.file_range(view)
        scratch = Scratch(n)
        if file is not None:
            view = file.read(0, n, scratch)
        return dt.type(_float_sum(contiguous(view, scratch), NO_SCRATCH) / n)
    if n == 0 or dt.kind not in "biufc":
        # numpy's own mean: the empty-slice warning, timedelta arithmetic and
        # the refusals, in one pass that copies nothing for a basic index.
        source.check()
        return np.mean(view)
    job = Job(view, source, budget, wanted)
    cost = _mean_cost(dt)
    if dt.kind == "b":
        return np.float64(sum(job.run(cost, int_walk(_count))) / n)  # int / int is correctly rounded
    if dt.kind in "iu":
        return np.float64(sum(job.run(cost, int_walk(_int_sum))) / n)
    result = dt.type
    if dt.kind == "f" and dt.itemsize <= 8:
        return result(exact_total(job.run(cost, sum_walk(_float_sum))).divided(n))
    if dt.kind == "c" and dt.itemsize <= 16:
        pairs = job.run(cost, complex_walk(_complex_sum))
        real = exact_total([p[0] for p in pairs])
        imag = exact_total([p[1] for p in pairs])
        if real.finite and imag.finite:
            return result(make_complex(real.divided(n), imag.divided(n), np.complex128))
        # Divided as numpy divides its sum, so that inf and nan parts come out alike.
        return result(make_complex(real.divided(1), imag.divided(1), np.complex128) / n)
    # Long double: one worker, a compensated sum in the item type.
    (total,) = job.run(cost, ordered_walk(_own_sum, result(0)), parallel=False)
    return result(total / n)


def filtered_sum(
    a: Any,
    threshold: Any,
    *,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    threads: int | None = None,
) -> Any:
    """``x[x > threshold].sum()`` for ``x = np.asarray(a)``, streamed.

    Same result dtype as numpy. Integer sums wrap around exactly as numpy's
    64-bit accumulator does. NaN is never selected (NaN > t is false). Dtypes
    numpy refuses raise numpy's own exception.
    """
    budget = _validate.chunk_bytes(chunk_bytes, MIN_CHUNK_BYTES, DEFAULT_CHUNK_BYTES)
    wanted = _validate.threads(threads, default_threads(), max_threads())
    _validate.threshold(threshold)
    source = Source(a)
    try:
        result = _filtered_sum(source, threshold, budget, wanted)
    except BaseException:
        source.discard()  # the reduction's own error is the one to raise
        raise
    source.close()
    return result


def _filtered_sum(source: Source, threshold: Any, budget: int, wanted: int) -> Any:
    x = source.array
    dt = x.dtype
    probe = np.zeros(0, dtype=dt)
    # Raises numpy's own exception for a dtype or threshold numpy refuses,
    # and gives the zero of numpy's result dtype.
    zero = probe[probe > threshold].sum()
    if x.size == 0:
        return zero
    if dt.kind == "O":
        # Python objects cannot live in a file; numpy's expression is the definition.
        return x[x > threshold].sum()
    job = Job(x, source, budget, wanted)
    cost = _filtered_cost(dt, threshold)
    if dt.kind == "b":
        return wrap(sum(job.run(cost, int_walk(_filtered_bool(threshold)))), zero.dtype)
    if dt.kind in "iu":
        return wrap(sum(job.run(cost, int_walk(_filtered_int(threshold)))), zero.dtype)
    if dt.kind == "f" and dt.itemsize <= 8:
        parts = job.run(cost, quiet_sum_walk(_filtered_float(threshold)))
        return zero.dtype.type(exact_total(parts).divided(1))
    if dt.kind == "c" and dt.itemsize <= 16:
        pairs = job.run(cost, complex_walk(_filtered_masked(threshold, np.complex128)))
        real = exact_total([p[0] for p in pairs]).divided(1)
        imag = exact_total([p[1] for p in pairs]).divided(1)
        return zero.dtype.type(make_complex(real, imag, np.complex128))
    # Long double and timedelta: one worker, the partials added in chunk order.
    (total,) = job.run(cost, ordered_walk(_filtered_masked(threshold), zero), parallel=False)
    return zero.dtype.type(total)
