"""Bad arguments and bad paths: the built-in exception class, and the file unchanged (SPEC.md sections 1 and 6)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest

from ..oracle import FileState
from ..protocol import Adapter, literal
from ._support import fresh_file, unchanged

SHAPE = (4, 5)


class Case(NamedTuple):
    clause: str
    expected: tuple[type[BaseException], ...]
    overrides: dict[str, Any]


OPEN_CASES = {
    "float-shape": Case("ARGS.1", (TypeError,), {"shape": (20.0, 20.0)}),
    "bool-shape-entry": Case("ARGS.1", (TypeError,), {"shape": (True, 5)}),
    "negative-shape": Case("ARGS.2", (ValueError,), {"shape": (-1, 5)}),
    "overflowing-shape": Case("ARGS.3", (ValueError,), {"shape": (2**40, 2**40)}),
    "object-dtype": Case("ARGS.4", (TypeError,), {"dtype": object}),
    "unknown-dtype": Case("ARGS.4", (TypeError,), {"dtype": "float65"}),
    "negative-offset": Case("ARGS.5", (ValueError,), {"offset": -8}),
    "float-offset": Case("ARGS.5", (TypeError,), {"offset": 8.0}),
    "bad-order": Case("ARGS.6", (ValueError,), {"order": "Z"}),
    "mode-w+": Case("ARGS.7", (ValueError,), {"mode": "w+"}),
    "unknown-mode": Case("ARGS.7", (ValueError,), {"mode": "rw"}),
    "path-not-a-path": Case("ARGS.8", (TypeError,), {"path": 3.5}),
}


def _params(include: Any = lambda case: True, clauses: tuple[str, ...] | None = None) -> list[Any]:
    """One parameter per case, marked with the clauses it checks (by default the case's own and ERR.1)."""
    return [
        pytest.param(name, marks=pytest.mark.clause(*(clauses or (case.clause, "ERR.1"))), id=name)
        for name, case in OPEN_CASES.items()
        if include(case)
    ]


def _call_quietly(call: Any, *args: Any, **kwargs: Any) -> Any:
    # A warning on the way to the error (numpy warns of overflow before refusing
    # a huge shape) is not the clause's business; the exception class is.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call(*args, **kwargs)


def _expect(
    impl: Adapter, expected: tuple[type[BaseException], ...], method: str, *args: Any, clause: str, **kwargs: Any
) -> None:
    """The call must raise one of ``expected``: a wrong class breaks ``clause`` and ERR.1, no error ``clause`` alone."""
    names = " or ".join(c.__name__ for c in expected)
    shown = [repr(impl.relative(a)) if isinstance(a, Path) else literal(a) for a in args]
    shown += [f"{k}={literal(v)}" for k, v in kwargs.items()]
    # The snippet goes on past a call that raises as it must, and stops at one that does not.
    impl.note(
        f"try:\n    h = impl.{method}({', '.join(shown)})\n"
        f"except ({', '.join(c.__name__ for c in expected)},):\n    pass  # as the clause asks\n"
        f"else:\n    raise AssertionError('returned a handle; expected {names}')"
    )
    try:
        handle = _call_quietly(getattr(impl.target, method), *args, **kwargs)
    except expected:
        return
    except Exception as exc:
        with impl.clause(clause, "ERR.1"):
            pytest.fail(f"got {type(exc).__name__}: {exc}; expected {names}")
    impl.close(handle)
    with impl.clause(clause):
        pytest.fail(f"got a handle; expected {names}")


def _call_and_capture(call: Any, *args: Any, **kwargs: Any) -> BaseException | None:
    try:
        handle = _call_quietly(call, *args, **kwargs)
    except Exception as exc:
        return exc
    handle.close()
    return None


class ErrorTests:
    @pytest.mark.parametrize("mode", ["r", "r+", "c"])
    @pytest.mark.parametrize("case", _params())
    def test_bad_open_argument_is_refused(self, impl: Adapter, tmp_path: Path, case: str, mode: str) -> None:
        """The built-in exception class of the clause (ERR.1), in every mode: numpy's checks differ by mode."""
        impl.require(modes=mode)
        _, args = self._existing(impl, tmp_path, case, mode=mode)
        _expect(
            impl,
            OPEN_CASES[case].expected,
            "open",
            args.pop("path"),
            args.pop("dtype"),
            args.pop("shape"),
            clause=OPEN_CASES[case].clause,
            **args,
        )

    @pytest.mark.parametrize("case", _params(clauses=("ARGS.9", "ERR.3")))
    def test_bad_open_argument_leaves_the_file(self, impl: Adapter, tmp_path: Path, case: str) -> None:
        path, args = self._existing(impl, tmp_path, case, mode="r+")
        before = FileState.of(path)
        impl.note(f"# open with {OPEN_CASES[case].overrides}: must leave the file unchanged")
        _call_and_capture(impl.target.open, args.pop("path"), args.pop("dtype"), args.pop("shape"), **args)
        with impl.clause("ARGS.9", "ERR.3"):
            unchanged(before, path)

    @pytest.mark.parametrize("case", _params(lambda case: case.clause != "ARGS.7"))
    def test_bad_create_argument_is_refused(self, impl: Adapter, tmp_path: Path, case: str) -> None:
        _, args = self._existing(impl, tmp_path, case)
        _expect(
            impl,
            OPEN_CASES[case].expected,
            "create",
            args.pop("path"),
            args.pop("dtype"),
            args.pop("shape"),
            clause=OPEN_CASES[case].clause,
            **args,
        )

    @pytest.mark.parametrize("case", _params(lambda case: case.clause != "ARGS.7", clauses=("ARGS.9", "ERR.3")))
    def test_bad_create_argument_leaves_the_old_file(self, impl: Adapter, tmp_path: Path, case: str) -> None:
        path, args = self._existing(impl, tmp_path, case)
        before = FileState.of(path)
        impl.note(f"# create with {OPEN_CASES[case].overrides}: must leave the old file unchanged")
        _call_and_capture(impl.target.create, args.pop("path"), args.pop("dtype"), args.pop("shape"), **args)
        with impl.clause("ARGS.9", "ERR.3"):
            unchanged(before, path)

    @staticmethod
    def _existing(impl: Adapter, tmp_path: Path, case: str, **extra: Any) -> tuple[Path, dict[str, Any]]:
        """A valid file, and the arguments of one bad call on it."""
        if "offset" in OPEN_CASES[case].overrides:
            impl.require(offsets=True)
        path = fresh_file(impl, tmp_path)
        impl.close(impl.create(path, np.float64, SHAPE))
        args: dict[str, Any] = {"path": path, "dtype": np.float64, "shape": SHAPE, "offset": 0, "order": "C", **extra}
        args.update(OPEN_CASES[case].overrides)
        return path, args

    @pytest.mark.clause("OPEN.6", "ERR.3")
    def test_missing_file(self, impl: Adapter, tmp_path: Path) -> None:
        path = fresh_file(impl, tmp_path)
        for mode in sorted(impl.capabilities.modes):
            _expect(impl, (FileNotFoundError,), "open", path, np.float64, SHAPE, mode=mode, clause="OPEN.6")
            with impl.clause("ERR.3"):
                assert not path.exists(), f"open(mode={mode!r}) created the missing file"

    @pytest.mark.clause("OPEN.6")
    def test_directory(self, impl: Adapter, tmp_path: Path) -> None:
        path = fresh_file(impl, tmp_path)
        path.mkdir()
        for mode in sorted(impl.capabilities.modes):
            _expect(impl, (IsADirectoryError,), "open", path, np.float64, SHAPE, mode=mode, clause="OPEN.6")
