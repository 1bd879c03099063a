"""A costly check (a child ``memmapref check``) that several tests read is made once per run, under ``-n`` too.

Two mechanisms: ``xdist_group`` puts a module's tests on one worker where pytest-xdist can (the conftest
makes ``--dist loadgroup`` the default with ``-n`` and tells the workers so), and ``checkrun.once_per_run``
shares one result between workers through a lock where it cannot.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from checkrun import once_per_run

from memmapref.testing.versions import parse

TESTS = Path(__file__).parents[1]
GROUPED = """
import os
import pytest

pytestmark = pytest.mark.xdist_group("one-worker")


@pytest.mark.parametrize("n", range(6))
def test_grouped(n):
    print(os.environ["PYTEST_XDIST_WORKER"])
"""


# pytest 9.2 reads a node's id from a field pytest-xdist 3.8 does not rewrite (pytest-xdist issue 1386).
_GROUPS_BROKEN = parse(pytest.__version__) >= (9, 2) and parse(importlib.metadata.version("pytest-xdist")) <= (3, 8)


@pytest.mark.subprocess
@pytest.mark.xfail(_GROUPS_BROKEN, reason="pytest-xdist issue 1386: no grouping on pytest 9.2", strict=True)
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


_WORKER = """
import sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
from checkrun import once_per_run

def compute(folder):
    with open({counter!r}, "a") as f:
        f.write(str(folder) + "\\n")
    time.sleep(0.5)  # long enough for the other worker to ask meanwhile
    return {{"made in": str(folder)}}

print(once_per_run(("key",), Path(sys.argv[1]), compute))
"""


@pytest.mark.subprocess
def test_a_check_runs_once_for_all_the_workers_of_a_run(tmp_path: Path) -> None:
    counter = tmp_path / "computed"
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(_WORKER.format(tests=str(TESTS), counter=str(counter))))
    children = []
    for worker in ("gw0", "gw1"):
        out = tmp_path / f"popen-{worker}" / "check0"
        out.mkdir(parents=True)
        env = dict(os.environ, PYTEST_XDIST_WORKER=worker)
        command = [sys.executable, str(script), str(out)]
        children.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True))
    printed = [child.communicate(timeout=60)[0] for child in children]
    assert [child.returncode for child in children] == [0, 0]
    assert len(counter.read_text().splitlines()) == 1, counter.read_text()
    assert printed[0] == printed[1]


def test_a_failure_is_not_computed_again_by_the_next_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def compute(folder: Path) -> dict[str, str]:
        calls.append(folder)
        raise subprocess.TimeoutExpired("memmapref check", 1)

    for worker in ("gw0", "gw1"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        out = tmp_path / f"popen-{worker}" / "check0"
        out.mkdir(parents=True)
        with pytest.raises((subprocess.TimeoutExpired, AssertionError), match="timed out"):
            once_per_run(("failing",), out, compute)
    assert len(calls) == 1


def test_serially_the_check_runs_in_the_folder_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    assert once_per_run(("serial",), tmp_path, lambda folder: {"in": str(folder)}) == ({"in": str(tmp_path)}, tmp_path)
