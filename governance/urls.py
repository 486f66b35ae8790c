"""Root URL configuration."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework_api_key.models import APIKey

from governance import views
from registry.receipts_views import downstream_page

admin.site.site_header = "Opt-out portal administration"
admin.site.site_title = "Opt-out portal"
# The token library's own key model is unused (pipeline tokens are registry.PipelineToken,
# which adds scopes); its page would invite maintainers to make keys that open nothing.
# Unregistered here because the library's admin module loads after the registry's.
admin.site.unregister(APIKey)

urlpatterns = [
    # The pipeline API first: its calls are the most frequent, and resolving walks this list.
    path("api/v1/", include("registry.api_urls")),
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("datasets/", include("governance.dataset_urls")),
    path("policy/", views.policy, name="policy"),
    path("transparency/", views.transparency, name="transparency"),
    path("admin/", admin.site.urls),
    path("requests/", include("optout.urls")),
    path("accounts/", include("optout.signin_urls")),  # forge sign-in: 404 while not set up
    path("accounts/", include("allauth.urls")),
    path("api/v1/requests/", include("optout.api_urls")),
    path(".well-known/", include("registry.well_known_urls")),
    path("mirror/", include("registry.mirror_urls")),  # log tiles, range files (static copies)
    path("api/v1/receipts/", include("registry.receipts_urls")),  # downstream receipts
    path("downstream/", downstream_page, name="downstream"),
    path("api/v1/", include("governance.api_urls")),  # dataset versions (releases)
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

handler400 = "governance.error_pages.bad_request"
handler403 = "governance.error_pages.permission_denied"
handler404 = "governance.error_pages.not_found"
handler500 = "governance.error_pages.server_error"
