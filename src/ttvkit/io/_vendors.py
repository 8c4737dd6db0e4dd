"""Exports of product-analytics tools: PostHog events and Segment track calls.

Both read their vendor's documented layout with a fixed mapping; the layouts and
the choices made where a vendor leaves room are in ``docs/io.md``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from datetime import UTC, tzinfo
from typing import IO, Any, Final, Literal, TypeAlias

import attrs

from ttvkit.errors import ConfigurationError
from ttvkit.io._core import (
    IGNORED,
    ColumnMapping,
    EventReader,
    Item,
    Location,
    OnError,
    Options,
    ReadError,
    RowConverter,
    json_kind,
    require,
    source_name,
)
from ttvkit.io._tables import parquet_items
from ttvkit.io._text import TextSource, csv_items, guarded, is_path, json_records, open_text

__all__ = ["read_posthog", "read_segment"]

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


def _keep(value: object) -> frozenset[str] | None:
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
) -> EventReader:
    """Read a PostHog events export: JSON lines, a JSON array, CSV or Parquet.

    Fields: ``distinct_id`` → user, ``event`` → name, ``timestamp``, ``uuid`` (or the
    API's ``id``) → event id, ``properties`` (an object or JSON text) → properties.
    Other fields (``person_properties``, ``elements_chain``, ...) are not read. The
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
    if group_type is not None and (not isinstance(group_type, str) or not group_type):
        raise ConfigurationError(f"group_type={group_type!r}: pass a group type name or None")
    if kind == "parquet":
        require("pyarrow.parquet", "parquet", "read_posthog on Parquet")
    options = Options.build(
        POSTHOG_MAPPING,
        assume_timezone=assume_timezone,
        account_from=_group_account(group_type),
        keep_properties=_keep(keep_properties),
        text=kind == "csv",
        infer_types=False,
    )
    name = source_name(source)

    def items() -> Iterator[Item]:
        if kind == "parquet":
            yield from parquet_items(source, name, options, strict_optional=False)  # type: ignore[arg-type]
            return
        with open_text(source, "r", encoding="utf-8-sig", newline="") as file:
            if kind == "csv":
                rows = csv_items(file, name, options, strict_optional=False)
            else:
                rows = json_items(file)
            yield from guarded(source, name, "utf-8-sig", rows)

    def json_items(file: IO[str]) -> Iterator[Item]:
        converter = RowConverter(options, Location(name, noun="key"), None)
        for line, row, record in json_records(file, name, wrapper="results"):
            if not isinstance(record, dict):
                yield _not_an_object(record, name, line, row)
                continue
            if "uuid" not in record and "id" in record:
                record = {**record, "uuid": record["id"]}
            yield converter.convert(record, line=line, row=row)

    return EventReader(name, items, on_error=on_error, once=not is_path(source))


def _not_an_object(record: object, name: str, line: int | None, row: int | None) -> ReadError:
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
) -> EventReader:
    """Read Segment track calls: JSON lines, a JSON array, or ``{"batch": [...]}``.

    Each ``track`` call becomes an event: ``userId`` → user (``anonymousId`` when
    there is no ``userId``, unless *use_anonymous_id* is false, which ignores such
    calls), ``event`` → name, ``timestamp`` (``originalTimestamp`` when absent),
    ``messageId`` → event id, ``properties``, and ``context.groupId`` → account.
    Other calls (``identify``, ``page``, ``group``, ...) are ignored and counted in
    ``ignored``. ttvkit does not merge anonymous and identified users. Segment
    timestamps are UTC by its spec, so ones without an offset are read as UTC;
    pass ``assume_timezone=None`` to reject them. Returns an
    :class:`~ttvkit.io.EventReader`.
    """
    keep = _keep(keep_properties)
    by_user = Options.build(SEGMENT_MAPPING, assume_timezone=assume_timezone, keep_properties=keep)
    by_anonymous = attrs.evolve(by_user, mapping=_SEGMENT_ANONYMOUS)
    name = source_name(source)
    anonymous = bool(use_anonymous_id)

    def items() -> Iterator[Item]:
        with open_text(source, "r", encoding="utf-8-sig", newline=None) as file:
            yield from guarded(source, name, "utf-8-sig", calls(file))

    def calls(file: IO[str]) -> Iterator[Item]:
        location = Location(name, noun="key")
        user_converter = RowConverter(by_user, location, None)
        anonymous_converter = RowConverter(by_anonymous, location, None)
        for line, row, record in json_records(file, name, wrapper="batch"):
            if not isinstance(record, dict):
                yield _not_an_object(record, name, line, row)
                continue
            yield _segment_call(
                record, line, row, user_converter, anonymous_converter, anonymous, location
            )

    return EventReader(name, items, on_error=on_error, once=not is_path(source))


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
