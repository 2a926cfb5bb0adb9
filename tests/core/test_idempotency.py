from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from liveshop.accounts.orm import User
from liveshop.core.db import Database
from liveshop.core.errors import Conflict, DomainError, InvalidInput
from liveshop.core.idempotency import (
    CLIENT_SCOPE,
    ReplayedError,
    StoredResponse,
    done_record,
    ensure_same_request,
    error_body,
    fingerprint,
    replay,
    run_once,
    store_results,
    stored_records,
)
from tests.queries import statements


@pytest.fixture
def user_id(db: Database) -> int:
    with db.transaction() as session:
        user = User(email="i@example.com", display_name="I", password_hash="x")
        session.add(user)
        session.flush()
        return user.id


class Counter:
    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, session: Session) -> tuple[int, Any]:
        with self.lock:
            self.calls += 1
        return 201, {"call": self.calls}


def test_retry_with_same_key_replays_the_first_result(db: Database, user_id: int) -> None:
    operation = Counter()
    first = run_once(db, user_id=user_id, key="k1", request_fingerprint=fingerprint("op", 1),
                     operation=operation, abandoned_seconds=60)
    again = run_once(db, user_id=user_id, key="k1", request_fingerprint=fingerprint("op", 1),
                     operation=operation, abandoned_seconds=60)
    assert (first.status, first.body, first.replayed) == (201, {"call": 1}, False)
    assert (again.status, again.body, again.replayed) == (201, {"call": 1}, True)
    assert operation.calls == 1


def test_same_key_with_another_request_is_rejected(db: Database, user_id: int) -> None:
    run_once(db, user_id=user_id, key="k", request_fingerprint=fingerprint("op", 1),
             operation=Counter(), abandoned_seconds=60)
    with pytest.raises(InvalidInput) as raised:
        run_once(db, user_id=user_id, key="k", request_fingerprint=fingerprint("op", 2),
                 operation=Counter(), abandoned_seconds=60)
    assert raised.value.code == "idempotency_key_reused"
    assert raised.value.field == "Idempotency-Key"


def test_concurrent_retries_run_the_operation_once(db: Database, user_id: int) -> None:
    operation = Counter()

    def attempt(_: int) -> Any:
        return run_once(db, user_id=user_id, key="same", request_fingerprint=fingerprint("op", 1),
                        operation=operation, abandoned_seconds=60).body

    with ThreadPoolExecutor(max_workers=10) as pool:
        bodies = list(pool.map(attempt, range(10)))
    assert operation.calls == 1
    assert bodies == [{"call": 1}] * 10


def test_domain_errors_are_replayed_and_their_writes_rolled_back(
    db: Database, user_id: int
) -> None:
    def failing(session: Session) -> tuple[int, Any]:
        session.add(User(email="ghost@example.com", display_name="G", password_hash="x"))
        session.flush()
        raise Conflict("sold out", field="quantity", code="out_of_stock")

    with pytest.raises(Conflict):
        run_once(db, user_id=user_id, key="e", request_fingerprint=fingerprint("op", 1),
                 operation=failing, abandoned_seconds=60)
    retried = Counter()
    with pytest.raises(DomainError) as replay:
        run_once(db, user_id=user_id, key="e", request_fingerprint=fingerprint("op", 1),
                 operation=retried, abandoned_seconds=60)
    assert (replay.value.status, replay.value.code, replay.value.field) == (
        409, "out_of_stock", "quantity")
    assert retried.calls == 0
    with db.read() as session:
        assert session.query(User).filter_by(email="ghost@example.com").count() == 0


def test_a_crash_frees_the_key_for_the_retry(db: Database, user_id: int) -> None:
    def crashing(session: Session) -> tuple[int, Any]:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        run_once(db, user_id=user_id, key="c", request_fingerprint=fingerprint("op", 1),
                 operation=crashing, abandoned_seconds=60)
    result = run_once(db, user_id=user_id, key="c", request_fingerprint=fingerprint("op", 1),
                      operation=Counter(), abandoned_seconds=60)
    assert result.status == 201 and not result.replayed


@pytest.mark.parametrize("key", [None, "", "x" * 256])
def test_missing_or_oversized_key_names_the_header(db: Database, user_id: int,
                                                   key: str | None) -> None:
    with pytest.raises(InvalidInput) as raised:
        run_once(db, user_id=user_id, key=key, request_fingerprint="f",  # type: ignore[arg-type]
                 operation=Counter(), abandoned_seconds=60)
    assert raised.value.field == "Idempotency-Key"


# --- results stored with the writes they belong to, without a claim first ---


def test_a_result_stored_with_its_writes_replays_and_refuses_another_request(
        db: Database, user_id: int) -> None:
    request = fingerprint("op", 1)
    with statements(db) as seen, db.transaction() as session:
        store_results(session, [done_record(user_id, "b", request, 202, {"id": 7},
                                            scope="step")])
    assert sum("idempotency_keys" in statement for statement in seen) == 1  # one INSERT
    with pytest.raises(IntegrityError), db.transaction() as session:  # a retry's insert
        store_results(session, [done_record(user_id, "b", request, 202, {"id": 8},
                                            scope="step")])
    with db.read() as session:
        found = stored_records(session, "step", [(user_id, "b"), (user_id, "other")])
    assert list(found) == [(user_id, "b")]
    record = found[(user_id, "b")]
    ensure_same_request(record, request)
    assert replay(record) == StoredResponse(202, {"id": 7}, True)
    with pytest.raises(InvalidInput) as reused:
        ensure_same_request(record, fingerprint("op", 2))
    assert reused.value.code == "idempotency_key_reused"


def test_a_stored_error_is_raised_again_on_replay(db: Database, user_id: int) -> None:
    error = Conflict("sold out", field="quantity", code="out_of_stock")
    with db.transaction() as session:
        store_results(session, [done_record(user_id, "e", "f", error.status,
                                            error_body(error))])
    with db.read() as session:
        [record] = stored_records(session, CLIENT_SCOPE, [(user_id, "e")]).values()
    with pytest.raises(ReplayedError) as replayed:
        replay(record)
    assert (replayed.value.status, replayed.value.code) == (409, "out_of_stock")
