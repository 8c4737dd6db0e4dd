"""A1, A2, A3, A4 and S1: the time-to-first-report distribution, at rest, in stores, in memory.

The question every contender answers is the first milestone of the demo
(``ttvkit/demo.toml``): for every user who signed up, the time from their first
``signup`` to their first ``report_created`` (a report before the signup counts
as duration 0: ``before_start="zero"``), censored at the latest event of the
log for users who have not reported yet; then the Kaplan–Meier curve, its
median and the times by which 25 % and 75 % had reported. The clock runs from
opening the data to having those numbers. User ids are strings (``"u0000123"``).

Every contender's answer (users, reporters, median, quartiles) is compared
before the figures are kept: a contender that disagrees stops the run
(:func:`check_answers`), so a ratio never compares different questions.

* A1, a Parquet file at rest: ``time_to_value(ttvkit.scan(path))`` and
  ``time_to_value(path)`` against pandas ``read_parquet`` + groupby + lifelines,
  and hand-written DuckDB SQL over the file + ``scipy.stats.ecdf``.
* A2, the log in ttvkit's DuckDB store: ``time_to_value(open_store("duckdb:///…"))``
  against hand-written DuckDB SQL + scipy on the store's own table, in the same file.
* A3, the log in ttvkit's SQLite store: against a naive hand-written SQLite
  query + scipy (one text table, one index) and ``pandas.read_sql`` + lifelines.
* A4, the log in ttvkit's memory store against pandas + lifelines from a DataFrame.
* S1: A1's ttvkit time per event across sizes.

A contender that needs an API this build of ttvkit lacks (``ttvkit.scan``, the
DuckDB store) is reported as "not available in this build" with the error it
raised, instead of stopping the run.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import data
from harness import (
    Check,
    Context,
    Sample,
    Scenario,
    Series,
    Table,
    fmt_size,
    interleave,
)

import ttvkit
from ttvkit import MemoryStore, Milestone, TTVDistribution, event, time_to_value
from ttvkit.datasets import REPORT_CREATED, SIGNUP
from ttvkit.errors import TTVError
from ttvkit.stores.sqlite import SQLiteStore

MILESTONE = Milestone("first_report", event(REPORT_CREATED), start=event(SIGNUP))

# A1
TTVKIT_SCAN = "ttvkit time_to_value(scan(path))"
TTVKIT_PATH = "ttvkit time_to_value(path)"
PANDAS_PARQUET = "pandas.read_parquet + lifelines"
DUCKDB_PARQUET = "DuckDB SQL over the file + scipy ecdf"
# A2
TTVKIT_DUCKDB = "ttvkit time_to_value(), DuckDB store"
DUCKDB_TABLE = "DuckDB SQL on the store's table + scipy ecdf"
# A3
TTVKIT_SQLITE = "ttvkit time_to_value(), SQLiteStore file"
NAIVE = "naive SQLite query + scipy ecdf"
PANDAS_SQL = "pandas.read_sql + lifelines"
# A4
TTVKIT_MEMORY = "ttvkit time_to_value(), MemoryStore"
PANDAS_FRAME = "pandas DataFrame + lifelines"

#: Above this many events pandas + lifelines is not run: its frame of string ids would not
#: fit in this machine's memory next to everything else (1e8 string ids alone are several GiB).
PANDAS_MAX_EVENTS = 20_000_000

NAIVE_QUERY = """
SELECT (julianday(COALESCE(r.t1, :as_of)) - julianday(s.t0)) * 86400.0, r.t1 IS NOT NULL
FROM (SELECT user_id, MIN(ts) AS t0 FROM events WHERE name = :start GROUP BY user_id) AS s
LEFT JOIN (SELECT user_id, MIN(ts) AS t1 FROM events WHERE name = :value GROUP BY user_id) AS r
    ON r.user_id = s.user_id
WHERE s.t0 <= :as_of
"""

# One pass over the events: the first signup and the first report per user, the latest
# event of the log; durations in seconds, a report before the signup counts as 0.
DUCKDB_QUERY = """
WITH firsts AS (
    SELECT {user} AS customer,
           min({ts}) FILTER (WHERE {name} = $start) AS t0,
           min({ts}) FILTER (WHERE {name} = $value) AS t1
    FROM {source}
    WHERE {name} IN ($start, $value)
    GROUP BY {user}
), latest AS (SELECT max({ts}) AS as_of FROM {source})
SELECT greatest({micros}(coalesce(t1, as_of)) - {micros}(t0), 0) / 1e6 AS seconds,
       t1 IS NOT NULL AS reached
FROM firsts, latest
WHERE t0 IS NOT NULL AND t0 <= as_of
"""

#: What every contender reports: users, reporters, median, 25 % and 75 % reached (seconds).
Answer = tuple[int, int, float, float, float]


class Unavailable(Exception):
    """A contender needs an API this build of ttvkit does not have."""


def _seconds(value: Any) -> float:
    return math.inf if value is None else float(value.total_seconds())


def _ttvkit_answer(dist: TTVDistribution) -> Answer:
    return (
        dist.n,
        dist.n_reached,
        _seconds(dist.median),
        _seconds(dist.percentile(0.25)),
        _seconds(dist.percentile(0.75)),
    )


def check_answers(answers: Mapping[str, Answer], where: str) -> None:
    """Stop the run when contenders disagree on users, reporters, median or quartiles."""
    items = list(answers.items())
    if len(items) < 2:
        return
    first_name, first = items[0]
    for name, answer in items[1:]:
        same = answer[:2] == first[:2] and all(
            math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-3)
            for a, b in zip(answer[2:], first[2:], strict=True)
        )
        if not same:
            raise AssertionError(
                f"{where}: {name} answered {answer}, {first_name} answered {first}: "
                "the contenders do not compute the same thing"
            )


# --------------------------------------------------------------------------- ttvkit


def scan_or_unavailable() -> Callable[..., Any]:
    scan = getattr(ttvkit, "scan", None)
    if scan is None:
        raise Unavailable("ttvkit.scan() does not exist in this build")
    return scan  # type: ignore[no-any-return]


def ttvkit_scan(path: Path) -> Answer:
    scan = scan_or_unavailable()
    with scan(str(path)) as events:
        return _ttvkit_answer(time_to_value(events, MILESTONE))


def ttvkit_path(path: Path) -> Answer:
    return _ttvkit_answer(time_to_value(str(path), MILESTONE))


def duckdb_url(path: Path) -> str:
    return f"duckdb:///{path}"


def ttvkit_duckdb(path: Path) -> Answer:
    with ttvkit.open_store(duckdb_url(path)) as store:
        return _ttvkit_answer(time_to_value(store, MILESTONE))


def ttvkit_sqlite(path: Path) -> Answer:
    with SQLiteStore(path) as store:
        return _ttvkit_answer(time_to_value(store, MILESTONE))


def ttvkit_memory(store: MemoryStore) -> Answer:
    return _ttvkit_answer(time_to_value(store, MILESTONE))


# --------------------------------------------------------------------------- peers


def _scipy_answer(durations: Any, reached: Any) -> Answer:
    import numpy as np
    from scipy.stats import CensoredData, ecdf

    durations = np.asarray(durations, dtype=float)
    reached = np.asarray(reached, dtype=bool)
    result = ecdf(CensoredData(uncensored=durations[reached], right=durations[~reached]))
    times, survival = result.sf.quantiles, result.sf.probabilities

    def at(level: float) -> float:
        below = np.nonzero(survival <= level + 1e-12)[0]
        return float(times[below[0]]) if below.size else math.inf

    return (len(durations), int(reached.sum()), at(0.5), at(0.75), at(0.25))


def naive_scipy(path: Path) -> Answer:
    import numpy as np

    db = sqlite3.connect(path)
    try:
        (as_of,) = db.execute("SELECT MAX(ts) FROM events").fetchone()
        rows = db.execute(
            NAIVE_QUERY, {"as_of": as_of, "start": SIGNUP, "value": REPORT_CREATED}
        ).fetchall()
    finally:
        db.close()
    table = np.array(rows, dtype=float)
    return _scipy_answer(np.clip(table[:, 0], 0, None), table[:, 1])


def _duckdb_answer(connection: Any, source: str, columns: Mapping[str, str]) -> Answer:
    query = DUCKDB_QUERY.format(source=source, **columns)
    result = connection.execute(query, {"start": SIGNUP, "value": REPORT_CREATED}).fetchnumpy()
    return _scipy_answer(result["seconds"], result["reached"])


# ``micros``: the function turning the time column into integer microseconds ("" when it
# already holds them).
PARQUET_COLUMNS = {"user": "user_id", "name": "name", "ts": '"timestamp"', "micros": "epoch_us"}


def duckdb_parquet(path: Path) -> Answer:
    import duckdb

    with duckdb.connect() as connection:
        return _duckdb_answer(connection, f"read_parquet('{path}')", PARQUET_COLUMNS)


@dataclass(frozen=True)
class DuckDBTable:
    """Where the events sit in a DuckDB file, for the hand-written peer of A2."""

    table: str
    columns: Mapping[str, str]


def duckdb_table(path: Path, layout: DuckDBTable) -> Answer:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as connection:
        return _duckdb_answer(connection, layout.table, layout.columns)


def _lifelines_answer(frame: Any, as_of: Any) -> Answer:
    from lifelines import KaplanMeierFitter

    starts = frame.loc[frame["name"] == SIGNUP].groupby("user_id")["ts"].min()
    starts = starts[starts <= as_of]
    values = frame.loc[frame["name"] == REPORT_CREATED].groupby("user_id")["ts"].min()
    ends = values.reindex(starts.index)
    reached = ends.notna() & (ends <= as_of)
    durations = (ends.where(reached, as_of) - starts).dt.total_seconds().clip(lower=0)
    km = KaplanMeierFitter().fit(durations, event_observed=reached)
    return (
        len(starts),
        int(reached.sum()),
        float(km.median_survival_time_),
        float(km.percentile(0.75)),
        float(km.percentile(0.25)),
    )


def pandas_sql(path: Path) -> Answer:
    import pandas as pd

    db = sqlite3.connect(path)
    try:
        as_of = pd.Timestamp(db.execute("SELECT MAX(ts) FROM events").fetchone()[0])
        frame = pd.read_sql(
            "SELECT user_id, name, ts FROM events WHERE name IN (?, ?)",
            db,
            params=(SIGNUP, REPORT_CREATED),
        )
    finally:
        db.close()
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True, format="ISO8601")
    return _lifelines_answer(frame, as_of)


def pandas_parquet(path: Path) -> Answer:
    import pandas as pd

    frame = pd.read_parquet(path, columns=["user_id", "name", "timestamp"])
    frame = frame.rename(columns={"timestamp": "ts"})
    return _lifelines_answer(frame, frame["ts"].max())


def pandas_frame(frame: Any) -> Answer:
    return _lifelines_answer(frame, frame["ts"].max())


#: The file-at-rest contenders M1 runs in a fresh process: name -> (imports, work on a path).
FILE_CONTENDERS: dict[str, tuple[tuple[str, ...], Callable[[Path], Answer]]] = {
    TTVKIT_SCAN: ((), ttvkit_scan),
    DUCKDB_PARQUET: (("duckdb", "numpy", "scipy.stats"), duckdb_parquet),
    PANDAS_PARQUET: (("pandas", "lifelines", "pyarrow.parquet"), pandas_parquet),
}


# --------------------------------------------------------------------------- measuring


def _clocked(
    work: Callable[[], Answer], answers: dict[str, Answer], name: str
) -> Callable[[], Sample]:
    """A contender that times *work* and keeps its answer under *name*."""

    def run() -> Sample:
        start = time.perf_counter()
        answer = work()
        seconds = time.perf_counter() - start
        answers[name] = answer
        return {"seconds": seconds}

    return run


def unavailable_reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"not available in this build ({type(exc).__name__}: {text})"


@dataclass
class Measured:
    """One size of one scenario: the table, the answers, and who could not run."""

    size: int
    n: int
    table: Table | None
    answers: dict[str, Answer]
    missing: dict[str, str]  # contender -> why it did not run
    notes: list[str] = field(default_factory=list)

    def median(self, label: str) -> float | None:
        if self.table is None or label in self.missing:
            return None
        try:
            return self.table.get(label).median
        except KeyError:
            return None

    def ratio(self, label: str) -> float | None:
        if self.table is None or self.median(self.table.reference) is None:
            return None
        if self.median(label) is None:
            return None
        return self.table.ratio(label)


#: Seconds per event of every contender at every size measured so far in this run, so that
#: a contender whose run at a bigger size would take too long is not started (see measure()).
COSTS: dict[str, dict[int, float]] = {}


def projected_seconds(label: str, size: int, n: int) -> float | None:
    """A run's time at *n* events from the label's cost per event at the largest smaller
    size measured in this run (linear: optimistic for a cost that grows with size)."""
    smaller = {s: v for s, v in COSTS.get(label, {}).items() if s < size}
    if not smaller:
        return None
    return smaller[max(smaller)] * n


def rounds_within(ctx: Context, planned: int, round_seconds: float) -> int:
    """Rounds to run after the warm-up: *planned*, or fewer when they would not fit in the
    time budget of one table; 0 when even one would not (the warm-up run is then the
    only one, and is reported as such)."""
    if round_seconds <= 0 or planned * round_seconds <= ctx.budget:
        return planned
    return min(planned, int(ctx.budget // round_seconds))


def measure(
    ctx: Context,
    sid: str,
    size: int,
    n: int,
    contenders: Mapping[str, Callable[[], Answer]],
    reference: str,
    *,
    repeat: int | None = None,
    where: str = "",
) -> Measured:
    """Warm every contender up once (its answer checked), then time the available ones
    interleaved. A contender whose warm-up raises :class:`Unavailable`, a ``TTVError`` or
    an ``ImportError`` is left out and reported as not available; one whose run would take
    longer than ``ctx.max_run`` seconds (projected from a smaller size) is not started; the
    rounds are cut when they would not fit in ``ctx.budget`` (both said in the report)."""
    answers: dict[str, Answer] = {}
    missing: dict[str, str] = {}
    runnable: dict[str, Callable[[], Sample]] = {}
    round_seconds = 0.0
    warm: dict[str, float] = {}
    for name, work in contenders.items():
        projected = projected_seconds(name, size, n)
        if projected is not None and projected > ctx.max_run:
            missing[name] = (
                f"not run: about {projected:,.0f} s per run, projected from its cost per event "
                f"at a smaller size, over this run's limit of {ctx.max_run:,.0f} s per run"
            )
            ctx.log(f"{sid} {fmt_size(size)}: {name}: {missing[name]}")
            continue
        try:
            start = time.perf_counter()
            answers[name] = work()
            warm[name] = time.perf_counter() - start
            round_seconds += warm[name]
        except (Unavailable, TTVError, ImportError) as exc:
            missing[name] = unavailable_reason(exc)
            ctx.log(f"{sid} {fmt_size(size)}: {name}: {missing[name]}")
            continue
        runnable[name] = _clocked(work, answers, name)
    check_answers(answers, f"{sid} at {fmt_size(size)}")
    planned = repeat if repeat is not None else ctx.repeat_for(size)
    rounds = rounds_within(ctx, planned, round_seconds)
    if rounds < planned:
        ctx.log(f"{sid} {fmt_size(size)}: {rounds} rounds of {round_seconds:.0f} s fit the budget")
    if rounds == 0:  # too slow to repeat: the warm-up is the one run
        results = {name: {"seconds": [warm[name]]} for name in runnable}
    else:
        results = interleave(runnable, rounds, warmup=False) if runnable else {}
    check_answers(answers, f"{sid} at {fmt_size(size)}")
    table = None
    if results:
        table = Table(
            f"{fmt_size(size)} events ({n:,}){where}, seconds",
            [
                Series(name, metrics["seconds"], "s", name.startswith("ttvkit"))
                for name, metrics in results.items()
            ],
            reference,
        )
        for series in table.series:
            COSTS.setdefault(series.label, {})[size] = series.median / n
    measured = Measured(size, n, table, answers, missing)
    if rounds < planned:
        runs = (
            "one run per contender (the first, with no warm-up before it)"
            if rounds == 0
            else f"{rounds} timed run{'s' if rounds > 1 else ''} per contender"
        )
        measured.notes.append(
            f"{runs} at {fmt_size(size)} instead of {planned}: one round took about "
            f"{round_seconds:.0f} s and the run's budget per table is {ctx.budget:.0f} s."
        )
    return measured


def describe_answers(answers: Mapping[str, Answer], size: int) -> str:
    if not answers:
        return f"No contender of this table could run at {fmt_size(size)}."
    (n, reached, median, q25, q75) = next(iter(answers.values()))
    return (
        f"Every contender at {fmt_size(size)} ({', '.join(answers)}) found the same answer "
        f"(checked by the harness): {n:,} users, {reached:,} reported, median "
        f"{median / 86400:.4f} d, 25 % by {q25 / 86400:.4f} d, 75 % by {q75 / 86400:.4f} d."
    )


def _report(scenario: Scenario, measured: Measured) -> None:
    if measured.table is not None:
        scenario.tables.append(measured.table)
    for name, why in measured.missing.items():
        scenario.notes.append(f"{name} at {fmt_size(measured.size)}: {why}.")
    scenario.notes.extend(measured.notes)
    scenario.notes.append(describe_answers(measured.answers, measured.size))


def _time_check(
    target: str,
    measured: Measured,
    reference: str,
    peer: str,
    *,
    at_most: float | None = None,
    faster_by: float | None = None,
) -> Check:
    """A ratio target; not measured when either side could not run."""
    label = f"{target} ({fmt_size(measured.size)})"
    if measured.median(reference) is None:
        why = measured.missing.get(reference, "not run")
        return Check(label, f"{reference}: {why}", None)
    if measured.median(peer) is None:
        why = measured.missing.get(peer, "not run")
        return Check(label, f"{peer}: {why}", None)
    ratio = measured.median(reference) / measured.median(peer)  # type: ignore[operator]
    if faster_by is not None:
        return Check(label, f"{1 / ratio:.2f}× faster", 1 / ratio >= faster_by)
    assert at_most is not None
    return Check(label, f"{ratio:.2f}× its time", ratio <= at_most)


# --------------------------------------------------------------------------- A1 and S1


def a1_contenders(
    path: Path, size: int, *, with_path: bool = True
) -> dict[str, Callable[[], Answer]]:
    contenders: dict[str, Callable[[], Answer]] = {TTVKIT_SCAN: lambda: ttvkit_scan(path)}
    if with_path:
        contenders[TTVKIT_PATH] = lambda: ttvkit_path(path)
    contenders[DUCKDB_PARQUET] = lambda: duckdb_parquet(path)
    if size <= PANDAS_MAX_EVENTS:
        contenders[PANDAS_PARQUET] = lambda: pandas_parquet(path)
    return contenders


def run_parquet(ctx: Context, per_event: dict[int, float], a1: dict[int, Measured]) -> Scenario:
    scenario = Scenario(
        "A1",
        "Time to first report from a Parquet file at rest",
        "The log at rest in one Parquet file (the layout of `ttvkit.io.write_parquet`, one row "
        "group per 100k users; the OS page cache warm after one discarded warm-up run each); "
        "seconds from naming the file to the curve, median and quartiles (lower is better). "
        "ttvkit through its public API: `time_to_value(ttvkit.scan(path), m)` and "
        "`time_to_value(path, m)`. Peers: pandas `read_parquet` (three columns) + groupby + "
        "lifelines `KaplanMeierFitter`; hand-written DuckDB SQL over the file (one GROUP BY "
        "user with a FILTER per condition) + `scipy.stats.ecdf` on censored data.",
    )
    for size in ctx.sizes:
        path = data.scaled_parquet(size, ctx.seed, ctx.log)
        n = data.event_count(path)
        ctx.log(f"A1 {fmt_size(size)}: {n:,} events")
        measured = measure(ctx, "A1", size, n, a1_contenders(path, size), TTVKIT_SCAN)
        a1[size] = measured
        _report(scenario, measured)
        median = measured.median(TTVKIT_SCAN)
        if median is not None:
            per_event[size] = median / n
        if size > PANDAS_MAX_EVENTS:
            scenario.notes.append(_pandas_skipped(size))
        else:
            scenario.checks.append(
                _time_check(
                    "≥3× faster than pandas + lifelines",
                    measured,
                    TTVKIT_SCAN,
                    PANDAS_PARQUET,
                    faster_by=3,
                )
            )
        scenario.checks.append(
            _time_check(
                "≤1.2× hand-written DuckDB SQL + scipy",
                measured,
                TTVKIT_SCAN,
                DUCKDB_PARQUET,
                at_most=1.2,
            )
        )
    return scenario


def _pandas_skipped(size: int) -> str:
    return (
        f"pandas + lifelines is not run at {fmt_size(size)}: a frame of {fmt_size(size)} rows "
        "with string user ids and names would not fit in this machine's memory next to the "
        f"other jobs (it is run up to {fmt_size(PANDAS_MAX_EVENTS)} events)."
    )


def scaling(ctx: Context, per_event: dict[int, float], a1: dict[int, Measured]) -> Scenario:
    scenario = Scenario(
        "S1",
        "Scaling of A1: time per event",
        "A1 (`time_to_value(ttvkit.scan(path), m)` over the Parquet file) across sizes, with "
        "the hand-written DuckDB path as the peer at every size and pandas + lifelines where it "
        "fits in memory; µs per event = the median time ÷ the events (flat is the goal). "
        "Sizes also in A1 reuse A1's runs.",
    )
    peer_per_event: dict[int, float] = {}
    for size in ctx.scale_sizes:
        measured = a1.get(size)
        if measured is None:
            path = data.scaled_parquet(size, ctx.seed, ctx.log)
            n = data.event_count(path)
            ctx.log(f"S1 {fmt_size(size)}: {n:,} events")
            measured = measure(
                ctx, "S1", size, n, a1_contenders(path, size, with_path=False), TTVKIT_SCAN
            )
            _report(scenario, measured)
            if size > PANDAS_MAX_EVENTS:
                scenario.notes.append(_pandas_skipped(size))
            median = measured.median(TTVKIT_SCAN)
            if median is not None:
                per_event[size] = median / measured.n
        peer = measured.median(DUCKDB_PARQUET)
        if peer is not None:
            peer_per_event[size] = peer / measured.n
    scenario.checks.append(_flat_check("time per event flat within 1.5× (A1, ttvkit)", per_event))
    if len(peer_per_event) >= 2:
        cells = ", ".join(
            f"{fmt_size(s)}: {v * 1e6:.3f} µs" for s, v in sorted(peer_per_event.items())
        )
        spread = max(peer_per_event.values()) / min(peer_per_event.values())
        scenario.notes.append(
            f"For comparison, the hand-written DuckDB SQL + scipy per event: {cells}; largest ÷ "
            f"smallest {spread:.2f}×."
        )
    return scenario


def _flat_check(target: str, per_event: Mapping[int, float]) -> Check:
    if len(per_event) < 2:
        return Check(target, "needs two sizes measured", None)
    cells = ", ".join(f"{fmt_size(s)}: {v * 1e6:.3f} µs" for s, v in sorted(per_event.items()))
    spread = max(per_event.values()) / min(per_event.values())
    return Check(target, f"{cells}; spread {spread:.2f}×", spread <= 1.5)


# --------------------------------------------------------------------------- A2


def run_duckdb(ctx: Context) -> Scenario:
    scenario = Scenario(
        "A2",
        "Time to first report from ttvkit's DuckDB store",
        "The log already in a DuckDB database file written by ttvkit's DuckDB store "
        "(`open_store('duckdb:///…')`, the file's pages warm after one discarded warm-up run "
        "each); seconds from opening the store to the curve (lower is better). The peer is "
        "hand-written DuckDB SQL (the query of A1) + `scipy.stats.ecdf` on the store's own "
        "table in the same file, opened read-only.",
    )
    for size in ctx.sizes:
        built = data.scaled_duckdb(size, ctx.seed, ctx.log)
        if built is None:
            why = data.duckdb_unavailable()
            scenario.checks.append(
                Check(f"≤1.2× hand-written DuckDB SQL ({fmt_size(size)})", why, None)
            )
            scenario.notes.append(f"{TTVKIT_DUCKDB} at {fmt_size(size)}: {why}.")
            continue
        path, layout, n = built
        ctx.log(f"A2 {fmt_size(size)}: {n:,} events")
        measured = measure(
            ctx,
            "A2",
            size,
            n,
            {
                TTVKIT_DUCKDB: lambda p=path: ttvkit_duckdb(p),
                DUCKDB_TABLE: lambda p=path, t=layout: duckdb_table(p, t),
            },
            TTVKIT_DUCKDB,
        )
        _report(scenario, measured)
        scenario.checks.append(
            _time_check(
                "≤1.2× hand-written DuckDB SQL on the same table",
                measured,
                TTVKIT_DUCKDB,
                DUCKDB_TABLE,
                at_most=1.2,
            )
        )
    return scenario


# --------------------------------------------------------------------------- A3


def run_sqlite(ctx: Context) -> Scenario:
    scenario = Scenario(
        "A3",
        "Time to first report from an SQLite file",
        "The log at rest in SQLite files (the OS page cache warm: one discarded warm-up run "
        "each); seconds from opening the file to the curve, median and quartiles (lower is "
        "better). ttvkit reads its own store's file (interned names, integer microsecond "
        "timestamps, its indexes); the naive query and pandas read one table with text columns "
        "and one index on `(name, user_id, ts)`.",
    )
    for size in ctx.sizes:
        ttv_path = data.scaled_ttvkit_sqlite(size, ctx.seed, ctx.log)
        naive_path = data.scaled_naive_sqlite(size, ctx.seed, ctx.log)
        n = data.event_count(data.scaled_parquet(size, ctx.seed))
        ctx.log(f"A3 {fmt_size(size)}: {n:,} events")
        contenders: dict[str, Callable[[], Answer]] = {
            TTVKIT_SQLITE: lambda p=ttv_path: ttvkit_sqlite(p),
            NAIVE: lambda p=naive_path: naive_scipy(p),
        }
        if size <= PANDAS_MAX_EVENTS:
            contenders[PANDAS_SQL] = lambda p=naive_path: pandas_sql(p)
        measured = measure(ctx, "A3", size, n, contenders, TTVKIT_SQLITE)
        _report(scenario, measured)
        scenario.checks.append(
            _time_check("≤0.6× the naive query's time", measured, TTVKIT_SQLITE, NAIVE, at_most=0.6)
        )
        if size <= PANDAS_MAX_EVENTS:
            scenario.checks.append(
                _time_check(
                    "≥3× faster than pandas.read_sql + lifelines",
                    measured,
                    TTVKIT_SQLITE,
                    PANDAS_SQL,
                    faster_by=3,
                )
            )
    return scenario


# --------------------------------------------------------------------------- A4


def run_memory(ctx: Context) -> Scenario:
    scenario = Scenario(
        "A4",
        "Time to first report from memory",
        "The log already in memory: ttvkit's MemoryStore (ValueEvent objects) and a pandas "
        "DataFrame (user_id, name, ts as datetime64[us, UTC], event_id, account_id); seconds "
        "to the curve, median and quartiles (lower is better).",
    )
    for size in ctx.memory_sizes:
        store = MemoryStore(data.scaled_events(size, ctx.seed))
        frame = data.scaled_frame(size, ctx.seed)
        n = store.count()
        ctx.log(f"A4 {fmt_size(size)}: {n:,} events")
        measured = measure(
            ctx,
            "A4",
            size,
            n,
            {
                TTVKIT_MEMORY: lambda s=store: ttvkit_memory(s),
                PANDAS_FRAME: lambda f=frame: pandas_frame(f),
            },
            TTVKIT_MEMORY,
        )
        store.close()
        del store, frame
        _report(scenario, measured)
        scenario.checks.append(
            _time_check(
                "≤2× pandas + lifelines' time", measured, TTVKIT_MEMORY, PANDAS_FRAME, at_most=2
            )
        )
    return scenario
