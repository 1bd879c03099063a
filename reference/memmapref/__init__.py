"""memmapref: reference semantics for memory-mapped NumPy arrays.

The five operations of a typical memmap workflow, each done so that a
mistake is an exception and never a silently changed file:

>>> import memmapref                                          # doctest: +SKIP
>>> with memmapref.create("data.bin", "float64", (1000, 1000)) as m:
...     m[:100] = 1.0                                         # write, then flush on close
>>> with memmapref.open("data.bin", "float64", (1000, 1000)) as m:
...     memmapref.slice_mean(m, np.s_[:100, :100])            # bounded memory
...     memmapref.filtered_sum(m, 0.5)                        # no full-size mask
"""

from . import errors
from .errors import MemmapError
from .mapped import MappedArray, create, open  # noqa: A004 -- the protocol names it open
from .reductions import DEFAULT_CHUNK_BYTES, filtered_sum, slice_mean

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "MappedArray",
    "MemmapError",
    "create",
    "errors",
    "filtered_sum",
    "open",
    "slice_mean",
]
__version__ = "0.1.0"
