import datetime as dt

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

# PostgreSQL's timestamptz accepts offsets up to ±15:59 and errors on anything larger,
# so a wider (ISO-valid) offset would be a 500 there and a silent success on SQLite.
MAX_UTC_OFFSET = dt.timedelta(hours=15, minutes=59)


class BoundedIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 instant the database can compare with, handed on in UTC."""

    default_error_messages = {
        "offset_out_of_range": "The UTC offset must be between -15:59 and +15:59",
        "out_of_range": "The date-time is outside the supported range",
    }

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        offset = parsed.utcoffset()
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            raise forms.ValidationError(
                self.error_messages["offset_out_of_range"], code="offset_out_of_range"
            )
        try:
            # In UTC so neither backend has to convert (9999-12-31T23:59-15:00 would
            # overflow inside Django's SQLite adapter).
            return parsed.astimezone(dt.UTC)
        except OverflowError:
            raise forms.ValidationError(
                self.error_messages["out_of_range"], code="out_of_range"
            ) from None


class BoundedIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField


class CreatedRangeFilterSet(django_filters.FilterSet):
    """Every list filters by creation time: ``created_after`` / ``created_before`` (ISO 8601)."""

    created_after = BoundedIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = BoundedIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
