from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy.orm import Session

from liveshop.accounts.orm import User
from liveshop.core.db import Database
from liveshop.core.errors import Conflict, DomainError, InvalidInput
from liveshop.core.idempotency import fingerprint, run_once
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
                     operation=operation)
    again = run_once(db, user_id=user_id, key="k1", request_fingerprint=fingerprint("op", 1),
                     operation=operation)
    assert (first.status, first.body, first.replayed) == (201, {"call": 1}, False)
    assert (again.status, again.body, again.replayed) == (201, {"call": 1}, True)
    assert operation.calls == 1


def test_same_key_with_another_request_is_rejected(db: Database, user_id: int) -> None:
    run_once(db, user_id=user_id, key="k", request_fingerprint=fingerprint("op", 1),
             operation=Counter())
    with pytest.raises(InvalidInput) as raised:
        run_once(db, user_id=user_id, key="k", request_fingerprint=fingerprint("op", 2),
                 operation=Counter())
    assert raised.value.code == "idempotency_key_reused"
    assert raised.value.field == "Idempotency-Key"


def test_concurrent_retries_run_the_operation_once(db: Database, user_id: int) -> None:
    operation = Counter()

    def attempt(_: int) -> Any:
        return run_once(db, user_id=user_id, key="same", request_fingerprint=fingerprint("op", 1),
                        operation=operation).body

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
                 operation=failing)
    retried = Counter()
    with pytest.raises(DomainError) as replay:
        run_once(db, user_id=user_id, key="e", request_fingerprint=fingerprint("op", 1),
                 operation=retried)
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
                 operation=crashing)
    result = run_once(db, user_id=user_id, key="c", request_fingerprint=fingerprint("op", 1),
                      operation=Counter())
    assert result.status == 201 and not result.replayed


@pytest.mark.parametrize("key", [None, "", "x" * 256])
def test_missing_or_oversized_key_names_the_header(db: Database, user_id: int,
                                                   key: str | None) -> None:
    with pytest.raises(InvalidInput) as raised:
        run_once(db, user_id=user_id, key=key, request_fingerprint="f",  # type: ignore[arg-type]
                 operation=Counter())
    assert raised.value.field == "Idempotency-Key"


# --- brief operations: the key is stored with the result, in the operation's transaction ---


class Signup(Counter):
    """A counter that writes: each run adds a user, so what committed can be counted."""

    def __call__(self, session: Session) -> tuple[int, Any]:
        status, body = super().__call__(session)
        session.add(User(email=f"brief-{body['call']}@example.com", display_name="B",
                         password_hash="x"))
        session.flush()
        return status, body


def _brief_users(db: Database) -> int:
    with db.read() as session:
        return session.query(User).filter(User.email.like("brief-%")).count()


def test_a_brief_operation_is_stored_with_its_key_and_replayed(db: Database,
                                                               user_id: int) -> None:
    operation = Signup()
    with statements(db) as seen:
        first = run_once(db, user_id=user_id, key="b", request_fingerprint=fingerprint("op", 1),
                         operation=operation, brief=True)
    assert sum("idempotency_keys" in statement for statement in seen) == 1  # one INSERT
    again = run_once(db, user_id=user_id, key="b", request_fingerprint=fingerprint("op", 1),
                     operation=operation, brief=True)
    assert (first.body, first.replayed, again.body, again.replayed) == (
        {"call": 1}, False, {"call": 1}, True)
    assert _brief_users(db) == 1
    with pytest.raises(InvalidInput) as reused:
        run_once(db, user_id=user_id, key="b", request_fingerprint=fingerprint("op", 2),
                 operation=operation, brief=True)
    assert reused.value.code == "idempotency_key_reused"


def test_concurrent_brief_runs_commit_once_and_all_answer_alike(db: Database,
                                                                user_id: int) -> None:
    operation = Signup()

    def attempt(_: int) -> Any:
        return run_once(db, user_id=user_id, key="same", brief=True,
                        request_fingerprint=fingerprint("op", 1), operation=operation).body

    with ThreadPoolExecutor(max_workers=8) as pool:
        bodies = list(pool.map(attempt, range(8)))
    assert len({body["call"] for body in bodies}) == 1
    assert _brief_users(db) == 1


def test_a_brief_operations_error_is_stored_without_its_writes(db: Database,
                                                               user_id: int) -> None:
    def failing(session: Session) -> tuple[int, Any]:
        Signup()(session)
        raise Conflict("sold out", field="quantity", code="out_of_stock")

    with pytest.raises(Conflict):
        run_once(db, user_id=user_id, key="e", request_fingerprint=fingerprint("op", 1),
                 operation=failing, brief=True)
    with pytest.raises(DomainError) as replay:
        run_once(db, user_id=user_id, key="e", request_fingerprint=fingerprint("op", 1),
                 operation=Signup(), brief=True)
    assert (replay.value.status, replay.value.code) == (409, "out_of_stock")
    assert _brief_users(db) == 0
