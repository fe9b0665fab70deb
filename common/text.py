import re
import unicodedata
from collections.abc import Callable

_SPACES = re.compile(r"\s+")


def squash_spaces(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def strip_diacritics(text: str) -> str:
    """`text` without combining marks, đ/Đ as d/D: Vietnamese as people type it on a phone
    without a Vietnamese keyboard (and as an SMS fits the GSM alphabet)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def fold(text: str) -> str:
    """Lower-case, strip Vietnamese diacritics (đ → d) for diacritics-insensitive search."""
    return strip_diacritics(squash_spaces(text).lower())


# Characters no text we accept may hold: NUL and the other C0/C1 controls (tab, newline and
# carriage return excepted) and lone UTF-16 surrogates (which cannot even be encoded as
# UTF-8: one stored in a row made every page showing it fail). Zero-width joiners and
# non-joiners stay: Khmer and other scripts need them.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# Bidirectional embeddings, overrides and isolates: they make a name or a title display
# otherwise than it reads.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
MAX_DEPTH = 32


class BadText(ValueError):
    """A string with a forbidden character, or nesting deeper than `MAX_DEPTH`, at `path`."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def check_text(value: object, *, max_depth: int = MAX_DEPTH) -> None:
    """Raise `BadText` for the first string (key or value, at any depth) holding a forbidden
    character, or for nesting deeper than `max_depth`. Iterative: a hostile depth cannot
    exhaust the stack."""
    stack: list[tuple[object, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > max_depth:
            raise BadText(path or "non_field_errors", "depth")
        if isinstance(item, str):
            if _FORBIDDEN.search(item):
                raise BadText(path or "non_field_errors", "characters")
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and _FORBIDDEN.search(key):
                    raise BadText(path or "non_field_errors", "characters")
                stack.append((child, child_path, depth + 1))
        elif isinstance(item, list | tuple):
            for index, child in enumerate(item):
                stack.append((child, f"{path}.{index}" if path else str(index), depth + 1))


def strip_bidi_controls(text: str) -> str:
    return _BIDI_CONTROLS.sub("", text)


def without_forbidden(text: str) -> str:
    """`text` with the characters no text may hold removed: for text relayed from outside
    that cannot be sent back for correction (an SMS a phone sent)."""
    return _FORBIDDEN.sub("", text)


def without_forbidden_data(value: object) -> object:
    """`value` with every string (keys too) `without_forbidden`, at any depth (within
    `MAX_DEPTH`; deeper levels are left for `check_text` to refuse)."""
    return _map_strings(value, without_forbidden)


def without_nul_data(value: object) -> object:
    """`value` with NUL removed from every string (keys too): DRF's string fields refuse it
    outright, before any other check."""
    return _map_strings(value, lambda text: text.replace("\x00", ""))


def printable(text: str) -> str:
    """`text` with forbidden characters replaced by U+FFFD: for showing rows stored before
    they were refused."""
    return _FORBIDDEN.sub("\ufffd", text)


def printable_data(value: object) -> object:
    """`value` with every string (keys too) made `printable`, at any depth."""
    return _map_strings(value, printable)


def _map_strings(value: object, change: Callable[[str], str], depth: int = 0) -> object:
    if isinstance(value, str):
        return change(value)
    if depth > MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {
            _map_strings(key, change, depth + 1): _map_strings(child, change, depth + 1)
            for key, child in value.items()
        }
    if isinstance(value, list | tuple):
        return [_map_strings(child, change, depth + 1) for child in value]
    return value
