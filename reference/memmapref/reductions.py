"""Streaming reductions over arrays too large for memory.

Both functions read their input in chunks of at most ``chunk_bytes`` and
never allocate anything whose size grows with the input: per worker thread
one chunk-sized work buffer and one chunk-length mask (SPEC.md REDUCE.1).

The tutorial's ``fp[fp > t].sum()`` first allocates a boolean mask as large
as the array and then a copy of every selected element; on a file larger than
memory it fails where :func:`filtered_sum` streams.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .errors import ReductionArgumentError, message
from .mapped import MappedArray

DEFAULT_CHUNK_BYTES = 1 << 20
_MIN_CHUNK_BYTES = 4096
# Two workers saturate memory bandwidth on small machines; more only adds
# contention, and numpy already releases the GIL inside each chunk.
_MAX_DEFAULT_THREADS = 2


def default_threads() -> int:
    return max(1, min(_MAX_DEFAULT_THREADS, len(os.sched_getaffinity(0))))


def _as_array(a: Any) -> tuple[np.ndarray[Any, Any], Callable[[], None]]:
    if isinstance(a, MappedArray):
        return a.array, a.check_size
    return np.asarray(a), _nothing


def _nothing() -> None:
    return None


def _chunk_length(chunk_bytes: int, itemsize: int) -> int:
    if isinstance(chunk_bytes, bool) or not isinstance(chunk_bytes, (int, np.integer)) or chunk_bytes < _MIN_CHUNK_BYTES:
        raise ReductionArgumentError(
            message(
                f"chunk_bytes={chunk_bytes!r}",
                f"an integer of at least {_MIN_CHUNK_BYTES}",
                "leave the default, or pass e.g. chunk_bytes=1 << 20",
            )
        )
    # The float64 work buffer is the largest per-chunk allocation.
    return max(1, int(chunk_bytes) // max(itemsize, 8))


def _worker_count(threads: int | None, chunks: int) -> int:
    wanted = default_threads() if threads is None else threads
    if isinstance(wanted, bool) or not isinstance(wanted, int) or wanted < 1:
        raise ReductionArgumentError(message(f"threads={threads!r}", "a positive integer or None", "pass threads=1 or leave it None"))
    return max(1, min(wanted, chunks))


def _runs(size: int, length: int, workers: int) -> list[tuple[int, int]]:
    """Split [0, size) into one contiguous run of whole chunks per worker."""
    chunks = -(-size // length)
    per = -(-chunks // workers)
    return [(i * per * length, min(size, (i + 1) * per * length)) for i in range(workers) if i * per * length < size]


def _chunks(view: np.ndarray[Any, Any], length: int, run: tuple[int, int]) -> Iterator[np.ndarray[Any, Any]]:
    # nditer walks the view in memory order, hands out contiguous slices where the
    # data allows and otherwise copies (and byte-swaps) into its own buffer of
    # `length` items: bounded memory for any layout.
    native = view.dtype.newbyteorder("=")
    it = np.nditer(
        view,
        flags=["external_loop", "buffered", "zerosize_ok", "ranged"],
        op_dtypes=[native],
        casting="equiv",
        buffersize=length,
        order="K",
    )
    it.iterrange = run
    yield from it


def _map_runs(
    view: np.ndarray[Any, Any],
    length: int,
    threads: int | None,
    per_chunk: Callable[[np.ndarray[Any, Any], dict[str, Any]], Any],
    check: Callable[[], None],
) -> list[Any]:
    """Apply ``per_chunk`` to every chunk; results in chunk order, whatever the thread timing."""
    runs = _runs(view.size, length, _worker_count(threads, -(-view.size // length)))

    def walk(run: tuple[int, int]) -> list[Any]:
        scratch: dict[str, Any] = {}
        out = []
        for chunk in _chunks(view, length, run):
            check()
            out.append(per_chunk(chunk, scratch))
        return out

    if len(runs) == 1:
        return walk(runs[0])
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        return [part for parts in pool.map(walk, runs) for part in parts]


def _buffer(scratch: dict[str, Any], name: str, n: int, dtype: Any) -> np.ndarray[Any, Any]:
    buf = scratch.get(name)
    if buf is None or len(buf) < n:
        buf = scratch[name] = np.empty(n, dtype=dtype)
    return buf[:n]  # type: ignore[no-any-return]


def compensated_sum(parts: list[Any], zero: Any) -> Any:
    """Neumaier's compensated sum of chunk partials, in the partials' own type.

    Error at most 2u|S| + O(n u^2) sum|p_i| for n partials (Higham, ASNA 2nd ed., 4.3).
    Non-finite partials make compensation meaningless (inf - inf); they are then
    added plainly, which gives the same inf or nan numpy's own sum gives.
    """
    total = zero
    comp = zero
    for p in parts:
        t = total + p
        if abs(total) >= abs(p):
            comp += (total - t) + p
        else:
            comp += (p - t) + total
        total = t
    if not (np.isfinite(total) and np.isfinite(comp)):
        plain = zero
        for p in parts:
            plain = plain + p
        return plain
    return total + comp


def _kind(dtype: np.dtype[Any]) -> str:
    if dtype.kind in "biu":
        return "int"
    if dtype.kind == "f" and dtype.itemsize <= 8:
        return "float"
    if dtype.kind in "fc":
        return "wide"
    return "other"


_SPLIT = 32
_LOW_MASK = (1 << _SPLIT) - 1


def _exact_int_sum(chunk: np.ndarray[Any, Any], scratch: dict[str, Any]) -> int:
    """The exact sum of an integer chunk, as a Python int.

    numpy sums integers in 64 bits with wrap-around; splitting 64-bit items
    into 32-bit halves keeps each partial sum far from overflow for any chunk
    shorter than 2**31 items.
    """
    if chunk.dtype.itemsize < 8:
        return int(np.add.reduce(chunk, dtype=np.int64))
    acc = np.int64 if chunk.dtype.kind == "i" else np.uint64
    buf = _buffer(scratch, "halves", len(chunk), acc)
    high = int(np.add.reduce(np.right_shift(chunk, _SPLIT, out=buf)))
    low = int(np.add.reduce(np.bitwise_and(chunk, _LOW_MASK, out=buf)))
    return (high << _SPLIT) + low


def slice_mean(
    a: Any,
    index: Any = ...,
    *,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    threads: int | None = None,
) -> Any:
    """``np.mean(np.asarray(a)[index])``, streamed, with the same result dtype.

    Integer and bool means are the exactly rounded quotient of the exact sum.
    Float means accumulate in at least float64; see SPEC.md MEAN.4 for the bound.
    An empty selection gives nan with numpy's RuntimeWarning, as np.mean does.
    """
    x, check = _as_array(a)
    view = np.asarray(x[index])
    kind = _kind(view.dtype)
    if view.size == 0 or kind == "other":
        # numpy's own mean: the empty-slice warning, datetime refusal and
        # timedelta arithmetic, all without a copy of a basic-index view.
        return np.mean(view)
    result_type = np.mean(np.zeros(1, dtype=view.dtype)).dtype.type
    length = _chunk_length(chunk_bytes, view.dtype.itemsize)
    n = view.size
    if kind == "int":
        parts = _map_runs(view, length, threads, _exact_int_sum, check)
        return result_type(sum(parts) / n)
    if kind == "float":
        parts = _map_runs(view, length, threads, lambda c, s: float(np.add.reduce(c, dtype=np.float64)), check)
        return result_type(compensated_sum(parts, 0.0) / n)
    acc = np.result_type(view.dtype, np.float64).newbyteorder("=")
    parts = _map_runs(view, length, threads, lambda c, s: np.add.reduce(c, dtype=acc), check)
    zero = acc.type(0)
    if acc.kind == "c":
        real = compensated_sum([p.real for p in parts], zero.real)
        imag = compensated_sum([p.imag for p in parts], zero.imag)
        return result_type(acc.type(complex(0, 0)) + real + imag * 1j) / result_type(n)
    return result_type(compensated_sum(parts, zero) / n)


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
    x, check = _as_array(a)
    if np.ndim(threshold) != 0:
        raise ReductionArgumentError(
            message(
                f"a threshold of shape {np.shape(threshold)}",
                "a scalar threshold",
                "pass one number; for per-element thresholds use numpy directly",
            )
        )
    probe = np.zeros(0, dtype=x.dtype)
    # Raises numpy's own exception for a dtype or threshold numpy refuses,
    # and gives the zero of numpy's result dtype.
    zero = probe[probe > threshold].sum()
    if x.size == 0:
        return zero
    kind = _kind(x.dtype)
    length = _chunk_length(chunk_bytes, x.dtype.itemsize)

    if kind == "int":

        def int_part(chunk: np.ndarray[Any, Any], scratch: dict[str, Any]) -> int:
            mask = np.greater(chunk, threshold, out=_buffer(scratch, "mask", len(chunk), bool))
            return int(np.add.reduce(chunk, where=mask, dtype=zero.dtype))

        total = sum(_map_runs(x, length, threads, int_part, check))
        bits = 8 * zero.dtype.itemsize
        wrapped = total % (1 << bits)
        if zero.dtype.kind == "i" and wrapped >= 1 << (bits - 1):
            wrapped -= 1 << bits
        return zero.dtype.type(wrapped)

    if kind == "float":

        def float_part(chunk: np.ndarray[Any, Any], scratch: dict[str, Any]) -> float:
            mask = np.greater(chunk, threshold, out=_buffer(scratch, "mask", len(chunk), bool))
            # Branch-free: unselected items become zeros, which add no rounding
            # error, so the pairwise sum keeps numpy's accuracy.
            # nan * 0 and -inf * 0 raise numpy's "invalid" warning; they are
            # caught by the check below. errstate is per thread, so set it here.
            with np.errstate(invalid="ignore", over="ignore"):
                prod = np.multiply(chunk, mask, out=_buffer(scratch, "work", len(chunk), np.float64))
                part = float(np.add.reduce(prod))
            if math.isnan(part):
                # nan * 0 and -inf * 0 are nan: redo this chunk the slow, exact way.
                part = float(np.add.reduce(chunk, where=mask, dtype=np.float64))
            return part

        return zero.dtype.type(compensated_sum(_map_runs(x, length, threads, float_part, check), 0.0))

    def any_part(chunk: np.ndarray[Any, Any], scratch: dict[str, Any]) -> Any:
        mask = np.greater(chunk, threshold, out=_buffer(scratch, "mask", len(chunk), bool))
        return np.add.reduce(chunk, where=mask, dtype=zero.dtype.type)

    total_any = zero
    for part in _map_runs(x, length, threads, any_part, check):
        total_any = total_any + part
    return total_any
