"""pytest plugin of the conformance suite: options, markers and Hypothesis profiles.

Load it with ``pytest_plugins = ["memmapref.testing.plugin"]`` in a conftest.
"""

from __future__ import annotations

import pytest

from . import profiles

# At import, before Hypothesis's own plugin resolves --hypothesis-profile.
profiles.register()


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
        "--examples",
        type=int,
        default=None,
        metavar="N",
        help="Hypothesis examples per property (overrides the profile's count)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clause(id, ...): the SPEC.md clause(s) this test checks")
    profiles.load(config.getoption("hypothesis_profile", None))
    examples = config.getoption("examples")
    if examples is not None:
        from hypothesis import settings

        settings.register_profile("memmapref-cli", parent=settings(), max_examples=examples)
        settings.load_profile("memmapref-cli")
