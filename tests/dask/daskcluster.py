"""The local clusters of tests/dask: worker processes (or threads) of 1 thread each."""

from __future__ import annotations

from distributed import LocalCluster


def cluster(workers: int, processes: bool = True) -> LocalCluster:
    # A random dashboard port: other test runs on the machine may hold 8787.
    return LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=processes, dashboard_address=":0", silence_logs=50
    )
