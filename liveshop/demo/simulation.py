"""The demo's live show, alive on its own: a test-pattern camera publishes over RTMP,
simulated viewers watch, chat and now and then buy; the host (the demo creator, Nina, in her
own show of two shops' products) rotates the pinned product and keeps a flash sale running,
each one proposed to the product's shop and approved by its simulated seller.

Runs only in the demo's app (liveshop/demo/app.py, served by ``liveshop demo``), inside the
app process, through the same services a real host and real viewers use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from dataclasses import dataclass

from imageio_ffmpeg import get_ffmpeg_exe
from sqlalchemy import select

import liveshop.schema  # noqa: F401  (every table mapped before the first flush)
from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import Address, User
from liveshop.accounts.security import hash_password
from liveshop.catalog.orm import Product, Shop, ShopMarket, Variant, VariantPrice
from liveshop.core.db import Database, utcnow
from liveshop.core.errors import DomainError
from liveshop.creators import service as creators
from liveshop.demo.journeys import CREATOR_SHOP
from liveshop.inventory import service as inventory
from liveshop.live import chat, sale_proposals, sales, shows
from liveshop.live.orm import FlashSaleProposal, Show
from liveshop.live.purchases import LivePurchases
from liveshop.live.room import Hub
from liveshop.live.schemas import SaleIn, ShowCreate
from liveshop.markets.model import MARKETS
from liveshop.payments.orm import PaymentMethod
from liveshop.video import service as video
from liveshop.web.context import AppContext

log = logging.getLogger("liveshop.demo")

# The demo creator hosts her own show, with products of two shops that open them to creators
# (liveshop/demo/journeys.py), and earns commission on what the simulated viewers buy. Its
# flash sales are proposed to the product's shop, which the simulated seller approves.
HOST_EMAIL = CREATOR_SHOP[0]
SHOW_TITLE = "Nina's Friday Picks: knits and Berlin prints"
# Products of each shop in the show's lineup, and the market it sells in (the bots' own).
PER_SHOP = 3
SHOW_MARKET = "UK"
BOT_NAMES = ("Amara", "Tom", "Priya", "Luca", "Sofia", "Jamal", "Elif", "Noah", "Chloé",
             "Mateo", "Hannah", "Kenji")
CHAT_LINES = ("love this colour 😍", "does it run small?", "just bought one!",
              "hi from Leeds 👋", "what's the fabric?", "need this for winter",
              "can you show the back?", "flash sale!! go go go", "ordered the M",
              "is it machine washable?", "that jumper is gorgeous", "🔥🔥🔥",
              "first time here, this is fun", "how long is shipping to Germany?",
              "the navy one please", "restock the beanie pls")
GHOSTS = (24, 60)
LINEUP_SIZE = 6


@dataclass(eq=False)
class GhostViewer:
    """A simulated viewer's socket: counted in the room, its frames dropped."""

    visitor_id: str
    user_id: int | None = None
    is_staff: bool = False

    def offer(self, frame: str) -> bool:
        return True

    def close_soon(self, code: int) -> None:
        return None


def _bots(db: Database) -> list[Actor]:
    """Viewer accounts with a UK address and a saved test card, created once."""
    actors = []
    with db.transaction() as session:
        password_hash: str | None = None
        for index, name in enumerate(BOT_NAMES):
            email = f"viewer{index + 1}@demo.liveshop.test"
            user = session.scalars(select(User).where(User.email == email)).one_or_none()
            if user is None:
                password_hash = password_hash or hash_password(uuid.uuid4().hex)
                user = User(email=email, display_name=name, password_hash=password_hash,
                            role=Role.BUYER.value)
                session.add(user)
                session.flush()
                session.add(Address(user_id=user.id, full_name=name, line1="1 Demo Street",
                                    city="London", postcode="E1 6AN", country="GB",
                                    is_default=True))
                session.add(PaymentMethod(user_id=user.id, provider="test",
                                          token=f"tok_test_ok_{uuid.uuid4().hex[:12]}",
                                          brand="visa", last4="4242", exp_month=12,
                                          exp_year=utcnow().year + 3, is_default=True))
            actors.append(Actor(user.id, Role.BUYER, name))
    return actors


def _host(db: Database) -> Actor:
    with db.read() as session:
        host = session.scalars(select(User).where(User.email == HOST_EMAIL)).one()
        return Actor(host.id, Role(host.role), host.display_name)


def _lineup(db: Database, host: Actor) -> list[int]:
    """A few products of each shop whose affiliate plans open them to the host and that
    ship to the show's market, alternating between the shops."""
    with db.read() as session:
        planned = creators.planned_products(session, host.user_id, utcnow())
        shipping = {shop_id for shop_id, in session.execute(select(ShopMarket.shop_id).where(
            ShopMarket.market == SHOW_MARKET))}
    by_shop: dict[int, list[int]] = {}
    for product in sorted(planned.values(), key=lambda product: product.product_id):
        if product.shop_id in shipping and len(by_shop.get(product.shop_id, [])) < PER_SHOP:
            by_shop.setdefault(product.shop_id, []).append(product.product_id)
    rounds = zip(*by_shop.values(), strict=False) if len(by_shop) > 1 else [
        (product_id,) for products in by_shop.values() for product_id in products]
    return [product_id for shops_turn in rounds for product_id in shops_turn]


def ensure_live_show(context: AppContext) -> tuple[int, Actor, list[int]]:
    """The demo show, live now: reuse one that is live, else schedule and start a new one
    (the host's own show, of two shops' products)."""
    db = context.db
    host = _host(db)
    with db.read() as session:
        live = session.scalars(select(Show).where(
            Show.host_id == host.user_id, Show.status == "live")).first()
        lineup = [item.product_id for item in live.lineup] if live else []
        show_id = live.id if live else None
    if show_id is None:
        lineup = _lineup(db, host)
        assert lineup, "run the demo seed first (its shops open products to creators)"
        created = shows.create_show(db, host, ShowCreate(
            shop_id=None, title=SHOW_TITLE, scheduled_at=utcnow(),
            description="My favourite knits from London and prints from Berlin, live.",
            markets=[SHOW_MARKET], product_ids=lineup))
        show_id = created.id
        shows.go_live(db, host, show_id)
    return show_id, host, lineup


class DemoSimulation:
    def __init__(self, context: AppContext, hub: Hub, purchases: LivePurchases):
        self.context, self.hub, self.purchases = context, hub, purchases
        self.random = random.Random()
        self.ghosts: list[GhostViewer] = []

    async def run(self) -> None:
        show_id, host, lineup = await asyncio.to_thread(ensure_live_show, self.context)
        bots = await asyncio.to_thread(_bots, self.context.db)
        with contextlib.suppress(DomainError):
            await asyncio.to_thread(self._leave_a_proposal_waiting, host, show_id, lineup)
        log.info("demo show %s is live with %s simulated viewers", show_id, len(bots))
        camera = asyncio.create_task(self._broadcast_test_pattern(show_id, host))
        try:
            await self._run_show(show_id, host, lineup, bots)
        finally:
            camera.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await camera

    async def _broadcast_test_pattern(self, show_id: int, host: Actor) -> None:
        """The host's camera: ffmpeg's test pattern and a tone, published over RTMP to the
        show's stream key exactly as OBS would, restarted if it stops."""
        settings = self.context.settings
        if not settings.rtmp_port:
            return
        info = await asyncio.to_thread(video.stream_info, self.context.db, settings, host,
                                       show_id)
        target = f"rtmp://127.0.0.1:{settings.rtmp_port}/live/{info.stream_key}"
        while True:
            process = await asyncio.create_subprocess_exec(
                get_ffmpeg_exe(), "-loglevel", "error", "-re",
                "-f", "lavfi", "-i", "testsrc2=size=720x1280:rate=30",
                "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=44100",
                "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency",
                "-g", "30", "-b:v", "1500k", "-pix_fmt", "yuv420p", "-c:a", "aac",
                "-f", "flv", target,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            try:
                await process.wait()
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
            await asyncio.sleep(2)

    async def _run_show(self, show_id: int, host: Actor, lineup: list[int],
                        bots: list[Actor]) -> None:
        pin_index = 0
        ticks = 0
        while True:
            try:
                if ticks % 45 == 0:
                    await asyncio.to_thread(self._pin, host, show_id, lineup[pin_index])
                    pin_index = (pin_index + 1) % len(lineup)
                if ticks % 5 == 0:
                    await asyncio.to_thread(self._keep_sale_running, host, show_id,
                                            lineup[(pin_index - 1) % len(lineup)])
                self._drift_audience(show_id)
                if self.random.random() < 0.45:
                    await asyncio.to_thread(self._chat, show_id, self.random.choice(bots))
                if self.random.random() < 0.06:
                    await self._buy(show_id, self.random.choice(bots))
            except Exception:
                log.exception("demo simulation step failed")
            ticks += 1
            await asyncio.sleep(1.0)

    def _drift_audience(self, show_id: int) -> None:
        target = self.random.randint(*GHOSTS) if not self.ghosts else max(
            GHOSTS[0], min(GHOSTS[1], len(self.ghosts) + self.random.randint(-2, 3)))
        while len(self.ghosts) < target:
            ghost = GhostViewer(f"ghost:{uuid.uuid4().hex[:8]}")
            self.ghosts.append(ghost)
            self.hub.join(show_id, ghost)
        while len(self.ghosts) > target:
            self.hub.leave(show_id, self.ghosts.pop())

    def _pin(self, host: Actor, show_id: int, product_id: int) -> None:
        shows.pin(self.context.db, host, show_id, product_id)

    def _keep_sale_running(self, host: Actor, show_id: int, product_id: int) -> None:
        db = self.context.db
        with db.read() as session:
            if sales.active_sale(session, show_id) is not None:
                return
            product = session.get(Product, product_id)
            assert product is not None
            variant = self.random.choice(product.variants)
            prices = {p.market: p.amount_minor for p in session.scalars(
                select(VariantPrice).where(VariantPrice.variant_id == variant.id))}
            level = inventory.stock_of(session, [variant.id]).get(variant.id)
            available = level.available if level else 0
            owner = session.scalars(select(User).join(Shop, Shop.owner_id == User.id).where(
                Shop.id == product.shop_id)).one()
            seller = Actor(owner.id, Role(owner.role), owner.display_name)
        if available < 20:
            with db.transaction() as session:
                inventory.receive(session, variant.id, 60, note="demo restock")
        view = shows.get_show(db, show_id)
        # Round the sale price down to .99 in each market, about 30% off.
        sale_prices = {m: max(99, (prices[m] * 7 // 10) // 100 * 100 - 1) for m in view.markets}
        terms = SaleIn(
            variant_id=variant.id, prices=sale_prices, quantity=self.random.choice((10, 15, 20)),
            per_buyer_limit=2, duration_seconds=self.random.choice((120, 180, 240)))
        if view.shop_id is not None:  # a shop's own show (a demo database from before)
            sales.start_sale(db, host, show_id, terms)
            return
        # The host's own show: proposed to the product's shop, approved by its (simulated)
        # seller on their behalf, then started, as the real pages would do it.
        proposal = sale_proposals.propose(db, self.context.settings, host, show_id, terms,
                                          f"demo-{uuid.uuid4().hex}")
        proposal_id = int(proposal.body["id"])
        sale_proposals.decide(db, seller, proposal_id, approve=True)
        sale_proposals.start(db, host, show_id, proposal_id)

    def _leave_a_proposal_waiting(self, host: Actor, show_id: int, lineup: list[int]) -> None:
        """One proposal of the second shop's awaits its seller's decision, so the seller's
        consent page (/seller/sale-proposals) has one to approve or decline."""
        db = self.context.db
        with db.read() as session:
            waiting = session.scalar(select(FlashSaleProposal.id).where(
                FlashSaleProposal.show_id == show_id, FlashSaleProposal.status == "proposed"))
            variants = list(session.execute(
                select(Variant.id, VariantPrice.amount_minor)
                .join(VariantPrice, VariantPrice.variant_id == Variant.id)
                .join(Shop, Shop.id == Variant.shop_id)
                .where(Variant.product_id.in_(lineup), VariantPrice.market == SHOW_MARKET,
                       Shop.slug != CREATOR_SHOP[1]).order_by(Variant.id).limit(1)))
        if waiting is not None or not variants or shows.get_show(db, show_id).shop_id:
            return
        [(variant_id, price)] = variants
        sale_proposals.propose(db, self.context.settings, host, show_id, SaleIn(
            variant_id=variant_id, prices={SHOW_MARKET: max(99, price * 3 // 4 // 100 * 100 - 1)},
            quantity=25, per_buyer_limit=1, duration_seconds=300), f"demo-{uuid.uuid4().hex}")

    def _chat(self, show_id: int, bot: Actor) -> None:
        # A bot over the chat rate limit just stays quiet.
        with contextlib.suppress(DomainError):
            chat.post_chat(self.context.db, self.context.limiter, bot, show_id,
                           self.random.choice(CHAT_LINES))

    async def _buy(self, show_id: int, bot: Actor) -> None:
        """A tap on Buy, as a viewer's would be (liveshop/live/purchases.py)."""
        variant_id = await asyncio.to_thread(self._variant_to_buy, show_id)
        if variant_id is None:
            return
        # Sold out or over the per-buyer limit: the room already says so.
        with contextlib.suppress(DomainError):
            await self.purchases.buy(bot, show_id, variant_id, 1, MARKETS[SHOW_MARKET],
                                     f"demo-{uuid.uuid4().hex}")

    def _variant_to_buy(self, show_id: int) -> int | None:
        """The running sale's variant, else the pinned product's first."""
        with self.context.db.read() as session:
            show = session.get(Show, show_id)
            sale = sales.active_sale(session, show_id)
            product_id = show.pinned_product_id if show else None
            variant_id = sale.variant_id if sale else None
            if variant_id is None and product_id is not None:
                product = session.get(Product, product_id)
                variant_id = product.variants[0].id if product and product.variants else None
        return variant_id


async def run_forever(context: AppContext, hub: Hub, purchases: LivePurchases) -> None:
    await DemoSimulation(context, hub, purchases).run()
