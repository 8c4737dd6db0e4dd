"""Shared fixtures: a reachable PostgreSQL server (real, never mocked)."""

from __future__ import annotations

import os
import shutil
import socket
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


def _pyspark_major() -> int:
    import pyspark

    return int(pyspark.__version__.split(".")[0])


def _why_not_connect() -> str | None:
    if _pyspark_major() < 4:
        return "the local Spark serves Spark Connect from pyspark 4.0 on"
    try:
        import grpc  # noqa: F401
        import pyspark.sql.connect.session  # noqa: F401
    except ImportError:
        return "Spark Connect's client is not installed (pip install 'ttvkit[spark-connect]')"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _skip_or_fail(reason: str | None) -> None:
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {reason}")
        pytest.skip(reason)


#: Settings of every test session: UTC, two partitions (the data are small).
_SPARK_SETTINGS = {"spark.sql.session.timeZone": "UTC", "spark.sql.shuffle.partitions": "2"}


@pytest.fixture(scope="session")
def _local_spark() -> Iterator[tuple[Any, int]]:
    """The one local Spark of the test run (``local[2]``, UTC, UI off).

    It also serves Spark Connect on a free port of 127.0.0.1 (the server's
    plugin), so the same JVM answers both kinds of session.
    """
    _skip_or_fail(_why_not_spark())
    from pyspark.sql import SparkSession

    port = _free_port()
    builder = SparkSession.builder.master("local[2]").appName("ttvkit-tests")
    settings = _SPARK_SETTINGS | {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.default.parallelism": "2",
    }
    if _pyspark_major() >= 4:  # pyspark 3.5 does not ship the Connect server
        settings |= {
            "spark.plugins": "org.apache.spark.sql.connect.SparkConnectPlugin",
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.connect.grpc.binding.port": str(port),
        }
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session, port
    session.stop()


@pytest.fixture(scope="session")
def spark_classic(_local_spark: tuple[Any, int]) -> Any:
    """A classic Spark session on the local Spark."""
    return _local_spark[0]


@pytest.fixture(scope="session")
def spark_connect(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A Spark Connect session: to the local Spark's own server, or to
    ``TTVKIT_SPARK_CONNECT`` (e.g. ``sc://host:15002``) when that is set."""
    _skip_or_fail(_why_not_spark() or _why_not_connect())
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    remote = os.environ.get("TTVKIT_SPARK_CONNECT")
    if remote is None:
        remote = f"sc://127.0.0.1:{request.getfixturevalue('_local_spark')[1]}"
    session = ConnectSession.builder.remote(remote).getOrCreate()
    for key, value in _SPARK_SETTINGS.items():
        session.conf.set(key, value)
    yield session
    session.stop()


#: The kinds of Spark session every Spark test runs on.
SPARK_KINDS = ("spark_classic", "spark_connect")


@pytest.fixture(scope="session", params=SPARK_KINDS)
def spark(request: pytest.FixtureRequest) -> Any:
    """A Spark session: a classic one, then a Spark Connect one.

    Every test that takes it runs on both kinds (Databricks serverless and
    ``pyspark-client`` are Spark Connect sessions). Skips with the reason where
    pyspark, Java or the Connect client is missing, except in CI, where that
    is a failure: the Spark tests must run there.
    """
    return request.getfixturevalue(request.param)
