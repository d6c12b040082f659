"""Every error, whatever raised it, answers in one shape and changes nothing."""

import pytest

from tenants.models import Service

pytestmark = pytest.mark.django_db

VALID = {"code": "passport", "name": "Passport renewal", "interaction_kind": "discretionary"}


def assert_error(response, status: int, code: str | None = None, field: str | None = None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert {"type", "code", "message"} <= set(error)
    assert error["message"]
    if code:
        assert error["code"] == code, error
    if field:
        assert error["field"] == field, error
    return error


def service_count(tenant) -> int:
    from tenants.scope import tenant_scope

    with tenant_scope(tenant):
        return Service.objects.count()


def test_malformed_json(api, tenant):
    response = api.generic(
        "POST", "/api/v1/services", '{"code": "x", ', content_type="application/json"
    )
    assert_error(response, 400, "malformed_json")
    assert service_count(tenant) == 0


def test_body_that_is_not_an_object(api):
    response = api.generic("POST", "/api/v1/services", "[1, 2]", content_type="application/json")
    assert_error(response, 400)


def test_wrong_types(api, tenant):
    response = api.post("/api/v1/services", {**VALID, "interaction_kind": 12})
    assert_error(response, 400, field="interaction_kind")
    response = api.post("/api/v1/services", {**VALID, "name": {"nested": True}})
    assert_error(response, 400, field="name")
    assert service_count(tenant) == 0


def test_unknown_fields_are_refused(api, tenant):
    response = api.post("/api/v1/services", {**VALID, "colour": "red"})
    assert_error(response, 400, "unknown_field", "colour")
    assert service_count(tenant) == 0


def test_missing_fields_are_listed(api):
    response = api.post("/api/v1/services", {})
    error = assert_error(response, 400, "missing_field")
    assert {d["field"] for d in error["details"]} == {"code", "name", "interaction_kind"}


def test_oversized_body_is_413(api, settings, tenant):
    big = {**VALID, "name": "x" * (settings.HUB_API_MAX_BODY_BYTES + 1)}
    response = api.post("/api/v1/services", big)
    assert_error(response, 413, "body_too_large")
    assert service_count(tenant) == 0


def test_unsupported_media_type(api):
    response = api.generic("POST", "/api/v1/services", "code=x", content_type="text/plain")
    assert_error(response, 415)


def test_unknown_route_is_json_404(api):
    assert_error(api.get("/api/v1/no-such-thing"), 404, "not_found")


def test_missing_object_is_404(api):
    assert_error(api.get("/api/v1/services/svc_doesnotexist"), 404, "not_found")


def test_method_not_allowed(api):
    assert_error(api.delete("/api/v1/services"), 405)


def test_duplicate_code_is_409(api):
    assert api.post("/api/v1/services", VALID).status_code == 201
    assert_error(api.post("/api/v1/services", VALID), 409, "duplicate_code", "code")


def test_rate_limit_is_429_with_retry_after(api):
    from hub.api.throttling import ApiKeyRateThrottle

    original = ApiKeyRateThrottle.THROTTLE_RATES
    ApiKeyRateThrottle.THROTTLE_RATES = {"api_key": "3/day"}  # no window edge mid-test
    try:
        statuses = [api.get("/api/v1/services").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        response = api.get("/api/v1/services")
        assert_error(response, 429, "rate_limited")
        assert int(response["Retry-After"]) > 0
    finally:
        ApiKeyRateThrottle.THROTTLE_RATES = original


def test_currencies_are_iso_4217_codes():
    from hub.api.serializers import iso4217_codes

    codes = iso4217_codes()
    assert {"EUR", "GBP", "USD", "JPY", "XOF", "XCD"} <= codes  # X… national ones stay
    assert not {"ABC", "EUX", "XAU", "XTS", "XXX"} & codes
