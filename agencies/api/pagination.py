from rest_framework.exceptions import NotFound

from common.api.pagination import CursorPagination


class AdministrativeUnitPagination(CursorPagination):
    """Ordered by (level, code) through the `sort_key` of `selectors.administrative_units`."""

    ordering = ("sort_key",)  # type: ignore[assignment]

    def decode_cursor(self, request):  # type: ignore[no-untyped-def]
        cursor = super().decode_cursor(request)
        # A forged position would otherwise reach the integer comparison and fail as a 500.
        if cursor is not None and cursor.position is not None:
            try:
                int(cursor.position)
            except ValueError:
                raise NotFound(self.invalid_cursor_message) from None
        return cursor


class AgencyPagination(CursorPagination):
    ordering = ("code",)  # type: ignore[assignment]
