"""Device cookies: a browser's signed proof that it signed in to an account before.

The cookie holds, per account, a random nonce issued at the last successful sign-in there
(OWASP's "device cookie"); the log-in throttle counts a known browser's failures against its
nonce alone (accounts/model.py ``LoginThrottle``). Signed with the secret key, so it cannot
be made up; it says nothing secret and grants nothing without the password.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from itsdangerous import BadData, URLSafeTimedSerializer

DEVICE_COOKIE = "liveshop_device"
DEVICE_COOKIE_MAX_AGE = 365 * 24 * 3600
# Accounts one browser is remembered for (a shared family computer); the oldest goes first.
ACCOUNTS_PER_DEVICE = 5
_SALT = "liveshop.device"

KnownDevices = Mapping[int, str]  # user id -> nonce of this browser's last sign-in there


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALT)


def read_device_cookie(secret_key: str, value: str | None) -> dict[int, str]:
    """The accounts this browser signed in to (nothing if the cookie is absent, forged,
    older than a year or malformed)."""
    if not value:
        return {}
    try:
        entries = _serializer(secret_key).loads(value, max_age=DEVICE_COOKIE_MAX_AGE)
    except BadData:
        return {}
    if not isinstance(entries, list):
        return {}
    return {user_id: nonce for user_id, nonce in (
        entry for entry in entries if isinstance(entry, list) and len(entry) == 2)
        if isinstance(user_id, int) and isinstance(nonce, str)}


def device_cookie_after_sign_in(secret_key: str, known: KnownDevices, user_id: int) -> str:
    """The cookie value once this browser has signed in to ``user_id``: a fresh nonce for
    it (failures counted against the old one no longer matter), most recent last."""
    entries = [[other, nonce] for other, nonce in known.items() if other != user_id]
    entries.append([user_id, secrets.token_urlsafe(16)])
    return _serializer(secret_key).dumps(entries[-ACCOUNTS_PER_DEVICE:])
