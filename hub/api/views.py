"""Base views every agency-facing endpoint uses: idempotent POSTs and an audit record
for every write. Apps subclass ``HubViewSet``/``HubAPIView`` and stay thin."""

from __future__ import annotations

import functools
import hashlib

from django.db import transaction
from rest_framework import exceptions, generics, mixins, viewsets
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from hub import audit, idempotency
from hub.api.auth import AgencyPrincipal
from hub.api.permissions import UNDECLARED
from hub.errors import HubError

IDEMPOTENCY_HEADER = "Idempotency-Key"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Set on a Response that shows a secret (``carrying_secret``): its idempotent copy is
# stored encrypted.
SENSITIVE_RESPONSE_ATTR = "hub_carries_secret"


def carrying_secret(response: Response) -> Response:
    """Mark ``response`` as showing a secret once, so nothing stores it in clear."""
    setattr(response, SENSITIVE_RESPONSE_ATTR, True)
    return response


class HubViewMixin:
    model = None
    # Each view says which scope reads and which writes (see hub/api/permissions.py);
    # left undeclared, the startup check fails and every key is refused.
    read_scope: object = UNDECLARED
    write_scope: object = UNDECLARED

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if request.method == "POST" and key is not None:
            # DRF looks the handler up after initial(): wrap it so the work and the
            # stored response commit together.
            handler = getattr(self, "post", None)
            if handler is not None:
                self.post = functools.partial(self._idempotent_post, handler, key)

    def _idempotent_post(self, handler, key, request, *args, **kwargs):
        body = request.data if not request.FILES else _upload_fingerprint(request)
        try:
            record = idempotency.claim(
                tenant=request.user.tenant,
                key=key,
                method=request.method,
                path=request.path,
                body=body,
            )
        except idempotency.Replay as replay:
            response = Response(replay.body, status=replay.status_code)
            response["Idempotent-Replayed"] = "true"
            return response
        try:
            refused = None
            with transaction.atomic():
                try:
                    response = handler(request, *args, **kwargs)
                except (exceptions.APIException, HubError) as exc:
                    # A refused request is an answer too (Stripe stores it), but any
                    # partial work it did is undone.
                    transaction.set_rollback(True)
                    refused = self.handle_exception(exc)
                else:
                    idempotency.complete(
                        record,
                        status_code=response.status_code,
                        body=response.data,
                        carries_secret=getattr(response, SENSITIVE_RESPONSE_ATTR, False),
                    )
                    if _audited(request, response):
                        # In the work's transaction: the write and its audit entry
                        # commit together (and one commit is cheaper than two).
                        audit.record_api_write(request, response, self)
                        response.hub_audit_recorded = True
            if refused is None:
                return response
            if refused.status_code >= 500:
                idempotency.release(record)
            else:
                idempotency.complete(record, status_code=refused.status_code, body=refused.data)
            return refused
        except Exception:
            idempotency.release(record)
            raise

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        # An error is JSON in the error shape whatever representation the client asked
        # for (a bank file's ``Accept: application/xml`` included): that is what the
        # schema documents for every error status.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if (
            _audited(request, response)
            and response.get("Idempotent-Replayed") is None
            and not getattr(response, "hub_audit_recorded", False)
        ):
            audit.record_api_write(request, response, self)
        return response


def _audited(request, response) -> bool:
    """Every successful write by an agency's API key is in the audit trail."""
    # The status first: after a failed authentication (the database down) reading
    # request.user would authenticate again, and fail again, outside the error handler.
    return (
        request.method in WRITE_METHODS
        and 200 <= response.status_code < 300
        and isinstance(request.user, AgencyPrincipal)
    )


def _upload_fingerprint(request) -> dict:
    files = {}
    for name, upload in request.FILES.items():
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        files[name] = digest.hexdigest()
    return {"data": {k: v for k, v in request.data.items() if k not in files}, "files": files}


class HubAPIView(HubViewMixin, APIView):
    pass


class HubGenericAPIView(HubViewMixin, generics.GenericAPIView):
    pass


class HubViewSet(HubViewMixin, viewsets.GenericViewSet):
    """Subclasses set ``model`` and pick the mixins they need. list/retrieve see only
    the agency's rows because every tenant-owned manager filters to the request's
    tenant; another agency's object is simply not found (404)."""

    model = None

    def get_queryset(self):
        return self.model.objects.all()


class HubReadOnlyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HubViewSet):
    pass


class HubReadCreateViewSet(mixins.CreateModelMixin, HubReadOnlyViewSet):
    pass
