"""Late taps on a sold-out flash sale, refused ahead of FastAPI.

When a sale sells out, thousands of taps keep arriving for a second or two. The buy route
refuses them from memory already (``SoldOutGate``), but each one first paid for routing
through every route of the app, the dependency graph and body validation: most of its CPU
(1.35 ms a tap there, 0.3-0.5 ms here; docs/benchmarks.md, fourth round). This plain ASGI
layer answers exactly those taps (a bearer token, a well-formed body, a sale this process
saw sold out, a buyer holding none of its units) with the answer the route would give, and
hands everything else to the app untouched, so the route stays the one place that decides
anything else.
"""

from __future__ import annotations

import re

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from liveshop.accounts.tokens import TokenLookup, bearer_token
from liveshop.live.sales import SoldOutGate, sold_out
from liveshop.live.schemas import BuyIn
from liveshop.web.errors import error_response

# A buy body is a couple of dozen bytes; anything larger is left to the route to judge.
_MAX_BODY = 1024


class SoldOutLane:
    def __init__(self, app: ASGIApp, buy_path: str) -> None:
        """``buy_path``: the buy route's path, its show id written ``{show_id}``."""
        self.app = app
        self._buy_path = re.compile(
            re.escape(buy_path).replace(re.escape("{show_id}"), "([0-9]{1,18})") + "$")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = (self._buy_path.match(scope["path"])
                   if scope["type"] == "http" and scope["method"] == "POST" else None)
        if matched is None:
            await self.app(scope, receive, send)
            return
        show_id, state = int(matched[1]), scope["app"].state
        gate: SoldOutGate = state.sale_gate
        if not gate.closes_any(show_id):
            await self.app(scope, receive, send)
            return
        body, receive = await _read_body(receive)
        if await _refusable(gate, state.context.tokens, scope, show_id, body):
            state.settlements.noticed_tap()
            await error_response(sold_out())(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _read_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """The request body (None past ``_MAX_BODY``) and a ``receive`` that hands the app
    everything read, as if nothing had been."""
    read: list[Message] = []
    size = 0
    while True:
        message = await receive()
        read.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if size > _MAX_BODY or not message.get("more_body", False):
            break
    complete = read[-1]["type"] == "http.request" and not read[-1].get("more_body", False)
    body = b"".join(m.get("body", b"") for m in read) if complete and size <= _MAX_BODY else None

    async def replay() -> Message:
        return read.pop(0) if read else await receive()

    return body, replay


async def _refusable(gate: SoldOutGate, tokens: TokenLookup, scope: Scope, show_id: int,
                     body: bytes | None) -> bool:
    variant_id = _variant_of(scope, body)
    if variant_id is None:
        return False
    authorization = _header(scope, b"authorization")
    token = bearer_token(authorization.decode("latin-1")) if authorization else None
    if token is None:
        return False
    try:
        actor = await tokens.actor(token)
    except Exception:  # e.g. the database is down: the route answers that properly
        return False
    return actor is not None and gate.known_sold_out(show_id, variant_id, actor.user_id)


def _variant_of(scope: Scope, body: bytes | None) -> int | None:
    """The variant of a buy the route would accept as it is, else None."""
    content_type = _header(scope, b"content-type") or b""
    if body is None or content_type.partition(b";")[0].strip().lower() != b"application/json":
        return None
    try:
        return BuyIn.model_validate_json(body).variant_id
    except ValidationError:
        return None


def _header(scope: Scope, name: bytes) -> bytes | None:
    return next((value for key, value in scope["headers"] if key == name), None)
