"""The durability suite class itself: the reference passes both models, and no trace means untested, never passed."""

from __future__ import annotations

from pathlib import Path

import pytest

from memmapref.testing import trace
from memmapref.testing.implementations import reference
from memmapref.testing.protocol import Adapter
from memmapref.testing.report import verdicts
from memmapref.testing.results import Record
from memmapref.testing.subproc import Outcome
from memmapref.testing.suite import DurabilityTests, _injection, _traced, durability

SPEC = "memmapref.testing.implementations:reference"


@pytest.mark.subprocess
@pytest.mark.skipif(trace.unavailable() is not None, reason=f"untested: {trace.unavailable()}")
def test_the_reference_leaves_no_crash_state_without_acknowledged_data_under_either_model() -> None:
    run = _traced.run(SPEC, durability.DURABILITY)
    assert [(a.step, a.path.rsplit("/", 1)[-1]) for a in run.acks] == [
        ("create", "new.bin"),
        ("flush", "new.bin"),
        ("close", "new.bin"),
        ("flush", "old.bin"),
        ("close", "old.bin"),
    ]
    assert [a.violations for a in run.acks] == [()] * 5


def test_a_marker_path_lies_under_the_marker_directory() -> None:
    path = trace.marker_path("/d", "ack|flush|/d/f|")
    event = trace.parse(f'1 chdir("{path}") = -1 ENOENT (No such file or directory)')[0]
    assert event.label == "ack|flush|/d/f|"


def test_without_a_trace_every_clause_of_the_class_is_untested(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(trace, "unavailable", lambda: "strace is not installed (looked for /nowhere)")
    impl = Adapter(reference, spec=SPEC)
    tests = DurabilityTests()
    records = []
    for name in dir(tests):
        if name.startswith("test_"):
            with pytest.raises(pytest.skip.Exception) as skipped:
                getattr(tests, name)(impl, tmp_path)
            message = str(skipped.value)
            assert (
                message
                == "untested: no system-call trace can be taken here (strace is not installed (looked for /nowhere))"
            )
            clauses = [m.args[0] for m in getattr(tests, name).pytestmark if m.name == "clause"]
            records.append(Record(name, impl.name, clauses, "skipped", message, ""))
    rows = verdicts(records, {impl.name: {}})[impl.name]
    judged = ["HANDLE.3", "HANDLE.4", "HANDLE.8", "CREATE.9", "FAULT.11", "FAULT.12"]
    assert {c: rows[c].verdict for c in judged} == dict.fromkeys(judged, "untested")
    assert rows["HANDLE.3"].message.startswith("untested: no system-call trace")


def test_an_implementation_without_an_import_spec_is_not_applicable(tmp_path: Path) -> None:
    with pytest.raises(pytest.skip.Exception, match="not applicable: the traced child needs an import spec"):
        DurabilityTests().test_flush_makes_the_data_durable(Adapter(reference), tmp_path)


def _run_of(lines: list[str], reports: list[dict[str, object]], returncode: int = 0) -> _traced.Run:
    events = trace.parse("\n".join(f"5 {line}" for line in lines))
    return _traced.Run(trace.Traced(Outcome(returncode, "", ""), events, ""), [], reports, "", "/d")


def _mark(*fields: str) -> str:
    return f'chdir("{trace.marker_path("/d", "|".join(fields))}") = -1 ENOENT (No such file or directory)'


OPENED = 'openat(AT_FDCWD, "/d/new.bin", O_RDWR|O_CREAT|O_TRUNC, 0666) = 3'
INJECTED = 'openat(AT_FDCWD, "/d/new.bin", O_RDWR|O_CREAT|O_TRUNC, 0666) = -1 EMFILE (Too many open files) (INJECTED)'


def test_targets_are_the_first_call_of_each_name_in_each_step_counted_on_the_stable_path() -> None:
    run = _run_of(
        [
            'openat(AT_FDCWD, "/lib/x.so", O_RDONLY) = 3',
            "close(3) = 0",
            _mark("begin", "create", "/d/new.bin"),
            'openat(AT_FDCWD, "/d/.new.tmp", O_RDWR|O_CREAT|O_EXCL, 0600) = 3',
            'openat(AT_FDCWD, "/d", O_RDONLY|O_DIRECTORY) = 4',
            "fsync(4) = 0",
            'renameat2(AT_FDCWD, "/d/.new.tmp", AT_FDCWD, "/d/new.bin", 0) = 0',
            "fsync(3) = 0",
            "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, 3, 0) = 0x1000",
            "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x9000",
            "msync(0x9000, 4096, MS_SYNC) = 0",
            "msync(0x1000, 4096, MS_SYNC) = 0",
            _mark("end", "create", "/d/new.bin"),
            "fsync(3) = 0",
        ],
        [],
    )
    got = [(t.step, t.name, t.ordinal, t.path) for t in _injection.targets(run)]
    assert got == [
        ("create", "openat", 2, ""),
        ("create", "renameat2", 1, "new.bin"),
        ("create", "fsync", 1, "new.bin"),
        ("create", "mmap", 1, "new.bin"),
        ("create", "msync", 2, ""),
    ]


def test_fault_problems_name_each_way_a_failed_call_goes_wrong() -> None:
    target = _injection.Target("create", "openat", 3, f"5 {OPENED}")
    window = [_mark("begin", "create", "/d/new.bin"), INJECTED, _mark("end", "create", "/d/new.bin")]
    runs = [
        (target, False, _run_of([_mark("begin", "create", "/d/new.bin"), OPENED], [])),  # missed
        (target, False, _run_of(window, [], returncode=-11)),
        (target, True, _run_of(window, [{"step": "create", "ok": True}])),
        (target, False, _run_of(window, [{"step": "create", "error": "OSError", "errno": 5, "left_open": []}])),
        (target, False, _run_of(window, [{"step": "create", "error": "OSError", "errno": 24, "left_open": ["/d/x"]}])),
        (target, False, _run_of(window, [{"step": "create", "error": "OSError", "errno": 24, "left_open": []}])),
    ]
    aimed, problems = _injection.fault_problems(runs)
    assert aimed == 5
    assert [p.split(": ", 2)[-1] for p in problems] == [
        "the child died (exit -11)",
        "create() reported success",
        "create() raised OSError errno 5, not EMFILE",
        "the failed create() left open ['/d/x']",
    ]
    assert problems[1].startswith("openat:error=EMFILE:when=3+ (the first openat of create(): openat(")


def test_from_then_on_only_the_target_call_itself_failing_counts_as_a_hit() -> None:
    # The count missed the temporary file's openat; "from then on" then failed the directory's,
    # which create() may skip, so create()'s success says nothing of the call aimed at.
    target = _injection.Target("create", "openat", 2, f"5 {OPENED}")
    directory = 'openat(AT_FDCWD, "/d", O_RDONLY|O_CLOEXEC) = -1 EMFILE (Too many open files) (INJECTED)'
    missed = _run_of(
        [_mark("begin", "create", "/d/new.bin"), OPENED, directory, _mark("end", "create", "/d/new.bin")], []
    )
    assert not _injection.hit(missed, target)
    assert _injection.fault_problems([(target, True, missed)]) == (0, [])
    landed = _run_of(
        [_mark("begin", "create", "/d/new.bin"), INJECTED, directory, _mark("end", "create", "/d/new.bin")], []
    )
    assert _injection.hit(landed, target)


def test_an_injection_that_missed_is_aimed_again_at_where_the_call_really_was(monkeypatch: pytest.MonkeyPatch) -> None:
    temporary = 'openat(AT_FDCWD, "/d/.new.tmp", O_RDWR|O_CREAT|O_EXCL, 0600) = 3'
    before = [_mark("begin", "create", "/d/new.bin"), temporary]
    seen = []

    def fake_run(spec: str, body: str, inject: tuple[str, ...] = (), path: str = "") -> _traced.Run:
        seen.append(inject)
        extra = ['openat(AT_FDCWD, "/lib/y.so", O_RDONLY) = 3'] * (len(seen) - 1)
        return _run_of(extra + before, [])

    monkeypatch.setattr(_traced, "run", fake_run)
    target, run = _injection.aimed(SPEC, _injection.Target("create", "openat", 1, temporary), False)
    # Each retry aims where the previous run showed the call; here the count moves by one every run.
    assert seen == [("openat:error=EMFILE:when=1",), ("openat:error=EMFILE:when=1",), ("openat:error=EMFILE:when=2",)]
    assert not _injection.hit(run, target), "the count kept moving: the target stays unhit, so untested"
    monkeypatch.setattr(_traced, "run", lambda *args, **kwargs: _run_of([_mark("begin", "open", "/d/new.bin")], []))
    assert _injection.aimed(SPEC, _injection.Target("create", "openat", 4, temporary), False)[0].ordinal == 4, (
        "a run that never reaches the step leaves the target as it was"
    )


def test_without_a_flush_call_to_fail_handle_8_does_not_apply(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(_injection, "injected_runs", lambda impl: [])
    impl = Adapter(reference, spec=SPEC)
    with pytest.raises(pytest.skip.Exception, match="not applicable: flush"):
        DurabilityTests().test_a_failed_flush_is_never_followed_by_a_successful_one(impl, tmp_path)
    with pytest.raises(pytest.skip.Exception, match="untested: no injection hit"):
        DurabilityTests().test_a_failed_system_call_is_raised_with_its_errno(impl, tmp_path)


def test_a_child_that_dies_fails_the_test() -> None:
    with pytest.raises(pytest.fail.Exception, match="the traced child died"):
        _traced.survived(_run_of([], [], returncode=-7))
