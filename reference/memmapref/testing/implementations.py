"""The implementations bundled with the suite, each importable as ``--impl memmapref.testing.implementations:NAME``.

* ``reference``: memmapref itself.
* ``numpy_memmap``: ``numpy.memmap``, as a user calls it.
* ``npy_memmap``: ``numpy.lib.format.open_memmap`` to create, ``np.load(mmap_mode=...)`` to open.
* ``raw_mmap``: the hand-rolled ``mmap.mmap`` + ``np.ndarray(buffer=...)`` many projects write
  (defined in ``impl_mmap``, as pyarrow's is in ``impl_pyarrow``).

Their ``deviations`` are findings: what each really does where SPEC.md asks
for something else, with the reason. ``tests/conformance`` runs the suite
against all four, so a deviation that stops being one fails CI (strict xfail).
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any, ClassVar

import numpy as np
from numpy.lib.format import open_memmap

import memmapref

from ._shared import (
    _CLOSE_NO_SYNC,
    _FLOAT_SHAPES,
    _FLUSH_MSYNC_ONLY,
    _FSYNCGATE,
    _ISSUE_9659,
    _ISSUE_13719,
    _ISSUE_28334,
    _LIST_SHAPES,
    _NO_DIRECTORY_SYNC,
    _NO_REDUCTIONS,
    _NUMPY_2,
    _NUMPY_2_2,
    _NUMPY_GROWS,
    _ORDER_CASES,
    _ORDER_FAILURE,
    _ORDERS_OF_NDARRAY,
    _RESOLVE,
    ACCEPTED,
    REFUSED,
    _ArrayHandle,
    _as_shape,
    _cases,
    _check_order,
)
from .impl_mmap import raw_mmap
from .protocol import Capabilities, Deviation


class _Reference:
    name = "memmapref"
    capabilities = Capabilities()
    deviations: ClassVar[dict[str, str | Deviation]] = {}
    create = staticmethod(memmapref.create)
    open = staticmethod(memmapref.open)
    slice_mean = staticmethod(memmapref.slice_mean)
    filtered_sum = staticmethod(memmapref.filtered_sum)


reference = _Reference()


class _NumpyMemmap:
    name = "numpy.memmap"
    capabilities = Capabilities(empty_arrays=_NUMPY_2_2)
    deviations: ClassVar[dict[str, str | Deviation]] = {
        "CREATE.1": "mode 'w+' with a zero-size shape leaves a 1-byte file on numpy 2.2 and later (numpy "
        "writes one byte to extend the file; numpy pull request 27723); older numpy raises ValueError "
        "('cannot mmap an empty file')",
        "CREATE.4": "the file is extended by seeking and writing one byte: a sparse file, SIGBUS on a full disk",
        "CREATE.5": "mode 'w+' truncates the existing file before anything can fail",
        "CREATE.7": "mode 'w+' truncates the file in place: another process mapping it gets SIGBUS",
        "OPEN.1": _NUMPY_GROWS,
        "OPEN.2": _NUMPY_GROWS,
        "OPEN.3": "shape=None on a file with no bytes after the offset raises ValueError('cannot mmap an empty "
        "file') instead of giving an empty array (numpy issues 12653, 27723)",
        "ARGS.4": "dtype=object, a structured dtype with an object field and the zero-size 'S0' are accepted (the "
        "file's bytes are read as PyObject pointers, so reading an element of arbitrary data crashes the process); "
        "an object field in modes 'r' and 'c' is refused by mmap with ValueError ('mmap length is greater than file "
        "size'), not TypeError",
        "ARGS.5": "a negative offset raises OverflowError ('memory mapped offset must be positive'), which "
        "`except ValueError` does not catch",
        "ARGS.6": Deviation(
            f"np.memmap's {_ORDERS_OF_NDARRAY}", cases=_cases(REFUSED, *_ORDER_CASES), match=_ORDER_FAILURE
        ),
        "ARGS.7": Deviation(
            "np.memmap has one entry point: mode 'w+', or its long name 'write', where an existing file was meant "
            "to be opened recreates it, zero-filled; an array-valued mode raises TypeError ('unhashable type'), "
            "not ValueError",
            cases=_cases("test_bad_open_argument_is_refused", "mode-w+-*", "mode-write-*", "mode-array-*"),
            match=r"got (a handle|TypeError: unhashable type)",
        ),
        "ARGS.8": Deviation(
            "an open file object is accepted as the path (numpy.memmap maps the file behind it)"
            + (f"; {_RESOLVE}" if _NUMPY_2 else ""),
            cases=_cases(REFUSED, "path-file-object*") + (_cases(ACCEPTED, "path-pathlike*") if _NUMPY_2 else ()),
            match=r"got a handle; expected TypeError|AttributeError: 'FsPath' object has no attribute 'resolve'",
        ),
        "FAULT.2": _NUMPY_GROWS,
        "ARGS.1": _FLOAT_SHAPES,
        "ARGS.2": "in modes 'r' and 'c' a negative shape entry reaches mmap, which raises OverflowError, not "
        "ValueError",
        "FAULT.6": "shape=None with the offset past the end by whole items raises OverflowError ('memory mapped "
        "length must be positive'), not ValueError",
        "FAULT.9": _NO_REDUCTIONS,
        "ARGS.9": Deviation(
            "a failed call changes the file: create (mode 'w+') truncates the old file before any argument is "
            "checked; open in 'r+' grows the file before a float shape or offset is refused; mode 'w+' or 'write' "
            "given to open recreates the file zero-filled",
            match="the file changed",
        ),
        "ERR.1": Deviation(
            "a negative offset or shape entry raises OverflowError ('memory mapped offset/length must be "
            "positive'), which `except ValueError` does not catch; in modes 'r' and 'c' a float shape raises "
            "ValueError from mmap ('mmap length is greater than file size'), not TypeError; an int or array "
            "order and an array mode raise TypeError, not ValueError"
            + ("" if _NUMPY_2 else "; numpy 1.x refuses 'S0' with ValueError ('cannot mmap an empty file')"),
            match=r"got (OverflowError: memory mapped (offset|length) must be positive"
            r"|ValueError: (mmap length is greater than file size|cannot mmap an empty file)"
            r"|TypeError: (order must be str|unhashable type))",
        ),
        "ERR.3": Deviation(
            "a failed call changes the file: create (mode 'w+') truncates the old file before any argument is "
            "checked; open in 'r+' grows the file before a float shape or offset is refused; mode 'w+' or 'write' "
            "given to open recreates the file zero-filled",
            match="the file changed",
        ),
        "HANDLE.3": _FLUSH_MSYNC_ONLY.format(how='write(fd, "\\0", 1) at its last byte'),
        "HANDLE.4": _CLOSE_NO_SYNC,
        "CREATE.9": _NO_DIRECTORY_SYNC,
        "HANDLE.8": _FSYNCGATE,
        "FAULT.12": f"{_NO_DIRECTORY_SYNC}; and {_CLOSE_NO_SYNC}",
    }
    # Version-specific findings are merged in one expression, so that each numpy measures full coverage.
    deviations.update(
        {}
        if _NUMPY_2
        else {
            "ARGS.2": "a negative shape entry raises OverflowError on numpy 1.x, not ValueError",
            # A list shape fails in create (ARGS.1) before any round trip of HANDLE.2 can start.
            "ARGS.1": f"{_FLOAT_SHAPES}; and {_LIST_SHAPES}",
        }
    )

    def create(self, path: Any, dtype: Any, shape: Any, *, offset: int = 0, order: str = "C") -> _ArrayHandle:
        return _ArrayHandle(np.memmap(path, dtype=dtype, mode="w+", offset=offset, shape=shape, order=order))  # type: ignore[call-overload]

    def open(
        self, path: Any, dtype: Any, shape: Any = None, *, mode: str = "r", offset: int = 0, order: str = "C"
    ) -> _ArrayHandle:
        return _ArrayHandle(np.memmap(path, dtype=dtype, mode=mode, offset=offset, shape=shape, order=order))  # type: ignore[call-overload]


numpy_memmap = _NumpyMemmap()


class _NpyMemmap:
    """The ``.npy`` format: its header, not the caller, is the authority on dtype, shape and order."""

    name = "numpy .npy memmap"
    capabilities = Capabilities(file_format="npy", offsets=False)
    deviations: ClassVar[dict[str, str | Deviation]] = {
        "ARGS.4": Deviation(
            "the dtype is checked against the header, so a dtype numpy cannot map (object, an object field, 'S0') "
            "is reported on open as a header mismatch (ValueError), not a TypeError; open_memmap refuses an object "
            "dtype with ValueError (\"Array can't be memory-mapped\"), accepts 'S0', and writes a subarray dtype "
            "('<i2', (2, 3)) into the header as '|V12', so the file reopens as void items",
            match=r"got (ValueError: .*(header says dtype|Python objects in dtype)|a handle; expected TypeError)"
            r"|ValueError: .*header says dtype \|V12",
        ),
        "ARGS.1": Deviation(
            _ISSUE_13719,
            match=r"TypeError: (object of type '(int|numpy\.\w+)' has no len\(\)|len\(\) of unsized object)",
        ),
        "ARGS.7": Deviation(
            "np.load(mmap_mode=...) takes numpy.memmap's modes with its own twists: 'w+' goes on to open_memmap, "
            "which truncates the file and then fails with TypeError (no shape to create); None or '' loads the "
            "array into memory instead of refusing; b'r' raises TypeError ('a bytes-like object is required') and "
            "an array-valued mode TypeError ('unhashable type'); the long names 'readwrite' and 'copyonwrite' are "
            "refused (ValueError: invalid mode: 'readwriteb', from opening the file with mode + 'b')",
            cases=_cases(
                "test_bad_open_argument_is_refused",
                "mode-w+-*",
                "mode-None-*",
                "mode-empty-*",
                "mode-bytes-*",
                "mode-array-*",
            )
            + _cases("test_accepted_open_spelling", "mode-readwrite", "mode-copyonwrite"),
            match=r"got (TypeError: (object of type 'NoneType' has no len|a bytes-like object is required|unhashable"
            r" type)|a handle)|ValueError: invalid mode: '(readwrite|copyonwrite)b'",
        ),
        "ARGS.9": Deviation(
            "a failed call changes the file: np.load(path, mmap_mode='w+') truncates it to 0 bytes before it fails, "
            "and open_memmap(mode='w+') truncates the old file before numpy refuses a bad shape",
            match="the file changed",
        ),
        "ERR.3": Deviation(
            "a failed call changes the file: np.load(path, mmap_mode='w+') truncates it to 0 bytes before it fails, "
            "and open_memmap(mode='w+') truncates the old file before numpy refuses a bad shape (a bare int among "
            "them: numpy issue 13719)",
            match="the file changed",
        ),
        "OPEN.1": "np.load(mmap_mode='r+') maps through numpy.memmap, which extends a truncated .npy with zeros",
        "OPEN.2": "np.load(mmap_mode='r+') maps through numpy.memmap, which extends a truncated .npy with zeros",
        "FAULT.2": "np.load(mmap_mode='r+') grows a short .npy with zeros, and raises EOFError on an empty one",
        "FAULT.3": "np.load on an empty file raises EOFError ('No data left in file'), not ValueError",
        "FAULT.8": "a negative shape in the header raises OverflowError, not ValueError, in modes 'r' and 'c' "
        + ("(mode 'r+' refuses it with ValueError)" if _NUMPY_2 else "and in mode 'r+' as well"),
        "FAULT.9": _NO_REDUCTIONS,
        "CREATE.4": "open_memmap(mode='w+') extends the file sparsely: SIGBUS on a full disk",
        "CREATE.5": "open_memmap(mode='w+') opens with 'w+b', which truncates the old file before anything can fail "
        "(a bare-int shape, refused after the truncation: numpy issue 13719)",
        "CREATE.7": "the old file is truncated in place: another process mapping it gets SIGBUS",
        "ERR.1": Deviation(
            "np.load(mmap_mode='w+') fails with TypeError ('object of type 'NoneType' has no len()': no shape "
            "to create), not ValueError; so do a bytes mode (b'r') and an array-valued one; dtype=object is "
            'refused with ValueError (a header mismatch on open, "Array can\'t be memory-mapped" on create), '
            "not TypeError",
            match=r"got (TypeError: (object of type 'NoneType' has no len|a bytes-like object is required"
            r"|unhashable type)|ValueError: .*(header says dtype|Python objects in dtype))",
        ),
        "HANDLE.3": _FLUSH_MSYNC_ONLY.format(how='write(fd, "\\0", 1) at its last byte'),
        "HANDLE.4": _CLOSE_NO_SYNC,
        "CREATE.9": _NO_DIRECTORY_SYNC,
        "HANDLE.8": _FSYNCGATE,
        "FAULT.12": f"{_NO_DIRECTORY_SYNC}; and {_CLOSE_NO_SYNC}",
    }
    # numpy 2 writes shape entries with their repr, np.int64(3), which its own header parser refuses;
    # numpy 1.x's memmap refuses a list shape in its size arithmetic.
    deviations["HANDLE.2"] = Deviation(
        _ISSUE_28334 if _NUMPY_2 else f"{_ISSUE_9659}; and {_LIST_SHAPES}",
        match=r"ValueError: (malformed node or string|shape is not valid)"
        r"|TypeError: unsupported operand type\(s\) for \+: 'int' and 'list'",
    )
    deviations.update(
        {
            "ARGS.8": Deviation(
                f"np.load(mmap_mode=...) and open_memmap map through numpy.memmap: {_RESOLVE}",
                cases=_cases(ACCEPTED, "path-pathlike*"),
                match=r"AttributeError: 'FsPath' object has no attribute 'resolve'",
            )
        }
        if _NUMPY_2
        else {
            "ARGS.1": Deviation(
                f"{_ISSUE_13719}; and {_LIST_SHAPES}",
                match=r"TypeError: (.* has no len|len\(\) of unsized object|unsupported operand)",
            )
        }
    )

    def create(self, path: Any, dtype: Any, shape: Any, *, offset: int = 0, order: str = "C") -> _ArrayHandle:
        _check_order(order)
        with warnings.catch_warnings():
            # A header numpy must write as version 3.0 (non-ASCII field names) comes with a note that
            # numpy < 1.17 cannot read it: information for the user, not a failure of the call.
            warnings.filterwarnings("ignore", "Stored array in format 3.0", UserWarning)
            # The shape goes through as the caller spelled it (a bare int included): numpy's own handling
            # of it is what is under test (numpy issues 13719, 9659, 28334).
            array = open_memmap(path, mode="w+", dtype=dtype, shape=shape, fortran_order=order == "F")
        return _ArrayHandle(array)

    def open(
        self, path: Any, dtype: Any, shape: Any = None, *, mode: str = "r", offset: int = 0, order: str = "C"
    ) -> _ArrayHandle:
        _check_order(order)
        wanted = np.dtype(dtype)
        dims = None if shape is None else _as_shape(shape)
        array = np.load(path, mmap_mode=mode)  # type: ignore[arg-type]
        problems = []
        if array.dtype != wanted:
            problems.append(f"dtype {array.dtype} (asked for {wanted})")
        if dims is not None and array.shape != dims:
            problems.append(f"shape {array.shape} (asked for {dims})")
        # Arrays contiguous both ways (a single item, or empty) satisfy either order.
        if array.flags.f_contiguous != array.flags.c_contiguous and array.flags.f_contiguous != (order == "F"):
            problems.append(f"order {'F' if array.flags.f_contiguous else 'C'} (asked for {order})")
        if problems:
            array = None
            raise ValueError(
                f"got {path!s} whose header says {', '.join(problems)}; expected the header to match; "
                "fix: open with the header's dtype, shape and order"
            )
        return _ArrayHandle(array)


npy_memmap = _NpyMemmap()


__all__ = ["BUNDLED", "npy_memmap", "numpy_memmap", "raw_mmap", "reference"]


def _importable(name: str) -> bool:
    """Installed and loadable here: pyarrow 26 refuses to import beside numpy 1.x."""
    try:
        importlib.import_module(name)
    except ImportError:  # pragma: no cover -- only where it is missing or refuses the installed numpy
        return False
    return True


# What ``--impl all`` checks (the plugin's default too).
BUNDLED = [
    "memmapref.testing.implementations:reference",
    "memmapref.testing.implementations:numpy_memmap",
    "memmapref.testing.implementations:npy_memmap",
    "memmapref.testing.implementations:raw_mmap",
    *(["memmapref.testing.impl_pyarrow:pyarrow_memory_map"] if _importable("pyarrow") else []),
]
