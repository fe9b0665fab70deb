"""Production refuses weak JWT keys and a per-process cache; answers with tokens are never
stored, authenticated answers stay private and revalidate."""

import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.conftest import client_for
from tests.factories import PASSWORD

FIELD_KEY = "x6Vn0z3Qm7zTn0hT1n6m6hY4m2k9Xq2d8J0bB0o9mV4="
SETTINGS_FILE = str(Path(__file__).resolve().parents[2] / "config" / "settings.py")


@pytest.fixture
def prod_env(monkeypatch):
    monkeypatch.setenv("DJANGO_ENV", "prod")
    monkeypatch.setenv("DEBUG", "false")
    monkeypatch.setenv("SECRET_KEY", "s" * 50)
    monkeypatch.setenv("JWT_SIGNING_KEY", "j" * 32)
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db/app")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("PUSH_BACKEND", "fcm")
    monkeypatch.setenv("ALLOWED_HOSTS", "api.example.vn")
    monkeypatch.setenv("FIELD_ENCRYPTION_KEYS", FIELD_KEY)
    return monkeypatch


def load():
    return runpy.run_path(SETTINGS_FILE)


def test_prod_refuses_a_jwt_key_under_32_bytes(prod_env):
    prod_env.setenv("JWT_SIGNING_KEY", "short")
    with pytest.raises(ImproperlyConfigured, match="32 bytes"):
        load()


def test_prod_refuses_to_start_without_redis(prod_env):
    prod_env.delenv("REDIS_URL")
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        load()


def test_prod_refuses_to_start_without_field_encryption_keys(prod_env):
    prod_env.delenv("FIELD_ENCRYPTION_KEYS")
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS"):
        load()


def test_prod_refuses_a_malformed_field_encryption_key(prod_env):
    prod_env.setenv("FIELD_ENCRYPTION_KEYS", f"{FIELD_KEY},not-a-key")
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS"):
        load()


def test_prod_starts_with_both(prod_env):
    try:
        settings = load()
    except ImproperlyConfigured as exc:
        # Other prod requirements (e.g. FCM credentials) are not what this test is about.
        assert "JWT_SIGNING_KEY" not in str(exc) and "REDIS_URL" not in str(exc), exc
    else:
        assert settings["IS_PROD"]


@pytest.mark.django_db
def test_token_answers_are_never_stored(api, citizen_a):
    login = api.post("/api/v1/auth/token/", {"phone": citizen_a.phone, "password": PASSWORD})
    assert login["Cache-Control"] == "no-store"
    renewed = api.post("/api/v1/auth/token/refresh/", {"refresh": login.json()["refresh"]})
    assert renewed.status_code == 200
    assert renewed["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_authenticated_answers_are_private_and_revalidate(citizen_a):
    client = client_for(citizen_a)
    me = client.get("/api/v1/me/")
    assert me["Cache-Control"] == "private, no-cache"
    listed = client.get("/api/v1/requests/")
    assert listed["Cache-Control"] == "private, no-cache"
    again = client.get("/api/v1/requests/", HTTP_IF_NONE_MATCH=listed["ETag"])
    assert again.status_code == 304


@pytest.mark.django_db
def test_public_answers_keep_their_own_caching(api, world):
    assert "private" not in api.get("/api/v1/services/").get("Cache-Control", "")


def test_the_deploy_check_is_clean_under_prod_settings(tmp_path):
    """`manage.py check --deploy` with production settings and real-looking secrets: no
    warning (HSTS, SSL redirect behind the proxy, secure cookies, a strong SECRET_KEY)."""
    import os
    import secrets
    import subprocess
    import sys

    root = Path(SETTINGS_FILE).parents[1]
    env = {
        **os.environ,
        "DJANGO_ENV": "prod",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_SIGNING_KEY": secrets.token_urlsafe(40),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "REDIS_URL": "redis://127.0.0.1:6379/9",
        "PUSH_BACKEND": "fcm",
        "ALLOWED_HOSTS": "api.example.vn",
        "FIELD_ENCRYPTION_KEYS": FIELD_KEY,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_admin_and_docs_pages_allow_this_origin_only(client, officer_commune):
    import re

    client.force_login(officer_commune)
    for url in ("/admin/", "/admin/login/", "/api/docs/", "/api/redoc/"):
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split(";")[1]
        assert not re.search(r"https?://", policy), policy
        html = response.content.decode()
        # No third-party origin, no inline script.
        assert "fonts.googleapis.com" not in html and "fonts.gstatic.com" not in html, url
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
    script = client.get("/api/docs/", {"script": ""})
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content
