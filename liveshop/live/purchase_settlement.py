"""The queue of flash-sale purchases waiting to be paid for, and where a purchase stands.

A claimed tap stores a pending ``SalePurchase`` and is answered 202 (liveshop/live/claims.py).
These rows are a durable queue: every app process works through them one at a time, taking
a row with a lease and settling it (liveshop/live/purchases.py, ``LivePurchases.settle``). A
process that dies mid-payment leaves its row leased; once the lease runs out another process
runs it again, and the purchase's stored steps replay instead of charging twice. A failure
that passes by itself (the database away) is retried for as long as it lasts; any other is
retried a few times, then the purchase is given up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from liveshop.accounts.model import Actor
from liveshop.accounts.orm import User
from liveshop.accounts.service import actor_of
from liveshop.checkout.schemas import CheckoutView
from liveshop.checkout.service import get_checkout
from liveshop.core.db import Database, rows_affected, utcnow
from liveshop.core.errors import Conflict, DomainError, NotFound
from liveshop.core.idempotency import ReplayedError, error_body
from liveshop.live.orm import FlashSale, SalePurchase
from liveshop.live.schemas import BuyView, PurchaseProblem

log = logging.getLogger("liveshop.settlement")

# Pending purchases left by another process (or a failed attempt) are looked for this often.
SWEEP_SECONDS = 1.0
# Another process's attempt that has not finished: its run of the same key is waited for,
# not failed (liveshop/core/idempotency.py).
IN_PROGRESS = "idempotency_key_in_use"
# A purchase whose settlement fails for a reason that will not pass by itself (a bug, data
# the database refuses) is tried this many times in all, this long apart, then given up.
MAX_ATTEMPTS = 3
RETRY_SECONDS = 2.0


@dataclass(frozen=True)
class DuePurchase:
    """A pending purchase leased for settling, with its buyer and the stock hold of its
    sale (None for a sale started before sales held stock)."""

    purchase: SalePurchase  # detached: read, never written through
    buyer: Actor
    hold_id: int | None


def lease_next(db: Database, lease_seconds: float) -> DuePurchase | None:
    """Lease the oldest pending purchase nobody holds; None when there is none."""
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
            return DuePurchase(purchase, buyer, hold_id)


def mark_paid(db: Database, purchase_id: int, checkout_id: int) -> None:
    _finish(db, purchase_id, status="paid", checkout_id=checkout_id)


def mark_failed(db: Database, purchase_id: int, error: DomainError) -> None:
    """The buyer sees ``error`` (GET /purchases/{id}, a retried tap)."""
    _finish(db, purchase_id, status="failed", error=error_body(error)["error"],
            error_status=error.status)


def _finish(db: Database, purchase_id: int, **values: Any) -> None:
    with db.transaction() as session:
        session.execute(update(SalePurchase)
                        .where(SalePurchase.id == purchase_id, SalePurchase.status == "pending")
                        .values(settled_at=utcnow(), lease_until=None, **values))


def is_pending(db: Database, purchase_id: int) -> bool:
    with db.read() as session:
        return session.scalar(select(SalePurchase.status)
                              .where(SalePurchase.id == purchase_id)) == "pending"


def could_not_complete() -> Conflict:
    """What the buyer of a purchase given up is told."""
    return Conflict("We could not complete this purchase: the item went back on sale and you "
                    "were not charged.", code="purchase_failed")


def _passes(error: Exception) -> bool:
    """Whether the failure goes away by itself: the database (or a connection) down or
    busy, or another process still running the purchase's payment."""
    if isinstance(error, DomainError):
        return error.code == IN_PROGRESS
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError | InterfaceError | DisconnectionError
                      | PoolTimeout | ConnectionError | TimeoutError)


def after_failure(db: Database, due: DuePurchase, error: Exception,
                  give_up: Callable[[DuePurchase, Exception], None]) -> None:
    """Settling ``due`` raised ``error``: try again when the lease ends (a failure that
    passes by itself), a little later (the first attempts), or ``give_up``."""
    purchase = due.purchase
    if _passes(error):
        log.exception("settling flash-sale purchase %s failed; will retry", purchase.id,
                      exc_info=error)
    elif purchase.attempts < MAX_ATTEMPTS:
        log.warning("settling flash-sale purchase %s failed (attempt %d of %d): %r; will retry",
                    purchase.id, purchase.attempts, MAX_ATTEMPTS, error)
        with db.transaction() as session:
            session.execute(update(SalePurchase)
                            .where(SalePurchase.id == purchase.id,
                                   SalePurchase.status == "pending")
                            .values(lease_until=utcnow() + timedelta(seconds=RETRY_SECONDS)))
    else:
        give_up(due, error)


class SettlementQueue:
    """This process's settling loop (on its event loop): woken by each claimed tap, and
    sweeping every second for purchases whose lease ran out elsewhere.

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

    async def run(self, settle_next: Callable[[], bool]) -> None:
        """Call ``settle_next`` (in a worker thread) until it finds nothing to settle, each
        time the queue is woken or swept."""
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), SWEEP_SECONDS)
            self._wake.clear()
            latest = loop.time() + self.MAX_DELAY_SECONDS
            while True:
                await self._taps_pause(latest)
                try:
                    if not await asyncio.to_thread(settle_next):
                        break
                except Exception:
                    log.exception("looking for flash-sale purchases to settle failed")
                    break


def pending_view(purchase_id: int, sale_id: int | None) -> BuyView:
    return BuyView(status="pending", purchase_id=purchase_id, checkout_id=None,
                   order_numbers=[], total=None, currency=None, flash_sale_id=sale_id)


def paid_view(paid: CheckoutView, purchase_id: int | None, sale_id: int | None) -> BuyView:
    return BuyView(status="paid", purchase_id=purchase_id, checkout_id=paid.id,
                   order_numbers=[order.number for order in paid.orders], total=paid.total,
                   currency=paid.currency, flash_sale_id=sale_id)


def purchase_view(db: Database, actor: Actor, purchase_id: int, *,
                  raise_failure: bool = False) -> BuyView:
    """Where a flash-sale purchase stands. ``raise_failure``: a failed one raises the error
    the buyer would have had from a purchase paid at once (a retried tap replays it)."""
    with db.read() as session:
        purchase = session.get(SalePurchase, purchase_id)
        if purchase is None or purchase.buyer_id != actor.user_id:
            raise NotFound("No such purchase", field="purchase_id")
        status, checkout_id, error = purchase.status, purchase.checkout_id, purchase.error
        error_status, sale_id = purchase.error_status, purchase.sale_id
    if status == "paid" and checkout_id is not None:
        return paid_view(get_checkout(db, actor, checkout_id), purchase_id, sale_id)
    if status == "failed" and error is not None:
        if raise_failure:
            raise ReplayedError(error_status or 409, {"error": error})
        return BuyView(status="failed", purchase_id=purchase_id, checkout_id=None,
                       order_numbers=[], total=None, currency=None, flash_sale_id=sale_id,
                       error=PurchaseProblem(**error))
    return pending_view(purchase_id, sale_id)
