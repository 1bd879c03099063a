"""pytest plugin of the conformance suite: options, markers, the ``impl`` fixture, profiles.

Load it with ``pytest_plugins = ["memmapref.testing.plugin"]`` in a conftest
(``memmapref check`` does this itself).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import profiles
from .clauses import CLAUSES, clause_ids
from .implementations import BUNDLED
from .protocol import ADAPTER, Adapter, StaleDeviationWarning, load
from .report import Reporter

__all__ = ["ADAPTER", "BUNDLED", "clause_ids"]  # where downstream code found them before

# At import, before Hypothesis's own plugin resolves --hypothesis-profile.
profiles.register()


_TARGETS = pytest.StashKey[dict[str, Any]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("memmapref", "memmapref conformance suite")
    group.addoption(
        "--impl",
        action="append",
        default=None,
        metavar="MODULE:ATTR",
        help="implementation under test (repeatable); default: every bundled implementation",
    )
    group.addoption(
        "--memmapref-report",
        default=None,
        metavar="DIR",
        help="write the per-clause conformance report as DIR/report.md and DIR/report.json",
    )
    group.addoption(
        "--examples",
        type=int,
        default=None,
        metavar="N",
        help="Hypothesis examples per property (overrides the profile's count)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # Every marker the suite's classes carry, so that a project subclassing them passes --strict-markers.
    config.addinivalue_line("markers", "clause(id, ...): the SPEC.md clause(s) this test checks")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    config.addinivalue_line("markers", "subprocess: runs its scenario in a child process")
    examples = config.getoption("examples")
    try:
        profiles.load(config.getoption("hypothesis_profile", None))
        if examples is not None:
            profiles.override(examples)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    specs = config.getoption("impl") or BUNDLED
    try:
        targets = {spec: load(spec) for spec in specs}
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    for spec, target in targets.items():
        stale = sorted(set(getattr(target, "deviations", {}) or {}) - set(CLAUSES))
        if stale:
            warnings.warn(
                f"{target.name} ({spec}) declares deviations from clauses SPEC.md does not have: {stale}; "
                "remove them or correct the ids",
                StaleDeviationWarning,
                stacklevel=1,
            )
    config.stash[_TARGETS] = targets
    folder = config.getoption("memmapref_report")
    config.pluginmanager.register(Reporter(Path(folder) if folder else None), "memmapref-report")


def pytest_report_header(config: pytest.Config) -> list[str]:
    import numpy

    from .. import __version__

    targets = config.stash.get(_TARGETS, {})
    lines = [f"memmapref {__version__}, numpy {numpy.__version__}, hypothesis profile {profiles.active()}"]
    lines += [f"implementation under test: {t.name} ({spec})" for spec, t in targets.items()]
    return lines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "impl_spec" in metafunc.fixturenames:
        targets = metafunc.config.stash[_TARGETS]
        metafunc.parametrize("impl_spec", list(targets), ids=[t.name for t in targets.values()])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    targets = config.stash.get(_TARGETS, {})
    for item in items:
        unknown = [c for c in clause_ids(item) if c not in CLAUSES]
        if unknown:
            raise pytest.UsageError(f"{item.nodeid} cites clauses SPEC.md does not have: {unknown}")
        callspec = getattr(item, "callspec", None)
        spec = callspec.params.get("impl_spec") if callspec is not None else None
        if spec is None:
            continue
        deviations = getattr(targets[spec], "deviations", {}) or {}
        cited = clause_ids(item)
        if cited and all(c in deviations for c in cited):
            # Every clause of the test is a declared deviation: its failing example need not be
            # minimal, and shrinking one costs seconds.
            item.stash[_DEVIATED] = True


_DEVIATED = pytest.StashKey[bool]()
# Where Hypothesis keeps a test's settings. Internal to Hypothesis: if it moves,
# expected failures are simply shrunk like any other failure.
_SETTINGS_ATTRIBUTE = "_hypothesis_internal_use_settings"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Skip shrinking for a declared deviation: its example need not be minimal, and shrinking costs seconds."""
    function = getattr(getattr(item, "obj", None), "__func__", None)
    original = getattr(function, _SETTINGS_ATTRIBUTE, None)
    if not item.stash.get(_DEVIATED, False) or original is None:
        return (yield)
    from hypothesis import Phase, settings

    setattr(function, _SETTINGS_ATTRIBUTE, settings(original, phases=[p for p in original.phases if p != Phase.shrink]))
    try:
        return (yield)
    finally:
        setattr(function, _SETTINGS_ATTRIBUTE, original)


@pytest.fixture
def impl(impl_spec: str, request: pytest.FixtureRequest, tmp_path: Path) -> Adapter:
    """The implementation under test, wrapped so that its calls are recorded as a snippet."""
    adapter = Adapter(request.config.stash[_TARGETS][impl_spec], spec=impl_spec)
    adapter.test_id = request.node.name
    adapter.begin(str(tmp_path))
    request.node.stash[ADAPTER] = adapter
    return adapter
