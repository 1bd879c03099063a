"""The source tutorial's pitfalls, asserted against the reference.

What numpy.memmap does in each case is pinned in tests/docs (the errata) and
reported by the conformance suite; here the reference must do the right thing.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import memmapref
from memmapref.errors import FileSizeError, ShapeTypeError
from memmapref.testing import bounds


@pytest.fixture
def written(tmp_path: Path) -> Path:
    """The tutorial's first step at a small size: an int64 file with 100 rows written."""
    path = tmp_path / "mmaped.dat"
    with memmapref.create(path, np.int64, (10, 10)) as fp:
        fp[0:5, :] = np.arange(50).reshape(5, 10)
    return path


@pytest.mark.clause("ARGS.1", "ARGS.9")
def test_float_shape_is_refused_before_the_file_grows(written: Path) -> None:
    size = written.stat().st_size
    with pytest.raises(ShapeTypeError, match="float"):
        memmapref.open(written, np.float64, (20.0, 20.0), mode="r+")
    assert written.stat().st_size == size == 800


@pytest.mark.clause("OPEN.1", "OPEN.2")
def test_larger_shape_in_r_plus_is_refused_not_grown(written: Path) -> None:
    with pytest.raises(FileSizeError) as info:
        memmapref.open(written, np.float64, (1000, 1000), mode="r+")
    assert (info.value.path, info.value.expected, info.value.actual) == (str(written), 8_000_000, 800)
    assert str(written) in str(info.value) and "8000000" in str(info.value) and "800 bytes" in str(info.value)
    assert written.stat().st_size == 800


@pytest.mark.clause("CREATE.1")
def test_zero_size_create_leaves_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.dat"
    memmapref.create(path, np.float64, (0, 1000)).close()
    assert path.stat().st_size == 0
    with memmapref.open(path, np.float64) as again:
        assert again.array.shape == (0,)


@pytest.mark.clause("REDUCE.1")
def test_filtered_sum_does_not_build_a_full_size_mask(tmp_path: Path) -> None:
    path = tmp_path / "big.dat"
    n = 4 * 2**20  # 32 MiB of float64
    with memmapref.create(path, np.float64, (n,)) as fp:
        fp[:] = np.linspace(0, 1, n)
    chunk = 1 << 20
    with memmapref.open(path, np.float64) as fp:
        tracemalloc.start()
        try:
            total = memmapref.filtered_sum(fp, 0.5, chunk_bytes=chunk)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        selected = np.asarray(fp)[np.asarray(fp) > 0.5]
        error = abs(total - bounds.exact_sum(selected))
        assert error <= bounds.reference_sum_bound(selected, chunk // 8, np.float64)
    assert peak < 4 * chunk, f"filtered_sum allocated {peak} bytes for a {8 * n}-byte file"
