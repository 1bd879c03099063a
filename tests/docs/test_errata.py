"""One test (or a few) per row of docs/errata.md, named test_e<row>_...

Each test asserts what the row's middle column says numpy does. When a numpy
release changes that behaviour, the test fails and the table is stale.
Anything that can kill the process (SIGBUS, SIGSEGV, a memory limit) runs in a
child process through memmapref.testing.subproc.run_python.
"""

from __future__ import annotations

import inspect
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import memmapref
from memmapref.testing.subproc import run_python
from memmapref.testing.versions import NUMPY

ERRATA = Path(__file__).resolve().parents[2] / "docs" / "errata.md"
MIB = 1 << 20


def failure(call: Callable[[], object]) -> tuple[type[BaseException], str]:
    """The class and message of what ``call`` raises.

    Only those are kept: the traceback would keep numpy's half-built mapping
    alive, and the leak check would report it.
    """
    try:
        call()
    except Exception as exc:
        return type(exc), str(exc)
    raise AssertionError("no exception raised")


def peak_bytes(call: Callable[..., object], *args: Any) -> int:
    """The most memory traced by tracemalloc at once while ``call(*args)`` runs (numpy reports its buffers)."""
    tracemalloc.start()
    try:
        call(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def size_and_mtime(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def child(code: str, tmp_path: Path, **kwargs: Any) -> Any:
    return run_python(textwrap.dedent(code), cwd=str(tmp_path), **kwargs)


# Read by children that measure themselves; the fields are in kB.
STATUS = """
def status():
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("RssAnon", "RssFile", "VmData"):
                fields[key] = int(value.split()[0]) * 1024
    return fields
"""


def test_errata_rows_and_tests_match() -> None:
    rows = set(re.findall(r"^\| (E\d+) \|", ERRATA.read_text(), flags=re.MULTILINE))
    tested = {f"E{m[1]}" for name in globals() if (m := re.match(r"test_e(\d+)_", name))}
    assert rows, "no rows found in errata.md"
    assert rows == tested, {"rows without a test": rows - tested, "tests without a row": tested - rows}


def test_e1_signature_and_read_write_default() -> None:
    assert NUMPY >= (1, 26)
    params = inspect.signature(np.memmap).parameters
    defaults = {name: p.default for name, p in params.items() if p.default is not inspect.Parameter.empty}
    assert list(params) == ["filename", "dtype", "mode", "offset", "shape", "order"]
    assert defaults == {"dtype": np.uint8, "mode": "r+", "offset": 0, "shape": None, "order": "C"}


@pytest.mark.clause("CREATE.3", "CREATE.7")
def test_e2_w_plus_replaces_the_file_in_place(tmp_path: Path) -> None:
    path = tmp_path / "mmaped.dat"
    fp = np.memmap(path, dtype=np.int64, mode="w+", shape=(1000, 1000))
    st = path.stat()
    # Sparse: numpy writes a single byte at the end, so at most a block or two is allocated.
    assert st.st_size == 8_000_000
    assert st.st_blocks * 512 <= 64 * 1024
    fp[:] = 7
    fp.flush()
    reader = np.memmap(path, dtype=np.int64, mode="r", shape=(1000, 1000))
    writer = np.memmap(path, dtype=np.int64, mode="w+", shape=(1000, 1000))
    assert not reader.any()  # the old data are gone, for every mapping of the file
    del fp, reader, writer

    # The corrected code: a new file renamed into place leaves readers their data.
    np.full(4, 7, dtype=np.int64).tofile(path)
    reader = np.memmap(path, dtype=np.int64, mode="r")
    with memmapref.create(path, np.int64, (4,)) as m:
        assert reader.tolist() == [7, 7, 7, 7]
        assert m.array.tolist() == [0, 0, 0, 0]
    del reader


@pytest.mark.subprocess
def test_e2_w_plus_with_a_shorter_shape_kills_readers(tmp_path: Path) -> None:
    outcome = child(
        """
        import numpy as np
        np.ones(65536, dtype=np.uint8).tofile("shared.dat")
        reader = np.memmap("shared.dat", dtype=np.uint8, mode="r")
        writer = np.memmap("shared.dat", dtype=np.uint8, mode="w+", shape=(16,))
        print("replaced", flush=True)
        print(reader[-1])
        """,
        tmp_path,
    )
    assert outcome.stdout == "replaced\n"
    assert outcome.signal == "SIGBUS"


@pytest.mark.clause("CREATE.1")
def test_e3_empty_shape(tmp_path: Path) -> None:
    path = tmp_path / "empty.dat"

    def make() -> None:
        np.memmap(path, dtype=np.float64, mode="w+", shape=(0,))

    if NUMPY >= (2, 2):
        make()
        assert path.stat().st_size == 1
    else:
        assert failure(make) == (ValueError, "cannot mmap an empty file")
        assert path.stat().st_size == 0
    memmapref.create(tmp_path / "ref.dat", np.float64, (0,)).close()
    assert (tmp_path / "ref.dat").stat().st_size == 0


def test_e4_written_pages_take_disk_space_only_then(tmp_path: Path) -> None:
    path = tmp_path / "mmaped.dat"
    fp = np.memmap(path, dtype=np.int64, mode="w+", shape=(1000, 1000))
    before = path.stat().st_blocks * 512
    fp[0:100, :] = np.random.default_rng(0).integers(0, 100, (100, 1000))
    fp.flush()
    after = path.stat().st_blocks * 512
    del fp
    assert before <= 64 * 1024
    assert after >= 800_000  # the 100 rows written


# Mounts a 1 MiB tmpfs in a private mount namespace of the child only: directly
# as root, else in a user namespace where the system allows unprivileged ones.
# It must run before numpy starts any thread: unshare() refuses threaded callers.
FULL_DISK = """
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWUSER, MS_REC, MS_PRIVATE = 0x00020000, 0x10000000, 0x4000, 0x40000

def skip(what):
    print("SKIP", what + ":", os.strerror(ctypes.get_errno()))
    sys.exit(0)

uid, gid = os.getuid(), os.getgid()
if libc.unshare(CLONE_NEWNS) != 0:
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0:
        skip("unshare")
    for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)
if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
    skip("make the mounts private")
os.mkdir("small")
if libc.mount(b"tmpfs", b"small", b"tmpfs", 0, b"size=1m") != 0:
    skip("mount a tmpfs")

import numpy as np
import memmapref

try:
    memmapref.create("small/ref.dat", np.uint8, (4 * 2**20,))
except OSError as e:
    print("create", errno.errorcode[e.errno], os.listdir("small"), flush=True)
fp = np.memmap("small/numpy.dat", dtype=np.uint8, mode="w+", shape=(4 * 2**20,))
print("mapped", os.path.getsize("small/numpy.dat"), flush=True)
fp[:] = 1
print("survived")
"""


@pytest.mark.subprocess
@pytest.mark.clause("CREATE.4", "CREATE.5")
def test_e4_full_disk_is_sigbus_for_numpy_and_enospc_for_memmapref(tmp_path: Path) -> None:
    outcome = child(FULL_DISK, tmp_path)
    if outcome.stdout.startswith("SKIP"):
        pytest.skip(f"no private 1 MiB tmpfs on this machine: {outcome.stdout.strip()}")
    assert outcome.stdout.splitlines() == ["create ENOSPC []", f"mapped {4 * MIB}"], outcome.stderr
    assert outcome.signal == "SIGBUS"


# umask() is a system call nothing else in the child makes: it brackets the flush.
FLUSH_TRACE = """
import os
import numpy as np
import memmapref

fp = np.memmap("numpy.dat", dtype=np.int64, mode="w+", shape=(1000,))
fp[:] = 5
os.umask(0o022)
fp.flush()
os.umask(0o022)
m = memmapref.create("ref.dat", np.int64, (1000,))
m[:] = 5
os.umask(0o022)
m.flush()
os.umask(0o022)
m.close()
"""


@pytest.mark.subprocess
@pytest.mark.clause("HANDLE.3")
def test_e5_numpy_flush_is_one_msync_and_no_fsync(tmp_path: Path) -> None:
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    log = tmp_path / "trace.txt"
    done = subprocess.run(
        [
            "strace",
            "-f",
            "-qq",
            "-o",
            str(log),
            "-e",
            "trace=umask,msync,fsync,fdatasync,sync_file_range,syncfs,sync",
            sys.executable,
            "-c",
            FLUSH_TRACE,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, OPENBLAS_NUM_THREADS="1"),
    )
    if done.returncode != 0 or not log.exists():
        pytest.skip(f"strace cannot trace here: {done.stderr.strip()[-200:]}")
    calls = [
        m[1] + ("(MS_SYNC)" if "MS_SYNC" in line else "")
        for line in log.read_text().splitlines()
        if (m := re.search(r"\b(umask|msync|fsync|fdatasync|sync_file_range|syncfs|sync)\(", line))
    ]
    segments = " ".join(calls).split("umask")
    numpy_flush, reference_flush = segments[1].split(), segments[3].split()
    assert numpy_flush == ["msync(MS_SYNC)"]
    assert reference_flush == ["msync(MS_SYNC)", "fsync"]


@pytest.mark.subprocess
def test_e5_killed_without_flush_loses_nothing(tmp_path: Path) -> None:
    outcome = child(
        """
        import os, signal
        import numpy as np
        fp = np.memmap("mmaped.dat", dtype=np.int64, mode="w+", shape=(1000, 1000))
        fp[0:100, :] = 42
        os.kill(os.getpid(), signal.SIGKILL)
        """,
        tmp_path,
    )
    assert outcome.signal == "SIGKILL"
    data = np.fromfile(tmp_path / "mmaped.dat", dtype=np.int64).reshape(1000, 1000)
    assert (data[:100] == 42).all()
    assert not data[100:].any()


def _mapped(path: Path) -> bool:
    with open("/proc/self/maps") as maps:
        return any(line.rstrip().endswith(str(path)) for line in maps)


@pytest.mark.clause("HANDLE.5")
def test_e6_del_leaves_the_file_mapped_while_a_view_lives(tmp_path: Path) -> None:
    path = tmp_path / "mmaped.dat"
    fp = np.memmap(path, dtype=np.int64, mode="w+", shape=(1000, 1000))
    assert not hasattr(fp, "close")
    row = fp[0]
    del fp
    assert _mapped(path)
    del row
    assert not _mapped(path)

    m = memmapref.create(path, np.int64, (1000, 1000))
    row = m.array[0]
    m.close()
    assert _mapped(path)
    assert row.sum() == 0  # still valid memory
    del row
    assert not _mapped(path)


@pytest.mark.subprocess
def test_e6_closing_the_private_mmap_crashes(tmp_path: Path) -> None:
    outcome = child(
        """
        import numpy as np
        fp = np.memmap("mmaped.dat", dtype=np.uint8, mode="w+", shape=(4096,))
        fp._mmap.close()
        print("closed", flush=True)
        print(fp[0])
        """,
        tmp_path,
    )
    assert outcome.stdout == "closed\n"
    assert outcome.signal == "SIGSEGV"


@pytest.mark.clause("OPEN.2", "OPEN.4")
def test_e7_reopening_needs_the_writers_dtype_and_shape(tmp_path: Path) -> None:
    path = tmp_path / "mmaped.dat"
    data = np.arange(1_000_000, dtype=np.int64).reshape(1000, 1000) % 100
    data.tofile(path)
    same = np.memmap(path, dtype=np.int64, mode="r", shape=(1000, 1000))
    assert (same == data).all()
    other = np.memmap(path, dtype=np.float64, mode="r", shape=(1000, 1000))
    assert other[0, 1] == np.int64(1).view(np.float64)  # reinterpreted, silently
    del same, other
    assert failure(lambda: np.memmap(path, dtype=np.int64, mode="r", shape=(2000, 1000))) == (
        ValueError,
        "mmap length is greater than file size",
    )
    kind, text = failure(lambda: memmapref.open(path, np.int64, (2000, 1000)))
    assert issubclass(kind, ValueError)
    assert "8000000 bytes" in text
    assert "16000000 bytes" in text


@pytest.mark.clause("ARGS.1", "ARGS.9")
def test_e8_float_shape_grows_the_file_then_raises(tmp_path: Path) -> None:
    path = tmp_path / "mmaped.dat"
    path.write_bytes(bytes(800))
    expected = (TypeError, "'float' object cannot be interpreted as an integer")
    assert failure(lambda: np.memmap(path, dtype=np.float64, mode="r+", shape=(20.0, 20.0))) == expected
    assert path.stat().st_size == 3200
    # The tutorial's own shape would make the same file 8,000,000,000,000 bytes long.
    assert 10**6 * 10**6 * np.dtype(np.float64).itemsize == 8_000_000_000_000

    before = size_and_mtime(path)
    kind, _ = failure(lambda: memmapref.open(path, np.float64, (20.0, 20.0), mode="r+"))
    assert issubclass(kind, TypeError)
    assert size_and_mtime(path) == before


@pytest.mark.clause("OPEN.1", "OPEN.2")
def test_e9_other_dtype_and_larger_shape_grow_the_file_with_zeros(tmp_path: Path) -> None:
    path = tmp_path / "mmaped.dat"
    data = np.zeros((10, 10), dtype=np.int64)
    data[0, 0] = 42
    data.tofile(path)
    large = np.memmap(path, dtype=np.float64, mode="r+", shape=(40, 40))
    assert path.stat().st_size == 40 * 40 * 8
    assert repr(float(large[0, 0])) == "2.08e-322"
    assert large[20:30, 20:30].mean() == 0.0  # the slice lies in the added zeros
    del large
    assert round(8 * 10**12 / 2**40, 1) == 7.3  # the tutorial's 8 TB, in TiB

    data.tofile(path)
    before = size_and_mtime(path)
    kind, text = failure(lambda: memmapref.open(path, np.float64, (40, 40), mode="r+"))
    assert issubclass(kind, ValueError)
    assert "12800 bytes" in text
    assert size_and_mtime(path) == before


def test_e10_the_tutorials_index_is_empty_on_the_real_shape(tmp_path: Path) -> None:
    path = tmp_path / "mmaped.dat"
    np.zeros((1000, 1000), dtype=np.int64).tofile(path)
    fp = np.memmap(path, dtype=np.int64, mode="r", shape=(1000, 1000))
    part = fp[500000:500100, 500000:500100]
    assert part.shape == (0, 0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mean = part.mean()
    del fp, part
    assert np.isnan(mean)
    # numpy 2.4 dropped the full stop.
    empty = "Mean of empty slice" if NUMPY >= (2, 4) else "Mean of empty slice."
    assert [(w.category, str(w.message)) for w in caught] == [
        (RuntimeWarning, empty),
        (RuntimeWarning, "invalid value encountered in scalar divide"),
    ]


@pytest.mark.clause("OPEN.1", "OPEN.6")
def test_e11_r_plus_never_creates_a_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.dat"
    kind, _ = failure(lambda: np.memmap(path, dtype=np.int64, mode="r+", shape=(10,)))
    assert kind is FileNotFoundError
    assert not path.exists()


@pytest.mark.clause("REDUCE.1")
def test_e12_a_basic_slice_is_a_view_and_its_mean_allocates_little(tmp_path: Path) -> None:
    path = tmp_path / "mmaped.dat"
    np.zeros((1000, 1000), dtype=np.float64).tofile(path)
    fp = np.memmap(path, dtype=np.float64, mode="r", shape=(1000, 1000))
    part = fp[500:600, 500:600]
    assert isinstance(part, np.memmap)
    assert np.shares_memory(part, fp)
    assert peak_bytes(part.mean) < 256 * 1024  # the file is 8,000,000 bytes
    del fp, part


@pytest.mark.subprocess
def test_e12_a_slice_reads_pages_near_its_rows_only(tmp_path: Path) -> None:
    # Rows 32 MiB apart: the 8 rows of the slice span 256 MiB of a 512 MiB sparse
    # file. A kernel may map a whole large folio (up to 2 MiB) per fault, so the
    # bound allows for that and still is a quarter of the span.
    outcome = child(
        STATUS
        + """
import numpy as np
with open("rows.dat", "wb") as f:
    f.truncate(512 * 2**20)
fp = np.memmap("rows.dat", dtype=np.float64, mode="r", shape=(16, 4 * 2**20))
before = status()
mean = float(fp[4:12, 1000:1100].mean())
after = status()
print(mean, after["RssFile"] - before["RssFile"])
""",
        tmp_path,
    )
    mean, grown = outcome.stdout.split()
    assert float(mean) == 0.0
    assert int(grown) < 64 * MIB, outcome.stdout


@pytest.mark.subprocess
def test_e13_the_mask_of_the_tutorials_shape_cannot_be_allocated(tmp_path: Path) -> None:
    # The comparison allocates its output from the shape and dtype alone, so a
    # zero-stride view stands in for the 8 TB file. The 1 GiB limit makes the
    # 931 GiB request fail whatever the machine's overcommit policy.
    outcome = child(
        """
        import numpy as np
        large_fp = np.lib.stride_tricks.as_strided(np.zeros(1), shape=(10**6, 10**6), strides=(0, 0))
        try:
            large_fp[large_fp > 0.5]
        except MemoryError as e:
            print(type(e).__qualname__, e, sep=": ")
        """,
        tmp_path,
        data_limit=1 << 30,
    )
    assert outcome.stdout.strip() == (
        "_ArrayMemoryError: Unable to allocate 931. GiB for an array with shape (1000000, 1000000) and data type bool"
    ), outcome.stderr


@pytest.mark.clause("REDUCE.1")
def test_e14_the_mask_and_the_copy_are_in_memory(tmp_path: Path) -> None:
    n = 4 * MIB
    path = tmp_path / "uniform.dat"
    ((np.arange(n) % 1024) / 1024).tofile(path)
    fp = np.memmap(path, dtype=np.float64, mode="r")
    selected = n // 1024 * 511  # 513/1024 ... 1023/1024 in every 1024
    naive = peak_bytes(lambda a: a[a > 0.5].sum(), fp)
    del fp
    assert n + 8 * selected <= naive < n + 8 * selected + MIB
    assert round(naive / MIB) == 20
    with memmapref.open(path, np.float64) as m:
        streamed = peak_bytes(lambda: memmapref.filtered_sum(m, 0.5))
    assert streamed < 4 * memmapref.DEFAULT_CHUNK_BYTES


@pytest.mark.subprocess
@pytest.mark.clause("REDUCE.1")
def test_e14_under_a_memory_limit_the_mask_fails_and_the_stream_finishes(tmp_path: Path) -> None:
    # The child limits itself to what it uses after the imports plus 64 MiB, so
    # the test does not depend on how much the interpreter needs; the reduction's
    # worker threads (their stacks count too) fit in that. The file is 128 MiB
    # of zeros, every item selected: the naive expression needs 144 MiB.
    outcome = child(
        STATUS
        + """
import resource
import numpy as np
import memmapref

with open("zeros.dat", "wb") as f:
    f.truncate(128 * 2**20)
limit = status()["VmData"] + 64 * 2**20
resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
fp = np.memmap("zeros.dat", dtype=np.float64, mode="r")
try:
    print("naive", fp[fp > -1.0].sum())
except MemoryError:
    print("naive MemoryError")
del fp
with memmapref.open("zeros.dat", np.float64) as m:
    print("streamed", memmapref.filtered_sum(m, -1.0))
""",
        tmp_path,
    )
    assert outcome.stdout.splitlines() == ["naive MemoryError", "streamed 0.0"], outcome.stderr


@pytest.mark.clause("OPEN.8", "OPEN.9")
def test_e15_copy_on_write_never_reaches_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mmaped.dat"
    np.zeros(1000, dtype=np.int64).tofile(path)
    before = size_and_mtime(path)
    c = np.memmap(path, dtype=np.int64, mode="c")
    c[:] = 9
    c.flush()
    assert (c == 9).all()
    del c
    assert not np.fromfile(path, dtype=np.int64).any()
    assert size_and_mtime(path) == before

    w = np.memmap(path, dtype=np.int64, mode="r+")
    w[:] = 9
    # No flush: the page cache is the file, for every reader.
    assert (np.fromfile(path, dtype=np.int64) == 9).all()
    del w


@pytest.mark.subprocess
@pytest.mark.clause("OPEN.9")
def test_e15_copy_on_write_refuses_a_file_larger_than_memory(tmp_path: Path) -> None:
    # Four times RAM plus swap, sparse: no disk space, and past what the default
    # overcommit heuristic lets one private mapping reserve.
    outcome = child(
        """
        import os
        import numpy as np
        import memmapref
        with open("/proc/sys/vm/overcommit_memory") as f:
            print(f.read().strip())
        memory = 0
        with open("/proc/meminfo") as f:
            for line in f:
                key, value = line.split(":")
                if key in ("MemTotal", "SwapTotal"):
                    memory += int(value.split()[0]) * 1024
        with open("huge.dat", "wb") as f:
            f.truncate(4 * memory)
        for mode in ("r", "r+", "c"):
            try:
                np.memmap("huge.dat", dtype=np.uint8, mode=mode)
                print(mode, "mapped")
            except OSError as e:
                print(mode, e.errno)
        try:
            memmapref.open("huge.dat", np.uint8, mode="c")
        except OSError as e:
            print("ref", type(e).__name__, e.errno)
        os.remove("huge.dat")
        """,
        tmp_path,
    )
    lines = outcome.stdout.splitlines()
    if lines[:1] != ["0"]:
        pytest.skip(f"the row describes the default overcommit heuristic; this machine has mode {lines[:1]}")
    assert lines[1:] == ["r mapped", "r+ mapped", "c 12", "ref MemmapOSError 12"], outcome.stderr


@pytest.mark.subprocess
def test_e16_pages_read_count_in_resident_memory(tmp_path: Path) -> None:
    outcome = child(
        STATUS
        + """
import numpy as np
with open("big.dat", "wb") as f:
    f.truncate(32 * 2**20)
fp = np.memmap("big.dat", dtype=np.float64, mode="r")
before = status()
float(fp.sum())
after = status()
print(after["RssFile"] - before["RssFile"], after["RssAnon"] - before["RssAnon"])
""",
        tmp_path,
    )
    file_pages, anon = map(int, outcome.stdout.split())
    assert 30 * MIB <= file_pages <= 40 * MIB, outcome.stdout
    assert anon < 4 * MIB, outcome.stdout


def test_e17_arithmetic_gives_an_in_memory_array(tmp_path: Path) -> None:
    path = tmp_path / "mmaped.dat"
    np.zeros((1000, 1000), dtype=np.int64).tofile(path)
    fp = np.memmap(path, dtype=np.int64, mode="r", shape=(1000, 1000))
    assert type(fp + 1) is np.ndarray
    assert type(fp[[1, 2]]) is np.ndarray
    assert type(fp[fp > 0]) is np.ndarray
    assert type(fp[0:10]) is np.memmap
    assert peak_bytes(np.add, fp, 1) >= 8_000_000
    # Copies typed numpy.memmap, with no file behind them (numpy issue 13846).
    for copy in (np.sort(fp), fp.astype(np.float32), fp.copy(), fp.T.reshape(-1)):
        assert isinstance(copy, np.memmap)
        assert copy.filename is None
        assert not np.shares_memory(copy, fp)
    # Views other than basic slices stay backed by the file.
    for view in (fp.T, fp.view(np.uint8), fp.reshape(-1), fp.reshape(500, 2000)):
        assert isinstance(view, np.memmap)
        assert view.filename == fp.filename
        assert np.shares_memory(view, fp)
    del fp, copy, view


@pytest.mark.clause("ARGS.1")
def test_e18_npy_header_with_numpy_integers(tmp_path: Path) -> None:
    from numpy.lib.format import open_memmap

    path = tmp_path / "bad.npy"
    bad = open_memmap(path, mode="w+", dtype="<f8", shape=(np.int64(3),))
    del bad
    header = path.read_bytes()[:128]

    def load() -> None:
        np.load(path, mmap_mode="r")

    if NUMPY >= (2, 0):
        assert b"'shape': (np.int64(3),)" in header
        kind, text = failure(load)
        assert kind is ValueError
        assert text.startswith("malformed node or string on line 1: <ast.Call object at ")
    else:
        assert b"'shape': (3,)" in header
        load()

    good = tmp_path / "good.npy"
    made = open_memmap(good, mode="w+", dtype="<f8", shape=(int(np.int64(3)),))
    del made
    assert np.load(good, mmap_mode="r").shape == (3,)
    with memmapref.create(tmp_path / "ref.dat", np.float64, (np.int64(3),)) as m:
        assert m.shape == (3,)
        assert type(m.shape[0]) is int
