"""The fields by which a vendor's export is recognised: one rule for the command line's
guess of a file's format and for the readers' advice when ttvkit's own columns are missing."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Final

#: What messages call each vendor format.
VENDOR_NAMES: Final[Mapping[str, str]] = {
    "posthog": "PostHog",
    "segment": "Segment",
    "mixpanel": "Mixpanel",
    "amplitude": "Amplitude",
}

_POSTHOG: Final = frozenset({"distinct_id", "uuid", "event"})
_SEGMENT_IDS: Final = frozenset({"userId", "anonymousId"})


def vendor_of(fields: Collection[str], record: Mapping[str, object] | None = None) -> str | None:
    """The vendor format (``"posthog"``, ...) whose export has these *fields*: a CSV
    header's columns (*record* None: PostHog is the only vendor that writes CSV), or
    a JSON *record*'s keys. None when they are no vendor's."""
    keys = set(fields)
    if record is None:  # a CSV header: PostHog only
        pass
    elif keys >= {"event_type", "event_time"} and keys & {"user_id", "device_id"}:
        if keys & {"amplitude_id", "device_id", "event_properties"}:
            return "amplitude"
    elif keys <= {"event", "properties"} and "event" in keys:
        properties = record.get("properties")
        if isinstance(properties, dict) and {"distinct_id", "time"} <= properties.keys():
            return "mixpanel"
    if keys >= _POSTHOG or ({"distinct_id", "event", "properties", "id"} <= keys):
        return "posthog"
    if "type" in keys and keys & _SEGMENT_IDS and record is not None:
        return "segment"  # JSON only: the Segment reader reads no CSV
    return None


def vendor_advice(
    fields: Collection[str], record: Mapping[str, object] | None = None, *, noun: str
) -> str | None:
    """What to do about missing columns when the *fields* are a vendor's export's
    (see :func:`vendor_of`): read it with that vendor's format. None otherwise."""
    vendor = vendor_of(fields, record)
    if vendor is None:
        return None
    name = VENDOR_NAMES[vendor]
    return (
        f"these {noun}s are those of {'an' if name[0] in 'AEIOU' else 'a'} {name} export: "
        f"read it with read_file(path, format={vendor!r})"
    )
