"""Audio help: recorded explanations of services and categories, per language."""

import pytest
from django.test import Client
from django.utils import translation

from common import files
from common.models import AuditLogEntry
from services import audio_help
from services.models import AudioHelp, ServiceCategory
from tests.file_samples import amr_nb_bytes, m4a_bytes, mp3_bytes, pdf_bytes, upload
from tests.storage import stored_names

pytestmark = pytest.mark.django_db

DETAIL = "/api/v1/services/birth-registration/"
CATEGORIES = "/api/v1/service-categories/"


def admin_text(message, **params):
    with translation.override("vi"):
        text = translation.gettext(message)
    return text % params if params else text


def admin_client(user):
    client = Client()
    client.force_login(user)
    return client


def attach(parent, language, data=None, name="giai-thich.m4a"):
    return audio_help.attach_audio_help(
        None, parent, language=language, upload=upload(data or m4a_bytes(seconds=3), name)
    )


def stored_files():
    return [name.rsplit("/", 1)[-1] for name in stored_names()]


def download(url):
    response = Client().get(url)
    assert response.status_code == 200
    return b"".join(response.streaming_content)


# -- the API ---------------------------------------------------------------------------------


def test_service_detail_has_no_audio_help_until_one_is_uploaded(world):
    assert Client().get(DETAIL).json()["audio_help"] is None


def test_service_detail_gives_the_recording_in_the_answers_language(world):
    service = world["service"]
    hmong = attach(service, "hmn", mp3_bytes())
    body = Client().get(DETAIL, {"lang": "hmn"}).json()
    assert body["audio_help"]["language"] == "hmn"
    assert body["audio_help"]["content_type"] == "audio/mpeg"
    assert body["audio_help"]["duration"] == pytest.approx(hmong.duration)
    assert download(body["audio_help"]["url"]) == mp3_bytes()


def test_without_one_in_the_language_the_vietnamese_recording_is_given(world):
    service = world["service"]
    attach(service, "vi")
    attach(service, "hmn", mp3_bytes())
    body = Client().get(DETAIL, {"lang": "tyz"}).json()
    assert body["audio_help"]["language"] == "vi"
    assert body["audio_help"]["content_type"] == "audio/mp4"
    assert Client().get(DETAIL, HTTP_ACCEPT_LANGUAGE="hmn").json()["audio_help"]["language"] == (
        "hmn"
    )


def test_no_vietnamese_recording_and_none_in_the_language_gives_null(world):
    attach(world["service"], "hmn", mp3_bytes())
    assert Client().get(DETAIL, {"lang": "en"}).json()["audio_help"] is None


def test_categories_carry_audio_help_and_the_service_list_stays_small(world):
    category = world["service"].category
    attach(category, "vi", amr_nb_bytes())
    ServiceCategory.objects.create(code="land", name={"vi": "Đất đai"}, position=2)
    results = Client().get(CATEGORIES, {"lang": "en"}).json()["results"]
    by_code = {item["code"]: item for item in results}
    assert by_code["civil-status"]["audio_help"]["language"] == "vi"
    assert by_code["civil-status"]["audio_help"]["content_type"] == "audio/amr"
    assert by_code["land"]["audio_help"] is None
    # The catalog list and its nested categories carry no recordings.
    item = Client().get("/api/v1/services/").json()["results"][0]
    assert "audio_help" not in item and "audio_help" not in item["category"]
    assert "audio_help" not in Client().get(DETAIL).json()["category"]


def test_query_counts_stay_fixed(world, django_assert_num_queries):
    service = world["service"]
    attach(service.category, "vi")
    for code in ("land", "residence", "education"):
        category = ServiceCategory.objects.create(code=code, name={"vi": code})
        attach(category, "vi")
        attach(category, "hmn", mp3_bytes())
    attach(service, "vi")
    Client().get(CATEGORIES, {"lang": "hmn"})  # the language list is cached per process
    # The page of categories, then their recordings.
    with django_assert_num_queries(2):
        response = Client().get(CATEGORIES, {"lang": "hmn"})
    assert [item["audio_help"]["language"] for item in response.json()["results"]] == [
        "vi",
        "hmn",
        "hmn",
        "hmn",
    ]
    # The service with its category, then its recordings.
    with django_assert_num_queries(2):
        assert Client().get(DETAIL).json()["audio_help"]["language"] == "vi"


def test_a_new_recording_moves_the_parent_for_phones_that_sync(world):
    service = world["service"]
    before = service.updated_at
    response = Client().get(DETAIL)
    attach(service, "vi")
    service.refresh_from_db()
    assert service.updated_at > before
    assert Client().get(DETAIL, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 200


# -- the writes ------------------------------------------------------------------------------


def test_a_second_upload_in_a_language_replaces_the_first(
    world, django_capture_on_commit_callbacks
):
    service = world["service"]
    first = attach(service, "vi")
    old_name = first.storage_name
    with django_capture_on_commit_callbacks(execute=True):
        second = attach(service, "vi", mp3_bytes())
    assert AudioHelp.objects.filter(service=service).count() == 1
    assert second.pk == first.pk and second.content_type == "audio/mpeg"
    assert not files.private_storage.exists(old_name)
    assert files.private_storage.exists(second.storage_name)
    assert AuditLogEntry.objects.filter(action="audio_help.attached").count() == 2


def test_removing_a_recording_deletes_its_file(world, django_capture_on_commit_callbacks):
    audio = attach(world["service"], "vi")
    with django_capture_on_commit_callbacks(execute=True):
        audio_help.remove_audio_help(None, audio)
    assert not AudioHelp.objects.exists()
    assert not files.private_storage.exists(audio.storage_name)
    assert Client().get(DETAIL).json()["audio_help"] is None


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (pdf_bytes(), "unsupported_file_type"),
        (b"RIFF....WAVEfmt not really", "unsupported_file_type"),
        (amr_nb_bytes(frames=50 * 301), "audio_too_long"),
    ],
)
def test_anything_but_short_audio_is_refused(world, data, code):
    from common.exceptions import InvalidInput

    with pytest.raises(InvalidInput) as error:
        attach(world["service"], "vi", data)
    assert error.value.get_codes() == {"file": [code]}
    assert not AudioHelp.objects.exists()
    assert stored_files() == []  # nothing was written


def test_the_cap_is_300_seconds_even_if_voice_notes_may_be_longer(world, settings):
    from common.exceptions import InvalidInput

    settings.AUDIO_MAX_SECONDS = 600
    with pytest.raises(InvalidInput) as error:
        attach(world["service"], "vi", amr_nb_bytes(frames=50 * 301))
    assert error.value.get_codes() == {"file": ["audio_too_long"]}


# -- the admin -------------------------------------------------------------------------------


def inline(prefix="audio_help", total=1, initial=0, **forms):
    data = {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    data.update({f"{prefix}-{key}": value for key, value in forms.items()})
    return data


def category_post(category, **extra):
    data = {"code": category.code, "position": category.position}
    data.update({f"name__{code}": text for code, text in category.name.items()})
    data.update(extra)
    return data


def test_staff_upload_a_recording_in_the_category_admin(world, superuser):
    category = world["service"].category
    url = f"/admin/services/servicecategory/{category.pk}/change/"
    data = category_post(
        category,
        **inline(**{"0-language": "tyz", "0-upload": upload(m4a_bytes(seconds=4), "Tày.m4a")}),
    )
    response = admin_client(superuser).post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    audio = AudioHelp.objects.get(category=category)
    assert (audio.language, audio.content_type, audio.name) == ("tyz", "audio/mp4", "Tày.m4a")
    assert audio.duration == pytest.approx(4, abs=0.1)
    assert audio.uploaded_by == superuser
    assert files.private_storage.exists(audio.storage_name)
    entry = AuditLogEntry.objects.get(action="audio_help.attached")
    assert entry.actor == superuser and entry.details["language"] == "tyz"
    # The change page plays it back.
    page = admin_client(superuser).get(url).content.decode()
    assert "<audio controls" in page


def test_staff_upload_a_recording_in_the_service_admin(world, superuser):
    service = world["service"]
    url = f"/admin/services/publicservice/{service.pk}/change/"
    page = admin_client(superuser).get(url)
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if name not in ("name", "description")}
    data = {key: "" if value is None else value for key, value in data.items()}
    data["category"] = service.category_id
    data.update({f"name__{code}": text for code, text in service.name.items()})
    data.update({f"description__{code}": text for code, text in service.description.items()})
    data.update(inline(**{"0-language": "vi", "0-upload": upload(mp3_bytes(), "huong-dan.mp3")}))
    response = admin_client(superuser).post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert AudioHelp.objects.get(service=service).content_type == "audio/mpeg"
    assert Client().get(DETAIL).json()["audio_help"]["language"] == "vi"


def test_the_admin_refuses_a_file_that_is_not_audio_with_a_clear_error(world, superuser):
    category = world["service"].category
    url = f"/admin/services/servicecategory/{category.pk}/change/"
    data = category_post(
        category, **inline(**{"0-language": "vi", "0-upload": upload(pdf_bytes(), "a.mp3")})
    )
    response = admin_client(superuser).post(url, data)
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.forms[0].errors
    assert errors["upload"] == [admin_text("The file's content is not of a type accepted here.")]
    assert not AudioHelp.objects.exists()


def test_the_admin_refuses_a_recording_over_300_seconds(world, superuser):
    category = world["service"].category
    url = f"/admin/services/servicecategory/{category.pk}/change/"
    long_one = upload(amr_nb_bytes(frames=50 * 301), "dai.amr")
    data = category_post(category, **inline(**{"0-language": "vi", "0-upload": long_one}))
    response = admin_client(superuser).post(url, data)
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.forms[0].errors
    assert errors["upload"] == [
        admin_text("The recording is longer than %(seconds)s seconds.", seconds=300)
    ]
    assert not AudioHelp.objects.exists()


def test_a_new_row_needs_a_file_and_a_language_has_one_recording(world, superuser):
    category = world["service"].category
    attach(category, "vi")
    url = f"/admin/services/servicecategory/{category.pk}/change/"
    existing = AudioHelp.objects.get()
    data = category_post(
        category,
        **inline(
            total=3,
            initial=1,
            **{
                "0-id": str(existing.pk),
                "0-category": str(category.pk),
                "1-language": "hmn",
                "2-language": "vi",
                "2-upload": upload(mp3_bytes(), "b.mp3"),
            },
        ),
    )
    response = admin_client(superuser).post(url, data)
    assert response.status_code == 200
    forms = response.context["inline_admin_formsets"][0].formset.forms
    assert forms[1].errors["upload"] == [admin_text("Choose a recording to upload.")]
    # The category has a Vietnamese recording already.
    assert forms[2].errors["language"] == [
        admin_text("There is a recording in this language already: give it the new file.")
    ]
    assert AudioHelp.objects.count() == 1


def test_deleting_the_row_in_the_admin_removes_the_recording(world, superuser):
    category = world["service"].category
    audio = attach(category, "vi")
    url = f"/admin/services/servicecategory/{category.pk}/change/"
    data = category_post(
        category,
        **inline(
            initial=1,
            **{"0-id": str(audio.pk), "0-category": str(category.pk), "0-DELETE": "on"},
        ),
    )
    response = admin_client(superuser).post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert not AudioHelp.objects.exists()
    assert AuditLogEntry.objects.filter(action="audio_help.removed").exists()


def test_the_etag_stays_while_the_recording_does_and_its_link_still_works(
    world, monkeypatch, settings
):
    attach(world["service"], "vi")
    start = 1_800_000_000 - 1_800_000_000 % (settings.AUDIO_HELP_URL_TTL_SECONDS // 2)
    monkeypatch.setattr(files, "_now", lambda: start + 1)
    first = Client().get(DETAIL)
    # Minutes later (the link signed anew every minute before): same body, a 304.
    monkeypatch.setattr(files, "_now", lambda: start + 3 * 3600)
    assert Client().get(DETAIL, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert Client().get(DETAIL).content == first.content
    # The link a phone kept with that 304 still plays until a day after it was issued.
    monkeypatch.setattr(files, "_now", lambda: start + settings.AUDIO_HELP_URL_TTL_SECONDS)
    assert download(first.json()["audio_help"]["url"]) == m4a_bytes(seconds=3)
    # Past half a day the body carries a new link, so the next check gets it.
    later = start + settings.AUDIO_HELP_URL_TTL_SECONDS // 2
    monkeypatch.setattr(files, "_now", lambda: later)
    assert Client().get(DETAIL, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200
