import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response

from hub.api.agency_services.serializers import ServiceSerializer
from hub.api.filters import CreatedRangeFilterSet
from hub.api.permissions import ANY_AGENCY_KEY
from hub.api.views import HubReadCreateViewSet
from hub.errors import Conflict
from tenants import services
from tenants.models import Service
from tenants.scope import require_tenant


class ServiceFilter(CreatedRangeFilterSet):
    code = django_filters.CharFilter()
    interaction_kind = django_filters.ChoiceFilter(choices=Service.InteractionKind.choices)

    class Meta:
        model = Service
        fields = ["code", "interaction_kind", "active"]


@extend_schema_view(
    list=extend_schema(summary="List the agency's services"),
    retrieve=extend_schema(summary="Get one service"),
    create=extend_schema(summary="Add a service the agency charges for"),
)
class ServiceViewSet(HubReadCreateViewSet):
    serializer_class = ServiceSerializer
    filterset_class = ServiceFilter
    read_scope = ANY_AGENCY_KEY  # what the agency charges for is no secret to its keys
    write_scope = "services:write"
    model = Service

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            service = services.create_service(tenant=require_tenant(), **serializer.validated_data)
        except services.DuplicateServiceCode as exc:
            raise Conflict(
                "A service with this code already exists", code="duplicate_code", field="code"
            ) from exc
        return Response(self.get_serializer(service).data, status=status.HTTP_201_CREATED)
