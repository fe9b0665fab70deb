"""Human tracking codes: prefix + 8 Crockford base32 characters + 1 check character.

Shown grouped (`DV-7K3M-9QX2-H`). Lookups ignore case and hyphens and read O as 0 and I/L as 1,
as people read codes aloud over a bad phone line.
"""

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
# Odd weights are coprime with 32, so every single-character mistake changes the check.
_WEIGHTS = (1, 3, 5, 7, 9, 11, 13, 15)
BODY_LENGTH = 8


def check_character(body: str) -> str:
    total = sum(_VALUE[ch] * w for ch, w in zip(body, _WEIGHTS, strict=True))
    return ALPHABET[total % 32]


def new_tracking_code(prefix: str) -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return f"{prefix}-{body[:4]}-{body[4:]}-{check_character(body)}"


def normalize_tracking_code(raw: str, prefix: str) -> str | None:
    """Return the canonical grouped form of a typed code, or None if it cannot be one."""
    text = "".join(ch for ch in raw.upper() if ch.isalnum())
    text = text.replace("O", "0").replace("I", "1").replace("L", "1")
    if text.startswith(prefix):
        text = text[len(prefix) :]
    if len(text) != BODY_LENGTH + 1 or any(ch not in _VALUE for ch in text):
        return None
    body, check = text[:BODY_LENGTH], text[BODY_LENGTH]
    if check_character(body) != check:
        return None
    return f"{prefix}-{body[:4]}-{body[4:]}-{check}"
