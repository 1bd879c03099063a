"""The new file :func:`memmapref.create` builds beside its target and renames into place (SPEC.md section 2).

The steps in the order create takes them: refuse a name that cannot be a data
file or an old file the caller may not write, pick a scratch name beside the
target, give the scratch file the old file's permissions and reserve its disk
blocks, and, once it is renamed into place, make the rename durable.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat

from . import _oscalls, _validate
from .errors import AccessError, message, not_a_file, os_error

# Filesystems without fallocate support answer with one of these; the file is then
# extended sparsely, and SPEC.md CREATE.4 says what that costs.
_NO_FALLOCATE = frozenset({errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL})
# Linux's limit on one name, in bytes; the temporary name must fit it as the target's does.
NAME_MAX = 255
_TOKEN_BYTES = 6
_SCRATCH_EXTRA = len(f"..{'0' * 2 * _TOKEN_BYTES}.tmp")


def scratch_name(target: str) -> str:
    """A new name beside ``target``, no longer than NAME_MAX bytes whatever the target's length."""
    base = os.fsencode(os.path.basename(target))[: NAME_MAX - _SCRATCH_EXTRA]
    # A cut through a multi-byte character decodes to surrogates, which encode back to the same bytes.
    hidden = f".{os.fsdecode(base)}.{secrets.token_hex(_TOKEN_BYTES)}.tmp"
    return os.path.join(os.path.dirname(target), hidden)


def check_creatable(path: str) -> None:
    # Resolving 'data.bin/' or 'data.bin/.' strips the last part, so without
    # this check create would replace data.bin itself. The name as given is
    # looked up as open() looks it up, and the two refuse alike.
    try:
        info = _oscalls.calls.stat(path)
    except FileNotFoundError as exc:
        if not _validate.directory_form(path):
            return
        raise os_error(exc, "find the directory", path, "drop the trailing separator or '.'") from exc
    except OSError as exc:
        raise os_error(exc, "find", path, "check the path; every part before the last must be a directory") from exc
    if not stat.S_ISREG(info.st_mode):
        raise not_a_file(path, info.st_mode, "a regular file or a new name")


def check_replaceable(path: str, target: str) -> None:
    # A rename needs only the directory's permission. Without this check a caller
    # who may not write the old file could still destroy it (SPEC.md CREATE.8).
    try:
        refused = not _oscalls.calls.access(target, os.W_OK) and _oscalls.calls.access(target, os.F_OK)
    except OSError as exc:
        raise os_error(exc, "check the permissions of", path, "check the path and its permissions") from exc
    if refused:
        raise AccessError(
            errno.EACCES,
            message(
                f"{path!r}, which exists and which this process may not write",
                "a file the caller could overwrite",
                "make the file writable, or remove it first if replacing it is really meant",
            ),
            path,
        )


def fill(fd: int, target: str, size: int) -> None:
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


def sync_directory(directory: str) -> None:
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
        _oscalls.close_quietly(fd)
