"""Input a fuzzer or an attacker sends: each is a 4xx in the error shape, never a 500."""

import datetime as dt

import pytest

from tests.hub.test_error_shape import VALID, assert_error, service_count

pytestmark = pytest.mark.django_db


# --- date-time filters ----------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-01T00:00:00+16:00",
        "2024-01-01T00:00:00-16:00",
        "2024-01-01T00:00:00+23:59",
    ],
)
def test_filter_offset_beyond_what_postgresql_accepts_is_400(api, value):
    response = api.get("/api/v1/services", {"created_after": value})
    assert_error(response, 400, "offset_out_of_range", "created_after")


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-15:00", "0001-01-01T00:00:00+15:00"])
def test_filter_instant_outside_the_calendar_in_utc_is_400(api, value):
    response = api.get("/api/v1/services", {"created_before": value})
    assert_error(response, 400, "out_of_range", "created_before")


def test_filter_offset_at_the_limit_still_compares_instants(api):
    created = api.post("/api/v1/services", VALID)
    assert created.status_code == 201, created.content
    created_at = dt.datetime.fromisoformat(created.json()["created_at"].replace("Z", "+00:00"))
    far_east = dt.timezone(dt.timedelta(hours=15, minutes=59))
    # The same instant written with a +15:59 offset: "after" includes it, one second
    # later excludes it, so the offset was honoured rather than ignored.
    just_before = (created_at - dt.timedelta(seconds=1)).astimezone(far_east).isoformat()
    just_after = (created_at + dt.timedelta(seconds=1)).astimezone(far_east).isoformat()
    listed = api.get("/api/v1/services", {"created_after": just_before})
    assert [s["code"] for s in listed.json()["results"]] == [VALID["code"]]
    listed = api.get("/api/v1/services", {"created_after": just_after})
    assert listed.json()["results"] == []


# --- NUL characters -------------------------------------------------------------------
# PostgreSQL text and jsonb cannot hold U+0000: anything that reaches the database with
# one is a DataError (500) there, and an agency would never mean to send one.

NUL_BODIES = [
    pytest.param({**VALID, "name": "Pass\u0000port"}, id="in-a-string-value"),
    pytest.param({**VALID, "interaction_kind": "\u0000"}, id="in-a-choice-value"),
    pytest.param({**VALID, "co\u0000lour": "red"}, id="in-an-unknown-field-name"),
    pytest.param({**VALID, "name": ["\u0000"]}, id="inside-a-list"),
    pytest.param({**VALID, "name": {"\u0000": 1}}, id="in-a-nested-key"),
]


@pytest.mark.parametrize("payload", NUL_BODIES)
@pytest.mark.parametrize("idempotency_key", [None, "nul-1"])
def test_nul_anywhere_in_the_body_is_400(api, tenant, payload, idempotency_key):
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
    response = api.post("/api/v1/services", payload, **headers)
    error = assert_error(response, 400, "nul_character")
    # The refusal names the field without repeating the NUL (it could not be stored).
    assert "\u0000" not in (error.get("field") or "") + error["message"]
    assert service_count(tenant) == 0
    # A retry with the key gets the same refusal, not a 500 or a 409.
    again = api.post("/api/v1/services", payload, **headers)
    assert again.status_code == 400
    assert again.json()["error"] == error


@pytest.mark.postgres
@pytest.mark.parametrize("payload", NUL_BODIES)
def test_nul_is_refused_on_postgresql_with_an_idempotency_key(api, tenant, payload):
    response = api.post("/api/v1/services", payload, HTTP_IDEMPOTENCY_KEY="nul-pg")
    assert_error(response, 400, "nul_character")
    # The key stays usable for the request the agency meant to send.
    fixed = api.post("/api/v1/services", VALID, HTTP_IDEMPOTENCY_KEY="nul-pg")
    assert fixed.status_code == 201, fixed.content


def test_nul_in_payment_metadata_is_400(api, tenant):
    from tenants import services as tenant_services

    service = tenant_services.create_service(
        tenant=tenant, code="permit", name="Permit", interaction_kind="discretionary"
    )
    body = {
        "amount": 1250,
        "currency": "EUR",
        "description": "Permit",
        "reference": "P-1",
        "service": service.pk,
        "metadata": {"case": "A\u0000B"},
    }
    assert_error(api.post("/api/v1/payments", body), 400, "nul_character", "metadata.case")


def test_nul_in_the_idempotency_key_is_400(api, tenant):
    response = api.post("/api/v1/services", VALID, HTTP_IDEMPOTENCY_KEY="key\u0000")
    assert_error(response, 400, "invalid_idempotency_key")
    assert service_count(tenant) == 0


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/payments/pay_%00",
        "/api/v1/payments/pay_%00/refunds",
        "/api/v1/services/svc_%00",
        "/api/v1/%00",
    ],
)
def test_nul_in_a_path_id_is_404(api, path):
    assert_error(api.get(path), 404, "not_found")


def test_nul_in_a_web_path_is_404_not_500(client):
    assert client.get("/pay/tok%00/").status_code == 404
    assert client.get("/reconciliation/runs/run_%00/").status_code in (302, 404)


@pytest.mark.parametrize(
    "raw",
    [
        '{"code": "a", "name": "b\\ud800", "interaction_kind": "discretionary"}',
        '{"code": "a", "name": "b", "interaction_kind": "discretionary", "x\\udfff": 1}',
    ],
)
@pytest.mark.parametrize("idempotency_key", [None, "surrogate-1"])
def test_a_lone_surrogate_is_400_not_an_unencodable_500(api, tenant, raw, idempotency_key):
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
    response = api.generic("POST", "/api/v1/services", raw, "application/json", **headers)
    assert_error(response, 400, "invalid_unicode")
    assert service_count(tenant) == 0


# --- deeply nested JSON ---------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("[" * 100_000 + "]" * 100_000, id="100k-arrays"),
        pytest.param('{"a":' * 50_000 + "1" + "}" * 50_000, id="50k-objects"),
        pytest.param(
            '{"code": "a", "name": ' + "[" * 500 + "]" * 500 + "}", id="500-under-a-field"
        ),
    ],
)
def test_deeply_nested_json_is_400(api, tenant, raw, settings):
    assert len(raw) < settings.HUB_API_MAX_BODY_BYTES  # so the size limit is not what refuses
    response = api.generic(
        "POST", "/api/v1/services", raw, "application/json", HTTP_IDEMPOTENCY_KEY="deep"
    )
    assert_error(response, 400, "nested_too_deeply")
    assert service_count(tenant) == 0


def test_ordinary_nesting_still_parses(api, tenant):
    from tenants import services as tenant_services

    service = tenant_services.create_service(
        tenant=tenant, code="permit", name="Permit", interaction_kind="discretionary"
    )
    body = {
        "amount": 1250,
        "currency": "EUR",
        "description": "Permit",
        "reference": "P-1",
        "service": service.pk,
        "metadata": {"case": "A-1"},
    }
    assert api.post("/api/v1/payments", body).status_code == 201


# --- errors inside list items ---------------------------------------------------------


@pytest.mark.parametrize(
    "second,code",
    [(None, "null_not_allowed"), (["payment.*"], "invalid_value"), ({"a": 1}, "invalid_value")],
)
def test_an_invalid_second_list_item_is_400_naming_the_item(api, second, code):
    response = api.post(
        "/api/v1/webhook-endpoints",
        {"url": "https://hooks.example.org/x", "event_types": ["payment.*", second]},
    )
    assert_error(response, 400, code, "event_types.1")


def test_every_bad_list_item_is_listed(api):
    response = api.post(
        "/api/v1/webhook-endpoints",
        {"url": "https://hooks.example.org/x", "event_types": ["x" * 101, "payment.*", None]},
    )
    error = assert_error(response, 400, field="event_types.0")
    assert [(d["field"], d["code"]) for d in error["details"]] == [
        ("event_types.0", "max_length"),
        ("event_types.2", "null_not_allowed"),
    ]


# --- pagination, content types --------------------------------------------------------


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1.5", "٣"])
def test_a_bad_limit_is_400_not_silently_the_default(api, limit):
    assert_error(api.get("/api/v1/services", {"limit": limit}), 400, "invalid_value", "limit")


def test_a_limit_above_the_maximum_is_capped(api, tenant):
    from tenants import services as tenant_services

    for index in range(3):
        tenant_services.create_service(
            tenant=tenant, code=f"s{index}", name=f"S{index}", interaction_kind="discretionary"
        )
    assert len(api.get("/api/v1/services", {"limit": "2"}).json()["results"]) == 2
    assert len(api.get("/api/v1/services", {"limit": "100000"}).json()["results"]) == 3


@pytest.mark.parametrize("position", ["not-a-time", "2024-01-01T00:00:00\u0000"])
def test_a_forged_cursor_is_404_not_a_database_error(api, position):
    import base64
    from urllib.parse import urlencode

    cursor = base64.b64encode(urlencode({"p": position}).encode()).decode()
    assert_error(api.get("/api/v1/services", {"cursor": cursor}), 404, "not_found")


def test_an_error_is_json_even_when_xml_was_asked_for(api):
    response = api.get("/api/v1/collection-runs/run_nope/file", HTTP_ACCEPT="application/xml")
    assert_error(response, 404, "not_found")
    response = api.get("/api/v1/collection-runs/run_nope/file?format=xml")
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("key", ["caf\u00e9", "tab\there", ""])
def test_an_idempotency_key_outside_printable_ascii_is_400(api, tenant, key):
    response = api.post("/api/v1/services", VALID, HTTP_IDEMPOTENCY_KEY=key)
    assert_error(response, 400, "invalid_idempotency_key")
    assert service_count(tenant) == 0


# --- typed filters --------------------------------------------------------------------


@pytest.mark.parametrize(
    "path,query",
    [
        ("/api/v1/services", "created_before="),
        ("/api/v1/services", "interaction_kind="),
        ("/api/v1/instalments", "due_before="),
        ("/api/v1/statement-lines", "matched=null"),
        ("/api/v1/statement-lines", "matched="),
    ],
)
def test_an_empty_or_untyped_filter_value_is_400_not_ignored(api, path, query):
    field = query.split("=")[0]
    assert_error(api.get(f"{path}?{query}"), 400, "invalid_value", field)


def test_empty_text_and_id_filters_still_mean_not_filtering(api):
    assert api.get("/api/v1/instalments?debt=&reference=").status_code == 200
    assert api.get("/api/v1/statement-lines?matched=true").status_code == 200
