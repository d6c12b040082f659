"""Retention: ended registrations, and what only they justified, are erased after the
period of their legal basis; a deceased person's record follows its own rule."""

from __future__ import annotations

import datetime as dt
import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from collection.models import Debt
from hub.events.models import Event
from hub.models import AuditEntry
from registration import services
from registration.models import (
    Constituent,
    ConstituentAccess,
    Identifier,
    LifeEvent,
    LifeEventReport,
    Registration,
)
from tenants.scope import all_tenants, tenant_scope
from tests.collection.conftest import Collections
from tests.conftest import client_for
from tests.registration.conftest import person_body
from tests.support.identifiers import random_bsn

pytestmark = pytest.mark.django_db

CONSENT_DAYS = settings.HUB_REGISTRY_RETENTION_DAYS["consent"]


def consent_body(bsn):
    body = person_body(bsn, reference="C-1")
    body["registration"].update(
        legal_basis="consent", consent_given_at="2024-01-01T09:00:00Z", purpose="newsletter"
    )
    return body


def end(client, registration_id):
    response = client.post(f"/api/v1/registrations/{registration_id}/end", {"reason": "withdrawn"})
    assert response.status_code == 200
    with all_tenants():
        return Registration.objects.get(pk=registration_id).ended_at


def retention_audit(tenant):
    with all_tenants():
        return list(AuditEntry.objects.filter(tenant=tenant, action="retention erasure"))


def test_an_ended_registration_is_erased_after_its_period_and_not_before(api, other_api, bsn):
    con = api.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    consented = other_api.post("/api/v1/constituents", consent_body(bsn)).json()
    other_api.post(
        f"/api/v1/constituents/{con}/life-events",
        {"kind": "name_change", "occurred_on": "2024-02-01", "details": {"name": "Jan Smit"}},
    )
    ended_at = end(other_api, consented["registration"]["id"])

    early = services.apply_retention(now=ended_at + timedelta(days=CONSENT_DAYS - 1))
    assert early.registrations_erased == 0
    with all_tenants():
        assert Registration.objects.filter(pk=consented["registration"]["id"]).exists()
    assert retention_audit(other_api.tenant) == []

    late = services.apply_retention(now=ended_at + timedelta(days=CONSENT_DAYS + 1))
    assert late.erased_registration_ids == [consented["registration"]["id"]]
    with all_tenants():
        assert not Registration.objects.filter(pk=consented["registration"]["id"]).exists()
        # What only that registration justified went with it: its agency's report.
        assert not LifeEventReport.objects.filter(tenant=other_api.tenant).exists()
        # The person stays: the first agency's public-task registration still holds.
        assert Registration.objects.filter(tenant=api.tenant, status="active").exists()
    constituent = Constituent.objects.get(pk=con)
    assert constituent.name == "Jan Smit" and constituent.identifiers.count() == 1
    assert LifeEvent.objects.filter(constituent=constituent).count() == 1

    [entry] = retention_audit(other_api.tenant)
    assert entry.object_id == consented["registration"]["id"]
    assert entry.changes["rule"] == "ended registration"
    assert entry.changes["retention_days"] == CONSENT_DAYS
    assert entry.changes["legal_basis"] == "consent"
    assert entry.changes["constituent_record"] == "kept"
    written = json.dumps(entry.changes) + entry.summary
    for personal in (bsn, "Jan", "Smit", "Stationsplein", "newsletter", "C-1"):
        assert personal not in written
    # A second run finds nothing left.
    assert services.apply_retention(now=ended_at + timedelta(days=CONSENT_DAYS + 2)) == (
        services.RetentionOutcome()
    )


def test_the_period_is_per_legal_basis_and_a_setting(api, bsn, settings):
    created = api.post("/api/v1/constituents", person_body(bsn)).json()  # public_task
    ended_at = end(api, created["registration"]["id"])
    public_task_days = settings.HUB_REGISTRY_RETENTION_DAYS["public_task"]
    assert public_task_days > CONSENT_DAYS
    later = ended_at + timedelta(days=CONSENT_DAYS + 1)
    assert services.apply_retention(now=later).registrations_erased == 0
    settings.HUB_REGISTRY_RETENTION_DAYS = {
        **settings.HUB_REGISTRY_RETENTION_DAYS,
        "public_task": CONSENT_DAYS,
    }
    assert services.apply_retention(now=later).registrations_erased == 1


def test_a_person_no_registration_justifies_is_erased_or_anonymised_where_debts_point(
    make_tenant,
):
    agency = Collections(make_tenant())
    owing, free = random_bsn(), random_bsn()
    owing_person = agency.constituent(owing)
    free_person = agency.constituent(free)
    debt = agency.debt(constituent=owing_person)
    client = client_for(agency.tenant)
    client.get(f"/api/v1/constituents/{owing_person.pk}")  # an access logged
    with all_tenants():
        registrations = {
            r.constituent_id: r.pk
            for r in Registration.objects.filter(tenant=agency.tenant, status="active")
        }
    ended = [end(client, registrations[p.pk]) for p in (owing_person, free_person)]
    period = settings.HUB_REGISTRY_RETENTION_DAYS["public_task"]

    outcome = services.apply_retention(now=max(ended) + timedelta(days=period + 1))
    assert (outcome.constituents_anonymised, outcome.constituents_deleted) == (1, 1)
    assert not Constituent.objects.filter(pk=free_person.pk).exists()
    kept = Constituent.objects.get(pk=owing_person.pk)
    assert kept.erased_at is not None
    assert (kept.name, kept.date_of_birth, kept.address, kept.email, kept.phone) == (
        "(erased)",
        None,
        {},
        "",
        "",
    )
    assert not Identifier.objects.filter(constituent=kept).exists()
    assert not kept.versions.exists()
    with all_tenants():
        assert not ConstituentAccess.objects.filter(constituent=kept).exists()
        # The debt (a financial record with its own retention) is whole and still there.
        assert Debt.objects.get(pk=debt.pk).constituent_id == kept.pk
        assert all(e.payload == {"erased": True} for e in Event.objects.filter(subject_id=kept.pk))
    outcomes = {e.changes["constituent_record"] for e in retention_audit(agency.tenant)}
    assert outcomes == {"anonymised", "deleted"}
    # The number is free again: registering it makes a new record, not the erased one.
    again = agency.constituent(owing)
    assert again.pk != kept.pk


def test_a_deceased_persons_record_follows_its_own_rule(api, other_api, bsn, settings):
    con = api.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    other_api.post("/api/v1/constituents", person_body(bsn))
    died = timezone.localdate() - dt.timedelta(days=10)
    with tenant_scope(api.tenant):
        services.record_life_event(
            tenant=api.tenant,
            actor="test",
            constituent=Constituent.objects.get(pk=con),
            kind="death",
            occurred_on=died,
        )
    days = settings.HUB_REGISTRY_DECEASED_RETENTION_DAYS
    moment = timezone.now().replace(hour=12)

    def run(at_day):
        return services.apply_retention(
            now=moment + dt.timedelta(days=(died + dt.timedelta(days=at_day) - moment.date()).days)
        )

    assert run(days - 1).registrations_erased == 0
    with all_tenants():
        assert Registration.objects.filter(constituent_id=con, status="active").count() == 2
    # Active registrations of a living person are never touched; of the dead, they are.
    outcome = run(days + 1)
    assert outcome.registrations_erased == 2 and outcome.constituents_deleted == 1
    assert not Constituent.objects.filter(pk=con).exists()
    for tenant in (api.tenant, other_api.tenant):
        [entry] = retention_audit(tenant)
        assert entry.changes["rule"] == "deceased"
        assert entry.changes["retention_days"] == days
        assert entry.changes["registration_status"] == "active"

    settings.HUB_REGISTRY_DECEASED_RETENTION_DAYS = 5  # the rule is a setting
    survivor = api.post("/api/v1/constituents", person_body(random_bsn())).json()["id"]
    assert services.apply_retention(now=timezone.now() + dt.timedelta(days=3650)) == (
        services.RetentionOutcome()
    ), "a living person with an active registration is never erased"
    assert Constituent.objects.filter(pk=survivor).exists()


def test_the_nightly_beat_job_runs_the_retention_rules(api, bsn):
    from hub.celery import app
    from registration.tasks import apply_retention

    schedule = settings.CELERY_BEAT_SCHEDULE["registration-apply-retention"]
    assert schedule["task"] == "registration.apply_retention" in app.tasks
    created = api.post("/api/v1/constituents", consent_body(bsn)).json()
    with all_tenants():
        Registration.objects.filter(pk=created["registration"]["id"]).update(
            status="ended", ended_at=timezone.now() - timedelta(days=CONSENT_DAYS + 1)
        )
    assert apply_retention.apply().get() == {
        "registrations_erased": 1,
        "constituents_deleted": 1,
        "constituents_anonymised": 0,
    }
