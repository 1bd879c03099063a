"""``memmapref check``: exit status, report files, usage errors, and xdist giving the serial verdicts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from memmapref.testing.clauses import CLAUSES

# A deviation is confirmed only by the tests that fail for it, so a subset must keep them.
FAST = "Reopen or Errors or zero_size or threshold_edges or short_file"


def _check(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        # The quick profile: these tests are about the command, not about finding bugs.
        [sys.executable, "-m", "memmapref", "check", "--profile", "quick", "--report", str(tmp_path / "out"), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
        check=False,
    )


def _report(tmp_path: Path) -> dict[str, Any]:
    return json.loads((tmp_path / "out" / "report.json").read_text())  # type: ignore[no-any-return]


@pytest.mark.subprocess
def test_reference_passes_and_the_report_lists_every_clause(tmp_path: Path) -> None:
    done = _check(tmp_path, "--impl", "memmapref.testing.implementations:reference", "-n", "0", "-k", FAST)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "implementation under test: memmapref (memmapref.testing.implementations:reference)" in done.stdout
    report = _report(tmp_path)
    assert report["gate"] is True
    assert set(report["implementations"]["memmapref"]) == set(CLAUSES)
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert all(f"| {clause} |" in markdown for clause in CLAUSES)


@pytest.mark.subprocess
def test_numpy_memmap_by_default_with_its_deviations(tmp_path: Path) -> None:
    done = _check(tmp_path, "-n", "0", "-k", FAST)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    rows = _report(tmp_path)["implementations"]["numpy.memmap"]
    assert rows["OPEN.2"]["verdict"] == "deviation"
    assert rows["OPEN.2"]["example"].startswith("import numpy as np\nfrom memmapref.testing.implementations import")


@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--impl", "no_such_module:impl"], "could not import"),
        (["--impl", "memmapref:nothing_here"], "has no attribute"),
        (["--impl", "memmapref"], "MODULE:ATTRIBUTE"),
        (["--impl", "memmapref.errors:MemmapError"], "protocol"),
        (["--examples", "0"], "positive"),
    ],
)
def test_usage_errors_exit_2_without_a_traceback(tmp_path: Path, args: list[str], message: str) -> None:
    done = _check(tmp_path, *args)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


@pytest.mark.subprocess
@pytest.mark.slow
def test_xdist_gives_the_serial_verdicts(tmp_path: Path) -> None:
    verdicts = {}
    for workers in ("0", "2"):
        folder = tmp_path / f"n{workers}"
        folder.mkdir()
        done = _check(folder, "--impl", "all", "-n", workers, "-k", FAST)
        assert done.returncode == 0, done.stdout[-3000:]
        table = _report(folder)["implementations"]
        verdicts[workers] = {impl: {c: row["verdict"] for c, row in rows.items()} for impl, rows in table.items()}
    assert verdicts["0"] == verdicts["2"]


@pytest.mark.subprocess
def test_a_selection_that_runs_nothing_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.json").write_text("{}")  # a stale report from an earlier run must not count
    done = _check(tmp_path, "-n", "0", "-k", "no_test_is_called_this")
    assert done.returncode == 2 and "did not run" in done.stderr


@pytest.mark.subprocess
def test_a_report_path_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("not a folder")
    done = _check(tmp_path, "-n", "0")
    assert done.returncode == 2
    assert "not a folder" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    done = _check(tmp_path, "-n", "0", "--report", str(tmp_path / "out" / "inside"))
    assert done.returncode == 2 and "cannot be written" in done.stderr


@pytest.mark.subprocess
def test_an_implementation_beside_the_user_is_found(tmp_path: Path) -> None:
    (tmp_path / "mine.py").write_text("from memmapref.testing.implementations import reference as impl\n")
    done = _check(tmp_path, "--impl", "mine:impl", "-n", "0", "-k", "test_zero_size_file_holds_no_data")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert _report(tmp_path)["implementations"]["memmapref"]["CREATE.1"]["verdict"] == "passed"
