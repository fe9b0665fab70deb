"""Long management commands show progress bars on a terminal, and nothing more than before
when their output goes to a file or a pipe, or with `CI` set (common/progress.py)."""

import io

import pytest
from django.core.management import call_command

from common.progress import quiet, shows_bars


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal(monkeypatch):
    """A command's stdout and stderr at a terminal, CI unset; returns (stdout, stderr)."""
    monkeypatch.delenv("CI", raising=False)
    return Terminal(), Terminal()


def test_bars_only_for_a_person_at_a_terminal(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    assert shows_bars(Terminal(), Terminal()) is True
    assert shows_bars(io.StringIO(), Terminal()) is False
    assert shows_bars(Terminal(), io.StringIO()) is False
    monkeypatch.setenv("CI", "true")
    assert shows_bars(Terminal(), Terminal()) is False


def test_quiet_hands_back_the_iterable_itself():
    rows = [1, 2, 3]
    assert quiet(rows, total=3, desc="rows") is rows


@pytest.mark.django_db
def test_loading_units_shows_a_bar_per_level_on_a_terminal(terminal):
    stdout, stderr = terminal
    call_command("load_administrative_units", stdout=stdout, stderr=stderr)
    assert "provinces: 100%" in stderr.getvalue()
    assert "3321/3321" in stderr.getvalue()
    assert "Administrative units: 3355 created" in stdout.getvalue()
    assert "%|" not in stdout.getvalue()


@pytest.mark.django_db
def test_loading_units_into_a_pipe_or_in_ci_prints_no_bar(monkeypatch, world):
    monkeypatch.delenv("CI", raising=False)
    stderr = Terminal()
    piped = io.StringIO()
    call_command("load_administrative_units", stdout=piped, stderr=stderr)
    assert stderr.getvalue() == ""
    assert piped.getvalue().startswith("Administrative units:")

    monkeypatch.setenv("CI", "true")
    call_command("load_administrative_units", stdout=Terminal(), stderr=stderr)
    assert stderr.getvalue() == ""


@pytest.mark.django_db
def test_demo_seeding_shows_its_bars(terminal, settings):
    stdout, stderr = terminal
    call_command("load_administrative_units", stdout=io.StringIO())
    call_command("seed_demo", stdout=stdout, stderr=stderr)
    call_command("seed_feedback_demo", stdout=stdout, stderr=stderr)
    for part in ("agencies", "people", "categories", "services"):
        assert f"{part}: 100%" in stderr.getvalue(), part
    assert "demo data ready" in stdout.getvalue()


@pytest.mark.django_db
def test_key_rotation_counts_rows_per_field(terminal, citizen_a):
    type(citizen_a).objects.filter(pk=citizen_a.pk).update(ethnic_group="tay")
    stdout, stderr = terminal
    call_command("rotate_field_keys", stdout=stdout, stderr=stderr)
    assert "accounts.User.ethnic_group" in stderr.getvalue()
    assert "1/1" in stderr.getvalue()
    assert "1 value(s) re-encrypted" in stdout.getvalue()
