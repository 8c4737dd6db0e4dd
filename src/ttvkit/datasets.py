"""Seeded synthetic SaaS event logs: the data of the demo, the tests and the benchmarks.

:func:`saas_events` returns a realistic log of value events for ``n_users``
users of an imaginary reporting product, sorted by time;
:func:`saas_event_rows` streams the same events as plain tuples, without
building :class:`~ttvkit.events.ValueEvent` objects, for loading millions of
events into a store or a file. :class:`SaaSLogConfig` holds the knobs (how
many users do the tutorial or get a customer success manager, how much that
shortens their time to value, the plan and channel mix, the feature release).

The same arguments give the same log, event ids included: the only source of
randomness is a ``random.Random(seed)``. The log ends at ``start + days``;
nothing happens after it, so users who signed up late are still on the way
(right-censored), as in a real export.

The stories, the event names (module constants such as :data:`SIGNUP` and
:data:`REPORT_CREATED`), their properties and the known effects are listed in
``docs/datasets.md``. The two effects an analysis should find:

* completing the tutorial multiplies a user's time to first report by
  :data:`TUTORIAL_EFFECT`; the tutorial is always completed within
  :data:`TUTORIAL_WINDOW` of signup and before the first report;
* a customer success manager multiplies it by :data:`CSM_EFFECT`; the CSM is
  always assigned within :data:`CSM_WINDOW` of signup and before the first
  report.

Both are assigned at random, independently of plan, channel and each other,
so a plain comparison of the groups recovers them.
"""

from __future__ import annotations

import math
import random
from bisect import bisect
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from operator import attrgetter, itemgetter
from types import MappingProxyType
from typing import Final, TypeAlias

import attrs

from ttvkit.errors import ConfigurationError
from ttvkit.events import MAX_TIMESTAMP, MIN_TIMESTAMP, JSONValue, ValueEvent, trusted_event

__all__ = [
    "CHANNELS",
    "CHANNEL_SPEED",
    "CSAT",
    "CSM_ASSIGNED",
    "CSM_EFFECT",
    "CSM_WINDOW",
    "DATA_IMPORTED",
    "DEFAULT_DAYS",
    "DEFAULT_START",
    "EVENT_NAMES",
    "FEATURE_USED",
    "INVITE_SENT",
    "INVOICE_PAID",
    "NEVER_REACH_SHARE",
    "ONBOARDING_COMPLETED",
    "ONBOARDING_STEPS",
    "PLANS",
    "PLAN_MEDIAN_DAYS",
    "PROFILE_COMPLETED",
    "REPORT_CREATED",
    "ROW_FIELDS",
    "SIGNUP",
    "SUPPORT_TICKET",
    "TUTORIAL_COMPLETED",
    "TUTORIAL_EFFECT",
    "TUTORIAL_WINDOW",
    "UPGRADED",
    "EventRow",
    "SaaSLogConfig",
    "feature_released_at",
    "saas_event_rows",
    "saas_events",
]

# --- event names ---------------------------------------------------------------

SIGNUP: Final = "signup"
"""A user signs up; properties ``plan`` and ``channel``. Every user's first event."""
PROFILE_COMPLETED: Final = "profile_completed"
"""Onboarding step: the user filled in their profile, minutes after signup."""
DATA_IMPORTED: Final = "data_imported"
"""Onboarding step: users who reach value always import data before their first report."""
INVITE_SENT: Final = "invite_sent"
"""Onboarding step: the user invited colleagues; property ``invitees`` (int)."""
ONBOARDING_STEPS: Final = (PROFILE_COMPLETED, DATA_IMPORTED, INVITE_SENT)
"""The three onboarding steps."""
ONBOARDING_COMPLETED: Final = "onboarding_completed"
"""One second after the last of the :data:`ONBOARDING_STEPS`, for users who did all three."""
TUTORIAL_COMPLETED: Final = "tutorial_completed"
"""The in-app tutorial; shortens the time to first report by :data:`TUTORIAL_EFFECT`."""
CSM_ASSIGNED: Final = "csm_assigned"
"""A customer success manager (property ``csm``) takes the user on; :data:`CSM_EFFECT`."""
SUPPORT_TICKET: Final = "support_ticket_opened"
"""Property ``topic``; opened while the user still waits for value, so slow users open more."""
REPORT_CREATED: Final = "report_created"
"""The product's value: the first report is basic value, the tenth exceeds expectations."""
UPGRADED: Final = "upgraded"
"""The owner of a free account moves it to a paid plan; properties ``from`` and ``to``.
The name is the default of :func:`ttvkit.milestones.upgrade`."""
FEATURE_USED: Final = "export_used"
"""The feature released mid-period (:func:`feature_released_at`); property ``format``."""
INVOICE_PAID: Final = "invoice_paid"
"""An invoice the customer sent through the product was paid: ``amount`` (float, USD) and
``currency``. Only users on a paid plan send invoices; the running total is their ROI."""
CSAT: Final = "csat_submitted"
"""A satisfaction survey: ``score`` (int, 1 to 5), higher when value came faster."""

EVENT_NAMES: Final = (
    SIGNUP,
    PROFILE_COMPLETED,
    DATA_IMPORTED,
    INVITE_SENT,
    ONBOARDING_COMPLETED,
    TUTORIAL_COMPLETED,
    CSM_ASSIGNED,
    SUPPORT_TICKET,
    REPORT_CREATED,
    UPGRADED,
    FEATURE_USED,
    INVOICE_PAID,
    CSAT,
)
"""Every event name the generator writes."""

# --- the model's fixed parameters ------------------------------------------------

PLANS: Final = ("free", "pro", "team")
"""The values of the signup property ``plan``."""
CHANNELS: Final = ("organic", "ads", "referral", "partner")
"""The values of the signup property ``channel``."""

TUTORIAL_EFFECT: Final = 0.6
"""Default factor on the time to first report of users who completed the tutorial."""
CSM_EFFECT: Final = 0.7
"""Default factor on the time to first report of users with a customer success manager."""
TUTORIAL_WINDOW: Final = timedelta(hours=3)
"""Users who complete the tutorial do so within this time of signing up."""
CSM_WINDOW: Final = timedelta(days=1)
"""Users who get a customer success manager get one within this time of signing up."""

PLAN_MEDIAN_DAYS: Final[Mapping[str, float]] = MappingProxyType(
    {"free": 3.0, "pro": 1.5, "team": 2.0}
)
"""Median days from signup to first report by plan at signup (organic users, no
tutorial, no CSM, among those who ever report)."""
CHANNEL_SPEED: Final[Mapping[str, float]] = MappingProxyType(
    {"organic": 1.0, "ads": 1.5, "referral": 0.7, "partner": 0.9}
)
"""Factor on the time to first report by acquisition channel."""
NEVER_REACH_SHARE: Final[Mapping[str, float]] = MappingProxyType(
    {"organic": 0.15, "ads": 0.3, "referral": 0.1, "partner": 0.15}
)
"""Share of users, by acquisition channel, who never create a report."""

DEFAULT_START: Final = datetime(2025, 1, 1, tzinfo=UTC)
"""When the default log begins."""
DEFAULT_DAYS: Final = 365
"""How many days the default log covers."""

EventRow: TypeAlias = tuple[str, str, str, str, datetime, dict[str, JSONValue]]
"""``(event_id, user_id, account_id, name, timestamp, properties)``; see :data:`ROW_FIELDS`."""
ROW_FIELDS: Final = ("event_id", "user_id", "account_id", "name", "timestamp", "properties")
"""The field names of an :data:`EventRow`, in order (keys of ``ValueEvent.to_dict()``)."""

# The generator counts time in integer milliseconds from the log's start.
_SECOND: Final = 1_000
_MINUTE: Final = 60 * _SECOND
_HOUR: Final = 60 * _MINUTE
_DAY: Final = 24 * _HOUR

_TTV_SIGMA: Final = 1.0  # log-scale spread of the time to first report
_IMMEDIATE_SHARE: Final = 0.08  # reporters whose first report comes within minutes (templates)
_MIN_TTV: Final = 10 * _SECOND  # leaves room for the exposures to come first
_TUTORIAL_LAST: Final = TUTORIAL_WINDOW // timedelta(milliseconds=1) - _SECOND
_CSM_FIRST: Final = _HOUR  # CSMs reach out between an hour after signup and CSM_WINDOW
_CSM_LAST: Final = CSM_WINDOW // timedelta(milliseconds=1) - _SECOND
_ACCOUNT_SIZE: Final[Mapping[str, tuple[int, int]]] = MappingProxyType(
    {"free": (1, 2), "pro": (1, 3), "team": (3, 8)}  # users per account, inclusive
)
_TEAMMATE_DELAY: Final = 4 * _DAY  # mean delay from an account's creation to a teammate's signup
_ACTIVE: Final = 60 * _DAY  # mean time a user stays active after first value, then churns
_REPORT_RATE: Final = 0.03 / _DAY  # median rate of reports after the first; log-normal
_REPORT_RATE_SIGMA: Final = 1.2
_INVOICE_RATE: Final = 0.035 / _DAY  # median rate of paid invoices on a paid plan; log-normal
_INVOICE_AMOUNT: Final = 150.0  # median invoice amount in USD; log-normal
_TICKET_RATE: Final = 0.05 / _DAY  # support tickets while waiting for value
_TICKET_HORIZON: Final = 60 * _DAY  # nobody waiting longer than this still opens tickets
_FEATURE_ADOPTION: Final = 0.6  # share of active users with value who adopt the new feature
_CSAT_FROM: Final = 7 * _DAY  # the survey is answered between a week and a month after signup
_CSAT_TO: Final = 30 * _DAY
_CSM_NAMES: Final = ("ana", "bilal", "chen", "dara", "emeka", "freya")
_TOPICS: Final = ("how_to", "bug", "billing", "integration")
_FORMATS: Final = ("csv", "pdf", "xlsx")

_FAST_CLOCK_END: Final = datetime.fromtimestamp(2**31, UTC)

_Mix: TypeAlias = tuple[tuple[str, float], ...]


def _convert_mix(value: object, known: tuple[str, ...], what: str) -> _Mix:
    example = dict.fromkeys(known, 1)
    items: list[tuple[object, object]] = []
    try:
        if isinstance(value, Mapping):
            items = list(value.items())
        elif isinstance(value, Iterable) and not isinstance(value, str):
            items = [(name, weight) for name, weight in value]
        else:
            raise TypeError
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"SaaSLogConfig {what}={value!r}: must be a mapping of name to weight, e.g. {example}"
        ) from None
    weights: dict[str, float] = {}
    for name, weight in items:
        if not isinstance(name, str) or name not in known:
            raise ConfigurationError(
                f"SaaSLogConfig {what}: unknown name {name!r}; use {', '.join(known)}"
            )
        if name in weights:
            raise ConfigurationError(f"SaaSLogConfig {what}: {name!r} is given twice")
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not math.isfinite(weight)
            or weight < 0
        ):
            raise ConfigurationError(
                f"SaaSLogConfig {what}[{name!r}]={weight!r}: must be a finite number >= 0"
            )
        weights[name] = float(weight)
    if not sum(weights.values()) > 0:
        raise ConfigurationError(
            f"SaaSLogConfig {what}={value!r}: at least one weight must be above 0, e.g. {example}"
        )
    return tuple((name, weights[name]) for name in known if name in weights)


def _plan_mix(value: Mapping[str, float] | Iterable[tuple[str, float]]) -> _Mix:
    return _convert_mix(value, PLANS, "plan_mix")


def _channel_mix(value: Mapping[str, float] | Iterable[tuple[str, float]]) -> _Mix:
    return _convert_mix(value, CHANNELS, "channel_mix")


def _check_share(_: object, attribute: attrs.Attribute[float], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigurationError(
            f"SaaSLogConfig {attribute.name}={value!r}: must be a share from 0 to 1"
        )


def _check_effect(_: object, attribute: attrs.Attribute[float], value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value <= 10
    ):
        raise ConfigurationError(
            f"SaaSLogConfig {attribute.name}={value!r}: must be a factor above 0 and at most 10 "
            "(below 1 shortens the time to first report, above 1 lengthens it)"
        )


def _check_release_day(_: object, attribute: attrs.Attribute[int | None], value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ConfigurationError(
            f"SaaSLogConfig feature_release_day={value!r}: must be None (the middle of the log) "
            "or a whole number of days >= 0 after the start"
        )


@attrs.frozen(kw_only=True)
class SaaSLogConfig:
    """The knobs of :func:`saas_events`; every field has a realistic default.

    ``plan_mix`` and ``channel_mix`` weigh the plans of new accounts and the
    channels they come from (a mapping of name to weight; the weights need not
    sum to 1; stored as a tuple of pairs). ``tutorial_share`` and ``csm_share``
    are the shares of users who complete the tutorial and of accounts that get
    a customer success manager; ``tutorial_effect`` and ``csm_effect`` multiply
    the time to first report of those users. ``upgrade_share`` is the share of
    free accounts whose owner reached value that upgrade; ``csat_share`` the
    share of users who answer the satisfaction survey. The feature
    :data:`FEATURE_USED` is released ``feature_release_day`` days after the
    start (``None``: in the middle of the log).
    """

    plan_mix: _Mix = attrs.field(
        default=MappingProxyType({"free": 0.6, "pro": 0.3, "team": 0.1}), converter=_plan_mix
    )
    channel_mix: _Mix = attrs.field(
        default=MappingProxyType({"organic": 0.4, "ads": 0.3, "referral": 0.2, "partner": 0.1}),
        converter=_channel_mix,
    )
    tutorial_share: float = attrs.field(default=0.4, validator=_check_share)
    csm_share: float = attrs.field(default=0.25, validator=_check_share)
    tutorial_effect: float = attrs.field(default=TUTORIAL_EFFECT, validator=_check_effect)
    csm_effect: float = attrs.field(default=CSM_EFFECT, validator=_check_effect)
    upgrade_share: float = attrs.field(default=0.3, validator=_check_share)
    csat_share: float = attrs.field(default=0.35, validator=_check_share)
    feature_release_day: int | None = attrs.field(default=None, validator=_check_release_day)

    def release_day(self, days: int) -> int:
        """The day (after the start) the feature is released in a log of *days* days."""
        day = days // 2 if self.feature_release_day is None else self.feature_release_day
        if day >= days:
            raise ConfigurationError(
                f"SaaSLogConfig feature_release_day={day}: the log covers only {days} days; "
                f"release the feature before day {days}"
            )
        return day


_DEFAULT_CONFIG: Final = SaaSLogConfig()


def _check_arguments(
    n_users: object, seed: object, start: object, days: object, config: object
) -> tuple[int, int, datetime, int, SaaSLogConfig]:
    if isinstance(n_users, bool) or not isinstance(n_users, int) or n_users < 1:
        raise ConfigurationError(f"n_users={n_users!r}: must be a whole number >= 1")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigurationError(f"seed={seed!r}: must be a whole number >= 0")
    if not isinstance(start, datetime) or start.tzinfo is None or start.utcoffset() is None:
        raise ConfigurationError(
            f"start={start!r}: must be an aware datetime, e.g. datetime(2025, 1, 1, tzinfo=UTC)"
        )
    start = start.astimezone(UTC)
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ConfigurationError(f"days={days!r}: must be a whole number of days >= 1")
    if start < MIN_TIMESTAMP or days > (MAX_TIMESTAMP - start).days:
        raise ConfigurationError(
            f"start={start.isoformat()}, days={days}: the log must lie between "
            f"{MIN_TIMESTAMP.isoformat()} and {MAX_TIMESTAMP.isoformat()}"
        )
    if config is None:
        config = _DEFAULT_CONFIG
    elif not isinstance(config, SaaSLogConfig):
        raise ConfigurationError(f"config={config!r}: must be a SaaSLogConfig or None")
    config.release_day(days)
    return n_users, seed, start, days, config


def feature_released_at(
    *,
    start: datetime = DEFAULT_START,
    days: int = DEFAULT_DAYS,
    config: SaaSLogConfig | None = None,
) -> datetime:
    """When :data:`FEATURE_USED` is released in the log made with these arguments.

    The start of a :func:`ttvkit.milestones.feature_adoption` milestone.
    """
    _, _, start, days, config = _check_arguments(1, 0, start, days, config)
    return start + timedelta(days=config.release_day(days))


def saas_events(
    n_users: int,
    *,
    seed: int = 0,
    start: datetime = DEFAULT_START,
    days: int = DEFAULT_DAYS,
    config: SaaSLogConfig | None = None,
) -> list[ValueEvent]:
    """A synthetic SaaS event log of *n_users* users, sorted by timestamp and event id.

    About ten events per user; the same arguments always give the same events.
    Users sign up uniformly over ``days`` days from ``start``; nothing happens
    after ``start + days``. See ``docs/datasets.md`` for the stories and the
    known effects. Raises :class:`~ttvkit.errors.ConfigurationError` for
    invalid arguments.

    >>> log = saas_events(1000, seed=1)
    """
    events = [
        trusted_event(user_id, name, timestamp, properties, account_id, event_id)
        for event_id, user_id, account_id, name, timestamp, properties in saas_event_rows(
            n_users, seed=seed, start=start, days=days, config=config
        )
    ]
    # Rows come in event-id order (a zero-padded counter), so a stable sort by
    # timestamp alone gives the (timestamp, event_id) order, three times faster.
    events.sort(key=attrgetter("timestamp"))
    return events


def saas_event_rows(
    n_users: int,
    *,
    seed: int = 0,
    start: datetime = DEFAULT_START,
    days: int = DEFAULT_DAYS,
    config: SaaSLogConfig | None = None,
) -> Iterator[EventRow]:
    """The events of :func:`saas_events` as plain tuples, streamed (the fast path).

    Each row is ``(event_id, user_id, account_id, name, timestamp, properties)``
    (:data:`ROW_FIELDS`): valid by construction, with an aware UTC timestamp
    and a fresh ``dict`` of properties the caller may keep or change. Rows come
    account by account and, within an account, user by user, each user's
    events in time order: memory stays flat however many users are asked for.
    Arguments are checked here, before the first row.
    """
    checked = _check_arguments(n_users, seed, start, days, config)
    return _generate(*checked)


_Story: TypeAlias = list[tuple[int, str, dict[str, JSONValue]]]


def _story_teller(
    rng: random.Random, config: SaaSLogConfig, end: int, release: int
) -> Callable[[int, str, str, str | None, bool, int, int | None], tuple[_Story, int | None]]:
    """The function that draws one user's story, with the model's parameters bound.

    Times are integer milliseconds from the log's start. The story returns
    the user's events (unsorted, possibly past *end*) and when the account
    becomes paid (changed only when the user is the owner and upgrades).
    """
    rnd, gauss, log, exp = rng.random, rng.gauss, math.log, math.exp
    tutorial_share = config.tutorial_share
    tutorial_effect, csm_effect = config.tutorial_effect, config.csm_effect
    upgrade_share, csat_share = config.upgrade_share, config.csat_share
    ticket_gap, invoice_gap = 1 / _TICKET_RATE, 1 / _INVOICE_RATE

    def exponential(mean: float) -> int:
        return int(-mean * log(1.0 - rnd()))

    def story(
        signup: int,
        plan: str,
        channel: str,
        csm: str | None,
        owner: bool,
        size: int,
        paid_from: int | None,
    ) -> tuple[_Story, int | None]:
        joined = "pro" if plan == "free" and paid_from is not None and signup >= paid_from else plan
        events: _Story = [(signup, SIGNUP, {"plan": joined, "channel": channel})]
        add = events.append

        # Time to first report: log-normal around the plan's and the channel's
        # median (a few within minutes), scaled by the exposures.
        tutorial = rnd() < tutorial_share
        if rnd() < _IMMEDIATE_SHARE:
            ttv = 30 * _SECOND + rnd() * 9.5 * _MINUTE
        else:
            ttv = PLAN_MEDIAN_DAYS[plan] * CHANNEL_SPEED[channel] * _DAY
            ttv *= exp(_TTV_SIGMA * gauss(0.0, 1.0))
        if tutorial:
            ttv *= tutorial_effect
        if csm is not None:
            ttv *= csm_effect
        ttv_ms = max(int(ttv), _MIN_TTV)
        reaches = rnd() >= NEVER_REACH_SHARE[channel]
        first = signup + ttv_ms if reaches else None

        # Exposures come early, and before value when value comes.
        if tutorial:
            at = min(exponential(20 * _MINUTE), _TUTORIAL_LAST)
            if reaches:
                at = min(at, ttv_ms // 2)
            add((signup + max(at, _SECOND), TUTORIAL_COMPLETED, {}))
        if csm is not None:
            at = _CSM_FIRST + int(rnd() * (_CSM_LAST - _CSM_FIRST))
            if reaches:
                at = min(at, ttv_ms // 2)
            add((signup + max(at, _SECOND), CSM_ASSIGNED, {"csm": csm}))

        # Onboarding; users who reach value import data before their first report.
        steps, last_step = 0, signup
        if rnd() < (0.95 if reaches else 0.7):
            at = signup + _SECOND + exponential(10 * _MINUTE)
            add((at, PROFILE_COMPLETED, {}))
            steps, last_step = 1, at
        if reaches:
            at = signup + int(ttv_ms * (0.5 + 0.45 * rnd()))
        elif rnd() < 0.4:
            at = signup + _SECOND + exponential(2 * _DAY)
        else:
            at = -1
        if at >= 0:
            add((at, DATA_IMPORTED, {}))
            steps, last_step = steps + 1, max(last_step, at)
        inviter = owner and size > 1
        if rnd() < (0.9 if inviter else 0.3):
            at = signup + _SECOND + exponential(36 * _HOUR)
            add((at, INVITE_SENT, {"invitees": size - 1 if inviter else 1 + int(rnd() * 3)}))
            steps, last_step = steps + 1, max(last_step, at)
        if steps == 3:
            add((last_step + _SECOND, ONBOARDING_COMPLETED, {}))

        # Support tickets arrive while the user waits for value: slow users open more.
        waiting_until = signup + min(ttv_ms if reaches else _TICKET_HORIZON, _TICKET_HORIZON)
        at = signup + _SECOND + exponential(ticket_gap)
        while at < waiting_until:
            add((at, SUPPORT_TICKET, {"topic": _TOPICS[int(rnd() * 4)]}))
            at += int(-ticket_gap * log(1.0 - rnd()))

        if first is not None:
            # Value, then more of it until the user churns: reports, the
            # feature once released, invoices while on a paid plan.
            until = min(first + exponential(_ACTIVE), end)
            add((first, REPORT_CREATED, {}))
            gap = 1 / (_REPORT_RATE * exp(_REPORT_RATE_SIGMA * gauss(0.0, 1.0)))
            at = first + exponential(gap)
            while at < until:
                add((at, REPORT_CREATED, {}))
                at += int(-gap * log(1.0 - rnd()))

            if owner and plan == "free" and rnd() < upgrade_share:
                paid_from = first + exponential(21 * _DAY)
                add((paid_from, UPGRADED, {"from": "free", "to": "pro"}))

            if paid_from is not None:
                gap = invoice_gap / exp(0.8 * gauss(0.0, 1.0))
                at = max(first, paid_from) + exponential(gap)
                while at < until:
                    amount = max(1.0, round(_INVOICE_AMOUNT * exp(gauss(0.0, 1.0)), 2))
                    add((at, INVOICE_PAID, {"amount": amount, "currency": "USD"}))
                    at += int(-gap * log(1.0 - rnd()))

            adopt_from = max(first, release)
            if adopt_from < until and rnd() < _FEATURE_ADOPTION:
                at = adopt_from + exponential(10 * _DAY)
                while at < until:
                    add((at, FEATURE_USED, {"format": _FORMATS[int(rnd() * 3)]}))
                    if rnd() < 0.5:
                        break
                    at += exponential(14 * _DAY)
        elif owner and plan == "free" and rnd() < upgrade_share / 10:
            paid_from = signup + exponential(30 * _DAY)
            add((paid_from, UPGRADED, {"from": "free", "to": "pro"}))

        # Satisfaction falls with the time value took, and is low without value.
        if rnd() < csat_share:
            survey = signup + _CSAT_FROM + int(rnd() * (_CSAT_TO - _CSAT_FROM))
            if first is not None and first <= survey:
                mood = 4.6 - 0.8 * log(1.0 + (first - signup) / _DAY)
            else:
                mood = 1.8
            add((survey, CSAT, {"score": min(5, max(1, round(mood + gauss(0.0, 0.7))))}))
        return events, paid_from

    return story


def _chooser(mix: _Mix, rnd: Callable[[], float]) -> Callable[[], str]:
    """A function drawing a name of *mix* with probability proportional to its weight."""
    names = [name for name, _ in mix]
    cumulative = list(accumulate(weight for _, weight in mix))
    total = cumulative[-1]
    last = len(names) - 1

    def choose() -> str:
        # min(): a draw that rounds up to the total must not fall off the end
        return names[min(bisect(cumulative, rnd() * total), last)]

    return choose


def _generate(
    n_users: int, seed: int, start: datetime, days: int, config: SaaSLogConfig
) -> Iterator[EventRow]:
    """Accounts, their users, and each user's events in time order, as rows."""
    rng = random.Random(seed)
    rnd = rng.random
    end = days * _DAY
    story = _story_teller(rng, config, end, config.release_day(days) * _DAY)
    choose_plan = _chooser(config.plan_mix, rnd)
    choose_channel = _chooser(config.channel_mix, rnd)
    csm_share = config.csm_share
    width = len(str(n_users))
    by_time = itemgetter(0)
    id_prefix = f"s{seed}-"
    counter = 0
    # Up to 2**31 epoch seconds the float spacing is below half a microsecond,
    # so fromtimestamp(base + ms / 1000) lands on the exact millisecond; later
    # logs take the slower, exact timedelta path.
    fast_clock = start + timedelta(days=days) <= _FAST_CLOCK_END
    base, fromtimestamp = start.timestamp(), datetime.fromtimestamp

    made = account_number = 0
    while made < n_users:
        account_number += 1
        account_id = f"a{account_number:0{width}d}"
        plan = choose_plan()
        channel = choose_channel()
        low, high = _ACCOUNT_SIZE[plan]
        size = min(low + int(rnd() * (high - low + 1)), n_users - made)
        created = int(rnd() * end)
        csm = _CSM_NAMES[int(rnd() * len(_CSM_NAMES))] if rnd() < csm_share else None
        paid_from = None if plan == "free" else created
        for member in range(size):
            made += 1
            user_id = f"u{made:0{width}d}"
            if member == 0:
                signup = created
            else:
                signup = created + int(-_TEAMMATE_DELAY * math.log(1.0 - rnd()))
                if signup >= end:  # every user asked for exists: join before the log ends
                    signup = created + int(rnd() * (end - created))
            events, paid_from = story(signup, plan, channel, csm, member == 0, size, paid_from)
            events.sort(key=by_time)  # stable: simultaneous events keep the story's order
            for at, name, properties in events:
                if at >= end:
                    break
                counter += 1
                yield (
                    id_prefix + str(counter).zfill(12),
                    user_id,
                    account_id,
                    name,
                    fromtimestamp(base + at / 1000, UTC)
                    if fast_clock
                    else start + timedelta(milliseconds=at),
                    properties,
                )
