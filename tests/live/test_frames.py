"""The room's messages as typed models (issue 17, item 6): a client's text frame is parsed
into one, or refused with the error frame naming the field at fault; the snapshot a joiner
gets is the shared part with its own fields written in."""

from __future__ import annotations

import json

import pytest

from liveshop.live.frames import (
    Ping,
    React,
    Refusal,
    SendChat,
    encode,
    joiner_snapshot,
    parse_client_message,
)


@pytest.mark.parametrize(("raw", "parsed"), [
    ('{"type":"ping"}', Ping(None)),
    ('{"type":"ping","ref":7}', Ping(7)),
    ('{"type":"react","kind":"heart"}', React("heart", None)),
    ('{"type":"react"}', React("heart", None)),
    ('{"type":"chat","text":"hello","ref":"m1"}', SendChat("hello", "m1")),
    ('{"type":"chat"}', SendChat("", None)),  # the chat's own rule refuses it, naming text
])
def test_the_protocols_messages_are_parsed(raw: str, parsed: object) -> None:
    assert parse_client_message(raw) == parsed


@pytest.mark.parametrize(("raw", "code", "field", "ref"), [
    ("not json", "invalid", "type", None),
    ("[1, 2]", "invalid", "type", None),
    ('{"text":"no type"}', "invalid", "type", None),
    ('{"type":"chat","text":5,"ref":"r"}', "invalid", "text", "r"),
    ('{"type":"chat","text":"hi","ref":{"a":1}}', "invalid", "ref", None),
    ('{"type":"react","kind":"confetti","ref":3}', "invalid", "kind", 3),
    ('{"type":"dance","ref":"d"}', "unknown_type", "type", "d"),
])
def test_a_message_that_does_not_fit_is_refused_naming_the_field(
        raw: str, code: str, field: str, ref: object) -> None:
    refused = parse_client_message(raw)
    assert isinstance(refused, Refusal)
    frame = refused.frame()
    assert (frame["type"], frame["code"], frame.get("field"), frame.get("ref")) == (
        "error", code, field, ref)


def test_an_error_frame_keeps_its_wire_form() -> None:
    refused = Refusal("unknown_type", "Unknown message type 'dance'", "type", "d")
    assert encode(refused.frame()) == (
        '{"type":"error","code":"unknown_type","message":"Unknown message type \'dance\'",'
        '"field":"type","ref":"d"}')


def test_a_joiner_gets_the_shared_snapshot_with_its_own_fields() -> None:
    shared = encode({"type": "snapshot", "v": 1, "chat": [{"text": "ü}"}]})
    you = {"user_id": None, "name": None, "can_chat": False, "can_moderate": False,
           "can_host": False, "muted_until": None}
    frame = joiner_snapshot(shared, 1700000000000, 12, you)  # type: ignore[arg-type]
    assert frame == ('{"type":"snapshot","v":1,"chat":[{"text":"ü}"}],'
                     '"server_time":1700000000000,"viewers":12,"you":' + encode(you) + "}")
    assert json.loads(frame)["you"] == you
