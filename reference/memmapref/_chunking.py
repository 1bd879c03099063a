"""How a reduction reads its input: chunks, the read path of a handle, worker threads, the memory budget.

* The view's axes are put in memory order (largest stride first, none
  negative) and it is cut along its outer axes into sub-views of at most
  ``length`` items. A chunk is a view, never a copy: numpy's ufuncs read any
  layout and byte order directly, as ``np.mean`` does on the same view.
* A handle's chunk that is one run of bytes in the file is read into the
  worker's reused buffer instead of being touched through the mapping
  (FAULT.9): a read past the end of a truncated file comes back short where a
  page past it would kill the process with SIGBUS.
* Each worker thread takes one contiguous run of chunks, so that every thread
  streams through its own part of the file. numpy releases the GIL inside each
  ufunc call, so the threads run in parallel.
* The chunk boundaries depend only on the view and the chunk length, which
  ``threads`` does not move (up to ``SHARED_WORKERS`` workers): with exact
  accumulation of the chunks' partials the result does not depend on threads.
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
from .errors import FileSizeError, message, os_error
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
# Where a read lands (Scratch.landing): the kernel copies from a page cache
# page, and a destination 1 to 63 bytes past the source's place in its 4 KiB
# page makes each load wait on the store before it (4K aliasing). malloc puts
# a large buffer 16 bytes into a fresh page, which is just that: preadv of 1 GiB
# took 0.40 s there against 0.08 s anywhere else (AMD EPYC, Linux 6.18).
_LANDING_STEP = 64
_PAGE = 4096

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


def max_threads() -> int:
    """The most workers a reduction starts: more than the usable cores only shrink the chunks."""
    return max(SHARED_WORKERS, _usable_cores())


class Source:
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

    def file_range(self, view: Array) -> FileRange | None:
        """Where ``view``'s items lie in the file, if they are one run of bytes in memory order."""
        if not self.readable or view.size == 0 or not (view.flags.c_contiguous or view.flags.f_contiguous):
            return None
        rel = view.__array_interface__["data"][0] - self.array.__array_interface__["data"][0]
        if not 0 <= rel <= self.array.nbytes - view.nbytes:
            return None  # a copy made by the index, not a view of the mapping
        assert self.fd is not None  # readable only for a handle
        return FileRange(self.fd, self.path, self.offset + rel, view.dtype, view.size)


class FileRange:
    """Items ``[0, size)`` of ``dtype`` at byte ``start`` of a file, read in chunks into a worker's buffer."""

    def __init__(self, fd: int, path: str, start: int, dtype: np.dtype[Any], size: int) -> None:
        self.fd = fd
        self.path = path
        self.start = start
        self.dtype = dtype
        self.size = size

    def read(self, first: int, n: int, scratch: Scratch) -> Array:
        """Items ``first .. first + n`` in ``scratch``'s landing buffer; a short read is FileSizeError."""
        begin = self.start + first * self.dtype.itemsize
        out = scratch.landing(self.dtype, n, begin)
        view = memoryview(out.view(np.uint8))  # type: ignore[arg-type]  # any dtype, even m8
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


def chunk_items(chunk_bytes: int, threads: int, item_cost: int, itemsize: int) -> int:
    """Items per chunk of ``itemsize``-byte items for a kernel needing ``item_cost`` scratch bytes per item.

    A chunk holds at most ``chunk_bytes`` of input. A kernel's scratch
    buffers, with the buffer a handle's chunk is read into, get at most
    ``2 * chunk_bytes / max(threads, SHARED_WORKERS)`` bytes per worker, so
    all workers together stay within ``2 * chunk_bytes``, and the length is
    the same for every ``threads <= SHARED_WORKERS``. The read buffer is
    counted on every path: the chunk grid, and with it every float result,
    must not depend on whether the bytes are read or mapped. Every caller
    (the reference, the one-chunk mean, the dask tasks) gets its grid here.
    """
    most = chunk_bytes // itemsize
    most = min(most, 2 * chunk_bytes // max(threads, SHARED_WORKERS) // (item_cost + itemsize))
    return max(1, min(_MAX_CHUNK_ITEMS, most))


def cast_cost(dtype: np.dtype[Any], *targets: Any) -> int:
    """Bytes per item of numpy's cast buffer where a ufunc converts ``dtype`` items to one of ``targets``.

    One item of the cast-to type wherever a kernel's ufuncs convert the chunk:
    byte swap, comparison in a wider type, widening sum.
    """
    native = dtype.newbyteorder("=")
    converted = [np.dtype(t).itemsize for t in targets if np.dtype(t) != native]
    if native != dtype:
        converted.append(native.itemsize)
    return max(converted, default=0)


def _memory_order(view: Array) -> Array:
    """The same items, axes from the largest stride to the smallest, no stride negative."""
    if any(stride < 0 for stride in view.strides):
        view = view[tuple(slice(None, None, -1) if stride < 0 else slice(None) for stride in view.strides)]
    axes = sorted(range(view.ndim), key=lambda axis: view.strides[axis], reverse=True)
    ordered = view.transpose(axes)
    return ordered.reshape(-1) if ordered.flags.c_contiguous else ordered


class Chunks:
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


class Scratch:
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

    def landing(self, dtype: np.dtype[Any], n: int, at: int) -> Array:
        """A 1-d buffer of ``n`` items of ``dtype`` for the bytes at file offset ``at``, placed
        where the kernel copies at full speed (see ``_LANDING_STEP``)."""
        raw = self._buffers.get("landing")
        if raw is None:
            raw = self._buffers["landing"] = np.empty(self.length * dtype.itemsize + 2 * _LANDING_STEP, np.uint8)
        base = raw.__array_interface__["data"][0]
        start = -base % _LANDING_STEP
        if (base + start - at) % _PAGE < _LANDING_STEP:
            start += _LANDING_STEP  # zero apart is fast too, but one test is simpler than two
        return raw[start : start + n * dtype.itemsize].view(dtype)


def contiguous(chunk: Array, scratch: Scratch) -> Array:
    """``chunk``'s items as one 1-d contiguous run: a view of it if they are one, else a copy in the read buffer.

    A ufunc over more than one dimension, or over a non-contiguous operand,
    buffers it in blocks of up to ``np.getbufsize()`` items, outside any
    buffer counted here: numpy 1.26 allocates two such buffers per
    np.add.reduce of a 2-d block, even a contiguous one (16 bytes per item, up
    to 2 x 64 KiB per call and worker), numpy 2 one for a strided block.
    np.copyto between arrays of one dtype copies without a buffer, and the
    read buffer is in every job's cost (chunk_items), so the kernels see only
    1-d contiguous items and numpy allocates only the counted casts.
    """
    if chunk.flags.c_contiguous:
        return chunk.reshape(-1)
    out = scratch.flat("read", chunk.dtype, chunk.size)
    np.copyto(out.reshape(chunk.shape), chunk)
    return out


Walk = Callable[[Iterator[Array], Scratch], Any]
NO_SCRATCH = Scratch(0)


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


def _walk_run(chunks: Chunks, span: range, check: Callable[[], None], stop: Stop, scratch: Scratch) -> Iterator[Array]:
    for k in span:
        if stop.is_set():  # another worker failed: its error is the one raised
            return
        check()  # before the chunk's pages are touched (REDUCE.3)
        yield contiguous(chunks[k], scratch)


def _read_run(
    source: FileRange, length: int, span: range, check: Callable[[], None], stop: Stop, scratch: Scratch
) -> Iterator[Array]:
    for k in span:
        if stop.is_set():
            return
        # Not needed for safety (a read past the end comes back short), but it
        # reports the file's size against the whole array's, as REDUCE.3 says.
        check()
        first = k * length
        yield source.read(first, min(length, source.size - first), scratch)


def run(
    view: Array, check: Callable[[], None], length: int, workers: int, walk: Walk, file: FileRange | None = None
) -> list[Any]:
    """``walk`` over each worker's run of chunks; one result per worker, in chunk order.

    ``workers`` is the most threads allowed; each gets at least ``_MIN_CHUNKS_PER_WORKER`` chunks.
    With ``file``, each chunk is read from the file instead of being a view of the mapping.
    """
    if view.size <= length:
        # One chunk: the kernels take any layout, so the view goes in whole.
        check()
        if file is not None:
            scratch = Scratch(view.size)
            return [walk(iter((file.read(0, view.size, scratch),)), scratch)]
        scratch = Scratch(view.size)
        return [walk(iter((contiguous(view, scratch),)), scratch)]
    chunks = Chunks(view, length)
    workers = max(1, min(workers, chunks.count // _MIN_CHUNKS_PER_WORKER))
    per = -(-chunks.count // workers)
    runs = [range(i * per, min(chunks.count, (i + 1) * per)) for i in range(workers)]
    stop: Stop = threading.Event() if workers > 1 else _Alone()
    results: list[Any] = [None] * workers
    errors: list[BaseException | None] = [None] * workers

    def work(i: int) -> None:
        try:
            scratch = Scratch(length)
            if file is not None:
                results[i] = walk(_read_run(file, length, runs[i], check, stop, scratch), scratch)
            else:
                results[i] = walk(_walk_run(chunks, runs[i], check, stop, scratch), scratch)
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


class Job:
    """One reduction: the view, its file-size check, the memory budget and the thread count.

    Scratch bytes per item (``item_cost``) are the kernel's own buffers plus
    numpy's internal cast buffers (:func:`cast_cost`).
    """

    def __init__(self, view: Array, source: Source, chunk_bytes: int, threads: int) -> None:
        self.view = view
        self.check = source.check
        self.file = source.file_range(view)
        self.chunk_bytes = chunk_bytes
        self.threads = threads

    def run(self, item_cost: int, walk: Walk, *, parallel: bool = True) -> list[Any]:
        threads = self.threads if parallel else 1
        length = chunk_items(self.chunk_bytes, threads, item_cost, self.view.dtype.itemsize)
        workers = min(threads, max(1, self.chunk_bytes // _WORKER_OVERHEAD))
        return run(self.view, self.check, length, workers, walk, self.file)
