"""The dashboard's figures against known rows, per agency, and who sees which."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from operations import selectors
from payments.models import PaymentState
from tests.operations.conftest import staff_user
from tests.support.admin_urls import admin_change_path

pytestmark = pytest.mark.django_db


def figures_for(*tenants, period="7d"):
    return selectors.payments_by_state(list(tenants), selectors.Period.named(period))


def test_payments_by_state_count_and_sum_per_agency(known_figures, unscoped):
    tax = figures_for(known_figures.tax)
    assert tax[PaymentState.SUCCESS].count == 2
    assert tax[PaymentState.SUCCESS].amounts == {"EUR": 3800}
    assert tax[PaymentState.FAILED].count == 1
    assert tax[PaymentState.FAILED].amounts == {"EUR": 700}
    assert tax[PaymentState.CREATED].amounts == {"EUR": 990}
    # Two of the three finished payments succeeded; the unpaid one does not count.
    assert selectors.success_rate(tax) == pytest.approx(2 / 3)

    both = figures_for(known_figures.tax, known_figures.vehicles)
    assert both[PaymentState.SUCCESS].count == 3
    assert both[PaymentState.SUCCESS].amounts == {"EUR": 43800}


def test_volumes_over_the_period_add_up_to_the_totals(known_figures, unscoped):
    period = selectors.Period.named("7d")
    points = selectors.payment_volumes([known_figures.tax], period)
    assert len(points) == 7
    assert sum(p.created for p in points) == 4
    assert sum(p.succeeded for p in points) == 2
    assert points[-1].created == 4  # all made today, the last bucket


def client_as(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_operator_sees_every_agency_and_can_pick_one(known_figures, operator):
    client = client_as(operator)
    page = client.get("/admin/").content.decode()
    assert "Government shared process hub" in page
    assert "Django administration" not in page
    assert "€438,00" in page  # 12,50 + 25,50 + 400,00 succeeded, as money
    assert "Scheduled jobs" in page

    only_tax = client.get("/admin/", {"agency": known_figures.tax.slug}).content.decode()
    assert "€38,00" in only_tax
    assert "€438,00" not in only_tax


def test_agency_staff_see_their_own_agency_only(known_figures):
    client = client_as(staff_user(known_figures.tax))
    for query in ({}, {"agency": known_figures.vehicles.slug}):
        page = client.get("/admin/", query).content.decode()
        assert "€38,00" in page
        assert "€400,00" not in page and "€438,00" not in page
        assert known_figures.vehicles.name not in page
        assert "Scheduled jobs" not in page  # hub-wide, an operator's matter


def test_every_figure_links_to_the_filtered_list_behind_it(known_figures, operator):
    client = client_as(operator)
    page = client.get("/admin/", {"agency": known_figures.tax.slug}).content.decode()
    links = set(re.findall(r'href="(/admin/[a-z_]+/[a-z_]+/\?[^"]*)"', page))
    assert len(links) > 10
    for link in links:
        # 200, not the admin's 302 to "?e=1" that it answers a lookup it refuses with.
        assert client.get(link.replace("&amp;", "&")).status_code == 200, link

    succeeded = next(link for link in links if "state__exact=success" in link)
    listing = client.get(succeeded.replace("&amp;", "&"))
    assert listing.context["cl"].result_count == 2


def test_times_show_in_the_operators_zone_with_utc_on_hover(known_figures, operator):
    client = client_as(operator)
    payment = known_figures.tax_payments[0]
    page = client.get(admin_change_path("payments.Payment", payment.pk)).content.decode()
    shown = re.search(r'<time datetime="([^"]+)" title="([^"]+ UTC)">', page)
    assert shown, "a time with its UTC form on hover"
    assert shown.group(1).endswith("+00:00")


def test_json_fields_are_indented_on_the_event_page(known_figures, operator):
    from hub.events.models import Event
    from tenants.scope import all_tenants

    with all_tenants():
        event = Event.objects.filter(tenant=known_figures.tax).first()
    page = client_as(operator).get(admin_change_path("hub.Event", event.pk)).content.decode()
    assert '<pre class="hub-json">' in page


def test_collection_runs_and_open_exceptions_per_agency(tenant, other_tenant, unscoped):
    import datetime as dt

    from collection.services import runs
    from tenants.scope import tenant_scope
    from tests.collection.conftest import Collections
    from tests.reconciliation.camt import Entry, camt053
    from tests.reconciliation.conftest import import_bytes, reconcile

    Collections(tenant).debt_in_plan()
    with tenant_scope(tenant):
        run = runs.start_run(
            tenant=tenant, run_date=dt.date(2024, 2, 29), trigger="api", enqueue=False
        )
        run = runs.process_run(run=run)
    today = dt.date.today()
    import_bytes(tenant, camt053([Entry(999, remittance="NOTHING-KNOWN")], booked=today))
    reconcile(tenant, today)

    period = selectors.Period.named("30d")
    mine = selectors.collection_figures([tenant], period)
    assert mine.runs_by_state == {"completed": 1}
    assert mine.selected == run.selected_count >= 1
    theirs = selectors.collection_figures([other_tenant], period)
    assert (theirs.runs_by_state, theirs.selected) == ({}, 0)

    exceptions = selectors.open_exceptions([tenant])
    assert exceptions["unknown_receipt"]["under 1 day"] == 1
    assert sum(exceptions["unknown_receipt"].values()) == 1
    assert selectors.open_exceptions([other_tenant]) == {}


def test_scheduled_jobs_go_by_their_operator_names(operator):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every_5_min = IntervalSchedule.objects.create(every=300, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="payments-resync-with-providers",
        task="payments.resync_with_providers",
        interval=every_5_min,
    )
    page = client_as(operator).get("/admin/").content.decode()
    jobs = page[page.index("Scheduled jobs") :]
    assert "Stuck payment check" in jobs
    assert "janitor" not in jobs.lower()


def test_a_caseworker_sees_collections_but_not_payments(known_figures):
    page = client_as(staff_user(known_figures.tax, role="caseworker", username="case"))
    page = page.get("/admin/").content.decode()
    assert ">Collections</h2>" in page
    assert ">Payments</h2>" not in page
    assert "€38,00" not in page
