"""Out-of-core filtered sums and slice means, measured side by side.

    python tools/bench.py                      # 2 GiB, 5 runs per method: a few minutes
    python tools/bench.py --small              # CI smoke run on a few MiB
    python tools/bench.py --sizes 256MiB,512MiB,1GiB,2GiB,4GiB   # the sweep for the plot

The file is float64, uniform in [0, 1), generated once per size (fixed seed)
and kept in ``--data-dir``. Every measurement is one call in a fresh child
process (``tools/bench_methods.py``), BLAS pinned to one thread; runs go round
robin over the methods, so that load from elsewhere hits all of them alike.

* warm: the file is in the page cache; the median of ``--runs`` runs.
* cold: the page cache is dropped before each run, where this process may
  write /proc/sys/vm/drop_caches (root on Linux); otherwise reported as not
  available.
* peak: tracemalloc's peak during the call, in a separate run (numpy reports
  its buffers to tracemalloc; numexpr's own C++ buffers are not seen).
* limit: whether the call completes with RLIMIT_DATA = 256 MiB.
* error: against the exactly rounded result (``tools/bench_exact.py``).

Slice means reduce views of the file as a 2-d array with ``memmapref.slice_mean``
and with ``np.mean`` on the same view; each child makes one untimed call (so
the view's pages are mapped) and reports its median call.

Writes ``results.json`` and ``bench.png`` (matplotlib, from the ``bench``
extra) to ``--out``; methods whose package is missing are reported as skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import mmap
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bench_exact
import bench_methods as methods
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CHILD = Path(__file__).resolve().parent / "bench_methods.py"
DATA_LIMIT = 256 << 20
SEED = 20_240_601
WRITE_ITEMS = 1 << 20
EXACT_FORMAT = 3
BOUND = "bound: chunked plain sum, 2 threads"
REFERENCE = "memmapref.filtered_sum"
# Cold runs of the default run: the reference, the two streaming alternatives,
# and the disk bound. The others would add about two minutes, and no ranking:
# the naive expression and np.sum(where=) take 5 to 9 s cold and are an order
# of magnitude slower warm; dask's from_array copies the file into memory either
# way; fp.sum() is the chunked sum on one thread. --cold-all runs every method.
COLD = [
    REFERENCE,
    "numexpr sum(where(x > t, x, 0))",
    "dask.array, no-copy wrapper",
    BOUND,
    "bound: read() the file",
    "bound: preadv the file, 2 threads",
]
LARGE_SLICE = 128 << 20
UNITS = {"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "KB": 10**3, "MB": 10**6, "GB": 10**9}


# ---------------------------------------------------------------------------
# Arguments


def size_bytes(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(
            f"got size {text!r}; expected e.g. 256MiB, 2GiB or 1048576; fix: use one of those forms"
        )
    value = float(match.group(1)) * UNITS[match.group(2) or ""]
    return int(value) // 8 * 8


def size_list(text: str) -> list[int]:
    return [size_bytes(part) for part in text.split(",") if part.strip()]


def human(nbytes: float) -> str:
    for unit in ("GiB", "MiB", "KiB"):
        if nbytes >= UNITS[unit]:
            value = nbytes / UNITS[unit]
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{nbytes:.0f} B"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--size", type=size_bytes, default=size_bytes("2GiB"), help="file size for the table (default 2GiB)"
    )
    parser.add_argument("--sizes", type=size_list, default=None, help="comma-separated sizes for the plot sweep")
    parser.add_argument(
        "--runs", type=int, default=5, help="runs per method and state (default 5; the median is reported)"
    )
    parser.add_argument("--small", action="store_true", help="CI smoke run: 8 MiB, no cold runs")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "reports" / "bench", help="where results.json and bench.png go"
    )
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "memmapref-bench")
    parser.add_argument("--no-cold", action="store_true", help="skip cold-cache runs even where available")
    parser.add_argument("--cold-all", action="store_true", help="cold runs for every method, not only the main ones")
    args = parser.parse_args(argv[1:])
    if args.runs < 1:
        parser.error(f"got --runs {args.runs}; expected at least 1; fix: pass --runs 5")
    if args.small:
        args.size = 8 << 20
        args.sizes = [4 << 20, 8 << 20]
        args.no_cold = True
    args.sizes = sorted(set(args.sizes or []) | {args.size})
    return args


# ---------------------------------------------------------------------------
# Data and exact results


def data_file(data_dir: Path, nbytes: int) -> Path:
    """The benchmark file of ``nbytes``, generated on first use and kept."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f"uniform-f8-{nbytes}-seed{SEED}.bin"
    if path.exists() and path.stat().st_size == nbytes:
        return path
    rng = np.random.default_rng(SEED)
    partial = path.with_suffix(".partial")
    with open(partial, "wb") as out:
        for start in range(0, nbytes // 8, WRITE_ITEMS):
            rng.random(min(WRITE_ITEMS, nbytes // 8 - start)).tofile(out)
    partial.replace(path)
    return path


def row_selection(index: Any) -> Any:
    return index[0] if isinstance(index, tuple) else index


def exact_results(path: Path, items: int) -> dict[str, Any]:
    """Exactly rounded sum, filtered sum and view means of the file, cached beside it."""
    sidecar = path.with_name(path.name + ".exact.json")
    rows, cols = methods.grid(items)
    views = methods.views(rows, cols)
    if sidecar.exists():
        cached = json.loads(sidecar.read_text())
        if (
            cached.get("format") == EXACT_FORMAT
            and cached.get("threshold") == methods.THRESHOLD
            and set(cached["means"]) == set(views)
        ):
            return cached  # type: ignore[no-any-return]
    data = np.asarray(np.memmap(path, dtype=np.float64, mode="r"))
    grid = data[: rows * cols].reshape(rows, cols)
    bench_exact.check_against_fsum(data[: min(items, 1 << 20)])
    plain = filtered = 0
    view_sums = dict.fromkeys(views, 0)
    view_counts = {name: int(grid[index].size) for name, index in views.items()}
    step = max(1, (1 << 21) // cols)
    for top in range(0, rows, step):
        block = grid[top : top + step]
        plain += bench_exact.fixed_sum(block)
        filtered += bench_exact.fixed_sum(block[block > methods.THRESHOLD])
        for name, index in views.items():
            view_sums[name] += bench_exact.fixed_sum(_rows_of(block, top, index))
    if rows * cols < items:
        tail = data[rows * cols :]
        plain += bench_exact.fixed_sum(tail)
        filtered += bench_exact.fixed_sum(tail[tail > methods.THRESHOLD])
    result = {
        "format": EXACT_FORMAT,
        "threshold": methods.THRESHOLD,
        "sum": bench_exact.rounded(plain),
        "filtered_sum": bench_exact.rounded(filtered),
        "means": {name: bench_exact.rounded(view_sums[name], view_counts[name]) for name in views},
    }
    sidecar.write_text(json.dumps(result, indent=1))
    return result


def _rows_of(block: np.ndarray[Any, Any], top: int, index: Any) -> np.ndarray[Any, Any]:
    """The part of view ``index`` (of the whole grid) that lies in ``block``, rows ``top`` onwards."""
    rows = row_selection(index)
    rest = index[1:] if isinstance(index, tuple) else ()
    if isinstance(rows, int):
        inside = block[rows - top : rows - top + 1] if top <= rows < top + len(block) else block[:0]
        return inside[(slice(None), *rest)]
    start, stop, _ = rows.indices(top + len(block) + (1 << 62))
    lo, hi = max(start, top) - top, max(min(stop, top + len(block)), top) - top
    return block[lo:hi][(slice(None), *rest)]


# ---------------------------------------------------------------------------
# Children


@dataclass(frozen=True)
class Job:
    family: str  # "filtered", "bound", "copy" or "mean"
    method: str
    measure: str  # "time", "memory" or "limit"
    path: str
    items: int
    cold: bool = False
    view: str | None = None

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.method, self.view)


def drop_caches() -> str | None:
    """Drop the page cache; None on success, else why it cannot be done here."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as control:
            control.write("1\n")
    except OSError as exc:
        return f"cannot write /proc/sys/vm/drop_caches ({exc.strerror or exc})"
    return None


def touch_pages(path: str) -> float:
    """Read one byte of every page of the file; the seconds it took.

    Before a warm run: pages the kernel reclaimed since the last run (this
    machine's proactive reclaim pages out file pages unused for a minute)
    come back, so that "warm" means the whole file is in the page cache.
    """
    start = time.perf_counter()
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapping:
        pages = np.frombuffer(mapping, dtype=np.uint8)
        int(pages[:: mmap.PAGESIZE].sum())
        del pages  # the buffer export must end before the mapping closes
    return time.perf_counter() - start


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "reference"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def run_child(job: Job) -> dict[str, Any]:
    spec = {"family": job.family, "method": job.method, "measure": job.measure, "path": job.path, "items": job.items}
    if job.view is not None:
        spec["view"] = job.view

    def limit() -> None:
        if job.measure == "limit":
            resource.setrlimit(resource.RLIMIT_DATA, (DATA_LIMIT, DATA_LIMIT))

    touched = None
    if job.cold:
        drop_caches()
    else:
        touched = touch_pages(job.path)
    done = subprocess.run(
        [sys.executable, str(CHILD), json.dumps(spec)],
        capture_output=True,
        text=True,
        env=child_env(),
        preexec_fn=limit,
        timeout=900,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode == 0 and lines:
        outcome: dict[str, Any] = json.loads(lines[-1])
    else:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        outcome = {"failed": last[-160:]}
    outcome["touch_seconds"] = touched
    return outcome


class Progress:
    """One status line on a terminal, a line per step otherwise."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.start = time.monotonic()
        self.tty = sys.stderr.isatty()

    def step(self, label: str, outcome: dict[str, Any]) -> None:
        self.done += 1
        note = outcome.get("failed") or (f"{outcome['seconds']:.3f}s" if "seconds" in outcome else "")
        line = f"[{self.done:4d}/{self.total}] {time.monotonic() - self.start:6.0f}s  {label}  {note}"
        if self.tty:
            sys.stderr.write("\r" + line[:150].ljust(150))
            if self.done == self.total:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


# ---------------------------------------------------------------------------
# Planning and measuring


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def available_methods() -> tuple[list[str], dict[str, str]]:
    names, skipped = [], {}
    for name in methods.WHOLE_FILE:
        module = methods.OPTIONAL.get(name)
        if module is None or importlib.util.find_spec(module.split(".")[0]) is not None:
            names.append(name)
        else:
            skipped[name] = f"{module.split('.')[0]} is not installed (pip install -e '.[bench]')"
    return names, skipped


def plan(args: argparse.Namespace, paths: dict[int, Path], cold: bool) -> Plan:
    names, skipped = available_methods()
    result = Plan(skipped=skipped)
    for nbytes in [args.size, *(s for s in args.sizes if s != args.size)]:
        path, items = str(paths[nbytes]), nbytes // 8
        for _ in range(args.runs):
            result.jobs += [Job(methods.WHOLE_FILE[n][0], n, "time", path, items) for n in names]
        if cold and nbytes == args.size:
            chilled = [n for n in names if args.cold_all or n in COLD]
            for _ in range(args.runs):
                result.jobs += [Job(methods.WHOLE_FILE[n][0], n, "time", path, items, cold=True) for n in chilled]
        result.jobs += [Job(methods.WHOLE_FILE[n][0], n, m, path, items) for m in ("memory", "limit") for n in names]
        if nbytes == args.size:
            rows, cols = methods.grid(items)
            means = [(m, v) for v in methods.views(rows, cols) for m in methods.MEANS]
            for _ in range(args.runs):
                result.jobs += [Job("mean", m, "time", path, items, view=v) for m, v in means]
            result.jobs += [Job("mean", m, "memory", path, items, view=v) for m, v in means]
    return result


def measure(jobs: list[Job]) -> dict[Job, list[dict[str, Any]]]:
    progress = Progress(len(jobs))
    outcomes: dict[Job, list[dict[str, Any]]] = {}
    for job in jobs:
        outcome = run_child(job)
        outcomes.setdefault(job, []).append(outcome)
        state = "cold" if job.cold else "warm"
        label = f"{human(job.items * 8)} {job.measure if job.measure != 'time' else state} {job.method}"
        progress.step(label + (f" [{job.view}]" if job.view else ""), outcome)
    return outcomes


# ---------------------------------------------------------------------------
# Summaries


def median_seconds(runs: list[dict[str, Any]]) -> float | None:
    times = [r["seconds"] for r in runs if "seconds" in r]
    return float(np.median(times)) if len(times) == len(runs) and times else None


def relative_error(got: float | None, exact: float) -> float | None:
    if got is None:
        return None
    return abs(got - exact) / abs(exact) if exact else abs(got)


def summarize(
    args: argparse.Namespace, outcomes: dict[Job, list[dict[str, Any]]], exact: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    sizes: dict[str, Any] = {}
    for job, runs in outcomes.items():
        entry = sizes.setdefault(str(job.items * 8), {"whole_file": {}, "means": {}})
        if job.family == "mean":
            row = entry["means"].setdefault(job.view, {}).setdefault(job.method, {})
        else:
            row = entry["whole_file"].setdefault(job.method, {"family": job.family})
        if job.measure == "time":
            state = "cold" if job.cold else "warm"
            row[state] = [r.get("seconds") for r in runs]
            row[f"{state}_median"] = median_seconds(runs)
            row.setdefault("result", next((r["result"] for r in runs if "result" in r), None))
            if not job.cold:
                # Seconds to re-read one byte per page before each warm run: more than a
                # few hundredths means pages had been evicted and were read back from disk.
                row["touch_seconds"] = [r.get("touch_seconds") for r in runs]
            if any("failed" in r for r in runs):
                row[f"{state}_failed"] = next(r["failed"] for r in runs if "failed" in r)
        elif job.measure == "memory":
            row["peak"] = runs[0].get("peak")
        else:
            row["limit"] = runs[0].get("failed", "completes")
    for nbytes, entry in sizes.items():
        truth = exact[int(nbytes)]
        for row in entry["whole_file"].values():
            if row["family"] == "copy":
                continue
            target = truth["filtered_sum"] if row["family"] == "filtered" else truth["sum"]
            row["relative_error"] = relative_error(row.get("result"), target)
        for view, pair in entry["means"].items():
            for row in pair.values():
                row["relative_error"] = relative_error(row.get("result"), truth["means"][view])
    return sizes


def targets(table: dict[str, Any], items: int) -> list[dict[str, Any]]:
    """The issue's targets, each with the figure reached."""
    rows = table["whole_file"]
    t = {name: row.get("warm_median") for name, row in rows.items()}
    out = []

    def add(name: str, figure: float | None, wanted: float, cmp: str, note: str = "") -> None:
        met = None if figure is None else (figure >= wanted if cmp == ">=" else figure <= wanted)
        out.append({"target": name, "figure": figure, "wanted": f"{cmp} {wanted}", "met": met, "note": note})

    ours = t.get(REFERENCE)
    ratio = t[BOUND] / ours if ours and t.get(BOUND) else None
    add("filtered_sum throughput / chunked plain sum throughput", ratio, 0.5, ">=")
    for other in ("naive fp[fp > t].sum()", "numexpr sum(where(x > t, x, 0))"):
        if other in t:
            add(f"filtered_sum speed-up over {other}", t[other] / ours if ours and t[other] else None, 5, ">=")
    rows_, cols = methods.grid(items)
    for view, index in methods.views(rows_, cols).items():
        pair = table["means"].get(view, {})
        mine, numpys = (pair.get(m, {}).get("warm_median") for m in methods.MEANS)
        nbytes = 8 * int(np.empty((rows_, cols), dtype=np.bool_)[index].size)
        if not mine or not numpys:
            continue
        if nbytes >= LARGE_SLICE:
            add(f"slice_mean speed-up over np.mean, {view} ({human(nbytes)})", numpys / mine, 1.3, ">=")
        else:
            add(f"slice_mean time / np.mean time, {view} ({human(nbytes)})", mine / numpys, 1.1, "<=")
    return out


# ---------------------------------------------------------------------------
# Output


def fmt(value: float | None, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def limit_word(outcome: str) -> str:
    if outcome == "completes":
        return outcome
    return "MemoryError" if "MemoryError" in outcome else "fails"


def table_text(args: argparse.Namespace, sizes: dict[str, Any], plan_: Plan, cold_note: str | None) -> str:
    size = str(args.size)
    entry = sizes[size]
    items = args.size // 8
    bound = entry["whole_file"].get(BOUND, {}).get("warm_median")
    lines = [
        f"Whole file: {human(args.size)} float64, threshold {methods.THRESHOLD}, median of {args.runs} runs, "
        f"each in a fresh process. cold: {cold_note or 'page cache dropped before each run'}"
        + ("" if cold_note or args.cold_all else " (main methods; --cold-all for every one)"),
        "",
        f"{'method':38s} {'warm s':>8s} {'GB/s':>6s} {'x bound':>7s} {'cold s':>7s} {'peak MiB':>9s} "
        f"{'256 MiB limit':>14s} {'rel. error':>10s}",
    ]
    for name, row in entry["whole_file"].items():
        warm = row.get("warm_median")
        limit = row.get("limit", "-")
        lines.append(
            f"{name:38s} {fmt(warm, '8.3f', row.get('warm_failed', '-')[:8])} "
            f"{fmt(args.size / warm / 1e9 if warm else None, '6.2f')} "
            f"{fmt(bound / warm if warm and bound else None, '7.2f')} {fmt(row.get('cold_median'), '7.3f')} "
            f"{fmt(row['peak'] / 2**20 if row.get('peak') is not None else None, '9.1f')} "
            f"{limit_word(limit):>14s} "
            f"{fmt(row.get('relative_error'), '10.1e')}"
        )
    for name, why in plan_.skipped.items():
        lines.append(f"{name:38s} skipped: {why}")
    lines.append(
        "x bound: throughput as a fraction of the chunked plain sum's. "
        "peak: tracemalloc (numexpr's buffers are not traced)."
    )
    rows, cols = methods.grid(items)
    lines += [
        "",
        f"Slice means over the file as a {rows} x {cols} array (median call after one untimed call, median of runs)",
        "",
    ]
    lines.append(
        f"{'view':30s} {'size':>9s} {'np.mean s':>10s} {'slice_mean s':>12s} {'speed-up':>8s} "
        f"{'err np.mean':>11s} {'err ours':>9s}"
    )
    for view, index in methods.views(rows, cols).items():
        pair = entry["means"].get(view)
        if not pair:
            continue
        numpys, mine = pair.get("np.mean", {}), pair.get("memmapref.slice_mean", {})
        a, b = numpys.get("warm_median"), mine.get("warm_median")
        nbytes = 8 * int(np.empty((rows, cols), dtype=np.bool_)[index].size)
        lines.append(
            f"{view:30s} {human(nbytes):>9s} {fmt(a, '10.6f')} {fmt(b, '12.6f')} "
            f"{fmt(a / b if a and b else None, '8.2f')} "
            f"{fmt(numpys.get('relative_error'), '11.1e')} {fmt(mine.get('relative_error'), '9.1e')}"
        )
    return "\n".join(lines)


def targets_text(found: list[dict[str, Any]], small: bool) -> str:
    heading = "Targets (warm cache, same run)"
    if small:
        heading += " -- --small: microseconds of a few MiB, not what the targets are about (2 GiB)"
    lines = ["", heading + ":"]
    for t in found:
        verdict = "n/a" if t["met"] is None else ("met" if t["met"] else "NOT met")
        lines.append(f"  {verdict:8s} {t['target']}: {fmt(t['figure'], '.2f')} (wanted {t['wanted']})")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
    }
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next(
            (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "?"
        )
        meminfo = Path("/proc/meminfo").read_text().split()
        info["ram_gib"] = round(int(meminfo[meminfo.index("MemTotal:") + 1]) / 2**20, 1)
    except (OSError, ValueError):
        pass
    for module in ("numexpr", "dask", "matplotlib"):
        if importlib.util.find_spec(module) is not None:
            info[module] = __import__(module).__version__
    return info


def plot(sizes: dict[str, Any], out: Path) -> str:
    if importlib.util.find_spec("matplotlib") is None:
        return "plot skipped: matplotlib is not installed (pip install -e '.[bench]')"
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (times, peaks) = plt.subplots(1, 2, figsize=(13, 5.5))
    names = list(next(iter(sizes.values()))["whole_file"])
    for name in names:
        points = sorted(
            (int(nbytes), entry["whole_file"][name].get("warm_median"), entry["whole_file"][name].get("peak"))
            for nbytes, entry in sizes.items()
            if name in entry["whole_file"]
        )
        x = [p[0] / 2**30 for p in points]
        style = "-o" if name == REFERENCE else ("--." if name.startswith("bound") else "-.")
        times.plot(
            [a for a, p in zip(x, points, strict=True) if p[1]], [p[1] for p in points if p[1]], style, label=name
        )
        peaks.plot(
            [a for a, p in zip(x, points, strict=True) if p[2] is not None],
            [p[2] / 2**20 for p in points if p[2] is not None],
            style,
            label=name,
        )
    for axes, title, unit in (
        (times, "time, warm cache (median)", "seconds"),
        (peaks, "peak extra memory (tracemalloc; numexpr's own buffers unseen)", "MiB"),
    ):
        axes.set_xscale("log", base=2)
        axes.set_yscale("log")
        axes.set_xlabel("file size (GiB)")
        axes.set_ylabel(unit)
        axes.set_title(title)
        axes.grid(True, which="both", alpha=0.3)
    peaks.axhline(DATA_LIMIT / 2**20, color="grey", linewidth=0.8)
    peaks.text(
        peaks.get_xlim()[0], DATA_LIMIT / 2**20 * 1.1, " RLIMIT_DATA in the limit runs", color="grey", fontsize=8
    )
    times.legend(fontsize=7, loc="upper left")
    figure.suptitle(f"x[x > {methods.THRESHOLD}].sum() over a float64 file, each method in a fresh process")
    figure.tight_layout()
    target = out / "bench.png"
    figure.savefig(target, dpi=120)
    return f"plot: {target}"


def main(argv: list[str]) -> int:
    args = parse(argv)
    started = time.monotonic()
    load_before = os.getloadavg()
    print(f"preparing data in {args.data_dir} ...", file=sys.stderr, flush=True)
    paths = {nbytes: data_file(args.data_dir, nbytes) for nbytes in args.sizes}
    exact = {nbytes: exact_results(paths[nbytes], nbytes // 8) for nbytes in args.sizes}
    cold_note = "skipped (--no-cold or --small)" if args.no_cold else drop_caches()
    if cold_note:
        cold_note = f"not available: {cold_note}" if not args.no_cold else cold_note
    work = plan(args, paths, cold=cold_note is None)
    outcomes = measure(work.jobs)
    sizes = summarize(args, outcomes, exact)
    found = targets(sizes[str(args.size)], args.size // 8)
    text = table_text(args, sizes, work, cold_note) + "\n" + targets_text(found, args.small)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "command": " ".join(["python tools/bench.py", *argv[1:]]),
        "machine": machine(),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "elapsed_seconds": round(time.monotonic() - started, 1),
        "cold": cold_note or "page cache dropped before each run",
        "skipped": work.skipped,
        "exact": {str(k): v for k, v in exact.items()},
        "sizes": sizes,
        "targets": found,
    }
    (args.out / "results.json").write_text(json.dumps(report, indent=1))
    print(f"\nresults: {args.out / 'results.json'}; {plot(sizes, args.out)}")
    print(
        f"elapsed {report['elapsed_seconds']:.0f}s; "
        f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
