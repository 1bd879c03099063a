"""The per-clause conformance report: a pytest plugin that gathers verdicts and prints and writes them.

Every test of the suite cites clauses; every outcome is recorded against the
implementation and those clauses. A clause's verdict for one implementation:

* ``failed``: some test of it failed (and no declared deviation covered it);
* ``deviation``: a declared deviation, confirmed by at least one expected failure;
* ``stale deviation``: declared, but every test of it passed; the declaration is out of date;
* ``passed``: its tests passed;
* ``not applicable``: every test of it was skipped for a missing capability;
* ``reference only``: a clause about the reference itself, checked by the project's own tests;
* ``untested``: no test of the suite checked it for this implementation, or every test of it was
  skipped with a reason starting "untested" (the machine cannot check it: no strace, say).

Works under pytest-xdist: records travel in the reports' ``user_properties``
and are gathered on the controller.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Generator, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

if sys.version_info < (3, 11):  # pragma: no cover -- the built-in exists from 3.11
    from exceptiongroup import BaseExceptionGroup

from .causes import _normalized, root_cause, root_causes
from .clauses import CLAUSES, REFERENCE_ONLY, clause_ids
from .protocol import ADAPTER, CLAUSE_ATTRIBUTE, SNIPPET_ATTRIBUTE, Adapter, DeviationObserved, failure_text
from .render import render_markdown, render_text
from .results import Record, Row, Table, Verdict

_KEY = "memmapref"
_PENDING = "memmapref-pending"


class Reporter:
    """Registered by :mod:`memmapref.testing.plugin`; one per pytest session (controller and workers).

    ``folder``: where report.md and report.json go; None prints the report only.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self.records: list[Record] = []
        # impl -> the suite test functions (``origin``) that ran for it: a deviation is stale only
        # if every suite test of its clause ran and passed (a class not subclassed is not run).
        self.ran: dict[str, set[str]] = defaultdict(set)
        self.deviations: dict[str, dict[str, str]] = {}
        # nodeid -> {"impl", "clauses"} of a test whose call has not reported yet.
        self.pending: dict[str, dict[str, Any]] = {}

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
        report = yield
        adapter = item.stash.get(ADAPTER, None)
        if adapter is not None and report.when == "setup" and report.passed:
            # Announced before the call, so that a worker that dies in it still has the clauses to fail.
            report.user_properties.append((_PENDING, json.dumps({"impl": adapter.name, "clauses": clause_ids(item)})))
        if adapter is not None and (report.when == "call" or (report.when == "setup" and not report.passed)):
            causes: dict[str, str] = {}
            outcomes = judge(item, call, report, adapter, causes)
            payload = {
                "impl": adapter.name,
                "outcomes": outcomes,
                "causes": causes,
                "origin": origin(item),
                "unrunnable": adapter.unrunnable,
                "deviations": {c: d.reason for c, d in adapter.deviations.items()},
            }
            report.user_properties.append((_KEY, json.dumps(payload)))
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        pending = self.pending.pop(report.nodeid, None)
        if pending is not None and report.failed and not any(key == _KEY for key, _ in report.user_properties):
            # pytest-xdist's report of a worker that died inside the test: the implementation crashed it.
            text = (report.longreprtext.strip().splitlines() or ["the worker died"])[-1]
            message = f"the implementation killed the test process: {text}"
            for cited in pending["clauses"]:
                record = Record(report.nodeid, pending["impl"], [cited], "failed", message, "", _normalized(message))
                self.records.append(record)
            return
        for key, value in report.user_properties:
            if key == _PENDING and report.when == "setup" and report.passed:
                self.pending[report.nodeid] = json.loads(str(value))
            if key == _KEY:
                payload = json.loads(str(value))
                self.deviations.setdefault(payload["impl"], payload["deviations"])
                if payload.get("origin"):
                    self.ran[payload["impl"]].add(payload["origin"])
                causes = payload.get("causes", {})
                unrunnable = payload.get("unrunnable", "")
                for cited, (outcome, message, snippet) in payload["outcomes"].items():
                    cause = causes.get(cited, "")
                    why = unrunnable if snippet and unrunnable else ""
                    record = Record(
                        report.nodeid, payload["impl"], [cited], outcome, message, "" if why else snippet, cause, why
                    )
                    self.records.append(record)

    def table(self) -> Table:
        return verdicts(self.records, self.deviations, self.ran)

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.records:
            return
        table = self.table()
        terminalreporter.write_sep("=", "memmapref conformance report")
        causes = root_causes(self.records)
        terminalreporter.write_line(render_text(table, causes))
        folder = self.folder
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "report.md").write_text(render_markdown(table, causes))
            document = {
                "gate": gate(table),
                "implementations": {impl: {c: asdict(row) for c, row in rows.items()} for impl, rows in table.items()},
                "root_causes": [asdict(c) for c in causes],
                "records": [asdict(r) for r in self.records],
            }
            (folder / "report.json").write_text(json.dumps(document, indent=1))
            terminalreporter.write_line(f"report written to {folder / 'report.md'} and {folder / 'report.json'}")

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        stale = [c for rows in self.table().values() for c, row in rows.items() if row.verdict is Verdict.STALE]
        if stale and exitstatus == pytest.ExitCode.OK:
            # A deviation that no longer happens must be removed from its declaration.
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def judge(
    item: pytest.Item,
    call: pytest.CallInfo[None],
    report: pytest.TestReport,
    adapter: Adapter,
    causes: dict[str, str] | None = None,
) -> dict[str, tuple[str, str, str]]:
    """Each clause's outcome in this test: clause -> (outcome, message, snippet).

    A failure is credited to the clause named where it was raised (``Adapter.clause``),
    or, in a test of a single clause, to that clause; a failure not attributed to one
    clause fails every clause the test cites. A declared deviation is confirmed only
    by a failure of its own clause that it describes. The pytest outcome follows: failed
    if any clause failed, an expected failure if only declared deviations were seen.
    ``causes``, if given, receives the :func:`root_cause` of each failed clause.
    """
    cited = clause_ids(item)
    if report.skipped and not hasattr(report, "wasxfail"):
        return {c: ("skipped", _skip_reason(report), "") for c in cited}
    failed: dict[str, tuple[str, str, str]] = {}
    found: dict[str, str] = {}  # clause -> root cause of its failure
    observed = dict(adapter.observed)
    excinfo = call.excinfo if report.when == "call" else None
    rejected_only = False
    if excinfo is not None:
        from hypothesis.errors import FailedHealthCheck, Unsatisfiable

        for exc in _leaves(excinfo.value):
            if isinstance(exc, DeviationObserved):
                continue
            if isinstance(exc, (Unsatisfiable, FailedHealthCheck)) and (observed or adapter.inapplicable):
                # Every example ended at a confirmed deviation or a missing capability.
                rejected_only = True
                continue
            text = failure_text(exc)
            snippet = str(getattr(exc, SNIPPET_ATTRIBUTE, "") or adapter.snippet())
            cause = root_cause(exc)
            tagged = getattr(exc, CLAUSE_ATTRIBUTE, None)
            if tagged:
                for where in tagged:
                    failed.setdefault(where, ("failed", text, snippet))
                    found.setdefault(where, cause)
                continue
            if len(cited) == 1:
                if adapter.deviation_for(cited[0], text) is not None:
                    observed.setdefault(cited[0], (text, snippet))
                else:
                    failed.setdefault(cited[0], ("failed", text, snippet))
                    found.setdefault(cited[0], cause)
                continue
            for c in cited:
                failed.setdefault(c, ("failed", f"{text} (not attributed to one clause of this test)", snippet))
                found.setdefault(c, cause)
    elif report.failed:
        text = _message(report)
        for c in cited:
            failed.setdefault(c, ("failed", text, adapter.snippet()))
            found.setdefault(c, _normalized(text))
    for c in cited:
        deviation = adapter.deviations.get(c)
        if deviation is not None and deviation.strict_for(adapter.test_id) and c not in observed and c not in failed:
            failed[c] = ("failed", f"declared deviation did not happen in this case (stale): {deviation.reason}", "")
    outcomes: dict[str, tuple[str, str, str]] = {}
    if rejected_only and not observed and not failed:
        reason = adapter.inapplicable[0]
        outcomes = {c: ("skipped", reason, "") for c in cited}
        _set_outcome(report, "skipped", reason)
        return outcomes
    for c in dict.fromkeys([*cited, *failed, *observed]):
        if c in failed:
            outcomes[c] = failed[c]
            if causes is not None and c in found:
                causes[c] = found[c]
        elif c in observed:
            outcomes[c] = ("xfailed", *observed[c])
        elif adapter.entered and c not in adapter.entered:
            # The test judges its clauses block by block, and no block was about this one.
            outcomes[c] = ("skipped", f"not applicable: this test never exercised {c} for {adapter.name}", "")
        else:
            outcomes[c] = ("passed", "", "")
    if failed:
        if not report.failed:
            lines = [f"{c}: {message}" for c, (_, message, _) in failed.items()]
            _set_outcome(report, "failed", "\n".join(lines))
    elif observed:
        reasons = "; ".join(f"{c}: {adapter.deviations[c].reason}" for c in observed)
        _set_outcome(report, "xfailed", f"declared deviation ({reasons})")
    return outcomes


def _set_outcome(report: pytest.TestReport, outcome: str, text: str) -> None:
    """Make pytest's own outcome agree with the clause-by-clause judgement."""
    if outcome == "xfailed":
        report.outcome = "skipped"
        report.wasxfail = text
        return
    if outcome == "skipped":
        report.outcome = "skipped"
        report.longrepr = ("", 0, f"Skipped: {text}")
        return
    report.outcome = "failed"
    report.longrepr = text


def _skip_reason(report: pytest.TestReport) -> str:
    if isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return str(report.longrepr or "")


def _message(report: pytest.TestReport) -> str:
    """The first error line of a failed report."""
    text = report.longreprtext
    errors = [line[2:].strip() for line in text.splitlines() if line.startswith("E ")]
    return errors[0] if errors else (text.strip().splitlines() or [""])[-1]


def origin(item: Any) -> str:
    """The suite test function behind a test item, whichever subclass collected it (or the empty string)."""
    function = getattr(item, "function", None)
    module = getattr(function, "__module__", "") or ""
    return f"{module}.{function.__qualname__}" if function is not None and module.startswith(_SUITE) else ""


_SUITE = "memmapref.testing.suite."


def suite_tests() -> dict[str, set[str]]:
    """clause -> the suite's test functions that cite it (``origin`` names)."""
    from . import suite

    cited: dict[str, set[str]] = defaultdict(set)
    for class_name in suite.__all__:
        cls = getattr(suite, class_name)
        for name in dir(cls):
            function = getattr(cls, name)
            if not name.startswith("test") or not callable(function):
                continue
            key = f"{function.__module__}.{function.__qualname__}"
            marks = [*getattr(function, "pytestmark", []), *getattr(cls, "pytestmark", [])]
            # A parametrized case may cite its own clauses (``pytest.param(..., marks=...)``).
            marks += [
                m for p in marks if p.name == "parametrize" for case in p.args[1] for m in getattr(case, "marks", ())
            ]
            for mark in marks:
                if mark.name == "clause":
                    for clause in mark.args:
                        cited[clause].add(key)
    return cited


def verdicts(
    records: Iterable[Record], deviations: dict[str, dict[str, str]], ran: dict[str, set[str]] | None = None
) -> Table:
    """impl -> clause -> its row, for every clause of SPEC.md and every implementation with declarations.

    ``ran``: impl -> the suite test functions run for it (``origin``); given, a declared deviation
    whose run tests all passed is stale only if every suite test of its clause was among them.
    """
    records = list(records)
    by_suite = suite_tests() if ran is not None else {}
    by: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for record in records:
        for cited in record.clauses:
            by[(record.impl, cited)].append(record)
    table: Table = {}
    for impl, declared in deviations.items():
        rows: dict[str, Row] = {}
        for clause in CLAUSES.values():
            found = by.get((impl, clause.id), [])
            verdict, message, example, unrunnable = _verdict(clause.id, found, declared)
            unrun = sorted(by_suite.get(clause.id, set()) - ran.get(impl, set())) if ran is not None else []
            if verdict is Verdict.STALE and unrun:
                verdict = Verdict.UNTESTED
                names = ", ".join(u.rpartition(".")[2] for u in unrun)
                message = f"untested: the declared deviation was not confirmed, and tests of it did not run ({names})"
            rows[clause.id] = Row(
                verdict,
                message,
                example,
                declared.get(clause.id, ""),
                clause.level,
                clause.title,
                len(found),
                unrunnable,
            )
        table[impl] = rows
    return table


def _verdict(clause: str, found: list[Record], declared: dict[str, str]) -> tuple[Verdict, str, str, str]:
    """(verdict, message, example, why the example cannot be shown) of one clause from its tests' outcomes."""
    outcomes = {r.outcome for r in found}
    first_bad = next((r for r in found if r.outcome == "failed"), None)
    first_xfail = next((r for r in found if r.outcome == "xfailed"), None)
    if first_bad is not None:
        return Verdict.FAILED, first_bad.message, first_bad.snippet, first_bad.unrunnable
    if declared.get(clause):
        if first_xfail is not None:
            return Verdict.DEVIATION, first_xfail.message, first_xfail.snippet, first_xfail.unrunnable
        if outcomes & {"passed", "xpassed"}:
            return Verdict.STALE, "declared deviation, but every test passed", "", ""
    if outcomes & {"passed", "xpassed"}:
        return Verdict.PASSED, "", "", ""
    if found:
        # Not applicable only when every test of the clause was; a test that could not
        # observe the behaviour makes it untested, with that test's reason.
        unobserved = next((r for r in found if r.message.startswith("untested")), None)
        if unobserved is not None:
            return Verdict.UNTESTED, unobserved.message, "", ""
        return Verdict.NOT_APPLICABLE, found[0].message, "", ""
    if clause in REFERENCE_ONLY:
        return Verdict.REFERENCE_ONLY, "", "", ""
    return Verdict.UNTESTED, "", "", ""


def gate(table: Table) -> bool:
    """True when every MUST clause passed, is a confirmed deviation, or does not apply."""
    return all(
        row.verdict not in (Verdict.FAILED, Verdict.STALE)
        for rows in table.values()
        for row in rows.values()
        if row.level == "MUST"
    )
