"""memmapref.dask on a distributed.LocalCluster: bit for bit the single-machine reference, whatever the partitioning.

The reference on the whole logical array in one file is the baseline; numpy on
the bytes read with plain reads (the oracle) fixes the result dtype and the
exact integer results. The cluster (2 worker processes, 1 thread each) starts
once for the module.
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import leaks
import numpy as np
import pytest
from daskcluster import cluster as _cluster
from distributed import Client

import memmapref
from memmapref import dask as md
from memmapref.errors import FileSizeError, MissingFileError, ReductionArgumentError
from memmapref.testing.oracle import read_array

# Small chunks, so that every partitioning has chunks straddling shards.
CHUNK = 1 << 14
ROWS = 60_001
THRESHOLD = 0.25
DTYPES = ["float32", "float64", ">f8", "int32", "int64", "uint8", "uint64", "bool"]


def _data(dtype: str, rows: int = ROWS, seed: int = 0) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.random((rows, 3)) > 0.5
    if dt.kind == "f":
        # Magnitudes over many binades, so that the float sum's last bits depend on the chunking.
        return (rng.standard_normal((rows, 3)) * 10.0 ** rng.integers(-3, 6, (rows, 3))).astype(dt)
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, (rows, 3), dtype=dt, endpoint=True)


def _write(tmp: Path, a: np.ndarray[Any, Any], parts: int) -> tuple[str, list[md.Shard]]:
    whole = str(tmp / "whole.bin")
    a.tofile(whole)
    shards = []
    for i, part in enumerate(np.array_split(a, parts)):
        path = tmp / f"shard-{parts}-{i:03}.bin"
        part.tofile(path)
        shards.append(md.shard(path, a.dtype, part.shape))
    return whole, shards


def _same(got: Any, want: Any) -> None:
    assert type(got) is type(want)
    assert np.asarray(got).tobytes() == np.asarray(want).tobytes(), (got, want)


@pytest.mark.parametrize("parts", [1, 7, 64])
@pytest.mark.parametrize("dtype", DTYPES)
def test_equals_single_machine_bit_for_bit(client: Client, tmp_path: Path, dtype: str, parts: int) -> None:
    a = _data(dtype)
    whole, shards = _write(tmp_path, a, parts)
    oracle = read_array(whole, a.dtype, a.shape)
    with memmapref.open(whole, a.dtype, a.shape) as m:
        want_sum = memmapref.filtered_sum(m, THRESHOLD, chunk_bytes=CHUNK)
        want_mean = memmapref.slice_mean(m, np.s_[5:-3], chunk_bytes=CHUNK)
    got_sum = md.filtered_sum(shards, THRESHOLD, client=client, chunk_bytes=CHUNK)
    got_mean = md.slice_mean(shards, np.s_[5:-3], client=client, chunk_bytes=CHUNK)
    _same(got_sum, want_sum)
    _same(got_mean, want_mean)
    numpy_sum = oracle[oracle > THRESHOLD].sum()
    assert got_sum.dtype == numpy_sum.dtype
    assert np.mean(oracle[5:-3]).dtype == got_mean.dtype
    if a.dtype.kind in "biu":
        assert got_sum == numpy_sum  # exact, numpy's wrap-around included


def test_default_chunk_and_npy_shards(client: Client, tmp_path: Path) -> None:
    a = _data("float32", rows=400_000)
    whole = str(tmp_path / "whole.npy")
    np.save(whole, a)
    paths = []
    for i, part in enumerate(np.array_split(a, 7)):
        paths.append(str(tmp_path / f"s{i}.npy"))
        np.save(paths[-1], part)
    with memmapref.open(whole, a.dtype, a.shape, offset=md.shard(whole).offset) as m:
        want_sum, want_mean = memmapref.filtered_sum(m, THRESHOLD), memmapref.slice_mean(m)
    _same(md.filtered_sum(paths, THRESHOLD, client=client), want_sum)
    _same(md.slice_mean(paths, client=client), want_mean)


def test_nan_and_inf_as_on_one_machine(client: Client, tmp_path: Path) -> None:
    a = _data("float64")
    a[100, 0], a[40_000, 1], a[50_000, 2] = np.nan, np.inf, -np.inf
    whole, shards = _write(tmp_path, a, 7)
    with memmapref.open(whole, a.dtype, a.shape) as m:
        want_sum = memmapref.filtered_sum(m, THRESHOLD, chunk_bytes=CHUNK)
        want_means = [memmapref.slice_mean(m, s, chunk_bytes=CHUNK) for s in (np.s_[:], np.s_[200:45_000])]
    assert md.filtered_sum(shards, THRESHOLD, client=client, chunk_bytes=CHUNK) == np.inf == want_sum
    got_means = [md.slice_mean(shards, s, client=client, chunk_bytes=CHUNK) for s in (np.s_[:], np.s_[200:45_000])]
    assert np.isnan(got_means[0]) and np.isnan(want_means[0])
    _same(got_means[1], want_means[1])


@pytest.mark.slow
def test_one_worker_same_result(tmp_path: Path) -> None:
    a = _data("float32")
    whole, shards = _write(tmp_path, a, 7)
    with memmapref.open(whole, a.dtype, a.shape) as m:
        want = memmapref.filtered_sum(m, THRESHOLD, chunk_bytes=CHUNK)
    with _cluster(1) as cluster, Client(cluster, set_as_default=False) as one:
        _same(md.filtered_sum(shards, THRESHOLD, client=one, chunk_bytes=CHUNK), want)


def test_short_shard_same_error_naming_it(client: Client, tmp_path: Path) -> None:
    a = _data("int32")
    _, shards = _write(tmp_path, a, 7)
    short = shards[3]
    os.truncate(short.path, 100)
    with pytest.raises(FileSizeError, match="shard-7-003") as got:
        md.filtered_sum(shards, THRESHOLD, client=client, chunk_bytes=CHUNK)
    assert (got.value.path, got.value.actual) == (short.path, 100)
    os.remove(shards[5].path)
    with pytest.raises(MissingFileError, match="shard-7-005"):
        md.slice_mean(shards[4:], client=client, chunk_bytes=CHUNK)


def test_worker_state_left_clean(client: Client, tmp_path: Path) -> None:
    a = _data("float64")
    _, shards = _write(tmp_path, a, 7)
    md.filtered_sum(shards, THRESHOLD, client=client, chunk_bytes=CHUNK)
    cloudpickle.register_pickle_by_value(leaks)  # tests/ is not on the workers' path
    try:
        left = client.run(leaks.open_under, tmp_path)
    finally:
        cloudpickle.unregister_pickle_by_value(leaks)
    assert len(left) == 2
    assert all(found == [] for found in left.values()), left


@pytest.mark.slow
def test_worker_killed_mid_run_same_result(client: Client, tmp_path: Path) -> None:
    a = _data("float32", rows=1_000_000)
    whole, shards = _write(tmp_path, a, 64)
    with memmapref.open(whole, a.dtype, a.shape) as m:
        want = memmapref.filtered_sum(m, THRESHOLD, chunk_bytes=4096)
    result: list[Any] = []
    run = threading.Thread(
        target=lambda: result.append(md.filtered_sum(shards, THRESHOLD, client=client, chunk_bytes=4096))
    )
    run.start()
    victim = None
    deadline = time.monotonic() + 30
    while victim is None and time.monotonic() < deadline and run.is_alive():
        busy = [w for w, keys in client.processing().items() if keys]
        victim = busy[0] if busy else None
    assert victim is not None, "the run ended before a worker could be killed"
    os.kill(client.run(os.getpid, workers=[victim])[victim], signal.SIGKILL)
    run.join(60)
    assert result
    _same(result[0], want)
    client.wait_for_workers(2, timeout=30)


# ---------------------------------------------------------------------------
# The same code in this process (threads), where coverage sees the workers' side.


@pytest.fixture(scope="module")
def local() -> Iterator[Client]:
    with _cluster(1, processes=False) as cluster, Client(cluster, set_as_default=False) as c:
        yield c


@pytest.mark.parametrize("dtype", ["float64", "int16", "bool"])
def test_in_process_workers(local: Client, tmp_path: Path, dtype: str) -> None:
    a = _data(dtype, rows=20_000)
    whole, shards = _write(tmp_path, a, 7)
    with memmapref.open(whole, a.dtype, a.shape) as m:
        want = memmapref.filtered_sum(m, THRESHOLD, chunk_bytes=CHUNK), memmapref.slice_mean(m, chunk_bytes=CHUNK)
    got = md.filtered_sum(shards, THRESHOLD, client=local, chunk_bytes=CHUNK, progress=True)
    _same(got, want[0])
    _same(md.slice_mean(shards, (np.s_[:],), client=local, chunk_bytes=CHUNK), want[1])


def test_default_client_and_none(local: Client, tmp_path: Path) -> None:
    a = _data("int64", rows=1000)
    _, shards = _write(tmp_path, a, 3)
    with pytest.raises(ReductionArgumentError, match=r"no dask\.distributed client"):
        md.filtered_sum(shards, THRESHOLD)
    with Client(local.cluster) as default:
        assert md.filtered_sum(shards, THRESHOLD) == a[a > THRESHOLD].sum()
        assert default.status == "running"


def test_plan_skips_shards_without_a_chunk_start(tmp_path: Path) -> None:
    a = _data("float64", rows=64)
    _, shards = _write(tmp_path, a, 64)
    tasks = md._plan(shards, 0, a.size, length=50)
    assert [t.lo for t in tasks] == list(range(0, a.size, 50))
    assert sum(t.hi - t.lo for t in tasks) == a.size
    # A chunk of 50 items spans up to 18 shards of 3 items.
    assert max(len(t.pieces) for t in tasks) >= 17


def _warned(call: Any) -> tuple[str, list[str]]:
    """The result's repr and the warnings a call gives."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        got = call()
    return repr(got), [f"{w.category.__name__}: {w.message}" for w in record]


def test_empty_and_refused(local: Client, tmp_path: Path) -> None:
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    empty = [md.shard(path, "float32")]
    got = md.filtered_sum(empty, 0.0, client=local)
    _same(got, np.zeros(0, np.float32)[np.zeros(0, np.float32) > 0].sum())
    assert _warned(lambda: md.slice_mean(empty, client=local)) == _warned(
        lambda: memmapref.slice_mean(np.zeros(0, np.float32))
    )
    (tmp_path / "c.bin").write_bytes(bytes(16))
    for dtype in ["complex64", "longdouble"]:
        with pytest.raises(ReductionArgumentError, match="bool, integer, or float"):
            md.filtered_sum([md.shard(tmp_path / "c.bin", dtype, (1,))], 0.0, client=local)
    ints = [md.shard(tmp_path / "c.bin", "int32")]
    with pytest.raises(ReductionArgumentError, match="step 1"):
        md.slice_mean(ints, np.s_[::2], client=local)
    with pytest.raises(ReductionArgumentError, match="step 1"):
        md.slice_mean(ints, 0, client=local)
    assert _warned(lambda: md.slice_mean(ints, np.s_[3:1], client=local)) == _warned(
        lambda: memmapref.slice_mean(np.zeros(4, np.int32), np.s_[3:1])
    )


def test_shard_descriptions(tmp_path: Path) -> None:
    raw = tmp_path / "raw.bin"
    raw.write_bytes(bytes(20))
    assert md.shard(raw, "int32", offset=4) == md.Shard(str(raw), np.dtype("int32"), (4,), 4, "C")
    with pytest.raises(FileSizeError, match="whole number"):
        md.shard(raw, "int64", offset=8)
    with pytest.raises(FileSizeError, match="whole number"):
        md.shard(raw, "int64", offset=24)
    with pytest.raises(MissingFileError, match=r"nothing\.bin"):
        md.shard(tmp_path / "nothing.bin", "int64")
    with pytest.raises(MissingFileError, match=r"nothing\.npy"):
        md.shard(tmp_path / "nothing.npy")
    with pytest.raises(ReductionArgumentError, match=r"no valid \.npy header"):
        md.shard(raw)
    np.save(tmp_path / "f.npy", np.asfortranarray(np.ones((3, 2))))
    np.save(tmp_path / "col.npy", np.ones((3, 1)))
    with pytest.raises(ReductionArgumentError, match="Fortran order"):
        md.filtered_sum([tmp_path / "f.npy"], 0.0)
    with pytest.raises(ReductionArgumentError, match="dtype float64 and shape"):
        md.filtered_sum([tmp_path / "col.npy", md.shard(raw, "int32")], 0.0)
    for bad in ([], str(raw)):
        with pytest.raises(ReductionArgumentError, match="non-empty list"):
            md.filtered_sum(bad, 0.0)


def test_fortran_column_shards(local: Client, tmp_path: Path) -> None:
    a = _data("float64", rows=5000)[:, :1]
    paths = []
    for i, part in enumerate(np.array_split(a, 3)):
        path = tmp_path / f"col{i}.bin"
        part.tofile(path)
        paths.append(md.shard(path, a.dtype, part.shape, order="F"))
    whole = tmp_path / "whole.bin"
    a.tofile(whole)
    with memmapref.open(whole, a.dtype, a.shape) as m:
        want = memmapref.filtered_sum(m, THRESHOLD, chunk_bytes=4096)
    _same(md.filtered_sum(paths, THRESHOLD, client=local, chunk_bytes=4096), want)


def test_file_size_error_survives_pickling() -> None:
    exc = FileSizeError("short", path="p", expected=8, actual=4)
    back = pickle.loads(pickle.dumps(exc))
    assert (type(back), str(back), back.path, back.expected, back.actual) == (FileSizeError, "short", "p", 8, 4)
