"""The clauses of SPEC.md: id, level and a short title, for reports and marker checks.

SPEC.md holds the full text and is the one source of the table below, which
``tools/clause_table.py`` writes from it (SPEC.md does not ship in the wheel);
``tests/meta/test_clauses.py`` fails when ids, levels or titles differ.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple, Protocol


class Clause(NamedTuple):
    id: str
    level: str  # "MUST" or "SHOULD"
    title: str


# BEGIN clause table: generated from SPEC.md by tools/clause_table.py; do not edit by hand.
_TABLE = [
    Clause("ARGS.1", "MUST", "shape is an int, or a tuple or list of ints; numpy integer scalars count as ints"),
    Clause("ARGS.2", "MUST", "A negative shape entry raises ValueError"),
    Clause(
        "ARGS.3",
        "MUST",
        "A shape whose byte count exceeds the platform's largest mapping (sys.maxsize) raises ValueError ...",
    ),
    Clause(
        "ARGS.4",
        "MUST",
        "dtype is anything numpy.dtype() accepts with a fixed, non-zero itemsize and no Python objects ...",
    ),
    Clause("ARGS.5", "MUST", "offset is an int ≥ 0; a non-integer raises TypeError, a negative one ValueError"),
    Clause("ARGS.6", "MUST", 'order is "C" or "F"; anything else raises ValueError'),
    Clause(
        "ARGS.7",
        "MUST",
        'mode of open is "r", "r+" or "c" (numpy\'s long names readonly, readwrite, copyonwrite are ...',
    ),
    Clause("ARGS.8", "MUST", "path is str, bytes or os.PathLike; anything else raises TypeError"),
    Clause(
        "ARGS.9",
        "MUST",
        "Every argument is checked before the file is opened: a call that raises for a bad argument ...",
    ),
    Clause(
        "CREATE.1", "MUST", "After create the file's size is exactly offset + nbytes, zero-size arrays included ..."
    ),
    Clause("CREATE.2", "MUST", "Every byte of the new file, including the offset bytes before the array, is zero"),
    Clause("CREATE.3", "MUST", "An existing file at path is replaced; its old contents are gone"),
    Clause(
        "CREATE.4",
        "SHOULD",
        "Disk blocks are reserved before create returns (posix_fallocate), so a full disk raises OSError ...",
    ),
    Clause(
        "CREATE.5",
        "SHOULD",
        "A failed create leaves an existing file at path unchanged and leaves no temporary file behind",
    ),
    Clause(
        "CREATE.6",
        "MUST",
        "The handle is writable; its .array has the requested dtype (byte order included), shape and ...",
    ),
    Clause(
        "CREATE.7",
        "SHOULD",
        "A process that has the old file mapped keeps valid memory (the new file is a new inode, renamed ...",
    ),
    Clause(
        "CREATE.8",
        "MUST",
        "create refuses, with PermissionError, to replace a file the caller may not write, and leaves it ...",
    ),
    Clause(
        "CREATE.9",
        "MUST",
        "A created file survives a power failure once create returns, or at the latest once the first ...",
    ),
    Clause("OPEN.1", "MUST", "open never grows, truncates or writes the file, in any mode"),
    Clause(
        "OPEN.2",
        "MUST",
        "If the file holds fewer than offset + nbytes bytes, open raises ValueError naming the path, the ...",
    ),
    Clause(
        "OPEN.3",
        "MUST",
        "With shape=None the array is 1-d and holds every item after offset; if the bytes after offset ...",
    ),
    Clause(
        "OPEN.4",
        "MUST",
        "Element i of the array is the dtype value stored at byte offset + itemsize * flat_index(i) of ...",
    ),
    Clause("OPEN.5", "MUST", "Offsets need not be multiples of the page size or of mmap.ALLOCATIONGRANULARITY"),
    Clause(
        "OPEN.6",
        "MUST",
        "A missing file raises FileNotFoundError; a directory raises IsADirectoryError; a file without ...",
    ),
    Clause(
        "OPEN.7", "MUST", 'Mode "r": the array is read-only; an assignment raises ValueError and the file is unchanged'
    ),
    Clause("OPEN.8", "MUST", 'Mode "r+": assignments are visible in the file once flush() returns'),
    Clause(
        "OPEN.9",
        "MUST",
        'Mode "c": assignments are visible through the handle and never reach the file, flushed or not',
    ),
    Clause(
        "HANDLE.1",
        "MUST",
        "np.asarray(handle.array) (and, for the reference, np.asarray(handle)) gives an ndarray sharing ...",
    ),
    Clause(
        "HANDLE.2",
        "MUST",
        "After create, writes, flush() and close(), reopening read-only gives the bytes written (round ...",
    ),
    Clause(
        "HANDLE.3",
        "MUST",
        "flush() returns only when the data has reached the file: every page stored before the call, and ...",
    ),
    Clause(
        "HANDLE.4",
        "MUST",
        "close() flushes in r+/w+, as HANDLE.3 says (stores made after the last flush() are durable once ...",
    ),
    Clause(
        "HANDLE.5",
        "MUST",
        "Views taken from .array before close() remain valid memory after it: reading them never crashes",
    ),
    Clause("HANDLE.6", "MUST", "Using a closed reference handle (.array, indexing, flush()) raises ValueError"),
    Clause(
        "HANDLE.7",
        "SHOULD",
        "A handle exposes .path, .mode, .dtype, .shape, .offset, .order as given (shape normalised to a ...",
    ),
    Clause(
        "HANDLE.8",
        "MUST",
        "A flush that failed is never followed by a flush that reports success on the same handle: the ...",
    ),
    Clause(
        "MEAN.1", "MUST", "The result has numpy's result dtype (float64 for bool and integers, the input's float or ..."
    ),
    Clause(
        "MEAN.2", "MUST", "For bool and integer input the reference returns the exact mean correctly rounded to float64"
    ),
    Clause(
        "MEAN.3", "MUST", "For float input, with n items, S = Σ|x_i| and m the exact mean: numpy's mean (and so any ..."
    ),
    Clause(
        "MEAN.4",
        "MUST",
        "The reference's float mean is within (1 + u_out)·γ(L + 1)·S/n + (u64 + 2·u_out)·|m|, γ in u64 = ...",
    ),
    Clause("MEAN.5", "MUST", "An empty selection gives nan (NaT for timedelta) with numpy's RuntimeWarning"),
    Clause(
        "MEAN.6",
        "MUST",
        "NaN anywhere in the selection gives NaN; ±inf gives the same inf (or NaN for +inf and −inf ...",
    ),
    Clause(
        "FSUM.1",
        "MUST",
        "The result has the dtype of numpy's expression (int64 for bool and signed integers, uint64 for ...",
    ),
    Clause("FSUM.2", "MUST", "Integer results are exact, including numpy's 64-bit wrap-around"),
    Clause(
        "FSUM.3",
        "MUST",
        "Selection is strict x > t in the installed numpy's comparison semantics: an item equal to t is ...",
    ),
    Clause(
        "FSUM.4",
        "MUST",
        "NaN is never selected; a NaN threshold selects nothing; +inf above t gives +inf; −inf is never ...",
    ),
    Clause(
        "FSUM.5",
        "MUST",
        "An empty selection (or empty array) gives a zero of the result dtype, +0.0 for floats; so does ...",
    ),
    Clause(
        "FSUM.6",
        "MUST",
        "Float results are within the bound of MEAN.3 applied to the selected items (times n: a sum, not ...",
    ),
    Clause(
        "FSUM.7", "MUST", "A dtype numpy's expression refuses (datetime64 against a float, structured) raises the ..."
    ),
    Clause(
        "REDUCE.1",
        "MUST",
        "The reference's reductions allocate less than 4 · chunk_bytes bytes beyond their input in all ...",
    ),
    Clause(
        "REDUCE.2",
        "SHOULD",
        "Results do not depend on threads (1 to 4), nor on thread timing: chunk boundaries do not move ...",
    ),
    Clause(
        "REDUCE.3",
        "SHOULD",
        "Before each chunk of a handle's array, the reference checks the file's size and raises ...",
    ),
    Clause(
        "ERR.1",
        "MUST",
        "Every error raised on purpose subclasses the built-in exception callers already catch for that ...",
    ),
    Clause("ERR.2", "SHOULD", "The message says what was received, what was expected and how to fix it"),
    Clause(
        "ERR.3",
        "MUST",
        "A failed call leaves the file byte-for-byte unchanged, with the same size and modification ...",
    ),
    Clause(
        "FAULT.1",
        "MUST",
        "open refuses, with ValueError, a file too short for the array it is asked to map: one cut short ...",
    ),
    Clause(
        "FAULT.2",
        "MUST",
        'Mode "r+" is no exception to FAULT.1 and FAULT.3: open never extends a short or empty file to ...',
    ),
    Clause("FAULT.3", "MUST", "An empty file is refused by open with ValueError (not EOFError), and stays empty"),
    Clause(
        "FAULT.4",
        "MUST",
        "Bytes after the array (a file extended by appends) are ignored: open with the writer's dtype ...",
    ),
    Clause(
        "FAULT.5",
        "MUST",
        "In a raw format, a dtype, shape, offset or order other than the writer's that fits in the file ...",
    ),
    Clause(
        "FAULT.6",
        "MUST",
        "With shape=None, an offset equal to the file's size gives an empty array, and an offset past ...",
    ),
    Clause(
        "FAULT.7",
        "MUST",
        "A .npy file whose header cannot be read (wrong magic string, unknown format version, a header ...",
    ),
    Clause("FAULT.8", "MUST", "A .npy header with a negative shape entry is refused by open with ValueError (not ..."),
    Clause(
        "FAULT.9",
        "MUST",
        "The implementation's slice_mean and filtered_sum over a handle whose file another process ...",
    ),
    Clause(
        "FAULT.10",
        "MUST",
        "A path whose directory part names a regular file (data.bin/x) raises NotADirectoryError from ...",
    ),
    Clause(
        "FAULT.11",
        "MUST",
        "A failure of any one system call made by create, open, flush, close or a reduction is raised as ...",
    ),
    Clause(
        "FAULT.12",
        "MUST",
        "Data acknowledged by a successful flush(), close() or create() survives a power failure at any ...",
    ),
]
# END clause table

CLAUSES: dict[str, Clause] = {c.id: c for c in _TABLE}

# Clauses about the reference itself (its handle's extras, its reductions' bounds
# and memory, its OS seam). The project's own tests check them; the suite does
# not ask them of other implementations.
REFERENCE_ONLY = frozenset({"CREATE.8", "HANDLE.6", "HANDLE.7", "MEAN.4", "REDUCE.1", "REDUCE.2", "REDUCE.3", "ERR.2"})


class _Marked(Protocol):
    def iter_markers(self, name: str) -> Iterable[Any]: ...


def clause_ids(item: _Marked) -> list[str]:
    """The clauses a test cites (its ``clause`` markers, nearest first), as they are written."""
    return [c for mark in item.iter_markers("clause") for c in mark.args]
