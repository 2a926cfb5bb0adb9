"""The demo seller's home and product form in Chromium, on a phone (390x844) and a laptop
(1366x900): nothing wider than the screen, every tile filled, and the other markets' prices
following the main price as it is typed. Screenshots go to tests/e2e/artifacts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from liveshop.core.config import Settings
from liveshop.demo.catalog import DEMO_PASSWORD
from liveshop.demo.seed import seed_demo
from liveshop.markets.model import MARKETS, derive_price
from tests.e2e.conftest import LiveServer, PageErrors, Screenshot, serve_app

PHONE: ViewportSize = {"width": 390, "height": 844}
LAPTOP: ViewportSize = {"width": 1366, "height": 900}


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve_app(tmp_path_factory.mktemp("seller"), rtmp_port=0) as server:
        seed_demo(server.db, Settings(database_url=server.database_url,
                                      media_dir=server.media_dir))
        yield server


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def signed_in(browser: Browser, contexts: list[BrowserContext], errors: PageErrors,
              server: LiveServer, viewport: ViewportSize, email: str) -> Page:
    context = browser.new_context(base_url=server.url, viewport=viewport, locale="en-GB")
    context.set_default_timeout(10_000)
    contexts.append(context)
    page = context.new_page()
    errors.watch(page, email)
    page.goto("/login")
    page.fill('input[name="email"]', email)
    page.fill('input[name="password"]', DEMO_PASSWORD)
    page.locator('main button[type="submit"]').first.click()
    page.wait_for_url(re.compile(r"^(?!.*/login)"))
    return page


def fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"  # type: ignore[index]


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_the_demo_seller_home(demo_server: LiveServer, browser: Browser,
                              contexts: list[BrowserContext], page_errors: PageErrors,
                              screenshot: Screenshot, viewport: ViewportSize) -> None:
    page = signed_in(browser, contexts, page_errors, demo_server, viewport,
                     "olivia@example.com")
    page.goto("/seller")
    for tile in ("#to-ship", "#returns", "#low-stock"):
        expect(page.locator(f"{tile} .count.due")).to_be_visible()
    expect(page.locator("#next-show a.go-live")).to_have_text("Go live")
    expect(page.locator("#sales-today [data-currency]").first).to_be_visible()
    fits(page)
    path: Path = screenshot(page, f"seller-home-{viewport['width']}")
    assert path.exists()


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_the_product_form_works_out_the_other_markets(
        demo_server: LiveServer, browser: Browser, contexts: list[BrowserContext],
        page_errors: PageErrors, screenshot: Screenshot, viewport: ViewportSize) -> None:
    page = signed_in(browser, contexts, page_errors, demo_server, viewport,
                     "olivia@example.com")
    page.goto("/seller")
    page.locator(".shop-item a", has_text="Products").first.click()
    form = page.locator("form[action$='/products#new-product']")
    expect(form.locator('input[name="base_market"]')).to_have_value("UK")
    form.locator('input[name="variant-0-price-UK"]').fill("29.99")
    form.locator("details.other-prices").first.locator("summary").click()
    expected = derive_price(2999, MARKETS["UK"], MARKETS["DE"])
    expect(form.locator('input[name="variant-0-price-DE"]')).to_have_value(
        f"{expected // 100}.{expected % 100:02d}")
    # A price the seller sets is theirs: marked, and left alone when the main price changes.
    form.locator('input[name="variant-0-price-FR"]').fill("31.00")
    expect(form.locator('.price-cell[data-market="FR"] .set-by-you').first).to_be_visible()
    form.locator('input[name="variant-0-price-UK"]').fill("39.99")
    later = derive_price(3999, MARKETS["UK"], MARKETS["DE"])
    expect(form.locator('input[name="variant-0-price-DE"]')).to_have_value(
        f"{later // 100}.{later % 100:02d}")
    expect(form.locator('input[name="variant-0-price-FR"]')).to_have_value("31.00")
    fits(page)
    row = form.locator(".variant-row").first
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header stays on top of the shot
    row.screenshot(path=str(screenshot(page, f"product-form-{viewport['width']}").with_name(
        f"product-form-row-{viewport['width']}.png")))
