"""Typed errors.

Every class derives from :class:`MemmapError` *and* from the built-in exception
a caller would already catch for that kind of mistake, so ``except ValueError``
keeps working for code written against ``numpy.memmap``.

Messages follow one pattern: what was received, what was expected, how to fix
it.
"""

from __future__ import annotations

import errno
import os
import stat


class MemmapError(Exception):
    """Base class of every error memmapref raises on purpose."""


def message(got: str, expected: str, fix: str) -> str:
    return f"got {got}; expected {expected}; fix: {fix}"


class ShapeTypeError(MemmapError, TypeError):
    """A shape, or one of its entries, is not an integer."""


class ShapeValueError(MemmapError, ValueError):
    """A shape entry is negative, or the byte count overflows."""


class DtypeError(MemmapError, TypeError):
    """The dtype cannot be stored in a raw file (object fields, or not a dtype)."""


class ModeError(MemmapError, ValueError):
    """The mode is not one of the supported modes."""


class OrderError(MemmapError, ValueError):
    """The memory order is not ``"C"`` or ``"F"``."""


class OffsetError(MemmapError, ValueError):
    """The offset is negative, not an integer, or lies past the end of the file."""


class OffsetTypeError(MemmapError, TypeError):
    """The offset is not an integer."""


class PathTypeError(MemmapError, TypeError):
    """The path is not ``str``, ``bytes`` or ``os.PathLike``."""


class PathValueError(MemmapError, ValueError):
    """The path is empty, holds a NUL byte, or cannot be encoded for the filesystem."""


class LayoutError(MemmapError, ValueError):
    """NumPy refused to lay the array out over the file, after the file was opened."""


class HandleCopyError(MemmapError, TypeError):
    """A handle was copied or pickled: a copy would share, and later close, a descriptor it does not own."""


class FileSizeError(MemmapError, ValueError):
    """The file is too short for the requested array, or not a whole number of items."""

    def __init__(self, message: str, *, path: str, expected: int, actual: int) -> None:
        super().__init__(message)
        self.path = path
        self.expected = expected
        self.actual = actual


class NotAFileError(MemmapError, IsADirectoryError):
    """The path names a directory or another object that is not a regular file."""


class ReadOnlyError(MemmapError, ValueError):
    """A write was attempted through a handle opened read-only.

    ``ValueError`` because that is what NumPy raises for a write to a read-only
    array ("assignment destination is read-only").
    """


class ClosedError(MemmapError, ValueError):
    """The handle was used after :meth:`MappedArray.close`.

    ``ValueError`` mirrors Python's own "I/O operation on closed file".
    """


class FlushError(MemmapError, OSError):
    """Writing mapped data back to the file failed.

    Once raised, every later flush of the same handle raises it again: the
    kernel marks failed pages clean, so a second ``msync`` could report
    success for data that never reached the disk.
    """


class MemmapOSError(MemmapError, OSError):
    """An operating-system call failed (no space left, I/O error, ...)."""


class MissingFileError(MemmapError, FileNotFoundError):
    """The file does not exist."""


class AccessError(MemmapError, PermissionError):
    """The file's permissions do not allow the requested mode."""


class PathComponentError(MemmapError, NotADirectoryError):
    """A part of the path that must be a directory is not one (``data.bin/x``)."""


class ExistingFileError(MemmapError, FileExistsError):
    """A file that had to be new already exists."""


class InterruptedCallError(MemmapError, InterruptedError):
    """A system call was interrupted by a signal and not retried (``close`` is never retried)."""


class TimedOutError(MemmapError, TimeoutError):
    """A system call timed out (network filesystems)."""


class WouldBlockError(MemmapError, BlockingIOError):
    """A system call would have had to wait for a lock or for memory."""


# One entry for every built-in subclass that errno selects and a file call can
# return, so that re-typing never loses the class a caller's `except` names.
_BY_BUILTIN: dict[type[OSError], type[OSError]] = {
    FileNotFoundError: MissingFileError,
    PermissionError: AccessError,
    IsADirectoryError: NotAFileError,
    NotADirectoryError: PathComponentError,
    FileExistsError: ExistingFileError,
    InterruptedError: InterruptedCallError,
    TimeoutError: TimedOutError,
    BlockingIOError: WouldBlockError,
}


def os_error(exc: OSError, action: str, path: str, fix: str) -> OSError:
    """Re-type an OSError from the OS seam, keeping its errno.

    The built-in subclass that errno selects (FileNotFoundError,
    PermissionError, ...) is kept, so ``except FileNotFoundError`` still works.
    """
    code = exc.errno if exc.errno is not None else errno.EIO
    cls = _BY_BUILTIN.get(type(OSError(code, "")), MemmapOSError)
    reason = exc.strerror or os.strerror(code)
    msg = message(f"{reason} while trying to {action} {path!r}", "the call to succeed", fix)
    return cls(code, msg, path)


def flush_error(exc: OSError, path: str) -> FlushError:
    code = exc.errno if exc.errno is not None else errno.EIO
    reason = exc.strerror or os.strerror(code)
    msg = message(
        f"{reason} while flushing {path!r}",
        "the mapped data to reach the file",
        "treat the data written since the last successful flush as lost; recreate the file from a source you trust",
    )
    return FlushError(code, msg, path)


__all__ = [
    "AccessError",
    "ClosedError",
    "DtypeError",
    "ExistingFileError",
    "FileSizeError",
    "FlushError",
    "HandleCopyError",
    "InterruptedCallError",
    "LayoutError",
    "MemmapError",
    "MemmapOSError",
    "MissingFileError",
    "ModeError",
    "NotAFileError",
    "OffsetError",
    "OffsetTypeError",
    "OrderError",
    "PathComponentError",
    "PathTypeError",
    "PathValueError",
    "ReadOnlyError",
    "ReductionArgumentError",
    "ShapeTypeError",
    "ShapeValueError",
    "TimedOutError",
    "WouldBlockError",
]


class ReductionArgumentError(MemmapError, ValueError):
    """A reduction argument (threshold, chunk size, thread count) is out of range."""


def not_a_file(path: str, mode: int, expected: str) -> NotAFileError:
    """The error for a path whose ``st_mode`` is not a regular file's: a directory, a FIFO, a device."""
    kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
    return NotAFileError(
        errno.EISDIR, message(f"{path!r}, which is {kind}", expected, "pass the path of a data file"), path
    )
