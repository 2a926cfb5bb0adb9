"""The feed's API: interaction events in (sent by the pages with navigator.sendBeacon),
both tabs out, "not interested", and live viewer counts for the cards."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from liveshop.core.inputs import MAX_INTEGER
from liveshop.feed import model, service
from liveshop.feed.deps import CurrentViewer, State
from liveshop.feed.schemas import (
    EventBatch,
    EventItemType,
    EventsAccepted,
    FeedPage,
    LiveViewers,
    Tab,
)
from liveshop.live.deps import RoomHub
from liveshop.web.deps import Context, CurrentMarket, client_ip

router = APIRouter(tags=["feed"])

MAX_SHOW_IDS = 50


@router.post("/events", response_model=EventsAccepted, status_code=202)
async def post_events(batch: EventBatch, request: Request, viewer: CurrentViewer,
                      state: State, context: Context, market: CurrentMarket) -> EventsAccepted:
    """Queue a batch of interaction events (at most 100). The whole batch is refused,
    naming the field, if one event is invalid; a visitor sending too many batches gets a
    429. Recording is at-most-once: the writer inserts in the background, and a full
    queue drops (and counts) rather than slows anyone down. No Idempotency-Key: a retry
    records the events again, which the rankings tolerate."""
    limit = context.settings.feed_event_batches_per_minute
    await context.limiter.hit_async(f"feed-events:{viewer.key}", limit=limit,
                                    window_seconds=60)
    await context.limiter.hit_async(f"feed-events-ip:{client_ip(request)}", limit=limit * 20,
                                    window_seconds=60)
    accepted, dropped = await run_in_threadpool(
        service.take_events, context.db, state, viewer, market.code, batch.events)
    return EventsAccepted(accepted=accepted, dropped=dropped)


@router.get("/feed", response_model=FeedPage)
def feed(viewer: CurrentViewer, state: State, context: Context, market: CurrentMarket,
         hub: RoomHub, tab: Tab = "for_you",
         cursor: Annotated[str | None, Query(max_length=64)] = None) -> FeedPage:
    """A page of the For-you or Following feed, ten cards, with the cursor of the next."""
    return service.feed_page(context.db, state, viewer, market, tab, cursor,
                             hub.viewer_count)


@router.put("/feed/not-interested/{item_type}/{item_id}", status_code=204,
            response_class=Response)
def not_interested(item_type: EventItemType,
                   item_id: Annotated[int, Path(ge=1, le=MAX_INTEGER)], viewer: CurrentViewer,
                   state: State, context: Context) -> Response:
    """Hide a product or show from this viewer's feed and rank its shop lower. Safe to
    repeat."""
    service.not_interested(context.db, state, viewer, model.ItemType(item_type), item_id)
    return Response(status_code=204)


@router.get("/feed/viewers", response_model=LiveViewers)
async def live_viewers(hub: RoomHub, show_ids: Annotated[str, Query(
        max_length=600, pattern=r"^\d{1,10}(,\d{1,10})*$",
        description="Comma-separated show ids (at most 50)")]) -> LiveViewers:
    """Viewers of live shows now, for the feed's live badges."""
    ids = [int(part) for part in show_ids.split(",")][:MAX_SHOW_IDS]
    return LiveViewers(viewers={str(i): hub.viewer_count(i) for i in ids})
