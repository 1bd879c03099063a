"""Argument checks (SPEC.md section 1), on the reference's validators and public calls."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np
import pytest

import memmapref
from memmapref import _validate
from memmapref.errors import (
    DtypeError,
    MemmapError,
    ModeError,
    OffsetError,
    OffsetTypeError,
    OrderError,
    PathTypeError,
    ShapeTypeError,
    ShapeValueError,
)


@pytest.mark.clause("ARGS.1")
@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (5, (5,)),
        ((2, 3), (2, 3)),
        ([2, 3], (2, 3)),
        ((np.int64(2), np.uint8(3)), (2, 3)),
        (np.intp(4), (4,)),
        ((), ()),
        ((0, 7), (0, 7)),
    ],
)
def test_shape_spellings(given: object, expected: tuple[int, ...]) -> None:
    assert _validate.shape(given, 8) == expected
    assert all(type(n) is int for n in _validate.shape(given, 8))


@pytest.mark.clause("ARGS.1", "ERR.1", "ERR.2")
@pytest.mark.parametrize("given", [(20.0, 20.0), 1e6, (True, 3), np.True_, (np.float64(2),), "3", None])
def test_shape_entries_must_be_integers(given: object) -> None:
    with pytest.raises(ShapeTypeError) as info:
        _validate.shape(given, 8)
    assert isinstance(info.value, TypeError)
    assert isinstance(info.value, MemmapError)
    assert "got" in str(info.value) and "expected" in str(info.value) and "fix:" in str(info.value)


def test_float_shape_suggests_int() -> None:
    with pytest.raises(ShapeTypeError, match=r"int\(20\.0\)"):
        _validate.shape((20.0, 3), 8)


@pytest.mark.clause("ARGS.2")
def test_negative_shape_entry() -> None:
    with pytest.raises(ShapeValueError, match="shape entry 1 = -1"):
        _validate.shape((2, -1), 8)


@pytest.mark.clause("ARGS.3")
@pytest.mark.parametrize("shape", [(2**40, 2**40), (sys.maxsize // 8 + 1,), (2**64,)])
def test_byte_count_overflow(shape: tuple[int, ...]) -> None:
    with pytest.raises(ShapeValueError, match="bytes"):
        _validate.shape(shape, 8)


def test_too_many_dimensions() -> None:
    limit = _validate._MAXDIMS
    assert _validate.shape((1,) * limit, 8) == (1,) * limit
    with pytest.raises(ShapeValueError, match="dimensions"):
        _validate.shape((1,) * (limit + 1), 8)


@pytest.mark.clause("ARGS.4")
@pytest.mark.parametrize("given", ["float65", object, [("a", "O")], "S0", "V0", 3.5])
def test_bad_dtypes(given: object) -> None:
    with pytest.raises(DtypeError) as info:
        _validate.dtype(given)
    assert isinstance(info.value, TypeError)


@pytest.mark.parametrize("given", ["<f8", ">i2", np.float32, "M8[s]", [("a", "<i4"), ("b", ">f8")], "S16"])
def test_good_dtypes(given: object) -> None:
    assert _validate.dtype(given) == np.dtype(given)


@pytest.mark.clause("ARGS.5")
def test_offsets() -> None:
    assert _validate.offset(np.int32(7)) == 7
    with pytest.raises(OffsetError):
        _validate.offset(-1)
    for bad in (1.5, True, "8"):
        with pytest.raises(OffsetTypeError) as info:
            _validate.offset(bad)
        assert isinstance(info.value, TypeError)


@pytest.mark.clause("ARGS.6")
@pytest.mark.parametrize("bad", ["Z", "c", "A", "K", None, 1])
def test_orders(bad: object) -> None:
    assert _validate.order("F") == "F"
    with pytest.raises(OrderError) as info:
        _validate.order(bad)
    assert isinstance(info.value, ValueError)


@pytest.mark.clause("ARGS.7")
def test_modes() -> None:
    assert [_validate.open_mode(m) for m in ("r", "readonly", "r+", "readwrite", "c", "copyonwrite")] == [
        "r",
        "r",
        "r+",
        "r+",
        "c",
        "c",
    ]
    with pytest.raises(ModeError, match=r"memmapref\.create"):
        _validate.open_mode("w+")
    for bad in ("x", "rw", 5, None):
        with pytest.raises(ModeError) as info:
            _validate.open_mode(bad)
        assert isinstance(info.value, ValueError)


@pytest.mark.clause("ARGS.8")
def test_paths(tmp_path: Path) -> None:
    assert _validate.path(tmp_path / "a") == str(tmp_path / "a")
    assert _validate.path(b"/x/y") == "/x/y"
    with open(__file__, "rb") as file_object:
        for bad in (3.5, None, file_object):
            with pytest.raises(PathTypeError) as info:
                _validate.path(bad)
            assert isinstance(info.value, TypeError)


@pytest.mark.clause("ARGS.9", "ERR.3")
@pytest.mark.parametrize(
    "bad",
    [
        {"shape": (20.0, 20.0)},
        {"shape": (30, 30)},
        {"dtype": object},
        {"offset": -8},
        {"order": "Z"},
        {"mode": "w+"},
    ],
    ids=lambda bad: next(iter(bad)) + "=" + repr(next(iter(bad.values()))),
)
def test_refused_open_changes_nothing(tmp_path: Path, bad: dict[str, object]) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(200)) * 4)
    before = (path.stat().st_size, path.stat().st_mtime_ns, path.read_bytes())
    kwargs: dict[str, object] = {"dtype": np.float64, "shape": (10, 10), "mode": "r+", **bad}
    with pytest.raises((TypeError, ValueError)):
        memmapref.open(path, **kwargs)  # type: ignore[arg-type]
    assert (path.stat().st_size, path.stat().st_mtime_ns, path.read_bytes()) == before


def test_a_request_holds_the_normalised_arguments_and_cannot_change() -> None:
    request = _validate.create_request(b"/d/a.bin", ">i4", [np.int64(2), 3], offset=np.uint8(8), order="F")
    assert request == _validate.Request("/d/a.bin", "w+", np.dtype(">i4"), (2, 3), 8, "F")
    assert [type(n) for n in (*request.shape, request.offset)] == [int, int, int]
    with pytest.raises(AttributeError):
        request.offset = 0  # type: ignore[misc]
    opened = _validate.open_request("/d/a.bin", "<f8", None, mode="readwrite", offset=0, order="C")
    assert (opened.mode, opened.shape) == ("r+", None)
    assert opened.with_shape((5,)) == _validate.Request("/d/a.bin", "r+", np.dtype("<f8"), (5,), 0, "C")
    assert opened.shape is None, "with_shape gives a new request"


# Pairs of bad arguments, and the error of the one that comes first in the public signature (mode first for open).
_FIRST_BAD: list[tuple[dict[str, object], type[MemmapError]]] = [
    ({"mode": "w+", "path": 3}, ModeError),
    ({"path": 3, "dtype": object}, PathTypeError),
    ({"dtype": object, "shape": -1}, DtypeError),
    ({"shape": -1, "offset": -1}, ShapeValueError),
    ({"offset": -1, "order": "Z"}, OffsetError),
    ({"order": "Z", "offset": sys.maxsize}, OrderError),
    ({"offset": sys.maxsize}, OffsetError),
]


@pytest.mark.parametrize(
    ("call", "bad", "error"),
    [(c, bad, error) for c in ("open", "create") for bad, error in _FIRST_BAD if c == "open" or "mode" not in bad],
    ids=lambda v: "+".join(v) if isinstance(v, dict) else getattr(v, "__name__", v),
)
def test_a_request_reports_the_first_bad_argument_in_the_signatures_order(
    call: str, bad: dict[str, object], error: type[MemmapError]
) -> None:
    given: dict[str, object] = {"path": "/d/a.bin", "dtype": "<f8", "shape": 4, "offset": 0, "order": "C", **bad}
    build = _validate.create_request if call == "create" else functools.partial(_validate.open_request, mode="r")
    with pytest.raises(error):
        build(**given)
