"""Exports of product-analytics tools: PostHog events and Segment track calls.

Both read their vendor's documented layout with a fixed mapping; the layouts and
the choices made where a vendor leaves room are in ``docs/io.md``.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import UTC, tzinfo
from typing import IO, Any, Final, Literal, TypeAlias, TypeVar, cast

import attrs

from ttvkit._optional import require
from ttvkit.errors import ConfigurationError, InvalidEventError
from ttvkit.events import ValueEvent, trusted_event
from ttvkit.io._convert import Options, RowConverter
from ttvkit.io._mapping import ColumnMapping
from ttvkit.io._reader import IGNORED, EventReader, Item, Location, OnError, ReadError, source_name
from ttvkit.io._tables import parquet_items
from ttvkit.io._text import (
    TextSource,
    csv_items,
    guarded,
    is_path,
    json_records,
    open_text,
)
from ttvkit.io.values import json_kind

__all__ = [
    "DAMAGE",
    "Identities",
    "keep_names",
    "merged_items",
    "not_an_object",
    "read_posthog",
    "read_segment",
    "until_damage",
]

T = TypeVar("T")

PostHogFormat: TypeAlias = Literal["json", "csv", "parquet"]

#: PostHog's events model: https://posthog.com/docs/data-model and its batch exports.
POSTHOG_MAPPING: Final = ColumnMapping(
    user="distinct_id",
    name="event",
    timestamp="timestamp",
    account=None,
    event_id="uuid",
    properties="properties",
    property_columns=(),
)

#: Segment's Track spec; the user is ``userId``, or ``anonymousId`` when that is absent.
SEGMENT_MAPPING: Final = ColumnMapping(
    user="userId",
    name="event",
    timestamp="timestamp",
    account="context.groupId",
    event_id="messageId",
    properties="properties",
    property_columns=(),
)
_SEGMENT_ANONYMOUS: Final = attrs.evolve(SEGMENT_MAPPING, user="anonymousId")


class Identities:
    """Anonymous (or earlier) ids and the id each was identified as, resolved through chains.

    Each id keeps the first link from it (an anonymous id identified as two users stays
    with the first). Ids linked in either direction are one person: a chain resolves to
    the id at its end, and a loop (``alias`` then ``identify``, each linking the other
    way) to the target of the loop's latest link, the id identified last.
    """

    def __init__(self) -> None:
        self.links: dict[str, str] = {}
        self.used: set[str] = set()
        self._order: dict[str, int] = {}
        self._resolved: dict[str, str] = {}

    def link(self, previous: object, user: object) -> None:
        if isinstance(previous, int) and not isinstance(previous, bool):
            previous = str(previous)
        if isinstance(user, int) and not isinstance(user, bool):
            user = str(user)
        if (
            isinstance(previous, str)
            and isinstance(user, str)
            and previous
            and user
            and previous != user
            and previous not in self.links
        ):
            self.links[previous] = user
            self._order[previous] = len(self._order)
            self._resolved.clear()

    def resolve(self, user: str) -> str:
        """The id *user* is one person with: the end of its chain, or its loop's latest target."""
        found = self._resolved.get(user)
        if found is None:
            found = self._representative(user)
            self._resolved[user] = found
        if found != user:
            self.used.add(user)
        return found

    def _representative(self, user: str) -> str:
        path: dict[str, int] = {user: 0}
        current = user
        while current in self.links:
            current = self.links[current]
            if current in path:  # a loop: every id of it (and leading to it) is one person
                loop = list(path)[path[current] :]
                return self.links[max(loop, key=self._order.__getitem__)]
            path[current] = len(path)
        return current

    def apply(self, e: ValueEvent, drop: frozenset[str] = frozenset()) -> ValueEvent:
        user = self.resolve(e.user_id)
        properties = e.properties
        if drop & properties.keys():
            properties = {k: v for k, v in properties.items() if k not in drop}
        if user == e.user_id and properties is e.properties:
            return e
        return trusted_event(user, e.name, e.timestamp, properties, e.account_id, e.event_id)


#: How a file as a whole fails part way (a truncated ``.gz``, a read error): a first
#: pass that learns links stops there, and the second reports it after the events before.
DAMAGE: Final = (ReadError, EOFError, zlib.error, OSError)


def until_damage(items: Iterable[T]) -> tuple[list[T], BaseException | None]:
    """*items* up to a failure of the file as a whole, and that failure (None if none)."""
    held: list[T] = []
    try:
        for item in items:
            held.append(item)  # noqa: PERF402 - list() would lose the items before a failure
    except DAMAGE as exc:
        return held, exc
    return held, None


def merged_items(
    source: object,
    raw_items: Callable[[], Iterator[Item]],
    learn: Callable[[ValueEvent, Identities], None],
    identities: Identities,
    drop: frozenset[str],
) -> Iterator[Item]:
    """The events of *raw_items* with the ids they link merged: a first pass learns the
    links, a second applies them (a path is read twice; a file object once, held).

    A file damaged part way (a truncated ``.gz``) gives the events before the damage,
    merged by the links they hold, then its error.
    """
    held: list[Item] | None = None
    failure: BaseException | None = None
    if is_path(source):
        try:
            for item in raw_items():
                if type(item) is ValueEvent:
                    learn(item, identities)
        except DAMAGE:
            pass  # the second pass raises it, after the events before it
    else:
        held, failure = until_damage(raw_items())
        for item in held:
            if type(item) is ValueEvent:
                learn(item, identities)
    for item in raw_items() if held is None else held:
        yield identities.apply(item, drop) if type(item) is ValueEvent else item
    if failure is not None:
        raise failure


def keep_names(value: object) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Collection):
        raise ConfigurationError(
            f"keep_properties={value!r}: pass a collection of property names, "
            "e.g. ('plan', '$browser'), or None to keep them all"
        )
    return frozenset(str(v) for v in value)


def _posthog_format(source: object, format: object) -> PostHogFormat:
    if format == "json" or format == "csv" or format == "parquet":
        return format
    if format is not None:
        raise ConfigurationError(f"format={format!r}: pass 'json', 'csv', 'parquet' or None")
    name = source_name(source).lower().removesuffix(".gz")
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    return "json"


def _group_account(group_type: str | None) -> Any:
    """Where a PostHog event's account is: ``$group_0``, or ``$groups[group_type]``."""
    if group_type is None:

        def group_0(properties: Mapping[str, Any]) -> tuple[str, object]:
            return "properties.$group_0", properties.get("$group_0")

        return group_0

    def named(properties: Mapping[str, Any]) -> tuple[str, object]:
        groups = properties.get("$groups")
        value = groups.get(group_type) if isinstance(groups, Mapping) else None
        return f"properties.$groups.{group_type}", value

    return named


def read_posthog(
    source: TextSource,
    *,
    format: PostHogFormat | None = None,
    group_type: str | None = None,
    keep_properties: Collection[str] | None = None,
    on_error: OnError = "raise",
    assume_timezone: tzinfo | None = UTC,
    merge_identities: bool = True,
    person_properties: bool = True,
) -> EventReader:
    """Read a PostHog events export: JSON lines, a JSON array, CSV or Parquet.

    Fields: ``distinct_id`` → user, ``event`` → name, ``timestamp``, ``uuid`` (or the
    API's ``id``) → event id, ``properties`` (an object or JSON text) → properties.
    ``person_properties`` (where PostHog keeps ``plan`` and the like; an object,
    or JSON text in CSV and Parquet) are added to the properties, the event's own
    winning on a clash, unless *person_properties* is false. Other fields
    (``elements_chain``, ...) are not read.

    With *merge_identities* (the default), the ids PostHog links are merged before
    analysis: a ``$identify`` event's ``$anon_distinct_id`` (on any event, too) and
    a ``$create_alias`` event's ``alias`` become the event's ``distinct_id``, so
    the anonymous events before a signup belong to the identified user. This reads
    the source twice (a file object once, held in memory); ``merged`` on the reader
    counts the ids merged. The
    account is the event's group: ``$groups[group_type]`` when *group_type* is given
    (e.g. ``"company"``), else ``$group_0`` (the project's first group type) when
    present. *keep_properties* keeps only the properties named (PostHog adds many
    ``$`` properties). PostHog documents its export timestamps as UTC, so ones
    without an offset are read as UTC; pass ``assume_timezone=None`` to reject them.

    The format comes from the file name (``.csv``, ``.parquet``, anything else is
    JSON; ``.gz`` is decompressed) unless *format* says. JSON may also be one object
    with a ``results`` list, as PostHog's API returns. Returns an
    :class:`~ttvkit.io.EventReader`.
    """
    kind = _posthog_format(source, format)
    merge = bool(merge_identities)
    keep = keep_names(keep_properties)
    drop: frozenset[str] = frozenset()
    if merge and keep is not None:
        drop = _POSTHOG_LINKS - keep
        keep = keep | _POSTHOG_LINKS
    if group_type is not None and (not isinstance(group_type, str) or not group_type):
        raise ConfigurationError(f"group_type={group_type!r}: pass a group type name or None")
    if kind == "parquet":
        require("pyarrow.parquet", "parquet", "read_posthog on Parquet")
    with_person = bool(person_properties)

    # CSV and Parquet: person_properties is a column of JSON text, read as a property
    # and folded into the others (those *keep* names) by _fold_person.
    def options_for(person_column: bool) -> Options:
        return Options.build(
            attrs.evolve(POSTHOG_MAPPING, property_columns=(_PERSON,))
            if person_column
            else POSTHOG_MAPPING,
            assume_timezone=assume_timezone,
            account_from=_group_account(group_type),
            keep_properties=keep | {_PERSON} if person_column and keep is not None else keep,
            text=kind == "csv",
            infer_types=False,
        )

    options = options_for(False)
    person_options = options_for(True)
    # A path's header is looked at here; a file object's, which is read once, as it is read.
    has_person = with_person and kind != "json" and _has_column(source, kind, _PERSON)
    name = source_name(source)
    identities = Identities()

    def items() -> Iterator[Item]:
        identities.__init__()  # type: ignore[misc]  # afresh for every iteration
        if not merge:
            yield from raw_items()
            return
        yield from merged_items(source, raw_items, _learn_posthog, identities, drop)

    def raw_items() -> Iterator[Item]:
        if kind == "parquet":
            rows = parquet_items(
                source,  # type: ignore[arg-type]
                name,
                person_options if has_person else options,
                strict_optional=False,
            )
            yield from folded(rows) if has_person else rows
            return
        with open_text(source, "r", encoding="utf-8-sig", newline="") as file:
            rows = csv_rows(file) if kind == "csv" else json_items(file)
            yield from guarded(source, name, "utf-8-sig", rows)

    def folded(rows: Iterator[Item]) -> Iterator[Item]:
        for item in rows:
            yield _fold_person(item, keep) if type(item) is ValueEvent else item

    def csv_rows(file: IO[str]) -> Iterator[Item]:
        # A file object's header line is read here, to see whether it has a
        # person_properties column, and put back in front.
        lines: Iterable[str] = file
        person_column = has_person
        if with_person and not is_path(source):
            try:
                first = file.readline()
            except UnicodeDecodeError as exc:
                raise Location(name, line=1).error(f"is not valid UTF-8 ({exc.reason})") from None
            with contextlib.suppress(csv.Error):  # csv_items says what is wrong with it
                person_column = _PERSON in next(csv.reader([first]), [])
            lines = itertools.chain([first], file)
        rows = csv_items(
            cast(IO[str], lines),
            name,
            person_options if person_column else options,
            strict_optional=False,
        )
        yield from folded(rows) if person_column else rows

    def json_items(file: IO[str]) -> Iterator[Item]:
        converter = RowConverter(options, Location(name, noun="key"), None)
        for line, row, record in json_records(file, name, wrapper="results"):
            if not isinstance(record, dict):
                yield not_an_object(record, name, line, row)
                continue
            if "uuid" not in record and "id" in record:
                record = {**record, "uuid": record["id"]}
            if with_person:
                record = _with_person_properties(record)
            yield converter.convert(record, line=line, row=row)

    return EventReader(
        name,
        items,
        on_error=on_error,
        once=not is_path(source),
        merges=lambda: len(identities.used),
    )


_POSTHOG_LINKS: Final = frozenset({"$anon_distinct_id", "alias"})
_PERSON: Final = "person_properties"


def _has_column(source: object, kind: str, column: str) -> bool:
    """Whether a CSV file at a path, or a Parquet file (a path, or a file object that
    can seek), has *column*."""
    try:
        if kind == "csv":
            if not is_path(source):
                return False  # looked at as it is read
            with open_text(source, "r", encoding="utf-8-sig", newline="") as file:  # type: ignore[arg-type]
                return column in next(csv.reader(file), [])
        pq = require("pyarrow.parquet", "parquet", "read_posthog on Parquet")
        if is_path(source):
            return column in pq.read_schema(source).names
        seek, tell = getattr(source, "seek", None), getattr(source, "tell", None)
        if seek is None or tell is None:
            return False
        start = tell()
        try:
            return column in pq.read_schema(source).names
        finally:
            seek(start)
    except (OSError, ValueError, EOFError, zlib.error, csv.Error, ReadError):
        return False  # the reader says what is wrong with the file


def _fold_person(e: ValueEvent, keep: frozenset[str] | None) -> ValueEvent:
    """*e* with its ``person_properties`` property (JSON text) folded under its own,
    only those *keep* names when it names some (as for JSON, where they are folded first).
    """
    properties = dict(e.properties)
    person = properties.pop(_PERSON, None)
    if isinstance(person, str):
        try:
            person = json.loads(person) if person.strip() else None
        except ValueError:
            person = None
    if isinstance(person, Mapping):
        if keep is not None:
            person = {k: v for k, v in person.items() if k in keep}
        properties = {**person, **properties}
    try:
        return ValueEvent(e.user_id, e.name, e.timestamp, properties, e.account_id, e.event_id)
    except InvalidEventError:  # a person property ttvkit cannot store: leave them out
        properties = {k: v for k, v in e.properties.items() if k != _PERSON}
        return trusted_event(e.user_id, e.name, e.timestamp, properties, e.account_id, e.event_id)


def _learn_posthog(e: ValueEvent, identities: Identities) -> None:
    anonymous = e.properties.get("$anon_distinct_id")
    if anonymous is not None:
        identities.link(anonymous, e.user_id)
    if e.name == "$create_alias":
        identities.link(e.properties.get("alias"), e.user_id)


def _with_person_properties(record: dict[str, Any]) -> dict[str, Any]:
    person = record.get("person_properties")
    if isinstance(person, str) and person.strip().startswith("{"):
        try:
            person = json.loads(person)
        except ValueError:
            return record
    if not isinstance(person, Mapping) or not person:
        return record
    own = record.get("properties")
    if isinstance(own, str) and own.strip().startswith("{"):
        try:
            own = json.loads(own)
        except ValueError:
            return record  # the reader says what is wrong with the properties
    if own is None:
        own = {}
    if not isinstance(own, Mapping):
        return record
    return {**record, "properties": {**person, **own}}


def not_an_object(record: object, name: str, line: int | None, row: int | None) -> ReadError:
    if isinstance(record, ReadError):
        return record
    return Location(name, line=line, row=row).error(
        f"is {json_kind(record)}, not a JSON object; each event must be an object"
    )


def read_segment(
    source: TextSource,
    *,
    use_anonymous_id: bool = True,
    keep_properties: Collection[str] | None = None,
    on_error: OnError = "raise",
    assume_timezone: tzinfo | None = UTC,
    merge_identities: bool = True,
) -> EventReader:
    """Read Segment track calls: JSON lines, a JSON array, or ``{"batch": [...]}``.

    Each ``track`` call becomes an event: ``userId`` → user (``anonymousId`` when
    there is no ``userId``, unless *use_anonymous_id* is false, which ignores such
    calls), ``event`` → name, ``timestamp`` (``originalTimestamp`` when absent),
    ``messageId`` → event id, ``properties``, and ``context.groupId`` → account.
    Other calls (``identify``, ``page``, ``group``, ...) are ignored and counted in
    ``ignored``.

    With *merge_identities* (the default), the ids the file links are merged before
    analysis: an ``identify`` call (or any call) carrying both ``anonymousId`` and
    ``userId``, and an ``alias`` call's ``previousId``, make the anonymous (or
    previous) id's track calls the identified user's, so an anonymous ``Signed Up``
    followed by an ``identify`` and an identified ``Report Created`` is one user.
    This reads the source twice (a file object once, held in memory); ``merged``
    on the reader counts the ids merged. Segment
    timestamps are UTC by its spec, so ones without an offset are read as UTC;
    pass ``assume_timezone=None`` to reject them. Returns an
    :class:`~ttvkit.io.EventReader`.
    """
    keep = keep_names(keep_properties)
    by_user = Options.build(SEGMENT_MAPPING, assume_timezone=assume_timezone, keep_properties=keep)
    by_anonymous = attrs.evolve(by_user, mapping=_SEGMENT_ANONYMOUS)
    name = source_name(source)
    anonymous = bool(use_anonymous_id)
    merge = bool(merge_identities)
    identities = Identities()

    def items() -> Iterator[Item]:
        identities.__init__()  # type: ignore[misc]  # afresh for every iteration
        if merge and is_path(source):
            try:
                with open_text(source, "r", encoding="utf-8-sig", newline=None) as file:
                    yield from guarded(source, name, "utf-8-sig", learn(file))
            except DAMAGE:
                pass  # the second pass raises it, after the calls before it
        with open_text(source, "r", encoding="utf-8-sig", newline=None) as file:
            yield from guarded(source, name, "utf-8-sig", calls(file))

    def learn(file: IO[str]) -> Iterator[Item]:
        for _, _, record in json_records(file, name, wrapper="batch"):
            if isinstance(record, dict):
                _learn_segment(record, identities)
        yield from ()

    def calls(file: IO[str]) -> Iterator[Item]:
        location = Location(name, noun="key")
        user_converter = RowConverter(by_user, location, None)
        anonymous_converter = RowConverter(by_anonymous, location, None)
        records: Iterator[tuple[int | None, int | None, object]] = json_records(
            file, name, wrapper="batch"
        )
        failure: BaseException | None = None
        if merge and not is_path(source):
            held, failure = until_damage(records)
            for _, _, record in held:
                if isinstance(record, dict):
                    _learn_segment(record, identities)
            records = iter(held)
        for line, row, record in records:
            if not isinstance(record, dict):
                yield not_an_object(record, name, line, row)
                continue
            item = _segment_call(
                record, line, row, user_converter, anonymous_converter, anonymous, location
            )
            yield identities.apply(item) if merge and type(item) is ValueEvent else item
        if failure is not None:
            raise failure

    return EventReader(
        name,
        items,
        on_error=on_error,
        once=not is_path(source),
        merges=lambda: len(identities.used),
    )


def _learn_segment(record: Mapping[str, Any], identities: Identities) -> None:
    kind = record.get("type", record.get("action"))
    if kind == "alias":
        identities.link(record.get("previousId"), record.get("userId"))
    elif record.get("userId") not in (None, ""):
        identities.link(record.get("anonymousId"), record.get("userId"))


def _segment_call(
    record: dict[str, Any],
    line: int | None,
    row: int | None,
    by_user: RowConverter,
    by_anonymous: RowConverter,
    anonymous: bool,
    location: Location,
) -> Item:
    kind = record.get("type", record.get("action"))  # "action" in Segment's old batch format
    if kind is None:
        return attrs.evolve(location, line=line, row=row).error(
            'is missing; every Segment call has a "type" such as "track"', "type"
        )
    if kind != "track":
        return IGNORED
    context = record.get("context")
    timestamp = record.get("timestamp")
    values: dict[str, object] = {
        "event": record.get("event"),
        "timestamp": record.get("originalTimestamp") if timestamp is None else timestamp,
        "messageId": record.get("messageId"),
        "properties": record.get("properties"),
        "context.groupId": context.get("groupId") if isinstance(context, Mapping) else None,
    }
    user = record.get("userId")
    if user is not None and user != "":
        values["userId"] = user
        return by_user.convert(values, line=line, row=row)
    if not anonymous:
        return IGNORED
    anonymous_id = record.get("anonymousId")
    if anonymous_id is None or anonymous_id == "":
        return attrs.evolve(location, line=line, row=row).error(
            "is missing, and so is anonymousId; a track call needs one of them", "userId"
        )
    values["anonymousId"] = anonymous_id
    return by_anonymous.convert(values, line=line, row=row)
