"""The pytest plugin's options and checks, each in a child pytest run (the plugin sets global Hypothesis state)."""

from __future__ import annotations

import pytest

IMPL = "--impl=memmapref.testing.implementations:reference"
ONE_TEST = """
import pytest

@pytest.mark.clause({clause!r})
def test_one(impl):
    assert impl.name == "memmapref"
"""


@pytest.fixture
def run(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest('pytest_plugins = ["memmapref.testing.plugin"]')
    return pytester


@pytest.mark.subprocess
def test_header_names_the_implementation_and_profile(run: pytest.Pytester) -> None:
    run.makepyfile(ONE_TEST.format(clause="OPEN.1"))
    result = run.runpytest_subprocess(IMPL, "--examples=3", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "memmapref *, numpy *, hypothesis profile memmapref-ci with 3 examples",
            "implementation under test: memmapref (memmapref.testing.implementations:reference)",
            "*memmapref conformance report*",
        ]
    )


@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hypothesis-profile=memmapref-bogus"], "got profile 'bogus'"),
        (["--examples=0"], "expected a positive count"),
        (["--impl=no_such_module:x"], "could not import"),
    ],
)
def test_bad_options_are_usage_errors(run: pytest.Pytester, args: list[str], message: str) -> None:
    run.makepyfile(ONE_TEST.format(clause="OPEN.1"))
    result = run.runpytest_subprocess(*args, "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


@pytest.mark.subprocess
def test_a_test_citing_an_unknown_clause_is_a_usage_error(run: pytest.Pytester) -> None:
    run.makepyfile(ONE_TEST.format(clause="NOPE.1"))
    result = run.runpytest_subprocess(IMPL, "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "cites clauses SPEC.md does not have: ['NOPE.1']" in result.stderr.str()


@pytest.mark.subprocess
def test_a_deviation_naming_an_unknown_clause_warns(run: pytest.Pytester) -> None:
    run.makepyfile(
        stale="""
import memmapref
from memmapref.testing.implementations import reference

class Stale:
    name = "stale"
    deviations = {"NOPE.2": "no such clause"}
    create = staticmethod(memmapref.create)
    open = staticmethod(memmapref.open)

stale = Stale()
""",
        test_one=ONE_TEST.format(clause="OPEN.1").replace('"memmapref"', '"stale"'),
    )
    result = run.runpytest_subprocess("--impl=stale:stale", "-p", "no:cacheprovider", "-W", "default")
    result.assert_outcomes(passed=1)
    result.stderr.fnmatch_lines(["*StaleDeviationWarning*NOPE.2*"])


@pytest.mark.subprocess
def test_the_profile_comes_from_the_environment(run: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    run.makepyfile(ONE_TEST.format(clause="OPEN.1"))
    monkeypatch.setenv("MEMMAPREF_PROFILE", "thorough")
    result = run.runpytest_subprocess(IMPL, "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*hypothesis profile memmapref-thorough"])
    monkeypatch.setenv("MEMMAPREF_PROFILE", "nonsense")
    result = run.runpytest_subprocess(IMPL, "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


@pytest.mark.subprocess
def test_someone_elses_profile_is_left_alone(run: pytest.Pytester) -> None:
    run.makepyfile(ONE_TEST.format(clause="OPEN.1"))
    result = run.runpytest_subprocess(IMPL, "--hypothesis-profile=default", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*hypothesis profile default"])
