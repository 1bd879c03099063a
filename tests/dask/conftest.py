"""The module-scoped cluster of tests/dask: 2 worker processes, 1 thread each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from daskcluster import cluster
from distributed import Client


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    # Not the default client, so that client=None without one can be tested.
    with cluster(2) as c, Client(c, set_as_default=False) as connected:
        yield connected
