"""A creator's storefront: their profile and handle, the showcase of products they promote,
the share-link clicks that earn them sales, and accepting a seller's targeted plan.

Use cases own one transaction each; the functions taking a ``Session`` are building blocks
for the caller's (commission at payment: liveshop/orders/commission.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import User
from liveshop.catalog.orm import Product
from liveshop.core.db import Database, set_row_present, utcnow
from liveshop.core.errors import Forbidden, InvalidInput, NotFound
from liveshop.creators.model import Click, Source, derive_handle, parse_ref
from liveshop.creators.orm import AffiliatePlan, CreatorProfile, ShareClick, ShowcaseItem
from liveshop.creators.schemas import CreatorCard, PlanKind


@dataclass(frozen=True)
class Landing:
    """Where a share link was followed to: a product or a show."""

    product_id: int | None = None
    show_id: int | None = None


# --- plans active for a creator ---

def active_for(creator_id: int, now: datetime) -> ColumnElement[bool]:
    """A plan earns for ``creator_id`` now: not paused, not ended, and open to every
    creator, or targeted at them and accepted."""
    return and_(
        AffiliatePlan.paused.is_(False),
        or_(AffiliatePlan.ends_at.is_(None), AffiliatePlan.ends_at > now),
        or_(AffiliatePlan.kind == PlanKind.OPEN.value,
            and_(AffiliatePlan.kind == PlanKind.TARGETED.value,
                 AffiliatePlan.creator_id == creator_id,
                 AffiliatePlan.accepted_at.is_not(None))))


def plan_rates(session: Session, creator_id: int, product_ids: Collection[int],
               now: datetime) -> dict[int, int]:
    """Product id -> the best rate of the plans active for the creator (absent: none)."""
    rates: dict[int, int] = {}
    for product_id, rate_bp in session.execute(
            select(AffiliatePlan.product_id, AffiliatePlan.rate_bp).where(
                AffiliatePlan.product_id.in_(product_ids), active_for(creator_id, now))):
        rates[product_id] = max(rate_bp, rates.get(product_id, 0))
    return rates


def accept_plan(db: Database, actor: Actor, plan_id: int) -> None:
    """The invited creator accepts a targeted plan: it is active for them from now on.
    Accepting again changes nothing."""
    with db.transaction() as session:
        plan = session.get(AffiliatePlan, plan_id, with_for_update=True)
        if plan is None or plan.kind != PlanKind.TARGETED.value \
                or plan.creator_id != actor.user_id:
            # Another creator's plan is as unknown to them as none at all.
            raise NotFound("No such plan invites you", field="plan_id")
        if plan.accepted_at is None:
            plan.accepted_at = utcnow()


# --- profiles ---

def ensure_profile(session: Session, user: User) -> CreatorProfile:
    """The creator's profile, made with a handle derived from their name on first use."""
    profile = session.get(CreatorProfile, user.id)
    if profile is None:
        stem = derive_handle(user.display_name, user.id, ())
        taken = set(session.scalars(select(CreatorProfile.handle).where(
            CreatorProfile.handle.like(f"{stem}%"))))
        profile = CreatorProfile(user_id=user.id, handle=derive_handle(
            user.display_name, user.id, taken), bio="")
        session.add(profile)
        session.flush()
    return profile


def creator_user(session: Session, actor: Actor, field: str = "Authorization") -> User:
    if actor.role is not Role.CREATOR:
        raise Forbidden("Only creators have a showcase", field=field, code="not_a_creator")
    return session.get_one(User, actor.user_id)


def my_card(db: Database, actor: Actor) -> CreatorCard:
    with db.transaction() as session:
        user = creator_user(session, actor)
        return _card(ensure_profile(session, user), user)


def by_handle(session: Session, handle: str) -> CreatorCard | None:
    """An active creator's card by their handle (any case, with or without '@')."""
    wanted = parse_ref(handle)
    if wanted is None:
        return None
    row = session.execute(select(CreatorProfile, User).join(
        User, User.id == CreatorProfile.user_id).where(
        CreatorProfile.handle == wanted, User.is_active.is_(True),
        User.role == Role.CREATOR.value)).first()
    return _card(*row) if row else None


def creator_by_handle(db: Database, handle: str) -> CreatorCard | None:
    with db.read() as session:
        return by_handle(session, handle)


def creator_cards(db: Database, user_ids: Collection[int]) -> dict[int, CreatorCard]:
    if not user_ids:
        return {}
    with db.read() as session:
        return cards_of(session, user_ids)


def cards_of(session: Session, user_ids: Collection[int]) -> dict[int, CreatorCard]:
    """The creators' cards (the "via Nina Live" of an order line) in one query."""
    return {user.id: _card(profile, user) for profile, user in session.execute(
        select(CreatorProfile, User).join(User, User.id == CreatorProfile.user_id)
        .where(CreatorProfile.user_id.in_(set(user_ids))))}


def _card(profile: CreatorProfile, user: User) -> CreatorCard:
    return CreatorCard(user_id=user.id, handle=profile.handle, display_name=user.display_name,
                       bio=profile.bio, avatar_path=profile.avatar_path)


# --- share links and clicks ---

def land(db: Database, ref: str | None, buyer_id: int | None, visitor: str | None,
         where: Landing, via: Source = Source.SHARE_LINK) -> CreatorCard | None:
    """A page was reached through a creator's share link: record the click and return the
    creator. A ref that names no creator (mistyped, forged, too long) is ignored: the page
    shows as without it. So is a click with nobody to remember it for."""
    if not ref or (buyer_id is None and not visitor):
        return None
    with db.transaction() as session:
        creator = by_handle(session, ref)
        if creator is None:
            return None
        _record(session, creator.user_id, buyer_id, visitor, where, via)
        return creator


def record_click(db: Database, actor: Actor | None, visitor: str | None, ref: str,
                 where: Landing, via: Source = Source.SHARE_LINK) -> CreatorCard:
    """The API's click: like ``land`` but a ref that names no creator, or a product or show
    missing, is a 4xx naming the field."""
    if where.product_id is None and where.show_id is None:
        raise InvalidInput("A click lands on a product or a show", field="product_id")
    if actor is None and not visitor:
        raise InvalidInput("Sign in, or keep the session cookie, to follow a share link",
                           field="ref")
    with db.transaction() as session:
        creator = by_handle(session, ref)
        if creator is None:
            raise InvalidInput("No creator has that handle", field="ref", code="unknown_ref")
        if where.product_id is not None and session.get(Product, where.product_id) is None:
            raise NotFound("No such product", field="product_id")
        _record(session, creator.user_id, actor.user_id if actor else None, visitor, where,
                via)
        return creator


def _record(session: Session, creator_id: int, buyer_id: int | None, visitor: str | None,
            where: Landing, via: Source) -> None:
    session.add(ShareClick(creator_id=creator_id, buyer_id=buyer_id,
                           visitor=None if buyer_id else visitor,
                           product_id=where.product_id, show_id=where.show_id,
                           via=via.value, at=utcnow()))


def claim_visitor_clicks(db: Database, visitor: str | None, buyer_id: int) -> None:
    """A browser that followed links before signing in: its clicks become the buyer's, so
    they earn the sales it goes on to make."""
    if not visitor:
        return
    with db.transaction() as session:
        session.execute(update(ShareClick).where(
            ShareClick.visitor == visitor, ShareClick.buyer_id.is_(None))
            .values(buyer_id=buyer_id, visitor=None))


def clicks_for(session: Session, buyer_id: int, product_ids: Collection[int],
               since: datetime) -> dict[int, list[Click]]:
    """The buyer's clicks on each product's share links since ``since``."""
    clicks: dict[int, list[Click]] = defaultdict(list)
    for product_id, creator_id, at, via in session.execute(
            select(ShareClick.product_id, ShareClick.creator_id, ShareClick.at, ShareClick.via)
            .where(ShareClick.buyer_id == buyer_id, ShareClick.at >= since,
                   ShareClick.product_id.in_(product_ids))):
        if product_id is not None:
            clicks[product_id].append(Click(creator_id, at, Source(via)))
    return dict(clicks)


# --- the showcase ---

def set_in_showcase(db: Database, actor: Actor, product_id: int, on: bool = True) -> None:
    """Add a product to the creator's showcase (only while a plan for it is active for
    them), or take it out (always)."""
    with db.transaction() as session:
        user = creator_user(session, actor)
        ensure_profile(session, user)
        if on:
            if session.get(Product, product_id) is None:
                raise NotFound("No such product", field="product_id")
            if product_id not in plan_rates(session, user.id, [product_id], utcnow()):
                raise InvalidInput("You have no active affiliate plan for this product",
                                   field="product_id", code="no_active_plan")
        set_row_present(session, ShowcaseItem, (user.id, product_id), on,
                        lambda: ShowcaseItem(creator_id=user.id, product_id=product_id))


def showcase_product_ids(session: Session, creator_id: int, now: datetime) -> list[int]:
    """The showcase, newest first, without products whose plan has since ended or paused
    (they stay listed for the creator to see, but are not promoted)."""
    ids = list(session.scalars(select(ShowcaseItem.product_id).where(
        ShowcaseItem.creator_id == creator_id).order_by(ShowcaseItem.added_at.desc(),
                                                        ShowcaseItem.product_id.desc())))
    rates = plan_rates(session, creator_id, ids, now)
    return [product_id for product_id in ids if product_id in rates]

