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
* ``deviations: dict[str, str]``: clause id -> reason, for clauses it knowingly
  does not meet (reported as expected failures; one that passes is reported);
* ``capabilities``: a :class:`Capabilities` or a dict of its fields; a clause
  needing a missing capability is reported as not applicable.

The adapter writes every call it makes as a line of Python, so that a failing
example can be shown as a snippet that reproduces it.
"""

from __future__ import annotations

import importlib
import math
import os
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

import numpy as np
import pytest


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


@dataclass(frozen=True)
class Capabilities:
    """What an implementation supports; the suite never reports a missing one as a pass."""

    file_format: str = "raw"  # "raw" bytes, or "npy" (a header before the data)
    modes: frozenset[str] = frozenset({"r", "r+", "c"})
    offsets: bool = True
    orders: frozenset[str] = frozenset({"C", "F"})
    shape_none: bool = True  # open(..., shape=None) infers the length
    empty_arrays: bool = True  # arrays with a zero-length dimension can be created and opened
    close_releases: bool = True  # close() is more than dropping a reference

    @classmethod
    def of(cls, value: Any) -> Capabilities:
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        known = {f.name for f in fields(cls)}
        unknown = set(value) - known
        if unknown:
            raise ValueError(
                f"got capability names {sorted(unknown)}; expected some of {sorted(known)}; "
                "fix: spell them as memmapref.testing.protocol.Capabilities fields"
            )
        given: dict[str, Any] = {k: frozenset(v) if k in ("modes", "orders") else v for k, v in value.items()}
        return cls(**given)


class StaleDeviationWarning(UserWarning):
    """A declared deviation names a clause id that SPEC.md does not have."""


def load(spec: str) -> Any:
    """Import ``module:attribute``; call the attribute if it is a zero-argument factory."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"got --impl {spec!r}; expected MODULE:ATTRIBUTE; fix: e.g. --impl mypkg.impl:memmap_impl")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(
            f"got --impl {spec!r}; could not import {module_name!r} ({exc}); fix: install it or fix the name"
        ) from None
    try:
        target = getattr(module, attr)
    except AttributeError:
        raise ValueError(
            f"got --impl {spec!r}; {module_name!r} has no attribute {attr!r}; fix: check the name"
        ) from None
    if isinstance(target, type) or (callable(target) and not hasattr(target, "create")):
        target = target()
    missing = [name for name in ("name", "create", "open") if not hasattr(target, name)]
    if missing:
        raise ValueError(
            f"got --impl {spec!r}, an object without {missing}; expected the protocol of "
            "memmapref.testing.protocol; fix: add name, create() and open()"
        )
    return target


def literal(value: Any) -> str:
    """Python source that rebuilds ``value``: arrays from their exact bytes."""
    if isinstance(value, np.ndarray):
        return (
            f"np.frombuffer(bytes.fromhex({value.tobytes().hex()!r}), dtype={value.dtype.str!r})"
            f".reshape({value.shape!r})"
        )
    if isinstance(value, type):
        return f"np.{value.__name__}" if issubclass(value, np.generic) else value.__name__
    if isinstance(value, np.dtype):
        return repr(value.str) if value.fields is None else repr(value.descr)
    if isinstance(value, np.generic):
        return f"np.{type(value).__name__}({value.item()!r})"
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if value is Ellipsis:
        return "..."
    if isinstance(value, slice):
        return f"slice({value.start!r}, {value.stop!r}, {value.step!r})"
    return repr(value)


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
        self.deviations: dict[str, str] = dict(getattr(self.target, "deviations", {}) or {})
        self._handles = 0
        self._names: dict[int, str] = {}

    # -- transcript -------------------------------------------------------------

    def begin(self, directory: str) -> None:
        """Start the snippet of one example; paths are shown relative to ``directory``."""
        self._root = directory
        self._handles = 0
        self._names = {}
        source = (
            f"from {self.spec.replace(':', ' import ')} as impl"
            if self.spec
            else f"impl = ...  # the implementation {self.name!r}"
        )
        self.transcript = ["import numpy as np", source]

    def note(self, line: str) -> None:
        self.transcript.append(line)

    def snippet(self) -> str:
        return "\n".join(self.transcript)

    def _path(self, path: Any) -> str:
        text = str(os.fspath(path))
        root = getattr(self, "_root", None)
        return os.path.relpath(text, root) if root and text.startswith(root) else text

    def name_of(self, handle: Any) -> str:
        """The variable name the snippet uses for ``handle``."""
        return self._names.get(id(handle), "h")

    def _handle_name(self) -> str:
        self._handles += 1
        return f"h{self._handles}"

    # -- the protocol -----------------------------------------------------------

    def require(self, **needs: Any) -> None:
        """Skip as not applicable unless the implementation has every capability in ``needs``."""
        caps = self.capabilities
        for key, wanted in needs.items():
            have = getattr(caps, key)
            ok = wanted in have if isinstance(have, frozenset) else have == wanted
            if not ok:
                pytest.skip(
                    f"not applicable: {self.name} has {key}={sorted(have) if isinstance(have, frozenset) else have!r}"
                )

    def create(self, path: Any, dtype: Any, shape: Any, *, offset: int = 0, order: str = "C") -> Any:
        if offset:
            self.require(offsets=True)
        self.require(orders=order)
        var = self._handle_name()
        self.note(
            f"{var} = impl.create({self._path(path)!r}, {literal(dtype)}, {literal(shape)}, "
            f"offset={offset!r}, order={order!r})"
        )
        handle = self.target.create(path, dtype, shape, offset=offset, order=order)
        self._names[id(handle)] = var
        return handle

    def open(
        self, path: Any, dtype: Any, shape: Any = None, *, mode: str = "r", offset: int = 0, order: str = "C"
    ) -> Any:
        self.require(modes=mode, orders=order)
        if offset:
            self.require(offsets=True)
        if shape is None:
            self.require(shape_none=True)
        var = self._handle_name()
        self.note(
            f"{var} = impl.open({self._path(path)!r}, {literal(dtype)}, {literal(shape)}, "
            f"mode={mode!r}, offset={offset!r}, order={order!r})"
        )
        handle = self.target.open(path, dtype, shape, mode=mode, offset=offset, order=order)
        self._names[id(handle)] = var
        return handle

    def write(self, handle: Any, index: Any, values: Any) -> None:
        self.note(f"{self.name_of(handle)}.array[{literal(index)}] = {literal(values)}")
        handle.array[index] = values

    def read(self, handle: Any) -> np.ndarray[Any, Any]:
        self.note(f"np.asarray({self.name_of(handle)}.array)")
        return np.array(np.asarray(handle.array), copy=True)

    def flush(self, handle: Any) -> None:
        self.note(f"{self.name_of(handle)}.flush()")
        handle.flush()

    def close(self, handle: Any) -> None:
        self.note(f"{self.name_of(handle)}.close()")
        handle.close()

    def slice_mean(self, handle: Any, index: Any) -> Any:
        own = getattr(self.target, "slice_mean", None)
        if own is not None:
            self.note(f"impl.slice_mean({self.name_of(handle)}, {literal(index)})")
            return own(handle, index)
        self.note(f"np.mean(np.asarray({self.name_of(handle)}.array)[{literal(index)}])")
        return np.mean(np.asarray(handle.array)[index])

    def filtered_sum(self, handle: Any, threshold: Any) -> Any:
        own = getattr(self.target, "filtered_sum", None)
        if own is not None:
            self.note(f"impl.filtered_sum({self.name_of(handle)}, {literal(threshold)})")
            return own(handle, threshold)
        self.note(f"x = {self.name_of(handle)}.array; x[x > {literal(threshold)}].sum()")
        x = handle.array
        return x[x > threshold].sum()

    def data_offset(self, path: Any, offset: int = 0) -> int:
        """Where the array's bytes start in the file: ``offset``, or after a ``.npy`` header."""
        if self.capabilities.file_format != "npy":
            return offset
        return npy_data_offset(path)


def npy_data_offset(path: Any) -> int:
    """Bytes before the data of a ``.npy`` file: magic, version, header length field, header.

    Version 1 stores the header length in 2 bytes, versions 2 and 3 in 4.
    """
    with open(path, "rb") as f:
        head = f.read(12)
    if len(head) < 10 or head[:6] != b"\x93NUMPY":
        raise ValueError(f"got {path!s} without the .npy magic; expected a .npy file; fix: check the file")
    if head[6] == 1:
        return 10 + int.from_bytes(head[8:10], "little")
    return 12 + int.from_bytes(head[8:12], "little")
