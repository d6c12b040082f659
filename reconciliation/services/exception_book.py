"""Raising exceptions: one row per problem, however many runs see it.

A finding is keyed by a fingerprint of the problem and the rows it concerns
(``unknown_receipt:line:stl_…``). A run that sees a known problem again only marks it
seen; a resolved one stays resolved and is never raised again; only a new problem is
announced with a ``reconciliation.exception`` event. The findings come from the
engine (reconciliation/engine/findings.py); this module writes them.
"""

from __future__ import annotations

from hub.events.outbox import publish
from reconciliation.engine.findings import Finding
from reconciliation.events import RECONCILIATION_EXCEPTION
from reconciliation.models import ReconciliationException, ReconciliationRun
from tenants.models import Tenant

Kind = ReconciliationException.Kind
State = ReconciliationException.State


class ExceptionBook:
    def __init__(self, *, tenant: Tenant, run: ReconciliationRun) -> None:
        self.tenant = tenant
        self.run = run
        self.pending: dict[str, Finding] = {}
        self.new_count = 0

    def add(self, finding: Finding) -> None:
        self.pending.setdefault(finding.fingerprint, finding)

    def flush(self) -> dict[str, ReconciliationException]:
        """Write the pending findings; return every one's exception by fingerprint."""
        if not self.pending:
            return {}
        findings, self.pending = self.pending, {}
        known = {
            exception.fingerprint: exception
            for exception in ReconciliationException.objects.filter(fingerprint__any=list(findings))
        }
        seen_again = [e.pk for e in known.values() if e.state != State.RESOLVED]
        if seen_again:
            # A cleared problem that is back is open again.
            ReconciliationException.objects.filter(pk__any=seen_again).update(
                last_run=self.run, state=State.OPEN
            )
            for exception in known.values():
                if exception.state != State.RESOLVED:
                    exception.state, exception.last_run = State.OPEN, self.run
        new = [
            self._exception(finding)
            for fingerprint, finding in findings.items()
            if fingerprint not in known
        ]
        ReconciliationException.objects.bulk_create(new)
        for exception in new:
            self._announce(exception)
        self.new_count += len(new)
        return known | {exception.fingerprint: exception for exception in new}

    def _exception(self, finding: Finding) -> ReconciliationException:
        item = finding.item
        return ReconciliationException(
            tenant=self.tenant,
            kind=finding.kind,
            fingerprint=finding.fingerprint,
            channel=finding.channel,
            currency=finding.currency,
            occurred_on=finding.occurred_on,
            expected_amount=finding.expected_amount,
            reported_amount=finding.reported_amount,
            line=finding.line,
            item_kind=item.kind if item else "",
            item_id=item.object_id if item else "",
            match_id=finding.match.pk if finding.match else None,
            reason=finding.reason,
            first_run=self.run,
            last_run=self.run,
        )

    def _announce(self, exception: ReconciliationException) -> None:
        publish(
            tenant=self.tenant,
            type=RECONCILIATION_EXCEPTION,
            subject_id=exception.pk,
            payload=exception_payload(exception),
        )


def exception_payload(exception: ReconciliationException) -> dict:
    return {
        "id": exception.pk,
        "kind": exception.kind,
        "state": exception.state,
        "channel": exception.channel,
        "currency": exception.currency,
        "occurred_on": exception.occurred_on.isoformat(),
        "expected_amount": exception.expected_amount,
        "reported_amount": exception.reported_amount,
        "statement_line": exception.line_id,
        "item": (
            {"kind": exception.item_kind, "id": exception.item_id} if exception.item_id else None
        ),
        "reason": exception.reason,
        "run": exception.last_run_id,
    }
