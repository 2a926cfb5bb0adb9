"""Following a share link (``?ref=<handle>``) in a browser: the click is recorded for the
signed-in buyer, or for the browser's anonymous ``visitor`` key in its session cookie until
it signs in (``claim_visitor_clicks`` at sign-in, liveshop/auth/api.py). A ref that names
no creator is ignored: the page shows as if there were none."""

from __future__ import annotations

import secrets

from starlette.requests import Request

from liveshop.accounts.model import Actor
from liveshop.core.db import Database
from liveshop.creators import storefront
from liveshop.creators.schemas import CreatorCard
from liveshop.creators.storefront import Landing

VISITOR = "visitor"


def visitor_of(request: Request, create: bool = True) -> str | None:
    """The browser's anonymous key, made on first use (not an identity: it only ties the
    clicks of a browser that signs in later to its buyer)."""
    visitor = request.session.get(VISITOR)
    if not isinstance(visitor, str) and create:
        visitor = secrets.token_urlsafe(24)
        request.session[VISITOR] = visitor
    return visitor if isinstance(visitor, str) else None


def landed_via(request: Request, db: Database, actor: Actor | None, ref: str | None,
               where: Landing) -> CreatorCard | None:
    """The creator whose link brought the buyer here (their click recorded), else None."""
    if not ref:
        return None
    visitor = None if actor is not None else visitor_of(request)
    return storefront.land(db, ref, actor.user_id if actor else None, visitor, where)
