"""FAULT.11 and HANDLE.8 by injection: fail one system call of a traced scenario, and judge what the caller saw.

A first run of the scenario shows, for each step, the first call of each
injectable name on a file of the scenario (:func:`targets`); each is then
failed in a run of its own, once alone and once from then on, and the child's
reports say what each call raised and what it left open.
"""

from __future__ import annotations

import errno
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .. import replay, trace
from ..protocol import Adapter
from . import _traced
from ._traced import ITEMS, Run

# Each call steps in a window the scenario marks; a failed step ends the handle's part of the scenario.
FAULTS = f"""
def step(name, path, call, leaks=False):
    mark("begin", name, path)
    value = report(name, call, leaks)
    mark("end", name, path)
    return value
NEW = os.path.join(D, "new.bin")
h = step("create", NEW, lambda: impl.create(NEW, "<f8", ({ITEMS},)), leaks=True)
if h is not FAILED:
    h.array[:] = 1.0
    if step("flush", NEW, h.flush) is FAILED:
        step("flush again", NEW, h.flush)
    step("close", NEW, h.close)
    del h
    h = step("open", NEW, lambda: impl.open(NEW, "<f8", ({ITEMS},), mode="r+"), leaks=True)
    if h is not FAILED:
        h.array[0] = 2.0
        if step("flush", NEW, h.flush) is FAILED:
            step("flush again", NEW, h.flush)
        step("close", NEW, h.close)
"""

# The calls failed, each with an errno its callers must expect of it.
INJECTED = {
    "openat": "EMFILE",
    "ftruncate": "EIO",
    "fallocate": "ENOSPC",
    "write": "ENOSPC",
    "pwrite64": "ENOSPC",
    "mmap": "ENOMEM",
    "msync": "EIO",
    "fsync": "EIO",
    "fdatasync": "EIO",
    "rename": "EIO",
    "renameat2": "EIO",
}


@dataclass(frozen=True)
class Target:
    """One call of the scenario to fail: the ``ordinal``-th call of that name.

    With a ``path`` (relative to the scenario's directory) the count is of the calls that name that path
    (``strace -P``), which no other activity of the interpreter can shift; otherwise of every call of that
    name since the child started.
    """

    step: str
    name: str
    ordinal: int
    text: str
    path: str = ""

    def inject(self, from_then_on: bool) -> str:
        return f"{self.name}:error={INJECTED[self.name]}:when={self.ordinal}{'+' if from_then_on else ''}"


# The path every scenario names the same way in each run; temporary names of an implementation vary.
_STABLE = "new.bin"


def targets(run: Run) -> list[Target]:
    """The first call of each injectable name inside each step, on a file of the scenario (not its directory)."""
    return [target for target, _ in _first_calls(run).values()]


def _first_calls(run: Run) -> dict[tuple[str, str], tuple[Target, trace.Event]]:
    """For each (step, name), the target of :func:`targets` and the call of ``run`` it names."""
    files = replay.Files(root=run.directory)
    stable = os.path.join(run.directory, _STABLE)
    counts: dict[tuple[int, str, bool], int] = {}
    step = None
    found: dict[tuple[str, str], tuple[Target, trace.Event]] = {}
    for event in run.traced.events:
        named = event.name != "msync" and stable in _paths(files, event)
        key = (event.pid, event.name, named)
        counts[key] = ordinal = counts.get(key, 0) + 1
        label = event.label
        if label is not None:
            kind, name, _ = label.split("|", 2)
            step = name if kind == "begin" else None
            continue
        if step is not None and event.name in INJECTED and (step, event.name) not in found and _on_a_file(files, event):
            target = Target(step, event.name, ordinal, event.text, _STABLE if named else "")
            found[(step, event.name)] = (target, event)
        files.apply(event)
    return found


def _paths(files: replay.Files, event: trace.Event) -> set[str]:
    """The paths ``strace -P`` matches for this call: those it names, or those its descriptor has now."""
    if event.name in ("openat", "rename"):
        return {event.path(1 if event.name == "openat" else 0), *([event.path(1)] if event.name == "rename" else [])}
    if event.name == "renameat2":
        return {event.path(1), event.path(3)}
    fd = 4 if event.name == "mmap" else 0
    found = files.description(event, fd) if len(event.args) > fd and event.args[fd].isdigit() else None
    return set() if found is None else {p for p, f in files.names.items() if f == found.file}


def _on_a_file(files: replay.Files, event: trace.Event) -> bool:
    if event.name == "openat":
        return files.tracked(event.path(1)) and event.path(1) != files.root and "O_DIRECTORY" not in event.args[2]
    if event.name in ("rename", "renameat2"):
        return files.tracked(event.path(0 if event.name == "rename" else 1))
    if event.name == "msync":
        return any(m.overlap(event.int(0), event.int(1)) for m in files.mappings)
    fd = 4 if event.name == "mmap" else 0
    found = files.description(event, fd) if event.args[fd].isdigit() else None
    return found is not None and found.file not in files.directories


def injected_runs(impl: Adapter) -> list[tuple[Target, bool, Run]]:
    spec = _traced.traceable(impl)
    base = _traced.run(spec, FAULTS)
    _traced.survived(base)
    # Never mmap "from then on": the interpreter's own allocator maps memory too.
    jobs = [(t, later) for t in targets(base) for later in (False, True) if not (later and t.name == "mmap")]
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(lambda job: aimed(spec, *job), jobs))
    impl.note(base.code.strip())
    impl.not_standalone("judged from a system-call trace of a child process under strace, with faults injected")
    return [(target, later, run) for (_, later), (target, run) in zip(jobs, done, strict=True)]


def aimed(spec: str, target: Target, later: bool) -> tuple[Target, Run]:
    """The run in which the injection hit the target call (see :func:`hit`).

    A count of every call since the child started moves with anything that changes the interpreter's
    start (a coverage tracer, say); the run shows where the target really was, and the injection is aimed
    again, at most twice.
    """
    run = _traced.run(spec, FAULTS, (target.inject(later),), target.path)
    for _ in range(0 if target.path else 2):
        if hit(run, target):
            break
        again = [t for t in targets(run) if (t.step, t.name) == (target.step, target.name)]
        if not again:
            break
        target = again[0]
        run = _traced.run(spec, FAULTS, (target.inject(later),), target.path)
    return target, run


def hit(run: Run, target: Target) -> bool:
    """Whether the injection failed the target call itself (with a path, the trace holds only that path's calls).

    "From then on" fails every later call too, and a later one (the directory's ``openat`` that
    ``create`` may skip when it fails) can be what the step saw; where the count missed the target,
    that run says nothing of the target.
    """
    if target.path:
        return any(e.injected and e.name == target.name for e in run.traced.events)
    first = _first_calls(run).get((target.step, target.name))
    return first is not None and first[1].injected


def fault_problems(runs: list[tuple[Target, bool, Run]]) -> tuple[int, list[str]]:
    """How many injections hit their call, and what FAULT.11 finds wrong in those runs."""
    problems = []
    aimed = 0
    for target, later, run in runs:
        if not hit(run, target):
            continue  # the injection missed its call: this one is untested
        aimed += 1
        call = target.text.split(maxsplit=1)[1]
        how = f"{target.inject(later)} (the first {target.name} of {target.step}(): {call})"
        if run.traced.outcome.returncode != 0:
            problems.append(f"{how}: the child died (exit {run.traced.outcome.returncode})")
            continue
        got = next((r for r in run.reports if r["step"] == target.step), None)
        want = INJECTED[target.name]
        if got is None or "error" not in got:
            problems.append(f"{how}: {target.step}() reported success")
        elif errno.errorcode.get(got["errno"] or 0) != want:
            problems.append(f"{how}: {target.step}() raised {got['error']} errno {got['errno']}, not {want}")
        elif got["left_open"]:
            problems.append(f"{how}: the failed {target.step}() left open {got['left_open']}")
    return aimed, problems
