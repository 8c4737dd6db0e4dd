"""observe(): the reference rules, each on a small log worked out by hand."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ttvkit import AnalysisError, InvalidMilestoneError, Milestone, event, total
from ttvkit.conditions import all_of
from ttvkit.observations import DurationCells, FirstTime, PropertyOf, StartProperty, observe
from ttvkit.testing import EventLog, FrozenClock

from .strategies import event_logs, milestones

T0 = datetime(2026, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
REPORT = Milestone("first_report", event("report"))


def log() -> EventLog:
    return EventLog(FrozenClock(T0))


def test_reached_and_censored_customers() -> None:
    lg = log()
    lg.add("alice", "signup")
    lg.add("alice", "report", after=3 * H)
    lg.add("bob", "signup", after=H)
    lg.add("carol", "report", after=2 * H)  # never signed up: not an observation
    lg.add("dave", "login", after=10 * H)  # sets as_of to T0 + 10h
    rows = observe(lg, REPORT)
    assert [r.customer_id for r in rows] == ["alice", "bob"]
    alice, bob = rows
    assert (alice.start, alice.reached_at, alice.duration, alice.observed) == (
        T0,
        T0 + 3 * H,
        3 * H,
        True,
    )
    assert (bob.start, bob.reached_at, bob.end, bob.duration) == (T0 + H, None, T0 + 10 * H, 9 * H)
    assert bob.censored


def test_as_of_hides_later_events() -> None:
    lg = log()
    lg.add("alice", "signup")
    lg.add("alice", "report", after=3 * H)
    lg.add("bob", "signup", after=5 * H)
    (alice,) = observe(lg, REPORT, as_of=T0 + 2 * H)
    assert alice.censored and alice.end == T0 + 2 * H
    assert [r.customer_id for r in observe(lg, REPORT, as_of=T0 + 5 * H)] == ["alice", "bob"]


def test_duplicate_event_ids_count_once() -> None:
    lg = log()
    lg.add("alice", "signup", event_id="e1")
    lg.add("alice", "report", after=H, event_id="e1")  # a duplicate id: ignored
    lg.add("alice", "login", after=2 * H)
    (alice,) = observe(lg, REPORT)
    assert alice.censored


def test_first_start_event_starts_the_clock() -> None:
    lg = log()
    lg.add("alice", "signup")
    lg.add("alice", "signup", after=D)
    lg.add("alice", "report", after=D + H)
    (alice,) = observe(lg, REPORT)
    assert alice.start == T0 and alice.duration == D + H


class TestBeforeStart:
    def make(self) -> EventLog:
        lg = log()
        lg.add("alice", "report")  # before her signup
        lg.add("alice", "signup", after=H)
        lg.add("alice", "report", after=5 * H)
        lg.add("bob", "signup")
        lg.add("bob", "report", after=2 * H)
        return lg

    def test_zero_counts_it_at_the_start(self) -> None:
        alice, bob = observe(self.make(), REPORT)
        assert alice.reached_at == T0 + H and alice.duration == timedelta(0)
        assert alice.reached_before_start and not bob.reached_before_start

    def test_ignore_looks_after_the_start_only(self) -> None:
        m = Milestone("r", "report", before_start="ignore")
        alice, _ = observe(self.make(), m)
        assert alice.reached_at == T0 + 5 * H and not alice.reached_before_start

    def test_ignore_counts_nth_from_the_start(self) -> None:
        m = Milestone("r", event("report").nth(2), before_start="ignore")
        alice, bob = observe(self.make(), m)
        assert alice.censored and bob.censored
        m_zero = Milestone("r", event("report").nth(2))
        alice, _ = observe(self.make(), m_zero)
        assert alice.reached_at == T0 + 5 * H

    def test_exclude_drops_the_customer(self) -> None:
        m = Milestone("r", "report", before_start="exclude")
        assert [r.customer_id for r in observe(self.make(), m)] == ["bob"]


class TestWindow:
    def make(self) -> EventLog:
        lg = log()
        lg.add("fast", "signup")
        lg.add("fast", "report", after=D)
        lg.add("slow", "signup")
        lg.add("slow", "report", after=10 * D)
        lg.add("young", "signup", after=11 * D)
        lg.add("young", "login", after=12 * D)  # as_of = T0 + 12d
        return lg

    def test_reached_after_the_window_is_censored_at_its_end(self) -> None:
        m = Milestone("r", "report", window=7 * D)
        fast, slow, young = observe(self.make(), m)
        assert fast.observed and fast.duration == D
        assert slow.censored and slow.end == T0 + 7 * D and slow.duration == 7 * D
        # a customer younger than the window is censored at as_of
        assert young.censored and young.duration == D

    def test_window_end_exactly_at_reach_counts_as_reached(self) -> None:
        m = Milestone("r", "report", window=10 * D)
        _, slow, _ = observe(self.make(), m)
        assert slow.observed and slow.duration == 10 * D


def test_datetime_start_is_the_later_of_release_and_first_event() -> None:
    release = T0 + 2 * D
    lg = log()
    lg.add("old", "login")  # active before the release
    lg.add("old", "export_used", after=3 * D)
    lg.add("new", "signup", after=4 * D)  # joined after the release
    lg.add("new", "export_used", after=4 * D + H)
    lg.add("late", "signup", after=5 * D)
    m = Milestone("adopt", "export_used", start=release)
    late, new, old = observe(lg, m)
    assert (old.start, old.duration) == (release, D)
    assert (new.start, new.duration) == (T0 + 4 * D, H)
    assert (late.start, late.duration, late.censored) == (T0 + 5 * D, timedelta(0), True)
    # before the release nobody's clock has started
    assert observe(lg, m, as_of=T0 + D) == []


def test_per_account_starts_at_the_accounts_first_start_and_any_member_counts() -> None:
    lg = log()
    lg.add("alice", "signup", account_id="acme")
    lg.add("bob", "signup", after=H, account_id="acme")
    lg.add("bob", "report", after=3 * H, account_id="acme")
    lg.add("carol", "signup", after=H, account_id="initech")
    lg.add("solo", "signup", after=H)  # no account: not in per-account figures
    acme, initech = observe(lg, REPORT, per="account")
    assert (acme.customer_id, acme.start, acme.duration) == ("acme", T0, 3 * H)
    assert initech.customer_id == "initech" and initech.censored


def test_attributes() -> None:
    lg = log()
    lg.add("alice", "signup", {"plan": "pro", "meta": {"a": 1}})
    lg.add("alice", "tutorial_completed", after=H)
    lg.add("alice", "csat", {"score": 4}, after=2 * H)
    lg.add("alice", "csat", {"score": 5}, after=3 * H)
    lg.add("bob", "signup", {"plan": "free"})
    attrs = [
        StartProperty("plan"),
        StartProperty("meta"),
        FirstTime(event("tutorial_completed")),
        PropertyOf(event("csat"), "score"),
        PropertyOf(event("csat"), "score", which="last"),
    ]
    alice, bob = observe(lg, REPORT, attributes=attrs)
    assert alice.attributes == ("pro", None, T0 + H, 4, 5)
    assert bob.attributes == ("free", None, None, None, None)


def test_start_property_reads_the_matching_start_event_among_ties() -> None:
    lg = log()
    lg.add("alice", "signup", {"plan": "free"}, event_id="b")
    lg.add("alice", "signup", {"plan": "pro"}, event_id="a")  # same time, smaller id
    m = Milestone("r", "report", start=event("signup"))
    (alice,) = observe(lg, m, attributes=[StartProperty("plan")])
    assert alice.attributes == ("pro",)


def test_start_property_needs_a_single_start_event() -> None:
    m = Milestone("r", "report", start=all_of("a", "b"))
    with pytest.raises(InvalidMilestoneError, match="StartProperty"):
        observe([], m, attributes=[StartProperty("plan")])


def test_roi_milestone() -> None:
    lg = log()
    lg.add("alice", "signup")
    lg.add("alice", "invoice_paid", {"amount": 400}, after=D)
    lg.add("alice", "invoice_paid", {"amount": 600}, after=3 * D)
    m = Milestone("roi", total("invoice_paid", "amount", at_least=1000))
    (alice,) = observe(lg, m)
    assert alice.duration == 3 * D


def test_bad_per_and_attributes() -> None:
    with pytest.raises(AnalysisError, match="per"):
        observe([], REPORT, per="team")  # type: ignore[arg-type]
    with pytest.raises(InvalidMilestoneError, match="not an attribute"):
        observe([], REPORT, attributes=["plan"])  # type: ignore[list-item]


def test_empty_source_has_no_observations() -> None:
    assert observe([], REPORT) == []


@given(event_logs(), milestones(), st.sampled_from(["user", "account"]))
def test_invariants(events: list, milestone: Milestone, per: str) -> None:  # type: ignore[type-arg]
    rows = observe(events, milestone, per=per)  # type: ignore[arg-type]
    ids = [r.customer_id for r in rows]
    assert ids == sorted(set(ids))
    latest = max((e.timestamp for e in events), default=None)
    for r in rows:
        assert r.duration >= timedelta(0)
        assert latest is not None and r.end <= latest
        if milestone.window is not None:
            assert r.duration <= milestone.window
        if r.reached_before_start:
            assert r.duration == timedelta(0) and milestone.before_start == "zero"
    # Among events with distinct ids the input order never matters. (Two different
    # events sharing an id are a client bug; the first one stored wins.)
    distinct = list({e.event_id: e for e in reversed(events)}.values())
    assert observe(distinct, milestone, per=per) == rows  # type: ignore[arg-type]


def test_an_enormous_window_is_no_window() -> None:
    lg = log()
    lg.add("alice", "signup")
    lg.add("alice", "login", after=D)
    m = Milestone("r", "report", window=timedelta(days=999_999_999))
    (alice,) = observe(lg, m)
    assert alice.censored and alice.end == T0 + D


# Durations in microseconds: a few values (ties within and across the two kinds),
# spread out (no ties) up to the longest a datetime difference can be,
# or spread out with some repeated (ties, but mostly distinct durations).
cell_durations = st.one_of(
    st.lists(st.integers(0, 5)),
    st.lists(st.integers(0, 5), min_size=20, max_size=60),
    st.lists(st.integers(0, 316_000_000_000_000_000)),
    st.lists(st.integers(0, 10**12), min_size=3).map(lambda xs: xs + xs[: len(xs) // 4]),
)


@given(cell_durations, cell_durations, st.integers(0, 3))
def test_cells_count_each_duration_of_each_kind(
    reached_at: list[int], censored_at: list[int], before: int
) -> None:
    reached, censored = Counter(reached_at), Counter(censored_at)
    order = sorted({*reached_at, *censored_at})
    for cells in (
        DurationCells.from_split(reached_at, censored_at, before),
        DurationCells.from_split(iter(reached_at), iter(censored_at), before),
        DurationCells.from_pairs(
            [*((d, True) for d in reached_at), *((d, False) for d in censored_at)], before
        ),
    ):
        assert list(cells.durations) == order
        assert list(cells.reached) == [reached[d] for d in order]
        assert list(cells.censored) == [censored[d] for d in order]
        assert cells.reached_before_start == before
        assert cells.n == len(reached_at) + len(censored_at)
