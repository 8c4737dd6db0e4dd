"""A Spark job: the whole Time-to-Value report over a Parquet directory, as JSON and HTML.

Submit it to any cluster (the executors need no ttvkit; the driver does)::

    pip install 'ttvkit[spark]'
    spark-submit docs/examples/spark_job.py s3a://lake/events/ --config ttv.toml \\
        --out report            # writes report.json and report.html on the driver

Without ``--config`` it uses the demo's milestones (``ttvkit demo --print-config``).
The events need the columns ``user_id``, ``name`` and ``timestamp`` (a
``TIMESTAMP``), and may have ``account_id``, ``event_id`` and ``properties``
(JSON text, a map or a struct); ``--user``, ``--name`` and ``--timestamp``
rename them. Only aggregates reach the driver: see docs/spark.md.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import ttvkit as ttv
from ttvkit.cli import demo_config
from ttvkit.config import load_config
from ttvkit.io import ColumnMapping
from ttvkit.report import build_report, render
from ttvkit.stores.spark import SparkSource, spark_session


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", help="a Parquet file, directory or glob (s3a://..., gs://...)")
    parser.add_argument("--config", help="the TOML milestones (default: the demo's)")
    parser.add_argument("--out", default="ttv-report", help="output path without extension")
    parser.add_argument("--master", default="local[*]", help="used only outside spark-submit")
    parser.add_argument("--per", choices=("user", "account"))
    parser.add_argument("--user", default="user_id")
    parser.add_argument("--name", default="name")
    parser.add_argument("--timestamp", default="timestamp")
    parser.add_argument(
        "--no-dedupe",
        dest="dedupe",
        action="store_false",
        help="take rows as they are (ids known unique): skips the search for repeated ids",
    )
    args = parser.parse_args(argv)

    config = demo_config() if args.config is None else load_config(args.config)
    mapping = ColumnMapping(user=args.user, name=args.name, timestamp=args.timestamp)
    with (
        spark_session(args.master, "ttvkit report") as spark,
        SparkSource.read(args.events, spark=spark, mapping=mapping, dedupe=args.dedupe) as source,
    ):
        facts = [("source", args.events), ("engine", f"Spark {spark.version}")]
        # A milestone naming an event the data never has is a warning: say it, go on.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ttv.UnknownEventWarning)
            report = build_report(source, config, per=args.per, facts=facts)
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    out = Path(args.out)
    for fmt in ("json", "html"):
        out.with_suffix(f".{fmt}").write_text(render(report, fmt), encoding="utf-8")
    print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.html')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
