"""Run a scenario in a child process under ``strace -f`` and parse the trace into events.

The tracer is language-neutral: it sees system calls, not Python. A scenario
marks its own steps with ``chdir`` calls on paths under a marker directory that
does not exist (``<dir>/@mark/<label>``); the call fails at once, costs nothing,
and shows in the trace exactly between the system calls of the steps around it.
:func:`marker_path` builds such a path, :class:`Event` carries the label.

:class:`memmapref.testing.replay.Files` replays the events.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .subproc import Outcome

STRACE = shutil.which("strace") or "/usr/bin/strace"

# The calls that can change what a file holds, where it is named, or when it is durable.
TRACED = (
    "open,openat,creat,close,dup,dup2,dup3,fcntl,lseek,ftruncate,fallocate,write,pwrite64,writev,pwritev,"
    "mmap,munmap,mremap,msync,fsync,fdatasync,sync_file_range,rename,renameat,renameat2,unlink,unlinkat,"
    "link,linkat,chdir"
)
MARK_DIR = "@mark"

_LINE = re.compile(r"^(?P<pid>\d+)\s+(?P<name>\w+)\((?P<args>.*)\)\s+=\s+(?P<ret>-?\w+)(?P<rest>.*)$")
_UNFINISHED = re.compile(r"^(?P<pid>\d+)\s+(?P<head>.*) <unfinished \.\.\.>$")
_RESUMED = re.compile(r"^(?P<pid>\d+)\s+<\.\.\. (?P<name>\w+) resumed>(?P<tail>.*)$")


def marker_path(directory: str, label: str) -> str:
    """The path whose ``chdir`` marks step ``label`` in the trace of a scenario working in ``directory``."""
    return os.path.join(directory, MARK_DIR, label)


@functools.lru_cache(maxsize=1)
def unavailable() -> str | None:
    """Why no trace can be taken here, or None when strace works."""
    if not os.path.exists(STRACE):
        return f"strace is not installed (looked for {STRACE})"
    probe = [STRACE, "-f", "-qq", "--seccomp-bpf", "-e", "trace=chdir", "-o", os.devnull, "true"]
    done = subprocess.run(probe, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return f"strace cannot trace a child here (ptrace refused?): {done.stderr.strip()[:300]}"
    return None


@dataclass(frozen=True)
class Event:
    """One finished system call of the trace."""

    line: int  # 1-based line number in the trace
    pid: int
    name: str
    args: tuple[str, ...]
    ret: int | None  # None for a call that failed
    errno: str  # "ENOENT", or "" for a call that succeeded
    text: str  # the trace line, for evidence
    injected: bool = False

    def path(self, index: int = 0) -> str:
        """Argument ``index`` as a string (a C string literal in the trace)."""
        return unquote(self.args[index])

    def int(self, index: int) -> int:
        return int(self.args[index], 0)

    @property
    def label(self) -> str | None:
        """The step label of a marker call, or None."""
        if self.name != "chdir":
            return None
        _, sep, label = self.path().partition(f"/{MARK_DIR}/")
        return label if sep else None


def unquote(literal: str) -> str:
    """The text of a C string literal as strace prints it (``"a\\"b"`` -> ``a"b``)."""
    body = literal.strip()
    if body.endswith("..."):
        body = body[:-3]
    return body[1:-1].encode("latin1").decode("unicode_escape").encode("latin1").decode("utf-8", "replace")


def split_args(text: str) -> tuple[str, ...]:
    """Top-level comma-separated arguments, respecting quotes, brackets and braces."""
    parts: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    current: list[str] = []
    for char in text:
        if quoted:
            current.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
            continue
        if char == '"':
            quoted = True
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    tail = "".join(current).strip()
    if tail:
        parts.append(tail)
    return tuple(parts)


def parse(text: str) -> list[Event]:
    """The finished calls of an ``strace -f`` trace, in order; unfinished calls are joined to their resumption."""
    pending: dict[str, tuple[int, str]] = {}
    events: list[Event] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        unfinished = _UNFINISHED.match(raw)
        if unfinished:
            pending[unfinished["pid"]] = (number, f"{unfinished['pid']} {unfinished['head']}")
            continue
        resumed = _RESUMED.match(raw)
        if resumed and resumed["pid"] in pending:
            number, head = pending.pop(resumed["pid"])
            raw = head + resumed["tail"]
        match = _LINE.match(raw)
        if not match:
            continue  # signals, exits, calls that never returned
        ret_text = match["ret"]
        failed = ret_text == "-1" and " E" in match["rest"]
        errno = match["rest"].split()[0] if failed else ""
        ret = None if failed or ret_text == "?" else int(ret_text, 0)
        events.append(
            Event(
                number,
                int(match["pid"]),
                match["name"],
                split_args(match["args"]),
                ret,
                errno,
                raw,
                "(INJECTED)" in match["rest"],
            )
        )
    return events


@dataclass(frozen=True)
class Traced:
    outcome: Outcome
    events: list[Event]
    text: str


def run_traced(
    argv: Sequence[str],
    *,
    inject: Iterable[str] = (),
    paths: Iterable[str] = (),
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> Traced:
    """Run ``argv`` under ``strace -f``, with the given ``inject=`` specifications, and parse its trace.

    With ``paths``, only the calls on those paths are traced (``strace -P``), and so counted by ``when=``.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="memmapref-trace-") as scratch:
        out = os.path.join(scratch, "trace")
        command = [STRACE, "-f", "-qq", "--seccomp-bpf", "-e", "signal=none", "-e", f"trace={TRACED}", "-o", out]
        for spec in inject:
            command += ["-e", f"inject={spec}"]
        for path in paths:
            command += ["-P", path]
        full = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", **(env or {}))
        done = subprocess.run([*command, *argv], capture_output=True, text=True, timeout=timeout, env=full, check=False)
        with open(out) as f:
            text = f.read()
    return Traced(Outcome(done.returncode, done.stdout, done.stderr), parse(text), text)
