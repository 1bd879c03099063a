"""The tracer is language-neutral: a small C program that maps and flushes a file is judged like an implementation."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from memmapref.testing import persistence, trace

pytestmark = pytest.mark.skipif(trace.unavailable() is not None, reason=f"untested: {trace.unavailable()}")

# Creates DIR/new.bin of four pages, maps it, stores to every page, flushes and unmaps. With "fsync" it
# syncs the file after sizing it and after each msync, and the directory after creating the file; with
# "msync" it relies on msync(MS_SYNC) alone. Steps are marked as the suite's scenarios mark them.
SOURCE = r"""
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *dir;
static void mark(const char *label) {
    char path[4096];
    snprintf(path, sizeof path, "%s/@mark/%s", dir, label);
    if (chdir(path) == 0) _exit(3);
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    dir = argv[1];
    int sync_file = strcmp(argv[2], "fsync") == 0;
    char path[4096], label[8192];
    snprintf(path, sizeof path, "%s/new.bin", dir);
    size_t size = 4 * (size_t)sysconf(_SC_PAGESIZE);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0) return 1;
    if (sync_file && fsync(fd) != 0) return 1;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd < 0 || fsync(dfd) != 0 || close(dfd) != 0) return 1;
    snprintf(label, sizeof label, "ack|create|%s|new", path);
    mark(label);
    char *data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (data == MAP_FAILED) return 1;
    memset(data, 7, size);
    snprintf(label, sizeof label, "store|%s|0|%zu", path, size);
    mark(label);
    if (msync(data, size, MS_SYNC) != 0) return 1;
    if (sync_file && fsync(fd) != 0) return 1;
    snprintf(label, sizeof label, "ack|flush|%s|first", path);
    mark(label);
    if (munmap(data, size) != 0 || close(fd) != 0) return 1;
    snprintf(label, sizeof label, "ack|close|%s|", path);
    mark(label);
    return 0;
}
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cc = shutil.which("cc")
    if cc is None:
        pytest.skip("untested: no C compiler (cc) to build the program")
    folder = tmp_path_factory.mktemp("c-program")
    (folder / "flush.c").write_text(SOURCE)
    subprocess.run([cc, "-O1", "-o", str(folder / "flush"), str(folder / "flush.c")], check=True)
    return folder / "flush"


def _judge(program: Path, tmp_path: Path, how: str) -> list[persistence.Acknowledgement]:
    traced = trace.run_traced([str(program), str(tmp_path), how])
    assert traced.outcome.returncode == 0, traced.outcome.stderr
    acks = persistence.replay(traced.events, str(tmp_path))
    assert [a.step for a in acks] == ["create", "flush", "close"]
    return acks


@pytest.mark.subprocess
def test_msync_then_fsync_leaves_no_crash_state_without_the_data(program: Path, tmp_path: Path) -> None:
    assert [a.violations for a in _judge(program, tmp_path, "fsync")] == [(), (), ()]


@pytest.mark.subprocess
def test_msync_alone_loses_the_size_under_posix_only(program: Path, tmp_path: Path) -> None:
    create, flush, close = _judge(program, tmp_path, "msync")
    assert [(v.model, v.kind) for v in create.violations] == [("POSIX", "size"), ("Linux", "size")]
    for ack in (flush, close):
        assert [(v.model, v.kind) for v in ack.violations] == [("POSIX", "size")], ack.violations
        assert persistence.describe(list(ack.violations)).startswith(
            f"[under POSIX only] after a power failure right after {ack.step}() returned, new.bin may be 0 bytes "
            f"instead of {4 * persistence.PAGE}"
        )
        assert "ftruncate(3, " in ack.violations[0].evidence[0]
