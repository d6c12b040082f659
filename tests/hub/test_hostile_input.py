"""Input a fuzzer or an attacker sends: each is a 4xx in the error shape, never a 500."""

import datetime as dt

import pytest

from tests.hub.test_error_shape import VALID, assert_error

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
