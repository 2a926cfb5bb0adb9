"""Who may act on a live show: its host (while the shop's creator grant lasts), the
shop's owner, platform admins, and the show's moderators."""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, lazyload

from liveshop.accounts.model import Actor, Role
from liveshop.catalog.orm import Shop
from liveshop.core.errors import Forbidden, NotFound
from liveshop.live import model
from liveshop.live.orm import ShopCreator, Show, ShowModerator


def load_show(session: Session, show_id: int, *, lock: bool = False, lineup: bool = True) -> Show:
    """``lineup=False``: its products are loaded only if read (a statement fewer)."""
    query = select(Show).where(Show.id == show_id)
    if lock:
        query = query.with_for_update()
    if not lineup:
        query = query.options(lazyload(Show.lineup))
    show = session.scalars(query).one_or_none()
    if show is None:
        raise NotFound("No such show", field="show_id")
    return show


def _owns_shop(session: Session, actor: Actor, shop_id: int) -> bool:
    # Its markets are not needed here: loaded only if read (chat posts ask, tens a second).
    shop = session.get(Shop, shop_id, options=[lazyload(Shop.markets)])
    return shop is not None and shop.owner_id == actor.user_id


def can_host(session: Session, actor: Actor | None, show: Show) -> bool:
    """An admin, the shop's owner, or the show's host while they hold the shop's creator
    grant: a creator the shop removed hosts nothing of it from that moment."""
    if actor is None:
        return False
    if actor.is_admin:
        return True
    if show.shop_id is None:
        # A creator's own show is theirs alone: the shops whose products it sells consent
        # to its flash sales (liveshop/live/sale_proposals.py), not to the rest of it.
        return show.host_id == actor.user_id
    if show.host_id != actor.user_id:
        return _owns_shop(session, actor, show.shop_id)
    return _hosts_for_shop(session, actor.user_id, show.shop_id)


def _hosts_for_shop(session: Session, user_id: int, shop_id: int) -> bool:
    """Whether the user owns the shop or holds its creator grant, in one query."""
    granted = exists().where(ShopCreator.shop_id == Shop.id, ShopCreator.creator_id == user_id)
    return session.scalar(select(Shop.id).where(
        Shop.id == shop_id, or_(Shop.owner_id == user_id, granted))) is not None


def can_moderate(session: Session, actor: Actor | None, show: Show) -> bool:
    if actor is None:
        return False
    if actor.role is Role.MODERATOR or can_host(session, actor, show):
        return True
    return session.get(ShowModerator, (show.id, actor.user_id)) is not None


def require_host(session: Session, actor: Actor, show: Show) -> None:
    if not can_host(session, actor, show):
        raise Forbidden("Only the show's host or shop can do this", field="show_id")


def require_moderator(session: Session, actor: Actor, show: Show) -> None:
    if not can_moderate(session, actor, show):
        raise Forbidden("Only the show's host or moderators can do this", field="show_id")


def markets_of(show: Show) -> list[str]:
    return model.market_codes(show.markets)
