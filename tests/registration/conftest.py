import pytest

from registration.models import FieldAccess
from tests.hub.conftest import receivers  # noqa: F401  (webhook receivers, shared)
from tests.support.identifiers import random_bsn

ADDRESS = {"line1": "Stationsplein 1", "postcode": "1012 AB", "city": "Amsterdam", "country": "NL"}


def person_body(bsn=None, name="Jan Jansen", reference="A-1", **extra):
    return {
        "kind": "person",
        "identifier": {"scheme": "nl_bsn", "value": bsn or random_bsn()},
        "name": name,
        "date_of_birth": "1950-03-01",
        "address": ADDRESS,
        "registration": {
            "agency_reference": reference,
            "purpose": "public service",
            "legal_basis": "public_task",
        },
        **extra,
    }


@pytest.fixture
def bsn():
    return random_bsn()


def grant(tenant, *fields):
    """The operator authorises ``tenant`` for these optional fields (all without any)."""
    FieldAccess.objects.update_or_create(
        tenant=tenant, defaults={"visible_fields": list(fields or FieldAccess.Field.values)}
    )
