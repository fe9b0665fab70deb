"""Doing what an inbound SMS asks, and queueing the reply.

Every message is kept (`InboundSms`) with its outcome; a gateway's retry of the same message
id finds the row and changes nothing. Replies go through the SMS outbox, sent after commit;
a sender over the per-number limits gets none, so the number cannot be made to send SMS at
someone else's cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.actions import account_for_phone
from accounts.models import User
from agencies.models import AdministrativeUnit
from common.exceptions import DomainError
from common.i18n import DEFAULT_LANGUAGE, gettext_language
from common.phones import normalize_phone
from common.text import squash_spaces, strip_bidi_controls
from feedback.actions import submit_feedback
from feedback.models import Feedback, FeedbackCategory
from notifications.outbox import queue_sms
from notifications.sms import compact_text
from onestop.models import InboundSms
from onestop.sms import commands
from services.models import ServiceRequest

Outcome = InboundSms.Outcome
TITLE_LENGTH = 80
REPLY_KIND = "sms_command.reply"


@dataclass
class Result:
    outcome: str
    reply: str = ""
    sender: User | None = None
    fields: dict[str, Any] = field(default_factory=dict)


def receive(*, gateway_id: str, sender: str, text: str, received_at: datetime) -> InboundSms:
    """Keep one inbound SMS and do what it asks; the same `gateway_id` again returns the
    first row untouched. Call inside a transaction (the API request's), with text already
    rid of what no stored text may hold (the hook drops it after validation)."""
    command = commands.parse(text)
    try:
        with transaction.atomic():
            row = InboundSms.objects.create(
                gateway_id=gateway_id,
                phone=sender,
                text=text,
                received_at=received_at,
                command=command.kind,
                outcome=Outcome.IGNORED,
            )
    except IntegrityError:
        return InboundSms.objects.get(gateway_id=gateway_id)
    phone = normalize_phone(sender)
    if phone is None:
        # An alphanumeric sender (an operator's own notice) or garbage: nobody to answer.
        return row
    row.phone = phone
    account = User.objects.filter(phone=phone).first()
    if _over_limit(row, phone):
        result = Result(Outcome.RATE_LIMITED, sender=account)
    else:
        language = account.preferred_language if account else DEFAULT_LANGUAGE
        with translation.override(gettext_language(language)):
            result = _HANDLERS[command.kind](phone, account, command.argument)
    row.outcome = result.outcome
    row.sender = result.sender
    for name, value in result.fields.items():
        setattr(row, name, value)
    if result.reply:
        row.reply = queue_sms(phone, compact_text(result.reply), kind=REPLY_KIND, user=row.sender)
    row.save()
    return row


def _over_limit(row: InboundSms, phone: str) -> bool:
    """More than `SMS_COMMANDS_PER_HOUR` messages from `phone` in the last hour, or a
    petition beyond `SMS_PETITIONS_PER_DAY` filed in the last day."""
    now = timezone.now()
    recent = InboundSms.objects.filter(phone=phone).exclude(pk=row.pk)
    if recent.filter(created_at__gte=now - timedelta(hours=1)).count() >= int(
        settings.SMS_COMMANDS_PER_HOUR
    ):
        return True
    if row.command != commands.PETITION:
        return False
    filed = recent.filter(outcome=Outcome.FILED, created_at__gte=now - timedelta(days=1))
    return filed.count() >= int(settings.SMS_PETITIONS_PER_DAY)


# -- TT: status ------------------------------------------------------------------------------


def _status(phone: str, account: User | None, argument: str) -> Result:
    codes = commands.tracking_codes(
        argument, (ServiceRequest.TRACKING_PREFIX, Feedback.TRACKING_PREFIX)
    )
    sent = next(iter(codes.values()), argument[:20])
    not_found = Result(
        Outcome.NOT_FOUND,
        gettext(
            "No dossier or feedback with this code was sent from this number. "
            "Check the code and send: TT <code>"
        ),
        sender=account,
        fields={"tracking_code": sent[:20]},
    )
    # Only the applicant's or author's own verified number is told anything; any other
    # number gets the answer an unknown code gets.
    if account is None or not account.is_active or account.phone_verified_at is None:
        return not_found
    dossier = (
        ServiceRequest.objects.select_related("agency")
        .filter(tracking_code=codes.get(ServiceRequest.TRACKING_PREFIX), applicant=account)
        .first()
    )
    if dossier is not None:
        return Result(
            Outcome.ANSWERED,
            _dossier_status(dossier),
            sender=account,
            fields={"tracking_code": dossier.tracking_code},
        )
    item = (
        Feedback.objects.select_related("agency")
        .filter(tracking_code=codes.get(Feedback.TRACKING_PREFIX), author=account)
        .first()
    )
    if item is not None:
        text = gettext("Feedback %(code)s: %(status)s. %(agency)s.") % {
            "code": item.tracking_code,
            "status": item.get_status_display(),
            "agency": item.agency.name,
        }
        return Result(
            Outcome.ANSWERED, text, sender=account, fields={"tracking_code": item.tracking_code}
        )
    return not_found


def _dossier_status(dossier: ServiceRequest) -> str:
    facts = {
        "code": dossier.tracking_code,
        "status": dossier.get_status_display(),
        "agency": dossier.agency.name,
    }
    if dossier.due_at is None or dossier.status not in ServiceRequest.OPEN:
        return gettext("Dossier %(code)s: %(status)s. %(agency)s.") % facts
    due = timezone.localtime(dossier.due_at).strftime("%d/%m/%Y")
    return gettext("Dossier %(code)s: %(status)s. Due %(due)s. %(agency)s.") % (
        facts | {"due": due}
    )


# -- PA: a feedback item ---------------------------------------------------------------------


def _petition(phone: str, account: User | None, argument: str) -> Result:
    if account is not None and not account.is_active:
        return Result(
            Outcome.REFUSED,
            gettext("The account of this number is closed. Please contact the commune office."),
            sender=account,
        )
    if account is not None and account.is_claimed and account.phone_verified_at is None:
        # Someone registered this number without proving it: the network's word that the
        # sender holds it does not make the account theirs.
        return Result(
            Outcome.REFUSED,
            gettext("Verify this number in the app first, then send your feedback again."),
            sender=account,
        )
    commune = account.administrative_unit if account is not None else None
    text = argument
    if commune is None:
        code, text = commands.split_commune(argument)
        commune = _commune(code)
        if commune is None:
            return Result(
                Outcome.NEEDS_COMMUNE,
                gettext(
                    "Send: PA <commune code> <your feedback>. "
                    "Your commune office can tell you its code."
                ),
                sender=account,
            )
    text = squash_spaces(strip_bidi_controls(text))
    if not text:
        return Result(Outcome.HELP, _help_text(), sender=account)
    category = FeedbackCategory.objects.filter(sms_default=True).first()
    if category is None:
        return _not_taken(account)
    try:
        with transaction.atomic():
            author = _author(account, phone, commune)
            item, _created = submit_feedback(
                author=author,
                category=category,
                commune=commune,
                title=_title(text),
                content=text[: Feedback._meta.get_field("content").max_length],
            )
    except DomainError:
        # Nothing of the attempt stays, a new account included.
        return _not_taken(account)
    reply = gettext(
        "Received your feedback %(code)s, sent to %(agency)s. To follow it, send: TT %(code)s"
    ) % {"code": item.tracking_code, "agency": item.agency.name}
    return Result(
        Outcome.FILED,
        reply,
        sender=author,
        fields={"feedback": item, "tracking_code": item.tracking_code},
    )


def _author(account: User | None, phone: str, commune: AdministrativeUnit) -> User:
    """The sender's account. The network verified the number, so a new one is created for
    it, unclaimed (no password, for the citizen to claim later in the app), with the
    petition's commune as its home commune; an unclaimed account's phone is verified."""
    if account is None:
        account = account_for_phone(phone, verified=True)
        if account.administrative_unit_id is None:
            User.objects.filter(pk=account.pk).update(administrative_unit=commune)
    if account.phone_verified_at is None:
        User.objects.filter(pk=account.pk).update(phone_verified_at=timezone.now())
    return account


def _not_taken(account: User | None) -> Result:
    return Result(
        Outcome.REFUSED,
        gettext(
            "Feedback by SMS is not available for your commune yet. "
            "Please contact the commune office."
        ),
        sender=account,
    )


def _commune(code: int | None) -> AdministrativeUnit | None:
    if code is None:
        return None
    return AdministrativeUnit.objects.filter(
        level=AdministrativeUnit.Level.COMMUNE, code=code
    ).first()


def _title(text: str) -> str:
    """The first words of `text`, at most TITLE_LENGTH characters."""
    if len(text) <= TITLE_LENGTH:
        return text
    cut = text[: TITLE_LENGTH - 1].rsplit(" ", 1)[0]
    return f"{cut}…"


# -- HD and anything else --------------------------------------------------------------------


def _help_text() -> str:
    return gettext("Public services by SMS. Status: TT <tracking code>. Feedback: PA <text>.")


def _help(phone: str, account: User | None, argument: str) -> Result:
    return Result(Outcome.HELP, _help_text(), sender=account)


_HANDLERS = {commands.STATUS: _status, commands.PETITION: _petition, commands.HELP: _help}
