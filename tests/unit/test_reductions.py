"""The reference's reductions, slice_mean and filtered_sum (SPEC.md section 5).

Every property runs on a file written through the reference and compares with
in-memory numpy on the oracle's bytes. chunk_bytes=4096 gives chunks of a few
hundred items at most, so small arrays cross many chunk boundaries and, with
more than one thread, several workers.
"""

from __future__ import annotations

import math
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst

import memmapref
from memmapref import _chunking
from memmapref.errors import ClosedError, FileSizeError, MemmapError, ReductionArgumentError
from memmapref.testing import bounds, profiles
from memmapref.testing import strategies as mst
from memmapref.testing.oracle import read_array
from memmapref.testing.subproc import run_python

CHUNK = 4096
# The most float items one chunk holds at CHUNK: a chunk holds at most CHUNK bytes
# of input, and float items take at least 2 bytes.
CHUNK_ITEMS = CHUNK // 2
THREADS = st.sampled_from([1, 2, 3])

WIDE = ["g", "G"]  # long double and its complex: numpy's own accumulator type


# ---------------------------------------------------------------------------
# Helpers


@contextmanager
def stored(
    tmp_path: Path, values: np.ndarray[Any, Any]
) -> Iterator[tuple[memmapref.MappedArray, np.ndarray[Any, Any]]]:
    """A read-only handle on a file holding ``values``, and the oracle read back from the file."""
    path = tmp_path / "values.dat"
    with memmapref.create(path, values.dtype, values.shape) as out:
        out[...] = values
    oracle = read_array(path, values.dtype, values.shape)
    with memmapref.open(path, values.dtype, values.shape) as handle:
        yield handle, oracle


def quietly(expression: Callable[[], Any]) -> Any:
    """numpy's answer without its overflow and invalid-value warnings (the oracle is not under test)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return expression()


def same(got: Any, expected: Any) -> bool:
    """Equal, with nan equal to nan and the sign of zero compared, per component for complex."""
    if np.iscomplexobj(expected):
        return same(np.real(got), np.real(expected)) and same(np.imag(got), np.imag(expected))
    got, expected = float(got), float(expected)
    if math.isnan(expected):
        return math.isnan(got)
    return got == expected and math.copysign(1, got) == math.copysign(1, expected)


def components(values: np.ndarray[Any, Any]) -> list[np.ndarray[Any, Any]]:
    if values.dtype.kind == "c":
        return [np.ascontiguousarray(values.real), np.ascontiguousarray(values.imag)]
    return [values]


def parts(value: Any) -> list[Any]:
    return [np.real(value), np.imag(value)] if np.iscomplexobj(value) else [value]


# ---------------------------------------------------------------------------
# Properties against numpy and the exact values


@pytest.mark.clause("MEAN.1", "MEAN.2", "MEAN.3", "MEAN.4", "MEAN.6")
@given(values=mst.numeric_arrays(), data=st.data(), threads=THREADS)
def test_slice_mean_matches_numpy_within_the_bounds(
    tmp_path: Path, values: np.ndarray[Any, Any], data: st.DataObject, threads: int
) -> None:
    index = data.draw(npst.basic_indices(values.shape, allow_newaxis=True))
    with stored(tmp_path, values) as (handle, oracle):
        selection = np.asarray(oracle[index])
        if selection.size == 0:
            return  # MEAN.5, tested on its own below
        expected = quietly(lambda: np.mean(selection))
        got = quietly(lambda: memmapref.slice_mean(handle, index, chunk_bytes=CHUNK, threads=threads))
    assert np.asarray(got).dtype == np.asarray(expected).dtype
    if selection.dtype.kind in "biu":
        exact = Fraction(sum(int(v) for v in selection.ravel()), selection.size)
        assert got == float(exact), f"mean {got!r}; the exact mean rounds to {float(exact)!r}"
        return
    if not all(np.isfinite(part).all() for part in components(selection)):
        assert same(got, expected), f"got {got!r}, numpy gives {expected!r}"
        return
    result = np.asarray(expected).dtype
    for got_part, values_part in zip(parts(got), components(selection), strict=True):
        exact = bounds.exact_total(values_part) / values_part.size
        ours = bounds.reference_mean_bound(values_part, CHUNK_ITEMS, result)
        numpys = bounds.mean_bound(values_part, result)
        assert bounds.within_exact(got_part, exact, ours), f"mean {got_part!r} vs exact {float(exact)!r}: over {ours!r}"
        assert bounds.within_exact(got_part, exact, numpys)


@pytest.mark.clause("FSUM.1", "FSUM.2", "FSUM.3", "FSUM.4", "FSUM.5", "FSUM.6")
@given(values=mst.numeric_arrays(), data=st.data(), threads=THREADS)
def test_filtered_sum_matches_numpy_within_the_bounds(
    tmp_path: Path, values: np.ndarray[Any, Any], data: st.DataObject, threads: int
) -> None:
    threshold = data.draw(mst.typed_thresholds(values))
    with stored(tmp_path, values) as (handle, oracle):
        # Complex items compared with nan warn (invalid value); both sides alike.
        selected = quietly(lambda: oracle[oracle > threshold])
        expected = quietly(lambda: selected.sum())
        got = quietly(lambda: memmapref.filtered_sum(handle, threshold, chunk_bytes=CHUNK, threads=threads))
    assert np.asarray(got).dtype == np.asarray(expected).dtype
    if values.dtype.kind in "biu":
        assert got == expected, f"got {got!r}, numpy gives {expected!r}"
        return
    if not all(np.isfinite(part).all() for part in components(selected)):
        assert same(got, expected), f"got {got!r}, numpy gives {expected!r}"
        return
    result = np.asarray(expected).dtype
    for got_part, want_part, values_part in zip(parts(got), parts(expected), components(selected), strict=True):
        if not values_part.any():  # nothing selected, or only zeros: numpy's +0.0
            assert same(got_part, want_part), f"got {got!r}, numpy gives {expected!r}"
            continue
        exact = bounds.exact_total(values_part)
        with np.errstate(over="ignore"):
            representable = np.isfinite(result.type(float(exact)))
        if not representable:  # float16 sums past 65504: numpy's answer is inf, and so must ours be
            assert same(got_part, want_part), f"got {got!r}, numpy gives {expected!r}"
            continue
        ours = bounds.reference_sum_bound(values_part, CHUNK_ITEMS, result)
        numpys = bounds.sum_bound(values_part, result)
        assert bounds.within_exact(got_part, exact, ours), f"sum {got_part!r} vs exact {float(exact)!r}: over {ours!r}"
        assert bounds.within_exact(got_part, exact, numpys)


@pytest.mark.clause("REDUCE.2")
@settings(max_examples=profiles.scaled(0.5))
@given(values=mst.numeric_arrays(dtypes=["<f8", ">f4", "<c16", "<i8"]), data=st.data())
def test_results_do_not_depend_on_threads(tmp_path: Path, values: np.ndarray[Any, Any], data: st.DataObject) -> None:
    index = data.draw(npst.basic_indices(values.shape))
    threshold = data.draw(mst.typed_thresholds(values))
    with stored(tmp_path, values) as (handle, _):
        means = {
            quietly(lambda t=t: np.asarray(memmapref.slice_mean(handle, index, chunk_bytes=CHUNK, threads=t)).tobytes())
            for t in (1, 2, 3, 4, 2)
        }
        sums = {
            quietly(
                lambda t=t: np.asarray(
                    memmapref.filtered_sum(handle, threshold, chunk_bytes=CHUNK, threads=t)
                ).tobytes()
            )
            for t in (1, 2, 3, 4, 2)
        }
    assert len(means) == 1 and len(sums) == 1, "a result changed with the number of threads"


# ---------------------------------------------------------------------------
# Result dtypes, every numeric kind


@pytest.mark.clause("MEAN.1", "FSUM.1")
@pytest.mark.parametrize("dtype", [*mst.NUMERIC_NAMES, *WIDE])
@pytest.mark.parametrize("threads", [1, 2])
def test_result_dtypes_and_values_match_numpy(tmp_path: Path, dtype: str, threads: int) -> None:
    rng = np.random.default_rng(7)
    kind = np.dtype(dtype).kind
    if kind == "f":
        values = rng.standard_normal((30, 40)).astype(dtype)
    elif kind == "c":
        values = (rng.standard_normal((30, 40)) + 1j * rng.standard_normal((30, 40))).astype(dtype)
    else:
        values = rng.integers(0, 2 if kind == "b" else 100, (30, 40)).astype(dtype)
    with stored(tmp_path, values) as (handle, oracle):
        for index in [..., np.s_[::-2, 3:31:3], np.s_[:, 7]]:
            view = oracle[index]
            mean, want_mean = memmapref.slice_mean(handle, index, chunk_bytes=CHUNK, threads=threads), np.mean(view)
            assert np.asarray(mean).dtype == np.asarray(want_mean).dtype
            for got_part, values_part in zip(
                parts(mean), components(view.astype(view.dtype.newbyteorder("="))), strict=True
            ):
                exact = Fraction(bounds.exact_total(values_part)) / values_part.size
                assert bounds.within_exact(got_part, exact, bounds.mean_bound(values_part, np.asarray(want_mean).dtype))
        for threshold in [0, 0.5, 50]:
            got, want = (
                memmapref.filtered_sum(handle, threshold, chunk_bytes=CHUNK, threads=threads),
                oracle[oracle > threshold].sum(),
            )
            assert np.asarray(got).dtype == np.asarray(want).dtype
            if kind not in "fc":
                assert got == want
                continue
            selected = oracle[oracle > threshold]
            for got_part, values_part in zip(parts(got), components(selected), strict=True):
                assert bounds.within_exact(
                    got_part, bounds.exact_total(values_part), bounds.sum_bound(values_part, want.dtype)
                )


@pytest.mark.clause("MEAN.1", "FSUM.1")
@pytest.mark.parametrize("dtype", ["<m8[s]", ">m8[ms]"])
def test_timedelta_matches_numpy_exactly(tmp_path: Path, dtype: str) -> None:
    values = np.arange(-500, 700).astype(dtype)
    with stored(tmp_path, values) as (handle, oracle):
        for index in [..., np.s_[::7]]:
            got = memmapref.slice_mean(handle, index, chunk_bytes=CHUNK)
            want = np.mean(oracle[index])
            assert got == want and np.asarray(got).dtype == np.asarray(want).dtype
        threshold = np.timedelta64(3, "s")
        got = memmapref.filtered_sum(handle, threshold, chunk_bytes=CHUNK, threads=2)
        want = oracle[oracle > threshold].sum()
        assert got == want and np.asarray(got).dtype == np.asarray(want).dtype


@pytest.mark.clause("MEAN.1", "FSUM.1")
def test_long_double_keeps_its_precision(tmp_path: Path) -> None:
    # 1 + 2**-60 is exact in x86 long double and lost in float64.
    tiny = np.longdouble(2) ** -60
    values = np.full(1000, 1, dtype=np.longdouble) + tiny
    if values[0] == 1:
        pytest.skip("long double is float64 on this platform")
    with stored(tmp_path, values) as (handle, _):
        mean = memmapref.slice_mean(handle, chunk_bytes=CHUNK)
        total = memmapref.filtered_sum(handle, 1, chunk_bytes=CHUNK)
    assert mean.dtype == np.longdouble and mean - 1 > 0, "the mean lost what float64 cannot hold"
    assert total.dtype == np.longdouble and total - 1000 > 0


# ---------------------------------------------------------------------------
# Edges of each clause


@pytest.mark.clause("MEAN.5")
@pytest.mark.parametrize("dtype", ["f8", "i4", "?", "c16", "m8[s]"])
def test_empty_selection_mean_is_nan_with_numpys_warning(tmp_path: Path, dtype: str) -> None:
    with stored(tmp_path, np.zeros((4, 5), dtype=dtype)) as (handle, _), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = memmapref.slice_mean(handle, np.s_[2:2])
    # numpy's own warnings, whose wording differs between versions ("Mean of empty slice." on 1.26).
    with warnings.catch_warnings(record=True) as numpys:
        warnings.simplefilter("always")
        np.mean(np.zeros((0, 5), dtype=dtype))
    warned = [str(w.message) for w in caught if w.category is RuntimeWarning]
    expected = [str(w.message) for w in numpys if w.category is RuntimeWarning]
    assert np.isnat(got) if dtype.startswith("m8") else np.isnan(got)
    assert any(text.startswith("Mean of empty slice") for text in expected)
    assert warned == expected


@pytest.mark.clause("MEAN.6")
def test_mean_non_finite_items_as_numpy(tmp_path: Path) -> None:
    values = np.linspace(-1, 1, 2000)
    cases = {
        "nan": {7: math.nan},
        "inf": {1500: math.inf},
        "-inf": {3: -math.inf},
        "both": {3: math.inf, 1800: -math.inf},
    }
    for places in cases.values():
        changed = values.copy()
        for i, v in places.items():
            changed[i] = v
        with stored(tmp_path, changed) as (handle, oracle):
            want = quietly(lambda: np.mean(oracle))
            for threads in (1, 2):
                assert same(memmapref.slice_mean(handle, chunk_bytes=CHUNK, threads=threads), want)


@pytest.mark.clause("MEAN.6")
def test_complex_mean_with_an_infinity_as_numpy(tmp_path: Path) -> None:
    values = np.ones(1000, dtype=np.complex128)
    values[10] = complex(math.inf, 0)
    with stored(tmp_path, values) as (handle, oracle):
        with pytest.warns(RuntimeWarning):
            want = np.mean(oracle)
        with pytest.warns(RuntimeWarning):
            got = memmapref.slice_mean(handle, chunk_bytes=CHUNK)
    assert same(got, want)  # (inf+nanj): numpy's complex division by n


@pytest.mark.clause("FSUM.4")
@pytest.mark.parametrize("threads", [1, 2])
def test_non_finite_items_and_thresholds(tmp_path: Path, threads: int) -> None:
    values = np.tile([1.0, 2.0, math.nan, math.inf, -math.inf, 3.0, -0.0, 0.25], 100)
    with stored(tmp_path, values) as (handle, oracle):
        for threshold in [2.0, math.nan, math.inf, -math.inf, 0.0, -1.0, 3.0]:
            want = oracle[oracle > threshold].sum()
            got = memmapref.filtered_sum(handle, threshold, chunk_bytes=CHUNK, threads=threads)
            assert same(got, want), f"threshold {threshold!r}: got {got!r}, numpy gives {want!r}"


@pytest.mark.clause("FSUM.5")
@pytest.mark.parametrize("dtype", ["f8", "f4", "f2", "i8", "u2", "?", "c8"])
def test_empty_selection_and_empty_array_give_positive_zero(tmp_path: Path, dtype: str) -> None:
    values = np.zeros(3000, dtype=dtype)
    with stored(tmp_path, values) as (handle, oracle):
        for threshold in [1, 0]:
            got = memmapref.filtered_sum(handle, threshold, chunk_bytes=CHUNK)
            want = oracle[oracle > threshold].sum()
            assert same(got, want) and np.asarray(got).dtype == np.asarray(want).dtype
    empty = np.zeros(0, dtype=dtype)
    assert same(memmapref.filtered_sum(empty, -1), empty[empty > -1].sum())


@pytest.mark.clause("MEAN.6", "FSUM.5")
def test_negative_zeros_mean_and_sum_to_positive_zero() -> None:
    # numpy's sum of -0.0 items is +0.0 (its reduction starts from +0.0).
    values = np.full(2000, -0.0)
    mixed = values.copy()
    mixed[::3] = -5.0
    for x in (values, mixed):
        want = x[x > -1].sum()
        assert not np.signbit(want)
        assert same(memmapref.filtered_sum(x, -1, chunk_bytes=CHUNK, threads=2), want)
    for chunk_bytes in (CHUNK, memmapref.DEFAULT_CHUNK_BYTES):
        assert same(memmapref.slice_mean(values, chunk_bytes=chunk_bytes), np.mean(values))


@pytest.mark.clause("FSUM.3")
def test_comparison_in_the_items_own_type() -> None:
    # Which items a threshold selects is numpy's to say, so it comes from numpy's
    # own x > t: under NEP 50 (numpy 2) float32(0.1) is not above a Python 0.1
    # but is above float64(0.1); numpy 1.x compares any scalar threshold by its
    # value in float32 here, so neither selects.
    values = np.full(1000, 0.1, dtype=np.float32)
    for threshold in [0.1, np.float64(0.1), np.float32(0.1), 0]:
        selected = values[values > threshold]
        got = memmapref.filtered_sum(values, threshold, chunk_bytes=CHUNK)
        assert np.asarray(got).dtype == np.float32
        bound = bounds.reference_sum_bound(selected, CHUNK_ITEMS, np.float32)
        assert bounds.within_exact(got, bounds.exact_total(selected), bound)
    for threshold in [0.1, np.float64(0.1)]:
        selects = bool((values > threshold).all())
        assert selects or not (values > threshold).any()
        assert (memmapref.filtered_sum(values, threshold) > 0) == selects


@pytest.mark.clause("FSUM.3")
def test_integer_items_against_thresholds_numpy_cannot_cast() -> None:
    values = np.arange(-1000, 1000, dtype=np.int64)
    for threshold in [2**70, -(2**70), 0.5, math.nan]:
        assert memmapref.filtered_sum(values, threshold, chunk_bytes=CHUNK) == values[values > threshold].sum()
    unsigned = np.arange(2000, dtype=np.uint64)
    assert memmapref.filtered_sum(unsigned, -1, chunk_bytes=CHUNK) == unsigned.sum()


@pytest.mark.clause("MEAN.2")
@pytest.mark.parametrize("dtype", ["<u8", ">u8", "<i8", ">i8"])
def test_mean_of_a_single_64_bit_item(tmp_path: Path, dtype: str) -> None:
    # A 0-d selection: numpy 1.x casts a 0-d uint64 and a Python int operand to float64.
    info = np.iinfo(dtype)
    values = np.array([info.max, info.min, 7], dtype=dtype)
    with stored(tmp_path, values) as (handle, oracle):
        for i in range(values.size):
            got = memmapref.slice_mean(handle, (i,))
            assert np.asarray(got).dtype == np.mean(oracle[i]).dtype
            assert got == float(int(oracle[i])), f"mean {got!r} of the single item {int(oracle[i])}"


@pytest.mark.clause("FSUM.2")
@pytest.mark.parametrize("dtype", ["i8", ">i8", "u8", "i4"])
def test_integer_sums_wrap_around_as_numpy(tmp_path: Path, dtype: str) -> None:
    info = np.iinfo(dtype)
    values = np.full(2000, info.max, dtype=dtype)
    values[::5] = info.min
    with stored(tmp_path, values) as (handle, oracle):
        for threshold in [info.min, 0, -1]:
            want = oracle[oracle > threshold].sum()
            assert memmapref.filtered_sum(handle, threshold, chunk_bytes=CHUNK, threads=2) == want


@pytest.mark.clause("MEAN.2")
@pytest.mark.parametrize("dtype", ["i8", "u8", "i2", "?"])
def test_integer_mean_is_the_exact_mean_rounded(dtype: str) -> None:
    info = np.iinfo(dtype) if dtype != "?" else None
    values = np.full(3000, info.max if info else True, dtype=dtype)
    values[::7] = info.min if info else False
    exact = Fraction(sum(int(v) for v in values[1::3]), values[1::3].size)
    assert memmapref.slice_mean(values, np.s_[1::3], chunk_bytes=CHUNK, threads=2) == float(exact)


@pytest.mark.clause("FSUM.6")
def test_sum_beyond_float64_range_is_infinite_as_numpy() -> None:
    # At most one huge item per chunk (a chunk holds at most CHUNK bytes): every
    # chunk's sum is finite, the total is not.
    huge = np.zeros(2000)
    huge[:: CHUNK // 8] = 1.5e308
    for values in (huge, -huge):
        want = quietly(lambda v=values: v[v > -math.inf].sum())
        assert same(memmapref.filtered_sum(values, -math.inf, chunk_bytes=CHUNK, threads=2), want)


@pytest.mark.clause("FSUM.6")
def test_float16_overflow_warns_as_numpy() -> None:
    values = np.full(1000, 1000, dtype=np.float16)
    with pytest.warns(RuntimeWarning, match="overflow"):
        want = values[values > 0].sum()
    with pytest.warns(RuntimeWarning, match="overflow"):
        got = memmapref.filtered_sum(values, 0, chunk_bytes=CHUNK)
    assert same(got, want)


@pytest.mark.clause("FSUM.7")
@pytest.mark.parametrize("dtype", ["M8[D]", [("a", "<i4"), ("b", "<f8")]], ids=["datetime64", "structured"])
def test_dtypes_numpy_refuses_raise_numpys_exception(tmp_path: Path, dtype: Any) -> None:
    with stored(tmp_path, np.zeros(10, dtype=dtype)) as (handle, oracle):
        with pytest.raises(TypeError):
            oracle[oracle > 0.5].sum()
        with pytest.raises(TypeError):
            memmapref.filtered_sum(handle, 0.5)


def test_object_arrays_are_numpys_expression() -> None:
    values = np.array([1, 2.5, 3], dtype=object)
    assert memmapref.filtered_sum(values, 1) == 5.5
    assert memmapref.slice_mean(values) == np.mean(values)


def test_inputs_other_than_handles() -> None:
    values = [0.25, 0.75, 1.0]
    assert memmapref.filtered_sum(values, 0.5) == 1.75
    assert memmapref.slice_mean(values, 1) == 0.75
    assert memmapref.slice_mean(np.float32(2.5)) == np.float32(2.5)


# ---------------------------------------------------------------------------
# Arguments


@pytest.mark.parametrize("chunk_bytes", [4095, 0, -1, "4096", 4096.0, True, None])
def test_chunk_bytes_must_be_an_integer_of_at_least_4096(chunk_bytes: Any) -> None:
    for call in (memmapref.slice_mean, lambda a, **k: memmapref.filtered_sum(a, 0.5, **k)):
        with pytest.raises(
            ReductionArgumentError, match=r"got chunk_bytes=.*; expected an integer of at least 4096; fix:"
        ):
            call(np.ones(10), chunk_bytes=chunk_bytes)


@pytest.mark.parametrize("threads", [0, -1, 1.5, True, "2"])
def test_threads_must_be_a_positive_integer(threads: Any) -> None:
    for call in (memmapref.slice_mean, lambda a, **k: memmapref.filtered_sum(a, 0.5, **k)):
        with pytest.raises(ReductionArgumentError, match=r"got threads=.*; expected a positive integer or None; fix:"):
            call(np.ones(10), threads=threads)


@pytest.mark.parametrize("threshold", [[0.5], np.array([0.5, 1.0]), np.zeros((1, 1))])
def test_threshold_must_be_a_scalar(threshold: Any) -> None:
    with pytest.raises(ReductionArgumentError, match=r"got a threshold of shape .*; expected a scalar threshold; fix:"):
        memmapref.filtered_sum(np.ones(10), threshold)


def test_argument_errors_are_value_errors_and_memmap_errors() -> None:
    assert issubclass(ReductionArgumentError, ValueError) and issubclass(ReductionArgumentError, MemmapError)


def test_numpy_integers_are_accepted() -> None:
    values = np.linspace(0, 1, 5000)
    want = memmapref.filtered_sum(values, 0.5, chunk_bytes=CHUNK, threads=2)
    assert memmapref.filtered_sum(values, 0.5, chunk_bytes=np.int64(CHUNK), threads=np.int32(2)) == want


def test_default_threads_fit_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    assert 1 <= _chunking.default_threads() <= _chunking.SHARED_WORKERS
    assert _chunking.default_threads() <= len(os.sched_getaffinity(0))
    # Platforms without CPU affinity (macOS) count the CPUs instead.
    monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    _chunking._usable_cores.cache_clear()
    try:
        assert _chunking.default_threads() == 1
    finally:
        _chunking._usable_cores.cache_clear()


@pytest.mark.parametrize("dtype", ["<f8", "<i2", "|u1", "<c16"])
def test_reads_land_apart_from_their_source_in_the_page(dtype: str) -> None:
    # A destination 1 to 63 bytes past the source's place in its page makes the
    # kernel's copy five times slower (4K aliasing): every file offset, every length.
    scratch = _chunking.Scratch(1000)
    dt = np.dtype(dtype)
    owner = scratch.landing(dt, 1, 0).base
    for at in range(0, 2 * 4096, 8):
        for n in (1, 999, 1000):
            out = scratch.landing(dt, n, at)
            address = out.__array_interface__["data"][0]
            assert (out.shape, out.dtype) == ((n,), dt)
            assert address % 64 == 0 and (address - at) % 4096 >= 64, (at, n, address)
            assert out.base is owner  # one buffer per worker, reused for every chunk


def test_closed_handle_is_refused(tmp_path: Path) -> None:
    with stored(tmp_path, np.ones(10)) as (handle, _):
        pass
    with pytest.raises(ClosedError):
        memmapref.slice_mean(handle)
    with pytest.raises(ClosedError):
        memmapref.filtered_sum(handle, 0.5)


# ---------------------------------------------------------------------------
# REDUCE.3: the file shrinks between chunks


def truncate_on_call(handle: memmapref.MappedArray, call: int, size: int) -> None:
    """Make the handle's size check truncate its file to ``size`` on its ``call``-th use, then check.

    The truncation goes through a descriptor of its own, as another process's would.
    """
    real = handle.check_size
    calls = 0
    lock = threading.Lock()

    def check(*own: int) -> None:
        nonlocal calls
        with lock:
            calls += 1
            if calls == call:
                fd = os.open(handle.path, os.O_WRONLY)
                try:
                    os.ftruncate(fd, size)
                finally:
                    os.close(fd)
        real(*own)

    handle.check_size = check  # type: ignore[method-assign]


@pytest.mark.clause("REDUCE.3")
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(
    ("reduction", "index"),
    [("slice_mean", ...), ("slice_mean", np.s_[::3, 2:]), ("filtered_sum", ...)],
    ids=["mean-contiguous", "mean-strided", "filtered-sum"],
)
def test_a_file_shrinking_between_chunks_raises(tmp_path: Path, threads: int, index: Any, reduction: str) -> None:
    # One item short: the last page stays partly inside the file, so no
    # access can fault (SIGBUS) whatever a second worker is doing.
    values = np.linspace(0, 1, 3000 * 16).reshape(3000, 16)
    calls = {
        "slice_mean": lambda h: memmapref.slice_mean(h, index, chunk_bytes=CHUNK, threads=threads),
        "filtered_sum": lambda h: memmapref.filtered_sum(h, 0.5, chunk_bytes=CHUNK, threads=threads),
    }
    with stored(tmp_path, values) as (handle, _):
        truncate_on_call(handle, 3, values.nbytes - 8)
        with pytest.raises(FileSizeError) as info:
            calls[reduction](handle)
    assert isinstance(info.value, ValueError)
    assert (info.value.expected, info.value.actual) == (values.nbytes, values.nbytes - 8)


@pytest.mark.clause("REDUCE.3")
@pytest.mark.subprocess
def test_a_file_cut_in_half_raises_instead_of_sigbus(tmp_path: Path) -> None:
    path = tmp_path / "cut.dat"
    with memmapref.create(path, np.float64, (1 << 16,)) as out:
        out[:] = 1.0
    code = f"""
import os, numpy as np, memmapref
from memmapref.errors import FileSizeError
for reduction in (memmapref.slice_mean, lambda h, **k: memmapref.filtered_sum(h, 0.5, **k)):
    with memmapref.open({str(path)!r}, np.float64) as handle:
        real, calls = handle.check_size, [0]
        def check(*fd):
            calls[0] += 1
            if calls[0] == 3:
                os.truncate({str(path)!r}, {(1 << 18)})
            real(*fd)
        handle.check_size = check
        try:
            reduction(handle, chunk_bytes=4096, threads=1)
        except FileSizeError as exc:
            print("raised", isinstance(exc, ValueError))
    os.truncate({str(path)!r}, {1 << 19})
"""
    outcome = run_python(code)
    assert outcome.signal is None, f"child killed by {outcome.signal}: {outcome.stderr}"
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.stdout.split("\n")[:2] == ["raised True", "raised True"], outcome.stdout


def helper_fails_first() -> tuple[Callable[..., None], list[int]]:
    """A size check that fails in any helper thread, and lets the calling thread go on once it has."""
    failed = threading.Event()
    checks_after_failure: list[int] = []
    waited: list[bool] = []
    main = threading.current_thread()

    def check(*fd: int) -> None:
        if threading.current_thread() is not main:
            failed.set()
            raise OSError("simulated failure in a helper thread")
        if failed.is_set():
            checks_after_failure.append(1)
        elif not waited:  # once: without a helper the call then goes on and ends unraised
            waited.append(failed.wait(timeout=10))
            time.sleep(0.05)  # the failing worker sets the stop flag meanwhile

    return check, checks_after_failure


@pytest.mark.parametrize(
    ("reduction", "index"),
    [("slice_mean", ...), ("slice_mean", np.s_[::2]), ("filtered_sum", ...)],
    ids=["read", "mapped-strided", "filtered-read"],
)
def test_a_failing_worker_stops_the_others(tmp_path: Path, reduction: str, index: Any) -> None:
    """An error in one worker is raised by the call, and the other workers stop at their next chunk.

    The handle's size check, which every worker runs before each chunk, is the
    one that fails: on the read path (contiguous) and on the mapped one (strided).
    """
    values = np.linspace(0, 1, 100_000)
    # 64 KiB chunks: two workers (at 4 KiB their bookkeeping leaves room for one), at least 13 chunks.
    chunk_bytes = 1 << 16
    calls = {
        "slice_mean": lambda h: memmapref.slice_mean(h, index, chunk_bytes=chunk_bytes, threads=2),
        "filtered_sum": lambda h: memmapref.filtered_sum(h, 0.5, chunk_bytes=chunk_bytes, threads=2),
    }
    check, checks_after_failure = helper_fails_first()
    with stored(tmp_path, values) as (handle, _):
        handle.check_size = check  # type: ignore[method-assign]
        with pytest.raises(OSError, match="simulated"):
            calls[reduction](handle)
    assert not checks_after_failure, "the calling thread's worker went on after the helper failed"


@pytest.mark.clause("FSUM.3")
def test_threshold_numpy_compares_as_a_python_object() -> None:
    values = np.linspace(0, 1, 3000)
    threshold = Fraction(1, 2)
    got = memmapref.filtered_sum(values, threshold, chunk_bytes=CHUNK)
    selected = values[values > threshold]
    assert bounds.within_exact(
        got, bounds.exact_total(selected), bounds.reference_sum_bound(selected, CHUNK_ITEMS, np.float64)
    )


@pytest.mark.clause("MEAN.6", "FSUM.4")
@pytest.mark.parametrize("dtype", ["g", "G"])
def test_long_double_infinities_as_numpy(dtype: str) -> None:
    values = np.ones(1000, dtype=dtype)
    values[700] = np.inf
    for places in ({}, {100: -np.inf}):
        changed = values.copy()
        for i, v in places.items():
            changed[i] = v
        assert same(
            quietly(lambda c=changed: memmapref.slice_mean(c, chunk_bytes=CHUNK)), quietly(lambda c=changed: np.mean(c))
        )
        want = quietly(lambda c=changed: c[c > -2].sum())
        assert same(quietly(lambda c=changed: memmapref.filtered_sum(c, -2, chunk_bytes=CHUNK)), want)


# ---------------------------------------------------------------------------
# The bounds helpers themselves


def test_bounds_within_compares_non_finite_values_exactly() -> None:
    assert bounds.within(np.float64(math.nan), math.nan, 0.0)
    assert not bounds.within(1.0, math.nan, math.inf)
    assert bounds.within(math.inf, math.inf, 0.0) and not bounds.within(-math.inf, math.inf, math.inf)
    assert bounds.within(1.0 + 2**-52, 1.0, 2**-52) and not bounds.within(1.0 + 2**-51, 1.0, 2**-52)
    with pytest.raises(TypeError, match="per component"):
        bounds.within(np.complex128(1), 1.0, 0.0)


def test_bounds_gamma_has_no_bound_past_one_over_u() -> None:
    assert bounds.gamma(2**53, 2**-53) == math.inf
    assert bounds.gamma(2, 2**-53) == pytest.approx(2 * 2**-53, rel=2**-50)


def test_reference_bound_is_tighter_than_numpys_for_float32() -> None:
    values = np.full(10_000, 0.1, dtype=np.float32)
    assert bounds.reference_sum_bound(values, 256, np.float32) < bounds.sum_bound(values, np.float32)
    assert bounds.reference_mean_bound(values, 256, np.float32) < bounds.mean_bound(values, np.float32)
