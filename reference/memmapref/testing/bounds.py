"""Floating-point error bounds, each derived rather than tuned.

Notation follows Higham, *Accuracy and Stability of Numerical Algorithms*
(2nd ed.): ``u`` is the unit roundoff of the type in which a sum is
accumulated, and ``gamma(k) = k*u / (1 - k*u)``. Recursive summation of ``n``
terms has error at most ``gamma(n-1) * sum|x_i|`` (Higham eq. 4.4); pairwise
summation does better, but numpy only uses it along a contiguous inner loop,
so for an arbitrary view the recursive bound is the one numpy guarantees.

The exact value to compare with comes from :func:`math.fsum`, which is
correctly rounded, on the values converted to float64 (exact for float16,
float32 and float64 items).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def unit_roundoff(dtype: Any) -> float:
    """Half the machine epsilon: the largest relative error of one rounding."""
    return float(np.finfo(dtype).eps) / 2


def gamma(k: int, u: float) -> float:
    """Higham's gamma_k; infinite where k*u >= 1 (no useful bound exists)."""
    ku = k * u
    return math.inf if ku >= 1 else ku / (1 - ku)


def numpy_accumulator(dtype: Any) -> np.dtype[Any]:
    """The type numpy's mean and sum accumulate in for items of ``dtype``.

    float16 is accumulated in float32 by ``np.mean`` (explicit ``dtype``) and by
    the half-precision pairwise loop; bool and integers are converted to float64
    by ``np.mean``; complex types accumulate per component in their own float.
    """
    dt = np.dtype(dtype)
    if dt.kind in "biu":
        return np.dtype(np.float64)
    if dt.kind == "c":
        return np.dtype(dt.type(0).real.dtype)
    if dt.itemsize <= 4:
        return np.dtype(np.float32)
    return np.dtype(dt.newbyteorder("="))


def as_float64(values: np.ndarray[Any, Any]) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=np.float64).ravel()]


def exact_sum(values: np.ndarray[Any, Any]) -> float:
    """The correctly rounded sum of ``values`` as float64 (``math.fsum``)."""
    return math.fsum(as_float64(values))


def sum_bound(values: np.ndarray[Any, Any], result_dtype: Any) -> float:
    """Largest error numpy's sum of ``values`` may have, against :func:`exact_sum`.

    ``gamma(n) * sum|x_i|`` for accumulation (``n`` rather than ``n-1`` covers
    the conversion of each integer item to float64), plus two roundings to the
    result type: numpy's final cast, and the rounding of the exact value.
    """
    n = values.size
    u_acc = unit_roundoff(numpy_accumulator(values.dtype))
    u_out = unit_roundoff(result_dtype)
    absolute = math.fsum(abs(v) for v in as_float64(values))
    return gamma(n, u_acc) * absolute + 2 * u_out * abs(exact_sum(values))


def mean_bound(values: np.ndarray[Any, Any], result_dtype: Any) -> float:
    """:func:`sum_bound` divided by ``n``, plus the rounding of the division."""
    n = values.size
    u_acc = unit_roundoff(numpy_accumulator(values.dtype))
    exact_mean = exact_sum(values) / n
    return sum_bound(values, result_dtype) / n + u_acc * abs(exact_mean)


def reference_sum_bound(values: np.ndarray[Any, Any], chunk_items: int, result_dtype: Any) -> float:
    """The reference's tighter bound (SPEC.md MEAN.4): float64 chunk sums, compensated combination.

    Each chunk of at most ``chunk_items`` items is summed in float64 (error at
    most ``gamma(L) * sum|chunk|``); Neumaier's combination of the partials adds
    at most ``2u|S|`` plus a second-order term, bounded here by another ``u|S|``.
    """
    u64 = unit_roundoff(np.float64)
    absolute = math.fsum(abs(v) for v in as_float64(values))
    total = abs(exact_sum(values))
    return gamma(chunk_items, u64) * absolute + 3 * u64 * total + 2 * unit_roundoff(result_dtype) * total


def within(got: Any, exact: float, bound: float) -> bool:
    """``got`` is within ``bound`` of ``exact``, with nan and infinities compared exactly."""
    value = complex(got) if np.iscomplexobj(got) else float(got)
    if isinstance(value, complex):
        raise TypeError("compare complex results per component")
    if math.isnan(exact) or math.isinf(exact):
        return math.isnan(value) if math.isnan(exact) else value == exact
    return abs(value - exact) <= bound
