"""The suite must catch every mutant of the reference, each as a failure of a named clause.

One child run of ``memmapref check`` covers all mutants, each restricted to
the suite tests that should find its bug, so the whole check stays cheap.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import mutants
import pytest

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("mutant-report")
    selection = " or ".join(
        f"({getattr(mutants, attr).name} and {tests})" for attr, (_, tests) in mutants.EXPECTED.items()
    )
    command = [sys.executable, "-m", "memmapref", "check", "--report", str(out), "-n", "0", "-k", selection]
    command += ["--examples", "30"]  # enough for the float32 mean to meet a value float32 cannot hold
    for attr in mutants.EXPECTED:
        command += ["--impl", f"mutants:{attr}"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), *sys.path]))
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=out, timeout=600, check=False)
    assert done.returncode == 1, f"the check should fail on mutants (exit {done.returncode}):\n{done.stderr[-3000:]}"
    return json.loads((out / "report.json").read_text())  # type: ignore[no-any-return]


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.parametrize("attr", list(mutants.EXPECTED))
def test_mutant_fails_its_clause(report: dict[str, Any], attr: str) -> None:
    clause, _ = mutants.EXPECTED[attr]
    name = getattr(mutants, attr).name
    row = report["implementations"][name][clause]
    assert row["verdict"] == "failed", f"{name}: clause {clause} is {row['verdict']!r}, not failed"
    assert row["example"].startswith("import numpy as np"), "no runnable example for the failure"
