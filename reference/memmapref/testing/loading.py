"""``--impl MODULE:ATTRIBUTE``: the implementation under test, imported by name."""

from __future__ import annotations

import importlib
from typing import Any


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
