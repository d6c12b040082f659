import django_filters

from hub.api.filters import CreatedRangeFilterSet
from payments.models import Dispute, Payment, PaymentLink, PaymentMethod, PaymentState, Refund


class PaymentFilter(CreatedRangeFilterSet):
    state = django_filters.ChoiceFilter(choices=PaymentState.choices)
    method = django_filters.ChoiceFilter(choices=PaymentMethod.choices)
    reference = django_filters.CharFilter()
    service = django_filters.CharFilter(field_name="service_id", help_text="A service id")
    constituent = django_filters.CharFilter(field_name="constituent_id")
    provider_reference = django_filters.CharFilter()
    payment_link = django_filters.CharFilter(field_name="payment_link_id", help_text="plk_…")

    class Meta:
        model = Payment
        fields = [
            "state",
            "method",
            "reference",
            "service",
            "constituent",
            "provider_reference",
            "payment_link",
        ]


class RefundFilter(CreatedRangeFilterSet):
    state = django_filters.ChoiceFilter(choices=Refund.State.choices)
    payment = django_filters.CharFilter(field_name="payment_id", help_text="A payment id")

    class Meta:
        model = Refund
        fields = ["state", "payment"]


class DisputeFilter(CreatedRangeFilterSet):
    status = django_filters.ChoiceFilter(choices=Dispute.Status.choices)
    payment = django_filters.CharFilter(field_name="payment_id", help_text="A payment id")

    class Meta:
        model = Dispute
        fields = ["status", "payment"]


class PaymentLinkFilter(CreatedRangeFilterSet):
    active = django_filters.BooleanFilter(help_text="false: the disabled links")
    service = django_filters.CharFilter(field_name="service_id", help_text="A service id")

    class Meta:
        model = PaymentLink
        fields = ["active", "service"]
