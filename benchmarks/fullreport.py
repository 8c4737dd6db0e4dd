"""R1: the full report of the demo configuration, against one unit of hand-written analysis.

The contender is what ``ttvkit report SOURCE`` computes for the demo's
configuration (``ttvkit/demo.toml``: six measures, the three levers' impact,
monthly cohorts, the journey, satisfaction; the bootstrap of the median
difference at its default of 200 resamples), through the public API:
``ttvkit.report.build_report(source, config)`` then ``render(report, "text")``,
in this process (no interpreter start-up).

* **At rest**: the source is ``ttvkit.scan(path)`` over the Parquet file of A1,
  at every size of ``--report-sizes``; interleaved with A1's single distribution
  (``time_to_value(scan(path), first milestone)``) on the same file, so the
  report's cost is also given in A1 units of the same run.
* **The command**: ``ttvkit report FILE --config demo.toml --format json`` over the
  same file, run as a user runs it (a new interpreter each time, so its start-up and
  imports count; the file read with ``event_ids="content"``, as the command does),
  interleaved with the two above; its peak RSS is noted per size.
* **SQLite**: the source is ttvkit's SQLite store file, up to 2e5 events;
  interleaved with the *unit*: ``pandas.read_sql`` + lifelines for the first
  milestone alone, on the naive SQLite file of the same log (A3's peer).

The report's first-milestone distribution is checked against the unit's and
A1's answers.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import analysis
import data
from analysis import Answer, Measured
from harness import Check, Context, Scenario, fmt_size

from ttvkit.results import TTVDistribution
from ttvkit.stores.sqlite import SQLiteStore

REPORT_REST = "ttvkit full report, scan(path)"
REPORT_COMMAND = "ttvkit report FILE, the command (a new process)"
REPORT_SQLITE = "ttvkit full report, SQLiteStore file"
UNIT = "unit: pandas.read_sql + lifelines, first milestone"
A1_UNIT = "A1: ttvkit time_to_value(scan(path))"

#: SQLite is measured up to this size (the target is at 2e5).
SQLITE_MAX = 200_000


@cache
def _config() -> Any:
    from ttvkit.cli import demo_config

    return demo_config()


def _first_milestone(report: Any) -> Answer:
    for section in report.sections:
        result = section.result
        if isinstance(result, TTVDistribution) and result.milestone.name == "first_report":
            return analysis._ttvkit_answer(result)
    raise AssertionError("the report has no distribution of first_report")


def _report(source: Any) -> Answer:
    from ttvkit.report import build_report, render

    report = build_report(source, _config())
    render(report, "text")
    return _first_milestone(report)


def report_rest(path: Path) -> Answer:
    scan = analysis.scan_or_unavailable()
    with scan(str(path)) as events:
        return _report(events)


#: The command's peak resident memory (bytes) per file, the largest of its runs.
COMMAND_PEAK: dict[Path, int] = {}

#: ``python -m ttvkit ARGS``, writing the process's own peak RSS (``VmHWM``, in bytes) to
#: the file named by ``TTVKIT_BENCH_PEAK`` as it exits. ``wait4``'s ``ru_maxrss`` is no
#: measure of the command: Linux counts in it the parent's resident memory at the
#: ``exec`` (2.7 GB for every size in a full run, the harness's own), while ``VmHWM``
#: is the new program's alone.
_WITH_PEAK = """
import os, runpy, sys
def peak():
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmHWM:"))
try:
    runpy.run_module("ttvkit", run_name="__main__", alter_sys=True)
finally:
    with open(os.environ["TTVKIT_BENCH_PEAK"], "w", encoding="ascii") as out:
        out.write(str(peak()))
"""


def _seconds_or_inf(value: Any) -> float:
    return math.inf if value is None else float(value)


def report_command(path: Path) -> Answer:
    """``ttvkit report FILE`` with the demo's configuration, in a new interpreter."""
    from ttvkit.cli import demo_config_text

    with tempfile.TemporaryDirectory(prefix="ttvkit-r1-") as folder:
        config = Path(folder, "ttv.toml")
        config.write_text(demo_config_text(), encoding="utf-8")
        output = Path(folder, "report.json")
        peak = Path(folder, "peak")
        command = [sys.executable, "-c", _WITH_PEAK, "report", str(path)]
        command += ["--config", str(config), "--format", "json", "--output", str(output)]
        finished = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "TTVKIT_BENCH_PEAK": str(peak)},
            check=False,
        )
        if finished.returncode != 0:
            raise RuntimeError(
                f"ttvkit {' '.join(command[3:])} exited {finished.returncode}: "
                f"{finished.stderr[-2000:]!r}"
            )
        COMMAND_PEAK[path] = max(COMMAND_PEAK.get(path, 0), int(peak.read_text("ascii")))
        report = json.loads(output.read_text(encoding="utf-8"))
    for section in report["sections"]:
        result = section["result"]
        if section["kind"] == "time_to_value" and result["milestone"]["name"] == "first_report":
            quartiles = result["percentiles_seconds"]
            return (
                result["n"],
                result["n_reached"],
                _seconds_or_inf(result["median_seconds"]),
                _seconds_or_inf(quartiles["0.25"]),
                _seconds_or_inf(quartiles["0.75"]),
            )
    raise AssertionError("the command's report has no distribution of first_report")


def report_sqlite(path: Path) -> Answer:
    with SQLiteStore(path) as store:
        return _report(store)


def _per_event(measured: Measured, label: str) -> float | None:
    median = measured.median(label)
    return None if median is None else median / measured.n


def run(ctx: Context) -> Scenario:
    scenario = Scenario(
        "R1",
        "The full demo report",
        "`build_report(source, demo config)` + `render(report, 'text')`, what `ttvkit report` "
        "does (every measure, the three levers, cohorts, journey, satisfaction; bootstrap 200), "
        "at rest over the Parquet file via `ttvkit.scan` (interleaved with A1's single "
        "distribution on the same file) and from ttvkit's SQLite store file up to 2e5 events "
        "(interleaved with one *unit*: `pandas.read_sql` + lifelines for the first milestone "
        "alone, on the naive SQLite file of the same log); seconds (lower is better).",
    )
    rest: dict[int, float] = {}
    sqlite: dict[int, float] = {}
    a1_ratio: dict[int, float] = {}
    command: dict[int, tuple[float, int]] = {}
    units: dict[int, float] = {}
    for size in ctx.report_sizes:
        path = data.scaled_parquet(size, ctx.seed, ctx.log)
        n = data.event_count(path)
        ctx.log(f"R1 {fmt_size(size)} at rest: {n:,} events")
        contenders: dict[str, Callable[[], Answer]] = {
            REPORT_REST: lambda p=path: report_rest(p),
            A1_UNIT: lambda p=path: analysis.ttvkit_scan(p),
            REPORT_COMMAND: lambda p=path: report_command(p),
        }
        measured = analysis.measure(
            ctx, "R1", size, n, contenders, REPORT_REST, where=", at rest (Parquet)"
        )
        analysis._report(scenario, measured)
        if (value := _per_event(measured, REPORT_REST)) is not None:
            rest[size] = value
        if (ratio := measured.ratio(A1_UNIT)) is not None:
            a1_ratio[size] = ratio
        if (ratio := measured.ratio(REPORT_COMMAND)) is not None and path in COMMAND_PEAK:
            command[size] = (1 / ratio, COMMAND_PEAK[path])
        if size <= SQLITE_MAX:
            ttv_path = data.scaled_ttvkit_sqlite(size, ctx.seed, ctx.log)
            naive_path = data.scaled_naive_sqlite(size, ctx.seed, ctx.log)
            ctx.log(f"R1 {fmt_size(size)} in SQLite")
            measured = analysis.measure(
                ctx,
                "R1",
                size,
                n,
                {
                    REPORT_SQLITE: lambda p=ttv_path: report_sqlite(p),
                    UNIT: lambda p=naive_path: analysis.pandas_sql(p),
                },
                REPORT_SQLITE,
                where=", SQLite",
            )
            analysis._report(scenario, measured)
            if (value := _per_event(measured, REPORT_SQLITE)) is not None:
                sqlite[size] = value
            if (ratio := measured.ratio(UNIT)) is not None:
                units[size] = ratio
    scenario.checks.append(
        analysis._flat_check("cost per event flat within 1.5× (at rest, 2e4 … 1e7)", rest)
    )
    if 200_000 in ctx.report_sizes:
        if 200_000 in units:
            scenario.checks.append(
                Check(
                    "≤10 units at 2e5 events in SQLite (unit: pandas.read_sql + lifelines, "
                    "first milestone)",
                    f"{units[200_000]:.1f} units",
                    units[200_000] <= 10,
                )
            )
        else:
            scenario.checks.append(
                Check("≤10 units at 2e5 events in SQLite", "not measured (see notes)", None)
            )
    if 10_000_000 in ctx.report_sizes:
        if 10_000_000 in a1_ratio:
            ratio = a1_ratio[10_000_000]
            scenario.checks.append(
                Check("≤25× A1's time at 1e7 events at rest", f"{ratio:.1f}× A1", ratio <= 25)
            )
        else:
            scenario.checks.append(
                Check("≤25× A1's time at 1e7 events at rest", "not measured (see notes)", None)
            )
    if a1_ratio:
        cells = ", ".join(f"{fmt_size(s)}: {r:.1f}×" for s, r in sorted(a1_ratio.items()))
        scenario.notes.append(f"The report at rest in A1 units of the same run: {cells}.")
    if command:
        cells = ", ".join(
            f"{fmt_size(s)}: {r:.2f}× the API, {peak / 2**20:,.0f} MiB"
            for s, (r, peak) in sorted(command.items())
        )
        scenario.notes.append(
            "`ttvkit report FILE` (the command, JSON to a file, in a new process) against the "
            f"report through the API on the same file, and the command's peak RSS: {cells}."
        )
    if units:
        cells = ", ".join(f"{fmt_size(s)}: {r:.1f}" for s, r in sorted(units.items()))
        scenario.notes.append(f"The report in SQLite in units: {cells}.")
    if sqlite:
        cells = ", ".join(f"{fmt_size(s)}: {v * 1e6:.2f} µs" for s, v in sorted(sqlite.items()))
        scenario.notes.append(f"The report in SQLite per event: {cells}.")
    return scenario
