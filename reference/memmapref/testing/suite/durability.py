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

import json
import os
import shutil
import sys
import tempfile
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


_RUNS: dict[tuple[str, tuple[str, ...], str], Run] = {}


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
def report(what, call):
    try:
        value = call()
    except Exception as exc:
        print(json.dumps({{"step": what, "error": type(exc).__name__, "errno": getattr(exc, "errno", None),
                          "message": str(exc)[:300]}}), flush=True)
        return None
    print(json.dumps({{"step": what, "ok": True}}), flush=True)
    return value
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


def _scenario(impl: Adapter, body: str, inject: tuple[str, ...] = ()) -> Run:
    """The traced run of ``body`` for this implementation (kept: one child per scenario and injection)."""
    reason = trace.unavailable()
    if reason is not None or not sys.platform.startswith("linux"):
        pytest.skip(f"untested: no system-call trace can be taken here ({reason or sys.platform})")
    if impl.spec is None:
        pytest.skip("not applicable: the traced child needs an import spec (--impl MODULE:ATTR)")
    key = (impl.spec, inject, body)
    if key not in _RUNS:
        directory = tempfile.mkdtemp(prefix="memmapref-durability-")
        try:
            code = _prelude(impl.spec, directory) + _OFFSET + body
            env_path = os.pathsep.join(p for p in sys.path if p)
            traced = trace.run_traced([sys.executable, "-c", code], inject=inject, env={"PYTHONPATH": env_path})
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        reports = [json.loads(line) for line in traced.outcome.stdout.splitlines() if line.startswith("{")]
        _RUNS[key] = Run(traced, persistence.replay(traced.events, directory), reports, code)
    run = _RUNS[key]
    impl.note(run.code.strip())
    done = run.traced.outcome
    if done.returncode != 0:
        pytest.fail(f"the traced child failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return run


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
