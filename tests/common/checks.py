"""Test bodies that more than one area of the tests runs, each against its own setup."""

from __future__ import annotations

import errno
import os
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import pytest

import memmapref
from memmapref.errors import FlushError, NotAFileError


def assert_fifo_refused(folder: Path) -> None:
    """``open`` of a FIFO raises NotAFileError (an IsADirectoryError) at once instead of blocking on it."""
    fifo = folder / "pipe"
    os.mkfifo(fifo)
    # Opening a FIFO for reading would block until a writer comes: the type is checked first.
    with pytest.raises(NotAFileError, match="not a regular file") as info:
        memmapref.open(fifo, "<f8", (12,))
    assert isinstance(info.value, IsADirectoryError)


def assert_failed_flush_sticks(
    handle: memmapref.MappedArray, failing: AbstractContextManager[object] | None = None
) -> None:
    """A flush of ``handle`` that fails with EIO while ``failing`` is active is never followed by a success.

    The kernel marks pages whose write-back failed clean, so a retry would "succeed"
    with the data lost (SPEC.md HANDLE.8). The later flushes run after ``failing``
    has ended (if given), where a retry would reach the kernel and succeed. ``close()`` raises
    too, closes the handle, and may be called again.
    """
    with failing or nullcontext(), pytest.raises(FlushError) as first:
        handle.flush()
    assert isinstance(first.value, OSError)
    assert first.value.errno == errno.EIO
    for _ in range(3):
        with pytest.raises(FlushError) as info:
            handle.flush()
        assert info.value.errno == errno.EIO
        assert "lost" in str(info.value)
    with pytest.raises(FlushError):
        handle.close()
    assert handle.closed
    handle.close()
