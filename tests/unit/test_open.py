"""open(): never changes the file; shapes, offsets, modes (SPEC.md section 3)."""

from __future__ import annotations

import mmap
from pathlib import Path

import numpy as np
import pytest
from common import files
from common.checks import assert_fifo_refused

import memmapref
from memmapref.errors import FileSizeError, MissingFileError, NotAFileError


def _state(path: Path) -> tuple[int, int, bytes]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns, path.read_bytes()


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    return files.data_file(tmp_path, np.arange(24, dtype="<f8").tobytes())


@pytest.mark.clause("OPEN.1", "OPEN.2")
@pytest.mark.parametrize("mode", ["r", "r+", "c"])
def test_short_file_is_refused_in_every_mode(data_file: Path, mode: str) -> None:
    before = _state(data_file)
    with pytest.raises(FileSizeError) as info:
        memmapref.open(data_file, "<f8", (5, 5), mode=mode)
    assert isinstance(info.value, ValueError)
    assert (info.value.expected, info.value.actual) == (200, 192)
    assert _state(data_file) == before


@pytest.mark.clause("OPEN.1")
@pytest.mark.parametrize("mode", ["r", "r+", "c"])
def test_open_and_close_change_nothing(data_file: Path, mode: str) -> None:
    before = _state(data_file)
    with memmapref.open(data_file, "<f8", (4, 6), mode=mode) as handle:
        assert handle.array.sum() == sum(range(24))
    assert _state(data_file) == before


@pytest.mark.clause("OPEN.3")
def test_shape_none(data_file: Path) -> None:
    with memmapref.open(data_file, "<f4") as handle:
        assert handle.shape == (48,)
    with memmapref.open(data_file, "<f8", offset=192) as handle:
        assert handle.shape == (0,)
    for dtype, offset in (("<f8", 4), ("<f8", 200), ("V5", 0)):
        with pytest.raises(FileSizeError):
            memmapref.open(data_file, dtype, offset=offset)


@pytest.mark.clause("OPEN.4", "OPEN.5")
@pytest.mark.parametrize(
    "offset", [1, 7, mmap.PAGESIZE - 1, mmap.ALLOCATIONGRANULARITY, mmap.ALLOCATIONGRANULARITY + 3]
)
@pytest.mark.parametrize("order", ["C", "F"])
def test_offsets_and_orders(tmp_path: Path, offset: int, order: str) -> None:
    values = np.arange(30, dtype=">u2").reshape(5, 6)
    path = tmp_path / "o.bin"
    path.write_bytes(b"\xee" * offset + values.tobytes(order=order))
    with memmapref.open(path, ">u2", (5, 6), offset=offset, order=order) as handle:
        assert np.array_equal(handle.array, values)
        assert handle.offset == offset


@pytest.mark.clause("OPEN.6")
def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError) as missing:
        memmapref.open(tmp_path / "nope.bin", np.uint8, mode="r+")
    assert isinstance(missing.value, FileNotFoundError) and missing.value.errno == 2
    assert not (tmp_path / "nope.bin").exists()
    with pytest.raises(NotAFileError) as directory:
        memmapref.open(tmp_path, np.uint8)
    assert isinstance(directory.value, IsADirectoryError)


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    assert_fifo_refused(tmp_path)


@pytest.mark.clause("OPEN.7")
def test_read_only(data_file: Path) -> None:
    before = _state(data_file)
    with memmapref.open(data_file, "<f8", mode="readonly") as handle:
        assert not handle.array.flags.writeable
        with pytest.raises(ValueError, match="mode 'r'"):
            handle[0] = 1.0
        with pytest.raises(ValueError):  # noqa: PT011 -- numpy's own message
            handle.array[0] = 1.0
    assert _state(data_file) == before


@pytest.mark.clause("OPEN.8")
def test_read_write_reaches_the_file(data_file: Path) -> None:
    with memmapref.open(data_file, "<f8", (4, 6), mode="r+") as handle:
        handle[1, :] = -1.0
        handle.flush()
        assert np.frombuffer(data_file.read_bytes(), "<f8")[6:12].tolist() == [-1.0] * 6


@pytest.mark.clause("OPEN.9", "HANDLE.3")
def test_copy_on_write_stays_private(data_file: Path) -> None:
    before = _state(data_file)
    with memmapref.open(data_file, "<f8", mode="c") as handle:
        handle[:] = 5.0
        handle.flush()
        assert handle.array.sum() == 5.0 * 24
    assert _state(data_file) == before


def test_zero_size_read_only_array_is_not_writable(tmp_path: Path) -> None:
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    with memmapref.open(path, np.float64, (0, 3)) as handle:
        assert not handle.array.flags.writeable
    with memmapref.open(path, np.float64, (0, 3), mode="r+") as handle:
        assert handle.array.flags.writeable
