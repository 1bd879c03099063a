"""One scenario run in a child under strace, for the durability and fault-injection clauses.

The child loads the implementation from its import spec, runs the scenario's
body after a prelude that marks steps in the trace and reports each call's
outcome (and, after a failure, what it left open) as one JSON line. A run is
kept, keyed by spec, body and injection, so that one child serves every clause
that needs it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

import pytest

from .. import persistence, trace
from ..protocol import Adapter

ITEMS = 4 * persistence.PAGE // 8  # float64 items: four pages of data


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


def traceable(impl: Adapter) -> str:
    """The implementation's import spec; skips as untested where no trace can be taken."""
    reason = trace.unavailable()
    if reason is not None or not sys.platform.startswith("linux"):
        pytest.skip(f"untested: no system-call trace can be taken here ({reason or sys.platform})")
    if impl.spec is None:
        pytest.skip("not applicable: the traced child needs an import spec (--impl MODULE:ATTR)")
    return impl.spec


def run(spec: str, body: str, inject: tuple[str, ...] = (), path: str = "") -> Run:
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


def scenario(impl: Adapter, body: str) -> Run:
    """The kept run of ``body`` for ``impl``; fails the test if the child died."""
    done = run(traceable(impl), body)
    impl.note(done.code.strip())
    impl.not_standalone("judged from a system-call trace of a child process under strace")
    survived(done)
    return done


def survived(run: Run) -> None:
    done = run.traced.outcome
    if done.returncode != 0:
        pytest.fail(f"the traced child died (exit {done.returncode}) instead of raising:\n{done.stderr[-2000:]}")


_OFFSET = """
from memmapref.testing.protocol import Adapter
_adapter = Adapter(impl)
def offset_of(path):
    return _adapter.data_offset(path)
"""
