"""Every analysis of tests/test_backends.py gives the same answer on DuckDB sources.

The DuckDB store (file and memory) and ``ttvkit.scan`` of Parquet, CSV, JSON
lines, pandas, polars and pyarrow, on the synthetic SaaS log: identical
``to_dict()`` to the memory store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq
import pytest

import ttvkit as ttv
from ttvkit.events import ValueEvent
from ttvkit.io import write_csv, write_jsonl, write_parquet
from ttvkit.stores.duckdb import DuckDBStore

from .test_backends import ANALYSES

SOURCES = [
    "duckdb-file",
    "duckdb-memory",
    "scan-parquet",
    "scan-csv",
    "scan-jsonl",
    "scan-pandas",
    "scan-polars",
    "scan-pyarrow",
]


@pytest.fixture(scope="module")
def log() -> list[ValueEvent]:
    return ttv.datasets.saas_events(600, seed=11)


@pytest.fixture(scope="module")
def expected(log: list[ValueEvent]) -> dict[str, Any]:
    with ttv.MemoryStore(log) as store:
        return {name: run(store).to_dict() for name, run in ANALYSES.items()}


@pytest.fixture(scope="module", params=SOURCES)
def source(
    request: pytest.FixtureRequest, log: list[ValueEvent], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ttv.Source]:
    folder: Path = tmp_path_factory.mktemp("duckdb_backends")
    kind = request.param
    if kind.startswith("duckdb-"):
        store = DuckDBStore(folder / "ttv.duckdb" if kind == "duckdb-file" else ":memory:")
        store.append(log)
        with store:
            yield store
        return
    fmt = kind.removeprefix("scan-")
    parquet = folder / "log.parquet"
    write_parquet(log, parquet)
    if fmt == "parquet":
        scanned = ttv.scan(parquet)
    elif fmt == "csv":
        write_csv(log, folder / "log.csv")
        scanned = ttv.scan(folder / "log.csv")
    elif fmt == "jsonl":
        write_jsonl(log, folder / "log.jsonl")
        scanned = ttv.scan(folder / "log.jsonl")
    else:
        table = pq.read_table(parquet)
        frames: dict[str, Any] = {
            "pandas": table.to_pandas(),
            "polars": pl.from_arrow(table),
            "pyarrow": table,
        }
        scanned = ttv.scan(frames[fmt])
    with scanned:
        assert scanned.read_in_engine
        yield scanned


@pytest.mark.parametrize("analysis", sorted(ANALYSES))
def test_duckdb_sources_match_memory(
    source: ttv.Source, expected: dict[str, Any], analysis: str
) -> None:
    assert ANALYSES[analysis](source).to_dict() == expected[analysis]  # type: ignore[arg-type]
