from rest_framework import serializers

from notifications.models import Notice


class NoticeSerializer(serializers.ModelSerializer):
    event = serializers.CharField(source="event_id", read_only=True)
    subject = serializers.CharField(source="subject_id", read_only=True)
    recipient = serializers.CharField(source="recipient_masked", read_only=True)
    constituent = serializers.CharField(read_only=True, source="constituent_id")

    class Meta:
        model = Notice
        fields = [
            "id",
            "kind",
            "event",
            "event_type",
            "subject",
            "constituent",
            "recipient",
            "language",
            "status",
            "suppressed_reason",
            "attempt_count",
            "provider_message_id",
            "created_at",
            "sent_at",
        ]
        read_only_fields = fields
