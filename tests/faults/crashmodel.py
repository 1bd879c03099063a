"""A simulated power failure for the reference, in the manner of SQLite's crash-testing VFS.

The model sits on the reference's OS seam and keeps its own account of what
the storage holds *durably*:

* a file's content becomes durable when ``fsync`` of one of its descriptors
  succeeds (``msync`` alone does not count: POSIX promises nothing about the
  device's cache), and only up to the size it had then;
* a new directory entry (a created, renamed or removed name) becomes durable
  when ``fsync`` of its directory succeeds.

Everything else is *pending*. At a simulated crash each pending sector (512
bytes, or a 4096-byte page) is independently kept, lost, or turned to garbage.
Device flags narrow the outcomes: ``atomic`` sectors are written whole or not
at all (never garbage); a ``sequential`` device writes sectors in file order,
so a crash keeps a prefix of them, with at most one torn sector after it.

:class:`CrashModel` is an implementation of the suite's protocol (``create``,
``open``, handles with ``array``, ``flush`` and ``close``) that runs the
reference under the model; ``crash()`` computes what each file would hold
after the power came back, and ``restart()`` writes that to disk.
"""

from __future__ import annotations

import contextlib
import enum
import gc
import mmap
import os
import random
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

import memmapref
from memmapref import _oscalls
from memmapref._oscalls import OsCalls


class Fate(enum.Enum):
    KEPT = "kept"
    LOST = "lost"
    GARBAGE = "garbage"


@dataclass(frozen=True)
class Device:
    sector: int = 512
    atomic: bool = False
    sequential: bool = False

    def __str__(self) -> str:
        flags = [f for f in ("atomic", "sequential") if getattr(self, f)]
        return f"{self.sector}-byte sectors" + (f" ({', '.join(flags)})" if flags else "")


def devices() -> st.SearchStrategy[Device]:
    return st.builds(
        Device, sector=st.sampled_from([512, mmap.PAGESIZE]), atomic=st.booleans(), sequential=st.booleans()
    )


@st.composite
def fates(draw: st.DrawFn, device: Device, n: int) -> list[Fate]:
    """What a crash does to ``n`` pending sectors, within what ``device`` allows."""
    if device.sequential:
        kept = draw(st.integers(0, n))
        torn = int(not device.atomic and kept < n and draw(st.booleans()))
        return [Fate.KEPT] * kept + [Fate.GARBAGE] * torn + [Fate.LOST] * (n - kept - torn)
    allowed = [Fate.KEPT, Fate.LOST] + ([] if device.atomic else [Fate.GARBAGE])
    return draw(st.lists(st.sampled_from(allowed), min_size=n, max_size=n))


class PowerCut(BaseException):
    """The power went off: the process makes no further system call.

    A BaseException, so that no ``except OSError`` in the reference mistakes
    it for an error it could clean up after.
    """


@dataclass
class Disk:
    """The durable state: content per inode, and the names that point at inodes."""

    content: dict[int, bytes] = field(default_factory=dict)  # model inode -> durable bytes
    names: dict[str, int] = field(default_factory=dict)  # path -> model inode, durable
    pending: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)  # directory -> entry changes
    _next: int = 0

    def new_inode(self, content: bytes = b"") -> int:
        self._next += 1
        self.content[self._next] = content
        return self._next

    def change_entry(self, directory: str, name: str, ino: int) -> None:
        """Name ``name`` (a full path in ``directory``) points at ``ino`` now; 0 removes it."""
        self.pending.setdefault(directory, []).append((directory, name, ino))

    def sync_directory(self, directory: str) -> None:
        for _, name, ino in self.pending.pop(directory, []):
            if ino:
                self.names[name] = ino
            else:
                self.names.pop(name, None)


class Tracker(OsCalls):
    """The seam under the model: performs each call through ``inner`` and records what became durable."""

    def __init__(self, disk: Disk, inner: OsCalls | None = None) -> None:
        self.disk = disk
        self.inner = inner or OsCalls()
        self.ids: dict[tuple[int, int], int] = {}  # (st_dev, st_ino) -> model inode
        self.fds: dict[int, tuple[int, int]] = {}  # open descriptor -> (st_dev, st_ino)
        self.log: list[str] = []
        self.cut_at: int | None = None
        self.cut = False

    def _call(self, name: str) -> None:
        if self.cut:
            raise PowerCut(f"{name} after the power cut")
        self.log.append(name)
        if self.cut_at is not None and len(self.log) >= self.cut_at:
            self.cut = True
            raise PowerCut(f"power cut before call {len(self.log)} ({name})")

    def model_inode(self, path: str) -> int | None:
        try:
            info = os.stat(path)
        except FileNotFoundError:
            return None
        return self.ids.get((info.st_dev, info.st_ino))

    def adopt(self, path: str) -> None:
        """Take the file at ``path`` as durable as it is now (written before the model started)."""
        info = os.stat(path)
        ino = self.disk.new_inode(_read(path))
        self.ids[(info.st_dev, info.st_ino)] = ino
        self.disk.names[os.path.realpath(path)] = ino

    # -- the calls ---------------------------------------------------------------

    def stat(self, path: str) -> os.stat_result:
        self._call("stat")
        return self.inner.stat(path)

    def open(self, path: str, flags: int, mode: int = 0o666) -> int:
        self._call("open")
        full = os.path.realpath(path)
        existed = os.path.exists(full)
        fd = self.inner.open(path, flags, mode)
        info = os.fstat(fd)
        key = (info.st_dev, info.st_ino)
        self.fds[fd] = key
        if flags & os.O_CREAT and not existed:
            # A new inode, whatever number the kernel reused: durable content
            # empty, and its name durable only once the directory is synced.
            self.ids[key] = self.disk.new_inode()
            self.disk.change_entry(os.path.dirname(full), full, self.ids[key])
        elif key not in self.ids and stat.S_ISREG(info.st_mode):
            self.ids[key] = self.disk.new_inode(_read(full))
        return fd

    def fstat(self, fd: int) -> os.stat_result:
        self._call("fstat")
        return self.inner.fstat(fd)

    def fchmod(self, fd: int, mode: int) -> None:
        self._call("fchmod")
        self.inner.fchmod(fd, mode)

    def fallocate(self, fd: int, offset: int, length: int) -> None:
        self._call("fallocate")
        self.inner.fallocate(fd, offset, length)

    def ftruncate(self, fd: int, length: int) -> None:
        self._call("ftruncate")
        self.inner.ftruncate(fd, length)

    def mmap(self, fd: int, length: int, access: int, offset: int) -> mmap.mmap:
        self._call("mmap")
        return self.inner.mmap(fd, length, access, offset)

    def msync(self, mapping: mmap.mmap) -> None:
        self._call("msync")
        self.inner.msync(mapping)

    def fsync(self, fd: int) -> None:
        self._call("fsync")
        self.inner.fsync(fd)
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            directory = os.readlink(f"/proc/self/fd/{fd}")
            self.disk.sync_directory(directory)
            return
        ino = self.ids[(info.st_dev, info.st_ino)]
        self.disk.content[ino] = os.pread(fd, info.st_size, 0)

    def close(self, fd: int) -> None:
        self._call("close")
        self.inner.close(fd)
        self.fds.pop(fd, None)

    def replace(self, src: str, dst: str) -> None:
        self._call("replace")
        full_src, full_dst = os.path.realpath(src), os.path.realpath(dst)
        moved = self.model_inode(full_src)
        self.inner.replace(src, dst)
        if moved is not None:
            self.disk.change_entry(os.path.dirname(full_dst), full_dst, moved)
            self.disk.change_entry(os.path.dirname(full_src), full_src, 0)

    def unlink(self, path: str) -> None:
        self._call("unlink")
        self.inner.unlink(path)
        full = os.path.realpath(path)
        self.disk.change_entry(os.path.dirname(full), full, 0)


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


@dataclass
class Image:
    """One file after the crash: its bytes (None: the name did not survive), and the pending sectors' fates."""

    content: bytes | None
    pending: list[int]
    fates: list[Fate]


class CrashHandle:
    def __init__(self, model: CrashModel, inner: memmapref.MappedArray) -> None:
        self.model = model
        self.inner = inner

    @property
    def array(self) -> Any:
        return self.inner.array

    def __getitem__(self, index: Any) -> Any:
        return self.inner[index]

    def __setitem__(self, index: Any, value: Any) -> None:
        self.inner[index] = value

    def flush(self) -> None:
        with self.model.seam():
            self.inner.flush()

    def close(self) -> None:
        with self.model.seam():
            self.inner.close()


class CrashModel:
    """memmapref under the crash model, as an implementation of the suite's protocol."""

    name = "memmapref (crash model)"

    def __init__(self, device: Device | None = None, inner: OsCalls | None = None) -> None:
        self.device = device or Device()
        self.disk = Disk()
        self.calls = Tracker(self.disk, inner)

    @contextmanager
    def seam(self) -> Iterator[OsCalls]:
        with _oscalls.installed(self.calls) as calls:
            yield calls

    def settle(self, path: str | os.PathLike[str]) -> None:
        """The file at ``path`` is durable as it is now."""
        self.calls.adopt(os.fspath(path))

    def create(self, path: Any, dtype: Any, shape: Any, *, offset: int = 0, order: str = "C") -> CrashHandle:
        with self.seam():
            return CrashHandle(self, memmapref.create(path, dtype, shape, offset=offset, order=order))

    def open(
        self, path: Any, dtype: Any, shape: Any = None, *, mode: str = "r", offset: int = 0, order: str = "C"
    ) -> CrashHandle:
        with self.seam():
            return CrashHandle(self, memmapref.open(path, dtype, shape, mode=mode, offset=offset, order=order))

    def pending(self, path: str | os.PathLike[str]) -> tuple[bytes | None, bytes | None, list[int]]:
        """Durable bytes, current bytes and the pending sector numbers of the file named ``path``."""
        full = os.path.realpath(os.fspath(path))
        ino = self.disk.names.get(full)
        if ino is None:
            return None, None, []
        base = self.disk.content[ino]
        current = self._current(full, ino, base)
        # Size is metadata, durable only through fsync: the image has the durable length,
        # and bytes the file has lost since then (not yet durably) are still there.
        padded = current[: len(base)] + base[len(current) :]
        size = self.device.sector
        sectors = [
            s
            for s in range(-(-len(base) // size))
            if padded[s * size : (s + 1) * size] != base[s * size : (s + 1) * size]
        ]
        return base, padded, sectors

    def _current(self, full: str, ino: int, base: bytes) -> bytes:
        if self.calls.model_inode(full) == ino:
            return _read(full)
        for fd, key in self.calls.fds.items():
            if self.calls.ids.get(key) == ino:
                size = os.fstat(fd).st_size
                return os.pread(fd, size, 0)
        return base  # unreachable now: nothing pending that anyone could see

    def crash(self, path: str | os.PathLike[str], chosen: list[Fate], garbage_seed: int = 0) -> Image:
        """What the file named ``path`` holds when the power comes back; ``chosen``: one fate per pending sector."""
        base, current, sectors = self.pending(path)
        if base is None or current is None:
            return Image(None, [], [])
        if len(chosen) != len(sectors):
            raise ValueError(f"got {len(chosen)} fates for {len(sectors)} pending sectors; expected one per sector")
        out = bytearray(base)
        size = self.device.sector
        noise = random.Random(garbage_seed)
        for s, fate in zip(sectors, chosen, strict=True):
            part = slice(s * size, min((s + 1) * size, len(base)))
            if fate is Fate.KEPT:
                out[part] = current[part]
            elif fate is Fate.GARBAGE:
                out[part] = noise.randbytes(part.stop - part.start)
        return Image(bytes(out), sectors, list(chosen))

    def durable_names(self) -> set[str]:
        return set(self.disk.names)

    def release(self) -> None:
        """After a power cut: close what the interrupted calls left open (the process would have died)."""
        gc.collect()
        for fd, key in list(self.calls.fds.items()):
            try:
                info = os.fstat(fd)
            except OSError:
                continue
            if (info.st_dev, info.st_ino) == key:
                os.close(fd)
        self.calls.fds.clear()


def restart(path: str | os.PathLike[str], image: Image) -> None:
    """Put the post-crash bytes on disk, as the machine would find them after a reboot."""
    if image.content is None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    with open(path, "wb") as f:
        f.write(image.content)
