"""A bonus campaign on a creator's live sales, through the real payment path: the line
copies the bonus while the budget has room for all of it, the creator is paid it from the
platform's incentive expense, a refund claws it back in the books (not in the budget), and
the books stay even. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from liveshop.core.db import Database, utcnow
from liveshop.creators.model import LINE_PAID
from liveshop.incentives import service as incentives
from liveshop.incentives.model import Campaign
from liveshop.incentives.orm import BonusCampaign
from liveshop.ledger import service as ledger
from liveshop.ledger.model import AccountKey, SourceKey
from tests.creators.test_commission_posting import (
    Stage,
    assert_books_even,
    buy,
    creator_balance,
    key,
    only_line,
    open_plan,
    paid_order_id,
    schedule_live,
    stage,
)
from tests.factories import make_buyers

__all__ = ["stage"]
EXPENSE = AccountKey.incentive_expense("UK", "GBP")


def test_a_campaign_pays_whole_bonuses_on_live_sales_until_its_budget_is_short(
        stage: Stage, db: Database, client: TestClient) -> None:
    open_plan(stage, 1000)
    with db.transaction() as session:
        # +3% of a £20.00 net is 60: a budget of 130 pays two bonuses, not a third.
        campaign_id = incentives.add_campaign(session, "Launch", Campaign(
            "UK", 300, 130, utcnow() - timedelta(hours=1), utcnow() + timedelta(days=1),
            stage.creator.id)).id
    show_id = schedule_live(stage.creator, stage.shop_id, stage.product_id)
    (token,) = make_buyers(db, 1)
    orders = [paid_order_id(db, buy(client, token, show_id, stage.variant_id))
              for _ in range(3)]
    lines = [only_line(db, order_id) for order_id in orders]
    assert [line.bonus_bp for line in lines] == [300, 300, 0]
    with db.read() as session:
        posted = ledger.entry_of(session, SourceKey(LINE_PAID, str(lines[0].id)))
        assert posted is not None
        assert posted.amount_of(EXPENSE) == 60
        assert posted.amount_of(AccountKey.creator_payable(stage.creator.id, "GBP")) == -260
        assert ledger.balance(session, EXPENSE) == 120
        assert session.get(BonusCampaign, campaign_id).spent == 120  # type: ignore[union-attr]
    assert creator_balance(db, stage.creator.id) == -(260 + 260 + 200)

    refunded = stage.owner.post(f"/api/v1/orders/{orders[0]}/refunds", json={"full": True},
                                headers=key())
    assert refunded.status_code == 201, refunded.text
    with db.read() as session:
        assert ledger.balance(session, EXPENSE) == 60
        assert session.get(BonusCampaign, campaign_id).spent == 120  # type: ignore[union-attr]
    assert creator_balance(db, stage.creator.id) == -(260 + 200)
    assert_books_even(db)
