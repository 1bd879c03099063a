"""``memmapref check``: run the conformance suite against an implementation and print the per-clause report.

Exit status: 0 when every MUST clause passes, does not apply, or is a declared
deviation confirmed by the run; 1 when one fails (or a declared deviation no
longer happens); 2 on a usage error.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_IMPL = "memmapref.testing.implementations:numpy_memmap"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memmapref", description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="check an implementation against SPEC.md, clause by clause")
    check.add_argument(
        "--impl",
        action="append",
        metavar="MODULE:ATTR",
        help=f"implementation to check (repeatable); default {DEFAULT_IMPL} (numpy.memmap of the installed numpy); "
        "'all' checks every bundled implementation",
    )
    check.add_argument("--profile", choices=["quick", "ci", "thorough"], default="ci", help="Hypothesis profile")
    check.add_argument("--examples", type=int, metavar="N", help="examples per property (overrides the profile)")
    check.add_argument("--report", default="memmapref-report", metavar="DIR", help="where report.md and report.json go")
    check.add_argument(
        "--timeout",
        type=int,
        default=60,
        metavar="SECONDS",
        help="time limit per test (pytest-timeout); 0 for none; default 60",
    )
    check.add_argument(
        "-n",
        "--workers",
        default=None,
        help="pytest-xdist workers ('auto', or a number; 0 runs the tests one at a time, in one worker)",
    )
    check.add_argument("-k", dest="keyword", metavar="EXPR", help="only tests matching EXPR (pytest -k)")
    _add_reduce(commands)
    return parser


def _specs(given: list[str] | None) -> list[str]:
    from .testing.implementations import BUNDLED

    if not given:
        return [DEFAULT_IMPL]
    return [spec for item in given for spec in (BUNDLED if item == "all" else [item])]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "reduce":
        return _reduce(args)
    from .testing.protocol import load

    # A module beside the user (``--impl mymod:impl``) is found, as ``python -m`` would find it, in this
    # process, in pytest-xdist's workers and in the suite's child processes alike.
    here = os.getcwd()
    sys.path.insert(0, here)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)
    problem = _unwritable(Path(args.report))
    if problem:
        print(
            f"memmapref check: got --report {args.report}, {problem}; expected a folder it can write", file=sys.stderr
        )
        return 2
    specs = _specs(args.impl)
    targets = {}
    for spec in specs:
        try:
            targets[spec] = load(spec)
        except ValueError as exc:
            print(f"memmapref check: {exc}", file=sys.stderr)
            return 2
    if args.examples is not None and args.examples < 1:
        print(f"memmapref check: got --examples {args.examples}; expected a positive count", file=sys.stderr)
        return 2

    import pytest

    # Located, not imported: Hypothesis fixes a test's settings when the test
    # module is imported, so the module must be imported after the profile is loaded.
    suite = importlib.util.find_spec("memmapref.testing.collected")
    assert suite is not None and suite.origin is not None
    report = Path(args.report)
    report_json = report / "report.json"
    report_json.unlink(missing_ok=True)
    pytest_args = [
        suite.origin,
        "-c",
        os.devnull,  # the caller's own pytest configuration must not change the verdicts
        "--rootdir",
        str(Path.cwd()),
        "-p",
        "memmapref.testing.plugin",
        "-p",
        "no:cacheprovider",
        "--hypothesis-profile",
        f"memmapref-{args.profile}",
        "--memmapref-report",
        str(report),
        "-q",
        "--tb=no",
        "-rN",
    ]
    for spec in specs:
        pytest_args += ["--impl", spec]
    if args.examples is not None:
        pytest_args += ["--examples", str(args.examples)]
    # A hang inside the implementation becomes a failure of the test's clauses, not a stuck check
    # (pytest-timeout, part of the testing extra; 0 is no limit).
    pytest_args += ["--timeout", str(args.timeout)]
    pytest_args += ["-k", args.keyword or ""]  # an empty expression selects every test
    workers = args.workers if args.workers is not None else "auto"
    # Even "one at a time" runs in a worker process (pytest-xdist, part of the testing extra): an
    # implementation that crashes (a segfault, os._exit) takes down a worker, which is restarted, and
    # its test fails; the check goes on.
    pytest_args += ["-n", "1" if workers == "0" else workers, "--max-worker-restart", "1000"]
    import numpy

    from . import __version__

    print(f"memmapref {__version__} conformance check, numpy {numpy.__version__}, profile {args.profile}")
    for spec, target in targets.items():
        print(f"implementation under test: {target.name} ({spec})")
    sys.stdout.flush()
    code = pytest.main(pytest_args)
    if not report_json.exists():
        print(f"memmapref check: the suite did not run (pytest exit status {int(code)})", file=sys.stderr)
        return 2
    gate = json.loads(report_json.read_text())["gate"]
    return 0 if gate else 1


# ---------------------------------------------------------------------------
# memmapref reduce


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)  # argparse reports a ValueError as a usage error


def _unwritable(folder: Path) -> str:
    """Why the report cannot be written to ``folder``, or the empty string."""
    if folder.exists() and not folder.is_dir():
        return "which is not a folder"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".memmapref-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return f"which cannot be written ({exc.strerror or exc})"
    return ""


def _add_reduce(commands: Any) -> None:
    reduce = commands.add_parser(
        "reduce",
        help="x[x > THRESHOLD].sum() over a directory of shards, on dask.distributed (the 'dask' extra)",
        description="The filtered sum of the logical array the shards form along axis 0, bit for bit the "
        "single-machine result. Shards: the directory's .npy files, or with --dtype every file as a raw "
        "1-d shard; in name order.",
    )
    reduce.add_argument("directory", type=Path, help="the directory of shards")
    reduce.add_argument("threshold", type=_number, help="the threshold t of x > t")
    reduce.add_argument("--dtype", help="the item type of raw shards (default: read the .npy headers)")
    reduce.add_argument("--scheduler", metavar="ADDRESS", help="a running scheduler (default: a local cluster)")
    reduce.add_argument("--workers", type=int, default=None, metavar="N", help="local cluster worker processes")
    reduce.add_argument("--chunk-bytes", type=int, default=None, metavar="N", help="the memory budget per task")


def _reduce(args: argparse.Namespace) -> int:
    from . import dask as mdask
    from .errors import MemmapError
    from .reductions import DEFAULT_CHUNK_BYTES

    try:
        names = sorted(p for p in args.directory.iterdir() if p.is_file() and (args.dtype or p.suffix == ".npy"))
        shards = [mdask.shard(p, args.dtype) for p in names]
    except (OSError, MemmapError) as exc:
        print(f"memmapref reduce: {exc}", file=sys.stderr)
        return 2
    if not shards:
        kind = "files" if args.dtype else ".npy files (pass --dtype for raw shards)"
        print(f"memmapref reduce: got no {kind} in {str(args.directory)!r}; expected shards", file=sys.stderr)
        return 2
    try:
        with mdask.connect(args.scheduler, args.workers) as client:
            print(f"{len(shards)} shards of {shards[0].dtype}, on {client.scheduler.address}", flush=True)
            budget = args.chunk_bytes or DEFAULT_CHUNK_BYTES
            total = mdask.filtered_sum(shards, args.threshold, client=client, chunk_bytes=budget, progress=True)
    except MemmapError as exc:
        print(f"memmapref reduce: {exc}", file=sys.stderr)
        return 2
    print(f"\nfiltered sum (x > {args.threshold!r}): {total!r}")
    return 0


if __name__ == "__main__":  # pragma: no cover -- `python -m memmapref.cli`
    sys.exit(main())
