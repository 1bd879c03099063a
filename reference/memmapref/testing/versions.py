"""The installed numpy's version, parsed in one place for every check that depends on it."""

from __future__ import annotations

import re

import numpy as np


def parse(text: str) -> tuple[int, int]:
    """``(major, minor)`` of a version string: ``"2.4.6"``, ``"1.26.4"``, ``"2.5.0.dev0+git..."``; ``"2"`` is 2.0."""
    numbers = [int(part) for part in re.findall(r"\d+", text)[:2]] + [0]
    return numbers[0], numbers[1]


NUMPY = parse(np.__version__)
# NEP 50 promotion, numpy's new scalar representation and copy= in __array__ all came with 2.0.
NUMPY2 = NUMPY >= (2, 0)
