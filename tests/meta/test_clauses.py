"""SPEC.md, the clause table in memmapref.testing.clauses, and the tests that cite clauses agree."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from memmapref.testing.clauses import CLAUSES, REFERENCE_ONLY

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| ([A-Z]+\.\d+) \| (MUST|SHOULD) \| (.+) \|\s*$")


def _spec() -> dict[str, str]:
    rows = {}
    for line in (ROOT / "SPEC.md").read_text().splitlines():
        match = ROW.match(line)
        if match:
            assert match.group(1) not in rows, f"SPEC.md defines {match.group(1)} twice"
            rows[match.group(1)] = match.group(2)
    return rows


def _cited() -> set[str]:
    """Every clause id passed to a ``clause`` marker anywhere in the tests or the suite."""
    cited: set[str] = set()
    sources = [*(ROOT / "tests").rglob("*.py"), *(ROOT / "reference" / "memmapref" / "testing").rglob("*.py")]
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "clause":
                cited |= {a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)}
    return cited


def test_clause_table_matches_spec() -> None:
    spec = _spec()
    table = {c.id: c.level for c in CLAUSES.values()}
    assert table == spec, (
        f"only in SPEC.md: {sorted(set(spec) - set(table))}; only in clauses.py: {sorted(set(table) - set(spec))}"
    )


def test_reference_only_clauses_exist() -> None:
    assert set(CLAUSES) >= REFERENCE_ONLY


def test_every_clause_has_a_test() -> None:
    missing = sorted(set(CLAUSES) - _cited())
    assert not missing, f"clauses no test cites: {missing}"


def test_tests_cite_only_known_clauses() -> None:
    unknown = sorted(_cited() - set(CLAUSES))
    assert not unknown, f"tests cite clauses SPEC.md does not have: {unknown}"
