"""Hypothesis profiles: ``quick`` for development, ``ci`` (the default), ``thorough`` (10x ci)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

CI_EXAMPLES = 40
PROFILES = {"quick": 8, "ci": CI_EXAMPLES, "thorough": 10 * CI_EXAMPLES}
ENV_VAR = "MEMMAPREF_PROFILE"


def register() -> None:
    for name, examples in PROFILES.items():
        settings.register_profile(
            name,
            max_examples=examples,
            # File I/O makes example time vary with the disk, not with the code.
            deadline=None,
            # function_scoped_fixture: tests make a fresh directory per example themselves.
            # differing_executors: pytest gives each parametrized item (one per
            # implementation) its own instance; the classes keep no state on self
            # and no example database is used, so replay cannot mix them up.
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.function_scoped_fixture,
                HealthCheck.differing_executors,
            ],
            derandomize=name != "thorough",
            database=None,
            print_blob=True,
        )


_active = ["ci"]


def active() -> str:
    return _active[0]


def load(name: str | None = None) -> str:
    chosen = name or os.environ.get(ENV_VAR) or "ci"
    if chosen not in PROFILES:
        raise ValueError(f"got profile {chosen!r}; expected one of {sorted(PROFILES)}; fix: pass --hypothesis-profile ci")
    settings.load_profile(chosen)
    _active[0] = chosen
    return chosen


def scaled(fraction: float) -> int:
    """An example count that is ``fraction`` of the active profile's, at least 1."""
    return max(1, int(settings().max_examples * fraction))


def override(examples: int) -> None:
    """Keep the active profile but run ``examples`` examples per property."""
    if examples < 1:
        raise ValueError(f"got --examples {examples}; expected a positive count; fix: e.g. --examples 100")
    settings.register_profile("memmapref-examples", parent=settings(), max_examples=examples)
    settings.load_profile("memmapref-examples")
