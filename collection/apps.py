from django.apps import AppConfig


class CollectionConfig(AppConfig):
    # Not "collections": that would shadow the standard library (see DESIGN.md).
    name = "collection"
    label = "collection"
    verbose_name = "Collections"
