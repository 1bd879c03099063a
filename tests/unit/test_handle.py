"""The handle: views, flush, close, closed use, attributes (SPEC.md section 4)."""

from __future__ import annotations

import errno
import gc
import mmap
import threading
import weakref
from pathlib import Path

import numpy as np
import pytest
from common.checks import assert_failed_flush_sticks

import memmapref
from memmapref import _oscalls
from memmapref.errors import ClosedError, FileSizeError


@pytest.fixture
def handle(tmp_path: Path) -> memmapref.MappedArray:
    return memmapref.create(tmp_path / "h.bin", np.float32, (4, 4))


@pytest.mark.clause("HANDLE.1")
def test_asarray_shares_memory(handle: memmapref.MappedArray) -> None:
    view = np.asarray(handle)
    handle[2, 2] = 9
    assert view[2, 2] == 9 and np.shares_memory(view, handle.array)
    assert np.asarray(handle, dtype=np.float64)[2, 2] == 9
    copy = np.array(handle, copy=True)
    # numpy 2 passes copy=True through the array protocol; numpy 1.x never does, so it is called here directly.
    protocol_copy = handle.__array__(copy=True)
    handle[2, 2] = 0
    assert copy[2, 2] == 9 and len(handle) == 4
    assert protocol_copy[2, 2] == 9 and not np.shares_memory(protocol_copy, handle.array)
    del view
    handle.close()


@pytest.mark.clause("HANDLE.4", "HANDLE.6")
def test_close_is_idempotent_and_final(handle: memmapref.MappedArray) -> None:
    with handle as same:
        assert same is handle and "open" in repr(handle)
    assert handle.closed and "closed" in repr(handle)
    handle.close()
    for use in (lambda: handle.array, lambda: handle[0], handle.flush, lambda: handle.__setitem__(0, 1)):
        with pytest.raises(ClosedError) as info:
            use()
        assert isinstance(info.value, ValueError)


@pytest.mark.clause("HANDLE.4", "HANDLE.2")
def test_close_flushes(tmp_path: Path) -> None:
    path = tmp_path / "c.bin"
    handle = memmapref.create(path, "<u2", (3,))
    handle[:] = [1, 2, 3]
    handle.close()
    assert path.read_bytes() == b"\x01\x00\x02\x00\x03\x00"


@pytest.mark.clause("HANDLE.5")
def test_views_outlive_close_and_release_the_mapping(handle: memmapref.MappedArray) -> None:
    handle[:] = np.arange(16).reshape(4, 4)
    mapping = weakref.ref(handle._mapping)
    row = handle.array[1]
    handle.close()
    gc.collect()
    assert row.tolist() == [4, 5, 6, 7], "a view died with the handle"
    assert mapping() is not None, "the mapping was released under a live view"
    del row
    gc.collect()
    assert mapping() is None, "the mapping outlived its last view"


@pytest.mark.clause("HANDLE.7")
def test_attributes(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    with memmapref.create(path, ">f8", [np.int64(2), 3], offset=5, order="F") as handle:
        assert (handle.path, handle.mode, handle.dtype, handle.shape, handle.offset, handle.order) == (
            str(path),
            "w+",
            np.dtype(">f8"),
            (2, 3),
            5,
            "F",
        )


class _FailingMsync(_oscalls.OsCalls):
    def __init__(self) -> None:
        self.failures = 0
        # The seam is process-wide: a thread another test left running must not take this test's failure.
        self.thread = threading.get_ident()

    def msync(self, mapping: mmap.mmap) -> None:
        if threading.get_ident() != self.thread:
            super().msync(mapping)
            return
        self.failures += 1
        if self.failures == 1:
            raise OSError(errno.EIO, "Input/output error")
        super().msync(mapping)


@pytest.mark.clause("HANDLE.8")
def test_a_failed_flush_is_never_followed_by_success(handle: memmapref.MappedArray) -> None:
    handle[:] = 1
    with _oscalls.installed(_FailingMsync()) as calls:
        assert_failed_flush_sticks(handle)
    assert calls.failures == 1, "a later flush asked the kernel again and could have reported success"


@pytest.mark.clause("HANDLE.3")
@pytest.mark.parametrize("mode", ["r", "c"])
def test_flush_without_write_access_touches_nothing(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "r.bin"
    path.write_bytes(bytes(16))
    before = path.stat().st_mtime_ns
    with memmapref.open(path, np.uint8, mode=mode) as handle:
        with _oscalls.installed(_FailingMsync()) as calls:
            handle.flush()
        assert calls.failures == 0
    assert path.stat().st_mtime_ns == before


@pytest.mark.clause("REDUCE.3")
def test_check_size_notices_a_shrunk_file(tmp_path: Path) -> None:
    path = tmp_path / "s.bin"
    with memmapref.create(path, np.float64, (1024,)) as handle:
        handle.check_size()
        # Shrinking touches no page of the mapping, and neither does check_size
        # or the msync of close(): no SIGBUS here.
        with open(path, "r+b") as f:
            f.truncate(100)
        with pytest.raises(FileSizeError, match="shrunk to 100 bytes") as info:
            handle.check_size()
        assert (info.value.expected, info.value.actual) == (8192, 100)
