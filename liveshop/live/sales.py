"""Buying in a live room: one tap, at the flash-sale price while a sale runs.

The buyer's running total is capped by one conditional UPDATE (per-buyer limit) and a sale
unit is taken by another (never oversold); that claim is stored with a pending
purchase, and the tap is answered. The sale's units were set aside from ordinary stock
when it started (a stock hold), so the ordinary one-tap checkout that follows reserves the
claimed units out of that hold and charges (liveshop/live/settlement.py); if that fails
(e.g. a declined card) the claim is given back, to the sale or, once it has ended, to
ordinary stock. Every step is stored under the client's Idempotency-Key, so a retried tap
replays instead of claiming twice. Once a sale is seen sold out, this process answers
further attempts from memory, without touching the database.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.catalog.orm import Shop, ShopMarket, Variant
from liveshop.checkout import model as checkout_model
from liveshop.checkout import service as checkout
from liveshop.checkout.schemas import CheckoutView
from liveshop.core.config import Settings
from liveshop.core.db import Database, upsert_into, utcnow
from liveshop.core.errors import Conflict, DomainError, InvalidInput, NotFound
from liveshop.core.idempotency import (
    ReplayedError,
    done_record,
    fingerprint,
    run_once,
    store_results,
    validate_key,
)
from liveshop.inventory import service as inventory
from liveshop.live.broker import Broker
from liveshop.live.hub import RoomEvents, channel_of
from liveshop.live.model import ShowStatus
from liveshop.live.orm import (
    FlashSale,
    FlashSaleClaim,
    SalePurchase,
    ShopCreator,
    Show,
    ShowProduct,
)
from liveshop.live.schemas import BuyView, PurchaseProblem
from liveshop.live.service import market_codes
from liveshop.markets.model import Market
from liveshop.payments.provider import PaymentProvider

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


class SoldOutGate:
    """Flash sales this process saw sold out, by show and variant, so that a new tap on one
    is refused before any database read.

    An entry is trusted for a short while only: another process may start a new sale on the
    variant or give units back (a declined card). When it expires, one tap goes to the
    database and either closes the gate again or finds the sale open. With a broker to
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

    def known_sold_out(self, show_id: int, variant_id: int, buyer_id: int) -> bool:
        """Whether :meth:`refuses` would refuse this tap, without choosing it to check."""
        with self._lock:
            entry = self._sold_out.get((show_id, variant_id))
            return (entry is not None and buyer_id not in entry.claimants
                    and time.monotonic() < entry.trusted_until)

    def closes_any(self, show_id: int) -> bool:
        """Whether a sale of the show is known sold out (a cheap look before the rest)."""
        with self._lock:
            return any(show == show_id for show, _ in self._sold_out)

    def refuses(self, show_id: int, variant_id: int, buyer_id: int) -> bool:
        with self._lock:
            entry = self._sold_out.get((show_id, variant_id))
            if entry is None or buyer_id in entry.claimants:
                return False
            now = time.monotonic()
            if now >= entry.trusted_until:
                entry.trusted_until = now + self.TRUSTED_SECONDS  # this tap checks; not others
                return False
            return True

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


# Steps stored under a tap's Idempotency-Key, each in a scope of its own
# (liveshop/core/idempotency.py): the tap's decision and the give-back of its units (its
# checkout and payment take the one-tap purchase's, liveshop/checkout/service.py).
OFFER_STEP = "offer"
RELEASE_STEP = "release"


class SoldOut(Conflict):
    code = "sold_out"


def sold_out() -> SoldOut:
    return SoldOut("Sold out", field="variant_id")


@dataclass(frozen=True)
class Offer:
    """What a tap buys at, decided once per Idempotency-Key and stored with it, so a retry
    after a crash replays the same decision even if the sale has ended meanwhile."""

    # The creator hosting the show earns from its orders; None when the shop hosts itself.
    creator_id: int | None
    sale_id: int | None
    sale_price: int | None


def _active_sale_of(show_id: int | BindParameter[int], variant_id: int | BindParameter[int],
                    now: datetime | BindParameter[datetime] | None = None
                    ) -> tuple[ColumnElement[bool], ...]:
    # An ended show's replay still sells, at regular prices: ending a show ends its sales.
    return (FlashSale.show_id == show_id, FlashSale.variant_id == variant_id,
            FlashSale.status == "active", FlashSale.ends_at > (utcnow() if now is None else now))


def _active_sale(session: Session, show_id: int, variant_id: int) -> FlashSale | None:
    return session.scalars(select(FlashSale).where(*_active_sale_of(show_id, variant_id))
                           .order_by(FlashSale.id.desc())).first()


@dataclass(frozen=True)
class _Room:
    """A show as a tap sees it, with the sale running on the variant, if any."""

    status: str
    markets: str
    creator_id: int | None
    sale_id: int | None
    per_buyer_limit: int
    prices: dict[str, int]
    remaining: int  # units of the sale left when read
    version: int  # the sale's, when read
    sells_variant: bool  # the variant's product is in the lineup, or it is the sale's
    ships_to: frozenset[str]  # of the markets asked about, those the shop ships to

    def offer(self, market: Market) -> Offer:
        if self.status == ShowStatus.SCHEDULED:
            raise Conflict("Buying opens when the show goes live", field="show_id")
        if not self.sells_variant:
            raise InvalidInput("This show does not sell that product", field="variant_id")
        if market.code not in market_codes(self.markets):
            raise Conflict(f"This show does not sell in {market.code}", field="market")
        if market.code not in self.ships_to:
            raise Conflict(f"The shop does not ship to {market.code}", field="market")
        if self.sale_id is None:
            return Offer(self.creator_id, None, None)
        return Offer(self.creator_id, self.sale_id, int(self.prices[market.code]))


@functools.cache
def _room_query(markets: int) -> Select[Any]:
    """The statement of :func:`_room` for taps in ``markets`` markets, built once and bound
    per tap: building it took more CPU than the database took to run it."""
    show_id: BindParameter[int] = bindparam("show_id")
    variant_id: BindParameter[int] = bindparam("variant_id")
    in_lineup = exists().where(Variant.id == variant_id, ShowProduct.show_id == Show.id,
                               ShowProduct.product_id == Variant.product_id)
    # The host earns from the show's orders only while the shop's creator grant lasts.
    granted = exists().where(ShopCreator.shop_id == Show.shop_id,
                             ShopCreator.creator_id == Show.host_id)
    ships = [exists().where(ShopMarket.shop_id == Show.shop_id,
                            ShopMarket.market == bindparam(f"market_{index}"))
             for index in range(markets)]
    return (select(Show.status, Show.markets, Show.host_id, Shop.owner_id, FlashSale.id,
                   FlashSale.per_buyer_limit, FlashSale.prices, FlashSale.remaining,
                   FlashSale.version, in_lineup, granted, *ships)
            .outerjoin(Shop, Shop.id == Show.shop_id)
            .outerjoin(FlashSale, and_(*_active_sale_of(show_id, variant_id, bindparam("now"))))
            .where(Show.id == show_id)
            .order_by(FlashSale.id.desc()).limit(1))


def _room(session: Session, show_id: int, variant_id: int, markets: Collection[str]) -> _Room:
    """The show, its shop and the sale in one query, with whether the show sells the
    variant and the shop ships to each of ``markets`` (the taps' markets): each statement
    is a round trip a crowd of buyers waits on."""
    codes = sorted(markets)
    row = session.execute(_room_query(len(codes)), {
        "show_id": show_id, "variant_id": variant_id, "now": utcnow(),
        **{f"market_{index}": code for index, code in enumerate(codes)}}).first()
    if row is None:
        raise NotFound("No such show", field="show_id")
    (status, markets_sold, host_id, owner_id, sale_id, per_buyer_limit, prices, remaining,
     version, listed, host_granted, *shipped) = row
    # The creator hosting the show earns from its orders; not the shop's own host.
    creator_id = host_id if host_granted and owner_id != host_id else None
    return _Room(status, markets_sold, creator_id, sale_id, per_buyer_limit or 0, prices or {},
                 remaining or 0, version or 0, sells_variant=bool(listed) or sale_id is not None,
                 ships_to=frozenset(code for code, ok in zip(codes, shipped, strict=True) if ok))


def _decide(session: Session, show_id: int, variant_id: int, quantity: int, market: Market,
            buyer_id: int) -> Offer:
    """Check the room sells this; while a sale runs, count the units against the buyer's
    limit (the units themselves are taken by :func:`_take_units`)."""
    room = _room(session, show_id, variant_id, {market.code})
    offer = room.offer(market)
    if offer.sale_id is not None:
        _count_for_buyer(session, offer.sale_id, buyer_id, quantity, room.per_buyer_limit)
    return offer


def _close_if_sold_out(db: Database, gate: SoldOutGate, show_id: int,
                       variant_id: int) -> None:
    """After a tap found no units left: close the gate if the sale is really sold out (a
    tap for two units can fail while one is left)."""
    with db.read() as session:
        sale = _active_sale(session, show_id, variant_id)
        if sale is not None and sale.remaining == 0:
            _close_gate(session, gate, show_id, variant_id, sale.id, sale.version)


def _close_gate(session: Session, gate: SoldOutGate, show_id: int, variant_id: int,
                sale_id: int, version: int) -> None:
    """The sale was read sold out at ``version``: refuse taps from memory, except those of
    buyers holding units of it (theirs may be retries, which replay)."""
    claimants = frozenset(session.scalars(select(FlashSaleClaim.buyer_id)
                                          .where(FlashSaleClaim.sale_id == sale_id)))
    gate.close(show_id, variant_id, sale_id, claimants, version)


def _count_for_buyer(session: Session, sale_id: int, buyer_id: int, quantity: int,
                     limit: int) -> None:
    if buyer_id not in _count_buyers(session, sale_id, {buyer_id: quantity}, limit):
        raise Conflict(f"The limit is {limit} per buyer for this sale",
                       field="quantity", code="limit_reached")


def _count_buyers(session: Session, sale_id: int, quantities: dict[int, int],
                  limit: int) -> set[int]:
    """Add each buyer's units to their count unless that passes the limit, in one
    statement; the buyers counted."""
    within = {buyer: quantity for buyer, quantity in quantities.items() if quantity <= limit}
    if not within:
        return set()
    counting = upsert_into(session, FlashSaleClaim)
    # Rows as parameters, not in the statement: its compiled form is cached whatever the
    # number of buyers (compiling it anew cost a third of a batch's CPU).
    return set(session.scalars(counting.on_conflict_do_update(
        index_elements=["sale_id", "buyer_id"],
        set_={"quantity": FlashSaleClaim.quantity + counting.excluded.quantity},
        where=FlashSaleClaim.quantity + counting.excluded.quantity <= limit,
    ).returning(FlashSaleClaim.buyer_id), [
        {"sale_id": sale_id, "buyer_id": buyer, "quantity": quantity}
        for buyer, quantity in within.items()]))


@dataclass(frozen=True)
class SaleStock:
    sale_id: int
    remaining: int
    version: int


def _take_units(session: Session, sale_id: int, quantity: int) -> SaleStock:
    """Take units from the sale: the last statement of its transaction, since the sale's
    row stays locked until the commit and every buyer in the room waits for it (a sold-out
    sale rolls the buyer's count back with the transaction)."""
    taken = session.execute(
        update(FlashSale)
        .where(FlashSale.id == sale_id, FlashSale.status == "active",
               FlashSale.remaining >= quantity, FlashSale.ends_at > utcnow())
        .values(remaining=FlashSale.remaining - quantity, version=FlashSale.version + 1)
        .returning(FlashSale.remaining, FlashSale.version)).first()
    if taken is None:
        raise sold_out()
    return SaleStock(sale_id, taken.remaining, taken.version)


def _give_back(session: Session, sale_id: int, buyer_id: int, quantity: int) -> SaleStock:
    """Units of a purchase that failed: back to the sale while it runs (they never left its
    hold), else from its hold to ordinary stock. One conditional UPDATE decides, so a sale
    ending meanwhile (liveshop/live/service.py) counts them exactly once."""
    session.execute(update(FlashSaleClaim)
                    .where(FlashSaleClaim.sale_id == sale_id,
                           FlashSaleClaim.buyer_id == buyer_id)
                    .values(quantity=FlashSaleClaim.quantity - quantity))
    # A sale started before sales held stock takes them back whatever its state, as then.
    back = session.execute(update(FlashSale)
                           .where(FlashSale.id == sale_id,
                                  or_(and_(*_running(sale_id)), FlashSale.hold_id.is_(None)))
                           .values(remaining=FlashSale.remaining + quantity,
                                   version=FlashSale.version + 1)
                           .returning(FlashSale.remaining, FlashSale.version)).first()
    if back is not None:
        return SaleStock(sale_id, back.remaining, back.version)
    over = session.execute(select(FlashSale.hold_id, FlashSale.remaining, FlashSale.version)
                           .where(FlashSale.id == sale_id)).one()
    inventory.unhold(session, over.hold_id, quantity, note=f"flash sale {sale_id} over")
    return SaleStock(sale_id, over.remaining, over.version)


def tap_fingerprint(show_id: int, variant_id: int, quantity: int, market_code: str) -> str:
    return fingerprint("live.buy", {"show": show_id, "variant": variant_id,
                                    "quantity": quantity, "market": market_code})


def buy(db: Database, payments: PaymentProvider, settings: Settings, events: RoomEvents,
        gate: SoldOutGate, actor: Actor, show_id: int, variant_id: int, quantity: int,
        market: Market, idempotency_key: str | None) -> BuyView:
    """One tap in the room: :func:`claim`, then :func:`pay_now` at a regular price."""
    checkout_model.validate_quantity(quantity, settings.max_units_per_variant)
    claimed = claim(db, events, gate, actor, show_id, variant_id, quantity, market,
                    idempotency_key)
    if isinstance(claimed, BuyView):
        return claimed
    return pay_now(db, payments, settings, events, actor, show_id, variant_id, quantity,
                   market, idempotency_key, claimed)


def claim(db: Database, events: RoomEvents, gate: SoldOutGate, actor: Actor, show_id: int,
          variant_id: int, quantity: int, market: Market,
          idempotency_key: str | None) -> BuyView | Offer:
    """What a tap buys at. In a flash sale the units are claimed and the purchase is
    ``pending`` (or replayed, for a retried tap): liveshop/live/settlement.py pays for it,
    since the checkout and payment of every winner would otherwise sit in front of the
    thousands of taps arriving with them. At a regular price, the Offer for :func:`pay_now`.
    Only the database is touched here, in a few statements."""
    key = validate_key(idempotency_key)
    # A tap on a sale this process saw sell out is refused without a database read, unless
    # the buyer holds units of it (then it may be a retry, which must replay what it got).
    if gate.refuses(show_id, variant_id, actor.user_id):
        raise sold_out()
    # Checked before claiming: a buyer who cannot pay in one tap must not hold units.
    checkout.one_tap_details(db, actor.user_id)
    request = tap_fingerprint(show_id, variant_id, quantity, market.code)

    claiming: list[int] = []  # the sale whose units this tap takes, once decided
    taken: list[SaleStock] = []

    def decide(session: Session) -> tuple[int, Any]:
        offer = _decide(session, show_id, variant_id, quantity, market, actor.user_id)
        if offer.sale_id is None or offer.sale_price is None:
            return 200, asdict(offer)
        claiming.append(offer.sale_id)
        purchase = SalePurchase(**_purchase_row(Tap(actor, show_id, variant_id, quantity,
                                                    market, key), offer))
        session.add(purchase)
        session.flush()
        return 202, _claimed_body(offer, purchase.id)

    def take_units(session: Session) -> None:
        if claiming:
            taken.append(_take_units(session, claiming[0], quantity))

    try:
        decided = run_once(db, user_id=actor.user_id, key=key, scope=OFFER_STEP,
                           request_fingerprint=request, operation=decide, last=take_units,
                           brief=True)
    except DomainError as error:
        if error.code == "sold_out":
            _close_if_sold_out(db, gate, show_id, variant_id)
        raise
    purchase_id = decided.body.pop("purchase_id", None)
    offer = Offer(**decided.body)
    if purchase_id is None:
        return offer
    if decided.replayed:
        return purchase_view(db, actor, purchase_id, raise_failure=True)
    announce_sale(db, events, gate, show_id, variant_id, taken[0])
    return _pending_view(purchase_id, offer.sale_id)


@dataclass(frozen=True)
class Tap:
    actor: Actor
    show_id: int
    variant_id: int
    quantity: int
    market: Market
    idempotency_key: str | None


def claim_batches(db: Database, events: RoomEvents, gate: SoldOutGate,
                  taps: Sequence[Tap]) -> dict[int, BuyView]:
    """Claims for the taps that arrived together and can be claimed together, by their
    index; the others are left for :func:`claim_tap`.

    Taps on one running sale are claimed in one transaction, with one UPDATE of the sale
    for all of them: claimed one after the other, each holds the sale's row locked for a
    round trip and a crowd's taps queue on it. What a batch cannot settle plainly (a
    retried key, a buyer tapping twice or short of a card or address, a limit reached, a
    sale with fewer units left than the batch wants, regular prices) is left out.
    """
    claimed: dict[int, BuyView] = {}
    for (show_id, variant_id), group in _batches(db, gate, taps).items():
        claimed.update(_claim_together(db, events, gate, show_id, variant_id, group))
    return claimed


def claim_tap(db: Database, events: RoomEvents, gate: SoldOutGate, tap: Tap) -> BuyView | Offer:
    return claim(db, events, gate, tap.actor, tap.show_id, tap.variant_id, tap.quantity,
                 tap.market, tap.idempotency_key)


_Batch = list[tuple[int, Tap]]


def _batches(db: Database, gate: SoldOutGate, taps: Sequence[Tap]) -> dict[tuple[int, int], _Batch]:
    """The taps that may be claimed together, by show and variant (their keys stripped)."""
    candidates: _Batch = []
    buyers: set[int] = set()
    for index, tap in enumerate(taps):
        try:
            key = validate_key(tap.idempotency_key)
        except DomainError:
            continue
        buyer = tap.actor.user_id
        if buyer not in buyers and not gate.known_sold_out(tap.show_id, tap.variant_id, buyer):
            buyers.add(buyer)
            candidates.append((index, replace(tap, idempotency_key=key)))
    if len(candidates) < 2:
        return {}
    ready = checkout.one_tap_ready(db, buyers)
    batches: dict[tuple[int, int], _Batch] = defaultdict(list)
    for index, tap in candidates:
        if tap.actor.user_id in ready:
            batches[(tap.show_id, tap.variant_id)].append((index, tap))
    return {where: batch for where, batch in batches.items() if len(batch) > 1}


class _Unbatched(Exception):
    """The batch is not claimed as one; its taps are claimed one by one."""


class _SoldOutAt(Exception):
    """The sale had no units left at ``version``: the batch's taps are refused from memory."""

    def __init__(self, sale_id: int, version: int) -> None:
        super().__init__(sale_id, version)
        self.sale_id, self.version = sale_id, version


class _FewerLeft(Exception):
    """Claims that committed after the batch read the sale left fewer units than it wants."""

    def __init__(self, sale_id: int) -> None:
        super().__init__(sale_id)
        self.sale_id = sale_id


def _claim_together(db: Database, events: RoomEvents, gate: SoldOutGate, show_id: int,
                    variant_id: int, batch: _Batch) -> dict[int, BuyView]:
    try:
        try:
            claimed, stock = _claim_batch(db, gate, show_id, variant_id, batch, locking=None)
        except _FewerLeft as fewer:
            # Fitted again to what is left, the sale's row locked first: no other claim
            # can take those units meanwhile, so this attempt is the last.
            claimed, stock = _claim_batch(db, gate, show_id, variant_id, batch,
                                          locking=fewer.sale_id)
    except _SoldOutAt as sold:
        # Read after the batch rolled back: its own buyers are no claimants.
        with db.read() as session:
            _close_gate(session, gate, show_id, variant_id, sold.sale_id, sold.version)
        return {}
    except (_FewerLeft, _Unbatched, DomainError, IntegrityError):
        return {}  # rolled back: the taps claim one by one, which says why
    announce_sale(db, events, gate, show_id, variant_id, stock)
    return claimed


def _claim_batch(db: Database, gate: SoldOutGate, show_id: int, variant_id: int,
                 batch: _Batch, *, locking: int | None) -> tuple[dict[int, BuyView], SaleStock]:
    """One transaction for the batch: as many of its first taps as the units left serve.
    ``locking``: a sale whose row is locked before anything is read."""
    with db.transaction() as session:
        if locking is not None:
            _units_left(session, locking, lock=True)
        room = _room(session, show_id, variant_id, {tap.market.code for _, tap in batch})
        offers = _offers(room, batch)
        # A tap the room refuses (e.g. a market the shop does not ship to) is left to be
        # claimed alone, which says why; it does not spoil the batch for the others.
        batch = [(index, tap) for index, tap in batch if index in offers]
        sale_id = room.sale_id
        if sale_id is None or not batch:
            raise _Unbatched  # regular prices (nothing to queue on), or every tap refused
        if room.remaining == 0:
            raise _SoldOutAt(sale_id, room.version)
        fitting = _fitting(batch, room.remaining)
        counted = _count_buyers(session, sale_id, {
            tap.actor.user_id: tap.quantity for _, tap in fitting}, room.per_buyer_limit)
        claiming = [(index, tap) for index, tap in fitting if tap.actor.user_id in counted]
        if not claiming:
            raise _Unbatched
        purchase_ids = session.scalars(
            insert(SalePurchase).returning(SalePurchase.id, sort_by_parameter_order=True),
            [_purchase_row(tap, offers[index]) for index, tap in claiming]).all()
        store_results(session, [
            done_record(tap.actor.user_id, str(tap.idempotency_key),
                        tap_fingerprint(show_id, variant_id, tap.quantity, tap.market.code),
                        202, _claimed_body(offers[index], purchase_id), scope=OFFER_STEP)
            for (index, tap), purchase_id in zip(claiming, purchase_ids, strict=True)])
        try:
            stock = _take_units(session, sale_id, sum(tap.quantity for _, tap in claiming))
        except SoldOut:
            raise _lost_race(session, sale_id) from None
    return {index: _pending_view(purchase_id, sale_id)
            for (index, _), purchase_id in zip(claiming, purchase_ids, strict=True)}, stock


def _offers(room: _Room, batch: _Batch) -> dict[int, Offer]:
    """What each tap of the batch buys at, by index; taps the room refuses are left out."""
    offers = {}
    for index, tap in batch:
        try:
            offers[index] = room.offer(tap.market)
        except DomainError:
            continue
    return offers


def _lost_race(session: Session, sale_id: int) -> Exception:
    """Why a batch could not take its units, read right after the claims ahead of it
    committed (its UPDATE waited for them): sold out, fewer units left, or the sale over."""
    left = _units_left(session, sale_id, lock=False)
    if left is None:
        return _Unbatched()  # ended meanwhile: alone, the taps buy at regular prices
    if left.remaining == 0:
        return _SoldOutAt(sale_id, left.version)
    return _FewerLeft(sale_id)


def _running(sale_id: int) -> tuple[ColumnElement[bool], ...]:
    return FlashSale.id == sale_id, FlashSale.status == "active", FlashSale.ends_at > utcnow()


def _units_left(session: Session, sale_id: int, *, lock: bool) -> SaleStock | None:
    """The running sale's units left (None once it has ended); ``lock`` holds its row until
    the transaction ends (SQLite's write transactions hold the whole database anyway)."""
    reading = select(FlashSale.remaining, FlashSale.version).where(*_running(sale_id))
    row = session.execute(reading.with_for_update() if lock else reading).first()
    return None if row is None else SaleStock(sale_id, row.remaining, row.version)


def _fitting(batch: _Batch, remaining: int) -> _Batch:
    """The first taps of the batch that the units left would serve. The rest claim one by
    one: they are likely sold out, but a unit may come back (a declined card) meanwhile."""
    fitting, wanted = [], 0
    for index, tap in batch:
        wanted += tap.quantity
        if wanted > remaining:
            break
        fitting.append((index, tap))
    return fitting


def _claimed_body(offer: Offer, purchase_id: int) -> dict[str, Any]:
    return {**asdict(offer), "purchase_id": purchase_id}


def _purchase_row(tap: Tap, offer: Offer) -> dict[str, Any]:
    return {"sale_id": offer.sale_id, "show_id": tap.show_id, "variant_id": tap.variant_id,
            "buyer_id": tap.actor.user_id, "idempotency_key": tap.idempotency_key,
            "quantity": tap.quantity, "market": tap.market.code,
            "unit_price": offer.sale_price, "creator_id": offer.creator_id}


def _pending_view(purchase_id: int, sale_id: int | None) -> BuyView:
    return BuyView(status="pending", purchase_id=purchase_id, checkout_id=None,
                   order_numbers=[], total=None, currency=None, flash_sale_id=sale_id)


def pay_now(db: Database, payments: PaymentProvider, settings: Settings, events: RoomEvents,
            actor: Actor, show_id: int, variant_id: int, quantity: int, market: Market,
            idempotency_key: str | None, offer: Offer) -> BuyView:
    """A tap at a regular price, checked out and paid before the answer."""
    paid = checkout.buy_now(db, payments, settings, actor, variant_id, quantity, market,
                            idempotency_key, show_id=show_id, creator_id=offer.creator_id)
    announce_paid(db, events, show_id, variant_id, None, paid, actor)
    return paid_view(paid, None, None)


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
        return paid_view(checkout.get_checkout(db, actor, checkout_id), purchase_id, sale_id)
    if status == "failed" and error is not None:
        if raise_failure:
            raise ReplayedError(error_status or 409, {"error": error})
        return BuyView(status="failed", purchase_id=purchase_id, checkout_id=None,
                       order_numbers=[], total=None, currency=None, flash_sale_id=sale_id,
                       error=PurchaseProblem(**error))
    return _pending_view(purchase_id, sale_id)


def release_claim(db: Database, actor: Actor, key: str, request: str, sale_id: int,
                  quantity: int) -> SaleStock:
    def give_back(session: Session) -> tuple[int, Any]:
        stock = _give_back(session, sale_id, actor.user_id, quantity)
        return 200, {"released": quantity, "remaining": stock.remaining, "v": stock.version}

    # Stored as a step of its own: a purchase that fails twice gives the units back once.
    released = run_once(db, user_id=actor.user_id, key=key, scope=RELEASE_STEP,
                        request_fingerprint=request, operation=give_back).body
    return SaleStock(sale_id, int(released["remaining"]), int(released["v"]))


def announce_sale(db: Database, events: RoomEvents, gate: SoldOutGate, show_id: int,
                  variant_id: int, stock: SaleStock) -> None:
    """Units left in the sale, after a claim or a give-back: sold out closes the gate, units
    left reopen it. The versions let the gate and the hubs drop what arrives out of order."""
    if stock.remaining == 0:
        with db.read() as session:
            _close_gate(session, gate, show_id, variant_id, stock.sale_id, stock.version)
    else:
        gate.reopen(show_id, variant_id, stock.sale_id, stock.version)
    events.stock(show_id, {"sale": {"id": stock.sale_id, "remaining": stock.remaining,
                                    "v": stock.version}})
    if stock.remaining == 0:
        events.broadcast(show_id, {"type": "sale_sold_out", "sale_id": stock.sale_id})


def announce_paid(db: Database, events: RoomEvents, show_id: int, variant_id: int,
                  sale_id: int | None, paid: CheckoutView, actor: Actor) -> None:
    """The variant's stock after a purchase, and the order for the control room."""
    with db.read() as session:
        level = inventory.stock_of(session, [variant_id]).get(variant_id)
    events.stock(show_id, {"variants": {
        str(variant_id): [level.available, level.version] if level else [0, 0]}})
    for order in paid.orders:
        events.to_staff(show_id, {
            "type": "order", "number": order.number, "total": order.total,
            "currency": paid.currency, "buyer": actor.display_name,
            "items": [f"{line.quantity} x {line.product_title}" for line in order.lines],
            "sale_id": sale_id,
        })
