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


class StrictFilterSet(django_filters.FilterSet):
    """Filters whose values are typed (dates, instants, booleans, choices) refuse a value
    that is not one, where django-filter would quietly drop the filter: ``?state=`` or
    ``?matched=null`` listed everything, so a client's bug looked like an answer.
    Text and id filters still take an empty value as "not filtering"."""

    def is_valid(self):
        valid = super().is_valid()
        for name, filter_ in self.filters.items():
            raw = self.data.get(name)
            if raw is None or name in self.form.errors:
                continue
            problem = _typed_value_problem(filter_, raw)
            if problem:
                self.form.add_error(name, forms.ValidationError(problem, code="invalid"))
                valid = False
        return valid


def _typed_value_problem(filter_, raw: str) -> str | None:
    field = filter_.field
    if isinstance(filter_, django_filters.BooleanFilter):
        return None if raw in ("true", "false") else "Must be true or false"
    if isinstance(field, forms.ModelChoiceField):
        return None  # an id: empty means "not filtering", like any text filter
    if raw == "" and isinstance(field, (forms.DateField, forms.DateTimeField, forms.ChoiceField)):
        return "May not be empty: leave the parameter out to not filter"
    return None


class CreatedRangeFilterSet(StrictFilterSet):
    """Every list filters by creation time: ``created_after`` / ``created_before`` (ISO 8601)."""

    created_after = BoundedIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = BoundedIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
