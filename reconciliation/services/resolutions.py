"""A finance user settles an exception: matched by hand, written off, or refunded.

The resolution becomes a manual match of whatever the exception left unmatched (its
statement line, its missing item) and of the counterparts the user names, so the next
run finds nothing to raise again. An ``amount_differs`` exception's line is matched
already: resolving it accepts the difference.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from hub.errors import Conflict, InvalidRequest, RuleViolation
from reconciliation.engine.items import ExpectedItem, return_item
from reconciliation.models import (
    ItemKind,
    Match,
    MatchItem,
    MatchLine,
    ReconciliationException,
    StatementLine,
)
from reconciliation.selectors import lookups
from reconciliation.services.match_writer import MatchWriter
from tenants.scope import tenant_scope

Resolution = ReconciliationException.Resolution
State = ReconciliationException.State
Kind = ReconciliationException.Kind
MAX_COUNTERPARTS = 500


def resolve_exception(
    *,
    exception: ReconciliationException,
    resolution: str,
    note: str,
    resolved_by: str,
    matched_with: list[str] | None = None,
) -> ReconciliationException:
    matched_with = list(dict.fromkeys(matched_with or []))
    _validate(resolution, note, matched_with)
    tenant = exception.tenant
    with tenant_scope(tenant), transaction.atomic():
        exception = ReconciliationException.objects.select_for_update().get(pk=exception.pk)
        if exception.state != State.OPEN:
            raise Conflict(
                f"This exception is {exception.state} already", code="exception_not_open"
            )
        if exception.kind == Kind.AMOUNT_DIFFERS and matched_with:
            raise InvalidRequest(
                "The line of an amount_differs exception is matched already: resolving it "
                "accepts the difference, so name no counterparts",
                code="counterparts_not_allowed",
                field="matched_with",
            )
        if (
            resolution == Resolution.MATCHED_BY_HAND
            and exception.kind != Kind.AMOUNT_DIFFERS
            and not matched_with
        ):
            raise InvalidRequest(
                "Name the statement lines (stl_…) or items (pay_…, ref_…, stm_…) it was "
                "matched with",
                code="counterparts_required",
                field="matched_with",
            )
        lines, items = _own_subjects(exception)
        more_lines, more_items = _counterparts(matched_with)
        lines += [line for line in more_lines if line.pk not in {x.pk for x in lines}]
        items += [item for item in more_items if item.key not in {x.key for x in items}]
        match = None
        if lines or items:
            writer = MatchWriter(tenant=tenant, run=None)
            match = writer.add(
                method=Match.Method.MANUAL,
                channel=exception.channel,
                lines=lines,
                items=items,
                note=f"{resolution}: {note}",
            )
            writer.flush()
        exception.state = State.RESOLVED
        exception.resolution = resolution
        exception.resolution_note = note.strip()
        exception.resolved_by = resolved_by[:200]
        exception.resolved_at = timezone.now()
        exception.resolution_match_id = match.pk if match else None
        exception.save()
    return exception


def _validate(resolution: str, note: str, matched_with: list[str]) -> None:
    if resolution not in Resolution.values:
        raise InvalidRequest(
            f"resolution is one of {', '.join(Resolution.values)}",
            code="invalid_choice",
            field="resolution",
        )
    if not (note or "").strip():
        raise InvalidRequest("Say what was done in a note", code="blank", field="note")
    if len(matched_with) > MAX_COUNTERPARTS:
        raise InvalidRequest(
            f"At most {MAX_COUNTERPARTS} counterparts", code="too_many", field="matched_with"
        )


def _own_subjects(
    exception: ReconciliationException,
) -> tuple[list[StatementLine], list[ExpectedItem]]:
    """What the exception itself leaves unmatched."""
    lines, items = [], []
    if exception.line_id and not MatchLine.objects.filter(line_id=exception.line_id).exists():
        lines.append(exception.line)
    if exception.kind == Kind.MISSING_RECEIPT and exception.item_id:
        if exception.item_kind == ItemKind.RETURN:
            payment = lookups.payment_by_id(exception.item_id)
            item = return_item(payment) if payment and payment.returned_at else None
        else:
            item = lookups.item_by_id(exception.item_id)
        matched = MatchItem.objects.filter(kind=exception.item_kind, object_id=exception.item_id)
        if item is not None and not matched.exists():
            items.append(item)
    return lines, items


def _counterparts(ids: list[str]) -> tuple[list[StatementLine], list[ExpectedItem]]:
    lines, items = [], []
    for object_id in ids:
        if object_id.startswith("stl_"):
            line = StatementLine.objects.filter(pk=object_id).first()
            if line is None:
                raise InvalidRequest(
                    f"No statement line {object_id}", code="does_not_exist", field="matched_with"
                )
            if MatchLine.objects.filter(line=line).exists():
                raise Conflict(f"{object_id} is matched already", code="already_matched")
            lines.append(line)
            continue
        item = lookups.item_by_id(object_id)
        if item is None:
            raise RuleViolation(
                f"{object_id} is not a collected payment, paid refund or Stripe payout of "
                "this agency",
                code="not_matchable",
                field="matched_with",
            )
        if MatchItem.objects.filter(kind=item.kind, object_id=item.object_id).exists():
            raise Conflict(f"{object_id} is matched already", code="already_matched")
        items.append(item)
    return lines, items
