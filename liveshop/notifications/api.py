"""The notification centre's API."""

from __future__ import annotations

from fastapi import APIRouter

from liveshop.notifications import service
from liveshop.notifications.schemas import MarkedRead, MarkReadIn, NotificationView
from liveshop.web.deps import Context, CurrentActor

router = APIRouter(tags=["notifications"])


@router.get("/notifications", response_model=list[NotificationView])
def notifications(actor: CurrentActor, context: Context) -> list[NotificationView]:
    """The newest 50, newest first. Reading them marks nothing read (see ``/read``)."""
    return service.notifications(context.db, actor)


@router.put("/notifications/read", response_model=MarkedRead)
def mark_read(data: MarkReadIn, actor: CurrentActor, context: Context) -> MarkedRead:
    """Every notice up to ``up_to_id`` (the newest one shown) is read from now on. Safe to
    repeat: a retry marks nothing more, so it needs no Idempotency-Key."""
    return MarkedRead(marked=service.mark_read(context.db, actor, data.up_to_id))
