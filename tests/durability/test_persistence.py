"""The two persistence models and the crash-state check at each acknowledgement, on hand-written traces."""

from __future__ import annotations

import pytest

from memmapref.testing import persistence
from memmapref.testing.persistence import LINUX, POSIX, replay
from memmapref.testing.trace import parse

MAP = "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_SHARED, 3, 0) = 0x10000"


def _acks(*lines: str) -> list[persistence.Acknowledgement]:
    return replay(parse("\n".join(f"7 {line}" for line in lines)), "/d")


def _mark(*fields: object) -> str:
    return f'chdir("/d/@mark/{"|".join(str(f) for f in fields)}") = -1 ENOENT (No such file or directory)'


CREATED = [
    'openat(AT_FDCWD, "/d/f", O_RDWR|O_CREAT|O_TRUNC, 0666) = 3',
    "ftruncate(3, 8192) = 0",
    MAP,
    _mark("store", "/d/f", 0, 8192),
]


def _kinds(ack: persistence.Acknowledgement, model: str) -> list[str]:
    return [v.kind for v in ack.of("entry", "size", "data", model=model)]


def test_msync_alone_makes_pages_durable_and_the_size_only_under_linux() -> None:
    (ack,) = _acks(*CREATED, "msync(0x10000, 8192, MS_SYNC) = 0", _mark("ack", "flush", "/d/f", "first"))
    assert _kinds(ack, POSIX) == ["entry", "size"]
    assert _kinds(ack, LINUX) == ["entry"]
    text = persistence.describe(list(ack.violations))
    assert "[under POSIX and Linux] after a power failure right after flush() returned, f may not exist" in text
    size = "[under POSIX only] after a power failure right after flush() returned, f may be 0 bytes instead of 8192"
    assert size in text
    assert 'line 1: openat(AT_FDCWD, "/d/f"' in text and "line 2: ftruncate(3, 8192) = 0" in text


def test_fsync_of_the_file_and_of_its_directory_leave_no_crash_state_without_the_data() -> None:
    (ack,) = _acks(
        *CREATED,
        "msync(0x10000, 8192, MS_SYNC) = 0",
        "fsync(3) = 0",
        'openat(AT_FDCWD, "/d", O_RDONLY|O_CLOEXEC) = 4',
        "fsync(4) = 0",
        _mark("ack", "flush", "/d/f", "first"),
    )
    assert ack.violations == ()


def test_a_page_stored_after_the_last_sync_may_be_old() -> None:
    first, second, gone = _acks(
        *CREATED,
        "msync(0x10000, 4096, MS_SYNC) = 0",
        "fsync(4) = -1 EBADF (Bad file descriptor)",
        _mark("ack", "flush", "/d/f", "first"),
        "fsync(3) = 0",
        _mark("store", "/d/f", 4096, 4104),
        "msync(0x10000, 8192, MS_ASYNC) = 0",
        _mark("ack", "close", "/d/f", ""),
        _mark("ack", "close", "/d/gone", ""),
        _mark("store", "/d/gone", 0, 1),
    )
    assert gone.violations == (), "a path the scenario never made has nothing acknowledged"
    assert _kinds(first, LINUX) == ["entry", "data"], "msync of only the first page leaves the second pending"
    (data,) = second.of("data", model=POSIX)
    assert data.message.endswith(
        "1 page(s) of f (first: bytes 4096 to 8192) may hold their old contents: stored, and never covered since "
        "by msync(MS_SYNC) or fsync"
    )
    stored = "line 9: the scenario stored bytes 4096 to 4104 through the mapping"
    assert data.evidence == (stored, "line 8: fsync(3) = 0")


def test_a_rename_is_durable_only_once_the_directory_is_synced() -> None:
    acks = _acks(
        'openat(AT_FDCWD, "/d/old", O_RDONLY) = 5',
        "close(5) = 0",
        'openat(AT_FDCWD, "/d/.tmp", O_RDWR|O_CREAT|O_EXCL, 0666) = 3',
        "fallocate(3, 0, 0, 8192) = 0",
        "fsync(3) = 0",
        'rename("/d/.tmp", "/d/old") = 0',
        _mark("ack", "create", "/d/old", ""),
        'openat(AT_FDCWD, "/d", O_RDONLY|O_DIRECTORY) = 4',
        "fsync(4) = 0",
        _mark("ack", "create", "/d/old", ""),
    )
    (before,) = acks[0].violations[:1]
    assert "old may be the file it replaced" in before.message
    assert acks[1].violations == ()


@pytest.mark.parametrize("model", persistence.MODELS)
def test_describe_groups_the_models_a_violation_needs(model: str) -> None:
    (ack,) = _acks(*CREATED, _mark("ack", "create", "/d/f", "new"))
    assert {v.model for v in ack.of("entry")} == set(persistence.MODELS)
    stored = "line 4: the scenario stored bytes 0 to 8192 through the mapping"
    assert ack.of("data", model=model)[0].evidence == (stored,)


def test_a_store_to_a_file_older_than_the_trace_counts_whatever_its_size() -> None:
    (ack,) = _acks(
        'openat(AT_FDCWD, "/d/old", O_RDWR) = 3',
        MAP,
        _mark("store", "/d/old", 4096, 4104),
        _mark("ack", "close", "/d/old", ""),
    )
    assert [(v.model, v.kind) for v in ack.violations] == [(POSIX, "data"), (LINUX, "data")]
    assert "(first: bytes 4096 to 8192)" in ack.violations[0].message
