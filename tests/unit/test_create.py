"""create(): size, zero fill, replacement by rename, layout (SPEC.md section 2)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import numpy as np
import pytest

import memmapref
from memmapref import _oscalls


@pytest.mark.clause("CREATE.1", "CREATE.2")
@pytest.mark.parametrize("shape", [(0,), (3, 0), (7,), (4, 5, 6), ()])
@pytest.mark.parametrize("offset", [0, 3, 4096, 4099])
def test_size_is_exact_and_zero_filled(tmp_path: Path, shape: tuple[int, ...], offset: int) -> None:
    path = tmp_path / "a.bin"
    handle = memmapref.create(path, ">i4", shape, offset=offset)
    assert handle.mode == "w+"
    assert handle.array.dtype == np.dtype(">i4") and handle.array.shape == shape
    assert not handle.array.any()
    handle.close()
    assert path.read_bytes() == bytes(offset + 4 * int(np.prod(shape)))


@pytest.mark.clause("CREATE.3", "CREATE.5")
def test_replaces_an_existing_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"\xff" * 100)
    os.chmod(path, 0o640)
    with memmapref.create(path, np.uint8, (10,)) as handle:
        handle[:] = 1
    assert path.read_bytes() == b"\x01" * 10
    assert stat.S_IMODE(path.stat().st_mode) == 0o640, "the old file's permissions were not kept"
    assert sorted(os.listdir(tmp_path)) == ["a.bin"]


def test_creating_through_a_symlink_replaces_its_target(tmp_path: Path) -> None:
    target = tmp_path / "real.bin"
    target.write_bytes(b"old")
    link = tmp_path / "link.bin"
    link.symlink_to(target)
    memmapref.create(link, np.uint8, (2,)).close()
    assert link.is_symlink()
    assert target.read_bytes() == b"\x00\x00"


@pytest.mark.clause("CREATE.6", "OPEN.4")
def test_fortran_order_lays_out_columns(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    with memmapref.create(path, "<i2", (2, 3), order="F") as handle:
        assert handle.array.flags.f_contiguous and handle.order == "F"
        handle[:] = [[0, 1, 2], [3, 4, 5]]
    assert np.frombuffer(path.read_bytes(), "<i2").tolist() == [0, 3, 1, 4, 2, 5]


@pytest.mark.clause("CREATE.7")
def test_an_old_mapping_keeps_the_old_contents(tmp_path: Path) -> None:
    # Replacing by rename leaves the old inode to whoever maps it; truncating in
    # place would make this read a SIGBUS.
    path = tmp_path / "a.bin"
    with memmapref.create(path, np.int64, (1024,)) as first:
        first[:] = 7
    old = memmapref.open(path, np.int64)
    memmapref.create(path, np.int64, (8,)).close()
    assert int(old.array.sum()) == 7 * 1024
    old.close()
    assert path.stat().st_size == 64


@pytest.mark.clause("CREATE.5", "ARGS.9")
def test_bad_arguments_leave_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"keep me")
    with pytest.raises(TypeError):
        memmapref.create(path, np.float64, (2.0,))
    with pytest.raises(ValueError, match="order"):
        memmapref.create(path, np.float64, (2,), order="Q")
    assert path.read_bytes() == b"keep me"


def test_missing_directory_is_a_file_not_found_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="fix:"):
        memmapref.create(tmp_path / "no" / "such.bin", np.uint8, (1,))


class _NotWritable(_oscalls.OsCalls):
    """What os.access answers for a file the process may not write (root is never refused, so it is simulated)."""

    def access(self, path: str, mode: int) -> bool:
        return mode != os.W_OK and super().access(path, mode)


class _AccessFails(_oscalls.OsCalls):
    def access(self, path: str, mode: int) -> bool:
        raise OSError(errno.EIO, "Input/output error")


@pytest.mark.clause("CREATE.8")
def test_a_file_the_caller_may_not_write_is_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "theirs.bin"
    path.write_bytes(b"keep")
    with _oscalls.installed(_NotWritable()), pytest.raises(PermissionError, match="may not write") as info:
        memmapref.create(path, np.uint8, (3,))
    assert isinstance(info.value, memmapref.MemmapError)
    assert path.read_bytes() == b"keep" and sorted(os.listdir(tmp_path)) == ["theirs.bin"]
    with _oscalls.installed(_NotWritable()):
        memmapref.create(tmp_path / "new.bin", np.uint8, (3,)).close()


@pytest.mark.clause("CREATE.8", "FAULT.11")
def test_a_failed_permission_check_is_a_typed_error(tmp_path: Path) -> None:
    with _oscalls.installed(_AccessFails()), pytest.raises(OSError, match="permissions") as info:
        memmapref.create(tmp_path / "a.bin", np.uint8, (3,))
    assert info.value.errno == errno.EIO and os.listdir(tmp_path) == []
