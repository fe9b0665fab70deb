"""The spec's names: one operationId per operation, its tags with their descriptions, and
its servers.

A table rather than `operation_id=` on each view: the two kinds of case share their views
(`casework.api`), and one place lists every name app developers call, with the name it
replaced (docs/app-developers.md). An operation missing here fails the spec's generation.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

SERVERS = [{"url": "http://127.0.0.1:8000", "description": "Local server (`make run`)"}]

# (method, path under /api/v1) → (operationId, the id generated before it had a name).
OPERATIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("get", "/"): ("getApiIndex", ""),
    ("get", "/administrative-units/"): ("listAdministrativeUnits", "administrative_units_list"),
    ("get", "/agencies/"): ("listAgencies", "agencies_list"),
    ("get", "/agencies/{agency_id}/"): ("getAgency", "agencies_retrieve"),
    ("post", "/announcements/"): ("createAnnouncement", "announcements_create"),
    ("post", "/auth/claim/"): ("startAccountClaim", "auth_claim_create"),
    ("post", "/auth/claim/confirm/"): ("confirmAccountClaim", "auth_claim_confirm_create"),
    ("post", "/auth/logout/"): ("logOut", "auth_logout_create"),
    ("post", "/auth/logout-all/"): ("logOutEverywhere", "auth_logout_all_create"),
    ("post", "/auth/otp/"): ("sendOneTimeCode", "auth_otp_create"),
    ("post", "/auth/password/change/"): ("changePassword", "auth_password_change_create"),
    ("post", "/auth/password/reset/"): ("resetPassword", "auth_password_reset_create"),
    ("post", "/auth/phone/change/"): ("changePhone", "auth_phone_change_create"),
    ("post", "/auth/phone/verify/"): ("verifyPhone", "auth_phone_verify_create"),
    ("post", "/auth/register/"): ("registerCitizen", "auth_register_create"),
    ("get", "/auth/sessions/"): ("listSessions", "auth_sessions_list"),
    ("delete", "/auth/sessions/{id}/"): ("endSession", "auth_sessions_destroy"),
    ("post", "/auth/token/"): ("obtainToken", "auth_token_create"),
    ("post", "/auth/token/refresh/"): ("refreshToken", "auth_token_refresh_create"),
    ("post", "/devices/"): ("registerDevice", "devices_create"),
    ("delete", "/devices/{token}/"): ("unregisterDevice", "devices_destroy"),
    ("get", "/ethnic-groups/"): ("listEthnicGroups", ""),
    ("get", "/feedback/"): ("listFeedback", "feedback_list"),
    ("post", "/feedback/"): ("createFeedback", "feedback_create"),
    ("get", "/feedback-categories/"): ("listFeedbackCategories", "feedback_categories_list"),
    ("get", "/feedback/{id}/"): ("getFeedback", "feedback_retrieve"),
    ("post", "/feedback/{id}/attachments/"): (
        "attachFileToFeedback",
        "feedback_attachments_create",
    ),
    ("post", "/feedback/{id}/attachments/from-upload/"): ("attachUploadToFeedback", ""),
    ("post", "/feedback/{id}/rating/"): ("rateFeedback", "feedback_rating_create"),
    ("post", "/feedback/{id}/support/"): ("supportFeedback", "feedback_support_create"),
    ("delete", "/feedback/{id}/support/"): ("withdrawFeedbackSupport", "feedback_support_destroy"),
    ("post", "/feedback/{id}/transitions/"): ("applyFeedbackAction", "feedback_transition"),
    ("get", "/feedback/public/"): ("listPublicFeedback", "feedback_public_list"),
    ("get", "/files/{token}/"): ("downloadFile", "files_retrieve"),
    ("get", "/languages/"): ("listLanguages", "languages_list"),
    ("get", "/me/"): ("getMe", "me_retrieve"),
    ("patch", "/me/"): ("updateMe", "me_partial_update"),
    ("delete", "/me/"): ("deleteMe", ""),
    ("get", "/me/consents/"): ("listConsents", ""),
    ("post", "/me/consents/"): ("recordConsent", ""),
    ("get", "/me/export/"): ("exportMyData", ""),
    ("get", "/notifications/"): ("listNotifications", "notifications_list"),
    ("post", "/notifications/{notification_id}/read/"): (
        "markNotificationRead",
        "notifications_read_create",
    ),
    ("post", "/notifications/read-all/"): (
        "markAllNotificationsRead",
        "notifications_read_all_create",
    ),
    ("get", "/notifications/unread-count/"): (
        "countUnreadNotifications",
        "notifications_unread_count_retrieve",
    ),
    ("get", "/requests/"): ("listServiceRequests", "requests_list"),
    ("post", "/requests/"): ("createServiceRequest", "requests_create"),
    ("get", "/requests/{id}/"): ("getServiceRequest", "requests_retrieve"),
    ("post", "/requests/{id}/attachments/"): (
        "attachFileToServiceRequest",
        "requests_attachments_create",
    ),
    ("post", "/requests/{id}/attachments/from-upload/"): ("attachUploadToServiceRequest", ""),
    ("post", "/requests/{id}/rating/"): ("rateServiceRequest", "requests_rating_create"),
    ("get", "/requests/{id}/receipt/"): ("getServiceRequestReceipt", "requests_receipt"),
    ("post", "/requests/{id}/transitions/"): ("applyServiceRequestAction", "requests_transition"),
    ("get", "/requests/lookup/"): ("lookUpServiceRequest", "requests_lookup"),
    ("get", "/service-categories/"): ("listServiceCategories", "service_categories_list"),
    ("get", "/services/"): ("listServices", "services_list"),
    ("get", "/services/{code}/"): ("getService", "services_retrieve"),
    ("post", "/sms/inbound/"): ("receiveInboundSms", "sms_inbound"),
    ("get", "/stats/agencies/{id}/"): ("getAgencyStats", "stats_agency_retrieve"),
    ("post", "/uploads/"): ("createUpload", "uploads_create"),
    ("options", "/uploads/"): ("getUploadCapabilities", "uploads_options"),
    ("patch", "/uploads/{id}/"): ("appendToUpload", "uploads_patch"),
    ("delete", "/uploads/{id}/"): ("deleteUpload", "uploads_destroy"),
    ("head", "/uploads/{id}/"): ("getUploadOffset", "uploads_head"),
    ("get", "/webhooks/"): ("listWebhookSubscriptions", ""),
    ("post", "/webhooks/"): ("createWebhookSubscription", ""),
    ("delete", "/webhooks/{id}/"): ("deleteWebhookSubscription", ""),
    ("post", "/webhooks/{id}/rotate-secret/"): ("rotateWebhookSecret", ""),
}

TAGS = [
    {"name": "meta", "description": "Where to start: the index of the API."},
    {
        "name": "auth",
        "description": "Registration with a one-time code, tokens (a short-lived access "
        "token and a rotating refresh token per session), recovery and sessions.",
    },
    {
        "name": "me",
        "description": "The signed-in person: profile, consents, a copy of their data, "
        "closing the account.",
    },
    {
        "name": "reference data",
        "description": "Provinces and communes, agencies, languages and ethnic groups: "
        "public, cacheable, with ETags.",
    },
    {
        "name": "catalog",
        "description": "Public services and their categories, in the requested language.",
    },
    {
        "name": "requests",
        "description": "Dossiers (service requests): submit, follow, answer supplements, "
        "attach files, rate; staff actions through `transitions/`.",
    },
    {
        "name": "feedback",
        "description": "Feedback and petitions: send, support, follow, rate; staff actions "
        "through `transitions/`; the public feed.",
    },
    {
        "name": "uploads",
        "description": "Resumable uploads (tus 1.0): send a large file in pieces over a "
        "flaky link, then attach it with `attachments/from-upload/`.",
    },
    {"name": "files", "description": "Downloads through short-lived signed links."},
    {
        "name": "devices",
        "description": "The phone's push token (Firebase Cloud Messaging).",
    },
    {
        "name": "notifications",
        "description": "The in-app inbox (every push is also kept here) and announcements.",
    },
    {
        "name": "stats",
        "description": "Figures of an agency's work; public ones suppress small cells.",
    },
    {
        "name": "sms",
        "description": "The SMS gateway's hook: commands from basic phones (TT, PA, HD).",
    },
    {
        "name": "webhooks",
        "description": "Agency systems subscribe to case events, delivered as signed "
        "webhooks (Standard Webhooks).",
    },
    {
        "name": "open311",
        "description": "Open311 GeoReport v2 over feedback, for civic reporting apps: "
        "services, filing and reading requests with a per-application `api_key`, JSON or "
        "XML, GeoReport's own error list.",
    },
]


def name_operations(
    result: dict[str, Any], generator: Any, request: Any, public: Any
) -> dict[str, Any]:
    """Give every operation its name from `OPERATIONS`; the spec its title, tags and
    servers."""
    missing = []
    for path, item in result.get("paths", {}).items():
        short = path.removeprefix("/api/v1")
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            named = OPERATIONS.get((method, short))
            if named is None:
                missing.append(f"{method.upper()} {path}")
                continue
            operation["operationId"] = named[0]
            # No scheme named: say so (a public operation), rather than leave it unsaid.
            operation.setdefault("security", [])
    if missing:
        raise ValueError(f"operations without a name in config/openapi.py: {missing}")
    _type_nullable_objects(result)
    result["tags"] = TAGS
    result["servers"] = SERVERS
    return result


EXAMPLES = Path(__file__).resolve().parent.parent / "openapi" / "examples.yaml"

# YAML 1.2 readers (JavaScript tools, generators) read an unquoted `08` or `0912345678` as a
# number; PyYAML (YAML 1.1) writes such strings unquoted. Quote every string of digits.
for _dumper in (yaml.SafeDumper, getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    _dumper.add_implicit_resolver(
        "tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789")
    )


def add_examples(
    result: dict[str, Any], generator: Any, request: Any, public: Any
) -> dict[str, Any]:
    """A request and a success example on each operation, from `openapi/examples.yaml`:
    real requests and answers recorded from the test suite (`make examples`), checked
    against their schemas by tests/test_openapi_examples.py."""
    examples = yaml.safe_load(EXAMPLES.read_text(encoding="utf-8")) if EXAMPLES.exists() else {}
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            entry = examples.get(operation.get("operationId"))
            if not entry:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None and "request" in entry and "examples" not in body:
                body["example"] = entry["request"]
            answer = operation["responses"].get(str(entry["status"]), {})
            media = answer.get("content", {}).get("application/json")
            if media is not None and "examples" not in media and "response" in entry:
                media["example"] = entry["response"]
    return result


def _type_nullable_objects(node: Any) -> None:
    """A nullable nested object (`allOf: [$ref]` with `nullable`) becomes `anyOf` of the
    object and an explicit null: OpenAPI 3.0 ignores `nullable` beside a bare `allOf`, and
    validators then refuse the `null` every such field may hold."""
    if isinstance(node, dict):
        if node.get("nullable") and "type" not in node and "allOf" in node:
            parts = node.pop("allOf")
            node.pop("nullable")
            node["anyOf"] = [*parts, {"type": "object", "nullable": True, "enum": [None]}]
        for child in node.values():
            _type_nullable_objects(child)
    elif isinstance(node, list):
        for child in node:
            _type_nullable_objects(child)
