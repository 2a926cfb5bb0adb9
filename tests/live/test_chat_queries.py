"""A chat post runs few statements: in a busy room each one waits for the GIL beside the
fan-out, and the post's latency is part of every viewer's (bench/fanout.py)."""

from __future__ import annotations

from collections.abc import Callable

from liveshop.core.db import Database
from liveshop.core.ratelimit import MemoryRateLimiter
from liveshop.live import chat
from tests.live.conftest import Sale
from tests.queries import selects

# The show (not its lineup), the shop's ban and the show's mutes of the author, the shop and
# the show's moderators (is the author staff?), the shop's banned words.
VIEWER_CHAT_SELECTS = 6


def test_a_chat_post_reads_the_show_without_its_lineup(
        db: Database, make_sale: Callable[[int, int], Sale]) -> None:
    sale = make_sale(1, 1)
    with selects(db) as seen:
        posted = chat.post_chat(db, MemoryRateLimiter(), sale.buyers[0],
                                sale.show_id, "hello")
    assert posted.text == "hello"
    assert not [statement for statement in seen if "show_products" in statement]
    assert len(seen) == VIEWER_CHAT_SELECTS, "\n\n".join(seen)
