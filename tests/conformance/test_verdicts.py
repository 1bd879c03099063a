"""Verdicts the suite must never give: each defective implementation of ``defective.py`` against its clause.

One child run of ``memmapref check`` under the quick profile (the fewest examples) covers them all:
a verdict that needs luck to come out right fails here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from checkrun import failing_check

HERE = Path(__file__).parent
# The defects judged from system-call traces; the others' checks leave the durability tests out, which
# for eight implementations would cost most of the run (a traced child per scenario and fault).
TRACED = ["no_flush"]
NAMES = [
    "no_copy_on_write",
    "overwrites_in_place",
    "greater_or_equal",
    "numpy_garbage_offset",
    "interrupts",
    "numeric_only_accepts_all",
    "numeric_only",
]


def verdict_reports(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The checks of every defective implementation: those of TRACED in full, the others without durability."""
    traced = failing_check(
        HERE, "defective", TRACED, tmp_path_factory.mktemp("traced"), "-n", "2", "--profile", "quick"
    )
    rest = failing_check(
        HERE,
        "defective",
        NAMES,
        tmp_path_factory.mktemp("verdicts"),
        "-n",
        "2",
        "--profile",
        "quick",
        "-k",
        "not TestDurability",
    )
    return [traced, rest]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    traced, rest = verdict_reports(tmp_path_factory)
    return {**rest, "implementations": {**traced["implementations"], **rest["implementations"]}}


def verdict(report: dict[str, Any], impl: str, clause: str) -> str:
    return str(report["implementations"][impl][clause]["verdict"])


# xdist_group: one worker builds the module's report (--dist loadgroup), not each worker its own.
pytestmark = [pytest.mark.slow, pytest.mark.subprocess, pytest.mark.xdist_group("verdict-report")]


@pytest.mark.parametrize("clause", ["HANDLE.3", "HANDLE.4"])
def test_a_flush_that_does_nothing_never_passes(report: dict[str, Any], clause: str) -> None:
    assert verdict(report, "no-flush", clause) in ("untested", "failed")


def test_a_mode_the_implementation_lacks_is_never_judged(report: dict[str, Any]) -> None:
    assert verdict(report, "no-copy-on-write", "OPEN.9") == "not applicable"


def test_a_clause_is_judged_in_the_modes_the_implementation_has(report: dict[str, Any]) -> None:
    assert verdict(report, "no-copy-on-write", "OPEN.2") == "passed"


def test_the_edge_case_of_a_clause_runs_at_the_smallest_example_count(report: dict[str, Any]) -> None:
    assert verdict(report, "overwrites-in-place", "CREATE.3") == "failed"


def test_a_filtered_sum_bug_is_credited_to_the_filtered_sum(report: dict[str, Any]) -> None:
    rows = report["implementations"]["greater-or-equal"]
    assert rows["FSUM.3"]["verdict"] == "failed"
    assert [c for c, row in rows.items() if c.startswith("MEAN.") and row["verdict"] == "failed"] == []


def test_a_declared_deviation_hides_no_other_failure(report: dict[str, Any]) -> None:
    rows = report["implementations"]["numpy-garbage-offset"]
    assert rows["CREATE.2"]["verdict"] == "failed"
    assert rows["CREATE.1"]["verdict"] == "deviation"


def test_a_dtype_declared_unsupported_but_accepted_fails_args_4(report: dict[str, Any]) -> None:
    row = report["implementations"]["numeric-only-accepts-all"]["ARGS.4"]
    assert row["verdict"] == "failed"
    assert "expected TypeError" in row["message"]


def test_strategies_draw_only_the_dtypes_an_implementation_supports(report: dict[str, Any]) -> None:
    """Refusing every other dtype with TypeError fails no clause: no test drew one, and ARGS.4 judged the refusal."""
    rows = report["implementations"]["numeric-only"]
    assert rows["ARGS.4"]["verdict"] == "passed"
    assert [c for c, row in rows.items() if row["verdict"] == "failed"] == []


def test_an_interrupt_inside_a_call_fails_its_clause(report: dict[str, Any]) -> None:
    rows = report["implementations"]["interrupts"]
    assert rows["MEAN.1"]["verdict"] == "failed"
    assert "KeyboardInterrupt" in rows["MEAN.1"]["message"]


def test_a_crash_inside_a_call_fails_its_clause_and_the_check_goes_on(tmp_path: Path) -> None:
    # Its own run, restricted to the cases around the two crashes: each crash costs a worker restart.
    report = failing_check(
        HERE,
        "defective",
        ["crashes"],
        tmp_path,
        "-n",
        "2",
        "--profile",
        "quick",
        "-k",
        "threshold_of_another_type and (i1 or u1)",
        timeout=300,
    )
    rows = report["implementations"]["crashes"]
    assert rows["FSUM.3"]["verdict"] == "failed"
    assert "killed the test process" in rows["FSUM.3"]["message"]
    records = report["records"]
    # The cases after each crash were still run and judged.
    assert sum(r["outcome"] == "passed" for r in records) >= 20
