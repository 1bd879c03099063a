"""Helpers shared by the suite's test classes."""

from __future__ import annotations

import itertools
import json
import math
import os
import sys
import textwrap
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pytest
from hypothesis import assume
from hypothesis.errors import UnsatisfiedAssumption

from .. import strategies as mst
from ..failures import keep_snippet
from ..literals import dtype_literal, literal
from ..oracle import FileState, read_array, read_bytes
from ..protocol import CLAUSE_ATTRIBUTE, SNIPPET_ATTRIBUTE, Adapter

if sys.version_info < (3, 11):  # pragma: no cover -- the built-in exists from 3.11
    from exceptiongroup import ExceptionGroup
from ..subproc import CHILD_REPORT, Outcome, run_python

_counter = itertools.count()

UNOBSERVABLE_FLUSH = (
    "untested: whether close() or flush() made the data durable cannot be seen by reading the file "
    "(on Linux read() sees a store to a shared mapping at once); it needs a syscall trace"
)


def fresh_file(impl: Adapter, tmp_path: Path, name: str = "data.bin") -> Path:
    """A path in a new directory, one per Hypothesis example, and a new snippet for it."""
    directory = tmp_path / f"example-{next(_counter)}"
    directory.mkdir()
    impl.begin(str(directory))
    return directory / name


def needs_empty_arrays(impl: Adapter, shape: tuple[int, ...]) -> None:
    """Skip this example (not the test) when it needs an empty array the implementation cannot make.

    The implementation's own CREATE.1 and OPEN.3 tests still try empty arrays.
    """
    assume(impl.capabilities.empty_arrays or all(shape))


def draw_layout(
    impl: Adapter, data: Any, dtype: np.dtype[Any], shape: tuple[int, ...]
) -> tuple[int, str, np.ndarray[Any, Any]]:
    """An offset and an order the implementation supports, and values to store."""
    needs_empty_arrays(impl, shape)
    offset = data.draw(mst.offsets_for(impl.capabilities))
    order = data.draw(mst.orders_for(impl.capabilities))
    return offset, order, data.draw(mst.arrays(dtype, shape))


def nbytes(dtype: Any, shape: tuple[int, ...]) -> int:
    return int(np.dtype(dtype).itemsize) * math.prod(shape)


def write_raw(path: Path, data: bytes, *, impl: Adapter, offset: int = 0, fill: bytes = b"\x00") -> None:
    """Lay a file out with plain writes: ``offset`` bytes of ``fill``, then ``data``; shown in the snippet."""
    with open(path, "wb") as f:
        f.write(fill * offset + data)
    # The setup is part of the reproduction: the snippet must make the same file.
    impl.note(f"with open({impl.relative(path)!r}, 'wb') as f: f.write({fill * offset + data!r})")


# FileState.of as snippet source: a snippet of a "the file changed" failure makes the same comparison.
_FILE_STATE = """\
def file_state(p):  # size, modification time and bytes: what the suite compares
    if not os.path.exists(p):
        return None
    info = os.stat(p)
    return info.st_size, info.st_mtime_ns, pathlib.Path(p).read_bytes() if os.path.isfile(p) else b''"""


def _shown(impl: Adapter, path: Any) -> str:
    """``path`` as the snippet names it in its plain reads: a str, relative to the example's folder."""
    return impl.relative(os.fsdecode(path))


def file_state(impl: Adapter, path: Any) -> FileState:
    """The file before a call that must not change it; the snippet takes the same snapshot."""
    impl.note(_FILE_STATE)
    impl.note(f"before = file_state({_shown(impl, path)!r})")
    return FileState.of(path)


def unchanged(impl: Adapter, before: FileState, path: Any) -> None:
    impl.note(f"assert file_state({_shown(impl, path)!r}) == before, 'the file changed'")
    after = FileState.of(path)
    if after != before:
        failure = AssertionError(f"the file changed: before {before}, after {after}")
        keep_snippet(failure, impl.snippet())  # this example's, as in _fail
        raise failure


def file_bytes(impl: Adapter, path: Any) -> bytes:
    """The file's bytes by a plain read, as ``content`` in the snippet too."""
    impl.note(f"content = pathlib.Path({_shown(impl, path)!r}).read_bytes()")
    return read_bytes(path)


def shown(impl: Adapter, source: str, message: str) -> None:
    """Put into the snippet the assertion the test makes next, as ``source``: the snippet fails where the test does."""
    impl.note(f"assert {source}, {message!r}")


def read_back(
    impl: Adapter, path: Any, dtype: Any, shape: tuple[int, ...], *, offset: int = 0, order: str = "C"
) -> np.ndarray[Any, Any]:
    """The array the file holds, by plain reads (the oracle), as ``got`` in the snippet too."""
    dt = np.dtype(dtype)
    impl.note(
        f"got = np.frombuffer(pathlib.Path({_shown(impl, path)!r}).read_bytes(), "
        f"dtype={dtype_literal(dt)}, count={math.prod(shape)}, offset={offset}).reshape({shape!r}, order={order!r})"
    )
    return read_array(path, dt, shape, offset=offset, order=order)


def raises_builtin(classes: tuple[type[BaseException], ...], call: Any, *args: Any, **kwargs: Any) -> BaseException:
    """Call and demand an exception of one of the built-in ``classes`` (ERR.1); return it."""
    adapter = getattr(call, "__self__", None)
    recorded = len(adapter.transcript) if isinstance(adapter, Adapter) else None
    expected = " or ".join(c.__name__ for c in classes)
    try:
        result = call(*args, **kwargs)
    except classes as exc:
        _as_refusal(adapter, recorded, classes)
        return exc
    except UnsatisfiedAssumption:
        raise  # an example rejected for a missing capability is no error of the implementation
    except Exception as exc:
        _as_refusal(adapter, recorded, classes)
        _fail(adapter, f"got {type(exc).__name__}: {exc}; expected {expected}")
    _as_refusal(adapter, recorded, classes)
    result.close()
    _fail(adapter, f"got a result ({type(result).__name__}); expected {expected}")


def _as_refusal(adapter: Any, recorded: int | None, classes: tuple[type[BaseException], ...]) -> None:
    # The one call made since ``recorded`` becomes, in the snippet, the check that it is refused.
    if isinstance(adapter, Adapter) and recorded is not None and len(adapter.transcript) == recorded + 1:
        _expect_in_snippet(adapter, classes)


def _fail(adapter: Any, message: str) -> NoReturn:
    """``pytest.fail`` with this example's snippet kept on the failure.

    Where Hypothesis finds two failures, it replays both before the report reads them, so the
    adapter's transcript is the last one's; each failure must carry its own.
    """
    try:
        pytest.fail(message)
    except pytest.fail.Exception as failure:
        if isinstance(adapter, Adapter):
            keep_snippet(failure, adapter.snippet())
        raise


def judge_each(impl: Adapter, *checks: tuple[str, Any]) -> None:
    """Run every ``(clause, check)`` in order, each judged on its own, so that one failure hides no other.

    A confirmed deviation ends only its own check; the failures left are raised together.
    """
    failures: list[Exception] = []
    for clause, check in checks:
        lines, start = impl.transcript, len(impl.transcript)
        try:
            with impl.clause(clause, keep_going=True):
                check()
        except UnsatisfiedAssumption:
            raise
        except Exception as exc:
            failures.append(exc)
        except pytest.fail.Exception as exc:
            # pytest.fail is no Exception: an ExceptionGroup (which Hypothesis shrinks) cannot hold it.
            failures.append(_as_assertion(exc))
        _go_on_past(impl, lines, start, clause)
    if len(failures) == 1:
        raise failures[0]
    if failures:
        raise ExceptionGroup(f"{len(failures)} clauses failed", failures)


def _go_on_past(impl: Adapter, lines: list[str], start: int, clause: str) -> None:
    """In the snippets of the checks after it, ``clause``'s check (``lines[start:]``) reports a failure and goes on.

    The test judged each check on its own; a snippet that stopped at an earlier check's failure would
    claim to reproduce a later one without reaching it. Each failure's own snippet was kept as it failed.
    """
    block = lines[start:]
    if impl.transcript is not lines or not block or any('"""' in line or "'''" in line for line in block):
        return  # a new example's snippet, nothing noted, or a string that indenting would change
    body = textwrap.indent("\n".join(block), "    ")
    lines[start:] = [
        f"try:  # {clause}, judged on its own: a failure here does not stop the checks after it\n{body}\n"
        f"except Exception as error:\n    print({clause!r}, 'fails:', repr(error))"
    ]


def _as_assertion(exc: BaseException) -> AssertionError:
    error = AssertionError(str(exc))
    error.__cause__ = exc  # the report finds the failure's root cause through it
    for attribute in (CLAUSE_ATTRIBUTE, SNIPPET_ATTRIBUTE):
        setattr(error, attribute, getattr(exc, attribute, None))
    return error


def same_bytes(got: np.ndarray[Any, Any], want: np.ndarray[Any, Any], order: str = "C", *, impl: Adapter) -> None:
    """Arrays equal byte for byte (NaN payloads, -0.0 and padding included).

    ``got`` is the snippet's ``got`` (``Adapter.read`` or ``read_back`` just made it), and the snippet
    makes the same comparison.
    """
    impl.note(f"want = {literal(want)}")
    impl.note(
        "assert (got.dtype, got.shape) == (want.dtype, want.shape) "
        f"and got.tobytes({order!r}) == want.tobytes({order!r}), 'contents differ'"
    )
    assert got.dtype == want.dtype, f"dtype {got.dtype} != {want.dtype}"
    assert got.shape == want.shape, f"shape {got.shape} != {want.shape}"
    assert got.tobytes(order=order) == want.tobytes(order=order), "contents differ"  # type: ignore[arg-type]


def run_in_child(impl: Adapter, body: str, *, before_imports: str = "") -> Outcome:
    """Run ``body`` in a child that has the implementation as ``impl`` and a ``report(call)`` helper.

    ``before_imports`` runs first, while the child has a single thread.
    """
    if impl.spec is None:
        pytest.skip("not applicable: the child process needs an import spec (--impl MODULE:ATTR)")
    code = (
        before_imports
        + f"""
import json, mmap, os, sys
import numpy as np
from memmapref.testing.protocol import Adapter, load
impl = Adapter(load({impl.spec!r}), spec={impl.spec!r})
"""
        + CHILD_REPORT
        + body
    )
    impl.note(code.strip())
    impl.not_standalone("the scenario runs in a child process (it may crash it) and is judged from the child's reports")
    return run_python(code)


def child_reports(outcome: Outcome) -> list[dict[str, Any]]:
    if outcome.returncode != 0:
        how = f"died ({outcome.signal})" if outcome.signal else f"exited with status {outcome.returncode}"
        # The report shows a failure's first line: the child's own last word belongs there.
        last = (outcome.stderr.strip().splitlines() or ["nothing on stderr"])[-1][:300]
        pytest.fail(
            f"the child {how} instead of reporting ({last}):\n{outcome.stdout[-1000:]}\n{outcome.stderr[-2000:]}"
        )
    return [json.loads(line) for line in outcome.stdout.splitlines() if line.startswith("{")]


def refusal_check(line: str, classes: tuple[type[BaseException], ...]) -> str:
    """``line`` of a snippet as the check it is: the snippet goes on past a call that raises as it
    must, and stops with an AssertionError at one that returns."""
    names = ", ".join(c.__name__ for c in classes)
    return (
        f"try:\n    {line}\nexcept ({names},):\n    pass  # as the clause asks\n"
        f"else:\n    raise AssertionError({f'got a result; expected {names}'!r})"
    )


def _expect_in_snippet(adapter: Adapter, classes: tuple[type[BaseException], ...]) -> None:
    adapter.transcript[-1] = refusal_check(adapter.transcript[-1], classes)
