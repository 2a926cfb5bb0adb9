"""Live-show API: shows, lineup, going live, pins, flash sales, moderation, follows."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Request, Response, UploadFile
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from liveshop.core.inputs import Id, JsonInput
from liveshop.live import chat, creators, follows, sale_proposals, sales, shows
from liveshop.live.deps import Purchases, RoomHub
from liveshop.live.model import ShowStatus
from liveshop.live.schemas import (
    BannedWordsIn,
    BuyIn,
    BuyView,
    ChatIn,
    ChatView,
    CommissionPercent,
    ModeratorIn,
    ModeratorView,
    MuteIn,
    PinIn,
    ProposalView,
    SaleIn,
    SaleView,
    ShowCreate,
    ShowStats,
    ShowUpdate,
    ShowView,
    SlowModeIn,
    UserRef,
)
from liveshop.markets.model import get_market
from liveshop.web.deps import Context, CurrentActor, CurrentMarket, IdempotencyKey
from liveshop.web.errors import ErrorBody

router = APIRouter(tags=["live"])
# Also served, for taps on a sold-out sale, by liveshop/live/sold_out.py (SoldOutLane).
BUY_PATH = "/shows/{show_id}/buy"


class PinnedView(BaseModel):
    product: dict[str, Any] | None


class TimelineEntry(BaseModel):
    product_id: int
    title: str
    offset_seconds: float
    pinned_at: str


class Done(BaseModel):
    ok: bool = True


# The routes a live room calls most, first: FastAPI tries a router's routes in order for
# every request (twice: to choose the router, then the route), and a flash sale's taps
# arrive by the thousand.
@router.post(BUY_PATH, status_code=201, response_model=BuyView,
             responses={202: {"model": BuyView, "description": (
                 "Flash sale: the units are yours and payment follows; "
                 "see Location (GET /purchases/{purchase_id})")}})
async def buy(show_id: Id, data: BuyIn, actor: CurrentActor, market: CurrentMarket,
              purchases: Purchases, request: Request, response: Response,
              idempotency_key: IdempotencyKey) -> BuyView:
    """One tap: default address and card, the flash-sale price while a sale runs."""
    if data.market is not None:
        market = get_market(data.market, field="market")
    bought = await purchases.buy(actor, show_id, data.variant_id, data.quantity, market,
                                 idempotency_key)
    if bought.status == "pending":
        response.status_code = 202
        response.headers["Location"] = request.app.url_path_for(
            "purchase", purchase_id=str(bought.purchase_id))
    return bought


@router.get("/purchases/{purchase_id}", response_model=BuyView)
def purchase(purchase_id: Id, actor: CurrentActor, purchases: Purchases) -> BuyView:
    """Where a flash-sale purchase stands: pending until paid, or failed (units given back)."""
    return purchases.purchase(actor, purchase_id)


@router.post("/shows/{show_id}/chat", status_code=201, response_model=ChatView)
def post_chat(show_id: Id, data: ChatIn, actor: CurrentActor, context: Context) -> ChatView:
    return chat.post_chat(context.db, context.limiter, actor, show_id, data.text)


@router.post("/shows", status_code=201, response_model=ShowView)
def create_show(data: ShowCreate, actor: CurrentActor, context: Context) -> ShowView:
    return shows.create_show(context.db, actor, data)


@router.get("/shows", response_model=list[ShowView])
def list_shows(context: Context, market: CurrentMarket, status: ShowStatus | None = None,
               shop_id: Id | None = None) -> list[ShowView]:
    return shows.list_shows(context.db, market.code, status, shop_id)


@router.get("/shows/{show_id}", response_model=ShowView)
def get_show(show_id: Id, context: Context) -> ShowView:
    return shows.get_show(context.db, show_id)


@router.patch("/shows/{show_id}", response_model=ShowView)
def update_show(show_id: Id, data: ShowUpdate, actor: CurrentActor, context: Context
                ) -> ShowView:
    return shows.update_show(context.db, actor, show_id, data)


@router.put("/shows/{show_id}/cover", response_model=ShowView)
def set_cover(show_id: Id, file: Annotated[UploadFile, File(description="JPEG, PNG or WebP")],
              actor: CurrentActor, context: Context) -> ShowView:
    data = file.file.read(context.settings.max_upload_bytes + 1)
    return shows.set_cover(context.db, context.settings, actor, show_id, data)


@router.post("/shows/{show_id}/live", response_model=ShowView)
def go_live(show_id: Id, actor: CurrentActor, context: Context) -> ShowView:
    return shows.go_live(context.db, actor, show_id)


@router.post("/shows/{show_id}/end", response_model=ShowView)
def end_show(show_id: Id, actor: CurrentActor, context: Context) -> ShowView:
    return shows.end_show(context.db, actor, show_id)


@router.put("/shows/{show_id}/pin", response_model=PinnedView)
def pin(show_id: Id, data: PinIn, actor: CurrentActor, context: Context) -> PinnedView:
    card = shows.pin(context.db, actor, show_id, data.product_id)
    return PinnedView(product=dict(card) if card is not None else None)


@router.get("/shows/{show_id}/pins", response_model=list[TimelineEntry])
def pins(show_id: Id, context: Context) -> list[TimelineEntry]:
    return [TimelineEntry(**entry) for entry in shows.pin_timeline(context.db, show_id)]


@router.post("/shows/{show_id}/sales", status_code=201, response_model=SaleView)
def start_sale(show_id: Id, data: SaleIn, actor: CurrentActor, context: Context) -> SaleView:
    return sales.start_sale(context.db, actor, show_id, data)


@router.post("/shows/{show_id}/sale-proposals", status_code=201, response_model=ProposalView,
             responses={409: {"model": ErrorBody, "description": "Not a creator's own show"},
                        422: {"model": ErrorBody, "description": "A product outside the "
                              "lineup, sale terms out of bounds, or a reused "
                              "Idempotency-Key"}})
def propose_sale(show_id: Id, data: SaleIn, actor: CurrentActor, context: Context,
                 idempotency_key: IdempotencyKey) -> Response:
    """In a creator's own show: propose a flash sale of another shop's product to that
    shop. It starts (``.../start``) only once the shop approved it."""
    stored = sale_proposals.propose(context.db, context.settings, actor, show_id, data,
                                    idempotency_key)
    headers = {"Idempotent-Replayed": "true"} if stored.replayed else None
    return JSONResponse(stored.body, status_code=stored.status, headers=headers)


@router.get("/shows/{show_id}/sale-proposals", response_model=list[ProposalView])
def show_proposals(show_id: Id, actor: CurrentActor, context: Context) -> list[ProposalView]:
    return sale_proposals.show_proposals(context.db, actor, show_id)


@router.post("/shows/{show_id}/sale-proposals/{proposal_id}/start", status_code=201,
             response_model=SaleView)
def start_proposed_sale(show_id: Id, proposal_id: Id, actor: CurrentActor,
                        context: Context) -> SaleView:
    """Start the flash sale a shop approved (409 ``not_approved`` otherwise)."""
    return sale_proposals.start(context.db, actor, show_id, proposal_id)


@router.get("/sale-proposals", response_model=list[ProposalView])
def shop_proposals(actor: CurrentActor, context: Context) -> list[ProposalView]:
    """Flash sales creators proposed for the caller's shops' products."""
    return sale_proposals.shop_proposals(context.db, actor)


@router.post("/sale-proposals/{proposal_id}/approve", response_model=ProposalView)
def approve_proposal(proposal_id: Id, actor: CurrentActor, context: Context) -> ProposalView:
    """The shop consents to the proposed price and units (a retry changes nothing)."""
    return sale_proposals.decide(context.db, actor, proposal_id, approve=True)


@router.post("/sale-proposals/{proposal_id}/decline", response_model=ProposalView)
def decline_proposal(proposal_id: Id, actor: CurrentActor, context: Context) -> ProposalView:
    return sale_proposals.decide(context.db, actor, proposal_id, approve=False)


@router.post("/shows/{show_id}/sales/{sale_id}/stop", response_model=SaleView)
def stop_sale(show_id: Id, sale_id: Id, actor: CurrentActor, context: Context) -> SaleView:
    return sales.stop_sale(context.db, actor, show_id, sale_id)


@router.delete("/shows/{show_id}/chat/{message_id}", response_model=Done)
def delete_message(show_id: Id, message_id: Id, actor: CurrentActor, context: Context
                   ) -> Done:
    chat.delete_message(context.db, actor, show_id, message_id)
    return Done()


@router.post("/shows/{show_id}/mutes", status_code=201, response_model=Done)
def mute(show_id: Id, data: MuteIn, actor: CurrentActor, context: Context) -> Done:
    chat.mute(context.db, actor, show_id, data.user_id, data.minutes)
    return Done()


@router.post("/shows/{show_id}/bans", status_code=201, response_model=Done)
def ban(show_id: Id, data: UserRef, actor: CurrentActor, context: Context) -> Done:
    chat.ban(context.db, actor, show_id, data.user_id)
    return Done()


@router.delete("/shows/{show_id}/bans/{user_id}", response_model=Done)
def unban(show_id: Id, user_id: Id, actor: CurrentActor, context: Context) -> Done:
    chat.unban(context.db, actor, show_id, user_id)
    return Done()


@router.put("/shows/{show_id}/slow-mode", response_model=Done)
def slow_mode(show_id: Id, data: SlowModeIn, actor: CurrentActor, context: Context) -> Done:
    chat.set_slow_mode(context.db, actor, show_id, data.seconds)
    return Done()


@router.put("/shows/{show_id}/moderators/{user_id}", response_model=Done)
def add_moderator(show_id: Id, user_id: Id, actor: CurrentActor, context: Context) -> Done:
    chat.set_moderator(context.db, actor, show_id, user_id, True)
    return Done()


@router.post("/shows/{show_id}/moderators", response_model=ModeratorView)
def add_moderator_by_name(show_id: Id, data: ModeratorIn, actor: CurrentActor,
                          context: Context) -> ModeratorView:
    """Make someone a moderator by display name or e-mail address (404 when no account
    has it, 409 ambiguous_user when several people share the name)."""
    return chat.add_moderator(context.db, actor, show_id, data.user)


@router.delete("/shows/{show_id}/moderators/{user_id}", response_model=Done)
def remove_moderator(show_id: Id, user_id: Id, actor: CurrentActor, context: Context
                     ) -> Done:
    chat.set_moderator(context.db, actor, show_id, user_id, False)
    return Done()


@router.put("/shops/{shop_id}/chat-filter", response_model=BannedWordsIn)
def chat_filter(shop_id: Id, data: BannedWordsIn, actor: CurrentActor, context: Context
                ) -> BannedWordsIn:
    return BannedWordsIn(words=chat.set_banned_words(context.db, actor, shop_id, data.words))


@router.put("/shops/{shop_id}/follow", response_model=Done)
def follow_shop(shop_id: Id, actor: CurrentActor, context: Context) -> Done:
    follows.follow_shop(context.db, actor, shop_id, True)
    return Done()


@router.delete("/shops/{shop_id}/follow", response_model=Done)
def unfollow_shop(shop_id: Id, actor: CurrentActor, context: Context) -> Done:
    follows.follow_shop(context.db, actor, shop_id, False)
    return Done()


@router.put("/creators/{creator_id}/follow", response_model=Done)
def follow_creator(creator_id: Id, actor: CurrentActor, context: Context) -> Done:
    follows.follow_creator(context.db, actor, creator_id, True)
    return Done()


@router.delete("/creators/{creator_id}/follow", response_model=Done)
def unfollow_creator(creator_id: Id, actor: CurrentActor, context: Context) -> Done:
    follows.follow_creator(context.db, actor, creator_id, False)
    return Done()


@router.put("/shows/{show_id}/reminder", response_model=Done)
def remind(show_id: Id, actor: CurrentActor, context: Context) -> Done:
    follows.remind_me(context.db, actor, show_id, True)
    return Done()


@router.delete("/shows/{show_id}/reminder", response_model=Done)
def forget(show_id: Id, actor: CurrentActor, context: Context) -> Done:
    follows.remind_me(context.db, actor, show_id, False)
    return Done()


@router.get("/shows/{show_id}/stats", response_model=ShowStats)
def stats(show_id: Id, actor: CurrentActor, context: Context, hub: RoomHub) -> ShowStats:
    return shows.show_stats(context.db, actor, show_id, hub.viewer_count(show_id))


class CreatorInvite(JsonInput):
    commission_percent: CommissionPercent = Field(
        description="0 to 50, at most two decimals: 12.5 or \"12.5\"")


@router.put("/shops/{shop_id}/creators/{creator_id}", response_model=Done)
def invite_creator(shop_id: Id, creator_id: Id, data: CreatorInvite, actor: CurrentActor,
                   context: Context) -> Done:
    """Invite a creator to host this shop's shows for a commission on their orders."""
    creators.invite_creator(context.db, actor, shop_id, creator_id,
                           int(data.commission_percent * 100))
    return Done()


@router.delete("/shops/{shop_id}/creators/{creator_id}", response_model=Done)
def remove_creator(shop_id: Id, creator_id: Id, actor: CurrentActor, context: Context
                   ) -> Done:
    """End the creator's grant: the shows they host that have not ended go back to the
    shop's owner at once (running flash sales stopped, stream keys replaced)."""
    creators.remove_creator(context.db, actor, shop_id, creator_id)
    return Done()
