"""The notification centre (/notifications), the unread count on every page's "Alerts"
link, and the demo's mail outbox (/outbox)."""

from __future__ import annotations

import ipaddress
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import RedirectResponse, Response

from liveshop.accounts.model import Actor
from liveshop.core.errors import NotFound
from liveshop.core.inputs import MAX_INTEGER, SingleLine
from liveshop.core.mail import read_file_outbox
from liveshop.notifications import service
from liveshop.web.deps import Context, CurrentActor, FormCsrf, context_of
from liveshop.web.templating import add_page_context, render

router = APIRouter()
log = logging.getLogger(__name__)
EmailAddress = Annotated[str, SingleLine(max_length=254)]


def alerts_badge(request: Request) -> dict[str, Any]:
    """The signed-in person's unread notices, for the header's "Alerts" link. A page that
    cannot read them (the database is away: an error page) shows no count rather than fail."""
    actor: Actor | None = getattr(request.state, "actor", None)
    if actor is None:
        return {"unread_alerts": 0}
    try:
        unread = service.unread_count(context_of(request).db, actor)
    except SQLAlchemyError:
        log.warning("alerts badge left out: the database did not answer")
        unread = 0
    return {"unread_alerts": unread}


add_page_context(alerts_badge)


@router.get("/notifications")
def notifications(request: Request, actor: CurrentActor, context: Context) -> Response:
    """Newest first, those unread marked "New". Showing them reads nothing: the page's
    script marks them read once a person sees it (a prefetch or link preview does not),
    and the "Mark as read" button does so without the script."""
    items = service.notifications(context.db, actor)
    return render(request, "notifications/notifications.html", items=items,
                  unread_here=sum(not item.read for item in items))


@router.post("/notifications/read", dependencies=[FormCsrf])
def mark_read(actor: CurrentActor, context: Context,
              up_to_id: Annotated[int, Form(ge=1, le=MAX_INTEGER)]) -> Response:
    service.mark_read(context.db, actor, up_to_id)
    return RedirectResponse("/notifications", status_code=303)


def _from_this_machine(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@router.get("/outbox")
def outbox(request: Request, context: Context, to: EmailAddress = "") -> Response:
    """The mails written instead of sent (LIVESHOP_MAIL_BACKEND=file), for the demo: only
    when LIVESHOP_MAIL_OUTBOX_PAGE is on, and only to a browser on the server's own machine
    (the mails hold sign-in links). Anyone else gets a 404, as if there were no such page."""
    settings = context.settings
    if not settings.mail_outbox_page or not _from_this_machine(request):
        raise NotFound("No such page")
    mails = (read_file_outbox(settings.mail_dir, to=to)
             if settings.mail_backend == "file" else [])
    return render(request, "notifications/outbox.html", mails=mails, to=to,
                  mail_dir=str(settings.mail_dir))
