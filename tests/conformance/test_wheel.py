"""The built wheel carries SPEC.md, and ``memmapref check`` runs from it outside the repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def _run(command: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    # No PYTHONPATH: the package must come from the wheel, not from this checkout.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.subprocess
@pytest.mark.slow
def test_the_wheel_ships_spec_md_and_its_check_runs_outside_the_repository(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    # Built in isolation: pip fetches the setuptools pyproject.toml asks for, which needs the package index.
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(ROOT)], tmp_path)
    if built.returncode != 0:  # pragma: no cover -- offline, or no index
        pytest.skip(f"the wheel cannot be built here: {built.stderr.strip().splitlines()[-1:]}")
    (wheel,) = dist.glob("memmapref-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("memmapref/SPEC.md") == (ROOT / "SPEC.md").read_bytes()
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    installed = _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)], tmp_path)
    assert installed.returncode == 0, installed.stderr[-2000:]
    # The test dependencies of this interpreter serve the environment, so nothing is downloaded. A .pth
    # line, not system_site_packages: this interpreter may itself be a virtual environment (tox, CI), whose
    # packages the system's site does not hold. Its own .pth files (the editable checkout) are not run.
    # Written after the install: where memmapref is installed in this interpreter (tox), pip would see
    # it through the line and install nothing.
    own = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    site_dir = env_dir / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    (site_dir / "test-dependencies.pth").write_text("".join(f"{path}\n" for path in sorted(own)))
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    where = _run([str(python), "-c", "import memmapref; print(memmapref.__file__)"], empty)
    assert where.stdout.strip().startswith(str(env_dir)), where.stdout + where.stderr
    check = [str(env_dir / "bin" / "memmapref"), "check", "--profile", "quick", "-n", "0"]
    done = _run([*check, "-k", "Reopen or zero_size"], empty)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    report = json.loads((empty / "memmapref-report" / "report.json").read_text())
    rows = report["implementations"]["numpy.memmap"]
    assert rows["CREATE.1"]["verdict"] == "deviation" and rows["OPEN.7"]["verdict"] == "passed"
