"""A flash sale's units left: taken by a claim (liveshop/live/claims.py), given back by a
purchase that failed, recorded for the room in the transaction that changed them, and told
to this process's sold-out gate after it commits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.core.events import record
from liveshop.core.idempotency import run_once
from liveshop.inventory import service as inventory
from liveshop.live import model
from liveshop.live.events import SaleSoldOut, StockChanged
from liveshop.live.orm import FlashSale, FlashSaleClaim, SalePurchase
from liveshop.live.sold_out import SoldOutGate

# A tap's give-back of its units is stored under its Idempotency-Key in a scope of its own
# (liveshop/core/idempotency.py).
RELEASE_STEP = "release"


@dataclass(frozen=True)
class SaleStock:
    sale_id: int
    remaining: int
    version: int


def running_sale(sale_id: int) -> tuple[ColumnElement[bool], ...]:
    return FlashSale.id == sale_id, FlashSale.status == "active", FlashSale.ends_at > utcnow()


def units_left(session: Session, sale_id: int, *, lock: bool) -> SaleStock | None:
    """The running sale's units left (None once it has ended); ``lock`` holds its row until
    the transaction ends (SQLite's write transactions hold the whole database anyway)."""
    reading = select(FlashSale.remaining, FlashSale.version).where(*running_sale(sale_id))
    row = session.execute(reading.with_for_update() if lock else reading).first()
    return None if row is None else SaleStock(sale_id, row.remaining, row.version)


def close_gate(session: Session, gate: SoldOutGate, show_id: int, variant_id: int,
               sale_id: int, version: int) -> frozenset[int]:
    """The sale was read sold out at ``version``: refuse taps from memory, except those of
    buyers holding units of it (theirs may be retries, which replay); those buyers."""
    claimants = frozenset(session.scalars(select(FlashSaleClaim.buyer_id)
                                          .where(FlashSaleClaim.sale_id == sale_id)))
    gate.close(show_id, variant_id, sale_id, claimants, version)
    return claimants


def record_units_left(session: Session, show_id: int, stock: SaleStock) -> None:
    """In the transaction that took or gave back units: the room is told the units left,
    and that the sale sold out when none are."""
    record(session, StockChanged(show_id, sale={
        "id": stock.sale_id, "remaining": stock.remaining, "v": stock.version}))
    if stock.remaining == 0:
        record(session, SaleSoldOut(show_id, stock.sale_id))


def tell_gate(db: Database, gate: SoldOutGate, show_id: int, variant_id: int,
              stock: SaleStock) -> None:
    """After the commit that left the sale ``stock``: sold out closes this process's gate,
    units left reopen it. Called directly, not as a handler of the events above: the gate
    is this process's own memory, and the claimer must have closed it before it answers
    the taps. The versions let the gate drop what arrives out of order."""
    if stock.remaining == 0:
        with db.read() as session:
            close_gate(session, gate, show_id, variant_id, stock.sale_id, stock.version)
    else:
        gate.reopen(show_id, variant_id, stock.sale_id, stock.version)


def give_back_units(db: Database, settings: Settings, purchase: SalePurchase,
                    buyer: Actor) -> SaleStock:
    """A failed purchase's units, back to its sale while it runs (they never left its
    hold), else from its hold to ordinary stock. Stored as a step of its own under the
    tap's key: a purchase that fails twice gives its units back once."""
    sale_id, quantity = purchase.sale_id, purchase.quantity

    def give_back(session: Session) -> tuple[int, Any]:
        stock = _give_back(session, purchase.show_id, sale_id, buyer.user_id, quantity)
        return 200, {"released": quantity, "remaining": stock.remaining, "v": stock.version}

    released = run_once(db, user_id=buyer.user_id, key=purchase.idempotency_key,
                        scope=RELEASE_STEP, operation=give_back,
                        abandoned_seconds=settings.idempotency_abandoned_seconds,
                        request_fingerprint=model.tap_fingerprint(
                            purchase.show_id, purchase.variant_id, quantity,
                            purchase.market)).body
    return SaleStock(sale_id, int(released["remaining"]), int(released["v"]))


def _give_back(session: Session, show_id: int, sale_id: int, buyer_id: int, quantity: int
               ) -> SaleStock:
    """One conditional UPDATE decides where the units go, so a sale ending meanwhile
    (liveshop/live/sales.py) counts them exactly once. Units back on sale are recorded for
    the room; those of a sale over go back to ordinary stock (its room saw it end)."""
    session.execute(update(FlashSaleClaim)
                    .where(FlashSaleClaim.sale_id == sale_id,
                           FlashSaleClaim.buyer_id == buyer_id)
                    .values(quantity=FlashSaleClaim.quantity - quantity))
    # A sale started before sales held stock takes them back whatever its state, as then.
    back = session.execute(update(FlashSale)
                           .where(FlashSale.id == sale_id,
                                  or_(and_(*running_sale(sale_id)), FlashSale.hold_id.is_(None)))
                           .values(remaining=FlashSale.remaining + quantity,
                                   version=FlashSale.version + 1)
                           .returning(FlashSale.remaining, FlashSale.version)).first()
    if back is not None:
        stock = SaleStock(sale_id, back.remaining, back.version)
        record_units_left(session, show_id, stock)
        return stock
    over = session.execute(select(FlashSale.hold_id, FlashSale.remaining, FlashSale.version)
                           .where(FlashSale.id == sale_id)).one()
    inventory.unhold(session, over.hold_id, quantity, note=f"flash sale {sale_id} over")
    return SaleStock(sale_id, over.remaining, over.version)
