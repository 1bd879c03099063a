"""Run ``memmapref check`` in a child on implementations defined beside a test, and read its report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def failing_check(
    here: Path, module: str, attrs: list[str], out: Path, *args: str, timeout: int = 900
) -> dict[str, Any]:
    """The report of a check that must fail (exit 1) on ``module:attr`` for each attr, run from ``out``."""
    command = [sys.executable, "-m", "memmapref", "check", "--report", str(out), *args]
    for attr in attrs:
        command += ["--impl", f"{module}:{attr}"]
    # The implementations' module is found beside the test that names them.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(here), *sys.path]))
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=out, timeout=timeout, check=False)
    assert done.returncode == 1, (
        f"the check must fail on {module} (exit {done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    )
    return json.loads((out / "report.json").read_text())  # type: ignore[no-any-return]


def check_verdicts(out: Path, spec: str, *args: str, timeout: int = 900) -> dict[str, str]:
    """Each clause's verdict from ``memmapref check --impl spec`` run from ``out``, whatever its exit status."""
    command = [sys.executable, "-m", "memmapref", "check", "--report", str(out), "--impl", spec, *args]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=out, timeout=timeout, check=False)
    assert done.returncode in (0, 1), f"the check did not run (exit {done.returncode}):\n{done.stderr[-3000:]}"
    report = json.loads((out / "report.json").read_text())
    (rows,) = report["implementations"].values()
    return {clause: str(row["verdict"]) for clause, row in rows.items()}
