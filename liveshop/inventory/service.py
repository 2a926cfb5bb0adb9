"""Stock: receive, reserve (one atomic conditional write), commit, release, restock, and
hold units aside for a flash sale.

The functions taking a ``Session`` run inside the caller's transaction (catalog, checkout,
orders and live compose them); the ones taking a ``Database`` own their transaction.
Inventory knows variants only by id: the seller's stock screen, which needs shops and
product titles, is catalog's (liveshop/catalog/stock.py).
Invariant, per variant: received - removed == available + reserved + held + sold, held is the sum
of the variant's holds, and the ledger (stock_movements) explains every change
(liveshop/inventory/model.py).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from liveshop.core.db import Database, insert_rows, rows_affected, utcnow
from liveshop.core.errors import Conflict, InvalidInput, NotFound
from liveshop.inventory.model import MOVES
from liveshop.inventory.orm import Reservation, StockHold, StockLevel, StockMovement


class OutOfStock(Conflict):
    code = "out_of_stock"


def _positive(quantity: int, field: str = "quantity") -> None:
    if quantity <= 0:
        raise InvalidInput("Quantity must be at least 1", field=field)


def _record(session: Session, variant_id: int, kind: str, quantity: int, *,
            reservation_id: int | None = None, order_id: int | None = None,
            hold_id: int | None = None, note: str = "") -> None:
    assert kind in MOVES, kind
    session.add(StockMovement(variant_id=variant_id, kind=kind, quantity=quantity,
                              reservation_id=reservation_id, order_id=order_id,
                              hold_id=hold_id, note=note))


def ensure_level(session: Session, variant_id: int) -> None:
    if session.get(StockLevel, variant_id) is None:
        session.add(StockLevel(variant_id=variant_id, available=0, reserved=0, sold=0))
        session.flush()


def ensure_levels(session: Session, variant_ids: Collection[int]) -> None:
    """``ensure_level`` for many variants (a batch of new products) in a few statements."""
    wanted = set(variant_ids)
    if not wanted:
        return
    have = set(session.scalars(select(StockLevel.variant_id)
                               .where(StockLevel.variant_id.in_(wanted))))
    insert_rows(session, StockLevel, [
        {"variant_id": variant_id, "available": 0, "reserved": 0, "sold": 0, "held": 0,
         "version": 0}
        for variant_id in sorted(wanted - have)])


UPDATE_CHUNK = 500


def receive_many(session: Session, quantities: Mapping[int, int], note: str = "") -> None:
    """``receive`` for many variants at once (an import): one UPDATE and one multi-row
    INSERT per few hundred variants, whatever the database."""
    for quantity in quantities.values():
        _positive(quantity)
    if not quantities:
        return
    ensure_levels(session, quantities)
    variant_ids = list(quantities)
    # Few statements, whatever the database: an UPDATE per few hundred variants.
    for start in range(0, len(variant_ids), UPDATE_CHUNK):
        chunk = {variant_id: quantities[variant_id]
                 for variant_id in variant_ids[start:start + UPDATE_CHUNK]}
        session.execute(
            update(StockLevel).where(StockLevel.variant_id.in_(chunk))
            .values(available=StockLevel.available + case(chunk, value=StockLevel.variant_id),
                    version=StockLevel.version + 1)
            .execution_options(synchronize_session=False))
    now = utcnow()
    insert_rows(session, StockMovement, [
        {"variant_id": variant_id, "kind": "received", "quantity": quantity,
         "reservation_id": None, "order_id": None, "hold_id": None, "note": note,
         "created_at": now}
        for variant_id, quantity in quantities.items()])


def receive(session: Session, variant_id: int, quantity: int, note: str = "") -> None:
    """Goods arrived: more units available."""
    _positive(quantity)
    ensure_level(session, variant_id)
    session.execute(
        update(StockLevel).where(StockLevel.variant_id == variant_id)
        .values(available=StockLevel.available + quantity, version=StockLevel.version + 1)
    )
    _record(session, variant_id, "received", quantity, note=note)


def set_available(session: Session, variant_id: int, target: int, note: str = "") -> int:
    """Make the units available for sale ``target`` (a count from another system): the
    difference is received or removed, as one ledger row. Reserved, held and sold units
    are never touched, so a flash sale's units stay its own. The change made."""
    target = max(0, target)
    ensure_level(session, variant_id)
    level = session.get_one(StockLevel, variant_id, with_for_update=True,
                            populate_existing=True)
    change = target - level.available
    if change > 0:
        receive(session, variant_id, change, note=note)
    elif change < 0:
        # Conditional on the count read: a buyer reserving meanwhile waits on the row lock.
        taken = rows_affected(session.execute(
            update(StockLevel)
            .where(StockLevel.variant_id == variant_id, StockLevel.available >= -change)
            .values(available=StockLevel.available + change, version=StockLevel.version + 1)))
        if taken != 1:
            raise OutOfStock("The stock changed meanwhile", field="quantity")
        _record(session, variant_id, "removed", -change, note=note)
    return change


def reserve(session: Session, variant_id: int, quantity: int, *, holder_id: int | None,
            ttl: timedelta, now: datetime | None = None,
            attach: Callable[[Reservation], None] | None = None,
            hold_id: int | None = None) -> Reservation:
    """Hold units for a buyer. One conditional UPDATE: it cannot oversell under concurrency.

    That UPDATE comes last, because it locks the variant's stock row until the transaction
    ends and every other buyer of the item waits for it: the reservation and its ledger row
    are written first (``attach`` may point the caller's rows at the reservation then too),
    and OutOfStock rolls them back with the caller's transaction.

    ``hold_id``: the units come out of that hold (a flash sale's) instead of available.
    """
    _positive(quantity)
    reservation = Reservation(variant_id=variant_id, quantity=quantity, holder_id=holder_id,
                              expires_at=(now or utcnow()) + ttl, status="active",
                              hold_id=hold_id)
    session.add(reservation)
    session.flush()
    _record(session, variant_id, "reserved" if hold_id is None else "allotted", quantity,
            reservation_id=reservation.id, hold_id=hold_id)
    if attach is not None:
        attach(reservation)
    if hold_id is not None:
        _take_from_hold(session, hold_id, quantity)
        source = StockLevel.held
        moved = {"held": StockLevel.held - quantity}
    else:
        source = StockLevel.available
        moved = {"available": StockLevel.available - quantity}
    taken = rows_affected(session.execute(
        update(StockLevel)
        .where(StockLevel.variant_id == variant_id, source >= quantity)
        .values(reserved=StockLevel.reserved + quantity, version=StockLevel.version + 1,
                **moved)
    ))
    if taken != 1:
        raise OutOfStock("Not enough stock left for this item", field="quantity")
    return reservation


# --- holds: units set aside for a flash sale ---

def hold(session: Session, variant_id: int, quantity: int, note: str = "") -> int:
    """Set units aside from available (a flash sale starting); the hold's id. OutOfStock
    when fewer are available. The stock row is updated last, as in reserve()."""
    _positive(quantity)
    ensure_level(session, variant_id)
    held = StockHold(variant_id=variant_id, quantity=quantity, note=note)
    session.add(held)
    session.flush()
    _record(session, variant_id, "held", quantity, hold_id=held.id, note=note)
    taken = rows_affected(session.execute(
        update(StockLevel)
        .where(StockLevel.variant_id == variant_id, StockLevel.available >= quantity)
        .values(available=StockLevel.available - quantity, held=StockLevel.held + quantity,
                version=StockLevel.version + 1)
    ))
    if taken != 1:
        raise OutOfStock("Not enough stock left for this item", field="quantity")
    return held.id


def unhold(session: Session, hold_id: int, quantity: int, note: str = "") -> None:
    """Give held units back to available (a sale ended with units unclaimed, or a claimed
    unit came back after it ended)."""
    if quantity <= 0:
        return
    variant_id = _take_from_hold(session, hold_id, quantity)
    _record(session, variant_id, "unheld", quantity, hold_id=hold_id, note=note)
    session.execute(
        update(StockLevel).where(StockLevel.variant_id == variant_id)
        .values(held=StockLevel.held - quantity, available=StockLevel.available + quantity,
                version=StockLevel.version + 1)
    )


def _take_from_hold(session: Session, hold_id: int, quantity: int) -> int:
    """Take units out of a hold, if it has them (one conditional UPDATE); its variant."""
    variant_id = session.scalar(
        update(StockHold).where(StockHold.id == hold_id, StockHold.quantity >= quantity)
        .values(quantity=StockHold.quantity - quantity).returning(StockHold.variant_id))
    if variant_id is None:
        raise OutOfStock("Not enough units left in the sale", field="quantity")
    return variant_id


def _return_to_hold(session: Session, hold_id: int, quantity: int) -> None:
    session.execute(update(StockHold).where(StockHold.id == hold_id)
                    .values(quantity=StockHold.quantity + quantity))


def extend(session: Session, reservation_ids: list[int], until: datetime) -> bool:
    """Keep active, unexpired reservations alive (e.g. while a payment runs). All or none."""
    if not reservation_ids:
        return True
    extended = rows_affected(session.execute(
        update(Reservation)
        .where(Reservation.id.in_(reservation_ids), Reservation.status == "active",
               Reservation.expires_at > utcnow())
        .values(expires_at=until)
    ))
    return extended == len(reservation_ids)


@dataclass(frozen=True)
class Available:
    """A variant's units available (at the regular price), at its stock's version."""

    units: int
    version: int


def commit(session: Session, reservation_id: int, order_id: int | None) -> Available:
    """Reserved units become sold (payment succeeded); the variant's stock after that. The
    stock row is updated last, as in reserve()."""
    reservation = _transition(session, reservation_id, "committed")
    _record(session, reservation.variant_id, "sold", reservation.quantity,
            reservation_id=reservation.id, order_id=order_id)
    level = session.execute(
        update(StockLevel).where(StockLevel.variant_id == reservation.variant_id)
        .values(reserved=StockLevel.reserved - reservation.quantity,
                sold=StockLevel.sold + reservation.quantity, version=StockLevel.version + 1)
        .returning(StockLevel.available, StockLevel.version)
    ).one()
    return Available(level.available, level.version)


def release(session: Session, reservation_id: int, note: str = "") -> bool:
    """Return reserved units to stock: to available, or to the hold they were drawn from
    (the sale they were claimed in decides what becomes of them). False if it was already
    released or committed."""
    try:
        reservation = _transition(session, reservation_id, "released")
    except Conflict:
        return False
    quantity, hold_id = reservation.quantity, reservation.hold_id
    if hold_id is not None:
        _return_to_hold(session, hold_id, quantity)
        back = {"held": StockLevel.held + quantity}
    else:
        back = {"available": StockLevel.available + quantity}
    session.execute(
        update(StockLevel).where(StockLevel.variant_id == reservation.variant_id)
        .values(reserved=StockLevel.reserved - quantity, version=StockLevel.version + 1,
                **back)
    )
    _record(session, reservation.variant_id, "released" if hold_id is None else "reheld",
            quantity, reservation_id=reservation.id, hold_id=hold_id, note=note)
    return True


def restock(session: Session, variant_id: int, quantity: int, order_id: int | None,
            note: str = "") -> None:
    """Sold units come back (refund/return) and can be sold again."""
    _positive(quantity)
    moved = rows_affected(session.execute(
        update(StockLevel)
        .where(StockLevel.variant_id == variant_id, StockLevel.sold >= quantity)
        .values(sold=StockLevel.sold - quantity, available=StockLevel.available + quantity,
                version=StockLevel.version + 1)
    ))
    if moved != 1:
        raise Conflict("Cannot restock more units than were sold", field="quantity")
    _record(session, variant_id, "restocked", quantity, order_id=order_id, note=note)


def _transition(session: Session, reservation_id: int, to_status: str) -> Reservation:
    changed = rows_affected(session.execute(
        update(Reservation)
        .where(Reservation.id == reservation_id, Reservation.status == "active")
        .values(status=to_status)
    ))
    reservation = session.get(Reservation, reservation_id, populate_existing=True)
    if reservation is None:
        raise NotFound("No such reservation")
    if changed != 1:
        raise Conflict(f"Reservation is already {reservation.status}", code="reservation_closed")
    return reservation


def release_expired(db: Database, now: datetime | None = None, batch: int = 500) -> int:
    """Release reservations past their expiry (abandoned carts). Returns how many."""
    with db.transaction() as session:
        expired = session.scalars(
            select(Reservation.id)
            .where(Reservation.status == "active", Reservation.expires_at <= (now or utcnow()))
            .limit(batch)
        ).all()
        return sum(release(session, rid, note="expired") for rid in expired)


def stock_of(session: Session, variant_ids: list[int]) -> dict[int, StockLevel]:
    rows = session.scalars(select(StockLevel).where(StockLevel.variant_id.in_(variant_ids)))
    return {row.variant_id: row for row in rows}


def ledger_balance(session: Session, variant_id: int) -> dict[str, int]:
    """Totals per movement kind, to check the counters against the ledger."""
    rows = session.execute(
        select(StockMovement.kind, func.sum(StockMovement.quantity))
        .where(StockMovement.variant_id == variant_id).group_by(StockMovement.kind)
    ).all()
    return {kind: int(total) for kind, total in rows}
