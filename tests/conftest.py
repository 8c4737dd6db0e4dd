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
