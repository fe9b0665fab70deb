"""Backups of the database and the stored files, and their restore (`manage.py backup`,
`manage.py restore`; `make backup`, `make restore`; docs/operations.md).

A backup directory holds:

    db/<stamp>.dump    pg_dump, custom format, of the database (stamp: UTC time)
    db/<stamp>.json    its manifest: per table the row count and a checksum of a sample
    files/<name>       every stored file (local disk or S3 bucket), by its storage name

The dump and the manifest come from one snapshot: the manifest's figures are computed in
the transaction whose snapshot pg_dump is given (`pg_export_snapshot`), so they describe
the dump exactly even while the service keeps writing. Files are synced after the dump:
a row is committed after its file was stored, so every file a dumped row names is there
(files stored later are extra, and harmless). Stored files never change under a name
(names are random; pieces of uploads are named by offset), so the sync copies only names
it does not have yet and removes nothing: every older dump still finds its files.

Restoring goes into a fresh database (created when missing, refused when it has tables),
then checks every table of the manifest: same row count, same sample checksum.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess  # nosec B404
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from django.core.files import File
from psycopg import sql
from psycopg.conninfo import make_conninfo

from common.files import storage
from common.progress import Progress, quiet

SAMPLE_ROWS = 100
# libpq connection keywords a Django OPTIONS dict may carry (others are Django's own).
_LIBPQ_OPTIONS = {
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslpassword",
    "connect_timeout",
    "application_name",
    "options",
    "target_session_attrs",
    "service",
    "passfile",
}


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why."""


@dataclass(frozen=True)
class Database:
    """Where a PostgreSQL database is, from a Django `DATABASES` entry."""

    params: dict[str, str]
    password: str

    @classmethod
    def from_settings(cls, settings_dict: dict[str, Any]) -> Database:
        if "postgresql" not in settings_dict.get("ENGINE", ""):
            raise BackupError(
                "backups need PostgreSQL (DATABASE_URL=postgres://…); "
                "for SQLite copy db.sqlite3 instead"
            )
        params = {
            "dbname": settings_dict["NAME"],
            "user": settings_dict.get("USER") or "",
            "host": settings_dict.get("HOST") or "",
            "port": str(settings_dict.get("PORT") or ""),
        }
        for key, value in (settings_dict.get("OPTIONS") or {}).items():
            if key in _LIBPQ_OPTIONS:
                params[key] = str(value)
        return cls({k: v for k, v in params.items() if v}, settings_dict.get("PASSWORD") or "")

    @property
    def name(self) -> str:
        return self.params["dbname"]

    def other(self, dbname: str) -> Database:
        return Database({**self.params, "dbname": dbname}, self.password)

    def conninfo(self) -> str:
        """For pg_dump/pg_restore: no password (that goes in the environment, not argv)."""
        return make_conninfo(**self.params)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        extra = {"password": self.password} if self.password else {}
        return psycopg.connect(make_conninfo(**self.params, **extra), **kwargs)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} not found: install the PostgreSQL client of the server's major version "
            "(Debian: postgresql-client-15)"
        )
    return path


def _run(args: list[str], database: Database) -> None:
    # A fixed argument list (tool path, options, our own paths), no shell.
    done = subprocess.run(  # noqa: S603  # nosec B603
        args, env=database.env(), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {done.stderr.strip()}")


# -- fingerprints --------------------------------------------------------------------------


def _prepare(connection: psycopg.Connection[Any]) -> None:
    # Row text depends on these; both sides of a comparison use the same.
    connection.execute("SET TIME ZONE 'UTC'")
    connection.execute("SET DateStyle = 'ISO, YMD'")
    connection.execute("SET IntervalStyle = 'postgres'")


def tables(connection: psycopg.Connection[Any]) -> list[str]:
    rows = connection.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    ).fetchall()
    return [row[0] for row in rows]


def _primary_key(connection: psycopg.Connection[Any], table: str) -> list[str]:
    rows = connection.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
        "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY a.attnum",
        [sql.Identifier("public", table).as_string(connection)],
    ).fetchall()
    return [row[0] for row in rows]


def fingerprint(connection: psycopg.Connection[Any], table: str) -> dict[str, Any]:
    """`{"rows": count, "sample": md5}`: the sample is the first SAMPLE_ROWS rows in primary
    key order, each row's text hashed, the hashes sorted and hashed together."""
    name = sql.Identifier("public", table)
    count = connection.execute(sql.SQL("SELECT count(*) FROM {}").format(name)).fetchone()
    key = _primary_key(connection, table)
    order = (
        sql.SQL(", ").join(sql.Identifier(column) for column in key)
        if key
        else sql.SQL("CAST(t AS text)")
    )
    sample = connection.execute(
        sql.SQL(
            "SELECT coalesce(md5(string_agg(h, ',' ORDER BY h)), '') FROM "
            "(SELECT md5(CAST(t AS text)) AS h FROM {} AS t ORDER BY {} LIMIT {}) AS s"
        ).format(name, order, sql.Literal(SAMPLE_ROWS))
    ).fetchone()
    return {"rows": count[0] if count else 0, "sample": sample[0] if sample else ""}


def fingerprints(connection: psycopg.Connection[Any]) -> dict[str, dict[str, Any]]:
    """Every table of the public schema: its row count and sample checksum."""
    _prepare(connection)
    return {table: fingerprint(connection, table) for table in tables(connection)}


def differences(expected: dict[str, Any], found: dict[str, Any]) -> list[str]:
    """What differs between two sets of fingerprints, one line per table."""
    lines = []
    for table in sorted(set(expected) | set(found)):
        if table not in found:
            lines.append(f"{table}: missing")
        elif table not in expected:
            lines.append(f"{table}: not in the backup")
        elif expected[table] != found[table]:
            lines.append(f"{table}: expected {expected[table]}, found {found[table]}")
    return lines


# -- files ---------------------------------------------------------------------------------


def stored_names(prefix: str = "") -> Iterator[str]:
    """Every file name in the private storage (local disk or bucket), folder by folder."""
    store = storage.current()
    try:
        folders, names = store.listdir(prefix)
    except FileNotFoundError:
        return
    for folder in sorted(folders):
        yield from stored_names(f"{prefix}{folder}/")
    for name in sorted(names):
        yield f"{prefix}{name}"


def _copy_out(name: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with storage.private_storage.open(name, "rb") as source, partial.open("wb") as out:
        shutil.copyfileobj(source, out, 1024 * 1024)
    partial.replace(target)


def sync_files_out(files_dir: Path, progress: Progress = quiet) -> dict[str, int]:
    """Copy stored files the backup does not have yet into `files_dir`; returns counts."""
    names = list(stored_names())
    copied = total_bytes = 0
    for name in progress(names, total=len(names), desc="files"):
        target = files_dir / name
        size = storage.private_storage.size(name)
        total_bytes += size
        if target.is_file() and target.stat().st_size == size:
            continue
        _copy_out(name, target)
        copied += 1
    return {"files": len(names), "copied": copied, "bytes": total_bytes}


def backup_files(files_dir: Path) -> list[tuple[str, Path]]:
    """(storage name, path) of every file in a backup's `files/`."""
    if not files_dir.is_dir():
        return []
    return sorted(
        (path.relative_to(files_dir).as_posix(), path)
        for path in files_dir.rglob("*")
        if path.is_file() and not path.name.endswith(".partial")
    )


def sync_files_in(files_dir: Path, progress: Progress = quiet) -> dict[str, int]:
    """Store every file of the backup the storage lacks (same name); returns counts."""
    present = backup_files(files_dir)
    copied = 0
    store = storage.current()
    for name, path in progress(present, total=len(present), desc="files"):
        if store.exists(name) and store.size(name) == path.stat().st_size:
            continue
        with path.open("rb") as handle:
            storage.write(name, File(handle, name=Path(name).name))
        copied += 1
    missing = [
        name
        for name, path in present
        if not store.exists(name) or store.size(name) != path.stat().st_size
    ]
    if missing:
        raise BackupError(f"{len(missing)} file(s) not restored, e.g. {missing[0]}")
    return {"files": len(present), "copied": copied}


# -- backup and restore --------------------------------------------------------------------


def stamp() -> str:
    """UTC, to the microsecond, fixed width: names sort by time."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def backup(
    database: Database, directory: Path, *, files: bool = True, progress: Progress = quiet
) -> dict[str, Any]:
    """Dump `database` and sync the stored files into `directory`; returns the manifest."""
    pg_dump = _tool("pg_dump")
    db_dir = directory / "db"
    db_dir.mkdir(parents=True, exist_ok=True)
    name = stamp()
    dump, partial = db_dir / f"{name}.dump", db_dir / f"{name}.dump.partial"
    with database.connect(autocommit=True) as connection:
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        with connection.transaction():
            exported = connection.execute("SELECT pg_export_snapshot()").fetchone()
            snapshot = exported[0] if exported else ""
            _run(
                [
                    pg_dump,
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    f"--file={partial}",
                    f"--dbname={database.conninfo()}",
                ],
                database,
            )
            tables = fingerprints(connection)
    partial.replace(dump)
    manifest: dict[str, Any] = {
        "created_at": datetime.now(UTC).isoformat(),
        "database": database.name,
        "dump": dump.name,
        "tables": tables,
    }
    if files:
        manifest["files"] = sync_files_out(directory / "files", progress)
    (db_dir / f"{name}.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def latest_dump(directory: Path) -> Path:
    dumps = sorted((directory / "db").glob("*.dump"))
    if not dumps:
        raise BackupError(f"no dump in {directory / 'db'}")
    return dumps[-1]


def _prepare_target(target: Database) -> None:
    """Create `target` when it does not exist; refuse one that already has tables."""
    with target.other("postgres").connect(autocommit=True) as server:
        exists = server.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [target.name]
        ).fetchone()
        if not exists:
            server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.name)))
            return
    with target.connect() as connection:
        if tables(connection):
            raise BackupError(
                f"database {target.name} is not empty: restore goes into a fresh database"
            )


def restore(
    directory: Path,
    target: Database,
    *,
    dump: Path | None = None,
    files: bool = True,
    progress: Progress = quiet,
) -> dict[str, Any]:
    """Restore a dump of `directory` (the latest by default) into the fresh database
    `target` and the stored files into the private storage; check both. Returns what was
    restored: `tables`, `rows` and, with files, `files` counts."""
    pg_restore = _tool("pg_restore")
    dump = dump or latest_dump(directory)
    manifest_path = dump.with_suffix(".json")
    if not manifest_path.is_file():
        raise BackupError(f"{manifest_path.name} is missing beside {dump.name}")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    _prepare_target(target)
    _run(
        [
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={target.conninfo()}",
            str(dump),
        ],
        target,
    )
    with target.connect() as connection:
        found = fingerprints(connection)
    problems = differences(manifest["tables"], found)
    if problems:
        raise BackupError("restored database differs from the backup:\n" + "\n".join(problems))
    result: dict[str, Any] = {
        "tables": len(found),
        "rows": sum(table["rows"] for table in found.values()),
    }
    if files:
        result["files"] = sync_files_in(directory / "files", progress)
    return result
