"""Exports of Mixpanel (its raw event export) and Amplitude (its Export API and S3 export).

Each reads its vendor's documented layout with a fixed mapping, as the PostHog and
Segment readers of ``_vendors`` do, and merges the identities the export links; the
layouts and the choices made where a vendor leaves room are in ``docs/io.md``.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import zipfile
import zlib
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import IO, Any, Final

import attrs

from ttvkit.errors import ConfigurationError
from ttvkit.events import ValueEvent
from ttvkit.io._convert import Options, RowConverter
from ttvkit.io._mapping import ColumnMapping
from ttvkit.io._reader import EventReader, Item, Location, OnError, ReadError, source_name
from ttvkit.io._text import TextSource, guarded, is_path, json_records, open_text
from ttvkit.io._vendors import (
    DAMAGE,
    Identities,
    keep_names,
    merged_items,
    not_an_object,
    until_damage,
)
from ttvkit.io.values import check_zone, json_kind

__all__ = ["read_amplitude", "read_mixpanel"]

_ENCODING: Final = "utf-8-sig"

# -- Mixpanel ----------------------------------------------------------------------------

#: Mixpanel's event: ``{"event": ..., "properties": {"distinct_id", "time", "$insert_id", ...}}``.
MIXPANEL_MAPPING: Final = ColumnMapping(
    user="properties.distinct_id",
    name="event",
    timestamp="properties.time",
    account=None,
    event_id="properties.$insert_id",
    properties="properties",
    property_columns=(),
)
#: Mixpanel's own fields, read as the event's user, time and id (``token`` is the project's).
_MIXPANEL_FIELDS: Final = frozenset({"distinct_id", "time", "$insert_id", "token"})
#: The properties that link ids: kept while learning the links even if not kept after.
_MIXPANEL_LINKS: Final = frozenset(
    {"$anon_distinct_id", "$identified_id", "alias", "$device_id", "$user_id"}
)
_NAIVE_EPOCH: Final = datetime(1970, 1, 1)
#: Mixpanel takes ``time`` in seconds or milliseconds; 1e11 seconds is after the year 5000.
_MILLISECONDS_FROM: Final = 1e11


def _mixpanel_time(value: object, zone: tzinfo) -> object:
    """Mixpanel's ``time``, epoch seconds (or milliseconds) counted in *zone*, as a datetime.

    Anything else is returned as given, for the converter to say what is wrong.
    """
    if not isinstance(value, int | float) or isinstance(value, bool):
        return value
    if not math.isfinite(value):
        return value
    try:
        if abs(value) >= _MILLISECONDS_FROM:
            wall = _NAIVE_EPOCH + timedelta(milliseconds=value)
        else:
            wall = _NAIVE_EPOCH + timedelta(seconds=value)
    except OverflowError:
        return value
    return wall.replace(tzinfo=zone)


def _group_key(group_key: str | None) -> Callable[[Mapping[str, Any]], tuple[str, object]] | None:
    if group_key is None:
        return None
    if not isinstance(group_key, str) or not group_key:
        raise ConfigurationError(
            f"group_key={group_key!r}: pass the name of a group key property (e.g. "
            "'company_id') or None"
        )

    def account(properties: Mapping[str, Any]) -> tuple[str, object]:
        value = properties.get(group_key)
        if isinstance(value, list):  # an event in several groups: the first
            value = value[0] if value else None
        return f"properties.{group_key}", value

    return account


def _learn_mixpanel(e: ValueEvent, identities: Identities) -> None:
    properties = e.properties
    if e.name == "$identify":
        identified = properties.get("$identified_id")
        identities.link(
            properties.get("$anon_distinct_id"), e.user_id if identified is None else identified
        )
    elif e.name == "$create_alias":
        identities.link(properties.get("alias"), e.user_id)
    device, user = properties.get("$device_id"), properties.get("$user_id")
    if isinstance(device, str) and device and user not in (None, ""):
        identities.link(f"$device:{device}", user)  # Simplified ID Merge's anonymous ids
        identities.link(device, user)


def read_mixpanel(
    source: TextSource,
    *,
    group_key: str | None = None,
    keep_properties: Collection[str] | None = None,
    on_error: OnError = "raise",
    project_timezone: tzinfo = UTC,
    merge_identities: bool = True,
) -> EventReader:
    """Read a Mixpanel raw event export: JSON lines (or a JSON array), ``.gz`` too.

    Each record is ``{"event": ..., "properties": {...}}``: ``event`` → name,
    ``properties.distinct_id`` → user, ``properties.time`` → timestamp,
    ``properties.$insert_id`` → event id, the other properties → properties
    (``token``, the project's token, is left out). *group_key* takes the account
    from that property (Mixpanel's group analytics, e.g. ``"company_id"``; of a
    list of names, the first).
    *keep_properties* keeps only the properties named.

    ``time`` is epoch seconds, or milliseconds when it is 1e11 or more (as
    Mixpanel's own import reads it). Mixpanel exports it in UTC for projects
    created since 2023, and in the project's time zone before: for such a
    project pass ``project_timezone=ZoneInfo("America/Los_Angeles")`` (its
    zone), and each ``time`` is read as that zone's wall-clock time.

    With *merge_identities* (the default), the ids the export links are merged
    before analysis: a ``$identify`` event's ``$anon_distinct_id`` becomes its
    ``$identified_id``, a ``$create_alias`` event's ``alias`` its ``distinct_id``,
    and an event carrying both ``$device_id`` and ``$user_id`` (Simplified ID
    Merge) makes the device's events (``distinct_id`` ``$device:<id>``) the
    user's. This reads the source twice (a file object once, held in memory);
    ``merged`` on the reader counts the ids merged. Returns an
    :class:`~ttvkit.io.EventReader`.
    """
    zone = check_zone(project_timezone)
    if zone is None:
        raise ConfigurationError(
            "project_timezone=None: pass the zone Mixpanel counted `time` in: datetime.UTC "
            "(projects created since 2023) or the project's zone, e.g. ZoneInfo('US/Pacific')"
        )
    keep = keep_names(keep_properties)
    merge = bool(merge_identities)
    drop: frozenset[str] = frozenset()
    if merge and keep is not None:
        drop = _MIXPANEL_LINKS - keep
        keep = keep | _MIXPANEL_LINKS
    options = Options.build(
        MIXPANEL_MAPPING,
        account_from=_group_key(group_key),
        keep_properties=keep,
        infer_types=False,
    )
    name = source_name(source)
    identities = Identities()

    def items() -> Iterator[Item]:
        identities.__init__()  # type: ignore[misc]  # afresh for every iteration
        if not merge:
            yield from raw_items()
            return
        yield from merged_items(source, raw_items, _learn_mixpanel, identities, drop)

    def raw_items() -> Iterator[Item]:
        with open_text(source, "r", encoding=_ENCODING, newline=None) as file:
            yield from guarded(source, name, _ENCODING, records(file))

    def records(file: IO[str]) -> Iterator[Item]:
        converter = RowConverter(options, Location(name, noun="key"), None)
        for line, row, record in json_records(file, name):
            if not isinstance(record, dict):
                yield not_an_object(record, name, line, row)
                continue
            properties = record.get("properties")
            if properties is None:
                properties = {}
            if not isinstance(properties, dict):
                yield Location(name, line=line, row=row, noun="key").error(
                    f"is {json_kind(properties)}, not a JSON object", "properties"
                )
                continue
            values: dict[str, object] = {
                "properties": {k: v for k, v in properties.items() if k not in _MIXPANEL_FIELDS},
            }
            # A key the record lacks stays out, so that the message says "is missing".
            if "event" in record:
                values["event"] = record["event"]
            if "distinct_id" in properties:
                values["properties.distinct_id"] = properties["distinct_id"]
            if "time" in properties:
                values["properties.time"] = _mixpanel_time(properties["time"], zone)
            if "$insert_id" in properties:
                values["properties.$insert_id"] = properties["$insert_id"]
            yield converter.convert(values, line=line, row=row)

    return EventReader(
        name,
        items,
        on_error=on_error,
        once=not is_path(source),
        merges=lambda: len(identities.used),
    )


# -- Amplitude ---------------------------------------------------------------------------

#: Amplitude's exported event; the user is ``user_id``, or ``device_id`` when that is null.
AMPLITUDE_MAPPING: Final = ColumnMapping(
    user="user_id",
    name="event_type",
    timestamp="event_time",
    account=None,
    event_id="uuid",
    properties="event_properties",
    property_columns=(),
)
_AMPLITUDE_DEVICE: Final = attrs.evolve(AMPLITUDE_MAPPING, user="device_id")


def _blank(value: object) -> bool:
    return value is None or value == ""


def _amplitude_group(groups: object, group_type: str) -> object:
    """The event's group of *group_type*: Amplitude writes a name or a list of names."""
    value = groups.get(group_type) if isinstance(groups, Mapping) else None
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _learn_amplitude(record: Mapping[str, Any], identities: Identities) -> None:
    user = record.get("user_id")
    if _blank(user):
        return
    device = record.get("device_id")
    if isinstance(device, str) and device:
        identities.link(f"device:{device}", user)
    amplitude_id = record.get("amplitude_id")
    if isinstance(amplitude_id, int | str) and not isinstance(amplitude_id, bool):
        identities.link(f"amplitude:{amplitude_id}", user)


class _MemberDamage(ReadError):
    """A zip member whose compressed data or checksum is damaged."""


class _ArchiveStream(io.RawIOBase):
    """A member's bytes as they leave the archive, its failures named after the member.

    The archive's own failures (a bad CRC, a truncated deflate stream) thus differ from
    those of a gzip member inside it.
    """

    def __init__(self, raw: IO[bytes], label: str, name: str) -> None:
        super().__init__()
        self._raw = raw
        self._label = label
        self._name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._raw.read(len(buffer))
        except (zipfile.BadZipFile, EOFError, zlib.error, OSError) as exc:
            raise _MemberDamage(
                f"{self._label}: could not be read from the archive ({exc}); "
                "the archive is truncated or damaged",
                source=self._name,
            ) from None
        buffer[: len(data)] = data
        return len(data)


def _amplitude_files(source: TextSource, name: str) -> Iterator[tuple[str, IO[str]]]:
    """The text files of *source*: each member of an Export API ``.zip``, else the file."""
    if not (is_path(source) and os.fspath(source).lower().endswith(".zip")):  # type: ignore[arg-type]
        with open_text(source, "r", encoding=_ENCODING, newline=None) as file:
            yield name, file
        return
    try:
        archive = zipfile.ZipFile(os.fspath(source))  # type: ignore[arg-type]
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise ReadError(f"{name}: is not a readable zip archive ({exc})", source=name) from None
    with archive:
        members = sorted(
            (m for m in archive.infolist() if not m.is_dir()), key=lambda m: m.filename
        )
        for member in members:
            label = f"{name}:{member.filename}"
            try:
                with archive.open(member) as raw:
                    binary: IO[bytes] = io.BufferedReader(_ArchiveStream(raw, label, name))
                    if member.filename.lower().endswith(".gz"):
                        binary = gzip.GzipFile(fileobj=binary)  # type: ignore[assignment]
                    text = io.TextIOWrapper(binary, encoding=_ENCODING, newline=None)
                    yield label, text
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
                raise ReadError(
                    f"{label}: could not be read from the archive ({exc})", source=name
                ) from None


def read_amplitude(
    source: TextSource,
    *,
    group_type: str | None = None,
    keep_properties: Collection[str] | None = None,
    on_error: OnError = "raise",
    assume_timezone: tzinfo | None = UTC,
    merge_identities: bool = True,
    user_properties: bool = True,
) -> EventReader:
    """Read an Amplitude export: the Export API's ``.zip``, or its JSON lines (``.gz`` too).

    Fields: ``user_id`` → user (``device_id`` when it is null), ``event_type`` →
    name, ``event_time`` → timestamp, ``uuid`` (``$insert_id`` when absent) →
    event id, ``event_properties`` → properties. ``user_properties`` (where
    Amplitude keeps ``plan`` and the like, as they were at the event) are added
    to the properties, the event's own winning on a clash, unless
    *user_properties* is false. *group_type* takes the account from the event's
    ``groups`` (e.g. ``"company"``; of a list of names, the first). Other fields
    (``amplitude_id``, ``session_id``, ``platform``, ...) are not read;
    *keep_properties* keeps only the properties named.

    The Export API's archive holds one gzipped JSON lines file per hour; a
    ``.zip`` path is read member by member, in name order. Amplitude writes
    ``event_time`` in UTC without an offset, so such times are read as UTC;
    pass ``assume_timezone=None`` to reject them.

    With *merge_identities* (the default), the events of a device before its
    user logged in are the user's: an event with both ``user_id`` and
    ``device_id`` (or ``amplitude_id``) links them. This reads the source twice
    (a file object once, held in memory); ``merged`` on the reader counts the
    devices merged. Returns an :class:`~ttvkit.io.EventReader`.
    """
    if group_type is not None and (not isinstance(group_type, str) or not group_type):
        raise ConfigurationError(f"group_type={group_type!r}: pass a group type name or None")
    keep = keep_names(keep_properties)
    merge = bool(merge_identities)
    with_user = bool(user_properties)
    account = None if group_type is None else f"groups.{group_type}"
    by_user = Options.build(
        attrs.evolve(AMPLITUDE_MAPPING, account=account),
        assume_timezone=assume_timezone,
        keep_properties=keep,
        infer_types=False,
    )
    by_device = attrs.evolve(by_user, mapping=attrs.evolve(_AMPLITUDE_DEVICE, account=account))
    name = source_name(source)
    identities = Identities()
    devices: set[str] = set()  # the devices (or Amplitude ids) whose events were merged

    def items() -> Iterator[Item]:
        identities.__init__()  # type: ignore[misc]  # afresh for every iteration
        devices.clear()
        yield from guarded(source, name, _ENCODING, body())

    def body() -> Iterator[Item]:
        held: list[tuple[str, int | None, int | None, object]] | None = None
        failure: BaseException | None = None
        if merge:
            # A file damaged part way: links from the part before the damage; the
            # second pass gives the events before it, then the error.
            if is_path(source):
                try:
                    for _, _, _, linking in records():
                        if isinstance(linking, dict):
                            _learn_amplitude(linking, identities)
                except DAMAGE:
                    pass  # the second pass raises it, after the events before it
            else:
                held, failure = until_damage(records())
                for _, _, _, linking in held:
                    if isinstance(linking, dict):
                        _learn_amplitude(linking, identities)
        converters: dict[str, tuple[RowConverter, RowConverter]] = {}
        for label, line, row, record in records() if held is None else held:
            if isinstance(record, ReadError):
                yield record
                continue
            if not isinstance(record, dict):
                yield not_an_object(record, label, line, row)
                continue
            if label not in converters:
                location = Location(label, noun="key")
                converters[label] = (
                    RowConverter(by_user, location, None),
                    RowConverter(by_device, location, None),
                )
            yield event(record, label, line, row, *converters[label])
        if failure is not None:
            raise failure

    def records() -> Iterator[tuple[str, int | None, int | None, object]]:
        for label, file in _amplitude_files(source, name):
            if label == name:  # not an archive: guarded names the file
                for line, row, record in json_records(file, label):
                    yield label, line, row, record
                continue
            try:
                for line, row, record in json_records(file, label):
                    yield label, line, row, record
            except gzip.BadGzipFile as exc:  # the member's gzip (the archive's: _MemberDamage)
                raise ReadError(f"{label}: is not a gzip file ({exc})", source=name) from None
            except (EOFError, zlib.error) as exc:
                raise ReadError(
                    f"{label}: is not a complete gzip file ({exc}); the member is "
                    "truncated or damaged",
                    source=name,
                ) from None

    def event(
        record: dict[str, Any],
        label: str,
        line: int | None,
        row: int | None,
        user_converter: RowConverter,
        device_converter: RowConverter,
    ) -> Item:
        own = record.get("event_properties")
        properties = own
        person = record.get("user_properties") if with_user else None
        if isinstance(person, Mapping) and person and (own is None or isinstance(own, Mapping)):
            properties = {**person, **(own or {})}
        uuid = record.get("uuid")
        values: dict[str, object] = {
            "event_type": record.get("event_type"),
            "event_time": record.get("event_time"),
            "uuid": record.get("$insert_id") if _blank(uuid) else uuid,
            "event_properties": properties,
        }
        if account is not None:
            values[account] = _amplitude_group(record.get("groups"), group_type or "")
        user = record.get("user_id")
        device = record.get("device_id")
        if _blank(user) and merge:
            for key in (f"device:{device}", f"amplitude:{record.get('amplitude_id')}"):
                if key in identities.links:
                    user = identities.resolve(key)
                    devices.add(key if _blank(device) else f"device:{device}")
                    break
        if not _blank(user):
            values["user_id"] = user
            converter = user_converter
        elif not _blank(device):
            values["device_id"] = device
            converter = device_converter
        else:
            return Location(label, line=line, row=row, noun="key").error(
                "is missing, and so is device_id; an Amplitude event needs one of them",
                "user_id",
            )
        result = converter.convert(values, line=line, row=row)
        if isinstance(result, ReadError) and properties is not own:
            # A user property ttvkit cannot store: the event with its own properties.
            retry = converter.convert({**values, "event_properties": own}, line=line, row=row)
            if isinstance(retry, ValueEvent):
                return retry
        return result

    return EventReader(
        name,
        items,
        on_error=on_error,
        once=not is_path(source),
        merges=lambda: len(devices),
    )
