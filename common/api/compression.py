"""Compressed JSON for phones on slow, metered links: Brotli or gzip, never around a secret.

A page of twenty dossiers is a few kilobytes of repetitive JSON; compressed it is a fraction
of that, which on a 2G/EDGE link in the mountains is seconds saved per screen. This is
Django's `GZipMiddleware` (its `compress_string`, its handling of `Vary`, `Content-Length` and
`ETag`) with these differences:

* Brotli (`br`) when the client accepts it, preferred over gzip (smaller for the same CPU);
  `Accept-Encoding` is read with its q-values, so `gzip;q=0` or `*;q=0` is honoured;
* only JSON (`application/json`, `application/*+json`) bodies over `MIN_SIZE` bytes: smaller
  ones gain less than the encoding's own overhead, and files, the receipt and HTML are
  served as they are (images, PDFs and audio are compressed already);
* never a response that carries a secret, so that BREACH-style length oracles have nothing to
  find: login, refresh, claim and registration (`TOKEN_VIEW_NAMES`), any response a view
  marked with `never_compress`, and any JSON body that holds a JWT or starts as a token
  pair — the last rule catches a token endpoint added later and forgotten in the list;
* a compressed body's strong `ETag` becomes weak (RFC 9110 8.8.1), as Django does; the
  `ETagMixin` compares tags weakly, so `If-None-Match` still answers 304;
* `Vary: Accept-Encoding` on every JSON answer that may be compressed and on every 304,
  whatever the size, so that a 304 carries the same `Vary` as the 200 it confirms.

Django's random gzip padding against BREACH ("Heal the Breach") is off: it makes sizes vary by
up to 100 bytes, and the responses it would protect are the ones never compressed here; the
rest are read with a bearer token, which a third-party page cannot make a browser send.
"""

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

import brotli
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import patch_vary_headers
from django.utils.deprecation import MiddlewareMixin
from django.utils.http import parse_header_parameters
from django.utils.text import compress_string

# Bodies this small (or smaller) are sent as they are.
MIN_SIZE = 1024

# Views whose answers hold tokens (JWT pairs) or may one day: never compressed.
TOKEN_VIEW_NAMES = frozenset(
    {"auth-token", "auth-token-refresh", "auth-claim-confirm", "auth-register"}
)

# The shapes a token takes in a body: a JWT anywhere (its header and payload are base64url
# of `{"…`), or an `access`/`refresh` string among the first keys of the top-level object
# (an opaque token pair). Only the top level: the OpenAPI document names `refresh` as a
# field in many places and holds no secret.
_JWT = re.compile(rb"eyJ[A-Za-z0-9_-]*\.eyJ")
_TOKEN_PAIR = re.compile(rb'\s*\{[^{}\[\]]*"(?:access|refresh)"\s*:\s*"')

_NEVER_COMPRESS = "_never_compress"

# Brotli's top quality (11) took 3 s on the 1.2 MB OpenAPI document here; quality 5 took
# 50 ms, as long as gzip, for a body half gzip's size. Pages of the API take well under 1 ms.
BROTLI_QUALITY = 5


def never_compress(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark every response of `view` (a function or an APIView method) as never compressed."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        response = view(*args, **kwargs)
        mark_never_compress(response)
        return response

    return wrapper


def mark_never_compress(response: HttpResponseBase) -> HttpResponseBase:
    """Keep this response uncompressed, whatever the client accepts (it holds a secret)."""
    setattr(response, _NEVER_COMPRESS, True)
    return response


def accepted_encoding(header: str) -> str | None:
    """`br`, `gzip` or None for an `Accept-Encoding` header.

    Brotli wins whenever it is acceptable (q > 0), then gzip; a coding named explicitly
    overrides `*`; a q-value that is not a number disqualifies its coding.
    """
    weights: dict[str, float] = {}
    for element in header.split(","):
        coding, _, params = element.partition(";")
        coding = coding.strip().lower()
        if not coding:
            continue
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = 0.0
                if not 0.0 <= weight <= 1.0:
                    weight = 0.0
        weights[coding] = weight

    def weight_of(*names: str) -> float:
        for name in names:
            if name in weights:
                return weights[name]
        return weights.get("*", 0.0)

    if weight_of("br") > 0:
        return "br"
    if weight_of("gzip", "x-gzip") > 0:
        return "gzip"
    return None


def is_json(response: HttpResponseBase) -> bool:
    media_type, _params = parse_header_parameters(response.get("Content-Type", ""))
    kind, _, subtype = media_type.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def carries_secret(request: HttpRequest, response: HttpResponse) -> bool:
    if getattr(response, _NEVER_COMPRESS, False):
        return True
    match = getattr(request, "resolver_match", None)
    if match is not None and match.view_name in TOKEN_VIEW_NAMES:
        return True
    content = response.content
    # A token pair is a short object: its first few kilobytes are enough to look at.
    head = content[:4096]
    return _TOKEN_PAIR.match(head) is not None or _JWT.search(content) is not None


def _compress(encoding: str, content: bytes) -> bytes:
    if encoding == "br":
        return brotli.compress(content, mode=brotli.MODE_TEXT, quality=BROTLI_QUALITY)
    # Django's gzip (level 6, no timestamp), without the random padding.
    return compress_string(content)


class CompressionMiddleware(MiddlewareMixin):
    """Brotli or gzip for JSON bodies over `MIN_SIZE` bytes that carry no secret.

    The steps after compressing are Django's `GZipMiddleware`'s: keep the result only when
    shorter, set `Content-Length`, weaken a strong `ETag`. Placed right after
    SecurityMiddleware (and WhiteNoise in production, which serves its own precompressed
    files): every other middleware has finished with the body by the time the response comes
    back through here.
    """

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if response.streaming or response.has_header("Content-Encoding"):
            return response
        if response.status_code == 304:
            # It stands for the 200 it confirms, which named Accept-Encoding (RFC 9110 15.4.5).
            patch_vary_headers(response, ("Accept-Encoding",))
            return response
        if (
            response.status_code == 204
            or not is_json(response)
            or not isinstance(response, HttpResponse)
            or carries_secret(request, response)
        ):
            return response
        # Even when this body is too small to compress: the header must not depend on the
        # size, or a 304 (which has no body) could not repeat it.
        patch_vary_headers(response, ("Accept-Encoding",))
        if len(response.content) <= MIN_SIZE:
            return response
        encoding = accepted_encoding(request.META.get("HTTP_ACCEPT_ENCODING", ""))
        if encoding is None:
            return response
        compressed = _compress(encoding, response.content)
        if len(compressed) >= len(response.content):
            return response
        response.content = compressed
        response.headers["Content-Length"] = str(len(compressed))
        etag = response.get("ETag")
        if etag and etag.startswith('"'):
            response.headers["ETag"] = "W/" + etag
        response.headers["Content-Encoding"] = encoding
        return response
