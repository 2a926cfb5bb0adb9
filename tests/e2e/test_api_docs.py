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


def test_the_api_docs_list_the_operations(docs: Page, screenshot: Screenshot) -> None:
    expect(docs.get_by_role("heading", name="liveshop")).to_be_visible()
    expect(operation(docs, "get", "/api/v1/markets")).to_be_visible()
    expect(operation(docs, "patch", "/api/v1/cart/items/{item_id}")).to_be_visible()
    assert docs.locator(".opblock").count() >= 80
    screenshot(docs, "api-docs")


def test_try_it_out_calls_this_server(docs: Page, screenshot: Screenshot) -> None:
    operation(docs, "get", "/api/v1/markets").click()
    block = docs.locator("#operations-markets-list_markets_api_v1_markets_get")
    block.get_by_role("button", name="Try it out").click()
    block.get_by_role("button", name="Execute").click()
    expect(block.locator(".live-responses-table tbody .response-col_status")).to_have_text("200")
    expect(block.locator(".live-responses-table")).to_contain_text('"currency": "GBP"')
    screenshot(docs, "api-docs-try-it-out")
