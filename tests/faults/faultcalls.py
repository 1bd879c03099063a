"""An ``OsCalls`` that fails the k-th system call of a scenario, and the scenarios it is looped over.

The loop follows SQLite's I/O-error tests: run a scenario once with nothing
failing to count its calls, then once per call k = 1..N with call k failing
(once, or from k on, as a disk that has died keeps failing), and check after
every run that the failure became a typed error and left nothing behind.
"""

from __future__ import annotations

import errno
import mmap
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import memmapref
from memmapref import _oscalls
from memmapref._oscalls import OsCalls


class FailingCalls(OsCalls):
    """Counts every call; call ``fail_at`` (1-based) raises ``OSError(code)``, and every later one too if ``persist``.

    ``name`` instead fails the first call of that name (``"fallocate"``).

    ``close`` is performed before its error is raised: on Linux the descriptor
    is released even when ``close`` reports an error, so a caller must never
    retry it, and a test that kept it open would report a leak that cannot
    happen.
    """

    def __init__(
        self, fail_at: int | None = None, code: int = errno.EIO, *, persist: bool = False, name: str | None = None
    ) -> None:
        self.fail_at = fail_at
        self.name = name
        self.code = code
        self.persist = persist
        self.log: list[str] = []
        self.failed: list[str] = []

    @property
    def count(self) -> int:
        return len(self.log)

    def _due(self, name: str) -> bool:
        self.log.append(name)
        n = len(self.log)
        due = self.fail_at is not None and (n == self.fail_at or (self.persist and n > self.fail_at))
        due = due or (name == self.name and not self.failed)
        if due:
            self.failed.append(name)
        return due

    def _gate(self, name: str) -> None:
        if self._due(name):
            raise OSError(self.code, os.strerror(self.code))

    def stat(self, path: str) -> os.stat_result:
        self._gate("stat")
        return super().stat(path)

    def open(self, path: str, flags: int, mode: int = 0o666) -> int:
        self._gate("open")
        return super().open(path, flags, mode)

    def fstat(self, fd: int) -> os.stat_result:
        self._gate("fstat")
        return super().fstat(fd)

    def dup(self, fd: int) -> int:
        self._gate("dup")
        return super().dup(fd)

    def preadv(self, fd: int, buffers: list[memoryview], offset: int) -> int:
        self._gate("preadv")
        return super().preadv(fd, buffers, offset)

    def fchmod(self, fd: int, mode: int) -> None:
        self._gate("fchmod")
        super().fchmod(fd, mode)

    def fallocate(self, fd: int, offset: int, length: int) -> None:
        self._gate("fallocate")
        super().fallocate(fd, offset, length)

    def ftruncate(self, fd: int, length: int) -> None:
        self._gate("ftruncate")
        super().ftruncate(fd, length)

    def mmap(self, fd: int, length: int, access: int, offset: int) -> mmap.mmap:
        self._gate("mmap")
        return super().mmap(fd, length, access, offset)

    def msync(self, mapping: mmap.mmap) -> None:
        self._gate("msync")
        super().msync(mapping)

    def fsync(self, fd: int) -> None:
        self._gate("fsync")
        super().fsync(fd)

    def close(self, fd: int) -> None:
        due = self._due("close")
        super().close(fd)
        if due:
            raise OSError(self.code, os.strerror(self.code))

    def replace(self, src: str, dst: str) -> None:
        self._gate("replace")
        super().replace(src, dst)

    def unlink(self, path: str) -> None:
        self._gate("unlink")
        super().unlink(path)


# Errnos a file call can return, with the built-in class each selects.
FILE_ERRNOS = [
    errno.EIO,
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ENOENT,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.EEXIST,
    errno.EINTR,
    errno.EAGAIN,
    errno.ETIMEDOUT,
    errno.ENOMEM,
    errno.EFBIG,
    errno.EBADF,
]


SHAPE = (3, 700)  # 16800 bytes of float64: more than one page, so the mapping is real
DTYPE = np.dtype("<f8")


@dataclass
class Run:
    """What one run of a scenario did: the error it raised (if any), and the handles to clean up."""

    calls: FailingCalls
    error: BaseException | None = None
    handles: list[Any] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    """A setup that runs with the real OS, then one step that runs under the injector."""

    name: str
    setup: Callable[[Path], dict[str, Any]]
    step: Callable[[Path, dict[str, Any], Run], None]
    uses_seam_after: bool = False  # the step leaves a handle whose later calls still go through the seam


def _old_file(path: Path) -> dict[str, Any]:
    old = np.arange(100, dtype="<i4").tobytes()
    path.write_bytes(old)
    os.chmod(path, 0o640)
    return {"old": old}


def _data_file(path: Path) -> dict[str, Any]:
    # Small integers: every summation order gives the same, exact mean.
    values = (np.arange(np.prod(SHAPE)) % 17 - 8).astype(DTYPE).reshape(SHAPE)
    path.write_bytes(values.tobytes())
    return {"values": values}


def _nothing(path: Path) -> dict[str, Any]:
    return {}


def _create_step(shape: tuple[int, ...]) -> Callable[[Path, dict[str, Any], Run], None]:
    def step(path: Path, ctx: dict[str, Any], run: Run) -> None:
        run.handles.append(memmapref.create(path, DTYPE, shape))

    return step


def _open_step(mode: str) -> Callable[[Path, dict[str, Any], Run], None]:
    def step(path: Path, ctx: dict[str, Any], run: Run) -> None:
        run.handles.append(memmapref.open(path, DTYPE, SHAPE, mode=mode))

    return step


def _writable_handle(path: Path) -> dict[str, Any]:
    ctx = _data_file(path)
    handle = memmapref.open(path, DTYPE, SHAPE, mode="r+")
    handle[0, :] = 7.0
    handle.flush()
    handle[1, :] = 8.0  # written, not yet flushed
    ctx["handle"] = handle
    ctx["flushed"] = bytes(path.read_bytes())
    return ctx


def _flush_step(path: Path, ctx: dict[str, Any], run: Run) -> None:
    run.handles.append(ctx["handle"])
    ctx["handle"].flush()


def _close_setup(mode: str) -> Callable[[Path], dict[str, Any]]:
    def setup(path: Path) -> dict[str, Any]:
        if mode == "w+":
            handle = memmapref.create(path, DTYPE, SHAPE)
            ctx: dict[str, Any] = {}
        else:
            ctx = _data_file(path)
            handle = memmapref.open(path, DTYPE, SHAPE, mode=mode)
        if mode != "r":
            handle[2, :] = 9.0
        ctx["handle"] = handle
        return ctx

    return setup


def _close_step(path: Path, ctx: dict[str, Any], run: Run) -> None:
    run.handles.append(ctx["handle"])
    ctx["handle"].close()


def _reduce_setup(path: Path) -> dict[str, Any]:
    ctx = _data_file(path)
    ctx["handle"] = memmapref.open(path, DTYPE, SHAPE)
    return ctx


def _reduce_step(path: Path, ctx: dict[str, Any], run: Run) -> None:
    run.handles.append(ctx["handle"])
    # Small chunks and one thread: several size checks, in a fixed order.
    run.notes["mean"] = memmapref.slice_mean(ctx["handle"], ..., chunk_bytes=4096, threads=1)
    run.notes["sum"] = memmapref.filtered_sum(ctx["handle"], 0.0, chunk_bytes=4096, threads=1)


def _forget_step(path: Path, ctx: dict[str, Any], run: Run) -> None:
    # A handle dropped without close(): its finalizer closes the descriptor.
    handle = memmapref.open(path, DTYPE, SHAPE, mode="r")
    del handle


SCENARIOS = {
    s.name: s
    for s in [
        Scenario("create-replacing", _old_file, _create_step(SHAPE)),
        Scenario("create-new", _nothing, _create_step(SHAPE)),
        Scenario("create-empty", _old_file, _create_step((0, 5))),
        Scenario("open-r", _data_file, _open_step("r")),
        Scenario("open-r+", _data_file, _open_step("r+")),
        Scenario("open-c", _data_file, _open_step("c")),
        Scenario("flush", _writable_handle, _flush_step),
        Scenario("close-r+", _close_setup("r+"), _close_step),
        Scenario("close-w+", _close_setup("w+"), _close_step),
        Scenario("close-r", _close_setup("r"), _close_step),
        Scenario("reduce", _reduce_setup, _reduce_step),
        Scenario("forget", _data_file, _forget_step),
    ]
}


@contextmanager
def seam(calls: OsCalls) -> Iterator[OsCalls]:
    with _oscalls.installed(calls) as installed:
        yield installed


def run_scenario(scenario: Scenario, path: Path, calls: FailingCalls) -> tuple[Run, dict[str, Any]]:
    ctx = scenario.setup(path)
    run = Run(calls)
    with seam(calls):
        try:
            scenario.step(path, ctx, run)
        except Exception as exc:
            run.error = exc
    return run, ctx


def release(run: Run, ctx: dict[str, Any]) -> None:
    """Close whatever the scenario left open, with the real OS, ignoring errors already reported."""
    for handle in [*run.handles, ctx.get("handle")]:
        if handle is None:
            continue
        try:
            handle.close()
        except OSError as exc:
            forget_traceback(exc)
    # A traceback keeps the frames of the failed call alive, and with them the
    # mmap object (which holds its own duplicate of the descriptor).
    forget_traceback(run.error)
    run.handles.clear()
    ctx.pop("handle", None)


def forget_traceback(exc: BaseException | None) -> None:
    """Drop the frames an exception keeps alive, as leaving an ``except`` block does."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc.__traceback__ = None
        exc = exc.__cause__ or exc.__context__


def count_calls(scenario: Scenario, path: Path) -> int:
    """How many calls the step makes when nothing fails."""
    calls = FailingCalls()
    run, ctx = run_scenario(scenario, path, calls)
    assert run.error is None, f"scenario {scenario.name} fails without injection: {run.error!r}"
    release(run, ctx)
    return calls.count
