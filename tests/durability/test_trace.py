"""The tracer: strace's output parsed into events, descriptors followed to files, addresses to file offsets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from memmapref.testing import replay, trace
from memmapref.testing.replay import Files
from memmapref.testing.trace import parse

pytestmark = pytest.mark.skipif(trace.unavailable() is not None, reason=f"untested: {trace.unavailable()}")


def test_arguments_split_at_top_level_commas_only() -> None:
    got = trace.split_args('3, "a, \\"b\\"", [{iov_base="x", iov_len=1}], 0x10')
    assert got == ("3", '"a, \\"b\\""', '[{iov_base="x", iov_len=1}]', "0x10")
    assert trace.unquote(got[1]) == 'a, "b"'
    assert trace.unquote('"\\0abc"...') == "\0abc"
    assert trace.split_args("") == ()


def test_unfinished_calls_are_joined_to_their_resumption_and_failures_keep_their_errno() -> None:
    text = "\n".join(
        [
            '10 openat(AT_FDCWD, "/d/f", O_RDWR <unfinished ...>',
            "11 msync(0x1000, 4096, MS_SYNC) = -1 EIO (Input/output error) (INJECTED)",
            "10 <... openat resumed>) = 3",
            "10 +++ exited with 0 +++",
            '10 chdir("/d/@mark/ack|flush|/d/f|") = -1 ENOENT (No such file or directory)',
        ]
    )
    failed, opened, marker = parse(text)  # in the order the calls returned
    assert (opened.line, opened.pid, opened.name, opened.ret, opened.path(1)) == (1, 10, "openat", 3, "/d/f")
    assert (failed.ret, failed.errno, failed.injected) == (None, "EIO", True)
    assert marker.label == "ack|flush|/d/f|" and opened.label is None
    assert parse('10 chdir("/elsewhere") = 0')[0].label is None


def _replay(lines: list[str], root: str = "/d") -> tuple[Files, list[replay.Effect]]:
    files = Files(root=root)
    effects = [e for event in parse("\n".join(f"1 {line}" for line in lines)) for e in files.apply(event)]
    return files, effects


def test_descriptors_positions_and_names_are_followed() -> None:
    files, effects = _replay(
        [
            'openat(AT_FDCWD, "/d/a", O_RDWR|O_CREAT|O_TRUNC, 0666) = 3',
            "fcntl(3, F_DUPFD_CLOEXEC, 0) = 4",
            "fcntl(3, F_GETFD) = 1",
            "dup(3) = 5",
            "dup2(3, 9) = 9",
            "lseek(4, 100, SEEK_SET) = 100",
            'write(3, "ab", 2) = 2',
            'pwrite64(5, "abcd", 4, 200) = 4',
            'write(9, "", 0) = 0',
            "lseek(3, 0, SEEK_SET) = 0",
            'write(3, "x", 1) = 1',
            "lseek(3, 102, SEEK_SET) = 102",
            "ftruncate(3, 4096) = 0",
            "fallocate(3, FALLOC_FL_KEEP_SIZE, 0, 8192) = 0",
            "fallocate(3, 0, 0, 100) = 0",
            "fallocate(3, 0, 0, 8192) = 0",
            'open("/d/b", O_WRONLY|O_CREAT|O_APPEND, 0666) = 6',
            'creat("/d/c", 0666) = 7',
            'openat(AT_FDCWD, "/elsewhere/x", O_RDONLY) = 8',
            'write(8, "zz", 2) = 2',
            "ftruncate(8, 0) = 0",
            "fallocate(8, 0, 0, 10) = 0",
            "fsync(8) = 0",
            "close(3) = 0",
            'rename("/d/a", "/d/a2") = 0',
            'renameat2(AT_FDCWD, "/d/b", AT_FDCWD, "/d/b2", RENAME_NOREPLACE) = 0',
            'rename("/d/missing", "/d/x") = 0',
            'link("/d/c", "/d/c2") = 0',
            'linkat(AT_FDCWD, "/d/missing", AT_FDCWD, "/d/y", 0) = 0',
            'unlink("/d/c") = 0',
            'unlinkat(AT_FDCWD, "/d/missing", 0) = 0',
            'openat(AT_FDCWD, "/d", O_RDONLY|O_DIRECTORY) = 3',
            "fdatasync(3) = 0",
            'openat(AT_FDCWD, "/d/a2", O_RDWR|O_TRUNC) = 10',
            'openat(AT_FDCWD, "/d/a2", O_RDWR|O_TRUNC) = 11',
            "close(99) = 0",
            'openat(AT_FDCWD, "/d/nope", O_RDONLY) = -1 ENOENT (No such file or directory)',
        ]
    )
    a = files.names["/d/a2"]
    assert files.fds[(1, 4)].position == 102, "dup'ed descriptors share one position"
    assert files.sizes[a] == 0, "O_TRUNC emptied it after it grew to 8192"
    assert [e.kind for e in effects if e.file == a] == [
        "named",
        "wrote",
        "resized",
        "wrote",
        "resized",
        "wrote",
        "resized",
        "resized",
        "unnamed",
        "named",
        "resized",
    ]
    assert [(e.start, e.end) for e in effects if e.kind == "wrote"] == [(100, 102), (200, 204), (0, 1)]
    assert {"/d/b2", "/d/c2"} <= set(files.names) and "/d/c" not in files.names and "/d/b" not in files.names
    assert files.names["/d"] in files.directories
    assert [e.path for e in effects if e.kind == "fsync"] == ["/d"], "only the directory was synced"
    assert "/elsewhere/x" not in files.names


def test_mappings_translate_addresses_to_file_offsets() -> None:
    files, effects = _replay(
        [
            'openat(AT_FDCWD, "/d/a", O_RDWR) = 3',
            "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_SHARED, 3, 0x1000) = 0x7f0000000000",
            "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7e0000000000",
            "msync(0x7f0000001000, 4096, MS_SYNC) = 0",
            "msync(0x7f0000000000, 4096, MS_ASYNC) = 0",
            "msync(0x7d0000000000, 4096, MS_SYNC) = 0",
            "mremap(0x7f0000000000, 8192, 16384, MREMAP_MAYMOVE) = 0x7a0000000000",
            "mremap(0x7b0000000000, 8192, 16384, MREMAP_MAYMOVE) = 0x7c0000000000",
            "msync(0x7a0000003000, 4096, MS_SYNC) = 0",
            "munmap(0x7a0000000000, 16384) = 0",
            "msync(0x7a0000000000, 4096, MS_SYNC) = 0",
        ]
    )
    syncs = [(e.start, e.end) for e in effects if e.kind == "msync"]
    assert syncs == [(0x2000, 0x3000), (0x4000, 0x5000)], "offsets are the mapping's file offset plus the distance"
    assert files.mappings == []


def _trace_of(tmp_path: Path, body: str) -> tuple[Files, list[replay.Effect], trace.Traced]:
    traced = trace.run_traced([sys.executable, "-c", f"import numpy as np, memmapref\nD = {str(tmp_path)!r}\n{body}"])
    assert traced.outcome.returncode == 0, traced.outcome.stderr
    files = Files(root=str(tmp_path))
    return files, [e for event in traced.events for e in files.apply(event)], traced


@pytest.mark.subprocess
def test_numpy_memmap_flush_is_one_msync_of_the_whole_mapping(tmp_path: Path) -> None:
    files, effects, traced = _trace_of(
        tmp_path,
        'm = np.memmap(D + "/a.bin", mode="w+", dtype="<f8", shape=(1024,))\nm[:] = 1\nm.flush()\ndel m',
    )
    kinds = [e.kind for e in effects]
    # Opened with O_TRUNC, extended by one byte written at the end, mapped, msync'ed: no fsync at all.
    assert kinds == ["named", "wrote", "resized", "msync"], kinds
    assert (effects[-1].start, effects[-1].end) == (0, 8192)
    assert files.sizes[files.names[str(tmp_path / "a.bin")]] == 8192
    assert not any(e.name in ("fsync", "fdatasync") for e in traced.events)


@pytest.mark.subprocess
def test_reference_flush_is_msync_then_fsync_of_the_file_behind_the_mapping(tmp_path: Path) -> None:
    files, effects, _ = _trace_of(
        tmp_path,
        'h = memmapref.create(D + "/a.bin", "<f8", (1024,))\nh.array[:] = 1\nh.flush()\nh.close()',
    )
    target = files.names[str(tmp_path / "a.bin")]
    kinds = [(e.kind, e.file == target) for e in effects]
    # The temporary file is sized and synced, renamed, the directory synced; flush and close each msync + fsync.
    assert kinds == [
        ("named", True),
        ("resized", True),
        ("fsync", True),
        ("unnamed", True),
        ("named", True),
        ("fsync", False),
        ("msync", True),
        ("fsync", True),
        ("msync", True),
        ("fsync", True),
    ], kinds
    assert [e.path for e in effects if e.kind == "fsync" and e.file != target] == [str(tmp_path)]


def test_without_strace_the_reason_is_given(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    trace.unavailable.cache_clear()
    monkeypatch.setattr(trace, "STRACE", str(tmp_path / "no-strace"))
    try:
        assert trace.unavailable() == f"strace is not installed (looked for {tmp_path / 'no-strace'})"
        fails = tmp_path / "fails"
        fails.write_text("#!/bin/sh\necho 'ptrace: Operation not permitted' >&2\nexit 1\n")
        fails.chmod(0o755)
        trace.unavailable.cache_clear()
        monkeypatch.setattr(trace, "STRACE", str(fails))
        reason = trace.unavailable()
        assert reason == "strace cannot trace a child here (ptrace refused?): ptrace: Operation not permitted"
    finally:
        trace.unavailable.cache_clear()
