import django_filters

from hub.api.filters import CreatedRangeFilterSet
from notifications.kinds import NoticeKind
from notifications.models import Notice


class NoticeFilter(CreatedRangeFilterSet):
    kind = django_filters.ChoiceFilter(choices=NoticeKind.choices)
    status = django_filters.ChoiceFilter(choices=Notice.Status.choices)
    subject = django_filters.CharFilter(field_name="subject_id")
    event = django_filters.CharFilter(field_name="event_id")

    class Meta:
        model = Notice
        fields = ["kind", "status", "subject", "event"]
