"""Notification texts are `NotificationTemplate` rows: seeded, edited, translated, rendered."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client

from common.i18n import enabled_languages, invalidate_languages
from common.models import Language
from notifications import messages
from notifications.admin import NotificationTemplateForm
from notifications.messages import UnknownNotificationKind, render, render_sms
from notifications.models import Notification, NotificationTemplate
from notifications.outbox import notify

pytestmark = pytest.mark.django_db

SUBMITTED = "service_request.submitted"
CONTEXT = {
    "tracking_code": "DV-7K3M-9QX2-H",
    "service_name": {"vi": "Đăng ký khai sinh", "en": "Birth registration"},
    "agency_name": "UBND xã Lâm Bình",
}


def _template(kind=SUBMITTED, language="vi"):
    return NotificationTemplate.objects.get(kind=kind, language=language)


def test_the_migration_seeds_reviewed_vietnamese_and_english_for_every_kind():
    seeded = set(NotificationTemplate.objects.values_list("kind", "language", "reviewed"))
    assert seeded == {
        (kind, language, True) for kind in messages.PLACEHOLDERS for language in ("vi", "en")
    }


def test_every_kind_documents_its_placeholders():
    for kind, placeholders in messages.PLACEHOLDERS.items():
        assert placeholders, kind
        assert all(isinstance(text, str) and text.strip() for text in placeholders.values())
        assert messages.placeholders(kind) == set(placeholders)


def test_render_reads_the_row_in_one_query(django_assert_num_queries):
    enabled_languages()  # cached per process
    with django_assert_num_queries(1):
        title, body = render(SUBMITTED, "en", CONTEXT)
    assert title == "Application DV-7K3M-9QX2-H submitted"
    assert "Birth registration" in body


def test_an_edited_template_is_used_at_once():
    NotificationTemplate.objects.filter(kind=SUBMITTED, language="vi").update(
        title="Đã nhận hồ sơ {tracking_code}"
    )
    assert render(SUBMITTED, "vi", CONTEXT)[0] == "Đã nhận hồ sơ DV-7K3M-9QX2-H"


def test_a_minority_language_row_is_used_reviewed_or_not():
    NotificationTemplate.objects.create(
        kind=SUBMITTED,
        language="tyz",
        title="Hồ sơ {tracking_code} (Tày)",
        body="{service_name}",
        reviewed=False,
    )
    title, body = render(SUBMITTED, "tyz", CONTEXT)
    assert title == "Hồ sơ DV-7K3M-9QX2-H (Tày)"
    # Names without a Tày text fall back to Vietnamese, like every translated field.
    assert body == "Đăng ký khai sinh"


@pytest.mark.parametrize("language", ["hmn", "km", "xx", "", None])
def test_a_language_without_a_row_falls_back_to_vietnamese(language):
    assert render(SUBMITTED, language, CONTEXT)[0] == "Hồ sơ DV-7K3M-9QX2-H đã được nộp"


def test_a_disabled_language_is_not_sent_even_with_a_row():
    Language.objects.filter(code="en").update(enabled=False)
    invalidate_languages()
    assert render(SUBMITTED, "en", CONTEXT)[0] == "Hồ sơ DV-7K3M-9QX2-H đã được nộp"


def test_without_a_vietnamese_row_the_language_still_wins():
    _template(language="vi").delete()
    assert render(SUBMITTED, "en", CONTEXT)[0] == "Application DV-7K3M-9QX2-H submitted"


@pytest.mark.parametrize(
    ("language", "title", "body"),
    [
        ("vi", "Có cập nhật mới: DV-7K3M-9QX2-H", "Mở ứng dụng để xem chi tiết."),
        ("en", "New update: DV-7K3M-9QX2-H", "Open the app for details."),
        ("tyz", "Có cập nhật mới: DV-7K3M-9QX2-H", "Mở ứng dụng để xem chi tiết."),
    ],
)
def test_a_kind_without_any_row_gets_the_generic_text(language, title, body):
    NotificationTemplate.objects.filter(kind=SUBMITTED).delete()
    assert render(SUBMITTED, language, CONTEXT) == (title, body)


def test_the_generic_text_without_a_tracking_code_has_no_dangling_colon():
    NotificationTemplate.objects.filter(kind=SUBMITTED).delete()
    assert render(SUBMITTED, "vi", {})[0] == "Có cập nhật mới"


def test_a_missing_placeholder_renders_empty():
    title, body = render(SUBMITTED, "vi", {"tracking_code": "DV-1"})
    assert title == "Hồ sơ DV-1 đã được nộp"
    assert "{" not in body and "  " not in body
    assert "gửi tới." in body


@pytest.mark.parametrize(
    "title",
    [
        "Hồ sơ {tracking_code",
        "Hồ sơ {0}",
        "Hồ sơ {}",
        "Hồ sơ {tracking_code!z}",
        "Hồ sơ {tracking_code:>>>}",
        "Hồ sơ }{",
    ],
)
def test_a_malformed_placeholder_never_crashes(title):
    NotificationTemplate.objects.filter(kind=SUBMITTED, language="vi").update(title=title)
    rendered, body = render(SUBMITTED, "vi", CONTEXT)
    assert rendered == "Hồ sơ"
    assert "UBND xã Lâm Bình" in body


def test_an_unknown_kind_is_a_programming_error():
    # Even with a row for it: the code must know the kind and its placeholders.
    NotificationTemplate.objects.create(kind="nope", language="vi", title="T", body="B")
    with pytest.raises(UnknownNotificationKind):
        render("nope", "vi", {})
    with pytest.raises(UnknownNotificationKind):
        render_sms("nope", "vi", {})
    with pytest.raises(UnknownNotificationKind):
        messages.placeholders("nope")


def test_notify_renders_the_recipients_template(citizen_a):
    citizen_a.preferred_language = "hmn"
    citizen_a.save()
    NotificationTemplate.objects.create(
        kind=SUBMITTED, language="hmn", title="Ntawv {tracking_code}", body="{agency_name}"
    )
    with transaction.atomic():
        notify(citizen_a, SUBMITTED, CONTEXT, data={}, collapse_key="k")
    assert Notification.objects.get().title == "Ntawv DV-7K3M-9QX2-H"


# -- SMS text --------------------------------------------------------------------------------


def test_sms_text_defaults_to_the_title_with_the_tracking_code():
    # The title shows the code already: it is not repeated.
    assert render_sms(SUBMITTED, "vi", CONTEXT) == "Hồ sơ DV-7K3M-9QX2-H đã được nộp"
    NotificationTemplate.objects.filter(kind=SUBMITTED, language="en").update(
        title="Application submitted"
    )
    assert render_sms(SUBMITTED, "en", CONTEXT) == "Application submitted: DV-7K3M-9QX2-H"


def test_sms_text_of_the_template_wins():
    NotificationTemplate.objects.filter(kind=SUBMITTED, language="vi").update(
        sms="Ho so {tracking_code} da nop tai {agency_name}"
    )
    assert render_sms(SUBMITTED, "vi", CONTEXT) == (
        "Ho so DV-7K3M-9QX2-H da nop tai UBND xã Lâm Bình"
    )


# -- the admin -------------------------------------------------------------------------------


def _form(**fields):
    data = {"kind": SUBMITTED, "language": "tyz", "title": "T", "body": "B", "sms": ""}
    return NotificationTemplateForm(data={**data, **fields})


def test_the_admin_form_accepts_the_kinds_placeholders():
    form = _form(title="Hồ sơ {tracking_code}", body="{service_name} – {agency_name}")
    assert form.is_valid(), form.errors
    form.save()
    assert _template(language="tyz").title == "Hồ sơ {tracking_code}"


def test_the_admin_form_refuses_unknown_and_malformed_placeholders():
    form = _form(title="{due_date}", body="{tracking_code", sms="{0}")
    assert not form.is_valid()
    assert set(form.errors) == {"title", "body", "sms"}
    assert "{tracking_code}" in str(form.errors["title"])


def test_the_admin_form_refuses_unknown_kinds_and_languages():
    assert set(_form(kind="nope", language="xx").errors) == {"kind", "language"}


def test_the_language_must_be_a_row_of_the_language_table():
    template = NotificationTemplate(kind=SUBMITTED, language="xx", title="T", body="B")
    with pytest.raises(ValidationError) as error:
        template.full_clean()
    assert "language" in error.value.message_dict


def test_the_admin_lists_filters_and_edits_templates(superuser):
    admin = Client()
    admin.force_login(superuser)

    listing = admin.get("/admin/notifications/notificationtemplate/?language=en&reviewed__exact=1")
    assert listing.status_code == 200
    assert listing.context["cl"].result_count == len(messages.PLACEHOLDERS)

    template = _template(language="en")
    page = admin.get(f"/admin/notifications/notificationtemplate/{template.pk}/change/")
    assert page.status_code == 200
    assert "{tracking_code}" in page.content.decode()

    response = admin.post(
        f"/admin/notifications/notificationtemplate/{template.pk}/change/",
        {
            "kind": SUBMITTED,
            "language": "en",
            "title": "Sent: {tracking_code}",
            "body": "To {agency_name}.",
            "sms": "",
            "reviewed": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert render(SUBMITTED, "en", CONTEXT) == ("Sent: DV-7K3M-9QX2-H", "To UBND xã Lâm Bình.")
