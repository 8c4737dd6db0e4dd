"""Results are values: the layers between result classes and their renderers, and
the one vocabulary of the result API (Speed, n_censored, share_within)."""

from __future__ import annotations

import ast
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import ttvkit as ttv
from ttvkit import AnalysisError, Milestone, Speed, SpeedBands
from ttvkit.results import CohortRow, SpeedGroup
from ttvkit.testing import EventLog, FrozenClock

SRC = Path(ttv.__file__).parent
RENDERERS = [*sorted((SRC / "render").glob("*.py")), *sorted((SRC / "plotting").glob("*.py"))]
RESULT_MODULES = sorted((SRC / "results").glob("*.py"))
T0 = datetime(2026, 1, 5, tzinfo=UTC)
H = timedelta(hours=1)


def _imports(tree: ast.AST) -> list[tuple[ast.stmt, str]]:
    """Every import in *tree* with the module it names (``from x import y`` names x.y too)."""
    found: list[tuple[ast.stmt, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found += [(node, node.module), *((node, f"{node.module}.{a.name}") for a in node.names)]
        elif isinstance(node, ast.Import):
            found += [(node, a.name) for a in node.names]
    return found


def _under_type_checking(tree: ast.AST) -> set[ast.stmt]:
    guarded: set[ast.stmt] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            guarded |= {n for stmt in node.body for n in ast.walk(stmt) if isinstance(n, ast.stmt)}
    return guarded


def _module_level(tree: ast.Module) -> set[ast.stmt]:
    """Statements run at import time: not inside a function body."""
    inside: set[ast.stmt] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            inside |= {n for n in ast.walk(node) if isinstance(n, ast.stmt) and n is not node}
    return {n for n in ast.walk(tree) if isinstance(n, ast.stmt)} - inside


@pytest.mark.parametrize("path", RENDERERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_renderers_import_result_classes_for_type_checking_only(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    guarded = _under_type_checking(tree)
    runtime = [
        name
        for node, name in _imports(tree)
        if name.startswith("ttvkit.results") and node not in guarded
    ]
    assert runtime == []


@pytest.mark.parametrize("path", RESULT_MODULES, ids=lambda p: p.name)
def test_result_modules_import_no_renderer_at_import_time(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    at_import = _module_level(tree)
    renderers = [
        name
        for node, name in _imports(tree)
        if node in at_import and name.startswith(("ttvkit.render", "ttvkit.plotting"))
    ]
    assert renderers == []


def test_importing_results_loads_no_renderer() -> None:
    code = (
        "import sys, ttvkit.results;"
        "print(sorted(m for m in sys.modules if m.startswith(('ttvkit.render', 'ttvkit.plotting'))"
        " and m != 'ttvkit.stores.sql.render'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_old_private_modules_are_gone() -> None:
    assert not (SRC / "_html.py").exists()
    assert not (SRC / "_frames.py").exists()
    assert not (SRC / "results.py").exists()
    assert not (SRC / "plotting.py").exists()


# --------------------------------------------------------------------------- one vocabulary


def _log() -> EventLog:
    lg = EventLog(FrozenClock(T0))
    for user in ("a", "b", "c", "d"):
        lg.add(user, "signup", at=T0)
    lg.add("a", "report", at=T0 + H)
    lg.add("b", "report", at=T0 + 30 * H)
    for user, score in (("a", 5), ("b", 3), ("c", 2), ("d", 1)):
        lg.add(user, "csat", {"score": score}, at=T0 + 40 * H)
    return lg


REPORT = Milestone("first_report", "report")
BANDS = SpeedBands(immediate=2 * H, short=24 * H)


def test_satisfaction_groups_are_speed_members_equal_to_the_old_strings() -> None:
    report = ttv.satisfaction(_log(), REPORT, "csat", bands=BANDS)
    speeds = [g.speed for g in report.groups]
    assert speeds == [Speed.IMMEDIATE, Speed.SHORT, Speed.LONG, Speed.NOT_YET]
    assert speeds == ["immediate", "short", "long", "not_yet"]
    assert [str(s) for s in speeds] == ["immediate", "short", "long", "not_yet"]
    assert report.group(Speed.NOT_YET) is report.group("not_yet")
    assert sorted(report.group(Speed.NOT_YET).scores) == [1.0, 2.0]
    assert [g["speed"] for g in report.to_dict()["groups"]] == [
        "immediate",
        "short",
        "long",
        "not_yet",
    ]


def test_speed_group_takes_the_strings_calculators_pass() -> None:
    assert SpeedGroup("not_yet", (1.0,)).speed is Speed.NOT_YET
    assert SpeedGroup(Speed.SHORT, ()).speed is Speed.SHORT
    with pytest.raises(AnalysisError, match=r"'slow'.*use a ttvkit\.Speed"):
        SpeedGroup("slow", ())


def test_speed_counts_list_only_the_classes_bands_give() -> None:
    dist = ttv.time_to_value(_log(), REPORT, bands=BANDS)
    assert list(dist.speed_counts()) == [
        Speed.IMMEDIATE,
        Speed.SHORT,
        Speed.LONG,
        Speed.UNDETERMINED,
    ]
    assert set(dist.to_dict()["speed_counts"]) == {"immediate", "short", "long", "undetermined"}


def test_cohort_rows_use_the_names_every_result_uses() -> None:
    table = ttv.cohorts(_log(), REPORT, period="week")
    row: CohortRow = table.rows[0]
    assert row.n_censored == row.distribution.n_censored == 2
    assert row.n_reached == row.distribution.n_reached == 2
    assert row.share_within == row.distribution.reached_within(table.within)
    # the JSON keeps its keys
    assert row.to_dict()["still_on_the_way"] == 2
    assert row.to_dict()["reached_within"] == row.share_within


def test_the_old_cohort_names_still_work_and_say_what_replaces_them() -> None:
    row = ttv.cohorts(_log(), REPORT, period="week").rows[0]
    with pytest.warns(DeprecationWarning, match=r"still_on_the_way .*use CohortRow.n_censored"):
        assert row.still_on_the_way == row.n_censored
    with pytest.warns(DeprecationWarning, match=r"reached_within .*use CohortRow.share_within"):
        assert row.reached_within == row.share_within


def test_reached_within_is_a_method_taking_a_duration_wherever_it_is() -> None:
    lg = _log()
    dist = ttv.time_to_value(lg, REPORT)
    stage = ttv.journey(lg, [Milestone("csat", "csat"), REPORT]).stages[0]
    for result in (dist, stage):
        assert callable(result.reached_within)
        assert 0.0 <= (result.reached_within(timedelta(days=2)) or 0.0) <= 1.0


def test_plot_names_what_it_can_draw_for_anything_else() -> None:
    from ttvkit import plotting

    with pytest.raises(AnalysisError, match="cannot plot a Milestone: pass one of TTVDistribution"):
        plotting.to_png(REPORT)


def test_every_result_pickles_with_the_customers_behind_it() -> None:
    """A worker process sends results back pickled; the drill-down travels as rows."""
    import pickle

    import ttvkit as ttv
    from ttvkit import datasets as ds
    from ttvkit import milestones

    store = ttv.MemoryStore(ds.saas_events(120, seed=7))
    first = milestones.first_value(ds.REPORT_CREATED)
    bands = ttv.SpeedBands(immediate=timedelta(minutes=5), short=timedelta(days=7))
    results = [
        ttv.time_to_value(store, first, bands=bands),
        ttv.compare(store, first, by="plan", bootstrap=0),
        ttv.impact(store, first, [ds.TUTORIAL_COMPLETED], bootstrap=0),
        ttv.cohorts(store, first, "week"),
        ttv.journey(store, [milestones.onboarding(list(ds.ONBOARDING_STEPS)), first]),
        ttv.satisfaction(store, first, survey="csat_submitted", bands=bands),
    ]
    rows = results[0].observations()
    copies = [pickle.loads(pickle.dumps(r)) for r in results]  # noqa: S301 - our own bytes
    store.close()  # the copies need the source no more
    for result, copy in zip(results, copies, strict=True):
        assert copy == result and copy.to_dict() == result.to_dict()
    assert copies[0].observations() == rows and len(rows) == copies[0].n
    assert copies[4].stages[1].distribution.observations()  # type: ignore[union-attr]


def test_results_and_events_pickle_after_their_source_is_closed(tmp_path: Path) -> None:
    # A distribution pickled after its `with` block raised the store's "is closed"
    # (pickle and copy.deepcopy alike); a ValueEvent never pickled (its properties are
    # a read-only view).
    import copy
    import pickle

    from ttvkit import datasets as ds
    from ttvkit import milestones

    first = milestones.first_value(ds.REPORT_CREATED)
    events = ds.saas_events(60, seed=3)
    with ttv.open_store(f"sqlite:///{tmp_path / 'ttv.db'}") as store:
        store.append(events)
        result = ttv.time_to_value(store, first)
        rows = result.observations()
    for again in (pickle.loads(pickle.dumps(result)), copy.deepcopy(result)):  # noqa: S301
        assert again.to_dict() == result.to_dict() and again.n == len(rows)
        with pytest.raises(AnalysisError, match="customers behind this distribution were not"):
            again.observations()
    for event in events[:50]:
        for again_event in (pickle.loads(pickle.dumps(event)), copy.deepcopy(event)):  # noqa: S301
            assert again_event == event and again_event.to_dict() == event.to_dict()
            assert again_event.event_id == event.event_id
            with pytest.raises(TypeError):
                again_event.properties["x"] = 1  # type: ignore[index]  # still read-only


def _many_durations_store() -> ttv.MemoryStore:
    """3,000 customers: 2,700 reach, each at a time of its own (2,701 curve rows); the
    1,500 on "free" give 1,201 rows (300 still on the way), the 1,500 on "pro" 1,500."""
    events = []
    for i in range(3000):
        plan = "pro" if i % 2 else "free"
        events.append(ttv.ValueEvent(f"u{i}", "signup", T0, properties={"plan": plan}))
        if i % 10:
            events.append(ttv.ValueEvent(f"u{i}", "report", T0 + timedelta(seconds=i + 1)))
    events.append(ttv.ValueEvent("late", "other", T0 + timedelta(days=2)))
    return ttv.MemoryStore(events)


def _curves(value: object) -> list[dict[str, object]]:
    """Every survival curve (a dict with ``rows_total``) inside a ``to_dict()``."""
    if isinstance(value, dict):
        here = [value] if "rows_total" in value else []
        return here + [c for v in value.values() for c in _curves(v)]
    if isinstance(value, list):
        return [c for v in value for c in _curves(v)]
    return []


def test_curve_rows_limit_bounds_every_curve_of_a_result_within_its_block() -> None:
    from ttvkit.results import curve_rows_limit

    store = _many_durations_store()
    milestone = Milestone("first_report", start="signup", reached="report")
    comparison = ttv.compare(store, milestone, by="plan")
    full = _curves(comparison.to_dict())
    assert len(full) == 2
    assert [(len(c["rows"]), c["rows_total"]) for c in full] == [(1201, 1201), (1500, 1500)]  # type: ignore[arg-type]
    with curve_rows_limit(50):
        small = _curves(comparison.to_dict())
        with curve_rows_limit(None):  # nested: every row again
            assert _curves(comparison.to_dict()) == full
        assert _curves(comparison.to_dict()) == small
    assert [c["rows_total"] for c in small] == [1201, 1500]
    assert all(3 < len(c["rows"]) <= 50 for c in small)  # type: ignore[arg-type]
    assert _curves(comparison.to_dict()) == full  # the limit ends with its block
    for bad in (2, 10.5, True):
        with pytest.raises(ttv.InvalidArgumentError, match="rows of at least 3"):
            curve_rows_limit(bad).__enter__()  # type: ignore[arg-type]


def test_a_report_keeps_its_size_whatever_the_number_of_customers() -> None:
    import json

    from ttvkit.report import Report, Section, render

    store = _many_durations_store()
    milestone = Milestone("first_report", start="signup", reached="report")
    report = Report(
        "big",
        [
            Section("ttv", ttv.time_to_value(store, milestone)),
            Section("by plan", ttv.compare(store, milestone, by="plan")),
        ],
    )
    curves = _curves(json.loads(render(report, "json")))
    assert [c["rows_total"] for c in curves] == [2701, 1201, 1500]
    assert all(len(c["rows"]) <= 1002 and len(c["rows"]) < c["rows_total"] for c in curves)  # type: ignore[arg-type,operator]
    assert _curves(report.to_dict()) == curves
    with pytest.raises(ttv.InvalidArgumentError, match=r"limited to 2: .* at least 3"):
        report.to_dict(curve_rows=2)
    every_row = _curves(report.to_dict(curve_rows=None))
    assert [len(c["rows"]) for c in every_row] == [2701, 1201, 1500]  # type: ignore[arg-type]


# --------------------------------------------------------------------------- drill-down of parts


def _weekly_log() -> EventLog:
    lg = EventLog(FrozenClock(T0 + timedelta(days=30)))
    for i in range(30):
        user, start = f"u{i:02d}", T0 + i * 17 * H
        lg.add(user, "signup", {"plan": ("free", "pro", "team")[i % 3]}, at=start)
        if i % 4:
            lg.add(user, "report", at=start + (i % 7) * 5 * H)
    return lg


def test_each_group_and_cohort_drills_down_to_its_own_customers() -> None:
    from attrs import evolve

    from ttvkit.observations import ObservationColumns

    lg = _weekly_log()
    everyone = {o.customer_id: o for o in ttv.time_to_value(lg, REPORT).observations()}
    by_plan = ttv.compare(lg, REPORT, by="plan")
    parts = [g.distribution for g in by_plan.groups]
    parts += [row.distribution for row in ttv.cohorts(lg, REPORT, period="week").rows]
    seen: list[str] = []
    for part in parts:
        rows = part.observations()
        # A group's rows carry the grouping attribute; otherwise they are the same.
        assert rows and all(everyone[o.customer_id] == evolve(o, attributes=()) for o in rows)
        assert ObservationColumns.from_rows(rows).cells() == part.cells
        seen += [o.customer_id for o in rows]
    # Every customer once among the groups, and once among the cohorts.
    assert sorted(seen) == sorted([*everyone, *everyone])
