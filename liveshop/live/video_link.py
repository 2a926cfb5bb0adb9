"""What a live room knows of its show's video, without importing the video package.

Video builds on live (who may host, going live, ending a show), so live cannot import it
back. The room still shows the video's state in its snapshot, and handing a show back to
its shop must replace the stream key in the same transaction: live asks through this small
interface, and the composition root (liveshop/app.py) connects video's implementation
(liveshop/video/link.py) when it builds the app.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol

from sqlalchemy.orm import Session


class VideoLink(Protocol):
    def room_view(self, session: Session, hls_base_url: str, show_id: int) -> dict[str, Any]:
        """The ``video`` object of the room snapshot and the replay (docs/video.md)."""
        ...

    def hand_over(self, session: Session, show_ids: Collection[int]) -> None:
        """These shows changed hands: a new stream key for each, and a publisher streaming
        with the old one cut off (its room is told, once the caller's transaction commits),
        in the caller's transaction."""
        ...


_connected: list[VideoLink] = []


def connect(link: VideoLink) -> None:
    """Called once the app is built; connecting again replaces the link."""
    _connected[:] = [link]


def video_link() -> VideoLink:
    if not _connected:
        raise RuntimeError("no video link: liveshop.app.create_app connects liveshop.video's")
    return _connected[0]
