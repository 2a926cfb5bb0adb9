"""The demo shows the incentives: a new seller on its fee holiday while the older shops pay
the fee, Nina's running bonus campaign, and a voucher code a buyer can find and use."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from liveshop.catalog.orm import Shop
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.demo.catalog import DEMO_PASSWORD
from liveshop.demo.seed import seed_demo
from liveshop.incentives import service as incentives
from liveshop.incentives.orm import BonusCampaign, Voucher
from liveshop.ledger import service as ledger
from liveshop.ledger.model import AccountKey


def test_the_demo_has_a_fee_holiday_shop_a_bonus_campaign_and_a_voucher(
        db: Database, settings: Settings, client: Any) -> None:
    lines = seed_demo(db, settings)
    assert any("LIVE5" in line for line in lines)
    now = utcnow()
    with db.read() as session:
        holiday = incentives.holiday_policy(session)
        on_holiday = [shop.slug for shop in session.scalars(select(Shop))
                      if holiday.in_days(shop.created_at, now)]
        assert on_holiday == ["harbour-and-pine"]
        campaign = session.scalars(select(BonusCampaign)).one()
        assert campaign.starts_at <= now < campaign.ends_at and campaign.creator_id
        live5 = session.scalars(select(Voucher).where(Voucher.code == "LIVE5")).one()
        assert live5.spent == 500
        assert ledger.balance(session, AccountKey.incentive_expense("UK", "GBP")) >= 500
        assert all(row.balanced for row in ledger.trial_balance(session))
        assert [offer.code for offer in incentives.offers(session, "UK", now)] == ["LIVE5"]
    login = client.post("/api/v1/auth/login", json={"email": "admin@example.com",
                                                     "password": DEMO_PASSWORD})
    assert login.status_code == 200
    page = client.get("/admin/incentives")
    assert page.status_code == 200
    assert "LIVE5" in page.text and "Nina&#39;s launch bonus" in page.text
