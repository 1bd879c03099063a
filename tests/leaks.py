"""What a test leaves open: descriptors and mappings of files under a folder."""

from __future__ import annotations

import gc
import os
from pathlib import Path


def open_under(root: Path) -> list[str]:
    """Descriptors and mappings of files under ``root`` that this process holds.

    Collects garbage only when something is found, so that only a real leak
    costs a full collection.
    """
    found = _open_under(root)
    if found:
        gc.collect()
        found = _open_under(root)
    return found


def _open_under(root: Path) -> list[str]:
    prefix = str(root)
    found = []
    for entry in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{entry}")
        except OSError:
            continue  # the descriptor listdir itself used, closed by now
        if target.startswith(prefix):
            found.append(f"fd {entry} -> {target}")
    with open("/proc/self/maps") as maps:
        found += [f"mapping of {line.split(maxsplit=5)[-1].strip()}" for line in maps if prefix in line]
    return found
