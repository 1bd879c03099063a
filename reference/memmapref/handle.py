"""The handle :func:`memmapref.open` and :func:`memmapref.create` return: an array whose bytes live in a file.

It owns the descriptor and the mapping; how it flushes, closes and checks the
file's size is SPEC.md section 4.
"""

from __future__ import annotations

import math
import mmap
import threading
import weakref
from typing import Any

import numpy as np

from . import _oscalls
from ._validate import Request
from .errors import ClosedError, FileSizeError, HandleCopyError, ReadOnlyError, flush_error, message, os_error

# The modes whose changes reach the file, and so the modes a flush and a close write back.
WRITES_TO_FILE = frozenset({"r+", "w+"})


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
        request: Request[tuple[int, ...]],
        *,
        fd: int,
        mapping: mmap.mmap | None,
        array: np.ndarray[Any, Any],
    ) -> None:
        self.path = request.path
        self.mode = request.mode
        self.dtype = request.dtype
        self.shape = request.shape
        self.offset = request.offset
        self.order = request.order
        self._fd = fd
        self._mapping = mapping
        self._array: np.ndarray[Any, Any] | None = array
        self._flush_error: OSError | None = None
        # Held while a reader duplicates the descriptor, so that close() cannot
        # release the number (and the OS hand it to another file) in between.
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _oscalls.close_quietly, fd)

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
        if self.mode in WRITES_TO_FILE:
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
        _oscalls.close_quietly(self._fd)

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
        if self.mode in WRITES_TO_FILE:
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
