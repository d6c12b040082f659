import django_filters
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from hub.api.errors import error_response
from hub.api.filters import CreatedRangeFilterSet
from hub.api.views import HubReadCreateViewSet, HubReadOnlyViewSet, HubViewSet, carrying_secret
from hub.errors import InvalidRequest
from registration import selectors, services
from registration.api.serializers import (
    ConstituentAccessSerializer,
    ConstituentCreateSerializer,
    ConstituentLookupSerializer,
    ConstituentSerializer,
    ConstituentUpdateSerializer,
    LifeEventInputSerializer,
    LifeEventResponseInputSerializer,
    LifeEventResponseSerializer,
    LifeEventSerializer,
    OfferSerializer,
    ProactiveServiceInputSerializer,
    ProactiveServiceSerializer,
    RegistrationSerializer,
    ReportedLifeEventSerializer,
    VersionSerializer,
)
from registration.models import (
    Constituent,
    ConstituentAccess,
    LifeEvent,
    LifeEventResponse,
    ProactiveService,
    Registration,
)
from registration.rules import identifiers
from tenants.models import Service
from tenants.scope import require_tenant


def actor_of(request) -> str:
    return f"api_key:{request.user.api_key.prefix}"


class ConstituentFilter(CreatedRangeFilterSet):
    identifier = django_filters.CharFilter(
        method="filter_identifier", help_text="<scheme>:<value>, e.g. nl_bsn:111222333"
    )
    kind = django_filters.ChoiceFilter(choices=Constituent.Kind.choices)
    status = django_filters.ChoiceFilter(choices=Constituent.Status.choices)

    class Meta:
        model = Constituent
        fields = ["kind", "status"]

    def filter_identifier(self, queryset, name, value):
        scheme, _, raw = value.partition(":")
        return holding_identifier(queryset, scheme, raw, field="identifier")


def holding_identifier(queryset, scheme: str, raw: str, *, field: str):
    """The constituents in ``queryset`` with this identifier (found by its keyed hash)."""
    try:
        normalised = identifiers.normalise(scheme, raw)
    except identifiers.IdentifierError as exc:
        raise InvalidRequest(exc.message, code=exc.code, field=field) from exc
    return queryset.filter(identifiers__lookup_hash=selectors.identifier_hash(scheme, normalised))


@extend_schema_view(
    list=extend_schema(
        summary="List constituents your agency is registered with",
        parameters=[
            OpenApiParameter(
                "identifier",
                str,
                deprecated=True,
                description="Deprecated: it puts the identifier in URLs (access logs, "
                "proxies). Use POST /api/v1/constituents/lookup. <scheme>:<value>.",
            )
        ],
    ),
    retrieve=extend_schema(summary="Get a constituent you are registered with"),
)
class ConstituentViewSet(HubReadOnlyViewSet):
    model = Constituent
    serializer_class = ConstituentSerializer
    filterset_class = ConstituentFilter
    read_scope = "registration:read"
    write_scope = "registration:write"
    http_method_names = ["get", "post", "patch"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation, no request
            return Constituent.objects.none()
        return selectors.visible_constituents(require_tenant())

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "swagger_fake_view", False):
            return context
        tenant = require_tenant()
        context["tenant"] = tenant
        context["visible_fields"] = selectors.visible_fields(tenant)
        context["registrations"] = (
            {
                r.constituent_id: r
                for r in Registration.objects.filter(tenant=tenant, status="active")
            }
            if self.action in ("list", "lookup")
            else {}
        )
        return context

    def _log_reads(self, constituent_ids, action_name: str) -> None:
        services.record_reads(
            tenant=require_tenant(),
            api_key=self.request.user.api_key,
            constituent_ids=constituent_ids,
            action=action_name,
            request_id=getattr(self.request, "request_id", ""),
        )

    def _render(self, constituent, status_code=status.HTTP_200_OK, *, logged_as: str):
        registration = selectors.active_registration(require_tenant(), constituent)
        context = {
            **self.get_serializer_context(),
            "registrations": {constituent.pk: registration} if registration else {},
        }
        data = ConstituentSerializer(constituent, context=context).data
        self._log_reads([constituent.pk], logged_as)
        return Response(data, status=status_code)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        self._log_reads(
            [row["id"] for row in response.data["results"]], ConstituentAccess.Action.LIST
        )
        return response

    def retrieve(self, request, *args, **kwargs):
        return self._render(self.get_object(), logged_as=ConstituentAccess.Action.RETRIEVE)

    @extend_schema(
        summary="Register a constituent with your agency (201; 200 if you already are)",
        description="The answer is the same whether or not the hub, or another agency, "
        "already knew the person: 201 and the record as your field authorisation shows "
        "it, whenever your agency's registration is new; 200 only when your agency "
        "already held an active registration of that person (a repeated request).",
        request=ConstituentCreateSerializer,
        responses={200: ConstituentSerializer, 201: ConstituentSerializer},
    )
    def create(self, request, *args, **kwargs):
        serializer = ConstituentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        registered = services.register_constituent(
            tenant=require_tenant(),
            actor=actor_of(request),
            kind=data["kind"],
            identifier_scheme=data["identifier"]["scheme"],
            identifier_value=data["identifier"]["value"],
            name=data["name"],
            date_of_birth=data.get("date_of_birth"),
            address=data.get("address"),
            email=data.get("email", ""),
            phone=data.get("phone", ""),
            language=data.get("language", ""),
            **data["registration"],
        )
        # Decided by this agency's registration, never by whether the hub knew the
        # person: 200-for-known told an agency that someone else holds that person.
        code = status.HTTP_201_CREATED if registered.registration_created else status.HTTP_200_OK
        return self._render(
            registered.constituent, code, logged_as=ConstituentAccess.Action.REGISTER
        )

    @extend_schema(
        summary="Find a constituent you are registered with by identifier (sent in the body)",
        description="The identifier travels in the body, so it stays out of URLs, access "
        "logs and proxies. Answers like the deprecated `GET ?identifier=` form: the "
        "matching constituent, or an empty list (also for one only another agency holds).",
        request=ConstituentLookupSerializer,
        responses=inline_serializer(
            "ConstituentLookupResult", {"results": ConstituentSerializer(many=True)}
        ),
    )
    # A look-up reads: POST only to keep the identifier out of the URL. A read key may.
    @action(detail=False, methods=["post"], write_scope="registration:read")
    def lookup(self, request):
        serializer = ConstituentLookupSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        identifier = serializer.validated_data["identifier"]
        found = holding_identifier(
            self.get_queryset(), identifier["scheme"], identifier["value"], field="identifier"
        )
        results = ConstituentSerializer(found, many=True, context=self.get_serializer_context())
        self._log_reads([row["id"] for row in results.data], ConstituentAccess.Action.LOOKUP)
        return Response({"results": results.data})

    @extend_schema(
        summary="Correct fields your agency is the source of truth for",
        request=ConstituentUpdateSerializer,
        responses=ConstituentSerializer,
    )
    def partial_update(self, request, *args, **kwargs):
        constituent = self.get_object()
        serializer = ConstituentUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        updated = services.correct_constituent(
            tenant=require_tenant(),
            actor=actor_of(request),
            constituent=constituent,
            changes=dict(serializer.validated_data),
        )
        return self._render(updated, logged_as=ConstituentAccess.Action.CORRECT)

    @extend_schema(
        summary="Changes made while your agency is registered: what changed, when",
        description="Only the changes since your agency's registration began, only the "
        "fields you are authorised to see, and the changing agency named only when it "
        "is yours: earlier history would tell you that others knew the person first.",
        responses=VersionSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        constituent = self.get_object()
        registration = selectors.active_registration(require_tenant(), constituent)
        versions = constituent.versions.filter(changed_at__gt=registration.created_at)
        data = VersionSerializer(versions, many=True, context=self.get_serializer_context()).data
        self._log_reads([constituent.pk], ConstituentAccess.Action.HISTORY)
        return Response(data)

    @extend_schema(
        methods=["get"],
        summary="Life events of a constituent",
        responses=LifeEventSerializer(many=True),
    )
    @extend_schema(
        methods=["post"],
        summary="Report a life event; every registered agency is told",
        description="201 when the event is new, 200 when it was known (your report is "
        "kept). A report that disagrees with the recorded event (another date of death) "
        "answers 409 `conflicting_report` and is kept as a discrepancy for an operator. "
        "With a `notifier`, the answer carries `tell_us_once` (reference and secret, "
        "shown once).",
        request=LifeEventInputSerializer,
        responses={
            200: ReportedLifeEventSerializer,
            201: ReportedLifeEventSerializer,
            409: OpenApiResponse(description="conflicting_report: a discrepancy was recorded"),
        },
    )
    @action(detail=True, methods=["get", "post"], url_path="life-events")
    def life_events(self, request, pk=None):
        constituent = self.get_object()
        tenant = require_tenant()
        if request.method == "GET":
            data = LifeEventSerializer(
                constituent.life_events.all(), many=True, context={"tenant": tenant}
            ).data
            self._log_reads([constituent.pk], ConstituentAccess.Action.LIFE_EVENTS)
            return Response(data)
        serializer = LifeEventInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        notifier = data.pop("notifier", None)
        recorded = services.record_life_event(
            tenant=tenant,
            actor=actor_of(request),
            constituent=constituent,
            notifier=services.Notifier(**notifier) if notifier else None,
            **data,
        )
        if recorded.discrepancy is not None:
            return discrepancy_response(recorded.discrepancy)
        context = {"tenant": tenant}
        if recorded.secret:
            context["tell_us_once"] = {
                "reference": recorded.report.reference,
                "secret": recorded.secret,
                "status_page": request.build_absolute_uri(reverse("registration-status-page")),
            }
        code = status.HTTP_201_CREATED if recorded.newly_applied else status.HTTP_200_OK
        response = Response(
            ReportedLifeEventSerializer(recorded.life_event, context=context).data, status=code
        )
        return carrying_secret(response) if recorded.secret else response


def discrepancy_response(discrepancy) -> Response:
    """409 in the error shape, each disagreeing fact in ``details``, and the id of the
    discrepancy an operator resolves."""
    details = [
        {
            "field": conflict["field"],
            "code": "conflicting_fact",
            "message": f"Recorded {conflict['recorded']!r}; you reported {conflict['reported']!r}",
        }
        for conflict in discrepancy.conflicts
    ]
    response = error_response(
        status_code=status.HTTP_409_CONFLICT,
        code="conflicting_report",
        message="This event is already recorded with other facts; your report is kept as "
        f"discrepancy {discrepancy.pk} and an operator will resolve it",
        field=details[0]["field"],
    )
    response.data["error"]["details"] = details
    response.data["error"]["discrepancy"] = discrepancy.pk
    return response


@extend_schema_view(
    list=extend_schema(
        summary="Your agency's reads of a constituent: who, when, for which purpose",
        description="Every answer that showed this person to your agency (a get, a list "
        "page, a look-up, a registration, a correction, the history, the life events) "
        "left a row here, with the API key and the purpose of the registration that "
        "entitled you to it. Only your own agency's reads; the person sees every "
        "agency's in the hub's subject-access export.",
    )
)
class ConstituentAccessViewSet(mixins.ListModelMixin, HubViewSet):
    model = ConstituentAccess
    url_kwarg_models = {"constituent_id": Constituent}
    serializer_class = ConstituentAccessSerializer
    filterset_class = CreatedRangeFilterSet
    read_scope = "registration:read"
    write_scope = "registration:write"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ConstituentAccess.objects.none()
        tenant = require_tenant()
        constituent = selectors.visible_constituent(tenant, self.kwargs["constituent_id"])
        if constituent is None:
            raise NotFound("No such object")
        return ConstituentAccess.objects.filter(tenant=tenant, constituent=constituent)


class RegistrationFilter(CreatedRangeFilterSet):
    status = django_filters.ChoiceFilter(choices=Registration.Status.choices)
    reference = django_filters.CharFilter(field_name="agency_reference")

    class Meta:
        model = Registration
        fields = ["status"]


@extend_schema_view(
    list=extend_schema(summary="Your agency's registrations"),
    retrieve=extend_schema(summary="Get a registration"),
)
class RegistrationViewSet(HubReadOnlyViewSet):
    model = Registration
    serializer_class = RegistrationSerializer
    filterset_class = RegistrationFilter
    read_scope = "registration:read"
    write_scope = "registration:write"

    @extend_schema(
        summary="End the registration (e.g. consent withdrawn)",
        request=None,
        responses=RegistrationSerializer,
    )
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        reason = request.data.get("reason", "") if isinstance(request.data, dict) else ""
        registration = services.end_registration(
            registration=self.get_object(), reason=str(reason)[:200]
        )
        return Response(RegistrationSerializer(registration).data)


@extend_schema_view(
    list=extend_schema(summary="Life events of constituents your agency is registered with"),
    retrieve=extend_schema(
        summary="A life event: its facts, and the agencies told and what they did",
        description="`agencies_told` is your own agency's notice and answer; when your "
        "agency took the notifier's report it lists every agency told (the notifier's "
        "status page shows the same). `reported_by` names your agency only if it "
        "reported the event: never another agency.",
    ),
)
class LifeEventViewSet(HubReadOnlyViewSet):
    """Life events of constituents your agency is registered with."""

    model = LifeEvent
    serializer_class = LifeEventSerializer
    read_scope = "registration:read"
    write_scope = "registration:write"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return LifeEvent.objects.none()
        return LifeEvent.objects.filter(
            constituent__in=selectors.visible_constituents(require_tenant()).values("pk")
        )

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["tenant"] = require_tenant()
        return context

    def get_object(self):
        obj = self.get_queryset().filter(pk=self.kwargs["pk"]).first()
        if obj is None:
            raise NotFound("No such object")
        return obj

    @extend_schema(
        methods=["get"],
        summary="Your agency's answers to a life event",
        responses=LifeEventResponseSerializer(many=True),
    )
    @extend_schema(
        methods=["post"],
        summary="Answer a life event your agency was told of",
        description="Only an agency that was told may answer (403 `not_told` otherwise); "
        "answer again when the outcome changes: the latest answer counts.",
        request=LifeEventResponseInputSerializer,
        responses={201: LifeEventResponseSerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def responses(self, request, pk=None):
        life_event = self.get_object()
        tenant = require_tenant()
        if request.method == "GET":
            own = LifeEventResponse.objects.filter(life_event=life_event, tenant=tenant)
            return Response(LifeEventResponseSerializer(own, many=True).data)
        serializer = LifeEventResponseInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        answer = services.record_life_event_response(
            tenant=tenant,
            actor=actor_of(request),
            life_event=life_event,
            outcome=serializer.validated_data["outcome"],
            text=serializer.validated_data.get("text", ""),
        )
        return Response(LifeEventResponseSerializer(answer).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Proactive services offered to the person at this life event",
        responses=OfferSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def offers(self, request, pk=None):
        offers = selectors.life_event_offers(self.get_object())
        return Response(OfferSerializer(offers, many=True).data)


@extend_schema_view(
    list=extend_schema(summary="Your agency's proactive services and the life events they answer"),
    retrieve=extend_schema(summary="One proactive-service declaration"),
)
class ProactiveServiceViewSet(HubReadCreateViewSet):
    model = ProactiveService
    serializer_class = ProactiveServiceSerializer
    read_scope = "registration:read"
    write_scope = "services:write"

    @extend_schema(
        summary="Declare that a proactive service answers life events",
        request=ProactiveServiceInputSerializer,
        responses={201: ProactiveServiceSerializer},
    )
    def create(self, request, *args, **kwargs):
        serializer = ProactiveServiceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        tenant = require_tenant()
        service = Service.objects.filter(pk=data.pop("service"), tenant=tenant).first()
        if service is None:
            raise InvalidRequest(
                "No such service of your agency", code="does_not_exist", field="service"
            )
        declaration = services.declare_proactive_service(tenant=tenant, service=service, **data)
        return Response(
            ProactiveServiceSerializer(declaration).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="Withdraw a declaration (offers already made stay on record)",
        request=None,
        responses=ProactiveServiceSerializer,
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        declaration = services.withdraw_proactive_service(declaration=self.get_object())
        return Response(ProactiveServiceSerializer(declaration).data)
