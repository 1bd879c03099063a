"""What pyarrow's memory maps do where SPEC.md asks otherwise, in plain pyarrow, NumPy and os calls.

Each test backs a reason declared in ``memmapref.testing.impl_pyarrow``; if pyarrow
changes, the test fails here, next to the plain calls, as well as in the suite.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

from memmapref.testing.subproc import run_python

# ImportError too: pyarrow 26 refuses to import beside numpy 1.x.
pa = pytest.importorskip("pyarrow", reason="pyarrow is the optional extra memmapref[pyarrow]", exc_type=ImportError)


def _old_file(path: Path, size: int = 160) -> os.stat_result:
    path.write_bytes(bytes(range(256))[:size])
    return os.stat(path)


@pytest.mark.clause("OPEN.6")
def test_read_write_open_of_a_missing_file_creates_it(tmp_path: Path) -> None:
    path = tmp_path / "missing.bin"
    mapped = pa.memory_map(str(path), "r+")
    try:
        assert mapped.size() == 0
    finally:
        mapped.close()
    assert path.exists() and path.stat().st_size == 0


@pytest.mark.clause("OPEN.6")
def test_a_directory_is_a_plain_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="is a directory") as caught:
        pa.memory_map(str(tmp_path), "r")
    assert not isinstance(caught.value, IsADirectoryError)


@pytest.mark.clause("ARGS.8")
def test_a_pathlike_path_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    _old_file(path)
    with pytest.raises(TypeError, match="PosixPath"):
        pa.memory_map(path, "r")
    with pytest.raises(TypeError, match="PosixPath"):
        pa.create_memory_map(path, 8)


@pytest.mark.clause("ARGS.2", "ARGS.9", "ERR.1", "ERR.3", "CREATE.5")
def test_a_negative_size_truncates_the_file_then_fails(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    _old_file(path)
    with pytest.raises(OSError, match="Invalid argument") as caught:
        pa.create_memory_map(str(path), -8)
    assert caught.value.errno == errno.EINVAL and not isinstance(caught.value, ValueError)
    assert path.stat().st_size == 0


@pytest.mark.clause("ARGS.9", "ERR.3")
def test_a_float_size_is_accepted(tmp_path: Path) -> None:
    # What create_memory_map gets from a float shape (20.0, 20.0) of float64.
    path = tmp_path / "data.bin"
    _old_file(path)
    mapped = pa.create_memory_map(str(path), 20.0 * 20.0 * 8)
    mapped.close()
    assert path.read_bytes() == bytes(3200)


@pytest.mark.clause("ARGS.3", "ERR.1")
def test_a_size_past_int64_is_an_overflow_error(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    before = _old_file(path)
    with pytest.raises(OverflowError, match="too large to convert"):
        pa.create_memory_map(str(path), 2**40 * 2**40 * 8)
    assert os.stat(path).st_mtime_ns == before.st_mtime_ns and path.read_bytes() == bytes(range(160))


@pytest.mark.clause("ARGS.4", "ERR.1")
def test_an_object_dtype_over_the_buffer_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    _old_file(path)
    mapped = pa.memory_map(str(path), "r")
    try:
        # Only the array's metadata is looked at: reading an element would follow the file's bytes as pointers.
        array = np.ndarray((20,), dtype=object, buffer=mapped.read_buffer())
        assert array.dtype == np.dtype(object) and array.shape == (20,)
        del array
    finally:
        mapped.close()


@pytest.mark.clause("FAULT.1", "FAULT.2", "FAULT.3")
@pytest.mark.parametrize("size", [0, 100])
@pytest.mark.parametrize("mode", ["r", "r+"])
def test_a_file_too_short_is_a_type_error_from_numpy(tmp_path: Path, size: int, mode: str) -> None:
    path = tmp_path / "data.bin"
    before = _old_file(path, size)
    mapped = pa.memory_map(str(path), mode)
    try:
        assert mapped.size() == size
        with pytest.raises(TypeError, match="buffer is too small"):
            np.ndarray((4, 5), dtype=np.float64, buffer=mapped.read_buffer())
    finally:
        mapped.close()
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_a_writable_map_hands_out_immutable_buffers(tmp_path: Path) -> None:
    # Why the adapter builds its own writable view instead of np.frombuffer alone.
    path = tmp_path / "data.bin"
    _old_file(path)
    mapped = pa.memory_map(str(path), "r+")
    try:
        assert mapped.writable()
        buffer = mapped.read_buffer()
        assert not buffer.is_mutable
        assert not np.frombuffer(buffer, dtype=np.uint8).flags.writeable
        del buffer
    finally:
        mapped.close()


@pytest.mark.clause("CREATE.4", "CREATE.5", "CREATE.7")
def test_create_truncates_in_place_and_leaves_a_sparse_file(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    before = _old_file(path)
    size = 1 << 20
    mapped = pa.create_memory_map(str(path), size)
    mapped.close()
    after = os.stat(path)
    assert after.st_ino == before.st_ino, "a new inode: the old file was replaced, not truncated"
    assert after.st_size == size
    assert after.st_blocks * 512 < size, f"{after.st_blocks} blocks of 512 bytes reserved for {size} bytes"


_SIGBUS_CHILD = """
import os
import numpy as np
import pyarrow as pa
PATH = {path!r}
with open(PATH, "wb") as f:
    f.write(np.ones(1 << 16).tobytes())
mapped = pa.memory_map(PATH, "r")
array = np.frombuffer(mapped.read_buffer(), dtype=np.float64)
{cut}
print(float(np.mean(array)), flush=True)
"""


@pytest.mark.subprocess
@pytest.mark.parametrize(
    "cut",
    [
        # CREATE.7: create of the same path kills a reader of the old file.
        pytest.param(
            "pa.create_memory_map(PATH, 128).close()  # a smaller file at the same path",
            id="create-over-a-mapped-file",
            marks=pytest.mark.clause("CREATE.7"),
        ),
        # FAULT.9: a mean over a map whose file is truncated dies.
        pytest.param(
            "os.truncate(PATH, 0)  # as another process would",
            id="truncated-under-a-mean",
            marks=pytest.mark.clause("FAULT.9"),
        ),
    ],
)
def test_a_reader_of_a_file_cut_under_its_map_dies_of_sigbus(tmp_path: Path, cut: str) -> None:
    outcome = run_python(_SIGBUS_CHILD.format(path=str(tmp_path / "data.bin"), cut=cut))
    assert outcome.signal == "SIGBUS", outcome
