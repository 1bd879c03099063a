"""Bounded memory (SPEC.md REDUCE.1): the reductions stream, the naive expressions do not.

Two kinds of evidence. A child process under ``RLIMIT_DATA`` = 256 MiB reduces
a 1 GiB file, where the tutorial's ``fp[fp > 0.5].sum()`` dies with
MemoryError. In this process, tracemalloc (numpy reports its allocations to
it) measures the peak the reductions allocate beyond their input, for
contiguous, strided and byte-swapped inputs.
"""

from __future__ import annotations

import contextlib
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import memmapref
from memmapref import _chunking
from memmapref.testing import bounds
from memmapref.testing.subproc import run_python

GIB = 1 << 30
DATA_LIMIT = 256 << 20
# 8 MiB of float64 in [0, 1]; half of it is above 0.5. Repeated to fill the file,
# so that the exact results follow from one block.
BLOCK = np.linspace(0, 1, 1 << 20)


def write_repeated(path: Path, block: np.ndarray[Any, Any], times: int) -> None:
    """A file holding ``block`` ``times`` times over, written with plain writes (no fsync: speed)."""
    data = block.tobytes()
    with open(path, "wb") as out:
        for _ in range(times):
            out.write(data)


# ---------------------------------------------------------------------------
# Under RLIMIT_DATA

OURS = """
import numpy as np, memmapref
with memmapref.open({path!r}, np.float64, (8192, 16384)) as fp:
    print(repr(float(memmapref.filtered_sum(fp, 0.5))))
    print(repr(float(memmapref.slice_mean(fp))))
    print(repr(float(memmapref.slice_mean(fp, np.s_[:, ::7]))))
"""

NAIVE = """
import numpy as np
fp = np.memmap({path!r}, dtype=np.float64, mode="r")
try:
    print(fp[fp > 0.5].sum())
except MemoryError:
    print("MemoryError")
"""


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.clause("REDUCE.1")
def test_a_gigabyte_file_under_a_256_mib_data_limit(tmp_path: Path) -> None:
    path = tmp_path / "gigabyte.f8"
    times = GIB // BLOCK.nbytes
    write_repeated(path, BLOCK, times)
    try:
        ours = run_python(OURS.format(path=str(path)), data_limit=DATA_LIMIT)
        naive = run_python(NAIVE.format(path=str(path)), data_limit=DATA_LIMIT)
    finally:
        path.unlink()
    assert ours.returncode == 0, f"the reductions failed under a {DATA_LIMIT >> 20} MiB limit: {ours.stderr}"
    assert naive.stdout.strip() == "MemoryError", f"the naive expression fit in the limit: {naive}"

    total, mean, strided_mean = (float(line) for line in ours.stdout.split())
    chunk_items = memmapref.DEFAULT_CHUNK_BYTES // 8  # a chunk holds at most chunk_bytes of input
    # The file is `times` copies of one block (a power of two: scaling is exact),
    # so its sums are `times` times the block's, and its means the block's.
    strided = BLOCK.reshape(64, 16384)[:, ::7]
    for got, part, items in [
        (total, BLOCK[BLOCK > 0.5], 1),
        (mean, BLOCK, BLOCK.size),
        (strided_mean, strided, strided.size),
    ]:
        exact = bounds.exact_total(part) * times / (items * times if items > 1 else 1)
        absolute, signed = times * bounds.absolute_sum(part), times * bounds.exact_sum(part)
        bound = bounds.reference_bound(absolute, signed, chunk_items, np.float64) / (items * times if items > 1 else 1)
        assert bounds.within_exact(got, exact, bound), f"{got!r} is not within {bound!r} of {float(exact)!r}"


# ---------------------------------------------------------------------------
# tracemalloc, in this process

ITEMS = 1 << 20  # 8 MiB of float64: far more than any bound measured below

LAYOUTS: dict[str, Callable[[memmapref.MappedArray, memmapref.MappedArray], tuple[Any, Any]]] = {
    # (input, index) pairs: slice_mean(input, index), filtered_sum(input[index] or input).
    "contiguous": lambda native, swapped: (native, ...),
    "byte-swapped": lambda native, swapped: (swapped, ...),
    "row-block": lambda native, swapped: (native, np.s_[3:1000:2, 17:900]),
    "column": lambda native, swapped: (native, np.s_[:, 5]),
    "swapped-reversed": lambda native, swapped: (swapped, np.s_[::-3, ::-5]),
}
LIMITS = [(4096, 1), (4096, 4), (65536, 2), (1 << 20, 1), (1 << 20, 2), (1 << 20, 4)]


def peak_of(call: Callable[[], Any]) -> int:
    call()  # first call: numpy's and Python's one-time caches are not the reduction's
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def peaks(handle: memmapref.MappedArray, index: Any, chunk_bytes: int, threads: int) -> tuple[int, int]:
    """Peaks of slice_mean(handle, index) and filtered_sum(handle[index]).

    The view of the mapping lives only in this frame: in the test's, a failed
    assertion's traceback would keep the mapping and its descriptor open.
    """
    view = handle if index is ... else handle.array[index]
    mean = peak_of(lambda: memmapref.slice_mean(handle, index, chunk_bytes=chunk_bytes, threads=threads))
    total = peak_of(lambda: memmapref.filtered_sum(view, 0.5, chunk_bytes=chunk_bytes, threads=threads))
    return mean, total


@contextlib.contextmanager
def _native_and_swapped(tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    """The same values as a native and a byte-swapped file, each open as a 2-d handle."""
    values = np.linspace(0, 1, ITEMS)
    native_path, swapped_path = tmp_path / "native.f8", tmp_path / "swapped.f8"
    write_repeated(native_path, values, 1)
    write_repeated(swapped_path, values.astype(">f8"), 1)
    shape = (ITEMS // 1024, 1024)
    with memmapref.open(native_path, "<f8", shape) as native, memmapref.open(swapped_path, ">f8", shape) as swapped:
        yield native, swapped


@pytest.mark.clause("REDUCE.1")
@pytest.mark.parametrize(("chunk_bytes", "threads"), LIMITS, ids=[f"{c}B-{t}t" for c, t in LIMITS])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_extra_memory_stays_below_four_chunks(tmp_path: Path, layout: str, chunk_bytes: int, threads: int) -> None:
    with _native_and_swapped(tmp_path) as (native, swapped):
        mean, total = peaks(*LAYOUTS[layout](native, swapped), chunk_bytes, threads)
    bound = 4 * chunk_bytes
    assert mean < bound, f"slice_mean allocated {mean} bytes; the bound is {bound}"
    assert total < bound, f"filtered_sum allocated {total} bytes; the bound is {bound}"


@pytest.mark.clause("REDUCE.1")
@pytest.mark.parametrize("chunk_bytes", [65536, 1 << 20])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_one_worker_stays_within_its_share(tmp_path: Path, layout: str, chunk_bytes: int) -> None:
    """The bound's arithmetic, per worker: its buffers within 2 * chunk_bytes / SHARED_WORKERS, plus bookkeeping.

    Nothing numpy allocates on its own may come on top: numpy 1.26 buffers
    every np.add.reduce of a 2-d block (two buffers of up to 64 KiB), which
    took a worker past its share at 64 KiB chunks whatever the thread timing.
    """
    with _native_and_swapped(tmp_path) as (native, swapped):
        mean, total = peaks(*LAYOUTS[layout](native, swapped), chunk_bytes, 1)
    share = 2 * chunk_bytes // _chunking.SHARED_WORKERS + _chunking._WORKER_OVERHEAD
    assert mean < share, f"slice_mean's one worker allocated {mean} bytes; its share is {share}"
    assert total < share, f"filtered_sum's one worker allocated {total} bytes; its share is {share}"


@pytest.mark.clause("REDUCE.1")
@pytest.mark.parametrize("dtype", ["f4", ">f2", "i8", "u2", "?", "c8", ">c16"])
def test_other_dtypes_stay_below_four_chunks(dtype: str) -> None:
    values = (np.linspace(0, 1, ITEMS // 4) * 50).astype(dtype)[::3]
    chunk_bytes = 65536
    # Few items above the threshold: float16 sums stay finite, and chunks take the multiply path.
    threshold = 49.9
    for threads in (1, 4):
        mean = peak_of(lambda t=threads: memmapref.slice_mean(values, chunk_bytes=chunk_bytes, threads=t))
        total = peak_of(lambda t=threads: memmapref.filtered_sum(values, threshold, chunk_bytes=chunk_bytes, threads=t))
        assert max(mean, total) < 4 * chunk_bytes, f"{dtype}: {mean} and {total} bytes at {threads} threads"


@pytest.mark.clause("REDUCE.1")
def test_the_naive_expressions_allocate_in_proportion_to_the_input() -> None:
    values = np.linspace(0, 1, ITEMS)
    selected = int(np.count_nonzero(values > 0.5))
    peak = peak_of(lambda: values[values > 0.5].sum())
    assert peak >= values.size + 8 * selected, f"{peak} bytes: the mask and the copy were expected"
