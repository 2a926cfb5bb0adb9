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
from collections.abc import Callable, Collection
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
    abandoned_seconds: float,
    scope: str = CLIENT_SCOPE,
) -> StoredResponse:
    """Run ``operation`` at most once per (user, scope, key) and return its stored response.

    The key is claimed first, in a transaction of its own, so a concurrent request with the
    same key sees it running (409 after waiting ``WAIT_FOR_RUNNING_SECONDS``) rather than
    running the operation too. ``operation`` gets a session inside the transaction that also
    records the result and returns ``(http_status, json_body)``. A DomainError it raises is
    recorded as the result (its writes rolled back), so a retry gets the same error (as
    ReplayedError) instead of a second attempt. A key left running for
    ``abandoned_seconds`` (its process died) is taken over by the next request.

    ``scope``: where the key is stored; a step the server runs under a client's key names
    its own (see the module's docstring).
    """
    key = validate_key(key)
    claimed = _claim_when_free(db, user_id, scope, key, request_fingerprint,
                               timedelta(seconds=abandoned_seconds))
    if isinstance(claimed, StoredResponse):
        return claimed
    try:
        with db.transaction() as session:
            status, body = operation(session)
            _finish(session, claimed, status, body)
        return StoredResponse(status, body, False)
    except DomainError as error:
        with db.transaction() as session:
            _finish(session, claimed, error.status, error_body(error))
        raise
    except BaseException:
        # Nothing was committed: free the key so the client's retry can run.
        with db.transaction() as session:
            session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == claimed))
        raise


def _claim_when_free(db: Database, user_id: int, scope: str, key: str,
                     request_fingerprint: str, abandoned_after: timedelta
                     ) -> int | StoredResponse:
    """The id of the key's record, claimed for this run; or the stored response of a
    finished run of the same request."""
    deadline = time.monotonic() + WAIT_FOR_RUNNING_SECONDS
    while True:
        record_id, existing = _claim(db, user_id, scope, key, request_fingerprint,
                                     abandoned_after)
        if existing is None:
            return record_id
        ensure_same_request(existing, request_fingerprint)
        if existing.state == "done":
            return replay(existing)
        if time.monotonic() > deadline:
            raise Conflict("A request with this Idempotency-Key is still in progress",
                           field="Idempotency-Key", code="idempotency_key_in_use")
        time.sleep(0.05)


def ensure_same_request(record: IdempotencyRecord, request_fingerprint: str) -> None:
    """A key answers only the request it was first used for (422 otherwise)."""
    if record.fingerprint != request_fingerprint:
        raise InvalidInput("This Idempotency-Key was already used with a different request",
                           field="Idempotency-Key", code="idempotency_key_reused")


def replay(record: IdempotencyRecord) -> StoredResponse:
    """A finished run's response, for its retry; a stored error is raised again."""
    assert record.state == "done" and record.response_status is not None
    if record.response_status >= 400:
        raise ReplayedError(record.response_status, record.response_body)
    return StoredResponse(record.response_status, record.response_body, True)


def done_record(user_id: int, key: str, request_fingerprint: str, status: int,
                body: Any, *, scope: str = CLIENT_SCOPE) -> dict[str, Any]:
    """A key stored with its result at once, for :func:`store_results`."""
    return {"user_id": user_id, "scope": scope, "key": key,
            "fingerprint": request_fingerprint, "state": "done", "response_status": status,
            "response_body": body}


def store_results(session: Session, records: list[dict[str, Any]]) -> None:
    """Store finished results under their keys with the writes they belong to, in one
    statement: for operations that only touch this database, briefly, the key needs no
    transaction of its own first. IntegrityError if a key is taken (a retry, or a
    concurrent request with the same key, once that one commits)."""
    session.execute(insert(IdempotencyRecord), records)


def stored_records(session: Session, scope: str, keys: Collection[tuple[int, str]]
                   ) -> dict[tuple[int, str], IdempotencyRecord]:
    """The records stored under these (user id, key) pairs in ``scope``, in one query."""
    if not keys:
        return {}
    found = session.scalars(select(IdempotencyRecord).where(
        IdempotencyRecord.scope == scope,
        IdempotencyRecord.user_id.in_({user_id for user_id, _ in keys}),
        IdempotencyRecord.key.in_({key for _, key in keys})))
    wanted = set(keys)
    return {(record.user_id, record.key): record for record in found
            if (record.user_id, record.key) in wanted}


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
    db: Database, user_id: int, scope: str, key: str, request_fingerprint: str,
    abandoned_after: timedelta,
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
