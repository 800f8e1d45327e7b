"""Accounts' impact.com auth tokens, encrypted at rest with Fernet (the `cryptography` library).

The keys come from TVR_ENCRYPTION_KEYS: comma-separated Fernet keys, the first encrypts, every
one decrypts (MultiFernet), so a key is rotated by putting a new one first, running
`manage.py rotate_account_tokens`, then dropping the old one. Without the variable a
development key is derived from SECRET_KEY, so `make run` needs nothing new (it still opens
tokens saved before keys were configured, until they are rotated);
`check --deploy` warns about it (checks.py). A token is never shown again once saved: the
only way out of this module is to the client that sends it to impact.com.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

KEYS_VARIABLE = "TVR_ENCRYPTION_KEYS"


class TokenUnreadable(Exception):
    """A stored token no configured key opens (a key was dropped before rotating)."""


def configured_keys() -> list[str]:
    return [key.strip() for key in os.environ.get(KEYS_VARIABLE, "").split(",") if key.strip()]


def uses_derived_key() -> bool:
    """True when no key is configured and the development key from SECRET_KEY is in use."""
    return not configured_keys()


def derived_key() -> bytes:
    digest = hashlib.sha256(b"tvr-dashboard account tokens\0" + settings.SECRET_KEY.encode())
    return base64.urlsafe_b64encode(digest.digest())


def _fernet() -> MultiFernet:
    # The derived key always decrypts last, so tokens saved before the keys were configured
    # are still read (and `rotate_account_tokens` moves them to the first key).
    keys = [*configured_keys(), derived_key()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError):
        # Never echo the variable: it holds the keys.
        raise TokenUnreadable(
            f"{KEYS_VARIABLE} must hold Fernet keys separated by commas "
            "(make one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')."
        ) from None


def encrypt(token: str) -> str:
    return _fernet().encrypt(token.encode()).decode()


def decrypt(stored: str) -> str:
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except InvalidToken:
        raise TokenUnreadable(
            f"The stored token cannot be read with the keys in {KEYS_VARIABLE}: was a key "
            "removed before `manage.py rotate_account_tokens` ran? Add it back, or save the "
            "account's token again."
        ) from None


def rotate(stored: str) -> str:
    """The same token encrypted with the first key (MultiFernet.rotate)."""
    try:
        return _fernet().rotate(stored.encode()).decode()
    except InvalidToken:
        raise TokenUnreadable(
            f"A stored token cannot be read with the keys in {KEYS_VARIABLE}; keep the old "
            "key in the list (after the new one) until every token is rotated."
        ) from None
