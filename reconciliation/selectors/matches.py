"""What is matched already: the reads every pass and the report make about matches.

Callers are inside the tenant's scope."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import Exists, OuterRef, QuerySet

from reconciliation.engine.items import ExpectedItem
from reconciliation.models import MatchItem, MatchLine, StatementLine


def matched_already(kind: str) -> Exists:
    """Whether the outer row (a payment, refund or payout, by ``pk``) is an item of
    ``kind`` that some match holds, as a correlated subquery: how payments' selectors
    leave out what reconciliation matched already (``excluding=``)."""
    return Exists(MatchItem.objects.filter(kind=kind, object_id=OuterRef("pk")))


def matched_with_a_line_booked(kind: str, start: date, end: date) -> Exists:
    """Whether the outer row (by ``pk``) is an item of ``kind`` whose match holds a line
    booked from ``start`` to ``end``: the items a run's report shows with the line that
    pays them, not on a row of their own."""
    return Exists(
        MatchItem.objects.filter(
            kind=kind,
            object_id=OuterRef("pk"),
            match__lines__line__booking_date__gte=start,
            match__lines__line__booking_date__lte=end,
        )
    )


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


@dataclass(frozen=True, slots=True)
class ItemMatch:
    """How a matched item is matched: the match, its method, and its lines with their
    booking dates (none for a resolution that settled the item without a line)."""

    match_id: str
    method: str
    lines: list[tuple[str, date]]


def item_match_facts(keys: list[tuple[str, str]]) -> dict[tuple[str, str], ItemMatch]:
    """The match of each matched item key, with the match's method and lines, in one
    query per item kind (what the report of a period's items reads for every chunk)."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, object_id in keys:
        by_kind[kind].append(object_id)
    result: dict[tuple[str, str], ItemMatch] = {}
    for kind, ids in by_kind.items():
        rows = (
            MatchItem.objects.filter(kind=kind, object_id__any=ids)
            .order_by("match_id", "match__lines__id")
            .values_list(
                "object_id",
                "match_id",
                "match__method",
                "match__lines__line_id",
                "match__lines__line__booking_date",
            )
        )
        for object_id, match_id, method, line_id, booked in rows:
            found = result.get((kind, object_id))
            if found is None:
                found = result[(kind, object_id)] = ItemMatch(match_id, method, [])
            if line_id is not None:
                found.lines.append((line_id, booked))
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
