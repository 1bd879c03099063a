"""Root causes: one exception raised from one place, however many tests and clauses it fails."""

from __future__ import annotations

import os
import re
import sys
import traceback
from collections import defaultdict
from collections.abc import Iterable

from .clauses import CLAUSES

if sys.version_info < (3, 11):  # pragma: no cover -- the built-in exists from 3.11
    pass

from .protocol import failure_text
from .results import Record, RootCause


def root_cause(exc: BaseException) -> str:
    """Where a failure came from, the same for the same bug in every test it breaks.

    The exception type and the innermost frame below the adapter's call into the implementation,
    of the failure or of the exception it was raised while handling (the suite's "got X; expected
    Y" wraps what the implementation raised); where no frame of the implementation took part (an
    assertion of the suite), the failure's text with its numbers and paths blanked.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frame = _innermost_implementation_frame(current)
        if frame is not None:
            return f"{type(current).__name__} at {_short(frame.filename)}:{frame.lineno} in {frame.name}"
        current = current.__cause__ or current.__context__
    return _normalized(failure_text(exc))


_ADAPTER_CALL = ("protocol.py", "_call")


def _innermost_implementation_frame(exc: BaseException) -> traceback.FrameSummary | None:
    frames = traceback.extract_tb(exc.__traceback__)
    starts = [i for i, f in enumerate(frames) if (os.path.basename(f.filename), f.name) == _ADAPTER_CALL]
    if not starts:
        return None
    inside = frames[starts[-1] + 1 :]
    return inside[-1] if inside else None


def _short(filename: str) -> str:
    """A frame's file as a reader finds it: below site-packages, else relative to here, else as it is."""
    parts = filename.replace(os.sep, "/").split("/")
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            return "/".join(parts[parts.index(marker) + 1 :])
    relative = os.path.relpath(filename)
    return filename if relative.startswith("..") else relative


def _normalized(text: str) -> str:
    """``text`` with what differs between examples of one bug (paths, addresses, numbers) blanked."""
    text = re.sub(r"(?:[A-Za-z]:)?/[^\s'\",;:)]+", "<path>", text)
    text = re.sub(r"0x[0-9a-fA-F]+", "<addr>", text)
    return re.sub(r"\b\d+(?:\.\d+)?(?:e[-+]?\d+)?\b", "<n>", text)


def root_causes(records: Iterable[Record]) -> list[RootCause]:
    """The failures grouped by implementation and cause, those failing the most clauses first."""
    groups: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for record in records:
        if record.outcome == "failed" and record.cause:
            groups[(record.impl, record.cause)].append(record)
    found = [
        RootCause(
            impl,
            cause,
            group[0].message,
            sorted({c for r in group for c in r.clauses}, key=_clause_order),
            list(dict.fromkeys(r.nodeid for r in group)),
        )
        for (impl, cause), group in groups.items()
    ]
    return sorted(found, key=lambda c: (-len(c.clauses), -len(c.tests), c.impl, c.cause))


def _clause_order(clause: str) -> int:
    order = list(CLAUSES)
    return order.index(clause) if clause in CLAUSES else len(order)
