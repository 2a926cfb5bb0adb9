"""Flash sales with the shop's consent: in a creator's own show (products of several shops),
the creator proposes a flash sale (price per market, units, per-buyer limit, duration) for a
product of another shop; that shop's owner approves or declines it (the seller's page
/seller/sale-proposals); only an approved proposal starts in the room, once, its units held
from that shop's stock as any sale's (``sales.open_sale``). Each use case owns its
transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.accounts.orm import User
from liveshop.catalog.access import owned_shop
from liveshop.catalog.orm import Product, Shop, Variant
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.core.errors import Conflict, NotFound
from liveshop.core.idempotency import StoredResponse, fingerprint, run_once
from liveshop.live import model
from liveshop.live.access import load_show, markets_of, require_host
from liveshop.live.model import ShowStatus
from liveshop.live.orm import FlashSaleProposal, Show
from liveshop.live.sales import ensure_sale_may_start, lineup_variant, open_sale, sale_view
from liveshop.live.schemas import ProposalView, SaleIn, SaleView
from liveshop.markets.model import MARKETS

PROPOSED, APPROVED, DECLINED, STARTED = "proposed", "approved", "declined", "started"


def propose(db: Database, settings: Settings, actor: Actor, show_id: int, data: SaleIn,
            idempotency_key: str) -> StoredResponse:
    """Once per Idempotency-Key: a retry returns the proposal the first request made."""
    return run_once(
        db, user_id=actor.user_id, key=idempotency_key,
        abandoned_seconds=settings.idempotency_abandoned_seconds,
        request_fingerprint=fingerprint("sale_proposal", {
            "show_id": show_id, **data.model_dump(mode="json")}),
        operation=lambda session: (
            201, _propose(session, actor, show_id, data).model_dump(mode="json")))


def _propose(session: Session, actor: Actor, show_id: int, data: SaleIn) -> ProposalView:
    show = load_show(session, show_id)
    require_host(session, actor, show)
    if show.shop_id is not None:
        raise Conflict("A shop's show starts its flash sales directly", field="show_id",
                       code="not_a_creator_show")
    if show.status == ShowStatus.ENDED:
        raise Conflict("The show has ended", field="show_id")
    variant = lineup_variant(session, show, data.variant_id)
    # Checked as the sale will be (below the regular price, every market of the show), so
    # the seller never approves a sale that cannot start.
    terms = model.validate_sale(
        data.prices, data.quantity, data.per_buyer_limit, data.duration_seconds,
        set(markets_of(show)), {p.market: p.amount_minor for p in variant.prices})
    proposal = FlashSaleProposal(
        show_id=show.id, shop_id=variant.shop_id, variant_id=variant.id,
        creator_id=actor.user_id, prices=terms.prices, quantity=terms.quantity,
        per_buyer_limit=terms.per_buyer_limit, duration_seconds=data.duration_seconds,
        status=PROPOSED, created_at=utcnow())
    session.add(proposal)
    session.flush()
    return proposal_views(session, [proposal])[0]


def decide(db: Database, actor: Actor, proposal_id: int, approve: bool) -> ProposalView:
    """The shop's owner (or an admin) approves or declines. Deciding the same way again
    changes nothing (a retried click); changing one's mind after deciding is refused."""
    with db.transaction() as session:
        proposal = session.get(FlashSaleProposal, proposal_id, with_for_update=True)
        if proposal is None:
            raise NotFound("No such flash-sale proposal", field="proposal_id")
        owned_shop(session, actor, proposal.shop_id, field="proposal_id")
        wanted = APPROVED if approve else DECLINED
        if proposal.status == PROPOSED:
            proposal.status, proposal.decided_by = wanted, actor.user_id
            proposal.decided_at = utcnow()
        elif proposal.status != wanted and not (approve and proposal.status == STARTED):
            raise Conflict(f"This proposal is already {proposal.status}",
                           field="proposal_id", code="already_decided")
        return proposal_views(session, [proposal])[0]


def start(db: Database, actor: Actor, show_id: int, proposal_id: int) -> SaleView:
    """The host starts an approved proposal: the sale the shop consented to, once."""
    with db.transaction() as session:
        show = load_show(session, show_id, lock=True)
        require_host(session, actor, show)
        proposal = session.get(FlashSaleProposal, proposal_id, with_for_update=True)
        if proposal is None or proposal.show_id != show.id:
            raise NotFound("No such flash-sale proposal in this show", field="proposal_id")
        if proposal.status != APPROVED:
            why = ("has already started" if proposal.status == STARTED
                   else f"is {proposal.status}: only a proposal the shop approved starts")
            raise Conflict(f"This proposal {why}", field="proposal_id", code="not_approved")
        ensure_sale_may_start(session, show)
        variant = lineup_variant(session, show, proposal.variant_id)
        terms = model.validate_sale(
            dict(proposal.prices), proposal.quantity, proposal.per_buyer_limit,
            proposal.duration_seconds, set(markets_of(show)),
            {p.market: p.amount_minor for p in variant.prices})
        sale = open_sale(session, show, variant, terms)
        proposal.status, proposal.sale_id = STARTED, sale.id
        return sale_view(session, sale)


def show_proposals(db: Database, actor: Actor, show_id: int) -> list[ProposalView]:
    """The show's proposals, newest first, for its host."""
    with db.read() as session:
        require_host(session, actor, load_show(session, show_id, lineup=False))
        return proposal_views(session, list(session.scalars(
            select(FlashSaleProposal).where(FlashSaleProposal.show_id == show_id)
            .order_by(FlashSaleProposal.id.desc()))))


def shop_proposals(db: Database, actor: Actor, limit: int = 100) -> list[ProposalView]:
    """Proposals to the actor's shops (every shop's, for an admin): those awaiting a
    decision first, then the newest."""
    with db.read() as session:
        query = select(FlashSaleProposal)
        if not actor.is_admin:
            query = query.where(FlashSaleProposal.shop_id.in_(
                select(Shop.id).where(Shop.owner_id == actor.user_id)))
        return proposal_views(session, list(session.scalars(query.order_by(
            (FlashSaleProposal.status == PROPOSED).desc(), FlashSaleProposal.id.desc())
            .limit(limit))))


def proposal_views(session: Session, proposals: Sequence[FlashSaleProposal]
                   ) -> list[ProposalView]:
    """Views in one query however many proposals."""
    if not proposals:
        return []
    rows = session.execute(
        select(FlashSaleProposal.id, Show.title, Shop.name, User.display_name,
               Product.title, Variant.option1)
        .join(Show, Show.id == FlashSaleProposal.show_id)
        .join(Shop, Shop.id == FlashSaleProposal.shop_id)
        .join(User, User.id == FlashSaleProposal.creator_id)
        .join(Variant, Variant.id == FlashSaleProposal.variant_id)
        .join(Product, Product.id == Variant.product_id)
        .where(FlashSaleProposal.id.in_([proposal.id for proposal in proposals])))
    names = {row[0]: row[1:] for row in rows}
    views = []
    for proposal in proposals:
        show_title, shop_name, creator_name, product_title, option = names[proposal.id]
        views.append(ProposalView(
            id=proposal.id, show_id=proposal.show_id, show_title=show_title,
            shop_id=proposal.shop_id, shop_name=shop_name, creator_id=proposal.creator_id,
            creator_name=creator_name, variant_id=proposal.variant_id,
            product_title=f"{product_title} · {option}" if option else product_title,
            prices=dict(proposal.prices),
            prices_formatted={market: MARKETS[market].format(amount)
                              for market, amount in proposal.prices.items()},
            quantity=proposal.quantity, per_buyer_limit=proposal.per_buyer_limit,
            duration_seconds=proposal.duration_seconds, status=proposal.status,
            sale_id=proposal.sale_id, created_at=proposal.created_at,
            decided_at=proposal.decided_at))
    return views
