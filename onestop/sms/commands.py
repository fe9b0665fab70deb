"""Reading an SMS command: Vietnamese without diacritics, any case, any spacing.

- `TT <tracking code>`: the status of a dossier (`DV-…`) or a feedback item (`PA-…`); the code
  as forgiving as every lookup (`common.tracking`); the prefix may be left out.
- `PA <text>` or `PA <commune code> <text>`: a feedback item.
- `HD`, and anything else: the help text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from common.text import strip_diacritics
from common.tracking import normalize_tracking_code

STATUS, PETITION, HELP = "status", "petition", "help"
# The keyword, then a separator or the end; `TT` may run straight into a code (`TTDV7K3M…`).
_KEYWORD = re.compile(r"\s*(?:(TT)(?=[\s\W_]|DV|PA|\d|$)|(PA|HD)(?=[\s\W_]|$))", re.IGNORECASE)
_COMMUNE_CODE = re.compile(r"\s*(\d{1,5})(?=[\s\W_]|$)[\s\W_]*")
_KINDS = {"TT": STATUS, "PA": PETITION, "HD": HELP}


@dataclass(frozen=True)
class Command:
    kind: str
    # What follows the keyword, as sent (diacritics kept), squashed and trimmed.
    argument: str = ""


def parse(text: str) -> Command:
    """The command `text` holds; anything unreadable is `HD`."""
    squashed = " ".join(text.split())
    # Matched on the text without diacritics ("Pá", "TŦ"); each character keeps its place,
    # since only combining marks go and đ becomes d.
    plain = strip_diacritics(_composed(squashed))
    match = _KEYWORD.match(plain)
    if match is None:
        return Command(HELP)
    keyword = (match.group(1) or match.group(2)).upper()
    argument = _composed(squashed)[match.end() :].strip(" :.,;-")
    return Command(_KINDS[keyword], argument)


def _composed(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def tracking_codes(argument: str, prefixes: tuple[str, ...]) -> dict[str, str]:
    """The canonical codes `argument` can be, by prefix: `{"DV": "DV-…"}`. A code sent
    without its prefix may be either kind's."""
    found = {}
    for prefix in prefixes:
        code = normalize_tracking_code(argument, prefix)
        if code is not None:
            found[prefix] = code
    return found


def split_commune(argument: str) -> tuple[int | None, str]:
    """`(commune code, text)` when `argument` starts with a number of up to five digits,
    else `(None, argument)`."""
    match = _COMMUNE_CODE.match(argument)
    if match is None:
        return None, argument
    return int(match.group(1)), argument[match.end() :].strip()
