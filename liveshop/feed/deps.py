"""What the feed's routes and pages take from the app's services, and who the viewer is:
a signed-in user, else an anonymous visitor known by the ``liveshop_visitor`` cookie (set
here on the first visit). The first request of a signed-in visitor who still carries the
cookie ties the visitor's events and "not interested" choices to the account."""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Protocol

from fastapi import Depends, Request, Response
from starlette.requests import HTTPConnection

from liveshop.feed.ingest import VisitorLoggedIn
from liveshop.feed.service import FeedState, Viewer
from liveshop.live.deps import LiveServices
from liveshop.web.context import AppContext
from liveshop.web.deps import MaybeActor, services_of

VISITOR_COOKIE = "liveshop_visitor"
VISITOR_MAX_AGE = 365 * 24 * 3600
VISITOR_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,32}")
# The session remembers which visitor it merged, so the merge is queued once.
MERGED = "feed_visitor_merged"
NEW_VISITOR = "feed_new_visitor"


class FeedServices(LiveServices, Protocol):
    @property
    def feed(self) -> FeedState: ...


def feed_services(connection: HTTPConnection) -> FeedServices:
    services: FeedServices = services_of(connection)
    return services


async def get_feed_state(connection: HTTPConnection) -> FeedState:
    return feed_services(connection).feed


State = Annotated[FeedState, Depends(get_feed_state)]


def remember_visitor(request: Request, response: Response) -> Response:
    """Set the cookie of a visitor new to this request on ``response``: what a route
    returns as a Response of its own does not carry the dependency's cookies."""
    visitor = getattr(request.state, NEW_VISITOR, None)
    if visitor:
        context: AppContext = feed_services(request).context
        response.set_cookie(VISITOR_COOKIE, visitor, max_age=VISITOR_MAX_AGE, httponly=True,
                            samesite="lax", secure=context.settings.secure_cookies)
    return response


async def get_viewer(request: Request, response: Response, actor: MaybeActor,
                     state: State) -> Viewer:
    visitor = request.cookies.get(VISITOR_COOKIE, "")
    if not VISITOR_PATTERN.fullmatch(visitor):
        visitor = secrets.token_urlsafe(16)
        setattr(request.state, NEW_VISITOR, visitor)
        remember_visitor(request, response)
    if actor is None:
        return Viewer(None, visitor)
    if request.session.get(MERGED) != visitor:
        state.writer.put(VisitorLoggedIn(visitor, actor.user_id))
        request.session[MERGED] = visitor
    return Viewer(actor.user_id, visitor)


CurrentViewer = Annotated[Viewer, Depends(get_viewer)]
