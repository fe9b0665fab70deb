"""The data `make bench` measures on, at the issue's scale, written with PostgreSQL's COPY.

    seed(Scale(dossiers=1_000_000, citizens=100_000, feedback=200_000, inbox=200_000))

- 243 commune offices take the dossiers: the demo's three, an office for every other commune
  of Tuyên Quang (124 communes) and Điện Biên (45) under their provincial boards, and, since
  those two provinces have 169 communes only, 74 offices under a generic provincial board of
  Sơn La (a real province and its real communes, `agencies.models.AdministrativeUnit`).
- `citizens` people (`+8496…`) whose home communes are those 243 communes;
- `dossiers` dossiers (`BX…`), one every 30 s back in time, round robin over the offices;
  one in 500 is the measuring citizen's (a full page of their own, old and new);
- `feedback` feedback items (`BF…`), about half of them in the public feed;
- the measuring citizen's inbox (`MY_INBOX` rows) and `inbox` rows over the other citizens.

Every table is topped up to its target, never emptied: a second run reuses the rows. Each
batch is one COPY in one transaction, so an interrupted run resumes at the last batch.
Needs the demo catalog and agencies (`load_administrative_units`, `seed_demo`,
`seed_feedback_demo`), which `seed` loads into an empty database.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone
from psycopg import sql
from psycopg.types.json import Jsonb
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent

CITIZEN_PHONE = "+84990000001"
CITIZEN_PREFIX = "+8496"
# The demo's manager of the Tuyên Quang board: sees the board's subtree (124 of the 243
# offices), the "officer" of the officer's list.
OFFICER_PHONE = "+84900000201"
FORM = {"full_name": "Hoàng Thị Mai", "id_number": "008190000123", "purpose": "Bổ sung hồ sơ"}
AGENCIES = 243
MY_INBOX = 300
# A dossier of the measuring citizen every this many.
MINE_EVERY = 500
BATCH = 20_000

# Provinces whose boards get a generic office for every commune, and the generic board
# (with its offices) that makes up the rest of the 243.
DEMO_PROVINCES = (8, 11)
EXTRA_PROVINCE = (14, "bench-son-la", "Trung tâm Phục vụ hành chính công tỉnh Sơn La")

FEEDBACK_TEXTS = (
    ("Đường liên thôn bị sạt lở", "Đoạn đường từ thôn Nà Khà ra trung tâm xã bị sạt lở sau mưa."),
    ("Đèn đường không sáng", "Ba cột đèn gần trường tiểu học không sáng đã hơn một tuần."),
    ("Rác thải ven suối", "Rác thải sinh hoạt đổ ven suối đầu bản, gây mùi và ô nhiễm nước."),
    ("Trợ cấp chậm chi trả", "Tiền trợ cấp tháng này của gia đình tôi chưa được chi trả."),
    ("Góp ý giờ làm việc", "Đề nghị bộ phận một cửa làm việc sáng thứ Bảy cho bà con đi làm xa."),
)
ANSWER = "Ủy ban nhân dân xã đã kiểm tra, giao bộ phận chuyên môn xử lý và trả lời công dân."
INBOX_TEXTS = (
    ("service_request.received", "Hồ sơ đã được tiếp nhận", "Hồ sơ {code} đã được tiếp nhận."),
    ("service_request.in_progress", "Hồ sơ đang được giải quyết", "Hồ sơ {code} đang xử lý."),
    ("service_request.result_ready", "Đã có kết quả", "Hồ sơ {code} đã có kết quả, mời nhận."),
    ("feedback.answered", "Phản ánh đã được trả lời", "Phản ánh {code} đã có câu trả lời."),
)


@dataclass(frozen=True)
class Scale:
    dossiers: int
    citizens: int
    feedback: int
    inbox: int


# -- COPY ------------------------------------------------------------------------------------


def copy_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    fixed: Mapping[str, object] | None = None,
) -> int:
    """COPY `rows` into `model`'s table: `columns` (attnames) vary per row and hold values
    psycopg adapts (JSON wrapped in `Jsonb`); the other columns take `fixed[attname]` or the
    field's default, prepared once. A column with neither is an error, not a NULL.
    Runs on Django's connection, inside the caller's transaction."""
    fixed = dict(fixed or {})
    rest = [f for f in model._meta.concrete_fields if f.attname not in columns]
    constants: list[object] = []
    for field in rest:
        value = fixed.pop(field.attname) if field.attname in fixed else field.get_default()
        if value is None and not field.null:
            raise ValueError(f"{model.__name__}.{field.attname}: no value and no default")
        constants.append(field.get_db_prep_save(value, connection))
    if fixed:
        raise ValueError(f"unknown columns {sorted(fixed)}")
    names: list[sql.Composable] = [
        sql.Identifier(str(n)) for n in (*columns, *(f.column for f in rest))
    ]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(names)
    )
    tail = tuple(constants)
    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row((*row, *tail))
            count += 1
    return count


def top_up(what: str, have: int, target: int, write: Any, batch: int = BATCH) -> tuple[int, float]:
    """Call `write(first, last)` for each missing batch of rows `[have, target)`, each in
    its own transaction, under a progress bar; returns (rows written, seconds)."""
    started = time.perf_counter()
    if have >= target:
        return 0, 0.0
    with tqdm(total=target, initial=have, desc=what, unit="row", smoothing=0.1) as bar:
        for first in range(have, target, batch):
            last = min(target, first + batch)
            with transaction.atomic():
                write(first, last)
            bar.update(last - first)
    return target - have, time.perf_counter() - started


# -- the tree of agencies ----------------------------------------------------------------------


def ensure_base() -> None:
    """Migrations, the administrative units and the demo catalog, agencies and people."""
    from django.core.management import call_command

    from agencies.models import Agency
    from feedback.models import FeedbackCategory

    call_command("migrate", verbosity=0)
    commands = []
    if not Agency.objects.exists():
        commands += ["load_administrative_units", "seed_demo"]
    if not FeedbackCategory.objects.exists():
        commands.append("seed_feedback_demo")
    # The demo commands refuse DJANGO_ENV=prod, the server's settings: run them as tests do.
    env = {**os.environ, "DJANGO_ENV": "test", "DJANGO_SETTINGS_MODULE": "config.settings"}
    for command in commands:
        subprocess.run(
            [sys.executable, "manage.py", command, "-v", "0"], cwd=ROOT, env=env, check=True
        )


def ensure_agencies(target: int = AGENCIES) -> list[tuple[uuid.UUID, int, uuid.UUID]]:
    """Commune offices up to `target`, each bound to a real commune of its board's province:
    `(agency id, commune unit id, board id)`, the demo's offices first."""
    from agencies.models import AdministrativeUnit, Agency

    boards = {
        agency.administrative_unit.code: agency
        for agency in Agency.objects.filter(level="province").select_related("administrative_unit")
        if agency.administrative_unit is not None
    }
    code, slug, name = EXTRA_PROVINCE
    if code not in boards:
        boards[code] = Agency.objects.create(
            code=slug,
            name=name,
            level="province",
            parent=Agency.objects.get(level="ministry"),
            administrative_unit=AdministrativeUnit.objects.get(level="province", code=code),
            opening_hours="Thứ 2–6, 7:30–17:00",
        )
    served = set(
        Agency.objects.filter(level="commune").values_list("administrative_unit_id", flat=True)
    )
    missing = target - len(served)
    with transaction.atomic():
        for province in (*DEMO_PROVINCES, code):
            board = boards[province]
            communes = AdministrativeUnit.objects.filter(
                level="commune", parent__code=province, parent__level="province"
            ).order_by("code")
            for commune in communes:
                if missing <= 0:
                    break
                if commune.pk in served:
                    continue
                Agency.objects.create(
                    code=f"bench-{province}-{commune.code}",
                    name=f"UBND {commune.name}",
                    level="commune",
                    parent=board,
                    administrative_unit=commune,
                    address=f"Trụ sở UBND {commune.name}",
                    opening_hours="Thứ 2–6, 7:30–11:30 và 13:30–17:00",
                )
                missing -= 1
    offices = list(
        Agency.objects.filter(level="commune", is_active=True)
        .order_by("created_at", "code")
        .values_list("pk", "administrative_unit_id", "parent_id")
    )
    assert len(offices) >= target, f"only {len(offices)} commune offices"
    return [(pk, unit, parent) for pk, unit, parent in offices[:target]]


# -- people ------------------------------------------------------------------------------------


def ensure_people(citizens: int, communes: Sequence[int]) -> tuple[Any, list[uuid.UUID]]:
    """The measuring citizen and `citizens` others (unusable passwords); returns the
    measuring citizen and the others' ids."""
    from accounts.models import User

    citizen = User.objects.filter(phone=CITIZEN_PHONE).first()
    if citizen is None:
        citizen = User.objects.create_user(phone=CITIZEN_PHONE, full_name="Người đo")
    if citizen.administrative_unit_id is None:
        citizen.administrative_unit_id = communes[0]
        citizen.save(update_fields=["administrative_unit"])
    now = timezone.now()

    def write(first: int, last: int) -> None:
        copy_rows(
            User,
            ("id", "phone", "full_name", "administrative_unit_id"),
            (
                (
                    uuid.uuid4(),
                    f"{CITIZEN_PREFIX}{i:07d}",
                    f"Người dân {i}",
                    communes[i % len(communes)],
                )
                for i in range(first, last)
            ),
            fixed={"password": "!", "updated_at": now, "date_joined": now},
        )

    have = User.objects.filter(phone__startswith=CITIZEN_PREFIX).count()
    top_up("citizens", have, citizens, write)
    people = list(
        User.objects.filter(phone__startswith=CITIZEN_PREFIX)
        .order_by("phone")
        .values_list("pk", flat=True)[:citizens]
    )
    return citizen, people


# -- dossiers, feedback, inbox ---------------------------------------------------------------


def ensure_dossiers(
    target: int,
    citizen: Any,
    people: Sequence[uuid.UUID],
    offices: Sequence[tuple[uuid.UUID, int, uuid.UUID]],
    now: datetime,
) -> None:
    from services.models import PublicService, ServiceRequest

    services = list(
        PublicService.objects.filter(level="commune", is_active=True)
        .order_by("code")
        .values_list("pk", flat=True)
    )
    statuses = list(ServiceRequest.Status.values)

    def write(first: int, last: int) -> None:
        rng = random.Random(first)
        rows = []
        for i in range(first, last):
            agency_id, unit_id, _board = offices[i % len(offices)]
            created = now - timedelta(seconds=i * 30 + rng.randrange(30))
            status = statuses[rng.randrange(len(statuses))]
            due = None if status == "submitted" else created + timedelta(days=10)
            applicant = citizen.pk if i % MINE_EVERY == 0 else people[rng.randrange(len(people))]
            rows.append(
                (
                    uuid.uuid4(),
                    f"BX{i:010d}",
                    services[i % len(services)],
                    applicant,
                    unit_id,
                    agency_id,
                    status,
                    created,
                    created,
                    due,
                )
            )
        copy_rows(
            ServiceRequest,
            (
                "id",
                "tracking_code",
                "service_id",
                "applicant_id",
                "administrative_unit_id",
                "agency_id",
                "status",
                "created_at",
                "updated_at",
                "due_at",
            ),
            rows,
            fixed={"form_data": FORM},
        )

    have = ServiceRequest.objects.filter(tracking_code__startswith="BX").count()
    top_up("dossiers", have, target, write)


def ensure_feedback(
    target: int,
    people: Sequence[uuid.UUID],
    offices: Sequence[tuple[uuid.UUID, int, uuid.UUID]],
    now: datetime,
) -> None:
    from feedback.models import Feedback, FeedbackCategory

    categories = list(FeedbackCategory.objects.order_by("code").values_list("pk", "default_level"))
    statuses = list(Feedback.Status.values)
    answered = {Feedback.Status.ANSWERED, Feedback.Status.CLOSED}

    def write(first: int, last: int) -> None:
        rng = random.Random(-first)
        rows = []
        for i in range(first, last):
            office, unit_id, board = offices[i % len(offices)]
            category, level = categories[i % len(categories)]
            created = now - timedelta(seconds=i * 150 + rng.randrange(150))
            status = statuses[rng.randrange(len(statuses))]
            title, content = FEEDBACK_TEXTS[i % len(FEEDBACK_TEXTS)]
            done = status in answered
            rows.append(
                (
                    uuid.uuid4(),
                    f"BF{i:010d}",
                    people[rng.randrange(len(people))],
                    category,
                    unit_id,
                    office if level == "commune" else board,
                    status,
                    rng.random() < 0.6,
                    title,
                    content,
                    ANSWER if done else "",
                    created + timedelta(days=3) if done else None,
                    rng.randrange(40) if rng.random() < 0.3 else 0,
                    created,
                    created,
                )
            )
        copy_rows(
            Feedback,
            (
                "id",
                "tracking_code",
                "author_id",
                "category_id",
                "administrative_unit_id",
                "agency_id",
                "status",
                "is_public",
                "title",
                "content",
                "answer",
                "answered_at",
                "support_count",
                "created_at",
                "updated_at",
            ),
            rows,
        )

    have = Feedback.objects.filter(tracking_code__startswith="BF").count()
    top_up("feedback", have, target, write)


def _inbox_rows(
    users: Iterable[tuple[int, uuid.UUID]], now: datetime, every: int
) -> Iterator[tuple[object, ...]]:
    """Notification rows for `(i, user)`: the i-th row, `every` seconds apart back in time;
    the newer half unread."""
    for i, user in users:
        kind, title, body = INBOX_TEXTS[i % len(INBOX_TEXTS)]
        code = f"BX{i:010d}"
        created = now - timedelta(seconds=i * every)
        data = {"type": kind.split(".")[0], "id": str(uuid.UUID(int=i)), "tracking_code": code}
        read = created + timedelta(hours=1) if i % 3 else None
        yield (
            uuid.uuid4(),
            user,
            kind,
            title,
            body.format(code=code),
            Jsonb(data),
            read,
            created,
            created,
        )


INBOX_COLUMNS = (
    "id",
    "user_id",
    "kind",
    "title",
    "body",
    "data",
    "read_at",
    "created_at",
    "updated_at",
)


def ensure_inbox(target: int, citizen: Any, people: Sequence[uuid.UUID], now: datetime) -> None:
    from notifications.models import Notification

    have = Notification.objects.filter(user=citizen).count()
    if have < MY_INBOX:
        with transaction.atomic():
            copy_rows(
                Notification,
                INBOX_COLUMNS,
                _inbox_rows(((i, citizen.pk) for i in range(have, MY_INBOX)), now, 3600),
            )

    def write(first: int, last: int) -> None:
        copy_rows(
            Notification,
            INBOX_COLUMNS,
            _inbox_rows(((i, people[i % len(people)]) for i in range(first, last)), now, 60),
        )

    have = Notification.objects.filter(user__phone__startswith=CITIZEN_PREFIX).count()
    top_up("inbox", have, target, write)


def ensure_detail(citizen: Any) -> Any:
    """The measuring citizen's newest dossier, with five events (the detail measured)."""
    from services.models import ServiceRequest, ServiceRequestEvent

    mine = ServiceRequest.objects.filter(applicant=citizen).order_by("-created_at").first()
    assert mine is not None
    if not mine.events.exists():
        ServiceRequestEvent.objects.bulk_create(
            ServiceRequestEvent(request=mine, actor=citizen, action=a, to_status="submitted")
            for a in ("submit", "receive", "comment", "comment", "comment")
        )
    return mine


def vacuum(tables: Iterable[str]) -> None:
    """VACUUM the tables that grew, as autovacuum would have by the time a table is this
    big (hint bits and the visibility map set: reads see a settled table, not fresh COPY
    pages), then ANALYZE everything: the planner must know there are 247 agencies."""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(sql.SQL("VACUUM {}").format(sql.Identifier(table)))
        cursor.execute("ANALYZE")


def seed(scale: Scale) -> dict[str, object]:
    """Top every table up to `scale`; returns what the benchmark needs and the timings."""
    from accounts.models import User
    from agencies.models import Agency
    from feedback.models import Feedback
    from notifications.models import Notification
    from services.models import ServiceRequest

    started = time.perf_counter()
    ensure_base()
    tables: list[type[models.Model]] = [User, ServiceRequest, Feedback, Notification]
    before = {model: model._default_manager.count() for model in tables}
    offices = ensure_agencies()
    communes = [unit for _pk, unit, _board in offices]
    citizen, people = ensure_people(scale.citizens, communes)
    # One "now" per database: a top-up continues the same timeline (rows 30 s apart).
    first = ServiceRequest.objects.filter(tracking_code="BX0000000000").first()
    now = first.created_at if first else timezone.now()
    ensure_dossiers(scale.dossiers, citizen, people, offices, now)
    ensure_feedback(scale.feedback, people, offices, now)
    ensure_inbox(scale.inbox, citizen, people, now)
    vacuum(m._meta.db_table for m, n in before.items() if m._default_manager.count() != n)
    mine = ensure_detail(citizen)
    newest = Notification.objects.filter(user=citizen).order_by("-created_at").first()
    assert newest is not None
    # The inbox sync asks for a day of changes: a full page and more.
    since = (newest.created_at - timedelta(days=1)).astimezone(UTC)
    return {
        "dossiers": ServiceRequest.objects.count(),
        "feedback": Feedback.objects.count(),
        "public_feedback": Feedback.objects.filter(
            is_public=True, status__in=Feedback.PUBLISHED
        ).count(),
        "citizens": len(people),
        "inbox_rows": Notification.objects.count(),
        "my_inbox": Notification.objects.filter(user=citizen).count(),
        "agencies": Agency.objects.count(),
        "dossier_agencies": len(offices),
        "seed_seconds": round(time.perf_counter() - started, 1),
        "detail_id": str(mine.pk),
        # A service whose form FORM fills (the demo catalog's residence confirmation).
        "service": "residence-confirmation",
        "inbox_since": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commune": Agency.objects.get(pk=mine.agency_id).administrative_unit.code,  # type: ignore[union-attr]
    }
