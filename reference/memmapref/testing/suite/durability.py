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

from pathlib import Path

import pytest

from .. import persistence
from ..protocol import Adapter
from . import _injection, _traced
from ._traced import ITEMS

# Create a new file, store, flush, store again, close (twice); then the same on an existing file opened r+.
DURABILITY = f"""
NEW = os.path.join(D, "new.bin")
h = report("create", lambda: impl.create(NEW, "<f8", ({ITEMS},)))
mark("ack", "create", NEW, "new")
h.array[:] = 1.0
mark("store", NEW, offset_of(NEW), offset_of(NEW) + {8 * ITEMS})
report("flush", h.flush)
mark("ack", "flush", NEW, "first")
h.array[-1] = 2.0
mark("store", NEW, offset_of(NEW) + {8 * ITEMS - 8}, offset_of(NEW) + {8 * ITEMS})
report("close", h.close)
mark("ack", "close", NEW, "")
report("close again", h.close)
OLD = os.path.join(D, "old.bin")
impl.create(OLD, "<f8", ({ITEMS},)).close()
sync(OLD)
h = report("open", lambda: impl.open(OLD, "<f8", ({ITEMS},), mode="r+"))
h.array[{ITEMS // 2}] = 3.0
mark("store", OLD, offset_of(OLD) + {4 * ITEMS}, offset_of(OLD) + {4 * ITEMS + 8})
report("flush", h.flush)
mark("ack", "flush", OLD, "")
h.array[0] = 4.0
mark("store", OLD, offset_of(OLD), offset_of(OLD) + 8)
report("close", h.close)
mark("ack", "close", OLD, "")
"""


def _judge(acks: list[persistence.Acknowledgement], kinds: tuple[str, ...]) -> None:
    violations = [v for ack in acks for v in ack.of(*kinds)]
    gating = [v for v in violations if v.model == persistence.POSIX]
    assert not gating, persistence.describe(violations)


class DurabilityTests:
    @pytest.mark.clause("HANDLE.3")
    @pytest.mark.subprocess
    def test_flush_makes_the_data_durable(self, impl: Adapter, tmp_path: Path) -> None:
        run = _traced.scenario(impl, DURABILITY)
        flushes = [a for a in run.acks if a.step == "flush"]
        assert len(flushes) == 2, f"the scenario did not reach both flushes: {run.reports}"
        _judge(flushes, ("size", "data"))

    @pytest.mark.clause("HANDLE.4")
    @pytest.mark.subprocess
    def test_close_makes_the_data_durable(self, impl: Adapter, tmp_path: Path) -> None:
        run = _traced.scenario(impl, DURABILITY)
        closes = [a for a in run.acks if a.step == "close"]
        assert len(closes) == 2, f"the scenario did not reach both closes: {run.reports}"
        _judge(closes, ("size", "data"))

    @pytest.mark.clause("CREATE.9")
    @pytest.mark.subprocess
    def test_a_created_file_survives_once_flushed(self, impl: Adapter, tmp_path: Path) -> None:
        run = _traced.scenario(impl, DURABILITY)
        first = [a for a in run.acks if a.step == "flush" and a.detail == "first"]
        assert first, f"the scenario did not reach the first flush: {run.reports}"
        _judge(first, ("entry", "size"))

    @pytest.mark.clause("FAULT.12")
    @pytest.mark.subprocess
    def test_acknowledged_data_survives_a_power_failure(self, impl: Adapter, tmp_path: Path) -> None:
        run = _traced.scenario(impl, DURABILITY)
        assert len(run.acks) == 5, f"the scenario did not reach every step: {run.reports}"
        _judge(run.acks, ("entry", "size", "data"))

    @pytest.mark.clause("FAULT.11")
    @pytest.mark.subprocess
    def test_a_failed_system_call_is_raised_with_its_errno(self, impl: Adapter, tmp_path: Path) -> None:
        aimed, problems = _injection.fault_problems(_injection.injected_runs(impl))
        if not aimed:
            pytest.skip("untested: no injection hit its target call")
        assert not problems, "; ".join(problems)

    @pytest.mark.clause("HANDLE.8")
    @pytest.mark.subprocess
    def test_a_failed_flush_is_never_followed_by_a_successful_one(self, impl: Adapter, tmp_path: Path) -> None:
        checked = []
        for target, later, run in _injection.injected_runs(impl):
            flush = target.step == "flush" and target.name in ("msync", "fsync", "fdatasync")
            if later or not flush or not _injection.hit(run, target):
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
