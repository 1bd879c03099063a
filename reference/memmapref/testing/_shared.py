"""What the bundled implementations share: the differences they are known for, and small helpers."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from .versions import NUMPY, NUMPY2

REFUSED = "test_bad_open_argument_is_refused test_bad_create_argument_is_refused"


ACCEPTED = "test_accepted_open_spelling test_accepted_create_spelling"


def _cases(tests: str, *params: str) -> tuple[str, ...]:
    """``fnmatch`` patterns of the ids ``test[IMPLEMENTATION-PARAM]`` of each of ``tests`` for each of ``params``."""
    return tuple(f"{test}[[]*-{param}]" for test in tests.split() for param in params)


_ORDERS_OF_NDARRAY = (
    "order goes to np.ndarray, which also accepts lowercase 'c' and 'f', 'A' and 'K' (mapped as 'C'), None (as "
    "'C') and b'C', and raises TypeError ('order must be str, not int'), not ValueError, for a non-string; only '' "
    "and 'CF' are refused with ValueError"
)


_ORDER_CASES = ("order-[cfAK]*", "order-None*", "order-bytes*", "order-int*", "order-array*")


_ORDER_FAILURE = r"got (a handle|TypeError: order must be str, not (int|numpy\.ndarray)); expected ValueError"


_RESOLVE = (
    "an os.PathLike that is not a pathlib.Path maps the file, then fails with AttributeError (\"'FsPath' object "
    "has no attribute 'resolve'\"): numpy.memmap calls filename.resolve() on every os.PathLike (pointed out in the "
    "review of numpy pull request 14093, never fixed)"
)


_FLOAT_SHAPES = (
    "in modes 'r' and 'c' a float shape such as (20.0, 20.0) goes into the size arithmetic and is refused by "
    "mmap with ValueError ('mmap length is greater than file size'), not TypeError"
)


_NO_REDUCTIONS = "no reductions of its own: np.mean over a file truncated while mapped dies of SIGBUS"


_FLUSH_MSYNC_ONLY = (
    "flush() is a single msync(MS_SYNC) and never an fsync, so under the POSIX model the size a new file got "
    "from {how} is never durable (trace: msync(ADDR, LEN, MS_SYNC) = 0 and no fsync; holds under the Linux model)"
)


_CLOSE_NO_SYNC = (
    "close() drops the mapping (munmap) without msync or fsync: stores since the last flush() may be lost "
    "in a power failure right after close() returns, under both models (trace: munmap, no msync after the store)"
)


_NO_DIRECTORY_SYNC = (
    "never fsyncs the directory: after a power failure right after create() or flush() returned, a new file "
    "may not exist, under both models (trace: openat(..., O_RDWR|O_CREAT|O_TRUNC...) and no fsync of the directory)"
)


_FSYNCGATE = (
    "a flush() that failed is forgotten: with the first msync failed (strace -e inject=msync:error=EIO:when=1) "
    "flush() raises OSError(EIO), and the next flush() of the same handle is msync(ADDR, LEN, MS_SYNC) = 0 and "
    "reports success, though the kernel has marked the lost pages clean"
)


_NUMPY_GROWS = "numpy.memmap in mode 'r+' extends a file shorter than offset + nbytes with zeros instead of refusing it"


# numpy.memmap maps zero-size arrays only from numpy 2.2 on (numpy pull request 27723).
_NUMPY_2_2 = NUMPY >= (2, 2)


_NUMPY_2 = NUMPY2


_LIST_SHAPES = "numpy 1.x refuses a shape given as a list (TypeError in its size arithmetic)"


_ISSUE_28334 = (
    "open_memmap writes the shape into the header with repr(), so np.load cannot parse the header of a file "
    "created with numpy integer entries (np.int64(3): numpy issue 28334), 0-d array entries (array(2): numpy "
    "issue 9659) or a list shape ('shape': [2, 3]: 'shape is not valid')"
)


_ISSUE_9659 = (
    "open_memmap writes the shape into the header with repr(), so np.load cannot parse the header of a file "
    "created with 0-d array entries (array(2): numpy issue 9659) or a list shape ('shape': [2, 3]: 'shape is not "
    "valid')"
)


_ISSUE_13719 = (
    "open_memmap(mode='w+') given a bare int, numpy integer or 0-d array as the shape opens the path with 'w+b', "
    "truncating an existing file to 0 bytes, and then fails with TypeError (\"object of type 'int' has no "
    'len()"): numpy issue 13719'
)


class _ArrayHandle:
    """A handle over an ndarray-like whose only release is dropping the reference."""

    def __init__(self, array: Any) -> None:
        self.array = array

    def flush(self) -> None:
        self.array.flush()

    def close(self) -> None:
        self.array = None


def _as_shape(shape: Any) -> tuple[int, ...]:
    """The caller's shape as ints, refusing what ``numpy.memmap`` refuses (floats, bools)."""
    entries = shape if isinstance(shape, (tuple, list)) else (shape,)
    if any(isinstance(n, (bool, np.bool_)) for n in entries):
        raise TypeError(f"got shape {shape!r} with a bool entry; expected integers; fix: pass ints")
    return tuple(operator.index(n) for n in entries)


def _check_order(order: Any) -> None:
    """open_memmap takes a bool and np.load no order, so the translation from an order string is this glue's."""
    if not (isinstance(order, str) and order in ("C", "F")):
        raise ValueError(f"got order {order!r:.40}; expected 'C' or 'F'; fix: pass order='C' or 'F'")
