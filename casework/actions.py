"""Writes every kind of case shares: opening, forwarding, commenting, rating, attaching.

Each takes the kind's `Workflow` (and its rules for ratings and attachments) and checks in
DESIGN's order: 400 → 403 → 409, under the case's row lock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from agencies.models import Agency
from agencies.selectors import nearby_agencies, staff_covering
from casework.access import OWNER, STAFF, may_act
from casework.engine import Action, Hook, Step, Workflow
from common import audit, files
from common.api.sync import record_scope_loss
from common.exceptions import Conflict, InvalidInput, InvalidTransition, NotAllowed
from common.tracking import new_tracking_code

# -- opening ---------------------------------------------------------------------------


def existing_case(workflow: Workflow, case_id: UUID | None, owner: Any) -> Any:
    """The case a phone created before under the client `id` it sends again, or None.
    Somebody else's id → 409 `id_taken`."""
    if case_id is None:
        return None
    existing = workflow.model.objects.filter(pk=case_id).first()
    if existing is not None and existing.owner_id != owner.pk:
        raise Conflict(_("This id is already in use."), code="id_taken")
    return existing


def open_case(
    workflow: Workflow,
    *,
    owner: Any,
    case_id: UUID | None,
    fields: Callable[[], dict[str, Any]],
    notify_kind: str,
    actor: Any = None,
    note: str = "",
) -> tuple[Any, bool]:
    """Open a case for `owner`: returns (case, created).

    A client `id` the owner sent before returns that case (`created` False) before anything
    else is checked, so an offline retry never fails on what changed since. Otherwise
    `fields()` checks the body (raising the domain errors) and gives the kind's own fields;
    the case is created with a fresh tracking code, its `submit` event and the owner's
    notification, in one transaction. A concurrent create under the same client id returns
    the one that won. `actor` is who filed it (default the owner)."""
    existing = existing_case(workflow, case_id, owner)
    if existing is not None:
        return existing, False
    own_fields = fields()
    for _attempt in range(5):
        try:
            with transaction.atomic():
                case = workflow.model.objects.create(
                    **({"id": case_id} if case_id else {}),
                    tracking_code=new_tracking_code(workflow.model.TRACKING_PREFIX),
                    **{workflow.model.OWNER_FIELD: owner},
                    **own_fields,
                )
                event = workflow.record(case, actor or owner, "submit", "", note)
                workflow.notify(owner, case, notify_kind, "")
                # The API answers the create from it (casework.api.views.created_response).
                case.opening_event = event
                return case, True
        except IntegrityError:
            existing = existing_case(workflow, case_id, owner)
            if existing is not None:
                return existing, False
            continue  # a tracking-code collision: draw another code
    raise Conflict(_("Could not issue a tracking code, please retry."), code="retry")


def routed_to(agency: Agency | None, message: Any, code: str) -> Agency:
    """The agency a new case goes to, or a 400 on `administrative_unit` (with `message`
    and `code`) when no agency serves the commune for it."""
    if agency is None:
        raise InvalidInput({"administrative_unit": [message]}, code=code)
    return agency


# -- actions every table has ------------------------------------------------------------


def forward_targets(case: Any) -> QuerySet[Agency]:
    """The agencies `forward` accepts for `case` (and the admin offers): active, not its
    own, in its province's tree or above its agency (below a ministry: its whole subtree)."""
    return nearby_agencies(case.agency)


def checked_forward_target(case: Any, agency_id: UUID | None) -> Agency:
    """One of `forward_targets(case)`, or a 400 on `agency` saying why not."""
    target = (
        Agency.objects.filter(pk=agency_id, is_active=True).first()
        if agency_id is not None
        else None
    )
    if target is None or target.pk == case.agency_id:
        raise InvalidInput(
            {"agency": [_("Forward to another active agency.")]}, code="invalid_agency"
        )
    if not forward_targets(case).filter(pk=target.pk).exists():
        raise InvalidInput(
            {"agency": [_("Forward within the province or to an agency above.")]},
            code="invalid_agency",
        )
    return target


def forward_action(
    sources: tuple[str, ...],
    *,
    sync_kind: str,
    keep: Callable[[Any], set[Any]],
    notify: str | None = None,
    also: Hook | None = None,
) -> Action:
    """`forward {agency, reason}`: the case moves to another agency; staff phones that stop
    seeing it hear of it in their next sync, except the users `keep(case)` names (the owner,
    who filed it). `also` runs further writes (a dossier's assignee is cleared)."""

    def check(step: Step) -> None:
        step.refs["agency"] = checked_forward_target(step.case, step.data.get("agency"))

    def apply(step: Step) -> None:
        case, target = step.case, step.refs["agency"]
        step.details = {"from_agency": str(case.agency_id), "to_agency": str(target.pk)}
        record_scope_loss(
            sync_kind,
            case.pk,
            staff_covering(case.agency),
            keep=staff_covering(target) | keep(case),
        )
        case.agency = target
        if also is not None:
            also(step)

    return Action(sources, needs=("agency", "reason"), check=check, apply=apply, notify=notify)


def comment_action(sources: tuple[str, ...]) -> Action:
    """`comment {note, internal}`: a line on the timeline; internal notes are for staff."""
    return Action(sources, needs=("note",), may_be_internal=True)


# -- ratings ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RatingRules:
    """How the owner rates a kind of case: once, in `states`."""

    model: Any
    case_field: str
    states: tuple[str, ...]
    too_early: Any  # the 409 `invalid_transition` message
    done_already: Any  # the 409 `already_rated` message
    after: Callable[[Any, Any, Any], None] | None = None  # (user, case, rating)


def rate_case(workflow: Workflow, user: Any, case: Any, *, score: int, comment: str) -> Any:
    """Record the owner's rating (1–5), once. Someone else → 403; not in a ratable state →
    409 `invalid_transition`; rated already → 409 `already_rated`. The case's lock makes two
    concurrent ratings wait for each other."""
    rules: RatingRules = workflow.ratings
    with transaction.atomic():
        case = workflow.lock(case)
        if not may_act(user, case, OWNER):
            raise NotAllowed()
        if case.status not in rules.states:
            raise InvalidTransition(rules.too_early)
        if rules.model.objects.filter(**{rules.case_field: case}).exists():
            raise Conflict(rules.done_already, code="already_rated")
        rating = rules.model.objects.create(
            **{rules.case_field: case}, author=user, score=score, comment=comment
        )
        audit.record(user, "rate", case, agency_id=case.agency_id, details={"score": score})
        if rules.after is not None:
            rules.after(user, case, rating)
    return rating


# -- attachments --------------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentKind:
    """Who adds files of one kind, what they may contain (`common.files` kinds), in which
    states of the case, and how many: `limit` counts this kind with `counted_with`."""

    file_kinds: frozenset[str]
    states: tuple[str, ...]
    limit: int
    counted_with: tuple[str, ...] = ()
    actor: str = OWNER


@dataclass(frozen=True)
class AttachmentRules:
    model: Any
    case_field: str
    kinds: dict[str, AttachmentKind]
    wrong_state: Any  # may name %(kind)s and %(status)s
    too_many: Any  # may name %(limit)s


def attach_file(workflow: Workflow, user: Any, case: Any, *, kind: str, upload: Any) -> Any:
    """Attach an uploaded file to a case as `user`.

    The file is inspected by content first (400/413); then, under the case's lock, the
    right (403), the state (409 `invalid_transition`) and the cap (409
    `too_many_attachments`). Files are written only once every check has passed, and
    removed again if the row is not committed.
    """
    rules: AttachmentRules = workflow.attachments
    rule = rules.kinds.get(kind)
    if rule is None:
        raise InvalidInput({"kind": [_("Unknown attachment kind.")]}, code="invalid_choice")
    inspected = files.inspect_upload(upload, set(rule.file_kinds))
    attachment = None
    try:
        with transaction.atomic():
            case = workflow.lock(case)
            if not may_act(user, case, rule.actor):
                raise NotAllowed()
            if case.status not in rule.states:
                raise InvalidTransition(rules.wrong_state % {"kind": kind, "status": case.status})
            counted = (kind, *rule.counted_with)
            held = rules.model.objects.filter(**{rules.case_field: case}, kind__in=counted)
            if held.count() >= rule.limit:
                raise Conflict(rules.too_many % {"limit": rule.limit}, code="too_many_attachments")
            attachment = files.attach_inspected(
                rules.model,
                inspected,
                owner=case,
                owner_field=rules.case_field,
                kind=kind,
                user=user,
            )
    except BaseException:
        files.delete_stored(*files.stored_names(attachment))
        raise
    return attachment


__all__ = [
    "OWNER",
    "STAFF",
    "AttachmentKind",
    "AttachmentRules",
    "RatingRules",
    "attach_file",
    "checked_forward_target",
    "comment_action",
    "existing_case",
    "forward_action",
    "forward_targets",
    "open_case",
    "rate_case",
]
