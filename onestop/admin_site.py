"""The staff admin site: Vietnamese header, a language switch, and a dashboard on the index.

The dashboard reads the same aggregates as the public statistics API (`onestop.stats.dossiers`,
`onestop.stats.feedback`) over the agencies the staff member may act for
(`agencies.selectors.agencies_in_scope`). The admin is where every app shows itself to staff,
so this module is the one part of `common` that reads the domain apps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.i18n import set_language

from agencies.models import Agency, StaffMembership
from agencies.selectors import agencies_in_scope
from common.i18n.admin_translations import may_translate
from onestop import two_factor
from onestop.stats import dossiers as dossier_stats
from onestop.stats import feedback as feedback_stats
from onestop.stats.tallies import OnTimeTally, RatingTally

# Rolling windows of the per-agency figures, in days.
WINDOWS = (30, 90)
# A superuser's scope is every agency; the table and chart keep the busiest ones readable.
MAX_AGENCY_ROWS = 40


class StaffAdminSite(admin.AdminSite):
    site_header = gettext_lazy("Highland Public Services — Administration")
    site_title = gettext_lazy("Highland Public Services")
    index_title = gettext_lazy("Overview")
    index_template = "admin/staff_index.html"
    login_template = "admin/staff_login.html"

    @property
    def login_form(self) -> Any:  # type: ignore[override]
        # With a second factor required, the sign-in form asks for the authenticator code.
        return two_factor.StaffLoginForm if two_factor.required() else None

    def has_permission(self, request: HttpRequest) -> bool:
        user: Any = request.user
        verified = not two_factor.required() or (
            hasattr(user, "is_verified") and user.is_verified()
        )
        return bool(super().has_permission(request) and verified)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        if two_factor.needs_enrolment(request.user):
            return HttpResponseRedirect(reverse("admin:two-factor", current_app=self.name))
        response = super().login(request, extra_context)
        if request.method == "POST" and two_factor.needs_enrolment(request.user):
            # Signed in with phone and password, no authenticator yet: enrol now.
            return HttpResponseRedirect(reverse("admin:two-factor", current_app=self.name))
        return response

    def get_urls(self) -> list[URLResolver | URLPattern]:
        # The switch must work on the login page too, so it is not behind `admin_view`;
        # Django's view only sets the language cookie (CSRF-protected, POST only). Enrolment
        # is for staff signed in without a second factor, so not behind it either.
        return [
            path("language/", set_language, name="set_language"),
            path("two-factor/", lambda r: two_factor.enrol(r, self), name="two-factor"),
            *super().get_urls(),
        ]

    def index(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        context = {
            "dashboard": staff_dashboard(request.user),
            "may_translate": may_translate(request.user),
            **(extra_context or {}),
        }
        return super().index(request, context)


# -- the dashboard ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowFigures:
    """One agency's figures over the last `days` days."""

    days: int
    on_time: OnTimeTally
    dossier_rating: RatingTally
    feedback_rating: RatingTally

    @property
    def on_time_text(self) -> str:
        return percent_text(self.on_time.rate)

    @property
    def dossier_rating_text(self) -> str:
        return rating_text(self.dossier_rating)

    @property
    def feedback_rating_text(self) -> str:
        return rating_text(self.feedback_rating)


@dataclass(frozen=True)
class AgencyRow:
    id: UUID
    name: str
    windows: list[WindowFigures]

    @property
    def activity(self) -> int:
        return sum(
            w.on_time.completed + w.dossier_rating.count + w.feedback_rating.count
            for w in self.windows
        )


@dataclass(frozen=True)
class ChartBar:
    y: int
    width: float
    days: int


@dataclass(frozen=True)
class ChartRow:
    label: str
    title: str
    label_y: int
    bars: list[ChartBar]
    value_text: str


@dataclass(frozen=True)
class Chart:
    """Horizontal bars of the on-time rate per agency, drawn in the page as SVG."""

    width: int
    height: int
    label_width: int
    plot_width: int
    rows: list[ChartRow]
    ticks: list[tuple[float, str]] = field(default_factory=list)

    @property
    def plot_end(self) -> int:
        return self.label_width + self.plot_width


@dataclass(frozen=True)
class Dashboard:
    scope: str
    dossiers: dossier_stats.DossierWorkload
    feedback: feedback_stats.FeedbackWorkload
    windows: tuple[int, ...]
    rows: list[AgencyRow]
    agencies_with_figures: int
    chart: Chart | None


def percent_text(rate: float | None) -> str:
    return "—" if rate is None else f"{number_format(rate, 1)}%"


def rating_text(tally: RatingTally) -> str:
    average = tally.average
    if average is None:
        return "—"
    return f"{number_format(average, 1)} ({tally.count})"


def _week_end(now: datetime) -> datetime:
    """Midnight (local time) at the start of next Monday: the end of this working week."""
    local = timezone.localtime(now)
    monday = local.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
        days=local.weekday()
    )
    return monday + timedelta(days=7)


def _scope_label(user: Any) -> str:
    if user.is_superuser:
        return _("All agencies")
    memberships = StaffMembership.objects.filter(user=user).select_related("agency")
    names = sorted({m.agency.name for m in memberships})
    return ", ".join(names) if names else _("No agency")


def staff_dashboard(user: Any, now: datetime | None = None) -> Dashboard:
    """The figures of the admin index for `user`'s agencies (all of them for a superuser).

    A fixed number of queries, whatever the number of agencies and items.
    """
    now = now or timezone.now()
    agencies = agencies_in_scope(user)
    per_window: dict[int, tuple[dict[UUID, Any], dict[UUID, Any], dict[UUID, Any]]] = {}
    for days in WINDOWS:
        start = now - timedelta(days=days)
        per_window[days] = (
            dossier_stats.on_time_by_agency(agencies, start, now),
            dossier_stats.ratings_by_agency(agencies, start, now),
            feedback_stats.ratings_by_agency(agencies, start, now),
        )
    ids: set[UUID] = set()
    for tallies in per_window.values():
        for by_agency in tallies:
            ids.update(by_agency)
    names = dict(Agency.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    rows = [
        AgencyRow(
            id=agency_id,
            name=names.get(agency_id, ""),
            windows=[
                WindowFigures(
                    days=days,
                    on_time=on_time.get(agency_id, OnTimeTally()),
                    dossier_rating=dossier_ratings.get(agency_id, RatingTally()),
                    feedback_rating=feedback_ratings.get(agency_id, RatingTally()),
                )
                for days, (on_time, dossier_ratings, feedback_ratings) in per_window.items()
            ],
        )
        for agency_id in ids
    ]
    busiest = sorted(rows, key=lambda row: (-row.activity, row.name))[:MAX_AGENCY_ROWS]
    shown = sorted(busiest, key=lambda row: row.name)
    return Dashboard(
        scope=_scope_label(user),
        dossiers=dossier_stats.dossier_workload(agencies, now, _week_end(now)),
        feedback=feedback_stats.feedback_workload(agencies, now - timedelta(days=30)),
        windows=WINDOWS,
        rows=shown,
        agencies_with_figures=len(rows),
        chart=on_time_chart(shown),
    )


def on_time_chart(rows: list[AgencyRow]) -> Chart | None:
    """Two bars per agency (the on-time rate over each window); None when no agency
    completed anything, since an empty chart says less than the table's dashes."""
    if not any(w.on_time.completed for row in rows for w in row.windows):
        return None
    label_width, plot_width, top, bar, gap, group = 230, 320, 24, 9, 2, 30
    chart_rows = []
    for index, row in enumerate(rows):
        group_y = top + index * group
        bars = []
        for position, window in enumerate(row.windows):
            rate = window.on_time.rate
            bars.append(
                ChartBar(
                    y=group_y + position * (bar + gap),
                    width=round(plot_width * (rate or 0) / 100, 1),
                    days=window.days,
                )
            )
        parts = [
            _("%(days)d days: %(rate)s (%(on_time)d of %(completed)d on time)")
            % {
                "days": w.days,
                "rate": w.on_time_text,
                "on_time": w.on_time.on_time,
                "completed": w.on_time.completed,
            }
            for w in row.windows
        ]
        label = row.name if len(row.name) <= 34 else f"{row.name[:33]}…"
        chart_rows.append(
            ChartRow(
                label=label,
                title=f"{row.name} — {'; '.join(parts)}",
                label_y=group_y + bar + 1,
                bars=bars,
                value_text=" / ".join(w.on_time_text for w in row.windows),
            )
        )
    ticks = [(label_width + plot_width * p / 100, f"{p}%") for p in (0, 25, 50, 75, 100)]
    return Chart(
        width=label_width + plot_width + 120,
        height=top + len(rows) * group + 4,
        label_width=label_width,
        plot_width=plot_width,
        rows=chart_rows,
        ticks=ticks,
    )
