"""Paths and files under a test's own folder."""

from __future__ import annotations

import itertools
from pathlib import Path

# One counter for the process: a Hypothesis example that fails and is replayed gets a new folder too.
_folders = itertools.count()


def fresh_path(root: Path, name: str = "data.bin") -> Path:
    """``name`` in a new, empty folder under ``root``: one per Hypothesis example, which shares a ``tmp_path``."""
    folder = root / f"example-{next(_folders)}"
    folder.mkdir()
    return folder / name


def data_file(folder: Path, data: bytes, name: str = "data.bin") -> Path:
    """A file ``name`` in ``folder`` holding ``data``: the usual subject of a test of ``open``."""
    path = folder / name
    path.write_bytes(data)
    return path
