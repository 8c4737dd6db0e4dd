"""SP1–SP3: ttvkit's time_to_value on Spark ``local[2]`` over the A1 Parquet log.

Run from the repository root (needs ``ttvkit[spark]``, Java, and the bench extra)::

    python benchmarks/spark.py --users 100000 --copies 1 10

* SP1: Spark beside hand-written DuckDB SQL over the same file and pandas
  ``read_parquet`` + lifelines (``benchmarks/analysis.py``), same run, same answers;
  Spark as a first question on a new source (with its checks of rows and ids),
  without the dedupe, on a table with 1 % of its events resent, and as a later
  question on a source that has done its checks. ``--only-sp1`` stops there.
* SP2: Spark's cost per event as the log grows: the base log is replicated
  ``k`` times inside Spark with distinct user ids (``user_id || '~k'``), so
  every size has the same per-user shape.
* SP3: shuffle bytes written per event, read from Spark's monitoring REST API
  (the stages of the measured job).

Prints a Markdown table per scenario; wall-clock seconds, lower is better.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import analysis
import data

import ttvkit as ttv

DUCKDB_QUERY = """
WITH s AS (SELECT user_id, MIN(timestamp) AS t0 FROM read_parquet($path)
           WHERE name = 'signup' GROUP BY user_id),
     r AS (SELECT user_id, MIN(timestamp) AS t1 FROM read_parquet($path)
           WHERE name = 'report_created' GROUP BY user_id),
     m AS (SELECT MAX(timestamp) AS as_of FROM read_parquet($path))
SELECT epoch(CASE WHEN r.t1 IS NULL THEN m.as_of ELSE GREATEST(r.t1, s.t0) END - s.t0),
       r.t1 IS NOT NULL
FROM s CROSS JOIN m LEFT JOIN r USING (user_id)
"""


def duckdb_answer(path: Path) -> analysis.Answer:
    """Hand-written DuckDB SQL over the file, then scipy's censored ECDF."""
    import duckdb
    import numpy as np
    from scipy.stats import CensoredData, ecdf

    rows = duckdb.sql(DUCKDB_QUERY, params={"path": str(path)}).fetchall()
    table = np.array(rows, dtype=float)
    durations, reached = table[:, 0], table[:, 1].astype(bool)
    result = ecdf(CensoredData(uncensored=durations[reached], right=durations[~reached]))
    times, survival = result.sf.quantiles, result.sf.probabilities

    def at(level: float) -> float:
        below = np.nonzero(survival <= level + 1e-12)[0]
        return float(times[below[0]]) if below.size else float("inf")

    return (len(rows), int(reached.sum()), at(0.5), at(0.75), at(0.25))


def replicated(path: Path, copies: int) -> Path:
    """*path*'s log *copies* times with distinct ids (``~k``), written by DuckDB once."""
    import duckdb

    if copies == 1:
        return path
    out = path.with_name(f"{path.stem}-x{copies}.parquet")
    if not out.exists():
        partial = out.with_suffix(".partial")
        duckdb.sql(
            "COPY (SELECT event_id || '~' || k AS event_id, user_id || '~' || k AS user_id, "
            "account_id || '~' || k AS account_id, name, timestamp, properties "
            f"FROM read_parquet('{path}'), range({copies}) AS t(k)) "
            f"TO '{partial}' (FORMAT parquet)"
        )
        partial.rename(out)
    return out


def spark_answer(frame: Any, *, dedupe: bool = True) -> analysis.Answer:
    from ttvkit.stores.spark import SparkSource

    with SparkSource(frame, dedupe=dedupe) as source:
        dist = ttv.time_to_value(source, analysis.MILESTONE)
    return analysis._ttvkit_answer(dist)


def resent(path: Path) -> Path:
    """*path*'s log with 1 % of its rows twice (a seeded sample, written by DuckDB once):
    the same answer, and ids that repeat, so the source dedupes."""
    import duckdb

    out = path.with_name(f"{path.stem}-resent.parquet")
    if not out.exists():
        partial = out.with_suffix(".partial")
        duckdb.sql(
            f"COPY (SELECT * FROM read_parquet('{path}') UNION ALL "
            f"SELECT * FROM read_parquet('{path}') USING SAMPLE 1 PERCENT (bernoulli, 1)) "
            f"TO '{partial}' (FORMAT parquet)"
        )
        partial.rename(out)
    return out


def shuffle_bytes(spark: Any, since_stage: int) -> tuple[int, int]:
    """(shuffle bytes written, last stage id) over the stages after *since_stage*."""
    url = spark.sparkContext.uiWebUrl
    app = spark.sparkContext.applicationId
    with urllib.request.urlopen(f"{url}/api/v1/applications/{app}/stages") as reply:  # noqa: S310
        stages = json.load(reply)
    done = [s for s in stages if s["stageId"] > since_stage and s["status"] == "COMPLETE"]
    last = max([since_stage, *(s["stageId"] for s in stages)])
    return sum(s["shuffleWriteBytes"] for s in done), last


def local_session() -> Any:
    """The benchmarks' Spark: ``local[2]``, UTC, 4 GB for the driver, quiet."""
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def timed(run: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    answer = run()
    return time.perf_counter() - start, answer


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--a1-copies", type=int, default=10, help="SP1's log: the base x N")
    parser.add_argument("--only-sp1", action="store_true", help="skip SP2 and SP3")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", module="lifelines")  # its percentile approximation note

    from pyspark.sql import functions as F

    started = time.perf_counter()
    path = data.parquet(args.users, 0)
    print(f"data: {path.name} ready in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    spark = local_session()
    base = spark.read.parquet(str(path))
    n_base = base.count()
    load = os.getloadavg()[0]
    print(f"# Spark {spark.version}, local[2], load average {load:.1f} at start\n")

    a1 = replicated(path, args.a1_copies)
    n_a1 = spark.read.parquet(str(a1)).count()
    print(f"## SP1: {n_a1:,} events in one Parquet file, seconds (min of {args.runs})\n")
    print("| contender | seconds | answer (users, reached, median s, 75 %, 25 %) |")
    print("| --- | ---: | --- |")
    from ttvkit.stores.spark import SparkSource

    ready = SparkSource(spark.read.parquet(str(a1)))
    a1_resent = resent(a1)
    ready_resent = SparkSource(spark.read.parquet(str(a1_resent)))
    for source in (ready, ready_resent):  # a first question: the checks, once per source
        ttv.time_to_value(source, ttv.milestones.roi("invoice_paid", "amount", 1000))
    contenders = {
        "ttvkit on Spark local[2] (Parquet → DataFrame)": lambda: spark_answer(
            spark.read.parquet(str(a1))
        ),
        "ttvkit on Spark, dedupe=False (no search for repeated ids)": lambda: spark_answer(
            spark.read.parquet(str(a1)), dedupe=False
        ),
        "ttvkit on Spark, 1 % of the events resent (the dedupe of those)": (
            lambda: spark_answer(spark.read.parquet(str(a1_resent)))
        ),
        "ttvkit on Spark, a later question on the same source (checks done)": (
            lambda: analysis._ttvkit_answer(ttv.time_to_value(ready, analysis.MILESTONE))
        ),
        "the same, 1 % of the events resent (their ids cached)": (
            lambda: analysis._ttvkit_answer(ttv.time_to_value(ready_resent, analysis.MILESTONE))
        ),
        "hand-written DuckDB SQL + scipy ecdf": lambda: duckdb_answer(a1),
        analysis.PANDAS_PARQUET: lambda: analysis.pandas_parquet(a1),
    }
    for label, run in contenders.items():
        best, answer = min(timed(run) for _ in range(args.runs))
        print(f"| {label} | {best:.2f} | {answer} |")
    ready.close()
    ready_resent.close()
    if args.only_sp1:
        spark.stop()
        return 0

    print("\n## SP2 and SP3: Spark local[2] as the log grows\n")
    print("| events | seconds | µs per event | shuffle bytes written | bytes per event |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    _, last = shuffle_bytes(spark, -1)
    for k in args.copies:
        copies = spark.range(k).withColumnRenamed("id", "copy")
        frame = base.crossJoin(copies).select(
            F.concat("event_id", F.lit("~"), "copy").alias("event_id"),
            F.concat("user_id", F.lit("~"), "copy").alias("user_id"),
            F.concat("account_id", F.lit("~"), "copy").alias("account_id"),
            "name",
            "timestamp",
            "properties",
        )
        n = n_base * k
        seconds, _ = timed(lambda frame=frame: spark_answer(frame))
        written, last = shuffle_bytes(spark, last)
        print(
            f"| {n:,} | {seconds:.1f} | {seconds / n * 1e6:.2f} | {written:,} | {written / n:.1f} |"
        )
    print("\n## SP3: shuffle bytes per event by question, at the largest size\n")
    print("| question | seconds | shuffle bytes written | bytes per event |")
    print("| --- | ---: | ---: | ---: |")
    roi = ttv.milestones.roi("invoice_paid", "amount", 1000)
    upgrade = ttv.Milestone(
        "upgrade", ttv.event("upgraded"), start=ttv.event("signup", where={"plan": "free"})
    )
    for label, milestone in (
        ("first report", analysis.MILESTONE),
        ("ROI", roi),
        ("upgrade", upgrade),
    ):
        seconds, _ = timed(lambda m=milestone: ttv.time_to_value(frame, m))
        written, last = shuffle_bytes(spark, last)
        print(f"| {label} | {seconds:.1f} | {written:,} | {written / n:.1f} |")
    spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
