"""The adapter, capabilities, snippets and the oracle's own checks."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
from common.wrappers import limited_reference
from hypothesis.errors import UnsatisfiedAssumption

from memmapref.testing.implementations import reference
from memmapref.testing.oracle import FileState, read_array
from memmapref.testing.protocol import SNIPPET_ATTRIBUTE, Adapter, Capabilities, literal, load, npy_data_offset
from memmapref.testing.suite import CreateTests, ErrorTests, HandleTests, ReductionTests, StateMachineTests
from memmapref.testing.suite._support import raises_builtin


def test_capabilities_from_a_dict_an_instance_or_nothing() -> None:
    assert Capabilities.of(None) == Capabilities()
    given = Capabilities(offsets=False)
    assert Capabilities.of(given) is given
    assert Capabilities.of({"modes": ["r"], "orders": ("C",)}) == Capabilities(
        modes=frozenset({"r"}), orders=frozenset({"C"})
    )
    with pytest.raises(ValueError, match="capability names"):
        Capabilities.of({"mmap_speed": 3})


def test_load_calls_a_factory() -> None:
    assert load("memmapref.testing.implementations:_Reference").name == "memmapref"


def test_literals_rebuild_their_values() -> None:
    for value in [np.arange(3, dtype=">i2"), np.float32(1.5), math.inf, (1,), [1, 2], ..., slice(1, None, -1)]:
        rebuilt = eval(literal(value), {"np": np})  # the snippet is Python source by design
        if isinstance(value, np.ndarray):
            assert rebuilt.tobytes() == value.tobytes() and rebuilt.dtype == value.dtype
        else:
            assert rebuilt == value or repr(rebuilt) == repr(value)
    assert literal(np.float64) == "np.float64" and literal(object) == "object"
    assert literal(np.dtype([("a", "<i4")])) == "[('a', '<i4')]"
    # Padding and alignment survive: the list form would lose them.
    for dtype in [
        np.dtype([("a", "u1"), ("b", "<f8")], align=True),
        np.dtype({"names": ["x"], "formats": ["<i2"], "itemsize": 8}),
    ]:
        rebuilt = np.dtype(eval(literal(dtype), {"np": np}))
        assert (
            rebuilt == dtype and rebuilt.itemsize == dtype.itemsize and rebuilt.isalignedstruct == dtype.isalignedstruct
        )


def test_snippet_without_a_spec_and_handles_it_did_not_make(tmp_path: Path) -> None:
    adapter = Adapter(reference)
    adapter.begin(str(tmp_path))
    assert repr(adapter) == "<Adapter for memmapref>"
    assert adapter.name_of(object()) == "h"
    assert "impl = ...  # the implementation 'memmapref'" in adapter.snippet()
    assert adapter._path("/elsewhere/x.bin") == "/elsewhere/x.bin"


def test_npy_data_offsets(tmp_path: Path) -> None:
    path = tmp_path / "a.npy"
    np.save(path, np.zeros(3))
    assert npy_data_offset(path) == path.stat().st_size - 24
    version2 = tmp_path / "b.npy"
    version2.write_bytes(b"\x93NUMPY\x02\x00" + (6).to_bytes(4, "little") + b"{}    ")
    assert npy_data_offset(version2) == 18
    (tmp_path / "c.npy").write_bytes(b"not numpy")
    with pytest.raises(ValueError, match="magic"):
        npy_data_offset(tmp_path / "c.npy")


def test_oracle_refuses_a_short_file_and_describes_a_directory(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(bytes(8))
    with pytest.raises(ValueError, match="holds 8 bytes"):
        read_array(path, np.float64, (2,))
    state = FileState.of(tmp_path)
    assert state.exists and state.sha256 == ""
    assert not FileState.of(tmp_path / "missing").exists


def test_state_machine_keeps_to_the_capabilities(tmp_path: Path) -> None:
    StateMachineTests().test_interleaved_operations(
        Adapter(limited_reference("limited", modes={"r", "r+"}, orders={"C"})), tmp_path
    )


def test_reductions_are_judged_without_a_read_only_mode(tmp_path: Path) -> None:
    # They opened every file in mode 'r', so an implementation without it had no MEAN or FSUM verdict at all.
    # As torch.from_file, which has no read-only mapping.
    impl = Adapter(limited_reference("no read-only", modes={"r+", "c"}))
    impl.begin(str(tmp_path))
    ReductionTests().test_sizes_at_powers_of_two(impl, tmp_path, 2**10 - 1)
    assert {"FSUM.2", "MEAN.2"} <= impl.entered
    assert "mode='c'" in impl.snippet()


def test_an_explicit_examples_failure_keeps_its_own_snippet(tmp_path: Path) -> None:
    # Hypothesis raises a failing explicit example's error after running the later examples: a snippet
    # read from the transcript at the end was the last example's, which passed (a 1-byte old file).
    import defective  # beside this module

    impl = Adapter(defective.overwrites_in_place, spec="defective:overwrites_in_place")
    with pytest.raises(AssertionError) as raised:
        CreateTests().test_replaces_an_existing_file(impl, tmp_path)
    snippet = getattr(raised.value, SNIPPET_ATTRIBUTE)
    assert "file is 4096 bytes; expected 16" in str(raised.value)
    assert "f.write(b'" + "\\xff" * 4096 + "')" in snippet, snippet[:300]


def test_views_after_close_needs_an_import_spec(tmp_path: Path) -> None:
    with pytest.raises(pytest.skip.Exception, match="import spec"):
        HandleTests().test_views_stay_valid_after_close(Adapter(reference), tmp_path)


def test_capabilities_state_the_dtypes_as_kinds_or_a_predicate() -> None:
    kinds = Capabilities.of({"dtypes": ["i", "f"]})
    assert kinds.dtypes == frozenset({"i", "f"})
    assert kinds.supports(">f8") and kinds.supports(np.int8)
    assert not kinds.supports("M8[ns]") and not kinds.supports("?")
    # A composite dtype is supported when every field (or the subarray's base) is.
    assert kinds.supports([("a", "<i4"), ("b", ">f8")]) and kinds.supports(("<i2", (2, 3)))
    assert not kinds.supports([("a", "<i4"), ("t", "<M8[s]")])
    native = Capabilities(dtypes=lambda dt: dt.isnative)
    assert native.supports("=f8") and not native.supports(">f8" if np.little_endian else "<f8")
    assert Capabilities().supports(np.dtype([("o", "O")]))


def test_an_unsupported_dtype_is_never_created(tmp_path: Path) -> None:
    """Outside Hypothesis the test is skipped; inside, the example is rejected and the reason kept."""
    from hypothesis import given
    from hypothesis import strategies as st
    from hypothesis.errors import Unsatisfiable

    class NumbersOnly:
        name = "numbers-only"
        capabilities = Capabilities(dtypes=frozenset("biufc"))
        create = staticmethod(reference.create)
        open = staticmethod(reference.open)

    adapter = Adapter(NumbersOnly())
    with pytest.raises(pytest.skip.Exception, match="does not support dtype datetime64"):
        adapter.create(tmp_path / "a.bin", "M8[s]", (2,))
    with pytest.raises(pytest.skip.Exception, match="does not support dtype"):
        adapter.open(tmp_path / "a.bin", "U3", (2,))

    @given(st.just("S4"))
    def draws(dtype: str) -> None:
        adapter.create(tmp_path / "b.bin", dtype, (2,))

    with pytest.raises(Unsatisfiable):
        draws()
    assert adapter.inapplicable[0] == "not applicable: numbers-only does not support dtype |S4"
    assert not (tmp_path / "a.bin").exists() and not (tmp_path / "b.bin").exists()


def test_a_path_like_that_is_no_pathlib_path_shows_what_it_holds() -> None:
    from memmapref.testing.strategies import FsPath

    assert repr(FsPath("data.bin")) == "FsPath('data.bin')" and os.fspath(FsPath(b"x")) == b"x"


@pytest.mark.parametrize(
    ("dtype", "kind"), [("?", float), ("<i2", np.float32), ("<c16", complex), ("<f4", np.float16)], ids=str
)
def test_thresholds_of_each_kind_include_other_types(dtype: str, kind: type) -> None:
    """Every branch of typed_thresholds, whatever the property tests that use it happen to draw."""
    from hypothesis import find

    from memmapref.testing.strategies import typed_thresholds

    # An empty array has no item to draw as a tie, so the draw is one of the kind's other types.
    found = find(typed_thresholds(np.zeros(0, dtype)), lambda t: isinstance(t, kind))
    assert isinstance(found, kind)


def test_a_dtype_outside_the_capabilities_must_be_refused_with_typeerror(tmp_path: Path) -> None:
    # In-process, for coverage: the verdict tests make the same check in a child coverage does not trace.
    import defective  # beside this module

    impl = Adapter(defective.numeric_only)
    ErrorTests().test_each_dtype_kind(impl, tmp_path, "datetime64-ns")
    assert "TypeError" in impl.snippet()


def test_an_example_rejected_for_a_capability_is_no_error_of_the_implementation() -> None:
    def rejected() -> None:
        raise UnsatisfiedAssumption()

    with pytest.raises(UnsatisfiedAssumption):
        raises_builtin((ValueError,), rejected)
