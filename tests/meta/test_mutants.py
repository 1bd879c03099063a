"""The suite must catch every mutant of the reference, each as a failure of a named clause.

One child run of ``memmapref check`` covers all mutants, each restricted to
the suite tests that should find its bug, so the whole check stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mutants
import pytest
from checkrun import failing_check

HERE = Path(__file__).parent

# One worker runs every test of this module (--dist loadgroup), so the module's report, one child
# `memmapref check` of several CPU-minutes, is built once and not once per xdist worker.
pytestmark = pytest.mark.xdist_group("mutant-report")


def mutant_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The one check of every mutant, shared with the snippet test (made once per run)."""
    out = tmp_path_factory.mktemp("mutant-report")
    selection = " or ".join(
        f"({getattr(mutants, attr).name} and {tests})" for attr, (_, tests) in mutants.EXPECTED.items()
    )
    # 30 examples: enough for the float32 mean to meet a value float32 cannot hold.
    return failing_check(
        HERE, "mutants", list(mutants.EXPECTED), out, "-n", "0", "-k", selection, "--examples", "30", measured=True
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return mutant_report(tmp_path_factory)


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.parametrize("attr", list(mutants.EXPECTED))
def test_mutant_fails_its_clause(report: dict[str, Any], attr: str) -> None:
    clause, _ = mutants.EXPECTED[attr]
    name = getattr(mutants, attr).name
    row = report["implementations"][name][clause]
    assert row["verdict"] == "failed", f"{name}: clause {clause} is {row['verdict']!r}, not failed"
    assert row["example"].startswith("import numpy as np"), "no runnable example for the failure"
