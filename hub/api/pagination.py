from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination

from hub.errors import InvalidRequest


class CreatedCursorPagination(CursorPagination):
    """Newest first; a cursor stays stable while rows are being added."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200

    def get_page_size(self, request):
        """``limit`` is a whole number from 1; above 200 it is capped at 200.

        DRF silently falls back to the default page size for ``limit=abc`` or ``limit=0``,
        so a client's typo went unnoticed; it is refused like any other bad input.
        """
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
            raise InvalidRequest(
                "limit must be a whole number from 1 (at most 200 are returned)",
                code="invalid_value",
                field=self.page_size_query_param,
            )
        return min(int(raw), self.max_page_size)

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        # The position is compared with created_at in SQL: a forged cursor holding
        # anything but a timestamp (a NUL, say) would be a database error, not a 404.
        if cursor is not None and cursor.position is not None:
            try:
                valid = parse_datetime(cursor.position) is not None
            except ValueError:
                valid = False
            if not valid or "\x00" in cursor.position:
                raise NotFound(self.invalid_cursor_message)
        return cursor

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Page size, {self.page_size} by default; larger than "
                    f"{self.max_page_size} is capped at {self.max_page_size}."
                )
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters
