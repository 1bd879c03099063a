"""Declared deviations, and the marks a failure carries to the report: the clauses it breaks and its snippet."""

from __future__ import annotations

import fnmatch
import re
import traceback
from contextlib import suppress
from dataclasses import dataclass


@dataclass(frozen=True)
class Deviation:
    """A clause an implementation knowingly does not meet, and which failures confirm it.

    ``cases``: ``fnmatch`` patterns of the test ids (``test_name[params]``) where the
    deviation must happen; in those it is strict (a test that passes fails as stale).
    Empty: any test of the clause may confirm it, and none has to.
    ``match``: a regular expression the failure (``ExceptionType: message``) must
    match (``re.search``); a failure of the clause that does not match is a failure.
    """

    reason: str
    cases: tuple[str, ...] = ()
    match: str | None = None

    @classmethod
    def of(cls, value: str | Deviation) -> Deviation:
        return value if isinstance(value, Deviation) else cls(str(value))

    def covers(self, test_id: str) -> bool:
        return not self.cases or any(fnmatch.fnmatchcase(test_id, pattern) for pattern in self.cases)

    def strict_for(self, test_id: str) -> bool:
        return bool(self.cases) and self.covers(test_id)

    def describes(self, failure: str) -> bool:
        return self.match is None or re.search(self.match, failure) is not None


def drop_locals(exc: BaseException) -> None:
    """Clear the implementation's finished frames in ``exc`` and the exceptions it chains.

    The report keeps a failure's exception; its frames' locals would keep what the failed call
    opened (numpy.memmap's ``mmap`` when ``np.ndarray`` refuses the order) open for as long, and
    the leak would be the suite's. The traceback's lines stay.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        traceback.clear_frames(current.__traceback__)
        pending += [current.__cause__, current.__context__]


class ImplementationAborted(RuntimeError):
    """The implementation raised KeyboardInterrupt, SystemExit or another non-Exception inside a call."""


class DeviationObserved(Exception):
    """Ends one example (outside Hypothesis, the test) at a confirmed declared deviation."""

    def __init__(self, clause: str) -> None:
        super().__init__(f"declared deviation of {clause} observed")
        self.clause = clause


CLAUSE_ATTRIBUTE = "_memmapref_clause"


SNIPPET_ATTRIBUTE = "_memmapref_snippet"


def failure_text(exc: BaseException) -> str:
    """``Type: first line of the message``: what a deviation's ``match`` is matched against."""
    message = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {message[0] if message else ''}".strip()


class StaleDeviationWarning(UserWarning):
    """A declared deviation names a clause id that SPEC.md does not have."""


def tag(exc: BaseException, clauses: tuple[str, ...], snippet: str) -> None:
    try:
        setattr(exc, CLAUSE_ATTRIBUTE, clauses)
        setattr(exc, SNIPPET_ATTRIBUTE, snippet)
    except AttributeError:  # pragma: no cover -- an exception class with __slots__ keeps its clause untold
        pass


def keep_snippet(exc: BaseException, snippet: str) -> None:
    # An exception class with __slots__ keeps no snippet.
    if getattr(exc, SNIPPET_ATTRIBUTE, None) is None:
        with suppress(AttributeError):
            setattr(exc, SNIPPET_ATTRIBUTE, snippet)
