"""memmapref.dask against dask.array on a local cluster: time, last-bit difference, memory per worker.

    PYTHONPATH=reference python tools/bench_dask.py --gib 4 --shards 64 --workers 2

Writes float64 shards (.npy) of standard normal items into a temporary
directory (or --dir), then times on one LocalCluster (1 thread per worker):

* memmapref.dask.filtered_sum(shards, t): each task maps its shards on the
  worker and returns an exact partial;
* dask.array over the same files: da.from_array per shard (an array-like that
  opens the shard with np.load(mmap_mode="r") on the worker, so that the graph
  carries paths, not data), concatenated, (x[x > t]).sum(), at two chunk sizes.

Reports each result's distance in units in the last place from the
single-machine reference (memmapref.filtered_sum over the shards' items in one
file is not needed: memmapref.dask equals it bit for bit, tests/dask checks
that) and the peak bytes numpy and Python allocated in each worker during the
run (tracemalloc), against the REDUCE.1 bound of 4 * chunk_bytes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
from distributed import Client, LocalCluster

from memmapref import DEFAULT_CHUNK_BYTES
from memmapref import dask as mdask


class LazyNpy:
    """An array-like over one .npy shard that maps it only where a chunk is read."""

    def __init__(self, path: str) -> None:
        head = mdask.shard(path)
        self.path, self.shape, self.dtype, self.ndim = path, head.shape, head.dtype, len(head.shape)

    def __getitem__(self, index: Any) -> Any:
        return np.array(np.load(self.path, mmap_mode="r")[index])


def _trace_start() -> None:
    tracemalloc.start()
    tracemalloc.reset_peak()


def _trace_peak() -> int:
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def _ulps(got: float, want: float) -> int:
    a, b = np.float64(got).view(np.int64), np.float64(want).view(np.int64)
    return abs(int(a) - int(b))


def _write(folder: Path, gib: float, shards: int) -> list[str]:
    total = int(gib * (1 << 30)) // 8
    rng = np.random.default_rng(0)
    paths = []
    per = -(-total // shards)
    for i in range(shards):
        n = min(per, total - i * per)
        path = str(folder / f"part-{i:03}.npy")
        out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n,))
        for start in range(0, n, 1 << 22):  # 32 MiB at a time
            stop = min(n, start + (1 << 22))
            out[start:stop] = rng.standard_normal(stop - start)
        out.flush()
        del out
        paths.append(path)
    return paths


def _timed(client: Client, run: Any) -> tuple[Any, float, list[int]]:
    client.run(_trace_start)
    start = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - start
    peaks = list(client.run(_trace_peak).values())
    return result, seconds, peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--gib", type=float, default=4.0)
    parser.add_argument("--shards", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--dir", type=Path, help="where the shards go (default: a temporary directory, removed)")
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="bench-dask-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        start = time.perf_counter()
        paths = _write(folder, args.gib, args.shards)
        took = time.perf_counter() - start
        print(f"wrote {args.gib} GiB in {args.shards} shards in {took:.1f} s; load {os.getloadavg()}")
        t = args.threshold
        with (
            LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cl,
            Client(cl) as client,
        ):
            ours, ours_s, ours_peak = _timed(client, lambda: mdask.filtered_sum(paths, t, client=client))
            print(
                f"memmapref.dask: {ours_s:.2f} s, result {ours!r}, worker peak {max(ours_peak) / 2**20:.1f} MiB "
                f"(REDUCE.1 bound {4 * DEFAULT_CHUNK_BYTES / 2**20:.0f} MiB)"
            )
            for chunk_mib in (4, 1):
                items = (chunk_mib << 20) // 8
                x = da.concatenate([da.from_array(LazyNpy(p), chunks=(items,)) for p in paths])
                theirs, s, peak = _timed(client, lambda x=x: float((x[x > t]).sum().compute()))
                print(
                    f"dask.array ({chunk_mib} MiB chunks): {s:.2f} s, result {theirs!r}, "
                    f"{_ulps(theirs, ours)} ulp from memmapref, worker peak {max(peak) / 2**20:.1f} MiB"
                )
        print(f"load after: {os.getloadavg()}")
    finally:
        if args.dir is None:
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
