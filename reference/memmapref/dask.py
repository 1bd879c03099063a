"""The two reductions over many file-backed shards, on dask.distributed.

``pip install 'memmapref[dask]'``. A dataset kept as many raw or ``.npy``
shards on shared storage is one logical array along axis 0. Each task maps
its shards with :func:`memmapref.open` on the worker, reduces them with the
reference's kernels and returns an exact partial: a Python int, or a float sum
as an integer count of 2**-1074. The client adds the partials exactly and
rounds once. Tasks carry shard descriptions and partials, never array data.

Why the result is bit-identical to the single-machine reference on the same
items in one file, whatever the partitioning and the number of workers: the
reference sums each chunk of ``L`` items in float64 and adds the chunk sums
exactly, so its result depends on where the chunks start. The tasks here are
cut along the same chunk grid of the *logical* array, not along the shard
boundaries; a chunk that straddles shards is gathered into one buffer of ``L``
items and summed as the reference sums it. Integer and bool results are exact
anyway. Memory per task stays within the reference's REDUCE.1 budget.
"""

from __future__ import annotations

import copyreg
import os
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _validate, mapped

# The reference's chunk grid, per-chunk kernels and exact accumulators: bit-identity
# with the single-machine reference depends on using exactly these, never copies.
from ._accumulate import exact_total, int_walk, quiet_sum_walk, sum_walk, wrap
from ._chunking import DEFAULT_CHUNK_BYTES, MIN_CHUNK_BYTES, Array, Scratch, chunk_items
from .errors import FileSizeError, ReductionArgumentError, message, os_error
from .reductions import (
    _count,
    _filtered_bool,
    _filtered_cost,
    _filtered_float,
    _filtered_int,
    _float_sum,
    _int_sum,
    _mean_cost,
)

__all__ = ["Shard", "connect", "filtered_sum", "shard", "slice_mean"]


def _rebuild_file_size_error(text: str, path: str, expected: int, actual: int) -> FileSizeError:
    return FileSizeError(text, path=path, expected=expected, actual=actual)


def _reduce_file_size_error(exc: FileSizeError) -> tuple[Any, tuple[str, str, int, int]]:
    return _rebuild_file_size_error, (str(exc), exc.path, exc.expected, exc.actual)


# A worker's exception reaches the client pickled. FileSizeError's keyword-only
# arguments are not in its args, so the default pickling cannot rebuild it.
copyreg.pickle(FileSizeError, _reduce_file_size_error)


@dataclass(frozen=True)
class Shard:
    """One shard: a raw file, or the data of a ``.npy`` file after its header."""

    path: str
    dtype: np.dtype[Any]
    shape: tuple[int, ...]
    offset: int = 0
    order: str = "C"

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=object))


def shard(path: Any, dtype: Any = None, shape: Any = None, *, offset: int = 0, order: str = "C") -> Shard:
    """Describe a shard; a ``.npy`` path alone is described from its header (read with plain file reads).

    Arguments are checked as :func:`memmapref.open` checks them; a raw shard
    without ``shape`` spans every whole item after ``offset``.
    """
    name = _validate.path(path)
    if dtype is None:
        return _npy_shard(name)
    dt = _validate.dtype(dtype)
    start = _validate.offset(offset)
    layout = _validate.order(order)
    if shape is None:
        size = _file_size(name)
        available = size - start
        if available < 0 or available % dt.itemsize:
            raise FileSizeError(
                message(
                    f"shard {name!r} of {size} bytes, leaving {available} bytes after offset {start}",
                    f"a whole number of {dt.itemsize}-byte items of {dt} after the offset",
                    "check the dtype and offset, or pass shape= explicitly",
                ),
                path=name,
                expected=start + (max(available, 0) // dt.itemsize + 1) * dt.itemsize,
                actual=size,
            )
        return Shard(name, dt, (available // dt.itemsize,), start, layout)
    return Shard(name, dt, _validate.shape(shape, dt.itemsize), start, layout)


def _file_size(name: str) -> int:
    try:
        return os.stat(name).st_size
    except OSError as exc:
        raise os_error(exc, "find", name, "check the shard's path on the shared storage") from exc


def _npy_shard(name: str) -> Shard:
    from numpy.lib import format as npy

    try:
        with open(name, "rb") as f:
            version = npy.read_magic(f)
            read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
            shape, fortran, dt = read(f)
            offset = f.tell()
    except OSError as exc:
        raise os_error(exc, "read the .npy header of", name, "check the shard's path on the shared storage") from exc
    except ValueError as exc:
        raise ReductionArgumentError(
            message(f"{name!r}, which has no valid .npy header ({exc})", "a .npy file", "pass dtype= for a raw shard")
        ) from exc
    return Shard(name, np.dtype(dt), tuple(shape), offset, "F" if fortran else "C")


# ---------------------------------------------------------------------------
# The plan: the logical array's chunk grid, cut into tasks


@dataclass(frozen=True)
class _Piece:
    """A shard and where its first item lies in the logical array's flat (C-order) items."""

    shard: Shard
    start: int


@dataclass(frozen=True)
class _Task:
    """Chunks ``[lo, hi)`` of length ``length`` of the items from ``origin`` on, and the shards they read."""

    pieces: tuple[_Piece, ...]
    lo: int
    hi: int
    length: int


def _described(shards: Sequence[Any]) -> list[Shard]:
    if isinstance(shards, (str, bytes, os.PathLike)) or not shards:
        raise ReductionArgumentError(
            message(f"shards={shards!r}", "a non-empty list of shards", "pass [shard(path, dtype, shape), ...]")
        )
    out = [s if isinstance(s, Shard) else shard(s) for s in shards]
    first = out[0]
    for s in out:
        if s.dtype != first.dtype or s.shape[1:] != first.shape[1:] or len(s.shape) == 0:
            raise ReductionArgumentError(
                message(
                    f"shard {s.path!r} of dtype {s.dtype} and shape {s.shape}",
                    f"dtype {first.dtype} and shape (any, *{first.shape[1:]}) as the first shard, along axis 0",
                    "pass shards of one logical array",
                )
            )
        if s.order != "C" and sum(n > 1 for n in s.shape) > 1:
            raise ReductionArgumentError(
                message(
                    f"shard {s.path!r} in Fortran order with shape {s.shape}",
                    "shards whose items are in C order",
                    "rewrite the shard in C order (np.ascontiguousarray)",
                )
            )
    return out


def _kind(dt: np.dtype[Any]) -> None:
    if dt.kind not in "biuf" or (dt.kind == "f" and dt.itemsize > 8):
        raise ReductionArgumentError(
            message(
                f"shards of dtype {dt}",
                "bool, integer, or float of at most 64 bits",
                "use memmapref.filtered_sum / slice_mean on one machine",
            )
        )


def _plan(shards: list[Shard], lo: int, hi: int, length: int) -> list[_Task]:
    """Tasks over the flat items ``[lo, hi)``, cut along the chunk grid that starts at ``lo``.

    A task takes the chunks that start in one shard; a chunk may run into the following shards.
    """
    pieces, start = [], 0
    for s in shards:
        pieces.append(_Piece(s, start))
        start += s.size
    tasks = []
    for piece in pieces:
        end = piece.start + piece.shard.size
        # The chunks whose first item lies in this shard's part of [lo, hi).
        first = max(0, -(-(piece.start - lo) // length))
        last = min(-(-(hi - lo) // length), -(-(end - lo) // length))
        if first >= last:
            continue
        a, b = lo + first * length, min(hi, lo + last * length)
        used = tuple(p for p in pieces if p.start < b and p.start + p.shard.size > a)
        tasks.append(_Task(used, a, b, length))
    return tasks


# ---------------------------------------------------------------------------
# On the worker


def _chunks(task: _Task, stack: ExitStack) -> Iterator[Array]:
    """The task's chunks: views of one shard's mapping, or a straddling chunk gathered into one buffer."""
    handles = [
        (
            p,
            stack.enter_context(
                mapped.open(p.shard.path, p.shard.dtype, p.shard.shape, offset=p.shard.offset, order=p.shard.order)
            ),
        )
        for p in task.pieces
    ]
    flats = [(p.start, p.start + p.shard.size, h, h.array.reshape(-1)) for p, h in handles]
    for a in range(task.lo, task.hi, task.length):
        b = min(task.hi, a + task.length)
        parts = [(s, e, h, flat) for s, e, h, flat in flats if s < b and e > a]
        for _, _, h, _ in parts:
            h.check_size()  # before the chunk's pages are touched (REDUCE.3)
        if len(parts) == 1:
            s, _, _, flat = parts[0]
            yield flat[a - s : b - s]
            continue
        # Only a task's last chunk can run past the shard it starts in: one buffer per task.
        gather = np.empty(b - a, dtype=flats[0][3].dtype)
        for s, e, _, flat in parts:
            lo, hi = max(a, s), min(b, e)
            gather[lo - a : hi - a] = flat[lo - s : hi - s]
        yield gather


def _filtered_partial(task: _Task, threshold: Any) -> Any:
    """One task's exact partial of ``x[x > threshold].sum()``: an int, or an exact float sum (ExactSum)."""
    kind = task.pieces[0].shard.dtype.kind
    with ExitStack() as stack:
        chunks = _chunks(task, stack)
        if kind == "f":
            return quiet_sum_walk(_filtered_float(threshold))(chunks, Scratch(task.length))
        kernel = _filtered_bool(threshold) if kind == "b" else _filtered_int(threshold)
        return int_walk(kernel)(chunks, Scratch(task.length))


def _mean_partial(task: _Task) -> Any:
    """One task's exact partial of the sum of the items: an int, or an exact float sum (ExactSum)."""
    kind = task.pieces[0].shard.dtype.kind
    with ExitStack() as stack:
        chunks = _chunks(task, stack)
        if kind == "f":
            return sum_walk(_float_sum)(chunks, Scratch(task.length))
        return int_walk(_count if kind == "b" else _int_sum)(chunks, Scratch(task.length))


# ---------------------------------------------------------------------------
# On the client


def _client(client: Any) -> Any:
    if client is not None:
        return client
    from distributed import get_client

    try:
        return get_client()
    except ValueError as exc:
        raise ReductionArgumentError(
            message(
                "client=None and no dask.distributed client in this process",
                "a Client",
                "pass client=Client(...) or create one first (Client(LocalCluster()) on one machine)",
            )
        ) from exc


@contextmanager
def connect(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """A client of the scheduler at ``scheduler``, or of a new local cluster of ``workers`` processes, 1 thread each."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    # One thread per process: the kernels release the GIL only inside numpy calls.
    with (
        LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        yield client


def _gather(client: Any, fn: Any, tasks: list[_Task], *args: Any, progress: bool) -> list[Any]:
    futures = [client.submit(fn, task, *args, pure=False) for task in tasks]
    if progress:
        from distributed import progress as bar

        bar(futures, scheduler=client.scheduler.address)  # this client's, not the default one
    return list(client.gather(futures))


def filtered_sum(
    shards: Sequence[Any],
    threshold: Any,
    *,
    client: Any = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    progress: bool = False,
) -> Any:
    """``x[x > threshold].sum()`` over the shards' logical array, bit-identical to :func:`memmapref.filtered_sum`.

    ``shards``: :class:`Shard` descriptions (see :func:`shard`) or ``.npy``
    paths, concatenated along axis 0. ``client``: a ``distributed.Client``;
    None takes the current one. ``progress`` shows dask's progress bar.
    """
    budget = _validate.chunk_bytes(chunk_bytes, MIN_CHUNK_BYTES, DEFAULT_CHUNK_BYTES)
    _validate.threshold(threshold)
    described = _described(shards)
    dt = described[0].dtype
    probe = np.zeros(0, dtype=dt)
    # numpy's own exception for a dtype or threshold it refuses, and the zero of its result dtype.
    zero = probe[probe > threshold].sum()
    _kind(dt)
    total = sum(s.size for s in described)
    if total == 0:
        return zero
    # The reference's chunk length for this kernel, which threads <= SHARED_WORKERS do not move.
    length = chunk_items(budget, 1, _filtered_cost(dt, threshold), dt.itemsize)
    tasks = _plan(described, 0, total, length)
    parts = _gather(_client(client), _filtered_partial, tasks, threshold, progress=progress)
    if dt.kind == "f":
        return zero.dtype.type(exact_total(parts).divided(1))
    return wrap(sum(parts), zero.dtype)


def _rows(index: Any, rows: int) -> tuple[int, int]:
    if isinstance(index, tuple) and len(index) == 1:
        index = index[0]
    if index is Ellipsis:
        return 0, rows
    if isinstance(index, slice):
        start, stop, step = index.indices(rows)
        if step == 1:
            return start, max(start, stop)
    raise ReductionArgumentError(
        message(
            f"index={index!r}",
            "... or a slice of rows with step 1 (a[start:stop])",
            "select rows with a slice, or use memmapref.slice_mean on one machine for other indexes",
        )
    )


def slice_mean(
    shards: Sequence[Any],
    index: Any = ...,
    *,
    client: Any = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    progress: bool = False,
) -> Any:
    """``np.mean(x[index])`` over the shards' logical array, bit-identical to :func:`memmapref.slice_mean`.

    ``index`` selects rows: ``...`` or ``np.s_[start:stop]``.
    """
    budget = _validate.chunk_bytes(chunk_bytes, MIN_CHUNK_BYTES, DEFAULT_CHUNK_BYTES)
    described = _described(shards)
    dt = described[0].dtype
    _kind(dt)
    row = int(np.prod(described[0].shape[1:], dtype=object))
    start, stop = _rows(index, sum(s.shape[0] for s in described))
    n = (stop - start) * row
    if n == 0:
        return np.mean(np.zeros(0, dtype=dt))  # nan with numpy's RuntimeWarning (MEAN.5)
    length = chunk_items(budget, 1, _mean_cost(dt), dt.itemsize)
    tasks = _plan(described, start * row, stop * row, length)
    parts = _gather(_client(client), _mean_partial, tasks, progress=progress)
    if dt.kind == "f":
        return dt.type(exact_total(parts).divided(n))
    return np.float64(sum(parts) / n)  # int / int is correctly rounded
