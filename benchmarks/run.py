"""Run ttvkit's benchmarks against their peers and write the report.

    python benchmarks/run.py [--scenarios T1,I1,...] [--sizes 1e5,1e6] [--repeat 5]
                             [--output docs/benchmarks.md]

Scenarios (see BENCHMARKS.md): T1 tracking call, I1 SQLite ingest, I2
PostgreSQL ingest, A3 analysis from an SQLite file, A4 analysis from memory,
K1 Kaplan–Meier, S1 scaling (from A3 and A4), M1 peak memory. A1 and A2 need
a DuckDB path ttvkit does not have yet: the report says so, and A1 here times
the interim path (``read_parquet`` into memory) against pandas to size the gap.
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
import harness
import ingest
import km
import memory
import report
import tracking

ALL = ("T1", "I1", "I2", "A1", "A3", "A4", "K1", "S1", "M1")


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
        help="events in the log for A3, A4, S1, M1 (default 1e5,1e6; 1e7 is opt-in and long)",
    )
    parser.add_argument(
        "--ingest-sizes",
        type=_sizes,
        default=[100_000],
        help="events ingested per run in I1 and I2 (default 1e5)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per contender (default 5)")
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
    if args.repeat < 1:
        parser.error("--repeat must be at least 1 (the report asks for 5 or more)")
    return args


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

    ctx = harness.Context(args.sizes, args.repeat, args.postgres_url, args.seed, log)
    ingest_ctx = harness.Context(args.ingest_sizes, args.repeat, args.postgres_url, args.seed, log)
    started, clock = report.now(), time.perf_counter()
    facts = harness.machine()
    commit = harness.commit()  # at the start: other work may land during a long run
    per_event_sqlite: dict[int, float] = {}
    per_event_memory: dict[int, float] = {}
    steps: dict[str, Callable[[], harness.Scenario]] = {
        "T1": lambda: tracking.run(ctx),
        "I1": lambda: ingest.run_sqlite(ingest_ctx),
        "I2": lambda: ingest.run_postgres(ingest_ctx),
        "A1": lambda: analysis.run_parquet(ctx),
        "A3": lambda: analysis.run_sqlite(ctx, per_event_sqlite),
        "A4": lambda: analysis.run_memory(ctx, per_event_memory),
        "K1": lambda: km.run(ctx),
        "S1": lambda: analysis.scaling(per_event_sqlite, per_event_memory),
        "M1": lambda: memory.run(ctx),
    }
    scenarios = []
    for sid in args.scenarios:
        log(f"{sid} ...")
        start = time.perf_counter()
        scenario = steps[sid]()
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
    )
    _write(text, args.output, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
