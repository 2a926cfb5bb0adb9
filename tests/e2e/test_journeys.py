"""Every page of the shopper's, the live viewer's and the seller's journeys, at 390 x 844 and
1366 x 900: nothing wider than the screen, no text covered by another element, no console
error, no serious or critical axe-core violation, and every control reached by the Tab key.

One shared stage (a shop with products, a live show with a pinned product, a flash sale and
chat, a buyer with a paid order and a full cart) serves every page. A page is one ``Visit``
in ``VISITS``; adding a page to every check is one line there. Screenshots of every page at
both widths are saved under var/screenshots/ (gitignored): look at them.

axe-core comes from npm (package.json; ``make install`` runs ``npm ci``) and is served to
the page under a same-origin test URL, so the site's Content-Security-Policy stays on while
it runs (an inline copy would be refused as an inline script).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import BrowserContext, Page, Response, Route, ViewportSize, expect

from liveshop.accounts.orm import User
from liveshop.app import SESSION_COOKIE
from tests.e2e.conftest import PHONE, LiveServer, NewContext, PageErrors
from tests.e2e.scene import Account, ok, sign_up

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "var" / "screenshots"
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# A same-origin address the test answers itself (never reaches the server).
AXE_URL = "/__e2e__/axe.min.js"
WIDE: ViewportSize = {"width": 1366, "height": 900}
VIEWPORTS = [pytest.param(PHONE, id="phone"), pytest.param(WIDE, id="desktop")]
# What the acceptance allows axe to report: nothing serious or critical.
BLOCKING_IMPACTS = ("serious", "critical")


@dataclass(frozen=True)
class Stage:
    """What the pages show; its fields fill the ``{placeholders}`` of a visit's path."""

    seller: Account
    buyer: Account
    admin: Account
    shop_id: int
    shop_slug: str
    product_id: int
    show_id: int
    order_id: int
    replay_id: int
    creator: Account
    creator_handle: str

    def account(self, who: str) -> Account:
        accounts: dict[str, Account] = {
            "seller": self.seller, "buyer": self.buyer, "admin": self.admin,
            "creator": self.creator}
        return accounts[who]


@dataclass(frozen=True)
class Visit:
    """One page to check: who looks at it (None: signed out), its path with ``{stage
    fields}`` and, for pages drawn by script, a selector that shows once they are drawn."""

    name: str
    who: str | None
    path: str
    ready: str | None = None

    def url(self, stage: Stage) -> str:
        return self.path.format(**vars(stage))


VISITS = [
    # The shopper: browse, pick, pay, follow the order.
    Visit("home", "buyer", "/"),
    Visit("following", "buyer", "/following"),
    Visit("products", "buyer", "/products"),
    Visit("shows", "buyer", "/shows"),
    Visit("shop", "buyer", "/{shop_slug}"),
    Visit("product", "buyer", "/products/{product_id}"),
    Visit("cart", "buyer", "/cart"),
    Visit("checkout", "buyer", "/checkout"),
    Visit("orders", "buyer", "/orders"),
    Visit("order", "buyer", "/orders/{order_id}"),
    # The live viewer: the room with a pinned product, a flash sale and chat.
    Visit("live-room", "buyer", "/shows/{show_id}", ready="#pinned-card .tile-total-amount"),
    Visit("replay", "buyer", "/shows/{replay_id}", ready=".pin-entry .tile-total-amount"),
    Visit("account", "buyer", "/account"),
    Visit("notifications", "buyer", "/notifications"),
    Visit("login", None, "/login"),
    Visit("signup", None, "/signup"),
    # The seller: shop, products, stock, orders, shows and the control room.
    Visit("seller-home", "seller", "/seller"),
    Visit("seller-shop", "seller", "/seller/shops/{shop_id}"),
    Visit("seller-products", "seller", "/seller/shops/{shop_id}/products"),
    Visit("seller-product", "seller", "/seller/products/{product_id}"),
    Visit("seller-stock", "seller", "/seller/shops/{shop_id}/stock"),
    Visit("seller-orders", "seller", "/seller/shops/{shop_id}/orders"),
    Visit("seller-order", "seller", "/seller/orders/{order_id}"),
    Visit("seller-shows", "seller", "/seller/shows"),
    Visit("seller-new-show", "seller", "/seller/shows/new"),
    Visit("control-room", "seller", "/shows/{show_id}/control", ready="#chat-list .chat-message"),
    # Creators: a public profile, the marketplace, and the shop's affiliate page.
    Visit("creator-profile", "buyer", "/@{creator_handle}"),
    Visit("product-via-creator", None, "/products/{product_id}?ref={creator_handle}"),
    Visit("creator-marketplace", "creator", "/creators/marketplace"),
    Visit("seller-affiliates", "seller", "/seller/shops/{shop_id}/affiliates"),
    Visit("admin", "admin", "/admin"),
    Visit("admin-users", "admin", "/admin/users"),
    Visit("admin-shops", "admin", "/admin/shops"),
    Visit("admin-shows", "admin", "/admin/shows"),
    Visit("admin-reports", "admin", "/admin/reports"),
    Visit("admin-audit", "admin", "/admin/audit"),
]


def _product(seller: Account, shop_id: int, title: str, options: list[str],
             amount: int) -> dict[str, Any]:
    product: dict[str, Any] = ok(seller.http.post(f"/api/v1/shops/{shop_id}/products", json={
        "title": title, "description": f"{title}: soft, warm and made to last.",
        "status": "active", "options": ["Size"], "tags": ["journeys"],
        "variants": [{"sku": f"{title[:4]}-{value}-{uuid.uuid4().hex[:6]}", "options": [value],
                      "prices": {"UK": {"amount": amount}}} for value in options]}))
    for variant in product["variants"]:
        ok(seller.http.post(f"/api/v1/variants/{variant['id']}/stock/receipts",
                            json={"quantity": 20, "note": "journeys"}))
    return product


def _promote(server: LiveServer, account: Account, role: str) -> None:
    """Admins are made by admins; the first one by hand, as here."""
    with server.db.transaction() as session:
        session.execute(sa.update(User).where(User.id == account.id).values(role=role))


@pytest.fixture(scope="module")
def stage(live_server: LiveServer) -> Iterator[Stage]:
    seller = sign_up(live_server, "seller", "Hannah Host")
    shop = ok(seller.http.post("/api/v1/shops", json={
        "name": f"Glow Studio {uuid.uuid4().hex[:4]}", "description": "Jackets that glow.",
        "markets": [{"market": "UK", "shipping": 399}]}))
    jacket = _product(seller, shop["id"], "Glow Jacket", ["S", "M", "XL"], 2999)
    scarf = _product(seller, shop["id"], "Night Scarf", ["Short", "Long"], 2500)
    show = ok(seller.http.post("/api/v1/shows", json={
        "shop_id": shop["id"], "title": "Friday glow drop", "markets": ["UK"],
        "description": "New jackets, live.",
        "scheduled_at": (datetime.now(UTC) + timedelta(minutes=10)).isoformat(),
        "product_ids": [jacket["id"], scarf["id"]]}))
    show_api = f"/api/v1/shows/{show['id']}"
    ok(seller.http.post(f"{show_api}/live"))
    ok(seller.http.put(f"{show_api}/pin", json={"product_id": jacket["id"]}))

    buyer = sign_up(live_server, "buyer", "Vera Viewer")
    ok(buyer.http.post("/api/v1/me/addresses", json={
        "full_name": "Vera Viewer", "line1": "1 High Street", "city": "London",
        "postcode": "N1 1AA", "country": "GB", "is_default": True}))
    ok(buyer.http.post("/api/v1/payment-methods", json={
        "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034,
                 "cvc": "123"}, "make_default": True}))
    bought = ok(buyer.http.post(f"{show_api}/buy", json={
        "variant_id": jacket["variants"][1]["id"]}, headers={"Idempotency-Key": uuid.uuid4().hex}))
    order_id = ok(buyer.http.get(
        f"/api/v1/orders?checkout_id={bought['checkout_id']}"))[0]["id"]
    ok(buyer.http.post("/api/v1/cart/items", json={"variant_id": scarf["variants"][0]["id"]}))
    ok(buyer.http.post(f"{show_api}/chat", json={"text": "Does the jacket run small?"}))
    ok(seller.http.post(f"{show_api}/chat", json={"text": "True to size, Vera!"}))
    ok(seller.http.post(f"{show_api}/sales", json={
        "variant_id": scarf["variants"][1]["id"], "prices": {"UK": 1500}, "quantity": 5,
        "duration_seconds": 3600}))

    # Last week's show, ended: its replay sells what was pinned.
    ended = ok(seller.http.post("/api/v1/shows", json={
        "shop_id": shop["id"], "title": "Last week's glow drop", "markets": ["UK"],
        "scheduled_at": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
        "product_ids": [jacket["id"]]}))
    ok(seller.http.post(f"/api/v1/shows/{ended['id']}/live"))
    ok(seller.http.put(f"/api/v1/shows/{ended['id']}/pin", json={"product_id": jacket["id"]}))
    ok(seller.http.post(f"/api/v1/shows/{ended['id']}/end"))

    admin = sign_up(live_server, "buyer", "Ada Admin")
    _promote(live_server, admin, "admin")
    creator, handle = _creator_storefront(live_server, seller, shop["id"], jacket, scarf)
    try:
        yield Stage(seller, buyer, admin, shop["id"], shop["slug"], jacket["id"], show["id"],
                    order_id, ended["id"], creator, handle)
    finally:
        for account in (seller, buyer, admin, creator):
            account.http.close()


def _creator_storefront(server: LiveServer, seller: Account, shop_id: int,
                        jacket: dict[str, Any], scarf: dict[str, Any]) -> tuple[Account, str]:
    """A creator with the jacket in her showcase, an invitation for the scarf and a sample
    request waiting for the seller."""
    creator = sign_up(server, "creator", "Nina Glow")
    ok(creator.http.post("/api/v1/me/addresses", json={
        "full_name": "Nina Glow", "line1": "7 Columbia Road", "city": "London",
        "postcode": "E2 7RG", "country": "GB", "is_default": True}))
    plans = f"/api/v1/shops/{shop_id}/affiliate-plans"
    ok(seller.http.post(plans, json={"product_id": jacket["id"], "kind": "open",
                                     "rate_bp": 1000},
                        headers={"Idempotency-Key": uuid.uuid4().hex}))
    ok(seller.http.post(plans, json={
        "product_id": scarf["id"], "kind": "targeted", "rate_bp": 1800,
        "creator_id": creator.id,
        "ends_at": (datetime.now(UTC) + timedelta(days=30)).isoformat()},
        headers={"Idempotency-Key": uuid.uuid4().hex}))
    ok(creator.http.put(f"/api/v1/me/showcase/{jacket['id']}"))
    ok(creator.http.post("/api/v1/sample-requests", json={
        "variant_id": jacket["variants"][0]["id"], "note": "For my Friday show"},
        headers={"Idempotency-Key": uuid.uuid4().hex}))
    offers = ok(creator.http.get("/api/v1/creators/marketplace"))
    return creator, str(offers[0]["share_url"]).rpartition("=")[2]


def open_page(new_context: NewContext, server: LiveServer, stage: Stage, who: str | None,
              viewport: ViewportSize, label: str) -> Page:
    context = new_context(viewport=viewport, label=label)
    serve_axe(context)
    if who is not None:
        cookie = stage.account(who).http.cookies[SESSION_COOKIE]
        context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": server.url}])
    return context.new_page()


def serve_axe(context: BrowserContext) -> None:
    if not AXE_SCRIPT.exists():
        pytest.fail(f"{AXE_SCRIPT} is missing: run `npm ci` (make install)")

    def answer(route: Route) -> None:
        route.fulfill(path=AXE_SCRIPT, content_type="text/javascript")

    context.route(f"**{AXE_URL}", answer)


def save_shot(page: Page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# --- the checks, each a function of a drawn page ---

def horizontal_overflow(page: Page) -> list[str]:
    """What sticks out past the right edge (the page's width, and the widest culprits), and
    boxes whose content is cut off at their right edge, to be scrolled sideways (a table
    whose last column shows half a word)."""
    return list(page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        const name = (element) => `${element.tagName.toLowerCase()}.${
            [...element.classList].join(".")}`;
        const found = [...document.body.querySelectorAll("*")].filter((element) => {
            const style = getComputedStyle(element);
            // A scroller named as a region (a strip of cards on a phone) is meant to scroll.
            const meant = element.matches("[role=region][aria-label]");
            return !meant && ["auto", "scroll"].includes(style.overflowX) && element.clientWidth > 0
                && element.scrollWidth > element.clientWidth + 1
                && element.checkVisibility({ checkVisibilityCSS: true });
        }).map((element) => `${name(element)} scrolls sideways: ${element.scrollWidth}px`
            + ` of content in ${element.clientWidth}px`);
        if (document.documentElement.scrollWidth <= width) return found;
        const wide = [...document.body.querySelectorAll("*")].filter((element) => {
            const box = element.getBoundingClientRect();
            return box.width > 0 && box.right > width + 1;
        }).slice(0, 5).map((element) => `${name(element)}`
            + ` ends at ${Math.round(element.getBoundingClientRect().right)}px`);
        return [`page is ${document.documentElement.scrollWidth}px wide for ${width}px`,
                ...wide, ...found];
    }"""))


AXE_RUN = """async () => {
    const results = await axe.run(document, { resultTypes: ["violations"] });
    return results.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 4).map((n) => `${n.target.join(" ")}: ${n.failureSummary}`),
    }));
}"""


def axe_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is drawn now."""
    page.add_script_tag(url=AXE_URL)
    found: list[dict[str, Any]] = page.evaluate(AXE_RUN)
    return [f"{v['impact']} {v['id']} ({v['help']}):\n    " + "\n    ".join(v["nodes"])
            for v in found if v["impact"] in BLOCKING_IMPACTS]


# The text that something painted sits on: for each line of text in the viewport, the
# topmost element at its middle must be the text's own element (or inside it). Transparent
# layers (no background, no text of their own) do not count; text scrolled out of its box
# is not shown, so it cannot be covered.
COVERED_TEXT = """() => {
    const describe = (el) => el.id ? `#${el.id}` : `${el.tagName.toLowerCase()}${
        el.classList.length ? "." + [...el.classList].join(".") : ""}`;
    const replaced = new Set(["IMG", "VIDEO", "CANVAS", "svg", "IFRAME", "INPUT", "SELECT",
                              "TEXTAREA", "BUTTON"]);
    const paints = (el) => {
        if (replaced.has(el.tagName)) return true;
        const style = getComputedStyle(el);
        if (style.backgroundImage !== "none") return true;
        const bg = style.backgroundColor;
        if (bg !== "transparent" && !/^rgba\\(.*,\\s*0\\)$/.test(bg)) return true;
        return [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    };
    const clipped = (el, x, y) => {
        for (let box = el.parentElement; box; box = box.parentElement) {
            const style = getComputedStyle(box);
            if (style.overflowX === "visible" && style.overflowY === "visible") continue;
            const r = box.getBoundingClientRect();
            if (x < r.left || x > r.right || y < r.top || y > r.bottom) return true;
        }
        return false;
    };
    const found = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const text = node.textContent.trim();
        const owner = node.parentElement;
        if (!text || !owner || owner.closest("script, style, noscript, template, option, "
            + ".visually-hidden, dialog:not([open])")) continue;
        if (!owner.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
        const range = document.createRange();
        range.selectNodeContents(node);
        for (const rect of range.getClientRects()) {
            if (rect.width < 2 || rect.height < 2) continue;
            const x = rect.left + rect.width / 2;
            const y = rect.top + rect.height / 2;
            if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) continue;
            if (clipped(owner, x, y)) continue;
            // Hit-testing skips what ignores the pointer (a note over the video): for a
            // moment, the text's own element takes part.
            const before = owner.style.getPropertyValue("pointer-events");
            owner.style.setProperty("pointer-events", "auto", "important");
            for (const hit of document.elementsFromPoint(x, y)) {
                if (hit === owner || owner.contains(hit) || hit.contains(owner)) break;
                if (paints(hit)) {
                    const what = `"${text.slice(0, 40)}" (${describe(owner)})`;
                    found.push(`${what} under ${describe(hit)}`);
                    break;
                }
            }
            owner.style.setProperty("pointer-events", before);
        }
    }
    return found;
}"""


def covered_text(page: Page) -> list[str]:
    return list(page.evaluate(COVERED_TEXT))


# Marks every control a visitor can see (and operate) with data-kb (in an open modal
# dialog: its controls); counts the ones the focus has reached. A radio group is one stop
# for the Tab key (arrows move inside it), so only its checked (or first) radio is expected.
MARK_CONTROLS = """() => {
    const selector = "a[href], button, input:not([type=hidden]), select, textarea, summary, "
        + "[tabindex], video[controls], audio[controls], [contenteditable=true]";
    if (!window.__reached) {
        window.__reached = new Set();
        document.addEventListener("focusin", (event) => {
            const mark = event.target?.dataset?.kb;
            if (mark !== undefined) window.__reached.add(mark);
        }, true);
    }
    let next = Number(document.body.dataset.kbNext || 0);
    const groups = new Set([...document.querySelectorAll("[data-kb][type=radio]")]
        .map((radio) => `${radio.form?.id}/${radio.name}`));
    // An open modal dialog makes the rest of the page inert: only its controls count.
    const scope = document.querySelector("dialog[open]:modal") ?? document;
    for (const element of scope.querySelectorAll(selector)) {
        if (element.dataset.kb !== undefined || element.disabled
            || element.getAttribute("tabindex") === "-1" || element.closest("[inert]")) continue;
        if (!element.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
        const box = element.getBoundingClientRect();
        if (box.width === 0 || box.height === 0) continue;
        if (element.type === "radio") {
            const group = `${element.form?.id}/${element.name}`;
            const checked = element.form ? element.form.querySelector(
                `input[type=radio][name="${CSS.escape(element.name)}"]:checked`) : null;
            if (groups.has(group) || (checked && checked !== element)) continue;
            groups.add(group);
        }
        element.dataset.kb = String(next++);
    }
    document.body.dataset.kbNext = String(next);
    return next;
}"""

MENU_IS_FOCUSED = "() => document.activeElement?.id === 'menu-button'"
CLOSED_MENU = "#menu-button[aria-expanded=false]:visible"
TABS_PER_LOOK = 10

UNREACHED = """() => [...document.querySelectorAll("[data-kb]")]
    .filter((element) => !window.__reached.has(element.dataset.kb))
    .map((element) => `${element.tagName.toLowerCase()}${element.id ? "#" + element.id : ""}`
        + ` "${(element.innerText || element.getAttribute("aria-label") || element.name || "")
            .trim().slice(0, 30)}"`)"""

# Things that react to a click but that the keyboard cannot focus: a pointer cursor on an
# element that is neither a control nor inside one. A bigger click area around a control
# (a whole list entry that seeks, holding the seek button) is fine: the control does it.
CLICK_ONLY = """() => {
    const controls = "a[href], button, label, summary, select, input, textarea, "
        + "[tabindex]:not([tabindex='-1']), [contenteditable=true]";
    const pointer = (element) => getComputedStyle(element).cursor === "pointer";
    return [...document.body.querySelectorAll("*")].filter((element) => {
        if (!pointer(element) || !element.checkVisibility({ checkVisibilityCSS: true })) {
            return false;
        }
        if (element.closest(controls)) return false;
        let area = element;
        while (area.parentElement && pointer(area.parentElement)) area = area.parentElement;
        return !area.querySelector(controls);
    }).map((element) => `${element.tagName.toLowerCase()}.${[...element.classList].join(".")}`);
}"""


def unreachable_by_keyboard(page: Page) -> list[str]:
    """Press Tab through the page; on a phone the header's menu is opened with Enter on the
    way, as a keyboard user would. Returns the controls the focus never reached."""
    page.evaluate("""() => {
        document.activeElement?.blur();
        for (const marked of document.querySelectorAll("[data-kb]")) delete marked.dataset.kb;
        delete document.body.dataset.kbNext;
        window.__reached?.clear();
    }""")
    controls: int = page.evaluate(MARK_CONTROLS)
    if page.locator(CLOSED_MENU).count():
        for _ in range(controls):
            page.keyboard.press("Tab")
            if page.evaluate(MENU_IS_FOCUSED):
                page.keyboard.press("Enter")
                controls = page.evaluate(MARK_CONTROLS)
                break
    # A date-time field takes one Tab per part, so press on while the focus finds new ones.
    for _ in range(controls * 3 // TABS_PER_LOOK + 3):
        for _ in range(TABS_PER_LOOK):
            page.keyboard.press("Tab")
        if page.evaluate("() => window.__reached.size") >= controls:
            break
    missed: list[str] = page.evaluate(UNREACHED)
    return missed + [f"{element} reacts to clicks but takes no focus"
                     for element in page.evaluate(CLICK_ONLY)]


# --- every page, both widths ---

@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("visit", VISITS, ids=[visit.name for visit in VISITS])
def test_the_page_fits_reads_and_works_from_the_keyboard(
        visit: Visit, viewport: ViewportSize, stage: Stage, live_server: LiveServer,
        new_context: NewContext, page_errors: PageErrors) -> None:
    width = "phone" if viewport == PHONE else "desktop"
    page = open_page(new_context, live_server, stage, visit.who, viewport, visit.name)
    response = page.goto(visit.url(stage))
    assert response is not None and response.ok, f"{visit.url(stage)} answered {response}"
    if visit.ready:
        expect(page.locator(visit.ready).first).to_be_visible()
    save_shot(page, f"{visit.name}-{width}")
    problems = {
        "wider than the screen": horizontal_overflow(page),
        "text covered": covered_text(page),
        "axe-core": axe_violations(page),
    }
    page_errors.check(f"{visit.name} drawn")
    problems["not reachable by keyboard"] = unreachable_by_keyboard(page)
    found = {check: items for check, items in problems.items() if items}
    assert not found, f"{visit.name} at {width} width:\n" + "\n".join(
        f"  {check}:\n    " + "\n    ".join(items) for check, items in found.items())


# --- the live room over time: a sale, chat and the unmute button all at once ---

@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_live_room_covers_no_text_and_its_sheets_work_from_the_keyboard(
        viewport: ViewportSize, stage: Stage, live_server: LiveServer,
        new_context: NewContext) -> None:
    page = open_page(new_context, live_server, stage, "buyer", viewport, "viewer")
    page.goto(f"/shows/{stage.show_id}")
    expect(page.locator("#sale-banner")).to_be_visible()
    expect(page.locator("#chat-list .chat-message").first).to_be_visible()
    # "Tap to unmute" shows while muted video plays; without a publisher here, shown as the
    # player would show it.
    page.locator(".video-unmute").evaluate("button => { button.hidden = false; }")
    expect(page.locator(".video-unmute")).to_be_visible()
    assert covered_text(page) == []

    # The sheets open and work from the keyboard too: the sale's, then the bag.
    width = "phone" if viewport == PHONE else "desktop"
    for opener, sheet in (("#sale-banner", "#sale-sheet"), ("#bag-button", "#bag")):
        page.locator(opener).focus()
        page.keyboard.press("Enter")
        expect(page.locator(f"{sheet} .tile-total-amount").first).to_have_text(
            "£18.99" if sheet == "#sale-sheet" else re.compile("£"))
        save_shot(page, f"live-room-{sheet[1:]}-{width}")
        assert axe_violations(page) == [], sheet
        assert unreachable_by_keyboard(page) == [], sheet
        page.keyboard.press("Escape")
        expect(page.locator(sheet)).to_be_hidden()


# --- the header at desktop width ---

def test_the_cart_sits_with_the_shopping_links_before_log_out(
        stage: Stage, live_server: LiveServer, new_context: NewContext) -> None:
    page = open_page(new_context, live_server, stage, "buyer", WIDE, "buyer")
    page.goto("/")
    cart = page.locator(".site-header .cart-link")
    log_out = page.get_by_role("button", name="Log out")
    alerts = page.locator('.site-header a[href="/notifications"]')
    cart_box, log_out_box, alerts_box = (_box(cart), _box(log_out), _box(alerts))
    assert alerts_box["x"] < cart_box["x"] < log_out_box["x"], (alerts_box, cart_box, log_out_box)
    assert abs(cart_box["y"] - log_out_box["y"]) < 20, "the cart is not on the header's row"


def _box(locator: Any) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not displayed"
    return dict(found)


# --- the buy sheet's total comes from the server ---

def test_the_room_asks_the_server_what_a_tap_costs(
        stage: Stage, live_server: LiveServer, new_context: NewContext) -> None:
    page = open_page(new_context, live_server, stage, "buyer", PHONE, "viewer")
    answers: list[Response] = []
    page.on("response", lambda response: answers.append(response)
            if "/api/v1/buy-now/quote?" in response.url else None)
    page.goto(f"/shows/{stage.show_id}")
    total = page.locator("#pinned-card .tile-total-amount")
    expect(total).to_have_text("£33.98")
    # What the pinned jacket's line shows is the server's answer for its price.
    quotes = [answer.json() for answer in answers]
    jacket = [quote for quote in quotes if quote["unit_price"] == 2999]
    assert len(jacket) == 1, quotes
    assert (jacket[0]["total"], jacket[0]["formatted"]["total"]) == (2999 + 399, "£33.98")
    # The page no longer carries the market's VAT rate for a copy of the pricing rule.
    assert page.locator("[data-vat-bp]").count() == 0

    # The replay of an ended show asks the same question for what was pinned.
    answers.clear()
    page.goto(f"/shows/{stage.replay_id}")
    expect(page.locator(".pin-entry .tile-total-amount").first).to_have_text("£33.98")
    assert [answer.json()["unit_price"] for answer in answers] == [2999]
