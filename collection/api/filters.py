import django_filters

from collection.models import (
    CollectionRun,
    Debt,
    Instalment,
    Mandate,
    PaymentPlan,
    ReturnFile,
)
from hub.api.filters import CreatedRangeFilterSet


class DebtFilter(CreatedRangeFilterSet):
    state = django_filters.ChoiceFilter(choices=Debt.State.choices)
    reference = django_filters.CharFilter()
    constituent = django_filters.CharFilter(field_name="constituent_id")

    class Meta:
        model = Debt
        fields = ["state", "reference", "constituent"]


class MandateFilter(CreatedRangeFilterSet):
    state = django_filters.ChoiceFilter(choices=Mandate.State.choices)
    reference = django_filters.CharFilter()
    constituent = django_filters.CharFilter(field_name="constituent_id")
    scheme = django_filters.CharFilter()

    class Meta:
        model = Mandate
        fields = ["state", "reference", "constituent", "scheme"]


class PaymentPlanFilter(CreatedRangeFilterSet):
    state = django_filters.ChoiceFilter(choices=PaymentPlan.State.choices)
    debt = django_filters.CharFilter(field_name="debt_id")
    reference = django_filters.CharFilter(field_name="debt__reference")

    class Meta:
        model = PaymentPlan
        fields = ["state", "debt", "reference"]


class InstalmentFilter(CreatedRangeFilterSet):
    state = django_filters.ChoiceFilter(choices=Instalment.State.choices)
    payment_plan = django_filters.CharFilter(field_name="plan_id")
    debt = django_filters.CharFilter(field_name="debt_id")
    reference = django_filters.CharFilter(field_name="debt__reference")
    due_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gte")
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lt")

    class Meta:
        model = Instalment
        fields = ["state", "payment_plan", "debt", "reference"]


class CollectionRunFilter(CreatedRangeFilterSet):
    state = django_filters.ChoiceFilter(choices=CollectionRun.State.choices)
    run_date = django_filters.DateFilter()

    class Meta:
        model = CollectionRun
        fields = ["state", "run_date"]


class ReturnFileFilter(CreatedRangeFilterSet):
    message_id = django_filters.CharFilter()

    class Meta:
        model = ReturnFile
        fields = ["message_id"]
