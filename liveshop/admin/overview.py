"""The back office's front page: orders and GMV (today and in total, per currency), the
shows live now, the open reports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.accounts.orm import User
from liveshop.admin import model, reports, shops
from liveshop.admin.schemas import MoneyTotal, Overview
from liveshop.catalog.orm import Shop
from liveshop.core.db import Database, utcnow
from liveshop.core.money import Money
from liveshop.orders.orm import Order


def _paid_since(session: Session, since: datetime | None) -> tuple[int, list[MoneyTotal]]:
    """Orders paid (since ``since``) and their totals per currency. GMV counts what buyers
    paid for goods, shipping and tax when they paid; later refunds do not lower it."""
    conditions: list[ColumnElement[bool]] = [Order.paid_at.is_not(None)]
    if since is not None:
        conditions.append(Order.paid_at >= since)
    rows = session.execute(select(Order.currency, func.count(), func.sum(Order.total))
                           .where(*conditions).group_by(Order.currency)).all()
    count = sum(int(n) for _, n, _ in rows)
    totals = model.money_by_currency((currency, int(total or 0)) for currency, _, total in rows)
    return count, [MoneyTotal(currency=currency, amount=amount,
                              formatted=Money(amount, currency).format("en-GB"))
                   for currency, amount in totals.items()]


def overview(db: Database, admin: Actor) -> Overview:
    model.require_admin(admin)
    with db.read() as session:
        today, gmv_today = _paid_since(session, model.start_of_day(utcnow()))
        total, gmv_total = _paid_since(session, None)
        return Overview(
            orders_today=today, orders_total=total, gmv_today=gmv_today, gmv_total=gmv_total,
            live_now=shops.live_now(session), open_reports=reports.open_count(session),
            suspended_users=int(session.scalar(select(func.count()).select_from(User)
                                               .where(User.is_active.is_(False))) or 0),
            suspended_shops=int(session.scalar(select(func.count()).select_from(Shop)
                                               .where(Shop.suspended_at.is_not(None))) or 0),
        )
