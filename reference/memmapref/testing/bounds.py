"""Floating-point error bounds, each derived rather than tuned.

Notation follows Higham, *Accuracy and Stability of Numerical Algorithms*
(2nd ed.): ``u`` is the unit roundoff of the type in which a sum is
accumulated, and ``gamma(k) = k*u / (1 - k*u)``. Summing ``n`` terms in any
order (any summation tree) has error at most ``gamma(n-1) * sum|x_i|``
(Higham eq. 4.4 holds for every tree, since each term passes through at most
``n - 1`` additions). Pairwise summation does better, but numpy only uses it
along a contiguous inner loop, so for an arbitrary view the any-order bound is
the one numpy guarantees.

The exact value to compare with comes from :func:`math.fsum`, which is
correctly rounded, or, where even one rounding would blur a tight bound, from
:func:`exact_total`, the exact rational sum (every float is a dyadic
rational). Items are converted to float64 first, which is exact for float16,
float32 and float64 items.

Two facts used below: ``(1 + u) * gamma(k) <= gamma(k + 1)``, and adding an
exact zero rounds nothing, so a sum of ``n`` items of which only ``k`` are
non-zero is within ``gamma(k - 1) * sum|x_i|`` whatever the tree.
"""

from __future__ import annotations

import math
from fractions import Fraction
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
    if dt.itemsize <= (8 if dt.kind == "c" else 4):
        return np.dtype(np.float32)
    # float64, long double, and complex per component
    component: np.dtype[Any] = np.dtype(dt.type(0).real.dtype)
    return component


def as_float64(values: np.ndarray[Any, Any]) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=np.float64).ravel()]


def exact_sum(values: np.ndarray[Any, Any]) -> float:
    """The correctly rounded sum of ``values`` as float64 (``math.fsum``)."""
    return math.fsum(as_float64(values))


def exact_total(values: np.ndarray[Any, Any]) -> Fraction:
    """The exact sum of finite ``values``, as a rational number."""
    return sum((Fraction(v) for v in as_float64(values)), Fraction(0))


def absolute_sum(values: np.ndarray[Any, Any]) -> float:
    """``S = sum|x_i|``, correctly rounded."""
    return math.fsum(abs(v) for v in as_float64(values))


def sum_bound(values: np.ndarray[Any, Any], result_dtype: Any) -> float:
    """Largest error numpy's sum of ``values`` may have, against :func:`exact_sum`.

    ``gamma(n) * sum|x_i|`` for accumulation (``n`` rather than ``n-1`` covers
    the conversion of each integer item to float64), plus two roundings to the
    result type: numpy's final cast, and the rounding of the exact value.
    """
    n = values.size
    u_acc = unit_roundoff(numpy_accumulator(values.dtype))
    u_out = unit_roundoff(result_dtype)
    return gamma(n, u_acc) * absolute_sum(values) + 2 * u_out * abs(exact_sum(values))


def mean_bound(values: np.ndarray[Any, Any], result_dtype: Any) -> float:
    """:func:`sum_bound` divided by ``n``, plus the rounding of the division (SPEC.md MEAN.3)."""
    n = values.size
    u_acc = unit_roundoff(numpy_accumulator(values.dtype))
    exact_mean = exact_sum(values) / n
    return sum_bound(values, result_dtype) / n + u_acc * abs(exact_mean)


def reference_sum_bound(values: np.ndarray[Any, Any], chunk_items: int, result_dtype: Any) -> float:
    """The reference's bound for its sum of ``values`` (SPEC.md MEAN.4 and FSUM.6), against the exact sum.

    Derivation. The reference sums each chunk of at most ``L = chunk_items``
    items in float64 (unselected items of a filtered sum as exact zeros), so
    chunk ``j``'s partial is within ``gamma(L) * S_j`` of its exact sum,
    ``S_j`` the chunk's ``sum|x_i|``. The partials are added exactly and the
    total ``T`` is rounded once to float64 (relative error ``u64``), then once
    to the result type (``u_out``). With ``delta = gamma(L) * S``:

        |fl64(T) - sum|   <= (1 + u64) * delta + u64 * |sum|
        |result - sum|    <= (1 + u_out) * |fl64(T) - sum| + u_out * |sum|
                          <= (1 + u_out) * gamma(L + 1) * S + (u64 + 2 * u_out) * |sum|

    using ``(1 + u64) * gamma(L) <= gamma(L + 1)`` and ``u64 * u_out <= u_out``.
    For a float64 result the second rounding does not happen; keeping it only
    loosens the bound. Any ``chunk_items`` at least the real chunk length is a
    valid argument, since ``gamma`` grows with ``L``.
    """
    return reference_bound(absolute_sum(values), exact_sum(values), chunk_items, result_dtype)


def reference_bound(absolute: float, total: float, chunk_items: int, result_dtype: Any) -> float:
    """:func:`reference_sum_bound` from ``S = sum|x_i|`` and the sum itself, for inputs too large to list."""
    u64 = unit_roundoff(np.float64)
    u_out = unit_roundoff(result_dtype)
    return (1 + u_out) * gamma(chunk_items + 1, u64) * absolute + (u64 + 2 * u_out) * abs(total)


def reference_mean_bound(values: np.ndarray[Any, Any], chunk_items: int, result_dtype: Any) -> float:
    """The reference's bound for its mean of ``values`` (SPEC.md MEAN.4), against the exact mean.

    As :func:`reference_sum_bound`, except that the exact total is divided by
    ``n`` before its one rounding to float64, so every term is divided by
    ``n``: ``(1 + u_out) * gamma(L + 1) * S / n + (u64 + 2 * u_out) * |m|``.
    For complex items apply it to the real and the imaginary parts apart.
    """
    n = values.size
    return reference_sum_bound(values, chunk_items, result_dtype) / n


def within(got: Any, exact: float, bound: float) -> bool:
    """``got`` is within ``bound`` of ``exact``, with nan and infinities compared exactly."""
    value = complex(got) if np.iscomplexobj(got) else float(got)
    if isinstance(value, complex):
        raise TypeError("compare complex results per component")
    if math.isnan(exact) or math.isinf(exact):
        return math.isnan(value) if math.isnan(exact) else value == exact
    return abs(value - exact) <= bound


def within_exact(got: Any, exact: Fraction, bound: float) -> bool:
    """``|got - exact| <= bound``, computed without rounding (``got`` finite, long double kept whole)."""
    value = got if hasattr(got, "as_integer_ratio") else float(got)
    return abs(Fraction(*value.as_integer_ratio()) - exact) <= Fraction(bound)
