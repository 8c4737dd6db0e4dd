"""Which column (or JSON key) of the input holds which field of a value event."""

from __future__ import annotations

from collections.abc import Collection
from typing import Final, Literal

import attrs

from ttvkit.errors import ConfigurationError

__all__ = ["ALL_OTHER_COLUMNS", "OPTIONAL_DEFAULTS", "ColumnMapping", "check_mapping"]

ALL_OTHER_COLUMNS: Final = "*"
"""``ColumnMapping.property_columns`` that folds every column the mapping does not name."""


def _column_name(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"a column name must be a non-empty str, not {value!r}")
    return value


def _optional_column_name(value: object) -> str | None:
    return None if value is None else _column_name(value)


def _property_columns(value: object) -> tuple[str, ...] | Literal["*"]:
    if value == ALL_OTHER_COLUMNS:
        return ALL_OTHER_COLUMNS
    if isinstance(value, str) or not isinstance(value, Collection):
        raise ConfigurationError(
            f"property_columns={value!r}: pass '*' (every column the mapping does not "
            "name) or a collection of column names, e.g. ('plan', 'amount'); () for none"
        )
    columns = tuple(_column_name(v) for v in value)
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        raise ConfigurationError(
            f"property_columns names {', '.join(map(repr, twice))} more than once; "
            "name each column once"
        )
    return columns


@attrs.frozen
class ColumnMapping:
    """Which column (or JSON key) of the input holds which field of a value event.

    ``user``, ``name`` and ``timestamp`` must exist. ``account``, ``event_id`` and
    ``properties`` are optional: under their default names they are used when the
    input has them; a name you set yourself must exist, so a misspelt column is an
    error rather than silently empty. ``None`` ignores the field even if present.

    ``properties`` names a column holding a JSON object (JSON text in CSV and
    Parquet, an object in JSON lines, a ``dict`` or JSON text in a DataFrame).
    ``property_columns`` adds plain columns as properties, one key per column:
    ``"*"`` (the default) takes every column the mapping does not name, a tuple
    takes exactly those, ``()`` none. Empty cells and nulls are left out.

    Example: ``ColumnMapping(user="distinct_id", name="event", property_columns=("plan",))``.
    """

    user: str = attrs.field(default="user_id", converter=_column_name)
    name: str = attrs.field(default="name", converter=_column_name)
    timestamp: str = attrs.field(default="timestamp", converter=_column_name)
    account: str | None = attrs.field(default="account_id", converter=_optional_column_name)
    event_id: str | None = attrs.field(default="event_id", converter=_optional_column_name)
    properties: str | None = attrs.field(default="properties", converter=_optional_column_name)
    property_columns: tuple[str, ...] | Literal["*"] = attrs.field(
        default=ALL_OTHER_COLUMNS, converter=_property_columns
    )

    def __attrs_post_init__(self) -> None:
        named = self._named()
        seen: dict[str, str] = {}
        for field, column in named.items():
            if column in seen:
                raise ConfigurationError(
                    f"column {column!r} is mapped to both {seen[column]} and {field}; "
                    "map each field to its own column"
                )
            seen[column] = field
        if self.property_columns != ALL_OTHER_COLUMNS:
            for column in self.property_columns:
                if column in seen:
                    raise ConfigurationError(
                        f"property_columns names {column!r}, which is already the "
                        f"{seen[column]} column; remove it from property_columns"
                    )

    def _named(self) -> dict[str, str]:
        """The fields the mapping reads, by field name, in the order rows are checked."""
        fields = {"user": self.user, "name": self.name, "timestamp": self.timestamp}
        for field in ("properties", "account", "event_id"):
            column = getattr(self, field)
            if column is not None:
                fields[field] = column
        return fields


_DEFAULT_MAPPING: Final = ColumnMapping()
OPTIONAL_DEFAULTS: Final = {
    "account": _DEFAULT_MAPPING.account,
    "event_id": _DEFAULT_MAPPING.event_id,
    "properties": _DEFAULT_MAPPING.properties,
}


def check_mapping(value: object) -> ColumnMapping:
    if isinstance(value, ColumnMapping):
        return value
    raise ConfigurationError(
        f"mapping must be a ColumnMapping, not {type(value).__name__}; "
        "e.g. ColumnMapping(user='distinct_id', name='event')"
    )
