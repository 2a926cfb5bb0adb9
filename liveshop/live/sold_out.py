"""Flash sales this process saw sell out, and the taps on them it refuses from memory.

When a sale sells out, thousands of taps keep arriving for a second or two. The gate
refuses them without a database read (the first step of a purchase,
liveshop/live/purchases.py), and the lane refuses those it can recognise before FastAPI
(its routing, dependencies and body validation were most of such a tap's CPU).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from liveshop.accounts.tokens import TokenLookup, bearer_token
from liveshop.live.broker import Broker
from liveshop.live.model import sold_out
from liveshop.live.room_events import channel_of
from liveshop.live.schemas import BuyIn
from liveshop.web.errors import error_response

log = logging.getLogger("liveshop.live")


@dataclass
class _SoldOutSale:
    sale_id: int
    # Buyers holding (or having held) units of the sale: their retried taps must replay what
    # they got, so they go on to the database; everybody else is refused from memory.
    claimants: frozenset[int]
    # The sale's version when seen sold out: news of an older claim must not reopen it.
    version: int
    trusted_until: float
    # The buyer let through to check the database once the entry's trust ran out.
    checker: int | None = None


class SoldOutGate:
    """Flash sales this process saw sold out, by show and variant, so that a new tap on one
    is refused before any database read.

    An entry is trusted for a short while only: another process may start a new sale on the
    variant or give units back (a declined card). When it expires, one buyer's tap goes to
    the database and either closes the gate again or finds the sale open. With a broker to
    :meth:`listen` to, the gate also hears, while it holds a show's sale closed, what other
    processes announce in the show's room: units given back reopen the sale at once (another
    buyer's claim of them, and its retried tap here, must not meet a closed gate), and the
    sale's end forgets it.
    """

    TRUSTED_SECONDS = 1.0

    def __init__(self) -> None:
        self._sold_out: dict[tuple[int, int], _SoldOutSale] = {}
        self._lock = threading.Lock()
        self._broker: Broker | None = None
        self._listening: set[int] = set()  # shows whose room this gate hears

    def refuses(self, show_id: int, variant_id: int, buyer_id: int) -> bool:
        """Whether a tap of this buyer on the show's variant is refused from memory: its
        sale was seen sold out, and the buyer holds none of its units. Once the entry's
        trust runs out, the first buyer to ask checks the database (asked again meanwhile,
        e.g. by the lane and then the purchase, the answer stays the same); the others are
        refused until that check closes or reopens the gate."""
        with self._lock:
            entry = self._sold_out.get((show_id, variant_id))
            if entry is None or buyer_id in entry.claimants:
                return False
            now = time.monotonic()
            if now >= entry.trusted_until:
                entry.trusted_until = now + self.TRUSTED_SECONDS
                entry.checker = buyer_id
            return buyer_id != entry.checker

    def has_closed_sales(self, show_id: int) -> bool:
        """Whether a sale of the show is known sold out (a cheap look before the rest)."""
        with self._lock:
            return any(show == show_id for show, _ in self._sold_out)

    def close(self, show_id: int, variant_id: int, sale_id: int, claimants: frozenset[int],
              version: int) -> None:
        with self._lock:
            self._sold_out[(show_id, variant_id)] = _SoldOutSale(
                sale_id, claimants, version, time.monotonic() + self.TRUSTED_SECONDS)
            self._start_listening(show_id)

    def reopen(self, show_id: int, variant_id: int, sale_id: int, version: int) -> None:
        """The sale had units left at ``version``. Claims finish in any order: one that
        took units before the last were taken may report after the gate closed."""
        with self._lock:
            entry = self._sold_out.get((show_id, variant_id))
            if entry is not None and (entry.sale_id != sale_id or entry.version < version):
                self._forget((show_id, variant_id))

    def listen(self, broker: Broker | None) -> None:
        """Hear the rooms of closed sales on ``broker`` from now on (None: no more)."""
        with self._lock:
            for show_id in list(self._listening):
                self._stop_listening(show_id)
            self._broker = broker
            for show_id, _ in list(self._sold_out):
                self._start_listening(show_id)

    def _start_listening(self, show_id: int) -> None:
        if self._broker is not None and show_id not in self._listening:
            self._listening.add(show_id)
            self._broker.subscribe(channel_of(show_id), self._hear)

    def _stop_listening(self, show_id: int) -> None:
        if self._broker is not None and show_id in self._listening:
            self._listening.discard(show_id)
            self._broker.unsubscribe(channel_of(show_id), self._hear)

    def _forget(self, key: tuple[int, int]) -> None:
        del self._sold_out[key]
        show_id = key[0]
        if all(show != show_id for show, _ in self._sold_out):
            self._stop_listening(show_id)

    def _hear(self, channel: str, message: bytes) -> None:
        """A room event (on the event loop). Only the sale's number of units left and its end
        matter here: those go to every viewer anyway, and say nothing of who bought."""
        if b'"sale' not in message:  # chat, hearts, pins: most of a room's events
            return
        try:
            envelope = json.loads(message)
            show_id = int(channel.rsplit(":", 1)[1])
            if envelope["to"] == "stock" and envelope["stock"].get("sale"):
                sale = envelope["stock"]["sale"]
                if sale["remaining"] > 0:
                    self._drop(show_id, sale["id"], newer_than=int(sale["v"]))
            elif envelope["to"] == "all" and envelope["event"].get("type") == "sale_ended":
                self._drop(show_id, envelope["event"]["sale_id"])
        except Exception:  # a handler's failure would cost the broker its connection
            log.exception("the sold-out gate could not read a room event")

    def _drop(self, show_id: int, sale_id: int, newer_than: int | None = None) -> None:
        """Forget the show's closed entries of the sale (those closed before ``newer_than``)."""
        with self._lock:
            for key, entry in list(self._sold_out.items()):
                if key[0] == show_id and entry.sale_id == sale_id and (
                        newer_than is None or entry.version < newer_than):
                    self._forget(key)


# A buy body is a couple of dozen bytes; anything larger is left to the route to judge.
_MAX_BODY = 1024


class Purchases(Protocol):
    """What the lane asks of the serving event loop's purchases
    (liveshop/live/purchases.py)."""

    def refuses_from_memory(self, show_id: int, variant_id: int, buyer_id: int) -> bool: ...


class SoldOutLane:
    """A plain ASGI layer ahead of FastAPI: it answers exactly the taps the buy route would
    refuse as sold out from memory (a bearer token, a well-formed body, a sale this process
    saw sold out, a buyer holding none of its units) with the route's own answer, and hands
    everything else to the app untouched, so the route stays the one place that decides
    anything else."""

    def __init__(self, app: ASGIApp, buy_path: str, gate: SoldOutGate, tokens: TokenLookup,
                 purchases: Callable[[], Purchases]) -> None:
        """``buy_path``: the buy route's path, its show id written ``{show_id}``; ``gate``:
        the app's sold-out gate, the one the purchases consult; ``purchases``: gives those of
        the event loop serving the app now (liveshop/services.py)."""
        self.app = app
        self._gate, self._tokens, self._purchases = gate, tokens, purchases
        self._buy_path = re.compile(
            re.escape(buy_path).replace(re.escape("{show_id}"), "([0-9]{1,18})") + "$")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = (self._buy_path.match(scope["path"])
                   if scope["type"] == "http" and scope["method"] == "POST" else None)
        if matched is None:
            await self.app(scope, receive, send)
            return
        show_id = int(matched[1])
        if not self._gate.has_closed_sales(show_id):
            await self.app(scope, receive, send)
            return
        body, receive = await _read_body(receive)
        if await _refusable(self._purchases, self._tokens, scope, show_id, body):
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


async def _refusable(purchases: Callable[[], Purchases], tokens: TokenLookup, scope: Scope,
                     show_id: int, body: bytes | None) -> bool:
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
    return actor is not None and purchases().refuses_from_memory(show_id, variant_id,
                                                                 actor.user_id)


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
