"""The live rooms' view of video (liveshop/live/video_link.py), connected by the
composition root when it builds the app."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy.orm import Session

from liveshop.video import service
from liveshop.video.model import StreamState


class ShowVideo:
    def room_view(self, session: Session, hls_base_url: str, show_id: int) -> dict[str, Any]:
        return service.room_view(session, hls_base_url, show_id)

    def hand_over(self, session: Session, show_ids: Collection[int]) -> list[int]:
        return service.revoke_publishing(session, show_ids)

    def cut_off_event(self, hls_base_url: str, show_id: int) -> dict[str, Any]:
        return service.video_event(hls_base_url, show_id, StreamState.RECONNECTING)
