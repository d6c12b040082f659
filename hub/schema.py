"""OpenAPI generation sees every view's queryset, outside any request: let it look
across tenants (it reads model metadata, never rows)."""

from drf_spectacular.generators import SchemaGenerator

from tenants.scope import all_tenants


class ScopedSchemaGenerator(SchemaGenerator):
    def get_schema(self, request=None, public=False):
        with all_tenants():
            return super().get_schema(request=request, public=public)
