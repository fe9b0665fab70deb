from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Cursor pagination, newest first, `?page_size=` up to 100."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering: tuple[str, ...] = ("-created_at", "-id")
