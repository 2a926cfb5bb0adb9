"""Buying in a live room: one tap, at the flash-sale price while a sale runs.

A sale unit is claimed with one conditional UPDATE (never oversold) and the buyer's
running total is capped by another (per-buyer limit), then the ordinary one-tap checkout
reserves stock and charges. If that fails (declined card, stock gone) the claim is given
back. Every step is stored under the client's Idempotency-Key, so a retried tap replays
instead of claiming twice. Once a sale is seen sold out, this process answers further
attempts from memory, without touching the database.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.catalog.orm import Shop
from liveshop.checkout import service as checkout
from liveshop.checkout.payments import PaymentProvider
from liveshop.checkout.schemas import CheckoutView
from liveshop.core.config import Settings
from liveshop.core.db import Database, rows_affected, utcnow
from liveshop.core.errors import Conflict, DomainError, NotFound
from liveshop.core.idempotency import IdempotencyRecord, fingerprint, run_once, validate_key
from liveshop.inventory import service as inventory
from liveshop.live.hub import RoomEvents
from liveshop.live.model import ShowStatus
from liveshop.live.orm import FlashSale, FlashSaleClaim, Show
from liveshop.live.service import markets_of
from liveshop.markets.model import Market


class SoldOutGate:
    """Sales this process knows to be sold out (or over)."""

    def __init__(self) -> None:
        self._closed: set[int] = set()
        self._lock = threading.Lock()

    def is_closed(self, sale_id: int) -> bool:
        return sale_id in self._closed

    def close(self, sale_id: int) -> None:
        with self._lock:
            self._closed.add(sale_id)

    def reopen(self, sale_id: int) -> None:
        with self._lock:
            self._closed.discard(sale_id)


class SoldOut(Conflict):
    code = "sold_out"


@dataclass(frozen=True)
class Offer:
    """What a tap buys at, decided once per Idempotency-Key and stored with it, so a retry
    after a crash replays the same decision even if the sale has ended meanwhile."""

    # The creator hosting the show earns from its orders; None when the shop hosts itself.
    creator_id: int | None
    sale_id: int | None
    sale_price: int | None


def _active_sale(session: Session, show_id: int, variant_id: int) -> FlashSale | None:
    # An ended show's replay still sells, at regular prices: ending a show ends its sales.
    return session.scalars(select(FlashSale).where(
        FlashSale.show_id == show_id, FlashSale.variant_id == variant_id,
        FlashSale.status == "active", FlashSale.ends_at > utcnow(),
    ).order_by(FlashSale.id.desc())).first()


def _decide(session: Session, show_id: int, variant_id: int, quantity: int, market: Market,
            buyer_id: int) -> Offer:
    """Check the room sells this, and claim flash-sale units if a sale runs."""
    show = session.get(Show, show_id)
    if show is None:
        raise NotFound("No such show", field="show_id")
    if show.status == ShowStatus.SCHEDULED:
        raise Conflict("Buying opens when the show goes live", field="show_id")
    if market.code not in markets_of(show):
        raise Conflict(f"This show does not sell in {market.code}", field="market")
    shop = session.get(Shop, show.shop_id)
    creator_id = show.host_id if shop is not None and shop.owner_id != show.host_id else None
    sale = _active_sale(session, show_id, variant_id)
    if sale is None:
        return Offer(creator_id, None, None)
    _claim(session, sale.id, buyer_id, quantity, sale.per_buyer_limit)
    return Offer(creator_id, sale.id, int(sale.prices[market.code]))


def _known_key(db: Database, user_id: int, key: str) -> bool:
    with db.read() as session:
        return session.scalar(select(IdempotencyRecord.id).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)) is not None


def _sale_of(db: Database, show_id: int, variant_id: int) -> int | None:
    with db.read() as session:
        sale = _active_sale(session, show_id, variant_id)
        return sale.id if sale is not None else None


def _claim(session: Session, sale_id: int, buyer_id: int, quantity: int, limit: int) -> None:
    """Take units from the sale and count them against the buyer."""
    taken = rows_affected(session.execute(
        update(FlashSale)
        .where(FlashSale.id == sale_id, FlashSale.status == "active",
               FlashSale.remaining >= quantity, FlashSale.ends_at > utcnow())
        .values(remaining=FlashSale.remaining - quantity, version=FlashSale.version + 1)))
    if taken != 1:
        raise SoldOut("Sold out", field="variant_id")
    counted = rows_affected(session.execute(
        update(FlashSaleClaim)
        .where(FlashSaleClaim.sale_id == sale_id, FlashSaleClaim.buyer_id == buyer_id,
               FlashSaleClaim.quantity + quantity <= limit)
        .values(quantity=FlashSaleClaim.quantity + quantity)))
    if counted != 1:
        exists = session.scalar(select(FlashSaleClaim.id).where(
            FlashSaleClaim.sale_id == sale_id, FlashSaleClaim.buyer_id == buyer_id))
        if exists is not None or quantity > limit:
            raise Conflict(f"The limit is {limit} per buyer for this sale",
                           field="quantity", code="limit_reached")
        session.add(FlashSaleClaim(sale_id=sale_id, buyer_id=buyer_id, quantity=quantity))
        session.flush()


def _give_back(session: Session, sale_id: int, buyer_id: int, quantity: int) -> None:
    session.execute(update(FlashSale).where(FlashSale.id == sale_id)
                    .values(remaining=FlashSale.remaining + quantity,
                            version=FlashSale.version + 1))
    session.execute(update(FlashSaleClaim)
                    .where(FlashSaleClaim.sale_id == sale_id,
                           FlashSaleClaim.buyer_id == buyer_id)
                    .values(quantity=FlashSaleClaim.quantity - quantity))


def buy(db: Database, payments: PaymentProvider, settings: Settings, events: RoomEvents,
        gate: SoldOutGate, actor: Actor, show_id: int, variant_id: int, quantity: int,
        market: Market, idempotency_key: str | None) -> tuple[CheckoutView, int | None]:
    """One-tap purchase in the room. Returns the paid checkout and the sale id, if any."""
    key = validate_key(idempotency_key)
    decision_key = f"{key}:offer"
    # A new tap on a sale this process saw sell out is refused at once; a retry of an earlier
    # tap (its key is stored) goes on to replay what that tap got.
    sale_id = _sale_of(db, show_id, variant_id)
    if (sale_id is not None and gate.is_closed(sale_id)
            and not _known_key(db, actor.user_id, decision_key)):
        raise SoldOut("Sold out", field="variant_id")
    request = fingerprint("live.buy", {"show": show_id, "variant": variant_id,
                                       "quantity": quantity, "market": market.code})

    def decide(session: Session) -> tuple[int, Any]:
        offer = _decide(session, show_id, variant_id, quantity, market, actor.user_id)
        return 200, asdict(offer)

    try:
        offer = Offer(**run_once(db, user_id=actor.user_id, key=decision_key,
                                 request_fingerprint=request, operation=decide).body)
    except DomainError as error:
        if error.code == "sold_out" and sale_id is not None:
            gate.close(sale_id)
        raise
    try:
        paid = checkout.buy_now(db, payments, settings, actor, variant_id, quantity, market,
                                key, unit_price_override=offer.sale_price, show_id=show_id,
                                creator_id=offer.creator_id)
    except DomainError:
        if offer.sale_id is not None:
            _release_claim(db, actor, key, request, offer.sale_id, quantity, gate)
        raise
    _announce(db, events, gate, show_id, variant_id, offer.sale_id, paid, actor)
    return paid, offer.sale_id


def _release_claim(db: Database, actor: Actor, key: str, request: str, sale_id: int,
                   quantity: int, gate: SoldOutGate) -> None:
    def give_back(session: Session) -> tuple[int, Any]:
        _give_back(session, sale_id, actor.user_id, quantity)
        return 200, {"released": quantity}

    # Stored under its own key: a retried failing tap gives the units back only once.
    run_once(db, user_id=actor.user_id, key=f"{key}:release", request_fingerprint=request,
             operation=give_back)
    gate.reopen(sale_id)


def _announce(db: Database, events: RoomEvents, gate: SoldOutGate, show_id: int,
              variant_id: int, sale_id: int | None, paid: CheckoutView, actor: Actor) -> None:
    # Read after the commit; the versions let the hubs drop whatever arrives out of order.
    with db.read() as session:
        level = inventory.stock_of(session, [variant_id]).get(variant_id)
        sale = session.get(FlashSale, sale_id) if sale_id is not None else None
    stock: dict[str, Any] = {"variants": {
        str(variant_id): [level.available, level.version] if level else [0, 0]}}
    if sale is not None:
        stock["sale"] = {"id": sale.id, "remaining": sale.remaining, "v": sale.version}
        if sale.remaining == 0:
            gate.close(sale.id)
            events.broadcast(show_id, {"type": "sale_sold_out", "sale_id": sale.id})
    events.stock(show_id, stock)
    for order in paid.orders:
        events.to_staff(show_id, {
            "type": "order", "number": order.number, "total": order.total,
            "currency": paid.currency, "buyer": actor.display_name,
            "items": [f"{line.quantity} x {line.product_title}" for line in order.lines],
            "sale_id": sale_id,
        })
