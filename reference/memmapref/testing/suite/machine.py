"""A state machine interleaving create, write, flush, close and reopen in every mode, against a byte model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from .. import profiles
from .. import strategies as mst
from ..oracle import read_bytes
from ..protocol import Adapter
from ._support import fresh_file

DTYPE = np.dtype("<i2")
SHAPE = (3, 4)


class FileModel(RuleBasedStateMachine):
    """The model is the file's bytes, plus what the open handle shows.

    Writes through an ``r+``/``w+`` handle become part of the model file on
    flush or close; through a ``c`` handle only the handle's own view changes.
    """

    def __init__(self, impl: Adapter, tmp_path: Path) -> None:
        super().__init__()
        self.impl = impl
        self.path = fresh_file(impl, tmp_path)
        self.handle: Any = None
        self.mode = ""
        self.order = "C"
        self.file = np.zeros(SHAPE, DTYPE)
        self.view = self.file.copy()

    @initialize(order=st.sampled_from(["C", "F"]))
    def create(self, order: str) -> None:
        if order not in self.impl.capabilities.orders:
            order = "C"
        self.order = order
        self.handle = self.impl.create(self.path, DTYPE, SHAPE, order=order)
        self.mode = "w+"
        self.file = np.zeros(SHAPE, DTYPE)
        self.view = self.file.copy()

    @precondition(lambda self: self.handle is not None and self.mode != "r")
    @rule(data=st.data())
    def write(self, data: Any) -> None:
        index = data.draw(npst.basic_indices(SHAPE, min_dims=0))
        values = data.draw(mst.arrays(DTYPE, self.view[index].shape))
        self.impl.write(self.handle, index, values)
        self.view[index] = values

    @precondition(lambda self: self.handle is not None)
    @rule()
    def flush(self) -> None:
        self.impl.flush(self.handle)
        if self.mode in ("r+", "w+"):
            self.file = self.view.copy()

    @precondition(lambda self: self.handle is not None)
    @rule()
    def close(self) -> None:
        self.impl.close(self.handle)
        self.handle = None
        if self.mode in ("r+", "w+"):
            self.file = self.view.copy()

    @precondition(lambda self: self.handle is None)
    @rule(mode=st.sampled_from(["r", "r+", "c"]))
    def reopen(self, mode: str) -> None:
        if mode not in self.impl.capabilities.modes:
            mode = "r"
        self.handle = self.impl.open(self.path, DTYPE, SHAPE, mode=mode, order=self.order)
        self.mode = mode
        self.view = self.file.copy()

    @invariant()
    def handle_shows_the_model(self) -> None:
        if self.handle is not None:
            got = np.asarray(self.handle.array)
            assert got.tobytes(order="A") == self.view.tobytes(order="A") or np.array_equal(got, self.view), (
                f"handle shows\n{got}\nexpected\n{self.view}"
            )

    @invariant()
    def flushed_state_is_on_disk(self) -> None:
        if self.handle is None or self.mode == "c":
            start = self.impl.data_offset(self.path)
            on_disk = read_bytes(self.path)[start:]
            assert on_disk == self.file.tobytes(order=self.order), "the file does not hold what was flushed"  # type: ignore[arg-type]

    def teardown(self) -> None:
        if self.handle is not None:
            self.impl.close(self.handle)


class StateMachineTests:
    @pytest.mark.clause("HANDLE.2", "OPEN.7", "OPEN.8", "OPEN.9")
    def test_interleaved_operations(self, impl: Adapter, tmp_path: Path) -> None:
        run_state_machine_as_test(
            lambda: FileModel(impl, tmp_path),  # type: ignore[arg-type]
            settings=settings(max_examples=profiles.scaled(0.5), stateful_step_count=12),
        )
