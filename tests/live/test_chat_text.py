"""Chat text is one line of plain text, cleaned the same way over HTTP and the WebSocket."""

from __future__ import annotations

from collections.abc import Callable

from tests.live.conftest import LiveShow, Person


def test_nul_in_chat_text_is_refused_naming_the_field(live_show: LiveShow,
                                                      people: Callable[..., Person]) -> None:
    ann = people()
    url = f"/api/v1/shows/{live_show.id}/chat"
    for text in ("hello\x00world", "two\nlines", "bell\x07"):
        response = ann.http.post(url, json={"text": text})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"] == "text"
    posted = ann.http.post(url, json={"text": "  Cafe\u0301 time  "})
    assert posted.status_code == 201, posted.text
    assert posted.json()["text"] == "Caf\u00e9 time"


def test_the_socket_refuses_the_same_text(live_show: LiveShow,
                                          people: Callable[..., Person]) -> None:
    room = people().join(live_show.id)
    room.send(type="chat", text="hello\x00world", ref="nul")
    error = room.next("error")
    assert (error["code"], error["field"], error["ref"]) == ("invalid", "text", "nul")
    assert "U+0000" in error["message"]
    room.send(type="chat", text="  fine\t")
    assert room.chat_texts() == ["fine"]


def test_the_socket_refuses_text_that_is_not_a_string(live_show: LiveShow,
                                                      people: Callable[..., Person]) -> None:
    room = people().join(live_show.id)
    room.send(type="chat", text=42, ref="n")
    error = room.next("error")
    assert (error["code"], error["field"], error["ref"]) == ("invalid", "text", "n")
    room.send(type="chat", text="42")
    assert room.chat_texts() == ["42"]
