"""Flash sales, the host's side: starting one (its units set aside from ordinary stock, a
stock hold), stopping it, and ending those whose time ran out. What a viewer's tap does with a
sale is liveshop/live/purchases.py."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.catalog.orm import Variant
from liveshop.core.db import Database, utcnow
from liveshop.core.errors import Conflict, InvalidInput, NotFound
from liveshop.core.events import record
from liveshop.inventory import service as inventory
from liveshop.inventory.orm import StockLevel
from liveshop.live import model
from liveshop.live.access import load_show, markets_of, require_host
from liveshop.live.events import SaleEnded, SaleStarted, StockChanged
from liveshop.live.frames import FlashSaleCard
from liveshop.live.model import ShowStatus, epoch_ms
from liveshop.live.orm import FlashSale, Show, ShowProduct
from liveshop.live.schemas import SaleIn, SaleView
from liveshop.markets.model import MARKETS

log = logging.getLogger("liveshop.live")
# How often sales whose time ran out are ended, so prices revert for everyone.
SALE_SWEEP_SECONDS = 1.0


def sale_view(session: Session, sale: FlashSale) -> SaleView:
    variant = session.get(Variant, sale.variant_id)
    assert variant is not None
    return SaleView(id=sale.id, show_id=sale.show_id, variant_id=sale.variant_id,
                    product_id=variant.product_id, title=variant.product.title,
                    prices=dict(sale.prices), quantity=sale.quantity, remaining=sale.remaining,
                    per_buyer_limit=sale.per_buyer_limit, ends_at=sale.ends_at,
                    status=sale.status)


def sale_card(session: Session, sale: FlashSale) -> FlashSaleCard:
    """The sale as the room shows it (docs/live-protocol.md, "A flash sale")."""
    variant = session.get(Variant, sale.variant_id)
    assert variant is not None
    regular = {p.market: p.amount_minor for p in variant.prices}
    label = " / ".join(v for v in (variant.option1, variant.option2, variant.option3) if v)
    return {
        "id": sale.id, "variant_id": sale.variant_id, "product_id": variant.product_id,
        "title": variant.product.title, "variant_label": label or "Standard",
        "prices": {m: {"amount": amount, "formatted": MARKETS[m].format(amount),
                       "regular": regular.get(m),
                       "regular_formatted": MARKETS[m].format(regular[m]) if m in regular
                       else None}
                   for m, amount in sale.prices.items()},
        "quantity": sale.quantity, "remaining": sale.remaining,
        "per_buyer_limit": sale.per_buyer_limit, "ends_at": epoch_ms(sale.ends_at),
        "status": sale.status,
    }


def active_sale(session: Session, show_id: int, now: datetime | None = None) -> FlashSale | None:
    now = now or utcnow()
    return session.scalars(select(FlashSale).where(
        FlashSale.show_id == show_id, FlashSale.status == "active", FlashSale.ends_at > now
    ).order_by(FlashSale.id.desc())).first()


def start_sale(db: Database, actor: Actor, show_id: int, data: SaleIn) -> SaleView:
    with db.transaction() as session:
        show = load_show(session, show_id, lock=True)
        require_host(session, actor, show)
        if show.shop_id is None:
            raise Conflict("A flash sale in your own show needs the shop's consent: propose "
                           "it to the shop, and start it once approved",
                           field="variant_id", code="consent_required")
        ensure_sale_may_start(session, show)
        variant = lineup_variant(session, show, data.variant_id)
        terms = model.validate_sale(
            data.prices, data.quantity, data.per_buyer_limit, data.duration_seconds,
            set(markets_of(show)), {p.market: p.amount_minor for p in variant.prices})
        return sale_view(session, open_sale(session, show, variant, terms))


def lineup_variant(session: Session, show: Show, variant_id: int) -> Variant:
    variant = session.get(Variant, variant_id)
    if variant is None or session.get(ShowProduct, (show.id, variant.product_id)) is None:
        raise InvalidInput("Choose a variant of a product in the lineup", field="variant_id")
    return variant


def ensure_sale_may_start(session: Session, show: Show) -> None:
    if show.status != ShowStatus.LIVE:
        raise Conflict("Flash sales run while the show is live", field="show_id")
    if active_sale(session, show.id) is not None:
        raise Conflict("Stop the running flash sale first", code="sale_running",
                       field="variant_id")


def open_sale(session: Session, show: Show, variant: Variant, terms: model.SaleTerms
              ) -> FlashSale:
    """Start a sale on ``variant`` in ``show`` (loaded locked, live), its units held from
    the variant's shop's stock: the one way a sale starts, by the host of a shop's show
    or, in a creator's own show, from the shop's approved proposal
    (:func:`ensure_sale_may_start` first)."""
    now = utcnow()
    sale = FlashSale(show_id=show.id, variant_id=variant.id, prices=terms.prices,
                     quantity=terms.quantity, remaining=terms.quantity,
                     per_buyer_limit=terms.per_buyer_limit, starts_at=now,
                     ends_at=now + terms.duration, status="active")
    session.add(sale)
    session.flush()
    # Its units leave ordinary stock now, so every tap the sale accepts can be paid
    # for: a regular purchase cannot take them meanwhile.
    try:
        sale.hold_id = inventory.hold(session, variant.id, terms.quantity,
                                      note=f"flash sale {sale.id}")
    except inventory.OutOfStock:
        available = variant_stock(session, [variant.id]).get(variant.id, [0])[0]
        raise Conflict(f"Only {available} units are in stock", field="quantity",
                       code="not_enough_stock") from None
    record(session, SaleStarted(show.id, sale_card(session, sale)))
    record(session, StockChanged.of_variants(show.id, variant_stock(session, [variant.id])))
    return sale


def stop_sale(db: Database, actor: Actor, show_id: int, sale_id: int) -> SaleView:
    with db.transaction() as session:
        show = load_show(session, show_id)
        require_host(session, actor, show)
        sale = session.get(FlashSale, sale_id)
        if sale is None or sale.show_id != show_id:
            raise NotFound("No such flash sale", field="sale_id")
        stopped = close_sales(session, "stopped", FlashSale.id == sale_id)
        session.refresh(sale)
        if not stopped:
            raise Conflict(f"The sale is already {sale.status}", field="sale_id")
        record_sales_ended(session, stopped, "stopped")
        return sale_view(session, sale)


async def end_expired_sales_forever(db: Database) -> None:
    """Run :func:`end_expired_sales` every ``SALE_SWEEP_SECONDS`` (a task of the app)."""
    while True:
        await asyncio.sleep(SALE_SWEEP_SECONDS)
        try:
            await asyncio.to_thread(end_expired_sales, db)
        except Exception:
            log.exception("ending expired flash sales failed")


def end_expired_sales(db: Database, now: datetime | None = None) -> int:
    """Close sales whose time ran out, so prices revert for everyone."""
    now = now or utcnow()
    with db.transaction() as session:
        expired = close_sales(session, "ended", FlashSale.ends_at <= now)
        record_sales_ended(session, expired, "time")
    return len(expired)


@dataclass(frozen=True)
class ClosedSale:
    id: int
    show_id: int
    variant_id: int


def close_sales(session: Session, status: str, *which: ColumnElement[bool]
                ) -> list[ClosedSale]:
    """End the running sales ``which`` picks and give their unclaimed units back to ordinary
    stock. One conditional UPDATE reads the units left as it ends each sale, so no claim can
    take one in between; units claimed but not yet paid for stay held until their purchase
    is paid or fails (liveshop/live/purchases.py)."""
    closed = session.execute(
        update(FlashSale).where(FlashSale.status == "active", *which).values(status=status)
        .returning(FlashSale.id, FlashSale.show_id, FlashSale.variant_id, FlashSale.remaining,
                   FlashSale.hold_id)
        .execution_options(synchronize_session=False)).all()
    # In variant order, as checkouts lock stock rows.
    for sale in sorted(closed, key=lambda sale: (sale.variant_id, sale.id)):
        if sale.hold_id is not None:
            inventory.unhold(session, sale.hold_id, sale.remaining,
                             note=f"flash sale {sale.id} {status}")
    return [ClosedSale(sale.id, sale.show_id, sale.variant_id) for sale in closed]


def record_sales_ended(session: Session, closed: list[ClosedSale],
                       reason: Literal["time", "stopped"]) -> None:
    """Each sale :func:`close_sales` closed ended for ``reason``; its variant's stock, with
    the units it gave back."""
    stock = variant_stock(session, [sale.variant_id for sale in closed])
    for sale in closed:
        record(session, SaleEnded(sale.show_id, sale.id, reason))
        record(session, StockChanged.of_variants(
            sale.show_id, {sale.variant_id: stock[sale.variant_id]}))


def variant_stock(session: Session, variant_ids: Collection[int]) -> dict[int, list[int]]:
    """Units available at regular prices and the stock's version, as room events carry
    them (:class:`StockChanged`)."""
    if not variant_ids:
        return {}
    return {variant_id: [available, version] for variant_id, available, version in
            session.execute(select(StockLevel.variant_id, StockLevel.available,
                                   StockLevel.version)
                            .where(StockLevel.variant_id.in_(set(variant_ids))))}

