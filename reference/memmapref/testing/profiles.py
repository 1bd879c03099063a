"""Hypothesis profiles: ``quick`` for development, ``ci`` (the default), ``thorough`` (10x ci).

Registered as ``memmapref-quick``, ``memmapref-ci`` and ``memmapref-thorough``:
Hypothesis has a built-in ``ci`` profile that it loads by itself when the
``CI`` environment variable is set, and a name of our own cannot collide with
it. Choose one with ``--hypothesis-profile memmapref-thorough`` or
``MEMMAPREF_PROFILE=thorough``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

CI_EXAMPLES = 40
PROFILES = {"quick": 8, "ci": CI_EXAMPLES, "thorough": 10 * CI_EXAMPLES}
ENV_VAR = "MEMMAPREF_PROFILE"
PREFIX = "memmapref-"


def register() -> None:
    for name, examples in PROFILES.items():
        settings.register_profile(
            PREFIX + name,
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


_active = [PREFIX + "ci"]


def active() -> str:
    return _active[0]


def load(name: str | None = None) -> str:
    """Load one of ours by short or full name; a profile of someone else's is left as Hypothesis loaded it."""
    if name is not None and not name.startswith(PREFIX):
        _active[0] = name
        return name
    short = (name or "").removeprefix(PREFIX) or os.environ.get(ENV_VAR) or "ci"
    if short not in PROFILES:
        raise ValueError(
            f"got profile {short!r}; expected one of {sorted(PROFILES)}; fix: e.g. {ENV_VAR}=ci or "
            f"--hypothesis-profile {PREFIX}ci"
        )
    settings.load_profile(PREFIX + short)
    _active[0] = PREFIX + short
    return _active[0]


def scaled(fraction: float) -> int:
    """An example count that is ``fraction`` of the active profile's, at least 1."""
    return max(1, int(settings().max_examples * fraction))


def override(examples: int) -> None:
    """Keep the active profile but run ``examples`` examples per property."""
    if examples < 1:
        raise ValueError(f"got --examples {examples}; expected a positive count; fix: e.g. --examples 100")
    settings.register_profile("memmapref-examples", parent=settings(), max_examples=examples)
    settings.load_profile("memmapref-examples")
    _active[0] = f"{_active[0]} with {examples} examples"
