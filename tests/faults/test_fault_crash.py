"""Power failures under the crash model (SPEC.md FAULT.12), and what SIGKILL does (behaviour, not promise)."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from common.files import fresh_path
from crashmodel import CrashModel, Device, Fate, PowerCut, devices, fates, restart
from faultcalls import FailingCalls, forget_traceback
from hypothesis import given
from hypothesis import strategies as st
from leaks import open_under

import memmapref
from memmapref import _oscalls
from memmapref._oscalls import OsCalls
from memmapref.errors import FlushError
from memmapref.testing.oracle import read_bytes
from memmapref.testing.subproc import run_python

DTYPE = np.dtype("<f8")
SHAPE = (4, 256)  # 8 KiB: 16 sectors of 512 bytes, 2 pages
NBYTES = DTYPE.itemsize * SHAPE[0] * SHAPE[1]


def _sectors(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


# A write: rows [start, stop) of one column band set to a value; "flush" acknowledges.
_WRITE = st.tuples(
    st.integers(0, SHAPE[0] - 1),
    st.integers(1, SHAPE[0]),
    st.integers(0, 255),
    st.integers(1, 256),
    st.floats(-1e6, 1e6, allow_nan=False),
)
_OPS = st.lists(st.one_of(_WRITE, st.just("flush")), min_size=1, max_size=8)


def _apply(handle: Any, shadow: np.ndarray[Any, Any], op: Any) -> None:
    r0, r1, c0, width, value = op
    r1 = max(r1, r0 + 1)
    index = (slice(r0, r1), slice(c0, c0 + width))
    handle[index] = value
    shadow[index] = value


@pytest.mark.clause("FAULT.12", "HANDLE.3")
@given(device=devices(), ops=_OPS, data=st.data())
def test_nothing_acknowledged_is_ever_lost(fast_dir: Path, device: Device, ops: list[Any], data: Any) -> None:
    path = fresh_path(fast_dir)
    model = CrashModel(device)
    handle = model.create(path, DTYPE, SHAPE)
    shadow = np.zeros(SHAPE, dtype=DTYPE)
    acknowledged = shadow.tobytes()
    for op in ops:
        if op == "flush":
            handle.flush()
            acknowledged = shadow.tobytes()
        else:
            _apply(handle, shadow, op)
    written = shadow.tobytes()
    _, _, pending = model.pending(path)
    image = model.crash(path, data.draw(fates(device, len(pending)), label="fates"), data.draw(st.integers(0, 2**32)))
    handle.close()
    restart(path, image)

    assert image.content is not None, "the file itself did not survive the crash"
    assert len(image.content) == NBYTES
    size = device.sector
    after, ack, new = (_sectors(b, size) for b in (image.content, acknowledged, written))
    for s, (got, old, latest) in enumerate(zip(after, ack, new, strict=True)):
        if old == latest:
            # Nothing written here since the last flush: the acknowledged bytes, exactly.
            assert got == old, f"sector {s} ({device}): acknowledged data lost in a crash"
        elif device.atomic:
            assert got in (old, latest), f"sector {s} ({device}): an atomic sector came back torn"
    if written == acknowledged:
        # The workflow that flushes last survives every crash: read back through the reference.
        with memmapref.open(path, DTYPE, SHAPE) as again:
            assert np.asarray(again).tobytes() == written


@pytest.mark.clause("FAULT.12")
def test_skipping_the_flush_loses_data(fast_dir: Path) -> None:
    path = fresh_path(fast_dir)
    model = CrashModel(Device(atomic=True))
    handle = model.create(path, DTYPE, SHAPE)
    handle[1, :] = 42.0
    _, _, pending = model.pending(path)
    assert pending, "an unflushed write left nothing pending"
    image = model.crash(path, [Fate.LOST] * len(pending))
    handle.close()
    restart(path, image)
    with memmapref.open(path, DTYPE, SHAPE) as again:
        assert not (np.asarray(again)[1] == 42.0).any(), "the crash kept data that was never flushed"
        assert (np.asarray(again) == 0).all()


@pytest.mark.clause("FAULT.12")
@given(device=devices(), data=st.data())
def test_unflushed_writes_survive_only_by_luck(fast_dir: Path, device: Device, data: Any) -> None:
    path = fresh_path(fast_dir)
    model = CrashModel(device)
    handle = model.create(path, DTYPE, SHAPE)
    handle[:, :] = 1.5
    _, _, pending = model.pending(path)
    chosen = data.draw(fates(device, len(pending)))
    image = model.crash(path, chosen)
    handle.close()
    assert image.content is not None
    survived = image.content == np.full(SHAPE, 1.5, dtype=DTYPE).tobytes()
    assert survived == all(f is Fate.KEPT for f in chosen), f"fates {chosen} and the file disagree"


@pytest.mark.clause("FAULT.12", "CREATE.3", "CREATE.5")
@pytest.mark.parametrize("fate", [Fate.KEPT, Fate.LOST, Fate.GARBAGE])
def test_a_crash_anywhere_in_create_leaves_the_old_file_or_the_new(fast_dir: Path, fate: Fate) -> None:
    old = np.arange(300, dtype="<i8").tobytes()
    new = bytes(NBYTES)
    k = 0
    while True:
        k += 1
        path = fresh_path(fast_dir)
        path.write_bytes(old)
        model = CrashModel(Device())
        model.settle(path)
        model.calls.cut_at = k
        try:
            handle = model.create(path, DTYPE, SHAPE)
        except PowerCut as cut:
            forget_traceback(cut)
            handle = None
            model.release()
        _, _, pending = model.pending(path)
        image = model.crash(path, [fate] * len(pending))
        assert image.content in (old, new), (
            f"a power cut before call {k} of create left {len(image.content or b'')} bytes"
        )
        stray = model.durable_names() - {str(path)}
        assert not stray, f"a power cut before call {k} of create left durable names {stray}"
        if handle is not None:
            assert image.content == new, "create returned, but a crash brings the old file back"
            model.calls.cut_at = None
            handle.close()
            break
        assert not open_under(path.parent)
    assert k > 5, f"create made only {k - 1} calls"


@pytest.mark.clause("FAULT.12", "HANDLE.3")
def test_a_crash_during_flush_keeps_what_the_previous_flush_acknowledged(fast_dir: Path) -> None:
    for k in range(1, 4):
        path = fresh_path(fast_dir)
        model = CrashModel(Device(atomic=True))
        handle = model.create(path, DTYPE, SHAPE)
        handle[0, :] = 1.0
        handle.flush()
        handle[2, :] = 2.0
        model.calls.cut_at = len(model.calls.log) + k
        try:
            handle.flush()
            finished = True
        except PowerCut as cut:
            forget_traceback(cut)
            finished = False
        for fate in (Fate.LOST, Fate.KEPT):
            _, _, pending = model.pending(path)
            image = model.crash(path, [fate] * len(pending))
            assert image.content is not None
            got = np.frombuffer(image.content, dtype=DTYPE).reshape(SHAPE)
            assert (got[0] == 1.0).all(), f"a power cut at call {k} of flush lost the previous flush"
            if finished:
                assert (got[2] == 2.0).all(), "flush returned, but its data is not durable"
        model.calls.cut = False
        model.calls.cut_at = None
        handle.close()
        model.release()


@pytest.mark.clause("FAULT.12", "HANDLE.8")
def test_after_a_failed_flush_only_the_earlier_flush_is_promised(fast_dir: Path) -> None:
    path = fresh_path(fast_dir)
    failing = FailingCalls()
    model = CrashModel(Device(atomic=True), inner=failing)
    handle = model.create(path, DTYPE, SHAPE)
    handle[0, :] = 1.0
    handle.flush()
    handle[3, :] = 3.0
    failing.name = "fsync"
    with pytest.raises(FlushError) as info:
        handle.flush()
    forget_traceback(info.value)
    _, _, pending = model.pending(path)
    image = model.crash(path, [Fate.LOST] * len(pending))
    assert image.content is not None
    got = np.frombuffer(image.content, dtype=DTYPE).reshape(SHAPE)
    assert (got[0] == 1.0).all()
    assert not (got[3] == 3.0).any(), "the model made a failed flush durable"
    with pytest.raises(FlushError) as again:
        handle.close()
    forget_traceback(again.value)


class _NoFsync(OsCalls):
    """A reference that forgot its fsync: what the crash model exists to catch."""

    def __init__(self, inner: OsCalls) -> None:
        self.inner = inner

    def msync(self, mapping: Any) -> None:
        self.inner.msync(mapping)

    def fsync(self, fd: int) -> None:
        return None


def test_the_model_catches_a_flush_without_fsync(fast_dir: Path) -> None:
    path = fresh_path(fast_dir)
    model = CrashModel(Device())
    handle = model.create(path, DTYPE, SHAPE)
    handle[1, :] = 5.0
    with _oscalls.installed(_NoFsync(model.calls)):
        handle.inner.flush()
    _, _, pending = model.pending(path)
    assert pending, "the model counted data as durable without an fsync"
    image = model.crash(path, [Fate.LOST] * len(pending))
    assert image.content == bytes(NBYTES)
    handle.close()


@pytest.mark.subprocess
@pytest.mark.parametrize("writer", ["memmapref", "numpy.memmap"])
def test_sigkill_keeps_unflushed_writes_in_the_page_cache(tmp_path: Path, writer: str) -> None:
    """Linux behaviour, not a promise (SPEC.md section 7): the page cache outlives the process."""
    path = tmp_path / "data.bin"
    make = (
        f"h = memmapref.create({str(path)!r}, 'f8', (4, 256)); a = h.array"
        if writer == "memmapref"
        else f"a = np.memmap({str(path)!r}, dtype='f8', mode='w+', shape=(4, 256))"
    )
    code = f"""
import os, signal
import numpy as np
import memmapref
{make}
a[:] = 0.0
a[2, :] = 6.25
os.kill(os.getpid(), signal.SIGKILL)
"""
    outcome = run_python(code)
    assert outcome.signal == "SIGKILL", f"the child was not killed: {outcome.returncode} {outcome.stderr[-500:]}"
    got = np.frombuffer(read_bytes(path), dtype="f8").reshape(4, 256)
    assert (got[2] == 6.25).all(), "writes to a shared mapping vanished with the process"
    assert (got[[0, 1, 3]] == 0).all()


def test_errno_of_a_failed_flush_reaches_the_caller(fast_dir: Path) -> None:
    path = fresh_path(fast_dir)
    failing = FailingCalls(code=errno.ENOSPC, name="msync")
    model = CrashModel(Device(), inner=failing)
    handle = model.create(path, DTYPE, SHAPE)
    handle[0, 0] = 1.0
    with pytest.raises(FlushError) as info:
        handle.flush()
    assert info.value.errno == errno.ENOSPC
    forget_traceback(info.value)
    with pytest.raises(FlushError) as again:
        handle.close()
    forget_traceback(again.value)
    assert json.dumps(model.calls.log)  # the log is plain data, printable in a failure report
    assert not open_under(path.parent), os.listdir(path.parent)
