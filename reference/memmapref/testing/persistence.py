"""Two persistence models, and the crash states they allow at each acknowledgement of a traced scenario.

Both models follow a trace (:mod:`memmapref.testing.trace`) and keep, beside
what the files hold now, what a power failure could not take away:

* **POSIX**: a file's data pages and its size become durable only through
  ``fsync`` or ``fdatasync`` of that file; data pages also through an
  ``msync(MS_SYNC)`` that covers them. A new, renamed or removed directory
  entry becomes durable only through an ``fsync`` of its directory.
* **Linux**: as POSIX, but ``msync(MS_SYNC)`` also makes the file's size
  durable, as the kernel's ``vfs_fsync_range`` does.

Anything else is pending. After a power failure a pending page holds its old
or its new contents, page by page (as SQLite's crash VFS models sectors); a
pending size is the old or the new one; a pending directory entry is the old
binding or the new one. At an acknowledgement (``create``, ``flush`` or
``close`` returning) every crash state must hold the acknowledged file at its
path, with its size and every page stored before the call: :meth:`Model.check`
names each state that does not, with the trace lines that show why.
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass, field

from .replay import Effect, Files
from .trace import Event

POSIX = "POSIX"
LINUX = "Linux"
MODELS = (POSIX, LINUX)
PAGE = mmap.PAGESIZE


@dataclass(frozen=True)
class Violation:
    model: str
    kind: str  # "entry", "size" or "data"
    step: str  # "create", "flush" or "close"
    path: str
    message: str
    evidence: tuple[str, ...]


@dataclass
class Model:
    """What a power failure cannot take away, under one of :data:`MODELS`."""

    strength: str
    durable_names: dict[str, int | None] = field(default_factory=dict)
    durable_sizes: dict[int, int] = field(default_factory=dict)
    pending: dict[int, dict[int, Event]] = field(default_factory=dict)  # file -> page -> the store that dirtied it
    named_by: dict[str, Event] = field(default_factory=dict)
    sized_by: dict[int, Event] = field(default_factory=dict)
    synced_by: dict[int, Event] = field(default_factory=dict)

    def stored(self, file: int, start: int, end: int, event: Event) -> None:
        pages = self.pending.setdefault(file, {})
        for page in range(start // PAGE, -(-end // PAGE)):
            pages[page] = event

    def apply(self, effect: Effect, files: Files) -> None:
        event = effect.event
        assert event is not None
        if effect.kind == "existing":
            self.durable_names[effect.path] = effect.file
            self.durable_sizes[effect.file] = files.sizes[effect.file]
        elif effect.kind == "named" or effect.kind == "unnamed":
            self.durable_names.setdefault(effect.path, None)
            self.named_by[effect.path] = event
        elif effect.kind == "resized":
            self.durable_sizes.setdefault(effect.file, 0)
            self.sized_by[effect.file] = event
        elif effect.kind == "wrote":
            self.stored(effect.file, effect.start, effect.end, event)
        elif effect.kind == "msync":
            pages = self.pending.get(effect.file, {})
            for page in range(effect.start // PAGE, -(-effect.end // PAGE)):
                pages.pop(page, None)
            self.synced_by[effect.file] = event
            if self.strength == LINUX:
                self.durable_sizes[effect.file] = files.sizes[effect.file]
        elif effect.file in files.directories:
            for path in set(self.durable_names) | set(files.names):
                if os.path.dirname(path) == effect.path:
                    self.durable_names[path] = files.names.get(path)
        else:
            self.pending.pop(effect.file, None)
            self.durable_sizes[effect.file] = files.sizes[effect.file]
            self.synced_by[effect.file] = event

    def check(self, step: str, path: str, files: Files) -> list[Violation]:
        """The crash states, right after ``step`` returned, in which ``path`` lacks what was acknowledged."""
        found = files.names.get(path)
        if found is None:
            return []
        name = os.path.basename(path)
        when = f"after a power failure right after {step}() returned"
        out: list[Violation] = []
        durable = self.durable_names.get(path, found)
        if durable != found:
            made = self.named_by.get(path)
            what = "may not exist" if durable is None else "may be the file it replaced"
            out.append(
                Violation(
                    self.strength,
                    "entry",
                    step,
                    path,
                    f"{when}, {name} {what}: its directory entry was never made durable "
                    "(no fsync of the directory after the entry was made)",
                    (_line(made),) if made is not None else (),
                )
            )
        size = files.sizes[found]
        old = self.durable_sizes.get(found, size)
        if old != size:
            how = "fsync or fdatasync" + (" or msync(MS_SYNC)" if self.strength == LINUX else "")
            sized = self.sized_by.get(found)
            out.append(
                Violation(
                    self.strength,
                    "size",
                    step,
                    path,
                    f"{when}, {name} may be {old} bytes instead of {size}: its size was never made durable ({how} "
                    "of the file)",
                    (_line(sized),) if sized is not None else (),
                )
            )
        # Pages past the end do not count; in a file of unknown size, every stored page does.
        pages = sorted(p for p in self.pending.get(found, {}) if p * PAGE < size or found in files.unsized)
        if pages:
            end = pages[0] * PAGE + PAGE if found in files.unsized else min(size, pages[0] * PAGE + PAGE)
            stores = self.pending[found]
            last = self.synced_by.get(found)
            out.append(
                Violation(
                    self.strength,
                    "data",
                    step,
                    path,
                    f"{when}, {len(pages)} page(s) of {name} (first: bytes {pages[0] * PAGE} to "
                    f"{end}) may hold their old contents: stored, and never covered "
                    "since by msync(MS_SYNC) or fsync",
                    tuple(dict.fromkeys([_line(stores[pages[0]])] + ([_line(last)] if last is not None else []))),
                )
            )
        return out


def _line(event: Event) -> str:
    """A trace line as evidence: its number and the call, or what a marker says."""
    label = event.label
    if label is not None:
        _, _, start, end = label.split("|")
        return f"line {event.line}: the scenario stored bytes {start} to {end} through the mapping"
    return f"line {event.line}: {event.text.split(maxsplit=1)[1]}"


@dataclass(frozen=True)
class Acknowledgement:
    step: str  # "create", "flush" or "close"
    path: str
    detail: str  # the scenario's own note: "first" for the first flush of a new file
    event: Event
    violations: tuple[Violation, ...]

    def of(self, *kinds: str, model: str | None = None) -> list[Violation]:
        return [v for v in self.violations if v.kind in kinds and (model is None or v.model == model)]


def replay(events: list[Event], root: str) -> list[Acknowledgement]:
    """Follow a scenario's trace under both models; the crash-state check at each acknowledgement.

    Markers the scenario writes (see :func:`memmapref.testing.trace.marker_path`), fields separated by ``|``:
    ``store|PATH|START|END`` (bytes stored
    through the mapping), ``ack|STEP|PATH|DETAIL`` (a call returned).
    """
    files = Files(root=root)
    models = [Model(strength) for strength in MODELS]
    acks: list[Acknowledgement] = []
    for event in events:
        label = event.label
        if label is None:
            for effect in files.apply(event):
                for model in models:
                    model.apply(effect, files)
            continue
        kind, *fields = label.split("|")
        if kind == "store":
            target = files.names.get(fields[0])
            for model in models:
                if target is not None:
                    model.stored(target, int(fields[1]), int(fields[2]), event)
        elif kind == "ack":
            step, path, detail = fields
            found_violations = tuple(v for model in models for v in model.check(step, path, files))
            acks.append(Acknowledgement(step, path, detail, event, found_violations))
    return acks


def describe(violations: list[Violation]) -> str:
    """One line per distinct problem, saying which models it needs, with its trace evidence."""
    by: dict[tuple[str, str, str], list[Violation]] = {}
    for v in violations:
        by.setdefault((v.kind, v.step, v.path), []).append(v)
    lines = []
    # What fails under both models first: it needs no assumption about msync.
    for group in sorted(by.values(), key=lambda g: -len({v.model for v in g})):
        models = sorted({v.model for v in group}, key=MODELS.index)
        scope = "under POSIX and Linux" if len(models) == len(MODELS) else f"under {models[0]} only"
        first = group[0]
        evidence = "; ".join(first.evidence) or "no call made it durable"
        lines.append(f"[{scope}] {first.message} -- trace: {evidence}")
    return "\n".join(lines)
