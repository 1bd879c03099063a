"""Exits of the suite's FaultTests that the bundled implementations never take.

Each is reached here with a canned child outcome, an adapter without an
import spec or a lenient fake, so that a skip or a failure in the conformance
report is known to mean what it says.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from common.wrappers import limited_reference

from memmapref.testing import implementations
from memmapref.testing.protocol import Adapter, Capabilities
from memmapref.testing.subproc import Outcome
from memmapref.testing.suite import _support
from memmapref.testing.suite.faults import _CHILD_ITEMS, FaultTests

SPEC = "memmapref.testing.implementations:reference"


def _canned(monkeypatch: pytest.MonkeyPatch, outcome: Outcome) -> list[str]:
    seen: list[str] = []

    def fake(code: str, **_: Any) -> Outcome:
        seen.append(code)
        return outcome

    monkeypatch.setattr(_support, "run_python", fake)
    return seen


@pytest.mark.parametrize(
    "test",
    [
        "test_reductions_over_a_file_truncated_while_mapped",
        "test_a_process_mapping_the_old_file_during_create",
        "test_a_create_that_fails_leaves_the_old_file",
        "test_a_full_disk_is_an_error_from_create",
    ],
)
def test_child_tests_need_an_import_spec(tmp_path: Path, test: str) -> None:
    impl = Adapter(implementations.reference, spec=None)
    impl.begin(str(tmp_path))
    with pytest.raises(pytest.skip.Exception, match="needs an import spec"):
        getattr(FaultTests(), test)(impl, tmp_path)


def test_no_private_tmpfs_is_not_applicable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _canned(monkeypatch, Outcome(77, "cannot make a mount namespace: Operation not permitted\n", ""))
    impl = Adapter(implementations.reference, spec=SPEC)
    impl.begin(str(tmp_path))
    with pytest.raises(pytest.skip.Exception, match="needs a private tmpfs"):
        FaultTests().test_a_full_disk_is_an_error_from_create(impl, tmp_path)
    (code,) = seen
    assert code.index("libc.unshare") < code.index("import numpy"), "the mount must come before any import"


def test_a_create_that_cannot_fail_is_not_applicable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [json.dumps({"value": "created"}), json.dumps({"value": {"unchanged": False, "listing": []}})]
    _canned(monkeypatch, Outcome(0, "\n".join(lines) + "\n", ""))
    impl = Adapter(implementations.reference, spec=SPEC)
    impl.begin(str(tmp_path))
    with pytest.raises(pytest.skip.Exception, match="create succeeded beyond RLIMIT_FSIZE"):
        FaultTests().test_a_create_that_fails_leaves_the_old_file(impl, tmp_path)


def test_a_child_that_dies_fails_the_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _canned(monkeypatch, Outcome(-7, "", "Fatal Python error: Bus error"))
    impl = Adapter(implementations.reference, spec=SPEC)
    impl.begin(str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match="SIGBUS"):
        FaultTests().test_reductions_over_a_file_truncated_while_mapped(impl, tmp_path)


def test_a_child_that_exits_shows_its_last_line_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The report shows a failure's first line only: an exit without the child's reason told the reader nothing.
    _canned(monkeypatch, Outcome(1, "", "Traceback (most recent call last):\nNotImplementedError: no mode 'r'\n"))
    impl = Adapter(implementations.reference, spec=SPEC)
    impl.begin(str(tmp_path))
    with pytest.raises(
        pytest.fail.Exception,
        match=r"^the child exited with status 1 instead of reporting "
        r"\(NotImplementedError: no mode 'r'\):\n",
    ):
        FaultTests().test_reductions_over_a_file_truncated_while_mapped(impl, tmp_path)


# Each child reader's test, and a report of its child that passes it.
_CHILD_READERS = {
    "test_reductions_over_a_file_truncated_while_mapped": [{"mro": ["ValueError"]}] * 2,
    "test_a_process_mapping_the_old_file_during_create": [{"value": float(_CHILD_ITEMS)}],
}


@pytest.mark.parametrize("test", _CHILD_READERS)
@pytest.mark.parametrize(("modes", "used"), [(("r", "r+", "c"), "r"), (("r+", "c"), "c"), (("r+",), "r+")])
def test_a_child_reads_in_a_mode_the_implementation_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, test: str, modes: tuple[str, ...], used: str
) -> None:
    # Without mode 'r' the child's open raised the suite's own skip, and FAULT.9 and CREATE.7 were reported failed.
    reports = "".join(json.dumps(line) + "\n" for line in _CHILD_READERS[test])
    seen = _canned(monkeypatch, Outcome(0, reports, ""))
    impl = Adapter(limited_reference(f"modes {modes}", modes=modes), spec=SPEC)
    impl.begin(str(tmp_path))
    getattr(FaultTests(), test)(impl, tmp_path)
    (code,) = seen
    assert f"mode={used!r})" in code


@pytest.mark.parametrize("test", _CHILD_READERS)
def test_a_child_reader_without_any_mode_is_not_applicable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, test: str
) -> None:
    seen = _canned(monkeypatch, Outcome(0, "", ""))
    impl = Adapter(limited_reference("no modes", modes=()), spec=SPEC)
    impl.begin(str(tmp_path))
    with pytest.raises(pytest.skip.Exception, match=r"not applicable: .* has modes=\[\]"):
        getattr(FaultTests(), test)(impl, tmp_path)
    assert seen == [], "the child was started for an implementation it cannot open a file with"


class _Handle:
    def __init__(self) -> None:
        self.array = np.zeros(1)

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None


class _Lenient:
    """A .npy reader that opens anything and touches the file: what FAULT.8's report must describe."""

    name = "lenient .npy reader"
    capabilities = Capabilities(file_format="npy", offsets=False)
    create = staticmethod(implementations.npy_memmap.create)

    def open(self, path: Any, dtype: Any, shape: Any = None, **_: Any) -> Any:
        with open(path, "ab") as f:
            f.write(b"\0")
        return _Handle()


def test_every_mode_is_reported_for_a_negative_header_shape(tmp_path: Path) -> None:
    impl = Adapter(_Lenient())
    impl.begin(str(tmp_path))
    with pytest.raises(AssertionError, match=r"'r': opened.*'r' changed the file.*'r\+': opened"):
        FaultTests().test_a_npy_header_with_a_negative_shape(impl, tmp_path)


def _header_shape(path: Any) -> tuple[int, ...]:
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape: tuple[int, ...] = read(f)[0]
    return shape


class _Strict(_Lenient):
    """A .npy reader that reads the header itself and refuses a negative shape as FAULT.8 asks.

    numpy 2's own reader refuses it with ValueError only in mode 'r+' and numpy 1.26's in no mode,
    so without this reader the suite's accepting branch would be reached on numpy 2 alone.
    """

    name = "strict .npy reader"

    def __init__(self) -> None:
        self.seen: list[tuple[str, tuple[int, ...]]] = []

    def open(self, path: Any, dtype: Any, shape: Any = None, *, mode: str = "r", **_: Any) -> Any:
        header_shape = _header_shape(path)
        self.seen.append((mode, header_shape))
        if any(n < 0 for n in header_shape):
            raise ValueError(f"negative dimension in the header's shape {header_shape}")
        return _Handle()


def test_a_reader_refusing_a_negative_header_shape_in_every_mode_passes(tmp_path: Path) -> None:
    reader = _Strict()
    impl = Adapter(reader)
    impl.begin(str(tmp_path))
    FaultTests().test_a_npy_header_with_a_negative_shape(impl, tmp_path)
    assert reader.seen == [(mode, (-8, 4)) for mode in sorted(impl.capabilities.modes)]
