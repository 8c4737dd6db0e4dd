"""Every analysis gives the same answer on every backend.

The observations equivalence of each store is tested property by property in
its own test file; here the whole pipeline — store, observations, statistics,
results — runs on the synthetic SaaS log in the memory store, SQLite and
PostgreSQL, and the results must be identical (their ``to_dict()``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import ttvkit as ttv
from ttvkit import datasets as ds
from ttvkit import milestones
from ttvkit.events import ValueEvent

BANDS = ttv.SpeedBands(immediate=timedelta(minutes=5), short=timedelta(days=7))
FIRST = milestones.first_value(ds.REPORT_CREATED, name="first_report")
TEN = milestones.exceed_value(ttv.event(ds.REPORT_CREATED).nth(10), name="ten_reports")
ONBOARDING = milestones.onboarding(list(ds.ONBOARDING_STEPS))
ROI = milestones.roi(ds.INVOICE_PAID, "amount", 1000, window=timedelta(days=120))
UPGRADE = milestones.upgrade(ds.UPGRADED, start=ttv.event(ds.SIGNUP, where={"plan": "free"}))
ADOPTION = milestones.feature_adoption(
    ds.FEATURE_USED, ds.feature_released_at(start=ds.DEFAULT_START, days=ds.DEFAULT_DAYS)
)

ANALYSES: dict[str, Callable[[ttv.Store], Any]] = {
    "first_value": lambda s: ttv.time_to_value(s, FIRST, bands=BANDS),
    "exceed": lambda s: ttv.time_to_value(s, TEN),
    "onboarding": lambda s: ttv.time_to_value(s, ONBOARDING),
    "roi_window": lambda s: ttv.time_to_value(s, ROI),
    "upgrade": lambda s: ttv.time_to_value(s, UPGRADE),
    "adoption": lambda s: ttv.time_to_value(s, ADOPTION),
    "per_account": lambda s: ttv.time_to_value(s, FIRST, per="account"),
    "as_of": lambda s: ttv.time_to_value(s, FIRST, as_of="2025-06-30T12:00:00Z"),
    "compare_plan": lambda s: ttv.compare(s, FIRST, by="plan", bootstrap=50),
    "impact": lambda s: ttv.impact(
        s,
        FIRST,
        {ds.TUTORIAL_COMPLETED: timedelta(hours=3), ds.CSM_ASSIGNED: timedelta(hours=12)},
        bootstrap=0,
    ),
    "cohorts": lambda s: ttv.cohorts(s, FIRST, "quarter"),
    "journey": lambda s: ttv.journey(s, [ONBOARDING, FIRST, TEN]),
    "satisfaction": lambda s: ttv.satisfaction(s, FIRST, survey=ds.CSAT, bands=BANDS),
}


@pytest.fixture(scope="module")
def events() -> list[ValueEvent]:
    return ds.saas_events(600, seed=11)


@pytest.fixture(scope="module")
def reference(events: list[ValueEvent]) -> dict[str, Any]:
    with ttv.MemoryStore(events) as store:
        return {name: run(store).to_dict() for name, run in ANALYSES.items()}


@pytest.fixture(scope="module")
def sqlite_store(
    events: list[ValueEvent], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ttv.Store]:
    path: Path = tmp_path_factory.mktemp("backends") / "ttv.db"
    with ttv.open_store(f"sqlite:///{path}") as store:
        store.append(events)
        yield store


@pytest.fixture(scope="module")
def postgres_store(events: list[ValueEvent], postgres_url: str) -> Iterator[ttv.Store]:
    import psycopg

    schema = f"ttv_backends_{uuid.uuid4().hex[:10]}"
    store = ttv.open_store(f"{postgres_url}?schema={schema}")
    try:
        store.append(events)
        yield store
    finally:
        store.close()
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.mark.parametrize("analysis", sorted(ANALYSES))
def test_sqlite_matches_memory(
    sqlite_store: ttv.Store, reference: dict[str, Any], analysis: str
) -> None:
    assert ANALYSES[analysis](sqlite_store).to_dict() == reference[analysis]


@pytest.mark.parametrize("analysis", sorted(ANALYSES))
def test_postgres_matches_memory(
    postgres_store: ttv.Store, reference: dict[str, Any], analysis: str
) -> None:
    assert ANALYSES[analysis](postgres_store).to_dict() == reference[analysis]


def test_an_iterable_of_events_matches_memory(
    events: list[ValueEvent], reference: dict[str, Any]
) -> None:
    assert ttv.time_to_value(events, FIRST, bands=BANDS).to_dict() == reference["first_value"]
    as_dicts = [e.to_dict() for e in events]
    assert ttv.time_to_value(as_dicts, FIRST, bands=BANDS).to_dict() == reference["first_value"]


def test_a_tracker_is_a_source(
    tmp_path: Path, reference: dict[str, Any], events: list[ValueEvent]
) -> None:
    with ttv.Tracker(f"sqlite:///{tmp_path / 't.db'}") as tracker:
        for e in events:
            tracker.track(
                e.user_id,
                e.name,
                timestamp=e.timestamp,
                properties=e.properties,
                account_id=e.account_id,
                event_id=e.event_id,
            )
        # no explicit flush: the analysis flushes what was tracked before it
        assert ttv.time_to_value(tracker, FIRST, bands=BANDS).to_dict() == reference["first_value"]
