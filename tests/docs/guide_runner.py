"""Run the code blocks of the Markdown pages in docs/ and compare what they print.

The rules a page follows, so that every block it shows is checked:

* A fenced ```` ```python ```` block is an example. The ```` ```text ```` block that
  follows it (nothing but blank lines between) is its output, compared after
  stripping trailing spaces; a block with no output block must print nothing.
* Output that ends in a traceback (``Traceback (most recent call last):``, lines
  indented as Python indents the stack, then the exception line) means the block
  must raise that exception. Only the exception line is compared; everything
  printed before the traceback is compared as usual.
* ``...`` in an output block matches any text, as in doctest's ELLIPSIS, for what
  changes from run to run (addresses).
* Any other fence (``console``, ``bash``, bare) is an error: the page could show
  something no test runs.
* An HTML comment just above a fence sets options:
  ``<!-- docs-test: numpy>=2.2 -->`` runs the block only on that numpy and
  ``<!-- docs-test: standalone needs=mount-namespace -->`` runs it in a fresh
  namespace of its own, skipped where the machine cannot provide that feature.

The examples of one page run in order in one namespace, in an empty directory.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
import shutil
import subprocess
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memmapref.testing import versions

DOCS = Path(__file__).resolve().parents[2] / "docs"

_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)?.*$")
_OPTIONS = re.compile(r"^<!--\s*docs-test:(?P<options>.*?)-->\s*$")
_TRACEBACK = "Traceback (most recent call last):"


class PageError(Exception):
    """A page breaks the rules above."""


@dataclass(frozen=True)
class Example:
    page: Path
    line: int  # 1-based line of the opening fence
    code: str
    expected: str | None
    options: frozenset[str] = field(default_factory=frozenset)

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(DOCS)}:{self.line}"

    @property
    def standalone(self) -> bool:
        return "standalone" in self.options

    def needs(self) -> list[str]:
        return sorted(o.split("=", 1)[1] for o in self.options if o.startswith("needs="))

    def numpy_ok(self) -> bool:
        """Whether the installed numpy satisfies every ``numpy>=X.Y`` / ``numpy<X.Y`` option."""
        installed = versions.NUMPY
        for option in self.options:
            if option.startswith("numpy>="):
                if installed < versions.parse(option[len("numpy>=") :]):
                    return False
            elif option.startswith("numpy<") and installed >= versions.parse(option[len("numpy<") :]):
                return False
        return True


@dataclass(frozen=True)
class _Block:
    line: int
    lang: str
    body: str
    options: frozenset[str]


def _blocks(page: Path) -> list[_Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    found = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, lang = match["fence"], (match["info"] or "")
        start = i
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith(fence):
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise PageError(f"{page}:{start + 1}: unclosed code fence")
        i += 1
        options: set[str] = set()
        if start > 0:
            comment = _OPTIONS.match(lines[start - 1])
            if comment:
                options = set(comment["options"].split())
        found.append(_Block(start + 1, lang, "\n".join(body) + "\n", frozenset(options)))
    return found


def _follows(page_lines: list[str], earlier: _Block, later: _Block) -> bool:
    """True if only blank lines separate the end of ``earlier`` from ``later``."""
    end = earlier.line + earlier.body.count("\n")  # 0-based index of the closing fence
    between = page_lines[end + 1 : later.line - 1]
    return all(not line.strip() for line in between)


def examples(page: Path) -> list[Example]:
    page_lines = page.read_text(encoding="utf-8").splitlines()
    blocks = _blocks(page)
    result = []
    i = 0
    while i < len(blocks):
        block = blocks[i]
        if block.lang != "python":
            if block.lang == "text":
                raise PageError(f"{page}:{block.line}: a text block must follow a python block directly")
            raise PageError(f"{page}:{block.line}: a {block.lang or 'bare'} block is not run by any test")
        expected = None
        if i + 1 < len(blocks) and blocks[i + 1].lang == "text" and _follows(page_lines, block, blocks[i + 1]):
            expected = blocks[i + 1].body
            i += 1
        result.append(Example(page, block.line, block.body, expected, block.options))
        i += 1
    return result


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def _split_expected(expected: str) -> tuple[str, str | None]:
    """(what is printed, the exception line or None) of an output block."""
    lines = expected.rstrip("\n").splitlines()
    if _TRACEBACK not in lines:
        return "\n".join(lines), None
    at = lines.index(_TRACEBACK)
    rest = lines[at + 1 :]
    while rest and rest[0].startswith(" "):
        rest.pop(0)
    return "\n".join(lines[:at]), "\n".join(rest)


def _normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.rstrip("\n").splitlines()).strip("\n")


def matches(expected: str, actual: str) -> bool:
    """Compare line-trimmed text; ``...`` in ``expected`` matches any text."""
    pattern = ".*?".join(re.escape(part) for part in _normalise(expected).split("..."))
    return re.fullmatch(pattern, _normalise(actual), flags=re.DOTALL) is not None


def run(example: Example, namespace: dict[str, Any]) -> None:
    """Execute ``example`` in ``namespace`` and raise AssertionError if its output differs."""
    printed, raised = _split_expected(example.expected or "")
    out = io.StringIO()
    code = compile(example.code, example.name, "exec")
    error: BaseException | None = None
    with contextlib.redirect_stdout(out):
        try:
            exec(code, namespace)
        except Exception as exc:
            if raised is None:
                raise
            error = exc
    actual = out.getvalue()
    shown = None
    if error is not None:
        shown = "".join(traceback.format_exception_only(type(error), error))
        # The traceback refers to the block's frames, and so to every array the
        # block made: drop it before anything can fail and keep it alive.
        error = None
    assert matches(printed, actual), f"{example.name}: printed\n{actual}\nbut the page shows\n{printed}"
    if raised is not None:
        assert shown is not None, f"{example.name}: the page shows an exception, but the block raised none"
        assert matches(raised, shown), f"{example.name}: raised\n{shown}\nbut the page shows\n{raised}"


@functools.cache
def missing(feature: str) -> str | None:
    """None if this machine provides ``feature``, otherwise why not (a skip reason)."""
    if feature == "mount-namespace":
        return _mount_namespace()
    return f"unknown feature {feature!r}"


def _mount_namespace() -> str | None:
    # The guide mounts a small tmpfs in a private mount namespace with unshare(1):
    # as root, or as any user where unprivileged user namespaces are enabled.
    if shutil.which("unshare") is None:
        return "unshare(1) is not installed"
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", f"mount -t tmpfs -o size=1m tmpfs '{tmp}'"],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        return f"cannot mount a tmpfs in a private mount namespace: {done.stderr.strip() or done.returncode}"
    return None
