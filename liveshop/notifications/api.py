"""The notification centre's API."""

from __future__ import annotations

from fastapi import APIRouter

from liveshop.notifications import service
from liveshop.notifications.schemas import NotificationView
from liveshop.web.deps import Context, CurrentActor

router = APIRouter(tags=["notifications"])


@router.get("/notifications", response_model=list[NotificationView])
def notifications(actor: CurrentActor, context: Context, mark_read: bool = False
                  ) -> list[NotificationView]:
    """The newest 50, newest first; ``mark_read``: every unread one is read from now on."""
    return service.notifications(context.db, actor, mark_read)
