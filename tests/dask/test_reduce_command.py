"""`memmapref reduce`: the filtered sum of a directory of shards, on a scheduler or a local cluster."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from distributed import Client

import memmapref
from memmapref.cli import main

THRESHOLD = 0.5


def _shards(folder: Path, a: np.ndarray, parts: int, npy: bool) -> None:  # type: ignore[type-arg]
    folder.mkdir()
    for i, part in enumerate(np.array_split(a, parts)):
        if npy:
            np.save(folder / f"part-{i:02}.npy", part)
        else:
            part.tofile(folder / f"part-{i:02}.bin")


def _want(tmp: Path, a: np.ndarray, threshold: float) -> str:  # type: ignore[type-arg]
    whole = tmp / "whole.bin"
    a.tofile(whole)
    with memmapref.open(whole, a.dtype, a.shape) as m:
        return repr(memmapref.filtered_sum(m, threshold))


@pytest.mark.parametrize("npy", [True, False])
def test_reduce_on_a_scheduler(client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str], npy: bool) -> None:
    a = np.random.default_rng(3).standard_normal(300_000).astype(np.float32)
    _shards(tmp_path / "shards", a, 7, npy)
    dtype = [] if npy else ["--dtype", "float32"]
    assert main(["reduce", str(tmp_path / "shards"), "0.5", *dtype, "--scheduler", client.scheduler.address]) == 0
    out = capsys.readouterr().out
    assert f"7 shards of float32, on {client.scheduler.address}" in out
    assert out.rstrip().endswith(f"filtered sum (x > 0.5): {_want(tmp_path, a, THRESHOLD)}")


def test_integer_threshold(client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = np.arange(-1000, 5000, dtype=np.int16)
    _shards(tmp_path / "shards", a, 3, npy=True)
    assert main(["reduce", str(tmp_path / "shards"), "7", "--scheduler", client.scheduler.address]) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"filtered sum (x > 7): {a[a > 7].sum()!r}")


@pytest.mark.slow
def test_reduce_on_a_local_cluster(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = np.random.default_rng(4).standard_normal(100_000)
    _shards(tmp_path / "shards", a, 3, npy=True)
    assert main(["reduce", str(tmp_path / "shards"), "0.5", "--workers", "1", "--chunk-bytes", "65536"]) == 0
    whole = tmp_path / "whole.bin"
    a.tofile(whole)
    with memmapref.open(whole, a.dtype, a.shape) as m:
        want = repr(memmapref.filtered_sum(m, THRESHOLD, chunk_bytes=65536))
    assert capsys.readouterr().out.rstrip().endswith(f"filtered sum (x > 0.5): {want}")


def test_usage_errors(client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    address = ["--scheduler", client.scheduler.address]
    (tmp_path / "empty").mkdir()
    assert main(["reduce", str(tmp_path / "empty"), "0", *address]) == 2
    assert "no .npy files (pass --dtype for raw shards)" in capsys.readouterr().err
    assert main(["reduce", str(tmp_path / "empty"), "0", "--dtype", "int8", *address]) == 2
    assert "got no files in" in capsys.readouterr().err
    assert main(["reduce", str(tmp_path / "missing"), "0", *address]) == 2
    assert "missing" in capsys.readouterr().err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.npy").write_bytes(b"not numpy")
    assert main(["reduce", str(tmp_path / "bad"), "0", *address]) == 2
    assert "no valid .npy header" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["reduce", str(tmp_path / "bad"), "zero"])
    assert usage.value.code == 2


def test_short_shard_reported(client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = np.arange(30_000, dtype=np.int64)
    _shards(tmp_path / "shards", a, 3, npy=True)
    # The header still promises 10,000 items; the worker that maps the shard finds the file short.
    os.truncate(tmp_path / "shards" / "part-01.npy", 1000)
    assert main(["reduce", str(tmp_path / "shards"), "0", "--scheduler", client.scheduler.address]) == 2
    err = capsys.readouterr().err
    assert "part-01.npy" in err
    assert "of 1000 bytes" in err
