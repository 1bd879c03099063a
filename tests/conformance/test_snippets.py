"""Every failure's snippet, run as printed in an empty folder by a fresh ``python``, reproduces the failure.

The failures come from the check runs the mutant and verdict tests make (the same arguments, so a
session that runs those tests makes each check once: ``checkrun.failing_check``) and from one
check of the bundled implementations, whose confirmed deviations are failures of their clauses. A
failure reproduces when the snippet raises the exception the suite saw: the implementation's own
exception where the suite reported "got X; expected Y", an AssertionError for a check of the suite.
A failure that no snippet can reproduce alone (a child-process or traced scenario) must say so in
the report and carry no snippet.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from checkrun import bundled_check, untraced_env

import memmapref

HERE = Path(__file__).parent
META = HERE.parent / "meta"
sys.path.insert(0, str(META))
import mutants  # noqa: E402 -- beside the mutant tests, which share this check run
from test_mutants import mutant_report  # noqa: E402 -- the mutant tests' run, shared
from test_verdicts import verdict_reports  # noqa: E402 -- the verdict tests' runs, shared

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

# The sweep over every defective implementation runs a few hundred snippets, each a fresh interpreter,
# some rebuilding arrays of 2**24 items from their bytes: about 10 CPU-minutes, more than the default run
# can spend. The mutants' and the bundled implementations' sweeps and the judging logic run every time.
sweep = pytest.mark.skipif(
    os.environ.get("MEMMAPREF_SNIPPET_SWEEP") != "1",
    reason="the sweep of every defective snippet takes ~10 CPU-minutes; MEMMAPREF_SNIPPET_SWEEP=1 runs it",
)

REFERENCE = Path(memmapref.__file__).parents[1]


def expected_exception(message: str) -> str:
    """The exception class a reproduction must raise, from the failure the report shows."""
    wrong = re.match(r"(?:Failed|AssertionError): got ([A-Z]\w*(?:Error|Exception|Warning|Exit|Interrupt)): ", message)
    if wrong:
        return wrong.group(1)  # the implementation raised the wrong class: the snippet raises it too
    name = message.split(":", 1)[0].strip()
    return "AssertionError" if name in ("Failed", "AssertionError") else name


def run_snippet(snippet: str, folder: Path, path: list[str]) -> tuple[int, str, set[str]]:
    """Exit status, the name of the exception ``snippet`` raised ("" for none) and of every exception its
    traceback shows (the ones that one chains included), run in the empty ``folder``."""
    folder.mkdir(parents=True)
    # Beside the folder, which stays empty: a snippet with a large array is too long for a command line.
    script = folder.parent / f"{folder.name}.py"
    script.write_text(snippet)
    # Not measured by coverage, whose subprocess patch would start in each snippet (a few hundred).
    env = untraced_env(PYTHONPATH=os.pathsep.join([*path, str(REFERENCE)]))
    done = subprocess.run(
        [sys.executable, str(script)], cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if not done.returncode:
        return 0, "", set()
    # An exception's own line starts at column 0 with its class: "TypeError: ...", or the bare name.
    names = [m.group(1).rpartition(".")[2] for m in re.finditer(r"^([A-Za-z_][\w.]*)(?::|$)", done.stderr, re.M)]
    return done.returncode, (names or [""])[-1], set(names)


def judge_snippet(message: str, code: int, raised: str, chain: frozenset[str] | set[str] = frozenset()) -> str:
    """``reproduces``, ``no oracle`` (an oracle check, whose calls all ran as printed), or what went wrong.

    A snippet reproduces when it raises the exception the failure reports: the one expected, or the
    implementation's own one named after "got". A failure of the suite's comparison with its oracle
    (an AssertionError) whose snippet runs cleanly to its end holds every call but not the comparison.
    """
    expected = expected_exception(message)
    # "got X" (a wrong exception), "raised X" (an abort the adapter turned into ImplementationAborted).
    named = re.search(rf"(?:got|raised) [^;]*\b{re.escape(raised)}\b", message) if raised else None
    # A check of the suite that failed on the way out of a refusal (the file changed) chains the refusal.
    if code != 0 and (raised == expected or named or (raised == "AssertionError" and expected in chain)):
        return "reproduces"
    if code == 0 and expected == "AssertionError":
        return "no oracle"
    return f"expected {expected}, got exit {code} ({raised or 'no exception'})"


def _failures(report: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (impl, clause, row)
        for impl, rows in report["implementations"].items()
        for clause, row in rows.items()
        if row["verdict"] in ("failed", "deviation") and (row["example"] or row["unrunnable"])
    ]


def _check_all(report: dict[str, Any], tmp_path: Path, path: list[str]) -> dict[str, list[str]]:
    """Each failure by what its snippet does: ``reproduces``, ``no oracle``, ``unrunnable`` or ``wrong``."""
    found: dict[str, list[str]] = {"reproduces": [], "no oracle": [], "unrunnable": [], "wrong": []}
    for number, (impl, clause, row) in enumerate(_failures(report)):
        if row["unrunnable"]:
            assert not row["example"], f"{impl} {clause}: a snippet beside its reason for having none"
            found["unrunnable"].append(f"{impl} {clause}")
            continue
        code, raised, chain = run_snippet(row["example"], tmp_path / str(number), path)
        verdict = judge_snippet(row["message"], code, raised, chain)
        if verdict in found:
            found[verdict].append(f"{impl} {clause}")
        else:
            found["wrong"].append(f"{impl} {clause} ({row['message'][:160]}): {verdict}\n{row['example']}")
    print({kind: len(items) for kind, items in found.items()})  # the figures, with -s
    return found


def test_the_expected_exception_is_read_from_the_failure() -> None:
    assert expected_exception("Failed: got OverflowError: memory mapped length; expected ValueError") == "OverflowError"
    assert expected_exception("Failed: got a handle; expected TypeError") == "AssertionError"
    assert expected_exception("AssertionError: the file changed") == "AssertionError"
    assert expected_exception("ValueError: cannot mmap an empty file") == "ValueError"


def test_a_snippet_is_judged_by_the_exception_it_raises(tmp_path: Path) -> None:
    assert run_snippet("raise ValueError('x')", tmp_path / "a", []) == (1, "ValueError", {"ValueError"})
    assert run_snippet("import numpy as np\nx = 1", tmp_path / "b", []) == (0, "", set())
    refused = "try:\n    int('x')\nexcept Exception:\n    assert False, 'the file changed'"
    assert run_snippet(refused, tmp_path / "c", []) == (1, "AssertionError", {"ValueError", "AssertionError"})
    assert judge_snippet("ValueError: invalid literal", 1, "AssertionError", {"ValueError", "AssertionError"}) == (
        "reproduces"
    )
    assert judge_snippet("ValueError: invalid literal", 1, "AssertionError", {"AssertionError"}).startswith("expected")
    got = "Failed: got OverflowError: length must be positive; expected ValueError"
    assert judge_snippet(got, 1, "OverflowError") == "reproduces"
    assert judge_snippet(got, 1, "ValueError").startswith("expected OverflowError")
    assert judge_snippet("AssertionError: contents differ", 0, "") == "no oracle"
    assert judge_snippet("AssertionError: got ['mode r: KeyError: x']", 1, "KeyError") == "reproduces"
    assert judge_snippet("TypeError: bad", 0, "").startswith("expected TypeError, got exit 0")
    aborted = "ImplementationAborted: x raised KeyboardInterrupt() inside slice_mean"
    assert judge_snippet(aborted, -2, "KeyboardInterrupt") == "reproduces"


# The same worker as the mutant tests, whose check run this one reuses (checkrun caches per process).
@pytest.mark.xdist_group("mutant-report")
def test_every_mutant_failure_runs_as_printed(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    report = mutant_report(tmp_path_factory)
    found = _check_all(report, tmp_path, [str(META), str(HERE.parent)])  # tests/: tests/common
    assert len(found["reproduces"]) >= len(mutants.EXPECTED)
    assert found["no oracle"] == [], found["no oracle"]
    assert found["wrong"] == [], "\n\n".join(found["wrong"])


@sweep
@pytest.mark.xdist_group("verdict-report")  # the verdict tests' check run, as above
def test_every_defective_failure_runs_as_printed(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    found: dict[str, list[str]] = {}
    for number, report in enumerate(verdict_reports(tmp_path_factory)):
        for kind, items in _check_all(report, tmp_path / str(number), [str(HERE), str(HERE.parent)]).items():
            found.setdefault(kind, []).extend(items)
    assert found["reproduces"], "the KeyboardInterrupt inside slice_mean reproduces"
    assert found["wrong"] == [], "\n\n".join(found["wrong"])


# The check the profile test reads too (checkrun.bundled_check makes it once per run).
def test_every_bundled_deviation_reproduces_or_says_why_not(tmp_path: Path) -> None:
    (tmp_path / "bundled").mkdir()
    report, folder = bundled_check(tmp_path / "bundled")
    found = _check_all(report, tmp_path / "runs", [])
    markdown = (folder / "report.md").read_text()
    assert found["unrunnable"] and "No snippet: it would not reproduce this failure run alone" in markdown
    # Each snippet makes the comparison that failed (the file's state, the bytes read back), so none stops
    # short of it.
    assert found["no oracle"] == [], found["no oracle"]
    assert found["wrong"] == [], "\n\n".join(found["wrong"])
