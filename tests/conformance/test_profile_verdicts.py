"""numpy.memmap's verdicts do not depend on the example count: quick, ci and thorough agree clause by clause.

The edge cases each clause is about run as explicit examples under every profile; Hypothesis only searches
beyond them. Quick against ci runs by default; thorough (ten times ci's examples, several minutes on two
busy cores) only with ``MEMMAPREF_THOROUGH_VERDICTS=1``.
"""

from __future__ import annotations

import os

import pytest
from checkrun import bundled_check, check_verdicts

NUMPY = "memmapref.testing.implementations:numpy_memmap"

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]


def _verdicts(tmp_path_factory: pytest.TempPathFactory, profile: str) -> dict[str, str]:
    return check_verdicts(tmp_path_factory.mktemp(profile), NUMPY, "-n", "2", "--profile", profile, timeout=1800)


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    # numpy.memmap's rows of the quick check of every bundled implementation, which the snippet test reads too:
    # a clause's verdict does not depend on which other implementations the check runs.
    report, _ = bundled_check(tmp_path_factory.mktemp("quick"))
    return {clause: str(row["verdict"]) for clause, row in report["implementations"]["numpy.memmap"].items()}


def _differences(one: dict[str, str], other: dict[str, str]) -> dict[str, tuple[str | None, str | None]]:
    return {c: (one.get(c), other.get(c)) for c in sorted(set(one) | set(other)) if one.get(c) != other.get(c)}


def test_quick_and_ci_give_the_same_verdicts(quick: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> None:
    ci = _verdicts(tmp_path_factory, "ci")
    assert "failed" not in quick.values()
    assert _differences(quick, ci) == {}


@pytest.mark.skipif(
    os.environ.get("MEMMAPREF_THOROUGH_VERDICTS") != "1",
    reason="thorough takes several minutes; set MEMMAPREF_THOROUGH_VERDICTS=1 to run it",
)
def test_quick_and_thorough_give_the_same_verdicts(
    quick: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    thorough = _verdicts(tmp_path_factory, "thorough")
    assert _differences(quick, thorough) == {}
