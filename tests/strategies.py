"""Shared hypothesis strategies: valid events, hostile strings, milestones, censored samples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from ttvkit.conditions import Condition, all_of, any_of, event, ge, gt, lt, one_of, total
from ttvkit.events import ValueEvent
from ttvkit.milestones import Milestone
from ttvkit.observations import Attribute, FirstTime, PropertyOf, StartProperty

BASE = datetime(2026, 1, 1, tzinfo=UTC)

#: Strings that have broken SQL stores and JSON paths elsewhere.
HOSTILE = [
    "'; DROP TABLE events; --",
    'a"b',
    "a'b",
    "$.x",
    "a.b",
    "a[0]",
    "%_",
    "\\",
    "é🚀漢字",
    "Robert'); DELETE FROM ttv_events;--",
    " leading",
    "x" * 200,
]

storable_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=30,
).filter(lambda s: not s.isspace())

hostile_text = st.one_of(st.sampled_from(HOSTILE), storable_text)

#: A few names, so that generated events collide and conditions match.
NAMES = ["signup", "report", "invoice", "tutorial", "csat", "a\"b'; --"]
USERS = ["u1", "u2", "u3", "u4", "ü'5", "u;6"]
ACCOUNTS = ["acme", "initech", "o'hare"]
PROP_KEYS = ["plan", "amount", "score", 'a"b', "x.y", "$[0]", "k'; --"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 1000),
    st.floats(-10, 1000, allow_nan=False, allow_infinity=False),
    st.sampled_from(["free", "pro", "team", "1", "true"]),
)

json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(PROP_KEYS), inner, max_size=3),
    ),
    max_leaves=5,
)

properties = st.dictionaries(st.sampled_from(PROP_KEYS), json_values, max_size=4)


@st.composite
def value_events(draw: st.DrawFn, *, hostile: bool = False) -> ValueEvent:
    """One event in a narrow time range (so ties happen), over few users and names."""
    names = st.one_of(st.sampled_from(NAMES), hostile_text) if hostile else st.sampled_from(NAMES)
    users = st.one_of(st.sampled_from(USERS), hostile_text) if hostile else st.sampled_from(USERS)
    return ValueEvent(
        user_id=draw(users),
        name=draw(names),
        # whole minutes over a few days: ties are common
        timestamp=BASE + timedelta(minutes=draw(st.integers(0, 6 * 24 * 60)) // 60 * 60),
        properties=draw(properties),
        account_id=draw(st.one_of(st.none(), st.sampled_from(ACCOUNTS))),
        event_id=draw(st.one_of(st.none(), st.sampled_from(["dup-1", "dup-2", "dup'3"]))),
    )


def event_logs(*, hostile: bool = False, max_size: int = 40) -> st.SearchStrategy[list[ValueEvent]]:
    """A list of events, with duplicate event ids, ties and events before their start."""
    return st.lists(value_events(hostile=hostile), max_size=max_size)


wheres = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(PROP_KEYS),
        st.one_of(
            scalars,
            st.builds(lambda a, b: one_of(a, b), scalars, scalars),
            st.builds(gt, st.integers(-5, 500)),
            st.builds(ge, st.floats(-5, 500, allow_nan=False)),
            st.builds(lt, st.integers(-5, 500)),
        ),
        max_size=2,
    ),
)


@st.composite
def event_conditions(draw: st.DrawFn) -> Condition:
    return event(draw(st.sampled_from(NAMES)), where=draw(wheres))


@st.composite
def conditions(draw: st.DrawFn, depth: int = 1) -> Condition:
    kind = draw(st.sampled_from(["event", "nth", "total"] + (["all", "any"] if depth else [])))
    if kind == "event":
        return draw(event_conditions())
    if kind == "nth":
        return draw(event_conditions()).nth(draw(st.integers(1, 4)))
    if kind == "total":
        return total(
            draw(st.sampled_from(NAMES)),
            draw(st.sampled_from(PROP_KEYS)),
            at_least=draw(st.sampled_from([1, 10, 100.5, 600, 1000])),
            where=draw(wheres),
        )
    parts = draw(st.lists(conditions(depth=depth - 1), min_size=2, max_size=3))
    return all_of(*parts) if kind == "all" else any_of(*parts)


@st.composite
def milestones(draw: st.DrawFn) -> Milestone:
    start = draw(
        st.one_of(
            event_conditions(),
            st.builds(lambda c, k: c.nth(k), event_conditions(), st.integers(1, 2)),
            st.just(BASE + timedelta(days=2)),
        )
    )
    return Milestone(
        "m",
        reached=draw(conditions()),
        start=start,
        window=draw(st.one_of(st.none(), st.sampled_from([timedelta(hours=5), timedelta(days=2)]))),
        before_start=draw(st.sampled_from(["zero", "ignore", "exclude"])),
    )


def attribute_lists(milestone: Milestone) -> st.SearchStrategy[list[Attribute]]:
    """Attributes valid for *milestone* (StartProperty only for event/nth/total/datetime starts)."""
    choices: list[st.SearchStrategy[Attribute]] = [
        st.builds(FirstTime, conditions(depth=0)),
        st.builds(
            PropertyOf,
            event_conditions(),
            st.sampled_from(PROP_KEYS),
            st.sampled_from(["first", "last"]),
        ),
        st.builds(StartProperty, st.sampled_from(PROP_KEYS)),
    ]
    return st.lists(st.one_of(choices), max_size=3)


_DENSE_VALUES = st.sampled_from(
    [None, True, False, 0, 1, 1.0, -5, 5, 10, 100, 100.5, 600, 1000, "free", "pro", "1", [1], {}]
)


#: Hours after BASE, often on the edges the shared milestones use (a datetime
#: start at 48 h, windows of 5 h and 2 days), so that ties decide.
_HOURS = st.sampled_from([0, 1, 47, 48, 53, 96]) | st.integers(0, 100)


@st.composite
def dense_logs(draw: st.DrawFn) -> list[ValueEvent]:
    """Longer logs over a few users, names and values, with many ties.

    The shared ``event_logs`` are small and varied (they hunt for escaping
    bugs); these make nth, totals, windows and before-start rules decide.
    """
    users = draw(st.lists(st.sampled_from(USERS), min_size=1, max_size=3, unique=True))
    keys = st.sampled_from(PROP_KEYS)
    return [
        ValueEvent(
            user_id=draw(st.sampled_from(users)),
            name=draw(st.sampled_from(NAMES)),
            timestamp=BASE + timedelta(hours=draw(_HOURS)),
            properties=draw(st.dictionaries(keys, _DENSE_VALUES, max_size=5)),
            account_id=draw(st.sampled_from([None, "acme", "o'hare"])),
            event_id=draw(st.none() | st.sampled_from(["dup-1", "dup-2"])),
        )
        for _ in range(draw(st.integers(5, 60)))
    ]


#: Random right-censored samples: (durations, observed).
censored_samples = st.lists(
    st.tuples(st.integers(0, 30).map(float), st.booleans()), min_size=1, max_size=60
).map(lambda rows: ([d for d, _ in rows], [o for _, o in rows]))


#: Cell and value text that has broken the file readers (issue 9): numbers too long
#: to convert, nesting too deep to parse or walk, offsets past the year limits, JSON
#: constants JSON does not have, bytes that are not UTF-8 once written.
HOSTILE_CELLS = [
    "9" * 5000,
    "-" + "1" * 4400,
    "1e400",
    "NaN",
    "Infinity",
    "[" * 3000 + "]" * 3000,
    '{"a":' * 700 + "1" + "}" * 700,
    '{"n": ' + "9" * 5000 + "}",
    '{"x": NaN}',
    "9999-12-31T23:59:00-14:00",
    "0001-01-01T00:00:00+14:00",
    "2300-01-01T00:00:00Z",
    "1767225600000",
    "\ufeff",
    "\x00",
    "\udcff",
    "\ud800",
    "",
    " ",
    "\r",
    '"',
    "{",
    "2026-01-01T00:00:00Z",
]

hostile_cells = st.one_of(
    st.sampled_from(HOSTILE_CELLS),
    st.text(max_size=12),
    st.integers().map(str),
)
