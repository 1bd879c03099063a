"""Every code block of the pages in docs/ runs, and prints what the page shows.

How a page marks its blocks is described in guide_runner.py.
"""

from __future__ import annotations

import gc
import re
from pathlib import Path

import numpy as np
import pytest
from guide_runner import DOCS, Example, PageError, examples, matches, missing, pages, run

ROOT = DOCS.parent
PAGES = pages()
STANDALONE = [ex for page in PAGES for ex in examples(page) if ex.standalone]


def _run_all(todo: list[Example], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Run ``todo`` in order in one namespace; return the names of blocks this numpy cannot run."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__guide__"}
    skipped = []
    try:
        for example in todo:
            if example.numpy_ok():
                run(example, namespace)
            else:
                skipped.append(example.name)
    finally:
        # Arrays left in the namespace hold mappings of files under tmp_path.
        namespace.clear()
        gc.collect()
    return skipped


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_page(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's examples, in order, in one namespace, in an empty directory."""
    todo = [ex for ex in examples(page) if not ex.standalone]
    skipped = _run_all(todo, tmp_path, monkeypatch)
    if skipped:
        pytest.skip(f"numpy {np.__version__} behaves differently in {', '.join(skipped)}; the rest passed")


@pytest.mark.subprocess
@pytest.mark.parametrize("example", STANDALONE, ids=lambda ex: ex.name)
def test_standalone_example(example: Example, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A block that needs something of the machine runs on its own, and is skipped without it."""
    for feature in example.needs():
        reason = missing(feature)
        if reason is not None:
            pytest.skip(f"{example.name} needs {feature}: {reason}")
    assert not _run_all([example], tmp_path, monkeypatch), f"{example.name} does not run on numpy {np.__version__}"


def test_docs_exist() -> None:
    names = {p.relative_to(DOCS).as_posix() for p in PAGES}
    assert {"guide.md", "errata.md"} <= names
    assert sum(len(examples(p)) for p in PAGES) >= 30


def test_every_block_is_run() -> None:
    """examples() refuses a page with a block it would not run; every python block counts."""
    for page in PAGES:
        fences = sum(1 for line in page.read_text().splitlines() if line.startswith("```python"))
        assert len(examples(page)) == fences, page


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("```console\n$ ls\n```\n", "console block is not run"),
        ("```\nplain\n```\n", "bare block is not run"),
        ("Output:\n\n```text\n1\n```\n", "text block must follow a python block"),
        ("```python\nprint(1)\n```\n\nprose\n\n```text\n1\n```\n", "text block must follow a python block"),
        ("```python\nprint(1)\n", "unclosed code fence"),
    ],
)
def test_runner_refuses_unchecked_blocks(tmp_path: Path, text: str, problem: str) -> None:
    page = tmp_path / "page.md"
    page.write_text(text)
    with pytest.raises(PageError, match=problem):
        examples(page)


def test_runner_compares_output_and_exceptions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("guide_runner.DOCS", tmp_path)
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nx = 2\nprint(x + 1)\n```\n\n```text\n3\n```\n"
        "```python\nprint('before')\n{}[x]\n```\n\n"
        "```text\nbefore\nTraceback (most recent call last):\n  ...\nKeyError: 2\n```\n"
        "<!-- docs-test: numpy<1.0 -->\n```python\nprint(object())\n```\n\n```text\n<object object at ...>\n```\n"
    )
    first, second, third = examples(page)
    namespace: dict[str, object] = {}
    run(first, namespace)
    run(second, namespace)
    assert not third.numpy_ok()
    assert matches(third.expected or "", repr(object()))
    wrong = Example(page, 1, "print(4)\n", "5\n")
    with pytest.raises(AssertionError, match="printed"):
        run(wrong, {})
    silent = Example(page, 1, "pass\n", "Traceback (most recent call last):\nValueError: x\n")
    with pytest.raises(AssertionError, match="raised none"):
        run(silent, {})
    other = Example(page, 1, "raise KeyError(1)\n", "Traceback (most recent call last):\nValueError: x\n")
    with pytest.raises(AssertionError, match="KeyError"):
        run(other, {})
    unexpected = Example(page, 1, "raise KeyError(1)\n", None)
    with pytest.raises(KeyError):
        run(unexpected, {})


_CITED = re.compile(r"\[([A-Z]+\.\d+)\]\(([^)]*)\)")


def test_cited_clauses_exist() -> None:
    """Each clause the docs cite is a clause of SPEC.md, linked to it."""
    spec = (ROOT / "SPEC.md").read_text()
    defined = set(re.findall(r"^\| ([A-Z]+\.\d+) \|", spec, flags=re.MULTILINE))
    cited = set()
    for page in PAGES:
        for clause, target in _CITED.findall(page.read_text()):
            cited.add(clause)
            assert target.split("#")[0] == "../SPEC.md" or target.split("#")[0].endswith("/SPEC.md"), (page, target)
    assert cited, "the docs cite no SPEC.md clause"
    assert cited <= defined, sorted(cited - defined)


def _anchors(page: Path) -> set[str]:
    """The anchors GitHub gives the page's headings: lower case, punctuation dropped, spaces to hyphens."""
    prose = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.MULTILINE | re.DOTALL)
    headings = re.findall(r"^#+ (.+)$", prose, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_local_links_resolve() -> None:
    for page in PAGES:
        for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", page.read_text()):
            if "://" in target:
                continue
            linked = (page.parent / target) if target else page
            assert linked.exists(), (page, target)
            if anchor and linked.suffix == ".md":
                assert anchor in _anchors(linked), (page, target, anchor)


def test_memory_figure_is_small() -> None:
    png = DOCS / "img" / "memory.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size < 200_000
