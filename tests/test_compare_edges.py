"""compare() and impact() at their edges: tests that cannot be run, bad arguments,
levers everyone was exposed to."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import ttvkit as ttv
from ttvkit import Condition, InvalidArgumentError, Milestone, event

T0 = datetime(2024, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)
REPORT = Milestone("r", event("report"))
ALL_TIED = "the log-rank variance is 0"


def ev(user: str, name: str, at: datetime, **props: Any) -> ttv.ValueEvent:
    return ttv.ValueEvent(user_id=user, name=name, timestamp=at, properties=props)


def tied_log() -> list[ttv.ValueEvent]:
    """Everyone still on the way at 1h reaches at exactly 5h: a log-rank variance of 0.

    ``tutorial`` (done by half of them) and ``csm`` (by two) split them.
    """
    events = []
    for i in range(6):
        start = T0 + timedelta(days=i)
        events += [ev(f"u{i}", "signup", start), ev(f"u{i}", "report", start + 5 * H)]
        if i % 2:
            events.append(ev(f"u{i}", "tutorial", start + timedelta(minutes=10)))
        if i < 2:
            events.append(ev(f"u{i}", "csm", start + timedelta(minutes=10)))
    events.append(ev("late", "signup", T0 + timedelta(days=30)))
    return events


def with_guide(events: list[ttv.ValueEvent]) -> list[ttv.ValueEvent]:
    """Adds customers s0..s9 who reach between 30 minutes and 4 hours, the guided
    (odd) ones sooner: with a 10-minute landmark ``guide`` can be tested, and by a
    4.5-hour landmark only the tied customers of :func:`tied_log` are left."""
    out = list(events)
    for i in range(10):
        start = T0 + timedelta(days=10 + i)
        out.append(ev(f"s{i}", "signup", start))
        if i % 2:
            out.append(ev(f"s{i}", "guide", start + timedelta(minutes=5)))
        minutes = 30 + 10 * i if i % 2 else 120 + 10 * i
        out.append(ev(f"s{i}", "report", start + timedelta(minutes=minutes)))
    return out


LEVERS: dict[Condition | str, timedelta] = {
    "tutorial": 4.5 * H,
    "csm": 4.5 * H,
    "guide": timedelta(minutes=10),
}


@contextmanager
def engine(kind: str, events: list[ttv.ValueEvent], tmp_path: Path) -> Iterator[Any]:
    if kind == "memory":
        yield ttv.MemoryStore(events)
        return
    with ttv.open_store(f"sqlite:///{tmp_path / 'ttv.db'}") as store:
        store.append(events)
        yield store


ENGINES = ["memory", "sqlite"]


class TestAllTiedVariance:
    def test_the_statistics_say_singular_with_their_own_error(self) -> None:
        # compare() catches only this subclass: any other refusal of the input
        # by the statistics is a bug to surface, not an "all tied" verdict.
        with pytest.raises(ttv.SingularVarianceError, match="variance matrix is singular"):
            ttv.stats.logrank_test([1.0, 1.0, 1.0, 1.0], [True] * 4, ["a", "a", "b", "b"])
        assert issubclass(ttv.SingularVarianceError, ttv.InvalidStatisticsInputError)
        with pytest.raises(ttv.InvalidStatisticsInputError) as single:
            ttv.stats.logrank_test([1.0, 2.0], [True, True], ["a", "a"])
        assert not isinstance(single.value, ttv.SingularVarianceError)

    @pytest.mark.parametrize("kind", ENGINES)
    def test_compare_by_intervention_reports_no_test(self, kind: str, tmp_path: Path) -> None:
        with engine(kind, tied_log(), tmp_path) as store:
            result = ttv.compare(store, REPORT, by=event("tutorial"), landmark=H)
        assert not result.logrank.testable
        assert (result.logrank.statistic, result.logrank.dof, result.p_value) == (0.0, 0, 1.0)
        assert not result.significant
        assert result.not_testable is not None and ALL_TIED in result.not_testable
        assert result.to_dict()["not_testable"] == result.not_testable
        assert f"log-rank: no test, {result.not_testable}" in str(result)
        assert [g.n for g in result.groups] == [3, 3]

    @pytest.mark.parametrize("kind", ENGINES)
    def test_compare_by_property_everyone_reached_at_zero(self, kind: str, tmp_path: Path) -> None:
        events = []
        for i, plan in enumerate(["a", "b", "a", "b"]):
            start = T0 + i * H
            events += [ev(f"u{i}", "report", start - H), ev(f"u{i}", "signup", start, plan=plan)]
        with engine(kind, events, tmp_path) as store:
            result = ttv.compare(store, REPORT, by="plan")
        assert (result.logrank.dof, result.p_value) == (0, 1.0)
        assert result.not_testable is not None and ALL_TIED in result.not_testable

    def test_engines_agree(self, tmp_path: Path) -> None:
        events = with_guide(tied_log())
        with engine("sqlite", events, tmp_path) as store:
            from_sql = ttv.impact(store, REPORT, LEVERS)
            compared = ttv.compare(store, REPORT, by=event("csm"), landmark=4.5 * H)
        in_memory = ttv.MemoryStore(events)
        assert from_sql.to_dict() == ttv.impact(in_memory, REPORT, LEVERS).to_dict()
        alone = ttv.compare(in_memory, REPORT, by=event("csm"), landmark=4.5 * H)
        assert compared.to_dict() == alone.to_dict()
        assert compared.not_testable is not None and ALL_TIED in compared.not_testable

    @pytest.mark.parametrize("kind", ENGINES)
    def test_impact_marks_the_lever_not_testable(self, kind: str, tmp_path: Path) -> None:
        with engine(kind, with_guide(tied_log()), tmp_path) as store:
            ranking = ttv.impact(store, REPORT, LEVERS)
        rows = {r.intervention: r for r in ranking.rows}
        assert rows["guide"].tier < 3 and rows["guide"].p_adjusted is not None
        assert ranking.rows[0].intervention == "guide"
        for name in ("tutorial", "csm"):
            row = rows[name]
            assert row.tier == 3 and row.p_adjusted is None and not row.significant
            assert row.not_testable is not None and ALL_TIED in row.not_testable
            assert row.to_dict()["testable"] is False
            assert f"{name}: not testable, {row.not_testable}" in str(ranking)
        # Holm counts only the lever tested: its p-value is not adjusted.
        guide = rows["guide"]
        assert guide.comparison is not None and guide.p_adjusted == guide.comparison.p_value


class TestBadArguments:
    """Each raises InvalidArgumentError before the source is opened."""

    @staticmethod
    def store() -> ttv.MemoryStore:
        return ttv.MemoryStore(
            [
                ev("u1", "signup", T0, plan="a"),
                ev("u1", "report", T0 + 2 * H),
                ev("u2", "signup", T0 + H, plan="b"),
                ev("u2", "report", T0 + 5 * H),
                ev("u3", "signup", T0 + 2 * H, plan="a"),
                ev("u3", "report", T0 + 3 * H),
            ]
        )

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"reference": []}, r"reference=\[\]: a group is one value"),
            ({"reference": float("nan")}, "reference=nan: a group is one value"),
            ({"groups": [["a"]]}, r"groups\[0\]=\['a'\]: a group is one value"),
            ({"groups": 5}, "groups=5: pass a list of the groups"),
            ({"groups": "ab"}, "groups='ab': pass a list of the groups"),
            ({"groups": ["a", "a"]}, "names the group 'a' twice"),
            ({"groups": [1, 1.0]}, "names the group 1.0 twice"),
            ({"groups": ["a"]}, "name at least two groups"),
            ({"groups": []}, "name at least two groups"),
        ],
    )
    def test_compare(self, kwargs: dict[str, Any], message: str) -> None:
        with pytest.raises(InvalidArgumentError, match=message):
            ttv.compare(self.store(), REPORT, by="plan", **kwargs)

    def test_compare_checks_before_opening_the_source(self, tmp_path: Path) -> None:
        missing = f"sqlite:///{tmp_path / 'nope' / 'ttv.db'}"
        with pytest.raises(InvalidArgumentError, match="twice"):
            ttv.compare(missing, REPORT, by="plan", groups=["a", "a"])
        with pytest.raises(InvalidArgumentError, match="interventions=5"):
            ttv.impact(missing, REPORT, 5)  # type: ignore[arg-type]

    def test_true_and_1_are_two_groups(self) -> None:
        # Not a duplicate by the JSON rules: the check lets it through to the data.
        with pytest.raises(ttv.AnalysisError, match="have no customers"):
            ttv.compare(self.store(), REPORT, by="plan", groups=[True, 1])

    @pytest.mark.parametrize("interventions", [5, None, event("tutorial"), [], {}, "tutorial"])
    def test_impact(self, interventions: Any) -> None:
        with pytest.raises(InvalidArgumentError, match="interventions"):
            ttv.impact(self.store(), REPORT, interventions)

    @pytest.mark.parametrize(
        "interventions",
        [["tutorial", "tutorial"], ["tutorial", event("tutorial")]],
    )
    def test_impact_names_each_lever_once(self, interventions: Any) -> None:
        # Twice, it would be ranked twice and double Holm's adjustment of every p-value.
        with pytest.raises(InvalidArgumentError, match="tutorial twice"):
            ttv.impact(self.store(), REPORT, interventions)

    def test_speed_counts(self) -> None:
        distribution = ttv.time_to_value(self.store(), REPORT)
        with pytest.raises(InvalidArgumentError, match=r"bands=.fast.\): pass SpeedBands"):
            distribution.speed_counts("fast")  # type: ignore[arg-type]


class TestEveryoneExposed:
    def test_n_exposed_counts_everyone_compared(self) -> None:
        events = []
        for i in range(10):
            start = T0 + i * H
            events += [ev(f"u{i}", "signup", start), ev(f"u{i}", "welcome_mail", start)]
            if i % 2:
                events.append(ev(f"u{i}", "tutorial", start + H / 2))
            events.append(ev(f"u{i}", "late_mail", start + 1.5 * H))  # after the landmark
            events.append(ev(f"u{i}", "report", start + (2 if i % 2 else 6) * H))
        ranking = ttv.impact(
            ttv.MemoryStore(events), REPORT, ["tutorial", "welcome_mail", "late_mail"], landmark=H
        )
        rows = {r.intervention: r for r in ranking.rows}
        mail, never, tutorial = rows["welcome_mail"], rows["late_mail"], rows["tutorial"]
        assert mail.not_testable == "everyone compared was exposed by the landmark (1h)"
        assert (mail.n_exposed, mail.n_not_exposed) == (10, 0)
        assert never.not_testable == "everyone compared was not exposed by the landmark (1h)"
        assert (never.n_exposed, never.n_not_exposed) == (0, 10)
        assert (tutorial.n_exposed, tutorial.n_not_exposed) == (5, 5)
        for row in (mail, never, tutorial):
            data = row.to_dict()
            assert (data["n_exposed"], data["n_not_exposed"]) == (row.n_exposed, row.n_not_exposed)
        line = next(x for x in str(ranking).splitlines() if "welcome_mail " in x)
        assert line.split()[2:4] == ["1h", "10"]


def test_a_group_is_found_by_any_spelling_of_its_number() -> None:
    """``1`` and ``1.0`` are one group (whichever the data gave first), ``True`` another."""
    events = []
    for i in range(24):
        tier: object = [1.0, 2, 1, 2.0, True, True][i % 6]
        events.append(ev(f"u{i:02d}", "signup", T0 + i * H, tier=tier))
        events.append(ev(f"u{i:02d}", "report", T0 + i * H + (1 + i % 5) * H))
    result = ttv.compare(ttv.MemoryStore(events), REPORT, by="tier", groups=[1, 2], bootstrap=0)
    assert [g.label for g in result.groups] == [1.0, 2]
    assert result.group(1) is result.group(1.0) is result.groups[0]
    assert result.is_reference(1) and result.is_reference(1.0) and not result.is_reference(True)
    with pytest.raises(ttv.InvalidArgumentError, match="no group True"):
        result.group(True)


def test_groups_that_would_read_alike_are_named_apart() -> None:
    """Mixed exports give ``True`` beside ``"yes"``, ``1`` beside ``"1"``: their rows,
    legend entries and verdict must not read alike."""
    labels: list[object] = [True, "yes", None, "(missing)", 1, "1", "pro"]
    events = []
    for i in range(len(labels) * 4):
        events.append(ev(f"u{i:02d}", "signup", T0 + i * H, tier=labels[i % len(labels)]))
        events.append(ev(f"u{i:02d}", "report", T0 + i * H + (1 + i % 5) * H))
    result = ttv.compare(ttv.MemoryStore(events), REPORT, by="tier", bootstrap=0)
    names = dict(zip([repr(g.label) for g in result.groups], result.group_names(), strict=True))
    assert names == {
        "True": "true",
        "'yes'": '"yes"',
        "None": "null",
        "'(missing)'": '"(missing)"',
        "1": "1",
        "'1'": '"1"',
        "'pro'": "pro",
    }
    rows = [row[0].removesuffix(" (reference)") for row in result.table().rows]
    assert sorted(rows) == sorted(names.values())
    kept = {e.user_id for e in events if repr(e.properties.get("tier")) in ("True", "'pro'")}
    some = ttv.MemoryStore([e for e in events if e.user_id in kept])
    alone = ttv.compare(some, REPORT, by="tier", bootstrap=0)
    assert sorted(alone.group_names()) == ["pro", "yes"]  # nothing alike: the usual words
