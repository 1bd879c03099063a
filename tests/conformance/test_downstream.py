"""A downstream project that uses the suite as README shows, under pytest's strictest settings.

It registers an implementation (``--impl`` in its pytest.ini), loads the plugin in its conftest and
subclasses only some suite classes; it runs serially and under pytest-xdist, and both must pass with
``--strict-markers``, ``--strict-config``, ``filterwarnings = error`` and ``xfail_strict = true``. The
deviations numpy.memmap declares for clauses whose tests the project does not run are not stale.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import memmapref

PROJECT = {
    "mine.py": "from memmapref.testing.implementations import numpy_memmap as impl\n",
    "conftest.py": 'pytest_plugins = ["memmapref.testing.plugin"]\n',
    "test_conformance.py": (
        "from memmapref.testing.suite import CreateTests, ReopenTests\n\n\n"
        "class TestCreate(CreateTests): ...\n\n\n"
        "class TestReopen(ReopenTests): ...\n"
    ),
    "pytest.ini": (
        "[pytest]\n"
        "addopts = --strict-markers --strict-config -p no:cacheprovider --impl mine:impl\n"
        "    --hypothesis-profile memmapref-quick --memmapref-report out\n"
        "filterwarnings = error\n"
        "xfail_strict = true\n"
    ),
}


def _refuses_a_list_shape(path: Path) -> bool:
    """Whether the installed numpy's memmap refuses ``shape=[2]`` in mode "w+" (numpy 1.x does)."""
    try:
        probe = np.memmap(path, dtype="f8", mode="w+", shape=[2])
    except TypeError:
        return True
    del probe  # the last reference: the mapping and its descriptor go with it
    return False


def _run(folder: Path, *args: str) -> dict[str, Any]:
    for name, text in PROJECT.items():
        (folder / name).write_text(text)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(folder), str(Path(memmapref.__file__).parents[1])]))
    # pytest-benchmark, where installed, warns under xdist that it is disabled; the project is not about it.
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:benchmark", *args]
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    rows = json.loads((folder / "out" / "report.json").read_text())["implementations"]["numpy.memmap"]
    return {clause: (row["verdict"], row["message"]) for clause, row in rows.items()}


@pytest.mark.subprocess
@pytest.mark.slow
def test_the_readme_downstream_project_passes_serially_and_under_xdist(tmp_path: Path) -> None:
    (tmp_path / "serial").mkdir()
    (tmp_path / "xdist").mkdir()
    serial = _run(tmp_path / "serial")
    parallel = _run(tmp_path / "xdist", "-n", "2")
    assert {c: v for c, (v, _) in serial.items()} == {c: v for c, (v, _) in parallel.items()}
    assert [c for c, (verdict, _) in serial.items() if verdict == "stale deviation"] == []
    verdict, message = serial["ARGS.1"]
    if _refuses_a_list_shape(tmp_path / "probe.bin"):
        # numpy 1.x: the create tests, which the project runs, confirm the deviation (a list shape refused).
        assert verdict == "deviation"
    else:
        # Declared, confirmed only by the error tests the project does not subclass: not run, so not judged.
        assert verdict == "untested" and "test_bad_open_argument_is_refused" in message
    # Declared and confirmed by the classes that did run.
    assert serial["CREATE.1"][0] == "deviation" and serial["OPEN.3"][0] == "deviation"
    assert serial["OPEN.7"][0] == "passed"
