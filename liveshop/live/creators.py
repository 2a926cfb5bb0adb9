"""Creators a shop invites to host its shows for a commission, and the end of that grant."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import User
from liveshop.catalog.access import owned_shop
from liveshop.catalog.orm import Shop
from liveshop.core.db import Database
from liveshop.core.errors import Forbidden, InvalidInput, NotFound
from liveshop.core.events import record
from liveshop.live.events import HostChanged
from liveshop.live.model import ShowStatus
from liveshop.live.orm import FlashSale, ShopCreator, Show, ShowModerator
from liveshop.live.sales import close_sales, record_sales_ended
from liveshop.live.video_link import video_link


def invite_creator(db: Database, actor: Actor, shop_id: int, creator_id: int,
                   commission_bp: int) -> None:
    """Let a creator host the shop's shows, earning ``commission_bp`` of their orders."""
    if not 0 <= commission_bp <= 5000:
        raise InvalidInput("Commission is 0% to 50%", field="commission_percent")
    with db.transaction() as session:
        owned_shop(session, actor, shop_id)
        creator = session.get(User, creator_id)
        if creator is None or creator.role != Role.CREATOR.value:
            raise NotFound("No such creator", field="creator_id")
        existing = session.get(ShopCreator, (shop_id, creator_id))
        if existing is None:
            session.add(ShopCreator(shop_id=shop_id, creator_id=creator_id,
                                    commission_bp=commission_bp))
        else:
            existing.commission_bp = commission_bp


def remove_creator(db: Database, actor: Actor, shop_id: int, creator_id: int) -> None:
    """End the creator's grant, and with it every host power over the shop's shows.

    In the same transaction each show of the shop that the creator hosts and that has not
    ended is handed back to the shop's owner: its running flash sale is stopped (the
    creator set its price and size), its stream key is replaced and a publisher streaming
    with the old key is cut off (through the video link: liveshop/live/video_link.py), and the
    creator's moderator seats on the shows they hosted go too. A live show stays live under
    the shop: its viewers and orders stay, and the shop publishes with the new key or ends
    it (a cut-off video waits the reconnect grace period, as after any drop). Orders made
    before keep their creator."""
    video = video_link()
    with db.transaction() as session:
        shop = session.get(Shop, shop_id)
        if shop is None or (shop.owner_id != actor.user_id and not actor.is_admin):
            raise Forbidden("This shop belongs to another seller", field="shop_id")
        session.execute(delete(ShopCreator).where(ShopCreator.shop_id == shop_id,
                                                  ShopCreator.creator_id == creator_id))
        # Locked: a host action of the creator's under way (host actions that change a show
        # lock it first) finishes before, and one that comes later finds the show handed
        # back and is refused.
        hosted = session.execute(select(Show.id, Show.status).where(
            Show.shop_id == shop_id, Show.host_id == creator_id
        ).order_by(Show.id).with_for_update()).all()
        session.execute(delete(ShowModerator).where(
            ShowModerator.user_id == creator_id,
            ShowModerator.show_id.in_([show_id for show_id, _ in hosted])))
        handed_back = [show_id for show_id, status in hosted if status != ShowStatus.ENDED]
        if not handed_back:
            return
        session.execute(update(Show).where(Show.id.in_(handed_back))
                        .values(host_id=shop.owner_id))
        # Stopped like any sale: its unclaimed units go back to ordinary stock.
        record_sales_ended(session, close_sales(
            session, "stopped", FlashSale.show_id.in_(handed_back)), "stopped")
        owner = session.get_one(User, shop.owner_id)
        for show_id in handed_back:
            record(session, HostChanged(show_id, owner.id, owner.display_name, creator_id))
        video.hand_over(session, handed_back)


def hostable_shop_ids(db: Database, actor: Actor) -> list[int]:
    """Shops whose shows the actor may schedule: their own, and those that invited them."""
    with db.read() as session:
        owned = set(session.scalars(select(Shop.id).where(Shop.owner_id == actor.user_id)))
        invited = set(session.scalars(
            select(ShopCreator.shop_id).where(ShopCreator.creator_id == actor.user_id)))
        return sorted(owned | invited)
