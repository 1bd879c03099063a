"""The durability suite must catch each durability mutant of the reference as a failure of its named clause.

One child run of ``memmapref check``, restricted to the durability tests, covers every mutant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import durability_mutants
import pytest
from checkrun import failing_check

from memmapref.testing import trace

HERE = Path(__file__).parent

pytestmark = [
    pytest.mark.skipif(trace.unavailable() is not None, reason=f"untested: {trace.unavailable()}"),
    # One worker builds the report (--dist loadgroup); the mutant report's group runs beside it.
    pytest.mark.xdist_group("durability-mutant-report"),
]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("durability-mutant-report")
    return failing_check(
        HERE, "durability_mutants", list(durability_mutants.EXPECTED), out, "-n", "0", "-k", "TestDurability"
    )


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.parametrize("attr", list(durability_mutants.EXPECTED))
def test_durability_mutant_fails_its_clause(report: dict[str, Any], attr: str) -> None:
    clause, linux_too = durability_mutants.EXPECTED[attr]
    # The implementation's name, without building it here: a mutant patches the reference it runs on.
    name = attr.replace("_", "-")
    row = report["implementations"][name][clause]
    assert row["verdict"] == "failed", f"{name}: clause {clause} is {row['verdict']!r}, not failed"
    if clause != "HANDLE.8":
        scope = "[under POSIX and Linux]" if linux_too else "[under POSIX only]"
        assert row["message"].startswith(f"AssertionError: {scope}"), f"{name}: {row['message']}"
