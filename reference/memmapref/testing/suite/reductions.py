"""Slice mean and filtered sum against in-memory NumPy (SPEC.md section 5)."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst

from .. import bounds
from .. import strategies as mst
from ..literals import dtype_literal, literal
from ..oracle import read_array
from ..protocol import Adapter
from ._support import fresh_file, needs_empty_arrays, shown


@st.composite
def reducible(draw: st.DrawFn) -> np.ndarray[Any, Any]:
    """Arrays whose exact sum fits the dtype, with NaN, infinities and -0.0 mixed in for floats.

    Values are capped at ``max / (n + 1)`` so that numpy's own accumulator
    cannot overflow: where it does, numpy's answer is not a mean to compare with.
    """
    dtype = draw(mst.reducible_dtypes())
    shape = draw(mst.shapes(max_dims=3))
    n = math.prod(shape)
    if dtype.kind != "f":
        return draw(mst.arrays(dtype, shape))
    finite = mst.summable_floats(dtype, n)
    elements = st.one_of(finite, st.sampled_from(mst.SPECIALS)) if draw(st.booleans()) else finite
    # No fill value: Hypothesis would otherwise make most items one repeated value,
    # and the sums would rarely be anything but zero or infinite.
    return draw(npst.arrays(dtype, shape, elements=elements, fill=st.nothing()))


def _stored(impl: Adapter, tmp_path: Path, values: np.ndarray[Any, Any]) -> tuple[Any, np.ndarray[Any, Any]]:
    """Write ``values`` through the implementation, reopen it to read; return the handle and the oracle."""
    path = fresh_file(impl, tmp_path)
    handle = impl.create(path, values.dtype, values.shape)
    impl.write(handle, ..., values)
    impl.close(handle)
    handle = impl.open(path, values.dtype, values.shape, mode=impl.reading_mode)
    return handle, read_array(path, values.dtype, values.shape, offset=impl.data_offset(path))


def exact_mean(values: np.ndarray[Any, Any]) -> float:
    """The mean, correctly rounded: exact rational arithmetic for integers, fsum for floats."""
    if values.dtype.kind in "biu":
        return float(Fraction(sum(int(v) for v in values.ravel()), values.size))
    return bounds.exact_sum(values) / values.size


def _numpy(expression: Any) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = expression()
    return result, sorted({str(w.category.__name__) for w in caught})


def _same_dtype(impl: Adapter, got: Any, expected: Any) -> None:
    shown(impl, f"np.asarray(result).dtype == {dtype_literal(np.asarray(expected).dtype)}", "numpy's dtype")
    assert np.asarray(got).dtype == np.asarray(expected).dtype, (
        f"dtype {np.asarray(got).dtype}, numpy gives {np.asarray(expected).dtype}"
    )


def _shown_equal(impl: Adapter, expected: Any) -> None:
    """The snippet's check that ``result`` is numpy's ``expected`` exactly: nan for nan, the sign of a zero."""
    if np.isnan(expected):
        shown(impl, "np.isnan(result)", f"numpy gives {expected!r}")
    else:
        sign = bool(np.signbit(expected))
        shown(impl, f"result == {literal(expected)} and np.signbit(result) == {sign}", f"numpy gives {expected!r}")


def _check_mean(impl: Adapter, tmp_path: Path, values: np.ndarray[Any, Any], index: Any) -> bool:
    """Check one slice mean; False where the clause does not apply (numpy's own accumulator overflowed)."""
    handle, oracle = _stored(impl, tmp_path, values)
    selection = np.asarray(oracle[index])
    expected, _ = _numpy(lambda: np.mean(selection))
    try:
        got, got_warnings = _numpy(lambda: impl.slice_mean(handle, index))
    finally:
        impl.close(handle)
    with impl.clause("MEAN.1"):
        _same_dtype(impl, got, expected)
    if selection.size == 0:
        with impl.clause("MEAN.5"):
            shown(impl, "np.isnan(result)", "the mean of an empty selection is nan")
            assert math.isnan(got), f"mean of an empty selection is {got!r}; numpy gives nan"
            assert "RuntimeWarning" in got_warnings, "no RuntimeWarning for an empty selection"
        return True
    finite = np.isfinite(selection.astype(np.float64))
    if not finite.all():
        with impl.clause("MEAN.6"):
            _shown_equal(impl, expected)
            assert got == expected or (math.isnan(got) and math.isnan(expected)), (
                f"got {got!r}, numpy gives {expected!r}"
            )
        return True
    if not math.isfinite(expected):
        return False
    exact = exact_mean(selection)
    bound = bounds.mean_bound(selection, np.asarray(expected).dtype)
    error = abs(float(got) - exact)
    message = f"mean {got!r} is {error!r} from the exact {exact!r}; bound {bound!r}"
    shown(
        impl, f"abs(float(result) - {literal(exact)}) <= {literal(bound)}", "further from the exact mean than the bound"
    )
    # Two assertions, so that Hypothesis reports an integer and a float failure as two bugs.
    if selection.dtype.kind in "biu":
        # Held to numpy's bound: MEAN.2's exact rounding is the reference's own promise (MEAN.4).
        with impl.clause("MEAN.2"):
            assert error <= bound, message
    else:
        with impl.clause("MEAN.3"):
            assert error <= bound, message
    return True


def _check_filtered_sum(impl: Adapter, tmp_path: Path, values: np.ndarray[Any, Any], threshold: Any) -> None:
    handle, oracle = _stored(impl, tmp_path, values)
    selected = oracle[oracle > threshold]
    expected, _ = _numpy(lambda: selected.sum())
    try:
        got, _ = _numpy(lambda: impl.filtered_sum(handle, threshold))
    finally:
        impl.close(handle)
    with impl.clause("FSUM.1"):
        _same_dtype(impl, got, expected)
    if values.dtype.kind in "biu":
        with impl.clause("FSUM.2"):
            shown(impl, f"int(result) == {int(expected)}", "numpy's integer sum")
            assert int(got) == int(expected), f"got {got!r}, numpy gives {expected!r}"
        return
    if expected == 0 or not np.isfinite(expected):
        with impl.clause("FSUM.5" if selected.size == 0 else "FSUM.4" if not np.isfinite(expected) else "FSUM.6"):
            _shown_equal(impl, expected)
            assert got == expected or (np.isnan(got) and np.isnan(expected)), f"got {got!r}, numpy gives {expected!r}"
            assert np.signbit(got) == np.signbit(expected), f"got {got!r}, numpy gives {expected!r} (sign of zero)"
        return
    exact = bounds.exact_sum(selected)
    bound = bounds.sum_bound(selected, np.asarray(expected).dtype)
    with impl.clause("FSUM.6"):
        shown(
            impl,
            f"abs(float(result) - {literal(exact)}) <= {literal(bound)}",
            "further from the exact sum than the bound",
        )
        assert abs(float(got) - exact) <= bound, (
            f"sum {got!r} is {abs(float(got) - exact)!r} from the exact {exact!r}; bound {bound!r}"
        )


# Integers small enough for every dtype: the sums are exact, so only the selection can differ.
_THRESHOLD_VALUES = np.array([0, 1, 2, 3, 100, 127])
_THRESHOLDS: list[Any] = [
    2,
    -1,
    2.5,
    -0.5,
    True,
    300,
    2**64,
    math.inf,
    math.nan,
    np.int8(2),
    np.uint8(200),
    np.int64(-3),
    np.uint64(2**64 - 1),
    np.float16(2.5),
    np.float32(0.1),
    np.float64(99.99999999999999),
    # numpy refuses these in every version: the implementation must raise its built-in error class too.
    None,
    "a",
]


# 2**k - 1, 2**k, 2**k + 1 from 2**10 to 2**24 items of int16 (at most 32 MiB a file).
_BOUNDARY_SIZES = [2**k + d for k in (10, 13, 16, 20, 24) for d in (-1, 0, 1)]


def _threshold_id(value: Any) -> str:
    return f"{type(value).__name__}({value!r})" if isinstance(value, np.generic) else repr(value)


class ReductionTests:
    @pytest.mark.clause("MEAN.1", "MEAN.2", "MEAN.3", "MEAN.5", "MEAN.6")
    @given(values=reducible(), data=st.data())
    def test_slice_mean(self, impl: Adapter, tmp_path: Path, values: np.ndarray[Any, Any], data: Any) -> None:
        needs_empty_arrays(impl, values.shape)
        assume(_check_mean(impl, tmp_path, values, data.draw(mst.indices(values.shape))))

    @pytest.mark.clause("FSUM.1", "FSUM.2", "FSUM.4", "FSUM.5", "FSUM.6")
    @given(values=reducible(), data=st.data())
    def test_filtered_sum(self, impl: Adapter, tmp_path: Path, values: np.ndarray[Any, Any], data: Any) -> None:
        needs_empty_arrays(impl, values.shape)
        _check_filtered_sum(impl, tmp_path, values, data.draw(mst.thresholds(values)))

    @pytest.mark.clause("MEAN.2", "MEAN.3", "MEAN.5", "MEAN.6", "FSUM.2", "FSUM.6")
    @pytest.mark.parametrize(
        ("values", "index", "threshold"),
        [
            (np.array([0.1, 0.2, 0.7, 0.9]), slice(None), 0.5),
            (np.array([1.0, math.nan, 2.5]), slice(0, 2), 1.5),
            (np.array([1.0, math.inf, 2.5]), slice(None), 0.0),
            (np.array([1.0, 2.0]), slice(2, 2), 3.0),
            (np.array([2**62, 2**62, 3], dtype=np.int64), slice(None), 1),
        ],
        ids=["finite", "nan", "inf", "empty", "int64-wraps"],
    )
    def test_fixed_cases(
        self, impl: Adapter, tmp_path: Path, values: np.ndarray[Any, Any], index: Any, threshold: Any
    ) -> None:
        """Cases every run checks, whatever Hypothesis draws."""
        assert _check_mean(impl, tmp_path, values, index)
        _check_filtered_sum(impl, tmp_path, values, threshold)

    @pytest.mark.clause("MEAN.1", "MEAN.5", "FSUM.1", "FSUM.5")
    @pytest.mark.parametrize("shape", [(0,), (3, 0)], ids=["0", "3x0"])
    @pytest.mark.parametrize("dtype", ["<f8", "<i4", "?"])
    def test_zero_size_file(self, impl: Adapter, tmp_path: Path, dtype: str, shape: tuple[int, ...]) -> None:
        """A file of zero items, every run: the draws of the tests above reach it only by luck."""
        impl.require(empty_arrays=True)
        values = np.zeros(shape, dtype=dtype)
        assert _check_mean(impl, tmp_path, values, slice(None))
        _check_filtered_sum(impl, tmp_path, values, 0)

    @pytest.mark.clause("MEAN.3")
    def test_where_numpy_overflows_the_clause_does_not_apply(self, impl: Adapter, tmp_path: Path) -> None:
        # numpy accumulates float32 in float32: the sum of two items near the maximum is inf.
        values = np.array([3e38, 3e38], dtype=np.float32)
        assert not _check_mean(impl, tmp_path, values, slice(None))

    @pytest.mark.clause("FSUM.3", "FSUM.4", "FSUM.5")
    def test_threshold_edges(self, impl: Adapter, tmp_path: Path) -> None:
        values = np.array([1.0, 2.0, 2.0, math.nan, math.inf, -math.inf, 3.0])
        handle, oracle = _stored(impl, tmp_path, values)
        try:
            for threshold, want in [(2.0, math.inf), (math.nan, 0.0), (math.inf, 0.0), (3.0, math.inf)]:
                got = impl.filtered_sum(handle, threshold)
                shown(impl, f"result == {literal(want)} and not np.signbit(result)", f"threshold {threshold!r}")
                assert got == want and not np.signbit(got), f"threshold {threshold!r}: got {got!r}, expected {want!r}"
            finite = oracle[np.isfinite(oracle)]
        finally:
            impl.close(handle)
        handle, _ = _stored(impl, tmp_path, finite)
        try:
            for threshold, want in [(2.0, 3.0), (1.0, 7.0)]:
                got = impl.filtered_sum(handle, threshold)
                shown(impl, f"result == {literal(want)}", "an item equal to the threshold was selected")
                assert got == want, f"threshold {threshold!r}: got {got!r}, expected {want!r}"
        finally:
            impl.close(handle)

    @pytest.mark.clause("FSUM.3")
    @pytest.mark.parametrize("threshold", _THRESHOLDS, ids=[_threshold_id(t) for t in _THRESHOLDS])
    @pytest.mark.parametrize("dtype", ["<i1", "<u1", "<i8", "<u8", "<f4", "<f8", ">f8", "?"])
    def test_threshold_of_another_type(self, impl: Adapter, tmp_path: Path, dtype: str, threshold: Any) -> None:
        """Python scalars and numpy scalars of other dtypes, compared as numpy's own expression compares them."""
        values = _THRESHOLD_VALUES.astype(dtype)
        handle, oracle = _stored(impl, tmp_path, values)
        try:
            try:
                expected, _ = _numpy(lambda: oracle[oracle > threshold].sum())
            except Exception as exc:
                builtin = next(c for c in type(exc).__mro__ if c.__module__ == "builtins")
                with impl.clause("FSUM.3"), pytest.raises(builtin):
                    impl.filtered_sum(handle, threshold)
                return
            got, _ = _numpy(lambda: impl.filtered_sum(handle, threshold))
        finally:
            impl.close(handle)
        with impl.clause("FSUM.3"):
            # Every value here is an integer below 2**7, so each selection sums exactly in every dtype.
            assert got == expected and np.asarray(got).dtype == np.asarray(expected).dtype, (
                f"filtered_sum(x, {threshold!r}) over {np.dtype(dtype)} is {got!r} "
                f"({np.asarray(got).dtype}); numpy's x[x > t].sum() gives {expected!r} ({np.asarray(expected).dtype})"
            )

    @pytest.mark.clause("FSUM.7")
    @pytest.mark.parametrize("dtype", ["M8[D]", [("a", "<i4"), ("b", "<f8")]], ids=["datetime64", "structured"])
    def test_refused_dtypes(self, impl: Adapter, tmp_path: Path, dtype: Any) -> None:
        values = np.zeros(4, dtype=dtype)
        handle, oracle = _stored(impl, tmp_path, values)
        try:
            with pytest.raises(Exception) as numpy_error:  # noqa: PT011 -- whatever numpy raises is the target
                oracle[oracle > 0.5].sum()
            builtin = next(c for c in numpy_error.type.__mro__ if c.__module__ == "builtins")
            with pytest.raises(builtin):
                impl.filtered_sum(handle, 0.5)
        finally:
            impl.close(handle)

    @pytest.mark.clause("MEAN.3", "FSUM.6")
    @pytest.mark.slow
    def test_large_file_crosses_chunk_boundaries(self, impl: Adapter, tmp_path: Path) -> None:
        # 72 MiB: more than any sensible chunk, so an implementation's chunk
        # loop runs many times and its last, partial chunk is exercised.
        n = 72 * 2**20 // 8 + 3
        path = fresh_file(impl, tmp_path)
        handle = impl.create(path, np.float64, (n,))
        rng = np.random.default_rng(20261127)
        step = 1 << 20
        for start in range(0, n, step):
            stop = min(n, start + step)
            impl.write(handle, slice(start, stop), rng.random(stop - start))
        impl.write(handle, n - 1, math.nan)
        impl.flush(handle)
        impl.close(handle)
        handle = impl.open(path, np.float64, (n,), mode=impl.reading_mode)
        try:
            oracle = read_array(path, np.float64, (n,), offset=impl.data_offset(path))
            got_sum = impl.filtered_sum(handle, 0.5)
            got_mean = impl.slice_mean(handle, slice(0, n - 1))
        finally:
            impl.close(handle)
        selected = oracle[oracle > 0.5]
        with impl.clause("FSUM.6"):
            assert abs(float(got_sum) - bounds.exact_sum(selected)) <= bounds.sum_bound(selected, np.float64)
        body = oracle[: n - 1]
        with impl.clause("MEAN.3"):
            assert abs(float(got_mean) - bounds.exact_sum(body) / body.size) <= bounds.mean_bound(body, np.float64)

    @pytest.mark.clause("FSUM.2", "MEAN.2")
    @pytest.mark.parametrize("n", _BOUNDARY_SIZES, ids=[f"n={n}" for n in _BOUNDARY_SIZES])
    def test_sizes_at_powers_of_two(self, impl: Adapter, tmp_path: Path, n: int) -> None:
        """Item counts at 2**k - 1, 2**k and 2**k + 1, where chunked loops have their seams.

        Every item is 1 but the last, which is 2: the sum counts the items visited, so a
        dropped tail, a double-counted seam or a lost last item each changes it exactly.
        """
        path = fresh_file(impl, tmp_path)
        handle = impl.create(path, np.int16, (n,))
        impl.write(handle, slice(None), 1)
        impl.write(handle, n - 1, 2)
        impl.close(handle)
        handle = impl.open(path, np.int16, (n,), mode=impl.reading_mode)
        try:
            got_sum = impl.filtered_sum(handle, 0)
            got_mean = impl.slice_mean(handle, slice(1, n))
        finally:
            impl.close(handle)
        with impl.clause("FSUM.2"):
            assert int(got_sum) == n + 1, f"sum over {n} items is {got_sum!r}; expected {n + 1}"
        with impl.clause("MEAN.2"):
            # (n - 2 ones and one 2) / (n - 1). Every partial sum is an integer below 2**53, so a
            # float64 sum is exact in any order and the division is the only rounding: u * |mean|.
            exact = n / (n - 1)
            assert abs(float(got_mean) - exact) <= bounds.unit_roundoff(np.float64) * exact, (
                f"mean of items 1..{n - 1} is {got_mean!r}; expected {exact!r}"
            )
