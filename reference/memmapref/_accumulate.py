"""Accumulating the partials of a reduction's chunks, exactly where the result must not depend on threads.

Every chunk's partial result goes into an exact accumulator: a Python int for
integer items, a fixed-point integer for float partials. Exact addition does
not depend on grouping, so the result depends neither on ``threads`` nor on
thread timing, only on the chunk boundaries. Long double and timedelta
partials, which have no exact integer form here, are added in chunk order by
one worker.

A walk takes a worker's chunks and its scratch buffers and accumulates the
partial a kernel returns for each chunk: a Python int, float or complex, or a
numpy scalar on the long-double and timedelta paths.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ._chunking import Array, Scratch, Walk

# Every finite float64 is an integer multiple of 2**-1074.
_FIXED_BITS = 1074

Kernel = Callable[[Array, Scratch], Any]


class ExactSum:
    """The exact sum of float partials, as an integer count of 2**-1074.

    Adding integers is associative, so the result does not depend on how the
    partials are grouped or ordered: threads cannot change it. NaN and the
    infinities are kept aside and combined as IEEE addition would.
    """

    __slots__ = ("fixed", "nan", "neg_inf", "pos_inf")

    def __init__(self) -> None:
        self.fixed = 0
        self.nan = False
        self.pos_inf = False
        self.neg_inf = False

    def add(self, x: float) -> None:
        if math.isfinite(x):
            num, den = x.as_integer_ratio()
            self.fixed += num << (_FIXED_BITS + 1 - den.bit_length())
        elif math.isnan(x):
            self.nan = True
        elif x > 0:
            self.pos_inf = True
        else:
            self.neg_inf = True

    @property
    def finite(self) -> bool:
        return not (self.nan or self.pos_inf or self.neg_inf)

    def merge(self, other: ExactSum) -> None:
        self.fixed += other.fixed
        self.nan |= other.nan
        self.pos_inf |= other.pos_inf
        self.neg_inf |= other.neg_inf

    def divided(self, n: int) -> float:
        """The sum divided by ``n``, correctly rounded to float64: one rounding in all."""
        if self.nan or (self.pos_inf and self.neg_inf):
            return math.nan
        if self.pos_inf or self.neg_inf:
            return math.inf if self.pos_inf else -math.inf
        try:
            return self.fixed / (n << _FIXED_BITS)  # int / int is correctly rounded
        except OverflowError:
            return math.inf if self.fixed > 0 else -math.inf


def exact_total(parts: list[ExactSum]) -> ExactSum:
    total = ExactSum()
    for part in parts:
        total.merge(part)
    return total


class Compensated:
    """Neumaier's running compensated sum in a numpy float type (long double)."""

    def __init__(self, zero: Any) -> None:
        self.total = zero
        self.comp = zero
        self.plain = zero

    def add(self, p: Any) -> None:
        t = self.total + p
        if abs(self.total) >= abs(p):
            self.comp += (self.total - t) + p
        else:
            self.comp += (p - t) + self.total
        self.total = t
        self.plain = self.plain + p

    def value(self) -> Any:
        # With inf or nan among the partials, compensation is meaningless
        # (inf - inf); the plain sum then gives numpy's inf or nan.
        if not (np.isfinite(self.total) and np.isfinite(self.comp)):
            return self.plain
        return self.total + self.comp


def make_complex(real: Any, imag: Any, dtype: Any) -> Any:
    # Built component by component: real + imag * 1j would turn an infinite
    # imaginary part into nan + inf j.
    out = np.zeros((), dtype=dtype)
    out.real = real
    out.imag = imag
    return out[()]


def sum_walk(kernel: Kernel) -> Walk:
    def walk(chunks: Iterator[Array], scratch: Scratch) -> ExactSum:
        acc = ExactSum()
        for chunk in chunks:
            acc.add(kernel(chunk, scratch))
        return acc

    return walk


def quiet_sum_walk(kernel: Kernel) -> Walk:
    inner = sum_walk(kernel)

    def walk(chunks: Iterator[Array], scratch: Scratch) -> Any:
        # nan * 0 and inf * 0 in the filtered kernel are expected and redone
        # there. errstate is per thread, so each worker sets its own.
        with np.errstate(invalid="ignore"):
            return inner(chunks, scratch)

    return walk


def complex_walk(kernel: Kernel) -> Walk:
    def walk(chunks: Iterator[Array], scratch: Scratch) -> tuple[ExactSum, ExactSum]:
        real, imag = ExactSum(), ExactSum()
        for chunk in chunks:
            part = kernel(chunk, scratch)
            real.add(part.real)
            imag.add(part.imag)
        return real, imag

    return walk


def int_walk(kernel: Kernel) -> Walk:
    def walk(chunks: Iterator[Array], scratch: Scratch) -> int:
        total = 0
        for chunk in chunks:
            total += kernel(chunk, scratch)
        return total

    return walk


def ordered_walk(kernel: Kernel, zero: Any) -> Walk:
    """Partials added in chunk order in the result's own type: long double, timedelta."""

    def walk(chunks: Iterator[Array], scratch: Scratch) -> Any:
        if zero.dtype.kind == "c":
            real, imag = Compensated(zero.real), Compensated(zero.real)
            for chunk in chunks:
                part = kernel(chunk, scratch)
                real.add(part.real)
                imag.add(part.imag)
            return make_complex(real.value(), imag.value(), zero.dtype)
        if zero.dtype.kind == "f":
            acc = Compensated(zero)
            for chunk in chunks:
                acc.add(kernel(chunk, scratch))
            return acc.value()
        total = zero
        for chunk in chunks:
            total = total + kernel(chunk, scratch)
        return total

    return walk


def wrap(total: int, dtype: np.dtype[Any]) -> Any:
    """``total`` modulo 2**64 as numpy's 64-bit accumulator holds it."""
    bits = 8 * dtype.itemsize
    wrapped = total % (1 << bits)
    if dtype.kind == "i" and wrapped >= 1 << (bits - 1):
        wrapped -= 1 << bits
    return dtype.type(wrapped)
