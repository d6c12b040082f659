"""SEPA bank files: one pain.008 per run, for the agency to send to its bank.

The format is the agency's setting ``pain008_version``: pain.008.001.08 by default,
pain.008.001.02 for a bank that still wants it.

Nothing leaves the hub at submission time: an attempt is "submitted" when it is committed
to the run, and the file is written once, when the run's last chunk is done. The file is
validated against the official XSD before it is stored, and its MsgId is kept so the bank's
status report (pain.002) can be matched back to the run.
"""

from __future__ import annotations

from lxml import etree

from collection.models import CollectionAttempt, CollectionRun, CollectionSettings
from collection.providers.base import CollectionProviderPlugin, RunFile
from collection.providers.registry import registry
from collection.schemes import CreditorConfig, DebitCollection, Scheme, build_pain008
from collection.settings_validation import sepa_creditor_errors


def creditor_config(settings: CollectionSettings) -> CreditorConfig:
    return CreditorConfig(
        name=settings.creditor_name,
        iban=settings.creditor_iban,
        bic=settings.creditor_bic or None,
        creditor_id=settings.creditor_id,
        version=settings.pain008_version,
    )


def _remittance(reference: str, sequence: int, description: str) -> str:
    return f"{reference} instalment {sequence} {description}"[:140]


# What a file line needs, read as plain values: a run's file has up to hundreds of
# thousands of lines, and three model instances per line were most of its cost.
_LINE_COLUMNS = (
    "end_to_end_id",
    "amount",
    "sequence_type",
    "collection_date",
    "instalment__mandate__account_holder_name",
    "instalment__mandate__iban",
    "instalment__mandate__bic",
    "instalment__mandate__reference",
    "instalment__mandate__signed_on",
    "instalment__debt__reference",
    "instalment__sequence",
    "instalment__debt__description",
)


def _collections(run: CollectionRun) -> list[DebitCollection]:
    lines = (
        CollectionAttempt.objects.filter(
            tenant_id=run.tenant_id, run=run, scheme=Scheme.SEPA_CORE.value, payment__isnull=False
        )
        .order_by("collection_date", "end_to_end_id")
        .values_list(*_LINE_COLUMNS)
    )
    return [
        DebitCollection(
            end_to_end_id=end_to_end_id,
            amount=amount,
            debtor_name=holder,
            debtor_iban=iban,
            debtor_bic=bic or None,
            mandate_id=mandate_reference,
            mandate_signed_on=signed_on,
            sequence_type=sequence_type,
            collection_date=collection_date,
            remittance_info=_remittance(debt_reference, sequence, description),
        )
        for (
            end_to_end_id,
            amount,
            sequence_type,
            collection_date,
            holder,
            iban,
            bic,
            mandate_reference,
            signed_on,
            debt_reference,
            sequence,
            description,
        ) in lines.iterator(chunk_size=2000)
    ]


def _message_id(xml: bytes) -> str:
    root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    found = root.find(".//{*}GrpHdr/{*}MsgId")
    return found.text if found is not None and found.text else ""


@registry.register("bank_file")
class BankFileCollector(CollectionProviderPlugin):
    external = False

    def readiness_problems(self, *, tenant, settings) -> list[str]:
        return sepa_creditor_errors(settings)

    def submit(self, *, attempt: CollectionAttempt) -> str:
        # The bank knows a collection by its end-to-end id; so do its status reports.
        return attempt.end_to_end_id

    def run_file(self, *, run: CollectionRun, settings: CollectionSettings) -> RunFile | None:
        collections = _collections(run)
        if not collections:
            return None
        xml = build_pain008(creditor_config(settings), collections)
        return RunFile(content=xml, message_id=_message_id(xml))
