"""Idempotency keys with Stripe's semantics.

A retried write with the same key returns the first result; the same key with a different
request is rejected (422). The operation's writes and the stored result commit in one
transaction, so a crash can never leave "done" without its effects or effects without "done".

A key is stored in a scope. Keys clients send live in ``client``; a use case that runs
further steps of its own under the client's key (a one-tap purchase's checkout and payment)
stores each step in a scope of its own with the client's key unchanged, so no step's key can
be longer than the client's, nor one a client could send.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from liveshop.core.config import get_settings
from liveshop.core.db import Base, Database, UTCDateTime, rows_affected, utcnow
from liveshop.core.errors import Conflict, DomainError, InvalidInput

KEY_MAX_LENGTH = 255
CLIENT_SCOPE = "client"
SCOPE_MAX_LENGTH = 16
WAIT_FOR_RUNNING_SECONDS = 15.0


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Whose key it is: the client's (``client``), or a step the server runs under it.
    scope: Mapped[str] = mapped_column(String(SCOPE_MAX_LENGTH), default=CLIENT_SCOPE,
                                       server_default=CLIENT_SCOPE)
    key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH))
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(10), default="running")
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Any
    replayed: bool


class ReplayedError(DomainError):
    """The stored failure of the first attempt, raised again for its retry."""

    def __init__(self, status: int, body: Any):
        error = body.get("error", {}) if isinstance(body, dict) else {}
        super().__init__(str(error.get("message", "")), field=error.get("field"),
                         code=str(error.get("code", "error")))
        self.status = status


def fingerprint(operation: str, payload: Any) -> str:
    """Hash of what the request asks for; a reused key must ask for the same thing."""
    canonical = json.dumps([operation, payload], sort_keys=True, separators=(",", ":"),
                           default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def validate_key(key: str | None) -> str:
    if key is None or not key.strip():
        raise InvalidInput("An Idempotency-Key header is required for this request",
                           field="Idempotency-Key")
    if len(key) > KEY_MAX_LENGTH:
        raise InvalidInput(f"Idempotency-Key is longer than {KEY_MAX_LENGTH} characters",
                           field="Idempotency-Key")
    return key.strip()


def error_body(error: DomainError) -> dict[str, Any]:
    return {"error": {"code": error.code, "message": error.message, "field": error.field}}


def run_once(
    db: Database,
    *,
    user_id: int,
    key: str,
    request_fingerprint: str,
    operation: Callable[[Session], tuple[int, Any]],
    last: Callable[[Session], None] | None = None,
    brief: bool = False,
    scope: str = CLIENT_SCOPE,
) -> StoredResponse:
    """Run ``operation`` at most once per (user, scope, key) and return its stored response.

    ``operation`` gets a session inside the transaction that also records the result and
    returns ``(http_status, json_body)``. A DomainError it raises is recorded as the result
    (its writes rolled back), so a retry gets the same error (as ReplayedError) instead of
    a second attempt. ``last`` runs after the result is recorded, right before the commit:
    the place for an update of a row every buyer contends for, which then stays locked for
    one round trip only.

    ``brief``: the operation only touches this database, briefly (no payment provider).
    Its key is then stored with its result in its own transaction rather than claimed in
    one of its own first: two transactions fewer. Concurrent requests with one key may each
    run it, but only the first commits; the others wait on the key's unique index, roll back
    and replay what it stored.

    ``scope``: where the key is stored; a step the server runs under a client's key names
    its own (see the module's docstring).
    """
    key = validate_key(key)
    if brief:
        stored = _run_in_one_transaction(db, user_id, scope, key, request_fingerprint,
                                         operation, last)
        if stored is not None:
            return stored
    deadline = time.monotonic() + WAIT_FOR_RUNNING_SECONDS
    while True:
        record_id, existing = _claim(db, user_id, scope, key, request_fingerprint)
        if existing is not None:
            if existing.fingerprint != request_fingerprint:
                raise InvalidInput(
                    "This Idempotency-Key was already used with a different request",
                    field="Idempotency-Key", code="idempotency_key_reused",
                )
            if existing.state == "done":
                assert existing.response_status is not None
                if existing.response_status >= 400:
                    raise ReplayedError(existing.response_status, existing.response_body)
                return StoredResponse(existing.response_status, existing.response_body, True)
            if time.monotonic() > deadline:
                raise Conflict("A request with this Idempotency-Key is still in progress",
                               field="Idempotency-Key", code="idempotency_key_in_use")
            time.sleep(0.05)
            continue
        break

    try:
        with db.transaction() as session:
            status, body = operation(session)
            _finish(session, record_id, status, body)
            if last is not None:
                last(session)
        return StoredResponse(status, body, False)
    except DomainError as error:
        with db.transaction() as session:
            _finish(session, record_id, error.status, error_body(error))
        raise
    except BaseException:
        # Nothing was committed: free the key so the client's retry can run.
        with db.transaction() as session:
            session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))
        raise


def _run_in_one_transaction(
    db: Database, user_id: int, scope: str, key: str, request_fingerprint: str,
    operation: Callable[[Session], tuple[int, Any]], last: Callable[[Session], None] | None,
) -> StoredResponse | None:
    """The ``brief`` run; None when the key turned out to be taken (then it is answered as
    a retry), or when the operation hit a constraint (then it runs again the usual way)."""
    def store(session: Session, status: int, body: Any) -> None:
        store_results(session, [done_record(user_id, key, request_fingerprint, status, body,
                                            scope=scope)])

    try:
        try:
            with db.transaction() as session:
                status, body = operation(session)
                store(session, status, body)
                if last is not None:
                    last(session)
            return StoredResponse(status, body, False)
        except DomainError as error:
            with db.transaction() as session:
                store(session, error.status, error_body(error))
            raise
    except IntegrityError:
        return None


def done_record(user_id: int, key: str, request_fingerprint: str, status: int,
                body: Any, *, scope: str = CLIENT_SCOPE) -> dict[str, Any]:
    """A key stored with its result at once, for :func:`store_results`."""
    return {"user_id": user_id, "scope": scope, "key": key,
            "fingerprint": request_fingerprint, "state": "done", "response_status": status,
            "response_body": body}


def store_results(session: Session, records: list[dict[str, Any]]) -> None:
    """Store finished results under their keys, with the writes they belong to (the
    ``brief`` run, or several of them in one batch); IntegrityError if a key is taken."""
    session.execute(insert(IdempotencyRecord), records)


def stored_response(session: Session, user_id: int, key: str, *,
                    scope: str = CLIENT_SCOPE) -> StoredResponse | None:
    """What a finished run under the key stored; None if none has finished."""
    record = session.scalars(select(IdempotencyRecord).where(
        IdempotencyRecord.user_id == user_id, IdempotencyRecord.scope == scope,
        IdempotencyRecord.key == key, IdempotencyRecord.state == "done")).first()
    if record is None or record.response_status is None:
        return None
    return StoredResponse(record.response_status, record.response_body, True)


def _claim(
    db: Database, user_id: int, scope: str, key: str, request_fingerprint: str
) -> tuple[int, IdempotencyRecord | None]:
    """Insert a running record for the key, or return the record that already holds it."""
    try:
        with db.transaction() as session:
            record = IdempotencyRecord(user_id=user_id, scope=scope, key=key,
                                       fingerprint=request_fingerprint)
            session.add(record)
            session.flush()
            return record.id, None
    except IntegrityError:
        pass
    with db.transaction() as session:
        existing = session.scalars(
            select(IdempotencyRecord).where(
                IdempotencyRecord.user_id == user_id, IdempotencyRecord.scope == scope,
                IdempotencyRecord.key == key,
            )
        ).one()
        abandoned_after = timedelta(seconds=get_settings().idempotency_abandoned_seconds)
        if existing.state == "running" and existing.created_at < utcnow() - abandoned_after:
            taken = rows_affected(session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.id == existing.id,
                       IdempotencyRecord.created_at == existing.created_at)
                .values(created_at=utcnow())
            ))
            if taken == 1 and existing.fingerprint == request_fingerprint:
                return existing.id, None
        session.expunge(existing)
        return existing.id, existing


def _finish(session: Session, record_id: int, status: int, body: Any) -> None:
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record_id)
        .values(state="done", response_status=status, response_body=body)
    )
