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

import errno
import math
import mmap
import os
import stat
from typing import Any

import numpy as np

from . import _newfile, _oscalls, _validate
from ._validate import Request
from .errors import FileSizeError, LayoutError, MemmapError, message, not_a_file, os_error
from .handle import MappedArray

__all__ = ["MappedArray", "create", "open"]

_ACCESS = {"r": mmap.ACCESS_READ, "r+": mmap.ACCESS_WRITE, "w+": mmap.ACCESS_WRITE, "c": mmap.ACCESS_COPY}


def _map(fd: int, request: Request[tuple[int, ...]]) -> MappedArray:
    nbytes = request.dtype.itemsize * int(np.prod(request.shape, dtype=object))
    mapping: mmap.mmap | None = None
    # mmap maps from a multiple of the allocation granularity; the array starts this far into the mapping.
    into_mapping = request.offset % mmap.ALLOCATIONGRANULARITY
    if nbytes:
        page_start = request.offset - into_mapping
        mapping = _oscalls.calls.mmap(fd, into_mapping + nbytes, _ACCESS[request.mode], page_start)
    try:
        if mapping is None:
            # mmap refuses length 0; an empty array needs no memory from the file.
            array: np.ndarray[Any, Any] = np.zeros(request.shape, dtype=request.dtype, order=request.order)  # type: ignore[call-overload]
            array.flags.writeable = request.mode != "r"
        else:
            array = np.ndarray(
                request.shape,
                dtype=request.dtype,
                buffer=mapping,
                offset=into_mapping,
                order=request.order,  # type: ignore[arg-type]
            )
    except (TypeError, ValueError, OverflowError) as exc:
        # Validation refuses everything numpy is known to; this keeps an unknown refusal typed.
        if mapping is not None:
            mapping.close()  # no array was made over it, so nothing can still point into it
        raise LayoutError(
            message(f"numpy's refusal: {exc}", "an array numpy can lay out", "check shape, dtype and offset")
        ) from None
    return MappedArray(request, fd=fd, mapping=mapping, array=array)


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
    request = _validate.open_request(path, dtype, shape, mode=mode, offset=offset, order=order)
    _check_regular(request.path)
    flags = (os.O_RDWR if request.mode == "r+" else os.O_RDONLY) | os.O_CLOEXEC
    try:
        fd = _oscalls.calls.open(request.path, flags)
    except OSError as exc:
        raise os_error(exc, f"open (mode {request.mode!r})", request.path, _open_fix(exc, request.mode)) from exc
    try:
        try:
            size = _oscalls.calls.fstat(fd).st_size
        except OSError as exc:
            raise os_error(exc, "stat", request.path, "check the filesystem for errors") from exc
        return _map(fd, _fit(request, size))
    except MemmapError:
        _oscalls.close_quietly(fd)
        raise
    except OSError as exc:
        _oscalls.close_quietly(fd)
        raise os_error(exc, "map", request.path, "check free memory and the process's address-space limit") from exc
    except BaseException:  # MemoryError, KeyboardInterrupt: nothing may stay open
        _oscalls.close_quietly(fd)
        raise


def _check_regular(path: str) -> None:
    # Checked before open(): opening a FIFO read-only would block forever.
    try:
        info = _oscalls.calls.stat(path)
    except OSError as exc:
        raise os_error(exc, "find", path, "check the path, or create the file with memmapref.create()") from exc
    if not stat.S_ISREG(info.st_mode):
        raise not_a_file(path, info.st_mode, "a regular file")


def _open_fix(exc: OSError, mode: str) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) and mode == "r+":
        return "open with mode 'r' or 'c', or make the file writable"
    return "check the path and its permissions"


def _fit(request: Request[tuple[int, ...] | None], size: int) -> Request[tuple[int, ...]]:
    """The request with the shape a file of ``size`` bytes gives it, or a FileSizeError if the file is too short."""
    path, itemsize, offset = request.path, request.dtype.itemsize, request.offset
    if request.shape is None:
        available = size - offset
        if available < 0 or available % itemsize:
            raise FileSizeError(
                message(
                    f"{path!r} of {size} bytes, leaving {available} bytes after offset {offset}",
                    f"a whole number of {itemsize}-byte items of {request.dtype} after the offset",
                    "check the dtype and offset, or pass shape= explicitly",
                ),
                path=path,
                expected=offset + (max(available, 0) // itemsize + 1) * itemsize,
                actual=size,
            )
        return request.with_shape((available // itemsize,))
    need = offset + itemsize * int(np.prod(request.shape, dtype=object))
    if size < need:
        raise FileSizeError(
            message(
                f"{path!r} of {size} bytes",
                f"at least {need} bytes (offset {offset} + shape {request.shape} x {itemsize}-byte {request.dtype})",
                "check shape, dtype and offset against the writer's; a short file may be a truncated write",
            ),
            path=path,
            expected=need,
            actual=size,
        )
    return request.with_shape(request.shape)


def create(path: Any, dtype: Any, shape: Any, *, offset: int = 0, order: str = "C") -> MappedArray:
    """Create (or replace) a file of exactly ``offset + nbytes`` zero bytes and map it read-write.

    The disk blocks are reserved before the file replaces any old one, so a
    full disk raises ``OSError`` (ENOSPC) here and a failed call leaves the
    old file as it was.
    """
    request = _validate.create_request(path, dtype, shape, offset=offset, order=order)
    size = request.offset + request.dtype.itemsize * math.prod(request.shape)

    _newfile.check_creatable(request.path)
    target = os.path.realpath(request.path)
    _newfile.check_replaceable(request.path, target)
    scratch = _newfile.scratch_name(target)
    try:
        fd = _oscalls.calls.open(scratch, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC)
    except OSError as exc:
        raise os_error(
            exc, "create a file beside", request.path, "check that the directory exists and is writable"
        ) from exc
    handle: MappedArray | None = None
    try:
        _newfile.fill(fd, target, size)
        # Mapped before the rename, so that a failure here leaves the old file in place.
        handle = _map(fd, request)
        _oscalls.calls.replace(scratch, target)
    except BaseException as exc:
        if handle is not None:
            handle._discard()
        else:
            _oscalls.close_quietly(fd)
        state = "any file already at that path is unchanged"
        try:
            _oscalls.calls.unlink(scratch)
        except OSError:
            state += f"; delete the temporary file {scratch!r}, which could not be removed"
        if not isinstance(exc, OSError) or isinstance(exc, MemmapError):
            raise
        fix = "free disk space" if exc.errno == errno.ENOSPC else "check the filesystem and its free space"
        raise os_error(exc, f"reserve {size} bytes for", request.path, f"{fix}; {state}") from exc
    try:
        _newfile.sync_directory(os.path.dirname(target))
    except BaseException:  # MemoryError, KeyboardInterrupt: the new file is in place, the handle not returned
        handle._discard()
        raise
    return handle
