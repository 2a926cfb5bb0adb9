"""Admin API access tokens at rest: encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from
the ``cryptography`` package) under the key in settings, decrypted only to make a call."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from liveshop.core.config import Settings


class TokenUnreadable(RuntimeError):
    """The stored token was encrypted under another key (the key in settings changed)."""


def _fernet(settings: Settings) -> Fernet:
    key = settings.shopify_token_key.get_secret_value()
    if not key:
        # Derived, so a development install works without one; production sets its own.
        digest = hashlib.sha256(b"liveshop shopify tokens\0" + settings.secret_key.encode())
        key = base64.urlsafe_b64encode(digest.digest()).decode()
    return Fernet(key.encode())


def encrypt_token(settings: Settings, token: str) -> str:
    return _fernet(settings).encrypt(token.encode()).decode()


def decrypt_token(settings: Settings, stored: str) -> str:
    try:
        return _fernet(settings).decrypt(stored.encode()).decode()
    except InvalidToken:
        raise TokenUnreadable("The store's access token cannot be read with the key in "
                              "settings; connect the store again") from None
