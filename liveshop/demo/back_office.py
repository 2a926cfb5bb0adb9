"""The demo's back office has something to decide and a history: a few chat lines in a
replay, open reports of one of them and of a product, and an admin's earlier actions (a
report dismissed, a shop suspended while its payout details were checked, then reinstated).

Everything goes through the back office's own use cases, so the audit rows are the ones the
app writes. It runs once: when the database has no report yet."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import func, select

from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import User
from liveshop.accounts.security import hash_password
from liveshop.admin import reports, shops
from liveshop.admin.model import Decision, ReportTarget
from liveshop.admin.orm import Report
from liveshop.admin.schemas import DecisionIn, ReasonIn, ReportIn
from liveshop.catalog.orm import Product, Shop
from liveshop.core.db import Database
from liveshop.core.ratelimit import MemoryRateLimiter
from liveshop.live.orm import ChatMessage, Show

# (author's e-mail, minutes into the show, text)
REPLAY_CHAT = (
    ("ben@example.com", 3, "That overshirt in olive is great"),
    ("lena@example.com", 5, "Does it come in XS?"),
    ("deals4u@example.com", 8, "CHEAP COPIES of every brand, DM me!!! @knockoffs4u"),
    ("ben@example.com", 12, "Ordered the shacket, thanks Olivia"),
)


def _actor(user: User) -> Actor:
    return Actor(user.id, Role(user.role), user.display_name)


# Who posts the spam the demo buyers report (not one of the demo logins).
SPAMMER = ("deals4u@example.com", "Dealz4U")


def seed_back_office(db: Database) -> None:
    with db.transaction() as session:
        if session.scalar(select(func.count()).select_from(Report)):
            return
        if session.scalar(select(User.id).where(User.email == SPAMMER[0])) is None:
            session.add(User(email=SPAMMER[0], display_name=SPAMMER[1], role="buyer",
                             password_hash=hash_password(secrets.token_urlsafe(24))))
    with db.read() as session:
        people = {user.email: user for user in session.scalars(select(User))}
        replay = session.scalars(select(Show).where(
            Show.title == "Autumn layers live", Show.status == "ended")).first()
        shop_products = {shop.slug: (shop.id, session.scalars(
            select(Product.id).where(Product.shop_id == shop.id, Product.status == "active")
            .order_by(Product.id)).all()) for shop in session.scalars(select(Shop))}
    needed = ("admin@example.com", "ben@example.com", "lena@example.com")
    if replay is None or any(email not in people for email in needed) \
            or "casa-sol" not in shop_products or "bottega-lume" not in shop_products:
        return
    admin, ben, lena = (_actor(people[email]) for email in needed)
    with db.transaction() as session:
        lines = []
        for email, minute, text in REPLAY_CHAT:
            author = people[email]
            line = ChatMessage(show_id=replay.id, user_id=author.id, author=author.display_name,
                               text=text, created_at=(replay.started_at or replay.scheduled_at)
                               + timedelta(minutes=minute))
            session.add(line)
            lines.append(line)
        session.flush()
        spam_id = lines[2].id
    limiter = MemoryRateLimiter()
    casa_shop, casa_products = shop_products["casa-sol"]
    _, lume_products = shop_products["bottega-lume"]
    # History first: a report the admin looked at and dismissed.
    if lume_products:
        dismissed = reports.report(db, limiter, ben, ReportIn(
            target_type=ReportTarget.PRODUCT, target_id=lume_products[0],
            reason="Looks hand-made but the price is very low: is it genuine?"))
        reports.decide(db, admin, dismissed.id, DecisionIn(
            decision=Decision.DISMISS, reason="Checked with the maker: genuine seconds"))
    shops.set_shop_suspended(db, admin, casa_shop, True, ReasonIn(
        reason="Payout account details failed verification"))
    shops.set_shop_suspended(db, admin, casa_shop, False, ReasonIn(
        reason="New payout details verified"))
    # Open: what the demo admin finds in the queue.
    reports.report(db, limiter, ben, ReportIn(
        target_type=ReportTarget.CHAT_MESSAGE, target_id=spam_id,
        reason="Spam advertising counterfeits"))
    reports.report(db, limiter, lena, ReportIn(
        target_type=ReportTarget.CHAT_MESSAGE, target_id=spam_id,
        reason="Selling fakes in the chat"))
    if casa_products:
        reports.report(db, limiter, lena, ReportIn(
            target_type=ReportTarget.PRODUCT, target_id=casa_products[-1],
            reason="The photos show a different colour from the one I received"))
