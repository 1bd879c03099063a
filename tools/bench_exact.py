"""Exactly rounded sums of float64 data too large for memory, for tools/bench.py.

``math.fsum`` is correctly rounded but needs every item as a Python float at
once, and its partials cannot be carried from one chunk to the next. Here
each chunk is added exactly into a Python integer counting units of 2**-1074
(every finite float64 is a whole number of them), so the chunks can come one
at a time. Dividing that integer once, with Python's correctly rounded
int / int, gives the exactly rounded sum or mean.

Per chunk the work is vectorised: each item is split into a 53-bit integer
mantissa and an exponent; the mantissas are summed per exponent with
``np.bincount``. Its float64 weights add integers below 2**53 exactly, which
26-bit halves of the mantissas guarantee for chunks of up to 2**26 items.
Chunks whose items are all whole multiples of 2**-53 (what ``random()`` draws)
take a faster integer path. :func:`check_against_fsum` compares a chunk with
``math.fsum``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

FIXED_BITS = 1074
MAX_CHUNK_ITEMS = 1 << 26
_DYADIC_BITS = 53
_HALF_BITS = 26
_HALF_MASK = (1 << _HALF_BITS) - 1


def fixed_sum(chunk: np.ndarray[Any, Any]) -> int:
    """The exact sum of finite ``chunk`` items, in units of 2**-1074."""
    values = np.ascontiguousarray(chunk, dtype=np.float64).ravel()
    if values.size > MAX_CHUNK_ITEMS:
        raise ValueError(
            f"got a chunk of {values.size} items; expected at most {MAX_CHUNK_ITEMS}; fix: pass smaller chunks"
        )
    if not np.isfinite(values).all():
        raise ValueError("got nan or infinity; expected finite items; fix: an exact sum of those is not a number")
    whole = _dyadic_sum(values)
    return whole if whole is not None else _general_sum(values)


def _dyadic_sum(values: np.ndarray[Any, Any]) -> int | None:
    """The fast case: items below 2**9 in magnitude that are whole multiples of 2**-53.

    numpy's ``random()`` draws exactly such numbers. Scaling by 2**53 is exact,
    so the items are integers below 2**62; their 32-bit halves sum in int64
    without overflow for chunks of up to 2**26 items. None if the chunk does
    not qualify.
    """
    if values.size and float(np.max(np.abs(values))) >= 2.0**9:
        return None
    scaled = values * 2.0**_DYADIC_BITS
    whole = scaled.astype(np.int64)
    if not np.array_equal(whole, scaled):
        return None
    high = int(np.add.reduce(whole >> 32))
    low = int(np.add.reduce(whole & 0xFFFFFFFF))
    return ((high << 32) + low) << (FIXED_BITS - _DYADIC_BITS)


def _general_sum(values: np.ndarray[Any, Any]) -> int:
    fraction, exponent = np.frexp(values)
    mantissa = np.ldexp(fraction, 53).astype(np.int64)  # value = mantissa * 2**(exponent - 53)
    shift = exponent.astype(np.int64) + (FIXED_BITS - 53)
    # Subnormals give a negative shift; their mantissas end in that many zero bits.
    low = shift < 0
    mantissa[low] >>= -shift[low]
    shift[low] = 0
    base = int(shift.min()) if shift.size else 0
    bins = shift - base
    high_sums = np.bincount(bins, weights=(mantissa >> _HALF_BITS).astype(np.float64))
    low_sums = np.bincount(bins, weights=(mantissa & _HALF_MASK).astype(np.float64))
    total = 0
    for k in np.flatnonzero((high_sums != 0) | (low_sums != 0)):
        total += ((int(high_sums[k]) << _HALF_BITS) + int(low_sums[k])) << (int(k) + base)
    return total


def exact_sum(chunks: Iterable[np.ndarray[Any, Any]]) -> int:
    """The exact sum of all ``chunks``, in units of 2**-1074."""
    return sum((fixed_sum(chunk) for chunk in chunks), 0)


def rounded(fixed: int, count: int = 1) -> float:
    """``fixed * 2**-1074 / count`` correctly rounded to float64."""
    return fixed / (count << FIXED_BITS)


def check_against_fsum(chunk: np.ndarray[Any, Any]) -> None:
    """Raise if the vectorised sum of ``chunk`` and ``math.fsum`` disagree."""
    fsum = math.fsum(np.asarray(chunk, dtype=np.float64).ravel().tolist())
    ours = rounded(fixed_sum(chunk))
    if ours != fsum:
        raise AssertionError(f"exact sum {ours!r} differs from math.fsum {fsum!r}")
