"""The API reference (/docs) renders in Chromium under the site's CSP: Swagger UI from npm,
every operation listed, and "Try it out" answers from this server. A console error (a script
or style the CSP refused, a file missing from node_modules) fails the test."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import DESKTOP, NewContext, Screenshot

pytestmark = pytest.mark.e2e


@pytest.fixture
def docs(new_context: NewContext) -> Page:
    page = new_context(viewport=DESKTOP, label="docs").new_page()
    page.goto("/docs")
    return page


def operation(page: Page, method: str, path: str) -> Locator:
    return page.locator(f".opblock-{method} .opblock-summary-path[data-path='{path}']")


def reach(page: Page, tag: str, operation_id: str) -> Locator:
    """An operation's block, scrolled to: Swagger UI draws the operations as they come
    into view, so one far down the page is not drawn on arrival."""
    block = page.locator(f"#operations-{tag}-{operation_id}")
    for _ in range(200):
        if block.count():
            block.scroll_into_view_if_needed()
            return block
        page.mouse.wheel(0, 1500)
        page.wait_for_timeout(100)
    raise AssertionError(f"{operation_id} is not on the page")


def test_the_api_docs_list_the_operations(docs: Page, screenshot: Screenshot) -> None:
    expect(docs.get_by_role("heading", name="liveshop")).to_be_visible()
    expect(operation(docs, "post", "/api/v1/shows/{show_id}/buy")).to_be_visible()
    screenshot(docs, "api-docs")
    markets = reach(docs, "markets", "list_markets_api_v1_markets_get")
    expect(markets.locator(".opblock-summary-path[data-path='/api/v1/markets']")).to_be_visible()
    cart = reach(docs, "checkout", "update_cart_item_api_v1_cart_items__item_id__patch")
    expect(cart.locator(".opblock-summary-path")).to_have_attribute(
        "data-path", "/api/v1/cart/items/{item_id}")


def test_try_it_out_calls_this_server(docs: Page, screenshot: Screenshot) -> None:
    block = reach(docs, "markets", "list_markets_api_v1_markets_get")
    block.locator(".opblock-summary-path").click()
    block.get_by_role("button", name="Try it out").click()
    block.get_by_role("button", name="Execute").click()
    expect(block.locator(".live-responses-table tbody .response-col_status")).to_have_text("200")
    expect(block.locator(".live-responses-table")).to_contain_text('"currency": "GBP"')
    screenshot(docs, "api-docs-try-it-out")
