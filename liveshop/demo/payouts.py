"""The demo's payouts: the delivered demo orders are dated back three weeks (past the 14-day
withdrawal period), the admin runs the payouts once through the back office (audited), and
marks the first statement paid, so the sellers' payouts page, the admin's payouts and books
pages all have something to show. Runs once: while no statement exists."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import exists, func, select, update

from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import User
from liveshop.admin import payouts
from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.orders.orm import Order, OrderEvent, ReturnRequest
from liveshop.payouts.orm import PayoutStatement
from liveshop.payouts.schemas import MarkPaidIn
from liveshop.payouts.service import policy_of

# How long ago the demo's delivered orders were placed, shipped and delivered.
DATED_BACK = timedelta(days=21)
ADMIN = "admin@example.com"


def seed_payouts(db: Database, settings: Settings) -> None:
    with db.transaction() as session:
        if session.scalar(select(func.count()).select_from(PayoutStatement)):
            return
        admin = session.scalars(select(User).where(User.email == ADMIN)).first()
        if admin is None:
            return
        actor = Actor(admin.id, Role(admin.role), admin.display_name)
        # Delivered (or returned and refunded) orders, but not one whose return the seller
        # still has to decide: its return window must stay open.
        settled = select(Order.id).where(
            Order.delivered_at.is_not(None),
            ~exists().where(ReturnRequest.order_id == Order.id,
                            ReturnRequest.status == "requested"))
        order_ids = list(session.scalars(settled))
        if not order_ids:
            return
        session.execute(update(Order).where(Order.id.in_(order_ids)).values(
            created_at=Order.created_at - DATED_BACK, paid_at=Order.paid_at - DATED_BACK,
            shipped_at=Order.shipped_at - DATED_BACK,
            delivered_at=Order.delivered_at - DATED_BACK))
        session.execute(update(OrderEvent).where(OrderEvent.order_id.in_(order_ids)).values(
            created_at=OrderEvent.created_at - DATED_BACK))
    summary = payouts.run(db, actor, policy_of(settings))
    if summary.statements:
        payouts.mark_paid(db, actor, summary.statements[0].id,
                          MarkPaidIn(reference="DEMO-TRANSFER-0001"))
