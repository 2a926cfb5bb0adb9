"""Password hashing (argon2id); API token, session id and sign-in link generation."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the account does not exist, so timing does not reveal which emails exist.
_DUMMY_HASH = _hasher.hash("liveshop-dummy-password")

TOKEN_PREFIX = "lsk_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_api_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_id() -> str:
    """The random id a session cookie carries; only its digest is stored."""
    return secrets.token_urlsafe(32)


def new_link_token() -> str:
    """The random, single-use token of an e-mailed sign-in link; only its digest is stored."""
    return secrets.token_urlsafe(32)
