"""Backups and the restore drill: dump the database and sync the stored files, restore both
into a fresh database and an empty storage, and find every table's row count and sample
checksum, and every file, equal (common/backups.py, `make backup`, `make restore`)."""

import hashlib
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from common import backups
from common.files import storage
from services import actions
from tests import file_samples as samples
from tests.conftest import client_for
from tests.storage import stored_names

FORM = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}


def file_digests() -> dict[str, str]:
    digests = {}
    for name in stored_names():
        with storage.private_storage.open(name, "rb") as handle:
            digests[name] = hashlib.sha256(handle.read()).hexdigest()
    return digests


def source_database() -> backups.Database:
    return backups.Database.from_settings(connection.settings_dict)


def drop(database: backups.Database) -> None:
    with database.other("postgres").connect(autocommit=True) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')


def url_of(database: backups.Database) -> str:
    params = database.params
    host = params.get("host", "127.0.0.1")
    port = params.get("port", "5432")
    auth = params.get("user", "")
    if database.password:
        auth += f":{database.password}"
    return f"postgres://{auth}@{host}:{port}/{database.name}"


@pytest.fixture
def filled(world, citizen_a, officer_commune):
    """Rows in most tables (a dossier with events, attachments, inbox and outbox rows, audit
    entries) and files in the storage (a photo, its preview, a PDF)."""
    dossier, _created = actions.submit_request(
        applicant=citizen_a, service=world["service"], commune=world["lam_binh"], form_data=FORM
    )
    client = client_for(citizen_a)
    for data, kind, name, content_type in (
        (samples.image_bytes(), "photo", "photo.jpg", "image/jpeg"),
        (samples.pdf_bytes(), "document", "giay.pdf", "application/pdf"),
    ):
        answer = client.post(
            f"/api/v1/requests/{dossier.pk}/attachments/",
            {"file": samples.upload(data, name, content_type), "kind": kind},
            format="multipart",
        )
        assert answer.status_code == 201, answer.content
    answer = client_for(officer_commune).post(
        f"/api/v1/requests/{dossier.pk}/transitions/", {"action": "receive"}, format="json"
    )
    assert answer.status_code == 200, answer.content
    assert len(stored_names()) >= 3
    return dossier


@pytest.fixture
def restored_database():
    needs_postgres()
    target = source_database().other(f"{connection.settings_dict['NAME']}_restored")
    drop(target)
    yield target
    drop(target)


def needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


def drill(tmp_path, settings, target, fresh_storage) -> dict:
    """Back up, restore into `target` and an empty storage, and compare both sides."""
    directory = tmp_path / "backup"
    source = source_database()
    with source.connect() as db:
        before = backups.fingerprints(db)
    files_before = file_digests()

    out = io.StringIO()
    call_command("backup", "--to", str(directory), stdout=out)
    assert "backup done" in out.getvalue()
    dumps = list((directory / "db").glob("*.dump"))
    assert len(dumps) == 1
    manifest = json.loads(dumps[0].with_suffix(".json").read_text())
    assert manifest["tables"] == before
    assert manifest["files"]["files"] == len(files_before)

    fresh_storage()
    assert stored_names() == []
    out = io.StringIO()
    call_command("restore", "--from", str(directory), "--database-url", url_of(target), stdout=out)
    assert "restore done" in out.getvalue()

    with target.connect() as db:
        after = backups.fingerprints(db)
    assert after == before
    assert len(after) > 40
    assert sum(table["rows"] for table in after.values()) > 100
    assert file_digests() == files_before
    return manifest


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_restore_drill(filled, tmp_path, settings, restored_database):
    needs_postgres()

    def fresh_storage():
        settings.MEDIA_ROOT = str(tmp_path / "media-restored")

    manifest = drill(tmp_path, settings, restored_database, fresh_storage)
    assert manifest["tables"]["services_servicerequest"]["rows"] == 1
    # A sample checksum catches a changed value the count does not.
    with restored_database.connect() as db:
        db.execute("UPDATE services_servicerequest SET form_data = '{}'")
        db.commit()
        changed = backups.fingerprints(db)
    assert backups.differences(manifest["tables"], changed) == [
        f"services_servicerequest: expected {manifest['tables']['services_servicerequest']}, "
        f"found {changed['services_servicerequest']}"
    ]


@pytest.mark.postgres
@pytest.mark.s3
@pytest.mark.django_db(transaction=True)
def test_the_restore_drill_from_one_bucket_to_another(
    filled, tmp_path, settings, restored_database, s3_server, s3_bucket
):
    needs_postgres()

    def fresh_storage():
        bucket = s3_server.new_bucket()
        settings.STORAGES = {**settings.STORAGES, "private": s3_server.storage_options(bucket)}

    drill(tmp_path, settings, restored_database, fresh_storage)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_backup_copies_only_new_files(filled, tmp_path):
    needs_postgres()
    directory = tmp_path / "backup"
    first = backups.backup(source_database(), directory)
    second = backups.backup(source_database(), directory)
    assert first["files"]["copied"] == first["files"]["files"] >= 3
    assert second["files"]["copied"] == 0
    dumps = sorted((directory / "db").glob("*.dump"))
    assert [path.name for path in dumps] == [first["dump"], second["dump"]]
    assert backups.latest_dump(directory).name == second["dump"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_database_that_has_tables(filled, tmp_path):
    needs_postgres()
    directory = tmp_path / "backup"
    call_command("backup", "--to", str(directory), "--no-files", stdout=io.StringIO())
    with pytest.raises(CommandError, match="not empty"):
        call_command(
            "restore",
            "--from",
            str(directory),
            "--database-url",
            url_of(source_database()),
            stdout=io.StringIO(),
        )


def test_backups_need_postgresql():
    with pytest.raises(backups.BackupError, match="PostgreSQL"):
        backups.Database.from_settings({"ENGINE": "django.db.backends.sqlite3", "NAME": "x"})


def test_restore_without_a_dump_says_so(tmp_path):
    with pytest.raises(CommandError, match="no dump"):
        call_command(
            "restore",
            "--from",
            str(tmp_path),
            "--database-url",
            "postgres://postgres@127.0.0.1:5432/nowhere",
            stdout=io.StringIO(),
        )


def test_the_connection_keeps_the_password_out_of_the_command_line():
    database = backups.Database.from_settings(
        {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "dichvu",
            "USER": "app",
            "PASSWORD": "s3cret",
            "HOST": "db",
            "PORT": 5432,
            "OPTIONS": {"sslmode": "require", "pool": True},
        }
    )
    assert "s3cret" not in database.conninfo()
    assert "sslmode=require" in database.conninfo()
    assert "pool" not in database.conninfo()
    assert database.env()["PGPASSWORD"] == "s3cret"
