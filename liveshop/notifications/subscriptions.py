"""Who hears what, for notices and mail: subscribed once by the composition root
(liveshop/app.py) on the app's event bus."""

from __future__ import annotations

from liveshop.core.db import Database
from liveshop.core.events import EventBus
from liveshop.core.mail import Mailer
from liveshop.notifications.events import MailQueued
from liveshop.notifications.order_notices import OrderNotices
from liveshop.notifications.service import send_queued_mail


def notify_after_commit(bus: EventBus, db: Database, mailer: Mailer, public_url: str) -> None:
    """Orders' events become notices and mails; queued mails are sent (all through the
    outbox: ``OutboxRelay`` must run for any of it to happen)."""
    OrderNotices(db).subscribe(bus)
    bus.subscribe(MailQueued, send_queued_mail(mailer, public_url))
