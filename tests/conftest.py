"""Shared test configuration: the suite's pytest plugin and the leak check."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from leaks import open_under

pytest_plugins = ["memmapref.testing.plugin", "pytester"]


@pytest.fixture(autouse=True)
def _no_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves a descriptor or a mapping of its own files open."""
    # Requested here, before the test, so that tmp_path is torn down after this check.
    root = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if root is None:
        return
    leaked = open_under(root)
    assert not leaked, f"left open: {leaked}"
