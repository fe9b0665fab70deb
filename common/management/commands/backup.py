"""`manage.py backup`: dump the database and sync the stored files into a backup directory."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.db import connections

from common import backups
from common.progress import ProgressCommand


class Command(ProgressCommand):
    help = (
        "Dump the database (pg_dump, custom format, with a manifest of row counts and sample "
        "checksums) and copy new stored files (local disk or S3) into a backup directory."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--to", dest="directory", default=None, help="Backup directory (BACKUP_DIR)."
        )
        parser.add_argument("--database", default="default", help="Database alias to dump.")
        parser.add_argument(
            "--no-files", action="store_true", help="Dump the database only, no stored files."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        directory = Path(options["directory"] or settings.BACKUP_DIR)
        try:
            database = backups.Database.from_settings(
                connections[options["database"]].settings_dict
            )
            manifest = backups.backup(
                database,
                directory,
                files=not options["no_files"],
                progress=self.progress_for_output(),
            )
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from exc
        rows = sum(table["rows"] for table in manifest["tables"].values())
        self.stdout.write(
            f"database {manifest['database']}: {len(manifest['tables'])} tables, {rows} rows "
            f"→ {directory / 'db' / manifest['dump']}"
        )
        if "files" in manifest:
            files = manifest["files"]
            self.stdout.write(
                f"stored files: {files['files']} ({files['bytes']} bytes), "
                f"{files['copied']} new → {directory / 'files'}"
            )
        self.stdout.write(self.style.SUCCESS("backup done"))
