"""SMS commands: TT (status), PA (a feedback item), HD (help), relayed by the SMS gateway."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from common.models import AuditLogEntry
from feedback.models import Feedback
from notifications import sms
from notifications.models import SmsMessage
from onestop.models import InboundSms
from services.models import ServiceRequest
from tests import factories as f
from tests.feedback.helpers import category, make_feedback
from tests.services.workflow import make_dossier

pytestmark = pytest.mark.django_db

HOOK = "/api/v1/sms/inbound/"
TOKEN = "test-inbound-token"
NEW_NUMBER = "+84987654321"


@pytest.fixture(autouse=True)
def _inbound(settings):
    settings.SMS_INBOUND_TOKEN = TOKEN
    settings.SMS_BACKEND = "memory"
    sms.reset_memory_backend()


@pytest.fixture
def sms_category(world):
    item = category()
    item.sms_default = True
    item.save()
    return item


@pytest.fixture
def verified(citizen_a):
    User.objects.filter(pk=citizen_a.pk).update(phone_verified_at=timezone.now())
    citizen_a.refresh_from_db()
    return citizen_a


def gateway(token=TOKEN):
    client = APIClient()
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def send(capture, sender, text, message_id=None, client=None):
    """What the gateway posts for one SMS; the replies are sent as the commit happens."""
    body = {"id": message_id or str(uuid.uuid4()), "from": sender, "text": text}
    with capture(execute=True):
        response = (client or gateway()).post(HOOK, body, format="json")
    return response


def replies(phone=None):
    return [m for m in sms.memory_outbox() if phone is None or m.phone == phone]


# -- TT: status --------------------------------------------------------------------------------


def test_tt_answers_the_status_due_date_and_agency_to_the_applicants_phone(
    world, verified, django_capture_on_commit_callbacks
):
    dossier = make_dossier(world, verified, status=ServiceRequest.Status.IN_PROGRESS)

    response = send(django_capture_on_commit_callbacks, "0900000001", f"TT {dossier.tracking_code}")

    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "answered"
    [reply] = replies()
    assert reply.phone == verified.phone
    due = timezone.localtime(dossier.due_at).strftime("%d/%m/%Y")
    assert dossier.tracking_code in reply.text
    assert due in reply.text
    assert "Lam Binh" in reply.text or "Lâm Bình" in reply.text
    assert "xu ly" in reply.text.lower() or "xử lý" in reply.text.lower()
    assert reply.segments == 1


def test_tt_from_another_phone_answers_the_same_not_found_as_an_unknown_code(
    world, verified, citizen_b, django_capture_on_commit_callbacks
):
    dossier = make_dossier(world, verified)
    capture = django_capture_on_commit_callbacks

    other = send(capture, citizen_b.phone, f"TT {dossier.tracking_code}")
    unknown = send(capture, citizen_b.phone, "TT DV-0000-0000-0")

    assert other.json()["outcome"] == unknown.json()["outcome"] == "not_found"
    first, second = replies(citizen_b.phone)
    assert first.text == second.text
    assert dossier.tracking_code not in first.text


def test_tt_from_the_applicants_number_not_yet_verified_is_not_found(
    world, citizen_a, django_capture_on_commit_callbacks
):
    dossier = make_dossier(world, citizen_a)

    response = send(
        django_capture_on_commit_callbacks, citizen_a.phone, f"TT {dossier.tracking_code}"
    )

    assert response.json()["outcome"] == "not_found"


@pytest.mark.parametrize(
    "spelling",
    [
        lambda code: f"tt {code.lower()}",
        lambda code: f"  Tt   {code.replace('-', ' ')}  ",
        lambda code: f"TT:{code.replace('-', '')}",
        lambda code: f"TT{code.replace('-', '')}",
        lambda code: f"TT {code[3:]}",  # without the prefix
        lambda code: f"TT {code.replace('0', 'O').replace('1', 'I')}",
        lambda code: f"Tť {code}",  # a diacritic typed by mistake
    ],
)
def test_tt_forgives_case_spacing_and_the_typos_the_lookup_forgives(
    world, verified, spelling, django_capture_on_commit_callbacks
):
    dossier = make_dossier(world, verified)

    response = send(
        django_capture_on_commit_callbacks, verified.phone, spelling(dossier.tracking_code)
    )

    assert response.json()["outcome"] == "answered", replies()[-1].text
    assert dossier.tracking_code in replies()[-1].text


def test_tt_answers_a_feedback_item_of_its_author(
    world, verified, sms_category, django_capture_on_commit_callbacks
):
    item = make_feedback(world, verified)

    response = send(django_capture_on_commit_callbacks, verified.phone, f"TT {item.tracking_code}")

    assert response.json()["outcome"] == "answered"
    assert item.tracking_code in replies()[-1].text


def test_the_reply_is_in_the_senders_language(world, verified, django_capture_on_commit_callbacks):
    User.objects.filter(pk=verified.pk).update(preferred_language="en")
    dossier = make_dossier(world, verified, status=ServiceRequest.Status.IN_PROGRESS)

    send(django_capture_on_commit_callbacks, verified.phone, f"TT {dossier.tracking_code}")

    assert replies()[-1].text.startswith(f"Dossier {dossier.tracking_code}: In progress.")


# -- PA: feedback -----------------------------------------------------------------------------


def test_pa_from_a_citizen_files_feedback_in_their_home_commune(
    world, verified, sms_category, django_capture_on_commit_callbacks
):
    response = send(
        django_capture_on_commit_callbacks, verified.phone, "PA Duong vao ban bi sat lo"
    )

    assert response.json()["outcome"] == "filed"
    item = Feedback.objects.get()
    assert (item.author, item.administrative_unit, item.agency) == (
        verified,
        world["lam_binh"],
        world["lam_binh_office"],
    )
    assert item.category == sms_category
    assert item.content == "Duong vao ban bi sat lo"
    assert not item.is_anonymous and not item.is_public
    [reply] = replies()
    assert item.tracking_code in reply.text
    assert f"TT {item.tracking_code}" in reply.text
    assert reply.segments == 1
    assert InboundSms.objects.get().feedback == item


def test_pa_from_an_unknown_number_with_a_commune_code_creates_an_unclaimed_account(
    world, sms_category, django_capture_on_commit_callbacks
):
    response = send(
        django_capture_on_commit_callbacks, "0987 654 321", "pa 3325 Cầu treo bản Nà Khà bị gãy"
    )

    assert response.json()["outcome"] == "filed"
    account = User.objects.get(phone=NEW_NUMBER)
    assert not account.is_claimed and not account.has_usable_password()
    assert account.phone_verified_at is not None
    assert account.administrative_unit == world["muong_phang"]
    item = Feedback.objects.get()
    assert item.author == account
    assert item.agency == world["muong_phang_office"]
    assert item.content == "Cầu treo bản Nà Khà bị gãy"
    # The next petition needs no commune code.
    send(django_capture_on_commit_callbacks, NEW_NUMBER, "PA Den duong bi hong")
    assert Feedback.objects.filter(administrative_unit=world["muong_phang"]).count() == 2


def test_pa_without_a_commune_asks_for_its_code_and_creates_nothing(
    world, sms_category, django_capture_on_commit_callbacks
):
    response = send(django_capture_on_commit_callbacks, NEW_NUMBER, "PA Duong vao ban bi sat lo")

    assert response.json()["outcome"] == "needs_commune"
    assert "PA <" in replies()[-1].text
    assert not User.objects.filter(phone=NEW_NUMBER).exists()
    assert not Feedback.objects.exists()


def test_pa_when_no_category_takes_sms_is_refused_and_creates_nothing(
    world, django_capture_on_commit_callbacks
):
    response = send(django_capture_on_commit_callbacks, NEW_NUMBER, "PA 2266 Duong bi sat lo")

    assert response.json()["outcome"] == "refused"
    assert not User.objects.filter(phone=NEW_NUMBER).exists()
    assert not Feedback.objects.exists()
    assert replies()


def test_pa_for_a_commune_no_agency_serves_is_refused_and_creates_no_account(
    world, sms_category, django_capture_on_commit_callbacks
):
    province = f.ProvinceFactory(code=14, name="Sơn La", search_name="son la")
    f.CommuneFactory(code=4045, name="Xã Chiềng Sơn", parent=province, search_name="chieng son")

    response = send(django_capture_on_commit_callbacks, NEW_NUMBER, "PA 4045 Duong bi sat lo")

    assert response.json()["outcome"] == "refused"
    assert not User.objects.filter(phone=NEW_NUMBER).exists()


def test_pa_for_an_account_registered_without_proving_the_number_is_refused(
    world, citizen_a, sms_category, django_capture_on_commit_callbacks
):
    response = send(django_capture_on_commit_callbacks, citizen_a.phone, "PA Duong bi sat lo")

    assert response.json()["outcome"] == "refused"
    assert not Feedback.objects.exists()
    citizen_a.refresh_from_db()
    assert citizen_a.phone_verified_at is None


def test_pa_with_no_text_gets_the_help(
    world, verified, sms_category, django_capture_on_commit_callbacks
):
    response = send(django_capture_on_commit_callbacks, verified.phone, "PA")

    assert response.json()["outcome"] == "help"
    assert not Feedback.objects.exists()


def test_control_characters_in_the_text_are_dropped_not_refused(
    world, verified, sms_category, django_capture_on_commit_callbacks
):
    response = send(
        django_capture_on_commit_callbacks, verified.phone, "PA Duong\x00 bi\x1b sat lo"
    )

    assert response.status_code == 200
    assert Feedback.objects.get().content == "Duong bi sat lo"


# -- HD, anything else, senders -----------------------------------------------------------------


@pytest.mark.parametrize("text", ["HD", "hd", "xin chao", "", "PAKN", "TTT"])
def test_hd_and_anything_unknown_get_the_help_text(world, text, django_capture_on_commit_callbacks):
    response = send(django_capture_on_commit_callbacks, NEW_NUMBER, text)

    assert response.json() | {"id": None} == {"id": None, "command": "help", "outcome": "help"}
    [reply] = replies()
    assert "TT" in reply.text and "PA" in reply.text
    assert reply.segments == 1
    assert not User.objects.filter(phone=NEW_NUMBER).exists()


def test_a_sender_that_is_no_phone_number_gets_no_reply(world, django_capture_on_commit_callbacks):
    response = send(django_capture_on_commit_callbacks, "VIETTEL", "Khuyen mai 50%")

    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    assert not replies()


# -- the gateway and retries -------------------------------------------------------------------


def test_a_retry_of_the_same_message_changes_nothing(
    world, verified, sms_category, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    first = send(capture, verified.phone, "PA Duong vao ban bi sat lo", message_id="gw-1")
    again = send(capture, verified.phone, "PA Duong vao ban bi sat lo", message_id="gw-1")

    assert first.json() == again.json() == {"id": "gw-1", "command": "petition", "outcome": "filed"}
    assert Feedback.objects.count() == 1
    assert InboundSms.objects.count() == 1
    assert len(replies()) == 1


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_only_the_gateway_may_call_the_hook(world, token, django_capture_on_commit_callbacks):
    response = send(django_capture_on_commit_callbacks, NEW_NUMBER, "HD", client=gateway(token))

    assert response.status_code == 401
    assert response.json()["type"] == "client_error"
    assert not InboundSms.objects.exists()


def test_with_no_token_configured_the_hook_refuses_everyone(
    world, settings, django_capture_on_commit_callbacks
):
    settings.SMS_INBOUND_TOKEN = ""

    response = send(django_capture_on_commit_callbacks, NEW_NUMBER, "HD", client=gateway(""))

    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"id": "x", "text": "HD"},
        {"id": "", "from": NEW_NUMBER, "text": "HD"},
        [1, 2],
        # A number is not a string, whatever it would read as.
        {"id": "x", "from": 987654321, "text": "HD"},
        {"id": 7, "from": NEW_NUMBER, "text": "HD"},
    ],
)
def test_a_malformed_call_is_a_400(world, body):
    response = gateway().post(HOOK, body, format="json")

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"


def test_replies_are_queued_in_the_outbox_and_sent_only_after_commit(
    world, verified, django_capture_on_commit_callbacks
):
    dossier = make_dossier(world, verified)
    body = {"id": "gw-2", "from": verified.phone, "text": f"TT {dossier.tracking_code}"}

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        gateway().post(HOOK, body, format="json")
        assert not replies()
    assert SmsMessage.objects.get().kind == "sms_command.reply"
    assert InboundSms.objects.get().reply == SmsMessage.objects.get()
    for callback in callbacks:
        callback()
    assert len(replies()) == 1


# -- limits --------------------------------------------------------------------------------------


def test_a_number_over_the_hourly_limit_gets_no_more_replies(
    world, settings, django_capture_on_commit_callbacks
):
    settings.SMS_COMMANDS_PER_HOUR = 3
    outcomes = [
        send(django_capture_on_commit_callbacks, NEW_NUMBER, "HD").json()["outcome"]
        for _ in range(5)
    ]

    assert outcomes == ["help", "help", "help", "rate_limited", "rate_limited"]
    assert len(replies()) == 3
    # An hour later the number is answered again.
    InboundSms.objects.update(created_at=timezone.now() - timedelta(hours=1, minutes=1))
    assert send(django_capture_on_commit_callbacks, NEW_NUMBER, "HD").json()["outcome"] == "help"


def test_a_number_files_at_most_the_daily_number_of_petitions(
    world, verified, sms_category, settings, django_capture_on_commit_callbacks
):
    settings.SMS_PETITIONS_PER_DAY = 2
    outcomes = [
        send(django_capture_on_commit_callbacks, verified.phone, f"PA Su co so {n}").json()[
            "outcome"
        ]
        for n in range(3)
    ]

    assert outcomes == ["filed", "filed", "rate_limited"]
    assert Feedback.objects.count() == 2


# -- the admin ---------------------------------------------------------------------------------


def test_the_admin_lists_inbound_messages_and_audits_the_read(
    world, superuser, officer_commune, client, django_capture_on_commit_callbacks
):
    send(django_capture_on_commit_callbacks, NEW_NUMBER, "HD")
    message = InboundSms.objects.get()

    client.force_login(officer_commune)
    assert client.get("/admin/onestop/inboundsms/").status_code == 403
    client.force_login(superuser)
    page = client.get("/admin/onestop/inboundsms/")

    assert page.status_code == 200
    assert NEW_NUMBER in page.content.decode()
    entry = AuditLogEntry.objects.get(action="view_personal_data")
    assert (entry.object_type, entry.object_id, entry.actor) == (
        "onestop.inboundsms",
        str(message.pk),
        superuser,
    )


# -- data rights -------------------------------------------------------------------------------


def test_a_persons_sms_are_in_their_export_and_erased_when_they_close_the_account(
    world, verified, sms_category, django_capture_on_commit_callbacks
):
    from tests.conftest import client_for
    from tests.factories import PASSWORD

    send(django_capture_on_commit_callbacks, verified.phone, "PA Duong vao ban bi sat lo")
    client = client_for(verified)

    archive = client.get("/api/v1/me/export/").json()
    [sent] = archive["sms_sent"]
    assert (sent["phone"], sent["text"], sent["outcome"]) == (
        verified.phone,
        "PA Duong vao ban bi sat lo",
        "filed",
    )

    assert client.delete("/api/v1/me/", {"password": PASSWORD}, format="json").status_code == 204
    message = InboundSms.objects.get()
    assert (message.phone, message.text, message.sender, message.outcome) == ("", "", None, "filed")
