"""Conditions no store can hold are rejected where they are built, the same on every backend.

A lone surrogate cannot be encoded for SQLite or PostgreSQL, a NUL cannot be
sent to PostgreSQL, ``nth(k)`` beyond 64 bits cannot be bound, and a
``total()`` target beyond the float range cannot be converted. The memory
store used to answer all of these while the SQL stores raised raw
``UnicodeEncodeError``, ``OverflowError`` or a ``StoreError``; now the
factories raise :class:`~ttvkit.errors.InvalidMilestoneError` naming the
value, before any store sees them, and the values just inside the limits work
on every backend.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import ttvkit as ttv
from ttvkit.conditions import Condition
from ttvkit.errors import InvalidMilestoneError
from ttvkit.events import ValueEvent

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EMOJI = "report \U0001f4c8"  # outside the BMP: valid Unicode every store keeps

UNSTORABLE: dict[str, tuple[Callable[[], Condition], str]] = {
    "surrogate in a name": (lambda: ttv.event("sign\udcffup"), "lone surrogate"),
    "surrogate in a where key": (
        lambda: ttv.event("signup", where={"pl\ud800an": "pro"}),
        "lone surrogate",
    ),
    "surrogate in a where value": (
        lambda: ttv.event("signup", where={"plan": "pr\udc80o"}),
        "lone surrogate",
    ),
    "surrogate in one_of": (
        lambda: ttv.event("signup", where={"plan": ttv.one_of("free", "\udcff")}),
        "lone surrogate",
    ),
    "NUL in a name": (lambda: ttv.event("sign\x00up"), "NUL"),
    "NUL in a where key": (lambda: ttv.event("signup", where={"pl\x00an": 1}), "NUL"),
    "NUL in a where value": (lambda: ttv.event("signup", where={"plan": "p\x00"}), "NUL"),
    "NUL in a total property": (
        lambda: ttv.total("invoice", "am\x00ount", at_least=10),
        "NUL",
    ),
    "nth beyond 64 bits": (lambda: ttv.event("report").nth(2**63), "2**63 - 1"),
    "nth far beyond 64 bits": (lambda: ttv.event("report").nth(10**30), "2**63 - 1"),
    "total target beyond floats": (
        lambda: ttv.total("invoice", "amount", at_least=10**400),
        "finite number",
    ),
}


def _events() -> list[ValueEvent]:
    return [
        ValueEvent("u1", "signup", T0, {"plan": "pro"}),
        ValueEvent("u1", EMOJI, T0 + timedelta(hours=1), {"tag": EMOJI}),
        ValueEvent("u1", "invoice", T0 + timedelta(hours=2), {"amount": 1.7976931348623157e308}),
        ValueEvent("u2", "signup", T0 + timedelta(hours=3), {"plan": "free"}),
        ValueEvent("u2", "report", T0 + timedelta(hours=4)),
    ]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ttv.Store]:
    if request.param == "memory":
        with ttv.MemoryStore(_events()) as memory:
            yield memory
        return
    if request.param == "sqlite":
        with ttv.open_store(f"sqlite:///{tmp_path / 'ttv.db'}") as sqlite:
            sqlite.append(_events())
            yield sqlite
        return
    import psycopg

    url = request.getfixturevalue("postgres_url")
    schema = f"ttv_unstorable_{uuid.uuid4().hex[:10]}"
    postgres = ttv.open_store(f"{url}?schema={schema}")
    try:
        postgres.append(_events())
        yield postgres
    finally:
        postgres.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.mark.parametrize("case", sorted(UNSTORABLE))
def test_an_unstorable_condition_is_rejected_where_it_is_built(store: ttv.Store, case: str) -> None:
    build, fragment = UNSTORABLE[case]

    def analyse() -> object:
        milestone = ttv.Milestone("m", start=ttv.event("signup"), reached=build())
        return ttv.time_to_value(store, milestone)

    with pytest.raises(InvalidMilestoneError, match=re.escape(fragment)) as caught:
        analyse()
    assert "\n" not in str(caught.value)


def test_values_just_inside_the_limits_work_the_same_on_every_backend(
    store: ttv.Store,
) -> None:
    reached = {
        "emoji": ttv.event(EMOJI, where={"tag": EMOJI}),
        "nth": ttv.event("report").nth(2**63 - 1),
        "total": ttv.total("invoice", "amount", at_least=1.7976931348623157e308),
    }
    answers = {
        name: ttv.time_to_value(
            store, ttv.Milestone(name, start=ttv.event("signup"), reached=condition)
        ).n_reached
        for name, condition in reached.items()
    }
    assert answers == {"emoji": 1, "nth": 0, "total": 1}
