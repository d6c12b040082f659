"""pain.008 bank files hold debtors' names and IBANs: on disk they are ciphertext,
mode 0600, and only the hub (the API and admin downloads) reads them."""

import datetime as dt
import io
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from lxml import etree

from collection.services import runs
from tenants.scope import tenant_scope
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_with_file(tenant, collections):
    _debt, mandate, _plan = collections.debt_in_plan()
    with tenant_scope(tenant):
        run = runs.start_run(
            tenant=tenant, run_date=dt.date(2024, 2, 29), trigger="api", enqueue=False
        )
        run = runs.process_run(run=run)
    assert run.file, "the run wrote a bank file"
    return run, mandate


def test_the_bank_file_on_disk_holds_no_name_or_iban(run_with_file):
    run, mandate = run_with_file
    path = Path(run.file.path)
    on_disk = path.read_bytes()
    assert mandate.iban.encode() not in on_disk
    assert mandate.account_holder_name.encode() not in on_disk
    assert b"<?xml" not in on_disk and b"CstmrDrctDbtInitn" not in on_disk
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_api_download_is_the_plain_bank_file(tenant, run_with_file):
    run, mandate = run_with_file
    response = client_for(tenant).get(f"/api/v1/collection-runs/{run.pk}/file")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    document = etree.fromstring(body)
    assert document.findtext(".//{*}GrpHdr/{*}MsgId") == run.file_message_id
    assert mandate.iban in body.decode()
    import hashlib

    assert hashlib.sha256(body).hexdigest() == run.file_sha256  # what the bank receives


def test_bank_files_move_to_a_new_key_and_plain_old_files_get_encrypted(
    settings, tenant, run_with_file
):
    run, mandate = run_with_file
    path = Path(run.file.path)
    plain = run.file.open("rb").read()
    old_key = settings.HUB_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.HUB_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("reencrypt_secrets", stdout=io.StringIO())
    settings.HUB_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    assert run.file.open("rb").read() == plain

    path.write_bytes(plain)  # a file written before bank files were encrypted
    assert run.file.open("rb").read() == plain  # still readable...
    out = io.StringIO()
    call_command("reencrypt_secrets", stdout=out)
    assert "collection.CollectionRun.file (files): 1 stored, 1 under an older key" in (
        out.getvalue()
    )
    assert mandate.iban.encode() not in path.read_bytes()  # ...and now encrypted
    assert run.file.open("rb").read() == plain
