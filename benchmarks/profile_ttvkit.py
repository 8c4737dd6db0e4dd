"""Where ttvkit's time goes in a scenario: cProfile of its path, top functions by own time.

    python benchmarks/profile_ttvkit.py T1 I1 A1 A2 A3 A4 R1 R1S K1 [--size 1e5] [--top 15]

A1 is ``time_to_value(scan(parquet))``, A2 the DuckDB store, A3 the SQLite
store, A4 the memory store, R1 the full demo report at rest (``scan``) and
R1S the same report from the SQLite store, each on the cached scaled log of
``--size`` events (see ``data.scaled_parquet``).

Prints to stdout; the findings in ``benchmarks/findings.md`` quote it. cProfile
slows Python code several times over (C code much less), so read the shares,
not the totals.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import analysis
import data
import fullreport
import km
import tracking
from harness import CACHE, users_for

from ttvkit import MemoryStore
from ttvkit.stats import kaplan_meier
from ttvkit.stores.sqlite import SQLiteStore
from ttvkit.tracker import Tracker, TrackerConfig


def _t1(size: int) -> Callable[[], object]:
    tracker = Tracker(tracking.NullStore(), config=TrackerConfig(max_queue_size=10**7))
    users = [f"u{i:07d}" for i in range(tracking.CALLS)]

    def work() -> None:
        for user in users:
            tracker.track(user, tracking.EVENT, properties={"plan": "pro", "channel": "ads"})

    del size
    return work


def _i1(size: int) -> Callable[[], object]:
    events = data.events(users_for(size), 1)
    directory = Path(tempfile.mkdtemp(dir=CACHE))

    def work() -> None:
        with SQLiteStore(directory / "profile.sqlite") as store:
            for i in range(0, len(events), 1000):
                store.append(events[i : i + 1000])
        shutil.rmtree(directory)

    return work


def _a1(size: int) -> Callable[[], object]:
    path = data.scaled_parquet(size, 1)
    return lambda: analysis.ttvkit_scan(path)


def _a2(size: int) -> Callable[[], object]:
    built = data.scaled_duckdb(size, 1)
    if built is None:
        raise SystemExit(f"A2: {data.duckdb_unavailable()}")
    return lambda: analysis.ttvkit_duckdb(built[0])


def _a3(size: int) -> Callable[[], object]:
    path = data.scaled_ttvkit_sqlite(size, 1)
    return lambda: analysis.ttvkit_sqlite(path)


def _a4(size: int) -> Callable[[], object]:
    store = MemoryStore(data.scaled_events(size, 1))
    return lambda: analysis.ttvkit_memory(store)


def _r1(size: int) -> Callable[[], object]:
    path = data.scaled_parquet(size, 1)
    return lambda: fullreport.report_rest(path)


def _r1s(size: int) -> Callable[[], object]:
    path = data.scaled_ttvkit_sqlite(size, 1)
    return lambda: fullreport.report_sqlite(path)


def _k1(size: int) -> Callable[[], object]:
    durations, observed = km._sample(1)
    lists = durations.tolist(), observed.tolist()
    del size
    return lambda: kaplan_meier(*lists)


PATHS = {
    "T1": _t1,
    "I1": _i1,
    "A1": _a1,
    "A2": _a2,
    "A3": _a3,
    "A4": _a4,
    "R1": _r1,
    "R1S": _r1s,
    "K1": _k1,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("scenarios", nargs="+", choices=sorted(PATHS))
    parser.add_argument("--size", type=lambda s: int(float(s)), default=100_000)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    for sid in args.scenarios:
        work = PATHS[sid](args.size)
        profiler = cProfile.Profile()
        profiler.runcall(work)
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
        print(f"==== {sid} (size {args.size:,}) ====")
        print(text.getvalue())


if __name__ == "__main__":
    main()
