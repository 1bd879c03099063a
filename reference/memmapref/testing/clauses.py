"""The clauses of SPEC.md: id, level and a short title, for reports and marker checks.

SPEC.md holds the full text. ``tests/meta/test_clauses.py`` fails when the ids
or levels here and there differ, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple, Protocol


class Clause(NamedTuple):
    id: str
    level: str  # "MUST" or "SHOULD"
    title: str


_TABLE = [
    Clause("ARGS.1", "MUST", "shape entries are ints; a float or bool entry raises TypeError"),
    Clause("ARGS.2", "MUST", "A negative shape entry raises ValueError"),
    Clause(
        "ARGS.3", "MUST", "A shape whose byte count exceeds the platform's largest mapping (sys.maxsize) raises ..."
    ),
    Clause(
        "ARGS.4",
        "MUST",
        "dtype is anything numpy.dtype() accepts with a fixed, non-zero itemsize and no Python objects",
    ),
    Clause("ARGS.5", "MUST", "offset is an int >= 0: TypeError otherwise, ValueError if negative"),
    Clause("ARGS.6", "MUST", 'order is "C" or "F", else ValueError'),
    Clause(
        "ARGS.7",
        "MUST",
        'mode of open is "r", "r+" or "c" (numpy\'s long names readonly, readwrite, copyonwrite are ...',
    ),
    Clause("ARGS.8", "MUST", "path is str, bytes or os.PathLike, else TypeError"),
    Clause("ARGS.9", "MUST", "bad arguments are refused before the file is opened; the file is unchanged"),
    Clause(
        "CREATE.1", "MUST", "After create the file's size is exactly offset + nbytes, zero-size arrays included ..."
    ),
    Clause("CREATE.2", "MUST", "Every byte of the new file, including the offset bytes before the array, is zero"),
    Clause("CREATE.3", "MUST", "an existing file is replaced"),
    Clause(
        "CREATE.4",
        "SHOULD",
        "Disk blocks are reserved before create returns (posix_fallocate), so a full disk raises ...",
    ),
    Clause(
        "CREATE.5",
        "SHOULD",
        "A failed create leaves an existing file at path unchanged and leaves no temporary file behind",
    ),
    Clause("CREATE.6", "MUST", "the new handle is writable with the requested dtype, shape and order"),
    Clause(
        "CREATE.7",
        "SHOULD",
        "A process that has the old file mapped keeps valid memory (the new file is a new inode, ...",
    ),
    Clause("CREATE.8", "MUST", "create refuses to replace a file the caller may not write (PermissionError)"),
    Clause(
        "CREATE.9",
        "MUST",
        "a created file and its directory entry survive a power failure once create or the first flush returns",
    ),
    Clause("OPEN.1", "MUST", "open never grows, truncates or writes the file, in any mode"),
    Clause(
        "OPEN.2",
        "MUST",
        "If the file holds fewer than offset + nbytes bytes, open raises ValueError naming the path, ...",
    ),
    Clause("OPEN.3", "MUST", "shape=None maps every whole item after offset, else ValueError"),
    Clause(
        "OPEN.4",
        "MUST",
        "Element i of the array is the dtype value stored at byte offset + itemsize * flat_index(i) ...",
    ),
    Clause("OPEN.5", "MUST", "Offsets need not be multiples of the page size or of mmap.ALLOCATIONGRANULARITY"),
    Clause("OPEN.6", "MUST", "missing file, directory, r+ without permission: the matching OSError subclass"),
    Clause("OPEN.7", "MUST", 'mode "r": read-only array, assignment raises ValueError, file unchanged'),
    Clause("OPEN.8", "MUST", 'mode "r+": assignments reach the file once flush() returns'),
    Clause("OPEN.9", "MUST", 'mode "c": assignments are private and never reach the file'),
    Clause(
        "HANDLE.1", "MUST", "np.asarray(handle.array) (and, for the reference, np.asarray(handle)) gives an ndarray ..."
    ),
    Clause(
        "HANDLE.2", "MUST", "After create, writes, flush() and close(), reopening read-only gives the bytes written ..."
    ),
    Clause("HANDLE.3", "MUST", "flush() returns only when the stored pages and the size are durable (POSIX model)"),
    Clause("HANDLE.4", "MUST", "close() flushes (stores after the last flush are durable) and may be called again"),
    Clause("HANDLE.5", "MUST", "views taken before close() remain valid memory after it"),
    Clause("HANDLE.6", "MUST", "Using a closed reference handle (.array, indexing, flush()) raises ValueError"),
    Clause(
        "HANDLE.7",
        "SHOULD",
        "A handle exposes .path, .mode, .dtype, .shape, .offset, .order as given (shape normalised ...",
    ),
    Clause(
        "HANDLE.8", "MUST", "A flush that failed is never followed by a flush that reports success on the same handle"
    ),
    Clause(
        "MEAN.1", "MUST", "The result has numpy's result dtype (float64 for bool and integers, the input's float or ..."
    ),
    Clause(
        "MEAN.2", "MUST", "For bool and integer input the reference returns the exact mean correctly rounded to float64"
    ),
    Clause("MEAN.3", "MUST", "float means within numpy's worst-case summation bound of the exact mean"),
    Clause(
        "MEAN.4",
        "MUST",
        "The reference's float mean is within (γ(L)·S + 3·u64·|Σx_i|)/n + 2·u_out·|m|, L = items per ...",
    ),
    Clause("MEAN.5", "MUST", "An empty selection gives nan (NaT for timedelta) with numpy's RuntimeWarning"),
    Clause("MEAN.6", "MUST", "NaN and infinities propagate as in np.mean"),
    Clause(
        "FSUM.1",
        "MUST",
        "The result has the dtype of numpy's expression (int64 for bool and signed integers, uint64 ...",
    ),
    Clause("FSUM.2", "MUST", "Integer results are exact, including numpy's 64-bit wrap-around"),
    Clause("FSUM.3", "MUST", "Selection is strict x > t in numpy's comparison semantics (NEP 50 for Python scalars)"),
    Clause("FSUM.4", "MUST", "NaN never selected; NaN threshold selects nothing; infinities as numpy"),
    Clause("FSUM.5", "MUST", "An empty selection (or empty array) gives a zero of the result dtype, +0.0 for floats"),
    Clause("FSUM.6", "MUST", "float sums within numpy's worst-case summation bound"),
    Clause(
        "FSUM.7", "MUST", "A dtype numpy's expression refuses (datetime64 against a float, structured) raises the ..."
    ),
    Clause(
        "REDUCE.1",
        "MUST",
        "The reference's reductions allocate less than 4 · chunk_bytes bytes beyond their input in ...",
    ),
    Clause("REDUCE.2", "SHOULD", "Results do not depend on threads, nor on thread timing"),
    Clause(
        "REDUCE.3",
        "SHOULD",
        "Before each chunk of a handle's array, the reference checks the file's size and raises ...",
    ),
    Clause(
        "ERR.1", "MUST", "Every error raised on purpose subclasses the built-in exception callers already catch for ..."
    ),
    Clause("ERR.2", "SHOULD", "The message says what was received, what was expected and how to fix it"),
    Clause(
        "ERR.3",
        "MUST",
        "A failed call leaves the file byte-for-byte unchanged, with the same size and modification ...",
    ),
    Clause("FAULT.1", "MUST", "a file too short for the array is refused with ValueError; the file is unchanged"),
    Clause("FAULT.2", "MUST", 'mode "r+" never extends a short or empty file to fit the array'),
    Clause("FAULT.3", "MUST", "an empty file is refused with ValueError (not EOFError) and stays empty"),
    Clause("FAULT.4", "MUST", "bytes after the array are ignored and left as they are"),
    Clause(
        "FAULT.5", "MUST", "another dtype, shape, offset or order that fits reads the file's bytes (raw); .npy refuses"
    ),
    Clause("FAULT.6", "MUST", "shape=None: offset at the end gives an empty array, past the end ValueError"),
    Clause("FAULT.7", "MUST", "a .npy header that cannot be read is refused with ValueError in every mode"),
    Clause(
        "FAULT.8", "MUST", "a .npy header with a negative shape entry is refused with ValueError, not OverflowError"
    ),
    Clause("FAULT.9", "MUST", "reductions over a file truncated before or during the call raise, never die of SIGBUS"),
    Clause("FAULT.10", "MUST", "a path through a regular file raises NotADirectoryError; nothing is created"),
    Clause(
        "FAULT.11",
        "MUST",
        "a failed system call is a typed OSError with its errno; nothing leaks, the file as described",
    ),
    Clause("FAULT.12", "MUST", "data acknowledged by flush, close or create survives a power failure"),
]

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
