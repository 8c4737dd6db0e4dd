"""ttvkit.datasets: a deterministic, valid, realistic log whose known effects the engine finds."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from ttvkit import ConfigurationError, Milestone, ValueEvent, event
from ttvkit.datasets import (
    CHANNELS,
    CSAT,
    CSM_ASSIGNED,
    CSM_WINDOW,
    DEFAULT_DAYS,
    DEFAULT_START,
    EVENT_NAMES,
    FEATURE_USED,
    INVOICE_PAID,
    ONBOARDING_COMPLETED,
    ONBOARDING_STEPS,
    PLANS,
    REPORT_CREATED,
    ROW_FIELDS,
    SIGNUP,
    SUPPORT_TICKET,
    TUTORIAL_COMPLETED,
    TUTORIAL_WINDOW,
    UPGRADED,
    SaaSLogConfig,
    feature_released_at,
    saas_event_rows,
    saas_events,
)
from ttvkit.observations import FirstTime, Observation, PropertyOf, observe

DAY = timedelta(days=1)
END = DEFAULT_START + timedelta(days=DEFAULT_DAYS)
FIRST_REPORT = Milestone("first_report", event(REPORT_CREATED))
N_LARGE = 12_000  # enough users for the effects to stand well clear of the noise


@pytest.fixture(scope="module")
def large_log() -> list[ValueEvent]:
    return saas_events(N_LARGE, seed=7)


@pytest.fixture(scope="module")
def by_user(large_log: list[ValueEvent]) -> dict[str, list[ValueEvent]]:
    users: defaultdict[str, list[ValueEvent]] = defaultdict(list)
    for e in large_log:
        users[e.user_id].append(e)
    return users


def dicts(events: Sequence[ValueEvent]) -> list[dict[str, Any]]:
    return [e.to_dict() for e in events]


# --- determinism ---------------------------------------------------------------


def test_same_arguments_give_the_same_log_ids_included() -> None:
    first = saas_events(300, seed=3)
    again = saas_events(300, seed=3)
    assert dicts(first) == dicts(again)
    assert len({e.event_id for e in first}) == len(first)


def test_a_different_seed_gives_a_different_log() -> None:
    a, b = saas_events(300, seed=3), saas_events(300, seed=4)
    assert [(e.user_id, e.name, e.timestamp) for e in a] != [
        (e.user_id, e.name, e.timestamp) for e in b
    ]
    assert not {e.event_id for e in a} & {e.event_id for e in b}


def test_rows_hold_the_same_events_as_saas_events() -> None:
    rows = list(saas_event_rows(200, seed=5))
    assert all(len(row) == len(ROW_FIELDS) for row in rows)
    from_rows = {row[0]: dict(zip(ROW_FIELDS, row, strict=True)) for row in rows}
    from_events: dict[str, dict[str, Any]] = {
        e.event_id: {**e.to_dict(), "timestamp": e.timestamp, "properties": dict(e.properties)}
        for e in saas_events(200, seed=5)
    }
    assert from_rows == from_events


def test_rows_come_user_by_user_in_time_order_with_fresh_property_dicts() -> None:
    rows = list(saas_event_rows(200, seed=5))
    seen: list[str] = []
    for previous, row in itertools.pairwise(rows):
        if row[1] == previous[1]:
            assert row[4] >= previous[4]
    for row in rows:
        if not seen or seen[-1] != row[1]:
            assert row[1] not in seen, "a user's rows are not contiguous"
            seen.append(row[1])
            assert row[3] == SIGNUP
    assert len({id(row[5]) for row in rows}) == len(rows)


# --- validity ------------------------------------------------------------------


def test_every_event_is_a_valid_value_event_in_range_sorted_in_whole_milliseconds() -> None:
    log = saas_events(500, seed=11)
    for e in log:
        assert ValueEvent.from_mapping(e.to_dict()) == e
        assert e.timestamp.tzinfo is UTC
        assert DEFAULT_START <= e.timestamp < END
        assert e.timestamp.microsecond % 1000 == 0
    keys = [(e.timestamp, e.event_id) for e in log]
    assert keys == sorted(keys)


def test_start_is_honoured_to_the_microsecond_in_any_time_zone() -> None:
    start = datetime(2025, 3, 1, 12, 0, 0, 123_456, tzinfo=timezone(timedelta(hours=2)))
    log = saas_events(100, seed=1, start=start, days=30)
    for e in log:
        assert e.timestamp.tzinfo is UTC
        assert start <= e.timestamp < start + timedelta(days=30)
        assert (e.timestamp - start) % timedelta(milliseconds=1) == timedelta(0)


def test_logs_after_2038_take_the_exact_clock() -> None:
    start = datetime(2150, 1, 1, tzinfo=UTC)
    log = saas_events(100, seed=1, start=start, days=60)
    assert log
    assert all(start <= e.timestamp < start + timedelta(days=60) for e in log)
    assert all(e.timestamp.microsecond % 1000 == 0 for e in log)


def test_about_ten_events_per_user(large_log: list[ValueEvent]) -> None:
    assert len({e.user_id for e in large_log}) == N_LARGE
    assert 8 <= len(large_log) / N_LARGE <= 12


# --- the stories -----------------------------------------------------------------


def test_every_event_name_appears(large_log: list[ValueEvent]) -> None:
    counts = Counter(e.name for e in large_log)
    assert set(counts) == set(EVENT_NAMES)


def test_every_user_signs_up_once_first_with_plan_and_channel(
    by_user: dict[str, list[ValueEvent]],
) -> None:
    plans: Counter[object] = Counter()
    for events in by_user.values():
        assert events[0].name == SIGNUP
        assert [e.name for e in events].count(SIGNUP) == 1
        assert events[0].account_id is not None
        assert {e.account_id for e in events} == {events[0].account_id}
        assert events[0].properties["plan"] in PLANS
        assert events[0].properties["channel"] in CHANNELS
        plans[events[0].properties["plan"]] += 1
    assert set(plans) == set(PLANS)


def test_signups_spread_over_the_period_and_late_users_are_still_on_the_way(
    large_log: list[ValueEvent],
) -> None:
    signups = [e.timestamp for e in large_log if e.name == SIGNUP]
    quarters = Counter((t - DEFAULT_START) // timedelta(days=DEFAULT_DAYS / 4) for t in signups)
    assert all(0.2 < quarters[q] / len(signups) < 0.3 for q in range(4))
    observations = observe(large_log, FIRST_REPORT)
    censored = [o for o in observations if o.censored]
    assert 0.1 < len(censored) / len(observations) < 0.4
    # the users who signed up in the last days have not all reached value yet
    recent = [o for o in observations if o.start > END - timedelta(days=3)]
    assert recent and sum(o.censored for o in recent) / len(recent) > 0.4


def test_accounts_hold_a_few_users_and_team_accounts_more(
    by_user: dict[str, list[ValueEvent]],
) -> None:
    sizes: defaultdict[str, set[str]] = defaultdict(set)
    plan_of: dict[str, object] = {}
    for user, events in by_user.items():
        account = events[0].account_id
        assert account is not None
        sizes[account].add(user)
        plan_of.setdefault(account, events[0].properties["plan"])
    mean = {
        plan: sum(len(sizes[a]) for a in sizes if plan_of[a] == plan)
        / sum(1 for a in sizes if plan_of[a] == plan)
        for plan in ("free", "team")
    }
    assert 1 < mean["free"] < 2 < 4 < mean["team"]


def test_exposures_come_early_and_before_the_first_report(
    by_user: dict[str, list[ValueEvent]],
) -> None:
    windows = {TUTORIAL_COMPLETED: TUTORIAL_WINDOW, CSM_ASSIGNED: CSM_WINDOW}
    exposed = Counter[str]()
    for events in by_user.values():
        signup = events[0].timestamp
        first_report = next((e.timestamp for e in events if e.name == REPORT_CREATED), None)
        for e in events:
            if e.name in windows:
                exposed[e.name] += 1
                assert signup < e.timestamp <= signup + windows[e.name]
                assert first_report is None or e.timestamp < first_report
    assert 0.3 < exposed[TUTORIAL_COMPLETED] / len(by_user) < 0.5
    assert 0.15 < exposed[CSM_ASSIGNED] / len(by_user) < 0.35


def test_onboarding_completes_after_all_three_steps(
    by_user: dict[str, list[ValueEvent]],
) -> None:
    completed = 0
    for events in by_user.values():
        steps = {e.name: e.timestamp for e in events if e.name in ONBOARDING_STEPS}
        done = [e.timestamp for e in events if e.name == ONBOARDING_COMPLETED]
        if len(steps) == 3:
            assert done == [max(steps.values()) + timedelta(seconds=1)]
            completed += 1
        else:
            assert done == []
    assert 0.2 < completed / len(by_user) < 0.6


def test_some_users_never_report_and_some_report_ten_times(
    by_user: dict[str, list[ValueEvent]],
) -> None:
    reports = {u: sum(e.name == REPORT_CREATED for e in events) for u, events in by_user.items()}
    assert 0.1 < sum(n == 0 for n in reports.values()) / len(reports) < 0.35
    assert 0.03 < sum(n >= 10 for n in reports.values()) / len(reports) < 0.2


def test_slow_users_open_more_support_tickets_and_reporters_upgrade_more(
    by_user: dict[str, list[ValueEvent]],
) -> None:
    tickets: defaultdict[str, list[int]] = defaultdict(list)
    upgrades: defaultdict[str, list[bool]] = defaultdict(list)
    for events in by_user.values():
        signup = events[0]
        if signup.timestamp > DEFAULT_START + timedelta(days=180):
            continue
        first = next((e.timestamp for e in events if e.name == REPORT_CREATED), None)
        speed = "never" if first is None else "fast" if first - signup.timestamp < DAY else "slow"
        tickets[speed].append(sum(e.name == SUPPORT_TICKET for e in events))
        if signup.properties["plan"] == "free":
            upgrades["never" if first is None else "reached"].append(
                any(e.name == UPGRADED for e in events)
            )
    mean = {speed: sum(counts) / len(counts) for speed, counts in tickets.items()}
    assert mean["fast"] < mean["slow"] / 2 < mean["never"] / 4
    share = {group: sum(flags) / len(flags) for group, flags in upgrades.items()}
    assert share["never"] * 3 < share["reached"]


def test_invoices_carry_amounts_and_come_only_on_a_paid_plan(
    by_user: dict[str, list[ValueEvent]],
) -> None:
    paid_from: dict[str | None, datetime] = {}
    for events in by_user.values():
        signup = events[0]
        if signup.properties["plan"] != "free":
            when = signup.timestamp
            paid_from[signup.account_id] = min(when, paid_from.get(signup.account_id, when))
        for e in events:
            if e.name == UPGRADED:
                assert signup.properties["plan"] == "free"
                assert dict(e.properties) == {"from": "free", "to": "pro"}
                paid_from[e.account_id] = min(e.timestamp, paid_from.get(e.account_id, e.timestamp))
    invoices = [e for events in by_user.values() for e in events if e.name == INVOICE_PAID]
    assert len(invoices) > N_LARGE / 2
    for e in invoices:
        amount = e.properties["amount"]
        assert isinstance(amount, float) and amount >= 1.0
        assert e.properties["currency"] == "USD"
        assert e.timestamp >= paid_from[e.account_id]
    upgraded = {e.account_id for events in by_user.values() for e in events if e.name == UPGRADED}
    assert any(e.account_id in upgraded for e in invoices)


def test_the_feature_is_used_only_after_its_release(large_log: list[ValueEvent]) -> None:
    released = feature_released_at()
    assert released == DEFAULT_START + timedelta(days=DEFAULT_DAYS // 2)
    uses = [e for e in large_log if e.name == FEATURE_USED]
    assert len({e.user_id for e in uses}) > N_LARGE / 10
    assert all(e.timestamp >= released for e in uses)
    assert {e.properties["format"] for e in uses} == {"csv", "pdf", "xlsx"}


def test_csat_scores_are_1_to_5_and_fall_as_time_to_value_grows(
    large_log: list[ValueEvent],
) -> None:
    scores = [e.properties["score"] for e in large_log if e.name == CSAT]
    assert set(scores) == {1, 2, 3, 4, 5}
    assert all(type(s) is int for s in scores)
    observations = observe(large_log, FIRST_REPORT, attributes=[PropertyOf(event(CSAT), "score")])
    pairs = [
        (o.duration.total_seconds() if o.observed else math.inf, o.attributes[0])
        for o in observations
        if o.attributes[0] is not None
    ]
    assert spearman([d for d, _ in pairs], [float(s) for _, s in pairs]) < -0.3  # type: ignore[arg-type]


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation with average ranks for ties (inf ranks last)."""

    def ranks(values: Sequence[float]) -> list[float]:
        order = sorted(range(len(values)), key=values.__getitem__)
        out = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                out[order[k]] = (i + j) / 2
            i = j + 1
        return out

    rx, ry = ranks(x), ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    return cov / math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))


# --- the known effects, found by the reference engine ------------------------------


def median_ratio(log: list[ValueEvent], exposure: str) -> float:
    """Median time to first report of users exposed within a day over that of the others.

    Only users who signed up in the first half of the year: the rest of the
    year lets nearly everyone who ever reports do so, so counting the never-
    reporters as infinitely slow gives the censoring-aware median.
    """
    observations = observe(log, FIRST_REPORT, attributes=[FirstTime(event(exposure))])
    early = [o for o in observations if o.start < DEFAULT_START + timedelta(days=180)]

    def median(group: list[Observation]) -> float:
        durations = sorted(o.duration.total_seconds() if o.observed else math.inf for o in group)
        assert len(durations) > 300
        return durations[len(durations) // 2]

    def exposed(o: Observation) -> bool:
        at = o.attributes[0]
        return isinstance(at, datetime) and at - o.start <= timedelta(days=1)

    return median([o for o in early if exposed(o)]) / median(
        [o for o in early if o.attributes[0] is None]
    )


def test_the_tutorial_shortens_the_time_to_first_report(large_log: list[ValueEvent]) -> None:
    assert 0.45 < median_ratio(large_log, TUTORIAL_COMPLETED) < 0.75  # TUTORIAL_EFFECT is 0.6


def test_a_customer_success_manager_shortens_the_time_to_first_report(
    large_log: list[ValueEvent],
) -> None:
    assert 0.5 < median_ratio(large_log, CSM_ASSIGNED) < 0.85  # CSM_EFFECT is 0.7


def test_without_effects_the_groups_are_alike() -> None:
    config = SaaSLogConfig(tutorial_effect=1.0, csm_effect=1.0, csm_share=0.5)
    log = saas_events(N_LARGE, seed=7, config=config)
    assert 0.85 < median_ratio(log, TUTORIAL_COMPLETED) < 1.15
    assert 0.8 < median_ratio(log, CSM_ASSIGNED) < 1.25


# --- configuration and argument checking --------------------------------------------


def test_the_mixes_and_shares_are_honoured() -> None:
    config = SaaSLogConfig(
        plan_mix={"team": 1},
        channel_mix={"referral": 2, "partner": 0},
        tutorial_share=0,
        csm_share=1,
        feature_release_day=10,
    )
    assert config.plan_mix == (("team", 1.0),)
    assert config.channel_mix == (("referral", 2.0), ("partner", 0.0))
    log = saas_events(400, seed=2, days=60, config=config)
    signups = [e for e in log if e.name == SIGNUP]
    assert {e.properties["plan"] for e in signups} == {"team"}
    assert {e.properties["channel"] for e in signups} == {"referral"}
    names = Counter(e.name for e in log)
    assert names[TUTORIAL_COMPLETED] == 0
    end = DEFAULT_START + timedelta(days=60)
    with_csm = {e.user_id for e in log if e.name == CSM_ASSIGNED}
    assert with_csm >= {e.user_id for e in signups if e.timestamp < end - CSM_WINDOW}
    released = feature_released_at(days=60, config=config)
    assert released == DEFAULT_START + timedelta(days=10)
    assert min(e.timestamp for e in log if e.name == FEATURE_USED) >= released


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_users": 0}, "n_users=0"),
        ({"n_users": 2.5}, "n_users=2.5"),
        ({"n_users": True}, "n_users=True"),
        ({"seed": -1}, "seed=-1"),
        ({"seed": "1"}, "seed='1'"),
        ({"start": datetime(2025, 1, 1)}, "aware datetime"),  # naive on purpose
        ({"start": "2025-01-01T00:00:00Z"}, "aware datetime"),
        ({"days": 0}, "days=0"),
        ({"days": 1.5}, "days=1.5"),
        ({"start": datetime(2199, 12, 1, tzinfo=UTC), "days": 60}, "must lie between"),
        ({"config": {"tutorial_share": 0.5}}, "SaaSLogConfig"),
        ({"config": SaaSLogConfig(feature_release_day=400)}, "feature_release_day=400"),
    ],
)
def test_bad_arguments_are_rejected_before_any_row(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"n_users": 10, **kwargs}
    with pytest.raises(ConfigurationError, match=message):
        saas_event_rows(**arguments)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        saas_events(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tutorial_share": 1.5}, "tutorial_share=1.5"),
        ({"csm_share": -0.1}, "csm_share=-0.1"),
        ({"csat_share": True}, "csat_share=True"),
        ({"tutorial_effect": 0}, "tutorial_effect=0"),
        ({"csm_effect": math.nan}, "csm_effect=nan"),
        ({"plan_mix": {"enterprise": 1}}, "unknown name 'enterprise'"),
        ({"plan_mix": {"free": -1, "pro": 2}}, r"plan_mix\['free'\]=-1"),
        ({"channel_mix": {"ads": 0}}, "at least one weight"),
        ({"channel_mix": [("ads", 1), ("ads", 2)]}, "given twice"),
        ({"channel_mix": 3}, "mapping of name to weight"),
        ({"feature_release_day": -1}, "feature_release_day=-1"),
    ],
)
def test_bad_configurations_are_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SaaSLogConfig(**kwargs)  # type: ignore[arg-type]


def test_the_examples_in_the_docs_run() -> None:
    text = (Path(__file__).parent.parent / "docs" / "datasets.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) >= 4
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"docs/datasets.md, example {number}", "exec"), {})  # noqa: S102
