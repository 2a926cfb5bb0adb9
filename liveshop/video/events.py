"""What happened to a show's video stream, as domain events (liveshop/core/events.py),
recorded in the transaction that changed the stream's state. Its room is told by
liveshop/video/link.py."""

from __future__ import annotations

from dataclasses import dataclass

from liveshop.core.events import DomainEvent


@dataclass(frozen=True)
class VideoStateChanged(DomainEvent):
    """The live video started (``live``), dropped or was cut off (``reconnecting``: its
    publisher may come back) or ended (``ended``): a ``StreamState``."""

    show_id: int
    state: str
