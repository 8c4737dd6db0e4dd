"""Shared fixtures: a reachable PostgreSQL server (real, never mocked)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

#: Where the PostgreSQL tests connect; CI sets nothing and uses this machine's server.
POSTGRES_URL = os.environ.get("TTVKIT_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_reachable() -> str | None:
    """None when the server answers, else the reason it does not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'ttvkit[postgres]')"
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}".strip()
    return None


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The URL of a reachable PostgreSQL server.

    Skips with the reason where none is reachable, except in CI (``CI`` set),
    where a missing server is a failure: the PostgreSQL tests must run there.
    """
    reason = _postgres_reachable()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {reason}")
        pytest.skip(reason)
    return POSTGRES_URL


def _why_not_spark() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install 'ttvkit[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "Java is not installed (Spark needs a JVM: Java 17 or 21)"
    return None


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """The one local Spark session of the test run (``local[2]``, UTC, UI off).

    Skips with the reason where pyspark or Java is missing, except in CI, where
    that is a failure: the Spark tests must run there.
    """
    reason = _why_not_spark()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {reason}")
        pytest.skip(reason)
    from pyspark.sql import SparkSession

    remote = os.environ.get("TTVKIT_SPARK_CONNECT")  # e.g. local[2]: the suite over Spark Connect
    settings = {"spark.sql.session.timeZone": "UTC", "spark.sql.shuffle.partitions": "2"}
    if remote is None:
        builder = SparkSession.builder.master("local[2]")
        settings |= {
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.default.parallelism": "2",
        }
    else:
        builder = SparkSession.builder.remote(remote)
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.appName("ttvkit-tests").getOrCreate()
    if remote is None:
        session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
