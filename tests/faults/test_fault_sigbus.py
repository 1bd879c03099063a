"""SIGBUS hazards, each in a child process: numpy.memmap dies, the reference raises (REDUCE.3, CREATE.4, CREATE.7).

A mapped page with no file data behind it is a SIGBUS on first touch: the file
was truncated by another process, or the page is a hole of a sparse file on a
full filesystem. Each scenario runs in a child, so that only the child dies.
"""

from __future__ import annotations

import json
import mmap
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from common import files

from memmapref.testing.oracle import FileState
from memmapref.testing.subproc import CHILD_REPORT, Outcome, run_python

pytestmark = pytest.mark.subprocess

ITEMS = 16 * mmap.PAGESIZE // 8  # 16 pages of float64
SKIP = 77  # the child's exit status for "this machine cannot run the scenario"


def _values() -> np.ndarray[Any, Any]:
    return (np.arange(ITEMS) % 100).astype("<f8")


def _result(outcome: Outcome) -> dict[str, Any]:
    assert outcome.returncode == 0, (
        f"the child died ({outcome.signal or outcome.returncode}) instead of raising:\n{outcome.stderr[-2000:]}"
    )
    return json.loads(outcome.stdout.strip().splitlines()[-1])


_TRUNCATE_BY_ANOTHER_PROCESS = """
pid = os.fork()
if pid == 0:
    os.truncate(PATH, mmap.PAGESIZE)
    os._exit(0)
os.waitpid(pid, 0)
print("truncated", flush=True)
"""


def _truncation_child(path: Path, reader: str, action: str) -> str:
    opener = (
        f"h = np.memmap(PATH, dtype='<f8', mode='r', shape=({ITEMS},))"
        if reader == "numpy.memmap"
        else f"h = memmapref.open(PATH, '<f8', ({ITEMS},))"
    )
    return f"""
import json, mmap, os
import numpy as np
import memmapref
PATH = {str(path)!r}
{CHILD_REPORT}
{opener}
{_TRUNCATE_BY_ANOTHER_PROCESS}
report(lambda: float({action}))
"""


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    return files.data_file(tmp_path, _values().tobytes())


@pytest.mark.clause("REDUCE.3", "FAULT.9")
@pytest.mark.parametrize(
    "action", ["memmapref.slice_mean(h)", "memmapref.filtered_sum(h, 50.0)"], ids=["slice_mean", "filtered_sum"]
)
def test_reference_reductions_refuse_a_file_truncated_while_mapped(data_file: Path, action: str) -> None:
    outcome = run_python(_truncation_child(data_file, "memmapref", action))
    got = _result(outcome)
    assert "ValueError" in got.get("mro", []), f"got {got}; expected a ValueError"
    assert got["error"] == "FileSizeError"
    assert "shrunk" in got["message"] and str(mmap.PAGESIZE) in got["message"], got["message"]


def test_numpy_memmap_dies_of_sigbus_when_the_file_is_truncated(data_file: Path) -> None:
    """The documented hazard the reference's size check exists for."""
    outcome = run_python(_truncation_child(data_file, "numpy.memmap", "np.mean(h)"))
    assert "truncated" in outcome.stdout, outcome.stderr[-2000:]
    assert outcome.signal == "SIGBUS", f"got {outcome.signal or outcome.returncode}; expected death by SIGBUS"


def test_direct_access_past_the_new_end_is_sigbus_for_the_reference_too(data_file: Path) -> None:
    """Promised by no clause (SPEC.md section 7): only the reductions check the size first."""
    outcome = run_python(_truncation_child(data_file, "memmapref", "h.array[-1]"))
    assert "truncated" in outcome.stdout, outcome.stderr[-2000:]
    assert outcome.signal == "SIGBUS", f"got {outcome.signal or outcome.returncode}; expected death by SIGBUS"


# -- a full filesystem ---------------------------------------------------------------

_PRIVATE_TMPFS = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, MS_REC, MS_PRIVATE = 0x00020000, 0x4000, 1 << 18

def give_up(step):
    print(f"cannot {{step}}: {{os.strerror(ctypes.get_errno())}}", flush=True)
    sys.exit({skip})

# Before numpy starts any thread: unshare refuses a multi-threaded process.
if libc.unshare(CLONE_NEWNS) != 0:
    give_up("make a private mount namespace")
if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
    give_up("make mounts private")
if libc.mount(b"none", {mount!r}.encode(), b"tmpfs", 0, b"size={size}") != 0:
    give_up("mount a tmpfs")
"""


def _on_full_disk(tmp_path: Path, body: str, size: str = "1m") -> Outcome:
    mount = tmp_path / "small"
    mount.mkdir()
    code = (
        _PRIVATE_TMPFS.format(skip=SKIP, mount=str(mount), size=size)
        + f"""
import json, hashlib
import numpy as np
import memmapref
MNT = {str(mount)!r}
{CHILD_REPORT}
"""
        + body
    )
    outcome = run_python(code)
    if outcome.returncode == SKIP:
        pytest.skip(f"needs a private tmpfs (root in a mount namespace): {outcome.stdout.strip()}")
    return outcome


def test_numpy_memmap_dies_of_sigbus_on_a_full_disk(tmp_path: Path) -> None:
    outcome = _on_full_disk(
        tmp_path,
        """
a = np.memmap(os.path.join(MNT, "big.bin"), dtype="<f8", mode="w+", shape=(2 << 20) // 8)
print("created a sparse 2 MiB file on a 1 MiB filesystem", flush=True)
a[:] = 1.0
print("survived")
""",
    )
    assert "created" in outcome.stdout, outcome.stderr[-2000:]
    assert outcome.signal == "SIGBUS", f"got {outcome.signal or outcome.returncode}; expected death by SIGBUS"


_STATE = """
def state(path):
    with open(path, "rb") as f:
        content = f.read()
    info = os.stat(path)
    return [info.st_size, info.st_mtime_ns, hashlib.sha256(content).hexdigest()]
"""


@pytest.mark.clause("CREATE.4", "CREATE.5", "FAULT.11")
def test_reference_create_reports_a_full_disk_and_keeps_the_old_file(tmp_path: Path) -> None:
    outcome = _on_full_disk(
        tmp_path,
        _STATE
        + """
path = os.path.join(MNT, "data.bin")
with open(path, "wb") as f:
    f.write(bytes(range(256)) * 256)
before = state(path)
report(lambda: memmapref.create(path, "<f8", (2 << 20) // 8) and "created")
print(json.dumps({"unchanged": state(path) == before, "listing": sorted(os.listdir(MNT))}))
""",
    )
    lines = [json.loads(line) for line in outcome.stdout.strip().splitlines()]
    assert outcome.returncode == 0, (
        f"the child died ({outcome.signal or outcome.returncode}):\n{outcome.stderr[-2000:]}"
    )
    error, after = lines
    assert error.get("errno") == 28, f"got {error}; expected OSError ENOSPC from create"
    assert "OSError" in error["mro"] and "MemmapError" in error["mro"]
    assert "free disk space" in error["message"]
    assert after == {"unchanged": True, "listing": ["data.bin"]}, after


def test_reference_create_that_fits_can_be_written_in_full(tmp_path: Path) -> None:
    outcome = _on_full_disk(
        tmp_path,
        """
def work():
    with memmapref.create(os.path.join(MNT, "fits.bin"), "<f8", (512 << 10) // 8) as h:
        h[:] = 2.0
    return "written"
report(work)
""",
    )
    assert _result(outcome) == {"value": "written"}


# -- create over a file another process maps (CREATE.7) ------------------------------


@pytest.mark.clause("CREATE.7")
@pytest.mark.parametrize("new_items", [16, ITEMS], ids=["smaller", "same-size"])
@pytest.mark.parametrize("writer", ["memmapref", "numpy.memmap"])
def test_a_reader_of_the_old_file_during_create(data_file: Path, writer: str, new_items: int) -> None:
    make = (
        f"memmapref.create(PATH, '<f8', ({new_items},)).close()"
        if writer == "memmapref"
        else f"np.memmap(PATH, dtype='<f8', mode='w+', shape=({new_items},)).flush()"
    )
    code = f"""
import json, os
import numpy as np
import memmapref
PATH = {str(data_file)!r}
{CHILD_REPORT}
h = memmapref.open(PATH, '<f8', ({ITEMS},))
pid = os.fork()
if pid == 0:
    {make}
    os._exit(0)
os.waitpid(pid, 0)
print("replaced", flush=True)
report(lambda: float(np.asarray(h.array).sum()))
"""
    outcome = run_python(code)
    assert "replaced" in outcome.stdout, outcome.stderr[-2000:]
    before = FileState.of(data_file)
    assert before.size == new_items * 8
    if writer == "memmapref":
        assert _result(outcome) == {"value": float(_values().sum())}, "the reader lost the old file's data"
    elif new_items < ITEMS:
        # Truncation in place: the reader's pages past the new end have no file behind them.
        assert outcome.signal == "SIGBUS", f"got {outcome.signal or outcome.returncode}; expected death by SIGBUS"
    else:
        # Same size: no SIGBUS, but the reader's data silently became zeros.
        assert _result(outcome) == {"value": 0.0}


def test_the_tmpfs_is_private_to_the_child(tmp_path: Path) -> None:
    outcome = _on_full_disk(tmp_path, 'open(os.path.join(MNT, "inside.bin"), "wb").close()\nprint("{}")')
    assert outcome.returncode == 0, outcome.stderr[-2000:]
    assert os.listdir(tmp_path / "small") == [], "the child's mount leaked into the parent's namespace"
