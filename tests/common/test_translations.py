"""Languages as data for translators: the translator view, review marks, sample texts, the
admin's per-language fields, and what `GET languages/` counts."""

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from common.i18n import invalidate_languages
from common.models import AuditLogEntry, Language
from feedback.models import FeedbackCategory
from notifications.models import NotificationTemplate
from onestop.demo import dossiers as services_demo
from onestop.demo import feedback as feedback_demo
from services.models import PublicService, ServiceCategory

pytestmark = pytest.mark.django_db

URL = "/admin/translations/"
SUBMITTED = "service_request.submitted"


@pytest.fixture
def demo(world):
    services_demo.seed_demo()
    feedback_demo.seed_feedback_demo()


def admin_text(message, **params):
    """`message` as the admin shows it: in Vietnamese unless the staff member chose otherwise."""
    with translation.override("vi"):
        text = translation.gettext(message)
    return text % params if params else text


def admin_client(user):
    client = Client()
    client.force_login(user)
    return client


def listed(response):
    """(type, key) of the entries on the page."""
    assert response.status_code == 200, response.content.decode()[:2000]
    return {(entry.type, entry.key) for entry in response.context["page"].object_list}


def entry_on(response, type_name, key):
    return next(
        entry
        for entry in response.context["page"].object_list
        if (entry.type, entry.key) == (type_name, key)
    )


def save(client, type_name, key, language, texts, *, reviewed=False, **extra):
    data = {"entry_type": type_name, "key": key, "language": language, **extra}
    data.update({f"text:{name}": text for name, text in texts.items()})
    if reviewed:
        data["reviewed"] = "on"
    return client.post(URL, data)


def completeness(code):
    cache.clear()
    rows = {row["code"]: row for row in Client().get("/api/v1/languages/").json()}
    return rows[code]["completeness"]


# -- the list --------------------------------------------------------------------------------


def test_lists_untranslated_entries_for_tay_with_the_vietnamese_source(demo, superuser):
    response = admin_client(superuser).get(URL, {"language": "tyz"})
    assert response.context["language"] == "tyz"
    assert response.context["show"] == "untranslated"
    paginator = response.context["page"].paginator
    everything = {(e.type, e.key) for e in paginator.object_list}
    # Every kind of translatable text is there: nothing of the catalog is in Tày yet.
    assert ("service", "death-registration") in everything
    assert ("service_category", "residence") in everything
    assert ("feedback_category", "environment") in everything
    assert ("notification", SUBMITTED) in everything
    death = next(e for e in paginator.object_list if e.key == "death-registration")
    assert [text.key for text in death.texts] == [
        "name",
        "description",
        "required_documents.0.name",
        "required_documents.1.name",
    ]
    assert death.texts[0].source == "Đăng ký khai tử"
    assert death.texts[0].target == ""
    assert death.status == "untranslated"
    # The sample Tày name is shown as the current text, still untranslated as a whole.
    birth = next(e for e in paginator.object_list if e.key == "birth-registration")
    assert birth.texts[0].target == "Đăng ký khai sinh hẩư lục"
    assert birth.state == "sample"
    assert [state for state, _label in birth.badges] == ["untranslated", "sample"]
    page = response.content.decode()
    assert "Đăng ký khai sinh hẩư lục" in page
    assert "Hộ tịch" in page  # a Vietnamese source beside its (empty) translation


def test_languages_come_from_the_language_table(demo, superuser):
    Language.objects.create(code="lo", native_name="ລາວ", english_name="Lao", enabled=False)
    invalidate_languages()
    client = admin_client(superuser)
    response = client.get(URL)
    codes = [row.code for row in response.context["languages"]]
    assert "vi" not in codes  # the source
    assert {"en", "tyz", "hmn", "km", "lo"} <= set(codes)
    assert response.context["language"] == "en"  # the first in display order
    # A language not yet switched on can be prepared.
    response = client.get(URL, {"language": "lo", "type": "service_category"})
    assert len(listed(response)) == ServiceCategory.objects.count()


def test_filters_by_kind_and_state(demo, superuser):
    client = admin_client(superuser)
    categories = listed(client.get(URL, {"language": "hmn", "type": "service_category"}))
    assert categories == {
        ("service_category", code)
        for code in ServiceCategory.objects.values_list("code", flat=True)
    } - {("service_category", "civil-status")}  # the one with a (sample) H'Mông name

    unreviewed = listed(client.get(URL, {"language": "hmn", "show": "unreviewed"}))
    # Entries with some H'Mông text that nobody reviewed: the demo samples.
    assert unreviewed == {
        ("service_category", "civil-status"),
        ("service", "birth-registration"),
        ("service", "death-registration"),
        ("feedback_category", "environment"),
    }
    everything = listed(client.get(URL, {"language": "hmn", "show": "all", "type": "service"}))
    assert len(everything) == PublicService.objects.filter(is_active=True).count()
    # English is complete and reviewed in the demo: nothing left to do.
    assert listed(client.get(URL, {"language": "en", "show": "unreviewed"})) == set()
    catalog_types = ["service", "service_category", "feedback_category"]
    for type_name in catalog_types:
        assert listed(client.get(URL, {"language": "en", "type": type_name})) == set()


def test_an_unknown_filter_value_falls_back_to_the_default(demo, superuser):
    response = admin_client(superuser).get(URL, {"language": "xx", "show": "?", "type": "nope"})
    assert response.status_code == 200
    assert response.context["language"] == "en"
    assert response.context["show"] == "untranslated"
    assert response.context["type_name"] == ""


# -- saving ----------------------------------------------------------------------------------


def test_saving_stores_the_text_marks_it_reviewed_and_audits(demo, superuser):
    client = admin_client(superuser)
    response = save(
        client,
        "service_category",
        "residence",
        "tyz",
        {"name": "Cư trú (slư Tày)"},
        reviewed=True,
        show="untranslated",
        type="service_category",
    )
    assert response.status_code == 302
    assert response["Location"].startswith(URL)
    assert (
        "language=tyz" in response["Location"] and "type=service_category" in response["Location"]
    )

    category = ServiceCategory.objects.get(code="residence")
    assert category.name["tyz"] == "Cư trú (slư Tày)"
    assert category.translation_status == {"en": "reviewed", "tyz": "reviewed"}
    entry = AuditLogEntry.objects.get(action="translation.saved")
    assert (entry.actor, entry.object_type, entry.object_id) == (
        superuser,
        "services.servicecategory",
        str(category.pk),
    )
    assert entry.details == {"language": "tyz", "state": "reviewed", "changed": ["name"]}

    # Done: no longer untranslated nor unreviewed; listed as reviewed under "all".
    assert ("service_category", "residence") not in listed(
        client.get(URL, {"language": "tyz", "type": "service_category"})
    )
    assert ("service_category", "residence") not in listed(
        client.get(URL, {"language": "tyz", "show": "unreviewed"})
    )
    page = client.get(URL, {"language": "tyz", "show": "all", "type": "service_category"})
    assert entry_on(page, "service_category", "residence").status == "reviewed"
    # And the phones see it at once.
    api = Client().get("/api/v1/service-categories/", {"lang": "tyz", "page_size": 100})
    names = {item["code"]: item["name"] for item in api.json()["results"]}
    assert names["residence"] == "Cư trú (slư Tày)"


def test_unmarking_or_changing_a_reviewed_text_makes_it_unreviewed(demo, superuser):
    client = admin_client(superuser)
    save(client, "feedback_category", "suggestion", "tyz", {"name": "Góp ý (Tày)"}, reviewed=True)
    save(client, "feedback_category", "suggestion", "tyz", {"name": "Góp ý (Tày)"})
    category = FeedbackCategory.objects.get(code="suggestion")
    assert category.translation_status["tyz"] == "unreviewed"
    save(client, "feedback_category", "suggestion", "tyz", {"name": "Góp ý (Tày)"}, reviewed=True)
    save(client, "feedback_category", "suggestion", "tyz", {"name": "Góp ý, kiến nghị (Tày)"})
    category.refresh_from_db()
    assert category.translation_status["tyz"] == "unreviewed"
    # Clearing the text removes the translation and its mark: back to Vietnamese.
    save(client, "feedback_category", "suggestion", "tyz", {"name": "  "})
    category.refresh_from_db()
    assert "tyz" not in category.name and "tyz" not in category.translation_status


def test_a_sample_stays_a_sample_until_someone_changes_or_reviews_it(demo, superuser):
    client = admin_client(superuser)
    save(
        client,
        "service_category",
        "civil-status",
        "hmn",
        {"name": "Sau npe yug, tuag thiab sib yuav"},
    )
    category = ServiceCategory.objects.get(code="civil-status")
    assert category.translation_status["hmn"] == "sample"
    save(
        client,
        "service_category",
        "civil-status",
        "hmn",
        {"name": "Sau npe yug, tuag thiab sib yuav"},
        reviewed=True,
    )
    category.refresh_from_db()
    assert category.translation_status["hmn"] == "reviewed"


def test_reviewed_needs_every_text_translated(demo, superuser):
    client = admin_client(superuser)
    # The birth registration's H'Mông sample has a name and a description, no documents.
    response = save(
        client,
        "service",
        "birth-registration",
        "hmn",
        {"name": "Sau npe yug me nyuam", "required_documents.0.name": "Daim ntawv yug"},
        reviewed=True,
    )
    assert response.status_code == 400
    assert admin_text("Translate every text of the entry before marking it reviewed.") in (
        response.content.decode()
    )
    # What was typed is shown again, and nothing was saved.
    failed = response.context["failed"]
    assert failed.texts[2].target == "Daim ntawv yug"
    service = PublicService.objects.get(code="birth-registration")
    assert service.translation_status["hmn"] == "sample"
    assert "hmn" not in service.required_documents[0]["name"]
    assert not AuditLogEntry.objects.filter(action="translation.saved").exists()


def test_a_document_name_is_saved_in_its_place(demo, superuser):
    client = admin_client(superuser)
    response = save(
        client,
        "service",
        "death-registration",
        "en",
        {"required_documents.1.name": "Identity document of the person registering"},
    )
    assert response.status_code == 302
    service = PublicService.objects.get(code="death-registration")
    assert service.required_documents[1]["name"]["en"] == (
        "Identity document of the person registering"
    )
    assert service.required_documents[1]["required"] is True
    assert service.translation_status["en"] == "unreviewed"


def test_texts_that_are_not_part_of_the_entry_are_refused(demo, superuser):
    client = admin_client(superuser)
    response = save(client, "service_category", "land", "tyz", {"description": "…"})
    assert response.status_code == 400
    assert response.context["failed"].errors == [
        admin_text(
            "These texts are not part of the entry: %(keys)s. Reload the page.", keys="description"
        )
    ]
    response = save(client, "service_category", "no-such-code", "tyz", {"name": "x"})
    assert response.status_code == 302  # the entry is gone: said in a message
    # Vietnamese is the source, not a target; an unknown language is no target either.
    for language in ("vi", "xx"):
        response = save(client, "service_category", "land", language, {"name": "Đất"})
        assert response.status_code == 400
    assert ServiceCategory.objects.get(code="land").name == {"vi": "Đất đai", "en": "Land"}


def test_notification_and_sms_texts_are_translated_as_template_rows(demo, superuser):
    client = admin_client(superuser)
    entry = entry_on(
        client.get(URL, {"language": "tyz", "type": "notification"}), "notification", SUBMITTED
    )
    assert [text.key for text in entry.texts][:2] == ["title", "body"]
    assert (
        entry.texts[0].source
        == NotificationTemplate.objects.get(kind=SUBMITTED, language="vi").title
    )
    assert "{tracking_code}" in entry.texts[0].hint

    response = save(
        client,
        "notification",
        SUBMITTED,
        "tyz",
        {"title": "Hồ sơ {tracking_code} slổng pày dá", "body": "{agency_name} {nope}"},
    )
    assert response.status_code == 400
    body = response.context["failed"].texts[1]
    assert body.errors == [
        admin_text(
            "Unknown placeholders: %(unknown)s. This kind offers: %(allowed)s.",
            unknown="{nope}",
            allowed="{agency_name}, {service_name}, {tracking_code}",
        )
    ]
    assert not NotificationTemplate.objects.filter(kind=SUBMITTED, language="tyz").exists()

    texts = {"title": "Hồ sơ {tracking_code} slổng pày dá", "body": "Slổng pày {agency_name}."}
    source = NotificationTemplate.objects.get(kind=SUBMITTED, language="vi")
    if source.sms:
        texts["sms"] = "Hồ sơ {tracking_code}"
    response = save(client, "notification", SUBMITTED, "tyz", texts, reviewed=True)
    assert response.status_code == 302
    row = NotificationTemplate.objects.get(kind=SUBMITTED, language="tyz")
    assert (row.title, row.reviewed, row.is_sample) == (texts["title"], True, False)
    assert AuditLogEntry.objects.filter(action="translation.saved", object_id=str(row.pk)).exists()


# -- access ----------------------------------------------------------------------------------


def test_staff_without_the_permission_get_403(demo, officer_commune):
    client = admin_client(officer_commune)
    assert client.get(URL).status_code == 403
    response = save(client, "service_category", "land", "tyz", {"name": "Đất (Tày)"})
    assert response.status_code == 403
    assert "tyz" not in ServiceCategory.objects.get(code="land").name


def test_staff_with_the_permission_may_translate(demo, officer_commune):
    officer_commune.user_permissions.add(
        Permission.objects.get(codename="can_translate", content_type__app_label="services")
    )
    client = admin_client(officer_commune)
    assert client.get(URL, {"language": "tyz"}).status_code == 200
    response = save(client, "service_category", "land", "tyz", {"name": "Tín đin"})
    assert response.status_code == 302
    assert ServiceCategory.objects.get(code="land").name["tyz"] == "Tín đin"


def test_the_admin_home_links_the_translator_view_only_for_translators(demo, officer_commune):
    client = admin_client(officer_commune)
    assert URL not in client.get("/admin/").content.decode()

    officer_commune.user_permissions.add(
        Permission.objects.get(codename="can_translate", content_type__app_label="services")
    )
    assert URL in admin_client(officer_commune).get("/admin/").content.decode()


def test_citizens_and_visitors_are_sent_to_the_login(demo, citizen_a):
    assert Client().get(URL).status_code == 302
    response = admin_client(citizen_a).get(URL)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


# -- editing the Vietnamese source -----------------------------------------------------------


def category_form(category, **names):
    data = {"code": category.code, "position": category.position}
    data.update({f"name__{code}": text for code, text in category.name.items()})
    data.update({f"name__{code}": text for code, text in names.items()})
    data.update(
        {
            "audio_help-TOTAL_FORMS": "0",
            "audio_help-INITIAL_FORMS": "0",
            "audio_help-MIN_NUM_FORMS": "0",
            "audio_help-MAX_NUM_FORMS": "1000",
        }
    )
    return data


def test_changing_the_vietnamese_source_makes_reviewed_translations_unreviewed(demo, superuser):
    client = admin_client(superuser)
    save(client, "service_category", "land", "tyz", {"name": "Tín đin"}, reviewed=True)
    category = ServiceCategory.objects.get(code="land")
    assert category.translation_status == {"en": "reviewed", "tyz": "reviewed"}
    url = f"/admin/services/servicecategory/{category.pk}/change/"

    # Editing only the position keeps the marks.
    response = client.post(url, {**category_form(category), "position": 20})
    assert response.status_code == 302, response.content.decode()[:3000]
    category.refresh_from_db()
    assert category.translation_status == {"en": "reviewed", "tyz": "reviewed"}

    response = client.post(url, category_form(category, vi="Đất đai, địa chính"), follow=True)
    assert admin_text(
        "The Vietnamese text changed, so the translations into %(languages)s are marked not "
        "reviewed again. Check them in the translator view.",
        languages="en, tyz",
    ) in [str(message) for message in response.context["messages"]]
    category.refresh_from_db()
    assert category.name["vi"] == "Đất đai, địa chính"
    assert category.translation_status == {"en": "unreviewed", "tyz": "unreviewed"}
    assert AuditLogEntry.objects.get(action="translation.source_changed").details == {
        "reset": ["en", "tyz"]
    }


def test_a_translation_edited_in_the_objects_own_page_loses_its_marks(demo, superuser):
    category = ServiceCategory.objects.get(code="civil-status")
    url = f"/admin/services/servicecategory/{category.pk}/change/"
    response = admin_client(superuser).post(
        url, category_form(category, hmn="Sau npe pej xeem", en="")
    )
    assert response.status_code == 302
    category.refresh_from_db()
    assert category.name == {"vi": "Hộ tịch", "hmn": "Sau npe pej xeem"}
    # Edited: no longer the sample; English removed: no mark left for it.
    assert category.translation_status == {"hmn": "unreviewed"}


def test_changing_a_vietnamese_template_makes_its_translations_unreviewed(superuser):
    template = NotificationTemplate.objects.get(kind=SUBMITTED, language="vi")
    assert NotificationTemplate.objects.get(kind=SUBMITTED, language="en").reviewed
    response = admin_client(superuser).post(
        f"/admin/notifications/notificationtemplate/{template.pk}/change/",
        {
            "kind": SUBMITTED,
            "language": "vi",
            "title": "Đã nộp hồ sơ {tracking_code}",
            "body": template.body,
            "sms": template.sms,
            "reviewed": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not NotificationTemplate.objects.get(kind=SUBMITTED, language="en").reviewed
    # Other kinds keep theirs.
    assert NotificationTemplate.objects.get(kind="service_request.received", language="en").reviewed


# -- the per-language fields of the catalog admin --------------------------------------------


def test_the_category_form_has_one_box_per_enabled_language_vietnamese_first(superuser, world):
    Language.objects.filter(code="km").update(enabled=False)
    invalidate_languages()
    page = admin_client(superuser).get("/admin/services/servicecategory/add/").content.decode()
    assert page.index('name="name__vi"') < page.index('name="name__en"')
    assert 'name="name__tyz"' in page and 'name="name__hmn"' in page
    assert 'name="name__km"' not in page  # switched off and empty


def test_a_category_added_in_the_admin_keeps_each_language(superuser, world):
    client = admin_client(superuser)
    data = category_form(ServiceCategory(code="tax", position=9, name={}))
    data.update({"name__vi": "Thuế", "name__en": "Tax", "name__hmn": "Se", "name__tyz": " "})
    response = client.post("/admin/services/servicecategory/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    category = ServiceCategory.objects.get(code="tax")
    assert category.name == {"vi": "Thuế", "en": "Tax", "hmn": "Se"}
    assert category.translation_status == {}  # not reviewed by anyone

    data.update({"code": "tax-2", "name__vi": ""})
    response = client.post("/admin/services/servicecategory/add/", data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["name"] == [
        admin_text("A Vietnamese (vi) text is required.")
    ]


def test_texts_of_a_switched_off_language_survive_a_save(superuser, world):
    category = ServiceCategory.objects.get(code="civil-status")
    category.name = {**category.name, "km": "ស្ថានភាពស៊ីវិល"}
    category.save()
    Language.objects.filter(code="km").update(enabled=False)
    invalidate_languages()
    client = admin_client(superuser)
    url = f"/admin/services/servicecategory/{category.pk}/change/"
    page = client.get(url).content.decode()
    assert 'name="name__km"' in page and "readonly" in page
    response = client.post(url, category_form(category))
    assert response.status_code == 302
    category.refresh_from_db()
    assert category.name["km"] == "ស្ថានភាពស៊ីវិល"


# -- demo samples and completeness -----------------------------------------------------------


MINORITY = {"tyz", "blt", "mtq", "hmn", "km", "nut", "ium", "jra", "rad", "bdq"}


def _sample_rows():
    for row in services_demo.CATEGORIES + services_demo.SERVICES:
        texts = [row["name"], row.get("description", {})]
        texts += [document["name"] for document in row.get("required_documents", [])]
        yield row["code"], texts, services_demo.translation_status(row)
    for code, name, _level in feedback_demo.CATEGORIES:
        status = {**feedback_demo.ENGLISH_REVIEWED, **feedback_demo.SAMPLES.get(code, {})}
        yield code, [name], status


def test_every_minority_language_text_of_the_demo_is_flagged_as_a_sample():
    with_samples = set()
    for code, texts, status in _sample_rows():
        languages = {language for text in texts for language in text} & MINORITY
        for language in languages:
            assert status.get(language) == "sample", (code, language)
            with_samples.add(code)
        # Nothing in a minority language is claimed to be reviewed.
        assert not {lang for lang, state in status.items() if state == "reviewed"} & MINORITY
    assert {"birth-registration", "death-registration", "civil-status", "environment"} <= (
        with_samples
    )


def test_the_seeded_rows_carry_their_sample_marks(demo):
    birth = PublicService.objects.get(code="birth-registration")
    assert birth.translation_status == {"en": "reviewed", "tyz": "sample", "hmn": "sample"}
    assert ServiceCategory.objects.get(code="civil-status").translation_status["hmn"] == "sample"
    assert FeedbackCategory.objects.get(code="environment").translation_status == {
        "en": "reviewed",
        "hmn": "sample",
    }


def test_phones_still_see_sample_texts_with_the_usual_fallback(demo):
    response = Client().get("/api/v1/services/birth-registration/", {"lang": "hmn"})
    body = response.json()
    assert body["name"] == "Sau npe yug me nyuam"
    assert body["description"].startswith("Sau npe yug rau me nyuam")
    # Not translated: Vietnamese, as always.
    assert body["required_documents"][0]["name"] == "Giấy chứng sinh"
    assert body["category"]["name"] == "Sau npe yug, tuag thiab sib yuav"


def test_samples_do_not_count_towards_completeness(demo, superuser):
    # The demo's H'Mông texts are all samples.
    assert completeness("hmn") == 0
    assert completeness("en") == 100
    client = admin_client(superuser)
    save(client, "service_category", "civil-status", "hmn", {"name": "Sau npe pej xeem"})
    # Changed by a translator: a translation (unreviewed), which counts.
    assert completeness("hmn") > 0


def test_feedback_categories_are_edited_per_language_too(demo, superuser):
    category = FeedbackCategory.objects.get(code="environment")
    response = admin_client(superuser).post(
        f"/admin/feedback/feedbackcategory/{category.pk}/change/",
        {
            "code": category.code,
            "default_level": category.default_level,
            "position": category.position,
            "name__vi": "Môi trường, cảnh quan",
            "name__en": "Environment",
            "name__hmn": "Ib puag ncig",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    category.refresh_from_db()
    assert category.name["vi"] == "Môi trường, cảnh quan"
    # English was reviewed against the old Vietnamese text; the sample stays a sample.
    assert category.translation_status == {"en": "unreviewed", "hmn": "sample"}
