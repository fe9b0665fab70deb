"""Helpers of `.ci/contract` that talk to the live server and the fake SMS gateway (stdlib only).

    python openapi/contract/live.py sign-in PHONE PASSWORD      # prints an access token
    python openapi/contract/live.py throwaway PHONE             # registers PHONE, prints a token
    python openapi/contract/live.py dictionaries DIR            # Schemathesis dictionaries

`CONTRACT_API` is the server's origin (e.g. http://127.0.0.1:8119) and `CONTRACT_SMS` the fake
gateway's (e.g. http://127.0.0.1:9219); one-time codes are read from the gateway's
`GET /_fake/messages`.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

API = os.environ.get("CONTRACT_API", "http://127.0.0.1:8000").rstrip("/")
SMS = os.environ.get("CONTRACT_SMS", "http://127.0.0.1:9198").rstrip("/")
PASSWORD = "Contract#2026-pass"  # a throwaway account's password
CODE = re.compile(r"\b(\d{6})\b")


class ApiError(RuntimeError):
    pass


def call(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310  # nosec B310
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    return status, json.loads(raw) if raw else None


def expect(status: int, body: Any, wanted: int, what: str) -> Any:
    if status != wanted:
        raise ApiError(f"{what}: expected {wanted}, got {status}: {body!r}")
    return body


def e164(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return "+84" + digits[1:] if digits.startswith("0") else "+" + digits


def one_time_code(phone: str, after: int, timeout: float = 10.0) -> str:
    """The code of the first SMS to `phone` past the first `after` messages of the gateway."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, messages = call("GET", f"{SMS}/_fake/messages")
        for message in messages[after:]:
            match = CODE.search(message["text"])
            if message["to"] == e164(phone) and match:
                return match.group(1)
        time.sleep(0.1)
    raise ApiError(f"no one-time code reached {phone} within {timeout} s")


def message_count() -> int:
    _, messages = call("GET", f"{SMS}/_fake/messages")
    return len(messages)


def sign_in(phone: str, password: str) -> dict[str, Any]:
    status, body = call(
        "POST",
        f"{API}/api/v1/auth/token/",
        {"phone": phone, "password": password, "platform": "contract", "app_version": "1"},
    )
    return expect(status, body, 200, f"sign-in of {phone}")


def register(phone: str, full_name: str = "Contract Throwaway") -> dict[str, Any]:
    """Register `phone` (the code read from the fake gateway) and sign in: the tokens."""
    seen = message_count()
    status, body = call("POST", f"{API}/api/v1/auth/otp/", {"phone": phone, "purpose": "register"})
    expect(status, body, 202, f"one-time code for {phone}")
    otp = one_time_code(phone, seen)
    status, body = call(
        "POST",
        f"{API}/api/v1/auth/register/",
        {"phone": phone, "password": PASSWORD, "full_name": full_name, "otp": otp},
    )
    expect(status, body, 201, f"registration of {phone}")
    return sign_in(phone, PASSWORD)


def write_dictionaries(directory: Path) -> None:
    """Values the spec cannot enumerate because they are rows: the enabled language codes."""
    directory.mkdir(parents=True, exist_ok=True)
    status, languages = call("GET", f"{API}/api/v1/languages/")
    expect(status, languages, 200, "languages")
    lines = [json.dumps(language["code"]) for language in languages]
    (directory / "languages.dict").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    command, *args = argv
    if command == "sign-in":
        print(sign_in(args[0], args[1])["access"])
    elif command == "throwaway":
        print(register(args[0])["access"])
    elif command == "dictionaries":
        write_dictionaries(Path(args[0]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
