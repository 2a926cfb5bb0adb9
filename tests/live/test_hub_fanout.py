"""The hub offers frames to a big room a chunk of sockets at a time, in order."""

from __future__ import annotations

import asyncio
import json

from liveshop.live.room import FANOUT_CHUNK, Hub, create_hub
from tests.conftest import run_async


class Recorder:
    is_staff = False
    user_id: int | None = None

    def __init__(self, index: int) -> None:
        self.visitor_id = f"anon:{index}"
        self.frames: list[str] = []

    def offer(self, frame: str) -> bool:
        self.frames.append(frame)
        return True

    def close_soon(self, code: int) -> None:
        pass


def test_every_socket_of_a_big_room_gets_every_frame_in_order() -> None:
    count = FANOUT_CHUNK * 2 + 10

    async def scenario() -> tuple[Hub, list[Recorder], Recorder, int]:
        hub = create_hub()
        await hub.broker.start(asyncio.get_running_loop())
        viewers = [Recorder(index) for index in range(count)]
        for viewer in viewers:
            hub.join(1, viewer)
        for index in range(3):
            hub.events.broadcast(1, {"type": "pin", "n": index})
        hub.events.chat(1, {"id": 1})
        await asyncio.sleep(0)  # the broker delivers on the loop
        hub.flush()
        await asyncio.sleep(0)  # the first chunk of the first frame has gone out
        leaver = viewers[-1]
        frames_before_leaving = len(leaver.frames)
        hub.leave(1, leaver)
        while hub._sender is not None:
            await asyncio.sleep(0.01)
        return hub, viewers[:-1], leaver, frames_before_leaving

    hub, stayed, leaver, frames_before_leaving = run_async(scenario())
    kinds = [[json.loads(frame).get("n", json.loads(frame)["type"]) for frame in v.frames]
             for v in stayed]
    assert all(frames == [0, 1, 2, "chat", "viewers"] for frames in kinds)
    # One who left during the pass gets nothing more and is not counted as too slow.
    assert len(leaver.frames) == frames_before_leaving < 5 and hub.dropped == 0
