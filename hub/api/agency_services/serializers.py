from rest_framework import serializers

from hub.api.serializers import StrictModelSerializer
from tenants.models import Service


class ServiceSerializer(StrictModelSerializer):
    class Meta:
        model = Service
        fields = ["id", "code", "name", "interaction_kind", "active", "created_at"]
        read_only_fields = ["id", "active", "created_at"]
        extra_kwargs = {"code": {"validators": []}}  # uniqueness is the service's job (409)

    def validate_name(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("Must not be blank", code="blank")
        return value.strip()
