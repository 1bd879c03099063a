"""Streaming reductions over arrays too large for memory.

Both functions read their input in chunks and never allocate anything whose
size grows with the input (SPEC.md REDUCE.1). The tutorial's
``fp[fp > t].sum()`` first allocates a boolean mask as large as the array and
then a copy of every selected element; on a file larger than memory it fails
where :func:`filtered_sum` streams.

How the work is split:

* The view's axes are put in memory order (largest stride first, none
  negative) and it is cut along its outer axes into sub-views of at most
  ``length`` items. A chunk is a view, never a copy: numpy's ufuncs read any
  layout and byte order directly, as ``np.mean`` does on the same view.
* Each worker thread takes one contiguous run of chunks, so that every thread
  streams through its own part of the file. numpy releases the GIL inside each
  ufunc call, so the threads run in parallel.
* Every chunk's partial result goes into an exact accumulator: a Python int
  for integer items, a fixed-point integer for float partials. Exact addition
  does not depend on grouping, so the result depends neither on ``threads``
  nor on thread timing, only on the chunk boundaries, which ``threads`` does
  not move (up to ``SHARED_WORKERS`` workers).

The filtered float kernel is branch-free: it multiplies each chunk by its 0/1
mask and sums the products with numpy's pairwise sum. Unselected items
contribute exact zeros, so the rounding error is that of summing the selected
items alone. It does not use BLAS: a BLAS dot product would start its own
threads inside each of ours, and it sums less accurately than pairwise.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from . import _oscalls
from .errors import FileSizeError, ReductionArgumentError, message, os_error
from .mapped import MappedArray

DEFAULT_CHUNK_BYTES = 4 << 20
MIN_CHUNK_BYTES = 4096
# Up to this many workers every worker gets the same chunk length, so results
# are identical for threads=1..SHARED_WORKERS (SPEC.md REDUCE.2).
SHARED_WORKERS = 4
# Bookkeeping of one worker beyond its buffers (thread, frames, accumulator):
# about 7 KiB measured with tracemalloc. Workers are capped at
# chunk_bytes // _WORKER_OVERHEAD so that it fits in the memory bound too.
_WORKER_OVERHEAD = 8192
# Starting and joining a thread costs about as much as reducing one chunk
# (measured: 0.1 to 0.3 ms), so a worker is only added for this many chunks.
_MIN_CHUNKS_PER_WORKER = 4
# Keeps 32-bit halves of 64-bit integers summable in 64 bits: 2**32 * 2**28 < 2**63.
_MAX_CHUNK_ITEMS = 1 << 28
# Every finite float64 is an integer multiple of 2**-1074.
_FIXED_BITS = 1074
_LOW_BITS = 32
_LOW_MASK = (1 << _LOW_BITS) - 1
_FLOAT64 = np.dtype(np.float64)
# Blocks of at least this many rows this long are summed row by row first (see _rows_first).
_ROW_FIRST = 256
_ROWS_FIRST_MIN_ROWS = 32

Array = np.ndarray[Any, Any]


@functools.cache
def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # platforms without CPU affinity (macOS)
        return os.cpu_count() or 1


def default_threads() -> int:
    """Worker threads used when ``threads=None``: the usable cores, at most ``SHARED_WORKERS``."""
    return max(1, min(SHARED_WORKERS, _usable_cores()))


# ---------------------------------------------------------------------------
# Arguments


class _Source:
    """The array a reduction reads, and for a handle the descriptor it reads the file through.

    A handle's array is never touched through its mapping where the bytes can
    be read instead (FAULT.9): a page past the end of a truncated file kills
    the process with SIGBUS, while a read of it just comes back short. The
    descriptor is a duplicate, closed by :meth:`close`, so that the handle's
    close() from another thread cannot pull it from under the reduction.
    """

    def __init__(self, a: Any) -> None:
        self.fd: int | None = None
        self.handle: MappedArray | None = None
        if isinstance(a, MappedArray):
            self.handle = a
            self.array, self.fd = a._reader()
            self.path = a.path
            self.offset = a.offset
            # Copy-on-write pages may differ from the file: those are read through the mapping.
            self.readable = a.mode != "c"
        else:
            self.array = np.asarray(a)
            self.readable = False

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.close()

    def close(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            try:
                _oscalls.calls.close(fd)
            except OSError as exc:
                raise os_error(exc, "close a duplicate descriptor of", self.path, "check the filesystem") from exc

    def check(self) -> None:
        """Raise FileSizeError if the file no longer holds the whole array (REDUCE.3)."""
        if self.handle is not None:
            self.handle.check_size(self.fd)

    def file_range(self, view: Array) -> _FileRange | None:
        """Where ``view``'s items lie in the file, if they are one run of bytes in memory order."""
        if not self.readable or view.size == 0 or not (view.flags.c_contiguous or view.flags.f_contiguous):
            return None
        rel = view.__array_interface__["data"][0] - self.array.__array_interface__["data"][0]
        if not 0 <= rel <= self.array.nbytes - view.nbytes:
            return None  # a copy made by the index, not a view of the mapping
        assert self.fd is not None  # readable only for a handle
        return _FileRange(self.fd, self.path, self.offset + rel, view.dtype, view.size)


class _FileRange:
    """Items ``[0, size)`` of ``dtype`` at byte ``start`` of a file, read in chunks into a worker's buffer."""

    def __init__(self, fd: int, path: str, start: int, dtype: np.dtype[Any], size: int) -> None:
        self.fd = fd
        self.path = path
        self.start = start
        self.dtype = dtype
        self.size = size

    def read(self, first: int, out: Array) -> Array:
        """Items ``first .. first + len(out)`` into ``out``; a short read is FileSizeError."""
        view = memoryview(out.view(np.uint8))  # type: ignore[arg-type]  # any dtype, even m8
        begin = self.start + first * self.dtype.itemsize
        done = 0
        while done < len(view):
            try:
                got = _oscalls.calls.preadv(self.fd, [view[done:]], begin + done)
            except OSError as exc:
                raise os_error(exc, "read", self.path, "check the device and the filesystem") from exc
            if got == 0:
                raise FileSizeError(
                    message(
                        f"{self.path!r} ended at byte {begin + done} while being read",
                        f"at least {begin + len(view)} bytes",
                        "stop the process that truncates the file, then open it again",
                    ),
                    path=self.path,
                    expected=begin + len(view),
                    actual=begin + done,
                )
            done += got
        return out


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _checked_chunk_bytes(chunk_bytes: Any) -> int:
    if type(chunk_bytes) is int and chunk_bytes >= MIN_CHUNK_BYTES:  # the common case, cheaply
        return chunk_bytes
    if not _is_int(chunk_bytes) or chunk_bytes < MIN_CHUNK_BYTES:
        raise ReductionArgumentError(
            message(
                f"chunk_bytes={chunk_bytes!r}",
                f"an integer of at least {MIN_CHUNK_BYTES}",
                f"leave the default ({DEFAULT_CHUNK_BYTES}), or pass e.g. chunk_bytes=1 << 20",
            )
        )
    return int(chunk_bytes)


def max_threads() -> int:
    """The most workers a reduction starts: more than the usable cores only shrink the chunks."""
    return max(SHARED_WORKERS, _usable_cores())


def _checked_threads(threads: Any) -> int:
    if threads is None:
        return default_threads()
    if not _is_int(threads) or threads < 1:
        raise ReductionArgumentError(
            message(f"threads={threads!r}", "a positive integer or None", "pass threads=1, or None for the default")
        )
    return min(int(threads), max_threads())


def _checked_threshold(threshold: Any) -> None:
    if np.ndim(threshold) != 0:
        raise ReductionArgumentError(
            message(
                f"a threshold of shape {np.shape(threshold)}",
                "a scalar threshold",
                "pass one number; for per-element thresholds use numpy directly",
            )
        )


# ---------------------------------------------------------------------------
# Chunking


def chunk_items(chunk_bytes: int, threads: int, item_cost: int, itemsize: int) -> int:
    """Items per chunk of ``itemsize``-byte items for a kernel needing ``item_cost`` scratch bytes per item.

    A chunk holds at most ``chunk_bytes`` of input. A kernel with scratch
    buffers gets at most ``2 * chunk_bytes / max(threads, SHARED_WORKERS)``
    bytes of them per worker, so all workers together stay within
    ``2 * chunk_bytes``, and the length is the same for every
    ``threads <= SHARED_WORKERS``.
    """
    most = chunk_bytes // itemsize
    # item_cost > 0: every job counts at least the buffer a chunk is read into.
    most = min(most, 2 * chunk_bytes // max(threads, SHARED_WORKERS) // item_cost)
    return max(1, min(_MAX_CHUNK_ITEMS, most))


def _memory_order(view: Array) -> Array:
    """The same items, axes from the largest stride to the smallest, no stride negative."""
    if any(stride < 0 for stride in view.strides):
        view = view[tuple(slice(None, None, -1) if stride < 0 else slice(None) for stride in view.strides)]
    axes = sorted(range(view.ndim), key=lambda axis: view.strides[axis], reverse=True)
    ordered = view.transpose(axes)
    return ordered.reshape(-1) if ordered.flags.c_contiguous else ordered


class _Chunks:
    """A view cut into sub-views of at most ``length`` items, in memory order.

    The cut depends only on the view and ``length``: block ``k`` is the same
    sub-view whichever worker takes it.
    """

    def __init__(self, view: Array, length: int) -> None:
        v = _memory_order(view)
        shape = v.shape
        # The outermost axis d whose trailing block still fits in one chunk:
        # chunks are runs of `rows` blocks along axis d.
        d, inner = v.ndim - 1, 1
        while d > 0 and inner * shape[d] <= length:
            inner *= shape[d]
            d -= 1
        self._view = v
        self._outer = shape[:d]
        self._rows = max(1, length // inner)
        self._per_line = -(-shape[d] // self._rows)
        self.count = math.prod(self._outer) * self._per_line

    def __getitem__(self, k: int) -> Array:
        line, block = divmod(k, self._per_line)
        sub = self._view[np.unravel_index(line, self._outer)] if self._outer else self._view
        return sub[block * self._rows : (block + 1) * self._rows]


class _Scratch:
    """One worker's reusable buffers, allocated once at the chunk length."""

    def __init__(self, length: int) -> None:
        self.length = length
        self._buffers: dict[str, Array] = {}

    def like(self, name: str, dtype: Any, chunk: Array) -> Array:
        """A contiguous buffer of ``dtype`` in ``chunk``'s shape."""
        buf = self._buffers.get(name)
        if buf is None:
            buf = self._buffers[name] = np.empty(self.length, dtype=dtype)
        return buf[: chunk.size].reshape(chunk.shape)

    def flat(self, name: str, dtype: Any, n: int) -> Array:
        """A 1-d buffer of ``n`` items of ``dtype``, kept for the next chunk."""
        buf = self._buffers.get(name)
        if buf is None:
            buf = self._buffers[name] = np.empty(self.length, dtype=dtype)
        return buf[:n]


Walk = Callable[[Iterator[Array], _Scratch], Any]
_NO_SCRATCH = _Scratch(0)


class _Alone:
    """The stop flag of a lone worker: no other worker can fail, so it never goes up.

    Cheaper than a ``threading.Event`` per call, and, unlike a shared one,
    cannot be left set by a failed call.
    """

    def is_set(self) -> bool:
        return False

    def set(self) -> None:
        return None


Stop = threading.Event | _Alone


def _walk_run(chunks: _Chunks, run: range, check: Callable[[], None], stop: Stop) -> Iterator[Array]:
    for k in run:
        if stop.is_set():  # another worker failed: its error is the one raised
            return
        check()  # before the chunk's pages are touched (REDUCE.3)
        yield chunks[k]


def _read_run(
    source: _FileRange, length: int, run: range, check: Callable[[], None], stop: Stop, scratch: _Scratch
) -> Iterator[Array]:
    for k in run:
        if stop.is_set():
            return
        # Not needed for safety (a read past the end comes back short), but it
        # reports the file's size against the whole array's, as REDUCE.3 says.
        check()
        first = k * length
        yield source.read(first, scratch.flat("read", source.dtype, min(length, source.size - first)))


def _run(
    view: Array, check: Callable[[], None], length: int, workers: int, walk: Walk, file: _FileRange | None = None
) -> list[Any]:
    """``walk`` over each worker's run of chunks; one result per worker, in chunk order.

    ``workers`` is the most threads allowed; each gets at least ``_MIN_CHUNKS_PER_WORKER`` chunks.
    With ``file``, each chunk is read from the file instead of being a view of the mapping.
    """
    if view.size <= length:
        # One chunk: the kernels take any layout, so the view goes in whole.
        check()
        if file is not None:
            scratch = _Scratch(view.size)
            return [walk(iter((file.read(0, scratch.flat("read", file.dtype, view.size)),)), scratch)]
        return [walk(iter((view,)), _Scratch(view.size))]
    chunks = _Chunks(view, length)
    workers = max(1, min(workers, chunks.count // _MIN_CHUNKS_PER_WORKER))
    per = -(-chunks.count // workers)
    runs = [range(i * per, min(chunks.count, (i + 1) * per)) for i in range(workers)]
    stop: Stop = threading.Event() if workers > 1 else _Alone()
    results: list[Any] = [None] * workers
    errors: list[BaseException | None] = [None] * workers

    def work(i: int) -> None:
        try:
            scratch = _Scratch(length)
            if file is not None:
                results[i] = walk(_read_run(file, length, runs[i], check, stop, scratch), scratch)
            else:
                results[i] = walk(_walk_run(chunks, runs[i], check, stop), scratch)
        except BaseException as exc:  # re-raised in the caller's thread below
            errors[i] = exc
            stop.set()

    helpers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(1, workers)]
    for helper in helpers:
        helper.start()
    work(0)
    for helper in helpers:
        helper.join()
    for error in errors:
        if error is not None:
            raise error
    return results


# ---------------------------------------------------------------------------
# Accumulators


class _ExactSum:
    """The exact sum of float partials, as an integer count of 2**-1074.

    Adding integers is associative, so the result does not depend on how the
    partials are grouped or ordered: threads cannot change it. NaN and the
    infinities are kept aside and combined as IEEE addition would.
    """

    __slots__ = ("fixed", "nan", "neg_inf", "pos_inf")

    def __init__(self) -> None:
        self.fixed = 0
        self.nan = False
        self.pos_inf = False
        self.neg_inf = False

    def add(self, x: float) -> None:
        if math.isfinite(x):
            num, den = x.as_integer_ratio()
            self.fixed += num << (_FIXED_BITS + 1 - den.bit_length())
        elif math.isnan(x):
            self.nan = True
        elif x > 0:
            self.pos_inf = True
        else:
            self.neg_inf = True

    @property
    def finite(self) -> bool:
        return not (self.nan or self.pos_inf or self.neg_inf)

    def merge(self, other: _ExactSum) -> None:
        self.fixed += other.fixed
        self.nan |= other.nan
        self.pos_inf |= other.pos_inf
        self.neg_inf |= other.neg_inf

    def divided(self, n: int) -> float:
        """The sum divided by ``n``, correctly rounded to float64: one rounding in all."""
        if self.nan or (self.pos_inf and self.neg_inf):
            return math.nan
        if self.pos_inf or self.neg_inf:
            return math.inf if self.pos_inf else -math.inf
        try:
            return self.fixed / (n << _FIXED_BITS)  # int / int is correctly rounded
        except OverflowError:
            return math.inf if self.fixed > 0 else -math.inf


def _exact_total(parts: list[_ExactSum]) -> _ExactSum:
    total = _ExactSum()
    for part in parts:
        total.merge(part)
    return total


class _Compensated:
    """Neumaier's running compensated sum in a numpy float type (long double)."""

    def __init__(self, zero: Any) -> None:
        self.total = zero
        self.comp = zero
        self.plain = zero

    def add(self, p: Any) -> None:
        t = self.total + p
        if abs(self.total) >= abs(p):
            self.comp += (self.total - t) + p
        else:
            self.comp += (p - t) + self.total
        self.total = t
        self.plain = self.plain + p

    def value(self) -> Any:
        # With inf or nan among the partials, compensation is meaningless
        # (inf - inf); the plain sum then gives numpy's inf or nan.
        if not (np.isfinite(self.total) and np.isfinite(self.comp)):
            return self.plain
        return self.total + self.comp


def _complex(real: Any, imag: Any, dtype: Any) -> Any:
    # Built component by component: real + imag * 1j would turn an infinite
    # imaginary part into nan + inf j.
    out = np.zeros((), dtype=dtype)
    out.real = real
    out.imag = imag
    return out[()]


# ---------------------------------------------------------------------------
# Walks: accumulate the partials a kernel returns for each chunk. A kernel
# returns a Python int, float or complex, or a numpy scalar on the
# long-double and timedelta paths.

Kernel = Callable[[Array, _Scratch], Any]


def _sum_walk(kernel: Kernel) -> Walk:
    def walk(chunks: Iterator[Array], scratch: _Scratch) -> _ExactSum:
        acc = _ExactSum()
        for chunk in chunks:
            acc.add(kernel(chunk, scratch))
        return acc

    return walk


def _quiet_sum_walk(kernel: Kernel) -> Walk:
    inner = _sum_walk(kernel)

    def walk(chunks: Iterator[Array], scratch: _Scratch) -> Any:
        # nan * 0 and inf * 0 in the filtered kernel are expected and redone
        # there. errstate is per thread, so each worker sets its own.
        with np.errstate(invalid="ignore"):
            return inner(chunks, scratch)

    return walk


def _complex_walk(kernel: Kernel) -> Walk:
    def walk(chunks: Iterator[Array], scratch: _Scratch) -> tuple[_ExactSum, _ExactSum]:
        real, imag = _ExactSum(), _ExactSum()
        for chunk in chunks:
            part = kernel(chunk, scratch)
            real.add(part.real)
            imag.add(part.imag)
        return real, imag

    return walk


def _int_walk(kernel: Kernel) -> Walk:
    def walk(chunks: Iterator[Array], scratch: _Scratch) -> int:
        total = 0
        for chunk in chunks:
            total += kernel(chunk, scratch)
        return total

    return walk


def _ordered_walk(kernel: Kernel, zero: Any) -> Walk:
    """Partials added in chunk order in the result's own type: long double, timedelta."""

    def walk(chunks: Iterator[Array], scratch: _Scratch) -> Any:
        if zero.dtype.kind == "c":
            real, imag = _Compensated(zero.real), _Compensated(zero.real)
            for chunk in chunks:
                part = kernel(chunk, scratch)
                real.add(part.real)
                imag.add(part.imag)
            return _complex(real.value(), imag.value(), zero.dtype)
        if zero.dtype.kind == "f":
            acc = _Compensated(zero)
            for chunk in chunks:
                acc.add(kernel(chunk, scratch))
            return acc.value()
        total = zero
        for chunk in chunks:
            total = total + kernel(chunk, scratch)
        return total

    return walk


# ---------------------------------------------------------------------------
# Kernels. A chunk is a view of any shape, strides and byte order.


def _count(chunk: Array, scratch: _Scratch) -> int:
    return int(np.count_nonzero(chunk))


def _int_sum(chunk: Array, scratch: _Scratch) -> int:
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


def _float_sum(chunk: Array, scratch: _Scratch) -> float:
    dtype = None if chunk.dtype is _FLOAT64 else np.float64  # no dtype argument: a faster loop lookup
    if _rows_first(chunk):
        return float(np.add.reduce(np.add.reduce(chunk, axis=-1, dtype=dtype), axis=None))
    return float(np.add.reduce(chunk, axis=None, dtype=dtype))


def _rows_first(chunk: Array) -> bool:
    """Whether to sum each contiguous row, then the row sums.

    numpy's one-call reduction of a strided block (rows with gaps between
    them) is slower than summing its rows and then the row sums, when the rows
    are long and many: measured 0.40 against 0.22 us per row of 896 float64
    (64 x 1024 items: 29 against 18 us; 256 x 256: 43 against 36 us). For
    short rows or few of them it is the other way round (100 x 100: 6 against
    9 us). The row sums take one item in ``_ROW_FIRST``: a byte per 32 items.
    """
    return (
        chunk.ndim > 1
        and chunk.shape[-1] >= _ROW_FIRST
        and chunk.size >= _ROW_FIRST * _ROWS_FIRST_MIN_ROWS
        and chunk.strides[-1] == chunk.itemsize
        and not chunk.flags.c_contiguous
    )


def _complex_sum(chunk: Array, scratch: _Scratch) -> complex:
    return complex(np.add.reduce(chunk, axis=None, dtype=np.complex128))


def _own_sum(chunk: Array, scratch: _Scratch) -> Any:
    return np.add.reduce(chunk, axis=None)


def _selection(threshold: Any) -> Callable[[Array, _Scratch], tuple[Array, int]]:
    def select(chunk: Array, scratch: _Scratch) -> tuple[Array, int]:
        # The chunk keeps the input's dtype, so numpy resolves the comparison
        # exactly as in x > threshold (NEP 50 for Python scalars).
        mask = np.greater(chunk, threshold, out=scratch.like("mask", np.bool_, chunk))
        return mask, int(np.count_nonzero(mask))

    return select


def _filtered_float(threshold: Any) -> Kernel:
    def kernel(chunk: Array, scratch: _Scratch) -> float:
        # Three numpy calls per chunk: with two workers every call hands the
        # GIL over, so fewer calls beat a boolean mask plus an all-or-none
        # count (measured 0.22 against 0.27 s on 2 GiB). The comparison runs
        # on the chunk's own dtype (NEP 50 as in x > threshold) and numpy
        # writes its booleans into the float buffer as 0.0 and 1.0.
        work = np.greater(chunk, threshold, out=scratch.like("work", np.float64, chunk))
        part = float(np.add.reduce(np.multiply(chunk, work, out=work), axis=None))
        if math.isnan(part):
            # An unselected nan or infinity times 0 is nan (a selected item
            # never is): sum this chunk again the slow, exact way.
            mask = np.greater(chunk, threshold, out=scratch.like("mask", np.bool_, chunk))
            part = float(np.add.reduce(chunk, axis=None, where=mask, dtype=np.float64))
        return part

    return kernel


def _filtered_int(threshold: Any) -> Kernel:
    select = _selection(threshold)

    def kernel(chunk: Array, scratch: _Scratch) -> int:
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

    def kernel(chunk: Array, scratch: _Scratch) -> int:
        mask, _ = select(chunk, scratch)
        return int(np.count_nonzero(np.logical_and(chunk, mask, out=mask)))

    return kernel


def _filtered_masked(threshold: Any, accumulator: Any = None) -> Kernel:
    """Masked sum: slow, for the kinds without a fast multiply-and-sum."""
    select = _selection(threshold)

    def kernel(chunk: Array, scratch: _Scratch) -> Any:
        mask, _ = select(chunk, scratch)
        return np.add.reduce(chunk, axis=None, where=mask, dtype=accumulator)

    return kernel


# ---------------------------------------------------------------------------
# Public functions


class _Job:
    """One reduction: the view, its file-size check, the memory budget and the thread count.

    Scratch bytes per item are the kernel's own buffers plus numpy's internal
    cast buffers: one item of the cast-to type wherever the kernel's ufuncs
    convert the chunk (byte swap, comparison in a wider type, widening sum).
    """

    def __init__(self, view: Array, source: _Source, chunk_bytes: int, threads: int) -> None:
        self.view = view
        self.check = source.check
        self.file = source.file_range(view)
        self.chunk_bytes = chunk_bytes
        self.threads = threads

    def cast_cost(self, *targets: Any) -> int:
        native = self.view.dtype.newbyteorder("=")
        converted = [np.dtype(t).itemsize for t in targets if np.dtype(t) != native]
        if native != self.view.dtype:
            converted.append(native.itemsize)
        return max(converted, default=0)

    def run(self, item_cost: int, walk: Walk, *, parallel: bool = True) -> list[Any]:
        threads = self.threads if parallel else 1
        # The buffer a handle's chunk is read into, counted on every path: the chunk grid, and with
        # it every float result, must not depend on whether the bytes are read or mapped.
        item_cost += self.view.dtype.itemsize
        length = chunk_items(self.chunk_bytes, threads, item_cost, self.view.dtype.itemsize)
        workers = min(threads, max(1, self.chunk_bytes // _WORKER_OVERHEAD))
        return _run(self.view, self.check, length, workers, walk, self.file)


def _float_cost(dt: np.dtype[Any]) -> int:
    """Scratch per item of the float mean kernel: row sums, and a cast buffer unless the items are native float64."""
    return 1 if dt == _FLOAT64 else 9  # dtype equality includes the byte order


def _comparison_dtype(dtype: np.dtype[Any], threshold: Any) -> np.dtype[Any]:
    """The type numpy compares in for ``x > threshold``, for budgeting its cast buffer."""
    try:
        return np.result_type(dtype.newbyteorder("="), threshold)
    except (TypeError, ValueError, OverflowError):
        return np.dtype(np.clongdouble)  # the widest numpy could cast to


def _wrap(total: int, dtype: np.dtype[Any]) -> Any:
    """``total`` modulo 2**64 as numpy's 64-bit accumulator holds it."""
    bits = 8 * dtype.itemsize
    wrapped = total % (1 << bits)
    if dtype.kind == "i" and wrapped >= 1 << (bits - 1):
        wrapped -= 1 << bits
    return dtype.type(wrapped)


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
    budget = _checked_chunk_bytes(chunk_bytes)
    wanted = _checked_threads(threads)
    source = _Source(a)
    try:
        result = _slice_mean(source, index, budget, wanted)
    except BaseException:
        source.discard()  # the reduction's own error is the one to raise
        raise
    source.close()
    return result


def _slice_mean(source: _Source, index: Any, budget: int, wanted: int) -> Any:
    view = np.asarray(source.array[index])
    dt = view.dtype
    n = view.size
    # The chunked path's own chunk length, read buffer included (_Job.run): one chunk here is one chunk there.
    one_chunk = chunk_items(budget, wanted, _float_cost(dt) + dt.itemsize, dt.itemsize)
    if dt.kind == "f" and dt.itemsize <= 8 and 0 < n <= one_chunk:
        # One chunk (most slices): the same float64 sum and the same rounded
        # division as the chunked path below, without its machinery, so that
        # small slices cost no more than np.mean.
        source.check()
        file = source.file_range(view)
        if file is not None:
            view = file.read(0, np.empty(n, dtype=dt))
        return dt.type(_float_sum(view, _NO_SCRATCH) / n)
    if n == 0 or dt.kind not in "biufc":
        # numpy's own mean: the empty-slice warning, timedelta arithmetic and
        # the refusals, in one pass that copies nothing for a basic index.
        source.check()
        return np.mean(view)
    job = _Job(view, source, budget, wanted)
    if dt.kind == "b":
        return np.float64(sum(job.run(0, _int_walk(_count))) / n)  # int / int is correctly rounded
    if dt.kind in "iu":
        cost = 8 + job.cast_cost(np.int64 if dt.kind == "i" else np.uint64)
        return np.float64(sum(job.run(cost, _int_walk(_int_sum))) / n)
    result = dt.type
    if dt.kind == "f" and dt.itemsize <= 8:
        parts = job.run(_float_cost(dt), _sum_walk(_float_sum))
        return result(_exact_total(parts).divided(n))
    if dt.kind == "c" and dt.itemsize <= 16:
        pairs = job.run(job.cast_cost(np.complex128), _complex_walk(_complex_sum))
        real = _exact_total([p[0] for p in pairs])
        imag = _exact_total([p[1] for p in pairs])
        if real.finite and imag.finite:
            return result(_complex(real.divided(n), imag.divided(n), np.complex128))
        # Divided as numpy divides its sum, so that inf and nan parts come out alike.
        return result(_complex(real.divided(1), imag.divided(1), np.complex128) / n)
    # Long double: one worker, a compensated sum in the item type.
    zero = result(0)
    (total,) = job.run(job.cast_cost(), _ordered_walk(_own_sum, zero), parallel=False)
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
    budget = _checked_chunk_bytes(chunk_bytes)
    wanted = _checked_threads(threads)
    _checked_threshold(threshold)
    source = _Source(a)
    try:
        result = _filtered_sum(source, threshold, budget, wanted)
    except BaseException:
        source.discard()  # the reduction's own error is the one to raise
        raise
    source.close()
    return result


def _filtered_sum(source: _Source, threshold: Any, budget: int, wanted: int) -> Any:
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
    job = _Job(x, source, budget, wanted)
    compare = _comparison_dtype(dt, threshold)
    if dt.kind == "b":
        cost = 1 + job.cast_cost(compare)
        return _wrap(sum(job.run(cost, _int_walk(_filtered_bool(threshold)))), zero.dtype)
    if dt.kind in "iu":
        wide = np.int64 if dt.kind == "i" else np.uint64
        cost = 1 + 8 + job.cast_cost(compare, wide)
        return _wrap(sum(job.run(cost, _int_walk(_filtered_int(threshold)))), zero.dtype)
    if dt.kind == "f" and dt.itemsize <= 8:
        cost = 1 + 8 + job.cast_cost(compare, np.float64)
        parts = job.run(cost, _quiet_sum_walk(_filtered_float(threshold)))
        return zero.dtype.type(_exact_total(parts).divided(1))
    if dt.kind == "c" and dt.itemsize <= 16:
        cost = 1 + job.cast_cost(compare, np.complex128)
        pairs = job.run(cost, _complex_walk(_filtered_masked(threshold, np.complex128)))
        real = _exact_total([p[0] for p in pairs]).divided(1)
        imag = _exact_total([p[1] for p in pairs]).divided(1)
        return zero.dtype.type(_complex(real, imag, np.complex128))
    # Long double and timedelta: one worker, the partials added in chunk order.
    cost = 1 + job.cast_cost(compare)
    (total,) = job.run(cost, _ordered_walk(_filtered_masked(threshold), zero), parallel=False)
    return zero.dtype.type(total)
