"""The durability suite must catch each durability mutant of the reference as a failure of its named clause.

One child run of ``memmapref check``, restricted to the durability tests, covers every mutant.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import durability_mutants
import pytest

from memmapref.testing import trace

HERE = Path(__file__).parent

pytestmark = pytest.mark.skipif(trace.unavailable() is not None, reason=f"untested: {trace.unavailable()}")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("durability-mutant-report")
    command = [sys.executable, "-m", "memmapref", "check", "--report", str(out), "-n", "0", "-k", "TestDurability"]
    for attr in durability_mutants.EXPECTED:
        command += ["--impl", f"durability_mutants:{attr}"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), *sys.path]))
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=out, timeout=600, check=False)
    assert done.returncode == 1, f"the check should fail on mutants (exit {done.returncode}):\n{done.stderr[-3000:]}"
    return json.loads((out / "report.json").read_text())  # type: ignore[no-any-return]


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
