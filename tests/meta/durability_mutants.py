"""Mutants of the reference with one durability bug each, for the durability suite to catch.

Importable as ``--impl durability_mutants:NAME`` with this folder on ``sys.path``. ``EXPECTED``
names, for each mutant, the clause the suite must report as failed, and whether the bug shows under
the Linux model too (``False``: under POSIX only).
"""

from __future__ import annotations

import os
import stat
from typing import Any

from common.wrappers import ReferenceWrapper

from memmapref import _oscalls, mapped
from memmapref._oscalls import OsCalls


class _FileSyncSkipped(OsCalls):
    """Believes msync is enough: fsync only directories."""

    def fsync(self, fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            os.fsync(fd)


class _DirectorySyncSkipped(OsCalls):
    def fsync(self, fd: int) -> None:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            os.fsync(fd)


class _FirstPageOnly(OsCalls):
    """msync of the first page of the mapping only, and no fsync: the rest is left to the kernel."""

    def msync(self, mapping: Any) -> None:
        mapping.flush(0, min(len(mapping), os.sysconf("SC_PAGE_SIZE")))

    def fsync(self, fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            os.fsync(fd)


class _Mutant(ReferenceWrapper):
    calls: OsCalls = OsCalls()

    def __init__(self, name: str) -> None:
        super().__init__(name)
        _oscalls.calls = self.calls


class _MsyncWithoutFsync(_Mutant):
    calls = _FileSyncSkipped()


class _MsyncFirstPage(_Mutant):
    calls = _FirstPageOnly()


class _NoDirectorySync(_Mutant):
    calls = _DirectorySyncSkipped()


class _CloseWithoutFlush(_Mutant):
    """close() releases the mapping and the descriptor, and forgets to flush."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        mapped.MappedArray.close = _close_without_flush  # type: ignore[method-assign]


def _close_without_flush(self: mapped.MappedArray) -> None:
    if self._array is None:
        return
    self._discard()


class _FlushForgetsFailure(_Mutant):
    """A failed flush is not remembered: the next one tries again and reports success."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        original = mapped.MappedArray._sync

        def forgetful(handle: mapped.MappedArray) -> None:
            handle._flush_error = None
            original(handle)

        mapped.MappedArray._sync = forgetful  # type: ignore[method-assign]


# Each mutant changes the reference's module state when it is built: build only the one asked for.
def msync_without_fsync() -> _Mutant:
    return _MsyncWithoutFsync("msync-without-fsync")


def msync_first_page() -> _Mutant:
    return _MsyncFirstPage("msync-first-page")


def no_directory_sync() -> _Mutant:
    return _NoDirectorySync("no-directory-sync")


def close_without_flush() -> _Mutant:
    return _CloseWithoutFlush("close-without-flush")


def flush_forgets_failure() -> _Mutant:
    return _FlushForgetsFailure("flush-forgets-failure")


# mutant factory -> (clause that must fail, whether it fails under the Linux model too)
EXPECTED: dict[str, tuple[str, bool]] = {
    "msync_without_fsync": ("HANDLE.3", False),
    "msync_first_page": ("HANDLE.3", True),
    "no_directory_sync": ("CREATE.9", True),
    "close_without_flush": ("HANDLE.4", True),
    "flush_forgets_failure": ("HANDLE.8", True),
}
