"""SPEC.md, the clause table in memmapref.testing.clauses, and the tests that cite clauses agree."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from memmapref.testing.clauses import CLAUSES, REFERENCE_ONLY

ROOT = Path(__file__).resolve().parents[2]


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("clause_table", ROOT / "tools" / "clause_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    """Ids, levels and titles, in SPEC.md's order: the table is SPEC.md's, as tools/clause_table.py writes it."""
    tool = _tool()
    spec = [tuple(row) for row in tool.spec_rows((ROOT / "SPEC.md").read_text(encoding="utf-8"))]
    table = [tuple(clause) for clause in CLAUSES.values()]
    differ = [(s, t) for s, t in zip(spec, table, strict=False) if s != t]
    assert table == spec, (
        f"only in SPEC.md: {sorted({r[0] for r in spec} - set(CLAUSES))}; "
        f"only in clauses.py: {sorted(set(CLAUSES) - {r[0] for r in spec})}; "
        f"first rows that differ (SPEC.md, clauses.py): {differ[:3]}; fix: python tools/clause_table.py"
    )


def test_the_tool_rewrites_only_the_table() -> None:
    """Rewriting clauses.py from SPEC.md gives the file as it is, apart from ruff's line wrapping."""
    tool = _tool()
    source = tool.TABLE.read_text(encoding="utf-8")
    rewritten = tool.render(tool.spec_rows(tool.SPEC.read_text(encoding="utf-8")), source)
    namespace: dict[str, object] = {}
    exec(compile(rewritten, str(tool.TABLE), "exec"), namespace)
    assert namespace["CLAUSES"] == CLAUSES
    assert rewritten.partition(tool.BEGIN)[0] == source.partition(tool.BEGIN)[0]
    assert rewritten.partition(tool.END)[2] == source.partition(tool.END)[2]


def test_a_clause_defined_twice_is_refused() -> None:
    row = "| OPEN.1 | MUST | `open` never grows the file. |"
    with pytest.raises(ValueError, match=r"OPEN\.1 twice"):
        _tool().spec_rows(f"{row}\n{row}\n")


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("`open` never grows or writes the file, in any mode.", "open never grows or writes the file, in any mode"),
        ("Results are exact. numpy.memmap wraps +0.0 around.", "Results are exact"),
        ("A " + "long " * 30 + "clause.", "A " + "long " * 18 + "..."),
    ],
)
def test_a_title_is_the_first_sentence_cut_near_100_characters(statement: str, expected: str) -> None:
    assert _tool().title(statement) == expected


def test_reference_only_clauses_exist() -> None:
    assert set(CLAUSES) >= REFERENCE_ONLY


def test_every_clause_has_a_test() -> None:
    missing = sorted(set(CLAUSES) - _cited())
    assert not missing, f"clauses no test cites: {missing}"


def test_tests_cite_only_known_clauses() -> None:
    unknown = sorted(_cited() - set(CLAUSES))
    assert not unknown, f"tests cite clauses SPEC.md does not have: {unknown}"
