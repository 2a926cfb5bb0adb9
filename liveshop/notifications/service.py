"""Notices and the mails that go with them.

Building blocks (inside the caller's transaction): ``post``, ``post_once`` and
``queue_mail``. A mail is never sent inside a transaction: ``queue_mail`` records
``MailQueued``, which the outbox hands to ``send_queued_mail`` once the transaction has
committed (liveshop/core/events.py), so a rolled-back use case mails nobody and a crash
after the commit loses no mail.

Use cases: the centre's list (``notifications``), the header's badge (``unread_count``)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.core.db import Database, utcnow
from liveshop.core.events import record
from liveshop.core.mail import Mail, Mailer
from liveshop.notifications.events import MailQueued
from liveshop.notifications.model import Notice, mail_body
from liveshop.notifications.orm import Notification
from liveshop.notifications.schemas import NotificationView

# The centre lists this many, newest first.
LISTED = 50


def post(session: Session, user_id: int, notice: Notice, mail_to: str | None) -> None:
    """The notice in ``user_id``'s centre, and by mail to ``mail_to`` (None: no mail)."""
    session.add(Notification(user_id=user_id, text=notice.text, link=notice.link,
                             key=notice.key))
    if mail_to:
        queue_mail(session, notice.key, mail_to, notice.subject, notice.mail_text,
                   notice.link)


def post_once(session: Session, user_id: int, notice: Notice, mail_to: str | None) -> bool:
    """``post`` unless a notice with its key was posted: a handler the outbox runs again
    (at least once) must not notify twice. Whether it posted."""
    if session.scalar(select(exists().where(Notification.key == notice.key))):
        return False
    post(session, user_id, notice, mail_to)
    return True


def queue_mail(session: Session, key: str, to: str, subject: str, text: str,
               path: str) -> None:
    """Mail ``to`` once this transaction commits (never if it rolls back)."""
    record(session, MailQueued(key=key, to=to, subject=subject, text=text, path=path))


def send_queued_mail(mailer: Mailer, public_url: str) -> Callable[[MailQueued], None]:
    """The outbox's handler of ``MailQueued``: hand the mail to ``mailer``. A failure
    raises, and the relay tries again later; the notice was committed already."""
    site = public_url.rstrip("/")

    def send(event: MailQueued) -> None:
        mailer.send(Mail(to=event.to, subject=event.subject,
                         text=mail_body(event.text, site + event.path), key=event.key))

    return send


def notifications(db: Database, actor: Actor) -> list[NotificationView]:
    """The actor's newest notices, each saying whether it was read. Reading them changes
    nothing: a prefetch or a link preview must not make news look old (``mark_read``)."""
    with db.read() as session:
        rows = session.scalars(select(Notification).where(
            Notification.user_id == actor.user_id).order_by(Notification.id.desc())
            .limit(LISTED)).all()
        return [NotificationView(id=n.id, text=n.text, link=n.link, created_at=n.created_at,
                                 read=n.read_at is not None) for n in rows]


def mark_read(db: Database, actor: Actor, up_to_id: int) -> int:
    """The actor's notices up to ``up_to_id`` (those the centre showed them) are read from
    now on; one that arrived since stays new. Marking again marks nothing more. How many
    it marked."""
    with db.transaction() as session:
        marked = session.execute(update(Notification).where(
            Notification.user_id == actor.user_id, Notification.id <= up_to_id,
            Notification.read_at.is_(None)).values(read_at=utcnow()))
        return int(getattr(marked, "rowcount", 0) or 0)


def unread_count(db: Database, actor: Actor) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == actor.user_id, Notification.read_at.is_(None))) or 0
