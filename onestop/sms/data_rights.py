"""The SMS a person sent to the service, in their data export and in the closing of their
account (`accounts.data_rights`): exported as kept; on closing, the number and the text are
erased and the outcome stays (how many messages asked what, for the service's own figures)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from accounts.data_rights import DataHolder, register_data_holder
from onestop.models import InboundSms


def _sent_by(user: Any) -> Any:
    return InboundSms.objects.filter(Q(sender=user) | Q(phone=user.phone))


def export(user: Any, request: Any) -> dict[str, Any]:
    return {
        "sms_sent": [
            {
                "received_at": message.received_at,
                "phone": message.phone,
                "text": message.text,
                "command": message.command,
                "outcome": message.outcome,
                "tracking_code": message.tracking_code,
            }
            for message in _sent_by(user).order_by("received_at")
        ]
    }


def erase(user: Any) -> None:
    _sent_by(user).update(phone="", text="", sender=None)


def subjects(user: Any) -> dict[str, Any]:
    return {InboundSms._meta.label_lower: list(_sent_by(user).values_list("pk", flat=True))}


def register() -> None:
    register_data_holder(
        DataHolder(name="sms_commands", export=export, erase=erase, subjects=subjects)
    )
