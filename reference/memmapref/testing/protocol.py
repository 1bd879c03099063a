"""The implementation protocol, and the adapter through which the suite drives an implementation.

An implementation under test is any object with

* ``name: str``
* ``create(path, dtype, shape, *, offset=0, order="C")`` -> handle (mode ``w+``)
* ``open(path, dtype, shape=None, *, mode="r", offset=0, order="C")`` -> handle
  (modes ``"r"``, ``"r+"``, ``"c"``)

where a handle has ``.array`` (ndarray-like), ``.flush()`` and ``.close()``.
Optional attributes:

* ``slice_mean(handle, index)`` and ``filtered_sum(handle, threshold)``; where
  absent the suite uses the plain NumPy expressions on ``handle.array``;
* ``deviations: dict[str, str | Deviation]``: clause id -> reason, for clauses it
  knowingly does not meet. A deviation is confirmed only by a failure of its own
  clause (and, where the :class:`Deviation` says so, only in the test cases it
  names and with a failure matching its pattern); every other failure in the
  same test still fails its own clause;
* ``capabilities``: a :class:`Capabilities` or a dict of its fields (each one's
  meaning, and what is left out without it, is in :class:`Capabilities`); a clause
  needing a missing capability is reported as not applicable.

The adapter writes every call it makes as a line of Python, so that a failing
example can be shown as a snippet that reproduces it.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

import numpy as np
import pytest

from .capabilities import Capabilities
from .failures import (
    CLAUSE_ATTRIBUTE,
    SNIPPET_ATTRIBUTE,
    Deviation,
    DeviationObserved,
    ImplementationAborted,
    StaleDeviationWarning,
    drop_locals,
    failure_text,
    keep_snippet,
    tag,
)
from .literals import dtype_literal, literal
from .loading import load
from .oracle import npy_data_offset

# The names adapters and suites import from here, wherever they are defined.
__all__ = [
    "ADAPTER",
    "CLAUSE_ATTRIBUTE",
    "SNIPPET_ATTRIBUTE",
    "Adapter",
    "Capabilities",
    "Deviation",
    "DeviationObserved",
    "Handle",
    "Implementation",
    "ImplementationAborted",
    "StaleDeviationWarning",
    "drop_locals",
    "dtype_literal",
    "failure_text",
    "literal",
    "load",
    "npy_data_offset",
]


class Handle(Protocol):
    array: Any

    def flush(self) -> None: ...

    def close(self) -> None: ...


class Implementation(Protocol):
    name: str

    def create(self, path: Any, dtype: Any, shape: Any, *, offset: int = 0, order: str = "C") -> Handle: ...

    def open(
        self, path: Any, dtype: Any, shape: Any = None, *, mode: str = "r", offset: int = 0, order: str = "C"
    ) -> Handle: ...


_T = TypeVar("_T")


@dataclass
class Adapter:
    """The suite's view of one implementation under test."""

    # Hidden from Hypothesis' report of a failing example, which prints dataclass fields.
    target: Any = field(repr=False)
    spec: str | None = None
    transcript: list[str] = field(default_factory=list, repr=False)

    def __repr__(self) -> str:
        return f"<Adapter for {self.name}>"

    def __post_init__(self) -> None:
        self.name: str = str(self.target.name)
        self.capabilities = Capabilities.of(getattr(self.target, "capabilities", None))
        self.deviations: dict[str, Deviation] = {
            clause: Deviation.of(value) for clause, value in (getattr(self.target, "deviations", {}) or {}).items()
        }
        self._handles = 0
        self._names: dict[int, str] = {}
        self.test_id = ""
        # clause -> (failure, snippet) of the first example that confirmed its declared deviation.
        self.observed: dict[str, tuple[str, str]] = {}
        # Why examples were rejected for a missing capability (the test is not applicable if all were).
        self.inapplicable: list[str] = []
        # Clauses a block of this test was about (Adapter.clause); a cited clause never entered was not exercised.
        self.entered: set[str] = set()
        # Why this example's snippet cannot reproduce it when run alone ("" when it can).
        self.unrunnable = ""

    # -- verdicts ---------------------------------------------------------------

    @contextmanager
    def clause(self, *clauses: str, keep_going: bool = False) -> Iterator[None]:
        """Credit a failure inside the block to ``clauses`` (one, or several that state the same rule).

        A failure that a clause's declared deviation describes confirms it; when it
        confirms every clause named, the example ends (Hypothesis moves on to the next
        one). Otherwise the failure is raised, tagged with the clauses it breaks and this
        example's snippet, for the report. With ``keep_going``, a confirmed deviation ends
        only the block, so that the checks after it still judge their own clauses.
        """
        self.entered.update(clauses)
        try:
            yield
        except (Exception, pytest.fail.Exception) as exc:
            if _passes_through(exc) or getattr(exc, CLAUSE_ATTRIBUTE, None):
                raise
            text = failure_text(exc)
            broken = []
            for clause in clauses:
                if self.deviation_for(clause, text) is not None:
                    self.observed.setdefault(clause, (text, self.snippet()))
                else:
                    broken.append(clause)
            if not broken:
                if keep_going:
                    return
                _end_example(clauses[0])
            tag(exc, tuple(broken), self.snippet())
            raise

    def deviation_for(self, clause: str, failure: str) -> Deviation | None:
        """The declared deviation that ``failure`` of ``clause`` in this test confirms, if any."""
        deviation = self.deviations.get(clause)
        if deviation is not None and deviation.covers(self.test_id) and deviation.describes(failure):
            return deviation
        return None

    def _call(self, function: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """Call into the implementation; an abort it raises becomes an ordinary, reportable failure."""
        try:
            return function(*args, **kwargs)
        except (KeyboardInterrupt, SystemExit, GeneratorExit) as exc:
            drop_locals(exc)
            aborted = ImplementationAborted(
                f"{self.name} raised {type(exc).__name__}({exc}) inside {getattr(function, '__name__', function)}"
            )
            keep_snippet(aborted, self.snippet())
            raise aborted from exc
        except BaseException as exc:
            drop_locals(exc)
            # This example's calls, up to the one that raised: the report must not show a later example's.
            keep_snippet(exc, self.snippet())
            raise

    # -- transcript -------------------------------------------------------------

    def begin(self, directory: str) -> None:
        """Start the snippet of one example; paths are shown relative to ``directory``."""
        self._root = directory
        self._handles = 0
        self._names = {}
        self.unrunnable = ""
        source = (
            f"from {self.spec.replace(':', ' import ')} as impl"
            if self.spec
            else f"impl = ...  # the implementation {self.name!r}"
        )
        self.transcript = ["import numpy as np", source, "import os, pathlib"]

    def note(self, line: str) -> None:
        self.transcript.append(line)

    def snippet(self) -> str:
        return "\n".join(self.transcript)

    def not_standalone(self, reason: str) -> None:
        """Say that this example's snippet cannot reproduce it as printed, and why; the report shows the reason."""
        self.unrunnable = reason

    def _path(self, path: Any) -> str:
        text = str(os.fspath(path))
        root = getattr(self, "_root", None)
        return os.path.relpath(text, root) if root and text.startswith(root) else text

    def path_source(self, path: Any) -> str:
        """Source that rebuilds ``path`` in the snippet, relative and of the type the suite passed."""
        if isinstance(path, str):
            return repr(self._path(path))
        if isinstance(path, bytes):
            return repr(os.fsencode(self._path(os.fsdecode(path))))
        if isinstance(path, pathlib.PurePath):
            return f"pathlib.Path({self._path(path)!r})"
        if isinstance(path, os.PathLike):
            kind = type(path)
            # The implementer's own path type: the snippet imports it where it is used.
            self.note(f"from {kind.__module__} import {kind.__qualname__}")
            return f"{kind.__qualname__}({self.path_source(os.fspath(path))})"
        return literal(path)

    def relative(self, path: Any) -> str:
        """``path`` as the snippet shows it: relative to the example's directory."""
        return self._path(path)

    def name_of(self, handle: Any) -> str:
        """The variable name the snippet uses for ``handle``."""
        return self._names.get(id(handle), "h")

    def _handle_name(self) -> str:
        self._handles += 1
        return f"h{self._handles}"

    def next_handle_name(self) -> str:
        """A new variable name for a handle that a test's own call (noted by the test) returns."""
        return self._handle_name()

    def bind(self, handle: Any, var: str) -> None:
        """Show ``handle`` as ``var`` in the snippet's later lines."""
        self._names[id(handle)] = var

    # -- the protocol -----------------------------------------------------------

    @property
    def reading_mode(self) -> str:
        """The mode a test opens a file in only to read it: "r", else "c", else "r+".

        A reduction or a reader does not need a read-only mapping: without one, the
        implementation is still judged through a mode it has, never skipped as not applicable.
        """
        return next((mode for mode in ("r", "c", "r+") if mode in self.capabilities.modes), "r")

    def require(self, **needs: Any) -> None:
        """Skip as not applicable unless the implementation has every capability in ``needs``."""
        caps = self.capabilities
        for key, wanted in needs.items():
            have = getattr(caps, key)
            ok = wanted in have if isinstance(have, frozenset) else have == wanted
            if not ok:
                reason = (
                    f"not applicable: {self.name} has {key}={sorted(have) if isinstance(have, frozenset) else have!r}"
                )
                if _in_hypothesis():
                    # One drawn value the implementation lacks rejects this example, not the whole test.
                    self.inapplicable.append(reason)
                    _reject()
                pytest.skip(reason)

    def require_dtype(self, dtype: Any) -> None:
        """Skip as not applicable (in Hypothesis: reject the example) unless ``dtype`` is supported."""
        if not self.capabilities.supports(dtype):
            reason = f"not applicable: {self.name} does not support dtype {np.dtype(dtype)}"
            if _in_hypothesis():
                self.inapplicable.append(reason)
                _reject()
            pytest.skip(reason)

    def create(self, path: Any, dtype: Any, shape: Any, *, offset: int = 0, order: str = "C") -> Any:
        self.require_dtype(dtype)
        if offset:
            self.require(offsets=True)
        self.require(orders=order)
        var = self._handle_name()
        self.note(
            f"{var} = impl.create({self.path_source(path)}, {literal(dtype)}, {literal(shape)}, "
            f"offset={offset!r}, order={order!r})"
        )
        handle = self._call(self.target.create, path, dtype, shape, offset=offset, order=order)
        self._names[id(handle)] = var
        return handle

    def open(
        self, path: Any, dtype: Any, shape: Any = None, *, mode: str = "r", offset: int = 0, order: str = "C"
    ) -> Any:
        self.require(modes=mode, orders=order)
        self.require_dtype(dtype)
        if offset:
            self.require(offsets=True)
        if shape is None:
            self.require(shape_none=True)
        var = self._handle_name()
        self.note(
            f"{var} = impl.open({self.path_source(path)}, {literal(dtype)}, {literal(shape)}, "
            f"mode={mode!r}, offset={offset!r}, order={order!r})"
        )
        handle = self._call(self.target.open, path, dtype, shape, mode=mode, offset=offset, order=order)
        self._names[id(handle)] = var
        return handle

    def write(self, handle: Any, index: Any, values: Any) -> None:
        self.note(f"{self.name_of(handle)}.array[{literal(index)}] = {literal(values)}")
        array = handle.array

        def assign() -> None:
            array[index] = values

        self._call(assign)

    def read(self, handle: Any) -> np.ndarray[Any, Any]:
        self.note(f"got = np.asarray({self.name_of(handle)}.array)")
        return self._call(lambda: _copy(np.asarray(handle.array)))

    def flush(self, handle: Any) -> None:
        self.note(f"{self.name_of(handle)}.flush()")
        self._call(handle.flush)

    def close(self, handle: Any) -> None:
        self.note(f"{self.name_of(handle)}.close()")
        self._call(handle.close)

    def slice_mean(self, handle: Any, index: Any) -> Any:
        own = getattr(self.target, "slice_mean", None)
        if own is not None:
            self.note(f"result = impl.slice_mean({self.name_of(handle)}, {literal(index)})")
            return self._call(own, handle, index)
        self.note(f"result = np.mean(np.asarray({self.name_of(handle)}.array)[{literal(index)}])")
        return self._call(lambda: np.mean(np.asarray(handle.array)[index]))

    def filtered_sum(self, handle: Any, threshold: Any) -> Any:
        own = getattr(self.target, "filtered_sum", None)
        if own is not None:
            self.note(f"result = impl.filtered_sum({self.name_of(handle)}, {literal(threshold)})")
            return self._call(own, handle, threshold)
        self.note(f"x = {self.name_of(handle)}.array; result = x[x > {literal(threshold)}].sum()")
        x = handle.array
        return self._call(lambda: x[x > threshold].sum())

    def data_offset(self, path: Any, offset: int = 0) -> int:
        """Where the array's bytes start in the file: ``offset``, or after a ``.npy`` header."""
        if self.capabilities.file_format != "npy":
            return offset
        return npy_data_offset(path)


def _copy(array: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """A copy byte for byte: numpy's own copy leaves the padding of a structured dtype uninitialised."""
    contiguous = array.flags.c_contiguous or array.flags.f_contiguous
    if array.dtype.fields is None or not contiguous:
        return np.array(array, copy=True)
    order: Literal["C", "F"] = "F" if array.flags.f_contiguous and not array.flags.c_contiguous else "C"
    raw = bytearray(array.tobytes(order=order))
    copy: np.ndarray[Any, Any] = np.frombuffer(raw, dtype=array.dtype).reshape(array.shape, order=order)
    return copy


def _passes_through(exc: BaseException) -> bool:
    """Hypothesis' own control flow (a rejected example) is not a failure of any clause."""
    from hypothesis.errors import UnsatisfiedAssumption

    return isinstance(exc, (UnsatisfiedAssumption, DeviationObserved))


def _in_hypothesis() -> bool:
    from hypothesis import currently_in_test_context

    return bool(currently_in_test_context())


def _reject() -> None:
    from hypothesis import reject

    reject()


def _end_example(clause: str) -> None:
    if _in_hypothesis():
        _reject()
    raise DeviationObserved(clause)


# The adapter of each running test, kept on its pytest item: the plugin's ``impl`` fixture
# puts it there, the report reads it back to judge the test.
ADAPTER = pytest.StashKey[Adapter]()
