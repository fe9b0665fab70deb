"""Every write to dossiers, by part: the state table and its hooks (`workflow`), submission
(`submission`), the form a service asks for (`forms`), supplement requests (`supplement`),
due-date reminders (`reminders`) and the catalog (`catalog`). The names below are the
package's interface; callers import them from here."""

from services.actions.catalog import SERVICE_SYNC_KIND, offer_service, withdraw_service
from services.actions.reminders import CLOCK_RUNNING, notify_due_dossiers
from services.actions.submission import submit_assisted_request, submit_request
from services.actions.supplement import SUPPLEMENT_ITEM_LIMIT
from services.actions.workflow import (
    ATTACHMENT_LIMIT,
    ATTACHMENTS,
    CRITICAL_KINDS,
    DOSSIERS,
    NOTIFY_KINDS,
    OPEN_STATES,
    RATINGS,
    TRANSITIONS,
    add_request_attachment,
    allowed_actions,
    rate_request,
    record_personal_data_read,
    transition_request,
)

__all__ = [
    "ATTACHMENTS",
    "ATTACHMENT_LIMIT",
    "CLOCK_RUNNING",
    "CRITICAL_KINDS",
    "DOSSIERS",
    "NOTIFY_KINDS",
    "OPEN_STATES",
    "RATINGS",
    "SERVICE_SYNC_KIND",
    "SUPPLEMENT_ITEM_LIMIT",
    "TRANSITIONS",
    "add_request_attachment",
    "allowed_actions",
    "notify_due_dossiers",
    "offer_service",
    "rate_request",
    "record_personal_data_read",
    "submit_assisted_request",
    "submit_request",
    "transition_request",
    "withdraw_service",
]
