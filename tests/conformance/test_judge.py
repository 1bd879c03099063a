"""The clause-by-clause judgement of one test (``report.judge``), the clause context and a crashed worker."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import pytest

from memmapref.testing.protocol import Adapter, Deviation, DeviationObserved
from memmapref.testing.report import Record, Reporter, judge, verdicts
from memmapref.testing.suite._support import judge_each

if sys.version_info < (3, 11):  # pragma: no cover -- the built-in exists from 3.11
    from exceptiongroup import ExceptionGroup


class _Target:
    name = "target"

    def __init__(self, deviations: dict[str, Any] | None = None) -> None:
        self.deviations = deviations or {}

    def create(self, *args: Any, **kwargs: Any) -> None: ...

    def open(self, *args: Any, **kwargs: Any) -> None: ...


@dataclass
class _Mark:
    args: tuple[str, ...]


@dataclass
class _Item:
    clauses: tuple[str, ...]

    def iter_markers(self, name: str) -> list[_Mark]:
        return [_Mark(self.clauses)]


@dataclass
class _ExcInfo:
    value: BaseException


@dataclass
class _Call:
    excinfo: _ExcInfo | None = None


@dataclass
class _Report:
    outcome: str = "passed"
    when: str = "call"
    longrepr: Any = None
    longreprtext: str = ""
    nodeid: str = "t::test[target]"
    user_properties: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"

    @property
    def skipped(self) -> bool:
        return self.outcome == "skipped"


def _adapter(deviations: dict[str, Any] | None = None, test_id: str = "test_x[target]") -> Adapter:
    adapter = Adapter(_Target(deviations))
    adapter.begin("/nowhere")
    adapter.test_id = test_id
    return adapter


def _failure(adapter: Adapter, *clauses: str) -> BaseException:
    try:
        with adapter.clause(*clauses):
            raise AssertionError("boom")
    except BaseException as exc:
        return exc
    raise AssertionError("the block did not raise")  # pragma: no cover -- the block always raises


def test_a_failure_counts_against_the_clause_it_was_raised_in() -> None:
    adapter = _adapter()
    exc = _failure(adapter, "OPEN.2")
    report = _Report(outcome="failed")
    outcomes = judge(_Item(("OPEN.1", "OPEN.2")), _Call(_ExcInfo(exc)), report, adapter)  # type: ignore[arg-type]
    assert outcomes["OPEN.2"][0] == "failed" and "boom" in outcomes["OPEN.2"][1]
    # OPEN.1 was cited but no block judged it.
    assert outcomes["OPEN.1"][0] == "skipped"
    assert report.outcome == "failed"


def test_a_declared_deviation_is_confirmed_only_by_the_failure_it_describes() -> None:
    adapter = _adapter({"OPEN.2": Deviation("grows", match="grew")})
    exc = _failure(adapter, "OPEN.2")  # "boom" is not what the deviation describes
    assert not isinstance(exc, DeviationObserved)
    report = _Report(outcome="failed")
    outcomes = judge(_Item(("OPEN.2",)), _Call(_ExcInfo(exc)), report, adapter)  # type: ignore[arg-type]
    assert outcomes["OPEN.2"][0] == "failed"


def test_a_confirmed_deviation_is_an_expected_failure() -> None:
    adapter = _adapter({"OPEN.2": "grows"})
    exc = _failure(adapter, "OPEN.2")
    assert isinstance(exc, DeviationObserved)
    report = _Report(outcome="failed")
    outcomes = judge(_Item(("OPEN.2",)), _Call(_ExcInfo(exc)), report, adapter)  # type: ignore[arg-type]
    assert outcomes["OPEN.2"][0] == "xfailed"
    assert report.outcome == "skipped" and "grows" in report.wasxfail  # type: ignore[attr-defined]


def test_a_strict_deviation_that_does_not_happen_fails_its_case() -> None:
    adapter = _adapter({"OPEN.2": Deviation("grows", cases=("test_x*",))})
    report = _Report()
    outcomes = judge(_Item(("OPEN.2",)), _Call(), report, adapter)  # type: ignore[arg-type]
    assert outcomes["OPEN.2"][0] == "failed" and "stale" in outcomes["OPEN.2"][1]
    assert report.outcome == "failed" and "stale" in report.longrepr
    other = _adapter({"OPEN.2": Deviation("grows", cases=("test_x*",))}, test_id="test_y[target]")
    assert judge(_Item(("OPEN.2",)), _Call(), _Report(), other)["OPEN.2"][0] == "passed"  # type: ignore[arg-type]


def test_a_setup_failure_fails_every_cited_clause() -> None:
    report = _Report(outcome="failed", when="setup", longreprtext="E   OSError: no room\nmore")
    outcomes = judge(_Item(("A.1", "B.2")), _Call(), report, _adapter())  # type: ignore[arg-type]
    assert outcomes == {c: ("failed", "OSError: no room", outcomes[c][2]) for c in ("A.1", "B.2")}


def test_a_skip_without_a_tuple_keeps_its_text() -> None:
    report = _Report(outcome="skipped", longrepr="untested: no strace")
    assert judge(_Item(("A.1",)), _Call(), report, _adapter()) == {"A.1": ("skipped", "untested: no strace", "")}  # type: ignore[arg-type]


def test_nested_blocks_credit_the_innermost_clause() -> None:
    adapter = _adapter()
    with pytest.raises(AssertionError) as caught, adapter.clause("OPEN.1"), adapter.clause("OPEN.2"):
        raise AssertionError("inner")
    assert caught.value._memmapref_clause == ("OPEN.2",)  # type: ignore[attr-defined]


def test_judge_each_reports_every_failure() -> None:
    adapter = _adapter()

    def fails() -> None:
        pytest.fail("first")

    def also_fails() -> None:
        raise ValueError("second")

    with pytest.raises(ExceptionGroup) as group:
        judge_each(adapter, ("A.1", fails), ("B.2", also_fails))
    assert [e._memmapref_clause for e in group.value.exceptions] == [("A.1",), ("B.2",)]  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="second"):
        judge_each(adapter, ("B.2", also_fails), ("A.1", lambda: None))


def test_untested_wins_over_not_applicable() -> None:
    records = [
        Record("a", "impl", ["HANDLE.3"], "skipped", "not applicable: no mode c", ""),
        Record("b", "impl", ["HANDLE.3"], "skipped", "untested: no strace", ""),
    ]
    row = verdicts(records, {"impl": {}})["impl"]["HANDLE.3"]
    assert row.verdict == "untested" and row.message == "untested: no strace"


def test_a_worker_that_dies_in_a_test_fails_its_clauses() -> None:
    reporter = Reporter.__new__(Reporter)
    reporter.records, reporter.deviations, reporter.pending = [], {}, {}
    setup = _Report(when="setup")
    setup.user_properties.append(("memmapref-pending", '{"impl": "target", "clauses": ["MEAN.1"]}'))
    reporter.pytest_runtest_logreport(setup)  # type: ignore[arg-type]
    crash = _Report(outcome="failed", when="???", longreprtext="worker 'gw0' crashed while running 't'")
    reporter.pytest_runtest_logreport(crash)  # type: ignore[arg-type]
    (record,) = reporter.records
    assert record.outcome == "failed" and "crashed" in record.message and record.clauses == ["MEAN.1"]


def test_a_stale_deviation_fails_the_session() -> None:
    reporter = Reporter.__new__(Reporter)
    reporter.records = [Record("a", "impl", ["OPEN.4"], "passed", "", "")]
    reporter.deviations = {"impl": {"OPEN.4": "no longer true"}}
    reporter.pending = {}

    class _Session:
        exitstatus = pytest.ExitCode.OK

    session = _Session()
    reporter.pytest_sessionfinish(session, pytest.ExitCode.OK)  # type: ignore[arg-type]
    assert session.exitstatus == pytest.ExitCode.TESTS_FAILED
