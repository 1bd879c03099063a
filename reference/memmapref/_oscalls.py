"""The single seam through which memmapref talks to the operating system.

Every system call the reference makes goes through :data:`calls`. Fault tests
replace it (see :func:`installed`) to fail call *k* of a scenario, the way
SQLite's test VFS does, and check that each failure becomes a typed error with
no descriptor or mapping left behind.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from mmap import mmap as Mapping


class OsCalls:
    """Thin wrappers over ``os`` and ``mmap``; one method per system call."""

    def stat(self, path: str) -> os.stat_result:
        return os.stat(path)

    def access(self, path: str, mode: int) -> bool:
        return os.access(path, mode)

    def open(self, path: str, flags: int, mode: int = 0o666) -> int:
        return os.open(path, flags, mode)

    def fstat(self, fd: int) -> os.stat_result:
        return os.fstat(fd)

    def dup(self, fd: int) -> int:
        return os.dup(fd)

    def preadv(self, fd: int, buffers: list[memoryview], offset: int) -> int:
        return os.preadv(fd, buffers, offset)

    def fchmod(self, fd: int, mode: int) -> None:
        os.fchmod(fd, mode)

    def fallocate(self, fd: int, offset: int, length: int) -> None:
        os.posix_fallocate(fd, offset, length)

    def ftruncate(self, fd: int, length: int) -> None:
        os.ftruncate(fd, length)

    def mmap(self, fd: int, length: int, access: int, offset: int) -> Mapping:
        return mmap.mmap(fd, length, access=access, offset=offset)

    def msync(self, mapping: Mapping) -> None:
        mapping.flush()

    def fsync(self, fd: int) -> None:
        os.fsync(fd)

    def close(self, fd: int) -> None:
        os.close(fd)

    def replace(self, src: str, dst: str) -> None:
        os.replace(src, dst)

    def unlink(self, path: str) -> None:
        os.unlink(path)


calls: OsCalls = OsCalls()


def close_quietly(fd: int) -> None:
    """Close a descriptor on a path that is already failing or being released: its own error would hide that."""
    with suppress(OSError):
        calls.close(fd)


@contextmanager
def installed(replacement: OsCalls) -> Iterator[OsCalls]:
    """Route every system call through *replacement* for the duration of a block."""
    global calls
    previous, calls = calls, replacement
    try:
        yield replacement
    finally:
        calls = previous
