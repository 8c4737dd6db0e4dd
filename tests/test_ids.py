"""The content id of an event: one rule, whose ids stores keep (so it must never change)."""

from __future__ import annotations

import hashlib

import ttvkit as ttv
from ttvkit import cli
from ttvkit._ids import content_id, made_up_here
from ttvkit.events import new_event_id


def test_content_id_is_the_hash_of_the_documented_text() -> None:
    # The text is written out here, not computed: a change of the formula
    # would give rows already stored new ids, and a re-import would store
    # every row again.
    event = ttv.ValueEvent(
        "u1", "signup", "2025-01-01T01:00:00+01:00", {"plan": "pro", "n": 2}, account_id="a1"
    )
    text = (
        '{"account_id":"a1","name":"signup","properties":{"n":2,"plan":"pro"},'
        '"timestamp":"2025-01-01T00:00:00+00:00","user_id":"u1"}'
    )
    expected = "c" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:31]
    assert content_id(event) == expected
    assert len(expected) == 32


def test_content_id_ignores_the_event_id_and_keeps_unicode() -> None:
    a = ttv.ValueEvent("ü", "x", "2025-01-01T00:00:00Z", {"é": "ß"}, event_id="one")
    b = ttv.ValueEvent("ü", "x", "2025-01-01T00:00:00Z", {"é": "ß"}, event_id="two")
    text = (
        '{"account_id":null,"name":"x","properties":{"é":"ß"},'
        '"timestamp":"2025-01-01T00:00:00+00:00","user_id":"ü"}'
    )
    assert content_id(a) == content_id(b)
    assert content_id(a) == "c" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:31]


def test_the_cli_exports_the_one_rule() -> None:
    assert cli.content_id is content_id


def test_made_up_here_tells_this_process_ids_from_read_ones() -> None:
    assert made_up_here(new_event_id())
    made = new_event_id()
    other_prefix = ("0" if made[0] != "0" else "1") + made[1:]
    assert not made_up_here(other_prefix)
    assert not made_up_here(made[:-1])  # 31 characters: not one of ours
    assert not made_up_here("row-7")
