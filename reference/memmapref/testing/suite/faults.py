"""Faults: short, long, misread and corrupt files, and hazards that need a child process (SPEC.md section 7).

Every check here holds for any implementation; the reference's own fault
tests (I/O errors through its OS seam, the crash model) live in the
project's ``tests/faults``.
"""

from __future__ import annotations

import math
import mmap
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from .. import strategies as mst
from ..oracle import FileState, read_array
from ..protocol import Adapter
from . import _damage
from ._support import child_reports, file_state, fresh_file, raises_builtin, run_in_child, same_bytes, unchanged

# Large enough that the data spans pages that are wholly past a truncated end.
_CHILD_ITEMS = 16 * mmap.PAGESIZE // 8
_SKIP = 77  # a child's exit status for "this machine cannot run the scenario"


class FaultTests:
    @pytest.mark.clause("FAULT.1")
    @given(data=st.data())
    def test_a_file_too_short_is_refused(self, impl: Adapter, tmp_path: Path, data: Any) -> None:
        path, dtype, shape, order, offset = _damage.too_short(impl, tmp_path, data)
        before = file_state(impl, path)
        for mode in _damage.modes(impl, "r", "c"):
            raises_builtin((ValueError,), impl.open, path, dtype, shape, mode=mode, offset=offset, order=order)
            unchanged(impl, before, path)

    @pytest.mark.clause("FAULT.2")
    @given(data=st.data(), empty=st.booleans())
    def test_read_write_mode_never_extends_a_short_file(
        self, impl: Adapter, tmp_path: Path, data: Any, empty: bool
    ) -> None:
        impl.require(modes="r+")
        path, dtype, shape, order, offset = _damage.too_short(impl, tmp_path, data)
        if empty:
            _damage.truncate(impl, path, 0)
        before = file_state(impl, path)
        raises_builtin((ValueError,), impl.open, path, dtype, shape, mode="r+", offset=offset, order=order)
        unchanged(impl, before, path)

    @pytest.mark.clause("FAULT.3")
    @given(dtype=mst.NUMERIC, shape=mst.shapes(min_dims=1, max_dims=3).filter(lambda s: math.prod(s) > 0))
    def test_an_empty_file_is_refused(
        self, impl: Adapter, tmp_path: Path, dtype: np.dtype[Any], shape: tuple[int, ...]
    ) -> None:
        path = fresh_file(impl, tmp_path)
        path.touch()
        impl.note(f"open({path.name!r}, 'wb').close()")
        before = file_state(impl, path)
        for mode in _damage.modes(impl, "r", "c"):
            raises_builtin((ValueError,), impl.open, path, dtype, shape, mode=mode)
            unchanged(impl, before, path)

    @pytest.mark.clause("FAULT.4")
    @given(data=st.data(), tail=st.binary(min_size=1, max_size=64))
    def test_bytes_after_the_array_are_ignored(self, impl: Adapter, tmp_path: Path, data: Any, tail: bytes) -> None:
        path, dtype, shape, order, offset, values = _damage.written(impl, tmp_path, data)
        impl.note(f"open({path.name!r}, 'ab').write({tail!r})")
        with open(path, "ab") as f:
            f.write(tail)
        before = file_state(impl, path)
        for mode in sorted(impl.capabilities.modes):
            handle = impl.open(path, dtype, shape, mode=mode, offset=offset, order=order)
            same_bytes(impl.read(handle), values, order, impl=impl)
            impl.close(handle)
            unchanged(impl, before, path)

    @pytest.mark.clause("FAULT.5")
    @given(data=st.data())
    def test_a_misread_that_fits(self, impl: Adapter, tmp_path: Path, data: Any) -> None:
        path, dtype, shape, order, offset, values = _damage.written(impl, tmp_path, data)
        before = file_state(impl, path)
        if impl.capabilities.file_format != "raw":
            other_dtype, other_shape, other_order = dtype, shape, order
            # The order is only a mismatch where C and F layouts differ: two dimensions longer than 1.
            layouts_differ = sum(n > 1 for n in shape) > 1
            what = data.draw(st.sampled_from(["dtype", "shape", "order"] if layouts_differ else ["dtype", "shape"]))
            if what == "dtype":
                other_dtype = data.draw(mst.NUMERIC.filter(lambda d: d != dtype), label="other dtype")
            elif what == "shape":
                other_shape = data.draw(
                    mst.shapes(min_dims=1, max_dims=3).filter(lambda s: s != shape), label="other shape"
                )
            else:
                other_order = "C" if order == "F" else "F"
            for mode in sorted(impl.capabilities.modes):
                raises_builtin((ValueError,), impl.open, path, other_dtype, other_shape, mode=mode, order=other_order)
                unchanged(impl, before, path)
            return
        size = offset + values.nbytes
        other = data.draw(mst.NUMERIC, label="read as dtype")
        at = data.draw(st.integers(0, size), label="read at offset") if impl.capabilities.offsets else 0
        other_order = data.draw(mst.orders_for(impl.capabilities), label="read in order")
        room = (size - at) // other.itemsize
        lead = data.draw(st.integers(1, 3), label="rows")
        other_shape = (lead, data.draw(st.integers(0, room // lead), label="columns")) if room >= lead else (0,)
        expected = read_array(path, other, other_shape, offset=at, order=other_order)
        for mode in sorted(impl.capabilities.modes):
            handle = impl.open(path, other, other_shape, mode=mode, offset=at, order=other_order)
            same_bytes(impl.read(handle), expected, other_order, impl=impl)
            impl.close(handle)
            unchanged(impl, before, path)

    @pytest.mark.clause("FAULT.6")
    def test_shape_none_with_the_offset_at_or_past_the_end(self, impl: Adapter, tmp_path: Path) -> None:
        impl.require(file_format="raw", offsets=True, shape_none=True)
        path = fresh_file(impl, tmp_path)
        path.write_bytes(np.arange(5, dtype="<f8").tobytes())
        impl.note(f"open({path.name!r}, 'wb').write(np.arange(5, dtype='<f8').tobytes())")
        before = file_state(impl, path)
        for mode in sorted(impl.capabilities.modes):
            handle = impl.open(path, "<f8", None, mode=mode, offset=40)
            assert impl.read(handle).shape == (0,), "an offset at the end must give an empty array"
            impl.close(handle)
            # Past the end by part of an item, by whole items, by whole pages.
            for past in (1, 8, mmap.ALLOCATIONGRANULARITY):
                raises_builtin((ValueError,), impl.open, path, "<f8", None, mode=mode, offset=40 + past)
                unchanged(impl, before, path)

    @pytest.mark.clause("FAULT.7")
    @pytest.mark.parametrize(
        "corruption",
        [
            "bad-magic",
            "version-9",
            "header-length-past-end",
            "not-a-dict",
            "missing-key",
            "unknown-descr",
            "float-shape",
            "cut-in-magic",
            "cut-in-header",
        ],
    )
    def test_a_npy_header_that_cannot_be_read(self, impl: Adapter, tmp_path: Path, corruption: str) -> None:
        impl.require(file_format="npy")
        path = fresh_file(impl, tmp_path)
        impl.close(impl.create(path, "<f8", (8, 4)))
        with open(path, "rb") as f:
            head = f.read(12)
        width = 2 if head[6] == 1 else 4
        if corruption == "bad-magic":
            _damage.patch(impl, path, 1, b"NUMPZ")
        elif corruption == "version-9":
            _damage.patch(impl, path, 6, b"\x09")
        elif corruption == "header-length-past-end":
            _damage.patch(impl, path, 8, b"\xff" * width)
        elif corruption == "not-a-dict":
            _damage.rewrite_npy_header(impl, path, lambda t: t.replace("{", "[", 1))
        elif corruption == "missing-key":
            _damage.rewrite_npy_header(impl, path, lambda t: t.replace("'descr'", "'dexcr'"))
        elif corruption == "unknown-descr":
            _damage.rewrite_npy_header(impl, path, lambda t: t.replace("'<f8'", "'<f9'"))
        elif corruption == "float-shape":
            _damage.rewrite_npy_header(impl, path, lambda t: t.replace("(8, 4)", "(8.0, 4)"))
        elif corruption == "cut-in-magic":
            _damage.truncate(impl, path, 5)
        else:
            _damage.truncate(impl, path, 8 + width + 10)
        before = file_state(impl, path)
        for mode in sorted(impl.capabilities.modes):
            raises_builtin((ValueError,), impl.open, path, "<f8", (8, 4), mode=mode)
            unchanged(impl, before, path)

    @pytest.mark.clause("FAULT.8")
    def test_a_npy_header_with_a_negative_shape(self, impl: Adapter, tmp_path: Path) -> None:
        impl.require(file_format="npy")
        path = fresh_file(impl, tmp_path)
        impl.close(impl.create(path, "<f8", (8, 4)))
        _damage.rewrite_npy_header(impl, path, lambda t: t.replace("(8, 4)", "(-8, 4)"))
        before = file_state(impl, path)
        problems = []
        # Every mode is tried, so that the report shows each one that fails.
        for mode in sorted(impl.capabilities.modes):
            try:
                handle = impl.open(path, "<f8", (8, 4), mode=mode)
            except ValueError:
                pass
            except Exception as exc:  # the class is the finding
                problems.append(f"mode {mode!r}: {type(exc).__name__}: {exc}")
            else:
                impl.close(handle)
                problems.append(f"mode {mode!r}: opened")
            if FileState.of(path) != before:
                problems.append(f"mode {mode!r} changed the file")
        assert not problems, f"expected ValueError in every mode; got {problems}"

    @pytest.mark.clause("FAULT.10")
    def test_a_path_through_a_regular_file(self, impl: Adapter, tmp_path: Path) -> None:
        path = fresh_file(impl, tmp_path)
        impl.close(impl.create(path, "<f8", (4,)))
        inner = path / "inner.bin"
        listing = sorted(os.listdir(path.parent))
        for mode in sorted(impl.capabilities.modes):
            raises_builtin((NotADirectoryError,), impl.open, inner, "<f8", (4,), mode=mode)
        raises_builtin((NotADirectoryError,), impl.create, inner, "<f8", (4,))
        assert sorted(os.listdir(path.parent)) == listing, "a refused call created a file"

    # -- in a child process ------------------------------------------------------------

    @pytest.mark.clause("FAULT.9")
    @pytest.mark.subprocess
    def test_reductions_over_a_file_truncated_while_mapped(self, impl: Adapter, tmp_path: Path) -> None:
        path = fresh_file(impl, tmp_path)
        impl.require(modes=impl.reading_mode)  # here, not in the child, where a skip is an exit status
        outcome = run_in_child(
            impl,
            f"""
PATH = {str(path)!r}
h = impl.create(PATH, "<f8", ({_CHILD_ITEMS},))
h.array[...] = np.arange({_CHILD_ITEMS}) % 7
impl.close(h)
start = impl.data_offset(PATH)
h = impl.open(PATH, "<f8", ({_CHILD_ITEMS},), mode={impl.reading_mode!r})
pid = os.fork()
if pid == 0:  # another process truncates the file to its data's first byte
    os.truncate(PATH, start)
    os._exit(0)
os.waitpid(pid, 0)
report(lambda: float(impl.slice_mean(h, ...)))
report(lambda: float(impl.filtered_sum(h, 3.0)))
""",
        )
        for got in child_reports(outcome):
            assert {"ValueError", "OSError"} & set(got.get("mro", [])), (
                f"got {got}; expected ValueError or OSError from a reduction over a truncated file"
            )

    @pytest.mark.clause("CREATE.7")
    @pytest.mark.subprocess
    def test_a_process_mapping_the_old_file_during_create(self, impl: Adapter, tmp_path: Path) -> None:
        path = fresh_file(impl, tmp_path)
        impl.require(modes=impl.reading_mode)  # here, not in the child, where a skip is an exit status
        outcome = run_in_child(
            impl,
            f"""
PATH = {str(path)!r}
h = impl.create(PATH, "<f8", ({_CHILD_ITEMS},))
h.array[...] = 1.0
impl.close(h)
reader = impl.open(PATH, "<f8", ({_CHILD_ITEMS},), mode={impl.reading_mode!r})
pid = os.fork()
if pid == 0:  # another process creates a smaller file at the same path
    impl.close(impl.create(PATH, "<f8", (16,)))
    os._exit(0)
os.waitpid(pid, 0)
report(lambda: float(np.asarray(reader.array).sum()))
""",
        )
        (got,) = child_reports(outcome)
        assert got == {"value": float(_CHILD_ITEMS)}, f"got {got}; the reader of the old file lost its data"

    @pytest.mark.clause("CREATE.5")
    @pytest.mark.subprocess
    def test_a_create_that_fails_leaves_the_old_file(self, impl: Adapter, tmp_path: Path) -> None:
        path = fresh_file(impl, tmp_path)
        limit = 64 << 10
        # RLIMIT_FSIZE makes any write or extension past `limit` fail with EFBIG (SIGXFSZ ignored):
        # a create of a larger file fails, whatever the implementation.
        outcome = run_in_child(
            impl,
            f"""
import hashlib, resource, signal
PATH = {str(path)!r}
with open(PATH, "wb") as f:
    f.write(bytes(range(256)) * 64)
def state():
    with open(PATH, "rb") as f:
        return [os.stat(PATH).st_size, os.stat(PATH).st_mtime_ns, hashlib.sha256(f.read()).hexdigest()]
before = state()
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, hard))
report(lambda: impl.create(PATH, "<f8", ({4 * limit // 8},)) and "created")
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
report(lambda: {{"unchanged": state() == before, "listing": sorted(os.listdir(os.path.dirname(PATH)))}})
""",
        )
        failed, after = child_reports(outcome)
        if "error" not in failed:
            pytest.skip(f"not applicable: create succeeded beyond RLIMIT_FSIZE ({failed})")
        assert after == {"value": {"unchanged": True, "listing": [path.name]}}, (
            f"after a failed create ({failed['error']}: {failed['message']}): {after}"
        )

    @pytest.mark.clause("CREATE.4")
    @pytest.mark.subprocess
    def test_a_full_disk_is_an_error_from_create(self, impl: Adapter, tmp_path: Path) -> None:
        mount = tmp_path / "small"
        mount.mkdir()
        # unshare() refuses a process with several threads: the mount comes before any import.
        private_tmpfs = f"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
def give_up(step):
    print(f"cannot {{step}}: {{os.strerror(ctypes.get_errno())}}", flush=True)
    sys.exit({_SKIP})
if libc.unshare(0x00020000) != 0:  # CLONE_NEWNS: a private mount namespace
    give_up("make a mount namespace")
if libc.mount(b"none", b"/", None, 0x4000 | (1 << 18), None) != 0:  # MS_REC | MS_PRIVATE
    give_up("make mounts private")
if libc.mount(b"none", {str(mount).encode()!r}, b"tmpfs", 0, b"size=1m") != 0:
    give_up("mount a 1 MiB tmpfs")
"""
        outcome = run_in_child(
            impl,
            f"""
def fill():
    h = impl.create({str(mount / "big.bin")!r}, "<f8", ((2 << 20) // 8,))
    h.array[...] = 1.0
    return "wrote 2 MiB to a 1 MiB filesystem"
report(fill)
""",
            before_imports=private_tmpfs,
        )
        if outcome.returncode == _SKIP:
            pytest.skip(f"not applicable here: needs a private tmpfs ({outcome.stdout.strip()})")
        (got,) = child_reports(outcome)
        assert "OSError" in got.get("mro", []), f"got {got}; expected OSError (ENOSPC) from create"
