"""Uploads are size-checked before they are read into memory."""

from __future__ import annotations

import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from collection.models import ReturnFile
from tenants.scope import all_tenants
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
RETURNS = "/api/v1/collection-returns"


@pytest.fixture
def small_limit(settings, monkeypatch):
    """A 4 MB limit: over Django's 2 MB in-memory threshold, so the upload is spooled
    to a temporary file as a real large one is."""
    from collection.services import returns

    settings.HUB_RETURN_FILE_MAX_BYTES = 4 * 1024 * 1024
    monkeypatch.setattr(returns, "MAX_FILE_BYTES", settings.HUB_RETURN_FILE_MAX_BYTES)
    return settings.HUB_RETURN_FILE_MAX_BYTES


def test_an_oversized_return_file_is_refused_without_reading_it_into_memory(tenant, small_limit):
    size = small_limit + 1024  # over the file limit, within the body limit
    body = encode_multipart(BOUNDARY, {"file": SimpleUploadedFile("big.xml", b"<" * size)})
    client = client_for(tenant)
    client.get(RETURNS)  # the first request's one-off costs (imports, caches) aside
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        response = client.generic("POST", RETURNS, body, content_type=MULTIPART_CONTENT)
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "file_too_large"
    # The test client holds one copy of the body; reading the file would add another.
    assert peak < 1.5 * size, f"peak {peak} bytes for a {size}-byte upload"
    with all_tenants():
        assert ReturnFile.objects.count() == 0


def test_a_return_upload_far_over_the_limit_is_refused_before_parsing(tenant, small_limit):
    response = client_for(tenant).generic(
        "POST",
        RETURNS,
        b"",
        content_type=MULTIPART_CONTENT,
        CONTENT_LENGTH=str(small_limit + 1024 * 1024),
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
