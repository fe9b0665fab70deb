"""Open311 client applications: their keys, their system user, their rate limit."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction

from onestop.models import Open311Client


def key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_key() -> str:
    return "o311_" + secrets.token_urlsafe(24)


def issue_key(client: Open311Client, api_key: str | None = None) -> str:
    """Give `client` a new key (replacing any old one) and return it: it is shown once and
    kept only as a hash."""
    api_key = api_key or new_key()
    client.key_hash = key_hash(api_key)
    client.key_prefix = api_key[:12]
    client.save()
    return api_key


def client_for_key(api_key: str) -> Open311Client | None:
    """The active client of `api_key`, or None."""
    if not api_key:
        return None
    return Open311Client.objects.filter(key_hash=key_hash(api_key), is_active=True).first()


def system_user(client: Open311Client) -> Any:
    """The account that authors what `client` files for people without a verified account:
    one per client, inactive (nobody signs in as it), its phone field a placeholder."""
    if client.system_user_id is not None:
        return client.system_user
    with transaction.atomic():
        locked = Open311Client.objects.select_for_update().get(pk=client.pk)
        if locked.system_user_id is None:
            user = get_user_model().objects.create(
                phone=f"open311-{secrets.token_hex(6)}",
                full_name=f"Open311: {client.name}"[:150],
                is_active=False,
            )
            user.set_unusable_password()
            user.save(update_fields=["password"])
            locked.system_user = user
            locked.save(update_fields=["system_user", "updated_at"])
        client.system_user = locked.system_user
    return client.system_user


def over_limit(client: Open311Client) -> bool:
    """Whether `client` has used up its requests for this minute (counted in the cache;
    with the cache down, nobody is limited)."""
    window = int(time.time() // 60)
    key = f"open311:rate:{client.pk}:{window}"
    try:
        added = cache.add(key, 1, timeout=90)
        count = 1 if added else cache.incr(key)
    except Exception:  # the limit fails open, like every throttle of the project
        return False
    return int(count) > client.requests_per_minute
