"""Request-wide concerns that must run before any view: body size and tenant scope."""

from django.conf import settings
from django.http import Http404, JsonResponse

from tenants import scope


def error_body(*, type: str, code: str, message: str, field: str | None = None) -> dict:
    error = {"type": type, "code": code, "message": message}
    if field:
        error["field"] = field
    return {"error": error}


class NulInPathMiddleware:
    """A path with U+0000 (``/api/v1/payments/pay_%00``) names nothing: 404 at once.

    No id holds a NUL, and PostgreSQL refuses one in a query parameter with an error
    (a 500) instead of finding no row. One check here covers every route: API, admin,
    hosted payment page and reports. The 404 handler answers API paths in the error shape.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path:
            raise Http404("No such resource")
        return self.get_response(request)


class ApiBodySizeLimitMiddleware:
    """Refuse oversized API bodies with 413 in the error shape, before parsing them.

    Uploads (bank statements, return files) have their own, larger limit.
    """

    # Room for the multipart envelope (boundaries, part headers) around one file.
    MULTIPART_OVERHEAD = 64 * 1024

    def __init__(self, get_response):
        self.get_response = get_response

    def limit_for(self, path: str) -> int:
        if path.startswith("/api/v1/statements"):
            return settings.HUB_UPLOAD_MAX_BODY_BYTES
        if path.startswith("/api/v1/collection-returns"):
            return settings.HUB_RETURN_FILE_MAX_BYTES + self.MULTIPART_OVERHEAD
        return settings.HUB_API_MAX_BODY_BYTES

    def __call__(self, request):
        if request.path.startswith("/api/"):
            limit = self.limit_for(request.path)
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            if length < 0:
                return JsonResponse(
                    error_body(
                        type="invalid_request",
                        code="invalid_content_length",
                        message="Content-Length is not a number",
                    ),
                    status=400,
                )
            if length > limit:
                return JsonResponse(
                    error_body(
                        type="invalid_request",
                        code="body_too_large",
                        message=f"Request body exceeds {limit} bytes",
                    ),
                    status=413,
                )
        return self.get_response(request)


class TenantScopeMiddleware:
    """Every request starts unscoped (fail closed) and ends with its scope undone.

    API requests get their tenant from the API key during authentication. The admin
    opts out of scoping explicitly; its ModelAdmins filter by the user's agencies.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        opted_out = request.path.startswith("/admin/")
        token = scope.activate(scope.ALL_TENANTS if opted_out else None)
        try:
            return self.get_response(request)
        finally:
            scope.deactivate(token)
