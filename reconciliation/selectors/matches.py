"""What is matched already: the reads every pass and the report make about matches.

Callers are inside the tenant's scope."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Exists, OuterRef, QuerySet

from reconciliation.engine.items import ExpectedItem
from reconciliation.models import MatchItem, MatchLine, StatementLine


def matched_already(kind: str) -> Exists:
    """Whether the outer row (a payment, refund or payout, by ``pk``) is an item of
    ``kind`` that some match holds, as a correlated subquery: how payments' selectors
    leave out what reconciliation matched already (``excluding=``)."""
    return Exists(MatchItem.objects.filter(kind=kind, object_id=OuterRef("pk")))


def unmatched(queryset: QuerySet, kind: str) -> QuerySet:
    return queryset.exclude(matched_already(kind))


def matched_keys(items: Iterable[ExpectedItem]) -> set[tuple[str, str]]:
    """Which of ``items`` are matched already (by any run or by hand)."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for item in items:
        by_kind[item.kind].append(item.object_id)
    keys = set()
    for kind, ids in by_kind.items():
        rows = MatchItem.objects.filter(kind=kind, object_id__any=ids).values_list(
            "kind", "object_id"
        )
        keys.update(rows)
    return keys


def matched_line_ids(line_ids: list[str]) -> set[str]:
    return set(MatchLine.objects.filter(line_id__any=line_ids).values_list("line_id", flat=True))


def item_matches(keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Match id of each matched item key."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, object_id in keys:
        by_kind[kind].append(object_id)
    result = {}
    for kind, ids in by_kind.items():
        for object_id, match_id in MatchItem.objects.filter(
            kind=kind, object_id__any=ids
        ).values_list("object_id", "match_id"):
            result[(kind, object_id)] = match_id
    return result


def earlier_match(line: StatementLine) -> tuple[str, list[ExpectedItem]] | None:
    """The match that holds ``line`` (its id, and its items as the line shows them)."""
    link = MatchLine.objects.select_related("match").filter(line=line).first()
    if link is None:
        return None
    items = [
        ExpectedItem(
            kind=row.kind,
            object_id=row.object_id,
            channel=line.channel,
            currency=line.currency,
            amount=row.amount,
            date=line.booking_date,
        )
        for row in link.match.items.all()
    ]
    return link.match.pk, items
