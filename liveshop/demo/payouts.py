"""The demo's payouts: the delivered demo orders are dated back three weeks (past the 14-day
withdrawal period), the admin runs the payouts once through the back office (audited), and
marks the first statement paid, so the sellers' payouts page, the admin's payouts and books
pages all have something to show. Runs once: while no statement exists."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import exists, func, select

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
        # A handful of rows: shifted here rather than by SQL interval arithmetic, which
        # SQLite and PostgreSQL spell differently.
        for order in session.scalars(select(Order).where(Order.id.in_(order_ids))):
            for name in ("created_at", "paid_at", "shipped_at", "delivered_at"):
                moment = getattr(order, name)
                if moment is not None:
                    setattr(order, name, moment - DATED_BACK)
        for event in session.scalars(select(OrderEvent).where(
                OrderEvent.order_id.in_(order_ids))):
            event.created_at -= DATED_BACK
    summary = payouts.run(db, actor, policy_of(settings))
    if summary.statements:
        payouts.mark_paid(db, actor, summary.statements[0].id,
                          MarkPaidIn(reference="DEMO-TRANSFER-0001"))
