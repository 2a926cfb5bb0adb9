"""Buying in a live room: a viewer's tap on Buy, from the tap to the payment.

:meth:`LivePurchases.buy` is the rule, top to bottom: a sale known sold out refuses the tap
from memory; the tap claims units within the buyer's limit and records a pending purchase
(one transaction, shared with the taps that arrive with it); the tap is answered; then the
purchase is settled by :meth:`LivePurchases.settle`, run by the settlement queue: checked
out and charged at the sale's price and marked paid, or its units given back. With no sale
running, the tap is checked out and paid at the regular price before the answer.

Batching the taps (liveshop/live/tap_batches.py), refusing late taps ahead of FastAPI
(liveshop/live/sold_out.py) and the settlement queue (liveshop/live/purchase_settlement.py)
are mechanisms behind these two methods. Every step is stored under the client's
Idempotency-Key, so a retried tap replays instead of claiming or paying twice.
"""

from __future__ import annotations

import asyncio
import functools
import logging

from starlette.concurrency import run_in_threadpool

from liveshop.accounts.model import Actor
from liveshop.checkout import one_tap
from liveshop.checkout import service as checkout
from liveshop.checkout.model import validate_quantity
from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.core.errors import DomainError
from liveshop.core.idempotency import validate_key
from liveshop.core.ratelimit import RateLimiter
from liveshop.live import claims, purchase_settlement, sale_units
from liveshop.live.claims import Tap
from liveshop.live.model import PurchaseTerms, sold_out
from liveshop.live.purchase_settlement import DuePurchase, SettlementQueue
from liveshop.live.schemas import BuyView
from liveshop.live.sold_out import SoldOutGate
from liveshop.live.tap_batches import TapBatches
from liveshop.markets.model import MARKETS, Market
from liveshop.payments.provider import PaymentProvider

log = logging.getLogger("liveshop.live")

# Purchases paid at once (regular prices) run a few at a time per process: buyers of one
# item queue for its stock row, locked from an UPDATE to the commit, and with many threads
# competing for the GIL each holder is slow to reach its commit and the queue crawls.
PAID_AT_ONCE = 4


class LivePurchases:
    """The live rooms' purchases, for one event loop (it owns that loop's batches of taps
    and settlement queue); the sold-out ``gate`` is the process's."""

    def __init__(self, db: Database, settings: Settings, payments: PaymentProvider,
                 limiter: RateLimiter, gate: SoldOutGate) -> None:
        self._db, self._settings, self._payments = db, settings, payments
        self._limiter, self.gate = limiter, gate
        self._taps = TapBatches(functools.partial(claims.claim_units, db, gate), gate)
        self._settlement = SettlementQueue()
        self._paying_now = asyncio.Semaphore(PAID_AT_ONCE)

    async def buy(self, actor: Actor, show_id: int, variant_id: int, quantity: int,
                  market: Market, idempotency_key: str | None) -> BuyView:
        """One tap: the flash-sale price while a sale runs (answered ``pending`` once the
        units are claimed), else the regular price (answered ``paid``)."""
        # 1. A sale known sold out: refused on the event loop, no database, no rate limit.
        if self.refuses_from_memory(show_id, variant_id, actor.user_id):
            raise sold_out()
        validate_quantity(quantity, self._settings.max_units_per_variant)
        await one_tap.count_one_tap_buy(self._limiter, actor)
        tap = Tap(actor, show_id, variant_id, quantity, market, validate_key(idempotency_key))
        # 2. Units claimed within the buyer's limit, 3. the pending purchase recorded.
        claimed = await self._taps.claim(tap)
        if isinstance(claimed, PurchaseTerms):  # no sale: checked out and paid now
            async with self._paying_now:
                return await run_in_threadpool(self._pay_now, tap, claimed)
        # 4. Answered; 5. settled by the settlement queue, after the taps pause.
        if claimed.status == "pending":
            self._settlement.wake()
        return claimed

    def refuses_from_memory(self, show_id: int, variant_id: int, buyer_id: int) -> bool:
        """Step 1 of :meth:`buy`, also taken by the sold-out lane ahead of FastAPI: the tap
        is noticed (settling waits for taps to pause), and refused if the gate knows its
        sale sold out."""
        self._settlement.noticed_tap()
        return self.gate.refuses(show_id, variant_id, buyer_id)

    def purchase(self, actor: Actor, purchase_id: int) -> BuyView:
        """Where the buyer's flash-sale purchase stands: pending, paid, or failed."""
        return purchase_settlement.purchase_view(self._db, actor, purchase_id)

    def settle(self, due: DuePurchase) -> None:
        """5. Pay for a claimed purchase with the units its sale holds: checkout and charge
        under the tap's key (the room's control panel is told of the order paid), then
        paid; or, if that fails, its units go back to the sale."""
        purchase, buyer = due.purchase, due.buyer
        try:
            paid = one_tap.buy_now(
                self._db, self._payments, self._settings, buyer, purchase.variant_id,
                purchase.quantity, MARKETS[purchase.market], purchase.idempotency_key,
                unit_price_override=purchase.unit_price, show_id=purchase.show_id,
                creator_id=purchase.creator_id, hold_id=due.hold_id,
                flash_sale_id=purchase.sale_id)
        except DomainError as error:
            if error.code == purchase_settlement.IN_PROGRESS:
                raise  # left leased: tried again once the lease runs out
            self._give_back(due, error)
            return
        purchase_settlement.mark_paid(self._db, purchase.id, paid.id)

    def settle_next(self) -> bool:
        """Settle the oldest pending purchase nobody holds; False when there is none."""
        due = purchase_settlement.lease_next(self._db,
                                             self._settings.sale_settlement_lease_seconds)
        if due is None:
            return False
        try:
            self.settle(due)
        except Exception as error:
            # One bad purchase must not stop the others.
            try:
                purchase_settlement.after_failure(self._db, due, error, self._give_up)
            except Exception:
                log.exception("flash-sale purchase %s: handling its failure failed; will "
                              "retry", due.purchase.id)
        return True

    async def settle_forever(self) -> None:
        """The settlement queue of this event loop (a task of the app)."""
        await self._settlement.run(self.settle_next)

    async def aclose(self) -> None:
        await self._taps.aclose()

    def _pay_now(self, tap: Tap, terms: PurchaseTerms) -> BuyView:
        """A tap at a regular price, checked out and paid before the answer."""
        paid = one_tap.buy_now(self._db, self._payments, self._settings, tap.actor,
                               tap.variant_id, tap.quantity, tap.market, tap.idempotency_key,
                               show_id=tap.show_id, creator_id=terms.creator_id)
        return purchase_settlement.paid_view(paid, None, None)

    def _give_back(self, due: DuePurchase, error: DomainError) -> None:
        """The purchase failed: its units go back to the sale (once, however often this
        runs) and the buyer sees ``error``."""
        purchase = due.purchase
        stock = sale_units.give_back_units(self._db, self._settings, purchase, due.buyer)
        purchase_settlement.mark_failed(self._db, purchase.id, error)
        sale_units.tell_gate(self._db, self.gate, purchase.show_id, purchase.variant_id, stock)

    def _give_up(self, due: DuePurchase, error: Exception) -> None:
        """Stop retrying a purchase that keeps failing: its units go back on sale and the
        buyer is told. Unless it failed after its payment went through: then it is paid,
        and its units stay sold."""
        purchase = due.purchase
        if not purchase_settlement.is_pending(self._db, purchase.id):
            return  # settled meanwhile (e.g. by another process): nothing to undo
        opened = one_tap.one_tap_checkout(self._db, due.buyer, purchase.idempotency_key)
        if opened is not None and opened.status == "paid":
            purchase_settlement.mark_paid(self._db, purchase.id, opened.id)
            log.error("flash-sale purchase %s failed after it was paid; marked paid",
                      purchase.id, exc_info=error)
            return
        if opened is not None:  # its stock goes back now rather than when the hold expires
            checkout.cancel_checkout(self._db, due.buyer, opened.id,
                                     note="purchase could not be completed")
        self._give_back(due, purchase_settlement.could_not_complete())
        log.error("gave up flash-sale purchase %s after %d attempts; its units went back on "
                  "sale", purchase.id, purchase.attempts, exc_info=error)
