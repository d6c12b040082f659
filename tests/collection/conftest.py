"""Builders for collections tests: every object is made through the services, in scope."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import transaction
from schwifty import IBAN

from collection.models import CollectionProvider, CollectionSettings
from collection.schemes import AccountError, validate_iban
from collection.services import debts, mandates, plans
from hub.events import dispatch
from hub.events.models import Event
from payments.models import ProviderAccount
from registration import services as registration_services
from tenants import services as tenant_services
from tenants.scope import all_tenants, tenant_scope
from tests.support.identifiers import random_bsn

CREDITOR = {
    "creditor_name": "Tax Office",
    "creditor_iban": "NL91ABNA0417164300",
    "creditor_bic": "ABNANL2A",
    "creditor_id": "DE98ZZZ09999999999",
}


def random_iban(rng: random.Random | None = None) -> str:
    """A valid German IBAN (national check digits included) at Commerzbank Köln."""
    rng = rng or random.Random()
    while True:
        account = f"{rng.randrange(10**9, 10**10)}"
        candidate = str(IBAN.generate("DE", bank_code="37040044", account_code=account))
        try:
            return validate_iban(candidate, sepa_only=True)
        except AccountError:
            continue


def pain002(message_id: str, original: str, rejects: list[tuple[str, str, str | None]]) -> bytes:
    """A pain.002.001.03 report rejecting ``(end_to_end_id, reason, amount)`` entries."""
    transactions = []
    for end_to_end, reason, amount in rejects:
        amount_xml = (
            f'<OrgnlTxRef><Amt><InstdAmt Ccy="EUR">{amount}</InstdAmt></Amt></OrgnlTxRef>'
            if amount
            else ""
        )
        reason_xml = f"<StsRsnInf><Rsn><Cd>{reason}</Cd></Rsn></StsRsnInf>" if reason else ""
        transactions.append(
            f"<TxInfAndSts><OrgnlEndToEndId>{end_to_end}</OrgnlEndToEndId><TxSts>RJCT</TxSts>"
            f"{reason_xml}{amount_xml}</TxInfAndSts>"
        )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03">
  <CstmrPmtStsRpt>
    <GrpHdr><MsgId>{message_id}</MsgId><CreDtTm>2024-03-01T07:00:00</CreDtTm></GrpHdr>
    <OrgnlGrpInfAndSts>
      <OrgnlMsgId>{original}</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.02</OrgnlMsgNmId>
      <GrpSts>PART</GrpSts>
    </OrgnlGrpInfAndSts>
    <OrgnlPmtInfAndSts>
      <OrgnlPmtInfId>BATCH-1</OrgnlPmtInfId><PmtInfSts>PART</PmtInfSts>
      {"".join(transactions)}
    </OrgnlPmtInfAndSts>
  </CstmrPmtStsRpt>
</Document>""".encode()


def dispatch_pending(max_rounds: int = 20) -> int:
    """What the dispatcher does after commits: hand every event to its subscribers,
    including the events those subscribers publish. Fails on a subscriber error."""
    handled = 0
    for _ in range(max_rounds):
        with all_tenants():
            pending = list(
                Event.objects.filter(dispatched_at__isnull=True)
                .order_by("created_at", "id")
                .values_list("pk", flat=True)
            )
        if not pending:
            return handled
        for event_id in pending:
            if not dispatch.dispatch_event(event_id):
                with all_tenants():
                    error = Event.objects.get(pk=event_id).last_error
                raise AssertionError(f"subscriber failed on {event_id}: {error}")
            handled += 1
    raise AssertionError("events keep coming: a subscriber loop?")


def events_of(type_: str, subject_id: str | None = None) -> list[Event]:
    with all_tenants():
        found = Event.objects.filter(type=type_).order_by("created_at", "id")
        if subject_id is not None:
            found = found.filter(subject_id=subject_id)
        return list(found)


class Collections:
    """One agency's collections set-up, built through the services."""

    def __init__(self, tenant, provider: str = CollectionProvider.BANK_FILE) -> None:
        self.tenant = tenant
        with tenant_scope(tenant):
            self.settings = CollectionSettings.objects.create(
                tenant=tenant, provider=provider, **CREDITOR
            )
            self.service = tenant_services.create_service(
                tenant=tenant,
                code=f"tax-{random.randrange(10**6)}",
                name="Income tax",
                interaction_kind="regulatory",
            )
            if provider == CollectionProvider.STRIPE:
                ProviderAccount.objects.create(
                    tenant=tenant, provider="stripe", secret_key="sk_test_collections"
                )

    def update_settings(self, **values) -> CollectionSettings:
        with tenant_scope(self.tenant):
            for field, value in values.items():
                setattr(self.settings, field, value)
            self.settings.save()
        return self.settings

    def constituent(self, bsn: str | None = None):
        with tenant_scope(self.tenant), transaction.atomic():
            return registration_services.register_constituent(
                tenant=self.tenant,
                actor="test",
                kind="person",
                identifier_scheme="nl_bsn",
                identifier_value=bsn or random_bsn(),
                name="Jan Jansen",
                purpose="tax collection",
                legal_basis="public_task",
            ).constituent

    def debt(self, *, amount=1200, currency="EUR", constituent=None, due_date=None, reference=None):
        constituent = constituent or self.constituent()
        with tenant_scope(self.tenant):
            return debts.create_debt(
                tenant=self.tenant,
                constituent_id=constituent.pk,
                service_id=self.service.pk,
                reference=reference or f"TAX-{random.randrange(10**9)}",
                description="Income tax 2024",
                amount=amount,
                currency=currency,
                due_date=due_date or dt.date(2030, 1, 1),
            )

    def mandate(self, constituent, *, scheme="sepa_core", today=None, **account):
        if scheme == "sepa_core":
            account.setdefault("iban", random_iban())
        else:
            account.setdefault("sort_code", "10-20-30")
            account.setdefault("account_number", f"{random.randrange(10**7, 10**8)}")
        if self.settings.provider == CollectionProvider.STRIPE:
            account.setdefault("stripe_payment_method", f"pm_{random.randrange(10**9)}")
            account.setdefault("stripe_mandate", f"mandate_{random.randrange(10**9)}")
            account.setdefault("stripe_customer", f"cus_{random.randrange(10**9)}")
        with tenant_scope(self.tenant):
            return mandates.create_mandate(
                tenant=self.tenant,
                constituent_id=constituent.pk,
                scheme=scheme,
                account_holder_name="J. Jansen",
                signed_on=dt.date(2024, 1, 2),
                today=today or dt.date(2024, 1, 2),
                **account,
            )

    def plan(self, debt, mandate, *, today=dt.date(2024, 1, 2), **schedule):
        if "schedule" not in schedule:
            schedule.setdefault("frequency", "monthly")
            schedule.setdefault("count", 3)
            schedule.setdefault("first_date", dt.date(2024, 3, 1))
        with tenant_scope(self.tenant):
            return plans.create_plan(
                tenant=self.tenant, debt=debt, mandate_id=mandate.pk, today=today, **schedule
            )

    def debt_in_plan(self, *, amount=1200, scheme="sepa_core", **schedule):
        currency = "EUR" if scheme == "sepa_core" else "GBP"
        debt = self.debt(amount=amount, currency=currency)
        mandate = self.mandate(debt.constituent, scheme=scheme)
        return debt, mandate, self.plan(debt, mandate, **schedule)


@pytest.fixture
def collections(tenant):
    return Collections(tenant)


@pytest.fixture
def stripe_collections(tenant):
    return Collections(tenant, provider=CollectionProvider.STRIPE)


def camt054(
    message_id: str,
    returns: list[tuple[str, str | None, str]],
    *,
    version: str = "08",
    side: str = "DBIT",
    status: str = "BOOK",
) -> bytes:
    """A camt.054 (.02 or .08) whose booked entries return ``(end_to_end_id, reason,
    amount)`` collections; valid against the official XSD (checked in the tests)."""
    status_xml = f"<Sts>{status}</Sts>" if version == "02" else f"<Sts><Cd>{status}</Cd></Sts>"
    entries = []
    for end_to_end, reason, amount in returns:
        reason_xml = f"<Rsn><Cd>{reason}</Cd></Rsn>" if reason else ""
        entries.append(
            f"""<Ntry>
        <Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{side}</CdtDbtInd>{status_xml}
        <BookgDt><Dt>2024-03-05</Dt></BookgDt><ValDt><Dt>2024-03-05</Dt></ValDt>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>IDDT</Cd><SubFmlyCd>UPDD</SubFmlyCd></Fmly></Domn>
        </BkTxCd>
        <NtryDtls><TxDtls>
          <Refs><EndToEndId>{end_to_end}</EndToEndId></Refs>
          <AmtDtls><InstdAmt><Amt Ccy="EUR">{amount}</Amt></InstdAmt></AmtDtls>
          <RtrInf>{reason_xml}<AddtlInf>Returned direct debit</AddtlInf></RtrInf>
        </TxDtls></NtryDtls>
      </Ntry>"""
        )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.{version}">
  <BkToCstmrDbtCdtNtfctn>
    <GrpHdr><MsgId>{message_id}</MsgId><CreDtTm>2024-03-05T07:00:00</CreDtTm></GrpHdr>
    <Ntfctn>
      <Id>{message_id}-1</Id><CreDtTm>2024-03-05T07:00:00</CreDtTm>
      <Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id></Acct>
      {"".join(entries)}
    </Ntfctn>
  </BkToCstmrDbtCdtNtfctn>
</Document>""".encode()
