"""Run ``memmapref check`` in a child on implementations defined beside a test, and read its report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

# (here, module, attrs, args) -> the report and the folder it is in: a check takes 20 to 60 s,
# and the snippet tests read the same runs the mutant and verdict tests make.
_DONE: dict[tuple[str, ...], tuple[dict[str, Any], Path]] = {}


def failing_check(
    here: Path, module: str, attrs: list[str], out: Path, *args: str, timeout: int = 900
) -> dict[str, Any]:
    """The report of a check that must fail (exit 1) on ``module:attr`` for each attr, run from ``out``.

    A check already made in this process with the same arguments is not made again; its report
    stays in the folder of the first run (``report_folder``).
    """
    key = (str(here), module, *attrs, "--", *args)
    if key not in _DONE:
        _DONE[key] = (_run(here, module, attrs, out, args, timeout), out)
    return _DONE[key][0]


def report_folder(here: Path, module: str, attrs: list[str], *args: str) -> Path:
    """Where the report of an earlier ``failing_check`` with these arguments was written."""
    return _DONE[(str(here), module, *attrs, "--", *args)][1]


def _run(here: Path, module: str, attrs: list[str], out: Path, args: tuple[str, ...], timeout: int) -> dict[str, Any]:
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
