"""Shared fixtures (a reachable PostgreSQL server, real and never mocked; one Spark
session), and test modules that need a missing extra skipped at collection.

A test module that imports an optional dependency at its top (duckdb,
psycopg, pandas, ...) is reported as *skipped*, with the ``pip install`` that
brings it, when that dependency is not installed; so is a test that imports
one as it runs (directly, or through ttvkit's
:class:`~ttvkit.errors.MissingDependencyError`). ``pytest`` thus runs in an
environment with only the core dependencies. Under ``CI`` a missing extra
is an error instead: CI installs ``ttvkit[test]`` and every test must run
there.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

#: Optional packages the tests import, and what installs each one.
OPTIONAL: dict[str, str] = {
    "duckdb": "ttvkit[duckdb]",
    "psycopg": "ttvkit[postgres]",
    "pyarrow": "ttvkit[parquet]",
    "pandas": "ttvkit[pandas]",
    "polars": "ttvkit[polars]",
    "matplotlib": "ttvkit[plot]",
    "pyspark": "ttvkit[spark]",
    # Reference implementations the statistics are checked against.
    "numpy": "ttvkit[test]",
    "scipy": "ttvkit[test]",
    "lifelines": "ttvkit[test]",
}


def _missing_optional(exc: BaseException | None) -> str | None:
    """Why *exc* was raised, when it (or an error it was raised from) is an optional
    package failing to import; ``None`` for any other error."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ModuleNotFoundError) and exc.name is not None:
            package = exc.name.partition(".")[0]
            if package in OPTIONAL:
                return (
                    f"needs {package}, which is not installed (pip install '{OPTIONAL[package]}')"
                )
        exc = exc.__cause__ or exc.__context__
    return None


class _ModuleNeedingExtras(pytest.Module):
    """A test module that is skipped, not an error, when an optional package is missing."""

    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        try:
            self.obj  # noqa: B018  # imports the test module
        except self.CollectError as exc:
            reason = _missing_optional(exc.__cause__)
            if reason is None:
                raise
            if os.environ.get("CI"):
                raise self.CollectError(f"CI is set but {self.path.name} {reason}") from exc
            pytest.skip(f"{self.path.name} {reason}", allow_module_level=True)
        return super().collect()


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module:
    return _ModuleNeedingExtras.from_parent(parent, path=module_path)


def _skip_if_an_extra_is_missing(item: pytest.Item, exc: BaseException) -> None:
    reason = _missing_optional(exc)
    if reason is not None and not os.environ.get("CI"):
        pytest.skip(f"{item.name} {reason}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    try:
        return (yield)
    except Exception as exc:
        _skip_if_an_extra_is_missing(item, exc)
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    try:
        return (yield)
    except Exception as exc:
        _skip_if_an_extra_is_missing(item, exc)
        raise


def pytest_addoption(parser: pytest.Parser) -> None:
    # pyproject.toml sets ``timeout`` for pytest-timeout (part of ttvkit[test]);
    # without the plugin, --strict-config would refuse the whole run. Outside
    # CI the option is then accepted and does nothing.
    if importlib.util.find_spec("pytest_timeout") is None and not os.environ.get("CI"):
        parser.addini("timeout", "ignored: pytest-timeout is not installed")


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
def _local_spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, int]]:
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
        # not ./spark-warehouse in the checkout
        "spark.sql.warehouse.dir": str(tmp_path_factory.mktemp("spark-warehouse")),
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
