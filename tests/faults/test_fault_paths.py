"""Permissions and paths: a clear error, and nothing created or changed (SPEC.md OPEN.6, ARGS.8, FAULT.10)."""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from common import files
from common.checks import assert_fifo_refused

import memmapref
from memmapref.errors import MemmapError, MemmapOSError, NotAFileError, PathComponentError, PathTypeError
from memmapref.testing.oracle import FileState
from memmapref.testing.subproc import run_python

NOBODY = 65534
DATA = np.arange(12, dtype="<f8").tobytes()


def _listing(directory: Path) -> dict[str, FileState]:
    return {name: FileState.of(directory / name) for name in sorted(os.listdir(directory))}


def _call(call: str, path: Any) -> None:
    """``create`` or ``open`` (``open-MODE``; plain ``open`` is mode r+) of a 12-item float64 file, closed at once."""
    if call == "create":
        memmapref.create(path, "<f8", (12,)).close()
    else:
        mode = call.removeprefix("open-") if call != "open" else "r+"
        memmapref.open(path, "<f8", (12,), mode=mode).close()


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    return files.data_file(tmp_path, DATA)


@pytest.mark.clause("OPEN.6", "ERR.1", "ERR.3")
@pytest.mark.parametrize("mode", ["r", "r+", "c"])
def test_missing_file(tmp_path: Path, mode: str) -> None:
    with pytest.raises(FileNotFoundError) as info:
        memmapref.open(tmp_path / "missing.bin", "<f8", (12,), mode=mode)
    assert isinstance(info.value, MemmapError)
    assert "memmapref.create" in str(info.value), "the fix should name the way to make the file"
    assert os.listdir(tmp_path) == []


@pytest.mark.clause("OPEN.6", "ERR.1", "ERR.3")
@pytest.mark.parametrize("mode", ["r", "r+", "c"])
def test_directory(tmp_path: Path, mode: str) -> None:
    with pytest.raises(IsADirectoryError) as info:
        memmapref.open(tmp_path, "<f8", (12,), mode=mode)
    assert isinstance(info.value, NotAFileError)
    assert "directory" in str(info.value)


@pytest.mark.clause("CREATE.5", "ERR.3")
def test_create_over_a_directory_leaves_it_alone(tmp_path: Path) -> None:
    target = tmp_path / "folder"
    target.mkdir()
    (target / "inside.txt").write_text("keep")
    with pytest.raises(IsADirectoryError):
        memmapref.create(target, "<f8", (12,))
    assert sorted(os.listdir(tmp_path)) == ["folder"], "a temporary file was left beside the directory"
    assert (target / "inside.txt").read_text() == "keep"


@pytest.mark.clause("OPEN.6")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    assert_fifo_refused(tmp_path)


@pytest.mark.clause("FAULT.10", "ERR.1")
@pytest.mark.parametrize("call", ["open-r", "open-r+", "create"])
def test_path_through_a_regular_file(data_file: Path, call: str) -> None:
    inner = data_file / "inner.bin"
    before = _listing(data_file.parent)
    with pytest.raises(NotADirectoryError) as info:
        _call(call, inner)
    assert isinstance(info.value, PathComponentError)
    assert info.value.errno == errno.ENOTDIR
    assert _listing(data_file.parent) == before


@pytest.mark.clause("ARGS.8", "ARGS.9", "ERR.2")
@pytest.mark.parametrize(
    "bad", [3, 3.5, None, ["data.bin"], io.BytesIO(DATA)], ids=["fd-number", "float", "None", "list", "file-object"]
)
@pytest.mark.parametrize("call", ["open", "create"])
def test_a_path_that_is_not_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: Any, call: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.bin").write_bytes(DATA)
    before = _listing(tmp_path)
    with pytest.raises(TypeError) as info:
        _call(call, bad)
    assert isinstance(info.value, PathTypeError)
    assert "str, bytes or os.PathLike" in str(info.value)
    assert _listing(tmp_path) == before


@pytest.mark.clause("ARGS.9")
@pytest.mark.parametrize("call", ["open", "create"])
def test_a_path_with_a_nul_byte(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="null"):
        _call(call, "data\0.bin")
    assert os.listdir(tmp_path) == []


@pytest.mark.clause("FAULT.11")
def test_a_name_too_long(tmp_path: Path) -> None:
    with pytest.raises(MemmapOSError) as info:
        memmapref.open(tmp_path / ("x" * 300), "<f8", (12,))
    assert info.value.errno == errno.ENAMETOOLONG
    assert isinstance(info.value, MemmapError)


def test_bytes_and_pathlike_paths(data_file: Path) -> None:
    for spelling in (data_file, str(data_file), os.fsencode(data_file)):
        with memmapref.open(spelling, "<f8", (12,)) as handle:
            assert handle.path == str(data_file)
            assert np.asarray(handle).tobytes() == DATA


# -- symbolic links ------------------------------------------------------------------------


def test_open_through_a_symlink(data_file: Path) -> None:
    link = data_file.parent / "link.bin"
    link.symlink_to(data_file)
    with memmapref.open(link, "<f8", (12,), mode="r+") as handle:
        handle[0] = 99.0
    assert np.frombuffer(data_file.read_bytes(), "<f8")[0] == 99.0


@pytest.mark.clause("OPEN.6")
@pytest.mark.parametrize("mode", ["r", "r+", "c"])
def test_open_a_dangling_symlink(tmp_path: Path, mode: str) -> None:
    link = tmp_path / "link.bin"
    link.symlink_to(tmp_path / "nowhere.bin")
    with pytest.raises(FileNotFoundError):
        memmapref.open(link, "<f8", (12,), mode=mode)
    assert sorted(os.listdir(tmp_path)) == ["link.bin"]


@pytest.mark.clause("OPEN.6")
def test_open_a_symlink_to_a_directory(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "folder")
    with pytest.raises(IsADirectoryError):
        memmapref.open(link, "<f8", (12,))


@pytest.mark.clause("FAULT.11")
@pytest.mark.parametrize("call", ["open", "create"])
def test_a_symlink_loop(tmp_path: Path, call: str) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(MemmapOSError) as info:
        _call(call, loop)
    assert info.value.errno == errno.ELOOP
    assert isinstance(info.value, MemmapError)
    assert os.listdir(tmp_path) == ["loop"] and loop.is_symlink()


@pytest.mark.clause("CREATE.3")
@pytest.mark.parametrize("writer", ["memmapref", "numpy.memmap"])
def test_create_through_a_symlink_replaces_the_file_it_names(data_file: Path, writer: str) -> None:
    """Both keep the link and replace what it names; the reference with a new inode beside the target."""
    link = data_file.parent / "link.bin"
    link.symlink_to(data_file)
    if writer == "memmapref":
        memmapref.create(link, "<f8", (4,)).close()
    else:
        np.memmap(link, dtype="<f8", mode="w+", shape=(4,)).flush()
    assert link.is_symlink(), "create replaced the link instead of the file it names"
    assert data_file.read_bytes() == bytes(32)
    assert sorted(os.listdir(data_file.parent)) == ["data.bin", "link.bin"]


@pytest.mark.parametrize("writer", ["memmapref", "numpy.memmap"])
def test_create_through_a_dangling_symlink_makes_the_file_it_names(tmp_path: Path, writer: str) -> None:
    link = tmp_path / "link.bin"
    link.symlink_to(tmp_path / "target.bin")
    if writer == "memmapref":
        memmapref.create(link, "<f8", (4,)).close()
    else:
        np.memmap(link, dtype="<f8", mode="w+", shape=(4,)).flush()
    assert link.is_symlink()
    assert (tmp_path / "target.bin").read_bytes() == bytes(32)


# -- permissions, as an unprivileged user -------------------------------------------------

_AS_NOBODY = """
import json, os
import numpy as np
import memmapref
# Everything is imported while still root; then the child becomes nobody, for whom permission bits count.
os.setgroups([])
os.setgid({nobody})
os.setuid({nobody})
BASE = {base!r}

def attempt(name, call):
    try:
        result = call()
        close = getattr(result, "close", None) or getattr(result, "flush", None)
        if close is not None:
            close()
        outcome = {{"ok": True}}
    except Exception as exc:
        outcome = {{"error": type(exc).__name__, "mro": [c.__name__ for c in type(exc).__mro__], "message": str(exc)}}
    print(json.dumps([name, outcome]), flush=True)

ro = os.path.join(BASE, "ro.bin")
attempt("reference r+ on a read-only file", lambda: memmapref.open(ro, "<f8", (12,), mode="r+"))
attempt("numpy r+ on a read-only file", lambda: np.memmap(ro, dtype="<f8", mode="r+", shape=(12,)))
attempt("reference r on a read-only file", lambda: memmapref.open(ro, "<f8", (12,), mode="r"))
attempt("reference c on a read-only file", lambda: memmapref.open(ro, "<f8", (12,), mode="c"))
locked = os.path.join(BASE, "locked")
attempt("reference create in a read-only directory",
        lambda: memmapref.create(os.path.join(locked, "new.bin"), "<f8", (12,)))
attempt("reference create over a writable file in a read-only directory",
        lambda: memmapref.create(os.path.join(locked, "mine.bin"), "<f8", (4,)))
attempt("numpy w+ over a writable file in a read-only directory",
        lambda: np.memmap(os.path.join(locked, "mine2.bin"), dtype="<f8", mode="w+", shape=(4,)))
own = os.path.join(BASE, "own")
attempt("numpy w+ over a read-only file in a writable directory",
        lambda: np.memmap(os.path.join(own, "theirs2.bin"), dtype="<f8", mode="w+", shape=(4,)))
attempt("reference create over a read-only file in a writable directory",
        lambda: memmapref.create(os.path.join(own, "theirs.bin"), "<f8", (4,)))
"""


@pytest.mark.subprocess
@pytest.mark.clause("OPEN.6", "CREATE.5", "CREATE.8", "ERR.3")
def test_permissions_as_an_unprivileged_user() -> None:
    """Root ignores permission bits, so the checks run in a child that has become ``nobody``."""
    if os.geteuid() != 0:
        pytest.skip("needs root to lay out files owned by another user and then drop to that user")
    base = Path(tempfile.mkdtemp(prefix="memmapref-permissions-"))
    try:
        base.chmod(0o755)  # mkdtemp makes it 0700: nobody could not even look inside
        (base / "ro.bin").write_bytes(DATA)
        (base / "ro.bin").chmod(0o444)
        locked = base / "locked"
        locked.mkdir(mode=0o755)
        for name in ("mine.bin", "mine2.bin"):
            (locked / name).write_bytes(DATA)
            os.chown(locked / name, NOBODY, NOBODY)
        own = base / "own"
        own.mkdir(mode=0o755)
        os.chown(own, NOBODY, NOBODY)
        for name in ("theirs.bin", "theirs2.bin"):
            (own / name).write_bytes(DATA)
            (own / name).chmod(0o444)
        refused_files = (base / "ro.bin", locked / "mine.bin", own / "theirs.bin", own / "theirs2.bin")
        before = {p: FileState.of(p) for p in refused_files}

        outcome = run_python(_AS_NOBODY.format(nobody=NOBODY, base=str(base)))
        assert outcome.returncode == 0, outcome.stderr[-2000:]
        got = dict(json.loads(line) for line in outcome.stdout.strip().splitlines())

        def refused(name: str) -> dict[str, Any]:
            result = got[name]
            assert "PermissionError" in result.get("mro", []), f"{name}: got {result}; expected PermissionError"
            return result

        assert "MemmapError" in refused("reference r+ on a read-only file")["mro"]
        assert "mode 'r' or 'c'" in got["reference r+ on a read-only file"]["message"], "the fix should name the modes"
        refused("numpy r+ on a read-only file")
        assert got["reference r on a read-only file"] == {"ok": True}
        assert got["reference c on a read-only file"] == {"ok": True}
        refused("reference create in a read-only directory")
        # The reference builds the new file beside the old one, so it needs the directory;
        # numpy.memmap truncates the file in place and needs only the file.
        refused("reference create over a writable file in a read-only directory")
        assert got["numpy w+ over a writable file in a read-only directory"] == {"ok": True}
        # A file the caller may not write is not replaced, though a rename would be allowed (CREATE.8).
        refused("numpy w+ over a read-only file in a writable directory")
        assert "MemmapError" in refused("reference create over a read-only file in a writable directory")["mro"]

        assert sorted(os.listdir(locked)) == ["mine.bin", "mine2.bin"], "a refused create left a file behind"
        changed = [str(p) for p, state in before.items() if FileState.of(p) != state]
        assert not changed, f"refused calls changed {changed}"
    finally:
        shutil.rmtree(base, ignore_errors=True)
