"""Replay a trace's events and keep the bookkeeping a persistence model needs.

:class:`Files` follows which descriptor names which file (through ``dup`` and
``fcntl(F_DUPFD)``), each descriptor's position, and which address range maps
which file at which offset; :meth:`Files.apply` turns each event into the
:class:`Effect` it had on a tracked file. The events come from
:func:`memmapref.testing.trace.parse`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .trace import Event


@dataclass
class Description:
    """An open file description: what ``open`` returns and ``dup`` shares."""

    file: int  # a file identity from Files
    path: str  # the path it was opened by
    position: int = 0


@dataclass
class Mapping:
    start: int
    length: int
    file: int
    offset: int
    shared_writable: bool

    def overlap(self, start: int, length: int) -> tuple[int, int] | None:
        """The file byte range [first, end) that ``[start, start + length)`` covers in this mapping."""
        low = max(start, self.start)
        high = min(start + length, self.start + self.length)
        if low >= high:
            return None
        return self.offset + low - self.start, self.offset + high - self.start


@dataclass
class Files:
    """File identities, descriptors and mappings, as a trace replays them."""

    names: dict[str, int] = field(default_factory=dict)  # path -> file identity, as the directory holds now
    fds: dict[tuple[int, int], Description] = field(default_factory=dict)  # (pid, fd) -> description
    mappings: list[Mapping] = field(default_factory=list)
    sizes: dict[int, int] = field(default_factory=dict)
    directories: set[int] = field(default_factory=set)
    unsized: set[int] = field(default_factory=set)  # files whose size before the trace is unknown
    root: str = "/"  # only files under this directory are followed
    _next: int = 0

    def new_file(self, size: int = 0, *, directory: bool = False) -> int:
        self._next += 1
        self.sizes[self._next] = size
        if directory:
            self.directories.add(self._next)
        return self._next

    def description(self, event: Event, index: int = 0) -> Description | None:
        return self.fds.get((event.pid, event.int(index)))

    # -- replay ----------------------------------------------------------------------

    def apply(self, event: Event) -> list[Effect]:
        """Update the bookkeeping for ``event``; what it did to files under ``root``."""
        if event.ret is None:
            return []
        handler = getattr(self, f"_on_{event.name}", None)
        return list(handler(event)) if handler is not None else []

    def tracked(self, path: str) -> bool:
        return path == self.root or path.startswith(self.root.rstrip("/") + "/")

    def _opened(self, event: Event, path: str, flags: str) -> list[Effect]:
        if not self.tracked(path) or event.ret is None:
            return []
        effects: list[Effect] = []
        if path == self.root or "O_DIRECTORY" in flags:
            found = self.names.get(path) or self.new_file(directory=True)
            self.names[path] = found
        elif path not in self.names and "O_CREAT" in flags:
            found = self.names[path] = self.new_file()
            effects.append(Effect("named", found, path=path, event=event))
        else:
            if path not in self.names:
                # A file there before the trace began: its size is not in the trace.
                self.names[path] = self.new_file()
                self.unsized.add(self.names[path])
                effects.append(Effect("existing", self.names[path], path=path, event=event))
            found = self.names[path]
        if "O_TRUNC" in flags and self.sizes[found]:
            self.sizes[found] = 0
            effects.append(Effect("resized", found, event=event))
        self.fds[(event.pid, event.ret)] = Description(found, path, self.sizes[found] if "O_APPEND" in flags else 0)
        return effects

    def _on_openat(self, event: Event) -> list[Effect]:
        return self._opened(event, event.path(1), event.args[2])

    def _on_open(self, event: Event) -> list[Effect]:
        return self._opened(event, event.path(0), event.args[1])

    def _on_creat(self, event: Event) -> list[Effect]:
        return self._opened(event, event.path(0), "O_CREAT|O_TRUNC")

    def _on_close(self, event: Event) -> list[Effect]:
        self.fds.pop((event.pid, event.int(0)), None)
        return []

    def _duplicated(self, event: Event, new: int) -> list[Effect]:
        found = self.description(event)
        if found is not None:
            self.fds[(event.pid, new)] = found
        return []

    def _on_dup(self, event: Event) -> list[Effect]:
        assert event.ret is not None
        return self._duplicated(event, event.ret)

    _on_dup2 = _on_dup
    _on_dup3 = _on_dup

    def _on_fcntl(self, event: Event) -> list[Effect]:
        if event.args[1].startswith("F_DUPFD"):
            return self._on_dup(event)
        return []

    def _on_lseek(self, event: Event) -> list[Effect]:
        found = self.description(event)
        if found is not None and event.ret is not None:
            found.position = event.ret
        return []

    def _written(self, event: Event, found: Description | None, start: int) -> list[Effect]:
        if found is None or not event.ret:
            return []
        assert event.ret is not None
        end = start + event.ret
        effects = [Effect("wrote", found.file, start, end, event=event)]
        if end > self.sizes[found.file]:
            self.sizes[found.file] = end
            effects.append(Effect("resized", found.file, event=event))
        return effects

    def _on_write(self, event: Event) -> list[Effect]:
        found = self.description(event)
        start = found.position if found is not None else 0
        if found is not None and event.ret is not None:
            found.position += event.ret
        return self._written(event, found, start)

    _on_writev = _on_write

    def _on_pwrite64(self, event: Event) -> list[Effect]:
        return self._written(event, self.description(event), event.int(3))

    _on_pwritev = _on_pwrite64

    def _on_ftruncate(self, event: Event) -> list[Effect]:
        found = self.description(event)
        if found is None:
            return []
        self.sizes[found.file] = event.int(1)
        return [Effect("resized", found.file, event=event)]

    def _on_fallocate(self, event: Event) -> list[Effect]:
        found = self.description(event)
        end = event.int(2) + event.int(3)
        if found is None or "KEEP_SIZE" in event.args[1] or end <= self.sizes[found.file]:
            return []
        self.sizes[found.file] = end
        return [Effect("resized", found.file, event=event)]

    def _on_mmap(self, event: Event) -> list[Effect]:
        found = self.description(event, 4)
        if found is not None and event.ret is not None:
            writable = "MAP_SHARED" in event.args[3] and "PROT_WRITE" in event.args[2]
            self.mappings.append(Mapping(event.ret, event.int(1), found.file, event.int(5), writable))
        return []

    def _on_munmap(self, event: Event) -> list[Effect]:
        # Whole mappings only: the implementations seen unmap what they mapped, never part of it.
        start, length = event.int(0), event.int(1)
        self.mappings = [m for m in self.mappings if m.overlap(start, length) is None]
        return []

    def _on_mremap(self, event: Event) -> list[Effect]:
        start = event.int(0)
        for mapping in self.mappings:
            if mapping.start == start and event.ret is not None:
                mapping.start, mapping.length = event.ret, event.int(2)
        return []

    def _on_msync(self, event: Event) -> list[Effect]:
        start, length = event.int(0), event.int(1)
        effects = []
        for mapping in self.mappings:
            covered = mapping.overlap(start, length)
            if covered is not None and "MS_SYNC" in event.args[2]:
                effects.append(Effect("msync", mapping.file, *covered, event=event))
        return effects

    def _on_fsync(self, event: Event) -> list[Effect]:
        found = self.description(event)
        if found is None:
            return []
        return [Effect("fsync", found.file, path=found.path, event=event)]

    _on_fdatasync = _on_fsync

    def _renamed(self, event: Event, source: str, target: str) -> list[Effect]:
        if source not in self.names or not self.tracked(target):
            return []
        found = self.names[target] = self.names.pop(source)
        return [Effect("unnamed", found, path=source, event=event), Effect("named", found, path=target, event=event)]

    def _on_rename(self, event: Event) -> list[Effect]:
        return self._renamed(event, event.path(0), event.path(1))

    def _on_renameat(self, event: Event) -> list[Effect]:
        return self._renamed(event, event.path(1), event.path(3))

    _on_renameat2 = _on_renameat

    def _unlinked(self, event: Event, path: str) -> list[Effect]:
        found = self.names.pop(path, None)
        return [] if found is None else [Effect("unnamed", found, path=path, event=event)]

    def _on_unlink(self, event: Event) -> list[Effect]:
        return self._unlinked(event, event.path(0))

    def _on_unlinkat(self, event: Event) -> list[Effect]:
        return self._unlinked(event, event.path(1))

    def _linked(self, event: Event, source: str, target: str) -> list[Effect]:
        if source not in self.names or not self.tracked(target):
            return []
        found = self.names[target] = self.names[source]
        return [Effect("named", found, path=target, event=event)]

    def _on_link(self, event: Event) -> list[Effect]:
        return self._linked(event, event.path(0), event.path(1))

    def _on_linkat(self, event: Event) -> list[Effect]:
        return self._linked(event, event.path(1), event.path(3))


@dataclass(frozen=True)
class Effect:
    """What one call did to a tracked file.

    ``existing`` (first seen, there before the trace began), ``named``, ``unnamed``, ``resized``,
    ``wrote``, ``msync``, ``fsync``.
    """

    kind: str
    file: int
    start: int = 0
    end: int = 0
    path: str = ""
    event: Event | None = None
