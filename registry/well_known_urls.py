"""URLs the registry publishes under ``/.well-known/``."""

from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_view

from registry.api.log import KeyView


@extend_schema_view(get=extend_schema(exclude=True))  # the same as /api/v1/log/key
class WellKnownKeyView(KeyView):
    pass


urlpatterns = [
    path("opt-out-log-key", WellKnownKeyView.as_view(), name="well-known-log-key"),
]
