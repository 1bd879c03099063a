"""Regenerate the language-neutral test vectors in ``fixtures/``.

    python tools/make_fixtures.py            # rewrite fixtures/ in place
    python tools/make_fixtures.py --out DIR  # write them somewhere else (the drift test does)

Deterministic: values come from a fixed-seed SplitMix64 stream defined here
(not from a library whose stream may change between versions), ``.npy``
headers are written by this script rather than by numpy, and every expected
result is computed exactly (integers and fractions), not by the code under
test. Numbers are written as strings: integers in decimal, floats both as
the shortest decimal that reads back to the same float64 and as C99 hex.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GENERATOR_VERSION = "1"
SEED = 0x6D656D6D61707265  # "memmapre"


class SplitMix64:
    """A tiny, fully specified generator: the same numbers in any language."""

    MASK = (1 << 64) - 1

    def __init__(self, seed: int) -> None:
        self.state = seed & self.MASK

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & self.MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.MASK
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        return self.next() % n

    def between(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi]."""
        return lo + self.below(hi - lo + 1)


# -- values --------------------------------------------------------------------------


def _values(rng: SplitMix64, dtype: np.dtype[Any], count: int, style: str = "plain") -> list[Any]:
    """Values whose every sum is exact in the narrowest accumulator an implementation may use.

    float16: halves in [-8, 8]; float32 and float64: eighths in [-128, 128];
    integers of up to 32 bits: their whole range; 64-bit integers: multiples of
    2**12 below 2**61 (exact as float64, and so are their sums). ``wrap``:
    64-bit values whose sum wraps around, still exact as float64.
    """
    kind, size = dtype.kind, dtype.itemsize
    if kind == "b":
        return [bool(rng.below(2)) for _ in range(count)]
    if kind in "iu":
        bits = 8 * size
        if style == "wrap":
            step = 1 << 16
            lo = (1 << 62) if kind == "i" else (1 << 63)
            hi = (1 << 63) - step if kind == "i" else (1 << 64) - step
            return [rng.between(lo // step, hi // step) * step for _ in range(count)]
        if bits == 64:
            span = 1 << 49
            low = -span if kind == "i" else 0
            return [rng.between(low, span - 1) * (1 << 12) for _ in range(count)]
        low = -(1 << (bits - 1)) if kind == "i" else 0
        return [rng.between(low, low + (1 << bits) - 1) for _ in range(count)]
    if kind == "f":
        denominator, limit = (2, 16) if size == 2 else (8, 1024)
        return [Fraction(rng.between(-limit, limit), denominator) for _ in range(count)]
    if kind == "c":
        return [
            complex(float(Fraction(rng.between(-1024, 1024), 8)), float(Fraction(rng.between(-1024, 1024), 8)))
            for _ in range(count)
        ]
    raise ValueError(f"no values for dtype {dtype}")


def _as_array(values: list[Any], dtype: np.dtype[Any], shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
    flat = [float(v) if isinstance(v, Fraction) else v for v in values]
    return np.array(flat, dtype=dtype).reshape(shape)


# -- exact results -------------------------------------------------------------------


def _sum_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    if dtype.kind == "b" or dtype.kind == "i":
        return np.dtype("int64")
    if dtype.kind == "u":
        return np.dtype("uint64")
    return dtype.newbyteorder("=")


def _mean_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    return np.dtype("float64") if dtype.kind in "biu" else dtype.newbyteorder("=")


def _float_text(x: float) -> dict[str, str]:
    if math.isnan(x):
        return {"decimal": "nan", "hex": "nan"}
    if math.isinf(x):
        return {"decimal": "inf" if x > 0 else "-inf", "hex": "inf" if x > 0 else "-inf"}
    return {"decimal": repr(x), "hex": x.hex()}


def _number(value: Any, dtype: np.dtype[Any]) -> dict[str, Any]:
    name = dtype.name
    if dtype.kind in "iu":
        bits = 8 * dtype.itemsize
        wrapped = int(value) % (1 << bits)
        if dtype.kind == "i" and wrapped >= 1 << (bits - 1):
            wrapped -= 1 << bits
        return {"dtype": name, "decimal": str(wrapped)}
    if dtype.kind == "c":
        return {"dtype": name, "real": _float_text(value.real), "imag": _float_text(value.imag)}
    return {"dtype": name, **_float_text(float(value))}


def _rounded(exact: Fraction, dtype: np.dtype[Any]) -> float:
    """``exact`` correctly rounded to ``dtype`` (float64 first: harmless for a quotient of two floats)."""
    return float(dtype.type(float(exact)))


def _exact_float(x: Fraction, dtype: np.dtype[Any], what: str) -> float:
    got = float(dtype.type(float(x)))
    if Fraction(got) != x:
        raise AssertionError(f"{what} {x} is not exact in {dtype}: the data is not designed right")
    return got


def _special(xs: list[float]) -> float | None:
    """IEEE result of summing ``xs`` when it holds NaN or infinities, else None."""
    if any(math.isnan(x) for x in xs):
        return math.nan
    pos, neg = any(x == math.inf for x in xs), any(x == -math.inf for x in xs)
    if pos and neg:
        return math.nan
    if pos or neg:
        return math.inf if pos else -math.inf
    return None


def _results(array: np.ndarray[Any, Any], threshold: Any) -> dict[str, Any]:
    dtype = array.dtype
    flat = array.ravel(order="K").tolist()
    n = len(flat)
    sum_dt, mean_dt = _sum_dtype(dtype), _mean_dtype(dtype)
    if dtype.kind == "c":
        # x > t on complex numbers is numpy's lexicographic order: real parts first, then imaginary.
        chosen = [v for v in flat if (v.real, v.imag) > (float(threshold), 0.0)]
        re = sum(Fraction(v.real) for v in flat)
        im = sum(Fraction(v.imag) for v in flat)
        part = mean_dt.type(0).real.dtype
        return {
            "sum": _number(complex(_exact_float(re, part, "sum"), _exact_float(im, part, "sum")), sum_dt),
            "mean": _number(complex(_rounded(re / n, part), _rounded(im / n, part)), mean_dt),
            "filteredSum": _number(
                complex(
                    _exact_float(sum((Fraction(v.real) for v in chosen), Fraction(0)), part, "filtered sum"),
                    _exact_float(sum((Fraction(v.imag) for v in chosen), Fraction(0)), part, "filtered sum"),
                ),
                sum_dt,
            ),
        }
    if dtype.kind in "biu":
        ints = [int(v) for v in flat]
        chosen = [v for v in ints if v > threshold]
        mean = float(Fraction(sum(ints), n)) if n else math.nan
        return {
            "sum": _number(sum(ints), sum_dt),
            "mean": _number(mean, mean_dt),
            "filteredSum": _number(sum(chosen), sum_dt),
        }
    floats = [float(v) for v in flat]
    chosen = [v for v in floats if v > threshold]
    special = _special(floats)
    if special is not None:
        total = special
        mean = special
    elif n:
        exact = sum(Fraction(v) for v in floats)
        total = _exact_float(exact, sum_dt, "sum")
        mean = _rounded(exact / n, mean_dt)
    else:
        total, mean = 0.0, math.nan
    picked_special = _special(chosen)
    picked = (
        picked_special
        if picked_special is not None
        else _exact_float(sum((Fraction(v) for v in chosen), Fraction(0)), sum_dt, "filtered sum")
    )
    return {"sum": _number(total, sum_dt), "mean": _number(mean, mean_dt), "filteredSum": _number(picked, sum_dt)}


# -- .npy files, written here ----------------------------------------------------------


def npy_header(
    descr: str, fortran: bool, shape: tuple[int, ...], version: tuple[int, int] = (1, 0), align: int = 64
) -> bytes:
    """Magic, version, header length, and the header dict padded with spaces to ``align`` bytes, ending in a newline."""
    dims = f"({shape[0]},)" if len(shape) == 1 else "(" + ", ".join(str(n) for n in shape) + ")"
    text = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {dims}, }}"
    width = 2 if version[0] == 1 else 4
    prefix = 6 + 2 + width
    total = prefix + len(text) + 1
    padded = text + " " * (-total % align) + "\n"
    encoded = padded.encode("utf-8" if version[0] == 3 else "latin1")
    return b"\x93NUMPY" + bytes(version) + len(encoded).to_bytes(width, "little") + encoded


# -- the cases -----------------------------------------------------------------------


@dataclass
class Case:
    comment: str
    flags: list[str]
    file: str
    dtype: str | None
    shape: tuple[int, ...] | None
    offset: int | None
    order: str | None
    result: str
    threshold: str | None = None
    error: str | None = None
    expected: dict[str, Any] | None = None


@dataclass
class Builder:
    rng: SplitMix64 = field(default_factory=lambda: SplitMix64(SEED))
    files: dict[str, bytes] = field(default_factory=dict)
    raw: list[Case] = field(default_factory=list)
    npy: list[Case] = field(default_factory=list)

    def file(self, name: str, content: bytes) -> str:
        if name in self.files and self.files[name] != content:
            raise AssertionError(f"two different contents for {name}")
        self.files[name] = content
        return name

    def threshold_for(self, values: list[Any], dtype: np.dtype[Any]) -> tuple[Any, str]:
        """A threshold taken from the data, so that an item equal to it is (correctly) not selected."""
        if dtype.kind == "b":
            return 0, "0"
        pick = values[self.rng.below(len(values))] if values else 0
        if dtype.kind in "iu":
            return int(pick), str(int(pick))
        if dtype.kind == "c":
            return pick.real, repr(float(pick.real))
        return float(pick), repr(float(pick))


def _byte_order(dtype: np.dtype[Any]) -> str:
    return {"<": "LittleEndian", ">": "BigEndian"}.get(dtype.str[0], "SingleByte")


KIND_FLAG = {"b": "Bool", "i": "SignedInteger", "u": "UnsignedInteger", "f": "Float", "c": "Complex"}


def _valid(
    b: Builder,
    group: list[Case],
    name: str,
    dtype: np.dtype[Any],
    shape: tuple[int, ...],
    *,
    order: str = "C",
    offset: int = 0,
    style: str = "plain",
    values: list[Any] | None = None,
    prefix: bytes | None = None,
    suffix: bytes = b"",
    flags: tuple[str, ...] = (),
    comment: str = "",
    declared_shape: tuple[int, ...] | str | None = "same",
    threshold: float | None = None,
) -> np.ndarray[Any, Any]:
    count = math.prod(shape)
    vals = values if values is not None else _values(b.rng, dtype, count, style)
    array = _as_array(vals, dtype, shape)
    data = array.tobytes(order=order)  # type: ignore[arg-type]
    head = prefix if prefix is not None else bytes(b.rng.below(256) for _ in range(offset))
    b.file(name, head + data + suffix)
    if threshold is None:
        chosen, text = b.threshold_for(vals, dtype)
    else:
        chosen, text = threshold, repr(threshold)
    expected = {"sha256": hashlib.sha256(data).hexdigest(), **_results(array, chosen)}
    group.append(
        Case(
            comment=comment or f"{dtype.name} {_byte_order(dtype)}, shape {shape}, {order} order, offset {len(head)}",
            flags=sorted({KIND_FLAG[dtype.kind], _byte_order(dtype), *flags}),
            file=name,
            dtype=dtype.str,
            shape=shape if declared_shape == "same" else declared_shape,  # type: ignore[arg-type]
            offset=len(head),
            order=order,
            result="valid",
            threshold=text,
            expected=expected,
        )
    )
    return array


DTYPES = ["|b1", "|i1", "|u1"] + [
    f"{e}{k}" for k in ("i2", "i4", "i8", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16") for e in "<>"
]


def build(b: Builder) -> None:
    raw = b.raw
    # Every numeric dtype and bool, both byte orders: 4 x 8, C order.
    for code in DTYPES:
        dt = np.dtype(code)
        tag = code.replace("<", "le-").replace(">", "be-").replace("|", "")
        _valid(b, raw, f"raw/{tag}-4x8-C.bin", dt, (4, 8))

    # Column-major files.
    _valid(b, raw, "raw/le-f8-3x5-F.bin", np.dtype("<f8"), (3, 5), order="F", flags=("FortranOrder",))
    _valid(b, raw, "raw/be-i2-3x5-F.bin", np.dtype(">i2"), (3, 5), order="F", flags=("FortranOrder",))
    _valid(b, raw, "raw/le-u4-2x3x4-F.bin", np.dtype("<u4"), (2, 3, 4), order="F", flags=("FortranOrder",))
    _valid(b, raw, "raw/be-c16-4x4-F.bin", np.dtype(">c16"), (4, 4), order="F", flags=("FortranOrder",))

    # Offsets: unaligned, and past the allocation granularity (4096 on Linux).
    _valid(b, raw, "raw/le-f4-off3.bin", np.dtype("<f4"), (6, 2), offset=3, flags=("Offset", "UnalignedOffset"))
    _valid(b, raw, "raw/le-i8-off13.bin", np.dtype("<i8"), (5,), offset=13, flags=("Offset", "UnalignedOffset"))
    _valid(b, raw, "raw/be-f8-off4101.bin", np.dtype(">f8"), (2, 4), offset=4101, flags=("Offset", "LargeOffset"))
    _valid(b, raw, "raw/le-u2-off4096.bin", np.dtype("<u2"), (16,), offset=4096, flags=("Offset", "LargeOffset"))

    # 64-bit sums that wrap around, as numpy's 64-bit accumulator does.
    _valid(b, raw, "raw/le-i8-wrap.bin", np.dtype("<i8"), (8,), style="wrap", flags=("IntegerWraparound",))
    _valid(b, raw, "raw/be-u8-wrap.bin", np.dtype(">u8"), (8,), style="wrap", flags=("IntegerWraparound",))

    # NaN, infinities, signed zero, subnormals.
    tiny = {2: 2.0**-24, 4: 2.0**-149, 8: 2.0**-1074}
    for code in ("<f2", ">f4", "<f8"):
        dt = np.dtype(code)
        special = [1.5, math.nan, math.inf, -0.0, -2.0, tiny[dt.itemsize], 0.25, 4.0]
        # Threshold 0.0: +inf is selected, NaN and -0.0 (equal to the threshold) are not.
        name = f"raw/special-{code[1:]}-{'le' if code[0] == '<' else 'be'}.bin"
        _valid(b, raw, name, dt, (8,), values=special, flags=("SpecialValues",), threshold=0.0)
    _valid(
        b,
        raw,
        "raw/infinities-f8.bin",
        np.dtype("<f8"),
        (4,),
        values=[math.inf, 1.0, -math.inf, 2.0],
        flags=("SpecialValues",),
    )

    # shape=null: the reader infers a 1-d length from the file size.
    _valid(b, raw, "raw/le-i4-10.bin", np.dtype("<i4"), (10,), flags=("InferredShape",), declared_shape=None)
    _valid(
        b,
        raw,
        "raw/le-f8-off8-6.bin",
        np.dtype("<f8"),
        (6,),
        offset=8,
        flags=("InferredShape", "Offset"),
        declared_shape=None,
    )

    # Bytes after the array: ignored.
    _valid(b, raw, "raw/le-i2-trailing.bin", np.dtype("<i2"), (4, 8), suffix=b"\x01\x02\x03", flags=("TrailingBytes",))

    # Empty arrays: a zero-size shape on an empty file; an offset at the very end.
    b.file("raw/empty.bin", b"")
    raw.append(_empty_case("raw/empty.bin", "<f8", (0, 3), 0, "a zero-size array on an empty file"))
    raw.append(
        _empty_case("raw/le-f8-off8-6.bin", "<f8", None, 56, "shape=null with the offset at the end of the file")
    )

    # Another reading of existing bytes is no error: reinterpretation.
    _reread(b, "raw/le-i4-4x8-C.bin", ">i4", (4, 8), "the little-endian int32 file read as big-endian")
    _reread(b, "raw/le-u2-4x8-C.bin", "<i2", (4, 8), "the uint16 file read as int16")
    _reread(b, "raw/le-i4-4x8-C.bin", "<i4", (2, 8), "only the first half of the int32 file")
    _reread(b, "raw/le-i4-4x8-C.bin", "<i4", (8, 4), "the 4 x 8 int32 file read as 8 x 4", order="F")

    # Too short: cut files, and requests for more than the file holds.
    source = b.files["raw/le-f8-4x8-C.bin"]
    for cut, flag in ((1, "CutByOneByte"), (8, "CutByOneItem"), (len(source), "EmptyFile")):
        name = b.file(f"raw/le-f8-4x8-C-cut{cut}.bin", source[: len(source) - cut])
        raw.append(
            Case(
                f"the 4 x 8 float64 file cut by {cut} bytes",
                ["FileTooShort", flag],
                name,
                "<f8",
                (4, 8),
                0,
                "C",
                "invalid",
                error="FileTooShort",
            )
        )
    raw.append(
        Case(
            "a 5 x 8 array asked of a 4 x 8 file",
            ["FileTooShort", "WrongShape"],
            "raw/le-f8-4x8-C.bin",
            "<f8",
            (5, 8),
            0,
            "C",
            "invalid",
            error="FileTooShort",
        )
    )
    raw.append(
        Case(
            "complex128 asked of a float64 file",
            ["FileTooShort", "WrongDtype"],
            "raw/le-f8-4x8-C.bin",
            "<c16",
            (4, 8),
            0,
            "C",
            "invalid",
            error="FileTooShort",
        )
    )
    raw.append(
        Case(
            "an offset that pushes the array past the end",
            ["FileTooShort", "WrongOffset"],
            "raw/le-f8-4x8-C.bin",
            "<f8",
            (4, 8),
            1,
            "C",
            "invalid",
            error="FileTooShort",
        )
    )
    raw.append(
        Case(
            "shape=null with a partial last item",
            ["PartialItem", "InferredShape"],
            "raw/le-i2-trailing.bin",
            "<i2",
            None,
            0,
            "C",
            "invalid",
            error="PartialItem",
        )
    )
    raw.append(
        Case(
            "shape=null with the offset past the end",
            ["OffsetPastEnd", "InferredShape"],
            "raw/le-i4-10.bin",
            "<i4",
            None,
            44,
            "C",
            "invalid",
            error="OffsetPastEnd",
        )
    )

    build_npy(b)


def _empty_case(name: str, code: str, shape: tuple[int, ...] | None, offset: int, comment: str) -> Case:
    dt = np.dtype(code)
    empty = np.zeros((0,), dtype=dt)
    return Case(
        comment,
        ["EmptyArray"],
        name,
        code,
        shape,
        offset,
        "C",
        "valid",
        threshold="0.0",
        expected={"sha256": hashlib.sha256(b"").hexdigest(), **_results(empty, 0.0)},
    )


def _reread(b: Builder, name: str, code: str, shape: tuple[int, ...], comment: str, order: str = "C") -> None:
    dt = np.dtype(code)
    count = math.prod(shape)
    data = b.files[name][: count * dt.itemsize]
    array = np.frombuffer(data, dtype=dt).reshape(shape, order=order)  # type: ignore[call-overload]
    threshold, text = b.threshold_for(array.ravel().tolist(), dt)
    b.raw.append(
        Case(
            comment,
            sorted(
                {"Reinterpreted", KIND_FLAG[dt.kind], _byte_order(dt)} | ({"FortranOrder"} if order == "F" else set())
            ),
            name,
            code,
            shape,
            0,
            order,
            "valid",
            threshold=text,
            expected={"sha256": hashlib.sha256(data).hexdigest(), **_results(array, threshold)},
        )
    )


def build_npy(b: Builder) -> None:
    npy = b.npy

    def valid(
        name: str,
        code: str,
        shape: tuple[int, ...],
        order: str,
        version: tuple[int, int],
        flags: tuple[str, ...],
        *,
        align: int = 64,
        suffix: bytes = b"",
        result: str = "valid",
        error: str | None = None,
    ) -> None:
        dt = np.dtype(code)
        head = npy_header(code, order == "F", shape, version, align)
        before = len(b.npy)
        _valid(
            b,
            npy,
            name,
            dt,
            shape,
            order=order,
            prefix=head,
            suffix=suffix,
            flags=(*flags, f"NpyVersion{version[0]}"),
            comment=f".npy {version[0]}.{version[1]}: {dt.name} {_byte_order(dt)}, shape {shape}, {order} order",
        )
        if result != "valid":
            npy[before].result = result
            npy[before].error = error

    valid("npy/v1-le-f8-3x4.npy", "<f8", (3, 4), "C", (1, 0), ())
    valid("npy/v2-be-i4-2x3x4-F.npy", ">i4", (2, 3, 4), "F", (2, 0), ("FortranOrder",))
    valid("npy/v3-le-c8-4x4.npy", "<c8", (4, 4), "C", (3, 0), ())
    valid("npy/v1-bool-5.npy", "|b1", (5,), "C", (1, 0), ())
    valid("npy/v1-le-i8-scalar.npy", "<i8", (), "C", (1, 0), ("ZeroDimensional",))
    valid(
        "npy/v1-le-u2-trailing.npy",
        "<u2",
        (6,),
        "C",
        (1, 0),
        ("TrailingBytes",),
        suffix=b"\xff\xfe",
        result="acceptable",
        error="TrailingBytes",
    )
    valid(
        "npy/v1-le-f4-align16.npy",
        "<f4",
        (2, 2),
        "C",
        (1, 0),
        ("UnalignedHeader",),
        align=16,
        result="acceptable",
        error="BadHeader",
    )

    good = b.files["npy/v1-le-f8-3x4.npy"]
    head_len = 10 + int.from_bytes(good[8:10], "little")

    def corrupt(
        tag: str, content: bytes, error: str, comment: str, flags: tuple[str, ...], known: bool = False
    ) -> None:
        name = b.file(f"npy/corrupt-{tag}.npy", content)
        npy.append(
            Case(
                comment,
                sorted({error, "NpyVersion1", *flags}),
                name,
                "<f8" if known else None,
                (3, 4) if known else None,
                head_len if known else None,
                "C" if known else None,
                "invalid",
                error=error,
            )
        )

    def edit(old: str, new: str) -> bytes:
        text = good[10:head_len].decode("latin1")
        changed = text.replace(old, new, 1).rstrip("\n").rstrip(" ")
        return good[:10] + changed.ljust(head_len - 11).encode("latin1") + b"\n" + good[head_len:]

    corrupt("magic", b"\x93NUMPZ" + good[6:], "BadMagic", "the magic string is wrong", ())
    corrupt("version", good[:6] + b"\x09\x00" + good[8:], "UnsupportedVersion", "format version 9.0", ())
    corrupt(
        "header-length",
        good[:8] + b"\xff\xff" + good[10:],
        "TruncatedHeader",
        "the header length runs past the end of the file",
        (),
    )
    corrupt("not-a-dict", edit("{", "["), "BadHeader", "the header is not a dict literal", ())
    corrupt("missing-key", edit("'descr'", "'dexcr'"), "BadHeader", "the header lacks the key 'descr'", ())
    corrupt("unknown-descr", edit("'<f8'", "'<f9'"), "BadHeader", "the descr names no dtype", ())
    corrupt("float-shape", edit("(3, 4)", "(3.0, 4)"), "BadHeader", "a shape entry is not an integer", ())
    corrupt("negative-shape", edit("(3, 4)", "(-3, 4)"), "BadHeader", "a shape entry is negative", ("NegativeShape",))
    corrupt("cut-in-magic", good[:5], "TruncatedHeader", "the file ends inside the magic string", ())
    corrupt("cut-in-header", good[:40], "TruncatedHeader", "the file ends inside the header", ())
    corrupt("empty", b"", "TruncatedHeader", "an empty file", ("EmptyFile",))
    corrupt(
        "cut-in-data",
        good[: len(good) - 8],
        "FileTooShort",
        "the data is one item shorter than the header says",
        (),
        known=True,
    )
    corrupt("header-only", good[:head_len], "FileTooShort", "the header and no data", ("HeaderOnly",), known=True)
    corrupt(
        "shape-larger",
        edit("(3, 4)", "(4, 4)"),
        "FileTooShort",
        "the header claims more items than follow it",
        ("LyingHeader",),
    )
    npy[-1].dtype, npy[-1].shape, npy[-1].offset, npy[-1].order = "<f8", (4, 4), head_len, "C"


# -- writing --------------------------------------------------------------------------

ERROR_KINDS = {
    "FileTooShort": "the file holds fewer than offset + nbytes bytes (Python: ValueError)",
    "PartialItem": "shape is null and the bytes after the offset are not a whole number of items (Python: ValueError)",
    "OffsetPastEnd": "shape is null and the offset lies past the end of the file (Python: ValueError)",
    "BadMagic": ".npy: the file does not start with \\x93NUMPY (Python: ValueError)",
    "UnsupportedVersion": ".npy: a format version other than 1.0, 2.0 or 3.0 (Python: ValueError)",
    "TruncatedHeader": ".npy: the file ends before the header does (Python: ValueError)",
    "BadHeader": ".npy: the header is not a dict literal with exactly descr, fortran_order and shape, "
    "a known descr and a tuple of non-negative integers (Python: ValueError)",
    "TrailingBytes": "bytes after the data; a reader may accept (and ignore) them or refuse the file",
}

FLAGS = {
    "Bool": "bool items (one byte, 0 or 1)",
    "SignedInteger": "signed two's-complement integers",
    "UnsignedInteger": "unsigned integers",
    "Float": "IEEE 754 binary16, binary32 or binary64",
    "Complex": "pairs of IEEE 754 floats, real part first",
    "LittleEndian": "least significant byte first",
    "BigEndian": "most significant byte first",
    "SingleByte": "one-byte items: byte order does not apply",
    "FortranOrder": "column-major layout: the first index varies fastest",
    "Offset": "the array starts after offset bytes of unrelated data",
    "UnalignedOffset": "the offset is not a multiple of the itemsize",
    "LargeOffset": "the offset is at least the mapping granularity (4096 bytes on Linux)",
    "IntegerWraparound": "the 64-bit sum wraps around (modulo 2**64), as numpy's does",
    "SpecialValues": "NaN, infinities, signed zero or subnormal numbers",
    "InferredShape": "shape is null: a 1-d array of every whole item after the offset",
    "TrailingBytes": "the file has bytes after the array",
    "EmptyArray": "the array has no items: sum 0, mean NaN, filtered sum 0",
    "EmptyFile": "the file has no bytes at all",
    "Reinterpreted": "the bytes of another case's file read with another dtype, shape or order",
    "CutByOneByte": "the file lost its last byte",
    "CutByOneItem": "the file lost its last item",
    "WrongShape": "a shape that needs more bytes than the file has",
    "WrongDtype": "a dtype that needs more bytes than the file has",
    "WrongOffset": "an offset that needs more bytes than the file has",
    "PartialItem": "the bytes after the offset end in part of an item",
    "OffsetPastEnd": "the offset lies past the end of the file",
    "FileTooShort": "the file is too short for the array",
    "NpyVersion1": ".npy format version 1.0 (2-byte header length)",
    "NpyVersion2": ".npy format version 2.0 (4-byte header length)",
    "NpyVersion3": ".npy format version 3.0 (4-byte header length, UTF-8 header)",
    "ZeroDimensional": "shape []: a single item",
    "UnalignedHeader": "the header is padded to 16 bytes, not 64, as numpy before 1.17 wrote it",
    "BadMagic": "the magic string is wrong",
    "UnsupportedVersion": "an unknown format version",
    "TruncatedHeader": "the file ends inside the magic string or the header",
    "BadHeader": "the header cannot be read",
    "NegativeShape": "a negative shape entry",
    "HeaderOnly": "a .npy header with no data after it",
    "LyingHeader": "the header's shape needs more bytes than the file has",
}

GROUPS = {
    "RawReadTest": "Raw files: map `file` with the case's dtype, shape (null: infer a 1-d length), offset and order.",
    "NpyReadTest": "`.npy` files: a reader that parses the header must reach the case's dtype, shape, order and data "
    "offset (or fail with `error`); a raw reader may run the cases whose dtype is not null as raw cases.",
}


def _case_json(tc_id: int, case: Case, files: dict[str, bytes]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tcId": tc_id,
        "comment": case.comment,
        "flags": sorted(case.flags),
        "file": case.file,
        "fileSha256": hashlib.sha256(files[case.file]).hexdigest(),
        "dtype": case.dtype,
        "shape": None if case.shape is None else list(case.shape),
        "offset": case.offset,
        "order": case.order,
        "result": case.result,
    }
    if case.threshold is not None:
        out["threshold"] = case.threshold
    if case.expected is not None:
        out["expected"] = case.expected
    if case.error is not None:
        out["error"] = case.error
    return out


def manifest(b: Builder) -> dict[str, Any]:
    groups = []
    tc_id = 0
    for kind, cases in (("RawReadTest", b.raw), ("NpyReadTest", b.npy)):
        tests = []
        for case in cases:
            tc_id += 1
            tests.append(_case_json(tc_id, case, b.files))
        groups.append({"type": kind, "description": GROUPS[kind], "tests": tests})
    used = {flag for cases in (b.raw, b.npy) for case in cases for flag in case.flags}
    return {
        "algorithm": "memmap-read",
        "generatorVersion": GENERATOR_VERSION,
        "schema": "manifest.schema.json",
        "numberOfTests": tc_id,
        "header": [
            "Test vectors for reading arrays from files: raw bytes and .npy.",
            "Regenerate with tools/make_fixtures.py; see fixtures/README.md for the format.",
        ],
        "notes": {flag: FLAGS[flag] for flag in sorted(used)},
        "errorKinds": ERROR_KINDS,
        "testGroups": groups,
    }


def _number_schema() -> dict[str, Any]:
    text = {"type": "string", "pattern": "^(nan|-?inf|-?[0-9][0-9.e+-]*|-?0x[0-9a-f.]+p[+-][0-9]+)$"}
    real = {
        "type": "object",
        "required": ["decimal", "hex"],
        "additionalProperties": False,
        "properties": {"decimal": text, "hex": text},
    }
    return {
        "type": "object",
        "required": ["dtype"],
        "properties": {
            "dtype": {"enum": ["int64", "uint64", "float16", "float32", "float64", "complex64", "complex128"]},
            "decimal": text,
            "hex": text,
            "real": real,
            "imag": real,
        },
        "additionalProperties": False,
        "oneOf": [
            {"required": ["decimal"], "not": {"required": ["real"]}},
            {"required": ["real", "imag"], "not": {"required": ["decimal"]}},
        ],
    }


def schema() -> dict[str, Any]:
    nullable_int = {"type": ["integer", "null"], "minimum": 0}
    test = {
        "type": "object",
        "required": ["tcId", "comment", "flags", "file", "fileSha256", "dtype", "shape", "offset", "order", "result"],
        "additionalProperties": False,
        "properties": {
            "tcId": {"type": "integer", "minimum": 1},
            "comment": {"type": "string"},
            "flags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "file": {"type": "string", "pattern": "^(raw|npy)/[A-Za-z0-9._-]+$"},
            "fileSha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "dtype": {"type": ["string", "null"], "pattern": "^[<>|][biufc][0-9]+$"},
            "shape": {"type": ["array", "null"], "items": {"type": "integer", "minimum": 0}},
            "offset": nullable_int,
            "order": {"enum": ["C", "F", None]},
            "result": {"enum": ["valid", "invalid", "acceptable"]},
            "threshold": {"type": "string"},
            "error": {"type": "string"},
            "expected": {
                "type": "object",
                "required": ["sha256", "sum", "mean", "filteredSum"],
                "additionalProperties": False,
                "properties": {
                    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    "sum": {"$ref": "#/$defs/number"},
                    "mean": {"$ref": "#/$defs/number"},
                    "filteredSum": {"$ref": "#/$defs/number"},
                },
            },
        },
        "allOf": [
            {
                "if": {"properties": {"result": {"const": "valid"}}},
                "then": {"required": ["expected", "threshold"], "not": {"required": ["error"]}},
            },
            {
                "if": {"properties": {"result": {"const": "invalid"}}},
                "then": {"required": ["error"], "not": {"required": ["expected"]}},
            },
            {
                "if": {"properties": {"result": {"const": "acceptable"}}},
                "then": {"required": ["expected", "error", "threshold"]},
            },
        ],
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "manifest.schema.json",
        "title": "memmapref test vectors",
        "type": "object",
        "required": [
            "algorithm",
            "generatorVersion",
            "schema",
            "numberOfTests",
            "header",
            "notes",
            "errorKinds",
            "testGroups",
        ],
        "additionalProperties": False,
        "properties": {
            "algorithm": {"const": "memmap-read"},
            "generatorVersion": {"type": "string"},
            "schema": {"const": "manifest.schema.json"},
            "numberOfTests": {"type": "integer", "minimum": 1},
            "header": {"type": "array", "items": {"type": "string"}},
            "notes": {"type": "object", "additionalProperties": {"type": "string"}},
            "errorKinds": {"type": "object", "additionalProperties": {"type": "string"}},
            "testGroups": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["type", "description", "tests"],
                    "additionalProperties": False,
                    "properties": {
                        "type": {"enum": ["RawReadTest", "NpyReadTest"]},
                        "description": {"type": "string"},
                        "tests": {"type": "array", "items": {"$ref": "#/$defs/test"}},
                    },
                },
            },
        },
        "$defs": {"test": test, "number": _number_schema()},
    }


def _dump(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=1, ensure_ascii=True) + "\n").encode("ascii")


def generate() -> dict[str, bytes]:
    """Every generated file, by path relative to ``fixtures/``."""
    b = Builder()
    build(b)
    out = dict(sorted(b.files.items()))
    out["manifest.json"] = _dump(manifest(b))
    out["manifest.schema.json"] = _dump(schema())
    return out


def write(target: Path) -> Iterator[Path]:
    for name, content in generate().items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        yield path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "fixtures", help="folder to write (default: fixtures/)")
    args = parser.parse_args(argv)
    written = list(write(args.out))
    total = sum(p.stat().st_size for p in written)
    print(f"wrote {len(written)} files, {total} bytes, to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
