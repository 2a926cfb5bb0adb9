"""API tokens looked up in batches and remembered briefly: one query for a burst, none for a
token seen a moment ago, and a revoke or role change in this process felt at once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, update

from liveshop.accounts import service as accounts
from liveshop.accounts import tokens
from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import ApiToken, User
from liveshop.accounts.security import token_digest
from liveshop.accounts.tokens import TokenLookup, TokenUse, forget_after_commit
from liveshop.core.db import Database
from liveshop.core.events import EventBus
from tests.conftest import run_async
from tests.factories import make_buyers
from tests.queries import selects


def lookup_all(lookup: TokenLookup, presented: list[str]) -> list[Actor | None]:
    async def concurrently() -> list[Actor | None]:
        return list(await asyncio.gather(*(lookup.actor(token) for token in presented)))

    return run_async(concurrently())


def lookup_one(lookup: TokenLookup, token: str) -> Actor | None:
    [actor] = lookup_all(lookup, [token])
    return actor


def test_concurrent_lookups_share_one_query(db: Database) -> None:
    issued = make_buyers(db, 40)
    # Repeats and unknown tokens ride in the same batch.
    presented = issued + issued[:5] + [f"lsk_unknown_{index}" for index in range(5)]
    assert len(presented) == 50
    lookup = TokenLookup(db, TokenUse())
    with selects(db) as seen:
        actors = lookup_all(lookup, presented)
    assert len(seen) == 1
    found = actors[:40]
    assert all(actor is not None and actor.role is Role.BUYER for actor in found)
    assert len({actor.user_id for actor in found if actor is not None}) == 40
    assert actors[40:45] == found[:5]
    assert actors[45:] == [None] * 5


def test_a_token_seen_recently_needs_no_query_until_it_expires(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    [token] = make_buyers(db, 1)
    lookup = TokenLookup(db, TokenUse())
    first = lookup_one(lookup, token)
    assert first is not None
    with selects(db) as seen:
        assert lookup_one(lookup, token) == first
    assert seen == []
    # A revoke by another process (here: straight in the database) is not seen until the
    # remembered answer expires: the accepted trade-off.
    with db.transaction() as session:
        session.execute(update(ApiToken).values(revoked_at=ApiToken.created_at))
    assert lookup_one(lookup, token) == first
    now = tokens.time.monotonic()
    monkeypatch.setattr(tokens.time, "monotonic", lambda: now + TokenLookup.TTL_SECONDS)
    assert lookup_one(lookup, token) is None


def test_a_revoke_in_this_process_stops_the_token_at_once(db: Database) -> None:
    [token] = make_buyers(db, 1)
    lookup = TokenLookup(db, TokenUse())
    actor = lookup_one(lookup, token)
    assert actor is not None
    [view] = accounts.list_api_tokens(db, actor)
    accounts.revoke_api_token(db, actor, view.id)
    assert lookup_one(lookup, token) is None


def test_a_role_change_in_this_process_applies_at_once(db: Database) -> None:
    [token] = make_buyers(db, 1)
    lookup = TokenLookup(db, TokenUse())
    actor = lookup_one(lookup, token)
    assert actor is not None and actor.role is Role.BUYER
    # Told after the commit, as the composition root subscribes it (liveshop/app.py).
    bus = EventBus()
    forget_after_commit(bus)
    db.after_commit = bus
    with db.transaction() as session:
        accounts.change_role(session, actor.user_id, Role.SELLER)
    changed = lookup_one(lookup, token)
    assert changed is not None and changed.role is Role.SELLER


def test_unknown_tokens_and_inactive_users_get_no_one_and_are_not_remembered(
        db: Database) -> None:
    [token] = make_buyers(db, 1)
    lookup = TokenLookup(db, TokenUse())
    assert lookup_one(lookup, "lsk_never_issued") is None
    with db.transaction() as session:
        session.execute(update(User).values(is_active=False))
    assert lookup_one(lookup, token) is None
    with db.transaction() as session:
        session.execute(update(User).values(is_active=True))
    assert lookup_one(lookup, token) is not None  # the refusal was not remembered


def test_use_is_noted_for_the_batched_stamp(db: Database) -> None:
    used, unused = make_buyers(db, 3), make_buyers(db, 1)
    usage = TokenUse()
    lookup = TokenLookup(db, usage)
    for token in used:
        assert lookup_one(lookup, token) is not None
    usage.write(db)
    with db.read() as session:
        stamped = session.execute(select(ApiToken.token_hash, ApiToken.last_used_at)).all()
    assert {digest for digest, when in stamped if when is not None} == {
        token_digest(token) for token in used}
    assert len(stamped) == len(used) + len(unused)


def test_a_failed_query_reaches_every_waiting_request(db: Database) -> None:
    issued = make_buyers(db, 3)
    lookup = TokenLookup(db, TokenUse())

    def broken(*_: object) -> object:
        raise RuntimeError("database unreachable")

    async def concurrently() -> list[object]:
        return await asyncio.gather(*(lookup.actor(token) for token in issued),
                                    return_exceptions=True)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tokens, "token_holders", broken)
        outcomes = run_async(concurrently())
    assert [str(outcome) for outcome in outcomes] == ["database unreachable"] * 3
    assert lookup_all(lookup, issued)[0] is not None  # nothing stuck after the failure
