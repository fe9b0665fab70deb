"""Notification kinds are registered by the apps that send them; `notifications` itself knows
no domain word, and the owners' migrations seed the texts without touching edited rows."""

import importlib
from pathlib import Path

import pytest
from django.apps import apps

from feedback.actions import FEEDBACK
from notifications import messages
from notifications.models import NotificationTemplate
from services.actions import DOSSIERS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(messages, "PLACEHOLDERS", dict(messages.PLACEHOLDERS))
    monkeypatch.setattr(messages, "STATUS_LABELS", dict(messages.STATUS_LABELS))
    return messages


def test_a_registered_kind_is_rendered_with_its_placeholders_and_status_labels(registry, db):
    registry.register_kinds(
        {"repair.fixed": {"tracking_code": "Mã", "status": "Trạng thái"}},
        status_labels={"repair": {"vi": {"fixed": "Đã sửa"}, "en": {"fixed": "Fixed"}}},
    )
    NotificationTemplate.objects.create(
        kind="repair.fixed", language="en", title="{tracking_code}: {status_label}", body="."
    )
    assert registry.placeholders("repair.fixed") == {"tracking_code", "status"}
    title, _body = registry.render(
        "repair.fixed", "en", {"tracking_code": "SC-1", "status": "fixed"}
    )
    assert title == "SC-1: Fixed"


def test_registering_a_kind_again_with_other_placeholders_is_refused(registry):
    registry.register_kinds({"repair.fixed": {"tracking_code": "Mã"}})
    registry.register_kinds({"repair.fixed": {"tracking_code": "Mã"}})  # the same: harmless
    with pytest.raises(ValueError, match="registered twice"):
        registry.register_kinds({"repair.fixed": {"reason": "Lý do"}})


def test_an_unregistered_kind_is_a_programming_error(registry):
    with pytest.raises(messages.UnknownNotificationKind):
        registry.render("repair.fixed", "vi", {})


def test_each_workflow_registers_every_kind_it_notifies():
    for workflow in (DOSSIERS, FEEDBACK):
        notified = {action.notify for action in workflow.actions.values() if action.notify}
        assert notified | set(workflow.other_kinds) <= set(messages.PLACEHOLDERS)
    assert set(messages.PLACEHOLDERS) == {
        "announcement",
        *DOSSIERS.notification_kinds(),
        *FEEDBACK.notification_kinds(),
        # Dossier kinds that say less than the workflow's facts.
        "service_request.submitted",
        "service_request.received",
        "service_request.status_changed",
        # The webhooks app's notice to an agency's admins that a subscription was disabled.
        "webhook.disabled",
    }


def test_notifications_code_names_no_kind_of_case():
    words = ("service_request", "feedback", "dossier", "ServiceRequest")
    for path in (ROOT / "notifications").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        text = path.read_text()
        assert not [w for w in words if w in text], path


@pytest.mark.parametrize(
    ("module", "kind"),
    [
        ("services.migrations.0005_notification_templates", "service_request.result_ready"),
        ("feedback.migrations.0003_notification_templates", "feedback.answered"),
    ],
)
def test_the_owners_seed_creates_missing_rows_and_keeps_edited_ones(db, module, kind):
    seed = importlib.import_module(module).seed
    edited = NotificationTemplate.objects.get(kind=kind, language="vi")
    edited.title = "Edited by staff"
    edited.save()
    NotificationTemplate.objects.filter(kind=kind, language="en").delete()

    seed(apps, None)

    assert NotificationTemplate.objects.get(kind=kind, language="vi").title == "Edited by staff"
    restored = NotificationTemplate.objects.get(kind=kind, language="en")
    assert restored.title and restored.reviewed
