"""Field-level encryption for the few values that must stay unreadable without a key, even
to someone holding a copy of the database (a sensitive personal datum such as an ethnic
group, Decree 13/2023 art. 2.4).

Keys are `settings.FIELD_ENCRYPTION_KEYS` (Fernet keys: AES-128-CBC with an HMAC-SHA256,
a random IV per value): the first encrypts, every one decrypts, so a new key is put first,
`manage.py rotate_field_keys` re-encrypts every value with it, and only then the old key is
dropped (docs/privacy.md). Encryption is randomised: equal values give different tokens,
so an encrypted column can be neither searched nor compared in SQL.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


class UndecryptableValue(Exception):
    """A stored value no configured key opens (a key was dropped before the rotation)."""


@lru_cache(maxsize=4)
def _keyring(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ValueError("FIELD_ENCRYPTION_KEYS is empty")
    return MultiFernet([Fernet(key) for key in keys])


def keyring() -> MultiFernet:
    return _keyring(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(text: str) -> str:
    return keyring().encrypt(text.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return keyring().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise UndecryptableValue("no FIELD_ENCRYPTION_KEYS key opens this value") from exc


def rotate(token: str) -> str:
    """The same value encrypted with the first key (a no-op for the reader)."""
    try:
        return keyring().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise UndecryptableValue("no FIELD_ENCRYPTION_KEYS key opens this value") from exc


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token and read back in clear; "" is stored as "" (nothing to
    hide, and "no value" stays cheap to find). Lookups other than `=""` never match."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(str(value))
