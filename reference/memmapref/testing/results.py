"""What a check found: each test's record, each clause's verdict, and the root causes behind failures."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from enum import Enum

if sys.version_info < (3, 11):  # pragma: no cover -- the built-in exists from 3.11
    pass


class Verdict(str, Enum):
    """A clause's verdict for one implementation; a ``str``, so that report.json holds the plain words."""

    FAILED = "failed"
    STALE = "stale deviation"
    DEVIATION = "deviation"
    PASSED = "passed"
    NOT_APPLICABLE = "not applicable"
    REFERENCE_ONLY = "reference only"
    UNTESTED = "untested"

    def __str__(self) -> str:
        return self.value


VERDICT_ORDER = list(Verdict)


@dataclass
class Record:
    nodeid: str
    impl: str
    clauses: list[str]
    outcome: str  # passed, failed, xfailed, xpassed, skipped
    message: str
    snippet: str
    # Where the failure came from (``root_cause``): the same cause across tests is one bug.
    cause: str = ""
    # Why no snippet can reproduce the failure as printed (a child-process or traced scenario); then no snippet.
    unrunnable: str = ""


@dataclass(frozen=True)
class RootCause:
    """One exception from one place, and every clause and test of one implementation it failed."""

    impl: str
    cause: str
    message: str  # the first failure's text
    clauses: list[str]
    tests: list[str]


@dataclass(frozen=True)
class Row:
    """One clause's verdict for one implementation, and what the report shows of it."""

    verdict: Verdict
    message: str = ""
    example: str = ""  # the snippet of the failure or the confirmed deviation
    deviation: str = ""  # the declared reason, if any
    level: str = ""
    title: str = ""
    tests: int = 0  # how many test outcomes cited the clause
    unrunnable: str = ""  # why the failure has no snippet that runs as printed


# impl -> clause -> row
Table = dict[str, dict[str, Row]]
