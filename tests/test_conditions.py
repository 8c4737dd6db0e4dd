"""Conditions: matching rules, nth, totals, combinators; each checked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ttvkit import (
    InvalidMilestoneError,
    Journey,
    MemoryStore,
    Milestone,
    ValueEvent,
    all_of,
    any_of,
    event,
    ge,
    gt,
    impact,
    le,
    lt,
    one_of,
    time_to_value,
    total,
)
from ttvkit.conditions import json_equal

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ev(name: str, hours: float = 0, **props: object) -> ValueEvent:
    return ValueEvent("u1", name, T0 + timedelta(hours=hours), properties=props)


class TestWhere:
    @pytest.mark.parametrize(
        ("expected", "actual", "equal"),
        [
            ("pro", "pro", True),
            ("pro", "Pro", False),
            (1, 1.0, True),
            (1, True, False),
            (True, 1, False),
            (False, 0, False),
            (True, True, True),
            (None, None, True),
            ("1", 1, False),
            (0, None, False),
            (2.5, [2.5], False),
        ],
    )
    def test_json_equality(self, expected: object, actual: object, equal: bool) -> None:
        assert json_equal(expected, actual) is equal  # type: ignore[arg-type]

    def test_equality_where(self) -> None:
        c = event("signup", where={"plan": "pro"})
        assert c.matches(ev("signup", plan="pro"))
        assert not c.matches(ev("signup", plan="free"))
        assert not c.matches(ev("signup"))
        assert not c.matches(ev("login", plan="pro"))

    def test_none_matches_missing_or_null(self) -> None:
        c = event("signup", where={"coupon": None})
        assert c.matches(ev("signup"))
        assert c.matches(ev("signup", coupon=None))
        assert not c.matches(ev("signup", coupon="X"))

    def test_one_of(self) -> None:
        c = event("signup", where={"plan": one_of("pro", "team")})
        assert c.matches(ev("signup", plan="team"))
        assert not c.matches(ev("signup", plan="free"))

    @pytest.mark.parametrize(
        ("predicate", "value", "passes"),
        [
            (gt(10), 11, True),
            (gt(10), 10, False),
            (ge(10), 10.0, True),
            (lt(10), 9.5, True),
            (lt(10), 10, False),
            (le(10), 10, True),
            (gt(0), True, False),  # booleans are not numbers
            (gt(0), "5", False),
            (lt(100), None, False),
        ],
    )
    def test_numeric_comparisons(self, predicate: object, value: object, passes: bool) -> None:
        c = event("invoice", where={"amount": predicate})  # type: ignore[dict-item]
        assert c.matches(ev("invoice", amount=value)) is passes

    def test_all_where_clauses_must_pass(self) -> None:
        c = event("invoice", where={"amount": gt(10), "currency": "EUR"})
        assert c.matches(ev("invoice", amount=20, currency="EUR"))
        assert not c.matches(ev("invoice", amount=20, currency="USD"))
        assert not c.matches(ev("invoice", amount=5, currency="EUR"))

    @pytest.mark.parametrize(
        "bad",
        [
            {"plan": ["pro"]},
            {"plan": {"a": 1}},
            {"plan": float("nan")},
            {"": 1},
            "plan=pro",
        ],
    )
    def test_bad_where_rejected(self, bad: object) -> None:
        with pytest.raises(InvalidMilestoneError):
            event("signup", where=bad)  # type: ignore[arg-type]

    @pytest.mark.parametrize("bad", [gt, ge, lt, le])
    def test_comparison_bounds_must_be_finite_numbers(self, bad: object) -> None:
        for value in ("10", True, float("inf")):
            with pytest.raises(InvalidMilestoneError):
                bad(value)  # type: ignore[operator]

    def test_one_of_needs_values(self) -> None:
        with pytest.raises(InvalidMilestoneError, match="at least one"):
            one_of()


class TestFirstTime:
    def test_event_first_match(self) -> None:
        events = [ev("report", 1), ev("report", 2), ev("report", 3)]
        assert event("report").first_time(events) == T0 + timedelta(hours=1)
        assert event("other").first_time(events) is None

    def test_nth(self) -> None:
        events = [ev("report", h) for h in (1, 2, 2, 5)]
        assert event("report").nth(1).first_time(events) == T0 + timedelta(hours=1)
        assert event("report").nth(3).first_time(events) == T0 + timedelta(hours=2)
        assert event("report").nth(4).first_time(events) == T0 + timedelta(hours=5)
        assert event("report").nth(5).first_time(events) is None

    @pytest.mark.parametrize("k", [0, -1, 1.5, True, "2"])
    def test_nth_needs_positive_int(self, k: object) -> None:
        with pytest.raises(InvalidMilestoneError, match="k must be an int"):
            event("report").nth(k)  # type: ignore[arg-type]

    def test_total_crosses_target(self) -> None:
        events = [
            ev("invoice", 1, amount=300),
            ev("invoice", 2, amount="n/a"),
            ev("invoice", 3, amount=True),  # a bool is not an amount
            ev("invoice", 4, amount=650.5),
            ev("invoice", 5, amount=49.5),
            ev("invoice", 6, amount=1),
        ]
        assert total("invoice", "amount", at_least=1000).first_time(events) == T0 + timedelta(
            hours=5
        )
        assert total("invoice", "amount", at_least=950.5).first_time(events) == T0 + timedelta(
            hours=4
        )
        assert total("invoice", "amount", at_least=2000).first_time(events) is None

    def test_total_sums_whole_timestamp_groups(self) -> None:
        # +1200 and -500 at the same moment: the order within the moment must not
        # decide, so the sum at hour 1 is 700 and the target is not reached.
        events = [ev("invoice", 1, amount=1200), ev("invoice", 1, amount=-500)]
        assert total("invoice", "amount", at_least=1000).first_time(events) is None
        assert total("invoice", "amount", at_least=1000).first_time(events[::-1]) is None
        assert total("invoice", "amount", at_least=700).first_time(events) == T0 + timedelta(
            hours=1
        )

    def test_total_tolerates_float_rounding(self) -> None:
        events = [ev("invoice", 1, amount=0.1), ev("invoice", 2, amount=0.2)]
        assert total("invoice", "amount", at_least=0.3).first_time(events) == T0 + timedelta(
            hours=2
        )

    def test_total_with_where(self) -> None:
        events = [
            ev("invoice", 1, amount=600, currency="EUR"),
            ev("invoice", 2, amount=600, currency="USD"),
            ev("invoice", 3, amount=600, currency="EUR"),
        ]
        c = total("invoice", "amount", at_least=1000, where={"currency": "EUR"})
        assert c.first_time(events) == T0 + timedelta(hours=3)

    @pytest.mark.parametrize("target", [0, -5, float("nan"), float("inf"), "100", True])
    def test_total_target_must_be_positive_number(self, target: object) -> None:
        with pytest.raises(InvalidMilestoneError, match="at_least"):
            total("invoice", "amount", at_least=target)  # type: ignore[arg-type]

    def test_all_of_is_the_last_first_time(self) -> None:
        events = [ev("step_a", 3), ev("step_b", 1), ev("step_a", 4)]
        assert all_of("step_a", "step_b").first_time(events) == T0 + timedelta(hours=3)
        assert all_of("step_a", "step_c").first_time(events) is None

    def test_any_of_is_the_earliest(self) -> None:
        events = [ev("step_a", 3), ev("step_b", 1)]
        assert any_of("step_a", "step_b").first_time(events) == T0 + timedelta(hours=1)
        assert any_of("step_c", event("step_a")).first_time(events) == T0 + timedelta(hours=3)
        assert any_of("step_c", "step_d").first_time(events) is None

    def test_combinators_validate(self) -> None:
        with pytest.raises(InvalidMilestoneError, match="at least one"):
            all_of()
        with pytest.raises(InvalidMilestoneError, match="not a condition"):
            any_of("a", 3)  # type: ignore[arg-type]

    def test_event_names_and_descriptions(self) -> None:
        c = all_of(event("a").nth(2), total("b", "x", at_least=5), event("c", where={"p": gt(1)}))
        assert c.event_names() == {"a", "b", "c"}
        assert c.describe() == "all of (a (#2), total x of b >= 5, c where p > 1)"


def test_huge_integer_bounds_are_accepted() -> None:
    c = event("invoice", where={"n": 10**400, "amount": gt(10**400)})
    assert not c.matches(ev("invoice", n=5, amount=10))
    assert event("invoice", where={"amount": lt(10**400)}).matches(ev("invoice", amount=10))


def test_conditions_on_true_and_on_1_are_different_conditions() -> None:
    """``True`` is not ``1`` when matching, so neither when comparing or hashing
    conditions: a cache keyed by milestone, impact's levers and a journey's starts
    would otherwise take one for the other."""
    on_true = Milestone("m", event("report", where={"shared": True}))
    on_one = Milestone("m", event("report", where={"shared": 1}))
    assert on_true != on_one and {on_true: "A"}.get(on_one) is None
    assert hash(on_true) != hash(on_one)
    # 1 and 1.0 are one JSON number: equal, with one hash.
    on_float = Milestone("m", event("report", where={"shared": one_of(1.0)}))
    assert Milestone("m", event("report", where={"shared": one_of(1)})) == on_float
    assert hash(Milestone("m", event("report", where={"shared": one_of(1)}))) == hash(on_float)
    assert event("x", where={"k": one_of(True, 0)}) != event("x", where={"k": one_of(1, False)})

    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    events = []
    for i in range(12):
        start = t0 + timedelta(days=i)
        urgent: object = True if i % 3 == 0 else 1 if i % 3 == 1 else "no"
        shared: object = True if i % 4 == 0 else 1
        events += [
            ValueEvent(f"u{i}", "signup", start),
            ValueEvent(f"u{i}", "ticket", start + timedelta(minutes=1), {"urgent": urgent}),
            ValueEvent(f"u{i}", "report", start + timedelta(hours=i + 1), {"shared": shared}),
        ]
    store = MemoryStore(events)
    assert time_to_value(store, on_true).n_reached == 3
    assert time_to_value(store, on_one).n_reached == 9
    levers = [event("ticket", where={"urgent": True}), event("ticket", where={"urgent": 1})]
    ranking = impact(store, Milestone("r", "report"), levers, landmark=timedelta(hours=1))
    # Two levers (not one named twice); u0 reached the milestone by the landmark.
    assert sorted(row.n_exposed for row in ranking.rows) == [3, 4]
    with pytest.raises(InvalidMilestoneError, match="same start"):
        Journey(
            [
                Milestone("s1", "x", start=event("signup", where={"trial": True})),
                Milestone("s2", "y", start=event("signup", where={"trial": 1})),
            ]
        )
