"""Error classes: built-in bases, errno kept, got/expected/fix messages (SPEC.md section 6)."""

from __future__ import annotations

import errno
import inspect

import pytest

from memmapref import errors


def _all_error_classes() -> list[type[BaseException]]:
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.MemmapError) and cls is not errors.MemmapError
    ]


@pytest.mark.clause("ERR.1")
@pytest.mark.parametrize("cls", _all_error_classes(), ids=lambda c: c.__name__)
def test_every_class_has_a_builtin_base(cls: type[BaseException]) -> None:
    builtin = [
        base for base in cls.__mro__ if base.__module__ == "builtins" and base not in (Exception, BaseException, object)
    ]
    assert builtin, f"{cls.__name__} subclasses no built-in exception a caller would catch"
    assert cls.__name__ in errors.__all__


@pytest.mark.clause("ERR.1")
@pytest.mark.parametrize(
    ("code", "builtin"),
    [
        (errno.ENOENT, FileNotFoundError),
        (errno.EACCES, PermissionError),
        (errno.EISDIR, IsADirectoryError),
        (errno.ENOSPC, OSError),
        (errno.EIO, OSError),
    ],
)
def test_os_errors_keep_errno_and_builtin_class(code: int, builtin: type[OSError]) -> None:
    raised = errors.os_error(OSError(code, "x"), "open", "/d/f", "do something")
    assert isinstance(raised, builtin) and isinstance(raised, errors.MemmapError)
    assert raised.errno == code and raised.filename == "/d/f"


def test_os_error_without_errno_is_an_io_error() -> None:
    raised = errors.os_error(OSError("no errno"), "map", "/f", "retry")
    assert raised.errno == errno.EIO and "Input/output error" in str(raised)


@pytest.mark.clause("ERR.2")
def test_messages_say_got_expected_fix() -> None:
    raised = errors.os_error(
        OSError(errno.ENOSPC, "No space left on device"), "reserve 8 bytes for", "/f", "free disk space"
    )
    # OSError's str() puts "[Errno 28]" first and the filename last; strerror is the message itself.
    text = raised.strerror
    assert text.startswith("got No space left on device while trying to reserve 8 bytes for '/f'")
    assert "; expected " in text and text.endswith("fix: free disk space")
    flush = errors.flush_error(OSError(errno.EIO, ""), "/f")
    assert flush.errno == errno.EIO and "fix:" in str(flush) and isinstance(flush, OSError)
