"""The clause-by-clause judgement of one test (``report.judge``), the clause context and a crashed worker."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import pytest

from memmapref.testing.causes import _short, root_cause, root_causes
from memmapref.testing.protocol import Adapter, Deviation, DeviationObserved
from memmapref.testing.report import Reporter, judge, origin, suite_tests, verdicts
from memmapref.testing.results import Record
from memmapref.testing.suite._support import judge_each, raises_builtin

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
    reporter = Reporter()
    setup = _Report(when="setup")
    setup.user_properties.append(("memmapref-pending", '{"impl": "target", "clauses": ["MEAN.1"]}'))
    reporter.pytest_runtest_logreport(setup)  # type: ignore[arg-type]
    crash = _Report(outcome="failed", when="???", longreprtext="worker 'gw0' crashed while running 't'")
    reporter.pytest_runtest_logreport(crash)  # type: ignore[arg-type]
    (record,) = reporter.records
    assert record.outcome == "failed" and "crashed" in record.message and record.clauses == ["MEAN.1"]


def test_a_stale_deviation_fails_the_session() -> None:
    reporter = Reporter()
    reporter.records = [Record("a", "impl", ["OPEN.4"], "passed", "", "")]
    reporter.deviations = {"impl": {"OPEN.4": "no longer true"}}
    reporter.ran["impl"] = suite_tests()["OPEN.4"]

    class _Session:
        exitstatus = pytest.ExitCode.OK

    session = _Session()
    reporter.pytest_sessionfinish(session, pytest.ExitCode.OK)  # type: ignore[arg-type]
    assert session.exitstatus == pytest.ExitCode.TESTS_FAILED


class _Raising:
    name = "raising"

    def create(self, *args: Any, **kwargs: Any) -> None:
        raise OSError(22, "Invalid argument")

    def open(self, *args: Any, **kwargs: Any) -> None:
        raise ValueError(f"bad size {args[2]} of {args[0]}")


def _raised(call: Any) -> BaseException:
    try:
        call()
    except BaseException as exc:
        return exc
    raise AssertionError("the call did not raise")  # pragma: no cover -- every call here raises


def test_the_root_cause_is_the_innermost_frame_of_the_implementation() -> None:
    adapter = Adapter(_Raising())
    adapter.begin("/nowhere")
    first = _raised(lambda: adapter.create("/nowhere/a", "f8", (0,)))
    second = _raised(lambda: adapter.create("/nowhere/b", "i4", (0, 3), offset=8))
    assert root_cause(first) == root_cause(second)
    assert root_cause(first).startswith("OSError at ") and root_cause(first).endswith(" in create")
    assert "test_judge.py" in root_cause(first)
    # Another place, another cause, even with the same type.
    assert root_cause(first) != root_cause(_raised(lambda: adapter.open("/nowhere/a", "f8", (1,))))


def test_a_suite_failure_wrapping_the_implementations_error_has_its_cause() -> None:
    adapter = Adapter(_Raising())
    adapter.begin("/nowhere")

    def wrong_type() -> None:
        try:
            adapter.open("/nowhere/a", "f8", (1,))
        except ValueError as exc:
            pytest.fail(f"got ValueError: {exc}; expected TypeError")

    wrapped = _raised(wrong_type)
    direct = _raised(lambda: adapter.open("/nowhere/b", "f8", (7,)))
    assert root_cause(wrapped) == root_cause(direct) and root_cause(direct).startswith("ValueError at ")


def test_an_assertion_of_the_suite_is_grouped_by_its_text_without_numbers_or_paths() -> None:
    one = _raised(lambda: _fail("file /tmp/x/a.bin is 1 bytes; expected 0 at 0x7f00"))
    other = _raised(lambda: _fail("file /tmp/y/b.bin is 9 bytes; expected 8 at 0x7f08"))
    assert root_cause(one) == root_cause(other) == "AssertionError: file <path> is <n> bytes; expected <n> at <addr>"


def _fail(text: str) -> None:
    raise AssertionError(text)


def test_judge_gives_each_failed_clause_its_cause() -> None:
    adapter = Adapter(_Raising())
    adapter.begin("/nowhere")
    adapter.test_id = "test_x[raising]"

    def failing() -> None:
        with adapter.clause("CREATE.1"):
            adapter.create("/nowhere/a", "f8", (0,))

    exc = _raised(failing)
    causes: dict[str, str] = {}
    outcomes = judge(_Item(("CREATE.1", "OPEN.1")), _Call(_ExcInfo(exc)), _Report(outcome="failed"), adapter, causes)  # type: ignore[arg-type]
    assert outcomes["CREATE.1"][0] == "failed" and causes == {"CREATE.1": root_cause(exc)}
    setup = _Report(outcome="failed", when="setup", longreprtext="E   OSError: no room at /tmp/a\nmore")
    causes = {}
    judge(_Item(("A.1",)), _Call(), setup, _adapter(), causes)  # type: ignore[arg-type]
    assert causes == {"A.1": "OSError: no room at <path>"}


def test_a_worker_that_dies_gives_one_cause_for_its_clauses() -> None:
    reporter = Reporter()
    setup = _Report(when="setup")
    setup.user_properties.append(("memmapref-pending", '{"impl": "target", "clauses": ["MEAN.1", "MEAN.2"]}'))
    reporter.pytest_runtest_logreport(setup)  # type: ignore[arg-type]
    reporter.pytest_runtest_logreport(_Report(outcome="failed", when="???", longreprtext="worker 'gw0' crashed"))  # type: ignore[arg-type]
    (cause,) = root_causes(reporter.records)
    assert cause.clauses == ["MEAN.1", "MEAN.2"] and "killed the test process" in cause.cause


def test_an_abort_inside_the_implementation_has_the_frame_it_came_from() -> None:
    class _Aborts(_Raising):
        def create(self, *args: Any, **kwargs: Any) -> None:
            raise KeyboardInterrupt

    adapter = Adapter(_Aborts())
    adapter.begin("/nowhere")
    assert root_cause(_raised(lambda: adapter.create("a", "f8", (1,)))).startswith("KeyboardInterrupt at ")


def test_a_circular_exception_chain_ends() -> None:
    first, second = AssertionError("one 1"), ValueError("two")
    first.__context__, second.__context__ = second, first
    assert root_cause(first) == "AssertionError: one <n>"


def test_frames_are_shown_below_site_packages_or_relative_to_here() -> None:
    assert _short("/usr/lib/python3/site-packages/numpy/_core/memmap.py") == "numpy/_core/memmap.py"
    assert _short(os.path.join(os.getcwd(), "mine.py")) == "mine.py"
    assert _short("/elsewhere/lib.py") == "/elsewhere/lib.py"  # the tests never run from /


def test_a_deviation_whose_tests_did_not_all_run_is_not_stale() -> None:
    tests = sorted(suite_tests()["OPEN.1"])
    assert len(tests) > 1, "OPEN.1 is cited by several suite tests"
    records = [Record("a", "impl", ["OPEN.1"], "passed", "", "")]
    declared = {"impl": {"OPEN.1": "grows the file"}}
    row = verdicts(records, declared, {"impl": set(tests[:1])})["impl"]["OPEN.1"]
    assert row.verdict == "untested" and "did not run" in row.message
    assert tests[1].rpartition(".")[2] in row.message
    assert verdicts(records, declared, {"impl": set(tests)})["impl"]["OPEN.1"].verdict == "stale deviation"
    # Without knowing what ran (a report built from records alone), every passed test counts.
    assert verdicts(records, declared)["impl"]["OPEN.1"].verdict == "stale deviation"


def test_the_origin_of_a_test_is_its_suite_function_whichever_class_collected_it() -> None:
    from memmapref.testing.suite import CreateTests

    class TestMine(CreateTests):
        pass

    @dataclass
    class _Collected:
        function: Any

    key = origin(_Collected(TestMine.test_zero_size_file_holds_no_data))
    assert key == "memmapref.testing.suite.create.CreateTests.test_zero_size_file_holds_no_data"
    assert key in suite_tests()["CREATE.1"]
    assert origin(_Collected(test_the_origin_of_a_test_is_its_suite_function_whichever_class_collected_it)) == ""
    assert origin(object()) == ""


def test_a_failure_without_a_standalone_snippet_carries_the_reason_instead() -> None:
    reporter = Reporter()
    payload = {
        "impl": "target",
        "outcomes": {"CREATE.4": ["failed", "Failed: the child died", "import json"], "OPEN.1": ["passed", "", ""]},
        "causes": {"CREATE.4": "Failed: the child died"},
        "origin": "",
        "unrunnable": "the scenario runs in a child process",
        "deviations": {},
    }
    reporter.pytest_runtest_logreport(_Report(user_properties=[("memmapref", json.dumps(payload))]))  # type: ignore[arg-type]
    crashed, passed = reporter.records
    assert crashed.snippet == "" and crashed.unrunnable == "the scenario runs in a child process"
    assert passed.unrunnable == ""
    row = reporter.table()["target"]["CREATE.4"]
    assert row.example == "" and row.unrunnable == "the scenario runs in a child process"


def test_an_expected_refusal_is_shown_as_a_check_in_the_snippet() -> None:
    adapter = Adapter(_Raising())
    adapter.begin("/nowhere")
    raises_builtin((ValueError,), adapter.open, "/nowhere/a", "f8", (1,))
    assert adapter.transcript[-1].startswith("try:\n    h1 = impl.open('a', ")
    assert "except (ValueError,):" in adapter.transcript[-1]
    # A call the adapter does not record, or no adapter at all: the snippet is left as it is.
    before = list(adapter.transcript)
    raises_builtin((TypeError,), adapter.name_of)
    raises_builtin((ValueError,), int, "x")
    assert adapter.transcript == before


def test_a_rejected_example_is_no_failure_of_any_clause() -> None:
    from hypothesis.errors import UnsatisfiedAssumption

    def rejected() -> None:
        raise UnsatisfiedAssumption

    with pytest.raises(UnsatisfiedAssumption):
        judge_each(_adapter(), ("A.1", rejected), ("B.2", lambda: None))


def test_a_result_where_a_refusal_was_due_fails_and_is_closed() -> None:
    closed = []

    class _Result:
        def close(self) -> None:
            closed.append(True)

    with pytest.raises(pytest.fail.Exception, match="got a result"):
        raises_builtin((ValueError,), _Result)
    assert closed == [True]


def test_an_exception_keeps_the_snippet_of_the_call_it_first_left() -> None:
    from memmapref.testing.protocol import SNIPPET_ATTRIBUTE

    adapter = Adapter(_Raising())
    adapter.begin("/nowhere")
    failure = ValueError("inner")
    setattr(failure, SNIPPET_ATTRIBUTE, "the first snippet")

    def fails() -> None:
        raise failure

    with pytest.raises(ValueError, match="inner") as caught:
        adapter._call(fails)
    assert getattr(caught.value, SNIPPET_ATTRIBUTE) == "the first snippet"
