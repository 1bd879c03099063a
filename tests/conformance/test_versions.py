"""The one parse of numpy's version (``memmapref.testing.versions``) that version-dependent checks use."""

from __future__ import annotations

import numpy as np
import pytest

from memmapref.testing import versions


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2.4.6", (2, 4)), ("1.26.4", (1, 26)), ("2.5.0.dev0+git20260101.abc", (2, 5)), ("2.0rc1", (2, 0)), ("2", (2, 0))],
)
def test_parse_gives_major_and_minor(text: str, expected: tuple[int, int]) -> None:
    assert versions.parse(text) == expected


def test_the_installed_numpy() -> None:
    major, minor = (int(part) for part in np.__version__.split(".")[:2])
    assert (major, minor) == versions.NUMPY
    assert (major >= 2) == versions.NUMPY2
