"""Hypothesis strategies for the conformance suite: dtypes, shapes as callers spell them, data, indices."""

from __future__ import annotations

import math
import mmap
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst

from . import bounds

# Small sides keep each example to a few KiB; chunk boundaries are crossed by
# the dedicated large-array tests and by the reference's 4 KiB test chunks.
MAX_SIDE = 6
MAX_DIMS = 5

NUMERIC = st.one_of(
    npst.boolean_dtypes(),
    npst.integer_dtypes(endianness="?"),
    npst.unsigned_integer_dtypes(endianness="?"),
    npst.floating_dtypes(endianness="?", sizes=(16, 32, 64)),
    npst.complex_number_dtypes(endianness="?", sizes=(64, 128)),
)
TIME = st.one_of(npst.datetime64_dtypes(endianness="?"), npst.timedelta64_dtypes(endianness="?"))
STRUCTURED = npst.array_dtypes(
    subtype_strategy=st.one_of(
        npst.integer_dtypes(endianness="?"), npst.floating_dtypes(endianness="?", sizes=(32, 64))
    ),
    min_size=1,
    max_size=3,
)


def dtypes() -> st.SearchStrategy[np.dtype[Any]]:
    """Every numeric dtype and bool in both byte orders, datetime64, timedelta64, simple structured dtypes."""
    return st.one_of(NUMERIC, TIME, STRUCTURED)


def float_dtypes() -> st.SearchStrategy[np.dtype[Any]]:
    return npst.floating_dtypes(endianness="?", sizes=(16, 32, 64))


def reducible_dtypes() -> st.SearchStrategy[np.dtype[Any]]:
    """Dtypes whose mean and filtered sum numpy computes: bool, integers, floats."""
    return st.one_of(
        npst.boolean_dtypes(),
        npst.integer_dtypes(endianness="?"),
        npst.unsigned_integer_dtypes(endianness="?"),
        float_dtypes(),
    )


def shapes(min_dims: int = 0, max_dims: int = MAX_DIMS) -> st.SearchStrategy[tuple[int, ...]]:
    """Shapes from 0-d to 5-d, zero-size dimensions included."""
    return npst.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=0, max_side=MAX_SIDE)


_INT_TYPES = st.sampled_from([int, np.int64, np.intp, np.int32, np.uint16])


@st.composite
def spelled(draw: st.DrawFn, shape: tuple[int, ...]) -> Any:
    """``shape`` as a caller may pass it: tuple or list, a bare int for 1-d, numpy integer entries."""
    kind = draw(_INT_TYPES)
    entries = [kind(n) for n in shape]
    forms = ["tuple", "list"] + (["bare"] if len(shape) == 1 else [])
    form = draw(st.sampled_from(forms))
    if form == "bare":
        return entries[0]
    return tuple(entries) if form == "tuple" else entries


def orders() -> st.SearchStrategy[str]:
    return st.sampled_from(["C", "F"])


def offsets() -> st.SearchStrategy[int]:
    """Zero, unaligned, and beyond ``mmap.ALLOCATIONGRANULARITY`` (aligned and not)."""
    g = mmap.ALLOCATIONGRANULARITY
    return st.one_of(
        st.just(0),
        st.integers(1, 64),
        st.sampled_from([g, g + 1, 2 * g + 7]),
    )


def arrays(dtype: np.dtype[Any], shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray[Any, Any]]:
    """Values with NaN, infinities, -0.0, subnormals and integer extremes (Hypothesis' defaults for ``dtype``)."""
    return npst.arrays(dtype, shape)


def indices(shape: tuple[int, ...]) -> st.SearchStrategy[Any]:
    """Basic indices (steps, negative steps, Ellipsis, newaxis) and advanced ones (integer arrays, masks)."""
    options: list[st.SearchStrategy[Any]] = [
        npst.basic_indices(shape, min_dims=0, allow_newaxis=True, allow_ellipsis=True)
    ]
    if shape and all(shape):
        options.append(npst.integer_array_indices(shape))
    options.append(npst.arrays(np.bool_, shape))
    return st.one_of(options)


@st.composite
def thresholds(draw: st.DrawFn, values: np.ndarray[Any, Any]) -> Any:
    """Thresholds drawn from the data itself, so that equality at the threshold is exercised."""
    flat = values.ravel()
    if flat.size and draw(st.booleans()):
        item = flat[draw(st.integers(0, flat.size - 1))]
        return item if draw(st.booleans()) else item.item()
    return draw(npst.from_dtype(values.dtype.newbyteorder("=")))


def offsets_for(capabilities: Any) -> st.SearchStrategy[int]:
    """Offsets the implementation supports: all of :func:`offsets`, or only 0."""
    return offsets() if capabilities.offsets else st.just(0)


def orders_for(capabilities: Any) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(capabilities.orders))


def modes_for(capabilities: Any) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(capabilities.modes))


def summable_floats(dtype: Any, n: int) -> st.SearchStrategy[float]:
    """Finite items for a float or complex ``dtype`` (one component), subnormals included, that ``n`` of can be summed.

    They are capped at ``max / (n + 1)`` of numpy's accumulator so that numpy's
    own sum cannot overflow: where it does, numpy's answer is not a value to
    compare with (SPEC.md MEAN.3).
    """
    dt = np.dtype(dtype)
    real = np.dtype(dt.type(0).real.dtype).newbyteorder("=")
    acc = bounds.numpy_accumulator(dt)
    # Rounded toward zero into the dtype, which Hypothesis requires of float bounds.
    # (Both arguments in the dtype: with a Python 0, numpy 1.26 computes nextafter in float64.)
    top = real.type(min(float(np.finfo(real).max), float(np.finfo(acc).max) / (n + 1)))
    cap = float(np.nextafter(top, real.type(0)))
    return npst.from_dtype(real, min_value=-cap, max_value=cap, allow_subnormal=True)


# The reductions' own properties (tests/unit/test_reductions.py): dtypes by name, so that a test can
# also parametrize over them, and arrays large enough to cross the reference's 4 KiB test chunks.
NUMERIC_NAMES = [
    "?",
    "i1",
    "u1",
    *[f"{order}{kind}{size}" for order in "<>" for kind in "iu" for size in (2, 4, 8)],
    *[f"{order}f{size}" for order in "<>" for size in (2, 4, 8)],
    *[f"{order}c{size}" for order in "<>" for size in (8, 16)],
]
# The float items that propagate (NaN, the infinities) or have a sign to keep (-0.0).
SPECIALS = [math.nan, math.inf, -math.inf, -0.0]


@st.composite
def numeric_arrays(draw: st.DrawFn, dtypes: list[str] = NUMERIC_NAMES, specials: bool = True) -> np.ndarray[Any, Any]:
    """Arrays up to ~3000 items whose sums cannot overflow numpy's accumulator (floats: :func:`summable_floats`)."""
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    shape = draw(
        st.one_of(
            npst.array_shapes(min_dims=1, max_dims=1, min_side=0, max_side=3000),
            npst.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=50),
            npst.array_shapes(min_dims=3, max_dims=3, min_side=0, max_side=14),
        )
    )
    native = dtype.newbyteorder("=")
    if dtype.kind not in "fc":
        return draw(npst.arrays(dtype, shape, elements=npst.from_dtype(native)))
    finite = summable_floats(dtype, math.prod(shape))
    component = st.one_of(finite, st.sampled_from(SPECIALS)) if specials and draw(st.booleans()) else finite
    elements: st.SearchStrategy[Any] = st.builds(complex, component, component) if dtype.kind == "c" else component
    return draw(npst.arrays(dtype, shape, elements=elements))


@st.composite
def typed_thresholds(draw: st.DrawFn, values: np.ndarray[Any, Any]) -> Any:
    """Items of the array (for ties), and numbers of several Python and numpy types (for promotion)."""
    flat = values.ravel()
    if flat.size and draw(st.booleans()):
        return flat[draw(st.integers(0, flat.size - 1))][()]
    if values.dtype.kind == "b":
        return draw(st.sampled_from([False, True, 0, 0.5, -1]))
    if values.dtype.kind in "iu":
        return draw(st.one_of(st.integers(-(2**70), 2**70), st.floats(allow_nan=True), st.just(np.float32(0.5))))
    if values.dtype.kind == "c":
        return draw(st.one_of(st.floats(-2.0, 2.0), st.complex_numbers(max_magnitude=2.0)))
    return draw(
        st.one_of(
            st.floats(allow_nan=True),
            st.sampled_from([0, 0.1, -0.0, np.float64(0.1), np.float32(0.1), np.float16(-0.5)]),
        )
    )


class FsPath:
    """An ``os.PathLike`` that is no ``pathlib.Path``: what a library's own path type looks like (ARGS.8).

    Code that takes ``os.PathLike`` but then calls ``Path`` methods on it fails here.
    """

    def __init__(self, path: str | bytes) -> None:
        self.path = path

    def __fspath__(self) -> str | bytes:
        return self.path

    def __repr__(self) -> str:
        return f"FsPath({self.path!r})"


# Every spelling ARGS.1 accepts, each run as an explicit case: a bare int (numpy issue 13719: open_memmap
# truncates an existing file, then fails on it), numpy integer entries (numpy issue 28334) and 0-d integer
# array entries (numpy issue 9659: open_memmap writes a header np.load cannot parse).
SHAPE_SPELLINGS: dict[str, Any] = {
    "tuple": (2, 3),
    "list": [2, 3],
    "bare-int": 6,
    "bare-numpy-int": np.int64(6),
    "bare-0-d-array": np.array(6),
    "numpy-int-entries": (np.int64(2), np.int32(3)),
    "0-d-array-entry": (np.array(2), 3),
}


def normal_shape(spelled: Any) -> tuple[int, ...]:
    """The shape a spelling means."""
    entries = spelled if isinstance(spelled, (tuple, list)) else (spelled,)
    return tuple(int(n) for n in entries)
