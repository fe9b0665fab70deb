import phonenumbers


def normalize_phone(raw: str) -> str | None:
    """Return the E.164 form of a phone number typed in any common format, or None.

    Numbers without a country code are read as Vietnamese: `0912 345 678` → `+84912345678`.
    """
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 32:
        return None
    try:
        number = phonenumbers.parse(raw, "VN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
