"""Milestones and analysis settings defined once, in a TOML file.

The ``ttvkit`` command reads this file (``--config ttv.toml``); code can too,
with :func:`load_config`. A complete example::

    store = "sqlite:///ttv.db"          # the default source
    per = "user"                        # or "account"

    [bands]                             # immediate / short / long TTV
    immediate = "5m"
    short = "7d"

    [milestones.first_report]
    kind = "basic"                      # basic, exceed, onboarding, upgrade, feature_adoption, roi
    start = "signup"                    # the default start
    reached = "report_created"
    window = "30d"                      # optional conversion window

    [milestones.ten_reports]
    kind = "exceed"
    reached = { event = "report_created", nth = 10 }

    [milestones.saved_1k]
    kind = "roi"
    reached = { total = "invoice_paid", property = "amount", at_least = 1000 }

    [milestones.onboarded]
    kind = "onboarding"
    reached = { all_of = ["profile_completed", "data_imported"] }

    [milestones.export_adoption]
    kind = "feature_adoption"
    start = 2026-07-01T00:00:00Z        # a TOML datetime: the release
    reached = { event = "export_used", where = { format = { one_of = ["csv", "xlsx"] } } }

    [analysis]
    interventions = ["tutorial_completed", "csm_assigned"]
    journey = ["onboarded", "first_report", "ten_reports"]
    landmark = "1d"
    within = "7d"

    [satisfaction]
    milestone = "first_report"
    survey = "csat_submitted"
    score = "score"

    [columns]                           # where a file's fields are (default: ttvkit's names)
    user = "distinct_id"
    name = "event"
    timestamp = "time"

    [input]                             # how a file's values are read
    timezone = "UTC"                    # the zone of timestamps written without an offset
    timestamp_unit = "ms"               # numbers are epoch milliseconds (or "s", "us")
    encoding = "cp1252"                 # a CSV or JSON-lines file's text (default: UTF-8)
    delimiter = ";"                     # what separates a CSV file's columns (default: ",")
    decimal = ","                       # a CSV file's numbers are written 3,5 (default: ".")

Durations are strings such as ``"90s"``, ``"5m"``, ``"12h"``, ``"7d"``, ``"2w"``
or tables such as ``{ days = 7 }``. A condition is an event name or a table
with exactly one of ``event`` (with optional ``where`` and ``nth``),
``total`` (with ``property``, ``at_least`` and optional ``where``),
``all_of`` or ``any_of`` (lists of conditions). A ``where`` value is a scalar
(equality) or a one-key table: ``one_of``, ``gt``, ``ge``, ``lt``, ``le``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from dateutil.parser import isoparser

from ttvkit.conditions import (
    Condition,
    Predicate,
    all_of,
    any_of,
    event,
    ge,
    gt,
    le,
    lt,
    one_of,
    total,
)
from ttvkit.errors import ConfigurationError, InvalidMilestoneError
from ttvkit.events import JSONScalar
from ttvkit.io import ColumnMapping, TimestampUnit
from ttvkit.io.values import check_decimal, check_delimiter, check_encoding
from ttvkit.milestones import Milestone, MilestoneKind, SpeedBands
from ttvkit.observations import Per

__all__ = [
    "Config",
    "load_config",
    "parse_columns",
    "parse_config",
    "parse_duration",
    "parse_timezone",
    "timezone_name",
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PREDICATES = {"one_of": None, "gt": gt, "ge": ge, "lt": lt, "le": le}


@attrs.frozen
class Config:
    """What a configuration file defines."""

    milestones: Mapping[str, Milestone] = attrs.field(hash=False)
    """(Left out of ``hash()``, which equal configurations still share: a mapping has none.)"""
    store: str | None = None
    per: Per = "user"
    bands: SpeedBands | None = None
    interventions: tuple[str, ...] = ()
    journey: tuple[str, ...] = ()
    landmark: timedelta | None = None
    within: timedelta | None = None
    satisfaction_milestone: str | None = None
    survey: str = "csat_submitted"
    score: str = "score"
    columns: ColumnMapping | None = None
    """Where a file's fields are (``[columns]``), or ``None`` for ttvkit's own names."""
    timezone: tzinfo | None = None
    """The zone of a file's timestamps written without an offset (``[input] timezone``);
    ``None`` rejects them."""
    timestamp_unit: TimestampUnit | None = None
    """What a number in a file's timestamp column counts (``[input] timestamp_unit``):
    ``"s"``, ``"ms"`` or ``"us"`` since the epoch; ``None`` reads numbers as seconds
    (and numeric text in CSV as an error)."""
    encoding: str | None = None
    """The text encoding of a CSV or JSON-lines file (``[input] encoding``), such as
    ``"latin-1"``; ``None`` reads UTF-8."""
    delimiter: str | None = None
    """What separates a CSV file's columns (``[input] delimiter``), such as ``";"`` or
    ``"\\t"``; ``None`` reads a tab for a ``.tsv`` file's name, else commas."""
    decimal: str | None = None
    """The decimal mark of a CSV file's numbers (``[input] decimal``): ``","`` reads
    ``3,5`` as a number; ``None`` reads ``"."`` (the command line may find ``","``)."""

    def milestone(self, name: str) -> Milestone:
        """The milestone called *name*, or a clear error listing the defined ones."""
        try:
            return self.milestones[name]
        except KeyError:
            known = ", ".join(sorted(self.milestones)) or "none"
            raise ConfigurationError(
                f"unknown milestone {name!r}; the configuration defines: {known}"
            ) from None


def parse_duration(value: object, where: str = "duration") -> timedelta:
    """``"90s"``, ``"5m"``, ``"12h"``, ``"7d"``, ``"2w"`` or ``{days = 7}`` as a timedelta."""
    try:
        if isinstance(value, str):
            match = _DURATION.match(value)
            if match:
                return timedelta(**{_UNITS[match[2]]: float(match[1])})
        elif isinstance(value, Mapping):
            try:
                return timedelta(**{str(k): float(v) for k, v in value.items()})
            except (TypeError, ValueError):
                pass
    except OverflowError:
        raise ConfigurationError(
            f"{where}: {value!r} is too long a duration; the longest is 999,999,999 days"
        ) from None
    raise ConfigurationError(
        f"{where}: {value!r} is not a duration; write e.g. '90s', '5m', '12h', '7d', '2w' "
        "or { days = 7 }"
    )


def _positive_duration(value: object, where: str) -> timedelta:
    duration = parse_duration(value, where)
    if duration <= timedelta(0):
        raise ConfigurationError(f"{where}: {value!r} must be a duration longer than 0")
    return duration


_OFFSET = re.compile(r"[+-]\d{2}(:?\d{2})?")


def parse_timezone(value: object, where: str = "timezone") -> tzinfo:
    """``"UTC"``, an offset such as ``"+02:00"``, or an IANA name such as ``"Europe/Berlin"``.

    The zone in which a file's timestamps without an offset were written (the
    readers' and :func:`ttvkit.scan`'s ``assume_timezone``). An IANA zone follows
    its daylight-saving rules; an offset is fixed all year.
    """
    text = value.strip() if isinstance(value, str) else None
    if text and text.upper() in ("UTC", "Z", "GMT"):
        return UTC
    if text and _OFFSET.fullmatch(text):
        try:
            offset = isoparser().parse_tzstr(text).utcoffset(None)
        except ValueError:
            offset = None
        if offset is not None:
            return UTC if not offset else timezone(offset)
    elif text and "\x00" not in text and not text.startswith(("/", ".")) and ".." not in text:
        try:
            return ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    raise ConfigurationError(
        f"{where}: {value!r} is not a time zone; write 'UTC', an offset such as '+02:00', "
        "or an IANA name such as 'Europe/Berlin' (on Windows, IANA names need "
        "'pip install tzdata')"
    )


def timezone_name(zone: tzinfo) -> str:
    """*zone* as :func:`parse_timezone` reads it back: ``"UTC"``, ``"+02:00"`` or its IANA name."""
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return key
    offset = zone.utcoffset(None)
    if offset is None:
        raise ConfigurationError(f"{zone!r} has no fixed offset and no IANA name to write")
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


class _Input(NamedTuple):
    timezone: tzinfo | None = None
    timestamp_unit: TimestampUnit | None = None
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None


def _input(value: object) -> _Input:
    table = _table(value, "input")
    _check_keys(table, {"timezone", "timestamp_unit", "encoding", "delimiter", "decimal"}, "input")
    zone = parse_timezone(table["timezone"], "input.timezone") if "timezone" in table else None
    unit = table.get("timestamp_unit")
    if unit is not None and unit not in ("s", "ms", "us"):
        raise _fail(
            "input.timestamp_unit",
            f"{unit!r}: write 's', 'ms' or 'us' (epoch seconds, milliseconds or microseconds)",
        )
    encoding = _checked(table, "encoding", check_encoding)
    delimiter = _checked(table, "delimiter", check_delimiter)
    decimal = _checked(table, "decimal", check_decimal)
    return _Input(zone, unit, encoding, delimiter, decimal)


def _checked(table: Mapping[str, Any], key: str, check: Callable[[object], str]) -> str | None:
    """``[input] key``, checked by the readers' rule for the ``key=`` argument (None if
    absent); its error names the key."""
    value = table.get(key)
    if value is None:
        return None
    try:
        return check(value)
    except ConfigurationError as exc:
        raise _fail(f"input.{key}", str(exc).removeprefix(f"{key}=")) from None


def _fail(where: str, message: str) -> ConfigurationError:
    return ConfigurationError(f"{where}: {message}")


def _table(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, f"expected a table, not {value!r}")
    return value


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise _fail(
            where,
            f"unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(allowed))}",
        )


def _where(value: object, where: str) -> dict[str, JSONScalar | Predicate]:
    out: dict[str, JSONScalar | Predicate] = {}
    for key, test in _table(value, where).items():
        here = f"{where}.{key}"
        if isinstance(test, Mapping):
            if len(test) != 1 or next(iter(test)) not in _PREDICATES:
                raise _fail(here, f"use one of {', '.join(_PREDICATES)}, e.g. {{ gt = 100 }}")
            ((op, arg),) = test.items()
            if op == "one_of":
                if not isinstance(arg, list):
                    raise _fail(here, "one_of takes a list")
                out[key] = one_of(*arg)
            else:
                out[key] = _PREDICATES[op](arg)  # type: ignore[misc]
        elif isinstance(test, list | datetime | date):
            raise _fail(here, f"{test!r} cannot be compared; use a string, number or boolean")
        else:
            out[key] = test
    return out


def _condition(value: object, where: str) -> Condition:
    if isinstance(value, str):
        return event(value)
    table = _table(value, where)
    kinds = [k for k in ("event", "total", "all_of", "any_of") if k in table]
    if len(kinds) != 1:
        raise _fail(where, "give exactly one of event, total, all_of or any_of")
    kind = kinds[0]
    if kind == "event":
        _check_keys(table, {"event", "where", "nth"}, where)
        cond = event(
            table["event"], _where(table["where"], f"{where}.where") if "where" in table else None
        )
        return cond.nth(table["nth"]) if "nth" in table else cond
    if kind == "total":
        _check_keys(table, {"total", "property", "at_least", "where"}, where)
        if "property" not in table or "at_least" not in table:
            raise _fail(where, "total needs property and at_least")
        return total(
            table["total"],
            table["property"],
            at_least=table["at_least"],
            where=_where(table["where"], f"{where}.where") if "where" in table else None,
        )
    _check_keys(table, {kind}, where)
    parts = table[kind]
    if not isinstance(parts, list) or not parts:
        raise _fail(where, f"{kind} takes a non-empty list of conditions")
    conditions = [_condition(p, f"{where}.{kind}[{i}]") for i, p in enumerate(parts)]
    return all_of(*conditions) if kind == "all_of" else any_of(*conditions)


def _milestone(name: str, value: object) -> Milestone:
    where = f"milestones.{name}"
    table = _table(value, where)
    _check_keys(table, {"kind", "start", "reached", "window", "before_start"}, where)
    if "reached" not in table:
        raise _fail(where, "reached is required")
    kind_name = table.get("kind", "basic")
    try:
        kind = MilestoneKind(kind_name)
    except ValueError:
        kinds = ", ".join(k.value for k in MilestoneKind)
        raise _fail(f"{where}.kind", f"{kind_name!r} is not one of {kinds}") from None
    start: Condition | datetime = event("signup")
    if "start" in table:
        raw = table["start"]
        start = raw if isinstance(raw, datetime) else _condition(raw, f"{where}.start")
    try:
        return Milestone(
            name,
            _condition(table["reached"], f"{where}.reached"),
            start,
            kind,
            parse_duration(table["window"], f"{where}.window") if "window" in table else None,
            table.get("before_start", "zero"),
        )
    except InvalidMilestoneError as exc:
        raise _fail(where, str(exc)) from None


_COLUMN_FIELDS = ("user", "name", "timestamp", "account", "event_id", "properties")


def parse_columns(value: Mapping[str, object], where: str = "columns") -> ColumnMapping:
    """A :class:`~ttvkit.io.ColumnMapping` from ``{field: column}``.

    Fields: ``user``, ``name``, ``timestamp``, ``account``, ``event_id``,
    ``properties``; an empty column name ignores an optional field. Other
    columns of the file become properties, as with the readers' default.
    """
    _check_keys(value, set(_COLUMN_FIELDS), where)
    fields: dict[str, str | None] = {}
    for field, column in value.items():
        if not isinstance(column, str):
            raise _fail(f"{where}.{field}", f"expected a column name, not {column!r}")
        if not column and field in ("user", "name", "timestamp"):
            raise _fail(f"{where}.{field}", "needs a column name")
        fields[field] = column or None
    try:
        return ColumnMapping(**fields)
    except ConfigurationError as exc:
        raise _fail(where, str(exc)) from None


def _str_list(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(where, "expected a list of names")
    return tuple(value)


def parse_config(data: Mapping[str, Any], *, source: str = "configuration") -> Config:
    """Build a :class:`Config` from parsed TOML (a mapping)."""
    try:
        return _parse(data)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{source}: {exc}") from None
    except InvalidMilestoneError as exc:
        raise ConfigurationError(f"{source}: {exc}") from None


def _parse(data: Mapping[str, Any]) -> Config:
    _check_keys(
        data,
        {"store", "per", "bands", "milestones", "analysis", "satisfaction", "columns", "input"},
        "top level",
    )
    milestones = {
        name: _milestone(name, spec)
        for name, spec in _table(data.get("milestones", {}), "milestones").items()
    }
    bands = None
    if "bands" in data:
        b = _table(data["bands"], "bands")
        _check_keys(b, {"immediate", "short"}, "bands")
        try:
            bands = SpeedBands(
                immediate=parse_duration(b.get("immediate"), "bands.immediate"),
                short=parse_duration(b.get("short"), "bands.short"),
            )
        except InvalidMilestoneError as exc:
            raise _fail("bands", str(exc)) from None
    analysis = _table(data.get("analysis", {}), "analysis")
    _check_keys(analysis, {"interventions", "journey", "landmark", "within"}, "analysis")
    journey = _str_list(analysis["journey"], "analysis.journey") if "journey" in analysis else ()
    for i, name in enumerate(journey):
        if name not in milestones:
            raise _fail("analysis.journey", f"{name!r} is not a milestone defined in [milestones]")
        if name in journey[:i]:
            raise _fail("analysis.journey", f"{name!r} is listed twice; list each stage once")
    sat = _table(data.get("satisfaction", {}), "satisfaction")
    _check_keys(sat, {"milestone", "survey", "score"}, "satisfaction")
    for key in ("milestone", "survey", "score"):
        if key in sat and (not isinstance(sat[key], str) or not sat[key].strip()):
            raise _fail(f"satisfaction.{key}", f"{sat[key]!r}: expected a name (a string)")
    if "milestone" in sat and sat["milestone"] not in milestones:
        raise _fail("satisfaction.milestone", f"{sat['milestone']!r} is not a defined milestone")
    if "milestone" in sat and bands is None:
        raise _fail(
            "satisfaction",
            "groups scores by speed class and needs [bands] (e.g. immediate = '5m', short = '7d')",
        )
    per = data.get("per", "user")
    if per not in ("user", "account"):
        raise _fail("per", f"{per!r}: use 'user' or 'account'")
    store = data.get("store")
    if store is not None and not isinstance(store, str):
        raise _fail("store", "expected a store URL string")
    reading = _input(data["input"]) if "input" in data else _Input()
    return Config(
        milestones=milestones,
        store=store,
        per=per,
        bands=bands,
        interventions=_str_list(analysis["interventions"], "analysis.interventions")
        if "interventions" in analysis
        else (),
        journey=journey,
        landmark=_positive_duration(analysis["landmark"], "analysis.landmark")
        if "landmark" in analysis
        else None,
        within=_positive_duration(analysis["within"], "analysis.within")
        if "within" in analysis
        else None,
        satisfaction_milestone=sat.get("milestone"),
        survey=sat.get("survey", "csat_submitted"),
        score=sat.get("score", "score"),
        columns=parse_columns(_table(data["columns"], "columns")) if "columns" in data else None,
        timezone=reading.timezone,
        timestamp_unit=reading.timestamp_unit,
        encoding=reading.encoding,
        delimiter=reading.delimiter,
        decimal=reading.decimal,
    )


def load_config(path: str | Path) -> Config:
    """Read and validate a TOML configuration file."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigurationError(f"{p}: no such configuration file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{p}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"{p}: not UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset {exc.start:,}); "
            "a TOML file must be UTF-8: save it as UTF-8"
        ) from None
    return parse_config(data, source=str(p))
