"""How the report turns test outcomes into clause verdicts."""

from __future__ import annotations

import pytest

from memmapref.testing.causes import root_causes
from memmapref.testing.render import render_markdown, render_text
from memmapref.testing.report import Reporter, gate, suite_tests, verdicts
from memmapref.testing.results import Record


def _record(clauses: list[str], outcome: str, impl: str = "x", message: str = "", snippet: str = "") -> Record:
    return Record(f"t::{outcome}", impl, clauses, outcome, message, snippet)


def test_verdicts_for_each_kind_of_outcome() -> None:
    records = [
        _record(["OPEN.1"], "passed"),
        _record(["OPEN.2"], "failed", message="boom", snippet="import numpy as np"),
        _record(["OPEN.2"], "passed"),
        _record(["OPEN.3"], "xfailed", message="known"),
        _record(["OPEN.4"], "xpassed"),
        _record(["OPEN.5"], "skipped", message="not applicable: no offsets"),
    ]
    table = verdicts(records, {"x": {"OPEN.3": "declared", "OPEN.4": "stale"}})["x"]
    assert table["OPEN.1"].verdict == "passed"
    assert table["OPEN.2"].verdict == "failed" and table["OPEN.2"].example == "import numpy as np"
    assert table["OPEN.3"].verdict == "deviation" and table["OPEN.3"].deviation == "declared"
    assert table["OPEN.4"].verdict == "stale deviation"
    assert table["OPEN.5"].verdict == "not applicable"
    assert table["HANDLE.7"].verdict == "reference only"
    assert table["OPEN.6"].verdict == "untested"
    assert gate({"x": table}) is False
    assert "FAIL" in render_text({"x": table}) and "STALE" in render_text({"x": table})
    markdown = render_markdown({"x": table})
    assert "| OPEN.2 | MUST | failed |" in markdown and "```python\nimport numpy as np\n```" in markdown
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) > 60, "a row per clause"
    # Five cells a row: the bars in titles such as MEAN.3's |x_i| must be escaped.
    assert {line.replace("\\|", "").count("|") for line in rows} == {6}


def test_gate_ignores_should_clauses_and_confirmed_deviations() -> None:
    records = [_record(["REDUCE.2"], "failed"), _record(["OPEN.3"], "xfailed")]
    table = verdicts(records, {"x": {"OPEN.3": "declared"}})
    assert gate(table) is True


class _Report:
    def __init__(self, properties: list[tuple[str, object]]) -> None:
        self.user_properties = properties
        self.nodeid = "t::test[x]"
        self.failed = False


def test_reporter_ignores_other_plugins_properties_and_fails_a_run_with_a_stale_deviation() -> None:
    reporter = Reporter()
    reporter.pytest_runtest_logreport(_Report([("someone-else", "x")]))  # type: ignore[arg-type]
    assert reporter.records == []
    reporter.records = [_record(["OPEN.4"], "passed")]
    reporter.deviations = {"x": {"OPEN.4": "no longer true"}}
    reporter.ran["x"] = suite_tests()["OPEN.4"]  # every suite test of the clause ran

    class Session:
        exitstatus = pytest.ExitCode.OK

    session = Session()
    reporter.pytest_sessionfinish(session, pytest.ExitCode.OK)  # type: ignore[arg-type]
    assert session.exitstatus == pytest.ExitCode.TESTS_FAILED


def test_failures_with_one_cause_are_grouped_once_before_the_clauses() -> None:
    cause = "OSError at mine.py:7 in create"
    records = [
        Record("t::a[x]", "x", ["CREATE.1"], "failed", "OSError: [Errno 22] Invalid argument", "s", cause),
        Record("t::b[x]", "x", ["OPEN.3"], "failed", "OSError: [Errno 22] Invalid argument", "s", cause),
        Record("t::b[x]", "x", ["OPEN.4"], "failed", "OSError: [Errno 22] Invalid argument", "s", cause),
        Record("t::c[x]", "x", ["MEAN.1"], "failed", "AssertionError: mean differs", "s", "AssertionError: mean"),
        Record("t::d[x]", "x", ["OPEN.1"], "xfailed", "declared", "s", ""),
    ]
    causes = root_causes(records)
    assert [(c.cause, c.clauses, c.tests) for c in causes] == [
        (cause, ["CREATE.1", "OPEN.3", "OPEN.4"], ["t::a[x]", "t::b[x]"]),
        ("AssertionError: mean", ["MEAN.1"], ["t::c[x]"]),
    ]
    table = verdicts(records, {"x": {"OPEN.1": "declared"}})
    markdown = render_markdown(table, causes)
    assert markdown.count(cause) == 1
    assert markdown.index("## Root causes") < markdown.index(cause) < markdown.index("## x")
    assert "- 3 clauses: CREATE.1, OPEN.3, OPEN.4" in markdown and "- 2 tests: `t::a[x]`, `t::b[x]`" in markdown
    assert "root causes shared by several tests (1)" in render_text(table, causes)
    assert root_causes([]) == [] and "## Root causes" not in render_markdown(table, [])


def test_a_long_list_of_tests_is_cut_short() -> None:
    records = [Record(f"t::{i}", "x", ["OPEN.2"], "failed", "boom", "", "boom") for i in range(13)]
    assert "- 13 tests: " in render_markdown(verdicts(records, {"x": {}}), root_causes(records))
    assert "`t::9` and 3 more" in render_markdown(verdicts(records, {"x": {}}), root_causes(records))


def test_a_failure_without_a_snippet_says_why_in_the_markdown() -> None:
    why = "the scenario runs in a child process"
    records = [Record("t::a", "x", ["CREATE.4"], "failed", "Failed: the child died", "", "", why)]
    markdown = render_markdown(verdicts(records, {"x": {}}))
    assert f"No snippet: it would not reproduce this failure run alone ({why})." in markdown
    assert "1 failures without a standalone snippet: CREATE.4" in markdown and "```python" not in markdown
