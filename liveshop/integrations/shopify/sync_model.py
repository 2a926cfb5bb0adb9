"""The rules of a connected store's sync. Pure: no SQL, no HTTP.

Which side wins, for stock: Shopify counts the shelf, liveshop sells. Shopify's count of
units available at the synced location is the truth about the goods; every unit liveshop
has promised (reserved in a checkout, held for a flash sale, or sold and not yet known to
Shopify because its order push is still in the outbox) is liveshop's, and a count from
Shopify never takes it back. So liveshop's own available is always what Shopify has left
after liveshop's promises (``available_here``), and a Shopify-side overwrite can only move
the units nobody here has claimed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime

# A store's permanent domain; a loopback host:port only where settings allow (the fake).
SHOP_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]{0,60}\.myshopify\.com")
LOOPBACK_DOMAIN = re.compile(r"(127\.0\.0\.1|localhost):[0-9]{1,5}")
WEBHOOK_TOPICS = frozenset({
    "products/create", "products/update", "products/delete", "inventory_levels/update",
    "fulfillments/create", "orders/cancelled", "app/uninstalled"})


def available_here(shopify_available: int, reserved: int, held: int, unpushed: int) -> int:
    """Units liveshop may sell: Shopify's count less every unit promised here that Shopify
    does not count yet (reserved, held for a flash sale, sold and not pushed)."""
    return max(0, shopify_available - reserved - held - unpushed)


def shortfall(shopify_available: int, reserved: int, held: int, unpushed: int) -> int:
    """Units promised here beyond Shopify's count (oversold across the two channels): the
    seller is told; the promises stand."""
    return max(0, reserved + held + unpushed - shopify_available)


def is_stale(incoming: datetime | None, applied: datetime | None) -> bool:
    """An update older than the one applied is stale (Shopify retries a failed delivery
    for hours, so an old one may arrive after a newer one)."""
    return incoming is not None and applied is not None and incoming < applied


def parse_time(text: object) -> datetime | None:
    """Shopify's timestamps ("2021-12-31T19:00:00-05:00", "...Z") in UTC; None if absent."""
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def signature_valid(secret: str, body: bytes, signature: str) -> bool:
    """X-Shopify-Hmac-Sha256: base64 of the raw body's HMAC-SHA256 under the app secret,
    compared in constant time. No secret configured: nothing is valid."""
    if not secret or not signature:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.encode())


def normalised_domain(text: str, allow_loopback: bool) -> str | None:
    """"https://Example.myshopify.com/" -> "example.myshopify.com"; None if not a store's."""
    domain = re.sub(r"^https?://", "", text.strip().lower()).rstrip("/")
    if SHOP_DOMAIN.fullmatch(domain) or (allow_loopback and LOOPBACK_DOMAIN.fullmatch(domain)):
        return domain
    return None


def order_tag(number: str) -> str:
    """The tag an order pushed to Shopify carries: how a retried push finds it there."""
    return f"liveshop-{number}".lower()
