"""The room protocol frames text exactly as websockets would for a server."""

from __future__ import annotations

from websockets.frames import Frame, Opcode

from liveshop.live.socket_writes import text_frame


def test_frames_match_websockets_at_every_length_encoding() -> None:
    for length in (0, 1, 125, 126, 65535, 65536, 70000):
        payload = b"x" * length
        assert text_frame(payload) == Frame(Opcode.TEXT, payload).serialize(mask=False)
