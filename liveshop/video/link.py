"""Video's side of the live rooms: the link the rooms ask through (liveshop/live/video_link.py)
and the ``video`` frames their rooms are told, both connected by the composition root when
it builds the app."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy.orm import Session

from liveshop.core.config import Settings
from liveshop.core.events import EventBus
from liveshop.live.room_publisher import RoomPublisher
from liveshop.video import service
from liveshop.video.events import VideoStateChanged


class ShowVideo:
    def room_view(self, session: Session, hls_base_url: str, show_id: int) -> dict[str, Any]:
        return service.room_view(session, hls_base_url, show_id)

    def hand_over(self, session: Session, show_ids: Collection[int]) -> None:
        service.revoke_publishing(session, show_ids)


def tell_rooms(bus: EventBus, rooms: RoomPublisher, settings: Settings) -> None:
    """Each committed change of a stream's state reaches its room as a ``video`` frame."""

    def video_state_changed(event: VideoStateChanged) -> None:
        rooms.broadcast(event.show_id, service.video_frame(settings.hls_base_url,
                                                           event.show_id, event.state))

    bus.subscribe(VideoStateChanged, video_state_changed)
