"""Durability, black-box: each scenario runs in a child under strace, and the trace is judged by two models.

The child marks its steps in the trace (:func:`memmapref.testing.trace.marker_path`);
:func:`memmapref.testing.persistence.replay` builds, at each acknowledgement
(``create``, ``flush``, ``close`` returning), the crash states the POSIX and
Linux models allow. The POSIX model gates the clauses; a violation that needs
the POSIX model only says so. Where no trace can be taken (no strace, ptrace
refused, not Linux) the clauses are untested, never passed.

One traced child per implementation serves every clause of the class: the
run is kept, keyed by the implementation's import spec.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .. import persistence, trace
from ..protocol import Adapter

_ITEMS = 4 * persistence.PAGE // 8  # float64 items: four pages of data


@dataclass(frozen=True)
class Run:
    traced: trace.Traced
    acks: list[persistence.Acknowledgement]
    reports: list[dict[str, Any]]
    code: str
    directory: str


_RUNS: dict[tuple[str, tuple[str, ...], str, str], Run] = {}


def _prelude(spec: str, directory: str) -> str:
    return f"""
import json, os, sys
import numpy as np
from memmapref.testing.protocol import load
impl = load({spec!r})
D = {directory!r}
def mark(*fields):
    try:
        os.chdir(os.path.join(D, {trace.MARK_DIR!r}, "|".join(str(f) for f in fields)))
    except OSError:
        pass
def sync(path):
    for name, flags in ((path, os.O_RDONLY), (D, os.O_RDONLY)):
        fd = os.open(name, flags)
        os.fsync(fd)
        os.close(fd)
import gc
# Opened before any call can fail (an injection "from then on" fails every later openat).
_FDS = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
_MAPS = os.open("/proc/self/maps", os.O_RDONLY)
def left_open():
    gc.collect()
    fds = []
    for n in os.listdir(_FDS):
        try:
            fds.append(os.readlink(f"/proc/self/fd/{{n}}"))
        except OSError:
            pass
    chunks = []
    while True:
        chunk = os.pread(_MAPS, 1 << 16, sum(len(c) for c in chunks))
        if not chunk:
            break
        chunks.append(chunk)
    mapped = [line.split()[-1] for line in b"".join(chunks).decode().splitlines() if D in line]
    return [f for f in fds if f.startswith(D)] + [f"mapping of {{m}}" for m in mapped]
def say(record):
    # writev, a call no injection fails, so that reports get out when every write fails.
    os.writev(1, [(json.dumps(record) + "\\n").encode()])
def report(what, call, leaks=False):
    failure = None
    try:
        value = call()
    except Exception as exc:
        failure = {{"step": what, "error": type(exc).__name__, "errno": getattr(exc, "errno", None),
                   "message": str(exc)[:300]}}
    if failure is not None:
        # Measured after the exception is gone: its traceback's frames would keep objects alive.
        failure["left_open"] = left_open() if leaks else []
        say(failure)
        return FAILED
    say({{"step": what, "ok": True}})
    return value
FAILED = object()
"""


# Create a new file, store, flush, store again, close (twice); then the same on an existing file opened r+.
_DURABILITY = f"""
NEW = os.path.join(D, "new.bin")
h = report("create", lambda: impl.create(NEW, "<f8", ({_ITEMS},)))
mark("ack", "create", NEW, "new")
h.array[:] = 1.0
mark("store", NEW, offset_of(NEW), offset_of(NEW) + {8 * _ITEMS})
report("flush", h.flush)
mark("ack", "flush", NEW, "first")
h.array[-1] = 2.0
mark("store", NEW, offset_of(NEW) + {8 * _ITEMS - 8}, offset_of(NEW) + {8 * _ITEMS})
report("close", h.close)
mark("ack", "close", NEW, "")
report("close again", h.close)
OLD = os.path.join(D, "old.bin")
impl.create(OLD, "<f8", ({_ITEMS},)).close()
sync(OLD)
h = report("open", lambda: impl.open(OLD, "<f8", ({_ITEMS},), mode="r+"))
h.array[{_ITEMS // 2}] = 3.0
mark("store", OLD, offset_of(OLD) + {4 * _ITEMS}, offset_of(OLD) + {4 * _ITEMS + 8})
report("flush", h.flush)
mark("ack", "flush", OLD, "")
h.array[0] = 4.0
mark("store", OLD, offset_of(OLD), offset_of(OLD) + 8)
report("close", h.close)
mark("ack", "close", OLD, "")
"""


# Each call steps in a window the scenario marks; a failed step ends the handle's part of the scenario.
_FAULTS = f"""
def step(name, path, call, leaks=False):
    mark("begin", name, path)
    value = report(name, call, leaks)
    mark("end", name, path)
    return value
NEW = os.path.join(D, "new.bin")
h = step("create", NEW, lambda: impl.create(NEW, "<f8", ({_ITEMS},)), leaks=True)
if h is not FAILED:
    h.array[:] = 1.0
    if step("flush", NEW, h.flush) is FAILED:
        step("flush again", NEW, h.flush)
    step("close", NEW, h.close)
    del h
    h = step("open", NEW, lambda: impl.open(NEW, "<f8", ({_ITEMS},), mode="r+"), leaks=True)
    if h is not FAILED:
        h.array[0] = 2.0
        if step("flush", NEW, h.flush) is FAILED:
            step("flush again", NEW, h.flush)
        step("close", NEW, h.close)
"""

# The calls failed, each with an errno its callers must expect of it.
INJECTED = {
    "openat": "EMFILE",
    "ftruncate": "EIO",
    "fallocate": "ENOSPC",
    "write": "ENOSPC",
    "pwrite64": "ENOSPC",
    "mmap": "ENOMEM",
    "msync": "EIO",
    "fsync": "EIO",
    "fdatasync": "EIO",
    "rename": "EIO",
    "renameat2": "EIO",
}


@dataclass(frozen=True)
class Target:
    """One call of the scenario to fail: the ``ordinal``-th call of that name.

    With a ``path`` (relative to the scenario's directory) the count is of the calls that name that path
    (``strace -P``), which no other activity of the interpreter can shift; otherwise of every call of that
    name since the child started.
    """

    step: str
    name: str
    ordinal: int
    text: str
    path: str = ""

    def inject(self, from_then_on: bool) -> str:
        return f"{self.name}:error={INJECTED[self.name]}:when={self.ordinal}{'+' if from_then_on else ''}"


# The path every scenario names the same way in each run; temporary names of an implementation vary.
_STABLE = "new.bin"


def targets(run: Run) -> list[Target]:
    """The first call of each injectable name inside each step, on a file of the scenario (not its directory)."""
    files = trace.Files(root=run.directory)
    stable = os.path.join(run.directory, _STABLE)
    counts: dict[tuple[int, str, bool], int] = {}
    step = None
    found: dict[tuple[str, str], Target] = {}
    for event in run.traced.events:
        named = event.name != "msync" and stable in _paths(files, event)
        key = (event.pid, event.name, named)
        counts[key] = ordinal = counts.get(key, 0) + 1
        label = event.label
        if label is not None:
            kind, name, _ = label.split("|", 2)
            step = name if kind == "begin" else None
            continue
        if step is not None and event.name in INJECTED and (step, event.name) not in found and _on_a_file(files, event):
            found[(step, event.name)] = Target(step, event.name, ordinal, event.text, _STABLE if named else "")
        files.apply(event)
    return list(found.values())


def _paths(files: trace.Files, event: trace.Event) -> set[str]:
    """The paths ``strace -P`` matches for this call: those it names, or those its descriptor has now."""
    if event.name in ("openat", "rename"):
        return {event.path(1 if event.name == "openat" else 0), *([event.path(1)] if event.name == "rename" else [])}
    if event.name == "renameat2":
        return {event.path(1), event.path(3)}
    fd = 4 if event.name == "mmap" else 0
    found = files.description(event, fd) if len(event.args) > fd and event.args[fd].isdigit() else None
    return set() if found is None else {p for p, f in files.names.items() if f == found.file}


def _on_a_file(files: trace.Files, event: trace.Event) -> bool:
    if event.name == "openat":
        return files.tracked(event.path(1)) and event.path(1) != files.root and "O_DIRECTORY" not in event.args[2]
    if event.name in ("rename", "renameat2"):
        return files.tracked(event.path(0 if event.name == "rename" else 1))
    if event.name == "msync":
        return any(m.overlap(event.int(0), event.int(1)) for m in files.mappings)
    fd = 4 if event.name == "mmap" else 0
    found = files.description(event, fd) if event.args[fd].isdigit() else None
    return found is not None and found.file not in files.directories


def _injected_runs(impl: Adapter) -> list[tuple[Target, bool, Run]]:
    spec = _traceable(impl)
    base = _run(spec, _FAULTS)
    _survived(base)
    # Never mmap "from then on": the interpreter's own allocator maps memory too.
    jobs = [(t, later) for t in targets(base) for later in (False, True) if not (later and t.name == "mmap")]
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(lambda job: _aimed(spec, *job), jobs))
    impl.note(base.code.strip())
    impl.not_standalone("judged from a system-call trace of a child process under strace, with faults injected")
    return [(target, later, run) for (_, later), (target, run) in zip(jobs, done, strict=True)]


def _aimed(spec: str, target: Target, later: bool) -> tuple[Target, Run]:
    """The run in which the injection hit the target call (see :func:`hit`).

    A count of every call since the child started moves with anything that changes the interpreter's
    start (a coverage tracer, say); the run shows where the target really was, and the injection is aimed
    again, at most twice.
    """
    run = _run(spec, _FAULTS, (target.inject(later),), target.path)
    for _ in range(0 if target.path else 2):
        if hit(run, target):
            break
        again = [t for t in targets(run) if (t.step, t.name) == (target.step, target.name)]
        if not again:
            break
        target = again[0]
        run = _run(spec, _FAULTS, (target.inject(later),), target.path)
    return target, run


def hit(run: Run, target: Target) -> bool:
    """Whether the injection failed the target call (with a path, the trace holds only that path's calls)."""
    if target.path:
        return any(e.injected and e.name == target.name for e in run.traced.events)
    return any(e.injected for e in _window(run, target.step, target.name))


def _window(run: Run, step: str, name: str) -> list[trace.Event]:
    """The calls named ``name`` between the markers of the first ``step``."""
    inside = False
    found: list[trace.Event] = []
    for event in run.traced.events:
        label = event.label
        if label is not None:
            if inside:
                return found
            inside = label.split("|")[:2] == ["begin", step]
        elif inside and event.name == name:
            found.append(event)
    return found


def fault_problems(runs: list[tuple[Target, bool, Run]]) -> tuple[int, list[str]]:
    """How many injections hit their call, and what FAULT.11 finds wrong in those runs."""
    problems = []
    aimed = 0
    for target, later, run in runs:
        if not hit(run, target):
            continue  # the injection missed its call: this one is untested
        aimed += 1
        call = target.text.split(maxsplit=1)[1]
        how = f"{target.inject(later)} (the first {target.name} of {target.step}(): {call})"
        if run.traced.outcome.returncode != 0:
            problems.append(f"{how}: the child died (exit {run.traced.outcome.returncode})")
            continue
        got = next((r for r in run.reports if r["step"] == target.step), None)
        want = INJECTED[target.name]
        if got is None or "error" not in got:
            problems.append(f"{how}: {target.step}() reported success")
        elif errno.errorcode.get(got["errno"] or 0) != want:
            problems.append(f"{how}: {target.step}() raised {got['error']} errno {got['errno']}, not {want}")
        elif got["left_open"]:
            problems.append(f"{how}: the failed {target.step}() left open {got['left_open']}")
    return aimed, problems


def _traceable(impl: Adapter) -> str:
    """The implementation's import spec; skips as untested where no trace can be taken."""
    reason = trace.unavailable()
    if reason is not None or not sys.platform.startswith("linux"):
        pytest.skip(f"untested: no system-call trace can be taken here ({reason or sys.platform})")
    if impl.spec is None:
        pytest.skip("not applicable: the traced child needs an import spec (--impl MODULE:ATTR)")
    return impl.spec


def _run(spec: str, body: str, inject: tuple[str, ...] = (), path: str = "") -> Run:
    """The traced run of ``body`` (kept: one child per implementation, scenario and injection)."""
    key = (spec, inject, body, path)
    if key not in _RUNS:
        directory = tempfile.mkdtemp(prefix="memmapref-durability-")
        try:
            code = _prelude(spec, directory) + _OFFSET + body
            env_path = os.pathsep.join(p for p in sys.path if p)
            traced = trace.run_traced(
                [sys.executable, "-c", code],
                inject=inject,
                paths=[os.path.join(directory, path)] if path else [],
                env={"PYTHONPATH": env_path},
            )
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        reports = [json.loads(line) for line in traced.outcome.stdout.splitlines() if line.startswith("{")]
        _RUNS[key] = Run(traced, persistence.replay(traced.events, directory), reports, code, directory)
    return _RUNS[key]


def _scenario(impl: Adapter, body: str) -> Run:
    run = _run(_traceable(impl), body)
    impl.note(run.code.strip())
    impl.not_standalone("judged from a system-call trace of a child process under strace")
    _survived(run)
    return run


def _survived(run: Run) -> None:
    done = run.traced.outcome
    if done.returncode != 0:
        pytest.fail(f"the traced child died (exit {done.returncode}) instead of raising:\n{done.stderr[-2000:]}")


_OFFSET = """
from memmapref.testing.protocol import Adapter
_adapter = Adapter(impl)
def offset_of(path):
    return _adapter.data_offset(path)
"""


def _judge(acks: list[persistence.Acknowledgement], kinds: tuple[str, ...]) -> None:
    violations = [v for ack in acks for v in ack.of(*kinds)]
    gating = [v for v in violations if v.model == persistence.POSIX]
    assert not gating, persistence.describe(violations)


class DurabilityTests:
    @pytest.mark.clause("HANDLE.3")
    @pytest.mark.subprocess
    def test_flush_makes_the_data_durable(self, impl: Adapter, tmp_path: Path) -> None:
        run = _scenario(impl, _DURABILITY)
        flushes = [a for a in run.acks if a.step == "flush"]
        assert len(flushes) == 2, f"the scenario did not reach both flushes: {run.reports}"
        _judge(flushes, ("size", "data"))

    @pytest.mark.clause("HANDLE.4")
    @pytest.mark.subprocess
    def test_close_makes_the_data_durable(self, impl: Adapter, tmp_path: Path) -> None:
        run = _scenario(impl, _DURABILITY)
        closes = [a for a in run.acks if a.step == "close"]
        assert len(closes) == 2, f"the scenario did not reach both closes: {run.reports}"
        _judge(closes, ("size", "data"))

    @pytest.mark.clause("CREATE.9")
    @pytest.mark.subprocess
    def test_a_created_file_survives_once_flushed(self, impl: Adapter, tmp_path: Path) -> None:
        run = _scenario(impl, _DURABILITY)
        first = [a for a in run.acks if a.step == "flush" and a.detail == "first"]
        assert first, f"the scenario did not reach the first flush: {run.reports}"
        _judge(first, ("entry", "size"))

    @pytest.mark.clause("FAULT.12")
    @pytest.mark.subprocess
    def test_acknowledged_data_survives_a_power_failure(self, impl: Adapter, tmp_path: Path) -> None:
        run = _scenario(impl, _DURABILITY)
        assert len(run.acks) == 5, f"the scenario did not reach every step: {run.reports}"
        _judge(run.acks, ("entry", "size", "data"))

    @pytest.mark.clause("FAULT.11")
    @pytest.mark.subprocess
    def test_a_failed_system_call_is_raised_with_its_errno(self, impl: Adapter, tmp_path: Path) -> None:
        aimed, problems = fault_problems(_injected_runs(impl))
        if not aimed:
            pytest.skip("untested: no injection hit its target call")
        assert not problems, "; ".join(problems)

    @pytest.mark.clause("HANDLE.8")
    @pytest.mark.subprocess
    def test_a_failed_flush_is_never_followed_by_a_successful_one(self, impl: Adapter, tmp_path: Path) -> None:
        checked = []
        for target, later, run in _injected_runs(impl):
            flush = target.step == "flush" and target.name in ("msync", "fsync", "fdatasync")
            if later or not flush or not hit(run, target):
                continue
            failed = [r for r in run.reports if r["step"] == "flush" and "error" in r]
            again = [r for r in run.reports if r["step"] == "flush again"]
            checked.append(target)
            assert not (failed and again and "ok" in again[0]), (
                f"after {target.inject(later)} made the first flush() raise {failed[0]['error']} "
                f"({failed[0]['message']}), the next flush() of the same handle reported success: the pages whose "
                f"write-back failed are marked clean, so the data is lost (trace: {target.text.split(maxsplit=1)[1]})"
            )
        if not checked:
            pytest.skip("not applicable: flush() makes no msync, fsync or fdatasync to fail")
