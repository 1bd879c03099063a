"""Arguments: accepted spellings work; refused ones raise the built-in class, the file unchanged (SPEC.md 1, 6)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest

from ..oracle import FileState
from ..protocol import Adapter, drop_locals, literal
from ._arguments import _MODES, ACCEPTED, DTYPES, OPEN_CASES, SHAPE, FromPath, _accepted, _open_params, _params, _stored
from ._support import file_state, fresh_file, refusal_check, same_bytes, unchanged


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
        before = file_state(impl, path)
        # Refused or not, the call must leave the file unchanged: the snippet makes it and goes on to the check.
        impl.note(
            f"try:\n    {call.source('open')}.close()\nexcept Exception as exc:\n    print('refused:', repr(exc))"
        )
        _call_and_capture(impl, "open", call)
        with impl.clause("ARGS.9", "ERR.3"):
            unchanged(impl, before, path)

    @pytest.mark.parametrize("case", _params(lambda case: case.clause != "ARGS.7"))
    def test_bad_create_argument_is_refused(self, impl: Adapter, tmp_path: Path, case: str) -> None:
        _, call = self._existing(impl, tmp_path, case)
        _expect(impl, OPEN_CASES[case].expected, "create", call, clause=OPEN_CASES[case].clause)

    @pytest.mark.parametrize("case", _params(lambda case: case.clause != "ARGS.7", clauses=("ARGS.9", "ERR.3")))
    def test_bad_create_argument_leaves_the_old_file(self, impl: Adapter, tmp_path: Path, case: str) -> None:
        path, call = self._existing(impl, tmp_path, case)
        before = file_state(impl, path)
        # Refused or not, the call must leave the old file unchanged: the snippet makes it and goes on to the check.
        impl.note(
            f"try:\n    {call.source('create')}.close()\nexcept Exception as exc:\n    print('refused:', repr(exc))"
        )
        _call_and_capture(impl, "create", call)
        with impl.clause("ARGS.9", "ERR.3"):
            unchanged(impl, before, path)

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
        same_bytes(impl.read(again), stored, impl=impl)
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
        before = file_state(impl, path)
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
            same_bytes(impl.read(opened), stored, order, impl=impl)
            self._behaves_as(impl, opened, path, before, mode)

    @staticmethod
    def _behaves_as(impl: Adapter, handle: Any, path: Path, before: FileState, mode: str) -> None:
        """The mode an alias names, seen from outside: read-only refuses a store, "c" keeps it private."""
        marker = np.float64(-1.5)
        if mode == "r":
            with pytest.raises(ValueError):  # noqa: PT011 -- OPEN.7 fixes the class, not the text
                impl.write(handle, (0, 0), marker)
            impl.close(handle)
            unchanged(impl, before, path)
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
