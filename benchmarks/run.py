"""Run ttvkit's benchmarks against their peers and write the report.

    python benchmarks/run.py [--scenarios T1,I1,...] [--sizes 1e5,1e6] [--repeat 5]
                             [--output docs/benchmarks.md]

Scenarios (see BENCHMARKS.md): T1 tracking call, I1 SQLite ingest, I2
PostgreSQL ingest, A1 analysis of a Parquet file at rest, A2 from ttvkit's
DuckDB store, A3 from an SQLite file, A4 from memory, R1 the full demo report,
K1 Kaplan–Meier, S1 scaling of A1, M1 peak memory of A1. Contenders that need
an API this build lacks are reported as "not available in this build".

Sizes are events (about ten per user, string user ids). The logs are generated
once, in bounded memory, and cached in ``benchmarks/.cache/``; ``--prepare``
builds every file the chosen scenarios and sizes need without measuring
anything, so that a measured run does not include generating data.

The issue-8 table::

    python benchmarks/run.py --scenarios A1,A2,A3,A4,R1,S1,M1 --sizes 1e7 \
        --scale-sizes 1e5,1e6,1e7,1e8 --report-sizes 2e4,2e5,2e6,1e7 --m1-sizes 1e7,1e8 \
        --output docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import analysis
import data
import fullreport
import harness
import ingest
import km
import memory
import report
import tracking

ALL = ("T1", "I1", "I2", "A1", "A2", "A3", "A4", "R1", "K1", "S1", "M1")


def _sizes(text: str) -> list[int]:
    sizes = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r} is not a size like 1e5") from None
        if not value.is_integer() or value < 1000:
            raise argparse.ArgumentTypeError(f"{part!r}: sizes are whole numbers ≥ 1000")
        sizes.append(int(value))
    return sorted(set(sizes))


def _scenarios(text: str) -> list[str]:
    chosen = [part.strip().upper() for part in text.split(",") if part.strip()]
    unknown = [c for c in chosen if c not in ALL]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown scenario {', '.join(unknown)}; choose from {', '.join(ALL)}"
        )
    return [s for s in ALL if s in chosen]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scenarios", type=_scenarios, default=list(ALL), help="default: all")
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=[100_000, 1_000_000],
        help="events in the log for A1, A2, A3 (default 1e5,1e6; the issue's size is 1e7)",
    )
    parser.add_argument(
        "--memory-sizes",
        type=_sizes,
        default=[1_000_000],
        help="events in the memory store for A4 (default 1e6)",
    )
    parser.add_argument(
        "--scale-sizes",
        type=_sizes,
        help="events for S1, the scaling of A1 (default: --sizes; the issue's 1e5,1e6,1e7,1e8)",
    )
    parser.add_argument(
        "--report-sizes",
        type=_sizes,
        default=[20_000, 200_000],
        help="events for R1, the full report (default 2e4,2e5; the issue's 2e4,2e5,2e6,1e7)",
    )
    parser.add_argument(
        "--m1-sizes",
        type=_sizes,
        help="events for M1, peak memory of A1 (default: --sizes; the issue's 1e7,1e8)",
    )
    parser.add_argument(
        "--ingest-sizes",
        type=_sizes,
        default=[100_000],
        help="events ingested per run in I1 and I2 (default 1e5)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per contender (default 5)")
    parser.add_argument(
        "--repeat-huge",
        type=int,
        default=3,
        help=f"runs per contender from {harness.HUGE:,} events on (default 3)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=300.0,
        help="seconds for the timed rounds of one table: fewer rounds when one takes longer "
        "(default 300; said in the report)",
    )
    parser.add_argument(
        "--max-run",
        type=float,
        default=600.0,
        help="do not start a contender projected (from a smaller size) to take longer than "
        "this many seconds per run (default 600; said in the report)",
    )
    parser.add_argument(
        "--prepare",
        action="store_true",
        help="only build (and cache) the data files the chosen scenarios and sizes need",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic log")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TTVKIT_POSTGRES_URL", harness.DEFAULT_POSTGRES_URL),
        help="server for I2 (a scratch schema is created and dropped)",
    )
    parser.add_argument("--output", help="write the Markdown report here (default: stdout)")
    parser.add_argument(
        "--render",
        metavar="JSON",
        help="measure nothing: render the report of an earlier run's JSON "
        "(benchmarks/.cache/last-run.json), e.g. after editing benchmarks/findings.md",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.repeat_huge < 1:
        parser.error("--repeat and --repeat-huge must be at least 1 (the report asks for 5)")
    if args.scale_sizes is None:
        args.scale_sizes = args.sizes
    if args.m1_sizes is None:
        args.m1_sizes = args.sizes
    return args


def prepare(args: argparse.Namespace, log: Callable[[str], None]) -> None:
    """Build every cached file the chosen scenarios need, so no measured run generates data."""
    chosen = set(args.scenarios)
    parquet: set[int] = set()
    if chosen & {"A1", "A2", "A3"}:
        parquet.update(args.sizes)
    if chosen & {"S1"}:
        parquet.update(args.scale_sizes)
    if chosen & {"M1"}:
        parquet.update(args.m1_sizes)
    if chosen & {"R1"}:
        parquet.update(args.report_sizes)
    if chosen & {"A4"}:
        parquet.update(args.memory_sizes)
    for size in sorted(parquet):
        data.scaled_parquet(size, args.seed, log)
    if "A2" in chosen:
        for size in args.sizes:
            if data.scaled_duckdb(size, args.seed, log) is None:
                log(f"A2: {data.duckdb_unavailable()}")
                break
    sqlite = set(args.sizes) if "A3" in chosen else set()
    if "R1" in chosen:
        sqlite.update(s for s in args.report_sizes if s <= fullreport.SQLITE_MAX)
    for size in sorted(sqlite):
        log(f"SQLite files at {harness.fmt_size(size)}")
        data.scaled_naive_sqlite(size, args.seed, log)
        data.scaled_ttvkit_sqlite(size, args.seed, log)
    log("prepared")


def _write(text: str, output: str | None, log: Callable[[str], None]) -> None:
    if output:
        with open(output, "w", encoding="utf-8") as out:
            out.write(text)
        log(f"wrote {output}")
    else:
        print(text)


def _render_again(path: str, output: str | None, log: Callable[[str], None]) -> int:
    scenarios, meta = report.load_json(Path(path))
    text = report.render(
        scenarios,
        command=str(meta["command"]),
        started=datetime.fromisoformat(str(meta["started"])),
        seconds=float(meta["seconds"]),  # type: ignore[arg-type]
        machine=meta["machine"],  # type: ignore[arg-type]
        versions=meta["versions"],  # type: ignore[arg-type]
        commit=str(meta["commit"]),
        repeat=int(meta["repeat"]),  # type: ignore[call-overload]
        repeat_huge=int(meta.get("repeat_huge", meta["repeat"])),  # type: ignore[call-overload]
    )
    _write(text, output, log)
    return 0


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    log = _log
    if args.render:
        return _render_again(args.render, args.output, log)
    # lifelines' percentile() warns that it reads its own step function: it is what we want.
    warnings.filterwarnings("ignore", module="lifelines")

    if args.prepare:
        prepare(args, log)
        return 0
    ctx = harness.Context(
        args.sizes,
        args.repeat,
        args.postgres_url,
        args.seed,
        log,
        memory_sizes=args.memory_sizes,
        scale_sizes=args.scale_sizes,
        report_sizes=args.report_sizes,
        m1_sizes=args.m1_sizes,
        repeat_huge=args.repeat_huge,
        budget=args.budget,
        max_run=args.max_run,
    )
    ingest_ctx = harness.Context(args.ingest_sizes, args.repeat, args.postgres_url, args.seed, log)
    started, clock = report.now(), time.perf_counter()
    facts = harness.machine()
    commit = harness.commit()  # at the start: other work may land during a long run
    per_event: dict[int, float] = {}
    a1: dict[int, analysis.Measured] = {}
    steps: dict[str, Callable[[], harness.Scenario]] = {
        "T1": lambda: tracking.run(ctx),
        "I1": lambda: ingest.run_sqlite(ingest_ctx),
        "I2": lambda: ingest.run_postgres(ingest_ctx),
        "A1": lambda: analysis.run_parquet(ctx, per_event, a1),
        "A2": lambda: analysis.run_duckdb(ctx),
        "A3": lambda: analysis.run_sqlite(ctx),
        "A4": lambda: analysis.run_memory(ctx),
        "R1": lambda: fullreport.run(ctx),
        "K1": lambda: km.run(ctx),
        "S1": lambda: analysis.scaling(ctx, per_event, a1),
        "M1": lambda: memory.run(ctx),
    }
    scenarios = []
    for sid in args.scenarios:
        log(f"{sid} ...")
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        start = time.perf_counter()
        scenario = steps[sid]()
        scenario.notes.append(f"Load average (1, 5, 15 min) when {sid} started: {load}.")
        scenario.seconds = time.perf_counter() - start
        log(f"{sid} done in {scenario.seconds:.0f} s")
        scenarios.append(scenario)
    seconds = time.perf_counter() - clock
    facts["load average at end (1, 5, 15 min)"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    meta = {
        "command": harness.command_line(),
        "started": started.isoformat(),
        "seconds": seconds,
        "machine": facts,
        "versions": harness.versions(),
        "commit": commit,
        "repeat": args.repeat,
        "repeat_huge": args.repeat_huge,
    }
    report.dump_json(harness.CACHE / "last-run.json", scenarios, meta)
    text = report.render(
        scenarios,
        command=str(meta["command"]),
        started=started,
        seconds=seconds,
        machine=facts,
        versions=harness.versions(),
        commit=str(meta["commit"]),
        repeat=args.repeat,
        repeat_huge=args.repeat_huge,
    )
    _write(text, args.output, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
