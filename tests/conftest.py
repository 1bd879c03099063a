"""Shared test configuration: the suite's pytest plugin and the leak check."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["memmapref.testing.plugin", "pytester"]


def _open_under(root: Path) -> tuple[list[str], list[str]]:
    prefix = str(root)
    fds = []
    for entry in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{entry}")
        except OSError:
            continue  # the descriptor listdir itself used, closed by now
        if target.startswith(prefix):
            fds.append(target)
    with open("/proc/self/maps") as maps:
        mapped = [line.split(maxsplit=5)[-1].strip() for line in maps if prefix in line]
    return fds, mapped


@pytest.fixture(autouse=True)
def _no_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves a descriptor or a mapping of its own files open."""
    # Requested here, before the test, so that tmp_path is torn down after this check.
    root = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if root is None:
        return
    gc.collect()
    fds, mapped = _open_under(root)
    assert not fds, f"open file descriptors left behind: {fds}"
    assert not mapped, f"mappings left behind: {mapped}"
