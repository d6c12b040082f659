import django_filters


class CreatedRangeFilterSet(django_filters.FilterSet):
    """Every list filters by creation time: ``created_after`` / ``created_before`` (ISO 8601)."""

    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
