"""The methods tools/bench.py measures, run one call per fresh child process.

Run by bench.py as ``python tools/bench_methods.py '<json job>'``; prints one
JSON line: the seconds taken, the result, and the tracemalloc peak when asked.

Two families:

* whole-file methods, each computing ``sum of x[x > threshold]`` (or, for the
  bandwidth bound, touching every byte once) over a 1-d float64 file;
* slice means over the file seen as a 2-d array, each view reduced by
  ``memmapref.slice_mean`` and by ``np.mean`` on the same view.
"""

from __future__ import annotations

import json
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

THRESHOLD = 0.5
# The bandwidth bound's own chunking: 2 MiB slices, one contiguous half of the file per thread.
BOUND_CHUNK_ITEMS = 1 << 18
BOUND_THREADS = 2
READ_BYTES = 4 << 20


def memmap(path: str) -> np.ndarray[Any, Any]:
    """The file as a plain ndarray over numpy's own mapping."""
    return np.asarray(np.memmap(path, dtype=np.float64, mode="r"))


# ---------------------------------------------------------------------------
# Whole-file methods. Each takes the path, does its imports and opens the file
# (untimed), and returns the call that is timed.

Call = Callable[[], float]


def reference_filtered_sum(path: str) -> Call:
    import memmapref

    handle = memmapref.open(path, np.float64)
    return lambda: float(memmapref.filtered_sum(handle, THRESHOLD))


def naive(path: str) -> Call:
    fp = np.memmap(path, dtype=np.float64, mode="r")
    return lambda: float(fp[fp > THRESHOLD].sum())


def numpy_sum_where(path: str) -> Call:
    fp = memmap(path)
    return lambda: float(np.sum(fp, where=fp > THRESHOLD))


def numexpr_where(path: str) -> Call:
    import numexpr

    x = memmap(path)
    return lambda: float(numexpr.evaluate("sum(where(x > t, x, 0))", local_dict={"x": x, "t": THRESHOLD}))


class NoCopy:
    """The smallest array-like dask accepts: slicing it returns views of the mapping.

    dask names an array by hashing it; for a numpy.memmap, ``from_array``
    reads (and copies) the whole file to do so. A token of our own avoids that.
    """

    def __init__(self, array: np.ndarray[Any, Any], token: str) -> None:
        self.array = array
        self.shape = array.shape
        self.dtype = array.dtype
        self.ndim = array.ndim
        self.token = token

    def __getitem__(self, key: Any) -> np.ndarray[Any, Any]:
        return self.array[key]  # type: ignore[no-any-return]

    def __dask_tokenize__(self) -> str:
        return self.token


def dask_default(path: str) -> Call:
    import dask.array as da

    def call() -> float:
        # from_array is timed: it is where dask copies the memmap.
        x = da.from_array(np.memmap(path, dtype=np.float64, mode="r"))
        return float(x[x > THRESHOLD].sum().compute(scheduler="threads"))

    return call


def dask_no_copy(path: str) -> Call:
    import dask.array as da

    token = f"{path}:{os.stat(path).st_mtime_ns}"

    def call() -> float:
        x = da.from_array(NoCopy(memmap(path), token), chunks="auto", asarray=False)
        return float(x[x > THRESHOLD].sum().compute(scheduler="threads"))

    return call


def chunked_plain_sum(path: str) -> Call:
    """The bandwidth bound: every byte read once, two threads, no selection."""
    x = memmap(path)
    half = -(-x.size // BOUND_THREADS)

    def run(start: int) -> list[float]:
        stop = min(x.size, start + half)
        return [
            float(np.add.reduce(x[i : min(stop, i + BOUND_CHUNK_ITEMS)])) for i in range(start, stop, BOUND_CHUNK_ITEMS)
        ]

    def call() -> float:
        with ThreadPoolExecutor(BOUND_THREADS) as pool:
            return float(sum(p for parts in pool.map(run, range(0, x.size, half)) for p in parts))

    return call


def plain_sum(path: str) -> Call:
    fp = np.memmap(path, dtype=np.float64, mode="r")
    return lambda: float(fp.sum())


def read_file(path: str) -> Call:
    """Every byte copied out of the page cache by read(), as cat does; the result is the byte count."""
    view = memoryview(bytearray(READ_BYTES))

    def call() -> float:
        total = 0
        fd = os.open(path, os.O_RDONLY)
        try:
            while count := os.readv(fd, [view]):
                total += count
        finally:
            os.close(fd)
        return float(total)

    return call


def preadv_file(path: str) -> Call:
    """The copy filtered_sum pays over a handle (FAULT.9): every byte read by preadv in the plain
    sum's pieces, one half of the file per thread, into each thread's reused buffer; the result is
    the byte count."""
    size = os.path.getsize(path)
    half = -(-size // BOUND_THREADS)
    piece = BOUND_CHUNK_ITEMS * 8

    def run(fd: int, start: int) -> int:
        # Page-aligned, as the reference places its reads: a fresh malloc'd buffer starts 16 bytes into
        # a page, where the kernel's copy is five times slower (memmapref._chunking._LANDING_STEP).
        raw = np.empty(piece + 4096, np.uint8)
        skip = -raw.__array_interface__["data"][0] % 4096
        view = memoryview(raw[skip : skip + piece])  # type: ignore[arg-type]
        stop, total = min(size, start + half), 0
        for at in range(start, stop, piece):
            total += os.preadv(fd, [view[: min(piece, stop - at)]], at)
        return total

    def call() -> float:
        fd = os.open(path, os.O_RDONLY)
        try:
            with ThreadPoolExecutor(BOUND_THREADS) as pool:
                return float(sum(pool.map(lambda start: run(fd, start), range(0, size, half))))
        finally:
            os.close(fd)

    return call


WHOLE_FILE: dict[str, tuple[str, Callable[[str], Call]]] = {
    # name: (family, setup); the family decides which exact result the error is against ("copy": none, the
    # result is a byte count)
    "memmapref.filtered_sum": ("filtered", reference_filtered_sum),
    "naive fp[fp > t].sum()": ("filtered", naive),
    "np.sum(fp, where=fp > t)": ("filtered", numpy_sum_where),
    "numexpr sum(where(x > t, x, 0))": ("filtered", numexpr_where),
    "dask.array from_array(fp)": ("filtered", dask_default),
    "dask.array, no-copy wrapper": ("filtered", dask_no_copy),
    "bound: chunked plain sum, 2 threads": ("bound", chunked_plain_sum),
    "bound: fp.sum()": ("bound", plain_sum),
    "bound: read() the file": ("copy", read_file),
    "bound: preadv the file, 2 threads": ("copy", preadv_file),
}
OPTIONAL = {
    "numexpr sum(where(x > t, x, 0))": "numexpr",
    "dask.array from_array(fp)": "dask.array",
    "dask.array, no-copy wrapper": "dask.array",
}


# ---------------------------------------------------------------------------
# Slice means over the file as a 2-d array


def grid(items: int) -> tuple[int, int]:
    """Rows and columns: the file as a square-ish 2-d array, columns a power of two."""
    cols = 1 << max(4, (items.bit_length() - 1) // 2)
    return items // cols, cols


def views(rows: int, cols: int) -> dict[str, Any]:
    return {
        "small block 100x100": np.s_[rows // 4 : rows // 4 + 100, cols // 4 : cols // 4 + 100],
        "full row": np.s_[rows // 2],
        "full column (strided)": np.s_[:, cols // 3],
        "block, 1/16 of the file": np.s_[: rows // 4, : cols // 4],
        "large block, 3/4 of the file": np.s_[rows // 16 : rows - rows // 16, cols // 16 : cols - cols // 16],
    }


def mean_method(name: str, path: str, items: int, view: str) -> Call:
    rows, cols = grid(items)
    index = views(rows, cols)[view]
    if name == "memmapref.slice_mean":
        import memmapref

        # Left open for the child's lifetime: the handle's size check runs before each chunk.
        handle = memmapref.open(path, np.float64, (rows, cols))
        return lambda: float(memmapref.slice_mean(handle, index))
    array = np.asarray(np.memmap(path, dtype=np.float64, mode="r", shape=(rows, cols)))
    return lambda: float(np.mean(array[index]))


MEANS = ["memmapref.slice_mean", "np.mean"]


# ---------------------------------------------------------------------------
# Child entry point


def timed_once(call: Callable[[], float], trace: bool) -> dict[str, Any]:
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    if trace:
        tracemalloc.stop()
    return {"seconds": seconds, "result": result, "peak": peak, "calls": 1}


def timed_repeatedly(call: Callable[[], float], trace: bool, budget: float) -> dict[str, Any]:
    """A warm-up call (pages mapped), then calls until ``budget`` seconds: the median call."""
    call()
    if trace:
        return timed_once(call, trace)
    times: list[float] = []
    result = 0.0
    while sum(times) < budget or len(times) < 3:
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
        if len(times) >= 1000:
            break
    return {"seconds": float(np.median(times)), "result": result, "peak": None, "calls": len(times)}


def main(argv: list[str]) -> int:
    job = json.loads(argv[1])
    trace = job["measure"] == "memory"
    if job["family"] == "mean":
        call = mean_method(job["method"], job["path"], job["items"], job["view"])
        outcome = timed_repeatedly(call, trace, job.get("budget", 0.1))
    else:
        outcome = timed_once(WHOLE_FILE[job["method"]][1](job["path"]), trace)
    print(json.dumps(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
