"""I/O errors at every system call of the reference, through its OS seam (SPEC.md FAULT.11, HANDLE.8, CREATE.5).

Each scenario runs once per call k of its step, with call k failing once or
from k on. After every run: the error is typed and keeps the errno, nothing
is left open, and the file is in the state the error describes.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from common.checks import assert_failed_flush_sticks
from common.files import fresh_path
from faultcalls import (
    DTYPE,
    FILE_ERRNOS,
    SCENARIOS,
    SHAPE,
    FailingCalls,
    Run,
    Scenario,
    count_calls,
    forget_traceback,
    release,
    run_scenario,
    seam,
)
from hypothesis import given
from hypothesis import strategies as st
from leaks import open_under

import memmapref
from memmapref.errors import FlushError, MemmapError, MemmapOSError
from memmapref.testing.oracle import FileState, read_bytes


def _builtin_for(code: int) -> type[OSError]:
    return type(OSError(code, ""))


def _check_error(run: Run, scenario: Scenario) -> None:
    exc = run.error
    assert exc is not None
    code = run.calls.code
    where = f"{scenario.name}: call {run.calls.fail_at} ({run.calls.failed[0]}) failed with {errno.errorcode[code]}"
    assert isinstance(exc, MemmapError), f"{where}; got {type(exc).__name__}: {exc}; expected a MemmapError"
    assert isinstance(exc, OSError), f"{where}; got {type(exc).__name__}, not an OSError"
    assert exc.errno == code, f"{where}; the error carries errno {exc.errno}, not {code}"
    if not isinstance(exc, FlushError):
        assert isinstance(exc, _builtin_for(code)), (
            f"{where}; got {type(exc).__name__}; expected a subclass of {_builtin_for(code).__name__}, "
            "the class the errno selects"
        )
    text = str(exc)
    assert "got " in text and "; expected " in text and "; fix: " in text, (
        f"{where}; message without got/expected/fix: {text}"
    )


def _leftovers(directory: Path, keep: set[str]) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name not in keep)


def _check_run(scenario: Scenario, path: Path, run: Run, ctx: dict[str, Any], before: FileState) -> None:
    """Every promise of FAULT.11 for one run; releases what the run left open."""
    exc = run.error
    if exc is not None:
        _check_error(run, scenario)
    name = scenario.name
    directory = path.parent
    # A failed flush or reduction leaves a usable handle; every other failure leaves nothing open.
    handle_stays_open = name in ("flush", "reduce")
    if exc is not None and not handle_stays_open:
        forget_traceback(exc)
        left = open_under(directory)
        assert not left, f"{name}: after {type(exc).__name__} ({run.calls.failed}) still open: {left}"

    if name.startswith("create"):
        leftovers = _leftovers(directory, {path.name})
        if exc is not None:
            assert FileState.of(path) == before, (
                f"{name}: a failed create changed the existing file ({run.calls.failed})"
            )
            for leftover in leftovers:
                # Only when removing it failed too, and then the message says where it is.
                assert "unlink" in run.calls.failed, f"{name}: temporary file {leftover} left behind"
                assert leftover in str(exc), f"{name}: {leftover} left behind and not named in: {exc}"
                (directory / leftover).unlink()
        else:
            assert not leftovers, f"{name}: files left beside the target: {leftovers}"
            handle = run.handles[0]
            content = read_bytes(path)
            assert content == bytes(handle.array.nbytes), (
                f"{name}: the new file is not {handle.array.nbytes} zero bytes"
            )
    elif name.startswith("open") or name == "forget":
        assert FileState.of(path) == before, f"{name}: open changed the file ({run.calls.failed})"
        if exc is None and name != "forget":
            assert np.array_equal(run.handles[0].array, ctx["values"])
    elif name == "flush":
        if exc is not None:
            assert isinstance(exc, FlushError)
            handle = ctx["handle"]
            # HANDLE.8: with the OS healthy again, the handle still refuses to report success.
            for step in (handle.flush, handle.close):
                try:
                    step()
                except FlushError as again:
                    forget_traceback(again)
                else:
                    pytest.fail(f"{step.__name__}() after a failed flush reported success")
            assert handle.closed
            forget_traceback(exc)
            assert not open_under(directory), "close() after a failed flush left the file open"
        content = np.frombuffer(read_bytes(path), dtype=DTYPE).reshape(SHAPE)
        assert (content[0] == 7.0).all(), "data acknowledged by an earlier flush is gone"
        if exc is None:
            assert (content[1] == 8.0).all(), "flush() returned but the data is not in the file"
    elif name.startswith("close"):
        handle = ctx["handle"]
        assert handle.closed, f"{name}: close() raised {exc!r} and left the handle open"
        handle.close()  # a second close has no effect and raises nothing
        if exc is not None and run.calls.failed[0] in ("msync", "fsync"):
            assert isinstance(exc, FlushError), f"{name}: a failed write-back raised {type(exc).__name__}"
    elif name == "reduce":
        handle = ctx["handle"]
        if exc is not None:
            # dup and close of the reduction's own descriptor, size checks, reads.
            assert run.calls.failed[0] in ("dup", "fstat", "preadv", "close"), f"reduce failed in {run.calls.failed}"
            # The handle is still good once the OS is.
            assert memmapref.slice_mean(handle) == np.mean(ctx["values"])
        else:
            assert run.notes["mean"] == np.mean(ctx["values"])
    release(run, ctx)
    assert not open_under(directory), f"{name}: left open after release: {open_under(directory)}"


def _exercise(scenario: Scenario, root: Path, calls: FailingCalls) -> Run:
    path = fresh_path(root)
    before_holder: dict[str, FileState] = {}
    original_setup = scenario.setup

    def setup(p: Path) -> dict[str, Any]:
        ctx = original_setup(p)
        before_holder["state"] = FileState.of(p)
        return ctx

    run, ctx = run_scenario(Scenario(scenario.name, setup, scenario.step), path, calls)
    try:
        _check_run(scenario, path, run, ctx, before_holder["state"])
    finally:
        release(run, ctx)
    return run


@pytest.mark.clause("FAULT.11", "HANDLE.8", "CREATE.5", "ERR.1", "ERR.2", "ERR.3")
@pytest.mark.parametrize("persist", [False, True], ids=["once", "forever"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_call_fails_in_turn(fast_dir: Path, name: str, persist: bool) -> None:
    scenario = SCENARIOS[name]
    total = count_calls(scenario, fresh_path(fast_dir))
    assert total >= 1
    for k in range(1, total + 1):
        run = _exercise(scenario, fast_dir, FailingCalls(k, errno.EIO, persist=persist))
        assert run.calls.failed, f"{name}: call {k} of {total} was never made"
    # One past the end: nothing fails, and the run is the clean one.
    run = _exercise(scenario, fast_dir, FailingCalls(total + 1, errno.EIO, persist=persist))
    assert not run.calls.failed and run.error is None


@pytest.mark.clause("FAULT.11", "HANDLE.8", "CREATE.5", "ERR.1")
@given(
    name=st.sampled_from(sorted(SCENARIOS)),
    code=st.sampled_from(FILE_ERRNOS),
    persist=st.booleans(),
    k=st.integers(1, 16),
)
def test_any_errno_at_any_call(fast_dir: Path, name: str, code: int, persist: bool, k: int) -> None:
    _exercise(SCENARIOS[name], fast_dir, FailingCalls(k, code, persist=persist))


@pytest.mark.clause("CREATE.4", "FAULT.11")
@pytest.mark.parametrize("code", [errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL], ids=errno.errorcode.get)
def test_no_fallocate_support_falls_back_to_a_sparse_file(tmp_path: Path, code: int) -> None:
    path = tmp_path / "data.bin"
    calls = FailingCalls(code=code, name="fallocate")
    with seam(calls):
        handle = memmapref.create(path, DTYPE, SHAPE)
    assert calls.failed == ["fallocate"]
    assert "ftruncate" in calls.log, "a filesystem without fallocate must still get a file of the right size"
    assert os.path.getsize(path) == handle.array.nbytes
    handle.close()


@pytest.mark.clause("CREATE.4", "CREATE.5", "FAULT.11")
def test_full_disk_is_an_error_from_create(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"old contents")
    before = FileState.of(path)
    with seam(FailingCalls(code=errno.ENOSPC, name="fallocate")), pytest.raises(MemmapOSError) as info:
        memmapref.create(path, DTYPE, SHAPE)
    assert info.value.errno == errno.ENOSPC
    assert "free disk space" in str(info.value)
    assert FileState.of(path) == before
    assert os.listdir(tmp_path) == ["data.bin"]


@pytest.mark.clause("FAULT.11")
def test_a_failed_create_says_the_old_file_is_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"old contents")
    with seam(FailingCalls(code=errno.EIO, name="replace")), pytest.raises(MemmapOSError) as info:
        memmapref.create(path, DTYPE, SHAPE)
    assert "unchanged" in str(info.value), f"the message does not say what became of the old file: {info.value}"


@pytest.mark.clause("HANDLE.8")
def test_a_failed_flush_is_never_followed_by_success(tmp_path: Path) -> None:
    """The kernel marks pages whose write-back failed clean: a retry would "succeed" with the data lost."""
    handle = memmapref.create(tmp_path / "data.bin", DTYPE, SHAPE)
    handle[0, 0] = 1.0
    assert_failed_flush_sticks(handle, seam(FailingCalls(code=errno.EIO, name="fsync")))


def test_the_injector_counts_what_the_reference_calls(tmp_path: Path) -> None:
    """The loop above is only as good as the seam: every call the reference makes must go through it."""
    calls = FailingCalls()
    path = tmp_path / "data.bin"
    with seam(calls):
        handle = memmapref.create(path, DTYPE, SHAPE)
        handle.flush()
        handle.close()
        again = memmapref.open(path, DTYPE, SHAPE, mode="r")
        memmapref.slice_mean(again)
        again.close()
    for name in ("open", "stat", "fallocate", "fsync", "mmap", "replace", "msync", "close", "fstat"):
        assert name in calls.log, f"{name} never went through the seam: {calls.log}"


@pytest.mark.clause("OPEN.6", "ERR.2", "FAULT.11")
@pytest.mark.parametrize("code", [errno.EACCES, errno.EPERM, errno.EROFS], ids=errno.errorcode.get)
@pytest.mark.parametrize("mode", ["r", "r+"])
def test_a_refused_open_names_the_way_out(tmp_path: Path, code: int, mode: str) -> None:
    """Root ignores permission bits, so the refusal comes through the seam (the real one: test_fault_paths.py)."""
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(16800))
    before = FileState.of(path)
    with (
        seam(FailingCalls(code=code, name="open")),
        pytest.raises(MemmapOSError if code == errno.EROFS else PermissionError) as info,
    ):
        memmapref.open(path, DTYPE, SHAPE, mode=mode)
    assert info.value.errno == code
    writable_fix = "mode 'r' or 'c'" in str(info.value)
    assert writable_fix == (mode == "r+"), f"mode {mode!r}: {info.value}"
    assert FileState.of(path) == before
