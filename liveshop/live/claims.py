"""The claim: taps on a live room's variant take flash-sale units within each buyer's limit
and record their pending purchases, in one transaction however many arrive together.

A single tap is a batch of one. For the taps of one show and variant the transaction reads
the room in one query, counts every buyer against the per-buyer limit in one upsert,
inserts the pending purchases and every tap's idempotency record in one go, and takes the
sale's units with one conditional UPDATE, last: the sale's row stays locked until the
commit, and every buyer in the room waits for it. Claimed one after the other, a crowd's
taps would queue on that row. The units left are recorded for the room in the same
transaction (one ``StockChanged`` per batch, and ``SaleSoldOut`` with the last unit): the
room is told once it commits.

Each tap gets its own outcome: claimed (a pending purchase); the stored result of its key
(a retry); refused, with the error stored under its key so that a retry gets it again;
regular-price terms to pay for at once (no sale runs); or ``NEXT_ROUND`` (a second tap of
one buyer, or one the units left serve only after taps before it). A sale read sold out
refuses the taps from memory and closes the process's sold-out gate.

On PostgreSQL another process's claim may take the units between this one's read and its
UPDATE, which then waits for that commit and finds too few. One more read in the same
transaction tells sold out (the gate closes after the rollback) from fewer left (claimed
again, the sale's row locked first, so that attempt cannot lose) from the sale over
(claimed again at regular prices). A taken key rolls the attempt back; the keys' stored
results are read and the other taps claimed again.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.catalog.orm import Shop, ShopMarket, Variant
from liveshop.checkout import one_tap
from liveshop.core.db import Database, upsert_into, utcnow
from liveshop.core.errors import DomainError, NotFound
from liveshop.core.idempotency import (
    IdempotencyRecord,
    done_record,
    ensure_same_request,
    error_body,
    replay,
    store_results,
    stored_records,
)
from liveshop.live import model
from liveshop.live.model import PurchaseTerms, RoomForTap
from liveshop.live.orm import (
    FlashSale,
    FlashSaleClaim,
    SalePurchase,
    ShopCreator,
    Show,
    ShowProduct,
)
from liveshop.live.purchase_settlement import pending_view, purchase_view
from liveshop.live.sale_units import (
    SaleStock,
    close_gate,
    record_units_left,
    running_sale,
    tell_gate,
    units_left,
)
from liveshop.live.schemas import BuyView
from liveshop.live.sold_out import SoldOutGate
from liveshop.markets.model import Market

# The claim is stored under the tap's Idempotency-Key in a scope of its own
# (liveshop/core/idempotency.py; named "offer" in the records already stored). The tap's
# other steps: the give-back of its units (liveshop/live/sale_units.py), its checkout and
# payment (those of a one-tap purchase, liveshop/checkout/one_tap.py).
CLAIM_STEP = "offer"


@dataclass(frozen=True)
class Tap:
    """A viewer's tap on Buy, its Idempotency-Key checked."""

    actor: Actor
    show_id: int
    variant_id: int
    quantity: int
    market: Market
    idempotency_key: str

    @property
    def request(self) -> str:
        return model.tap_fingerprint(self.show_id, self.variant_id, self.quantity, self.market.code)


class NextRound(Enum):
    """A tap left for the next claim: it waits and is claimed with the taps then."""

    TAP = "next round"


NEXT_ROUND = NextRound.TAP
Claimed = BuyView | PurchaseTerms | NextRound | Exception


def claim_units(db: Database, gate: SoldOutGate, taps: Sequence[Tap]) -> list[Claimed]:
    """Each tap's outcome, in order (see the module's docstring). Only the database is
    touched, in a few statements for all of them."""
    outcomes: list[Claimed] = [NEXT_ROUND] * len(taps)
    firsts, _ = model.one_tap_per_buyer([tap.actor.user_id for tap in taps])
    # Checked before claiming: a buyer who cannot pay in one tap must not hold units.
    problems = one_tap.one_tap_problems(db, {taps[index].actor.user_id: taps[index].market
                                             for index in firsts})
    by_variant: dict[tuple[int, int], list[int]] = defaultdict(list)
    for index in firsts:
        tap = taps[index]
        problem = problems.get(tap.actor.user_id)
        if problem is not None:
            outcomes[index] = problem
        else:
            by_variant[(tap.show_id, tap.variant_id)].append(index)
    for (show_id, variant_id), indexes in by_variant.items():
        claim = _VariantClaim(db, gate, show_id, variant_id, [taps[index] for index in indexes])
        try:
            claimed = claim.run()
        except Exception as error:  # e.g. the database is down: each of its taps says so
            claimed = [error] * len(indexes)
        for index, outcome in zip(indexes, claimed, strict=True):
            outcomes[index] = outcome
    return outcomes


class _SoldOutAt(Exception):
    """The sale had no units left at ``version``."""

    def __init__(self, sale_id: int, version: int) -> None:
        super().__init__(sale_id, version)
        self.sale_id, self.version = sale_id, version


class _FewerLeft(Exception):
    """Claims that committed after this one read the sale left fewer units than it wants."""

    def __init__(self, sale_id: int) -> None:
        super().__init__(sale_id)
        self.sale_id = sale_id


class _SaleOver(Exception):
    """The sale ended after this claim read it: its taps buy at regular prices."""


@dataclass
class _Attempt:
    """What one transaction decided, kept only if it commits."""

    outcomes: dict[int, Claimed] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    units: int = 0  # to take from the sale, last
    stock: SaleStock | None = None  # the sale's, after they were taken
    sold_out: _SoldOutAt | None = None  # the sale, read without units left
    sold_out_taps: list[int] = field(default_factory=list)  # the taps it refuses


class _VariantClaim:
    """The taps on one show's variant (one per buyer), claimed together."""

    def __init__(self, db: Database, gate: SoldOutGate, show_id: int, variant_id: int,
                 taps: list[Tap]) -> None:
        self.db, self.gate = db, gate
        self.show_id, self.variant_id, self.taps = show_id, variant_id, taps
        self.outcomes: dict[int, Claimed] = {}

    def run(self) -> list[Claimed]:
        """Each tap's outcome, in order: one transaction, tried again after it lost the
        sale's units to another claim or met a taken key."""
        locking: int | None = None
        # Bounded: each retry settles taps (their keys were taken) or locks the sale first.
        for _ in range(len(self.taps) + 3):
            open_taps = [index for index in range(len(self.taps)) if index not in self.outcomes]
            try:
                with self.db.transaction() as session:
                    attempt = self._attempt(session, open_taps, locking)
            except _FewerLeft as fewer:
                locking = fewer.sale_id
            except _SaleOver:
                locking = None
            except _SoldOutAt as sold:
                self._refuse_sold_out(open_taps, sold)
                break
            except IntegrityError:
                if not self._replay_taken_keys(open_taps):
                    raise
            else:
                self.outcomes.update(attempt.outcomes)
                if attempt.sold_out is not None:
                    self._refuse_sold_out(attempt.sold_out_taps, attempt.sold_out)
                if attempt.stock is not None:
                    tell_gate(self.db, self.gate, self.show_id, self.variant_id,
                              attempt.stock)
                break
        return [self.outcomes.get(index, NEXT_ROUND) for index in range(len(self.taps))]

    def _attempt(self, session: Session, open_taps: list[int], locking: int | None
                 ) -> _Attempt:
        """One transaction for the open taps; ``locking``: a sale whose row is locked
        before anything is read."""
        if locking is not None:
            units_left(session, locking, lock=True)
        room = _read_room(session, self.show_id, self.variant_id,
                          {self.taps[index].market.code for index in open_taps})
        attempt = _Attempt()
        terms: dict[int, PurchaseTerms] = {}
        for index in open_taps:
            try:
                if room is None:
                    raise NotFound("No such show", field="show_id")
                terms[index] = room.terms(self.taps[index].market.code)
            except DomainError as error:
                self._refuse(attempt, index, error)
        if room is not None and room.sale_id is not None and terms:
            self._claim_on_sale(session, attempt, room, room.sale_id, terms)
        else:  # no sale runs: each tap pays the regular price, at once
            for index, regular in terms.items():
                attempt.outcomes[index] = regular
                attempt.records.append(self._record(index, 200, asdict(regular)))
        if attempt.records:
            store_results(session, attempt.records)
        if attempt.units:
            assert room is not None and room.sale_id is not None
            attempt.stock = _take_units(session, room.sale_id, attempt.units)
            record_units_left(session, self.show_id, attempt.stock)
        return attempt

    def _claim_on_sale(self, session: Session, attempt: _Attempt, room: RoomForTap,
                       sale_id: int, terms: dict[int, PurchaseTerms]) -> None:
        """Fit the taps to the units left, count their buyers against the limit and record
        the pending purchases; the units to take are left in ``attempt.units``."""
        if room.remaining == 0:
            # Refused after the commit, as the gate will refuse them: not stored.
            attempt.sold_out = _SoldOutAt(sale_id, room.version)
            attempt.sold_out_taps = list(terms)
            return
        indexes = list(terms)
        fitting = model.fit_to_units_left(
            [self.taps[index].quantity for index in indexes], room.remaining)
        for position in fitting.too_many:
            self._refuse(attempt, indexes[position], model.sold_out())
        for position in fitting.later:
            attempt.outcomes[indexes[position]] = NEXT_ROUND
        served = [indexes[position] for position in fitting.served]
        counted = _count_buyers(session, sale_id, {
            self.taps[index].actor.user_id: self.taps[index].quantity for index in served},
            room.per_buyer_limit)
        claiming = [index for index in served if self.taps[index].actor.user_id in counted]
        for index in served:
            if index not in claiming:
                self._refuse(attempt, index, model.limit_reached(room.per_buyer_limit))
        if not claiming:
            return
        purchase_ids = session.scalars(
            insert(SalePurchase).returning(SalePurchase.id, sort_by_parameter_order=True),
            [_purchase_row(self.taps[index], terms[index]) for index in claiming]).all()
        for index, purchase_id in zip(claiming, purchase_ids, strict=True):
            attempt.outcomes[index] = pending_view(purchase_id, sale_id)
            attempt.records.append(self._record(
                index, 202, {**asdict(terms[index]), "purchase_id": purchase_id}))
        attempt.units = sum(self.taps[index].quantity for index in claiming)

    def _refuse(self, attempt: _Attempt, index: int, error: DomainError) -> None:
        attempt.outcomes[index] = error
        attempt.records.append(self._record(index, error.status, error_body(error)))

    def _record(self, index: int, status: int, body: Any) -> dict[str, Any]:
        tap = self.taps[index]
        return done_record(tap.actor.user_id, tap.idempotency_key, tap.request, status, body,
                           scope=CLAIM_STEP)

    def _refuse_sold_out(self, indexes: list[int], sold: _SoldOutAt) -> None:
        """Close the gate and refuse the taps, but replay those of buyers holding units of
        the sale whose keys hold a result: retries. Read after the attempt, so the buyers it
        counted (rolled back) are no claimants."""
        with self.db.read() as session:
            claimants = close_gate(session, self.gate, self.show_id, self.variant_id,
                                   sold.sale_id, sold.version)
            keyed = {(self.taps[index].actor.user_id, self.taps[index].idempotency_key): index
                     for index in indexes if self.taps[index].actor.user_id in claimants}
            stored = stored_records(session, CLAIM_STEP, keyed) if keyed else {}
        for index in indexes:
            self.outcomes[index] = model.sold_out()
        self._replay(keyed, stored)

    def _replay_taken_keys(self, open_taps: list[int]) -> bool:
        """After an attempt rolled back on a taken key: the outcome of each tap whose key
        holds a stored result (a retry, or the same key sent twice at once). False if no
        key was taken (the constraint was another's)."""
        keyed = {(self.taps[index].actor.user_id, self.taps[index].idempotency_key): index
                 for index in open_taps}
        with self.db.read() as session:
            stored = stored_records(session, CLAIM_STEP, keyed)
        self._replay(keyed, stored)
        return bool(stored)

    def _replay(self, keyed: dict[tuple[int, str], int],
                stored: dict[tuple[int, str], IdempotencyRecord]) -> None:
        for key, record in stored.items():
            self.outcomes[keyed[key]] = _replayed(self.db, self.taps[keyed[key]], record)


def _replayed(db: Database, tap: Tap, record: IdempotencyRecord) -> Claimed:
    """What a retried tap gets: its purchase as it stands now (a failed one raises the
    error a purchase paid at once would have), its regular-price terms, or its error."""
    try:
        ensure_same_request(record, tap.request)
        body = dict(replay(record).body)
        purchase_id = body.pop("purchase_id", None)
        if purchase_id is None:
            return PurchaseTerms(**body)
        return purchase_view(db, tap.actor, purchase_id, raise_failure=True)
    except DomainError as error:
        return error


def _active_sale_of(show_id: BindParameter[int], variant_id: BindParameter[int],
                    now: BindParameter[Any]) -> tuple[ColumnElement[bool], ...]:
    # An ended show's replay still sells, at regular prices: ending a show ends its sales.
    return (FlashSale.show_id == show_id, FlashSale.variant_id == variant_id,
            FlashSale.status == "active", FlashSale.ends_at > now)


@functools.cache
def _room_query(markets: int) -> Select[Any]:
    """The statement of :func:`_read_room` for taps in ``markets`` markets, built once and
    bound per claim: building it took more CPU than the database took to run it."""
    show_id: BindParameter[int] = bindparam("show_id")
    variant_id: BindParameter[int] = bindparam("variant_id")
    in_lineup = exists().where(Variant.id == variant_id, ShowProduct.show_id == Show.id,
                               ShowProduct.product_id == Variant.product_id)
    # The shop selling the variant: the show's, or in a creator's own show (no shop of its
    # own) the product's, which ships it and pays the host's commission.
    sold_by = select(Variant.shop_id).where(Variant.id == variant_id).scalar_subquery()
    # The host earns from the show's orders only while the shop's creator grant lasts, or
    # in their own show (at their affiliate plans' rates: orders/commission.py).
    earns = or_(Show.shop_id.is_(None), exists().where(
        ShopCreator.shop_id == Show.shop_id, ShopCreator.creator_id == Show.host_id))
    ships = [exists().where(ShopMarket.shop_id == Shop.id,
                            ShopMarket.market == bindparam(f"market_{index}"))
             for index in range(markets)]
    return (select(Show.status, Show.markets, Show.host_id, Shop.owner_id, FlashSale.id,
                   FlashSale.per_buyer_limit, FlashSale.prices, FlashSale.remaining,
                   FlashSale.version, in_lineup, earns, *ships)
            .select_from(Show)
            .outerjoin(Shop, Shop.id == func.coalesce(Show.shop_id, sold_by))
            .outerjoin(FlashSale, and_(*_active_sale_of(show_id, variant_id,
                                                        bindparam("now"))))
            .where(Show.id == show_id)
            .order_by(FlashSale.id.desc()).limit(1))


def _read_room(session: Session, show_id: int, variant_id: int, markets: Collection[str]
               ) -> RoomForTap | None:
    """The show, its shop and the sale in one query, with whether the show sells the
    variant and the shop ships to each of ``markets`` (the taps' markets); None if there
    is no such show."""
    codes = sorted(markets)
    row = session.execute(_room_query(len(codes)), {
        "show_id": show_id, "variant_id": variant_id, "now": utcnow(),
        **{f"market_{index}": code for index, code in enumerate(codes)}}).first()
    if row is None:
        return None
    (status, markets_sold, host_id, owner_id, sale_id, per_buyer_limit, prices, remaining,
     version, listed, host_granted, *shipped) = row
    # The creator hosting the show earns from its orders; not the shop's own host.
    creator_id = host_id if host_granted and owner_id != host_id else None
    return RoomForTap(status, markets_sold, creator_id, sale_id, per_buyer_limit or 0,
                      prices or {}, remaining or 0, version or 0,
                      sells_variant=bool(listed) or sale_id is not None,
                      ships_to=frozenset(code for code, ok in zip(codes, shipped, strict=True)
                                         if ok))


def _count_buyers(session: Session, sale_id: int, quantities: dict[int, int],
                  limit: int) -> set[int]:
    """Add each buyer's units to their count unless that passes the per-buyer limit
    (``model.within_limit``), in one statement; the buyers counted."""
    within = {buyer: quantity for buyer, quantity in quantities.items()
              if model.within_limit(0, quantity, limit)}
    if not within:
        return set()
    counting = upsert_into(session, FlashSaleClaim)
    # Rows as parameters, not in the statement: its compiled form is cached whatever the
    # number of buyers (compiling it for each batch cost more than running it).
    return set(session.scalars(counting.on_conflict_do_update(
        index_elements=["sale_id", "buyer_id"],
        set_={"quantity": FlashSaleClaim.quantity + counting.excluded.quantity},
        where=FlashSaleClaim.quantity + counting.excluded.quantity <= limit,
    ).returning(FlashSaleClaim.buyer_id), [
        {"sale_id": sale_id, "buyer_id": buyer, "quantity": quantity}
        for buyer, quantity in within.items()]))


def _purchase_row(tap: Tap, terms: PurchaseTerms) -> dict[str, Any]:
    return {"sale_id": terms.sale_id, "show_id": tap.show_id, "variant_id": tap.variant_id,
            "buyer_id": tap.actor.user_id, "idempotency_key": tap.idempotency_key,
            "quantity": tap.quantity, "market": tap.market.code,
            "unit_price": terms.sale_price, "creator_id": terms.creator_id}


def _take_units(session: Session, sale_id: int, units: int) -> SaleStock:
    """Take the units from the sale: the last statement of the claim's transaction. Raises
    why it could not (the transaction then rolls back)."""
    taken = session.execute(
        update(FlashSale)
        .where(*running_sale(sale_id), FlashSale.remaining >= units)
        .values(remaining=FlashSale.remaining - units, version=FlashSale.version + 1)
        .returning(FlashSale.remaining, FlashSale.version)).first()
    if taken is not None:
        return SaleStock(sale_id, taken.remaining, taken.version)
    # Read right after the claims ahead of this one committed (the UPDATE waited for them).
    left = units_left(session, sale_id, lock=False)
    if left is None:
        raise _SaleOver
    if left.remaining == 0:
        raise _SoldOutAt(sale_id, left.version)
    raise _FewerLeft(sale_id)
