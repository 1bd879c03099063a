"""Run a scenario in a child Python process, so that SIGBUS or a memory limit cannot kill the caller."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str

    @property
    def signal(self) -> str | None:
        """The name of the signal that killed the child (``"SIGBUS"``), or None."""
        return signal.Signals(-self.returncode).name if self.returncode < 0 else None


def run_python(
    code: str,
    *,
    data_limit: int | None = None,
    timeout: float = 120,
    cwd: str | None = None,
) -> Outcome:
    """Run ``code`` with ``python -c`` in a lean child.

    ``data_limit`` sets ``RLIMIT_DATA`` (bytes of anonymous memory) in the child
    only. BLAS is pinned to one thread: each OpenBLAS thread reserves buffers
    that count against the limit. The child inherits ``sys.path`` so that it
    imports the same memmapref as the parent.
    """

    def limit() -> None:  # pragma: no cover -- runs in the child between fork and exec, unmeasured
        if data_limit is not None:
            resource.setrlimit(resource.RLIMIT_DATA, (data_limit, data_limit))

    env = dict(os.environ)
    env.update(
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
        PYTHONFAULTHANDLER="",
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=cwd,
        preexec_fn=limit,
        check=False,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


# Source for a child scenario: ``report(call)`` prints, as one JSON line, the call's value or the
# exception it raised (class, classes it derives from, errno, message), so the parent can judge a
# child that survived. The child imports json itself.
CHILD_REPORT = """
def report(call):
    try:
        value = call()
    except Exception as exc:
        print(json.dumps({"error": type(exc).__name__, "mro": [c.__name__ for c in type(exc).__mro__],
                          "errno": getattr(exc, "errno", None), "message": str(exc)[:500]}), flush=True)
    else:
        print(json.dumps({"value": value}), flush=True)
"""
