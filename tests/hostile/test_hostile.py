"""Hostile arguments and faults: a typed error or the documented result, and nothing else.

Every property draws arguments of every type and shape (numpy scalars and
arrays where scalars are expected, huge and negative numbers, odd path
strings) and asserts, after each example: the call returned what SPEC.md says
or raised a :class:`memmapref.MemmapError`; the existing file's bytes, size
and mtime are unchanged; no descriptor, mapping or temporary file is left.
"""

from __future__ import annotations

import copy
import errno
import os
import pickle
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from leaks import open_under

import memmapref
from memmapref import _chunking, _newfile, _oscalls, _validate, mapped
from memmapref._oscalls import OsCalls
from memmapref._validate import Request
from memmapref.errors import (
    DtypeError,
    HandleCopyError,
    LayoutError,
    MemmapError,
    MissingFileError,
    NotAFileError,
    OffsetError,
    OrderError,
    PathComponentError,
    PathTypeError,
    PathValueError,
    ShapeValueError,
)
from memmapref.testing.oracle import read_bytes
from memmapref.testing.subproc import run_python

DATA = np.arange(16, dtype="<f8")

# ---------------------------------------------------------------------------
# Helpers


def _state(path: Path) -> tuple[bytes, int, int]:
    info = os.stat(path)
    return read_bytes(path), info.st_size, info.st_mtime_ns


@contextmanager
def _world() -> Iterator[Path]:
    """A fresh directory with data.bin (16 float64) and a subdirectory, checked for leftovers at the end."""
    with tempfile.TemporaryDirectory() as name:
        root = Path(name)
        (root / "data.bin").write_bytes(DATA.tobytes())
        (root / "sub").mkdir()
        yield root
        assert not open_under(root), f"left open: {open_under(root)}"
        stray = [p for p in os.listdir(root) if p.endswith(".tmp")]
        assert not stray, f"temporary files left: {stray}"


class _FsPathInt:
    def __fspath__(self) -> Any:
        return 3


# Paths relative to the world's root; none of them leaves it.
_PATH_FORMS = [
    "data.bin",
    "data.bin/",
    "data.bin/.",
    "data.bin/x",
    "data.bin//",
    "missing.bin/",
    "missing.bin/.",
    "sub",
    "sub/",
    "sub/.",
    "sub/..",
    "",
    ".",
    "data\0.bin",
    "bad\udcff\ud800.bin",
    "n" * 255,
    "n" * 256,
]

_paths = st.one_of(
    st.sampled_from(_PATH_FORMS),
    st.text(st.characters(blacklist_characters="/\0", blacklist_categories=("Cs",)), min_size=1, max_size=12).filter(
        lambda s: s not in (".", "..")
    ),
)


def _full(root: Path, rel: str) -> Any:
    return str(root) + "/" + rel if rel else rel


# Legal values stay small, so that a create that succeeds writes a few bytes, not terabytes.
_odd_numbers = st.one_of(
    st.integers(-3, 64),
    st.sampled_from([2**63, 2**64, -(2**70), 2**70, sys.maxsize, sys.maxsize + 1, -sys.maxsize - 2]),
    st.floats(allow_nan=True),
    st.booleans(),
    st.sampled_from([np.int64(3), np.uint64(2**63), np.float64(2.0), np.bool_(True), np.array(3), np.array([2, 3])]),
    st.none(),
    st.text(max_size=3),
)
_shapes = st.one_of(
    _odd_numbers,
    st.lists(_odd_numbers, max_size=3),
    st.lists(st.integers(0, 3), max_size=70).map(tuple),
    st.sampled_from([(0, 2**63), (0, 2**62, 4), (2**40, 0, 2**40), (4,), (2, 2)]),
)
_dtypes = st.sampled_from(
    ["<f8", ">i4", "u1", "S3", np.float32, ("f8", (1,) * 64), ("f8", (2,)), "V0", "O", object, 3, "float65", None]
)
_orders = st.one_of(st.sampled_from(["C", "F", "A", "c", None, b"C", 0]), st.just(np.array(["C"])))
_modes = st.one_of(
    st.sampled_from(["r", "r+", "c", "readonly", "w+", "write", "x", "", None, 1]), st.just(np.array(["r"]))
)

_SLOW = settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)


def _only_typed(exc: BaseException) -> None:
    assert isinstance(exc, MemmapError), f"untyped {type(exc).__name__}: {exc}"


# ---------------------------------------------------------------------------
# Properties


@pytest.mark.clause("ARGS.9")
@pytest.mark.clause("ERR.1")
@_SLOW
@given(rel=_paths, dtype=_dtypes, shape=_shapes, offset=_odd_numbers, order=_orders)
def test_create_with_anything(rel: str, dtype: Any, shape: Any, offset: Any, order: Any) -> None:
    with _world() as root:
        before = _state(root / "data.bin")
        listing = set(os.listdir(root))
        target = _full(root, rel)
        try:
            handle = memmapref.create(target, dtype, shape, offset=offset, order=order)
        except BaseException as exc:
            _only_typed(exc)
            assert _state(root / "data.bin") == before
            assert set(os.listdir(root)) == listing
            return
        with handle:
            size = handle.offset + handle.dtype.itemsize * int(np.prod(handle.shape, dtype=object))
        # A success wrote exactly one regular file at the named place, of the documented size.
        assert os.path.isfile(target) and os.path.getsize(target) == size
        assert rel not in ("sub", "sub/", "sub/.", "sub/..", ".") and not rel.endswith("/")
        if os.path.realpath(target) != os.path.realpath(root / "data.bin"):
            assert _state(root / "data.bin") == before


@pytest.mark.clause("ARGS.9")
@pytest.mark.clause("ERR.1")
@_SLOW
@given(rel=_paths, dtype=_dtypes, shape=st.one_of(st.none(), _shapes), offset=_odd_numbers, order=_orders, mode=_modes)
def test_open_with_anything(rel: str, dtype: Any, shape: Any, offset: Any, order: Any, mode: Any) -> None:
    with _world() as root:
        before = _state(root / "data.bin")
        listing = set(os.listdir(root))
        try:
            handle = memmapref.open(_full(root, rel), dtype, shape, mode=mode, offset=offset, order=order)
        except BaseException as exc:
            _only_typed(exc)
        else:
            handle.close()
        assert _state(root / "data.bin") == before
        assert set(os.listdir(root)) == listing


_thresholds = st.one_of(
    _odd_numbers,
    st.sampled_from([np.float32(1.5), np.int8(-3), np.uint64(2**64 - 1), np.array(2.0), np.nan, -np.inf, "a", b"1"]),
    st.just(np.array([1.0, 2.0])),
    st.complex_numbers(allow_nan=True),
)


@pytest.mark.clause("ERR.1")
@_SLOW
@given(threshold=_thresholds, threads=_odd_numbers, chunk_bytes=_odd_numbers, kind=st.sampled_from(["<i4", ">i8"]))
def test_filtered_sum_with_anything(threshold: Any, threads: Any, chunk_bytes: Any, kind: str) -> None:
    values = np.arange(-50, 50, dtype=kind)
    with _world() as root:
        path = root / "ints.bin"
        path.write_bytes(values.tobytes())
        before = _state(path)
        with memmapref.open(path, kind) as handle:
            try:
                expected: Any = values[values > threshold].sum()
            except Exception as exc:  # numpy refuses: the reduction raises numpy's own exception
                with pytest.raises((type(exc), MemmapError)):
                    memmapref.filtered_sum(handle, threshold, threads=threads, chunk_bytes=chunk_bytes)
                return
            started = time.perf_counter()
            try:
                got = memmapref.filtered_sum(handle, threshold, threads=threads, chunk_bytes=chunk_bytes)
            except BaseException as exc:
                _only_typed(exc)
            else:
                assert got == expected and got.dtype == expected.dtype
            # A thread count or a chunk size never makes the call crawl (hundreds of seconds before).
            assert time.perf_counter() - started < 5
        assert _state(path) == before


# ---------------------------------------------------------------------------
# Class 1: a path that names a directory, or goes through a file


@pytest.mark.clause("FAULT.10")
@pytest.mark.parametrize(
    ("rel", "error"),
    [
        ("data.bin/", PathComponentError),
        ("data.bin/.", PathComponentError),
        ("data.bin//", PathComponentError),
        ("data.bin/x", PathComponentError),
        ("missing.bin/", MissingFileError),
        ("missing.bin/.", MissingFileError),
        ("sub", NotAFileError),
        ("sub/", NotAFileError),
        ("sub/..", NotAFileError),
    ],
)
def test_create_and_open_refuse_a_directory_path_alike(rel: str, error: type[OSError]) -> None:
    with _world() as root:
        before = _state(root / "data.bin")
        listing = set(os.listdir(root))
        for call in (lambda p: memmapref.create(p, "f8", 2), lambda p: memmapref.open(p, "f8")):
            with pytest.raises(error):
                call(_full(root, rel))
        assert _state(root / "data.bin") == before
        assert set(os.listdir(root)) == listing


# ---------------------------------------------------------------------------
# Class 2: numpy's refusals are validated before the first system call


class _CountingCalls(OsCalls):
    """Counts calls; with ``fail_at``, call k raises ``exc`` (not an OSError: numpy's or the interpreter's)."""

    def __init__(self, fail_at: int | None = None, exc: BaseException | None = None) -> None:
        self.count = 0
        self.fail_at = fail_at
        self.exc = exc
        self.log: list[str] = []

    def _tick(self, name: str) -> None:
        self.log.append(name)
        self.count += 1
        if self.count == self.fail_at:
            assert self.exc is not None
            raise self.exc


for _name in ("stat", "access", "open", "fstat", "fchmod", "fallocate", "ftruncate", "mmap", "fsync", "replace"):

    def _gated(self: _CountingCalls, *args: Any, _name: str = _name) -> Any:
        self._tick(_name)
        return getattr(OsCalls, _name)(self, *args)

    setattr(_CountingCalls, _name, _gated)


def _subarray_refusal() -> type[MemmapError]:
    """A 63-dimension subarray dtype: numpy 1.x refuses the dtype itself (at most 32 dimensions)."""
    try:
        np.dtype(("f8", (1,) * 63))
    except ValueError:
        return DtypeError
    return ShapeValueError


@pytest.mark.clause("ERR.3")
@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"shape": (0, 2**63)}, ShapeValueError),
        ({"shape": (0, 2**62, 4)}, ShapeValueError),
        ({"shape": (2, 2), "dtype": ("f8", (1,) * 63)}, _subarray_refusal()),
        ({"shape": 2, "offset": 2**63}, OffsetError),
        ({"shape": 2, "offset": sys.maxsize - 8}, OffsetError),
        ({"shape": 2, "order": np.array(["C"])}, OrderError),
    ],
)
@pytest.mark.parametrize("call", ["create", "open"])
def test_numpy_refusals_are_typed_before_any_system_call(kwargs: dict[str, Any], error: type, call: str) -> None:
    args = {"dtype": "f8", **kwargs}
    with _world() as root:
        before = _state(root / "data.bin")
        with _oscalls.installed(_CountingCalls()) as calls, pytest.raises(error):
            getattr(memmapref, call)(root / "data.bin", **args)
        assert calls.count == 0
        assert _state(root / "data.bin") == before


@pytest.mark.clause("ERR.3")
@pytest.mark.parametrize("exc", [MemoryError(), KeyboardInterrupt(), ValueError("numpy")], ids=type)
@pytest.mark.parametrize("call", ["create", "open"])
def test_any_failure_after_open_cleans_up(exc: BaseException, call: str) -> None:
    """Every step after the first in turn raises something that is not an OSError: nothing is left behind."""
    run = {
        "create": lambda root: memmapref.create(root / "data.bin", "f8", 16),
        "open": lambda root: memmapref.open(root / "data.bin", "f8", mode="r+"),
    }[call]
    with _world() as root, _oscalls.installed(_CountingCalls()) as counting:
        handle = run(root)
        steps = counting.count
        handle.close()
    assert steps >= 4
    # From the rename on, create has replaced the file: it is then the complete new one.
    renamed = counting.log.index("replace") + 1 if call == "create" else steps + 1
    for k in range(1, steps + 1):
        with _world() as root:
            before = _state(root / "data.bin")
            with _oscalls.installed(_CountingCalls(k, exc)), pytest.raises(type(exc)):
                run(root)
            if k <= renamed:
                assert _state(root / "data.bin") == before
            else:
                assert read_bytes(root / "data.bin") == bytes(16 * 8)


def test_numpy_refusing_the_layout_is_a_typed_error(tmp_path: Path) -> None:
    # Reached only if validation misses a case numpy refuses: _map is called directly.
    path = tmp_path / "data.bin"
    path.write_bytes(DATA.tobytes())
    for shape, order in [((0, 2**63), "C"), ((16,), "X")]:
        fd = os.open(path, os.O_RDONLY)
        try:
            with pytest.raises(LayoutError):
                mapped._map(fd, Request(str(path), "r", DATA.dtype, shape, 0, order))
        finally:
            os.close(fd)


# ---------------------------------------------------------------------------
# Class 3: bare built-in errors


@pytest.mark.clause("ARGS.9")
@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("data\0.bin", PathValueError),
        (b"data\0.bin", PathValueError),
        ("", PathValueError),
        ("bad\ud800.bin", PathValueError),
        (_FsPathInt(), PathTypeError),
    ],
    ids=["nul", "nul-bytes", "empty", "surrogate", "fspath-int"],
)
@pytest.mark.parametrize("call", ["create", "open"])
def test_bad_paths_are_typed(tmp_path: Path, path: Any, error: type, call: str) -> None:
    with pytest.raises(error):
        getattr(memmapref, call)(path, "f8", 2)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("mode", [np.array(["r"]), np.array(["w+"]), ["r"], 1.5])
def test_an_array_valued_mode_is_typed(tmp_path: Path, mode: Any) -> None:
    (tmp_path / "data.bin").write_bytes(DATA.tobytes())
    with pytest.raises(memmapref.errors.ModeError):
        memmapref.open(tmp_path / "data.bin", "f8", mode=mode)


# ---------------------------------------------------------------------------
# Class 4: copies and pickles


@pytest.mark.parametrize("shape", [16, 0], ids=["mapped", "empty"])
@pytest.mark.parametrize("how", ["copy", "deepcopy", "pickle"])
def test_a_handle_cannot_be_copied_or_pickled(tmp_path: Path, shape: int, how: str) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(DATA.tobytes())
    duplicate = {"copy": copy.copy, "deepcopy": copy.deepcopy, "pickle": pickle.dumps}[how]
    with memmapref.open(path, "f8", shape) as handle:
        with pytest.raises(HandleCopyError) as info:
            duplicate(handle)
        assert isinstance(info.value, TypeError)
        assert "memmapref.open()" in str(info.value)
        assert handle.array.shape == (shape,)


def test_closing_the_original_leaves_a_reused_descriptor_alone(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(DATA.tobytes())
    handle = memmapref.open(path, "f8")
    with pytest.raises(TypeError):
        copy.copy(handle)
    handle.close()
    other = os.open(path, os.O_RDONLY)  # very likely the number the handle held
    try:
        handle.close()
        os.fstat(other)
    finally:
        os.close(other)


# ---------------------------------------------------------------------------
# Class 5: long names


@pytest.mark.parametrize("length", [1, 237, 238, 250, 255])
@pytest.mark.parametrize("char", ["n", "\u00e9"], ids=["ascii", "two-byte"])
def test_every_legal_name_can_be_created(tmp_path: Path, length: int, char: str) -> None:
    name = (char * length).encode()[:length].decode(errors="ignore") or "n"
    (tmp_path / name).write_bytes(b"old")  # replaced: the temporary name is needed
    with memmapref.create(tmp_path / name, "f8", 2) as handle:
        handle[:] = 1.0
    assert read_bytes(tmp_path / name) == np.ones(2).tobytes()
    assert os.listdir(tmp_path) == [name]


def test_the_temporary_name_fits_name_max() -> None:
    for length in (1, 200, 255):
        scratch = os.path.basename(_newfile.scratch_name("/d/" + "\u00e9" * length))
        assert len(os.fsencode(scratch)) <= _newfile.NAME_MAX
        assert scratch.startswith(".") and scratch.endswith(".tmp")


def test_a_name_over_name_max_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="too long") as info:
        memmapref.create(tmp_path / ("n" * 256), "f8", 2)
    assert isinstance(info.value, MemmapError) and info.value.errno == errno.ENAMETOOLONG
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------
# Class 6: thread counts that would shrink the chunks to nothing


@pytest.mark.parametrize("threads", [2**31, 2**62, np.int64(2**40)])
def test_a_huge_thread_count_is_clamped(tmp_path: Path, threads: Any) -> None:
    values = np.linspace(-1, 1, 1 << 18)
    path = tmp_path / "data.bin"
    path.write_bytes(values.tobytes())
    with memmapref.open(path, "f8") as handle:
        started = time.perf_counter()
        got = memmapref.filtered_sum(handle, 0.5, threads=threads)
        mean = memmapref.slice_mean(handle, threads=threads)
        assert time.perf_counter() - started < 5  # 37 s before the clamp
        assert got == memmapref.filtered_sum(handle, 0.5, threads=_chunking.max_threads())
        assert mean == memmapref.slice_mean(handle, threads=_chunking.max_threads())
    assert _validate.threads(threads, _chunking.default_threads(), _chunking.max_threads()) == _chunking.max_threads()


# ---------------------------------------------------------------------------
# Class 7: truncation during a reduction


_RACE = """
import os, sys, threading, time, numpy as np, memmapref
from memmapref.errors import FileSizeError
path, which, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
full = 32 << 20
with open(path, "wb") as f:
    f.truncate(full)
reduce = {"sum": lambda h: memmapref.filtered_sum(h, 0.5), "mean": lambda h: memmapref.slice_mean(h)}[which]
raised = 0
for run in range(runs):
    os.truncate(path, full)
    with memmapref.open(path, np.float64) as handle:
        def cut():
            time.sleep(0.0005 * (run % 20))
            os.truncate(path, full // 2 - 4096 * (run % 7))
        cutter = threading.Thread(target=cut)
        cutter.start()
        try:
            for _ in range(1000):
                reduce(handle)
        except FileSizeError:
            raised += 1
        cutter.join()
print(raised)
"""


@pytest.mark.clause("FAULT.9")
@pytest.mark.subprocess
@pytest.mark.parametrize("which", ["sum", "mean"])
def test_truncation_during_a_reduction_never_kills(tmp_path: Path, which: str) -> None:
    runs = 100
    arguments = f"{str(tmp_path / 'race.bin')!r}, {which!r}, {runs}"
    code = _RACE.replace("sys.argv[1], sys.argv[2], int(sys.argv[3])", arguments)
    outcome = run_python(code, timeout=300)
    assert outcome.signal is None, f"child killed by {outcome.signal}: {outcome.stderr}"
    assert outcome.returncode == 0, outcome.stderr
    assert int(outcome.stdout) == runs  # every run saw the truncation as FileSizeError


# ---------------------------------------------------------------------------
# Class 8: close() from another thread during a reduction


class _CloseOnRead(OsCalls):
    """Closes the handle, and opens another file on the freed number, at the first chunk read."""

    def __init__(self, handle: memmapref.MappedArray, decoy: Path) -> None:
        self.handle = handle
        self.decoy = decoy
        self.other: int | None = None

    def preadv(self, fd: int, buffers: list[memoryview], offset: int) -> int:
        if self.other is None:
            closer = threading.Thread(target=self.handle.close)
            closer.start()
            closer.join()
            self.other = os.open(self.decoy, os.O_RDONLY)
        return super().preadv(fd, buffers, offset)


@pytest.mark.parametrize("which", ["sum", "mean"])
def test_close_from_another_thread_during_a_reduction(tmp_path: Path, which: str) -> None:
    values = np.arange(1 << 14, dtype="<f8")  # integers: every partial sum is exact, so is the oracle
    path = tmp_path / "data.bin"
    path.write_bytes(values.tobytes())
    decoy = tmp_path / "decoy.bin"
    decoy.write_bytes(b"\x7f" * 8)  # too short for the array: a check against it would fail
    expected = values[values > 8000.0].sum() if which == "sum" else np.mean(values)
    handle = memmapref.open(path, "f8")
    calls = _CloseOnRead(handle, decoy)
    with _oscalls.installed(calls):
        if which == "sum":
            got = memmapref.filtered_sum(handle, 8000.0, chunk_bytes=8192, threads=2)
        else:
            got = memmapref.slice_mean(handle, chunk_bytes=8192, threads=2)
    assert calls.other is not None and handle.closed
    os.close(calls.other)
    assert got == expected


@pytest.mark.parametrize("mode", ["r", "c"])
def test_views_not_read_from_the_file_still_check_its_size(tmp_path: Path, mode: str) -> None:
    """A block with gaps between its rows, or a copy-on-write handle, is reduced through the mapping."""
    values = np.arange(64 * 1024, dtype="<f8").reshape(64, 1024)  # integers: exact sums
    path = tmp_path / "data.bin"
    path.write_bytes(values.tobytes())
    with memmapref.open(path, "f8", values.shape, mode=mode) as handle:
        if mode == "c":
            handle[0, 0] = -1.0  # private: only the mapping has it
            values[0, 0] = -1.0
        for index in (np.s_[:, :512], ...):
            assert memmapref.slice_mean(handle, index) == np.mean(values[index])
        os.truncate(path, values.nbytes - 4096)  # whole pages remain: nothing is touched past the end
        with pytest.raises(memmapref.errors.FileSizeError):
            memmapref.slice_mean(handle, np.s_[:, :512])
