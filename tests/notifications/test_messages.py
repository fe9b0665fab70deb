import datetime

import pytest

from notifications import messages
from notifications.messages import UnknownNotificationKind, render
from notifications.models import NotificationTemplate

# The texts are rows, seeded for vi and en by a migration.
pytestmark = pytest.mark.django_db


def test_submitted_in_vietnamese():
    title, body = render(
        "service_request.submitted",
        "vi",
        {
            "tracking_code": "DV-7K3M-9QX2-H",
            "service_name": "Đăng ký khai sinh",
            "agency_name": "UBND xã Lâm Bình",
        },
    )
    assert title == "Hồ sơ DV-7K3M-9QX2-H đã được nộp"
    assert "Đăng ký khai sinh" in body
    assert "UBND xã Lâm Bình" in body


def test_received_in_english_with_a_date_object():
    title, body = render(
        "service_request.received",
        "en",
        {
            "tracking_code": "DV-7K3M-9QX2-H",
            "agency_name": "Lam Binh commune office",
            "due_date": datetime.date(2026, 12, 3),
        },
    )
    assert title == "Application DV-7K3M-9QX2-H received"
    assert body == (
        "Lam Binh commune office has received your application. Results are due on 03 Dec 2026."
    )


def test_dates_follow_the_language():
    _, body = render(
        "service_request.received",
        "vi",
        {"tracking_code": "X", "agency_name": "UBND", "due_date": datetime.date(2026, 12, 3)},
    )
    assert body.endswith("Ngày hẹn trả kết quả: 03/12/2026.")


def test_translation_dicts_are_rendered_in_the_language():
    context = {
        "tracking_code": "DV-1",
        "service_name": {"vi": "Đăng ký khai sinh", "en": "Birth registration"},
        "agency_name": "UBND xã Lâm Bình",
    }
    assert "Birth registration" in render("service_request.submitted", "en", context)[1]
    assert "Đăng ký khai sinh" in render("service_request.submitted", "vi", context)[1]


@pytest.mark.parametrize("language", ["tyz", "hmn", "", None])
def test_missing_language_falls_back_to_vietnamese(language):
    assert render("service_request.submitted", language, {"tracking_code": "DV-1"})[0] == (
        "Hồ sơ DV-1 đã được nộp"
    )


def test_missing_values_never_crash_and_leave_no_braces():
    title, body = render("service_request.received", "vi", {})
    assert title == "Hồ sơ đã được tiếp nhận"
    assert "{" not in body and "}" not in body
    assert "  " not in body
    assert body.endswith("Ngày hẹn trả kết quả.")


def test_none_values_render_as_empty():
    title, _ = render("service_request.submitted", "en", {"tracking_code": None})
    assert title == "Application submitted"


def test_status_label_comes_from_the_status_code():
    context = {"tracking_code": "DV-1", "status": "in_progress"}
    assert "Đang giải quyết" in render("service_request.status_changed", "vi", context)[1]
    assert "In progress" in render("service_request.status_changed", "en", context)[1]


def test_unknown_status_is_shown_as_is_and_an_explicit_label_wins():
    unknown = render("service_request.status_changed", "vi", {"status": "archived"})[1]
    assert "archived" in unknown
    explicit = render(
        "service_request.status_changed", "en", {"status": "in_progress", "status_label": "Busy"}
    )[1]
    assert "Busy" in explicit


def test_a_bad_format_spec_drops_placeholders_instead_of_crashing():
    NotificationTemplate.objects.filter(kind="service_request.received", language="vi").update(
        title="Số {tracking_code:d}", body="Thân {tracking_code.attr}"
    )
    title, body = render("service_request.received", "vi", {"tracking_code": "mười"})
    assert (title, body) == ("Số", "Thân")


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(UnknownNotificationKind):
        render("nope", "vi", {})


def test_every_kind_has_vietnamese_and_english_using_only_its_placeholders():
    for kind, offered in messages.PLACEHOLDERS.items():
        rows = NotificationTemplate.objects.filter(kind=kind)
        assert {"vi", "en"} <= {row.language for row in rows}, kind
        for row in rows:
            used = messages.template_fields(row.title) | messages.template_fields(row.body)
            assert used <= set(offered), (kind, row.language)
    assert "tracking_code" in messages.placeholders("service_request.submitted")
