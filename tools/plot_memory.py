"""Plot memory use over time: the naive boolean mask against memmapref.filtered_sum.

Both reductions compute the same ``x[x > 0.5].sum()`` over the same file, each in
its own child process, while this process samples the child's
``/proc/PID/status`` every few milliseconds. The figure has two panels:

* ``RssAnon``: memory the child allocated (the mask and the filtered copy).
  This is what runs a machine out of memory.
* ``RssFile``: pages of the file mapped into the child. They grow with every
  page read, whichever method reads it, but they are the page cache: the
  kernel drops them under memory pressure and reads them again later.

Regenerate the figure in docs/img/ with::

    pip install -e '.[docs]'
    python tools/plot_memory.py

Linux only (it reads /proc). Needs matplotlib (the ``docs`` extra).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import memmapref

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "docs" / "img" / "memory.png"
MIB = 1 << 20

# The child reports its own clock readings: CLOCK_MONOTONIC is shared by every
# process, so they line up with the parent's samples without any handshake.
CHILD = """
import json, sys, time
import numpy as np
import memmapref

path, method, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if method == "naive":
    fp = np.memmap(path, dtype=np.float64, mode="r", shape=(n,))
    time.sleep(0.3)
    start = time.monotonic()
    total = float(fp[fp > 0.5].sum())
    end = time.monotonic()
    del fp
else:
    with memmapref.open(path, np.float64, (n,)) as handle:
        time.sleep(0.3)
        start = time.monotonic()
        total = float(memmapref.filtered_sum(handle, 0.5))
        end = time.monotonic()
time.sleep(0.3)
print(json.dumps({"start": start, "end": end, "total": total}))
"""

LABELS = {
    "naive": "fp[fp > 0.5].sum()  (boolean mask)",
    "chunked": f"memmapref.filtered_sum(fp, 0.5)  (chunk_bytes={memmapref.DEFAULT_CHUNK_BYTES // MIB} MiB)",
}
COLOURS = {"naive": "#c0392b", "chunked": "#2471a3"}


def write_file(path: Path, n: int) -> None:
    """Fill the file with a repeating ramp in [0, 1), a slice at a time, so that this process stays small.

    The values are multiples of 1/1024, so every partial sum is exact and both
    methods must return the very same float.
    """
    step = 1 << 20
    ramp = (np.arange(step) % 1024) / 1024.0
    with memmapref.create(path, np.float64, (n,)) as handle:
        for start in range(0, n, step):
            stop = min(n, start + step)
            handle[start:stop] = ramp[: stop - start]


def status(pid: int) -> dict[str, int] | None:
    """RssAnon and RssFile of a process in bytes, or None once it has exited."""
    fields = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("RssAnon", "RssFile"):
                    fields[key] = int(value.split()[0]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return fields if len(fields) == 2 else None


@dataclass
class Run:
    """One child's samples; times are CLOCK_MONOTONIC seconds, sizes bytes."""

    start: float
    end: float
    total: float
    times: list[float] = field(default_factory=list)
    anon: list[int] = field(default_factory=list)
    file: list[int] = field(default_factory=list)


def sample(path: Path, method: str, n: int, interval: float) -> Run:
    """Run one method in a child and record its memory until it exits."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), method, str(n)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    times: list[float] = []
    anon: list[int] = []
    mapped: list[int] = []
    while child.poll() is None:
        now = time.monotonic()
        fields = status(child.pid)
        if fields is not None:
            times.append(now)
            anon.append(fields["RssAnon"])
            mapped.append(fields["RssFile"])
        time.sleep(interval)
    out, _ = child.communicate()
    if child.returncode != 0:
        raise SystemExit(f"{method} child failed with exit status {child.returncode}")
    marks = json.loads(out)
    return Run(marks["start"], marks["end"], marks["total"], times, anon, mapped)


def plot(runs: dict[str, Run], file_bytes: int, output: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.6), sharey=True, layout="constrained")
    panels = (
        (left, "anon", "Allocated memory (RssAnon)\nwhat runs a machine out of memory"),
        (right, "file", "File pages mapped in (RssFile)\npage cache: the kernel can drop them"),
    )
    for ax, key, title in panels:
        for method, run in runs.items():
            sizes = run.anon if key == "anon" else run.file
            # Start-up (imports) is the same for both and says nothing about the reduction.
            points = [(x - run.start, v / MIB) for x, v in zip(run.times, sizes, strict=True) if x - run.start >= -0.2]
            t, y = zip(*points, strict=True)
            ax.plot(t, y, color=COLOURS[method], label=LABELS[method], linewidth=2)
            ax.axvspan(0, run.end - run.start, color=COLOURS[method], alpha=0.08)
            if key == "anon":
                top = max(y)
                ax.annotate(
                    f"peak {top:.0f} MiB",
                    (t[y.index(top)], top),
                    textcoords="offset points",
                    xytext=(6, 4),
                    color=COLOURS[method],
                    fontsize=9,
                )
        ax.axhline(file_bytes / MIB, color="grey", linestyle=":", linewidth=1)
        ax.annotate(
            "file size",
            (1, file_bytes / MIB),
            xycoords=("axes fraction", "data"),
            ha="right",
            va="bottom",
            color="grey",
            fontsize=9,
        )
        ax.set_title(title, fontsize=11)
        ax.set_xlabel("seconds since the reduction started (shaded: running)")
        ax.grid(alpha=0.3)
    left.set_ylabel("MiB")
    fig.legend(*left.get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False, fontsize=9)
    fig.suptitle(f"Summing the items > 0.5 of a {file_bytes // MIB} MiB float64 file", fontsize=12)
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256, help="size of the data file (default 256)")
    parser.add_argument("--interval", type=float, default=0.005, help="seconds between samples (default 0.005)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"PNG to write (default {DEFAULT_OUTPUT})")
    args = parser.parse_args(argv)

    n = args.size_mib * MIB // 8
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.f64"
        write_file(path, n)
        runs = {method: sample(path, method, n, args.interval) for method in ("naive", "chunked")}
    totals = {method: run.total for method, run in runs.items()}
    # The two runs must agree, or the figure compares different work.
    if totals["naive"] != totals["chunked"]:
        raise SystemExit(f"the two methods disagree: {totals}")
    plot(runs, n * 8, args.output)
    print(f"wrote {args.output} ({args.output.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
