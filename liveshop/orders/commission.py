"""An order's money in the books: what a paid order line earns whom, and its reversal.

When an order becomes paid (``orders.service.transition``, the one place every payment path
goes through: checkout's pay, one-tap and the live room's flash-sale settlement), each line
copies the terms in force (the creator it is attributed to, their rate, the bonus of a
campaign with budget left and the market's fee, or none on a new seller's fee holiday:
liveshop/incentives) and ``line_paid_entry`` is posted with ``shipping_paid_entry``, in the
payment's transaction. A refund posts ``line_refund_entry`` per refunded line (and the
shipping's reversal with a full refund) in the refund's transaction. Every entry has its
source key (the line, the refund and line, the order's shipping), so a retry or a crash
between can never post twice. The rules are liveshop/creators/model.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.accounts.orm import User
from liveshop.catalog.orm import Shop, Variant
from liveshop.core.db import Database, utcnow
from liveshop.creators import service as creators
from liveshop.creators import storefront
from liveshop.creators.model import (
    DEFAULT_ATTRIBUTION_WINDOW,
    DEFAULT_FEE_BP,
    LINE_PAID,
    LINE_REFUNDED,
    PaidLine,
    Room,
    attribute,
    line_paid_entry,
    line_refund_entry,
    shipping_paid_entry,
    shipping_refund_entry,
)
from liveshop.incentives import service as incentives
from liveshop.ledger import service as ledger
from liveshop.ledger.model import AccountKey, AccountKind, Owner, SourceKey
from liveshop.orders.model import price_of_units
from liveshop.orders.orm import Order, OrderLine
from liveshop.orders.schemas import Earnings, LineCommission
from liveshop.payments.orm import Refund
from liveshop.payouts import service as payouts
from liveshop.payouts.model import Funds, PayoutPolicy, StatementStatus, funds_of

# How long a share-link click earns the product's sale (``attribute``); a platform setting
# may replace it.
ATTRIBUTION_WINDOW = DEFAULT_ATTRIBUTION_WINDOW


def book_paid(session: Session, order: Order, now: datetime | None = None) -> None:
    """Copy the terms in force onto the order's lines and post their entries. A line that
    has its terms already keeps them (posting again then posts nothing)."""
    now = now or utcnow()
    terms = _terms_now(session, order, now)
    fees = incentives.fee_terms(session, order.shop_id, order.market)
    entries = []
    for line in order.lines:
        if line.fee_bp is None:
            creator_id, rate_bp = terms.get(line.variant_id, (None, 0))
            line.creator_id, line.commission_bp = creator_id, rate_bp
            line.fee_bp = incentives.fee_for_line(session, fees, shop_id=order.shop_id,
                                                  market=order.market,
                                                  line_total=line.line_total, now=now)
            line.bonus_bp = 0 if creator_id is None else incentives.bonus_for_line(
                session, line_id=line.id, creator_id=creator_id, market=order.market,
                net=paid_line(order, line).net, rate_bp=rate_bp, now=now)
        entries.append(line_paid_entry(paid_line(order, line)))
    if order.shipping > 0:
        entries.append(shipping_paid_entry(order.id, order.shop_id, order.market,
                                           order.shipping, _shipping_tax(order)))
    # One posting for the order's entries: a few statements, however many lines.
    ledger.post_many(session, entries)


def book_refund(session: Session, order: Order, refund_id: int,
                refunded_before: Mapping[int, int], quantities: Mapping[int, int], *,
                with_shipping: bool) -> None:
    """Post a refund: per line, its refunded proportion of every share (the creator's
    commission clawed back with it); the shipping with a full refund. ``refunded_before``:
    each line's refunded units before this refund; ``quantities``: the units it refunds.
    Lines paid before the books (no terms) post nothing."""
    booked = False
    for line in order.lines:
        if line.fee_bp is None:
            continue
        booked = True
        units = quantities.get(line.id, 0)
        if units <= 0:
            continue
        before = _refunded_amount(line, refunded_before.get(line.id, 0))
        after = _refunded_amount(line, refunded_before.get(line.id, 0) + units)
        ledger.post(session, line_refund_entry(paid_line(order, line), refund_id, before,
                                               after - before))
    if with_shipping and booked and order.shipping > 0:
        ledger.post(session, shipping_refund_entry(order.id, order.shop_id, order.market,
                                                   order.shipping, _shipping_tax(order)))


def paid_line(order: Order, line: OrderLine) -> PaidLine:
    return PaidLine(line.id, order.shop_id, order.market, line.line_total, line.tax,
                    line.creator_id, line.commission_bp, line.bonus_bp,
                    line.fee_bp if line.fee_bp is not None else DEFAULT_FEE_BP, line.discount)


def order_commissions(session: Session, order: Order) -> list[LineCommission]:
    """The creators' commission on each of the order's lines, from the books."""
    lines = [line for line in order.lines if line.creator_id is not None]
    if not lines:
        return []
    refund_ids = _refund_ids(session, order.id)
    sources = [SourceKey(LINE_PAID, str(line.id)) for line in lines] + [
        SourceKey(LINE_REFUNDED, f"{refund_id}:{line.id}")
        for refund_id in refund_ids for line in lines]
    amounts = [(source, amount) for source, _, amount in
               ledger.postings_of_sources(session, AccountKind.CREATOR_PAYABLE, sources)]
    return _commissions(session, amounts, {line.id: (line, order) for line in lines})


def earnings(db: Database, actor: Actor, policy: PayoutPolicy | None = None,
             now: datetime | None = None) -> Earnings:
    """The actor's own commission, line by line, derived from their payable accounts, and
    where it stands (payouts/model.py ``Funds``): pending until the order's withdrawal
    period after delivery has ended, then available, then on a payout statement."""
    policy, now = policy or PayoutPolicy(), now or utcnow()
    with db.read() as session:
        amounts = []
        swept: dict[SourceKey, StatementStatus] = {}
        for currency in _creator_currencies(session, actor.user_id):
            account = AccountKey.creator_payable(actor.user_id, currency)
            amounts += [(posting.source, posting.amount) for posting in ledger.postings_to(
                session, account, (LINE_PAID, LINE_REFUNDED))]
            swept.update(payouts.swept_sources(session, account))
        line_ids = {_line_id(source) for source, _ in amounts}
        rows = session.execute(select(OrderLine, Order).join(Order, Order.id ==
                                                             OrderLine.order_id)
                               .where(OrderLine.id.in_(line_ids))).all()
        views = _commissions(session, amounts, {line.id: (line, order) for line, order in rows})
        funds = _funds(amounts, swept, {line.id: order for line, order in rows}, policy, now)
        views = [view.model_copy(update={"funds": funds.of_line.get(view.line_id,
                                                                    Funds.PENDING)})
                 for view in views]
        views.sort(key=lambda view: (view.paid_at.timestamp() if view.paid_at else 0.0,
                                     view.line_id), reverse=True)
        return Earnings(lines=views, pending=funds.total(Funds.PENDING),
                        available=funds.total(Funds.AVAILABLE),
                        in_payout=funds.total(Funds.IN_PAYOUT), paid=funds.total(Funds.PAID))


@dataclass
class _FundsOf:
    # Funds -> currency -> what the creator is owed (commission less clawbacks).
    totals: dict[Funds, dict[str, int]]
    # A line's state: that of its postings not paid out yet, if any, else of its statement.
    of_line: dict[int, Funds]

    def total(self, state: Funds) -> dict[str, int]:
        return dict(sorted(self.totals.get(state, {}).items()))


def _funds(amounts: list[tuple[SourceKey, int]], swept: Mapping[SourceKey, StatementStatus],
           orders: Mapping[int, Order], policy: PayoutPolicy, now: datetime) -> _FundsOf:
    totals: dict[Funds, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    of_line: dict[int, Funds] = {}
    rank = [Funds.PAID, Funds.IN_PAYOUT, Funds.AVAILABLE, Funds.PENDING]
    for source, amount in amounts:
        line_id = _line_id(source)
        order = orders.get(line_id)
        if order is None:
            continue
        state = funds_of(swept.get(source),
                         policy.is_available(order.market, order.delivered_at, now))
        totals[state][order.currency] -= amount  # a payable is a credit: owed is negative
        current = of_line.get(line_id)
        if current is None or rank.index(state) > rank.index(current):
            of_line[line_id] = state
    return _FundsOf(totals, of_line)


def _terms_now(session: Session, order: Order, now: datetime
               ) -> dict[int, tuple[int | None, int]]:
    """Variant id -> (creator, rate) for the order's lines. Bought in a creator's live room
    (the show's host, ``order.creator_id``): the room's host for every line. Otherwise, per
    product, the buyer's last click on a creator's share link within the attribution
    window. Unless the rules say nobody (their own purchase, their own shop), at the best
    rate the creator has for the product; no active plan, no creator."""
    products = {variant_id: product_id for variant_id, product_id in session.execute(
        select(Variant.id, Variant.product_id).where(
            Variant.id.in_([line.variant_id for line in order.lines])))}
    owner_id = session.scalar(select(Shop.owner_id).where(Shop.id == order.shop_id)) or 0
    window = ATTRIBUTION_WINDOW
    room = (Room(order.show_id, order.creator_id)
            if order.creator_id is not None and order.show_id is not None else None)
    clicks = {} if room is not None else storefront.clicks_for(
        session, order.buyer_id, set(products.values()), now - window)
    winners: dict[int, int] = {}  # product id -> creator id
    for product_id in set(products.values()):
        won = attribute(buyer_id=order.buyer_id, seller_id=owner_id, room=room,
                        clicks=clicks.get(product_id, ()), now=now, window=window)
        if won.creator_id is not None:
            winners[product_id] = won.creator_id
    rates: dict[int, int] = {}
    for creator_id in set(winners.values()):
        theirs = [product_id for product_id, won_by in winners.items() if won_by == creator_id]
        rates.update(creators.terms_of(session, order.shop_id, creator_id, theirs, now))
    return {variant_id: (winners[product_id], rates[product_id])
            for variant_id, product_id in products.items() if product_id in rates}


def _refunded_amount(line: OrderLine, units: int) -> int:
    return price_of_units(line.line_total, line.quantity, line.unit_price, units)


def _shipping_tax(order: Order) -> int:
    return order.tax - sum(line.tax for line in order.lines)


def _refund_ids(session: Session, order_id: int) -> list[int]:
    return list(session.scalars(select(Refund.id).where(Refund.order_id == order_id)))


def _creator_currencies(session: Session, creator_id: int) -> list[str]:
    return sorted({key.currency for key in ledger.balances(
        session, kind=AccountKind.CREATOR_PAYABLE, owner=Owner.creator(creator_id))})


def _line_id(source: SourceKey) -> int:
    return int(source.ref.rpartition(":")[2])


def _commissions(session: Session, amounts: list[tuple[SourceKey, int]],
                 lines: Mapping[int, tuple[OrderLine, Order]]) -> list[LineCommission]:
    earned: dict[int, int] = defaultdict(int)
    clawed: dict[int, int] = defaultdict(int)
    for source, amount in amounts:
        line_id = _line_id(source)
        # A payable is a credit: the commission earned is negative, a clawback positive.
        if source.kind == LINE_PAID:
            earned[line_id] -= amount
        else:
            clawed[line_id] += amount
    creator_ids = {line.creator_id for line, _ in lines.values() if line.creator_id}
    names = {user_id: name for user_id, name in session.execute(
        select(User.id, User.display_name).where(User.id.in_(creator_ids)))}
    views = []
    for line_id, (line, order) in lines.items():
        if line.creator_id is None or line_id not in earned:
            continue
        got, back = earned[line_id], clawed.get(line_id, 0)
        state = ("earned" if back == 0 else "clawed_back" if back >= got
                 else "partly_clawed_back")
        views.append(LineCommission(
            line_id=line.id, order_id=order.id, order_number=order.number,
            product_title=f"{line.product_title} {line.variant_title}".strip(),
            creator_id=line.creator_id, creator_name=names.get(line.creator_id, ""),
            currency=order.currency, rate_bp=line.commission_bp, earned=got,
            clawed_back=back, net=got - back, state=state, paid_at=order.paid_at))
    return views
