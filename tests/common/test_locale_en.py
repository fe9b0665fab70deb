"""The English catalog: model names, fields and choices whose msgids are Vietnamese.

The staff admin is Vietnamese by default; a staff member who switches it to English must not
be left reading the Vietnamese msgids of verbose names and choices, which only
locale/en translates.
"""

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from accounts.models import User
from agencies.models import StaffMembership
from common.models import AuditLogEntry
from feedback.models import Feedback
from services.models import ServiceRequest

EN_PO = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"
# Letters English never has and Vietnamese text nearly always does: ă â đ ê ô ơ ư and the
# vowels carrying a tone mark.
VIETNAMESE = re.compile(
    "[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]",
    re.IGNORECASE,
)


def labels(choices) -> dict[str, str]:
    return {value: str(label) for value, label in choices}


def test_model_texts_are_english_in_english():
    with translation.override("en"):
        assert str(User._meta.get_field("phone").verbose_name) == "phone number"
        assert labels(StaffMembership.Role.choices) == {
            "officer": "Officer",
            "manager": "Manager",
            "admin": "Administrator",
        }
        assert labels(ServiceRequest.Status.choices) == {
            "submitted": "Submitted",
            "received": "Received",
            "supplement_requested": "Supplement requested",
            "in_progress": "In progress",
            "result_ready": "Result ready",
            "completed": "Completed",
            "rejected": "Rejected",
            "cancelled": "Cancelled",
        }
        assert str(ServiceRequest._meta.verbose_name) == "dossier"
        assert str(ServiceRequest._meta.verbose_name_plural) == "dossiers"
        assert str(AuditLogEntry._meta.verbose_name_plural) == "audit log entries"
        assert str(Feedback._meta.verbose_name) == "feedback"
        assert str(AuditLogEntry._meta.verbose_name) == "audit log"
        assert str(AuditLogEntry._meta.get_field("actor").verbose_name) == "performed by"


def test_model_texts_stay_vietnamese_in_vietnamese():
    with translation.override("vi"):
        assert str(User._meta.get_field("phone").verbose_name) == "số điện thoại"
        assert labels(StaffMembership.Role.choices) == {
            "officer": "Cán bộ",
            "manager": "Lãnh đạo",
            "admin": "Quản trị",
        }
        assert labels(ServiceRequest.Status.choices)["supplement_requested"] == "Yêu cầu bổ sung"
        assert str(Feedback._meta.verbose_name) == "phản ánh, kiến nghị"
        assert str(ServiceRequest._meta.verbose_name_plural) == "hồ sơ"
        assert str(AuditLogEntry._meta.verbose_name) == "nhật ký truy cập và thao tác"


def test_english_msgids_are_left_as_they_are_in_english():
    # Untranslated entries of the English catalog fall back to the msgid itself.
    with translation.override("en"):
        assert translation.gettext("This phone number is already registered.") == (
            "This phone number is already registered."
        )


def _po_entries(text: str) -> list[tuple[set[str], dict[str, str]]]:
    """(flags, {keyword: unquoted text}) for each entry of a .po file, header included."""
    entries = []
    for block in text.split("\n\n"):
        flags: set[str] = set()
        fields: dict[str, list[str]] = {}
        current = None
        for line in block.splitlines():
            if line.startswith("#,"):
                flags.update(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#"):
                continue
            elif line.startswith('"') and current is not None:
                fields[current].append(line)
            elif line.strip():
                keyword, _space, rest = line.partition(" ")
                current = keyword
                fields[current] = [rest]
        if fields:
            entries.append(
                (
                    flags,
                    {
                        key: "".join(ast.literal_eval(part) for part in parts)
                        for key, parts in fields.items()
                    },
                )
            )
    return entries


def test_every_vietnamese_msgid_has_an_english_translation():
    entries = _po_entries(EN_PO.read_text(encoding="utf-8"))
    assert len(entries) > 100  # the parser read the catalog, not nothing

    fuzzy = [fields.get("msgid", "") for flags, fields in entries if "fuzzy" in flags]
    assert fuzzy == [], "fuzzy entries (compilemessages drops them)"

    untranslated = []
    translated = 0
    for _flags, fields in entries:
        source = fields.get("msgid", "") + fields.get("msgid_plural", "")
        if not VIETNAMESE.search(source):
            continue
        texts = [value for key, value in fields.items() if key.startswith("msgstr")]
        if not texts or not all(texts):
            untranslated.append(fields["msgid"])
            continue
        # A "translation" that is still Vietnamese would leave the English admin Vietnamese.
        assert not any(VIETNAMESE.search(text) for text in texts), fields
        translated += 1
    assert untranslated == [], "translate these in locale/en, then compilemessages -l en"
    assert translated > 100


def test_the_checker_sees_an_untranslated_vietnamese_entry():
    sample = '#, fuzzy\nmsgid "hồ sơ"\nmsgstr ""\n\nmsgid "dossier"\nmsgstr ""\n'
    (flags, fields), (_, english) = _po_entries(sample)
    assert "fuzzy" in flags
    assert VIETNAMESE.search(fields["msgid"]) and fields["msgstr"] == ""
    assert not VIETNAMESE.search(english["msgid"])


@pytest.mark.django_db
def test_the_admin_switched_to_english_shows_english_model_texts(client, superuser):
    client.force_login(superuser)
    client.post("/admin/language/", {"language": "en", "next": "/admin/"})

    page = client.get("/admin/services/servicerequest/").content.decode()
    assert "Supplement requested" in page  # the status filter
    assert "Yêu cầu bổ sung" not in page
    assert "Select dossier to " in page  # the title, "... to change" or "... to view"
    assert ">Dossiers<" in client.get("/admin/").content.decode()  # the app list: plurals

    page = client.get(f"/admin/accounts/user/{superuser.pk}/change/").content.decode()
    assert "Phone number:" in page
    assert "Số điện thoại" not in page

    client.post("/admin/language/", {"language": "vi", "next": "/admin/"})
    page = client.get("/admin/services/servicerequest/").content.decode()
    assert "Yêu cầu bổ sung" in page
