"""What the Spark source's row check costs, by what it checks (issue 8, SP1's first question).

Run from the repository root (needs ``ttvkit[spark]``, Java, and the bench extra)::

    python benchmarks/spark_checks.py --users 100000 --copies 10

Times the one query that checks every row before a source's first question
(``first_bad_row``) over SP1's log on ``local[2]``:

* the ids, names and times alone (the table without its ``properties`` column);
* with the JSON properties as the log writes them (compact: the regular
  expression that vouches for plain objects, on every row);
* with the same properties written with a space after each ``:`` and ``,``
  (none plain: every row takes the strict ``from_json`` parse and the nesting walk).

Prints a Markdown table; wall-clock seconds, the median of ``--runs``, lower is better.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import data
from spark import local_session, replicated


def check_seconds(frame: Any, runs: int) -> float:
    from ttvkit.stores._spark_view import first_bad_row
    from ttvkit.stores.spark import SparkSource

    times = []
    for _ in range(runs):
        with SparkSource(frame, dedupe=False) as source:
            view = source._canonical  # the view as the source builds it, checks unrun
            start = time.perf_counter()
            problem = first_bad_row(view)
            times.append(time.perf_counter() - start)
        assert problem is None, problem
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from pyspark.sql import functions as F

    path = replicated(data.parquet(args.users, 0), args.copies)
    spark = local_session()
    events = spark.read.parquet(str(path))
    n = events.count()
    spaced = events.withColumn(
        "properties", F.regexp_replace(F.regexp_replace("properties", ":", ": "), ",", ", ")
    )
    rows = [
        ("ids, names and times only (no properties column)", events.drop("properties")),
        ("with compact JSON properties (as the log writes them)", events),
        ('with the same properties spaced (`{"a": 1, "b": 2}`)', spaced),
    ]
    print(f"# Spark {spark.version}, local[2], {n:,} events, median of {args.runs}\n")
    print("| the check | s |\n| --- | ---: |")
    for label, frame in rows:
        print(f"| {label} | {check_seconds(frame, args.runs):.2f} |", flush=True)
    spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
