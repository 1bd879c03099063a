"""One bug behind many clauses is reported once: an implementation that cannot map a zero-size array.

Hypothesis shrinks every failing example to the smallest array, a zero-size one, so this one bug
fails most of the clauses that draw shapes; the report must show it as one root cause with those
clauses, before the per-clause detail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from checkrun import failing_check, report_folder

HERE = Path(__file__).parent
# test_zero_size_file fails MEAN.1 and FSUM.1 every run; the drawn tests reach a zero-size array by luck.
SELECTION = "TestCreate or TestReopenReadOnly or test_slice_mean or test_filtered_sum or test_zero_size_file"
ARGS = ("-n", "2", "--profile", "quick", "-k", SELECTION)

# One worker builds the report for both tests (--dist loadgroup).
pytestmark = [pytest.mark.slow, pytest.mark.subprocess, pytest.mark.xdist_group("root-cause-report")]


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("root-causes")


@pytest.fixture(scope="module")
def report(out: Path) -> dict[str, Any]:
    return failing_check(HERE, "defective", ["no_empty_arrays"], out, *ARGS)


def test_one_bug_is_one_root_cause_with_every_clause_it_fails(report: dict[str, Any]) -> None:
    first = report["root_causes"][0]
    assert first["impl"] == "no-empty-arrays"
    # The line of the bug itself: the one mmap call in defective.py that maps zero bytes.
    source = (HERE / "defective.py").read_text().splitlines()
    line = next(n for n, text in enumerate(source, 1) if "mmap.mmap(-1, 0)" in text)
    assert first["cause"].startswith("OSError at ")
    assert first["cause"].endswith(f"defective.py:{line} in _refuse_empty")
    assert {"CREATE.1", "OPEN.3", "MEAN.1", "FSUM.1"} <= set(first["clauses"])
    rows = report["implementations"]["no-empty-arrays"]
    assert all(rows[c]["verdict"] == "failed" for c in first["clauses"])
    assert len(first["tests"]) > 1
    # Every record of the cause is a failure from that one place.
    records = [r for r in report["records"] if r["cause"] == first["cause"]]
    assert records and all(r["outcome"] == "failed" and r["message"].startswith("OSError") for r in records)


def test_the_root_cause_is_shown_once_before_the_clauses(report: dict[str, Any]) -> None:
    # Where the check ran: another worker may have made it (checkrun.once_per_run).
    folder = report_folder(HERE, "defective", ["no_empty_arrays"], *ARGS)
    markdown = (folder / "report.md").read_text()
    cause = report["root_causes"][0]["cause"]
    assert markdown.count(cause) == 1
    assert markdown.index("## Root causes") < markdown.index(cause) < markdown.index("## no-empty-arrays")
