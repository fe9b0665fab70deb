"""Query parameters of the reference-data lists. Invalid values answer 400 in the standard
error shape (DjangoFilterBackend raises a ValidationError per parameter)."""

import django_filters
from django import forms
from django.db.models import QuerySet

from agencies.models import AdministrativeUnit, Agency
from common.text import fold


class IntegerFilter(django_filters.Filter):
    # NumberFilter accepts decimals such as "8.5"; codes are whole numbers.
    field_class = forms.IntegerField


class AdministrativeUnitFilter(django_filters.FilterSet):
    level = django_filters.ChoiceFilter(
        choices=AdministrativeUnit.Level.choices, help_text="`province` or `commune`."
    )
    parent = IntegerFilter(
        field_name="parent__code",
        min_value=0,
        help_text="Province code: only the communes of that province.",
    )
    search = django_filters.CharFilter(
        method="filter_search",
        help_text="Part of the name, with or without diacritics (`lam binh`, `Lâm Bình`).",
    )

    class Meta:
        model = AdministrativeUnit
        fields = ("level", "parent", "search")

    def filter_search(
        self, queryset: QuerySet[AdministrativeUnit], name: str, value: str
    ) -> QuerySet[AdministrativeUnit]:
        folded = fold(value)
        return queryset.filter(search_name__contains=folded) if folded else queryset


class AgencyFilter(django_filters.FilterSet):
    parent = django_filters.UUIDFilter(
        field_name="parent_id", help_text="Id of the parent agency: its direct children."
    )
    level = django_filters.ChoiceFilter(
        choices=Agency.Level.choices, help_text="`ministry`, `province` or `commune`."
    )
    administrative_unit = IntegerFilter(
        field_name="administrative_unit__code",
        min_value=0,
        help_text=(
            "Code of the province or commune the agency serves. Province and commune codes "
            "overlap; add `level` to tell them apart."
        ),
    )

    class Meta:
        model = Agency
        fields = ("parent", "level", "administrative_unit")
