"""The verdict table as the terminal summary and as report.md."""

from __future__ import annotations

import sys
import textwrap
from collections import defaultdict

if sys.version_info < (3, 11):  # pragma: no cover -- the built-in exists from 3.11
    pass

from .results import VERDICT_ORDER, RootCause, Row, Table, Verdict

_MARK = {Verdict.PASSED: "ok", Verdict.FAILED: "FAIL", Verdict.DEVIATION: "dev", Verdict.STALE: "STALE"}


_SHOWN = (Verdict.FAILED, Verdict.DEVIATION, Verdict.STALE)


def _detail(row: Row) -> str:
    return row.deviation if row.verdict is Verdict.DEVIATION else row.message


def render_text(table: Table, causes: list[RootCause] | None = None) -> str:
    lines = []
    for impl, rows in table.items():
        counts: dict[Verdict, int] = defaultdict(int)
        for row in rows.values():
            counts[row.verdict] += 1
        summary = ", ".join(f"{counts[v]} {v}" for v in VERDICT_ORDER if counts[v])
        lines.append(f"== {impl}: {summary}")
        for clause, row in rows.items():
            mark = _MARK.get(row.verdict, "-")
            lines.append(f"  {mark:5} {clause:10} {row.level:6} {row.verdict.value:15} {row.title}")
            detail = _detail(row)
            if row.verdict in _SHOWN and detail:
                lines.append(textwrap.indent(textwrap.shorten(detail, 200), " " * 14))
    shared = [c for c in causes or [] if len(c.clauses) > 1 or len(c.tests) > 1]
    if shared:
        lines.append(f"== root causes shared by several tests ({len(shared)}):")
        for cause in shared:
            lines.append(f"  {cause.impl}: {cause.cause}: {len(cause.clauses)} clauses, {len(cause.tests)} tests")
    return "\n".join(lines)


_LISTED_TESTS = 10


def render_markdown(table: Table, causes: list[RootCause] | None = None) -> str:
    out = ["# Conformance report", ""]
    if causes:
        out += [
            "## Root causes",
            "",
            "Each failure below comes from one exception raised at one place (or one assertion of the suite);",
            "fixing it may fix every clause it lists.",
            "",
        ]
        for number, cause in enumerate(causes, 1):
            tests = ", ".join(f"`{t}`" for t in cause.tests[:_LISTED_TESTS])
            more = len(cause.tests) - _LISTED_TESTS
            out += [
                f"### {number}. {cause.impl}: {_inline(cause.cause)}",
                "",
                f"- failure: {_inline(textwrap.shorten(cause.message, 300))}",
                f"- {len(cause.clauses)} clauses: {', '.join(cause.clauses)}",
                f"- {len(cause.tests)} tests: {tests}" + (f" and {more} more" if more > 0 else ""),
                "",
            ]
    for impl, rows in table.items():
        out += [f"## {impl}", "", "| clause | level | verdict | title | detail |", "|---|---|---|---|---|"]
        for clause, row in rows.items():
            out.append(f"| {clause} | {row.level} | {row.verdict} | {_escaped(row.title)} | {_cell(_detail(row))} |")
        examples = [(c, r) for c, r in rows.items() if r.example or r.unrunnable]
        for clause, row in examples:
            out += ["", f"### {impl}: {clause} ({row.verdict})", ""]
            if row.example:
                out += ["```python", row.example, "```"]
            else:
                out.append(f"No snippet: it would not reproduce this failure run alone ({row.unrunnable}).")
        unrunnable = [c for c, r in rows.items() if r.unrunnable]
        if unrunnable:
            out += ["", f"{len(unrunnable)} failures without a standalone snippet: {', '.join(unrunnable)}"]
        out.append("")
    return "\n".join(out)


def _inline(text: str) -> str:
    return text.replace("`", "'").replace("\n", " ")


def _escaped(text: str) -> str:
    # SPEC's titles hold |x_i| and the like: an unescaped bar is a column boundary in a table row.
    return text.replace("|", "\\|")


def _cell(text: str) -> str:
    return _escaped(textwrap.shorten(text, 160)) if text else ""
