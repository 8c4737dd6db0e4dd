"""The SQL that normalises a raw relation to the canonical one, with the checks that
vouch for each row (the readers' rules, conservatively, in DuckDB)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final, NamedTuple

from ttvkit._json import compact
from ttvkit.events import (
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PROPERTIES_DEPTH,
    MAX_TIMESTAMP,
)
from ttvkit.io import (
    ColumnMapping,
)
from ttvkit.io.values import (
    COMMA_NUMBER,
    JSON_STRING,
    MAX_PROPERTIES_TEXT,
    NOT_SPACE,
    PLAIN_OBJECT,
    RISKY_NUMBERS,
)

MAX_MICROS: Final = (MAX_TIMESTAMP - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


UNIT_FACTOR: Final = {None: 1_000_000, "s": 1_000_000, "ms": 1_000, "us": 1}


_INTEGER_TYPES: Final = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
)


_BIG_INTEGER_TYPES: Final = frozenset({"UBIGINT", "HUGEINT", "UHUGEINT"})


_FLOAT_TYPES: Final = frozenset({"FLOAT", "DOUBLE"})


_NAIVE_TIMESTAMPS: Final = frozenset({"TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"})


_AWARE_TIMESTAMPS: Final = frozenset({"TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", "TIMESTAMPTZ_NS"})


_INT64: Final = 2**63


# What the readers parse fast and DuckDB reads to the same instant.
ISO_BODY: Final = (
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9]"
    r"(:[0-5][0-9](\.[0-9]{1,6})?)?"
)


OFFSET: Final = r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"


# ... nor inside them (NUL, lone surrogates; a pair of surrogates takes the reader's path too).
_RISKY_ESCAPES: Final = r"\\u0000|\\u[dD][89a-fA-F]"


def risky_json(text: str) -> str:
    """SQL: whether the JSON *text* may hold what the readers reject or read differently."""
    numbers = f"regexp_replace({text}, {lit(JSON_STRING)}, '\"\"', 'g')"
    risky = lit(RISKY_NUMBERS)
    # Nesting: fewer opening brackets than the depth limit cannot nest deeper
    # (brackets inside strings count too: only ever on the safe side).
    brackets = f"(strlen({text}) - strlen(regexp_replace({text}, '[\\[{{]', '', 'g')))"
    # The cheap test first; strings are taken out only when it matches somewhere.
    return (
        f"((regexp_matches({text}, {risky}) AND regexp_matches({numbers}, {risky})) "
        f"OR regexp_matches({text}, {lit(_RISKY_ESCAPES)}) "
        f"OR {brackets} > {MAX_PROPERTIES_DEPTH})"
    )


def object_ok(text: str, checked: str) -> str:
    """SQL: whether the JSON *text* is a property object the readers take.

    *checked* is the full test. Most objects are plain (see PLAIN_OBJECT)
    and take a cheaper one: a CASE evaluates a branch only for the rows that
    reach it (an ``OR`` evaluates both sides for every row: the keys of every
    plain object were read, 1.8 s of the check at 1e7 events against 0.6 s).
    A plain object without ',"' has at most one key; with more, its keys are
    compared (see :func:`distinct_keys`).
    """
    return (
        f"CASE WHEN {text} = '{{}}' THEN TRUE "
        f"WHEN strlen({text}) <= {MAX_PROPERTIES_TEXT} "
        f"AND regexp_full_match({text}, {lit(PLAIN_OBJECT)}) "
        f"THEN CASE WHEN contains({text}, ',\"') THEN {distinct_keys(f'json_keys({text})')} "
        "ELSE TRUE END "
        f"ELSE {checked} END"
    )


def distinct_keys(keys: str) -> str:
    """SQL: whether the list *keys* holds no key twice.

    Two or three keys are compared with each other: DuckDB's ``list_unique``
    hashes every list and costs several times as much, and most objects have
    that few keys. Longer lists are counted.
    """
    first, second, third = (f"{keys}[{i}]" for i in (1, 2, 3))
    return (
        f"CASE len({keys}) WHEN 2 THEN {first} <> {second} "
        f"WHEN 3 THEN {first} <> {second} AND {first} <> {third} AND {second} <> {third} "
        f"ELSE list_unique({keys}) = len({keys}) END"
    )


ROW_OK: Final = (
    f"row_ok AND (properties IS NULL OR (json_valid(properties) "
    f"AND strlen(properties) <= {MAX_PROPERTIES_TEXT}))"
)


_CSV_NUMBER: Final = r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]{1,2})?"


def lit(text: str) -> str:
    from ttvkit.stores.duckdb import quote_literal

    return quote_literal(text)


def ident(name: str) -> str:
    from ttvkit.stores.duckdb import quote_identifier

    return quote_identifier(name)


def micros_of(column: str, kind: str) -> str:
    """Integer microseconds of a timestamp column; nanoseconds truncated, as the readers do."""
    if kind.endswith("_NS"):
        return f"(epoch_ns({column}) // 1000)"
    return f"epoch_us({column})"


def _json_key(key: str) -> str:
    """The SQL literal of a JSON object key, as ``"key":`` text."""
    return lit(compact(key) + ":")


def pointer(key: str) -> str:
    """The SQL literal of the JSON pointer to a top-level *key*."""
    return lit("/" + key.replace("~", "~0").replace("/", "~1"))


def is_utc(zone: tzinfo | None) -> bool:
    if zone is None:
        return False
    now = datetime(2000, 1, 1)
    return (
        zone is UTC
        or zone == UTC
        or (
            getattr(zone, "key", None) in ("UTC", "Etc/UTC") and zone.utcoffset(now) == timedelta(0)
        )
    )


class Dirty(Exception):
    """The input needs the reader's path (a layout the fast path does not take)."""


class Field:
    """A canonical field's SQL: its value, and whether the engine vouches for the row."""

    __slots__ = ("ok", "value")

    def __init__(self, value: str, ok: str) -> None:
        self.value = value
        self.ok = ok


class Plan:
    """The SQL that normalises one raw relation to the canonical one."""

    def __init__(
        self,
        columns: dict[str, str],
        mapping: ColumnMapping,
        *,
        text: bool,
        infer_types: bool,
        zone: tzinfo | None,
        unit: str | None,
        decimal: str = ".",
    ) -> None:
        self.columns = columns
        self.mapping = mapping
        self.text = text
        self.infer_types = infer_types
        self.decimal = decimal
        self.zone_is_utc = is_utc(zone)
        self.unit = unit

    # -- generic column expressions ------------------------------------------------------

    def missing(self, column: str) -> str:
        c = ident(column)
        kind = self.columns[column]
        if self.text and kind == "VARCHAR":
            return f"({c} IS NULL OR {c} = '')"
        if kind in _FLOAT_TYPES:
            return f"({c} IS NULL OR isnan({c}))"
        return f"({c} IS NULL)"

    @staticmethod
    def text_ok(expr: str, limit: int) -> str:
        # The common case first, in byte comparisons (a CASE evaluates its ELSE
        # only for the rows its WHEN rejects): no more bytes than the limit (so
        # no more characters), and a first byte that is printable ASCII other
        # than a space (so not all of it is white space).
        full = f"(length({expr}) <= {limit} AND regexp_matches({expr}, {lit(NOT_SPACE)}))"
        return (
            f"(NOT contains({expr}, chr(0)) AND CASE WHEN strlen({expr}) <= {limit} "
            f"AND {expr} >= '!' AND {expr} < chr(127) THEN TRUE ELSE {full} END)"
        )

    def id_field(self, column: str | None, limit: int, *, required: bool, name: bool) -> Field:
        if column is None:
            return Field("NULL::VARCHAR", "TRUE")
        c = ident(column)
        kind = self.columns[column]
        missing = self.missing(column)
        absent_ok = "FALSE" if required else "TRUE"
        if kind == "VARCHAR":
            # The bare column where only NULL is missing: the engine can then push a
            # question's conditions on it down into the file reader.
            value = (
                c if missing == f"({c} IS NULL)" else f"CASE WHEN {missing} THEN NULL ELSE {c} END"
            )
            return Field(
                value, f"CASE WHEN {missing} THEN {absent_ok} ELSE {self.text_ok(c, limit)} END"
            )
        if kind in _INTEGER_TYPES and not name:
            value = f"CAST({c} AS VARCHAR)"
            return Field(value, f"CASE WHEN {missing} THEN {absent_ok} ELSE TRUE END")
        # Floats, decimals, nested values: the reader says what is wrong.
        return Field("NULL::VARCHAR", f"{missing} AND {absent_ok}")

    def timestamp(self) -> Field:
        column = self.mapping.timestamp
        c = ident(column)
        kind = self.columns[column]
        if kind in _AWARE_TIMESTAMPS or (kind in _NAIVE_TIMESTAMPS and self.zone_is_utc):
            micros = micros_of(c, kind)
        elif kind == "VARCHAR":
            micros = self._text_micros(c)
        elif kind in _INTEGER_TYPES:
            micros = f"(CAST({c} AS HUGEINT) * {UNIT_FACTOR[self.unit]})"
        elif kind in _FLOAT_TYPES:
            micros = (
                f"CASE WHEN {c} = trunc({c}) AND abs({c}) < 1e15 "
                f"THEN CAST({c} AS HUGEINT) * {UNIT_FACTOR[self.unit]} END"
            )
        else:
            micros = "NULL::HUGEINT"
        value = f"CAST({micros} AS BIGINT)"
        ok = f"COALESCE({micros} >= 0 AND {micros} < {MAX_MICROS}, FALSE)"
        return Field(value, ok)

    def _text_micros(self, c: str) -> str:
        parts: list[str] = []
        if self.unit is not None:
            parts.append(
                f"WHEN regexp_full_match({c}, '[+-]?[0-9]{{1,15}}') "
                f"THEN CAST({c} AS HUGEINT) * {UNIT_FACTOR[self.unit]}"
            )
        parts.append(
            f"WHEN regexp_full_match({c}, {lit(ISO_BODY + OFFSET)}) "
            f"THEN epoch_us(TRY_CAST({c} AS TIMESTAMPTZ))"
        )
        if self.zone_is_utc:
            parts.append(
                f"WHEN regexp_full_match({c}, {lit(ISO_BODY)}) "
                f"THEN epoch_us(TRY_CAST({c} AS TIMESTAMP))"
            )
        return f"(CASE {' '.join(parts)} END)"

    # -- properties ----------------------------------------------------------------------

    def object_column(self, column: str | None) -> tuple[str, str, str]:
        """(minified JSON object text or NULL, ok, the object's keys as a list)."""
        if column is None:
            return "NULL::VARCHAR", "TRUE", "[]::VARCHAR[]"
        c = ident(column)
        kind = self.columns[column]
        missing = self.missing(column)
        if kind not in ("VARCHAR", "JSON"):
            return "NULL::VARCHAR", missing, "[]::VARCHAR[]"
        checked = (
            f"(json_valid({c}) AND json_type({c}) = 'OBJECT' AND strlen({c}) <= "
            f"{MAX_PROPERTIES_TEXT} AND NOT {risky_json(c)} "
            f"AND len(json_keys({c})) = len(list_distinct(json_keys({c}))))"
        )
        valid = object_ok(c, checked)
        ok = f"({missing} OR COALESCE({valid}, FALSE))"
        value = f"CASE WHEN {missing} THEN NULL ELSE json({c})::VARCHAR END"
        keys = f"CASE WHEN {missing} THEN []::VARCHAR[] ELSE json_keys({c}) END"
        return value, ok, keys

    def _inferred(self, c: str, plain: str) -> tuple[str, str]:
        """(JSON text, ok) of a CSV cell *c* read as io.values.infer_scalar reads it:
        ``true``/``false``, a whole number within 64 bits, a number, else text
        (*plain*). With a decimal comma (:data:`COMMA_NUMBER`) a number's text is
        the cell without its points, its comma read as the point."""
        if self.decimal == ",":
            number = f"regexp_full_match({c}, {lit(COMMA_NUMBER)})"
            whole = f"({number} AND NOT contains({c}, ','))"
            whole_text = f"replace({c}, '.', '')"
            fraction_text = f"replace(replace({c}, '.', ''), ',', '.')"
            # Some 300 digits may overflow a float: the reader decides.
            too_long = f"(contains({c}, ',') AND length({c}) >= 300)"
        else:
            number = f"regexp_full_match({c}, {lit(_CSV_NUMBER)})"
            whole = f"regexp_full_match({c}, '-?(0|[1-9][0-9]*)')"
            whole_text = fraction_text = c
            # An exponent of three digits may overflow a float: the reader decides.
            too_long = f"regexp_full_match({c}, '-?[0-9.]+[eE][+-]?[0-9]{{3,}}')"
        value = (
            f"CASE WHEN {c} IN ('true', 'false') THEN {c} "
            f"WHEN {whole} THEN CASE WHEN TRY_CAST({whole_text} AS BIGINT) IS NULL "
            f"THEN {plain} ELSE {whole_text} END "
            f"WHEN {number} THEN {fraction_text} "
            f"ELSE {plain} END"
        )
        return value, f"(NOT contains({c}, chr(0)) AND NOT {too_long})"

    def cell(self, column: str) -> tuple[str, str]:
        """(the JSON text of a property column's cell, ok) for a present cell."""
        c = ident(column)
        kind = self.columns[column]
        if kind == "VARCHAR":
            plain = f"to_json({c})::VARCHAR"
            if self.text and self.infer_types:
                return self._inferred(c, plain)
            return plain, f"NOT contains({c}, chr(0))"
        if kind == "BOOLEAN":
            return f"CASE WHEN {c} THEN 'true' ELSE 'false' END", "TRUE"
        if kind in _INTEGER_TYPES:
            return f"CAST({c} AS VARCHAR)", "TRUE"
        if kind in _BIG_INTEGER_TYPES:
            return (
                f"CAST({c} AS VARCHAR)",
                f"({c} >= -{_INT64} AND {c} < {_INT64})",
            )
        if kind in _FLOAT_TYPES:
            return f"to_json(CAST({c} AS DOUBLE))::VARCHAR", f"isfinite({c})"
        if kind == "DATE":
            return f"to_json(strftime({c}, '%Y-%m-%d'))::VARCHAR", f"year({c}) >= 1000"
        if kind in _AWARE_TIMESTAMPS | _NAIVE_TIMESTAMPS:
            micros = micros_of(c, kind)
            naive = f"make_timestamp({micros})"
            fraction = (
                f"CASE WHEN {micros} % 1000000 = 0 THEN '' "
                f"ELSE '.' || lpad(CAST({micros} % 1000000 AS VARCHAR), 6, '0') END"
            )
            offset = "'+00:00'" if kind in _AWARE_TIMESTAMPS else "''"
            text = f"strftime({naive}, '%Y-%m-%dT%H:%M:%S') || {fraction} || {offset}"
            return f"to_json({text})::VARCHAR", f"{micros} >= 0 AND {micros} < {MAX_MICROS}"
        return "NULL::VARCHAR", "FALSE"


def resolve_columns(mapping: ColumnMapping, columns: Sequence[str]) -> dict[str, str | None]:
    """The column of each field, as the readers resolve it; raises Dirty when the reader
    would reject the layout (it then raises its own error)."""
    present = set(columns)
    defaults = ColumnMapping()
    resolved: dict[str, str | None] = {}
    for field in ("user", "name", "timestamp"):
        column = getattr(mapping, field)
        if column not in present:
            raise Dirty
        resolved[field] = column
    for field in ("account", "event_id", "properties"):
        column = getattr(mapping, field)
        if column is not None and column not in present:
            if column != getattr(defaults, field):
                raise Dirty
            column = None
        resolved[field] = column
    return resolved


def mapped_columns(mapping: ColumnMapping) -> set[str]:
    named = [mapping.user, mapping.name, mapping.timestamp]
    named += [c for c in (mapping.properties, mapping.account, mapping.event_id) if c is not None]
    return set(named)


def fixed_select(
    plan: Plan, resolved: dict[str, str | None], mapping: ColumnMapping, columns: list[str]
) -> Select:
    user = plan.id_field(resolved["user"], MAX_ID_LENGTH, required=True, name=False)
    name = plan.id_field(resolved["name"], MAX_NAME_LENGTH, required=True, name=True)
    account = plan.id_field(resolved["account"], MAX_ID_LENGTH, required=False, name=False)
    event_id = plan.id_field(resolved["event_id"], MAX_ID_LENGTH, required=False, name=False)
    ts = plan.timestamp()
    base, base_ok, base_keys = plan.object_column(resolved["properties"])
    mapped = mapped_columns(mapping)
    if mapping.property_columns == "*":
        folded = [c for c in columns if c and c not in mapped]
    else:
        folded = list(mapping.property_columns)
    pairs: list[str] = []
    oks = [user.ok, name.ok, account.ok, event_id.ok, ts.ok, base_ok]
    for column in folded:
        value, ok = plan.cell(column)
        missing = plan.missing(column)
        pairs.append(f"CASE WHEN {missing} THEN NULL ELSE {_json_key(column)} || {value} END")
        clash = f"list_contains({base_keys}, {lit(column)})"
        oks.append(f"({missing} OR (COALESCE({ok}, FALSE) AND NOT {clash}))")
    folded_text = f"concat_ws(',', {', '.join(pairs)})" if pairs else "''"
    properties = merge_properties(base, folded_text)
    # Without folded columns the text is the object column's, minified by the engine's
    # JSON parser: valid, and no longer than the checked input.
    return Select(
        canonical_columns(event_id, user, account, name, ts, properties),
        " AND ".join(f"COALESCE({o}, FALSE)" for o in oks),
        ROW_OK if pairs else "row_ok",
    )


class Select(NamedTuple):
    """The SQL that turns one raw row into a canonical one, and its checks."""

    columns: str
    """The canonical columns (event_id, user_id, account_id, name, ts, properties)."""
    row_ok: str
    """Whether the engine vouches for the row's fields (``row_ok`` in :attr:`ok`)."""
    ok: str
    """Whether the engine vouches for the whole row, over ``row_ok`` and ``properties``."""


def canonical_columns(
    event_id: Field, user: Field, account: Field, name: Field, ts: Field, properties: str
) -> str:
    return (
        f"{event_id.value} AS event_id, {user.value} AS user_id, {account.value} AS account_id, "
        f"{name.value} AS name, {ts.value} AS ts, {properties} AS properties"
    )


def merge_properties(base: str, folded: str) -> str:
    return (
        f"CASE WHEN {base} IS NOT NULL AND {base} <> '{{}}' AND {folded} <> '' "
        f"THEN left({base}, -1) || ',' || {folded} || '}}' "
        f"WHEN {base} IS NOT NULL AND {base} <> '{{}}' THEN {base} "
        f"WHEN {folded} <> '' THEN '{{' || {folded} || '}}' END"
    )
