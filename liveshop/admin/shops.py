"""Shops and shows in the back office: suspend and reinstate a shop, end a live show,
take a replay down."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.accounts.orm import User
from liveshop.admin import audit, model
from liveshop.admin.acting import Keyed, act
from liveshop.admin.model import AuditAction, TargetType
from liveshop.admin.schemas import AdminShopView, AdminShowView, ReasonIn
from liveshop.catalog import service as catalog
from liveshop.catalog.orm import Product, Shop
from liveshop.core.db import Database
from liveshop.core.idempotency import StoredResponse
from liveshop.live import shows as live_shows
from liveshop.live.access import load_show
from liveshop.live.model import ShowStatus
from liveshop.live.orm import Show

RECENT_SHOWS = 30


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _shop_views(session: Session, shops: list[tuple[Shop, str]]) -> list[AdminShopView]:
    ids = [shop.id for shop, _ in shops]
    counts = dict(session.execute(
        select(Product.shop_id, func.count()).where(Product.shop_id.in_(ids))
        .group_by(Product.shop_id)).all()) if ids else {}
    return [AdminShopView(id=shop.id, name=shop.name, slug=shop.slug, owner_id=shop.owner_id,
                          owner_email=email, suspended_at=shop.suspended_at,
                          products=counts.get(shop.id, 0), created_at=shop.created_at)
            for shop, email in shops]


def search_shops(db: Database, admin: Actor, q: str = "", suspended: bool | None = None,
                 limit: int = model.SEARCH_LIMIT) -> list[AdminShopView]:
    """Shops whose name, slug or owner's e-mail contains ``q``, newest first."""
    model.require_admin(admin)
    query = select(Shop, User.email).join(User, User.id == Shop.owner_id)
    words = " ".join(q.split()).lower()
    if words:
        pattern = f"%{_escape_like(words)}%"
        query = query.where(or_(func.lower(Shop.name).like(pattern, escape="\\"),
                                Shop.slug.like(pattern, escape="\\"),
                                func.lower(User.email).like(pattern, escape="\\")))
    if suspended is not None:
        query = query.where(Shop.suspended_at.is_not(None) if suspended
                            else Shop.suspended_at.is_(None))
    with db.read() as session:
        rows = session.execute(query.order_by(Shop.id.desc()).limit(limit)).all()
        return _shop_views(session, list(rows))


def set_shop_suspended(db: Database, admin: Actor, shop_id: int, suspended: bool,
                       data: ReasonIn, keyed: Keyed | None = None) -> StoredResponse:
    """Suspend: the shop leaves every listing, nothing of it can be bought, and its shows
    cannot go live; a show of it on air now is ended in the same transaction (the room
    hears ``show_ended``), and that is in the audit row. Reinstate undoes all but the
    ended shows."""
    def step(session: Session) -> AdminShopView:
        shop, was_suspended = catalog.set_shop_suspended(session, shop_id, suspended)
        ended: list[int] = []
        if suspended:
            for show in live_shows.live_shows_of_shop(session, shop_id):
                live_shows.finish_show(session, show)
                ended.append(show.id)
        after: dict[str, object] = {"suspended": shop.suspended_at is not None}
        if ended:
            after["shows_ended"] = ended
        audit.write(session, admin,
                    AuditAction.SHOP_SUSPENDED if suspended else AuditAction.SHOP_REINSTATED,
                    TargetType.SHOP, shop_id, label=shop.name, reason=data.reason,
                    before={"suspended": was_suspended}, after=after)
        owner = session.get(User, shop.owner_id)
        return _shop_views(session, [(shop, owner.email if owner else "")])[0]

    return act(db, admin, "shop_suspend" if suspended else "shop_reinstate",
               {"shop_id": shop_id, **data.model_dump(mode="json")}, step, keyed)


# --- shows ---

def _show_views(session: Session, shows: list[Show]) -> list[AdminShowView]:
    names = dict(session.execute(select(Shop.id, Shop.name).where(
        Shop.id.in_({show.shop_id for show in shows}))).all()) if shows else {}
    return [AdminShowView(id=show.id, title=show.title, shop_id=show.shop_id,
                          shop_name=names.get(show.shop_id, "") if show.shop_id
                          else "a creator's own show", status=show.status,
                          scheduled_at=show.scheduled_at, started_at=show.started_at,
                          ended_at=show.ended_at, removed_at=show.removed_at)
            for show in shows]


def live_now(session: Session) -> list[AdminShowView]:
    shows = session.scalars(select(Show).where(Show.status == ShowStatus.LIVE)
                            .order_by(Show.started_at.desc(), Show.id))
    return _show_views(session, list(shows))


def shows_for_admin(db: Database, admin: Actor, limit: int = RECENT_SHOWS
                    ) -> tuple[list[AdminShowView], list[AdminShowView]]:
    """Shows live now, and the latest replays (taken down ones too, marked)."""
    model.require_admin(admin)
    with db.read() as session:
        replays = session.scalars(select(Show).where(
            Show.status == ShowStatus.ENDED, Show.started_at.is_not(None))
            .order_by(Show.ended_at.desc(), Show.id.desc()).limit(limit))
        return live_now(session), _show_views(session, list(replays))


def end_show(db: Database, admin: Actor, show_id: int, data: ReasonIn,
             keyed: Keyed | None = None) -> StoredResponse:
    """End a live show: the same step as its host's end (``live.shows.finish_show``)."""
    def step(session: Session) -> AdminShowView:
        show = load_show(session, show_id, lock=True)
        before = show.status
        live_shows.finish_show(session, show)
        audit.write(session, admin, AuditAction.SHOW_ENDED, TargetType.SHOW, show_id,
                    label=show.title, reason=data.reason, before={"status": before},
                    after={"status": show.status})
        return _show_views(session, [show])[0]

    return act(db, admin, "show_end", {"show_id": show_id, **data.model_dump(mode="json")},
               step, keyed)


def remove_replay(db: Database, admin: Actor, show_id: int, data: ReasonIn,
                  keyed: Keyed | None = None) -> StoredResponse:
    def step(session: Session) -> AdminShowView:
        listed = load_show(session, show_id, lock=True, lineup=False).removed_at is None
        show = live_shows.remove_replay(session, show_id)
        audit.write(session, admin, AuditAction.REPLAY_REMOVED, TargetType.SHOW, show_id,
                    label=show.title, reason=data.reason, before={"listed": listed},
                    after={"listed": False})
        return _show_views(session, [show])[0]

    return act(db, admin, "replay_remove", {"show_id": show_id,
                                            **data.model_dump(mode="json")}, step, keyed)
