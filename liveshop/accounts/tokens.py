"""Who an API token belongs to, looked up in batches and remembered briefly.

Every API request authenticates, and in a flash sale thousands arrive within seconds. A
lookup each, each in a worker thread, queues every request behind busy threads for the
GIL; so concurrent lookups share one query in one thread hop, and a token seen recently is
answered from memory.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio.to_thread
from sqlalchemy import select, update
from sqlalchemy.orm import InstrumentedAttribute

from liveshop.accounts.events import UserAccessChanged
from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import ApiToken, User
from liveshop.accounts.security import token_digest
from liveshop.core.batching import PerLoop, TurnBatcher
from liveshop.core.db import Database, utcnow
from liveshop.core.events import EventBus

# last_used_at is refreshed at most this often, so API reads do not each cost a write.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)


class UseStamps:
    """Rows used since their time-of-use ``column`` was last written, stamped in one batch.

    Stamping inside the request would cost a write transaction for every new API client (or
    browser): a flash sale of 2,000 first-time buyers would pay 2,000 writes before anything
    is sold. A crash loses at most one batch interval of these times.
    """

    def __init__(self, column: InstrumentedAttribute[Any]) -> None:
        self._table, self._name = column.class_, column.key
        self._used: dict[int, datetime] = {}
        self._lock = threading.Lock()

    def note(self, row_id: int) -> None:
        with self._lock:
            self._used[row_id] = utcnow()

    def write(self, db: Database) -> None:
        with self._lock:
            used, self._used = self._used, {}
        if not used:
            return
        # One executemany (pipelined on PostgreSQL): after a flash sale's first seconds the
        # batch holds thousands of tokens, and a round trip each stole the buyers' CPU.
        with db.transaction() as session:
            session.execute(update(self._table), [
                {"id": row_id, self._name: when} for row_id, when in sorted(used.items())])


class TokenUse(UseStamps):
    """API tokens' last_used_at, which only informs (the account page lists it)."""

    def __init__(self) -> None:
        super().__init__(ApiToken.last_used_at)


@dataclass(frozen=True)
class TokenHolder:
    """A live token (not revoked, its user active) and who it acts for."""

    token_id: int
    last_used_at: datetime | None
    actor: Actor

    def use(self, usage: TokenUse) -> Actor:
        if self.last_used_at is None or self.last_used_at < utcnow() - TOKEN_TOUCH_INTERVAL:
            usage.note(self.token_id)
        return self.actor


# Bound parameters per statement: under SQLite's oldest limit (999), far above a usual batch.
_DIGESTS_PER_QUERY = 500


def token_holders(db: Database, digests: Sequence[str]) -> dict[str, TokenHolder]:
    """The live tokens among ``digests`` (SHA-256 of the tokens), by digest."""
    found: dict[str, TokenHolder] = {}
    # Columns rather than entities: every API request pays for this lookup.
    with db.read() as session:
        for start in range(0, len(digests), _DIGESTS_PER_QUERY):
            rows = session.execute(
                select(ApiToken.token_hash, ApiToken.id, ApiToken.last_used_at, User.id,
                       User.role, User.display_name)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash.in_(digests[start:start + _DIGESTS_PER_QUERY]),
                       ApiToken.revoked_at.is_(None), User.is_active.is_(True)))
            for digest, token_id, last_used_at, user_id, role, display_name in rows:
                found[digest] = TokenHolder(token_id, last_used_at,
                                            Actor(user_id, Role(role), display_name))
    return found


def bearer_token(authorization: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class TokenLookup:
    """``await lookup.actor(token)``: one per process (on the AppContext).

    Lookups made during one event-loop turn are answered by one query run in one worker
    thread (liveshop/core/batching.py). Tokens found are remembered for ``TTL_SECONDS`` (at
    most ``MAX_CACHED`` of them); unknown or revoked ones are not, so a new token works at
    once.

    A revoke, role change or suspension made through this process (``forget_everywhere``)
    takes effect at once. One made by another process takes effect here within
    ``TTL_SECONDS`` (10 s): the accepted price of not asking the database on every request.
    """

    TTL_SECONDS = 10.0
    MAX_CACHED = 50_000

    def __init__(self, db: Database, usage: TokenUse) -> None:
        self._db, self._usage = db, usage
        self._cache: OrderedDict[str, tuple[float, TokenHolder]] = OrderedDict()
        # Bumped by every forget: a query that began before it may have read the token
        # still live, so its findings must not be remembered.
        self._generation = 0
        # A test may serve the app on several threads' loops at once; the lock guards the
        # cache and the generation across those threads.
        self._batches = PerLoop(lambda: TurnBatcher(self._look_up))
        self._lock = threading.Lock()
        _LOOKUPS.add(self)

    async def actor(self, token: str) -> Actor | None:
        digest = token_digest(token)
        holder = self._cached(digest)
        if holder is None:
            holder = await self._batches.here().submit(digest)
        return holder.use(self._usage) if holder is not None else None

    def forget(self, *, digest: str | None = None, user_id: int | None = None) -> None:
        """Drop what is remembered about the token with ``digest`` / the user's tokens."""
        with self._lock:
            self._generation += 1
            if digest is not None:
                self._cache.pop(digest, None)
            if user_id is not None:
                for key in [key for key, (_, holder) in self._cache.items()
                            if holder.actor.user_id == user_id]:
                    del self._cache[key]

    def _cached(self, digest: str) -> TokenHolder | None:
        with self._lock:
            entry = self._cache.get(digest)
            if entry is None:
                return None
            expires_at, holder = entry
            if expires_at <= time.monotonic():
                del self._cache[digest]
                return None
            return holder

    async def _look_up(self, digests: list[str]) -> list[TokenHolder | None]:
        with self._lock:
            generation = self._generation
        found = await anyio.to_thread.run_sync(token_holders, self._db,
                                               list(dict.fromkeys(digests)))
        self._remember(found, generation)
        return [found.get(digest) for digest in digests]

    def _remember(self, found: dict[str, TokenHolder], generation: int) -> None:
        expires_at = time.monotonic() + self.TTL_SECONDS
        with self._lock:
            if generation != self._generation:
                return
            for digest, holder in found.items():
                self._cache[digest] = (expires_at, holder)
                self._cache.move_to_end(digest)
            # Oldest first: with one TTL for all, the first inserted expire first.
            while len(self._cache) > self.MAX_CACHED:
                self._cache.popitem(last=False)


_LOOKUPS: weakref.WeakSet[TokenLookup] = weakref.WeakSet()


def forget_everywhere(*, digest: str | None = None, user_id: int | None = None) -> None:
    """Tell every lookup in this process to drop a token / a user's tokens; call it after
    the change is committed, so no lookup can read the old state again."""
    for lookup in list(_LOOKUPS):
        lookup.forget(digest=digest, user_id=user_id)


def forget_after_commit(bus: EventBus) -> None:
    """Once a role change or suspension commits, this process's lookups forget the user's
    tokens (subscribed by the composition root)."""
    bus.subscribe(UserAccessChanged, lambda event: forget_everywhere(user_id=event.user_id))
