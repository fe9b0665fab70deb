import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def assert_error_shape(body, error_type, code):
    assert set(body) == {"type", "errors"}
    assert body["type"] == error_type
    assert body["errors"][0]["code"] == code
    assert set(body["errors"][0]) == {"code", "detail", "attr"}


def test_unknown_api_path_is_a_json_404(api):
    response = api.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert_error_shape(response.json(), "client_error", "not_found")


def test_wrong_method_is_a_json_405(api, world):
    response = api.delete("/api/v1/services/")
    assert response.status_code == 405
    assert_error_shape(response.json(), "client_error", "method_not_allowed")


def test_wrong_method_is_a_405_whatever_lang_says(api, world):
    # DRF picks the handler after the language is negotiated: an unknown `?lang=` used to
    # turn a 405 into a 400 on `lang`.
    response = api.generic("TRACE", "/api/v1/services/?lang=xx")
    assert response.status_code == 405
    assert_error_shape(response.json(), "client_error", "method_not_allowed")
    assert api.delete("/api/v1/services/?lang=en").status_code == 405


def test_unhandled_exception_is_a_json_500(api, world, monkeypatch):
    from services import selectors

    def explode():
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "categories", explode)
    with override_settings(DEBUG=False):
        api.raise_request_exception = False
        response = api.get("/api/v1/service-categories/")
    assert response.status_code == 500
    assert_error_shape(response.json(), "server_error", "error")


def test_form_encoded_bodies_are_refused_with_415(api, world, citizen_a):
    from tests.conftest import client_for

    response = client_for(citizen_a).post(
        "/api/v1/requests/", data="service=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert_error_shape(response.json(), "client_error", "unsupported_media_type")


def test_live_and_ready(client):
    assert client.get("/health/live").json() == {"status": "ok"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"


def test_ready_is_503_when_the_broker_is_down(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from config.celery import app

    old = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/health/ready")
    finally:
        app.conf.broker_url = old
    assert response.status_code == 503
    assert response.json()["problems"] == ["broker: OperationalError"] or response.json()[
        "problems"
    ][0].startswith("broker:")


def test_ready_is_503_when_the_database_is_down(client, monkeypatch):
    from common import views

    monkeypatch.setattr(views, "_check_database", lambda: "database: OperationalError")
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert "database: OperationalError" in response.json()["problems"]


@override_settings(DEBUG=True)
def test_with_debug_on_an_unknown_api_path_is_still_a_json_404(api):
    response = api.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert_error_shape(response.json(), "client_error", "not_found")


@override_settings(DEBUG=True)
def test_with_debug_on_an_unhandled_exception_is_still_a_json_500(api, world, monkeypatch):
    from services import selectors

    def explode():
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "categories", explode)
    api.raise_request_exception = False
    response = api.get("/api/v1/service-categories/")

    assert response.status_code == 500
    assert_error_shape(response.json(), "server_error", "error")
    assert "boom" not in response.content.decode()


def test_a_path_outside_the_versioned_api_is_a_json_404_too(api):
    response = api.get("/api/v2/services/")

    assert response.status_code == 404
    assert_error_shape(response.json(), "client_error", "not_found")


def test_a_bad_host_header_is_a_json_400(api):
    response = api.get("/api/v1/services/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert_error_shape(response.json(), "client_error", "bad_request")


def test_the_api_root_is_an_index_of_links(api):
    response = api.get("/api/v1/")

    assert response.status_code == 200
    body = response.json()
    assert body["links"]["schema"] == "/api/v1/schema/"
    assert body["links"]["services"] == "/api/v1/services/"
    for path in body["links"].values():
        assert api.get(path).status_code in (200, 405), path


@pytest.mark.parametrize("phone", [912345678, True, ["0912345678"]])
def test_a_string_field_takes_only_a_json_string(api, world, phone):
    response = api.post("/api/v1/auth/token/", {"phone": phone, "password": "x"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0] | {"detail": None} == {
        "code": "invalid",
        "detail": None,
        "attr": "phone",
    }
