"""What an implementation states it supports: the suite draws only that, and judges the rest as not applicable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Capabilities:
    """What an implementation supports; the suite never reports a missing one as a pass.

    A test (or one Hypothesis example) that needs what the implementation lacks is
    not run for it, and a clause whose every test was left out is "not applicable".

    * ``file_format``: ``"raw"`` (the array's bytes from ``offset`` on, nothing else)
      or ``"npy"`` (a ``.npy`` header before the data). Without ``"raw"``, the tests
      that lay a file out by hand (OPEN.3, OPEN.5, CREATE.2's offset bytes, most
      FAULT clauses) are left out; ``"npy"`` adds the header tests (FAULT.7, FAULT.8).
    * ``modes``: the modes ``open`` takes, of ``"r"``, ``"r+"``, ``"c"``. A mode
      left out is never drawn: OPEN.8 needs ``"r+"``, OPEN.9 needs ``"c"``, and each
      mode-parametrized case of another clause runs only in the modes given.
    * ``offsets``: whether ``offset`` may be non-zero. Without it every call uses
      offset 0 and ARGS.5, OPEN.5 and CREATE.2's offset cases are left out.
    * ``orders``: the orders of ``"C"``, ``"F"`` taken. An order left out is never
      drawn, and the accepted-spelling cases of ARGS.6 for it are left out.
    * ``shape_none``: whether ``open(..., shape=None)`` infers the length (OPEN.3 and
      FAULT.6 are left out without it).
    * ``empty_arrays``: whether arrays with a zero-length dimension can be created
      and opened. Without it, examples drawing one are left out of every test but
      the implementation's own CREATE.1 and OPEN.3 tests, which still try them.
    * ``dtypes``: the dtypes supported: ``None`` (every dtype ARGS.4 accepts), a set
      of ``numpy.dtype.kind`` characters (``{"b", "i", "u", "f", "c"}``), or a
      predicate ``dtype -> bool``. Strategies and explicit cases use only supported
      dtypes (a Hypothesis example drawing another is rejected); for an unsupported
      one, ARGS.4 demands that ``create`` refuse it with ``TypeError`` (it is judged,
      never skipped).
    """

    file_format: str = "raw"
    modes: frozenset[str] = frozenset({"r", "r+", "c"})
    offsets: bool = True
    orders: frozenset[str] = frozenset({"C", "F"})
    shape_none: bool = True
    empty_arrays: bool = True
    dtypes: frozenset[str] | Callable[[np.dtype[Any]], bool] | None = None

    def supports(self, dtype: Any) -> bool:
        """Whether the implementation supports ``dtype`` (one ``numpy.dtype()`` accepts)."""
        if self.dtypes is None:
            return True
        dt = np.dtype(dtype)
        if callable(self.dtypes):
            return bool(self.dtypes(dt))
        # A structured or subarray dtype is supported when each of its fields is.
        if dt.subdtype is not None:
            return self.supports(dt.subdtype[0])
        if dt.fields is not None:
            return all(self.supports(field[0]) for field in dt.fields.values())
        return dt.kind in self.dtypes

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
        given: dict[str, Any] = {
            k: frozenset(v) if k in ("modes", "orders") or (k == "dtypes" and not callable(v) and v is not None) else v
            for k, v in value.items()
        }
        return cls(**given)
