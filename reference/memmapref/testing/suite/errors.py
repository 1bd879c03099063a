"""Arguments: accepted spellings work; refused ones raise the built-in class, the file unchanged (SPEC.md 1, 6)."""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest

from .. import strategies as mst
from ..oracle import FileState
from ..protocol import Adapter, drop_locals, literal
from ._support import fresh_file, refusal_check, same_bytes, unchanged

SHAPE = (4, 5)


class FromPath(NamedTuple):
    """An argument made from the example's file (a path spelling, an open file object, a descriptor).

    ``source`` is how the snippet spells it; ``release`` undoes what ``make`` opened.
    """

    make: Callable[[Path], Any]
    source: Callable[[Adapter, Path, Any], str]
    release: Callable[[Any], None] = lambda value: None


def _as_path_source(impl: Adapter, path: Path, value: Any) -> str:
    return impl.path_source(value)


def _close(value: Any) -> None:
    value.close()


def _close_descriptor(fd: int) -> None:
    # The implementation may have taken the descriptor over and closed it (Python's open(fd) does).
    with contextlib.suppress(OSError):
        os.close(fd)


FILE_OBJECT = FromPath(
    # Writable, so that no mode can refuse it for a reason of its own (PermissionError in "r+").
    lambda path: open(path, "r+b"),  # noqa: SIM115 -- closed by release, after the call
    lambda impl, path, value: f"open({impl.relative(path)!r}, 'r+b')",
    _close,
)
DESCRIPTOR = FromPath(
    lambda path: os.open(path, os.O_RDWR),
    lambda impl, path, value: f"os.open({impl.relative(path)!r}, os.O_RDWR)",
    _close_descriptor,
)


class Case(NamedTuple):
    clause: str
    expected: tuple[type[BaseException], ...]
    overrides: dict[str, Any]


# Every refused spelling ARGS.6, ARGS.7 and ARGS.8 name or imply: near misses of an accepted
# spelling (lowercase, numpy's extra orders, the write modes, bytes) and values of other types.
OPEN_CASES = {
    "float-shape": Case("ARGS.1", (TypeError,), {"shape": (20.0, 20.0)}),
    "bool-shape-entry": Case("ARGS.1", (TypeError,), {"shape": (True, 5)}),
    "negative-shape": Case("ARGS.2", (ValueError,), {"shape": (-1, 5)}),
    "overflowing-shape": Case("ARGS.3", (ValueError,), {"shape": (2**40, 2**40)}),
    "object-dtype": Case("ARGS.4", (TypeError,), {"dtype": object}),
    "unknown-dtype": Case("ARGS.4", (TypeError,), {"dtype": "float65"}),
    "object-field-dtype": Case("ARGS.4", (TypeError,), {"dtype": np.dtype([("n", "<i8"), ("o", "O")])}),
    "zero-size-dtype": Case("ARGS.4", (TypeError,), {"dtype": np.dtype("S0")}),
    "negative-offset": Case("ARGS.5", (ValueError,), {"offset": -8}),
    "float-offset": Case("ARGS.5", (TypeError,), {"offset": 8.0}),
    "order-Z": Case("ARGS.6", (ValueError,), {"order": "Z"}),
    "order-c": Case("ARGS.6", (ValueError,), {"order": "c"}),
    "order-f": Case("ARGS.6", (ValueError,), {"order": "f"}),
    "order-A": Case("ARGS.6", (ValueError,), {"order": "A"}),
    "order-K": Case("ARGS.6", (ValueError,), {"order": "K"}),
    "order-None": Case("ARGS.6", (ValueError,), {"order": None}),
    "order-empty": Case("ARGS.6", (ValueError,), {"order": ""}),
    "order-CF": Case("ARGS.6", (ValueError,), {"order": "CF"}),
    "order-bytes": Case("ARGS.6", (ValueError,), {"order": b"C"}),
    "order-int": Case("ARGS.6", (ValueError,), {"order": 1}),
    "order-array": Case("ARGS.6", (ValueError,), {"order": np.array("C")}),
    "mode-w+": Case("ARGS.7", (ValueError,), {"mode": "w+"}),
    "mode-write": Case("ARGS.7", (ValueError,), {"mode": "write"}),
    "unknown-mode": Case("ARGS.7", (ValueError,), {"mode": "rw"}),
    "mode-rb": Case("ARGS.7", (ValueError,), {"mode": "rb"}),
    "mode-R": Case("ARGS.7", (ValueError,), {"mode": "R"}),
    "mode-R+": Case("ARGS.7", (ValueError,), {"mode": "R+"}),
    "mode-C": Case("ARGS.7", (ValueError,), {"mode": "C"}),
    "mode-READONLY": Case("ARGS.7", (ValueError,), {"mode": "READONLY"}),
    "mode-bytes": Case("ARGS.7", (ValueError,), {"mode": b"r"}),
    "mode-None": Case("ARGS.7", (ValueError,), {"mode": None}),
    "mode-empty": Case("ARGS.7", (ValueError,), {"mode": ""}),
    "mode-array": Case("ARGS.7", (ValueError,), {"mode": np.array("r")}),
    "path-not-a-path": Case("ARGS.8", (TypeError,), {"path": 3.5}),
    "path-None": Case("ARGS.8", (TypeError,), {"path": None}),
    "path-file-object": Case("ARGS.8", (TypeError,), {"path": FILE_OBJECT}),
    "path-int-fd": Case("ARGS.8", (TypeError,), {"path": DESCRIPTOR}),
}

# Every accepted spelling: each must give the same array as the plain one ("C", "r", a str path).
ACCEPTED: dict[str, tuple[str, dict[str, Any]]] = {
    "order-C": ("ARGS.6", {"order": "C"}),
    "order-F": ("ARGS.6", {"order": "F"}),
    "order-np.str_-C": ("ARGS.6", {"order": np.str_("C")}),
    "order-np.str_-F": ("ARGS.6", {"order": np.str_("F")}),
    "mode-r": ("ARGS.7", {"mode": "r"}),
    "mode-r+": ("ARGS.7", {"mode": "r+"}),
    "mode-c": ("ARGS.7", {"mode": "c"}),
    "mode-readonly": ("ARGS.7", {"mode": "readonly"}),
    "mode-readwrite": ("ARGS.7", {"mode": "readwrite"}),
    "mode-copyonwrite": ("ARGS.7", {"mode": "copyonwrite"}),
    "mode-np.str_-r+": ("ARGS.7", {"mode": np.str_("r+")}),
    "path-str": ("ARGS.8", {"path": FromPath(str, _as_path_source)}),
    "path-bytes": ("ARGS.8", {"path": FromPath(os.fsencode, _as_path_source)}),
    "path-pathlib": ("ARGS.8", {"path": FromPath(Path, _as_path_source)}),
    "path-pathlike": ("ARGS.8", {"path": FromPath(lambda p: mst.FsPath(str(p)), _as_path_source)}),
    "path-pathlike-bytes": ("ARGS.8", {"path": FromPath(lambda p: mst.FsPath(os.fsencode(p)), _as_path_source)}),
}
# ARGS.4: a dtype of each kind numpy can map, both byte orders, and the composite ones.
DTYPES: dict[str, np.dtype[Any]] = {
    "bool": np.dtype("?"),
    "int8": np.dtype("i1"),
    "big-endian-int32": np.dtype(">i4"),
    "uint64": np.dtype("<u8"),
    "float16": np.dtype("<f2"),
    "big-endian-float64": np.dtype(">f8"),
    "complex64": np.dtype("<c8"),
    "big-endian-complex128": np.dtype(">c16"),
    "datetime64-ns": np.dtype("<M8[ns]"),
    "big-endian-datetime64-D": np.dtype(">M8[D]"),
    "timedelta64-s": np.dtype("<m8[s]"),
    "bytes": np.dtype("S5"),
    "unicode": np.dtype("<U3"),
    "big-endian-unicode": np.dtype(">U2"),
    "void": np.dtype("V6"),
    "structured": np.dtype([("a", "<i4"), ("b", ">f8"), ("c", "S3")]),
    "aligned-structured": np.dtype([("a", "u1"), ("b", "<f8")], align=True),
    "nested-structured": np.dtype([("p", [("x", "<f4"), ("y", "<f4")]), ("t", "<M8[us]")]),
    "subarray": np.dtype(("<i2", (2, 3))),
    "structured-subarray-field": np.dtype([("v", "<f8", (3,)), ("k", "?")]),
}


def _stored(dtype: np.dtype[Any], count: int) -> np.ndarray[Any, Any]:
    """``count`` items of ``dtype`` from a fixed byte pattern; bools as True/False (other bytes are not bools)."""
    if dtype.kind == "b":
        return np.array([i % 2 == 0 for i in range(count)])
    pattern = bytes((37 * i + 11) % 128 for i in range(count * dtype.itemsize))
    return _without_padding(np.frombuffer(pattern, dtype=dtype))


def _without_padding(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The items with zero bytes between fields: an assignment copies fields, so padding is not data."""
    if values.dtype.names is None:
        return values.copy()
    out = np.zeros(values.shape, values.dtype)
    for name in values.dtype.names:
        out[name] = _without_padding(values[name])
    return out


_MODES = {"r": "r", "r+": "r+", "c": "c", "readonly": "r", "readwrite": "r+", "copyonwrite": "c"}


def _open_params(clauses: tuple[str, ...] | None = None) -> list[Any]:
    """(case, mode) for every case in every mode (numpy's checks differ by mode); a mode case once."""
    return [
        pytest.param(name, mode, marks=pytest.mark.clause(*(clauses or (case.clause, "ERR.1"))), id=f"{name}-{mode}")
        for name, case in OPEN_CASES.items()
        for mode in (("r",) if case.clause == "ARGS.7" else ("r", "r+", "c"))
    ]


def _params(include: Any = lambda case: True, clauses: tuple[str, ...] | None = None) -> list[Any]:
    """One parameter per case, marked with the clauses it checks (by default the case's own and ERR.1)."""
    return [
        pytest.param(name, marks=pytest.mark.clause(*(clauses or (case.clause, "ERR.1"))), id=name)
        for name, case in OPEN_CASES.items()
        if include(case)
    ]


def _accepted(include: Any) -> list[Any]:
    return [
        pytest.param(name, marks=pytest.mark.clause(clause), id=name)
        for name, (clause, overrides) in ACCEPTED.items()
        if include(overrides)
    ]


class Call(NamedTuple):
    """One call's arguments, how the snippet spells each, and what to release after it."""

    args: dict[str, Any]
    sources: dict[str, str]
    releases: list[tuple[Callable[[Any], None], Any]]

    def run(self, impl: Adapter, method: str) -> Any:
        args = dict(self.args)
        try:
            return _call_quietly(
                getattr(impl.target, method), args.pop("path"), args.pop("dtype"), args.pop("shape"), **args
            )
        except BaseException as exc:
            drop_locals(exc)
            raise

    def source(self, method: str) -> str:
        shown = dict(self.sources)
        positional = [shown.pop(k) for k in ("path", "dtype", "shape")]
        return f"impl.{method}({', '.join(positional + [f'{k}={v}' for k, v in shown.items()])})"

    def release(self) -> None:
        for undo, value in self.releases:
            undo(value)


def _call_of(impl: Adapter, path: Path, args: dict[str, Any]) -> Call:
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    releases: list[tuple[Callable[[Any], None], Any]] = []
    for key, value in args.items():
        if isinstance(value, FromPath):
            made = value.make(path)
            releases.append((value.release, made))
            values[key], sources[key] = made, value.source(impl, path, made)
        else:
            values[key] = value
            sources[key] = impl.path_source(value) if key == "path" else literal(value)
    return Call(values, sources, releases)


def _call_quietly(call: Any, *args: Any, **kwargs: Any) -> Any:
    # A warning on the way to the error (numpy warns of overflow before refusing
    # a huge shape) is not the clause's business; the exception class is.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call(*args, **kwargs)


def _expect(impl: Adapter, expected: tuple[type[BaseException], ...], method: str, call: Call, *, clause: str) -> None:
    """The call must raise one of ``expected``: a wrong class breaks ``clause`` and ERR.1, no error ``clause`` alone."""
    names = " or ".join(c.__name__ for c in expected)
    # The snippet goes on past a call that raises as it must, and stops at one that does not.
    impl.note(refusal_check(f"h = {call.source(method)}", expected))
    try:
        handle = call.run(impl, method)
    except expected:
        return
    except Exception as exc:
        with impl.clause(clause, "ERR.1"):
            pytest.fail(f"got {type(exc).__name__}: {exc}; expected {names}")
    finally:
        call.release()
    impl.close(handle)
    with impl.clause(clause):
        pytest.fail(f"got a handle; expected {names}")


def _expect_error(
    impl: Adapter, expected: tuple[type[BaseException], ...], method: str, *args: Any, clause: str, **kwargs: Any
) -> None:
    """:func:`_expect` for a call spelled in plain arguments."""
    given = {"path": args[0], "dtype": args[1], "shape": args[2], **kwargs}
    _expect(impl, expected, method, _call_of(impl, args[0], given), clause=clause)


def _call_and_capture(impl: Adapter, method: str, call: Call) -> BaseException | None:
    try:
        handle = call.run(impl, method)
    except Exception as exc:
        return exc
    finally:
        call.release()
    handle.close()
    return None


class ErrorTests:
    @pytest.mark.parametrize(("case", "mode"), _open_params())
    def test_bad_open_argument_is_refused(self, impl: Adapter, tmp_path: Path, case: str, mode: str) -> None:
        """The built-in exception class of the clause (ERR.1), in every mode: numpy's checks differ by mode."""
        impl.require(modes=mode)
        _, call = self._existing(impl, tmp_path, case, mode=mode)
        _expect(impl, OPEN_CASES[case].expected, "open", call, clause=OPEN_CASES[case].clause)

    @pytest.mark.parametrize("case", _params(clauses=("ARGS.9", "ERR.3")))
    def test_bad_open_argument_leaves_the_file(self, impl: Adapter, tmp_path: Path, case: str) -> None:
        path, call = self._existing(impl, tmp_path, case, mode="r+")
        before = FileState.of(path)
        impl.note(f"# {call.source('open')}: must leave the file unchanged")
        _call_and_capture(impl, "open", call)
        with impl.clause("ARGS.9", "ERR.3"):
            unchanged(before, path)

    @pytest.mark.parametrize("case", _params(lambda case: case.clause != "ARGS.7"))
    def test_bad_create_argument_is_refused(self, impl: Adapter, tmp_path: Path, case: str) -> None:
        _, call = self._existing(impl, tmp_path, case)
        _expect(impl, OPEN_CASES[case].expected, "create", call, clause=OPEN_CASES[case].clause)

    @pytest.mark.parametrize("case", _params(lambda case: case.clause != "ARGS.7", clauses=("ARGS.9", "ERR.3")))
    def test_bad_create_argument_leaves_the_old_file(self, impl: Adapter, tmp_path: Path, case: str) -> None:
        path, call = self._existing(impl, tmp_path, case)
        before = FileState.of(path)
        impl.note(f"# {call.source('create')}: must leave the old file unchanged")
        _call_and_capture(impl, "create", call)
        with impl.clause("ARGS.9", "ERR.3"):
            unchanged(before, path)

    @staticmethod
    def _existing(impl: Adapter, tmp_path: Path, case: str, **extra: Any) -> tuple[Path, Call]:
        """A valid file, and the arguments of one bad call on it."""
        if "offset" in OPEN_CASES[case].overrides:
            impl.require(offsets=True)
        path = fresh_file(impl, tmp_path)
        impl.close(impl.create(path, np.float64, SHAPE))
        args: dict[str, Any] = {"path": path, "dtype": np.float64, "shape": SHAPE, "offset": 0, "order": "C", **extra}
        args.update(OPEN_CASES[case].overrides)
        return path, _call_of(impl, path, args)

    @pytest.mark.clause("ARGS.4")
    @pytest.mark.parametrize("name", list(DTYPES))
    def test_each_dtype_kind(self, impl: Adapter, tmp_path: Path, name: str) -> None:
        """A supported dtype round-trips byte for byte; one the implementation does not support is a TypeError."""
        dtype = DTYPES[name]
        path = fresh_file(impl, tmp_path)
        if not impl.capabilities.supports(dtype):
            _expect_error(impl, (TypeError,), "create", path, dtype, (3,), clause="ARGS.4")
            return
        stored = _stored(dtype, 3)
        handle = impl.create(path, dtype, (3,))
        impl.write(handle, ..., stored)
        impl.flush(handle)
        impl.close(handle)
        again = impl.open(path, dtype, (3,), mode="r")
        same_bytes(impl.read(again), stored)
        impl.close(again)
        start = impl.data_offset(path)
        assert path.read_bytes()[start:] == stored.tobytes(), "the file does not hold the items' bytes"

    @pytest.mark.parametrize("case", _accepted(lambda overrides: True))
    def test_accepted_open_spelling(self, impl: Adapter, tmp_path: Path, case: str) -> None:
        """An accepted spelling opens the file as its plain form does: same items, same order, same mode."""
        clause, overrides = ACCEPTED[case]
        mode = _MODES[str(overrides.get("mode", "r"))]
        order = str(overrides.get("order", "C"))
        impl.require(modes=mode, orders=order)
        path = fresh_file(impl, tmp_path)
        stored = np.arange(math.prod(SHAPE), dtype=np.float64).reshape(SHAPE, order=order)  # type: ignore[call-overload]
        handle = impl.create(path, np.float64, SHAPE, order=order)
        impl.write(handle, ..., stored)
        impl.flush(handle)
        impl.close(handle)
        before = FileState.of(path)
        args: dict[str, Any] = {"path": path, "dtype": np.float64, "shape": SHAPE, "mode": "r", "order": "C"}
        args.update(overrides)
        call = _call_of(impl, path, args)
        var = impl.next_handle_name()
        impl.note(f"{var} = {call.source('open')}")
        with impl.clause(clause):
            try:
                opened = impl._call(call.run, impl, "open")
            finally:
                call.release()
            impl.bind(opened, var)
            same_bytes(impl.read(opened), stored, order)
            self._behaves_as(impl, opened, path, before, mode)

    @staticmethod
    def _behaves_as(impl: Adapter, handle: Any, path: Path, before: FileState, mode: str) -> None:
        """The mode an alias names, seen from outside: read-only refuses a store, "c" keeps it private."""
        marker = np.float64(-1.5)
        if mode == "r":
            with pytest.raises(ValueError):  # noqa: PT011 -- OPEN.7 fixes the class, not the text
                impl.write(handle, (0, 0), marker)
            impl.close(handle)
            unchanged(before, path)
            return
        impl.write(handle, (0, 0), marker)
        impl.flush(handle)
        impl.close(handle)
        start = impl.data_offset(path)
        first = np.frombuffer(path.read_bytes()[start : start + 8], dtype=np.float64)[0]
        if mode == "c":
            assert first != marker, "a store in copy-on-write ('c') mode reached the file"
        else:
            assert first == marker, "a store in read-write ('r+') mode did not reach the file after flush()"

    @pytest.mark.parametrize("case", _accepted(lambda overrides: "mode" not in overrides))
    def test_accepted_create_spelling(self, impl: Adapter, tmp_path: Path, case: str) -> None:
        """An accepted spelling creates the file its plain form names, laid out in the order it names."""
        clause, overrides = ACCEPTED[case]
        order = str(overrides.get("order", "C"))
        impl.require(orders=order)
        path = fresh_file(impl, tmp_path)
        args: dict[str, Any] = {"path": path, "dtype": np.float64, "shape": SHAPE, "offset": 0, "order": "C"}
        args.update(overrides)
        call = _call_of(impl, path, args)
        var = impl.next_handle_name()
        impl.note(f"{var} = {call.source('create')}")
        stored = np.arange(math.prod(SHAPE), dtype=np.float64).reshape(SHAPE)
        with impl.clause(clause):
            try:
                handle = impl._call(call.run, impl, "create")
            finally:
                call.release()
            impl.bind(handle, var)
            impl.write(handle, ..., stored)
            impl.flush(handle)
            impl.close(handle)
            start = impl.data_offset(path)
            got = np.frombuffer(path.read_bytes()[start : start + stored.nbytes], dtype=np.float64)
            assert got.tobytes() == stored.tobytes(order=order), f"the file's items are not in {order!r} order"  # type: ignore[arg-type]

    @pytest.mark.clause("OPEN.6", "ERR.3")
    def test_missing_file(self, impl: Adapter, tmp_path: Path) -> None:
        path = fresh_file(impl, tmp_path)
        for mode in sorted(impl.capabilities.modes):
            _expect_error(impl, (FileNotFoundError,), "open", path, np.float64, SHAPE, mode=mode, clause="OPEN.6")
            with impl.clause("ERR.3"):
                assert not path.exists(), f"open(mode={mode!r}) created the missing file"

    @pytest.mark.clause("OPEN.6")
    def test_directory(self, impl: Adapter, tmp_path: Path) -> None:
        path = fresh_file(impl, tmp_path)
        path.mkdir()
        for mode in sorted(impl.capabilities.modes):
            _expect_error(impl, (IsADirectoryError,), "open", path, np.float64, SHAPE, mode=mode, clause="OPEN.6")
