"""M1: peak memory of the A1 analyses (a Parquet file at rest), each in a fresh process.

A child process imports what its contender needs, notes its resident set
(RSS), resets the kernel's high-water mark (``/proc/self/clear_refs``), runs
the analysis of A1 once and reports its peak RSS (``VmHWM``: everything the
process holds at its worst moment, imports included) and how far that rose
above the post-import baseline. RSS counts everything: Python objects, NumPy
and pandas buffers, DuckDB's buffer manager. Run as a script, this module is
that child::

    python benchmarks/memory.py KIND PARQUET_FILE
"""

from __future__ import annotations

import gc
import importlib
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import analysis
import data
from harness import HUGE, Check, Context, Sample, Scenario, Series, Table, fmt_size, interleave

from ttvkit.errors import TTVError

GIB = 1024.0

KINDS = tuple(analysis.FILE_CONTENDERS)


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


def child(kind: str, path: str) -> None:
    imports, work = analysis.FILE_CONTENDERS[kind]
    for module in imports:
        importlib.import_module(module)
    gc.collect()
    before = _status_kib("VmRSS") or 0
    exact = _reset_peak()
    try:
        work(Path(path))
    except (analysis.Unavailable, TTVError, ImportError) as exc:
        print(json.dumps({"unavailable": analysis.unavailable_reason(exc)}))
        return
    if exact:
        peak = _status_kib("VmHWM") or 0
    else:  # no clear_refs: the lifetime peak, which imports may also have set
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"before_kib": before, "peak_kib": peak, "exact": exact}))


class _Unavailable(Exception):
    pass


def _measure(kind: str, path: Path) -> Sample:
    done = subprocess.run(
        [sys.executable, __file__, kind, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=1200,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if "unavailable" in report:
        raise _Unavailable(report["unavailable"])
    return {
        "MiB": report["peak_kib"] / 1024,
        "rise MiB": (report["peak_kib"] - report["before_kib"]) / 1024,
        "exact": float(report["exact"]),
    }


def run(ctx: Context) -> Scenario:
    scenario = Scenario(
        "M1",
        "Peak memory of A1",
        "Peak resident set (VmHWM after resetting it once the imports are done) of a fresh "
        "process per run answering A1's question over the Parquet file (MiB, lower is better), "
        "and in a second table how far it rose above the post-import baseline.",
    )
    exact = True
    for size in ctx.m1_sizes:
        path = data.scaled_parquet(size, ctx.seed, ctx.log)
        ctx.log(f"M1 {fmt_size(size)}")
        kinds = [
            k for k in KINDS if k != analysis.PANDAS_PARQUET or size <= analysis.PANDAS_MAX_EVENTS
        ]
        available: dict[str, Callable[[], Sample]] = {}
        firsts: dict[str, Sample] = {}
        n = data.event_count(path)
        round_seconds = 0.0
        for kind in kinds:
            projected = analysis.projected_seconds(kind, size + 1, n)
            if projected is not None and projected > ctx.max_run:
                scenario.notes.append(
                    f"{kind} at {fmt_size(size)}: not run: about {projected:,.0f} s per run, "
                    f"projected from its time in A1/S1, over this run's limit of "
                    f"{ctx.max_run:,.0f} s per run."
                )
                continue
            start = time.perf_counter()
            try:
                # A first run checks it works and warms the page cache; from HUGE events on,
                # where one run takes minutes, it is kept as a measurement.
                first = _measure(kind, path)
            except _Unavailable as exc:
                scenario.notes.append(f"{kind} at {fmt_size(size)}: {exc}.")
                continue
            round_seconds += time.perf_counter() - start
            if size >= HUGE:
                firsts[kind] = first
            available[kind] = lambda k=kind, p=path: _measure(k, p)
        planned = ctx.repeat_for(size) - (1 if firsts else 0)
        rounds = analysis.rounds_within(ctx, planned, round_seconds)
        if not firsts:
            rounds = max(1, rounds)
        runs = rounds + (1 if firsts else 0)
        if runs < ctx.repeat_for(size):
            first_kept = " (the first run kept, no warm-up)" if firsts else ""
            scenario.notes.append(
                f"{runs} run{'s' if runs > 1 else ''} per contender at {fmt_size(size)}"
                f"{first_kept} instead of {ctx.repeat_for(size)}: one round took about "
                f"{round_seconds:.0f} s and the run's budget per table is {ctx.budget:.0f} s."
            )
        results = interleave(available, rounds, warmup=False) if available and rounds else {}
        for kind, first in firsts.items():
            for metric, value in first.items():
                results.setdefault(kind, {}).setdefault(metric, []).insert(0, value)
        exact = exact and all(all(m["exact"]) for m in results.values())
        ttvkit_label = analysis.TTVKIT_SCAN
        for metric, title in (("MiB", "peak RSS"), ("rise MiB", "rise above the post-import RSS")):
            if not results:
                break
            scenario.tables.append(
                Table(
                    f"{fmt_size(size)} events, {title}, MiB",
                    [Series(k, m[metric], "MiB", k == ttvkit_label) for k, m in results.items()],
                    ttvkit_label,
                )
            )
        if size > analysis.PANDAS_MAX_EVENTS:
            scenario.notes.append(analysis._pandas_skipped(size))
        if ttvkit_label not in results:
            scenario.checks.append(
                Check(f"peak memory of A1 ({fmt_size(size)})", "ttvkit: not available", None)
            )
            continue
        peak = scenario.tables[-2]
        if analysis.PANDAS_PARQUET in results:
            ratio = peak.ratio(analysis.PANDAS_PARQUET)
            scenario.checks.append(
                Check(
                    f"≤0.5× the peak memory of pandas + lifelines ({fmt_size(size)})",
                    f"{ratio:.2f}× ({peak.get(ttvkit_label).median:,.0f} MiB against "
                    f"{peak.get(analysis.PANDAS_PARQUET).median:,.0f} MiB)",
                    ratio <= 0.5,
                )
            )
        if size >= 100_000_000:
            mib = peak.get(ttvkit_label).high
            scenario.checks.append(
                Check(
                    f"peak memory ≤2 GiB ({fmt_size(size)})",
                    f"{mib / GIB:.2f} GiB (the highest of {len(peak.get(ttvkit_label).values)} "
                    "runs)",
                    mib <= 2 * GIB,
                )
            )
    if not exact:
        scenario.notes.append(
            "The kernel refused to reset the peak (/proc/self/clear_refs): peaks are lifetime "
            "peaks and may include the imports."
        )
    return scenario


if __name__ == "__main__":
    child(*sys.argv[1:3])
