"""Sources, adapted for the analyses: what a calculator may be given, and how it asks.

:func:`as_store` turns any accepted source (a store, a URL, a Tracker, a
path, a DataFrame, an iterable of events) into a :class:`~ttvkit.stores.Source`;
:func:`resolve_as_of` settles the analysis time; :func:`load_columns`,
:func:`duration_cells` and :func:`drilldown_of` ask the store for observations
(columns, cells, or rows later), after :func:`check_event_names` has looked
for misspelt event names.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, NoReturn, TypeAlias, TypeVar

from ttvkit._table_kinds import frame_rows, unread_table
from ttvkit.errors import (
    AnalysisError,
    ConfigurationError,
    InvalidArgumentError,
    InvalidEventError,
    StoreError,
    TTVError,
    UnknownEventWarning,
)
from ttvkit.events import ValueEvent, parse_timestamp, shown_value
from ttvkit.io import ReadError
from ttvkit.io.values import to_utc
from ttvkit.milestones import Milestone
from ttvkit.observations import (
    Attribute,
    DurationCells,
    FirstTime,
    Observation,
    ObservationColumns,
    Per,
    PropertyOf,
    check_aware,
)
from ttvkit.stores import MemoryStore, event_names_of, missing_methods, open_store
from ttvkit.stores import Source as EventSource
from ttvkit.stores.scan import DataFrameLike, is_frame, scan
from ttvkit.stores.sqlite.url import parse_url as parse_sqlite_url
from ttvkit.tracker import Tracker

_T = TypeVar("_T")

Source: TypeAlias = (
    EventSource
    | Tracker
    | str
    | os.PathLike[str]
    | DataFrameLike
    | Iterable[ValueEvent | Mapping[str, Any]]
)


@contextlib.contextmanager
def as_store(source: Source) -> Iterator[EventSource]:
    """Yield a source for *source*; one opened here is closed afterwards.

    A string with ``://`` is a store URL; any other string, or a
    :class:`os.PathLike`, is a file, glob or directory read by
    :func:`ttvkit.scan`, as is a pandas or polars DataFrame or a pyarrow
    Table.
    """
    if isinstance(source, EventSource):
        yield source
        return
    if isinstance(source, Tracker):
        # What was tracked before the question counts: make it durable first,
        # but never wait longer than the tracker would on close (a store down).
        source.flush(timeout=source.config.close_timeout)
        yield source.store
        return
    if isinstance(source, str) and "://" in source:
        _check_store_file(source)
        with open_store(source) as store:
            yield store
        return
    if is_spark_dataframe(source):  # classic or Spark Connect: analysed by Spark
        from ttvkit.stores.spark import SparkSource

        with SparkSource(source) as spark_source:
            yield spark_source
        return
    if isinstance(source, str | os.PathLike) or is_frame(source):
        # A reader's advice, or DuckDB's when a question runs out of memory, may name
        # an option of scan(), which the analyses do not take: say how to pass it.
        try:
            scanned = scan(source)  # type: ignore[arg-type]  # a path or a frame, checked
        except TTVError as exc:
            raise _with_scan_advice(exc) from None
        with scanned:
            try:
                yield scanned
            except TTVError as exc:
                advised = _with_scan_advice(exc)
                if advised is exc:
                    raise
                raise advised from None
        return
    unread = unread_table(source)
    if unread is not None:
        raise InvalidArgumentError(f"source: the analyses read a table, and this is {unread}")
    if isinstance(source, Iterable) and not isinstance(source, bytes | Mapping):
        events = (_as_event(e, i) for i, e in enumerate(source))
        with MemoryStore(events) as store:
            yield store
        return
    missing = missing_methods(source)
    if len(missing) < 5:  # some of a source's methods: a source of its own, unfinished
        raise InvalidArgumentError(
            f"source {type(source).__name__}: has not every method of a ttvkit.Source "
            f"(no {', '.join(missing)}); a source needs observations(), "
            "latest_timestamp(), close(), __enter__() and __exit__()"
        )
    raise InvalidArgumentError(
        f"source {type(source).__name__}: pass a Store, a store URL, a Tracker, a file "
        "path, a DataFrame (pandas, polars, pyarrow or pyspark), or an iterable of "
        "ValueEvent objects or mappings"
    )


#: An option of scan() a reader's advice tells to pass (``pass mapping=...``, ``say
#: which with assume_timezone=``, ``e.g. encoding=``): the words before it too, so
#: that a value in the message (a cell holding ``encoding=utf8``) is not taken for it.
_SCAN_OPTION: Final = re.compile(
    r"\b(?:[Pp]ass(?: a larger)?|with|e\.g\.) "
    r"(mapping|delimiter|decimal|timestamp_unit|assume_timezone|encoding|format|memory_limit)="
)


def _with_scan_advice(exc: TTVError) -> TTVError:
    """*exc*, raised reading a path or a frame an analysis was given, told how to pass
    the option its advice names: the analyses take none of scan()'s options."""
    found = _SCAN_OPTION.search(str(exc))
    if found is None:
        return exc
    option = found.group(1)
    advice = (
        f" (the analyses read a path or a DataFrame with scan()'s defaults: to pass "
        f"{option}=, analyse ttvkit.scan(source, {option}=...) instead)"
    )
    if isinstance(exc, ReadError):
        return exc.reworded(f"{exc}{advice}")
    try:
        return type(exc)(f"{exc}{advice}")
    except TypeError:  # an error class that takes other arguments: as it was
        return exc


def is_spark_dataframe(source: object) -> bool:
    """A pyspark DataFrame, told by its type's name (pyspark is not imported here)."""
    kind = type(source)
    return kind.__name__ == "DataFrame" and kind.__module__.startswith("pyspark.")


def _as_event(item: object, index: int) -> ValueEvent:
    if isinstance(item, ValueEvent):
        return item
    if isinstance(item, Mapping):
        try:
            return ValueEvent.from_mapping(item)
        except InvalidEventError as exc:  # which of the rows: the message says
            raise InvalidEventError(f"source item {index}: {exc}") from None
    raise InvalidArgumentError(
        f"source item {index} ({shown_value(item)}): an event source must yield "
        "ValueEvent objects or mappings"
    )


def missing_store_file(url: str) -> str | None:
    """The file a ``sqlite:///`` or ``duckdb:///`` URL names, if it does not exist (None
    otherwise, and for other schemes): opening it would create an empty database."""
    scheme = url.partition("://")[0].lower()
    if scheme == "sqlite":
        path = parse_sqlite_url(url).path
    elif scheme == "duckdb":
        # imported only for a DuckDB URL: the extra it needs is then needed anyway
        from ttvkit.stores.duckdb.store import parse_url as parse_duckdb_url

        path = parse_duckdb_url(url)
    else:
        return None
    return path if path and path != ":memory:" and not os.path.exists(path) else None


def _check_store_file(url: str) -> None:
    """A URL naming no file is a typo: the question would find no events."""
    path = missing_store_file(url)
    if path is not None:
        raise ConfigurationError(
            f"store URL {url!r}: there is no database file {path!r} (from "
            f"{os.getcwd()!r}); an analysis does not create one: check the path, "
            "or open the store with open_store() and add events first"
        )


def resolve_as_of(store: EventSource, as_of: datetime | str | None) -> datetime | None:
    """``as_of`` as an aware UTC datetime; by default the latest stored event.

    A datetime is checked as the stores check it (the same error for a naive
    one); a string is an ISO-8601 timestamp.
    """
    if as_of is None:
        latest = store.latest_timestamp()
        if latest is not None and (not isinstance(latest, datetime) or latest.utcoffset() is None):
            raise StoreError(
                f"{type(store).__name__}.latest_timestamp() returned {latest!r}; a source must "
                "return an aware datetime (or None when it holds no events): fix the source, "
                "or pass as_of="
            )
        return latest
    return checked_as_of(as_of)


def checked_as_of(as_of: datetime | str | None) -> datetime | None:
    """``as_of`` as an aware UTC datetime (None as it is), checked before any source is
    opened: a bad one never waits for a file to be scanned."""
    if as_of is None:
        return None
    if isinstance(as_of, datetime):
        check_aware(as_of, "as_of")
    try:
        when = parse_timestamp(as_of, field="as_of")
    except ValueError as exc:
        raise InvalidArgumentError(str(exc)) from None
    # A pandas.Timestamp, with nanoseconds: a plain datetime to the microsecond, as the
    # readers read one (the same instant as a string gives the same as_of).
    return when if type(when) is datetime else to_utc(when, None, None)


def _no_observations(milestone: Milestone, as_of: datetime, per: Per) -> NoReturn:
    start = milestone.start if isinstance(milestone.start, datetime) else milestone.start.describe()
    raise AnalysisError(
        f"no {per} has started the clock of {milestone.name!r} (start: {start}) "
        f"up to {as_of.isoformat()}; check the start event's name"
        + (" and that events carry account_id" if per == "account" else "")
    )


def _closest(name: str, names: frozenset[str]) -> str:
    close = difflib.get_close_matches(name, sorted(names), n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    shown = sorted(names)[:10]
    more = ", ..." if len(names) > 10 else ""
    return "the events there are: " + ", ".join(map(repr, shown)) + more


def _attribute_role(attribute: Attribute) -> str:
    if isinstance(attribute, FirstTime):
        return "a lever (an intervention)"
    if isinstance(attribute, PropertyOf):
        return "a grouping or survey event"
    return "an attribute"


def check_event_names(
    store: EventSource, milestone: Milestone, attributes: Sequence[Attribute] = ()
) -> None:
    """Raise when no start event name occurs in *store*; warn for any other name that doesn't.

    A name that matches nothing is almost always a typo: the start's is an
    :class:`~ttvkit.errors.AnalysisError` (nobody could start the clock), the
    others an :class:`~ttvkit.errors.UnknownEventWarning` naming the closest
    names that do occur. A source that cannot list its names is not checked.
    """
    names = event_names_of(store)
    if not names:
        return
    checks: list[tuple[str, frozenset[str]]] = [
        (f"milestone {milestone.name!r} (reached)", milestone.reached.event_names())
    ]
    if not isinstance(milestone.start, datetime):
        start = milestone.start.event_names()
        if start and not start & names:
            missing = sorted(start)[0]
            raise AnalysisError(
                f"milestone {milestone.name!r} starts on {missing!r}, an event that never "
                f"occurs in the source; {_closest(missing, names)}"
            )
        checks.insert(0, (f"milestone {milestone.name!r} (start)", start))
    checks += [
        (_attribute_role(a), a.condition.event_names())
        for a in attributes
        if isinstance(a, FirstTime | PropertyOf)
    ]
    for role, wanted in checks:
        for name in sorted(wanted - names):
            warnings.warn(
                f"{role} names the event {name!r}, which never occurs in the source; "
                f"{_closest(name, names)}",
                UnknownEventWarning,
                stacklevel=4,
            )


def load_observations(
    store: EventSource,
    milestone: Milestone,
    as_of: datetime,
    per: Per,
    attributes: Sequence[Attribute] = (),
) -> list[Observation]:
    """Observations from the store, or a clear error when there are none."""
    check_event_names(store, milestone, attributes)
    rows = store.observations(milestone, as_of=as_of, per=per, attributes=attributes)
    if not rows:
        _no_observations(milestone, as_of, per)
    return rows


def observation_columns(
    store: EventSource,
    milestone: Milestone,
    as_of: datetime,
    per: Per,
    attributes: Sequence[Attribute] = (),
) -> ObservationColumns:
    """Observations as columns, computed by the engine where it can (maybe none).

    The caller checks the event names first (:func:`check_event_names`), so
    that a warning points at the analysis the user called.
    """
    columns_of = getattr(store, "observation_columns", None)
    if columns_of is not None:
        columns = columns_of(milestone, as_of=as_of, per=per, attributes=attributes)
        return _returned(store, "observation_columns", columns, ObservationColumns)
    # a Store of the protocol only
    rows = store.observations(milestone, as_of=as_of, per=per, attributes=attributes)
    return ObservationColumns.from_rows(rows, len(attributes))


def load_columns(
    store: EventSource,
    milestone: Milestone,
    as_of: datetime,
    per: Per,
    attributes: Sequence[Attribute] = (),
) -> ObservationColumns:
    """Observations as columns (computed by the engine), or a clear error when there are none."""
    check_event_names(store, milestone, attributes)
    columns = observation_columns(store, milestone, as_of, per, attributes)
    if not len(columns):
        _no_observations(milestone, as_of, per)
    return columns


def _returned(store: EventSource, method: str, value: object, kind: type[_T]) -> _T:
    """*value*, what ``store.method()`` returned, if it is a *kind* as the protocol says."""
    if not isinstance(value, kind):
        raise StoreError(
            f"{type(store).__name__}.{method}() returned {type(value).__name__}; a source's "
            f"{method}() must return {kind.__module__}.{kind.__name__} (or the source must "
            "leave the method out, and the calculators group its observations())"
        )
    return value


def duration_cells(
    store: EventSource, milestone: Milestone, as_of: datetime, per: Per
) -> DurationCells:
    """The store's observations grouped by duration (computed in the engine where it can)."""
    check_event_names(store, milestone)
    cells_of = getattr(store, "duration_cells", None)
    if cells_of is not None:
        cells = _returned(
            store, "duration_cells", cells_of(milestone, as_of=as_of, per=per), DurationCells
        )
    else:  # a Store of the protocol only: group its observations here
        rows = store.observations(milestone, as_of=as_of, per=per)
        cells = ObservationColumns.from_rows(rows).cells()
    if cells.n == 0:
        _no_observations(milestone, as_of, per)
    return cells


def drilldown_of(
    source: Source, store: EventSource, milestone: Milestone, as_of: datetime, per: Per
) -> Callable[[], Sequence[Observation]]:
    """Loads the rows behind a result later: from the same source object, or by
    opening the same URL, file or frame again (what was opened here is closed by
    then). Events given as an iterable are read now: it may not be read twice."""
    if store is source or isinstance(source, Tracker):
        return lambda: store.observations(milestone, as_of=as_of, per=per)
    if isinstance(source, str | os.PathLike) or is_frame(source) or is_spark_dataframe(source):
        # (a Spark view is dropped with its source: it is made again)
        then = frame_rows(source) if is_frame(source) else None

        def reopen() -> Sequence[Observation]:
            if then is not None and frame_rows(source) != then:
                # changed in place (df.drop(..., inplace=True)): its customers now
                # would contradict the figures
                raise AnalysisError(
                    f"the table has {frame_rows(source):,} rows now and had {then:,} when "
                    "it was analysed: its customers would not be this result's; analyse "
                    "it again (or analyse a copy, df.copy(), to keep this result)"
                )
            with as_store(source) as again:
                return again.observations(milestone, as_of=as_of, per=per)

        return reopen
    rows = tuple(store.observations(milestone, as_of=as_of, per=per))
    return lambda: rows


def required_as_of(store: EventSource, as_of: datetime | str | None) -> datetime:
    """:func:`resolve_as_of`, or a clear error for a source without events."""
    when = resolve_as_of(store, as_of)
    if when is None:
        raise no_events(store)
    return when


def no_events(store: EventSource) -> AnalysisError:
    """The error for a *store* that holds no events: a file read empty is named (the
    advice to track or import is for a store)."""
    files: Sequence[str] = getattr(store, "files", ())
    skipped: int = getattr(store, "skipped", 0)
    if not files and not skipped:
        return AnalysisError("the source holds no events; track or import some first")
    if files:
        named = files[0] if len(files) == 1 else f"the {len(files):,} files ({files[0]}, ...)"
    else:
        named = "the table"  # a DataFrame whose every row was skipped
    why = (
        f"every row was bad, and skipped ({skipped:,}; on_error='skip')"
        if skipped
        else "it has no rows"
    )
    errors: Sequence[Exception] = getattr(store, "errors", ())
    first = f"; the first: {errors[0]}" if skipped and errors else ""
    return AnalysisError(f"{named} holds no events: {why}{first}")
