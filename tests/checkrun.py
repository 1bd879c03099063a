"""Run ``memmapref check`` in a child on implementations defined beside a test, and read its report."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# (here, module, attrs, args) -> the report and the folder it is in: a check takes 20 to 60 s,
# and the snippet tests read the same runs the mutant and verdict tests make.
_DONE: dict[tuple[str, ...], tuple[dict[str, Any], Path]] = {}
# The per-test limit of each child check: its default, 60 s, is for a user's check; under --cov coverage
# traces every child, and on two loaded cores the large-file reduction tests took more than 60 s each.
_TIME_LIMIT = ("--timeout", "300")


def failing_check(
    here: Path, module: str, attrs: list[str], out: Path, *args: str, timeout: int = 900, measured: bool = False
) -> dict[str, Any]:
    """The report of a check that must fail (exit 1) on ``module:attr`` for each attr, run from ``out``.

    Only a ``measured`` check is traced by coverage (see ``untraced_env``): the mutants' check is
    the one that reaches the report's and the suite's paths for failures of every kind.

    A check already made in this run with the same arguments (by this process or another xdist
    worker) is not made again; its report stays in the folder of the first run (``report_folder``).
    """
    key = (str(here), module, *attrs, "--", *args)
    return _made_once(key, out, lambda folder: _run(here, module, attrs, folder, args, timeout, measured))[0]


def _made_once(
    key: tuple[str, ...], out: Path, compute: Callable[[Path], dict[str, Any]]
) -> tuple[dict[str, Any], Path]:
    """``once_per_run``, remembered in this process too (``report_folder`` reads where it ran)."""
    if key not in _DONE:
        _DONE[key] = once_per_run(key, out, compute)
    return _DONE[key]


def once_per_run(
    key: tuple[str, ...], out: Path, compute: Callable[[Path], dict[str, Any]]
) -> tuple[dict[str, Any], Path]:
    """``compute(folder)`` once for all the xdist workers of this run, and the folder it ran in.

    Grouping the tests that need one check on one worker (``xdist_group``) cannot be relied on:
    pytest 9.2 no longer reads the node id that pytest-xdist 3.8 rewrites to mark a group
    (pytest-xdist issue 1386), so a group's tests spread over the workers. The first worker to ask
    computes under a lock in the run's shared temporary folder; the others wait and read its result.
    Serially (no worker), ``compute(out)`` runs at once.
    """
    root = _run_root(out)
    if root is None:
        return compute(out), out
    shared = root / "once-per-run" / hashlib.sha256("\0".join(key).encode()).hexdigest()[:16]
    folder = shared / "out"
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(shared / "lock"):
        done, failed = shared / "result.json", shared / "failed.txt"
        if failed.exists():
            raise AssertionError(f"failed in the worker that ran it first:\n{failed.read_text()}")
        if not done.exists():
            try:
                result = compute(folder)
            except Exception as exc:
                failed.write_text(f"{type(exc).__name__}: {exc}")
                raise
            done.write_text(json.dumps(result))
        return json.loads(done.read_text()), folder


def _run_root(out: Path) -> Path | None:
    """The temporary folder this run's xdist workers share: the parent of this worker's own."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    mine = next((p for p in out.resolve().parents if p.name == f"popen-{worker}"), None) if worker else None
    return None if mine is None else mine.parent


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def report_folder(here: Path, module: str, attrs: list[str], *args: str) -> Path:
    """Where the report of an earlier ``failing_check`` with these arguments was written."""
    return _DONE[(str(here), module, *attrs, "--", *args)][1]


def _run(
    here: Path, module: str, attrs: list[str], out: Path, args: tuple[str, ...], timeout: int, measured: bool
) -> dict[str, Any]:
    impls = [a for attr in attrs for a in ("--impl", f"{module}:{attr}")]
    # The implementations' module is found beside the test that names them.
    done = _check(out, *args, *impls, path=(str(here),), timeout=timeout, measured=measured)
    assert done.returncode == 1, (
        f"the check must fail on {module} (exit {done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    )
    return json.loads((out / "report.json").read_text())  # type: ignore[no-any-return]


def untraced_env(**extra: str) -> dict[str, str]:
    """This process's environment without coverage's subprocess hook, and with ``extra``.

    A child check runs every suite test again (thousands of Hypothesis examples), and coverage's
    tracer makes it two to three times slower; the code it runs is measured where this run runs the
    same suite and report in-process.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COVERAGE_", "COV_CORE_"))}
    return {**env, **extra}


def _check(
    out: Path, *args: str, path: tuple[str, ...] = (), timeout: int = 900, measured: bool = False
) -> subprocess.CompletedProcess[str]:
    """``memmapref check`` in a child, run from ``out`` and reporting there, with ``path`` before ``sys.path``."""
    command = [sys.executable, "-m", "memmapref", "check", "--report", str(out), *_TIME_LIMIT, *args]
    pythonpath = os.pathsep.join([*path, *sys.path])
    env = dict(os.environ, PYTHONPATH=pythonpath) if measured else untraced_env(PYTHONPATH=pythonpath)
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=out, timeout=timeout, check=False)


def bundled_check(out: Path, profile: str = "quick") -> tuple[dict[str, Any], Path]:
    """The report of ``memmapref check --impl all -n 2`` under ``profile``, and its folder; made once per run.

    The bundled implementations' declared deviations hold, so the check must pass (exit 0).
    """
    return _made_once(("bundled", profile), out, lambda folder: _run_bundled(folder, profile))


def _run_bundled(out: Path, profile: str) -> dict[str, Any]:
    done = _check(out, "--impl", "all", "--profile", profile, "-n", "2", timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return json.loads((out / "report.json").read_text())  # type: ignore[no-any-return]


def check_verdicts(out: Path, spec: str, *args: str, timeout: int = 900) -> dict[str, str]:
    """Each clause's verdict from ``memmapref check --impl spec`` run from ``out``, whatever its exit status."""
    done = _check(out, "--impl", spec, *args, timeout=timeout)
    assert done.returncode in (0, 1), f"the check did not run (exit {done.returncode}):\n{done.stderr[-3000:]}"
    report = json.loads((out / "report.json").read_text())
    (rows,) = report["implementations"].values()
    return {clause: str(row["verdict"]) for clause, row in rows.items()}
