"""Live-show HTML pages: the show page (waiting room, live room, replay), the host's control
room, the seller's show list and schedule form.

The room itself is driven by static/js/room.js and control.js over the WebSocket
(docs/live-protocol.md); these routes render the first paint and the data attributes the
scripts start from.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from liveshop.accounts.model import Actor, Role
from liveshop.catalog import service as catalog
from liveshop.catalog.pages import Form, error_text, redirect, status_of, submitted, text
from liveshop.checkout import model as checkout_model
from liveshop.core import media
from liveshop.core.db import utcnow
from liveshop.core.errors import DomainError, Forbidden, InvalidInput
from liveshop.creators.landing import landed_via
from liveshop.creators.storefront import Landing
from liveshop.live import chat, creators, shows
from liveshop.live.model import ShowStatus, epoch_ms
from liveshop.live.schemas import ShowCreate, ShowView
from liveshop.live.video_link import video_link
from liveshop.markets.addresses import country_name
from liveshop.markets.model import MARKETS
from liveshop.web.context import AppContext
from liveshop.web.deps import Context, CurrentActor, CurrentMarket, FormCsrf, MaybeActor
from liveshop.web.templating import render

router = APIRouter()

# Browsers report offsets from -14 h to +12 h; anything beyond is a forged field.
MAX_OFFSET_MINUTES = 14 * 60


def local_to_utc(local: str, offset_minutes: str) -> datetime:
    """A datetime-local value plus the browser's getTimezoneOffset() (minutes to add to
    local time to reach UTC) -> an aware UTC datetime. Without the offset (no script)
    the time is read as UTC."""
    try:
        naive = datetime.fromisoformat(local.strip())
    except ValueError:
        raise InvalidInput("Choose the date and time the show starts",
                           field="scheduled_at") from None
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    try:
        offset = int(offset_minutes or "0")
    except ValueError:
        raise InvalidInput("The time zone offset is not a number", field="tz_offset") from None
    if abs(offset) > MAX_OFFSET_MINUTES:
        raise InvalidInput("The time zone offset is out of range", field="tz_offset")
    return (naive + timedelta(minutes=offset)).replace(tzinfo=UTC)


def viewer_market(show_markets: list[str], chosen: str) -> str:
    """The visitor's market when the show sells there, else the show's first (as the
    socket does), so the first paint matches the snapshot."""
    return chosen if chosen in show_markets else show_markets[0]


# --- the show page ---

def _replay(context: AppContext, show: ShowView) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The pin timeline (with each pin's wall-clock time, which the player maps onto the
    recording) and the recording to play (static/js/replay.js)."""
    timeline = [{**entry, "pinned_ms": epoch_ms(datetime.fromisoformat(entry["pinned_at"]))}
                for entry in shows.pin_timeline(context.db, show.id)]
    with context.db.read() as session:
        video = video_link().room_view(session, context.settings.hls_base_url, show.id)
    started = video["recording_started_at"] or epoch_ms(show.started_at or show.scheduled_at)
    return timeline, {"playlist": video["recording"], "poster": video["poster"],
                      "started_ms": started}


def _shipping(context: AppContext, shop_id: int, market_code: str) -> int | None:
    """The shop's flat shipping in the market: a one-tap purchase adds it, so the room
    shows it (and the total) before the tap that pays."""
    return catalog.shipping_by_market(context.db, shop_id).get(market_code)


@router.get("/shows/{show_id}")
def show_page(request: Request, show_id: int, actor: MaybeActor, context: Context,
              market: CurrentMarket, ref: str = "") -> Response:
    page = shows.show_page(context.db, actor, show_id)
    # A creator's share link to the show: the click is theirs (an unknown ref is ignored).
    landed_via(request, context.db, actor, ref, Landing(show_id=show_id))
    timeline, replay = (_replay(context, page.show) if page.show.status == ShowStatus.ENDED
                        else ([], {}))
    room_market = viewer_market(page.show.markets, market.code)
    room, countries = MARKETS[room_market], checkout_model.countries_of(MARKETS[room_market])
    return render(request, "live/show.html", page=page, show=page.show,
                  room_market=room_market, room=room,
                  shipping=_shipping(context, page.show.shop_id, room_market)
                  if page.show.shop_id else None,
                  server_time=epoch_ms(utcnow()),
                  scheduled_ms=epoch_ms(page.show.scheduled_at), timeline=timeline,
                  replay=replay, cards={card["id"]: card for card in page.lineup},
                  countries=countries,
                  # The buy sheet's country list, in the room's language (Babel).
                  country_names={code: country_name(code, room.locale) for code in countries})


@router.get("/shows/{show_id}/control")
def control_room(request: Request, show_id: int, actor: CurrentActor, context: Context,
                 market: CurrentMarket) -> Response:
    page = shows.show_page(context.db, actor, show_id)
    if not page.can_moderate:
        raise Forbidden("Only the show's host, shop and moderators can open its control room",
                        field="show_id")
    return render(request, "live/control.html", page=page, show=page.show,
                  room=MARKETS[viewer_market(page.show.markets, market.code)],
                  room_market=viewer_market(page.show.markets, market.code),
                  sale_markets=[MARKETS[code] for code in page.show.markets],
                  moderators=chat.moderators(context.db, show_id) if page.can_host else [])


# --- seller: shows ---

def _may_schedule(actor: Actor) -> Actor:
    if not (actor.can_sell() or actor.role is Role.CREATOR):
        raise Forbidden("Shows are scheduled from seller and creator accounts", field="role")
    return actor


@router.get("/seller/shows")
def seller_shows(request: Request, actor: CurrentActor, context: Context,
                 created: int | None = None) -> Response:
    mine = shows.my_shows(context.db, _may_schedule(actor))
    # Without a shop to host for, "Schedule a show" would lead nowhere: the page says
    # what to do first instead.
    may_schedule = (actor.role is Role.CREATOR
                    or bool(creators.hostable_shop_ids(context.db, actor)))
    return render(request, "live/seller_shows.html", shows=mine, created=created,
                  may_schedule=may_schedule)


# The schedule form's choice of a creator's own show, whose lineup spans several shops.
OWN_SHOW = "own"


def _schedule_form(request: Request, context: Context, actor: Actor, shop_id: int | None,
                   form: dict[str, str], chosen: FormData | None, error: str | None,
                   status_code: int = 200) -> Response:
    shops = [catalog.get_shop(context.db, id_) for id_ in creators.hostable_shop_ids(
        context.db, actor)]
    may_own = actor.role is Role.CREATOR
    own = may_own and (shop_id is None and (form.get("shop_id") == OWN_SHOW or not shops))
    shop = None if own else next((s for s in shops if s.id == shop_id),
                                 shops[0] if shops else None)
    products = [] if shop is None and not own else [
        {"id": product_id, "title": title}
        for product_id, title in shows.lineup_candidates(
            context.db, shop.id if shop else None, actor)]
    return render(request, "live/new_show.html", status_code=status_code, shops=shops,
                  shop=shop, own=own, may_own=may_own, all_markets=list(MARKETS.values()),
                  products=products, form=form, error=error,
                  chosen_markets=set(chosen.getlist("markets")) if chosen else None,
                  chosen_products=set(chosen.getlist("product_ids")) if chosen else set())


@router.get("/seller/shows/new")
def new_show(request: Request, actor: CurrentActor, context: Context,
             shop_id: str | None = None) -> Response:
    chosen = int(shop_id) if shop_id and shop_id.isdigit() else None
    return _schedule_form(request, context, _may_schedule(actor), chosen,
                          {"shop_id": shop_id or ""}, None, None)


def _int_list(values: list[str], field: str) -> list[int]:
    numbers = []
    for index, value in enumerate(values):
        if not value.isdigit():
            raise InvalidInput("Choose from the list", field=f"{field}.{index}")
        numbers.append(int(value))
    return numbers


@router.post("/seller/shows", dependencies=[FormCsrf])
def create_show(request: Request, actor: CurrentActor, context: Context,
                form: Form) -> Response:
    _may_schedule(actor)
    shop_text = text(form, "shop_id")
    shop_id = int(shop_text) if shop_text.isdigit() else None
    try:
        data = ShowCreate(
            shop_id=None if shop_text == OWN_SHOW else shop_id or 0,
            title=text(form, "title").strip(),
            description=text(form, "description"),
            scheduled_at=local_to_utc(text(form, "scheduled_at"), text(form, "tz_offset")),
            markets=[m for m in form.getlist("markets") if isinstance(m, str)],
            product_ids=_int_list([p for p in form.getlist("product_ids")
                                   if isinstance(p, str)], "product_ids"))
        upload = form.get("cover")
        cover = None
        if isinstance(upload, UploadFile) and upload.filename:
            cover = media.clean_image(upload.file.read(context.settings.max_upload_bytes + 1),
                                      context.settings.max_upload_bytes)
        show = shows.create_show(context.db, actor, data, cover, context.settings.media_dir)
    except (DomainError, ValidationError) as error:
        message, _ = error_text(error)
        return _schedule_form(request, context, actor, shop_id, submitted(form), form,
                              message, status_of(error))
    return redirect(f"/seller/shows?created={show.id}")

