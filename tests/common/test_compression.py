"""Brotli/gzip of JSON responses, never of a response that carries a token."""

import gzip
import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from unittest import mock

import brotli
import pytest
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.test import RequestFactory
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy
from rest_framework.test import APIClient

from common.api import compression
from common.api.compression import (
    CompressionMiddleware,
    accepted_encoding,
    mark_never_compress,
    never_compress,
)
from services.actions import submit_request
from tests import factories as f
from tests.accounts.helpers import register_code
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

FORM = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}
PASSWORD = "Núi-Pắc-Bó-2026"
NOTE = (
    "Cháu sinh tại nhà ở thôn Nà Khà, xã Lâm Bình, không có Giấy chứng sinh của cơ sở y tế. "
    "Gia đình xin nộp văn bản xác nhận của bà đỡ thôn và của trưởng thôn về việc sinh, kèm "
    "theo bản chụp Căn cước của cha mẹ. Đề nghị cán bộ hộ tịch hướng dẫn thêm nếu còn thiếu "
    "giấy tờ; gia đình ở xa trung tâm xã khoảng mười hai cây số, đường đất trơn vào mùa mưa."
)


def vary(response):
    return {part.strip() for part in response.get("Vary", "").split(",") if part.strip()}


def decoded(response):
    encoding = response.get("Content-Encoding")
    if encoding == "br":
        return brotli.decompress(response.content)
    if encoding == "gzip":
        return gzip.decompress(response.content)
    assert encoding is None
    return response.content


@pytest.fixture
def catalog(world):
    """Enough services that the first page is well over 1 KB."""
    for number in range(12):
        f.ServiceFactory(
            code=f"service-{number:02}",
            name={"vi": f"Cấp giấy xác nhận thông tin cư trú cho công dân số {number}"},
            category=world["service"].category,
        )
    return "/api/v1/services/"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", None),
        ("identity", None),
        ("gzip", "gzip"),
        ("br", "br"),
        ("gzip, deflate, br", "br"),
        ("br;q=0.1, gzip;q=1.0", "br"),  # both acceptable: the smaller one
        ("gzip, br;q=0", "gzip"),
        ("br, gzip;q=0", "br"),
        ("gzip;q=0, br;q=0", None),
        ("*", "br"),
        ("*;q=0", None),
        ("br;q=0, *", "gzip"),
        ("gzip;q=0, *;q=0.5", "br"),
        ("GZIP", "gzip"),
        ("x-gzip", "gzip"),
        ("gzip;q=zero", None),
        ("gzip;q=2", None),
        ("deflate, compress", None),
        (" , ;q=1, br ; q=0.8 ", "br"),
    ],
)
def test_accept_encoding_is_read_with_its_q_values(header, expected):
    assert accepted_encoding(header) == expected


def test_a_large_json_list_is_sent_as_brotli_when_accepted(catalog):
    api = APIClient()
    plain = api.get(catalog)
    assert len(plain.content) > compression.MIN_SIZE
    assert "Content-Encoding" not in plain
    assert "Accept-Encoding" in vary(plain)  # the body would differ with another header

    response = api.get(catalog, HTTP_ACCEPT_ENCODING="gzip, deflate, br")

    assert response.status_code == 200
    assert response["Content-Encoding"] == "br"
    assert response["Content-Type"] == "application/json"
    assert int(response["Content-Length"]) == len(response.content)
    assert len(response.content) < len(plain.content) / 3
    assert decoded(response) == plain.content
    assert {"Accept-Encoding", "Accept-Language"} <= vary(response)


def test_gzip_when_brotli_is_refused(catalog):
    api = APIClient()
    plain = api.get(catalog)

    response = api.get(catalog, HTTP_ACCEPT_ENCODING="gzip, br;q=0")

    assert response["Content-Encoding"] == "gzip"
    assert int(response["Content-Length"]) == len(response.content)
    assert decoded(response) == plain.content
    # Deterministic: no random padding, no timestamp.
    assert api.get(catalog, HTTP_ACCEPT_ENCODING="gzip").content == response.content


def test_nothing_is_compressed_when_every_coding_is_refused(catalog):
    response = APIClient().get(catalog, HTTP_ACCEPT_ENCODING="gzip;q=0, br;q=0, identity")
    assert "Content-Encoding" not in response
    assert json.loads(response.content)["results"]


def test_a_small_body_is_sent_as_it_is(world, citizen_a):
    response = client_for(citizen_a).get(
        "/api/v1/notifications/unread-count/", HTTP_ACCEPT_ENCODING="gzip, br"
    )
    assert response.status_code == 200
    assert "Content-Encoding" not in response
    assert response.json() == {"count": 0}
    # Named all the same: a 304 for a larger answer could not know the size.
    assert "Accept-Encoding" in vary(response)


def test_the_openapi_json_is_compressed_and_the_yaml_is_not(db):
    api = APIClient()
    response = api.get("/api/v1/schema/", {"format": "json"}, HTTP_ACCEPT_ENCODING="br")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert response["Content-Encoding"] == "br"
    assert json.loads(decoded(response))["openapi"].startswith("3.")

    yaml = api.get("/api/v1/schema/", HTTP_ACCEPT_ENCODING="br")
    assert yaml.status_code == 200
    assert "Content-Encoding" not in yaml


def test_an_error_body_is_json_like_any_other(db):
    # The one error shape, small: sent as it is, still parseable.
    response = APIClient().get("/api/v1/services/?page_size=500", HTTP_ACCEPT_ENCODING="br")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "page_size"


# --- ETag: a compressed body has a weak tag; If-None-Match still answers 304 ---------------


@pytest.fixture
def dossier_url(world, citizen_a):
    dossier, _ = submit_request(
        applicant=citizen_a,
        service=world["service"],
        commune=world["lam_binh"],
        form_data=FORM,
        note=NOTE,
    )
    return f"/api/v1/requests/{dossier.pk}/"


@pytest.mark.parametrize("encoding", ["gzip", "br"])
@pytest.mark.parametrize("which", ["services", "dossier"])
def test_if_none_match_answers_304_through_compression(
    catalog, dossier_url, citizen_a, encoding, which
):
    url = {"services": catalog, "dossier": dossier_url}[which]
    client = client_for(citizen_a)
    strong = client.get(url)["ETag"]
    assert strong.startswith('"')

    first = client.get(url, HTTP_ACCEPT_ENCODING=encoding)
    assert first["Content-Encoding"] == encoding
    # The bytes differ from the identity body's: the same strong tag would be a lie.
    assert first["ETag"] == f"W/{strong}"

    for tag in (first["ETag"], strong):
        again = client.get(url, HTTP_ACCEPT_ENCODING=encoding, HTTP_IF_NONE_MATCH=tag)
        assert again.status_code == 304
        assert again.content == b""
        assert "Content-Encoding" not in again
        assert vary(again) == vary(first)


def test_a_changed_list_no_longer_matches_the_old_tag(catalog):
    api = APIClient()
    tag = api.get(catalog, HTTP_ACCEPT_ENCODING="br")["ETag"]
    f.ServiceFactory(code="service-00a", name={"vi": "Dịch vụ mới"})

    response = api.get(catalog, HTTP_ACCEPT_ENCODING="br", HTTP_IF_NONE_MATCH=tag)

    assert response.status_code == 200
    assert response["ETag"] != tag
    assert b"service-00a" in decoded(response)


# --- Never around a token (BREACH) ---------------------------------------------------------


@pytest.fixture
def tiny_threshold():
    # Token answers are short; with no size floor only the secret rule keeps them plain.
    with mock.patch.object(compression, "MIN_SIZE", 0):
        yield


def assert_plain(response):
    assert "Content-Encoding" not in response
    assert "Accept-Encoding" not in vary(response)


def test_token_endpoints_are_never_compressed(tiny_threshold, world, citizen_a):
    citizen_a.set_password(PASSWORD)
    citizen_a.save()
    api = APIClient()
    everything = {"HTTP_ACCEPT_ENCODING": "br, gzip"}

    login = api.post(
        "/api/v1/auth/token/", {"phone": "0900000001", "password": PASSWORD}, **everything
    )
    assert login.status_code == 200
    assert_plain(login)
    tokens = login.json()

    refreshed = api.post(
        "/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, **everything
    )
    assert refreshed.status_code == 200
    assert_plain(refreshed)
    assert set(refreshed.json()) == {"access", "refresh"}

    registered = api.post(
        "/api/v1/auth/register/",
        {
            "phone": "0912345678",
            "password": PASSWORD,
            "full_name": "Lường Thị Hiền",
            "otp": register_code("0912345678"),
        },
        **everything,
    )
    assert registered.status_code == 201
    assert_plain(registered)

    # A bad login (an error, no token) is not worth special care, but stays plain too.
    assert_plain(api.post("/api/v1/auth/token/", {"phone": "0900000001"}, **everything))
    # The same client's ordinary JSON is compressed under the same rules.
    me = client_for(citizen_a).get("/api/v1/me/", **everything)
    assert me["Content-Encoding"] == "br"


def test_claim_confirm_is_never_compressed(
    tiny_threshold, api, world, officer_commune, django_capture_on_commit_callbacks
):
    from tests.accounts.test_claim import ask_code, code_from_sms, confirm, file_for

    assert file_for(officer_commune).status_code == 201
    ask_code(api, django_capture_on_commit_callbacks)

    response = confirm(api, code_from_sms(), HTTP_ACCEPT_ENCODING="br, gzip")

    assert response.status_code == 200, response.content
    assert set(response.json()) == {"access", "refresh"}
    assert_plain(response)


SECRET = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoiMSJ9.c2lnbmF0dXJl"


def through_middleware(response, path="/api/v1/anything/", accept="br, gzip"):
    request = RequestFactory().get(path, HTTP_ACCEPT_ENCODING=accept)
    return CompressionMiddleware(lambda _request: response)(request)


@pytest.mark.parametrize(
    "body",
    [
        {"access": "opaque-but-secret", "padding": "x" * 2000},
        {"padding": "x" * 2000, "refresh": "opaque-but-secret"},
        {"link": f"https://example.test/?t={SECRET}", "padding": "x" * 2000},
    ],
)
def test_a_body_holding_a_token_is_never_compressed_whatever_the_view(body):
    # A token endpoint added later and forgotten in TOKEN_VIEW_NAMES is still safe.
    response = through_middleware(JsonResponse(body))
    assert_plain(response)
    assert json.loads(response.content) == body


def test_a_schema_that_merely_describes_tokens_is_compressed():
    body = {"properties": {"access": {"type": "string"}, "refresh": {"type": "string"}}}
    body["padding"] = "x" * 2000
    assert through_middleware(JsonResponse(body))["Content-Encoding"] == "br"


def test_a_view_can_mark_its_response_never_compressed():
    @never_compress
    def view(request):
        return JsonResponse({"padding": "x" * 2000})

    request = RequestFactory().get("/", HTTP_ACCEPT_ENCODING="br")
    assert_plain(CompressionMiddleware(view)(request))
    marked = mark_never_compress(JsonResponse({"padding": "x" * 2000}))
    assert_plain(through_middleware(marked))


@pytest.mark.parametrize(
    "response",
    [
        StreamingHttpResponse(iter([b"[", b"1" * 3000, b"]"]), content_type="application/json"),
        HttpResponse(b"x" * 3000, content_type="text/html; charset=utf-8"),
        HttpResponse(b"%PDF-" + b"x" * 3000, content_type="application/pdf"),
        HttpResponse(
            gzip.compress(b"[" + b"1" * 3000 + b"]"),
            content_type="application/json",
            headers={"Content-Encoding": "gzip"},
        ),
        HttpResponse(status=204, content_type="application/json"),
    ],
    ids=["streaming", "html", "pdf", "already-encoded", "no-content"],
)
def test_what_is_never_touched(response):
    before = dict(response.headers)
    after = through_middleware(response)
    assert dict(after.headers) == before


def test_problem_json_and_other_json_suffixes_are_compressed():
    for content_type in ("application/problem+json", "application/json; charset=utf-8"):
        response = HttpResponse(json.dumps({"detail": "y" * 3000}), content_type=content_type)
        assert through_middleware(response)["Content-Encoding"] == "br"
    assert (
        through_middleware(
            HttpResponse(json.dumps({"detail": "y" * 3000}), content_type="application/json"),
            accept="gzip",
        )["Content-Encoding"]
        == "gzip"
    )


# --- The JSON itself: orjson, meaning unchanged ---------------------------------------------


def test_the_default_renderer_is_orjson_without_the_browsable_api():
    from rest_framework.settings import api_settings

    from common.api.renderers import FastJSONRenderer

    assert [FastJSONRenderer] == api_settings.DEFAULT_RENDERER_CLASSES


def sample() -> dict:
    return {
        "id": uuid.UUID("0b9a1f0e-8a53-4c55-9a0b-6f1e2d3c4b5a"),
        "at": datetime(2026, 5, 1, 8, 30, 15, 123456, tzinfo=UTC),
        "local": datetime(2026, 5, 1, 15, 30, tzinfo=timezone.get_fixed_timezone(7 * 60)),
        "day": date(2026, 5, 1),
        "opens": time(7, 30),
        "waited": timedelta(hours=1, seconds=5),
        "rating": Decimal("4.50"),
        "title": gettext_lazy("Add a UTC offset (Z or +07:00): a time without one is ambiguous."),
        "name": "Đăng ký khai sinh cho trẻ em — bản Nà Khà, xã Lâm Bình",
        "by_status": {1: 2, "received": 3},
        "tags": ("a", "b"),
        "nothing": None,
        "ratio": 0.1 + 0.2,
        "count": 2**62,
    }


def test_orjson_writes_what_drf_wrote():
    from rest_framework.renderers import JSONRenderer

    from common.api.renderers import FastJSONRenderer

    with translation.override("vi"):
        fast = FastJSONRenderer().render(sample())
        drf = JSONRenderer().render(sample())
    assert json.loads(fast) == json.loads(drf)
    parsed = json.loads(fast)
    assert parsed["at"] == "2026-05-01T08:30:15.123456Z"
    assert parsed["local"] == "2026-05-01T15:30:00+07:00"
    assert parsed["rating"] == 4.5  # a bare Decimal is a number, as before
    assert parsed["by_status"] == {"1": 2, "received": 3}
    # UTF-8, not \u escapes: a third of the bytes for Vietnamese text.
    assert "Đăng ký khai sinh cho trẻ em".encode() in fast
    assert b"\\u" not in fast


def test_what_orjson_cannot_write_falls_back_and_unknown_types_still_fail():
    from common.api.renderers import FastJSONRenderer

    # A citizen's form may hold a number beyond 64 bits; JSON allows it.
    assert json.loads(FastJSONRenderer().render({"n": 10**30})) == {"n": 10**30}
    with pytest.raises(TypeError):
        FastJSONRenderer().render({"x": object()})
    assert FastJSONRenderer().render(None) == b""


def test_api_answers_keep_their_shapes(world, citizen_a):
    from tests.feedback.helpers import make_feedback

    dossier, _ = submit_request(
        applicant=citizen_a, service=world["service"], commune=world["lam_binh"], form_data=FORM
    )
    item = make_feedback(
        world, citizen_a, latitude=Decimal("22.134567"), longitude=Decimal("105.5"), title="Cầu"
    )
    client = client_for(citizen_a)

    detail = client.get(f"/api/v1/requests/{dossier.pk}/")
    assert detail["Content-Type"] == "application/json"
    body = detail.json()
    assert body["id"] == str(dossier.pk)
    assert body["created_at"].endswith("+07:00")  # times with the offset of Asia/Ho_Chi_Minh
    assert body["service"]["name"] == "Đăng ký khai sinh"
    assert "Hoàng Văn An".encode() in detail.content
    feedback = client.get(f"/api/v1/feedback/{item.pk}/").json()
    # Coordinates stay strings with six decimals, as DRF's DecimalField writes them.
    assert (feedback["latitude"], feedback["longitude"]) == ("22.134567", "105.500000")
    assert client.get("/api/v1/services/", {"lang": "en"}).json()["results"][0]["name"] == (
        "Birth registration"
    )
