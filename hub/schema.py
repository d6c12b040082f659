"""OpenAPI generation sees every view's queryset, outside any request: let it look
across tenants (it reads model metadata, never rows)."""

from drf_spectacular.generators import SchemaGenerator

from tenants.scope import all_tenants


class ScopedSchemaGenerator(SchemaGenerator):
    def get_schema(self, request=None, public=False):
        # The OpenAPI schema is built outside any request, and building it touches the
        # views' querysets (filters, choices); it reads no agency's rows.
        with all_tenants():
            return super().get_schema(request=request, public=public)


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["type", "code", "message"],
            "properties": {
                "type": {
                    "type": "string",
                    "enum": [
                        "invalid_request",
                        "authentication_error",
                        "permission_error",
                        "not_found",
                        "conflict",
                        "rule_violation",
                        "rate_limited",
                        "api_error",
                    ],
                },
                "code": {"type": "string", "example": "amount_too_small"},
                "message": {"type": "string"},
                "field": {"type": "string", "nullable": True},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "field": {"type": "string", "nullable": True},
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        }
    },
}

ERROR_STATUSES = {
    "400": "Invalid request: malformed JSON, wrong types, unknown or missing fields",
    "401": "Missing, invalid or revoked API key",
    "403": "The key lacks a scope, or the agency is suspended",
    "404": "No such object, or it belongs to another agency",
    "409": "Conflict: an Idempotency-Key reused with another body, or a duplicate",
    "422": "The request breaks a business rule",
    "429": "Rate limited: retry after the Retry-After seconds",
}


def add_error_responses(result, generator, request, public):
    """Document the one error shape on every authenticated operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if path.endswith(("/health", "/schema", "/docs")):
                continue
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_STATUSES.items():
                if status in ("409", "422") and method != "post":
                    continue
                responses.setdefault(
                    status,
                    {"description": description, "content": {"application/json": {"schema": ref}}},
                )
            if method == "post":
                operation.setdefault("parameters", []).append(
                    {
                        "in": "header",
                        "name": "Idempotency-Key",
                        "required": False,
                        "schema": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 255,
                            "pattern": "^[ -~]+$",
                        },
                        "description": "Retry safely: the same key and body replay the first "
                        "response; another body with the same key is a 409. 1 to 255 "
                        "printable ASCII characters.",
                    }
                )
    return result


def forbid_unknown_request_fields(result, generator, request, public):
    """Say in the schema what StrictSerializer enforces: a request body (JSON or a
    multipart upload), or an object nested in one, with a field the schema does not
    list is refused (``unknown_field``)."""
    schemas = result.get("components", {}).get("schemas", {})
    seen: set[str] = set()

    def close(node):
        if not isinstance(node, dict):
            return
        ref = node.get("$ref", "")
        if ref:
            name = ref.rsplit("/", 1)[-1]
            if name not in seen and name in schemas:
                seen.add(name)
                close(schemas[name])
            return
        if node.get("type") == "object" and "properties" in node:
            node["additionalProperties"] = False
        for child in (node.get("properties") or {}).values():
            close(child)
        close(node.get("items"))
        for key in ("allOf", "oneOf", "anyOf"):
            for child in node.get(key, []):
                close(child)

    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            content = (operation.get("requestBody") or {}).get("content", {})
            for media in content.values():
                close(media.get("schema"))
    return result
