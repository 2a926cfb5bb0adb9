"""Paying for flash-sale purchases after their taps were answered.

A winning tap stores its claimed units as a pending ``SalePurchase`` and returns 202
(liveshop/live/sales.py). Here every app process works through the pending purchases one at
a time: it takes a row with a lease, runs the buyer's one-tap checkout and payment under the
tap's Idempotency-Key, then marks the row paid, or failed with the units given back. A
process that dies mid-payment leaves its row leased; once the lease runs out another
process runs it again, and the stored steps replay instead of charging twice. A failure
that passes by itself (the database away) is retried for as long as it lasts; any other is
retried a few times, then the purchase is given up: failed, its units back on sale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from liveshop.accounts.model import Actor
from liveshop.accounts.orm import User
from liveshop.accounts.service import actor_of
from liveshop.checkout import service as checkout
from liveshop.core.config import Settings
from liveshop.core.db import Database, rows_affected, utcnow
from liveshop.core.errors import Conflict, DomainError
from liveshop.core.idempotency import error_body
from liveshop.live import sales
from liveshop.live.hub import RoomEvents
from liveshop.live.orm import FlashSale, SalePurchase
from liveshop.markets.model import MARKETS
from liveshop.payments.provider import PaymentProvider

log = logging.getLogger("liveshop.settlement")

# Pending purchases left by another process (or a failed attempt) are looked for this often.
SWEEP_SECONDS = 1.0
# Another process's attempt that has not finished: its run of the same key is waited for,
# not failed (liveshop/core/idempotency.py).
_IN_PROGRESS = "idempotency_key_in_use"
# A purchase whose settlement fails for a reason that will not pass by itself (a bug, data
# the database refuses) is tried this many times in all, this long apart, then given up.
MAX_ATTEMPTS = 3
RETRY_SECONDS = 2.0


def _passes(error: Exception) -> bool:
    """Whether the failure goes away by itself: the database (or a connection) down or
    busy, or another process still running the purchase's payment."""
    if isinstance(error, DomainError):
        return error.code == _IN_PROGRESS
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError | InterfaceError | DisconnectionError
                      | PoolTimeout | ConnectionError | TimeoutError)


def _could_not_complete() -> Conflict:
    """What the buyer of a purchase given up is told."""
    return Conflict("We could not complete this purchase: the item went back on sale and you "
                    "were not charged.", code="purchase_failed")


def _take_next(db: Database, lease_seconds: float
               ) -> tuple[SalePurchase, Actor, int | None] | None:
    """Lease the oldest pending purchase nobody holds, with its buyer and the stock hold of
    its sale; None when there is none."""
    while True:
        with db.transaction() as session:
            now = utcnow()
            free = or_(SalePurchase.lease_until.is_(None), SalePurchase.lease_until < now)
            purchase_id = session.scalar(
                select(SalePurchase.id).where(SalePurchase.status == "pending", free)
                .order_by(SalePurchase.id).limit(1))
            if purchase_id is None:
                return None
            taken = rows_affected(session.execute(
                update(SalePurchase)
                .where(SalePurchase.id == purchase_id, SalePurchase.status == "pending", free)
                .values(lease_until=now + timedelta(seconds=lease_seconds),
                        attempts=SalePurchase.attempts + 1)))
            if taken != 1:
                continue  # another process took it first
            purchase = session.get_one(SalePurchase, purchase_id)
            buyer = actor_of(session.get_one(User, purchase.buyer_id))
            hold_id = session.scalar(select(FlashSale.hold_id)
                                     .where(FlashSale.id == purchase.sale_id))
            session.expunge(purchase)
            return purchase, buyer, hold_id


def _finish(db: Database, purchase_id: int, **values: Any) -> None:
    with db.transaction() as session:
        session.execute(update(SalePurchase)
                        .where(SalePurchase.id == purchase_id, SalePurchase.status == "pending")
                        .values(settled_at=utcnow(), lease_until=None, **values))


def _retry_soon(db: Database, purchase_id: int) -> None:
    with db.transaction() as session:
        session.execute(update(SalePurchase)
                        .where(SalePurchase.id == purchase_id, SalePurchase.status == "pending")
                        .values(lease_until=utcnow() + timedelta(seconds=RETRY_SECONDS)))


def _is_pending(db: Database, purchase_id: int) -> bool:
    with db.read() as session:
        return session.scalar(select(SalePurchase.status)
                              .where(SalePurchase.id == purchase_id)) == "pending"


def _fail(db: Database, events: RoomEvents, gate: sales.SoldOutGate, purchase: SalePurchase,
          buyer: Actor, error: DomainError) -> None:
    """The purchase failed: its units go back to the sale (once, however often this runs)
    and the buyer sees ``error``."""
    show_id, variant_id, quantity = purchase.show_id, purchase.variant_id, purchase.quantity
    stock = sales.release_claim(db, buyer, purchase.idempotency_key, sales.tap_fingerprint(
        show_id, variant_id, quantity, purchase.market), purchase.sale_id, quantity)
    _finish(db, purchase.id, status="failed", error=error_body(error)["error"],
            error_status=error.status)
    sales.announce_sale(db, events, gate, show_id, variant_id, stock)


def settle(db: Database, payments: PaymentProvider, settings: Settings, events: RoomEvents,
           gate: sales.SoldOutGate, purchase: SalePurchase, buyer: Actor,
           hold_id: int | None) -> None:
    """Pay for the purchase with the units its sale holds (``hold_id``; None for a sale
    started before sales held stock), or give them back to the sale."""
    key, sale_id = purchase.idempotency_key, purchase.sale_id
    show_id, variant_id, quantity = purchase.show_id, purchase.variant_id, purchase.quantity
    try:
        paid = checkout.buy_now(db, payments, settings, buyer, variant_id, quantity,
                                MARKETS[purchase.market], key,
                                unit_price_override=purchase.unit_price, show_id=show_id,
                                creator_id=purchase.creator_id, hold_id=hold_id)
    except DomainError as error:
        if error.code == _IN_PROGRESS:
            raise  # left leased: tried again once the lease runs out
        _fail(db, events, gate, purchase, buyer, error)
        return
    _finish(db, purchase.id, status="paid", checkout_id=paid.id)
    sales.announce_paid(db, events, show_id, variant_id, sale_id, paid, buyer)


def settle_next(db: Database, payments: PaymentProvider, settings: Settings,
                events: RoomEvents, gate: sales.SoldOutGate) -> bool:
    """Settle the oldest pending purchase nobody holds; False when there is none."""
    due = _take_next(db, settings.sale_settlement_lease_seconds)
    if due is None:
        return False
    purchase, buyer, hold_id = due
    try:
        settle(db, payments, settings, events, gate, purchase, buyer, hold_id)
    except Exception as error:
        # One bad purchase must not stop the others.
        try:
            _after_failure(db, events, gate, purchase, buyer, error)
        except Exception:
            log.exception("flash-sale purchase %s: handling its failure failed; will retry",
                          purchase.id)
    return True


def _after_failure(db: Database, events: RoomEvents, gate: sales.SoldOutGate,
                   purchase: SalePurchase, buyer: Actor, error: Exception) -> None:
    if _passes(error):
        # The row keeps its lease and is tried again when it ends.
        log.exception("settling flash-sale purchase %s failed; will retry", purchase.id,
                      exc_info=error)
    elif purchase.attempts < MAX_ATTEMPTS:
        log.warning("settling flash-sale purchase %s failed (attempt %d of %d): %r; will retry",
                    purchase.id, purchase.attempts, MAX_ATTEMPTS, error)
        _retry_soon(db, purchase.id)
    else:
        _give_up(db, events, gate, purchase, buyer, error)


def _give_up(db: Database, events: RoomEvents, gate: sales.SoldOutGate,
             purchase: SalePurchase, buyer: Actor, error: Exception) -> None:
    """Stop retrying a purchase that keeps failing: its units go back on sale and the buyer
    is told (GET /purchases/{id}, a retried tap). Unless it failed after its payment went
    through: then it is paid, and its units stay sold."""
    if not _is_pending(db, purchase.id):
        return  # failed after it was settled (e.g. telling the room): nothing to undo
    opened = checkout.one_tap_checkout(db, buyer, purchase.idempotency_key)
    if opened is not None and opened.status == "paid":
        _finish(db, purchase.id, status="paid", checkout_id=opened.id)
        log.error("flash-sale purchase %s failed after it was paid; marked paid",
                  purchase.id, exc_info=error)
        return
    if opened is not None:  # its stock goes back now rather than when the hold expires
        checkout.cancel_checkout(db, buyer, opened.id, note="purchase could not be completed")
    _fail(db, events, gate, purchase, buyer, _could_not_complete())
    log.error("gave up flash-sale purchase %s after %d attempts; its units went back on sale",
              purchase.id, purchase.attempts, exc_info=error)


class Settlements:
    """This process's settling loop: woken by each winning tap, and sweeping every second
    for purchases whose lease ran out elsewhere.

    Taps come first. While a sale's taps pour in, every viewer waits for an answer and each
    payment (tens of SQL statements) would take CPU from them; the winners already hold
    their units. So payments wait until the taps pause, for at most ``MAX_DELAY_SECONDS``.
    """

    QUIET_SECONDS = 0.1
    MAX_DELAY_SECONDS = 3.0

    def __init__(self) -> None:
        self._wake = asyncio.Event()
        self._last_tap = 0.0

    def wake(self) -> None:
        """From the event loop's thread only."""
        self._wake.set()

    def noticed_tap(self) -> None:
        """A buy tap arrived (event loop's thread)."""
        self._last_tap = asyncio.get_running_loop().time()

    async def _taps_pause(self, until: float) -> None:
        loop = asyncio.get_running_loop()
        while loop.time() < until and loop.time() - self._last_tap < self.QUIET_SECONDS:
            await asyncio.sleep(self.QUIET_SECONDS / 2)

    async def run(self, db: Database, payments: PaymentProvider, settings: Settings,
                  events: RoomEvents, gate: sales.SoldOutGate) -> None:
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), SWEEP_SECONDS)
            self._wake.clear()
            latest = loop.time() + self.MAX_DELAY_SECONDS
            while True:
                await self._taps_pause(latest)
                try:
                    if not await asyncio.to_thread(settle_next, db, payments, settings,
                                                   events, gate):
                        break
                except Exception:
                    log.exception("looking for flash-sale purchases to settle failed")
                    break
