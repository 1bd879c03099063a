"""Shared test configuration: the suite's pytest plugin and the leak check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from leaks import open_under

pytest_plugins = ["memmapref.testing.plugin", "pytester"]

TESTS = Path(__file__).parent
# Tests that take seconds each, marked slow here so that the quick loop (-m "not slow") leaves them
# out without a mark on every one: a cluster, a child under RLIMIT_DATA, strace, a child pytest or
# `memmapref check` per test, a guide page run in full. The default run still runs them all.
_SLOW_PLACES = (
    "dask/",
    "memory/",
    "durability/",
    "docs/",
    "conformance/test_check_command.py",
    "conformance/test_plugin.py",
)
# Within the bundled run and the crash model: the strace-judged durability class (a traced child
# per example) and the crash-in-create loop (a power cut at every system call).
_SLOW_NAMES = ("::TestDurability::", "test_a_crash_anywhere_in_create")


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """With ``-n`` and no ``--dist``, distribute by ``xdist_group``: a group's tests share one worker.

    A module whose fixture is costly (the meta tests' mutant reports, each one child
    ``memmapref check``) marks itself ``xdist_group``, so the fixture is built once,
    not once per worker. Set here rather than as ``--dist loadgroup`` in addopts:
    there it would also apply without ``-n``, where plugins such as pytest-benchmark
    take it for a distributed run. Runs before xdist's own hook, which would make it ``load``.
    """
    if getattr(config.option, "numprocesses", None) and getattr(config.option, "dist", "no") == "no":
        config.option.dist = "loadgroup"
    # A worker parses the command line again and decides on groups before this hook runs, from --dist
    # alone: told nothing, it leaves the group out of its test ids and the controller spreads a group.
    if getattr(config, "workerinput", {}).get("memmapref_loadgroup"):
        config.option.loadgroup = True


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Tell each xdist worker that the controller distributes by group (see ``pytest_cmdline_main``)."""
    node.workerinput["memmapref_loadgroup"] = node.config.option.dist == "loadgroup"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        try:
            place = item.path.relative_to(TESTS).as_posix()
        except ValueError:
            place = ""
        slow = place.startswith(_SLOW_PLACES) or any(name in item.nodeid for name in _SLOW_NAMES)
        # A child process per test costs an interpreter and numpy's import, at least.
        if slow or item.get_closest_marker("subprocess") is not None:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _no_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves a descriptor or a mapping of its own files open."""
    # Requested here, before the test, so that tmp_path is torn down after this check.
    root = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if root is None:
        return
    leaked = open_under(root)
    assert not leaked, f"left open: {leaked}"
