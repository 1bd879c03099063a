"""The reference as an implementation under test, for subclasses that change one thing about it.

The mutants of ``tests/meta`` and the defective implementations of ``tests/conformance`` each
override the one call they break; everything else is the bundled reference's.
"""

from __future__ import annotations

from typing import Any, ClassVar

from memmapref.testing.implementations import reference
from memmapref.testing.protocol import Capabilities


class ReferenceWrapper:
    """Every call of the protocol passed on to the bundled reference, under a name of its own."""

    capabilities = Capabilities()
    deviations: ClassVar[dict[str, str]] = {}

    def __init__(self, name: str) -> None:
        self.name = name

    def create(self, path: Any, dtype: Any, shape: Any, *, offset: int = 0, order: str = "C") -> Any:
        return reference.create(path, dtype, shape, offset=offset, order=order)

    def open(
        self, path: Any, dtype: Any, shape: Any = None, *, mode: str = "r", offset: int = 0, order: str = "C"
    ) -> Any:
        return reference.open(path, dtype, shape, mode=mode, offset=offset, order=order)

    def slice_mean(self, handle: Any, index: Any) -> Any:
        return reference.slice_mean(handle, index)

    def filtered_sum(self, handle: Any, threshold: Any) -> Any:
        return reference.filtered_sum(handle, threshold)


def limited_reference(name: str, **capabilities: Any) -> ReferenceWrapper:
    """The reference, declaring only the given capabilities: the suite must stay within what it offers."""
    wrapper = ReferenceWrapper(name)
    wrapper.capabilities = Capabilities.of(capabilities)
    return wrapper
