"""M1: peak memory of the A3 analyses, each in a fresh process.

A child process imports what its contender needs, notes its resident set
(RSS), resets the kernel's high-water mark (``/proc/self/clear_refs``), runs
the analysis of A3 once and reports how far its peak RSS rose above the
post-import baseline. RSS counts everything: Python objects, NumPy and pandas
buffers, SQLite's page cache. Run as a script, this module is that child::

    python benchmarks/memory.py KIND TTVKIT_FILE NAIVE_FILE
"""

from __future__ import annotations

import gc
import importlib
import json
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import analysis
import data
from harness import Check, Context, Sample, Scenario, Series, Table, fmt_size, interleave, users_for

KINDS = (analysis.TTVKIT_SQLITE, analysis.NAIVE, analysis.PANDAS_SQL)


def _status_kib(field: str) -> int | None:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def child(kind: str, ttvkit_file: str, naive_file: str) -> None:
    for module in analysis.IMPORTS[kind]:
        importlib.import_module(module)
    work: dict[str, Callable[[], object]] = {
        analysis.TTVKIT_SQLITE: lambda: analysis.ttvkit_sqlite(Path(ttvkit_file)),
        analysis.NAIVE: lambda: analysis.naive_scipy(Path(naive_file)),
        analysis.PANDAS_SQL: lambda: analysis.pandas_sql(Path(naive_file)),
    }
    gc.collect()
    before = _status_kib("VmRSS") or 0
    exact = _reset_peak()
    work[kind]()
    if exact:
        peak = _status_kib("VmHWM") or 0
    else:  # no clear_refs: the lifetime peak, which imports may also have set
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"before_kib": before, "peak_kib": peak, "exact": exact}))


def _measure(kind: str, ttvkit_file: Path, naive_file: Path) -> Sample:
    done = subprocess.run(
        [sys.executable, __file__, kind, str(ttvkit_file), str(naive_file)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "MiB": (report["peak_kib"] - report["before_kib"]) / 1024,
        "baseline MiB": report["before_kib"] / 1024,
        "exact": float(report["exact"]),
    }


def run(ctx: Context) -> Scenario:
    scenario = Scenario(
        "M1",
        "Peak memory of the A3 analyses",
        "Rise of peak RSS above the post-import baseline in a fresh process per run, for the "
        "A3 question on the same files (MiB, lower is better). M1 is specified on A1 "
        "(DuckDB), which is not measured; the file-at-rest analysis A3 stands in.",
    )
    exact = True
    for size in ctx.sizes:
        n_users = users_for(size)
        ttvkit_file = data.ttvkit_sqlite(n_users, ctx.seed)
        naive_file = data.naive_sqlite(n_users, ctx.seed)
        data.forget()
        ctx.log(f"M1 {fmt_size(size)}")

        def contender(
            kind: str, t: Path = ttvkit_file, v: Path = naive_file
        ) -> Callable[[], Sample]:
            return lambda: _measure(kind, t, v)

        results = interleave({k: contender(k) for k in KINDS}, ctx.repeat, warmup=False)
        exact = exact and all(all(m["exact"]) for m in results.values())
        table = Table(
            f"{fmt_size(size)} events, MiB above the post-import baseline",
            [Series(k, m["MiB"], "MiB", k == analysis.TTVKIT_SQLITE) for k, m in results.items()],
            analysis.TTVKIT_SQLITE,
        )
        scenario.tables.append(table)
        baselines = ", ".join(
            f"{k.split()[0]} {min(m['baseline MiB']):.0f} MiB" for k, m in results.items()
        )
        scenario.notes.append(f"Post-import baselines at {fmt_size(size)}: {baselines}.")
        ratio = table.ratio(analysis.PANDAS_SQL)
        scenario.checks.append(
            Check(
                f"≤0.5× the peak memory of pandas + lifelines ({fmt_size(size)})",
                f"{ratio:.2f}×",
                ratio <= 0.5,
            )
        )
    if not exact:
        scenario.notes.append(
            "The kernel refused to reset the peak (/proc/self/clear_refs): peaks are lifetime "
            "peaks and may include the imports."
        )
    return scenario


if __name__ == "__main__":
    child(*sys.argv[1:4])
