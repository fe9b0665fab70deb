"""`manage.py restore`: a backup into a fresh database and the private storage, checked."""

from pathlib import Path
from typing import Any

import environ
from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.db import connections

from common import backups
from common.progress import ProgressCommand


class Command(ProgressCommand):
    help = (
        "Restore a backup (the latest dump of the directory by default) into a fresh "
        "PostgreSQL database, created when missing and refused when it has tables, and its "
        "files into the configured storage; then check every table's row count and sample "
        "checksum against the backup's manifest."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--from", dest="directory", default=None, help="Backup directory (BACKUP_DIR)."
        )
        parser.add_argument("--dump", default=None, help="A .dump file of the directory.")
        parser.add_argument(
            "--database-url",
            default=None,
            help="The database to restore into (default: DATABASE_URL); must be empty.",
        )
        parser.add_argument(
            "--no-files", action="store_true", help="Restore the database only, no files."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        directory = Path(options["directory"] or settings.BACKUP_DIR)
        url = options["database_url"]
        settings_dict = (
            environ.Env.db_url_config(url) if url else connections["default"].settings_dict
        )
        try:
            target = backups.Database.from_settings(settings_dict)
            result = backups.restore(
                directory,
                target,
                dump=Path(options["dump"]) if options["dump"] else None,
                files=not options["no_files"],
                progress=self.progress_for_output(),
            )
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"database {target.name}: {result['tables']} tables, {result['rows']} rows, "
            "counts and sample checksums equal to the backup"
        )
        if "files" in result:
            files = result["files"]
            self.stdout.write(f"stored files: {files['files']} present, {files['copied']} copied")
        self.stdout.write(self.style.SUCCESS("restore done"))
