"""What translators work on: every translatable text, per language, with a review state.

A *translatable* is one kind of thing with texts to translate (service categories, services,
feedback categories, notification templates). Each row of it is an *entry*: the Vietnamese
source texts of that row (a service's name, description and the names of its required
documents) and their translations into one language. An entry has one state per language:

- `reviewed`: a speaker checked the translation;
- `unreviewed`: there is a translation nobody has checked yet (the default);
- `sample`: demo text in a minority language, shown like any translation but known to be
  unchecked; it is never counted in `GET languages/` completeness.

For models with JSON `{lang: text}` fields, the state lives on the row itself, in a
`translation_status` JSON field `{lang: state}`: no extra table, and a new language is a new
key. Apps register what they have from `AppConfig.ready()` (`register()`), so `common`
imports no app. Every write here is an action: it locks the row, saves, and writes an audit
entry in the same transaction.
"""

from __future__ import annotations

import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from common.audit import record
from common.i18n import DEFAULT_LANGUAGE, has_text, known_languages

# The right to use the translator view (besides superusers). It sits on the catalog's main
# model, the bulk of the work, as one more row of Django's permission table.
TRANSLATE_PERMISSION = "services.can_translate"

# Generous for a description, small enough to refuse a pasted book.
TEXT_MAX_LENGTH = 5000


class State(models.TextChoices):
    REVIEWED = "reviewed", _("Reviewed")
    UNREVIEWED = "unreviewed", _("Not reviewed")
    SAMPLE = "sample", _("Sample text, not reviewed")


# Shown for an entry that still lacks a translation of one of its texts; never stored.
UNTRANSLATED = "untranslated"
STATE_LABELS: dict[str, Any] = {UNTRANSLATED: _("Not translated"), **dict(State.choices)}


class Show(models.TextChoices):
    """Which entries the translator view lists."""

    UNTRANSLATED = "untranslated", _("Not yet translated")
    UNREVIEWED = "unreviewed", _("Translated, not reviewed")
    ALL = "all", _("All")


TRANSLATION_STATUS_HELP = _(
    'Review state per language, e.g. {"tyz": "sample"}: reviewed, unreviewed or sample. '
    "Set in the translator view."
)


def validate_translation_status(value: Any) -> None:
    """`{lang: state}` with languages of the Language table (not `vi`, the source) and
    states of `State`."""
    if not isinstance(value, dict):
        raise ValidationError(_("Expected an object {language: state}."), code="invalid_status")
    known = set(known_languages())
    for key, state in value.items():
        if key not in known or key == DEFAULT_LANGUAGE or state not in State.values:
            raise ValidationError(
                _("Unknown language or review state: %(key)s: %(state)s"),
                code="invalid_status",
                params={"key": repr(key), "state": repr(state)},
            )


def counted_translations(value: Any, status: Any) -> Any:
    """The translated field `value` without its sample texts, for completeness counts:
    sample text is shown to people but is no translation anyone checked."""
    if not isinstance(value, dict) or not isinstance(status, dict):
        return value
    return {code: text for code, text in value.items() if status.get(code) != State.SAMPLE}


def clean_text(text: Any) -> str:
    """A submitted translation: NFC (so that Vietnamese-script languages compare and count
    as typed), surrounding blanks removed, line ends unified."""
    text = "" if text is None else str(text)
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n")).strip()


# -- entries ---------------------------------------------------------------------------------


@dataclass
class Text:
    """One source text and its translation in the chosen language."""

    key: str
    label: Any
    source: str
    target: str
    multiline: bool = False
    max_length: int = TEXT_MAX_LENGTH
    hint: str = ""
    errors: list[str] = field(default_factory=list)


@dataclass
class Entry:
    """One row of a translatable, seen in one target language."""

    type: str
    key: str
    title: str
    texts: list[Text]
    # The stored state; None when nothing is translated yet.
    state: str | None
    admin_url: str = ""
    type_label: Any = ""
    # Why a save of this entry was refused, as a whole (texts carry their own).
    errors: list[str] = field(default_factory=list)

    @property
    def translated(self) -> bool:
        return all(text.target.strip() for text in self.texts)

    @property
    def started(self) -> bool:
        return any(text.target.strip() for text in self.texts)

    @property
    def status(self) -> str:
        """What the translator view shows: untranslated until every text has a translation,
        then the stored state."""
        if not self.translated:
            return UNTRANSLATED
        return self.state or State.UNREVIEWED

    @property
    def status_label(self) -> Any:
        return STATE_LABELS[self.status]

    @property
    def badges(self) -> list[tuple[str, Any]]:
        """(state, label) to show: the status, and the sample mark of a partly translated
        entry, so that nobody takes its texts for checked ones."""
        shown = [(self.status, self.status_label)]
        if self.state == State.SAMPLE and self.status != State.SAMPLE:
            shown.append((State.SAMPLE.value, STATE_LABELS[State.SAMPLE]))
        return shown

    @property
    def reviewed(self) -> bool:
        return self.state == State.REVIEWED

    @property
    def is_sample(self) -> bool:
        return self.state == State.SAMPLE

    def shown_by(self, show: str) -> bool:
        if show == Show.UNTRANSLATED:
            return not self.translated
        if show == Show.UNREVIEWED:
            return self.started and self.state != State.REVIEWED
        return True


class EntryNotFound(LookupError):
    """The entry named in a save does not exist (any more)."""


def next_state(current: str | None, *, changed: bool, reviewed: bool, started: bool) -> str | None:
    """The state after a translator saved an entry.

    Marking reviewed is explicit; a changed text is unreviewed until someone marks it; an
    unchanged sample stays a sample (saving the page does not make it a translation).
    """
    if not started:
        return None
    if reviewed:
        return State.REVIEWED
    if changed or current in (None, State.REVIEWED):
        return State.UNREVIEWED
    return current


def check_target_language(language: str) -> None:
    if language == DEFAULT_LANGUAGE:
        raise ValidationError(
            _("Vietnamese is the source language; edit it in the object's own admin page."),
            code="source_language",
        )
    if language not in known_languages():
        raise ValidationError(
            _("“%(code)s” is not a language of the Language table."),
            code="unknown_language",
            params={"code": language},
        )


def check_lengths(texts: Mapping[str, str], limits: Mapping[str, int]) -> None:
    errors: dict[str, list[ValidationError]] = {}
    for key, text in texts.items():
        limit = limits.get(key, TEXT_MAX_LENGTH)
        if len(text) > limit:
            errors[key] = [
                ValidationError(
                    _("At most %(limit)d characters (this text has %(length)d)."),
                    code="max_length",
                    params={"limit": limit, "length": len(text)},
                )
            ]
    if errors:
        raise ValidationError(errors)


class Translatable(ABC):
    """One kind of thing with texts to translate; registered with `register()`."""

    name: str
    label: Any

    @abstractmethod
    def entries(self, language: str) -> list[Entry]:
        """Every entry in `language`, in the admin's order (a query or two)."""

    @abstractmethod
    def save(
        self, actor: Any, key: str, language: str, texts: Mapping[str, str], *, reviewed: bool
    ) -> Entry:
        """Store the translator's `texts` ({text key: translation}) and review mark.

        Raises `EntryNotFound`, or `ValidationError` (a dict keyed by text key, or a plain
        one about the entry as a whole) with nothing saved.
        """


@dataclass(frozen=True)
class JsonText:
    name: str
    label: Any
    multiline: bool = False


class JsonTranslatable(Translatable):
    """A model whose texts are JSON `{lang: text}` fields, with a `translation_status` field.

    `documents_field` names a JSON list of `{"name": {lang: text}, ...}` items (a service's
    required documents); each item's name is a text of the entry.
    """

    def __init__(
        self,
        name: str,
        label: Any,
        model: type[models.Model],
        *,
        fields: Sequence[JsonText],
        documents_field: str | None = None,
        documents_label: Any = "",
        key_field: str = "code",
        row_filter: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.label = label
        self.model = model
        self.fields = tuple(fields)
        self.documents_field = documents_field
        self.documents_label = documents_label
        self.key_field = key_field
        self.row_filter = dict(row_filter or {})

    # -- reading ---------------------------------------------------------------------------

    def _values(self, obj: Any) -> list[tuple[str, Any, dict[str, Any], bool]]:
        """(key, label, the field's dict itself, multiline) of every text of `obj`."""
        values: list[tuple[str, Any, dict[str, Any], bool]] = []
        for json_field in self.fields:
            value = getattr(obj, json_field.name)
            if isinstance(value, dict):
                values.append((json_field.name, json_field.label, value, json_field.multiline))
        if self.documents_field:
            documents = getattr(obj, self.documents_field)
            for index, document in enumerate(documents if isinstance(documents, list) else []):
                name = document.get("name") if isinstance(document, dict) else None
                if isinstance(name, dict):
                    label = str(self.documents_label) % {"number": index + 1}
                    values.append((f"{self.documents_field}.{index}.name", label, name, False))
        return values

    def _sourced(self, obj: Any) -> list[tuple[str, Any, dict[str, Any], bool]]:
        # A text without its Vietnamese original has nothing to translate from.
        return [item for item in self._values(obj) if has_text(item[2], DEFAULT_LANGUAGE)]

    def _entry(self, obj: Any, language: str) -> Entry:
        texts = [
            Text(
                key=key,
                label=label,
                source=value[DEFAULT_LANGUAGE],
                target=_text_in(value, language),
                multiline=multiline,
            )
            for key, label, value, multiline in self._sourced(obj)
        ]
        status = obj.translation_status if isinstance(obj.translation_status, dict) else {}
        started = any(text.target.strip() for text in texts)
        stored = status.get(language)
        state = (stored if stored in State.values else State.UNREVIEWED) if started else None
        return Entry(
            type=self.name,
            key=str(getattr(obj, self.key_field)),
            title=texts[0].source if texts else str(obj),
            texts=texts,
            state=state,
            admin_url=_admin_change_url(obj),
            type_label=self.label,
        )

    def _rows(self) -> models.QuerySet[Any]:
        return self.model._default_manager.filter(**self.row_filter)

    def entries(self, language: str) -> list[Entry]:
        return [self._entry(obj, language) for obj in self._rows()]

    # -- writing ---------------------------------------------------------------------------

    def save(
        self, actor: Any, key: str, language: str, texts: Mapping[str, str], *, reviewed: bool
    ) -> Entry:
        check_target_language(language)
        cleaned = {text_key: clean_text(text) for text_key, text in texts.items()}
        check_lengths(cleaned, {})
        with transaction.atomic():
            obj = self._rows().select_for_update().filter(**{self.key_field: key}).first()
            if obj is None:
                raise EntryNotFound(key)
            values = {text_key: value for text_key, _label, value, _m in self._sourced(obj)}
            unknown = sorted(set(cleaned) - set(values))
            if unknown:
                raise ValidationError(
                    _("These texts are not part of the entry: %(keys)s. Reload the page."),
                    code="unknown_text",
                    params={"keys": ", ".join(unknown)},
                )
            changed = []
            for text_key, text in cleaned.items():
                value = values[text_key]  # the dict inside `obj`: edited in place
                if (value.get(language) or "") != text:
                    changed.append(text_key)
                    if text:
                        value[language] = text
                    else:
                        value.pop(language, None)
            complete = all(has_text(value, language) for value in values.values())
            started = any(has_text(value, language) for value in values.values())
            if reviewed and not complete:
                raise ValidationError(
                    _("Translate every text of the entry before marking it reviewed."),
                    code="incomplete",
                )
            status = dict(
                obj.translation_status if isinstance(obj.translation_status, dict) else {}
            )
            current = status.get(language) if started else None
            state = next_state(current, changed=bool(changed), reviewed=reviewed, started=started)
            if state is None:
                status.pop(language, None)
            else:
                status[language] = state
            obj.translation_status = status
            update_fields = [json_field.name for json_field in self.fields]
            if self.documents_field:
                update_fields.append(self.documents_field)
            update_fields.append("translation_status")
            if any(f.name == "updated_at" for f in obj._meta.concrete_fields):
                # Phones refresh what changed since their last sync: a new translation is a
                # change of the catalog they keep.
                update_fields.append("updated_at")
            obj.save(update_fields=update_fields)
            record(
                actor,
                "translation.saved",
                obj,
                details={"language": language, "state": state, "changed": changed},
            )
        return self._entry(obj, language)

    def restate_after_edit(self, previous: Any, obj: Any) -> list[str]:
        """Adjust `obj.translation_status` for an edit made in the object's own admin page.

        A changed Vietnamese source makes every reviewed translation unreviewed again (it was
        reviewed against the old text); a translation edited there loses its reviewed or
        sample mark; a language with no text left loses its state. Returns the languages
        whose review was reset by the source change.
        """
        before = (
            {key: value for key, _label, value, _m in self._values(previous)} if previous else {}
        )
        after = {key: value for key, _label, value, _m in self._values(obj)}
        keys = set(before) | set(after)

        def text(values: dict[str, dict[str, Any]], key: str, code: str) -> str:
            value = values.get(key) or {}
            found = value.get(code)
            return found.strip() if isinstance(found, str) else ""

        source_changed = previous is not None and any(
            text(before, key, DEFAULT_LANGUAGE) != text(after, key, DEFAULT_LANGUAGE)
            for key in keys
        )
        status = dict(obj.translation_status if isinstance(obj.translation_status, dict) else {})
        reset = []
        for code in sorted(set(status)):
            if not any(text(after, key, code) for key in after):
                status.pop(code)
        for code in sorted({c for value in after.values() for c in value} | set(status)):
            if code == DEFAULT_LANGUAGE or not any(text(after, key, code) for key in after):
                continue
            edited = any(text(before, key, code) != text(after, key, code) for key in keys)
            state = status.get(code)
            if previous is not None and edited and state in (State.REVIEWED, State.SAMPLE):
                status[code] = State.UNREVIEWED
            elif source_changed and state == State.REVIEWED:
                status[code] = State.UNREVIEWED
                reset.append(code)
        obj.translation_status = status
        return reset


def _text_in(value: dict[str, Any], language: str) -> str:
    text = value.get(language)
    return text if isinstance(text, str) else ""


def _admin_change_url(obj: models.Model) -> str:
    meta = obj._meta
    try:
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return ""


# -- registry --------------------------------------------------------------------------------

_registry: dict[str, Translatable] = {}


def register(translatable: Translatable) -> None:
    """Offer `translatable` in the translator view; call from `AppConfig.ready()`."""
    _registry[translatable.name] = translatable


def translatables() -> list[Translatable]:
    return list(_registry.values())


def translatable(name: str) -> Translatable | None:
    return _registry.get(name)


def json_translatable_for(model: type[models.Model]) -> JsonTranslatable | None:
    for candidate in _registry.values():
        if isinstance(candidate, JsonTranslatable) and candidate.model is model:
            return candidate
    return None


def entries(language: str, *, show: str = Show.ALL, types: Iterable[str] = ()) -> list[Entry]:
    """Entries of the registered translatables (all, or those named in `types`) in
    `language`, keeping those `show` asks for."""
    wanted = set(types)
    found: list[Entry] = []
    for candidate in _registry.values():
        if wanted and candidate.name not in wanted:
            continue
        found.extend(entry for entry in candidate.entries(language) if entry.shown_by(show))
    return found


# -- actions ---------------------------------------------------------------------------------


def save_translation(
    actor: Any,
    type_name: str,
    key: str,
    language: str,
    texts: Mapping[str, str],
    *,
    reviewed: bool,
) -> Entry:
    """Save one entry's translation into `language` as `actor` (the translator view).

    Marks it reviewed, or unreviewed when the text changed or the reviewed mark was taken
    off; an untouched sample stays a sample. Audited as `translation.saved`.
    """
    candidate = _registry.get(type_name)
    if candidate is None:
        raise EntryNotFound(type_name)
    return candidate.save(actor, key, language, texts, reviewed=reviewed)


def save_translated_object(actor: Any, obj: models.Model) -> list[str]:
    """Save a translatable row edited in its own admin page, keeping review states honest
    (`JsonTranslatable.restate_after_edit`). Returns the languages whose reviewed mark the
    change of the Vietnamese source took away (audited as `translation.source_changed`)."""
    candidate = json_translatable_for(type(obj))
    with transaction.atomic():
        previous = None
        if obj.pk is not None:
            previous = type(obj)._default_manager.select_for_update().filter(pk=obj.pk).first()
        reset = candidate.restate_after_edit(previous, obj) if candidate else []
        obj.save()
        if reset:
            record(actor, "translation.source_changed", obj, details={"reset": reset})
    return reset
