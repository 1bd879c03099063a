"""Regenerate the clause table of ``memmapref.testing.clauses`` from SPEC.md.

    python tools/clause_table.py          # rewrite the table in place
    python tools/clause_table.py --check  # exit 1 if the table differs from SPEC.md

SPEC.md is the one source of the clauses: their ids, levels and statements. The
package carries a copy of the ids, levels and short titles (the first sentence
of each statement, cut at a word near 100 characters) because SPEC.md does not
ship in the wheel and ``memmapref check`` must name the clauses wherever it is
installed. ``tests/meta/test_clauses.py`` fails when the copy and SPEC.md differ.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "SPEC.md"
TABLE = ROOT / "reference" / "memmapref" / "testing" / "clauses.py"
BEGIN = "# BEGIN clause table: generated from SPEC.md by tools/clause_table.py; do not edit by hand.\n"
END = "# END clause table\n"
WIDTH = 100

_ROW = re.compile(r"^\| ([A-Z]+\.\d+) \| (MUST|SHOULD) \| (.+) \|\s*$")
# A sentence ends at a full stop after a word, a number, a bracket or a quote, and before a space:
# "numpy.memmap" and "+0.0" do not end one.
_SENTENCE_END = re.compile(r"(?<=[A-Za-z0-9)\"'])\.(\s|$)")


class Row(NamedTuple):
    id: str
    level: str
    title: str


def title(statement: str, width: int = WIDTH) -> str:
    """The first sentence of a clause's statement, without Markdown code marks, cut to ``width``."""
    plain = statement.replace("`", "").strip()
    end = _SENTENCE_END.search(plain)
    first = plain[: end.start()] if end else plain.rstrip(".")
    if len(first) <= width:
        return first
    return first[: width - 4].rsplit(" ", 1)[0].rstrip(",;:") + " ..."


def spec_rows(text: str) -> list[Row]:
    """Every clause row of SPEC.md's tables, in order; an id defined twice is an error."""
    rows: list[Row] = []
    for line in text.splitlines():
        match = _ROW.match(line)
        if match:
            if any(row.id == match.group(1) for row in rows):
                raise ValueError(f"SPEC.md defines {match.group(1)} twice; fix: give one of them a new id")
            rows.append(Row(match.group(1), match.group(2), title(match.group(3))))
    return rows


def render(rows: list[Row], source: str) -> str:
    """``source`` (clauses.py) with the text between the table's markers replaced by ``rows``."""
    head, found, rest = source.partition(BEGIN)
    _, found_end, tail = rest.partition(END)
    if not (found and found_end):
        raise ValueError(f"{TABLE} lacks the markers {BEGIN.strip()!r} and {END.strip()!r}")
    body = "_TABLE = [\n" + "".join(f"    Clause({r.id!r}, {r.level!r}, {r.title!r}),\n" for r in rows) + "]\n"
    return head + BEGIN + body + END + tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report a difference instead of rewriting")
    args = parser.parse_args(argv)
    rows = spec_rows(SPEC.read_text(encoding="utf-8"))
    if args.check:
        sys.path.insert(0, str(ROOT / "reference"))
        from memmapref.testing.clauses import CLAUSES

        table = [Row(c.id, c.level, c.title) for c in CLAUSES.values()]
        if table != rows:
            print(f"{TABLE} differs from SPEC.md; fix: python tools/clause_table.py", file=sys.stderr)
            return 1
        return 0
    TABLE.write_text(render(rows, TABLE.read_text(encoding="utf-8")), encoding="utf-8")
    # The rows are written one a line; ruff wraps the long ones as the rest of the code is wrapped.
    subprocess.run([sys.executable, "-m", "ruff", "format", "--quiet", str(TABLE)], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
