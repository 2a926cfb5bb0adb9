"""Follows of shops and creators, reminders of upcoming shows, and the notices (in the
centre and by mail, liveshop/notifications) they bring when a show goes live."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import User
from liveshop.catalog.orm import Shop
from liveshop.core.db import Database, set_row_present
from liveshop.core.errors import Conflict, NotFound
from liveshop.core.events import record
from liveshop.live.access import load_show
from liveshop.live.events import CreatorFollowed, ShopFollowed
from liveshop.live.model import ShowStatus
from liveshop.live.orm import CreatorFollow, ShopFollow, Show, ShowReminder
from liveshop.notifications import model as notices
from liveshop.notifications.service import post


def notify_audience(session: Session, show: Show) -> None:
    """Tell the followers of the show's shop and host, and those who asked to be reminded
    of it (the host aside), that it is live: a notice linking to the show, and a mail."""
    audience = set(session.scalars(
        select(ShopFollow.follower_id).where(ShopFollow.shop_id == show.shop_id)))
    audience |= set(session.scalars(
        select(CreatorFollow.follower_id).where(CreatorFollow.creator_id == show.host_id)))
    audience |= set(session.scalars(
        select(ShowReminder.user_id).where(ShowReminder.show_id == show.id)))
    audience.discard(show.host_id)
    shop = session.scalar(select(Shop.name).where(Shop.id == show.shop_id)) or (
        session.scalar(select(User.display_name).where(User.id == show.host_id)) or "")
    emails = {row.id: row.email for row in session.execute(
        select(User.id, User.email).where(User.id.in_(audience)))}
    for user_id in sorted(audience):
        post(session, user_id, notices.show_live(show.id, show.title, shop, user_id),
             emails.get(user_id))


def follow_shop(db: Database, actor: Actor, shop_id: int, on: bool = True) -> None:
    with db.transaction() as session:
        if session.get(Shop, shop_id) is None:
            raise NotFound("No such shop", field="shop_id")
        if on and session.get(ShopFollow, (actor.user_id, shop_id)) is None:
            record(session, ShopFollowed(actor.user_id, shop_id))
        set_row_present(session, ShopFollow, (actor.user_id, shop_id), on,
                        lambda: ShopFollow(follower_id=actor.user_id, shop_id=shop_id))


def follow_creator(db: Database, actor: Actor, creator_id: int, on: bool = True) -> None:
    with db.transaction() as session:
        creator = session.get(User, creator_id)
        if creator is None or creator.role not in (Role.CREATOR, Role.SELLER):
            raise NotFound("No such creator", field="creator_id")
        if on and session.get(CreatorFollow, (actor.user_id, creator_id)) is None:
            record(session, CreatorFollowed(actor.user_id, creator_id))
        set_row_present(session, CreatorFollow, (actor.user_id, creator_id), on,
                        lambda: CreatorFollow(follower_id=actor.user_id, creator_id=creator_id))


def remind_me(db: Database, actor: Actor, show_id: int, on: bool = True) -> None:
    with db.transaction() as session:
        show = load_show(session, show_id)
        if show.status != ShowStatus.SCHEDULED:
            raise Conflict("Reminders are for upcoming shows", field="show_id")
        set_row_present(session, ShowReminder, (show_id, actor.user_id), on,
                        lambda: ShowReminder(show_id=show_id, user_id=actor.user_id))


def shop_followers(db: Database, actor: Actor | None, shop_id: int) -> tuple[int, bool]:
    """How many follow the shop, and whether the actor is one of them."""
    with db.read() as session:
        count = session.scalar(select(func.count()).select_from(ShopFollow).where(
            ShopFollow.shop_id == shop_id)) or 0
        following = actor is not None and session.get(
            ShopFollow, (actor.user_id, shop_id)) is not None
        return count, following


def creator_followers(db: Database, actor: Actor | None, creator_id: int) -> tuple[int, bool]:
    """How many follow the creator, and whether the actor is one of them."""
    with db.read() as session:
        count = session.scalar(select(func.count()).select_from(CreatorFollow).where(
            CreatorFollow.creator_id == creator_id)) or 0
        following = actor is not None and session.get(
            CreatorFollow, (actor.user_id, creator_id)) is not None
        return count, following


def reminded_show_ids(db: Database, actor: Actor | None) -> set[int]:
    if actor is None:
        return set()
    with db.read() as session:
        return set(session.scalars(
            select(ShowReminder.show_id).where(ShowReminder.user_id == actor.user_id)))
