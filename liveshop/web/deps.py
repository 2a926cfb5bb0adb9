"""Request dependencies: the app's services and context, who is acting, which market, CSRF.
(Which market a request is for is the markets package's rule, liveshop/markets/visitor.py;
pages take it from here with the rest.)

Dependencies are ``async`` wherever they can be: FastAPI runs a plain function in the thread
pool, which costs a thread hand-off per dependency per request, and in a flash sale each
hand-off waits for the GIL behind busy threads."""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Protocol

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from liveshop.accounts import sessions
from liveshop.accounts.model import Actor
from liveshop.accounts.tokens import bearer_token
from liveshop.core.errors import Forbidden, NotAuthenticated
from liveshop.core.idempotency import KEY_MAX_LENGTH
from liveshop.markets.visitor import CurrentMarket as CurrentMarket
from liveshop.markets.visitor import market_of as market_of
from liveshop.web.context import AppContext

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"

# The header of a retryable write (liveshop/core/idempotency.py): required, so OpenAPI says
# so and a request without it is refused naming it.
IdempotencyKey = Annotated[str, Header(
    alias="Idempotency-Key", min_length=1, max_length=KEY_MAX_LENGTH,
    description="A retry with the same key and body replays the first result")]


class WebServices(Protocol):
    """What the web kit takes from the app's services."""

    @property
    def context(self) -> AppContext: ...


def services_of(connection: HTTPConnection) -> Any:
    """The app's services for this request or socket (``Services``, liveshop/services.py):
    the one read of the app's state outside the composition root. A package above the web
    kit cannot name ``Services``; its providers take it as a protocol of their own
    (``WebServices`` here, liveshop/live/deps.py, liveshop/video/ws.py), and mypy checks at
    the root that ``Services`` satisfies each."""
    return connection.app.state.services.current()


def context_of(connection: HTTPConnection) -> AppContext:
    services: WebServices = services_of(connection)
    return services.context


async def get_context(connection: HTTPConnection) -> AppContext:
    return context_of(connection)


Context = Annotated[AppContext, Depends(get_context)]


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.session.get("csrf")
    if not expected or not submitted or not secrets.compare_digest(str(expected), submitted):
        raise Forbidden("The form expired or did not come from this site; reload and retry",
                        field=CSRF_FIELD, code="csrf_failed")


async def optional_actor(request: Request, context: Context) -> Actor | None:
    """Bearer token for API clients, else the signed session cookie and its open session.

    A cookie-authenticated write must carry the CSRF token (header for JSON calls); a
    bearer token cannot be sent by another site, so it needs none. Tokens are looked up in
    batches and remembered briefly (``TokenLookup``): the API clients of a flash sale.
    """
    cached: Actor | None = getattr(request.state, "actor", None)
    if cached is not None:
        return cached
    authorization = request.headers.get("authorization", "")
    if authorization:
        token = bearer_token(authorization)
        if token is None:
            raise NotAuthenticated("Use 'Authorization: Bearer <token>'", field="Authorization")
        actor = await context.tokens.actor(token)
        if actor is None:
            raise NotAuthenticated("The API token is invalid or revoked", field="Authorization")
        request.state.actor = actor
        return actor
    if not sessions.is_signed_in(request.session):
        return None
    # The session is checked in the query that loads the user: a logged-out, password-changed
    # or suspended session is refused however the cookie was kept.
    actor = await run_in_threadpool(sessions.cookie_actor, context.db, context.session_use,
                                    request.session)
    if actor is None:
        request.session.pop(sessions.USER_ID, None)
        request.session.pop(sessions.SESSION_ID, None)
        return None
    if request.method not in SAFE_METHODS and request.url.path.startswith("/api/"):
        # navigator.sendBeacon cannot set a header: a beacon sends the token in the query.
        check_csrf(request, request.headers.get(CSRF_HEADER)
                   or request.query_params.get(CSRF_FIELD))
    request.state.actor = actor
    return actor


MaybeActor = Annotated[Actor | None, Depends(optional_actor)]


async def require_actor(actor: MaybeActor) -> Actor:
    if actor is None:
        raise NotAuthenticated("Log in or send an API token", field="Authorization")
    return actor


CurrentActor = Annotated[Actor, Depends(require_actor)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def verify_form_csrf(request: Request) -> None:
    """Every HTML form post carries the session's token in a hidden field."""
    form = await request.form()
    submitted = form.get(CSRF_FIELD)
    check_csrf(request, submitted if isinstance(submitted, str) else None)


FormCsrf = Depends(verify_form_csrf)
