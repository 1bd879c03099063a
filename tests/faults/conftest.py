"""Fixtures of the fault tests."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from leaks import open_under

_SHM = Path("/dev/shm")


@pytest.fixture
def fast_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory where fsync costs nothing (tmpfs), for loops that create hundreds of files.

    What the loops check is the reference's side of each system call, not the
    disk's, so a memory filesystem loses nothing. Falls back to ``tmp_path``.
    """
    if not (_SHM.is_dir() and os.access(_SHM, os.W_OK)):
        yield tmp_path
        return
    root = Path(tempfile.mkdtemp(prefix="memmapref-faults-", dir=_SHM))
    try:
        yield root
        left = open_under(root)
        assert not left, f"left open: {left}"
    finally:
        shutil.rmtree(root, ignore_errors=True)
