"""Shared fixtures: a small world of places and agencies, and named personas.

Tests marked `postgres`, `redis`, `worker`, `browser` (Chromium) or `s3` (a local
S3-compatible server, moto) need real services.
Locally they skip when a service is missing; with REQUIRE_SERVICES=1 (CI) any skip of such a
test is a failure.
"""

import os

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from agencies.models import Agency, StaffMembership
from tests import factories as f

SERVICE_MARKERS = ("postgres", "redis", "worker", "browser", "s3")
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
# `s3`: every test keeps its files in a bucket of a local S3-compatible server instead of
# MEDIA_ROOT (`.ci/run` runs the file tests so).
TEST_STORAGE_BACKEND = os.environ.get("TEST_STORAGE_BACKEND", "local")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if (
        REQUIRE_SERVICES
        and report.skipped
        and any(item.get_closest_marker(m) for m in SERVICE_MARKERS)
    ):
        report.outcome = "failed"
        report.longrepr = f"REQUIRE_SERVICES=1 but a service test was skipped: {report.longrepr}"


@pytest.fixture(scope="session")
def s3_server():
    """A moto server for the whole session, started on first use."""
    from tests.s3 import MotoServer

    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(s3_server, settings):
    """Private files go to a fresh bucket of the local S3 server for this test; its name."""
    bucket = s3_server.new_bucket()
    settings.STORAGES = {**settings.STORAGES, "private": s3_server.storage_options(bucket)}
    return bucket


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path, request):
    settings.PUSH_BACKEND = "memory"
    settings.SMS_BACKEND = "memory"
    settings.MEDIA_ROOT = str(tmp_path / "media")
    # Sync tests stamp rows at fixed dates (2026, even 1970) that fall past the 90-day horizon
    # of remembered removals as the calendar moves on; tests of the horizon set their own.
    settings.SYNC_REMOVAL_HORIZON_DAYS = 100 * 365
    if TEST_STORAGE_BACKEND == "s3":
        request.getfixturevalue("s3_bucket")
    cache.clear()
    from common import refcache
    from common.i18n import invalidate_languages
    from notifications import push, sms

    # Reference rows vanish with each test's rollback, which sends no signal.
    refcache.clear()

    push.reset_memory_backend()
    sms.reset_memory_backend()
    invalidate_languages()
    yield
    cache.clear()
    refcache.clear()
    # A test that changed Language rows must not leave its list to the next one.
    invalidate_languages()


@pytest.fixture
def api():
    return APIClient()


def client_for(user) -> APIClient:
    from rest_framework_simplejwt.tokens import RefreshToken

    client = APIClient()
    refresh = RefreshToken.for_user(user)
    # The user's token version as stored now (`accounts.authentication`).
    refresh["ver"] = type(user).objects.values_list("token_version", flat=True).get(pk=user.pk)
    token = refresh.access_token
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def world(db):
    """Two provinces, three communes and the agency tree of the demo, as plain objects."""
    tuyen_quang = f.ProvinceFactory(code=8, name="Tuyên Quang", search_name="tuyen quang")
    dien_bien = f.ProvinceFactory(code=11, name="Điện Biên", search_name="dien bien")
    lam_binh = f.CommuneFactory(
        code=2266, name="Xã Lâm Bình", parent=tuyen_quang, search_name="xa lam binh"
    )
    thuong_lam = f.CommuneFactory(
        code=2269, name="Xã Thượng Lâm", parent=tuyen_quang, search_name="xa thuong lam"
    )
    muong_phang = f.CommuneFactory(
        code=3325, name="Xã Mường Phăng", parent=dien_bien, search_name="xa muong phang"
    )
    ministry = f.AgencyFactory(code="ministry", name="Bộ Nội vụ", level=Agency.Level.MINISTRY)
    tq_board = f.AgencyFactory(
        code="tq-board",
        name="Sở Nội vụ Tuyên Quang",
        level=Agency.Level.PROVINCE,
        parent=ministry,
        administrative_unit=tuyen_quang,
    )
    lam_binh_office = f.AgencyFactory(
        code="lam-binh",
        name="UBND xã Lâm Bình",
        level=Agency.Level.COMMUNE,
        parent=tq_board,
        administrative_unit=lam_binh,
        phone="0207 3851 001",
        address="Thôn Nà Khà, xã Lâm Bình",
        opening_hours="Thứ 2–6, 7:30–17:00",
    )
    db_board = f.AgencyFactory(
        code="db-board",
        name="Sở Nội vụ Điện Biên",
        level=Agency.Level.PROVINCE,
        parent=ministry,
        administrative_unit=dien_bien,
    )
    muong_phang_office = f.AgencyFactory(
        code="muong-phang",
        name="UBND xã Mường Phăng",
        level=Agency.Level.COMMUNE,
        parent=db_board,
        administrative_unit=muong_phang,
    )
    service = f.ServiceFactory()
    return {
        "tuyen_quang": tuyen_quang,
        "dien_bien": dien_bien,
        "lam_binh": lam_binh,
        "thuong_lam": thuong_lam,
        "muong_phang": muong_phang,
        "ministry": ministry,
        "tq_board": tq_board,
        "lam_binh_office": lam_binh_office,
        "db_board": db_board,
        "muong_phang_office": muong_phang_office,
        "service": service,
    }


@pytest.fixture
def citizen_a(world):
    return f.UserFactory(
        phone="+84900000001", full_name="Hoàng Thị Mai", administrative_unit=world["lam_binh"]
    )


@pytest.fixture
def citizen_b(world):
    return f.UserFactory(phone="+84900000002", full_name="Lò Văn Pánh")


def _staff(phone, name, agency, role):
    user = f.UserFactory(phone=phone, full_name=name, is_staff=True)
    StaffMembership.objects.create(user=user, agency=agency, role=role)
    return user


@pytest.fixture
def officer_commune(world):
    return _staff("+84900000101", "Nông Văn Sáu", world["lam_binh_office"], "officer")


@pytest.fixture
def manager_province(world):
    return _staff("+84900000201", "Ma Thị Hoa", world["tq_board"], "manager")


@pytest.fixture
def officer_other_province(world):
    return _staff("+84900000301", "Quàng Văn Dũng", world["muong_phang_office"], "officer")


@pytest.fixture
def superuser(world):
    return f.UserFactory(
        phone="+84900000999", full_name="Quản trị", is_staff=True, is_superuser=True
    )
