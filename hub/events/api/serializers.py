from rest_framework import serializers

from hub.api.serializers import StrictModelSerializer
from hub.events.models import Event, WebhookEndpoint


class WebhookEndpointSerializer(StrictModelSerializer):
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=100),
        allow_empty=False,
        min_length=1,  # what allow_empty means, in a form the schema shows (minItems)
        max_length=100,
        help_text='Event types to receive, a prefix such as "payment.*", or "*" for all',
    )
    flagged = serializers.SerializerMethodField()

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "enabled",
            "flagged",
            "consecutive_failures",
            "created_at",
        ]
        read_only_fields = ["id", "flagged", "consecutive_failures", "created_at"]

    def get_flagged(self, endpoint: WebhookEndpoint) -> bool:
        return endpoint.flagged_at is not None


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.SerializerMethodField(
        help_text="The whsec_… signing secret. Shown only in this response: store it now."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]

    def get_secret(self, endpoint) -> str:
        return self.context["secret"]


class EventSerializer(serializers.ModelSerializer):
    data = serializers.JSONField(source="payload")

    class Meta:
        model = Event
        fields = ["id", "type", "subject_id", "created_at", "data"]
