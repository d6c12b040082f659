"""One error shape for every API error.

    {"error": {"type": "invalid_request", "code": "amount_too_small",
               "message": "…", "field": "amount", "details": [...]}}

``details`` lists every field error when a request has more than one problem.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from hub.errors import HubError

logger = logging.getLogger(__name__)

TYPE_BY_STATUS = {
    400: "invalid_request",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found",
    405: "invalid_request",
    406: "invalid_request",
    409: "conflict",
    413: "invalid_request",
    415: "invalid_request",
    422: "rule_violation",
    429: "rate_limited",
    503: "service_unavailable",
}
# Seconds a client is asked to wait when the database is unreachable.
DATABASE_RETRY_AFTER = 5


# The HTTP status of each kind of domain error (hub/errors.py). The API layer is
# the only place that knows a refusal as a status code.
STATUS_BY_KIND = {
    "invalid_request": status.HTTP_400_BAD_REQUEST,
    "permission_error": status.HTTP_403_FORBIDDEN,
    "conflict": status.HTTP_409_CONFLICT,
    "rule_violation": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "provider_unavailable": status.HTTP_502_BAD_GATEWAY,
}


def _flatten(detail, prefix: str | None = None) -> list[dict]:
    """Turn DRF's nested error dict/list into a flat list of field errors.

    A list field's errors come keyed by the item's index (``{1: [...]}`` for
    ``["payment.*", null]``), a nested serializer's by name, a ``many=True`` one as a
    list with one entry per item: each item's path is ``field.index``.
    """
    if isinstance(detail, dict):
        items = []
        for key, value in detail.items():
            key = str(key)
            field = None if key in ("non_field_errors", "__all__") else key
            items.extend(_flatten(value, _join(prefix, field)))
        return items
    if isinstance(detail, list):
        items = []
        for index, value in enumerate(detail):
            if isinstance(value, (dict, list)):
                items.extend(_flatten(value, _join(prefix, str(index))))
            else:
                items.extend(_flatten(value, prefix))
        return items
    code = getattr(detail, "code", None) or "invalid"
    return [{"field": prefix, "code": _normalise_code(code), "message": str(detail)}]


def _join(prefix: str | None, field: str | None) -> str | None:
    return ".".join(p for p in (prefix, field) if p) or None


def _normalise_code(code: str) -> str:
    # DRF's own codes for common field problems, renamed to say what went wrong.
    return {
        "required": "missing_field",
        "null": "null_not_allowed",
        "invalid": "invalid_value",
        "parse_error": "malformed_json",
        # Django's and DRF's name for what the hub's JSON parser calls nul_character.
        "null_characters_not_allowed": "nul_character",
    }.get(code, code)


def error_response(
    *,
    status_code: int,
    code: str,
    message: str,
    field: str | None = None,
    details: list[dict] | None = None,
    headers: dict | None = None,
) -> Response:
    error = {"type": TYPE_BY_STATUS.get(status_code, "api_error"), "code": code, "message": message}
    if field:
        error["field"] = field
    if details and len(details) > 1:
        error["details"] = details
    return Response({"error": error}, status=status_code, headers=headers)


def exception_handler(exc, context):
    if isinstance(exc, (OperationalError, InterfaceError)):
        # The database is unreachable (an outage, a failover) or gave up on this
        # transaction (a deadlock): each write is one transaction, rolled back whole, so
        # the client sends the same request again, later. Not a bug in the request.
        logger.error("database unavailable: %s", type(exc).__name__)
        return error_response(
            status_code=503,
            code="database_unavailable",
            message=(
                "The database is unavailable or busy; send the request again (with the "
                "same Idempotency-Key) after the Retry-After seconds"
            ),
            headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
        )
    if isinstance(exc, HubError):
        return error_response(
            status_code=STATUS_BY_KIND[exc.kind],
            code=_normalise_code(exc.code),
            message=exc.message,
            field=exc.field,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("No such object")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: let Django log it and answer 500

    headers = {}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(int(exc.wait) + 1)
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header

    if isinstance(exc, exceptions.ValidationError):
        details = _flatten(exc.detail) or [
            {"field": None, "code": "invalid_value", "message": "Invalid request"}
        ]
        first = details[0]
        return error_response(
            status_code=exc.status_code,
            code=first["code"],
            message=first["message"],
            field=first["field"],
            details=details,
            headers=headers,
        )

    if isinstance(exc, exceptions.ParseError):
        code, message = "malformed_json", f"The request body could not be parsed: {exc.detail}"
    elif isinstance(exc, exceptions.NotFound):
        code, message = "not_found", str(exc.detail)
    elif isinstance(exc, exceptions.Throttled):
        code, message = "rate_limited", "Too many requests; retry after the Retry-After seconds"
    else:
        codes = exc.get_codes()
        code = _normalise_code(codes if isinstance(codes, str) else exc.default_code)
        message = str(exc.detail)
    return error_response(status_code=exc.status_code, code=code, message=message, headers=headers)
