"""The seller's Shopify import at 390 x 844 and 1366 x 900: upload, the dry run's report with
its problems by row and column, confirm; nothing wider than the screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from liveshop.app import SESSION_COOKIE
from tests.e2e.conftest import PHONE, LiveServer, NewContext, Screenshot
from tests.e2e.scene import ok, sign_up

pytestmark = pytest.mark.e2e

WIDE: ViewportSize = {"width": 1366, "height": 900}
FIXTURES = Path(__file__).parents[1] / "integrations" / "shopify" / "fixtures"


def _fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width  # type: ignore[index]


@pytest.mark.parametrize("viewport", [PHONE, WIDE], ids=["phone", "desktop"])
def test_upload_check_and_confirm(live_server: LiveServer, new_context: NewContext,
                                  screenshot: Screenshot, viewport: ViewportSize) -> None:
    seller = sign_up(live_server, "seller", "Sam Seller")
    shop = ok(seller.http.post("/api/v1/shops", json={
        "name": "Imported Goods", "markets": [{"market": "UK", "shipping": 399}]}))
    context = new_context(viewport=viewport, label="seller")
    context.add_cookies([{"name": SESSION_COOKIE, "value": seller.http.cookies[SESSION_COOKIE],
                          "url": live_server.url}])
    page = context.new_page()
    label = "phone" if viewport == PHONE else "desktop"

    page.goto(f"/seller/shops/{shop['id']}/import")
    page.get_by_label("Product export (CSV)").set_input_files(str(FIXTURES / "bad_values.csv"))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", name="What the import will do")).to_be_visible()
    problem = page.locator("tr", has_text='"abc" is not a price')
    expect(problem).to_contain_text("3")
    expect(problem).to_contain_text("Variant Price")
    _fits(page)
    screenshot(page, f"shopify-import-dry-run-{label}")

    page.get_by_role("button", name="Import 2 product(s)").click()
    expect(page.get_by_role("heading", name="Imported", exact=True)).to_be_visible()
    _fits(page)
    screenshot(page, f"shopify-import-done-{label}")
    assert len(ok(seller.http.get(f"/api/v1/shops/{shop['id']}/products"))) == 2
