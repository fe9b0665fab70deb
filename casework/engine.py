"""The case engine: a declarative state table per kind of case, and one function that
applies an action of it.

A kind of case (`Workflow`) is its model, its event model, a table of `Action`s and a way to
tell the owner. `Workflow.apply` is the only place where a case changes state; in one
transaction it

1. locks the case row (the caller reached the case through a scoped selector: 404 before);
2. checks the body: the fields the action needs, then what they refer to (`check` hook) → 400;
3. checks the actor's right (`casework.access.may_act`) → 403;
4. checks the state: the action's sources and its `guard` → 409 `invalid_transition`;
5. moves the state and runs the action's own writes (`apply` hook);
6. writes the event row and its audit entry, tells the owner (`notify`), and runs what
   follows (`after` hook: supporters, duplicates). Staff phones that lose the case hear of it
   through the sync removal a forward records.

Nothing here knows a dossier from a feedback item; `services.actions.DOSSIERS` and
`feedback.actions.FEEDBACK` hold their tables and hooks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from casework import access
from casework.access import OWNER, STAFF
from casework.models import CaseEvent
from common import audit
from common.exceptions import InvalidInput, InvalidTransition, NotAllowed
from notifications.outbox import notify, queue_sms_fallback
from webhooks.outbox import enqueue_case_event

__all__ = ["OWNER", "STAFF", "Action", "Step", "Workflow"]

# Body fields that all land in the event's note (and the notification's reason).
NOTE_FIELDS = ("reason", "result", "answer", "note")


@dataclass
class Step:
    """One action being applied: what hooks read and write."""

    user: Any
    case: Any
    action: str
    data: dict[str, Any]
    now: datetime
    previous: str = ""
    # Whatever `check` resolved from the body (the target agency, the assignee, …).
    refs: dict[str, Any] = field(default_factory=dict)
    # What the event records beyond its note.
    details: dict[str, Any] = field(default_factory=dict)
    # What the owner's notification gives as the reason; the note unless a hook says else.
    reason: str | None = None

    @property
    def note(self) -> str:
        return str(self.data.get("note") or "")


Hook = Callable[[Step], None]


@dataclass(frozen=True)
class Action:
    """One row of a state table.

    `sources`: the states it applies in; `target`: the state it leads to (None: unchanged,
    or set by `apply`); `actor`: `STAFF` (in scope of the handling agency) or `OWNER`;
    `needs`: body fields it requires (`reason`, `result`, `answer` and `note` all arrive as
    the note); `takes`: optional body fields it reads beyond `note`; `guard`: a further
    condition on the case (409 when false); `notify`: the notification kind the owner hears
    under.
    """

    sources: tuple[str, ...]
    target: str | None = None
    actor: str = STAFF
    needs: tuple[str, ...] = ()
    takes: tuple[str, ...] = ()
    check: Hook | None = None
    guard: Callable[[Any, datetime], bool] | None = None
    apply: Hook | None = None
    notify: str | None = None
    after: Hook | None = None
    # Whether `internal: true` keeps the event from the owner (comments only).
    may_be_internal: bool = False


class Workflow:
    """A kind of case: its model, its timeline, its state table and how its owner is told."""

    def __init__(
        self,
        *,
        model: Any,
        event_model: Any,
        event_case_field: str,
        actions: dict[str, Action],
        push_type: str,
        message_context: Callable[[Any, str], dict[str, Any]],
        message_facts: dict[str, str],
        invalid_transition_message: Any,
        other_kinds: Iterable[str] = (),
        critical_kinds: frozenset[str] = frozenset(),
        ratings: Any = None,
        attachments: Any = None,
        lock_related: Iterable[str] = ("agency",),
        owner_sees: Callable[[Any, Any], bool] | None = None,
    ) -> None:
        self.model = model
        self.event_model = event_model
        self.event_case_field = event_case_field
        self.actions = actions
        self.push_type = push_type
        self.message_context = message_context
        # What `message_context` gives a notification template, described for the staff
        # who write them; and the kinds notified outside the table (its submission,
        # reminders…), which say the same.
        self.message_facts = message_facts
        self.other_kinds = tuple(other_kinds)
        self.critical_kinds = critical_kinds
        self.invalid_transition_message = invalid_transition_message
        self.lock_related = (*lock_related, model.OWNER_FIELD)
        # Whether the owner's account sees a case (None: always), as the kind's selector
        # decides; an owner who does not is told only by SMS, to the phone.
        self.owner_sees = owner_sees
        # `casework.actions.RatingRules` and `AttachmentRules`: how the owner rates a case
        # and who attaches which files.
        self.ratings = ratings
        self.attachments = attachments

    # -- reading the table -------------------------------------------------------------

    def notification_kinds(self) -> dict[str, dict[str, str]]:
        """Every kind the table and `other_kinds` notify, with what their templates may say
        (for `notifications.messages.register_kinds`)."""
        notified = [action.notify for action in self.actions.values() if action.notify]
        return {kind: dict(self.message_facts) for kind in (*notified, *self.other_kinds)}

    def required_by_action(self) -> dict[str, tuple[str, ...]]:
        """The body fields each action needs, for the API's input check."""
        return {name: action.needs for name, action in self.actions.items() if action.needs}

    def accepted_by_action(self) -> dict[str, frozenset[str]]:
        """The body fields each action reads: `action`, `note`, what it needs and takes, and
        `internal` where the note may be internal. The API ignores the others."""
        return {
            name: frozenset(
                {"action", "note", *action.needs, *action.takes}
                | ({"internal"} if action.may_be_internal else set())
            )
            for name, action in self.actions.items()
        }

    def state_allows(self, case: Any, name: str, now: datetime | None = None) -> bool:
        action = self.actions[name]
        if case.status not in action.sources:
            return False
        return action.guard is None or action.guard(case, now or timezone.now())

    def allowed_actions(self, user: Any, case: Any) -> list[str]:
        """The actions `user` may take on `case` now, in the table's order."""
        now = timezone.now()
        return [
            name
            for name, action in self.actions.items()
            if self.state_allows(case, name, now) and access.may_act(user, case, action.actor)
        ]

    # -- writing -----------------------------------------------------------------------

    def notify(self, user: Any, case: Any, kind: str, reason: str = "") -> None:
        """Tell `user` about `case` under `kind` (inbox, then push; `notifications.outbox`),
        inside the caller's transaction. Kinds in `critical_kinds` go by SMS to an owner
        without an active device.

        An owner whose account does not see the case (`owner_sees`) gets nothing in the
        app, only the SMS of a critical kind: it goes to the phone, whoever holds the
        account."""
        if (
            self.owner_sees is not None
            and user.pk == case.owner_id
            and not self.owner_sees(case, user)
        ):
            if kind in self.critical_kinds:
                queue_sms_fallback(user, kind, self.message_context(case, reason))
            return
        notify(
            user,
            kind,
            self.message_context(case, reason),
            data={
                "type": self.push_type,
                "id": str(case.pk),
                "status": case.status,
                "tracking_code": case.tracking_code,
            },
            collapse_key=f"{self.push_type}-{case.pk}",
            critical=kind in self.critical_kinds and user.pk == case.owner_id,
        )

    def lock(self, case: Any) -> Any:
        """The case re-read under a row lock, with what actions read joined."""
        return (
            self.model.objects.select_for_update(of=("self",))
            .select_related(*self.lock_related)
            .get(pk=case.pk)
        )

    def record(
        self,
        case: Any,
        actor: Any,
        action: str,
        from_status: str,
        note: str = "",
        internal: bool = False,
        details: dict[str, Any] | None = None,
    ) -> CaseEvent:
        """Write the event row and its audit entry: every change of a case passes here, so
        neither can be forgotten by a new action."""
        audit.record_transition(actor, action, case, from_status)
        # Agency systems hear of a new case or a change of state (webhooks' outbox).
        enqueue_case_event(self.push_type, case, from_status)
        return self.event_model.objects.create(  # type: ignore[no-any-return]
            **{self.event_case_field: case},
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=case.status,
            note=note,
            internal=internal,
            details=details or {},
        )

    def apply(self, user: Any, case: Any, name: str, **data: Any) -> Any:
        """Apply action `name` of the table to `case` as `user`, in one transaction.

        `data` is the body as the caller validated its shape (`note`, `internal` and the
        action's own fields). Raises `InvalidInput` (400), `NotAllowed` (403) or
        `InvalidTransition` (409), in that order, and changes nothing then.
        """
        action = self.actions.get(name)
        if action is None:
            raise InvalidInput({"action": [_("Unknown action.")]}, code="invalid_choice")
        with transaction.atomic():
            case = self.lock(case)
            step = Step(user=user, case=case, action=name, data=data, now=timezone.now())
            _check_needs(action, data)
            if action.check is not None:
                action.check(step)
            if not access.may_act(user, case, action.actor):
                raise NotAllowed()
            if not self.state_allows(case, name, step.now):
                raise InvalidTransition(
                    self.invalid_transition_message % {"action": name, "status": case.status}
                )
            step.previous = case.status
            if action.target is not None:
                case.status = action.target
            if action.apply is not None:
                action.apply(step)
            case.save()
            self.record(
                case,
                user,
                name,
                step.previous,
                step.note,
                internal=bool(data.get("internal")) and action.may_be_internal,
                details=step.details,
            )
            if action.notify is not None:
                reason = step.note if step.reason is None else step.reason
                self.notify(case.owner, case, action.notify, reason)
            if action.after is not None:
                action.after(step)
        return case


def _check_needs(action: Action, data: dict[str, Any]) -> None:
    # As the API's input check counts it: absent, null or a blank string is missing.
    missing = {
        name: [_("This field is required.")]
        for name in action.needs
        if (value := data.get("note" if name in NOTE_FIELDS else name)) is None
        or (isinstance(value, str) and not value.strip())
    }
    if missing:
        raise InvalidInput(missing, code="required")
