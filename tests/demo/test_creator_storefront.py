"""The demo shows the creator storefront: Nina's page with her showcase and shows, share
links that brought sales, an invitation and samples, and the shop's affiliate page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.creators.orm import SampleRequest, ShareClick
from liveshop.demo.seed import seed_demo
from tests.demo.test_journeys import HTML, log_in


def test_the_demo_creator_has_a_storefront_and_the_shop_an_affiliate_page(
        db: Database, settings: Settings, client: Any) -> None:
    seed_demo(db, settings)
    seed_demo(db, settings)  # a second seed adds nothing
    with db.read() as session:
        assert (session.scalar(select(func.count()).select_from(ShareClick)) or 0) == 7
        assert sorted(session.scalars(select(SampleRequest.status))) == [
            "approved", "requested"]
    profile = client.get("/@ninalive", headers=HTML)
    assert profile.status_code == 200
    html = profile.text
    assert "Knitwear nerd" in html and "Nina tries on: merino week" in html
    assert "Nina&#39;s scarf styling hour" in html and "?ref=ninalive" in html

    nina = log_in(client, "nina@example.com")
    market = nina.get("/creators/marketplace", headers=HTML).text
    assert "Invitations" in market and "18%" in market and "Remove from showcase" in market
    client.cookies.clear()

    olivia = log_in(client, "olivia@example.com")
    shop_id = olivia.get("/api/v1/shops/mine").json()[0]["id"]
    page = olivia.get(f"/seller/shops/{shop_id}/affiliates", headers=HTML)
    assert page.status_code == 200
    assert "Nina Live" in page.text and "asks for" in page.text and "By week" in page.text
