"""The demo's live show, alive on its own: a test-pattern camera publishes over RTMP,
simulated viewers watch, chat and now and then buy; the host rotates the pinned product and
keeps a flash sale running.

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
from liveshop.catalog.orm import Product, Shop, VariantPrice
from liveshop.core.db import Database, utcnow
from liveshop.core.errors import DomainError
from liveshop.demo.catalog import SHOPS
from liveshop.demo.journeys import CREATOR_SHOP
from liveshop.inventory import service as inventory
from liveshop.live import chat, sales, shows
from liveshop.live.orm import Show
from liveshop.live.purchases import LivePurchases
from liveshop.live.room import Hub
from liveshop.live.schemas import SaleIn, ShowCreate
from liveshop.markets.model import MARKETS
from liveshop.payments.orm import PaymentMethod
from liveshop.video import service as video
from liveshop.web.context import AppContext

log = logging.getLogger("liveshop.demo")

# The demo creator hosts the show for the shop that invited her, and earns commission on
# what the simulated viewers buy (the shop's open affiliate plans, liveshop/demo/journeys.py).
HOST_EMAIL, HOST_SHOP = CREATOR_SHOP[0], CREATOR_SHOP[1]
SHOW_TITLE = "Friday Night Knit Drop"
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


def _host(db: Database) -> tuple[Actor, int]:
    with db.read() as session:
        host = session.scalars(select(User).where(User.email == HOST_EMAIL)).one()
        shop_id = session.scalars(select(Shop.id).where(Shop.slug == HOST_SHOP)).first()
        assert shop_id is not None, "run the demo seed first"
        return Actor(host.id, Role(host.role), host.display_name), shop_id


def ensure_live_show(context: AppContext) -> tuple[int, Actor, list[int]]:
    """The demo show, live now: reuse one that is live, else schedule and start a new one."""
    db = context.db
    host, shop_id = _host(db)
    with db.read() as session:
        live = session.scalars(select(Show).where(
            Show.host_id == host.user_id, Show.status == "live")).first()
        lineup = [item.product_id for item in live.lineup] if live else list(session.scalars(
            select(Product.id).where(Product.shop_id == shop_id, Product.status == "active")
            .order_by(Product.id).limit(LINEUP_SIZE)))
        show_id = live.id if live else None
    if show_id is None:
        shop_markets = next(spec for spec in SHOPS if spec.slug == HOST_SHOP).shipping
        created = shows.create_show(db, host, ShowCreate(
            shop_id=shop_id, title=SHOW_TITLE, scheduled_at=utcnow(),
            description="New-season knitwear, live from our East London studio.",
            markets=list(shop_markets), product_ids=lineup))
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
        if available < 20:
            with db.transaction() as session:
                inventory.receive(session, variant.id, 60, note="demo restock")
        show_markets = shows.get_show(db, show_id).markets
        # Round the sale price down to .99 in each market, about 30% off.
        sale_prices = {m: max(99, (prices[m] * 7 // 10) // 100 * 100 - 1) for m in show_markets}
        sales.start_sale(db, host, show_id, SaleIn(
            variant_id=variant.id, prices=sale_prices, quantity=self.random.choice((10, 15, 20)),
            per_buyer_limit=2, duration_seconds=self.random.choice((120, 180, 240))))

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
            await self.purchases.buy(bot, show_id, variant_id, 1, MARKETS["UK"],
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
