"""Milestones, speed bands and the presets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ttvkit import InvalidMilestoneError, Milestone, MilestoneKind, Speed, SpeedBands, event
from ttvkit import milestones as presets
from ttvkit.conditions import EventCondition

BANDS = SpeedBands(immediate=timedelta(minutes=5), short=timedelta(days=7))


class TestSpeedBands:
    @pytest.mark.parametrize(
        ("duration", "reached", "speed"),
        [
            (timedelta(0), True, Speed.IMMEDIATE),
            (timedelta(minutes=5), True, Speed.IMMEDIATE),
            (timedelta(minutes=5, seconds=1), True, Speed.SHORT),
            (timedelta(days=7), True, Speed.SHORT),
            (timedelta(days=8), True, Speed.LONG),
            (timedelta(minutes=1), False, Speed.UNDETERMINED),
            (timedelta(days=7, microseconds=-1), False, Speed.UNDETERMINED),
            # Censored at exactly short: reaching there would have been SHORT and
            # reaching at t counts before censoring at t, so it did not: LONG.
            (timedelta(days=7), False, Speed.LONG),
            (timedelta(days=7, seconds=1), False, Speed.LONG),
        ],
    )
    def test_classify(self, duration: timedelta, reached: bool, speed: Speed) -> None:
        assert BANDS.classify(duration, reached=reached) is speed

    @given(
        bounds=st.lists(st.integers(1, 10**7), min_size=2, max_size=2, unique=True).map(sorted),
        cells=st.dictionaries(
            st.integers(0, 2 * 10**7), st.tuples(st.integers(0, 3), st.integers(0, 3))
        ),
    )
    def test_count_cells_classes_each_customer_as_classify(
        self, bounds: list[int], cells: dict[int, tuple[int, int]]
    ) -> None:
        # Bounds and durations a microsecond apart: the runs' edges are exact.
        bands = SpeedBands(
            immediate=timedelta(microseconds=bounds[0]), short=timedelta(microseconds=bounds[1])
        )
        durations = sorted({*cells, *bounds, bounds[0] + 1, bounds[1] - 1, bounds[1] + 1})
        counts = [cells.get(d, (1, 1)) for d in durations]
        want = dict.fromkeys(Speed, 0)
        for micros, (reached, censored) in zip(durations, counts, strict=True):
            duration = timedelta(microseconds=micros)
            want[bands.classify(duration, reached=True)] += reached
            want[bands.classify(duration, reached=False)] += censored
        got = bands.count_cells(durations, [r for r, _ in counts], [c for _, c in counts])
        assert set(got) == {Speed.IMMEDIATE, Speed.SHORT, Speed.LONG, Speed.UNDETERMINED}
        assert got == {speed: want[speed] for speed in got}
        assert sum(got.values()) == sum(r + c for r, c in counts)

    @given(
        bounds=st.lists(st.integers(1, 10**7), min_size=2, max_size=2, unique=True).map(sorted),
        durations=st.lists(st.integers(0, 2 * 10**7)),
    )
    def test_classify_reached_classes_each_duration_as_classify(
        self, bounds: list[int], durations: list[int]
    ) -> None:
        bands = SpeedBands(
            immediate=timedelta(microseconds=bounds[0]), short=timedelta(microseconds=bounds[1])
        )
        # Each bound and its neighbours a microsecond away: the inclusive edges.
        edges = [b + delta for b in bounds for delta in (-1, 0, 1)]
        micros = [*durations, *edges]
        want = [bands.classify(timedelta(microseconds=m)) for m in micros]
        assert bands.classify_reached(micros) == want
        assert bands.classify_reached(iter(micros)) == want

    @pytest.mark.parametrize(
        ("immediate", "short", "fragment"),
        [
            (timedelta(days=1), timedelta(hours=1), "shorter than short"),
            (timedelta(days=1), timedelta(days=1), "shorter than short"),
            (timedelta(0), timedelta(days=1), "longer than zero"),
            (5, timedelta(days=1), "timedelta"),
        ],
    )
    def test_validation(self, immediate: object, short: object, fragment: str) -> None:
        with pytest.raises(InvalidMilestoneError, match=fragment):
            SpeedBands(immediate=immediate, short=short)  # type: ignore[arg-type]


class TestMilestone:
    def test_defaults(self) -> None:
        m = Milestone("first_report", event("report_created"))
        assert m.start == event("signup")
        assert m.kind is MilestoneKind.BASIC
        assert m.window is None
        assert m.before_start == "zero"

    def test_event_names_as_strings(self) -> None:
        m = Milestone("x", "report_created", start="account_created")
        assert m.reached == event("report_created")
        assert m.start == event("account_created")

    def test_datetime_start_is_normalised(self) -> None:
        from datetime import timezone

        m = Milestone(
            "x", "used", start=datetime(2026, 5, 1, 2, tzinfo=timezone(timedelta(hours=2)))
        )
        assert m.start == datetime(2026, 5, 1, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("kwargs", "fragment"),
        [
            ({"name": "", "reached": "x"}, "name"),
            ({"name": "m", "reached": 3}, "reached"),
            ({"name": "m", "reached": "x", "start": datetime(2026, 1, 1)}, "naive"),
            ({"name": "m", "reached": "x", "start": 5}, "start"),
            ({"name": "m", "reached": "x", "window": timedelta(0)}, "window"),
            ({"name": "m", "reached": "x", "window": timedelta(days=-1)}, "window"),
            ({"name": "m", "reached": "x", "window": 3600}, "window"),
            ({"name": "m", "reached": "x", "kind": "basic"}, "kind"),
            ({"name": "m", "reached": "x", "before_start": "drop"}, "before_start"),
        ],
    )
    def test_validation(self, kwargs: dict[str, object], fragment: str) -> None:
        with pytest.raises(InvalidMilestoneError, match=fragment):
            Milestone(**kwargs)  # type: ignore[arg-type]

    def test_to_dict_and_describe(self) -> None:
        m = Milestone(
            "r", event("report").nth(10), kind=MilestoneKind.EXCEED, window=timedelta(days=30)
        )
        assert m.to_dict() == {
            "name": "r",
            "kind": "exceed",
            "start": "signup",
            "reached": "report (#10)",
            "window_seconds": 30 * 86400.0,
            "before_start": "zero",
        }
        assert m.describe() == "r (exceed): from signup to report (#10), within 30d"


class TestPresets:
    def test_each_preset_has_its_kind(self) -> None:
        released = datetime(2026, 6, 1, tzinfo=UTC)
        assert presets.first_value("report").kind is MilestoneKind.BASIC
        assert presets.exceed_value(event("report").nth(10)).kind is MilestoneKind.EXCEED
        assert presets.upgrade().kind is MilestoneKind.UPGRADE
        assert presets.onboarding().kind is MilestoneKind.ONBOARDING
        assert (
            presets.feature_adoption("export_used", released).kind is MilestoneKind.FEATURE_ADOPTION
        )
        assert presets.roi("invoice_paid", "amount", 1000).kind is MilestoneKind.ROI

    def test_onboarding_steps_are_all_of(self) -> None:
        m = presets.onboarding(["profile_done", "invite_sent", event("data_imported")])
        assert m.reached.event_names() == {"profile_done", "invite_sent", "data_imported"}
        assert m.reached.describe().startswith("all of")

    def test_feature_adoption_starts_at_release(self) -> None:
        released = datetime(2026, 6, 1, tzinfo=UTC)
        m = presets.feature_adoption("export_used", released)
        assert m.start == released
        assert isinstance(m.reached, EventCondition)
        assert m.name == "adopt export_used"

    def test_roi_uses_a_total(self) -> None:
        m = presets.roi("invoice_paid", "amount", 1000, window=timedelta(days=90))
        assert m.reached.describe() == "total amount of invoice_paid >= 1000"
        assert m.window == timedelta(days=90)


def test_default_roi_names_and_descriptions_keep_every_digit() -> None:
    """``:g`` wrote 1000000 and 1000001 both as ``1e+06``: two milestones, one name."""
    from ttvkit import milestones

    a = milestones.roi("invoice_paid", "amount", 1_000_000)
    b = milestones.roi("invoice_paid", "amount", 1_000_001)
    assert (a.name, b.name) == ("amount 1000000", "amount 1000001")
    assert a.to_dict() != b.to_dict()
    assert milestones.roi("invoice_paid", "amount", 2.5).name == "amount 2.5"
    assert milestones.roi("invoice_paid", "amount", 1e6).name == "amount 1000000"
    assert (
        "total amount of invoice_paid >= 0.1"
        in milestones.roi("invoice_paid", "amount", 0.1).to_dict()["reached"]
    )
