"""The handle: sharing, closing, views after close (SPEC.md section 4)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ..oracle import read_array
from ..protocol import Adapter
from ..subproc import run_python
from ._support import fresh_file


class HandleTests:
    @pytest.mark.clause("HANDLE.1")
    def test_asarray_shares_the_mapping(self, impl: Adapter, tmp_path: Path) -> None:
        path = fresh_file(impl, tmp_path)
        handle = impl.create(path, np.int32, (4, 5))
        view = np.asarray(handle.array)
        impl.write(handle, (1, 2), 7)
        assert view[1, 2] == 7, "np.asarray(handle.array) is a copy, not a view of the mapping"
        del view
        impl.close(handle)

    @pytest.mark.clause("HANDLE.4")
    def test_close_twice_and_close_keeps_writes(self, impl: Adapter, tmp_path: Path) -> None:
        path = fresh_file(impl, tmp_path)
        handle = impl.create(path, np.float64, (8,))
        impl.close(handle)
        handle = impl.open(path, np.float64, (8,), mode="r+")
        impl.write(handle, slice(2, 4), 5.0)
        impl.close(handle)
        impl.close(handle)
        got = read_array(path, np.float64, (8,), offset=impl.data_offset(path))
        assert got.tolist() == [0, 0, 5, 5, 0, 0, 0, 0], f"after close the file holds {got.tolist()}"

    @pytest.mark.clause("HANDLE.5")
    @pytest.mark.subprocess
    def test_views_stay_valid_after_close(self, impl: Adapter, tmp_path: Path) -> None:
        if impl.spec is None:
            pytest.skip("not applicable: the child process needs an import spec (--impl MODULE:ATTR)")
        path = fresh_file(impl, tmp_path)
        # Crash-prone for implementations that unmap under live views: run it in a child.
        code = f"""
import gc, json
import numpy as np
from memmapref.testing.protocol import load
impl = load({impl.spec!r})
h = impl.create({str(path)!r}, np.float64, (4096,))
h.array[:] = np.arange(4096.0)
h.flush()
view = h.array[100:110]
strided = np.asarray(h.array)[::1000]
h.close()
gc.collect()
print(json.dumps([float(view.sum()), strided.tolist()]))
"""
        impl.note(code.strip())
        outcome = run_python(code)
        died = outcome.signal or outcome.returncode
        assert outcome.returncode == 0, f"the child died ({died}) reading views after close:\n{outcome.stderr[-2000:]}"
        view_sum, strided = json.loads(outcome.stdout)
        assert view_sum == float(sum(range(100, 110)))
        assert strided == [0.0, 1000.0, 2000.0, 3000.0, 4000.0]
