"""The demo's live show runs by itself through the real services."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from liveshop.catalog.orm import Variant
from liveshop.demo.seed import seed_demo
from liveshop.demo.simulation import DemoSimulation, _bots, ensure_live_show
from liveshop.inventory import service as inventory
from liveshop.inventory.orm import StockLevel
from liveshop.live import shows
from liveshop.live.orm import ChatMessage, FlashSale, FlashSaleProposal
from liveshop.live.purchases import LivePurchases
from liveshop.live.room import create_hub
from liveshop.live.sold_out import SoldOutGate
from liveshop.markets.model import MARKETS
from liveshop.orders import commission
from liveshop.orders.orm import Order
from liveshop.services import app_services
from tests.conftest import run_async


def test_demo_show_goes_live_chats_runs_a_sale_and_sells(app: Any) -> None:
    context = app_services(app).context
    seed_demo(context.db, context.settings)
    hub = create_hub()
    show_id, host, lineup = ensure_live_show(context)
    assert ensure_live_show(context)[0] == show_id  # a restart keeps the same show
    assert shows.get_show(context.db, show_id).status == "live"

    # The purchases a viewer's tap goes through in the app (liveshop/live/purchases.py).
    purchases = LivePurchases(context.db, context.settings, context.payments, context.limiter,
                              SoldOutGate())
    simulation = DemoSimulation(context, hub, purchases)
    simulation.random.seed(7)
    bots = _bots(context.db)
    assert len(_bots(context.db)) == len(bots)  # created once
    simulation._pin(host, show_id, lineup[0])
    simulation._keep_sale_running(host, show_id, lineup[0])
    simulation._drift_audience(show_id)
    for bot in bots[:3]:
        simulation._chat(show_id, bot)
        run_async(simulation._buy(show_id, bot))
    # The bots bought during the sale: the app's settlement queue pays for them.
    while purchases.settle_next():
        pass
    # The show sells a second shop's products too: a bot buys one at its regular price.
    with context.db.read() as session:
        kiez_variant = session.scalars(select(Variant.id).where(
            Variant.product_id == lineup[1]).order_by(Variant.id)).first()
        stock = session.scalars(select(StockLevel).where(
            StockLevel.variant_id == kiez_variant)).one()
    if stock.available < 1:
        with context.db.transaction() as session:
            inventory.receive(session, kiez_variant, 5, note="test restock")
    run_async(purchases.buy(bots[4], show_id, kiez_variant, 1, MARKETS["UK"], "test-kiez-1"))

    assert hub.viewer_count(show_id) >= 24
    with context.db.read() as session:
        assert session.scalar(select(func.count()).select_from(FlashSale)
                              .where(FlashSale.show_id == show_id)) == 1
        assert session.scalar(select(func.count()).select_from(ChatMessage)
                              .where(ChatMessage.show_id == show_id)) == 3
        paid = session.scalars(select(Order).where(Order.show_id == show_id,
                                                   Order.status == "paid")).all()
        # The sale was proposed to its shop, approved, then started.
        assert list(session.scalars(select(FlashSaleProposal.status).where(
            FlashSaleProposal.show_id == show_id))) == ["started"]
    assert len(paid) == 4
    # The demo creator hosts her own show of two shops' products: each line bought earns
    # her commission at that shop's plan rate, in the books.
    assert host.display_name == "Nina Live"
    view = shows.get_show(context.db, show_id)
    assert view.shop_id is None and len({order.shop_id for order in paid}) == 2
    assert all(line.creator_id == host.user_id for order in paid for line in order.lines)
    assert {line.commission_bp for order in paid for line in order.lines} == {1200, 1500}
    earnings = commission.earnings(context.db, host)
    # Her commission on the show's four sales (the seed's share-link orders earn her more).
    from_the_show = [line for line in earnings.lines
                     if line.order_id in {order.id for order in paid}]
    assert len(from_the_show) == 4 and earnings.pending["GBP"] > 0

    # A proposal of the second shop's waits for its seller on the consent page.
    simulation._leave_a_proposal_waiting(host, show_id, lineup)
    simulation._leave_a_proposal_waiting(host, show_id, lineup)  # one, however often
    with context.db.read() as session:
        assert list(session.scalars(select(FlashSaleProposal.status).where(
            FlashSaleProposal.show_id == show_id).order_by(FlashSaleProposal.id))) == [
            "started", "proposed"]
