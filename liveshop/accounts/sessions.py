"""Browser sessions kept on the server, so that they can be ended.

The signed session cookie carries the user id (``uid``) and a random session id (``sid``);
``user_sessions`` keeps only the session id's SHA-256. Each request checks the session in
the query that loads the user, so logging out, a password change or a suspension ends a
session at once, everywhere, even for a cookie copied before.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from liveshop.accounts import security
from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import User, UserSession
from liveshop.accounts.tokens import UseStamps
from liveshop.core.db import Database, utcnow

USER_ID, SESSION_ID = "uid", "sid"
# A session unused this long has ended: the cookie's own lifetime, renewed by every response.
SESSION_IDLE = timedelta(days=14)
# last_seen_at is refreshed at most this often, in a batch (SessionUse), never per request.
SESSION_TOUCH_INTERVAL = timedelta(minutes=5)


class SessionUse(UseStamps):
    """Sessions' last_seen_at, which decides when an idle session has ended."""

    def __init__(self) -> None:
        super().__init__(UserSession.last_seen_at)


def open_session(db: Database, actor: Actor, *, replacing: str | None = None) -> str:
    """A new session for ``actor`` (log-in, sign-up); its id goes into the cookie. The
    browser's previous session (``replacing``) ends, and the user's ended sessions are
    cleared out, so the table holds about one row per signed-in browser."""
    session_id = security.new_session_id()
    now = utcnow()
    with db.transaction() as session:
        if replacing:
            _revoke(session, UserSession.token_hash == security.token_digest(replacing))
        session.execute(delete(UserSession).where(
            UserSession.user_id == actor.user_id,
            or_(UserSession.revoked_at.is_not(None),
                UserSession.last_seen_at < now - SESSION_IDLE)))
        session.add(UserSession(user_id=actor.user_id,
                                token_hash=security.token_digest(session_id),
                                created_at=now, last_seen_at=now))
    return session_id


def end_session(db: Database, cookie: Mapping[str, Any]) -> None:
    """Log out: the session the cookie names is over, wherever the cookie was copied to."""
    session_id = cookie.get(SESSION_ID)
    if not isinstance(session_id, str):
        return
    with db.transaction() as session:
        _revoke(session, UserSession.token_hash == security.token_digest(session_id))


def end_sessions_of(session: Session, user_id: int, *, keeping: str | None = None) -> int:
    """End the user's sessions (but the one with id ``keeping``) inside the caller's
    transaction; how many were open."""
    condition = UserSession.user_id == user_id
    if keeping:
        condition = condition & (UserSession.token_hash != security.token_digest(keeping))
    return _revoke(session, condition)


def _revoke(session: Session, condition: Any) -> int:
    result = session.execute(update(UserSession).where(condition, UserSession.revoked_at.is_(None))
                             .values(revoked_at=utcnow()))
    return int(result.rowcount)  # type: ignore[attr-defined]


def is_signed_in(cookie: Mapping[str, Any]) -> bool:
    """Whether the cookie names a session (without asking the database: anonymous visitors,
    most of a big live room, need none)."""
    return isinstance(cookie.get(USER_ID), int) and isinstance(cookie.get(SESSION_ID), str)


def cookie_actor(db: Database, usage: SessionUse, cookie: Mapping[str, Any]) -> Actor | None:
    """Who the session cookie belongs to, if its session is open and its user active. One
    query, as loading the user alone took. A cookie from before server-side sessions (no
    ``sid``) names no session: its user logs in again."""
    if not is_signed_in(cookie):
        return None
    now = utcnow()
    with db.read() as session:
        row = session.execute(
            select(UserSession.id, UserSession.last_seen_at, User.role, User.display_name)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.token_hash == security.token_digest(cookie[SESSION_ID]),
                   UserSession.user_id == cookie[USER_ID], UserSession.revoked_at.is_(None),
                   UserSession.last_seen_at > now - SESSION_IDLE, User.is_active.is_(True))
        ).one_or_none()
    if row is None:
        return None
    session_row_id, last_seen_at, role, display_name = row
    if last_seen_at < now - SESSION_TOUCH_INTERVAL:
        usage.note(session_row_id)
    return Actor(cookie[USER_ID], Role(role), display_name)
