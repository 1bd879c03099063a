"""Under ``-n``, the tests of an ``xdist_group`` share one worker, so a module's costly fixture is built once.

The conftest makes ``--dist loadgroup`` the default with ``-n`` and tells the workers so; without the
second half a worker leaves the group out of its test ids and the controller spreads the group's tests,
each worker then building the fixture (a child ``memmapref check``) again.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parents[1]
GROUPED = """
import os
import pytest

pytestmark = pytest.mark.xdist_group("one-worker")


@pytest.mark.parametrize("n", range(6))
def test_grouped(n):
    print(os.environ["PYTEST_XDIST_WORKER"])
"""


@pytest.mark.subprocess
def test_a_group_runs_on_one_worker(tmp_path: Path) -> None:
    # Beside this project's conftest, whose hooks make the grouping: the test file must sit under tests/.
    module = TESTS / "meta" / f"_grouped_{os.getpid()}_{tmp_path.name}.py"
    module.write_text(GROUPED)
    try:
        done = subprocess.run(
            # pytest-benchmark, where installed, fails a distributed run under filterwarnings = error.
            [
                sys.executable,
                "-m",
                "pytest",
                "-n",
                "2",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:benchmark",
                "-v",
                str(module),
            ],
            cwd=TESTS.parent,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        module.unlink()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    workers = {line.split("]")[0] for line in done.stdout.splitlines() if "PASSED" in line and "@one-worker" in line}
    assert len(workers) == 1, (
        f"expected the six grouped tests (ids ending in @one-worker) on one worker; got {workers}:\n"
        + done.stdout[-3000:]
    )
