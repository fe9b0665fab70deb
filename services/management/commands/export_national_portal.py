"""`manage.py export_national_portal --since 2026-05-01T00:00:00+07:00 [--until …]
[--format json|csv] [--output FILE]`: dossiers changed in that window, in the national
portal's fields (`services.national_portal`), to a file or stdout."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from common.progress import ProgressCommand
from services import national_portal


def _moment(raw: str | None, name: str) -> datetime | None:
    if not raw:
        return None
    value = parse_datetime(raw)
    if value is None:
        raise CommandError(f"--{name} is not an ISO 8601 date-time: {raw!r}")
    return value if timezone.is_aware(value) else timezone.make_aware(value)


class Command(ProgressCommand):
    help = "Export dossiers changed since a time in the national public-service portal's fields."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--since", help="Changed after this time (ISO 8601); default: all.")
        parser.add_argument("--until", help="Changed at or before this time; default: now.")
        parser.add_argument("--format", choices=("json", "csv"), default="json")
        parser.add_argument("--output", help="File to write; default: standard output.")

    def handle(self, *args: Any, **options: Any) -> None:
        since = _moment(options.get("since"), "since")
        until = _moment(options.get("until"), "until") or timezone.now()
        dossiers = national_portal.dossiers_changed(since, until)
        total = dossiers.count()
        exported = list(
            self.progress(dossiers.iterator(chunk_size=500), total=total, desc="dossiers")
        )
        rows = list(national_portal.records(exported))
        text = (
            national_portal.to_csv(rows)
            if options["format"] == "csv"
            else national_portal.to_json(rows)
        )
        if options.get("output"):
            with open(options["output"], "w", encoding="utf-8", newline="") as stream:
                stream.write(text)
        else:
            self.stdout.write(text, ending="")
        national_portal.audit_export(
            None,
            exported,
            {
                "since": since.isoformat() if since else None,
                "until": until.isoformat(),
                "format": options["format"],
            },
        )
        # The summary goes to stderr, so stdout stays the export.
        self.stderr.write(f"{len(rows)} dossier(s) exported; next --since {until.isoformat()}")
