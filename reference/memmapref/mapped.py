"""Create and open file-backed arrays: the reference semantics of ``numpy.memmap``.

Three choices differ from ``numpy.memmap`` and are the point of this module
(see SPEC.md, sections 2 and 3):

* ``open`` never changes the file. ``numpy.memmap`` in ``r+`` grows a short
  file with zeros, and does so before it has finished checking its
  arguments, so even a call that raises can leave the file longer.
* ``create`` builds the new contents in a temporary file beside the target,
  reserves its disk blocks, and renames it into place. A full disk is then an
  ``OSError`` from ``create`` instead of a SIGBUS on the first write to a
  sparse page, a failed ``create`` leaves any old file untouched, and a
  process that still maps the old file keeps valid memory (truncating a file
  in place would give that process SIGBUS).
* A flush that fails is remembered: later flushes of the same handle fail
  too (see :class:`memmapref.errors.FlushError`).
"""

from __future__ import annotations

import contextlib
import errno
import math
import mmap
import os
import secrets
import stat
import threading
import weakref
from typing import Any

import numpy as np

from . import _oscalls, _validate
from .errors import (
    AccessError,
    ClosedError,
    FileSizeError,
    HandleCopyError,
    LayoutError,
    MemmapError,
    NotAFileError,
    ReadOnlyError,
    flush_error,
    message,
    os_error,
)

_ACCESS = {"r": mmap.ACCESS_READ, "r+": mmap.ACCESS_WRITE, "w+": mmap.ACCESS_WRITE, "c": mmap.ACCESS_COPY}
_WRITES_TO_FILE = frozenset({"r+", "w+"})
# Filesystems without fallocate support answer with one of these; the file is then
# extended sparsely, and SPEC.md CREATE.4 says what that costs.
_NO_FALLOCATE = frozenset({errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL})
# Linux's limit on one name, in bytes; the temporary name must fit it as the target's does.
NAME_MAX = 255
_TOKEN_BYTES = 6
_SCRATCH_EXTRA = len(f"..{'0' * 2 * _TOKEN_BYTES}.tmp")


def _close_quietly(fd: int) -> None:
    with contextlib.suppress(OSError):
        _oscalls.calls.close(fd)


class MappedArray:
    """An array whose bytes live in a file.

    Obtain one from :func:`create` or :func:`open`; do not construct it
    directly. ``.array`` is a plain ``numpy.ndarray`` view of the mapping.

    After :meth:`close` the handle refuses further use. Views taken from
    ``.array`` earlier stay valid: each holds a reference to the mapping,
    which is unmapped when the last of them is garbage-collected (SPEC.md
    HANDLE.5). Writes
    through such a view in ``r+`` mode still reach the file (the mapping is
    shared), but only a later ``flush`` of a new handle makes them durable.
    """

    def __init__(
        self,
        *,
        path: str,
        mode: str,
        dtype: np.dtype[Any],
        shape: tuple[int, ...],
        offset: int,
        order: str,
        fd: int,
        mapping: mmap.mmap | None,
        array: np.ndarray[Any, Any],
    ) -> None:
        self.path = path
        self.mode = mode
        self.dtype = dtype
        self.shape = shape
        self.offset = offset
        self.order = order
        self._fd = fd
        self._mapping = mapping
        self._array: np.ndarray[Any, Any] | None = array
        self._flush_error: OSError | None = None
        # Held while a reader duplicates the descriptor, so that close() cannot
        # release the number (and the OS hand it to another file) in between.
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _close_quietly, fd)

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise HandleCopyError(
            message(
                f"a copy or pickle of the handle for {self.path!r}",
                "one handle per open of the file: a copy would close a descriptor it does not own",
                "pass the path, dtype, shape, offset and order, and call memmapref.open() again",
            )
        )

    def __copy__(self) -> MappedArray:
        return self.__reduce_ex__(None)  # type: ignore[no-any-return]

    def __deepcopy__(self, memo: Any) -> MappedArray:
        return self.__reduce_ex__(None)  # type: ignore[no-any-return]

    def _reader(self) -> tuple[np.ndarray[Any, Any], int]:
        """The array and a duplicate of the descriptor, which the caller closes.

        A reduction reads through its own descriptor, so a close() from another
        thread while it runs can neither fail its reads nor point them at
        another file that reused the number.
        """
        with self._lock:
            array = self.array
            try:
                return array, _oscalls.calls.dup(self._fd)
            except OSError as exc:
                raise os_error(exc, "duplicate the descriptor of", self.path, "close some files") from exc

    @property
    def closed(self) -> bool:
        return self._array is None

    @property
    def array(self) -> np.ndarray[Any, Any]:
        if self._array is None:
            raise ClosedError(
                message(
                    f"a use of the closed handle for {self.path!r}",
                    "an open handle",
                    "open the file again, or keep the handle open while you use it",
                )
            )
        return self._array

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray[Any, Any]:
        if copy:
            return np.array(self.array, dtype=dtype, copy=True)
        return np.asarray(self.array, dtype=dtype)

    def __getitem__(self, index: Any) -> Any:
        return self.array[index]

    def __setitem__(self, index: Any, value: Any) -> None:
        target = self.array
        if self.mode == "r":
            raise ReadOnlyError(
                message(
                    f"an assignment to {self.path!r}, opened with mode 'r'",
                    "mode 'r+' for writes that reach the file, or 'c' for private ones",
                    "open the file with memmapref.open(..., mode='r+')",
                )
            )
        target[index] = value

    def __len__(self) -> int:
        return len(self.array)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return (
            f"<MappedArray {state} path={self.path!r} mode={self.mode!r} dtype={self.dtype}"
            f" shape={self.shape} offset={self.offset} order={self.order!r}>"
        )

    def __enter__(self) -> MappedArray:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def flush(self) -> None:
        """Write changes to the file and wait until the device has them.

        A no-op in modes ``'r'`` and ``'c'``: they never write to the file.
        """
        self.array  # noqa: B018 -- raises ClosedError on a closed handle
        if self.mode in _WRITES_TO_FILE:
            self._sync()

    def _sync(self) -> None:
        if self._flush_error is not None:
            raise flush_error(self._flush_error, self.path)
        try:
            if self._mapping is not None:
                _oscalls.calls.msync(self._mapping)
            _oscalls.calls.fsync(self._fd)
        except OSError as exc:
            # Kept without its traceback: the frames would keep the mapping alive.
            self._flush_error = OSError(exc.errno, exc.strerror)
            raise flush_error(exc, self.path) from exc

    def _discard(self) -> None:
        """Release without flushing: for a handle whose file is being thrown away."""
        self._release_mapping()
        self._finalizer.detach()
        _close_quietly(self._fd)

    def _release_mapping(self) -> None:
        # numpy keeps a reference to the mmap object but not a buffer export,
        # so mmap.close() would succeed under live views and leave them
        # pointing at unmapped memory (a segfault on next access). Dropping
        # our references instead unmaps when the last view is collected.
        self._array = None
        self._mapping = None

    def check_size(self, fd: int | None = None) -> None:
        """Raise :class:`FileSizeError` if the file has become too short for the array.

        Touching a mapped page past the end of a file kills the process with
        SIGBUS, so long-running readers call this between chunks. It narrows
        the window, it cannot close it: another process may truncate the file
        right after the check. The reductions read the file instead where they
        can (SPEC.md FAULT.9), and pass their own duplicate ``fd`` of it.
        """
        if fd is None:
            self.array  # noqa: B018 -- raises ClosedError on a closed handle
            fd = self._fd
        need = self.offset + self.dtype.itemsize * math.prod(self.shape)
        try:
            size = _oscalls.calls.fstat(fd).st_size
        except OSError as exc:
            raise os_error(exc, "stat", self.path, "check the filesystem for errors") from exc
        if size < need:
            raise FileSizeError(
                message(
                    f"{self.path!r} shrunk to {size} bytes while mapped",
                    f"at least {need} bytes",
                    "stop the process that truncates the file, then open it again",
                ),
                path=self.path,
                expected=need,
                actual=size,
            )

    def close(self) -> None:
        """Flush (in ``r+``/``w+``), drop the mapping and close the file. Safe to call twice.

        The handle is released even when the flush fails; the flush error is
        raised afterwards.
        """
        if self._array is None:
            return
        failure: OSError | None = None
        if self.mode in _WRITES_TO_FILE:
            try:
                self._sync()
            except OSError as exc:
                failure = exc
        with self._lock:
            self._release_mapping()
            self._finalizer.detach()
            try:
                _oscalls.calls.close(self._fd)
            except OSError as exc:
                failure = failure or os_error(exc, "close", self.path, "check the filesystem for errors")
        if failure is not None:
            raise failure


def _map(
    fd: int,
    *,
    path: str,
    mode: str,
    dtype: np.dtype[Any],
    shape: tuple[int, ...],
    offset: int,
    order: str,
) -> MappedArray:
    nbytes = dtype.itemsize * int(np.prod(shape, dtype=object))
    mapping: mmap.mmap | None = None
    if nbytes:
        start = offset - offset % mmap.ALLOCATIONGRANULARITY
        mapping = _oscalls.calls.mmap(fd, offset + nbytes - start, _ACCESS[mode], start)
    try:
        if mapping is None:
            # mmap refuses length 0; an empty array needs no memory from the file.
            array: np.ndarray[Any, Any] = np.zeros(shape, dtype=dtype, order=order)  # type: ignore[call-overload]
            array.flags.writeable = mode != "r"
        else:
            array = np.ndarray(shape, dtype=dtype, buffer=mapping, offset=offset - start, order=order)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError) as exc:
        # Validation refuses everything numpy is known to; this keeps an unknown refusal typed.
        if mapping is not None:
            mapping.close()  # no array was made over it, so nothing can still point into it
        raise LayoutError(
            message(f"numpy's refusal: {exc}", "an array numpy can lay out", "check shape, dtype and offset")
        ) from None
    return MappedArray(
        path=path, mode=mode, dtype=dtype, shape=shape, offset=offset, order=order, fd=fd, mapping=mapping, array=array
    )


def open(  # noqa: A001 -- the public name the protocol fixes
    path: Any,
    dtype: Any,
    shape: Any = None,
    *,
    mode: str = "r",
    offset: int = 0,
    order: str = "C",
) -> MappedArray:
    """Map an existing file. Never grows, truncates or writes the file.

    ``shape=None`` maps every whole item after ``offset`` as a 1-d array.
    All arguments are checked before the file is opened.
    """
    mode = _validate.open_mode(mode)
    name = _validate.path(path)
    dt = _validate.dtype(dtype)
    wanted = None if shape is None else _validate.shape(shape, dt.itemsize, len(dt.shape))
    start = _validate.offset(offset)
    layout = _validate.order(order)
    if wanted is not None:
        _validate.extent(start, dt.itemsize * math.prod(wanted))

    _check_regular(name)
    flags = (os.O_RDWR if mode == "r+" else os.O_RDONLY) | os.O_CLOEXEC
    try:
        fd = _oscalls.calls.open(name, flags)
    except OSError as exc:
        raise os_error(exc, f"open (mode {mode!r})", name, _open_fix(exc, mode)) from exc
    try:
        try:
            size = _oscalls.calls.fstat(fd).st_size
        except OSError as exc:
            raise os_error(exc, "stat", name, "check the filesystem for errors") from exc
        final = _fit(name, size, dt, wanted, start)
        return _map(fd, path=name, mode=mode, dtype=dt, shape=final, offset=start, order=layout)
    except MemmapError:
        _close_quietly(fd)
        raise
    except OSError as exc:
        _close_quietly(fd)
        raise os_error(exc, "map", name, "check free memory and the process's address-space limit") from exc
    except BaseException:  # MemoryError, KeyboardInterrupt: nothing may stay open
        _close_quietly(fd)
        raise


def _check_regular(name: str) -> None:
    # Checked before open(): opening a FIFO read-only would block forever.
    try:
        info = _oscalls.calls.stat(name)
    except OSError as exc:
        raise os_error(exc, "find", name, "check the path, or create the file with memmapref.create()") from exc
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise NotAFileError(
            errno.EISDIR,
            message(f"{name!r}, which is {kind}", "a regular file", "pass the path of a data file"),
            name,
        )


def _open_fix(exc: OSError, mode: str) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) and mode == "r+":
        return "open with mode 'r' or 'c', or make the file writable"
    return "check the path and its permissions"


def _fit(name: str, size: int, dt: np.dtype[Any], wanted: tuple[int, ...] | None, start: int) -> tuple[int, ...]:
    if wanted is None:
        available = size - start
        if available < 0 or available % dt.itemsize:
            raise FileSizeError(
                message(
                    f"{name!r} of {size} bytes, leaving {available} bytes after offset {start}",
                    f"a whole number of {dt.itemsize}-byte items of {dt} after the offset",
                    "check the dtype and offset, or pass shape= explicitly",
                ),
                path=name,
                expected=start + (max(available, 0) // dt.itemsize + 1) * dt.itemsize,
                actual=size,
            )
        return (available // dt.itemsize,)
    need = start + dt.itemsize * int(np.prod(wanted, dtype=object))
    if size < need:
        raise FileSizeError(
            message(
                f"{name!r} of {size} bytes",
                f"at least {need} bytes (offset {start} + shape {wanted} x {dt.itemsize}-byte {dt})",
                "check shape, dtype and offset against the writer's; a short file may be a truncated write",
            ),
            path=name,
            expected=need,
            actual=size,
        )
    return wanted


def create(path: Any, dtype: Any, shape: Any, *, offset: int = 0, order: str = "C") -> MappedArray:
    """Create (or replace) a file of exactly ``offset + nbytes`` zero bytes and map it read-write.

    The disk blocks are reserved before the file replaces any old one, so a
    full disk raises ``OSError`` (ENOSPC) here and a failed call leaves the
    old file as it was.
    """
    name = _validate.path(path)
    dt = _validate.dtype(dtype)
    dims = _validate.shape(shape, dt.itemsize, len(dt.shape))
    start = _validate.offset(offset)
    layout = _validate.order(order)
    size = start + dt.itemsize * math.prod(dims)
    _validate.extent(start, size - start)

    _check_creatable(name)
    target = os.path.realpath(name)
    _check_replaceable(name, target)
    scratch = _scratch_name(target)
    try:
        fd = _oscalls.calls.open(scratch, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC)
    except OSError as exc:
        raise os_error(exc, "create a file beside", name, "check that the directory exists and is writable") from exc
    handle: MappedArray | None = None
    try:
        _fill(fd, target, size)
        # Mapped before the rename, so that a failure here leaves the old file in place.
        handle = _map(fd, path=name, mode="w+", dtype=dt, shape=dims, offset=start, order=layout)
        _oscalls.calls.replace(scratch, target)
    except BaseException as exc:
        if handle is not None:
            handle._discard()
        else:
            _close_quietly(fd)
        state = "any file already at that path is unchanged"
        try:
            _oscalls.calls.unlink(scratch)
        except OSError:
            state += f"; delete the temporary file {scratch!r}, which could not be removed"
        if not isinstance(exc, OSError) or isinstance(exc, MemmapError):
            raise
        fix = "free disk space" if exc.errno == errno.ENOSPC else "check the filesystem and its free space"
        raise os_error(exc, f"reserve {size} bytes for", name, f"{fix}; {state}") from exc
    try:
        _sync_directory(os.path.dirname(target))
    except BaseException:  # MemoryError, KeyboardInterrupt: the new file is in place, the handle not returned
        handle._discard()
        raise
    return handle


def _scratch_name(target: str) -> str:
    """A new name beside ``target``, no longer than NAME_MAX bytes whatever the target's length."""
    base = os.fsencode(os.path.basename(target))[: NAME_MAX - _SCRATCH_EXTRA]
    # A cut through a multi-byte character decodes to surrogates, which encode back to the same bytes.
    hidden = f".{os.fsdecode(base)}.{secrets.token_hex(_TOKEN_BYTES)}.tmp"
    return os.path.join(os.path.dirname(target), hidden)


def _check_creatable(name: str) -> None:
    # Resolving 'data.bin/' or 'data.bin/.' strips the last part, so without
    # this check create would replace data.bin itself. The name as given is
    # looked up as open() looks it up, and the two refuse alike.
    try:
        info = _oscalls.calls.stat(name)
    except FileNotFoundError as exc:
        if not _validate.directory_form(name):
            return
        raise os_error(exc, "find the directory", name, "drop the trailing separator or '.'") from exc
    except OSError as exc:
        raise os_error(exc, "find", name, "check the path; every part before the last must be a directory") from exc
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise NotAFileError(
            errno.EISDIR,
            message(f"{name!r}, which is {kind}", "a regular file or a new name", "pass the path of a data file"),
            name,
        )


def _check_replaceable(name: str, target: str) -> None:
    # A rename needs only the directory's permission. Without this check a caller
    # who may not write the old file could still destroy it (SPEC.md CREATE.8).
    try:
        refused = not _oscalls.calls.access(target, os.W_OK) and _oscalls.calls.access(target, os.F_OK)
    except OSError as exc:
        raise os_error(exc, "check the permissions of", name, "check the path and its permissions") from exc
    if refused:
        raise AccessError(
            errno.EACCES,
            message(
                f"{name!r}, which exists and which this process may not write",
                "a file the caller could overwrite",
                "make the file writable, or remove it first if replacing it is really meant",
            ),
            name,
        )


def _fill(fd: int, target: str, size: int) -> None:
    # A replaced file keeps its permission bits; a new one gets the umask's.
    with contextlib.suppress(FileNotFoundError):
        _oscalls.calls.fchmod(fd, stat.S_IMODE(_oscalls.calls.stat(target).st_mode))
    if size:
        try:
            _oscalls.calls.fallocate(fd, 0, size)
        except OSError as exc:
            if exc.errno not in _NO_FALLOCATE:
                raise
            _oscalls.calls.ftruncate(fd, size)
    _oscalls.calls.fsync(fd)


def _sync_directory(directory: str) -> None:
    # Makes the rename itself durable. Best effort: some filesystems refuse
    # fsync on a directory, and the data is already safe in the new inode.
    try:
        fd = _oscalls.calls.open(directory or ".", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        _oscalls.calls.fsync(fd)
    except OSError:
        pass
    finally:
        _close_quietly(fd)
