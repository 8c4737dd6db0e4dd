"""The canonical fields of JSON lines, one object per line, parsed once by DuckDB."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from ttvkit.events import MAX_ID_LENGTH, MAX_NAME_LENGTH
from ttvkit.io import ColumnMapping
from ttvkit.io.values import MAX_PROPERTIES_TEXT
from ttvkit.stores.scan._checks import (
    ISO_BODY,
    MAX_MICROS,
    OFFSET,
    UNIT_FACTOR,
    Field,
    Plan,
    Select,
    canonical_columns,
    is_utc,
    lit,
    mapped_columns,
    merge_properties,
    pointer,
    risky_json,
)


def jsonl_raw(files: Sequence[str], mapping: ColumnMapping) -> str:
    """One row per JSON line: the line ``j``, the mapped keys' values ``v``, its keys ``k``
    and its type ``t``, each parsed once."""
    read = f"read_ndjson_objects([{', '.join(map(lit, files))}], hive_partitioning = false)"
    pointers = ", ".join(pointer(key) for key in _jsonl_keys(mapping))
    return (
        f"(SELECT json AS j, json_extract(json, [{pointers}]) AS v, json_keys(json) AS k, "
        f"json_type(json) AS t FROM {read})"
    )


def _jsonl_keys(mapping: ColumnMapping) -> list[str]:
    """The keys the mapping reads, in the order of ``v`` in :func:`jsonl_raw`."""
    keys = [mapping.user, mapping.name, mapping.timestamp]
    keys += [k for k in (mapping.account, mapping.event_id, mapping.properties) if k is not None]
    return keys


def jsonl_select(mapping: ColumnMapping, unit: str | None, zone: tzinfo | None) -> Select:
    """The canonical fields of one JSON object per line (see :func:`jsonl_raw`)."""
    j = "j"
    utc = is_utc(zone)
    position = {key: i + 1 for i, key in enumerate(_jsonl_keys(mapping))}

    def value(key: str) -> str:
        return f"v[{position[key]}]"

    def kind(key: str) -> str:
        return f"json_type({value(key)})"

    def text(key: str) -> str:
        return f"json_extract_string({value(key)}, '$')"

    def missing(key: str) -> str:
        return f"({value(key)} IS NULL OR {kind(key)} = 'NULL')"

    def id_field(key: str | None, limit: int, required: bool, name: bool) -> Field:
        if key is None:
            return Field("NULL::VARCHAR", "TRUE")
        absent_ok = "FALSE" if required else "TRUE"
        integer = "FALSE" if name else f"{kind(key)} IN ('BIGINT', 'UBIGINT')"
        result = f"CASE WHEN {kind(key)} = 'VARCHAR' OR {integer} THEN {text(key)} END"
        ok = (
            f"CASE WHEN {missing(key)} THEN {absent_ok} "
            f"WHEN {kind(key)} = 'VARCHAR' THEN {Plan.text_ok(text(key), limit)} "
            f"ELSE {integer} END"
        )
        return Field(result, ok)

    user = id_field(mapping.user, MAX_ID_LENGTH, True, False)
    name = id_field(mapping.name, MAX_NAME_LENGTH, True, True)
    account = id_field(mapping.account, MAX_ID_LENGTH, False, False)
    event_id = id_field(mapping.event_id, MAX_ID_LENGTH, False, False)
    t = mapping.timestamp
    factor = UNIT_FACTOR[unit]
    t_text = text(t)
    texts = [
        f"WHEN {kind(t)} = 'VARCHAR' AND regexp_full_match({t_text}, {lit(ISO_BODY + OFFSET)}) "
        f"THEN epoch_us(TRY_CAST({t_text} AS TIMESTAMPTZ))"
    ]
    if utc:
        texts.append(
            f"WHEN {kind(t)} = 'VARCHAR' AND regexp_full_match({t_text}, {lit(ISO_BODY)}) "
            f"THEN epoch_us(TRY_CAST({t_text} AS TIMESTAMP))"
        )
    if unit is not None:
        texts.append(
            f"WHEN {kind(t)} = 'VARCHAR' AND regexp_full_match({t_text}, '[+-]?[0-9]{{1,15}}') "
            f"THEN CAST({t_text} AS HUGEINT) * {factor}"
        )
    texts.append(
        f"WHEN {kind(t)} IN ('BIGINT', 'UBIGINT') AND abs(CAST({t_text} AS HUGEINT)) < 1e15 "
        f"THEN CAST({t_text} AS HUGEINT) * {factor}"
    )
    micros = f"(CASE {' '.join(texts)} END)"
    ts = Field(
        f"CAST({micros} AS BIGINT)",
        f"COALESCE({micros} >= 0 AND {micros} < {MAX_MICROS}, FALSE)",
    )
    top_keys = "k"
    checks = (
        f"strlen({j}) <= {MAX_PROPERTIES_TEXT} AND NOT {risky_json(j)} AND t = 'OBJECT' "
        f"AND len({top_keys}) = len(list_distinct({top_keys}))"
    )
    mapped = mapped_columns(mapping)
    p = mapping.properties
    if p is not None:
        base = f"CASE WHEN {kind(p)} = 'OBJECT' THEN {value(p)}::VARCHAR END"
        base_keys = f"COALESCE(json_keys({value(p)}), []::VARCHAR[])"
        base_ok = (
            f"({missing(p)} OR ({kind(p)} = 'OBJECT' AND len({base_keys}) = "
            f"len(list_distinct({base_keys}))))"
        )
    else:
        base, base_keys, base_ok = "NULL::VARCHAR", "[]::VARCHAR[]", "TRUE"
    mapped_list = f"[{', '.join(map(lit, sorted(mapped)))}]::VARCHAR[]"
    pointer_of = "'/' || replace(replace(k, '~', '~0'), '/', '~1')"
    if mapping.property_columns == "*":
        # Most lines have no other key: the null test (a parse per key) only runs on those.
        others = f"list_filter({top_keys}, lambda k: NOT list_contains({mapped_list}, k))"
        keys = (
            f"CASE WHEN len({others}) = 0 THEN []::VARCHAR[] ELSE list_filter({others}, "
            f"lambda k: json_type({j}, {pointer_of}) <> 'NULL') END"
        )
    else:
        wanted = f"[{', '.join(map(lit, mapping.property_columns))}]::VARCHAR[]"
        keys = (
            f"list_filter({wanted}, lambda k: json_type({j}, {pointer_of}) IS NOT NULL "
            f"AND json_type({j}, {pointer_of}) <> 'NULL')"
        )
    folded = (
        f"array_to_string(list_transform({keys}, lambda k: to_json(k)::VARCHAR || ':' || "
        f"json_extract({j}, {pointer_of})::VARCHAR), ',')"
    )
    clash_ok = f"NOT list_has_any({keys}, {base_keys})"
    properties = merge_properties(base, f"COALESCE({folded}, '')")
    oks = [user.ok, name.ok, account.ok, event_id.ok, ts.ok, base_ok, clash_ok, checks]
    # The object is built from JSON the engine parsed: valid by construction.
    return Select(
        canonical_columns(event_id, user, account, name, ts, properties),
        " AND ".join(f"COALESCE({o}, FALSE)" for o in oks),
        f"row_ok AND strlen(COALESCE(properties, '')) <= {MAX_PROPERTIES_TEXT}",
    )
